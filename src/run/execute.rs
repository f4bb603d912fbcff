//! Carrying out a run's batches: transform (rules or the model), check, apply, verify (with
//! repairs and review), then commit or restore, saving the state at every step.

use super::model_batch::{LEDGER_ENTRIES, ModelAsk, ask_model, budget_spent, merge_changes};
use super::*;

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

/// Tell the driver which stage a batch is in.
fn stage(hooks: &mut dyn Hooks, batch: usize, total: usize, stage: &'static str) {
    hooks.event(Event::Stage {
        batch,
        total,
        stage,
    });
}

/// How verifying (and reviewing) a written batch ended.
enum Verdict {
    /// Verified (and, with --interactive, accepted): commit it.
    Commit,
    /// A verify command failed (or was interrupted): put the batch back.
    Failed(CommandResult),
    /// The reviewer's hand edits broke the syntax: put the batch back.
    BadEdit(String),
    Skip,
    Quit,
}

/// Carry out every batch of the state's plan that is not committed yet, saving the state at
/// every step.
pub(super) fn execute(
    repo: &Repository,
    recipe: &Recipe,
    state: &mut RunState,
    options: &RunOptions,
    on_event: &mut dyn Hooks,
    started: Instant,
) -> Result<RunReport, RunError> {
    let root = repo.root.as_path();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    let git_dir = repo.repo.git_dir().to_path_buf();
    let total = state.plan.totals.batches;
    let mut parent = vcs::head_state(&repo.repo)?.commit;
    let mut outcome = Outcome::Success;
    let mut stopped = false;
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
        let model_step = match (&step.action, &options.model) {
            (StepAction::Model(m), Some(client)) => Some((m, client)),
            _ => None,
        };
        for b in pending {
            if options.interrupt.load(Ordering::SeqCst) && !stopped {
                outcome = Outcome::Interrupted;
                stopped = true;
            }
            if options.max_batches.is_some_and(|m| executed >= m) {
                stopped = true;
            }
            if model_step.is_some()
                && !stopped
                && let Some(spent) = budget_spent(options, state)
            {
                state.last_error = Some(spent);
                outcome = Outcome::BudgetSpent;
                stopped = true;
            }
            if stopped {
                continue;
            }
            executed += 1;
            let slot = b.index - 1;
            let batch_started = Instant::now();
            let tokens_before = (state.tokens_in, state.tokens_out);
            stage(on_event, b.index, total, "transform");
            let input = BatchInput {
                files: &b.files,
                phase: b.phase,
            };
            let transformed = match model_step {
                Some((m, client)) => {
                    stage(on_event, b.index, total, "model");
                    let ask = ModelAsk {
                        client,
                        step: m,
                        files: &b.files,
                        graph: &graph,
                        ledger: &state.ledger,
                    };
                    ask_model(&ask, &read, None).map(|(t, usage)| {
                        state.add_tokens(usage);
                        t
                    })
                }
                None => rule_transform(&ctx, &step.action, &input),
            }
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
            let mut t = t;
            save_in_progress(state, b.index, &t.changes);
            state.save(&git_dir)?;
            t.changes.write(root).map_err(RunError::Write)?;
            failpoint("applied", b.index);
            // Verify; a model step gets failures back for repair; with --interactive the user
            // accepts, skips, edits (then it is verified again) or quits.
            let mut repairs_used = 0;
            let verdict = loop {
                report.verify.clear();
                let mut failed = None;
                for command in &b.verify {
                    stage(on_event, b.index, total, "verify");
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
                if let Some(f) = failed {
                    let Some((m, client)) =
                        model_step.filter(|(m, _)| !f.interrupted && repairs_used < m.repairs)
                    else {
                        break Verdict::Failed(f);
                    };
                    repairs_used += 1;
                    stage(on_event, b.index, total, "repair");
                    let ask = ModelAsk {
                        client,
                        step: m,
                        files: &b.files,
                        graph: &graph,
                        ledger: &state.ledger,
                    };
                    let fix = ask_model(&ask, &read, Some(&f)).and_then(|(fix, usage)| {
                        state.add_tokens(usage);
                        fix.changes.check().map_err(|e| e.to_string())?;
                        Ok(fix)
                    });
                    match fix {
                        Ok(fix) => {
                            fix.changes.write(root).map_err(RunError::Write)?;
                            merge_changes(&mut t.changes, fix.changes);
                            save_in_progress(state, b.index, &t.changes);
                            state.save(&git_dir)?;
                            report
                                .notes
                                .push(format!("repair {repairs_used}: {}", fix.summary));
                            continue;
                        }
                        Err(e) => {
                            report
                                .notes
                                .push(format!("repair {repairs_used} refused: {e}"));
                            break Verdict::Failed(f);
                        }
                    }
                }
                if !options.interactive {
                    break Verdict::Commit;
                }
                let diff = t.changes.diff();
                match on_event.review(&Review {
                    root,
                    batch: b.index,
                    total,
                    diff: &diff,
                    files: &report.files,
                }) {
                    Decision::Accept => break Verdict::Commit,
                    Decision::Skip => break Verdict::Skip,
                    Decision::Quit => break Verdict::Quit,
                    Decision::Edit => {
                        // The user edited the batch's files: take them as they are now.
                        for c in &mut t.changes.changes {
                            if c.after.is_some() {
                                c.after = read(&c.path);
                            }
                        }
                        if let Err(e) = t.changes.check() {
                            break Verdict::BadEdit(e.to_string());
                        }
                        report.notes.push("edited during review".to_string());
                        let (_, added, removed) = t.changes.stats();
                        report.lines_added = added;
                        report.lines_removed = removed;
                    }
                }
            };
            if !matches!(verdict, Verdict::Commit) {
                t.changes.restore(root).map_err(RunError::Write)?;
                state.in_progress = None;
                report.duration_ms = batch_started.elapsed().as_millis() as u64;
                match verdict {
                    Verdict::Skip => {
                        report.status = BatchStatus::Skipped;
                        report.notes.push("skipped during review".to_string());
                    }
                    Verdict::Quit => {
                        report.status = BatchStatus::NotRun;
                        outcome = Outcome::Interrupted;
                        stopped = true;
                    }
                    Verdict::Failed(result) if result.interrupted => {
                        report.status = BatchStatus::Interrupted;
                        report.error =
                            Some("interrupted while verifying; the batch was rolled back".into());
                        outcome = Outcome::Interrupted;
                        stopped = true;
                    }
                    Verdict::Failed(result) => {
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
                    Verdict::BadEdit(e) => {
                        report.status = BatchStatus::TransformFailed;
                        report.error = Some(format!(
                            "the edits made during review were refused: {e}; the batch was rolled back"
                        ));
                        if outcome == Outcome::Success {
                            outcome = Outcome::TransformFailed;
                        }
                        stopped = !options.keep_going;
                    }
                    Verdict::Commit => unreachable!("handled below"),
                }
                if let Some(e) = &report.error {
                    state.last_error = Some(format!("batch {}: {e}", b.index));
                }
                on_event.event(Event::BatchDone {
                    report: &report,
                    total,
                });
                state.batches[slot] = report;
                state.save(&git_dir)?;
                continue;
            }
            stage(on_event, b.index, total, "commit");
            let model = model_step.map(|(_, client)| ModelTrailer {
                spec: &client.spec.spec,
                input_tokens: state.tokens_in - tokens_before.0,
                output_tokens: state.tokens_out - tokens_before.1,
            });
            let message = commit_message(recipe, i, b.index, total, &t, &report.verify, model);
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
            if model_step.is_some() {
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
            stage(on_event, total, total, "final verify");
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
        Outcome::Interrupted | Outcome::BudgetSpent => RunStatus::Interrupted,
        _ if all_done => RunStatus::Done,
        _ => RunStatus::Stopped,
    };
    state.save(&git_dir)?;
    Ok(report_of(state, outcome, final_verify, started))
}

/// Record the previous contents of every file the batch changes (a repair may add files), so
/// an interrupted batch can be put back exactly.
fn save_in_progress(state: &mut RunState, batch: usize, changes: &crate::edit::ChangeSet) {
    state.in_progress = Some(InProgress {
        batch,
        files: changes
            .changes
            .iter()
            .map(|c| SavedFile {
                path: c.path.clone(),
                before: c.before.clone(),
            })
            .collect(),
    });
}
