//! `git ripple check [RANGE]`: every commit of a run (or a range) verified again on its own, in
//! a scratch worktree, so the branch can be reviewed, bisected and merged in parts.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::exit;
use super::report::RunFormat;
use super::run::interrupt_flag;
use crate::recipe::{find_recipe, parse_recipe};
use crate::run::check::{CheckRequest, check};
use crate::scan::Repository;
use crate::verify::check::{CheckReport, CommitCheck};

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
pub(super) fn render(report: &CheckReport) -> String {
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

/// What a check prints and exits with.
pub(super) fn redacted(mut report: CheckReport) -> CheckReport {
    use crate::context::redact;
    if let Some(red) = &mut report.first_red {
        red.output = redact(&red.output);
        red.summary = redact(&red.summary);
    }
    for c in &mut report.commits {
        for r in &mut c.commands {
            r.summary = redact(&r.summary);
        }
        c.output.clear();
    }
    report
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
            print!("{s}");
        }
        RunFormat::Text => print!("{}", render(&report)),
    }
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else if report.bisect_clean {
        exit::SUCCESS
    } else {
        exit::VERIFY_FAILED
    })
}
