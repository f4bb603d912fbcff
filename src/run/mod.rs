//! The orchestrator: a recipe carried out batch by batch on its own branch. For each batch:
//! transform (rules) → check the edits → apply → verify → commit, or restore the batch's files
//! exactly and stop (or skip it with `keep_going`).
//!
//! Every step is planned on the repository as the earlier steps leave it: [`simulate`] computes
//! earlier steps' edits in memory (an overlay over the work tree) to plan later ones, which is
//! also what a dry run prints. Nothing here parses code or talks to git directly; it calls the
//! stages in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::context;
use crate::edit::EditError;
use crate::format::keep_gofmt_clean;
use crate::graph::{Graph, GraphError, GraphOptions, build_graph};
use crate::plan::{Batch, Phase, Plan, PlanBuilder, PlanError};
use crate::recipe::{
    BUNDLED, Origin, Recipe, RecipeError, RecipeSource, StepAction, fill_placeholders, parse_recipe,
};
use crate::rules::{BatchInput, RuleContext, Transformed, transform_batch};
use crate::scan::{Repository, Scan, ScanError, scan_repo};
use crate::state::{self, InProgress, RecipeRecord, RunState, RunStatus, SavedFile, StateError};
use crate::vcs::{self, VcsError};
use crate::verify::{self, CommandResult, SpawnError};

mod execute;
mod model_batch;
mod recover;

use execute::execute;
pub use model_batch::MODEL_PROMPT_BUDGET;
use model_batch::with_model;
pub use recover::{AbortReport, abort_run, resume_run};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run's branch (default `<prefix><recipe name>`).
    pub branch: Option<String>,
    /// The default branch's prefix (`git config ripple.branchPrefix`; `ripple/` when unset).
    pub branch_prefix: Option<String>,
    /// Print what each batch would change; change nothing.
    pub dry_run: bool,
    /// Skip a failed batch instead of stopping.
    pub keep_going: bool,
    /// Stop (resumably) after this many batches.
    pub max_batches: Option<usize>,
    /// Ask [`Hooks::review`] about every verified batch before committing it.
    pub interactive: bool,
    /// The model spec chosen by --model, RIPPLE_MODEL or `git config ripple.model` (the
    /// recipe's `model` is the fallback).
    pub model_spec: Option<String>,
    /// The environment variable holding the API key, when not the provider's usual one
    /// (`git config ripple.apiKeyEnv`).
    pub api_key_env: Option<String>,
    /// The model client, set up from the spec when the recipe has `model` steps.
    pub model: Option<Arc<crate::model::Client>>,
    /// Stop (resumably) between batches once the model has used this many tokens.
    pub max_tokens_total: Option<u64>,
    /// Answer model requests from this transcript instead of a provider.
    pub replay: Option<PathBuf>,
    /// Stop (resumably) between batches once the model has cost this much, given `prices`.
    pub max_cost: Option<f64>,
    /// Prices of input and output tokens, per million (`git config ripple.priceInput` /
    /// `ripple.priceOutput`).
    pub prices: Option<(f64, f64)>,
    /// Carry out only this batch, on top of HEAD (CI fan-out); its dependencies must be in
    /// HEAD's history already.
    pub batch: Option<usize>,
    /// The plan to take batches from (what `git ripple plan --format json` printed), instead of
    /// planning again on HEAD.
    pub plan: Option<Plan>,
    pub graph: GraphOptions,
    /// Set (by a Ctrl-C handler) to stop: the current batch is finished or rolled back, the
    /// rest are not run.
    pub interrupt: Arc<AtomicBool>,
}

/// Why a run could not start or had to stop. Outcomes that are not errors (a batch failed
/// verification) are in the [`RunReport`] instead.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// Uncommitted changes to tracked files: stop before touching anything.
    #[error("the work tree has uncommitted changes:\n{}", files.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(
        code(ripple::run::dirty),
        help(
            "commit or stash them first (git stash -u); git-ripple never touches uncommitted work"
        )
    )]
    Dirty { files: Vec<String> },
    /// A target is not tracked by git: committing it would capture the user's own work.
    #[error("{path} would be changed but is not tracked by git")]
    #[diagnostic(
        code(ripple::run::untracked),
        help("commit it first, or add it to .gitignore to leave it out of the graph")
    )]
    UntrackedTarget { path: String },
    /// The run's branch exists already.
    #[error("the branch {name} already exists")]
    #[diagnostic(
        code(ripple::run::branch_exists),
        help("pick another with --branch NAME, or delete it: git branch -D {name}")
    )]
    BranchExists { name: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Vcs(#[from] VcsError),
    /// Writing or restoring files failed: the machine (disk full, permissions).
    #[error(transparent)]
    #[diagnostic(code(ripple::run::write))]
    Write(EditError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Spawn(#[from] SpawnError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] crate::model::ModelError),
    /// `resume`, `status` or `abort` without a run in progress.
    #[error("no git-ripple run is in progress in this repository")]
    #[diagnostic(
        code(ripple::run::none),
        help("start one with `git ripple run RECIPE`")
    )]
    NoRun,
    /// A new run while another one is unfinished.
    #[error("run {id} (branch {branch}) is not finished")]
    #[diagnostic(
        code(ripple::run::in_progress),
        help("continue it with `git ripple resume`, or give it up with `git ripple abort`")
    )]
    RunInProgress { id: String, branch: String },
    /// The recipe file changed since the run began.
    #[error("the recipe {display} changed since the run began")]
    #[diagnostic(
        code(ripple::run::recipe_changed),
        help(
            "`git ripple resume --force` carries on with the recipe as it was when the run began; `git ripple abort` starts over"
        )
    )]
    RecipeChanged { display: String },
    /// A `model` step without a model configured: refused before any change.
    #[error("step {step} is a `model` step, and no model is configured")]
    #[diagnostic(
        code(ripple::run::model_step),
        help(
            "choose one with --model SPEC, RIPPLE_MODEL, `git config ripple.model SPEC` or `model = \"SPEC\"` in the recipe (openai:MODEL, openai-chat:MODEL, anthropic:MODEL, ollama:MODEL, openai-compatible:MODEL@BASE_URL); `git ripple explain RECIPE --batch K` shows what would be sent"
        )
    )]
    ModelStep { step: usize },
    /// `--plan` was made for another recipe.
    #[error("the plan is for recipe `{plan}`, not `{recipe}`")]
    #[diagnostic(code(ripple::run::plan_mismatch))]
    PlanMismatch { plan: String, recipe: String },
    /// `--batch K` names no batch of the plan.
    #[error("the plan has no batch {batch} (it has {total})")]
    #[diagnostic(
        code(ripple::run::no_batch),
        help("`git ripple plan RECIPE` lists the batches")
    )]
    NoSuchBatch { batch: usize, total: usize },
    /// `--batch K` whose dependencies are not in HEAD's history.
    #[error("batch {batch} builds on batches {missing}, which are not applied on HEAD")]
    #[diagnostic(
        code(ripple::run::missing_dependencies),
        help(
            "run (and merge) the batches of the earlier levels first; `git ripple plan --format json` gives every batch's level and depends_on"
        )
    )]
    MissingDependencies { batch: usize, missing: String },
    /// `--batch K` that HEAD already has.
    #[error("batch {batch} is already applied on HEAD")]
    #[diagnostic(code(ripple::run::already_applied))]
    AlreadyApplied { batch: usize },
    /// HEAD is not on the run's branch.
    #[error("HEAD is not on the run's branch {branch}")]
    #[diagnostic(
        code(ripple::run::wrong_branch),
        help("switch back with `git switch {branch}`, then `git ripple resume`")
    )]
    NotOnRunBranch { branch: String },
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Committed,
    /// Dry run: what would be committed.
    WouldCommit,
    /// The rule found nothing to change.
    Unchanged,
    VerificationFailed,
    TransformFailed,
    /// Interrupted while verifying: rolled back.
    Interrupted,
    /// Skipped by the reviewer (`--interactive`): rolled back, not redone on resume.
    Skipped,
    /// Not reached (the run stopped before it).
    NotRun,
}

impl BatchStatus {
    /// Committed, or nothing to change: a resumed run does not redo it.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            BatchStatus::Committed | BatchStatus::Unchanged | BatchStatus::Skipped
        )
    }
}

/// One batch in the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchReport {
    pub index: usize,
    pub step: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    pub status: BatchStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Files the batch changed (or would change).
    pub files: Vec<String>,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub summary: String,
    pub verify: Vec<CommandResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last lines of the failing command's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub duration_ms: u64,
    /// Dry run: the unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    VerificationFailed,
    TransformFailed,
    /// Stopped by Ctrl-C (or SIGTERM) between or during batches; nothing is half-applied.
    Interrupted,
    /// Stopped between batches because the model token budget is spent; resumable.
    BudgetSpent,
}

/// Where the run started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartPoint {
    pub branch: Option<String>,
    pub commit: String,
}

/// The final report (`--format json` prints it as is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub recipe: String,
    pub dry_run: bool,
    /// The run's branch (none in a dry run).
    pub branch: Option<String>,
    pub started_from: StartPoint,
    pub outcome: Outcome,
    pub batches: Vec<BatchReport>,
    /// The recipe's `final` commands, run once after the last batch.
    pub final_verify: Vec<CommandResult>,
    pub commits: Vec<String>,
    pub files_changed: usize,
    pub duration_ms: u64,
    /// Tokens the model used (0 without model steps).
    #[serde(default)]
    pub tokens: TokenUsage,
}

/// Model tokens used by a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
}

/// Progress as it happens, for the command line to show.
#[derive(Debug)]
pub enum Event<'a> {
    Planned {
        plan: &'a Plan,
    },
    Stage {
        batch: usize,
        total: usize,
        stage: &'a str,
    },
    BatchDone {
        report: &'a BatchReport,
        total: usize,
    },
}

/// What a reviewer decides about a verified batch (`--interactive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Commit it.
    Accept,
    /// Put its files back and go on with the next batch.
    Skip,
    /// The files were edited by hand: verify again, then ask again.
    Edit,
    /// Put its files back and stop; `resume` starts again from this batch.
    Quit,
}

/// A verified batch shown for review.
#[derive(Debug)]
pub struct Review<'a> {
    /// The repository root (the files are relative to it).
    pub root: &'a Path,
    pub batch: usize,
    pub total: usize,
    pub diff: &'a str,
    pub files: &'a [String],
}

/// How a run talks to whoever drives it: progress events, and (with `--interactive`) a
/// decision about each verified batch. A closure over events is enough for the rest.
pub trait Hooks {
    fn event(&mut self, event: Event<'_>);
    /// Only called when `RunOptions::interactive` is set.
    fn review(&mut self, _review: &Review<'_>) -> Decision {
        Decision::Accept
    }
}

impl<F: FnMut(Event<'_>)> Hooks for F {
    fn event(&mut self, event: Event<'_>) {
        self(event)
    }
}

/// The plan of every step, each step planned on the repository as the earlier ones leave it
/// (their edits computed in memory), with the edits of every batch when `transform_all`.
pub struct Simulation {
    pub plan: Plan,
    /// Per batch (index - 1): its edits, or why the rule failed. Empty unless computed.
    pub batches: Vec<Result<Transformed, String>>,
}

/// Plan a recipe step by step without changing anything.
pub fn simulate(
    root: &Path,
    scan: &Scan,
    recipe: &Recipe,
    options: &GraphOptions,
    transform_all: bool,
) -> Result<Simulation, RunError> {
    let mut overlay: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut builder = PlanBuilder::new();
    let mut batches = Vec::new();
    let mut simulated = true;
    let last = recipe.steps.len().saturating_sub(1);
    for i in 0..recipe.steps.len() {
        let graph = build_graph(
            root,
            scan,
            &GraphOptions {
                overlay: overlay.clone(),
                ..options.clone()
            },
        )?;
        recipe.check_step(&graph, i)?;
        let step_plan = builder.plan_step(root, &graph, recipe, i)?.clone();
        if !simulated {
            builder.note(
                "planned on the repository before the model step above changes it".to_string(),
            );
        }
        let action = &recipe.steps[i].action;
        if matches!(action, StepAction::Model(_)) && i < last {
            simulated = false;
        }
        if !(transform_all || i < last) || !simulated {
            continue;
        }
        for b in &step_plan.batches {
            let ctx = RuleContext {
                root,
                graph: &graph,
                overlay: &overlay,
            };
            let input = BatchInput {
                files: &b.files,
                phase: b.phase,
            };
            let result = rule_transform(&ctx, action, &input);
            // Later batches (the contract batch of a rename) see this one's changes.
            if let Ok(t) = &result {
                for c in &t.changes.changes {
                    overlay.insert(c.path.clone(), c.after.clone());
                }
            }
            batches.push(result);
        }
    }
    Ok(Simulation {
        plan: builder.finish(recipe),
        batches,
    })
}

/// Carry out a recipe. Returns the report; errors are reserved for what stops a run from
/// starting or continuing at all.
pub fn run_recipe(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    on_event: &mut dyn Hooks,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let root = repo.root.as_path();
    let with_model = with_model(options, recipe)?;
    let options = &with_model;
    if !options.dry_run
        && options.model.is_none()
        && let Some(i) = recipe
            .steps
            .iter()
            .position(|s| matches!(s.action, StepAction::Model(_)))
    {
        return Err(RunError::ModelStep { step: i + 1 });
    }
    let head = vcs::head_state(&repo.repo)?;
    if !options.dry_run {
        let dirty = vcs::dirty_files(&repo.repo)?;
        if !dirty.is_empty() {
            return Err(RunError::Dirty { files: dirty });
        }
    }
    let scan = scan_repo(repo)?;
    let sim = match &options.plan {
        Some(plan) if !options.dry_run => {
            if plan.recipe != recipe.name {
                return Err(RunError::PlanMismatch {
                    plan: plan.recipe.clone(),
                    recipe: recipe.name.clone(),
                });
            }
            Simulation {
                plan: plan.clone(),
                batches: Vec::new(),
            }
        }
        _ => simulate(root, &scan, recipe, &options.graph, options.dry_run)?,
    };
    if let Some(k) = options.batch {
        let Some(batch) = sim
            .plan
            .steps
            .iter()
            .flat_map(|s| &s.batches)
            .find(|b| b.index == k)
        else {
            return Err(RunError::NoSuchBatch {
                batch: k,
                total: sim.plan.totals.batches,
            });
        };
        let applied = vcs::applied_batches(&repo.repo, &recipe.name)?;
        if applied.contains(&k) {
            return Err(RunError::AlreadyApplied { batch: k });
        }
        let missing: Vec<usize> = batch
            .depends_on
            .iter()
            .copied()
            .filter(|d| !applied.contains(d))
            .collect();
        if !missing.is_empty() && !options.dry_run {
            return Err(RunError::MissingDependencies {
                batch: k,
                missing: missing
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    on_event.event(Event::Planned { plan: &sim.plan });
    let total = sim.plan.totals.batches;
    let start_point = StartPoint {
        branch: head
            .branch
            .as_ref()
            .map(|b| b.trim_start_matches("refs/heads/").to_string()),
        commit: head.commit.to_hex().to_string(),
    };

    if options.dry_run {
        let mut reports = Vec::new();
        for (step, b) in sim
            .plan
            .steps
            .iter()
            .flat_map(|s| s.batches.iter().map(move |b| (s.index, b)))
        {
            if options.batch.is_some_and(|k| k != b.index) {
                continue;
            }
            let t = sim.batches.get(b.index - 1);
            let report = match t {
                Some(Ok(t)) => {
                    let (_, added, removed) = t.changes.stats();
                    BatchReport {
                        index: b.index,
                        step,
                        phase: b.phase,
                        status: if t.changes.is_empty() {
                            BatchStatus::Unchanged
                        } else {
                            BatchStatus::WouldCommit
                        },
                        commit: None,
                        files: t.changes.paths().iter().map(|p| p.to_string()).collect(),
                        lines_added: added,
                        lines_removed: removed,
                        summary: t.summary.clone(),
                        verify: Vec::new(),
                        error: t.changes.check().err().map(|e| e.to_string()),
                        output_tail: None,
                        notes: t.notes.clone(),
                        duration_ms: 0,
                        diff: Some(t.changes.diff()),
                    }
                }
                Some(Err(e)) => failed_report(b.index, step, b.phase, e.clone()),
                None => failed_report(
                    b.index,
                    step,
                    b.phase,
                    "not simulated: it follows a model step".to_string(),
                ),
            };
            on_event.event(Event::BatchDone {
                report: &report,
                total,
            });
            reports.push(report);
        }
        let outcome = if reports.iter().any(|r| r.error.is_some()) {
            Outcome::TransformFailed
        } else {
            Outcome::Success
        };
        let files = distinct_files(&reports);
        return Ok(RunReport {
            recipe: recipe.name.clone(),
            dry_run: true,
            branch: None,
            started_from: start_point,
            outcome,
            batches: reports,
            final_verify: Vec::new(),
            commits: Vec::new(),
            files_changed: files,
            duration_ms: started.elapsed().as_millis() as u64,
            tokens: TokenUsage::default(),
        });
    }

    if total == 0 {
        return Ok(RunReport {
            recipe: recipe.name.clone(),
            dry_run: false,
            branch: None,
            started_from: start_point,
            outcome: Outcome::Success,
            batches: Vec::new(),
            final_verify: Vec::new(),
            commits: Vec::new(),
            files_changed: 0,
            duration_ms: started.elapsed().as_millis() as u64,
            tokens: TokenUsage::default(),
        });
    }
    // Untracked files never get committed behind the user's back.
    for step in &sim.plan.steps {
        for b in step
            .batches
            .iter()
            .filter(|b| options.batch.is_none_or(|k| k == b.index))
        {
            for f in &b.files {
                if root.join(f).exists() && !vcs::is_tracked(&repo.repo, f)? {
                    return Err(RunError::UntrackedTarget { path: f.clone() });
                }
            }
        }
    }
    let prefix = options.branch_prefix.as_deref().unwrap_or("ripple/");
    let branch = options
        .branch
        .clone()
        .unwrap_or_else(|| match options.batch {
            Some(k) => format!("{prefix}{}-batch-{k}", recipe.name),
            None => format!("{prefix}{}", recipe.name),
        });
    if vcs::branch_exists(&repo.repo, &branch)? {
        return Err(RunError::BranchExists { name: branch });
    }
    if let Some(running) = state::load_current(repo.repo.git_dir())? {
        return Err(RunError::RunInProgress {
            id: running.id,
            branch: running.branch,
        });
    }
    vcs::create_and_switch(&repo.repo, &branch, head.commit)?;
    let batches = sim
        .plan
        .steps
        .iter()
        .flat_map(|s| s.batches.iter().map(move |b| (s.index, b)))
        .map(|(step, b)| not_run(b.index, step, b.phase))
        .collect();
    let mut state = RunState {
        version: state::VERSION,
        id: state::new_id(&recipe.name),
        recipe: RecipeRecord {
            name: recipe.name.clone(),
            display: recipe.source.display_name(),
            path: match &recipe.source.origin {
                Origin::File(p) => Some(std::path::absolute(p).unwrap_or_else(|_| p.clone())),
                Origin::Bundled(_) => None,
            },
            hash: text_hash(&recipe.source.text),
            text: recipe.source.text.clone(),
        },
        started_from: start_point,
        branch,
        status: RunStatus::Running,
        plan: sim.plan,
        batches,
        in_progress: None,
        keep_going: options.keep_going,
        only: options.batch,
        ledger: Vec::new(),
        tokens_in: 0,
        tokens_out: 0,
        last_error: None,
        updated_ms: 0,
    };
    state.save(repo.repo.git_dir())?;
    if let Some(client) = &options.model {
        client.record_to(state::transcript_path(repo.repo.git_dir(), &state.id));
    }
    execute(repo, recipe, &mut state, options, on_event, started)
}

fn text_hash(text: &str) -> String {
    gix::objs::compute_hash(
        gix::hash::Kind::Sha1,
        gix::object::Kind::Blob,
        text.as_bytes(),
    )
    .map(|id| id.to_hex().to_string())
    .unwrap_or_default()
}

fn not_run(index: usize, step: usize, phase: Option<Phase>) -> BatchReport {
    let mut r = failed_report(index, step, phase, String::new());
    r.status = BatchStatus::NotRun;
    r.error = None;
    r
}

/// The report of a run's state.
pub fn report_of(
    state: &RunState,
    outcome: Outcome,
    final_verify: Vec<CommandResult>,
    started: Instant,
) -> RunReport {
    RunReport {
        recipe: state.recipe.name.clone(),
        dry_run: false,
        branch: Some(state.branch.clone()),
        started_from: state.started_from.clone(),
        outcome,
        commits: state
            .batches
            .iter()
            .filter_map(|b| b.commit.clone())
            .collect(),
        files_changed: distinct_files(&state.batches),
        // A `--batch K` run reports on its one batch.
        batches: state
            .batches
            .iter()
            .filter(|b| state.only.is_none_or(|k| k == b.index))
            .cloned()
            .collect(),
        final_verify,
        duration_ms: started.elapsed().as_millis() as u64,
        tokens: TokenUsage {
            input: state.tokens_in,
            output: state.tokens_out,
        },
    }
}

fn failed_report(index: usize, step: usize, phase: Option<Phase>, error: String) -> BatchReport {
    BatchReport {
        index,
        step,
        phase,
        status: BatchStatus::TransformFailed,
        commit: None,
        files: Vec::new(),
        lines_added: 0,
        lines_removed: 0,
        summary: String::new(),
        verify: Vec::new(),
        error: Some(error),
        output_tail: None,
        notes: Vec::new(),
        duration_ms: 0,
        diff: None,
    }
}

fn distinct_files(reports: &[BatchReport]) -> usize {
    reports
        .iter()
        .filter(|r| matches!(r.status, BatchStatus::Committed | BatchStatus::WouldCommit))
        .flat_map(|r| r.files.iter())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// A rule's edits for a batch, with gofmt-clean Go files kept clean (what a dry run shows and
/// a run applies).
fn rule_transform(
    ctx: &RuleContext<'_>,
    action: &StepAction,
    input: &BatchInput<'_>,
) -> Result<Transformed, String> {
    let mut t = transform_batch(ctx, action, input).map_err(|e| e.to_string())?;
    keep_gofmt_clean(&mut t.changes);
    Ok(t)
}

/// Who made a model batch and what it cost, for its commit's trailers.
pub struct ModelTrailer<'a> {
    pub spec: &'a str,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The recipe's message template filled in, then the trailers reviewers and tools read.
pub fn commit_message(
    recipe: &Recipe,
    step: usize,
    batch: usize,
    total: usize,
    transformed: &Transformed,
    verified: &[CommandResult],
    model: Option<ModelTrailer<'_>>,
) -> String {
    let title = &recipe.steps[step].title;
    let body = fill_placeholders(&recipe.commit.message, |name| match name {
        "recipe" => Some(recipe.name.clone()),
        "step" => Some(title.clone()),
        "batch" => Some(batch.to_string()),
        "total" => Some(total.to_string()),
        "summary" => Some(transformed.summary.clone()),
        _ => None,
    });
    let mut message = body.trim().to_string();
    message.push_str("\n\n");
    message.push_str(&format!("Ripple-Recipe: {}\n", recipe.name));
    message.push_str(&format!(
        "Ripple-Step: {}/{} {}\n",
        step + 1,
        recipe.steps.len(),
        recipe.steps[step].action.kind()
    ));
    message.push_str(&format!("Ripple-Batch: {batch}/{total}\n"));
    if verified.is_empty() {
        message.push_str("Ripple-Verified: none (the recipe has no verify commands)\n");
    }
    for v in verified {
        message.push_str(&format!(
            "Ripple-Verified: {} ({})\n",
            v.command.replace('\n', " "),
            v.summary.replace('\n', " ")
        ));
    }
    if let Some(m) = model {
        message.push_str(&format!(
            "Ripple-Model: {}\nRipple-Tokens: {} in, {} out\n",
            m.spec, m.input_tokens, m.output_tokens
        ));
    }
    message
}
