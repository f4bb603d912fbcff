//! Rendering run reports: the text a person reads at the end of a run (and each batch's diff
//! in a dry run), the JSON tools read, and the exit code an outcome maps to. Shared by `run`,
//! `resume` and the progress display.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

use clap::ValueEnum;
use miette::{IntoDiagnostic, Result};

use super::exit;
use crate::run::{BatchStatus, Outcome, RunReport};
use crate::verify::check::{CheckReport, CommitCheck};

/// How `run` and `resume` print their report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// A line per batch, then totals.
    Text,
    /// The run report for tools (schema in the README).
    Json,
}

/// Print the report and map its outcome to the exit code.
pub fn print_report(report: &RunReport, format: RunFormat) -> Result<u8> {
    let out = match format {
        RunFormat::Json => {
            let mut s = serde_json::to_string_pretty(report).into_diagnostic()?;
            s.push('\n');
            s
        }
        RunFormat::Text => render_text(report),
    };
    out!("{out}");
    Ok(match report.outcome {
        Outcome::Success => exit::SUCCESS,
        Outcome::VerificationFailed => exit::VERIFY_FAILED,
        Outcome::TransformFailed => exit::TRANSFORM_FAILED,
        Outcome::Interrupted => exit::INTERRUPTED,
        Outcome::BudgetSpent => exit::BUDGET_SPENT,
        Outcome::BaselineFailed => exit::VERIFY_FAILED,
    })
}

/// How a batch's status reads in a line of output.
pub fn status_word(status: BatchStatus) -> &'static str {
    match status {
        BatchStatus::Committed => "committed",
        BatchStatus::WouldCommit => "would commit",
        BatchStatus::Unchanged => "nothing to change",
        BatchStatus::VerificationFailed => "FAILED verification, rolled back",
        BatchStatus::TransformFailed => "FAILED to transform, nothing written",
        BatchStatus::Interrupted => "interrupted, rolled back",
        BatchStatus::NotRun => "not run",
        BatchStatus::Skipped => "skipped",
        BatchStatus::NotSimulated => "not simulated (needs a model)",
    }
}

/// The report a person reads at the end of a run (and, for a dry run, every batch's diff).
pub fn render_text(report: &RunReport) -> String {
    let mut s = String::new();
    let total = report.batches.len();
    let from = format!(
        "{} at {}",
        report
            .started_from
            .branch
            .as_deref()
            .unwrap_or("detached HEAD"),
        &report.started_from.commit[..7.min(report.started_from.commit.len())]
    );
    match &report.branch {
        Some(branch) => {
            let _ = writeln!(s, "Run {} on branch {branch} (from {from})", report.recipe);
        }
        None if report.dry_run => {
            let _ = writeln!(
                s,
                "Dry run of {} (from {from}): nothing was changed",
                report.recipe
            );
        }
        None => {
            let _ = writeln!(
                s,
                "Run {} (from {from}): nothing was changed",
                report.recipe
            );
        }
    }
    for b in &report.batches {
        let mut line = format!("  batch {}/{total}  {}", b.index, status_word(b.status));
        if let Some(c) = &b.commit {
            let _ = write!(line, " {}", &c[..7.min(c.len())]);
        }
        if !b.files.is_empty() {
            let _ = write!(
                line,
                "  {} file{} +{} -{}",
                b.files.len(),
                if b.files.len() == 1 { "" } else { "s" },
                b.lines_added,
                b.lines_removed
            );
        }
        for v in &b.verify {
            let _ = write!(line, "  {}: {}", v.command, v.summary);
        }
        if b.duration_ms > 0 {
            let _ = write!(line, "  ({:.1}s)", b.duration_ms as f64 / 1000.0);
        }
        let _ = writeln!(s, "{line}");
        if !b.summary.is_empty() && report.dry_run {
            let _ = writeln!(s, "    {}", b.summary);
        }
        for n in &b.notes {
            let _ = writeln!(s, "    note: {n}");
        }
        if let Some(e) = &b.error {
            let _ = writeln!(s, "    {e}");
        }
        if let Some(tail) = &b.output_tail {
            for l in tail.lines() {
                let _ = writeln!(s, "    | {l}");
            }
        }
        if let Some(diff) = &b.diff {
            for l in diff.lines() {
                let _ = writeln!(s, "    {l}");
            }
        }
    }
    if let Some(t) = &report.transcript {
        let _ = writeln!(
            s,
            "  transcript: {t} (`git ripple run {} --replay {t}` makes the same commits without the model)",
            report.recipe
        );
    }
    if let Some(b) = &report.baseline {
        let cached = b.commands.iter().all(|c| c.cached);
        if b.green {
            let _ = writeln!(
                s,
                "  baseline  {} command{} green on the starting tree{}",
                b.commands.len(),
                if b.commands.len() == 1 { "" } else { "s" },
                if cached { " (cached)" } else { "" }
            );
        }
        for c in b.commands.iter().filter(|c| !c.success) {
            let _ = writeln!(
                s,
                "  baseline  {}: {} (FAILED on the starting tree{})",
                c.command,
                c.summary,
                if b.allowed_red {
                    format!(
                        "; allowed, {} failing test{} to compare with",
                        c.failing_tests.len(),
                        if c.failing_tests.len() == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            );
            if !b.allowed_red
                && let Some(tail) = &c.output_tail
            {
                for l in tail.lines() {
                    let _ = writeln!(s, "    | {l}");
                }
            }
        }
    }
    for v in &report.final_verify {
        let _ = writeln!(
            s,
            "  final  {}: {}{}",
            v.command,
            v.summary,
            if v.success { "" } else { " (FAILED)" }
        );
    }
    let committed = report
        .batches
        .iter()
        .filter(|b| b.status == BatchStatus::Committed)
        .count();
    let secs = report.duration_ms as f64 / 1000.0;
    match (report.dry_run, report.outcome) {
        (true, Outcome::Success) => {
            let _ = writeln!(
                s,
                "Would commit {} batch{}, changing {} file{}. Run it without --dry-run to make the commits.",
                report
                    .batches
                    .iter()
                    .filter(|b| b.status == BatchStatus::WouldCommit)
                    .count(),
                if total == 1 { "" } else { "es" },
                report.files_changed,
                if report.files_changed == 1 { "" } else { "s" }
            );
        }
        (true, Outcome::VerificationFailed) => {
            let _ = writeln!(s, "Some batches fail verification (see above).");
        }
        (true, _) => {
            let _ = writeln!(s, "Some batches cannot be transformed (see above).");
        }
        (false, Outcome::BaselineFailed) => {
            let _ = writeln!(
                s,
                "Stopped before any change: the starting tree fails its own verify commands. Fix that first, or run with --allow-red-baseline to judge each batch by \"no new failures\"."
            );
        }
        (false, outcome) => {
            let verdict = match outcome {
                Outcome::BaselineFailed => "Stopped before any change",
                Outcome::Success => "Done",
                Outcome::VerificationFailed => "Stopped: verification failed",
                Outcome::TransformFailed => "Stopped: a batch could not be transformed",
                Outcome::Interrupted => "Interrupted",
                Outcome::BudgetSpent => {
                    "Stopped: the model token budget is spent (git ripple resume --max-tokens-total N)"
                }
            };
            let _ = writeln!(
                s,
                "{verdict}: {committed} of {total} batch{} committed, {} file{} changed, {secs:.1}s.",
                if total == 1 { "" } else { "es" },
                report.files_changed,
                if report.files_changed == 1 { "" } else { "s" },
            );
            if let (Some(branch), Some(start)) = (&report.branch, &report.started_from.branch) {
                let _ = writeln!(s, "Review: git log --stat {start}..{branch}");
            }
        }
    }
    if let Some(check) = &report.check {
        s.push_str(&render_check(check));
    }
    s
}

/// One finished commit, as a progress line.
pub(super) fn commit_line(c: &CommitCheck) -> String {
    let short = &c.commit[..c.commit.len().min(10)];
    let mark = if c.green {
        "ok  "
    } else if c.not_checked {
        "--  "
    } else {
        "RED "
    };
    let cached = c.commands.iter().filter(|r| r.cached).count();
    let ms: u64 = c
        .commands
        .iter()
        .filter(|r| !r.cached)
        .map(|r| r.duration_ms)
        .sum();
    let detail = if c.not_checked {
        "not checked".to_string()
    } else if let Some(p) = &c.problem {
        p.clone()
    } else if let Some(failed) = c.commands.iter().find(|r| !r.success) {
        format!("`{}`: {}", failed.command, failed.summary)
    } else {
        let n = c.commands.len();
        let commands = if n == 1 { "command" } else { "commands" };
        if cached == n {
            format!("{n} {commands}, cached")
        } else {
            format!("{n} {commands}, {:.1}s", ms as f64 / 1000.0)
        }
    };
    crate::context::redact(&format!("{mark}{short} {}  ({detail})", c.subject))
}

/// The report in text (the lines per commit went to stderr as they finished): warnings, the
/// headline, and the first red commit's output.
pub(super) fn render_check(report: &CheckReport) -> String {
    let mut out = String::new();
    for c in &report.commits {
        for w in &c.warnings {
            let short = &c.commit[..c.commit.len().min(10)];
            out.push_str(&format!("warning: {short}: {w}\n"));
        }
    }
    out.push_str(&report.headline());
    out.push('\n');
    if let Some(red) = &report.first_red {
        out.push_str(&format!("\n`{}` failed: {}\n", red.command, red.summary));
        if !red.output.is_empty() {
            for line in red.output.lines() {
                out.push_str(&format!("  | {line}\n"));
            }
        }
    }
    out.push_str(&format!(
        "{} commands run, {} cached, {} at a time, {:.1}s\n",
        report.commands_run,
        report.commands_cached,
        report.jobs,
        report.duration_ms as f64 / 1000.0
    ));
    crate::context::redact(&out)
}

/// Progress on stderr as commits finish (checks run in parallel, lines come in any order).
pub(super) fn progress_printer(quiet: bool) -> impl Fn(&CommitCheck) + Sync {
    let lock = Mutex::new(());
    move |c: &CommitCheck| {
        if quiet {
            return;
        }
        let _guard = lock.lock();
        let _ = writeln!(std::io::stderr(), "{}", commit_line(c));
    }
}
