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
            let result = transform_batch(&ctx, action, &input)
                .map(|mut t| {
                    keep_gofmt_clean(&mut t.changes);
                    t
                })
                .map_err(|e| e.to_string());
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

/// A testing hook: with `RIPPLE_FAILPOINT=<point>:<batch>` in the environment, the process
/// kills itself with SIGKILL at that point, exactly as `kill -9` would, so tests can check
/// that a run resumes from anywhere. Points: `transformed`, `applied`, `verified`,
/// `committed`.
fn failpoint(point: &str, batch: usize) {
    if let Ok(want) = std::env::var("RIPPLE_FAILPOINT")
        && want == format!("{point}:{batch}")
    {
        #[cfg(unix)]
        // SAFETY: signalling our own process; nothing after this runs.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}

/// Carry out every batch of the state's plan that is not committed yet, saving the state at
/// every step.
fn execute(
    repo: &Repository,
    recipe: &Recipe,
    state: &mut RunState,
    options: &RunOptions,
    on_event: &mut dyn Hooks,
    started: Instant,
) -> Result<RunReport, RunError> {
    let root = repo.root.as_path();
    let git_dir = repo.repo.git_dir().to_path_buf();
    let total = state.plan.totals.batches;
    let mut parent = vcs::head_state(&repo.repo)?.commit;
    let mut outcome = Outcome::Success;
    let mut stopped = false;
    let mut paused = false;
    let mut executed = 0;
    let no_overlay = BTreeMap::new();
    let steps = state.plan.steps.clone();
    for (i, step_plan) in steps.iter().enumerate() {
        let pending: Vec<&Batch> = step_plan
            .batches
            .iter()
            .filter(|b| !state.batches[b.index - 1].status.is_done())
            .filter(|b| state.only.is_none_or(|k| k == b.index))
            .collect();
        if pending.is_empty() || stopped {
            continue;
        }
        let graph: Graph = build_graph(root, &scan_repo(repo)?, &options.graph)?;
        let ctx = RuleContext {
            root,
            graph: &graph,
            overlay: &no_overlay,
        };
        let step = &recipe.steps[i];
        for b in pending {
            if options.interrupt.load(Ordering::SeqCst) && !stopped {
                outcome = Outcome::Interrupted;
                stopped = true;
            }
            if options.max_batches.is_some_and(|m| executed >= m) && !stopped {
                paused = true;
                stopped = true;
            }
            if stopped {
                continue;
            }
            executed += 1;
            let slot = b.index - 1;
            let batch_started = Instant::now();
            let tokens_before = (state.tokens_in, state.tokens_out);
            on_event.event(Event::Stage {
                batch: b.index,
                total,
                stage: "transform",
            });
            let input = BatchInput {
                files: &b.files,
                phase: b.phase,
            };
            if let StepAction::Model(_) = &step.action
                && let Some(spent) = budget_spent(options, state)
            {
                state.last_error = Some(spent);
                outcome = Outcome::BudgetSpent;
                stopped = true;
                continue;
            }
            let transformed = match (&step.action, &options.model) {
                (StepAction::Model(m), Some(client)) => {
                    on_event.event(Event::Stage {
                        batch: b.index,
                        total,
                        stage: "model",
                    });
                    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
                    let prompt = model_prompt(m, &b.files, &graph, &read, &state.ledger);
                    ask_model(client, m, &b.files, &prompt.text, &read).map(|(mut t, usage)| {
                        state.tokens_in += usage.0;
                        state.tokens_out += usage.1;
                        if !prompt.dropped.is_empty() {
                            t.notes.push(format!(
                                "contracts left out to fit the prompt budget: {}",
                                prompt.dropped.join(", ")
                            ));
                        }
                        if !prompt.withheld.is_empty() {
                            t.notes.push(format!(
                                "withheld from the model (look like secrets): {}",
                                prompt.withheld.join(", ")
                            ));
                        }
                        t
                    })
                }
                _ => transform_batch(&ctx, &step.action, &input).map_err(|e| e.to_string()),
            }
            .map(|mut t| {
                keep_gofmt_clean(&mut t.changes);
                t
            })
            .and_then(|t| t.changes.check().map(|()| t).map_err(|e| e.to_string()));
            failpoint("transformed", b.index);
            let t = match transformed {
                Ok(t) => t,
                Err(e) => {
                    let mut r = failed_report(b.index, step_plan.index, b.phase, e.clone());
                    r.duration_ms = batch_started.elapsed().as_millis() as u64;
                    on_event.event(Event::BatchDone { report: &r, total });
                    state.batches[slot] = r;
                    state.last_error = Some(format!("batch {}: {e}", b.index));
                    state.save(&git_dir)?;
                    if outcome == Outcome::Success {
                        outcome = Outcome::TransformFailed;
                    }
                    stopped = !options.keep_going;
                    continue;
                }
            };
            let (_, added, removed) = t.changes.stats();
            let mut report = BatchReport {
                index: b.index,
                step: step_plan.index,
                phase: b.phase,
                status: BatchStatus::Unchanged,
                commit: None,
                files: t.changes.paths().iter().map(|p| p.to_string()).collect(),
                lines_added: added,
                lines_removed: removed,
                summary: t.summary.clone(),
                verify: Vec::new(),
                error: None,
                output_tail: None,
                notes: t.notes.clone(),
                duration_ms: 0,
                diff: None,
            };
            if t.changes.is_empty() {
                report.duration_ms = batch_started.elapsed().as_millis() as u64;
                on_event.event(Event::BatchDone {
                    report: &report,
                    total,
                });
                state.batches[slot] = report;
                state.save(&git_dir)?;
                continue;
            }
            // Save what the files were before writing them: a batch interrupted from here on
            // can be put back exactly.
            state.in_progress = Some(InProgress {
                batch: b.index,
                files: t
                    .changes
                    .changes
                    .iter()
                    .map(|c| SavedFile {
                        path: c.path.clone(),
                        before: c.before.clone(),
                    })
                    .collect(),
            });
            state.save(&git_dir)?;
            t.changes.write(root).map_err(RunError::Write)?;
            failpoint("applied", b.index);
            // Verify; with --interactive, show the verified batch and let the user accept,
            // skip, edit (then verify again) or quit.
            let mut t = t;
            let mut repairs_used = 0;
            let (failed, decision) = loop {
                report.verify.clear();
                let mut failed = None;
                for command in &b.verify {
                    on_event.event(Event::Stage {
                        batch: b.index,
                        total,
                        stage: "verify",
                    });
                    let result = verify::run_command(
                        root,
                        command,
                        recipe.verify.timeout,
                        &options.interrupt,
                    )?;
                    let ok = result.success;
                    report.verify.push(result);
                    if !ok {
                        failed = report.verify.last().cloned();
                        break;
                    }
                }
                failpoint("verified", b.index);
                // A model step gets the failure back, with the files as they are now, up to
                // `repairs` times.
                if let (Some(f), StepAction::Model(m), Some(client)) =
                    (&failed, &step.action, &options.model)
                    && !f.interrupted
                    && repairs_used < m.repairs
                {
                    repairs_used += 1;
                    on_event.event(Event::Stage {
                        batch: b.index,
                        total,
                        stage: "repair",
                    });
                    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
                    let prompt = model_prompt(m, &b.files, &graph, &read, &state.ledger);
                    let repair = format!(
                        "{}\n\n## Verification failed\n\nAfter your edits (the files above are as they are now), `{}` failed:\n\n```\n{}\n```\n\nAnswer with SEARCH/REPLACE blocks against the files as they are now that make it pass.\n",
                        prompt.text,
                        f.command,
                        context::redact(&verify::relevant_lines(&f.output, 80))
                    );
                    match ask_model(client, m, &b.files, &repair, &read) {
                        Ok((fix, usage)) => {
                            state.tokens_in += usage.0;
                            state.tokens_out += usage.1;
                            if fix.changes.check().is_ok() {
                                fix.changes.write(root).map_err(RunError::Write)?;
                                merge_changes(&mut t.changes, fix.changes);
                                if let Some(ip) = &mut state.in_progress {
                                    for c in &t.changes.changes {
                                        if !ip.files.iter().any(|s| s.path == c.path) {
                                            ip.files.push(SavedFile {
                                                path: c.path.clone(),
                                                before: c.before.clone(),
                                            });
                                        }
                                    }
                                }
                                state.save(&git_dir)?;
                                report
                                    .notes
                                    .push(format!("repair {repairs_used}: {}", fix.summary));
                                continue;
                            }
                        }
                        Err(e) => report
                            .notes
                            .push(format!("repair {repairs_used} failed: {e}")),
                    }
                }
                if failed.is_some() || !options.interactive {
                    break (failed, Decision::Accept);
                }
                let diff = t.changes.diff();
                match on_event.review(&Review {
                    root,
                    batch: b.index,
                    total,
                    diff: &diff,
                    files: &report.files,
                }) {
                    Decision::Edit => {
                        // The user edited the batch's files: take them as they are now.
                        for c in &mut t.changes.changes {
                            if c.after.is_some() {
                                c.after = std::fs::read_to_string(root.join(&c.path)).ok();
                            }
                        }
                        if let Err(e) = t.changes.check() {
                            let mut result =
                                report
                                    .verify
                                    .last()
                                    .cloned()
                                    .unwrap_or_else(|| CommandResult {
                                        command: "edit".into(),
                                        success: false,
                                        exit_code: None,
                                        timed_out: false,
                                        interrupted: false,
                                        duration_ms: 0,
                                        summary: String::new(),
                                        output: String::new(),
                                    });
                            result.success = false;
                            result.summary = e.to_string();
                            break (Some(result), Decision::Accept);
                        }
                        report.notes.push("edited during review".to_string());
                        let (_, added, removed) = t.changes.stats();
                        report.lines_added = added;
                        report.lines_removed = removed;
                    }
                    other => break (None, other),
                }
            };
            if matches!(decision, Decision::Skip | Decision::Quit) {
                t.changes.restore(root).map_err(RunError::Write)?;
                state.in_progress = None;
                report.duration_ms = batch_started.elapsed().as_millis() as u64;
                if decision == Decision::Skip {
                    report.status = BatchStatus::Skipped;
                    report.notes.push("skipped during review".to_string());
                } else {
                    report.status = BatchStatus::NotRun;
                    outcome = Outcome::Interrupted;
                    stopped = true;
                }
                on_event.event(Event::BatchDone {
                    report: &report,
                    total,
                });
                state.batches[slot] = report;
                state.save(&git_dir)?;
                continue;
            }
            if let Some(result) = failed {
                t.changes.restore(root).map_err(RunError::Write)?;
                state.in_progress = None;
                report.duration_ms = batch_started.elapsed().as_millis() as u64;
                if result.interrupted {
                    report.status = BatchStatus::Interrupted;
                    report.error =
                        Some("interrupted while verifying; the batch was rolled back".into());
                    outcome = Outcome::Interrupted;
                    stopped = true;
                } else {
                    report.status = BatchStatus::VerificationFailed;
                    report.error = Some(format!(
                        "verification failed: `{}` ({}); the batch was rolled back",
                        result.command, result.summary
                    ));
                    report.output_tail = Some(verify::tail(&result.output, 30));
                    if outcome == Outcome::Success {
                        outcome = Outcome::VerificationFailed;
                    }
                    stopped = !options.keep_going;
                }
                state.last_error = report
                    .error
                    .clone()
                    .map(|e| format!("batch {}: {e}", b.index));
                on_event.event(Event::BatchDone {
                    report: &report,
                    total,
                });
                state.batches[slot] = report;
                state.save(&git_dir)?;
                continue;
            }
            on_event.event(Event::Stage {
                batch: b.index,
                total,
                stage: "commit",
            });
            let mut message = commit_message(recipe, i, b.index, total, &t, &report.verify);
            if let (StepAction::Model(_), Some(client)) = (&step.action, &options.model) {
                message.push_str(&format!(
                    "Ripple-Model: {}\nRipple-Tokens: {} in, {} out\n",
                    client.spec.spec,
                    state.tokens_in - tokens_before.0,
                    state.tokens_out - tokens_before.1
                ));
            }
            let id = match vcs::commit_changes(&repo.repo, &t.changes, &message, parent) {
                Ok(id) => id,
                Err(e) => {
                    t.changes.restore(root).map_err(RunError::Write)?;
                    state.in_progress = None;
                    state.last_error = Some(e.to_string());
                    state.status = RunStatus::Stopped;
                    state.save(&git_dir)?;
                    return Err(e.into());
                }
            };
            failpoint("committed", b.index);
            if let StepAction::Model(_) = &step.action {
                state.ledger.push(format!(
                    "batch {}: {} ({})",
                    b.index,
                    t.summary,
                    report.files.join(", ")
                ));
                let excess = state.ledger.len().saturating_sub(LEDGER_ENTRIES);
                state.ledger.drain(..excess);
            }
            parent = id;
            report.status = BatchStatus::Committed;
            report.commit = Some(id.to_hex().to_string());
            report.duration_ms = batch_started.elapsed().as_millis() as u64;
            on_event.event(Event::BatchDone {
                report: &report,
                total,
            });
            state.batches[slot] = report;
            state.in_progress = None;
            state.save(&git_dir)?;
        }
    }
    let all_done = state
        .batches
        .iter()
        .filter(|b| state.only.is_none_or(|k| k == b.index))
        .all(|b| b.status.is_done());
    let mut final_verify = Vec::new();
    if outcome == Outcome::Success && all_done {
        for command in &recipe.verify.final_commands {
            on_event.event(Event::Stage {
                batch: total,
                total,
                stage: "final verify",
            });
            let result =
                verify::run_command(root, command, recipe.verify.timeout, &options.interrupt)?;
            let ok = result.success;
            final_verify.push(result);
            if !ok {
                outcome = Outcome::VerificationFailed;
                state.last_error = Some(format!("final verify command `{command}` failed"));
                break;
            }
        }
    }
    state.status = match outcome {
        Outcome::Success if all_done => RunStatus::Done,
        Outcome::Success => {
            debug_assert!(paused || state.batches.iter().any(|b| !b.status.is_done()));
            RunStatus::Stopped
        }
        Outcome::Interrupted | Outcome::BudgetSpent => RunStatus::Interrupted,
        Outcome::VerificationFailed | Outcome::TransformFailed => {
            if all_done {
                RunStatus::Done
            } else {
                RunStatus::Stopped
            }
        }
    };
    state.save(&git_dir)?;
    Ok(report_of(state, outcome, final_verify, started))
}

/// The options with a model client when the recipe has `model` steps and a spec is chosen
/// (options first, then the recipe's `model`).
fn with_model(options: &RunOptions, recipe: &Recipe) -> Result<RunOptions, RunError> {
    let mut out = options.clone();
    let needs = recipe
        .steps
        .iter()
        .any(|s| matches!(s.action, StepAction::Model(_)));
    if !needs || out.model.is_some() || options.dry_run {
        return Ok(out);
    }
    if let Some(transcript) = &options.replay {
        out.model = Some(Arc::new(crate::model::Client::replay(transcript)?));
        return Ok(out);
    }
    let Some(spec) = options.model_spec.clone().or_else(|| recipe.model.clone()) else {
        return Ok(out);
    };
    let mut spec = crate::model::ModelSpec::parse(&spec)?;
    if let Some(var) = &options.api_key_env {
        spec.key_env = Some(var.clone());
    }
    let mut retry = crate::model::RetryPolicy::default();
    if let Some(ms) = std::env::var("RIPPLE_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        retry.base = std::time::Duration::from_millis(ms);
    }
    // A provider that does not answer in time is retried like a dropped connection.
    let timeout = std::env::var("RIPPLE_MODEL_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(600);
    let client = crate::model::Client::new(spec, std::time::Duration::from_secs(timeout), retry)?;
    out.model = Some(Arc::new(client));
    Ok(out)
}

/// Why the run's model budget is spent, if it is: `--max-tokens-total`, or `--max-cost` with
/// prices configured.
fn budget_spent(options: &RunOptions, state: &RunState) -> Option<String> {
    let used = state.tokens_in + state.tokens_out;
    if let Some(limit) = options.max_tokens_total
        && used >= limit
    {
        return Some(format!(
            "the token budget ({limit}) is spent; `git ripple resume --max-tokens-total N` continues"
        ));
    }
    if let (Some(cap), Some((input, output))) = (options.max_cost, options.prices) {
        let cost = state.tokens_in as f64 * input / 1e6 + state.tokens_out as f64 * output / 1e6;
        if cost >= cap {
            return Some(format!(
                "the cost cap ({cap:.2}) is reached ({cost:.2} spent); `git ripple resume --max-cost N` continues"
            ));
        }
    }
    None
}

/// A model batch's prompt from the files as they are now.
fn model_prompt(
    step: &crate::recipe::ModelStep,
    files: &[String],
    graph: &Graph,
    read: &dyn Fn(&str) -> Option<String>,
    ledger: &[String],
) -> context::Prompt {
    context::build_prompt(
        &step.instructions,
        files,
        graph,
        read,
        ledger,
        MODEL_PROMPT_BUDGET,
    )
}

/// Prompt budget of a model batch (tokens).
pub const MODEL_PROMPT_BUDGET: usize = 24_000;
/// How many earlier batches the ledger remembers.
const LEDGER_ENTRIES: usize = 20;
/// The system prompt (Markdown, embedded).
const SYSTEM_PROMPT: &str = include_str!("../prompts/system.md");

/// Ask the model for a batch's edits and apply its answer to the files' current texts (in
/// memory). Returns the edits and the (input, output) tokens used.
fn ask_model(
    client: &crate::model::Client,
    step: &crate::recipe::ModelStep,
    files: &[String],
    prompt: &str,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<(Transformed, (u64, u64)), String> {
    let completion = client
        .complete(SYSTEM_PROMPT, prompt)
        .map_err(|e| e.to_string())?;
    let usage = (completion.input_tokens, completion.output_tokens);
    let edits = crate::edit::protocol::parse_answer(&completion.text)
        .map_err(|e| format!("the model's answer was refused: {e}"))?;
    let allow_new = |p: &str| step.new_files.as_ref().is_some_and(|g| g.is_match(p));
    let scope = crate::edit::protocol::Scope {
        files,
        allow_new: &allow_new,
    };
    let (changes, notes) = crate::edit::protocol::apply_edits(&edits, &scope, read)
        .map_err(|e| format!("the model's answer was refused: {e}"))?;
    let n = changes.changes.len();
    Ok((
        Transformed {
            changes,
            summary: format!(
                "{} ({n} file{} changed by the model)",
                step.instructions.lines().next().unwrap_or("").trim(),
                if n == 1 { "" } else { "s" }
            ),
            notes,
        },
        usage,
    ))
}

/// Fold a repair's changes (made on top of `into`'s results) into `into`: the `before` stays
/// what the batch started from.
fn merge_changes(into: &mut crate::edit::ChangeSet, repair: crate::edit::ChangeSet) {
    for c in repair.changes {
        match into.changes.iter_mut().find(|x| x.path == c.path) {
            Some(existing) => existing.after = c.after,
            None => into.changes.push(c),
        }
    }
    let done = std::mem::take(into);
    *into = done.normalize();
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

/// Continue the run in progress after Ctrl-C, `kill -9`, a crash or a failed batch: put back a
/// half-applied batch (or notice that it was committed just before the process died), check
/// that nobody moved the branch or changed the recipe, and carry out the remaining batches.
pub fn resume_run(
    repo: &Repository,
    options: &RunOptions,
    force: bool,
    on_event: &mut dyn Hooks,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let git_dir = repo.repo.git_dir().to_path_buf();
    let mut state = state::load_current(&git_dir)?.ok_or(RunError::NoRun)?;
    // The recipe as it was when the run began is what the run carries out.
    let now = match &state.recipe.path {
        Some(p) => std::fs::read_to_string(p).ok(),
        None => BUNDLED
            .iter()
            .find(|(n, _)| *n == state.recipe.name)
            .map(|(_, t)| t.to_string()),
    };
    if now.as_deref().map(text_hash).as_deref() != Some(state.recipe.hash.as_str()) && !force {
        return Err(RunError::RecipeChanged {
            display: state.recipe.display.clone(),
        });
    }
    let source = RecipeSource {
        origin: match &state.recipe.path {
            Some(p) => Origin::File(p.clone()),
            None => BUNDLED
                .iter()
                .find(|(n, _)| *n == state.recipe.name)
                .map(|(n, _)| Origin::Bundled(n))
                .unwrap_or(Origin::File(PathBuf::from(&state.recipe.display))),
        },
        text: state.recipe.text.clone(),
        display: state.recipe.display.clone(),
    };
    let recipe = parse_recipe(source)?;
    let head = vcs::head_state(&repo.repo)?;
    let run_ref = format!("refs/heads/{}", state.branch);
    if head.branch.as_deref() != Some(run_ref.as_str()) {
        return Err(RunError::NotOnRunBranch {
            branch: state.branch.clone(),
        });
    }
    let expected = last_commit(&state)?;
    if let Some(ip) = state.in_progress.take() {
        let slot = ip.batch - 1;
        if head.commit != expected
            && vcs::is_batch_commit(
                &repo.repo,
                head.commit,
                expected,
                &state.recipe.name,
                ip.batch,
            )?
        {
            // The commit was made just before the process died: keep it, fix the index.
            vcs::reset_index(&repo.repo, head.commit)?;
            let b = &mut state.batches[slot];
            b.status = BatchStatus::Committed;
            b.commit = Some(head.commit.to_hex().to_string());
            b.files = ip.files.iter().map(|f| f.path.clone()).collect();
            b.notes
                .push("committed just before the run was interrupted".to_string());
        } else {
            let changes = crate::edit::ChangeSet {
                changes: ip
                    .files
                    .iter()
                    .map(|f| crate::edit::FileChange {
                        path: f.path.clone(),
                        before: f.before.clone(),
                        after: None,
                    })
                    .collect(),
            };
            changes.restore(&repo.root).map_err(RunError::Write)?;
        }
        state.save(&git_dir)?;
    }
    let expected = last_commit(&state)?;
    if head.commit != expected && !force {
        return Err(RunError::Vcs(VcsError::HeadMoved {
            expected: expected.to_hex().to_string(),
            found: head.commit.to_hex().to_string(),
        }));
    }
    let dirty = vcs::dirty_files(&repo.repo)?;
    if !dirty.is_empty() {
        return Err(RunError::Dirty { files: dirty });
    }
    on_event.event(Event::Planned { plan: &state.plan });
    state.status = RunStatus::Running;
    state.last_error = None;
    state.save(&git_dir)?;
    let options = RunOptions {
        keep_going: state.keep_going || options.keep_going,
        ..with_model(options, &recipe)?
    };
    if let Some(client) = &options.model {
        client.record_to(state::transcript_path(&git_dir, &state.id));
    }
    execute(repo, &recipe, &mut state, &options, on_event, started)
}

/// The commit the run's branch should be at: the last committed batch's, or where it began.
fn last_commit(state: &RunState) -> Result<gix::ObjectId, RunError> {
    let hex = state
        .batches
        .iter()
        .rev()
        .find_map(|b| b.commit.clone())
        .unwrap_or_else(|| state.started_from.commit.clone());
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(|e| {
        RunError::State(StateError::Read {
            path: state.id.clone(),
            message: e.to_string(),
        })
    })
}

/// What `abort` did.
#[derive(Debug, Clone, Serialize)]
pub struct AbortReport {
    pub id: String,
    pub restored_to: StartPoint,
    pub branch: String,
    pub branch_deleted: bool,
}

/// Go back to where the run began: the original branch checked out with its files exactly as
/// they were; the run's branch is kept unless `delete_branch`.
pub fn abort_run(repo: &Repository, delete_branch: bool) -> Result<AbortReport, RunError> {
    let git_dir = repo.repo.git_dir().to_path_buf();
    let mut state = state::load_current(&git_dir)?.ok_or(RunError::NoRun)?;
    let mut touched: std::collections::BTreeSet<String> = state
        .batches
        .iter()
        .filter(|b| b.status == BatchStatus::Committed)
        .flat_map(|b| b.files.iter().cloned())
        .collect();
    if let Some(ip) = state.in_progress.take() {
        touched.extend(ip.files.into_iter().map(|f| f.path));
    }
    // Anything else changed in the work tree is the user's: refuse rather than lose it.
    let dirty: Vec<String> = vcs::dirty_files(&repo.repo)?
        .into_iter()
        .filter(|f| !touched.contains(f))
        .collect();
    if !dirty.is_empty() {
        return Err(RunError::Dirty { files: dirty });
    }
    let start = gix::ObjectId::from_hex(state.started_from.commit.as_bytes()).map_err(|e| {
        RunError::State(StateError::Read {
            path: state.id.clone(),
            message: e.to_string(),
        })
    })?;
    let changes = crate::edit::ChangeSet {
        changes: touched
            .iter()
            .map(|path| {
                Ok(crate::edit::FileChange {
                    path: path.clone(),
                    before: vcs::file_at(&repo.repo, start, path)?,
                    after: None,
                })
            })
            .collect::<Result<_, VcsError>>()?,
    };
    changes.restore(&repo.root).map_err(RunError::Write)?;
    match &state.started_from.branch {
        Some(b) => vcs::switch_head(&repo.repo, &format!("refs/heads/{b}"), "git ripple abort")?,
        None => vcs::detach_head(&repo.repo, start)?,
    }
    vcs::reset_index(&repo.repo, start)?;
    let mut branch_deleted = false;
    if delete_branch && state.started_from.branch.as_deref() != Some(state.branch.as_str()) {
        vcs::delete_branch(&repo.repo, &state.branch)?;
        branch_deleted = true;
    }
    state.status = RunStatus::Aborted;
    state.save(&git_dir)?;
    Ok(AbortReport {
        id: state.id.clone(),
        restored_to: state.started_from.clone(),
        branch: state.branch.clone(),
        branch_deleted,
    })
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

/// The recipe's message template filled in, then the trailers reviewers and tools read.
pub fn commit_message(
    recipe: &Recipe,
    step: usize,
    batch: usize,
    total: usize,
    transformed: &Transformed,
    verified: &[CommandResult],
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
    message
}
