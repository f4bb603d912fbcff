//! `git ripple log`: the run's commits with their batch and verification trailers.

use std::path::Path;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::exit;
use super::render::RunFormat;
use crate::scan::Repository;
use crate::vcs;

#[derive(Debug, Args)]
#[command(after_help = "\
Lists, newest first, the commits git-ripple made on the current branch (the ones carrying
Ripple-* trailers), back to where the run began.

Examples:
  git ripple log
  git ripple log --format json")]
pub struct LogArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run_log(cwd: &Path, args: LogArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let commits = vcs::ripple_commits(&repo.repo)?;
    match args.format {
        RunFormat::Json => {
            let mut s = serde_json::to_string_pretty(&commits).into_diagnostic()?;
            s.push('\n');
            out!("{s}");
        }
        RunFormat::Text => {
            if commits.is_empty() {
                outln!("No git-ripple commits on this branch.");
            }
            for c in &commits {
                outln!("{} {}", &c.commit[..7], c.subject);
                for (k, v) in &c.trailers {
                    outln!("    {k}: {v}");
                }
            }
        }
    }
    Ok(exit::SUCCESS)
}
