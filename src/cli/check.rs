//! `git ripple check [RANGE]`: every commit of a run (or a range) verified again on its own, in
//! a scratch worktree, so the branch can be reviewed, bisected and merged in parts.

use std::path::Path;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::exit;
use super::render::{RunFormat, progress_printer, render_check};
use super::run::interrupt_flag;
use crate::recipe::{find_recipe, parse_recipe};
use crate::run::check::{CheckRequest, check, redacted};
use crate::scan::Repository;

#[derive(Debug, Args)]
#[command(after_help = "\
Each commit is exported into a temporary worktree of its own and judged there by the recipe's
verify commands, with {files}, {packages} and {tests} widened to the whole repository, then its
`final` commands. Results are cached under .git/ripple/verified/ by tree, command and toolchain
versions: a second check, or a rebased copy with the same trees, runs nothing again.

Exit status: 0 when every commit is green, 1 when one is not.

Examples:
  git ripple check                          the most recent run's commits
  git ripple check -j 2                     two commits at a time
  git ripple check main..ripple/rename-x    any range (commits without trailers: the run's recipe)
  git ripple check HEAD~3..HEAD --recipe rename-x --format json > check.json")]
pub struct CheckArgs {
    /// The commits: `A..B`, or one revision. Default: the most recent run's commits on its branch.
    pub range: Option<String>,
    /// Judge every commit by this recipe (a path, or a repository or bundled recipe name).
    #[arg(long, value_name = "RECIPE")]
    pub recipe: Option<String>,
    /// Commits checked at once.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Run every command again, ignoring (and not keeping) cached results.
    #[arg(long)]
    pub no_cache: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run_check(cwd: &Path, args: CheckArgs, output: &super::Output) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let recipe = match &args.recipe {
        Some(name) => Some(parse_recipe(find_recipe(&repo.root, cwd, name)?)?),
        None => None,
    };
    let interrupt = interrupt_flag()?;
    let request = CheckRequest {
        range: args.range.as_deref(),
        recipe,
        jobs: args.jobs.max(1),
        use_cache: !args.no_cache,
        interrupt: &interrupt,
    };
    // In JSON the report is the output; the lines as commits finish go to stderr either way.
    let report = check(&repo, &request, &progress_printer(output.quiet))?;
    let report = redacted(report);
    match args.format {
        RunFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).into_diagnostic()?;
            s.push('\n');
            out!("{s}");
        }
        RunFormat::Text => out!("{}", render_check(&report)),
    }
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else if report.bisect_clean {
        exit::SUCCESS
    } else {
        exit::VERIFY_FAILED
    })
}
