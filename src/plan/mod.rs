//! The planner: a recipe's steps become targets (files the change must touch, each with the
//! reasons it was selected) and targets become ordered, bounded batches along the dependency
//! graph.
//!
//! The rules, in the order they apply:
//! 1. a strongly connected component of targets (an import cycle) is never split;
//! 2. dependencies first: if target A depends on target B, B's batch is not after A's;
//! 3. batches are cohesive (one package) and filled up to the recipe's limits; a cycle larger
//!    than the limits becomes its own batch, flagged as oversized;
//! 4. everything is sorted by path, so the same repository and recipe give the same plan, byte
//!    for byte, whatever the thread count.
//!
//! One job per module: `select` finds the targets, [`mod@pack`] cuts them into batches, `phases`
//! makes a rename's expand / migrate / contract batches, [`verify`] fills the verify commands'
//! placeholders, [`check`] checks a recipe's step against the graph. The planner reads the graph
//! and, for rewrite and query selections, the target files' text; it never changes anything,
//! and it never transforms code (planning a step on what earlier steps leave is
//! [`crate::simulate`]'s job, above this one).

pub mod check;
pub mod owners;
pub mod pack;
mod phases;
mod select;
pub mod verify;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::lang::{self, FileId};
use crate::recipe::{Grouping, Recipe};
use crate::scan::View;

pub use pack::{PackItem, Packed, pack};

/// A recipe cut into ordered batches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The recipe's name.
    pub recipe: String,
    /// The recipe's description.
    pub description: String,
    /// Where the recipe was read from.
    pub source: String,
    /// The git blob id of the recipe's text: a plan file is only carried out with the recipe
    /// it was made from (`run --batch K --plan FILE`).
    #[serde(default)]
    pub recipe_hash: String,
    /// The batch limits the plan was cut with.
    pub limits: LimitsView,
    /// The steps, in order.
    pub steps: Vec<StepPlan>,
    /// Sums over the steps.
    pub totals: Totals,
}

/// The batch limits, as the plan reports them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitsView {
    /// Files per batch.
    pub max_files: usize,
    /// Tokens per batch.
    pub max_tokens: u64,
    /// What batches keep to (`package` or `none`).
    pub group: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
/// Sums over a plan.
pub struct Totals {
    /// Steps.
    pub steps: usize,
    /// Batches.
    pub batches: usize,
    /// Distinct files touched by the whole run.
    pub files: usize,
    /// Estimated tokens of every batch.
    pub tokens: u64,
    /// Dependency levels: the length of the longest chain of batches.
    pub levels: usize,
}

/// One step's targets and batches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepPlan {
    /// 1-based.
    pub index: usize,
    /// The step's kind (`rename`, `rewrite`, `move`, `model`).
    pub kind: String,
    /// The step's title.
    pub title: String,
    /// The files it must touch, with why.
    pub targets: Vec<Target>,
    /// Its batches, in run order.
    pub batches: Vec<Batch>,
    /// What a reviewer should know about how the step was cut.
    pub notes: Vec<String>,
    /// The unsure sites the step leaves as they are, for a person to look at
    /// (`path:line:column (reason)`): what `report` lists as left for a human.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<String>,
}

/// A file the step must touch and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The file.
    pub path: String,
    /// Why it is a target.
    pub reasons: Vec<String>,
}

/// Which part of an expand / migrate / contract rename a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Renames the definition and keeps the old name as a deprecated alias.
    Expand,
    /// Moves callers to the new name.
    Migrate,
    /// Removes the deprecated alias once nothing uses it.
    Contract,
    /// Turns the alias kept after the run (`keep_compat`) into one that warns when used
    /// (`compat = "warn"`).
    Warn,
}

impl Phase {
    /// The phase as plans, reports and branch names write it (its serde name).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Migrate => "migrate",
            Phase::Contract => "contract",
            Phase::Warn => "warn",
        }
    }
}

/// Files transformed, verified and committed together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// 1-based, across the whole run (what `{batch}` and `--batch K` use).
    pub index: usize,
    /// Dependency level across the run: batches of one level are independent of each other
    /// and can run in parallel once every lower level is applied.
    pub level: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Which part of a staged rename this is.
    pub phase: Option<Phase>,
    /// The package (folder) the batch keeps to, or `*` when it spans several.
    pub group: String,
    /// The batch's files, in path order.
    pub files: Vec<String>,
    /// Earlier batches this one builds on.
    pub depends_on: Vec<usize>,
    /// Why these files are together.
    pub reason: String,
    /// Estimated from the files' size.
    pub tokens: u64,
    /// Over the limits because a cycle cannot be split (or a single file is too large).
    pub oversized: bool,
    /// The verify commands with `{files}`, `{packages}` and `{tests}` filled in.
    pub verify: Vec<String>,
    /// The code owners (CODEOWNERS) of the batch's files together: who must approve it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    /// How many of its files no CODEOWNERS pattern gives an owner (when the repository has
    /// a CODEOWNERS file).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unowned: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why a plan could not be made. All stop the command.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// A bundled grammar failed: a build problem.
    #[error(transparent)]
    #[diagnostic(code(ripple::plan::extract))]
    Extract(#[from] lang::ExtractError),
    /// The recipe asks for what the repository refuses (`unsure = "fail"` with mentions
    /// outside code).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Recipe(#[from] Box<crate::recipe::RecipeError>),
}

/// How big a model batch's prompt gets, in real tokens. The context stage implements it with
/// its own prompt assembly and the caller hands it to the planner, so batches are sized as
/// they will be sent (the planner never builds a prompt itself).
pub trait PromptSizer {
    /// What every prompt of the step carries whatever its files: the template, the
    /// instructions, the ledger at its cap and a reserve for a repair round's failure text.
    fn fixed(&self, step: &crate::recipe::ModelStep) -> u64;
    /// One file's share: its text or focused view, and the contracts it needs from outside.
    fn file(&self, graph: &Graph, step: &crate::recipe::ModelStep, file: FileId) -> u64;
}

/// Plan every step of a (checked) recipe on one graph. (A run plans each step on the
/// repository as the earlier steps leave it: see [`PlanBuilder`] and [`crate::simulate`].)
pub fn plan_recipe(view: View<'_>, graph: &Graph, recipe: &Recipe) -> Result<Plan, PlanError> {
    let mut builder = PlanBuilder::new();
    for i in 0..recipe.steps.len() {
        builder.plan_step(view, graph, recipe, i, None)?;
    }
    Ok(builder.finish(recipe))
}

/// Plans a recipe step by step, each step on its own graph, numbering batches and levels on
/// from the steps before.
#[derive(Debug)]
pub struct PlanBuilder {
    steps: Vec<StepPlan>,
    /// (global index, paths) of every batch planned so far, for cross-step dependencies.
    earlier: Vec<(usize, BTreeSet<String>)>,
    next_index: usize,
    level_offset: usize,
}

impl Default for PlanBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PlanBuilder {
    /// A plan with no steps yet.
    pub fn new() -> PlanBuilder {
        PlanBuilder {
            steps: Vec::new(),
            earlier: Vec::new(),
            next_index: 1,
            level_offset: 0,
        }
    }

    /// Plan step `i` of the recipe on `graph` (the repository as the earlier steps leave it).
    /// A model step's batches are sized by `sizer` in prompt tokens when one is given (else
    /// from file sizes, as rule steps are).
    pub fn plan_step(
        &mut self,
        view: View<'_>,
        graph: &Graph,
        recipe: &Recipe,
        i: usize,
        sizer: Option<&dyn PromptSizer>,
    ) -> Result<&StepPlan, PlanError> {
        let step = &recipe.steps[i];
        let mut targets = select::select_targets(view, graph, &step.action)?;
        let mut notes = Vec::new();
        let mut unsure = Vec::new();
        let generated = select::take_generated(graph, &mut targets);
        let keeps_generated = generated.is_some();
        notes.extend(generated);
        let mut mentions = Vec::new();
        let mut outside_uses = 0;
        if let crate::recipe::StepAction::Rename(r) = &step.action {
            notes.extend(select::rename_notes(view, graph, r));
            unsure = select::unsure_left(graph, r);
            let found = select::rename_mentions(view, graph, recipe, r, &mut notes)?;
            outside_uses = found.run_left;
            unsure.extend(found.left);
            mentions = found.edited;
        }
        let owners = owners::Owners::load(view);
        notes.extend(owner_notes(graph, &owners, &targets, recipe.batch.group));
        // A model batch's budget is its prompt: what every prompt carries comes off
        // it, and each file counts as the context stage will send it.
        let (limits, size): (_, Box<dyn Fn(FileId) -> u64>) = match (&step.action, sizer) {
            (crate::recipe::StepAction::Model(m), Some(sizer)) => {
                let fixed = sizer.fixed(m);
                let limits = crate::recipe::BatchLimits {
                    max_tokens: recipe.batch.max_tokens.saturating_sub(fixed).max(1),
                    ..recipe.batch
                };
                (limits, Box::new(move |f| sizer.file(graph, m, f)))
            }
            _ => (recipe.batch, Box::new(move |f| file_tokens(view, graph, f))),
        };
        let packed = match phases::single_batch(view, graph, &step.action) {
            Some(why) => phases::one_batch(&targets, &limits, &*size, why, &mut notes),
            None => {
                let mut batches = pack::pack_step(
                    graph,
                    &step.action,
                    &targets,
                    &limits,
                    &*size,
                    &owners,
                    &mut notes,
                );
                phases::add_phases(
                    graph,
                    &step.action,
                    &targets,
                    phases::KeptUses {
                        generated: keeps_generated,
                        outside: outside_uses,
                    },
                    &*size,
                    &mut batches,
                    &mut notes,
                );
                batches
            }
        };
        let mut batches = Vec::with_capacity(packed.len());
        let step_first = self.next_index;
        let mut step_levels = 0;
        // A mention in a file some batch edits anyway is edited there.
        let taken: BTreeSet<&str> = packed
            .iter()
            .flat_map(|b| b.files.iter().map(|&f| graph.files[f].path.as_str()))
            .collect();
        for b in packed {
            let index = self.next_index;
            self.next_index += 1;
            let mut depends_on: BTreeSet<usize> =
                b.depends_on.iter().map(|&d| step_first + d).collect();
            // Earlier steps: any batch that touched these files or their direct neighbours.
            let near: BTreeSet<&str> = b
                .files
                .iter()
                .flat_map(|&f| {
                    std::iter::once(f)
                        .chain(graph.dependencies(f).iter().copied())
                        .chain(graph.dependents(f).iter().copied())
                })
                .map(|f| graph.files[f].path.as_str())
                .collect();
            for (idx, files) in &self.earlier {
                if files.iter().any(|f| near.contains(f.as_str())) {
                    depends_on.insert(*idx);
                }
            }
            step_levels = step_levels.max(b.level + 1);
            let mut paths: Vec<String> = b
                .files
                .iter()
                .map(|&f| graph.files[f].path.clone())
                .collect();
            // The mentions a rename edits go with the definition: from that commit on, the
            // new name is there to name.
            let mut tokens = b.tokens;
            if let Some(def) = renamed_definition(graph, &step.action)
                && b.files.contains(&def)
                && matches!(b.phase, None | Some(crate::plan::Phase::Expand))
            {
                for m in &mentions {
                    if !taken.contains(m.path.as_str()) && !paths.contains(&m.path) {
                        tokens += view
                            .text(&m.path)
                            .map_or(0, |t| crate::tokens::count_tokens(&t).max(1) as u64);
                        paths.push(m.path.clone());
                    }
                }
                paths.sort();
            }
            let (batch_owners, unowned) = if owners.is_empty() {
                (Vec::new(), 0)
            } else {
                owners.of_files(&paths)
            };
            batches.push(Batch {
                index,
                level: self.level_offset + b.level,
                phase: b.phase,
                group: b.group,
                verify: verify::fill_commands(view.root, graph, &recipe.verify.commands, &b.files),
                files: paths,
                depends_on: depends_on.into_iter().collect(),
                reason: b.reason,
                tokens,
                oversized: b.oversized,
                owners: batch_owners,
                unowned,
            });
        }
        for b in &batches {
            self.earlier
                .push((b.index, b.files.iter().cloned().collect()));
        }
        self.level_offset += step_levels;
        if targets.is_empty() {
            notes.push("nothing to change: no file matches this step".to_string());
        }
        let mut targets: Vec<Target> = targets
            .into_iter()
            .map(|(f, reasons)| Target {
                path: graph.files[f].path.clone(),
                reasons,
            })
            .collect();
        for m in &mentions {
            let reason = m.reason();
            match targets.iter_mut().find(|t| t.path == m.path) {
                Some(t) if t.reasons.contains(&reason) => {}
                Some(t) => t.reasons.push(reason),
                None => targets.push(Target {
                    path: m.path.clone(),
                    reasons: vec![reason],
                }),
            }
        }
        targets.sort_by(|a, b| a.path.cmp(&b.path));
        self.steps.push(StepPlan {
            index: i + 1,
            kind: step.action.kind().to_string(),
            title: step.title.clone(),
            targets,
            batches,
            notes,
            unsure,
        });
        Ok(self.steps.last().expect("just pushed"))
    }

    /// Add a note to the step planned last.
    pub fn note(&mut self, note: String) {
        if let Some(s) = self.steps.last_mut() {
            s.notes.push(note);
        }
    }

    /// The plan of the steps planned so far.
    pub fn finish(self, recipe: &Recipe) -> Plan {
        let steps = self.steps;
        let files: BTreeSet<&str> = steps
            .iter()
            .flat_map(|s| s.batches.iter().flat_map(|b| b.files.iter()))
            .map(String::as_str)
            .collect();
        let totals = Totals {
            steps: steps.len(),
            batches: steps.iter().map(|s| s.batches.len()).sum(),
            files: files.len(),
            tokens: steps
                .iter()
                .flat_map(|s| &s.batches)
                .map(|b| b.tokens)
                .sum(),
            levels: self.level_offset,
        };
        Plan {
            recipe: recipe.name.clone(),
            description: recipe.description.clone(),
            source: recipe.source.display_name(),
            recipe_hash: recipe.hash(),
            limits: LimitsView {
                max_files: recipe.batch.max_files,
                max_tokens: recipe.batch.max_tokens,
                group: match recipe.batch.group {
                    Grouping::Package => "package",
                    Grouping::None => "none",
                    Grouping::Owners => "owners",
                }
                .to_string(),
            },
            totals,
            steps,
        }
    }
}

pub(crate) fn common_folder(groups: &BTreeSet<&str>) -> String {
    let mut iter = groups.iter();
    let Some(first) = iter.next() else {
        return ".".to_string();
    };
    let mut common: Vec<&str> = first.split('/').filter(|c| !c.is_empty()).collect();
    for g in iter {
        let parts: Vec<&str> = g.split('/').filter(|c| !c.is_empty()).collect();
        let same = common
            .iter()
            .zip(&parts)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(same);
    }
    if common.is_empty() {
        ".".to_string()
    } else {
        common.join("/")
    }
}

pub(crate) fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// A step's batches before they get run-wide indices and levels.
pub(crate) struct StepBatch {
    pub(crate) files: Vec<FileId>,
    pub(crate) level: usize,
    pub(crate) depends_on: Vec<usize>,
    pub(crate) phase: Option<Phase>,
    pub(crate) group: String,
    pub(crate) reason: String,
    pub(crate) tokens: u64,
    pub(crate) oversized: bool,
}

/// The file defining a rename's symbol.
fn renamed_definition(graph: &Graph, action: &crate::recipe::StepAction) -> Option<FileId> {
    match action {
        crate::recipe::StepAction::Rename(r) => graph
            .symbol_id(&r.symbol.value)
            .map(|s| graph.symbols[s].file),
        _ => None,
    }
}

/// A rule batch file's size: its text in real tokens (the tokenizer prompts are counted
/// with), or an estimate from its bytes when it cannot be read.
pub(crate) fn file_tokens(view: View<'_>, graph: &Graph, f: FileId) -> u64 {
    view.text(&graph.files[f].path).map_or_else(
        || crate::tokens::estimate_from_bytes(graph.files[f].size),
        |text| crate::tokens::count_tokens(&text).max(1) as u64,
    )
}

/// What the plan says about code owners: that `group = "owners"` found no CODEOWNERS file,
/// a CODEOWNERS line it could not read, and the target files no pattern gives an owner.
fn owner_notes(
    graph: &Graph,
    owners: &owners::Owners,
    targets: &select::Targets,
    group: Grouping,
) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(file) = &owners.file else {
        if group == Grouping::Owners {
            notes.push(format!(
                "group = \"owners\" but there is no CODEOWNERS file (looked for {}): batches keep to one package",
                owners::LOCATIONS.join(", ")
            ));
        }
        return notes;
    };
    for (line, text) in &owners.skipped {
        notes.push(format!(
            "{file}:{line}: `{}` is not a pattern git-ripple can read; it is left out",
            text.trim()
        ));
    }
    let unowned: Vec<&str> = targets
        .keys()
        .map(|&f| graph.files[f].path.as_str())
        .filter(|p| owners.of(p).is_empty())
        .collect();
    if !unowned.is_empty() {
        notes.push(format!(
            "{} target file{} without an owner in {file}: {}",
            unowned.len(),
            if unowned.len() == 1 { "" } else { "s" },
            unowned.join(", ")
        ));
    }
    notes
}
