//! Carrying out a run's batches: transform (rules or the model), check, apply, verify (with
//! repairs and review), then commit or restore, saving the state at every step.

use super::model_batch::{LEDGER_ENTRIES, ask_model, budget_spent, merge_changes, model_prompt};
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
