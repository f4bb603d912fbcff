//! `git ripple abort`: give up the run in progress and go back to where it began.

use std::path::Path;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::exit;
use super::render::RunFormat;
use crate::run::abort_run;
use crate::scan::Repository;

#[derive(Debug, Args)]
#[command(after_help = "\
Checks out the branch the run began on, with its files exactly as they were. The run's branch
and its commits are kept (review or cherry-pick them later) unless --delete-branch.

Examples:
  git ripple abort
  git ripple abort --delete-branch")]
pub struct AbortArgs {
    /// Also delete the run's branch.
    #[arg(long)]
    pub delete_branch: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run_abort(cwd: &Path, args: AbortArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let report = abort_run(&repo, args.delete_branch)?;
    if args.format == RunFormat::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).into_diagnostic()?
        );
        return Ok(exit::SUCCESS);
    }
    let back = report
        .restored_to
        .branch
        .clone()
        .unwrap_or_else(|| format!("detached HEAD at {}", &report.restored_to.commit[..7]));
    outln!("Aborted run {}: back on {back}.", report.id);
    if report.branch_deleted {
        outln!("Deleted the run's branch {}.", report.branch);
    } else {
        outln!(
            "The run's branch {} is kept (git branch -D {} deletes it).",
            report.branch,
            report.branch
        );
    }
    Ok(exit::SUCCESS)
}
