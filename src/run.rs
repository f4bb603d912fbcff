//! The orchestrator: a recipe carried out batch by batch on its own branch. For each batch:
//! transform (rules) → check the edits → apply → verify → commit, or restore the batch's files
//! exactly and stop (or skip it with `keep_going`).
//!
//! Every step is planned on the repository as the earlier steps leave it: [`simulate`] computes
//! earlier steps' edits in memory (an overlay over the work tree) to plan later ones, which is
//! also what a dry run prints. Nothing here parses code or talks to git directly; it calls the
//! stages in order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::edit::EditError;
use crate::format::keep_gofmt_clean;
use crate::graph::{Graph, GraphError, GraphOptions, build_graph};
use crate::plan::{Phase, Plan, PlanBuilder, PlanError};
use crate::recipe::{Recipe, RecipeError, StepAction, fill_placeholders};
use crate::rules::{BatchInput, RuleContext, Transformed, transform_batch};
use crate::scan::{Repository, Scan, ScanError, scan_repo};
use crate::vcs::{self, VcsError};
use crate::verify::{self, CommandResult, SpawnError};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run's branch (default `ripple/<recipe name>`).
    pub branch: Option<String>,
    /// Print what each batch would change; change nothing.
    pub dry_run: bool,
    /// Skip a failed batch instead of stopping.
    pub keep_going: bool,
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
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Not reached (the run stopped before it).
    NotRun,
}

/// One batch in the report.
#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub duration_ms: u64,
    /// Dry run: the unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    VerificationFailed,
    TransformFailed,
    /// Stopped by Ctrl-C (or SIGTERM) between or during batches; nothing is half-applied.
    Interrupted,
}

/// Where the run started.
#[derive(Debug, Clone, Serialize)]
pub struct StartPoint {
    pub branch: Option<String>,
    pub commit: String,
}

/// The final report (`--format json` prints it as is).
#[derive(Debug, Clone, Serialize)]
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
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let root = repo.root.as_path();
    let head = vcs::head_state(&repo.repo)?;
    if !options.dry_run {
        let dirty = vcs::dirty_files(&repo.repo)?;
        if !dirty.is_empty() {
            return Err(RunError::Dirty { files: dirty });
        }
    }
    let scan = scan_repo(repo)?;
    let sim = simulate(root, &scan, recipe, &options.graph, options.dry_run)?;
    on_event(Event::Planned { plan: &sim.plan });
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
            on_event(Event::BatchDone {
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
        });
    }
    // Untracked files never get committed behind the user's back.
    for step in &sim.plan.steps {
        for b in &step.batches {
            for f in &b.files {
                if root.join(f).exists() && !vcs::is_tracked(&repo.repo, f)? {
                    return Err(RunError::UntrackedTarget { path: f.clone() });
                }
            }
        }
    }
    let branch = options
        .branch
        .clone()
        .unwrap_or_else(|| format!("ripple/{}", recipe.name));
    if vcs::branch_exists(&repo.repo, &branch)? {
        return Err(RunError::BranchExists { name: branch });
    }
    vcs::create_and_switch(&repo.repo, &branch, head.commit)?;

    let mut parent = head.commit;
    let mut reports: Vec<BatchReport> = Vec::new();
    let mut commits = Vec::new();
    let mut outcome = Outcome::Success;
    let mut stopped = false;
    let no_overlay = BTreeMap::new();
    for (i, step_plan) in sim.plan.steps.iter().enumerate() {
        let graph: Graph = build_graph(root, &scan_repo(repo)?, &options.graph)?;
        let ctx = RuleContext {
            root,
            graph: &graph,
            overlay: &no_overlay,
        };
        let step = &recipe.steps[i];
        for b in &step_plan.batches {
            if options.interrupt.load(Ordering::SeqCst) && !stopped {
                outcome = Outcome::Interrupted;
                stopped = true;
            }
            if stopped {
                let mut r = failed_report(b.index, step_plan.index, b.phase, String::new());
                r.status = BatchStatus::NotRun;
                r.error = None;
                reports.push(r);
                continue;
            }
            let batch_started = Instant::now();
            on_event(Event::Stage {
                batch: b.index,
                total,
                stage: "transform",
            });
            let input = BatchInput {
                files: &b.files,
                phase: b.phase,
            };
            let transformed = transform_batch(&ctx, &step.action, &input)
                .map(|mut t| {
                    keep_gofmt_clean(&mut t.changes);
                    t
                })
                .map_err(|e| e.to_string())
                .and_then(|t| t.changes.check().map(|()| t).map_err(|e| e.to_string()));
            let t = match transformed {
                Ok(t) => t,
                Err(e) => {
                    let mut r = failed_report(b.index, step_plan.index, b.phase, e);
                    r.duration_ms = batch_started.elapsed().as_millis() as u64;
                    on_event(Event::BatchDone { report: &r, total });
                    reports.push(r);
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
                on_event(Event::BatchDone {
                    report: &report,
                    total,
                });
                reports.push(report);
                continue;
            }
            t.changes.write(root).map_err(RunError::Write)?;
            let mut failed = None;
            for command in &b.verify {
                on_event(Event::Stage {
                    batch: b.index,
                    total,
                    stage: "verify",
                });
                let result =
                    verify::run_command(root, command, recipe.verify.timeout, &options.interrupt)?;
                let ok = result.success;
                report.verify.push(result);
                if !ok {
                    failed = report.verify.last().cloned();
                    break;
                }
            }
            if failed.as_ref().is_some_and(|f| f.interrupted) {
                t.changes.restore(root).map_err(RunError::Write)?;
                report.status = BatchStatus::Interrupted;
                report.error =
                    Some("interrupted while verifying; the batch was rolled back".into());
                report.duration_ms = batch_started.elapsed().as_millis() as u64;
                on_event(Event::BatchDone {
                    report: &report,
                    total,
                });
                reports.push(report);
                outcome = Outcome::Interrupted;
                stopped = true;
                continue;
            }
            if let Some(result) = failed {
                t.changes.restore(root).map_err(RunError::Write)?;
                report.status = BatchStatus::VerificationFailed;
                report.error = Some(format!(
                    "verification failed: `{}` ({}); the batch was rolled back",
                    result.command, result.summary
                ));
                report.output_tail = Some(verify::tail(&result.output, 30));
                report.duration_ms = batch_started.elapsed().as_millis() as u64;
                on_event(Event::BatchDone {
                    report: &report,
                    total,
                });
                reports.push(report);
                if outcome == Outcome::Success {
                    outcome = Outcome::VerificationFailed;
                }
                stopped = !options.keep_going;
                continue;
            }
            on_event(Event::Stage {
                batch: b.index,
                total,
                stage: "commit",
            });
            let message = commit_message(recipe, i, b.index, total, &t, &report.verify);
            let id = match vcs::commit_changes(&repo.repo, &t.changes, &message, parent) {
                Ok(id) => id,
                Err(e) => {
                    t.changes.restore(root).map_err(RunError::Write)?;
                    return Err(e.into());
                }
            };
            parent = id;
            report.status = BatchStatus::Committed;
            report.commit = Some(id.to_hex().to_string());
            commits.push(id.to_hex().to_string());
            report.duration_ms = batch_started.elapsed().as_millis() as u64;
            on_event(Event::BatchDone {
                report: &report,
                total,
            });
            reports.push(report);
        }
    }
    let mut final_verify = Vec::new();
    if outcome == Outcome::Success && !commits.is_empty() {
        for command in &recipe.verify.final_commands {
            on_event(Event::Stage {
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
                break;
            }
        }
    }
    let files = distinct_files(&reports);
    Ok(RunReport {
        recipe: recipe.name.clone(),
        dry_run: false,
        branch: Some(branch),
        started_from: start_point,
        outcome,
        batches: reports,
        final_verify,
        commits,
        files_changed: files,
        duration_ms: started.elapsed().as_millis() as u64,
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
