//! The verdict on a written batch: its verify commands run in the folder it was written to (the
//! work tree, or a dry run's scratch worktree); a model step gets a failure back to repair, a
//! bounded number of times; with `--interactive` the reviewer accepts, skips, edits (then it is
//! verified again) or quits. The caller commits or rolls back on what this returns.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::report::{Baseline, BatchReport};
use super::{Decision, RunError};
use crate::change::ChangeSet;
use crate::edit;
use crate::recipe::ModelStep;
use crate::transform::{self, BatchInput, Failure, Transformed, Usage};
use crate::verify::{self, CommandResult};

/// How verifying (and reviewing) a written batch ended.
pub(super) enum Verdict {
    /// Verified (and, with `--interactive`, accepted): commit it.
    Commit,
    /// A verify command failed (or was interrupted): put the batch back.
    Failed(CommandResult),
    /// The reviewer's hand edits were refused (they broke the syntax): put the batch back.
    BadEdit(String),
    /// The reviewer skipped it: put it back, go on.
    Skip,
    /// The reviewer quit: put it back, stop resumably.
    Quit,
}

/// What the loop reports to the one driving it.
pub(super) trait Sink {
    /// The batch entered a stage (`verify`, `repair`).
    fn stage(&mut self, stage: &'static str);
    /// The model used tokens for a repair.
    fn used(&mut self, usage: Usage);
    /// The batch's change grew (a repair): record what its files were before, in case the
    /// process dies now.
    fn changed(&mut self, changes: &ChangeSet) -> Result<(), RunError>;
    /// Ask the reviewer about the verified batch (`None`: nobody reviews).
    fn review(&mut self, diff: &str, files: &[String]) -> Option<Decision>;
}

/// What verifying a batch needs.
pub(super) struct Verifying<'a> {
    /// Where the batch is written and the commands run.
    pub dir: &'a Path,
    /// The batch's verify commands, filled in.
    pub commands: &'a [String],
    /// Per command.
    pub timeout: Duration,
    /// Set by Ctrl-C: the running command is stopped.
    pub interrupt: &'a AtomicBool,
    /// What the commands may reach.
    pub sandbox: &'a verify::Sandbox,
    /// A model step's repairs: the step, its transform context and its batch.
    pub repair: Option<(&'a ModelStep, transform::Context<'a>, BatchInput<'a>)>,
    /// A failing command runs again up to this many times before it counts (`verify.retries`).
    pub retries: u32,
    /// The starting tree's results, when it was red and the run went on: a test command passes
    /// when it fails no test the baseline did not.
    pub baseline: Option<&'a Baseline>,
}

/// Verify the written batch `t` in `v.dir`, repairing and reviewing as allowed; `report`
/// collects the command results and notes.
pub(super) fn verify_batch(
    v: &Verifying<'_>,
    t: &mut Transformed,
    report: &mut BatchReport,
    sink: &mut dyn Sink,
) -> Result<Verdict, RunError> {
    let mut repairs_used = 0;
    loop {
        report.verify.clear();
        let mut failed = None;
        for (index, command) in v.commands.iter().enumerate() {
            sink.stage("verify");
            let (mut result, retried) =
                verify::run_retrying(v.dir, command, v.timeout, v.interrupt, v.sandbox, v.retries)?;
            if result.success && retried > 0 {
                report.notes.push(format!(
                    "`{command}` failed, then passed on retry {retried}: flaky"
                ));
            }
            let mut ok = result.success;
            if !ok
                && !result.interrupted
                && let Some(n) = v.baseline.and_then(|b| b.no_new_failures(index, &result))
            {
                report.notes.push(format!(
                    "`{command}`: {n} failing test{}, each failing on the starting tree too: no new failures",
                    if n == 1 { "" } else { "s" }
                ));
                ok = true;
            }
            // The summary goes into reports and commit trailers.
            result.summary = crate::context::redact(&result.summary);
            report.verify.push(result);
            if !ok {
                failed = report.verify.last().cloned();
                break;
            }
        }
        if let Some(f) = failed {
            let Some((step, ctx, batch)) = &v.repair else {
                return Ok(Verdict::Failed(f));
            };
            if f.interrupted || repairs_used >= step.repairs {
                return Ok(Verdict::Failed(f));
            }
            repairs_used += 1;
            report.repairs += 1;
            sink.stage("repair");
            let failure = Failure {
                command: &f.command,
                output: &f.output,
            };
            let fix = transform::repair(ctx, step, batch, failure);
            sink.used(match &fix {
                Ok(fix) => fix.usage,
                Err(e) => e.usage(),
            });
            report.format_repairs += match &fix {
                Ok(fix) => fix.format_repairs,
                Err(e) => e.format_repairs(),
            };
            let checked = fix.map_err(|e| e.to_string()).and_then(|fix| {
                edit::check(&fix.changes).map_err(|e| e.to_string())?;
                Ok(fix)
            });
            match checked {
                Ok(fix) => {
                    edit::write(v.dir, &fix.changes).map_err(RunError::Write)?;
                    t.changes.merge(fix.changes);
                    sink.changed(&t.changes)?;
                    if !step.allow_delete
                        && let Some((path, what)) =
                            crate::edit::protocol::destructive_change(&t.changes)
                    {
                        report.notes.push(format!(
                            "repair {repairs_used} refused: {path}: with the edits before it, the batch {what}; a step that means to delete code says `allow_delete = true`"
                        ));
                        return Ok(Verdict::Failed(f));
                    }
                    report.recount(t);
                    report
                        .notes
                        .push(format!("repair {repairs_used}: {}", fix.summary));
                    continue;
                }
                Err(e) => {
                    report.notes.push(format!(
                        "repair {repairs_used} refused: {}",
                        crate::context::redact(&e)
                    ));
                    return Ok(Verdict::Failed(f));
                }
            }
        }
        let diff = t.changes.diff();
        match sink.review(&diff, &report.files) {
            None | Some(Decision::Accept) => return Ok(Verdict::Commit),
            Some(Decision::Skip) => return Ok(Verdict::Skip),
            Some(Decision::Quit) => return Ok(Verdict::Quit),
            Some(Decision::Edit) => {
                // The reviewer edited the batch's files: take them as they are now.
                for c in &mut t.changes.changes {
                    if c.after.is_some() {
                        c.after = std::fs::read_to_string(v.dir.join(&c.path)).ok();
                    }
                }
                if let Err(e) = edit::check(&t.changes) {
                    return Ok(Verdict::BadEdit(e.to_string()));
                }
                report.notes.push("edited during review".to_string());
                report.recount(t);
            }
        }
    }
}
