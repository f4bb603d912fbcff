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
//! The planner reads the graph and, for rewrite and query selections, the target files' text;
//! it never changes anything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::facts::{ReferenceKind, SymbolKind};
use crate::graph::Graph;
use crate::lang::{self, FileId, ImportTarget, Language};
use crate::recipe::{
    BatchLimits, Compat, Grouping, PathFilter, Recipe, RewriteStep, Selection, StepAction,
    fill_placeholders,
};

/// About four bytes of source per token: the estimate batches are bounded by. (Prompts are
/// counted with a real tokenizer when they are built; the plan only needs to be close.)
pub const BYTES_PER_TOKEN: u64 = 4;

/// A recipe cut into ordered batches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub recipe: String,
    pub description: String,
    /// Where the recipe was read from.
    pub source: String,
    pub limits: LimitsView,
    pub steps: Vec<StepPlan>,
    pub totals: Totals,
}

/// The batch limits, as the plan reports them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitsView {
    pub max_files: usize,
    pub max_tokens: u64,
    pub group: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Totals {
    pub steps: usize,
    pub batches: usize,
    /// Distinct files touched by the whole run.
    pub files: usize,
    pub tokens: u64,
    pub levels: usize,
}

/// One step's targets and batches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepPlan {
    /// 1-based.
    pub index: usize,
    pub kind: String,
    pub title: String,
    pub targets: Vec<Target>,
    pub batches: Vec<Batch>,
    /// What a reviewer should know about how the step was cut.
    pub notes: Vec<String>,
}

/// A file the step must touch and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub path: String,
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
    pub phase: Option<Phase>,
    /// The package (folder) the batch keeps to, or `*` when it spans several.
    pub group: String,
    pub files: Vec<String>,
    /// Earlier batches this one builds on.
    pub depends_on: Vec<usize>,
    pub reason: String,
    /// Estimated from the files' size.
    pub tokens: u64,
    /// Over the limits because a cycle cannot be split (or a single file is too large).
    pub oversized: bool,
    /// The verify commands with `{files}`, `{packages}` and `{tests}` filled in.
    pub verify: Vec<String>,
}

/// Why a plan could not be made. All stop the command.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// A bundled grammar failed: a build problem.
    #[error(transparent)]
    #[diagnostic(code(ripple::plan::extract))]
    Extract(#[from] lang::ExtractError),
}

// ---------------------------------------------------------------------------------------------
// Packing: pure, on an abstract graph, so its invariants can be property-tested.

/// One target for [`pack`].
#[derive(Debug, Clone)]
pub struct PackItem {
    /// Unique; ties are broken by name so the result does not depend on input order.
    pub name: String,
    /// Items of one group prefer the same batch.
    pub group: String,
    pub tokens: u64,
    /// Indices of items this one depends on.
    pub deps: Vec<usize>,
    /// Indices of items that must land in the same batch as this one (like a cycle).
    pub together: Vec<usize>,
}

/// One batch produced by [`pack`], in run order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Item indices, sorted by name.
    pub items: Vec<usize>,
    pub level: usize,
    /// Indices of earlier packed batches this one depends on.
    pub depends_on: Vec<usize>,
    /// Items that cannot be split (import cycles, and items kept `together`) inside this
    /// batch.
    pub cycles: Vec<Vec<usize>>,
    pub oversized: bool,
    pub tokens: u64,
}

/// Cut items into batches: cycles kept whole, dependencies first, one group per batch where
/// possible, at most `max_files` items and `max_tokens` tokens per batch unless a single cycle
/// or item alone exceeds them.
pub fn pack(items: &[PackItem], max_files: usize, max_tokens: u64) -> Vec<Packed> {
    let n = items.len();
    if n == 0 {
        return Vec::new();
    }
    // Strongly connected components over the dependency edges.
    let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(n, 0);
    let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
    for (i, item) in items.iter().enumerate() {
        for &d in &item.deps {
            if d < n && d != i {
                g.add_edge(nodes[i], nodes[d], ());
            }
        }
        for &t in &item.together {
            if t < n && t != i {
                g.add_edge(nodes[i], nodes[t], ());
                g.add_edge(nodes[t], nodes[i], ());
            }
        }
    }
    let mut comps: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .map(|c| {
            let mut members: Vec<usize> = c.into_iter().map(|x| g[x]).collect();
            members.sort_by(|a, b| items[*a].name.cmp(&items[*b].name));
            members
        })
        .collect();
    comps.sort_by(|a, b| items[a[0]].name.cmp(&items[b[0]].name));
    let mut comp_of = vec![0; n];
    for (c, members) in comps.iter().enumerate() {
        for &m in members {
            comp_of[m] = c;
        }
    }
    let comp_deps: Vec<BTreeSet<usize>> = comps
        .iter()
        .enumerate()
        .map(|(c, members)| {
            members
                .iter()
                .flat_map(|&m| items[m].deps.iter())
                .filter(|&&d| d < n)
                .map(|&d| comp_of[d])
                .filter(|&d| d != c)
                .collect()
        })
        .collect();

    // Longest path from the leaves: a component's level is one more than its deepest
    // dependency's.
    let levels = comp_levels(&comp_deps);
    let size = |c: usize| -> (usize, u64) {
        (
            comps[c].len(),
            comps[c].iter().map(|&m| items[m].tokens).sum(),
        )
    };
    let mut order: Vec<usize> = (0..comps.len()).collect();
    order.sort_by(|&a, &b| {
        levels[a]
            .cmp(&levels[b])
            .then_with(|| items[comps[a][0]].group.cmp(&items[comps[b][0]].group))
            .then_with(|| items[comps[a][0]].name.cmp(&items[comps[b][0]].name))
    });

    // Greedy placement in topological order. A component may join any open batch of its group
    // that comes no earlier than the batches holding its dependencies: nothing placed so far
    // depends on it, so no batch can end up depending on a later one.
    struct Open {
        comps: Vec<usize>,
        group: String,
        files: usize,
        tokens: u64,
        closed: bool,
    }
    let mut batches: Vec<Open> = Vec::new();
    let mut batch_of = vec![usize::MAX; comps.len()];
    for c in order {
        let (files, tokens) = size(c);
        let group = items[comps[c][0]].group.clone();
        let earliest = comp_deps[c].iter().map(|&d| batch_of[d]).max().unwrap_or(0);
        let too_big = files > max_files || tokens > max_tokens;
        let fit = if too_big {
            None
        } else {
            (earliest..batches.len()).find(|&p| {
                let b = &batches[p];
                !b.closed
                    && b.group == group
                    && b.files + files <= max_files
                    && b.tokens + tokens <= max_tokens
            })
        };
        let p = match fit {
            Some(p) => p,
            None => {
                batches.push(Open {
                    comps: Vec::new(),
                    group,
                    files: 0,
                    tokens: 0,
                    closed: too_big,
                });
                batches.len() - 1
            }
        };
        let b = &mut batches[p];
        b.comps.push(c);
        b.files += files;
        b.tokens += tokens;
        batch_of[c] = p;
    }

    // Batch dependencies and levels (dependencies always sit at lower positions).
    let batch_deps: Vec<BTreeSet<usize>> = batches
        .iter()
        .enumerate()
        .map(|(p, b)| {
            b.comps
                .iter()
                .flat_map(|&c| comp_deps[c].iter())
                .map(|&d| batch_of[d])
                .filter(|&d| d != p)
                .collect()
        })
        .collect();
    let mut batch_level = vec![0usize; batches.len()];
    for p in 0..batches.len() {
        batch_level[p] = batch_deps[p]
            .iter()
            .map(|&d| batch_level[d] + 1)
            .max()
            .unwrap_or(0);
    }

    // Batches of one level are independent of each other, so small ones can be merged without
    // changing any level or order: neighbours in path order first (sibling packages), while
    // the limits allow. This keeps batches cohesive yet full, so a run is not a long string of
    // one-file commits.
    let mut positions: Vec<usize> = (0..batches.len()).collect();
    positions.sort_by(|&a, &b| {
        batch_level[a]
            .cmp(&batch_level[b])
            .then_with(|| batches[a].group.cmp(&batches[b].group))
            .then(a.cmp(&b))
    });
    let mut merged: Vec<Vec<usize>> = Vec::new();
    let mut current: Option<(Vec<usize>, usize, u64)> = None;
    for p in positions {
        let b = &batches[p];
        let joins = current.as_ref().is_some_and(|(ps, files, tokens)| {
            batch_level[ps[0]] == batch_level[p]
                && !b.closed
                && !batches[ps[0]].closed
                && files + b.files <= max_files
                && tokens + b.tokens <= max_tokens
        });
        if joins {
            if let Some((ps, files, tokens)) = current.as_mut() {
                ps.push(p);
                *files += b.files;
                *tokens += b.tokens;
            }
        } else {
            merged.extend(current.take().map(|(ps, _, _)| ps));
            current = Some((vec![p], b.files, b.tokens));
        }
    }
    merged.extend(current.map(|(ps, _, _)| ps));
    merged.sort_by_key(|ps| {
        (
            batch_level[ps[0]],
            ps.iter().copied().min().unwrap_or(usize::MAX),
        )
    });
    let mut new_index = vec![0; batches.len()];
    for (i, ps) in merged.iter().enumerate() {
        for &p in ps {
            new_index[p] = i;
        }
    }
    merged
        .iter()
        .enumerate()
        .map(|(i, ps)| {
            let cs: Vec<usize> = ps.iter().flat_map(|&p| batches[p].comps.clone()).collect();
            let mut members: Vec<usize> = cs.iter().flat_map(|&c| comps[c].clone()).collect();
            members.sort_by(|x, y| items[*x].name.cmp(&items[*y].name));
            let depends_on: BTreeSet<usize> = ps
                .iter()
                .flat_map(|&p| batch_deps[p].iter())
                .map(|&d| new_index[d])
                .filter(|&d| d != i)
                .collect();
            let files: usize = ps.iter().map(|&p| batches[p].files).sum();
            let tokens: u64 = ps.iter().map(|&p| batches[p].tokens).sum();
            let mut cycles: Vec<Vec<usize>> = cs
                .iter()
                .filter(|&&c| comps[c].len() > 1)
                .map(|&c| comps[c].clone())
                .collect();
            cycles.sort_by(|a, b| items[a[0]].name.cmp(&items[b[0]].name));
            Packed {
                items: members,
                level: batch_level[ps[0]],
                depends_on: depends_on.into_iter().collect(),
                cycles,
                oversized: files > max_files || tokens > max_tokens,
                tokens,
            }
        })
        .collect()
}

fn comp_levels(deps: &[BTreeSet<usize>]) -> Vec<usize> {
    // The condensation is acyclic; an explicit stack avoids deep recursion on long chains.
    let mut level: Vec<Option<usize>> = vec![None; deps.len()];
    for start in 0..deps.len() {
        let mut stack = vec![start];
        while let Some(&c) = stack.last() {
            if level[c].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = deps[c]
                .iter()
                .copied()
                .filter(|&d| level[d].is_none())
                .collect();
            if pending.is_empty() {
                level[c] = Some(
                    deps[c]
                        .iter()
                        .filter_map(|&d| level[d])
                        .map(|l| l + 1)
                        .max()
                        .unwrap_or(0),
                );
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    level.into_iter().map(|l| l.unwrap_or(0)).collect()
}

// ---------------------------------------------------------------------------------------------
// Planning a recipe.

/// Plan every step of a (checked) recipe on one graph. (A run plans each step on the
/// repository as the earlier steps leave it: see [`PlanBuilder`].)
pub fn plan_recipe(root: &Path, graph: &Graph, recipe: &Recipe) -> Result<Plan, PlanError> {
    let mut builder = PlanBuilder::new();
    for i in 0..recipe.steps.len() {
        builder.plan_step(root, graph, recipe, i)?;
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
    pub fn new() -> PlanBuilder {
        PlanBuilder {
            steps: Vec::new(),
            earlier: Vec::new(),
            next_index: 1,
            level_offset: 0,
        }
    }

    /// Plan step `i` of the recipe on `graph` (the repository as the earlier steps leave it).
    pub fn plan_step(
        &mut self,
        root: &Path,
        graph: &Graph,
        recipe: &Recipe,
        i: usize,
    ) -> Result<&StepPlan, PlanError> {
        let step = &recipe.steps[i];
        let targets = select_targets(root, graph, &step.action)?;
        let mut notes = Vec::new();
        let packed = cut_step(
            root,
            graph,
            &step.action,
            &targets,
            &recipe.batch,
            &mut notes,
        );
        let mut batches = Vec::with_capacity(packed.len());
        let step_first = self.next_index;
        let mut step_levels = 0;
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
            let paths: Vec<String> = b
                .files
                .iter()
                .map(|&f| graph.files[f].path.clone())
                .collect();
            batches.push(Batch {
                index,
                level: self.level_offset + b.level,
                phase: b.phase,
                group: b.group,
                verify: recipe
                    .verify
                    .commands
                    .iter()
                    .map(|c| fill_verify(root, graph, c, &b.files))
                    .collect(),
                files: paths,
                depends_on: depends_on.into_iter().collect(),
                reason: b.reason,
                tokens: b.tokens,
                oversized: b.oversized,
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
        self.steps.push(StepPlan {
            index: i + 1,
            kind: step.action.kind().to_string(),
            title: step.title.clone(),
            targets: targets
                .into_iter()
                .map(|(f, reasons)| Target {
                    path: graph.files[f].path.clone(),
                    reasons,
                })
                .collect(),
            batches,
            notes,
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
            limits: LimitsView {
                max_files: recipe.batch.max_files,
                max_tokens: recipe.batch.max_tokens,
                group: match recipe.batch.group {
                    Grouping::Package => "package",
                    Grouping::None => "none",
                }
                .to_string(),
            },
            totals,
            steps,
        }
    }
}

/// Targets with their reasons, sorted by file (path order).
type Targets = BTreeMap<FileId, Vec<String>>;

fn add_reason(targets: &mut Targets, file: FileId, reason: String) {
    let reasons = targets.entry(file).or_default();
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

fn select_targets(root: &Path, graph: &Graph, action: &StepAction) -> Result<Targets, PlanError> {
    let mut targets = Targets::new();
    match action {
        StepAction::Rename(r) => {
            if let Some(sid) = graph.symbol_id(&r.symbol.value) {
                add_symbol_targets(graph, sid, &mut targets);
                let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
                for u in graph.embedded_field_uses(sid, &read) {
                    add_reason(
                        &mut targets,
                        u.literal_file,
                        format!(
                            "sets the field `{}` that `{}` embeds, by name",
                            graph.symbols[sid].name, u.struct_name
                        ),
                    );
                }
            }
        }
        StepAction::Model(m) => select_model_targets(root, graph, &m.select, &mut targets)?,
        StepAction::Rewrite(rw) => select_rewrite_targets(root, graph, rw, &mut targets)?,
        StepAction::Move(m) => select_move_targets(graph, &m.from.value, &mut targets),
    }
    Ok(targets)
}

/// The defining file and every file referring to the symbol, with what each reference is.
fn add_symbol_targets(graph: &Graph, sid: usize, targets: &mut Targets) {
    let symbol = &graph.symbols[sid];
    add_reason(targets, symbol.file, format!("defines `{}`", symbol.name));
    let mut per_file: BTreeMap<FileId, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for r in graph.references(sid) {
        let what = match r.kind {
            ReferenceKind::Definition => continue,
            ReferenceKind::Code => "use",
            ReferenceKind::Import => "import",
            ReferenceKind::AllEntry => "`__all__` entry",
            ReferenceKind::StringAnnotation => "string annotation",
        };
        *per_file.entry(r.file).or_default().entry(what).or_default() += 1;
    }
    for (file, counts) in per_file {
        let parts: Vec<String> = counts
            .iter()
            .map(|(what, n)| {
                if *n == 1 {
                    format!("1 {what}")
                } else {
                    format!("{n} {what}s")
                }
            })
            .collect();
        add_reason(
            targets,
            file,
            format!("refers to `{}`: {}", symbol.name, parts.join(", ")),
        );
    }
}

fn select_model_targets(
    root: &Path,
    graph: &Graph,
    select: &Selection,
    targets: &mut Targets,
) -> Result<(), PlanError> {
    let mut selected = Targets::new();
    for id in &select.references {
        if let Some(sid) = graph.symbol_id(&id.value) {
            add_symbol_targets(graph, sid, &mut selected);
        }
    }
    if let Some((language, query)) = &select.query {
        for (file, count) in query_matches(root, graph, *language, query, &select.paths)? {
            add_reason(&mut selected, file, format!("query matches {count} times"));
        }
    }
    let only_paths = select.references.is_empty() && select.query.is_none();
    if only_paths {
        for (f, node) in graph.files.iter().enumerate() {
            if select.paths.allows(&node.path) {
                add_reason(&mut selected, f, "matches the step's paths".to_string());
            }
        }
    } else {
        selected.retain(|&f, _| select.paths.allows(&graph.files[f].path));
    }
    if select.propagate > 0 {
        let start: Vec<FileId> = selected.keys().copied().collect();
        for (f, hops) in graph.transitive_dependents(&start, Some(select.propagate)) {
            // Dependents are added wherever they are (the include globs chose the start),
            // unless excluded.
            if selected.contains_key(&f) || select.paths.excludes(&graph.files[f].path) {
                continue;
            }
            let why = if hops == 1 {
                "depends on a selected file (propagate)".to_string()
            } else {
                format!("depends on a selected file, {hops} hops away (propagate)")
            };
            add_reason(targets, f, why);
        }
    }
    for (f, reasons) in selected {
        for r in reasons {
            add_reason(targets, f, r);
        }
    }
    Ok(())
}

fn select_rewrite_targets(
    root: &Path,
    graph: &Graph,
    step: &RewriteStep,
    targets: &mut Targets,
) -> Result<(), PlanError> {
    let files: Vec<FileId> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, n)| n.language == step.language && step.paths.allows(&n.path))
        .map(|(f, _)| f)
        .collect();
    // (file, rule, matches), per file.
    let counts = files
        .par_iter()
        .map(|&f| {
            let Ok(source) = std::fs::read(root.join(&graph.files[f].path)) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for (r, rule) in step.rules.iter().enumerate() {
                let n = lang::count_captures(step.language, &rule.query, &rule.replace, &source)?;
                if n > 0 {
                    out.push((f, r, n));
                }
            }
            Ok::<_, PlanError>(out)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for per_file in counts {
        for (f, r, n) in per_file {
            let rule = &step.rules[r];
            let label = template_label(rule);
            let times = if n == 1 {
                "1 match".to_string()
            } else {
                format!("{n} matches")
            };
            add_reason(targets, f, format!("rule {} ({label}): {times}", r + 1));
        }
    }
    Ok(())
}

fn template_label(rule: &crate::recipe::RewriteRule) -> String {
    let text: String = rule
        .template
        .parts
        .iter()
        .map(|p| match p {
            crate::recipe::TemplatePart::Text(t) => t.clone(),
            crate::recipe::TemplatePart::Capture(c) => format!("${c}"),
        })
        .collect();
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 40 {
        let cut: String = line.chars().take(39).collect();
        format!("→ {cut}…")
    } else {
        format!("→ {line}")
    }
}

/// Files where `query` matches, restricted to `language` and `paths`, with the number of
/// nodes captured as `@match` (or as the query's first capture).
fn query_matches(
    root: &Path,
    graph: &Graph,
    language: Language,
    query: &tree_sitter::Query,
    paths: &PathFilter,
) -> Result<Vec<(FileId, usize)>, PlanError> {
    let files: Vec<FileId> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, n)| n.language == language && paths.allows(&n.path))
        .map(|(f, _)| f)
        .collect();
    let names = query.capture_names();
    let capture = names
        .iter()
        .find(|c| **c == "match")
        .or(names.first())
        .map(|c| c.to_string());
    let Some(capture) = capture else {
        return Ok(Vec::new());
    };
    let results: Vec<Result<Option<(FileId, usize)>, PlanError>> = files
        .par_iter()
        .map(|&f| {
            let Ok(source) = std::fs::read(root.join(&graph.files[f].path)) else {
                return Ok(None);
            };
            let n = lang::count_captures(language, query, &capture, &source)?;
            Ok((n > 0).then_some((f, n)))
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        if let Some(x) = r? {
            out.push(x);
        }
    }
    Ok(out)
}

fn select_move_targets(graph: &Graph, from: &str, targets: &mut Targets) {
    let prefix = format!("{from}.");
    let moved: BTreeSet<FileId> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.module.as_deref().is_some_and(|m| {
                m == from || (n.language == Language::Python && m.starts_with(&prefix))
            })
        })
        .map(|(f, _)| f)
        .collect();
    let moved_folders: BTreeSet<String> = moved
        .iter()
        .map(|&f| folder_of(&graph.files[f].path).to_string())
        .collect();
    for &f in &moved {
        add_reason(targets, f, format!("is moved (part of `{from}`)"));
    }
    for imp in &graph.imports {
        let hits = match &imp.target {
            ImportTarget::File(t) => moved.contains(t),
            ImportTarget::Folder(d) => moved_folders.contains(d.as_str()),
            _ => false,
        };
        if hits && !moved.contains(&imp.file) {
            add_reason(
                targets,
                imp.file,
                format!("imports `{from}` (line {})", imp.line),
            );
        }
    }
}

/// The deepest folder containing every group (`.` for the repository root).
fn common_folder(groups: &BTreeSet<&str>) -> String {
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

fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// A step's batches before they get run-wide indices and levels.
struct StepBatch {
    files: Vec<FileId>,
    level: usize,
    depends_on: Vec<usize>,
    phase: Option<Phase>,
    group: String,
    reason: String,
    tokens: u64,
    oversized: bool,
}

fn file_tokens(graph: &Graph, f: FileId) -> u64 {
    graph.files[f].size.div_ceil(BYTES_PER_TOKEN).max(1)
}

/// Why a rename's old name cannot be kept as an alias while callers move (then the rename
/// is one batch), or `None` when it can.
fn alias_blocker(graph: &Graph, symbol: usize) -> Option<String> {
    let sym = &graph.symbols[symbol];
    let language = graph.files[sym.file].language;
    match (language, sym.kind) {
        (Language::Python, SymbolKind::Variable) => Some(
            "an alias of a module variable would be a second variable, not the same one".into(),
        ),
        (Language::Go, SymbolKind::Variable) => {
            Some("an alias of a Go variable would be a second variable, not the same one".into())
        }
        _ => None,
    }
}

fn cut_step(
    root: &Path,
    graph: &Graph,
    action: &StepAction,
    targets: &Targets,
    limits: &BatchLimits,
    notes: &mut Vec<String>,
) -> Vec<StepBatch> {
    let files: Vec<FileId> = targets.keys().copied().collect();
    if files.is_empty() {
        return Vec::new();
    }
    let position: HashMap<FileId, usize> = files.iter().enumerate().map(|(i, &f)| (f, i)).collect();
    let group_of = |f: FileId| match limits.group {
        Grouping::Package => folder_of(&graph.files[f].path).to_string(),
        Grouping::None => String::new(),
    };
    // A renamed Go type that is embedded renames a field too: the struct and the literals
    // setting that field by name change in one batch.
    let mut together: HashMap<usize, Vec<usize>> = HashMap::new();
    if let StepAction::Rename(r) = action
        && let Some(sid) = graph.symbol_id(&r.symbol.value)
    {
        let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
        for u in graph.embedded_field_uses(sid, &read) {
            if let (Some(&a), Some(&b)) =
                (position.get(&u.struct_file), position.get(&u.literal_file))
            {
                together.entry(a).or_default().push(b);
            }
        }
    }
    let items: Vec<PackItem> = files
        .iter()
        .enumerate()
        .map(|(i, &f)| PackItem {
            name: graph.files[f].path.clone(),
            group: group_of(f),
            tokens: file_tokens(graph, f),
            deps: graph
                .dependencies(f)
                .iter()
                .filter_map(|d| position.get(d).copied())
                .collect(),
            together: together.get(&i).cloned().unwrap_or_default(),
        })
        .collect();

    let rename = match action {
        StepAction::Rename(r) => Some(r),
        _ => None,
    };
    let single = match action {
        StepAction::Rename(r) if r.compat == Compat::None => {
            Some("compat = \"none\": the whole rename is one batch and one commit".to_string())
        }
        StepAction::Rename(r) => graph
            .symbol_id(&r.symbol.value)
            .and_then(|sid| alias_blocker(graph, sid))
            .map(|why| format!("one batch: {why}")),
        StepAction::Move(_) => Some(
            "a move is one batch: importers cannot build against a module that is gone".to_string(),
        ),
        _ => None,
    };
    if let Some(why) = single {
        notes.push(why.clone());
        let tokens = items.iter().map(|i| i.tokens).sum();
        return vec![StepBatch {
            oversized: files.len() > limits.max_files || tokens > limits.max_tokens,
            files,
            level: 0,
            depends_on: Vec::new(),
            phase: None,
            group: "*".to_string(),
            reason: why,
            tokens,
        }];
    }

    let packed = pack(&items, limits.max_files, limits.max_tokens);
    let mut out: Vec<StepBatch> = packed
        .iter()
        .map(|p| {
            let batch_files: Vec<FileId> = p.items.iter().map(|&i| files[i]).collect();
            let groups: BTreeSet<&str> = p.items.iter().map(|&i| items[i].group.as_str()).collect();
            let group = common_folder(&groups);
            let n = p.items.len();
            let files_word = if n == 1 { "file" } else { "files" };
            let mut reason = match limits.group {
                Grouping::None => format!("{n} {files_word} in dependency order"),
                Grouping::Package if groups.len() == 1 => {
                    format!("{n} {files_word} of package {group}")
                }
                Grouping::Package => format!(
                    "{n} {files_word} of {} packages ({})",
                    groups.len(),
                    groups
                        .iter()
                        .map(|g| if g.is_empty() { "." } else { g })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            for cycle in &p.cycles {
                let names: Vec<&str> = cycle.iter().map(|&i| items[i].name.as_str()).collect();
                let linked = cycle.iter().any(|&i| !items[i].together.is_empty());
                let what = if linked {
                    "files that change together (a struct and the literals setting the field it gets by embedding the renamed type)"
                } else {
                    "files in an import cycle, kept together"
                };
                reason.push_str(&format!("; {} {what}: {}", cycle.len(), names.join(", ")));
            }
            if p.oversized {
                let n = p.items.len();
                let over = if n > limits.max_files {
                    format!("{n} files > max_files {}", limits.max_files)
                } else {
                    format!("~{} tokens > max_tokens {}", p.tokens, limits.max_tokens)
                };
                reason.push_str(&format!(
                    "; over the limits ({over}): a cycle or a file cannot be split"
                ));
                notes.push(format!(
                    "a batch exceeds the limits ({over}) because a cycle or a single file cannot be split"
                ));
            }
            StepBatch {
                files: batch_files,
                level: p.level,
                depends_on: p.depends_on.clone(),
                phase: None,
                group,
                reason,
                tokens: p.tokens,
                oversized: p.oversized,
            }
        })
        .collect();

    if let Some(r) = rename
        && out.len() > 1
        && let Some(sid) = graph.symbol_id(&r.symbol.value)
    {
        let def_file = graph.symbols[sid].file;
        let old = &graph.symbols[sid].name;
        for b in &mut out {
            if b.files.contains(&def_file) {
                b.phase = Some(Phase::Expand);
                b.reason = format!(
                    "expand: rename the definition, keep `{old}` as a deprecated alias; {}",
                    b.reason
                );
            } else {
                b.phase = Some(Phase::Migrate);
                b.reason = format!("migrate callers to `{}`; {}", r.to.value, b.reason);
            }
        }
        // The contract batch: the definition's file and the re-exports that kept the old name.
        let mut contract: Vec<FileId> = vec![def_file];
        contract.extend(targets.keys().copied().filter(|&f| {
            f != def_file
                && graph.files[f].language == Language::Python
                && graph.files[f].path.ends_with("__init__.py")
                && graph
                    .references(sid)
                    .iter()
                    .any(|re| re.file == f && re.kind != ReferenceKind::Code)
        }));
        contract.sort_by(|a, b| graph.files[*a].path.cmp(&graph.files[*b].path));
        let level = out.iter().map(|b| b.level + 1).max().unwrap_or(0);
        let tokens = contract.iter().map(|&f| file_tokens(graph, f)).sum();
        notes.push(format!(
            "expand / migrate / contract: `{old}` stays as a deprecated alias until the last batch removes it, so every commit builds"
        ));
        out.push(StepBatch {
            depends_on: (0..out.len()).collect(),
            group: folder_of(&graph.files[def_file].path).to_string(),
            files: contract,
            level,
            phase: Some(Phase::Contract),
            reason: format!("contract: remove the deprecated alias `{old}`"),
            tokens,
            oversized: false,
        });
    }
    out
}

/// Fill a verify command's placeholders for a batch.
fn fill_verify(root: &Path, graph: &Graph, command: &str, files: &[FileId]) -> String {
    fill_placeholders(command, |name| match name {
        "files" => Some(
            files
                .iter()
                .map(|&f| shell_quote(&graph.files[f].path))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "packages" => Some(go_packages(root, graph, files)),
        "tests" => Some(python_tests(graph, files)),
        _ => None,
    })
}

/// `./dir` patterns of the Go packages the files are in plus every package depending on
/// them, within the repository's root module (`./...` when there are none).
fn go_packages(root: &Path, graph: &Graph, files: &[FileId]) -> String {
    let all = with_dependents(graph, files);
    let folders: BTreeSet<&str> = all
        .iter()
        .filter(|&&f| graph.files[f].language == Language::Go)
        .map(|&f| folder_of(&graph.files[f].path))
        .filter(|d| !in_nested_go_module(root, d))
        .collect();
    if folders.is_empty() {
        return "./...".to_string();
    }
    folders
        .into_iter()
        .map(|d| {
            if d.is_empty() {
                ".".to_string()
            } else {
                shell_quote(&format!("./{d}"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The files and everything depending on them, directly or not.
fn with_dependents(graph: &Graph, files: &[FileId]) -> Vec<FileId> {
    let mut all: Vec<FileId> = files.to_vec();
    all.extend(
        graph
            .transitive_dependents(files, None)
            .into_iter()
            .map(|(f, _)| f),
    );
    all
}

/// Whether a folder belongs to a Go module nested below the repository root (its packages
/// cannot be named from the root module's `go` commands).
fn in_nested_go_module(root: &Path, folder: &str) -> bool {
    let mut dir = folder;
    while !dir.is_empty() {
        if root.join(dir).join("go.mod").is_file() {
            return true;
        }
        dir = folder_of(dir);
    }
    false
}

/// Python test files among the files and everything depending on them.
fn python_tests(graph: &Graph, files: &[FileId]) -> String {
    let all = with_dependents(graph, files);
    let tests: BTreeSet<&str> = all
        .iter()
        .map(|&f| &graph.files[f])
        .filter(|n| n.language == Language::Python && is_python_test(&n.path))
        .map(|n| n.path.as_str())
        .collect();
    tests
        .into_iter()
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_python_test(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    (name.starts_with("test_") && name.ends_with(".py")) || name.ends_with("_test.py")
}

/// Quote for `sh -c` when needed.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, group: &str, deps: &[usize]) -> PackItem {
        PackItem {
            name: name.to_string(),
            group: group.to_string(),
            tokens: 10,
            deps: deps.to_vec(),
            together: Vec::new(),
        }
    }

    #[test]
    fn dependencies_come_first_and_cycles_stay_together() {
        // c → b → a, and d ↔ e.
        let items = vec![
            item("a", "x", &[]),
            item("b", "y", &[0]),
            item("c", "z", &[1]),
            item("d", "w", &[4]),
            item("e", "w", &[3]),
        ];
        let packed = pack(&items, 1, 1000);
        let batch_of = |i: usize| packed.iter().position(|p| p.items.contains(&i)).unwrap();
        assert!(batch_of(0) < batch_of(1));
        assert!(batch_of(1) < batch_of(2));
        assert_eq!(batch_of(3), batch_of(4));
        assert!(packed[batch_of(3)].oversized);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("src/a.py"), "src/a.py");
        assert_eq!(shell_quote("a b.py"), "'a b.py'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
