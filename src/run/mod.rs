//! The orchestrator: a recipe carried out batch by batch on its own branch. It sequences the
//! stages and records what they return; it never builds prompts, parses answers, formats code or
//! talks to git itself. For each batch: transform → check the edits → write → verify (repairs
//! and review) → commit, or restore the batch's files exactly and stop (or skip it with
//! `keep_going`).
//!
//! * `preflight` checks everything that can refuse a run before any change (a dirty tree, a
//!   missing model, a plan file from another recipe, a taken branch);
//! * `batches` is the batch loop of a real run, `verdict` the verify / repair / review loop it
//!   shares with dry runs;
//! * `rehearse` carries out a dry run (with a model: in a scratch worktree);
//! * `recover` resumes and aborts; [`state`] is what survives the process; the reports
//!   ([`RunReport`], [`BatchReport`]) are what the user reads.
//!
//! The orchestrator must not build prompts, parse answers, format code or call gix: when it
//! needs one of those, it is missing a function in the stage that owns it.

mod baseline;
mod batches;
pub mod check;
mod preflight;
mod recover;
mod rehearse;
mod report;
pub mod stack;
pub mod state;
mod verdict;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::edit::EditError;
use crate::graph::{GraphError, GraphOptions};
use crate::plan::Plan;
use crate::recipe::{Recipe, RecipeError};
use crate::scan::{Repository, ScanError, scan_repo};
use crate::simulate::{SimulateError, simulate};
use crate::vcs::{self, VcsError};
use crate::verify::SpawnError;

pub use recover::{AbortReport, abort_run, resume_run};
pub use report::{
    Baseline, BaselineCommand, BatchReport, BatchStatus, FailureCause, Outcome, RunReport,
    StartPoint, TokenUsage,
};
use state::StateError;

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
    pub prices: Option<crate::model::Prices>,
    /// Carry out only this batch, on top of HEAD (CI fan-out); its dependencies must be in
    /// HEAD's history already.
    pub batch: Option<usize>,
    /// The plan to take batches from (what `git ripple plan --format json` printed), instead of
    /// planning again on HEAD.
    pub plan: Option<Plan>,
    /// Go on although the starting tree fails its verify commands, judging each batch by "no
    /// new failures" where the test runner names its failing tests.
    pub allow_red_baseline: bool,
    /// How the graph is built (file size limit).
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
    Dirty {
        /// The dirty files.
        files: Vec<String>,
    },
    /// A target is not tracked by git: committing it would capture the user's own work.
    #[error("{path} would be changed but is not tracked by git")]
    #[diagnostic(
        code(ripple::run::untracked),
        help("commit it first, or add it to .gitignore to leave it out of the graph")
    )]
    UntrackedTarget {
        /// The file.
        path: String,
    },
    /// The run's branch exists already.
    #[error("the branch {name} already exists")]
    #[diagnostic(
        code(ripple::run::branch_exists),
        help("pick another with --branch NAME, or delete it: git branch -D {name}")
    )]
    BranchExists {
        /// The branch.
        name: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The recipe is wrong (for this repository).
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The repository could not be listed.
    Scan(#[from] ScanError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The graph could not be built.
    Graph(#[from] GraphError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The steps could not be planned.
    Simulate(#[from] SimulateError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// A git operation failed.
    Vcs(#[from] VcsError),
    /// Writing or restoring files failed: the machine (disk full, permissions).
    #[error(transparent)]
    #[diagnostic(code(ripple::run::write))]
    Write(EditError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// A verify command could not be started.
    Spawn(#[from] SpawnError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The run state could not be read or written.
    State(#[from] StateError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The model could not be set up.
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
    RunInProgress {
        /// The run's id.
        id: String,
        /// Its branch.
        branch: String,
    },
    /// The recipe file changed since the run began.
    #[error("the recipe {display} changed since the run began")]
    #[diagnostic(
        code(ripple::run::recipe_changed),
        help(
            "`git ripple resume --force` carries on with the recipe as it was when the run began; `git ripple abort` starts over"
        )
    )]
    RecipeChanged {
        /// How the recipe is named.
        display: String,
    },
    /// A `model` step without a model configured: refused before any change.
    #[error("step {step} is a `model` step, and no model is configured")]
    #[diagnostic(
        code(ripple::run::model_step),
        help(
            "choose one with --model SPEC, RIPPLE_MODEL, `git config ripple.model SPEC` or `model = \"SPEC\"` in the recipe (openai:MODEL, openai-chat:MODEL, anthropic:MODEL, ollama:MODEL, openai-compatible:MODEL@BASE_URL); `git ripple explain RECIPE --batch K` shows what would be sent"
        )
    )]
    ModelStep {
        /// 1-based.
        step: usize,
    },
    /// `--plan` was made for another recipe.
    #[error("the plan is for recipe `{plan}`, not `{recipe}`")]
    #[diagnostic(code(ripple::run::plan_mismatch))]
    PlanMismatch {
        /// The recipe the plan names.
        plan: String,
        /// The recipe given.
        recipe: String,
    },
    /// `--plan` was made from another version of the recipe: its batches may not be the
    /// recipe's any more.
    #[error("the plan was made from another version of the recipe {display}")]
    #[diagnostic(
        code(ripple::run::plan_outdated),
        help(
            "make the plan again with `git ripple plan RECIPE --format json` from the recipe as it is now, and fan out that plan"
        )
    )]
    PlanOutdated {
        /// How the recipe is named.
        display: String,
    },
    /// A dry run's scratch worktree could not be set up.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Scratch(#[from] crate::verify::scratch::ScratchError),
    /// `--batch K` names no batch of the plan.
    #[error("the plan has no batch {batch} (it has {total})")]
    #[diagnostic(
        code(ripple::run::no_batch),
        help("`git ripple plan RECIPE` lists the batches")
    )]
    NoSuchBatch {
        /// The batch asked for.
        batch: usize,
        /// How many the plan has.
        total: usize,
    },
    /// `--batch K` whose dependencies are not in HEAD's history.
    #[error("batch {batch} builds on batches {missing}, which are not applied on HEAD")]
    #[diagnostic(
        code(ripple::run::missing_dependencies),
        help(
            "run (and merge) the batches of the earlier levels first; `git ripple plan --format json` gives every batch's level and depends_on"
        )
    )]
    MissingDependencies {
        /// The batch asked for.
        batch: usize,
        /// The batches missing, comma-separated.
        missing: String,
    },
    /// `--batch K` that HEAD already has.
    #[error("batch {batch} is already applied on HEAD")]
    #[diagnostic(code(ripple::run::already_applied))]
    AlreadyApplied {
        /// The batch asked for.
        batch: usize,
    },
    /// `check` has nothing to check, or nothing to check it with.
    #[error("nothing to check: {reason}")]
    #[diagnostic(
        code(ripple::check::nothing),
        help(
            "`git ripple check A..B --recipe RECIPE` checks any range with a recipe's verify commands (or `git config ripple.verify`)"
        )
    )]
    NothingToCheck {
        /// Why.
        reason: String,
    },
    /// A check could not be carried out.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Check(#[from] crate::verify::check::CheckError),
    /// HEAD is not on the run's branch.
    #[error("HEAD is not on the run's branch {branch}")]
    #[diagnostic(
        code(ripple::run::wrong_branch),
        help("switch back with `git switch {branch}`, then `git ripple resume`")
    )]
    NotOnRunBranch {
        /// The run's branch.
        branch: String,
    },
}

/// Progress as it happens, for the command line to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The plan is made; batches follow.
    Planned {
        /// The plan.
        plan: &'a Plan,
    },
    /// A batch entered a stage (transform, model, verify, repair, commit).
    Stage {
        /// The batch.
        batch: usize,
        /// How many batches the plan has.
        total: usize,
        /// The stage.
        stage: &'a str,
    },
    /// A verify command runs on the starting tree, before any batch.
    Baseline {
        /// The command (widened to the whole tree).
        command: &'a str,
    },
    /// A batch ended.
    BatchDone {
        /// How it ended.
        report: &'a BatchReport,
        /// How many batches the plan has.
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
    /// The batch.
    pub batch: usize,
    /// How many batches the plan has.
    pub total: usize,
    /// Its diff.
    pub diff: &'a str,
    /// Its files, which an editor may open.
    pub files: &'a [String],
}

/// How a run talks to whoever drives it: progress events, and (with `--interactive`) a
/// decision about each verified batch. A closure over events is enough for the rest.
pub trait Hooks {
    /// Something happened.
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

/// Settings from `git config`, so git-ripple behaves like a git subcommand: `ripple.verify`
/// (verify commands for recipes that have none; repeat the key for several) and
/// `ripple.branchPrefix` (the run branch's prefix).
pub fn apply_git_config(repo: &Repository, recipe: &mut Recipe) {
    if recipe.verify.commands.is_empty() {
        recipe.verify.commands = crate::vcs::config_strings(&repo.repo, "ripple.verify");
    }
}

/// Carry out a recipe. Returns the report; errors are reserved for what stops a run from
/// starting or continuing at all.
pub fn run_recipe(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    hooks: &mut dyn Hooks,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let options = preflight::with_model(options, recipe)?;
    preflight::model_configured(&options, recipe)?;
    let head = vcs::head_state(&repo.repo)?;
    if !options.dry_run {
        preflight::clean_tree(repo)?;
    }
    let scan = scan_repo(repo)?;
    let start_point = StartPoint {
        branch: head
            .branch
            .as_ref()
            .map(|b| b.trim_start_matches("refs/heads/").to_string()),
        commit: head.commit.to_hex().to_string(),
    };
    if options.dry_run {
        return rehearse::dry_run(repo, recipe, &options, &scan, start_point, hooks, started);
    }
    let plan = match &options.plan {
        Some(plan) => preflight::plan_from_file(repo, recipe, plan, &scan, &options)?,
        None => simulate(&repo.root, &scan, recipe, &options.graph, false)?.plan,
    };
    if let Some(k) = options.batch {
        preflight::batch_applicable(repo, recipe, &plan, k)?;
    }
    hooks.event(Event::Planned { plan: &plan });
    if plan.totals.batches == 0 {
        return Ok(RunReport::unchanged(
            &recipe.name,
            false,
            start_point,
            Vec::new(),
            Outcome::Success,
            started,
        ));
    }
    preflight::targets_tracked(repo, &plan, options.batch)?;
    let branch = preflight::free_branch(repo, recipe, &options)?;
    let mut baseline = baseline::run_baseline(repo, recipe, &options, head.commit, hooks)?;
    if !baseline.green {
        let stop = if baseline.interrupted {
            Some(Outcome::Interrupted)
        } else if !options.allow_red_baseline {
            Some(Outcome::BaselineFailed)
        } else {
            None
        };
        if let Some(outcome) = stop {
            let mut report = RunReport::unchanged(
                &recipe.name,
                false,
                start_point,
                Vec::new(),
                outcome,
                started,
            );
            report.baseline = Some(baseline);
            return Ok(report);
        }
        baseline.allowed_red = true;
    }
    vcs::create_and_switch(&repo.repo, &branch, head.commit)?;
    let mut state = state::RunState::start(
        recipe,
        start_point,
        branch,
        plan,
        options.keep_going,
        options.batch,
    );
    state.baseline = Some(baseline);
    state.save(repo.repo.git_dir())?;
    if let Some(client) = &options.model {
        client.record_to(state::transcript_path(repo.repo.git_dir(), &state.id));
    }
    batches::execute(repo, recipe, &mut state, &options, hooks, started)
}
