//! `git ripple report`: the run as a reviewer reads it, to paste into a pull request or a CI
//! job summary (`$GITHUB_STEP_SUMMARY`): one table of batches, the bisect check, the unsure
//! sites left for a person, and the commands that carry the run out again.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result, miette};

use super::exit;
use super::render::status_word;
use crate::run::state::{self, RunState, RunStatus};
use crate::run::{BatchReport, BatchStatus, RunReport};
use crate::scan::Repository;
use crate::verify::CommandResult;

/// How `report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// GitHub-flavoured Markdown, for pull requests and job summaries.
    Markdown,
    /// The run report (the schema `run --format json` follows).
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
The run is the one in progress, else the most recent; RUN names another, by its id (the
folder under .git/ripple/runs/) or its recipe's name (that recipe's most recent run). The
bisect check shown is the last `git ripple check` (or `run --check`) of exactly the run's
commits; after a resume, run the check again.

Examples:
  git ripple report
  git ripple report >> \"$GITHUB_STEP_SUMMARY\"
  git ripple report rename-fetch-order --format json")]
pub struct ReportArgs {
    /// The run: its id, or its recipe's name. Default: the current or most recent run.
    pub run: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
}

pub fn run_report(cwd: &Path, args: ReportArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let git_dir = repo.repo.git_dir();
    let run = find_run(git_dir, args.run.as_deref())?;
    let report = run.recorded_report(git_dir);
    match args.format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).into_diagnostic()?;
            s.push('\n');
            out!("{s}");
        }
        ReportFormat::Markdown => out!("{}", markdown(&run, &report)),
    }
    Ok(exit::SUCCESS)
}

/// The run named (by id or recipe name), else the current or most recent one.
fn find_run(git_dir: &Path, name: Option<&str>) -> Result<RunState> {
    if let Some(run) = state::find(git_dir, name)? {
        return Ok(run);
    }
    let Some(name) = name else {
        return Err(miette!(
            code = "ripple::report::no_run",
            help = "`git ripple run RECIPE` makes one",
            "there is no run in this repository"
        ));
    };
    let runs = state::load_all(git_dir);
    let known: Vec<&str> = runs.iter().map(|r| r.id.as_str()).take(10).collect();
    Err(miette!(
        code = "ripple::report::unknown_run",
        help = if known.is_empty() {
            "there are no runs in this repository".to_string()
        } else {
            format!("runs here: {}", known.join(", "))
        },
        "no run `{name}`: neither a run id nor the recipe of a run"
    ))
}

/// ` (800 cached)` when part of the input came from the provider's prompt cache.
fn cached(tokens: &crate::model::Usage) -> String {
    if tokens.cached == 0 {
        String::new()
    } else {
        format!(" ({} cached)", tokens.cached)
    }
}

/// Seconds, as a table cell shows them.
fn seconds(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} s", (ms + 500) / 1000)
    }
}

/// `✓ pytest -q (2.1 s)` for one command.
fn command_cell(c: &CommandResult) -> String {
    format!(
        "{} `{}` ({})",
        if c.success { "✓" } else { "✗" },
        c.command.replace('|', "\\|"),
        seconds(c.duration_ms)
    )
}

fn verify_cell(b: &BatchReport) -> String {
    if b.verify.is_empty() {
        return "–".to_string();
    }
    b.verify
        .iter()
        .map(command_cell)
        .collect::<Vec<_>>()
        .join("<br>")
}

fn where_it_stands(run: &RunState, report: &RunReport) -> String {
    let planned = report.batches.len();
    let committed = report
        .batches
        .iter()
        .filter(|b| b.status == BatchStatus::Committed)
        .count();
    let done = report.batches.iter().filter(|b| b.status.is_done()).count();
    let what = match run.status {
        RunStatus::Done => "done",
        RunStatus::Running => "running",
        RunStatus::Interrupted => "interrupted (resumable with `git ripple resume`)",
        RunStatus::Stopped => "stopped on a failed batch (resumable with `git ripple resume`)",
        RunStatus::Aborted => "aborted",
    };
    format!(
        "{what}: {committed} of {planned} batch{} committed{}",
        if planned == 1 { "" } else { "es" },
        if done > committed {
            format!(", {} with nothing to change", done - committed)
        } else {
            String::new()
        }
    )
}

/// The report in Markdown.
fn markdown(run: &RunState, report: &RunReport) -> String {
    let mut md = String::new();
    let from = match &report.started_from.branch {
        Some(branch) => format!(
            "`{branch}` at `{}`",
            &report.started_from.commit[..report.started_from.commit.len().min(10)]
        ),
        None => format!(
            "`{}`",
            &report.started_from.commit[..report.started_from.commit.len().min(10)]
        ),
    };
    let _ = writeln!(md, "## git ripple: {}\n", run.recipe.name);
    if !run.plan.description.is_empty() {
        let _ = writeln!(md, "{}\n", run.plan.description.trim());
    }
    let _ = writeln!(
        md,
        "Branch `{}`, from {from}; {}. {} file{} changed, {} in batches{}.\n",
        run.branch,
        where_it_stands(run, report),
        report.files_changed,
        if report.files_changed == 1 { "" } else { "s" },
        seconds(report.duration_ms),
        if report.tokens.is_zero() {
            ", no model".to_string()
        } else {
            format!(
                ", {} model tokens in{}, {} out",
                report.tokens.input,
                cached(&report.tokens),
                report.tokens.output
            )
        }
    );
    match &report.check {
        Some(check) => {
            let _ = writeln!(md, "**{}** (`git ripple check`)\n", check.headline());
        }
        None if !report.commits.is_empty() => {
            let _ = writeln!(
                md,
                "Not checked commit by commit yet: `git ripple check` proves each commit green on its own.\n"
            );
        }
        None => {}
    }
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            md,
            "Baseline (the starting tree): {}\n",
            if baseline.green {
                "green".to_string()
            } else if baseline.allowed_red {
                "red, allowed (`--allow-red-baseline`): batches judged by no new failures"
                    .to_string()
            } else {
                "red".to_string()
            }
        );
    }

    let _ = writeln!(
        md,
        "| # | step | phase | status | commit | files | lines | verify | time | tokens |"
    );
    let _ = writeln!(
        md,
        "| ---: | ---: | --- | --- | --- | ---: | ---: | --- | ---: | ---: |"
    );
    for b in &report.batches {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | +{} −{} | {} | {} | {} |",
            b.index,
            b.step,
            b.phase.map_or("–", |p| p.name()),
            status_word(b.status),
            b.commit.as_deref().map_or("–".to_string(), |c| format!(
                "`{}`",
                &c[..c.len().min(10)]
            )),
            b.files.len(),
            b.lines_added,
            b.lines_removed,
            verify_cell(b),
            if b.status == BatchStatus::NotRun {
                "–".to_string()
            } else {
                seconds(b.duration_ms)
            },
            if b.tokens.is_zero() {
                "–".to_string()
            } else {
                format!(
                    "{}{} / {}",
                    b.tokens.input,
                    cached(&b.tokens),
                    b.tokens.output
                )
            },
        );
    }
    md.push('\n');
    if !report.final_verify.is_empty() {
        let cells: Vec<String> = report.final_verify.iter().map(command_cell).collect();
        let _ = writeln!(md, "Final commands: {}\n", cells.join(", "));
    }
    let failed: Vec<&BatchReport> = report
        .batches
        .iter()
        .filter(|b| b.error.is_some())
        .collect();
    for b in failed {
        let _ = writeln!(
            md,
            "Batch {} failed: {}\n",
            b.index,
            b.error.as_deref().unwrap_or_default()
        );
        if let Some(tail) = &b.output_tail {
            let _ = writeln!(md, "```text\n{}\n```\n", tail.trim_end());
        }
    }
    if let Some(red) = report.check.as_ref().and_then(|c| c.first_red.as_ref()) {
        let _ = writeln!(
            md,
            "First red commit `{}` ({}): `{}` — {}\n",
            &red.commit[..red.commit.len().min(10)],
            red.subject,
            red.command,
            red.summary
        );
    }

    let _ = writeln!(md, "### Left for a person\n");
    if report.unsure.is_empty() {
        let _ = writeln!(
            md,
            "Nothing: every use was resolved, none is left unsure.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "{} unsure site{} (the name matches, but nothing proves it is this symbol: a use of unknown type, a mention outside code), left as they were:\n",
            report.unsure.len(),
            if report.unsure.len() == 1 { "" } else { "s" }
        );
        for site in &report.unsure {
            let _ = writeln!(md, "- `{site}`");
        }
        md.push('\n');
    }
    let notes: Vec<&String> = run.plan.steps.iter().flat_map(|s| &s.notes).collect();
    if !notes.is_empty() {
        let _ = writeln!(md, "<details><summary>How the plan was cut</summary>\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
        let _ = writeln!(md, "\n</details>\n");
    }

    let _ = writeln!(md, "### Reproduce\n\n```sh");
    for c in &report.reproduce {
        let _ = writeln!(md, "{c}");
    }
    let _ = writeln!(md, "```");
    md
}
