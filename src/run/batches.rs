//! The batch loop of a real run: for every batch of the plan not done yet, transform, check,
//! write, verify (see `verdict`), then commit or put the files back, saving the state at every
//! step so a run killed anywhere can be resumed.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::report::{BatchReport, BatchStatus, FailureCause, Outcome, RunReport, TokenUsage};
use super::state::{RunState, RunStatus};
use super::verdict::{Sink, Verdict, Verifying, verify_batch};
use super::{Decision, Event, Hooks, Review, RunError, RunOptions};
use crate::change::ChangeSet;
use crate::edit;
use crate::graph::{Graph, build_graph};
use crate::plan::Batch;
use crate::recipe::{Recipe, StepAction, fill_placeholders};
use crate::scan::{Repository, View, scan_repo};
use crate::transform::{self, BatchInput, Transformed, Usage};
use crate::vcs::{self, trailers::Trailers};
use crate::verify::{self, CommandResult};

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

/// Why the run's model budget is spent, if it is: `--max-tokens-total`, or `--max-cost` with
/// prices configured.
pub(super) fn budget_spent(options: &RunOptions, tokens: &Usage) -> Option<String> {
    let used = tokens.input + tokens.output;
    if let Some(limit) = options.max_tokens_total
        && used >= limit
    {
        return Some(format!(
            "the token budget ({limit}) is spent; `git ripple resume --max-tokens-total N` continues"
        ));
    }
    if let (Some(cap), Some(prices)) = (options.max_cost, options.prices) {
        let cost = tokens.cost(&prices);
        if cost >= cap {
            return Some(format!(
                "the cost cap ({cap:.2}) is reached ({cost:.2} spent); `git ripple resume --max-cost N` continues"
            ));
        }
    }
    None
}

/// What a batch's verify commands may reach. In a run with model steps every verify command may
/// run code a model wrote (a rule batch's tests run the model batches before it), so they all
/// run without the credentials the environment carries; the recipe can take the network away.
pub(super) fn verify_sandbox(recipe: &Recipe, options: &RunOptions) -> verify::Sandbox {
    verify::Sandbox {
        strip_credentials: super::preflight::has_model_steps(recipe),
        allow: recipe.verify.env.clone(),
        also_strip: options.api_key_env.iter().cloned().collect(),
        offline: !recipe.verify.network,
        env: Vec::new(),
    }
}

/// The recipe's message template filled in for a batch, then its trailers.
pub(super) fn commit_message(
    recipe: &Recipe,
    step: usize,
    batch: &Batch,
    total: usize,
    transformed: &Transformed,
    verified: &[CommandResult],
    model: Option<(&str, Usage)>,
) -> String {
    let title = &recipe.steps[step].title;
    let body = fill_placeholders(&recipe.commit.message, |name| match name {
        "recipe" => Some(recipe.name.clone()),
        "step" => Some(title.clone()),
        "batch" => Some(batch.index.to_string()),
        "total" => Some(total.to_string()),
        "summary" => Some(transformed.summary.clone()),
        _ => None,
    });
    let trailers = Trailers {
        recipe: &recipe.name,
        step: (
            step + 1,
            recipe.steps.len(),
            recipe.steps[step].action.kind(),
        ),
        batch: (batch.index, total),
        verified: verified
            .iter()
            .map(|v| (v.command.as_str(), v.summary.as_str()))
            .collect(),
        model,
        owners: &batch.owners,
    };
    format!("{}\n\n{}", body.trim(), trailers.render())
}

/// The run's side of the verify loop: stages to the hooks, tokens and in-progress files to the
/// state (saved at once), the review to the hooks.
struct RunSink<'a> {
    state: &'a mut RunState,
    git_dir: &'a Path,
    hooks: &'a mut dyn Hooks,
    root: &'a Path,
    batch: usize,
    total: usize,
    interactive: bool,
}

impl Sink for RunSink<'_> {
    fn stage(&mut self, stage: &'static str) {
        self.hooks.event(Event::Stage {
            batch: self.batch,
            total: self.total,
            stage,
        });
    }

    fn used(&mut self, usage: Usage) {
        self.state.add_tokens(usage);
    }

    fn changed(&mut self, changes: &ChangeSet) -> Result<(), RunError> {
        self.state.begin_batch(self.batch, changes);
        Ok(self.state.save(self.git_dir)?)
    }

    fn review(&mut self, diff: &str, files: &[String]) -> Option<Decision> {
        self.interactive.then(|| {
            self.hooks.review(&Review {
                root: self.root,
                batch: self.batch,
                total: self.total,
                diff,
                files,
            })
        })
    }
}

/// Carry out every batch of the state's plan that is not done yet.
pub(super) fn execute(
    repo: &Repository,
    recipe: &Recipe,
    state: &mut RunState,
    options: &RunOptions,
    hooks: &mut dyn Hooks,
    started: Instant,
) -> Result<RunReport, RunError> {
    let root = repo.root.as_path();
    let git_dir = repo.repo.git_dir().to_path_buf();
    let total = state.plan.totals.batches;
    let mut parent = vcs::head_state(&repo.repo)?.commit;
    let mut outcome = Outcome::Success;
    let mut stopped = false;
    let mut executed = 0;
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
        // Each step transforms on the repository as the steps before left it.
        let graph: Graph = build_graph(root, &scan_repo(repo)?, &options.graph)?;
        let action = &recipe.steps[i].action;
        let model_step = matches!(action, StepAction::Model(_));
        for b in pending {
            if options.interrupt.load(Ordering::SeqCst) && !stopped {
                outcome = Outcome::Interrupted;
                stopped = true;
            }
            if options.max_batches.is_some_and(|m| executed >= m) {
                stopped = true;
            }
            if model_step
                && !stopped
                && let Some(spent) = budget_spent(options, &state.tokens)
            {
                state.last_error = Some(spent);
                outcome = Outcome::BudgetSpent;
                stopped = true;
            }
            if stopped {
                continue;
            }
            executed += 1;
            let ended = carry_out(
                repo,
                recipe,
                state,
                options,
                hooks,
                &graph,
                (i, step_plan.index),
                b,
                &mut parent,
            )?;
            if let Some(failure) = ended {
                outcome = outcome.or(failure);
                stopped = failure == Outcome::Interrupted || !options.keep_going;
            }
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
            hooks.event(Event::Stage {
                batch: total,
                total,
                stage: "final verify",
            });
            let sandbox = verify_sandbox(recipe, options);
            let result = verify::run_command(
                root,
                command,
                recipe.verify.timeout,
                &options.interrupt,
                &sandbox,
            )?;
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
        Outcome::Interrupted | Outcome::BudgetSpent => RunStatus::Interrupted,
        _ if all_done => RunStatus::Done,
        _ => RunStatus::Stopped,
    };
    state.outcome = Some(outcome);
    state.final_verify = final_verify.clone();
    state.save(&git_dir)?;
    Ok(state.report(outcome, final_verify, started))
}

/// Whether a command that failed on a batch fails on the batch's parent tree too: run once
/// more in the work tree (the batch rolled back, so it holds the parent's files). A failure on
/// the parent cached before is proof enough; a cached pass is not (a flaky command passes now
/// and then), so the command runs again and its result is kept. Where both outputs name their
/// failing tests, the failure is the batch's unless every test it fails fails on the parent too.
fn failure_cause(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    parent: gix::ObjectId,
    failed: &CommandResult,
) -> Result<FailureCause, RunError> {
    let command = failed.command.as_str();
    let tree = vcs::commit_info(&repo.repo, parent)?
        .tree
        .to_hex()
        .to_string();
    let cache = verify::cache::ResultCache::open(repo.repo.git_dir());
    let on_parent = match cache.get(&tree, command).filter(|r| !r.success) {
        Some(r) => r,
        None => {
            let r = verify::run_command(
                &repo.root,
                command,
                recipe.verify.timeout,
                &options.interrupt,
                &verify_sandbox(recipe, options),
            )?;
            cache.put(&tree, &r);
            r
        }
    };
    if on_parent.success || on_parent.interrupted {
        return Ok(FailureCause::Batch);
    }
    let tests = verify::failures::failing_tests;
    Ok(match (tests(&failed.output), tests(&on_parent.output)) {
        (Some(now), Some(before)) if !now.is_subset(&before) => FailureCause::Batch,
        _ => FailureCause::PreExisting,
    })
}

/// One batch, from transform to commit or rollback. Returns how it failed, if it did (the
/// failure decides whether the run goes on).
#[allow(clippy::too_many_arguments)]
fn carry_out(
    repo: &Repository,
    recipe: &Recipe,
    state: &mut RunState,
    options: &RunOptions,
    hooks: &mut dyn Hooks,
    graph: &Graph,
    (step, step_number): (usize, usize),
    b: &Batch,
    parent: &mut gix::ObjectId,
) -> Result<Option<Outcome>, RunError> {
    let root = repo.root.as_path();
    let git_dir = repo.repo.git_dir();
    let total = state.plan.totals.batches;
    let slot = b.index - 1;
    let batch_started = Instant::now();
    let tokens_before = state.tokens;
    let stage = |hooks: &mut dyn Hooks, stage| {
        hooks.event(Event::Stage {
            batch: b.index,
            total,
            stage,
        })
    };
    stage(hooks, "transform");
    let action = &recipe.steps[step].action;
    let input = BatchInput {
        files: &b.files,
        phase: b.phase,
    };
    let ledger = state.ledger.clone();
    let ctx = transform::Context {
        view: View::disk(root),
        graph,
        model: options.model.as_deref(),
        ledger: &ledger,
        budget: recipe.batch.max_tokens as usize,
        focus_above: recipe.batch.focus_above,
    };
    if matches!(action, StepAction::Model(_)) {
        stage(hooks, "model");
        if let Some(client) = options.model.as_deref() {
            client.label(&format!("batch {}", b.index));
        }
    }
    let transformed = transform::transform_batch(&ctx, action, &input);
    state.add_tokens(match &transformed {
        Ok(t) => t.usage,
        Err(e) => e.usage(),
    });
    let format_repairs = transformed.as_ref().err().map_or(0, |e| e.format_repairs());
    let transformed = transformed.map_err(|e| e.to_string()).and_then(|t| {
        edit::check(&t.changes).map_err(|e| e.to_string())?;
        Ok(t)
    });
    failpoint("transformed", b.index);
    let mut t = match transformed {
        Ok(t) => t,
        Err(e) => {
            let e = crate::context::redact(&e);
            let mut r = BatchReport::transform_failed(b, step_number, e.clone());
            r.format_repairs = format_repairs;
            r.duration_ms = batch_started.elapsed().as_millis() as u64;
            r.tokens = tokens_since(state, tokens_before);
            hooks.event(Event::BatchDone { report: &r, total });
            state.batches[slot] = r;
            state.last_error = Some(format!("batch {}: {e}", b.index));
            state.save(git_dir)?;
            return Ok(Some(Outcome::TransformFailed));
        }
    };
    let mut report = BatchReport::transformed(b, step_number, &t, BatchStatus::Unchanged);
    if t.changes.is_empty() {
        report.duration_ms = batch_started.elapsed().as_millis() as u64;
        report.tokens = tokens_since(state, tokens_before);
        hooks.event(Event::BatchDone {
            report: &report,
            total,
        });
        state.batches[slot] = report;
        state.save(git_dir)?;
        return Ok(None);
    }
    // Save what the files were before writing them: a batch interrupted from here on can be
    // put back exactly.
    state.begin_batch(b.index, &t.changes);
    state.save(git_dir)?;
    edit::write(root, &t.changes).map_err(RunError::Write)?;
    failpoint("applied", b.index);
    let repair = match action {
        StepAction::Model(m) => Some((m, ctx, input)),
        _ => None,
    };
    let sandbox = verify_sandbox(recipe, options);
    let baseline = state.baseline.clone().filter(|b| b.allowed_red);
    let verifying = Verifying {
        dir: root,
        commands: &b.verify,
        timeout: recipe.verify.timeout,
        interrupt: &options.interrupt,
        sandbox: &sandbox,
        repair,
        retries: recipe.verify.retries,
        baseline: baseline.as_ref(),
    };
    let verdict = verify_batch(
        &verifying,
        &mut t,
        &mut report,
        &mut RunSink {
            state: &mut *state,
            git_dir,
            hooks: &mut *hooks,
            root,
            batch: b.index,
            total,
            interactive: options.interactive,
        },
    )?;
    failpoint("verified", b.index);
    if !matches!(verdict, Verdict::Commit) {
        edit::restore(root, &t.changes).map_err(RunError::Write)?;
        state.in_progress = None;
        report.duration_ms = batch_started.elapsed().as_millis() as u64;
        let failure = match verdict {
            Verdict::Skip => {
                report.status = BatchStatus::Skipped;
                report.notes.push("skipped during review".to_string());
                None
            }
            Verdict::Quit => {
                report.status = BatchStatus::NotRun;
                Some(Outcome::Interrupted)
            }
            Verdict::Failed(result) if result.interrupted => {
                report.status = BatchStatus::Interrupted;
                report.error =
                    Some("interrupted while verifying; the batch was rolled back".into());
                Some(Outcome::Interrupted)
            }
            Verdict::Failed(result) => {
                report.status = BatchStatus::VerificationFailed;
                report.error = Some(format!(
                    "verification failed: `{}` ({}); the batch was rolled back",
                    result.command, result.summary
                ));
                report.keep_output_tail(&result.output);
                hooks.event(Event::Stage {
                    batch: b.index,
                    total,
                    stage: "verify parent",
                });
                let cause = failure_cause(repo, recipe, options, *parent, &result)?;
                if cause == FailureCause::PreExisting {
                    report.notes.push(format!(
                        "`{}` fails on the batch's parent tree too: flaky or broken before this batch, not caused by it",
                        result.command
                    ));
                }
                report.failure_cause = Some(cause);
                Some(Outcome::VerificationFailed)
            }
            Verdict::BadEdit(e) => {
                report.status = BatchStatus::TransformFailed;
                report.error = Some(format!(
                    "the edits made during review were refused: {e}; the batch was rolled back"
                ));
                Some(Outcome::TransformFailed)
            }
            Verdict::Commit => unreachable!("committed below"),
        };
        if let Some(e) = &report.error {
            state.last_error = Some(format!("batch {}: {e}", b.index));
        }
        report.tokens = tokens_since(state, tokens_before);
        hooks.event(Event::BatchDone {
            report: &report,
            total,
        });
        state.batches[slot] = report;
        state.save(git_dir)?;
        return Ok(failure);
    }
    hooks.event(Event::Stage {
        batch: b.index,
        total,
        stage: "commit",
    });
    let model = options
        .model
        .as_deref()
        .filter(|_| matches!(action, StepAction::Model(_)))
        .map(|client| {
            (
                client.spec.spec.as_str(),
                tokens_since(state, tokens_before),
            )
        });
    let message = commit_message(recipe, step, b, total, &t, &report.verify, model);
    let id = match vcs::commit_changes(&repo.repo, &t.changes, &message, *parent) {
        Ok(id) => id,
        Err(e) => {
            edit::restore(root, &t.changes).map_err(RunError::Write)?;
            state.in_progress = None;
            state.last_error = Some(e.to_string());
            state.status = RunStatus::Stopped;
            state.save(git_dir)?;
            return Err(e.into());
        }
    };
    failpoint("committed", b.index);
    if model.is_some() {
        report.record_in(&mut state.ledger, &t.changes);
    }
    *parent = id;
    report.status = BatchStatus::Committed;
    report.commit = Some(id.to_hex().to_string());
    report.duration_ms = batch_started.elapsed().as_millis() as u64;
    report.tokens = tokens_since(state, tokens_before);
    hooks.event(Event::BatchDone {
        report: &report,
        total,
    });
    state.batches[slot] = report;
    state.in_progress = None;
    state.save(git_dir)?;
    Ok(None)
}

/// The model tokens counted since the batch began.
fn tokens_since(state: &RunState, before: Usage) -> TokenUsage {
    state.tokens.since(before)
}
