//! `git ripple stack`: the run's commits as a stack of branches, one per batch, each on the
//! previous, with each pull request's title and body written out and the `gh` commands that
//! would open them printed (git-ripple itself never calls a network service).

use std::path::Path;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::exit;
use super::render::RunFormat;
use crate::plan::owners::Owners;
use crate::run::stack::{BranchAction, StackReport, StackRequest, make_stack};
use crate::scan::{Repository, View};

#[derive(Debug, Args)]
#[command(after_help = "\
Each committed batch gets a branch at its commit, named <prefix><recipe>-NN-<slug> beside the
run's branch (prefix: `git config ripple.branchPrefix`, default ripple/), and its pull request's
title and body in .git/ripple/runs/<id>/pr/NN.md. Running it again after a resume adds the new
batches' branches; a stack branch that was moved since is refused, never moved back.

Examples:
  git ripple stack                       make the stack, print the gh commands
  git ripple stack --push origin         and push its branches
  git ripple stack rename-x --format json")]
pub struct StackArgs {
    /// The run: its id, or its recipe's name. Default: the current or most recent run.
    pub run: Option<String>,
    /// Push the stack's branches to this remote (`git push`).
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run_stack(cwd: &Path, args: StackArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let owners = Owners::load(View::disk(&repo.root));
    let prefix = crate::vcs::config_string(&repo.repo, "ripple.branchPrefix");
    let request = StackRequest {
        run: args.run.as_deref(),
        branch_prefix: prefix.as_deref(),
        push: args.push.as_deref(),
        owners: &owners,
    };
    let report = make_stack(&repo.repo, &request)?;
    match args.format {
        RunFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).into_diagnostic()?;
            s.push('\n');
            out!("{s}");
        }
        RunFormat::Text => out!("{}", render(&report)),
    }
    Ok(exit::SUCCESS)
}

/// A word in single quotes for a POSIX shell.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn render(report: &StackReport) -> String {
    let mut out = String::new();
    let made = report
        .branches
        .iter()
        .filter(|b| b.action == BranchAction::Created)
        .count();
    out.push_str(&format!(
        "stack of {} branch{} for run {} ({} new, {} already there){}\n",
        report.branches.len(),
        if report.branches.len() == 1 { "" } else { "es" },
        report.run_id,
        made,
        report.branches.len() - made,
        if report.finished {
            ""
        } else {
            "; the run is not finished: `git ripple stack` again after `git ripple resume` adds the rest"
        }
    ));
    for b in &report.branches {
        out.push_str(&format!(
            "  {} {}  (on {})  {}\n",
            &b.commit[..10],
            b.branch,
            b.base,
            if b.action == BranchAction::Created {
                "created"
            } else {
                "kept"
            }
        ));
    }
    match &report.pushed {
        Some(remote) => out.push_str(&format!("pushed to {remote}\n")),
        None => out.push_str("nothing pushed (`--push REMOTE` pushes the branches)\n"),
    }
    out.push_str("\nto open the pull requests, bottom first:\n");
    for b in &report.branches {
        out.push_str(&format!(
            "gh pr create --base {} --head {} --title {} --body-file {}\n",
            quoted(&b.base),
            quoted(&b.branch),
            quoted(&b.title),
            quoted(&b.body)
        ));
    }
    out
}
