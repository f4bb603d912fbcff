//! Reports: how each batch and the whole run ended, as `--format json` prints them (schema in
//! `docs/run-report.schema.json`; fields are only ever added). Reports are built by the
//! constructors here, never written out field by field at the call sites.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::context::redact;
use crate::plan::{Batch, Phase};
use crate::transform::Transformed;
use crate::verify::CommandResult;

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Verified and committed.
    Committed,
    /// Dry run: what would be committed.
    WouldCommit,
    /// The transform found nothing to change.
    Unchanged,
    /// A verify command failed (after the repairs allowed): rolled back.
    VerificationFailed,
    /// The transform failed or its edits were refused: nothing was written.
    TransformFailed,
    /// Interrupted while verifying: rolled back.
    Interrupted,
    /// Skipped by the reviewer (`--interactive`): rolled back, not redone on resume.
    Skipped,
    /// Not reached (the run stopped before it).
    NotRun,
    /// Dry run without a model: a model batch's edits cannot be known.
    NotSimulated,
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
    /// 1-based across the run, as in the plan.
    pub index: usize,
    /// 1-based step.
    pub step: usize,
    /// Which part of a staged rename the batch is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// How it ended.
    pub status: BatchStatus,
    /// The commit made for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Files the batch changed (or would change).
    pub files: Vec<String>,
    /// Lines added by its diff.
    pub lines_added: usize,
    /// Lines removed by its diff.
    pub lines_removed: usize,
    /// The transform's one-line summary (the commit body).
    pub summary: String,
    /// The verify commands run, in order, up to the first failure.
    pub verify: Vec<CommandResult>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last lines of the failing command's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tail: Option<String>,
    /// What the reviewer should know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// Model tokens the batch used, repairs included (none for rule batches).
    #[serde(default, skip_serializing_if = "TokenUsage::is_zero")]
    pub tokens: TokenUsage,
    /// How many times a failed verification went back to the model.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repairs: u32,
    /// How many model answers were refused for their form and asked again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub format_repairs: u32,
    /// Dry run: the unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// A failed verification: whether the batch broke it, or the command fails on the batch's
    /// parent tree too (flaky, or broken before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<FailureCause>,
}

/// Who a failed verification is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// The command passes on the batch's parent tree: the batch broke it.
    Batch,
    /// The command fails on the batch's parent tree too: flaky, or already broken.
    PreExisting,
}

impl BatchReport {
    /// Add what this committed model batch did (its `changes`) to a run's ledger.
    pub fn record_in(
        &self,
        ledger: &mut Vec<crate::context::LedgerEntry>,
        changes: &crate::change::ChangeSet,
    ) {
        // The verify commands that failed along the way, before a repair made them pass.
        let failed: Vec<String> = self
            .verify
            .iter()
            .filter(|r| !r.success)
            .map(|r| r.command.clone())
            .collect();
        crate::context::record_in_ledger(
            ledger,
            &crate::context::Done {
                batch: self.index,
                lines: (self.lines_added, self.lines_removed),
                changes,
                repairs: (self.repairs, &failed),
                format_repairs: self.format_repairs,
            },
        );
    }

    /// A planned batch not reached yet.
    pub fn not_run(batch: &Batch, step: usize) -> BatchReport {
        BatchReport {
            index: batch.index,
            step,
            phase: batch.phase,
            status: BatchStatus::NotRun,
            commit: None,
            files: Vec::new(),
            lines_added: 0,
            lines_removed: 0,
            summary: String::new(),
            verify: Vec::new(),
            error: None,
            output_tail: None,
            notes: Vec::new(),
            duration_ms: 0,
            tokens: TokenUsage::default(),
            repairs: 0,
            format_repairs: 0,
            diff: None,
            failure_cause: None,
        }
    }

    /// A batch whose transform failed: nothing was written. The error is redacted (it can
    /// quote the file).
    pub fn transform_failed(batch: &Batch, step: usize, error: String) -> BatchReport {
        BatchReport {
            status: BatchStatus::TransformFailed,
            error: Some(redact(&error)),
            ..BatchReport::not_run(batch, step)
        }
    }

    /// A model batch a dry run without a model cannot show.
    pub fn not_simulated(batch: &Batch, step: usize) -> BatchReport {
        BatchReport {
            status: BatchStatus::NotSimulated,
            files: batch.files.clone(),
            notes: vec![
                "model batches are not simulated without a model; choose one with --model (or replay a transcript with --replay) to see their edits".to_string(),
            ],
            ..BatchReport::not_run(batch, step)
        }
    }

    /// A batch with its edits: `Unchanged` when there are none, else `status`.
    pub fn transformed(
        batch: &Batch,
        step: usize,
        t: &Transformed,
        status: BatchStatus,
    ) -> BatchReport {
        let (_, added, removed) = t.changes.stats();
        BatchReport {
            status: if t.changes.is_empty() {
                BatchStatus::Unchanged
            } else {
                status
            },
            files: t.changes.paths().iter().map(|p| p.to_string()).collect(),
            lines_added: added,
            lines_removed: removed,
            summary: t.summary.clone(),
            notes: t.notes.clone(),
            format_repairs: t.format_repairs,
            tokens: t.usage,
            ..BatchReport::not_run(batch, step)
        }
    }

    /// A failed verification's output tail, redacted: reports and logs never carry a secret a
    /// test printed.
    pub fn keep_output_tail(&mut self, output: &str) {
        self.output_tail = Some(redact(&crate::verify::tail(output, 30)));
    }

    /// Count the diff's lines again (after a repair or a reviewer's edit).
    pub fn recount(&mut self, t: &Transformed) {
        let (_, added, removed) = t.changes.stats();
        self.files = t.changes.paths().iter().map(|p| p.to_string()).collect();
        self.lines_added = added;
        self.lines_removed = removed;
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything asked for was done.
    Success,
    /// A batch (or the final commands) failed verification.
    VerificationFailed,
    /// A batch could not be transformed.
    TransformFailed,
    /// Stopped by Ctrl-C (or SIGTERM) between or during batches; nothing is half-applied.
    Interrupted,
    /// Stopped between batches because the model token budget is spent; resumable.
    BudgetSpent,
    /// The starting tree fails its own verify commands: nothing was changed (see `baseline`;
    /// `--allow-red-baseline` goes on).
    BaselineFailed,
}

impl Outcome {
    /// The first failure of a run decides its outcome; later ones do not change it.
    pub fn or(self, failure: Outcome) -> Outcome {
        if self == Outcome::Success {
            failure
        } else {
            self
        }
    }
}

/// Where the run started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartPoint {
    /// Short branch name; `None` when HEAD was detached.
    pub branch: Option<String>,
    /// The commit, in hex.
    pub commit: String,
}

/// The final report (`--format json` prints it as is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// The recipe's name.
    pub recipe: String,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The run's branch (none in a dry run).
    pub branch: Option<String>,
    /// Where the run started.
    pub started_from: StartPoint,
    /// How it ended.
    pub outcome: Outcome,
    /// Every batch (a `--batch K` run: that one).
    pub batches: Vec<BatchReport>,
    /// The recipe's `final` commands, run once after the last batch.
    pub final_verify: Vec<CommandResult>,
    /// The commits made, oldest first.
    pub commits: Vec<String>,
    /// Distinct files changed by committed (or would-be) batches.
    pub files_changed: usize,
    /// How long it took.
    pub duration_ms: u64,
    /// Tokens the model used (0 without model steps).
    #[serde(default)]
    pub tokens: TokenUsage,
    /// A dry run that asked a model: the transcript of its requests, which `--replay` can
    /// answer a later run from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    /// The verify commands on the starting tree, before any batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// `run --check`: every commit of the run checked again on its own (in `report`: the last
    /// `git ripple check` of exactly these commits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<crate::verify::check::CheckReport>,
    /// The run's id (`.git/ripple/runs/<id>/`); none for a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The unsure sites the run left as they are, for a person to look at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<String>,
    /// `report`: the commands that carry the run out again from where it began.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reproduce: Vec<String>,
}

/// Model tokens used by a run or a batch.
pub type TokenUsage = crate::model::Usage;

impl RunReport {
    /// The report of a run that changed nothing: a dry run, or a plan with no batches.
    pub fn unchanged(
        recipe: &str,
        dry_run: bool,
        started_from: StartPoint,
        batches: Vec<BatchReport>,
        outcome: Outcome,
        started: Instant,
    ) -> RunReport {
        RunReport {
            recipe: recipe.to_string(),
            dry_run,
            branch: None,
            started_from,
            outcome,
            files_changed: distinct_files(&batches),
            batches,
            final_verify: Vec::new(),
            commits: Vec::new(),
            duration_ms: started.elapsed().as_millis() as u64,
            tokens: TokenUsage::default(),
            transcript: None,
            baseline: None,
            check: None,
            run_id: None,
            unsure: Vec::new(),
            reproduce: Vec::new(),
        }
    }
}

pub(super) fn distinct_files(reports: &[BatchReport]) -> usize {
    reports
        .iter()
        .filter(|r| matches!(r.status, BatchStatus::Committed | BatchStatus::WouldCommit))
        .flat_map(|r| r.files.iter())
        .collect::<BTreeSet<_>>()
        .len()
}

/// One command on the starting tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineCommand {
    /// The command, as run (widened).
    pub command: String,
    /// Whether it passed.
    pub success: bool,
    /// Its summary line.
    pub summary: String,
    /// Taken from an earlier run on the same tree.
    pub cached: bool,
    /// The tests its output names as failing (red commands of pytest or `go test`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub failing_tests: BTreeSet<String>,
    /// The tail of its output when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tail: Option<String>,
}

/// The verify commands on the starting tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// The starting tree.
    pub tree: String,
    /// Every command passed.
    pub green: bool,
    /// Red, and the run went on (`--allow-red-baseline`), judging batches by "no new
    /// failures".
    #[serde(default)]
    pub allowed_red: bool,
    /// The recipe's verify commands, in the recipe's order.
    pub commands: Vec<BaselineCommand>,
    /// Stopped by Ctrl-C before every command ran.
    #[serde(skip)]
    pub interrupted: bool,
}

impl Baseline {
    /// Whether a failing verify command (the recipe's `index`th) fails no test that did not
    /// fail on the baseline: `Some(n)` with the number of failing tests when it is so.
    pub fn no_new_failures(&self, index: usize, result: &CommandResult) -> Option<usize> {
        let before = self.commands.get(index).filter(|c| !c.success)?;
        if before.failing_tests.is_empty() {
            return None;
        }
        let now = crate::verify::failures::failing_tests(&result.output)?;
        now.is_subset(&before.failing_tests).then_some(now.len())
    }
}
