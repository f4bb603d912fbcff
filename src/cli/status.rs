//! `git ripple status`: the run in progress at a glance.

use std::fmt::Write as _;
use std::path::Path;

use clap::Args;
use miette::{IntoDiagnostic, Result};
use serde_json::json;

use super::exit;
use super::render::RunFormat;
use crate::run::BatchStatus;
use crate::run::state::{RunState, load_current};
use crate::scan::Repository;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  git ripple status
  git ripple status --format json")]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

fn count(state: &RunState, f: impl Fn(BatchStatus) -> bool) -> usize {
    state.batches.iter().filter(|b| f(b.status)).count()
}

pub fn run_status(cwd: &Path, args: StatusArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let state = load_current(repo.repo.git_dir())?;
    let out = match (&state, args.format) {
        (None, RunFormat::Json) => "{\"run\": null}\n".to_string(),
        (None, RunFormat::Text) => "No git-ripple run in progress.\n".to_string(),
        (Some(s), RunFormat::Json) => {
            let v = json!({
                "run": {
                    "id": s.id,
                    "recipe": s.recipe.name,
                    "branch": s.branch,
                    "started_from": s.started_from,
                    "status": s.status,
                    "batches": s.batches.iter().map(|b| json!({
                        "index": b.index, "status": b.status, "commit": b.commit,
                    })).collect::<Vec<_>>(),
                    "done": count(s, BatchStatus::is_done),
                    "failed": count(s, |b| matches!(b, BatchStatus::VerificationFailed | BatchStatus::TransformFailed | BatchStatus::Interrupted)),
                    "left": count(s, |b| !b.is_done()),
                    "last_error": s.last_error,
                    "tokens": s.tokens,
                }
            });
            let mut text = serde_json::to_string_pretty(&v).into_diagnostic()?;
            text.push('\n');
            text
        }
        (Some(s), RunFormat::Text) => {
            let mut t = String::new();
            let total = s.batches.len();
            let _ = writeln!(t, "Run {} of {}", s.id, s.recipe.name);
            let _ = writeln!(
                t,
                "  branch   {} (from {} at {})",
                s.branch,
                s.started_from.branch.as_deref().unwrap_or("detached HEAD"),
                &s.started_from.commit[..7.min(s.started_from.commit.len())]
            );
            let status = serde_json::to_value(s.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(t, "  status   {status}");
            let _ = writeln!(
                t,
                "  batches  {} done, {} failed, {} left, of {total}",
                count(s, BatchStatus::is_done),
                count(s, |b| matches!(
                    b,
                    BatchStatus::VerificationFailed
                        | BatchStatus::TransformFailed
                        | BatchStatus::Interrupted
                )),
                count(s, |b| !b.is_done()),
            );
            if !s.tokens.is_zero() {
                let _ = writeln!(
                    t,
                    "  model    {} tokens in, {} out",
                    s.tokens.input, s.tokens.output
                );
            }
            if let Some(e) = &s.last_error {
                let _ = writeln!(t, "  last error: {e}");
            }
            if s.in_progress.is_some() {
                let _ = writeln!(
                    t,
                    "  a batch was being applied when the run stopped; resume puts it back and redoes it"
                );
            }
            let _ = writeln!(t, "Next: git ripple resume, or git ripple abort");
            t
        }
    };
    out!("{out}");
    Ok(exit::SUCCESS)
}
