//! Dry runs: what a run would do, changing nothing in the repository.
//!
//! Without a model, a dry run is the plan and every rule batch's diff, computed in memory; a
//! model batch's edits cannot be known, so those batches are "not simulated" (and the run still
//! succeeds). With a model (a spec resolves, or `--replay`), a dry run is a rehearsal: the same
//! plan as a run, every batch transformed as a run would (the model asked, its answer applied in
//! memory), written into a scratch worktree of HEAD and verified there, repairs included. Its
//! transcript can answer a later `run --replay`, which then makes the same commits.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::batches::{budget_spent, verify_sandbox};
use super::report::{BatchReport, BatchStatus, Outcome, RunReport, StartPoint, TokenUsage};
use super::state;
use super::verdict::{Sink, Verdict, Verifying, verify_batch};
use super::{Decision, Event, Hooks, RunError, RunOptions};
use crate::change::ChangeSet;
use crate::context;
use crate::edit;
use crate::graph::{GraphOptions, build_graph};
use crate::model::Client;
use crate::recipe::{Recipe, StepAction};
use crate::scan::{Overlay, Repository, Scan, View};
use crate::simulate::simulate;
use crate::transform::{self, BatchInput, Usage};
use crate::verify::scratch::Scratch;

/// A dry run of `recipe`.
pub(super) fn dry_run(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    scan: &Scan,
    start: StartPoint,
    hooks: &mut dyn Hooks,
    started: Instant,
) -> Result<RunReport, RunError> {
    match options.model.as_deref() {
        Some(client) => rehearse(repo, recipe, options, scan, start, client, hooks, started),
        None => preview(repo, recipe, options, scan, start, hooks, started),
    }
}

/// The plan and the rule batches' diffs, in memory.
fn preview(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    scan: &Scan,
    start: StartPoint,
    hooks: &mut dyn Hooks,
    started: Instant,
) -> Result<RunReport, RunError> {
    let sim = simulate(&repo.root, scan, recipe, &options.graph, true)?;
    hooks.event(Event::Planned { plan: &sim.plan });
    let total = sim.plan.totals.batches;
    let mut reports = Vec::new();
    for step in &sim.plan.steps {
        for b in &step.batches {
            if options.batch.is_some_and(|k| k != b.index) {
                continue;
            }
            let report = match sim.batches.get(b.index - 1) {
                Some(Ok(t)) => BatchReport {
                    error: edit::check(&t.changes).err().map(|e| e.to_string()),
                    diff: Some(crate::context::redact(&t.changes.diff())),
                    ..BatchReport::transformed(b, step.index, t, BatchStatus::WouldCommit)
                },
                Some(Err(e)) => BatchReport::transform_failed(b, step.index, e.clone()),
                None => {
                    let mut r = BatchReport::not_simulated(b, step.index);
                    if !matches!(recipe.steps[step.index - 1].action, StepAction::Model(_)) {
                        r.notes = vec![
                            "not simulated: it follows a model step, whose edits are not known without a model".to_string(),
                        ];
                    }
                    r
                }
            };
            hooks.event(Event::BatchDone {
                report: &report,
                total,
            });
            reports.push(report);
        }
    }
    let outcome = if reports.iter().any(|r| r.error.is_some()) {
        Outcome::TransformFailed
    } else {
        Outcome::Success
    };
    Ok(RunReport::unchanged(
        &recipe.name,
        true,
        start,
        reports,
        outcome,
        started,
    ))
}

/// The dry run's side of the verify loop: stages to the hooks, tokens counted, nothing saved,
/// nobody reviews.
struct RehearsalSink<'a> {
    hooks: &'a mut dyn Hooks,
    tokens: &'a mut TokenUsage,
    batch: usize,
    total: usize,
}

impl Sink for RehearsalSink<'_> {
    fn stage(&mut self, stage: &'static str) {
        self.hooks.event(Event::Stage {
            batch: self.batch,
            total: self.total,
            stage,
        });
    }

    fn used(&mut self, usage: Usage) {
        *self.tokens += usage;
    }

    fn changed(&mut self, _changes: &ChangeSet) -> Result<(), RunError> {
        Ok(())
    }

    fn review(&mut self, _diff: &str, _files: &[String]) -> Option<Decision> {
        None
    }
}

/// The run carried out in a scratch worktree, with the model.
#[allow(clippy::too_many_arguments)]
fn rehearse(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    scan: &Scan,
    start: StartPoint,
    client: &Client,
    hooks: &mut dyn Hooks,
    started: Instant,
) -> Result<RunReport, RunError> {
    let root = repo.root.as_path();
    // The same plan a run makes, so the transcript answers a run's requests.
    let plan = simulate(root, scan, recipe, &options.graph, false)?.plan;
    hooks.event(Event::Planned { plan: &plan });
    let total = plan.totals.batches;
    let head = gix::ObjectId::from_hex(start.commit.as_bytes()).map_err(|e| {
        RunError::Vcs(crate::vcs::VcsError::Git {
            what: "read HEAD",
            message: e.to_string(),
        })
    })?;
    let scratch = Scratch::of_commit(&repo.repo, head)?;
    let id = state::new_id(&recipe.name);
    let transcript = state::dry_run_transcript_path(repo.repo.git_dir(), &id);
    if let Some(dir) = transcript.parent() {
        std::fs::create_dir_all(dir).map_err(|source| state::StateError::Write {
            path: dir.display().to_string(),
            source,
        })?;
    }
    client.record_to(transcript.clone());

    let mut overlay = Overlay::new();
    let mut ledger: Vec<context::LedgerEntry> = Vec::new();
    let mut tokens = TokenUsage::default();
    let mut reports = Vec::new();
    let mut outcome = Outcome::Success;
    let mut stopped = false;
    for (i, step_plan) in plan.steps.iter().enumerate() {
        let action = &recipe.steps[i].action;
        let model_step = matches!(action, StepAction::Model(_));
        // Each step transforms on the repository as the steps before leave it.
        let graph = build_graph(
            root,
            scan,
            &GraphOptions {
                overlay: overlay.clone(),
                ..options.graph.clone()
            },
        )?;
        for b in &step_plan.batches {
            if options.batch.is_some_and(|k| k != b.index) {
                continue;
            }
            if options.interrupt.load(Ordering::SeqCst) && !stopped {
                outcome = outcome.or(Outcome::Interrupted);
                stopped = true;
            }
            if model_step
                && !stopped
                && let Some(spent) = budget_spent(options, &tokens)
            {
                let mut r = BatchReport::not_run(b, step_plan.index);
                r.error = Some(spent);
                reports.push(r);
                outcome = outcome.or(Outcome::BudgetSpent);
                stopped = true;
                continue;
            }
            if stopped {
                reports.push(BatchReport::not_run(b, step_plan.index));
                continue;
            }
            let batch_started = Instant::now();
            hooks.event(Event::Stage {
                batch: b.index,
                total,
                stage: "transform",
            });
            client.label(&format!("batch {}", b.index));
            let input = BatchInput {
                files: &b.files,
                phase: b.phase,
            };
            let ctx = transform::Context {
                view: View {
                    root,
                    overlay: Some(&overlay),
                },
                graph: &graph,
                model: Some(client),
                ledger: &ledger,
                budget: recipe.batch.max_tokens as usize,
                focus_above: recipe.batch.focus_above,
            };
            let transformed = transform::transform_batch(&ctx, action, &input);
            let usage = match &transformed {
                Ok(t) => t.usage,
                Err(e) => e.usage(),
            };
            tokens += usage;
            let format_repairs = transformed.as_ref().err().map_or(0, |e| e.format_repairs());
            let transformed = transformed.map_err(|e| e.to_string()).and_then(|t| {
                edit::check(&t.changes).map_err(|e| e.to_string())?;
                Ok(t)
            });
            let mut t = match transformed {
                Ok(t) => t,
                Err(e) => {
                    let mut r = BatchReport::transform_failed(b, step_plan.index, e);
                    r.format_repairs = format_repairs;
                    hooks.event(Event::BatchDone { report: &r, total });
                    reports.push(r);
                    outcome = outcome.or(Outcome::TransformFailed);
                    stopped = !options.keep_going;
                    continue;
                }
            };
            let mut report =
                BatchReport::transformed(b, step_plan.index, &t, BatchStatus::WouldCommit);
            if !t.changes.is_empty() {
                scratch.write(&t.changes)?;
                // A repair reads the batch's files as the scratch worktree has them now.
                let repair = match action {
                    StepAction::Model(m) => Some((
                        m,
                        transform::Context {
                            view: View::disk(scratch.root()),
                            ..ctx
                        },
                        input,
                    )),
                    _ => None,
                };
                let sandbox = verify_sandbox(recipe, options);
                let verifying = Verifying {
                    dir: scratch.root(),
                    commands: &b.verify,
                    timeout: recipe.verify.timeout,
                    interrupt: &options.interrupt,
                    sandbox: &sandbox,
                    repair,
                    retries: recipe.verify.retries,
                    baseline: None,
                };
                let verdict = verify_batch(
                    &verifying,
                    &mut t,
                    &mut report,
                    &mut RehearsalSink {
                        hooks: &mut *hooks,
                        tokens: &mut tokens,
                        batch: b.index,
                        total,
                    },
                )?;
                match verdict {
                    Verdict::Commit => {
                        report
                            .notes
                            .push("verified in a scratch worktree".to_string());
                        for c in &t.changes.changes {
                            overlay.insert(c.path.clone(), c.after.clone());
                        }
                        if model_step {
                            report.record_in(&mut ledger, &t.changes);
                        }
                    }
                    Verdict::Failed(result) => {
                        scratch.restore(&t.changes)?;
                        report.status = if result.interrupted {
                            BatchStatus::Interrupted
                        } else {
                            BatchStatus::VerificationFailed
                        };
                        report.error = Some(format!(
                            "verification failed in the scratch worktree: `{}` ({})",
                            result.command, result.summary
                        ));
                        report.keep_output_tail(&result.output);
                        outcome = outcome.or(if result.interrupted {
                            Outcome::Interrupted
                        } else {
                            Outcome::VerificationFailed
                        });
                        stopped = result.interrupted || !options.keep_going;
                    }
                    Verdict::BadEdit(_) | Verdict::Skip | Verdict::Quit => {
                        unreachable!("nobody reviews a dry run")
                    }
                }
                report.diff = Some(crate::context::redact(&t.changes.diff()));
            }
            report.duration_ms = batch_started.elapsed().as_millis() as u64;
            hooks.event(Event::BatchDone {
                report: &report,
                total,
            });
            reports.push(report);
        }
    }
    let mut report = RunReport::unchanged(&recipe.name, true, start, reports, outcome, started);
    report.tokens = tokens;
    report.transcript = Some(transcript.display().to_string());
    Ok(report)
}
