//! The command line: clap definitions, one module per subcommand (`XxxArgs` + `run_xxx`), and
//! the mapping from outcomes and errors to exit codes. Library stages never print; this module
//! and its children do.

/// Write to standard output; a reader that went away (`git ripple graph | head`) ends the
/// program quietly, as it does every Unix tool, instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!($($arg)*))
    };
}

/// [`out!`] with a newline.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod abort;
mod cache;
mod check;
mod completions;
mod explain;
mod graph;
mod install_man;
mod log;
mod new;
mod plan;
mod progress;
mod recipes;
mod render;
mod report;
mod resume;
mod run;
mod stack;
mod status;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Standard output for [`out!`] and [`outln!`].
pub(crate) fn write_stdout(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        stdout_failed(e.kind(), &e);
    }
}

/// A write to standard output failed: a reader that stopped early (`| head`) ends the command
/// quietly, anything else (a full disk) ends it as the internal error it is.
pub(crate) fn stdout_failed(kind: std::io::ErrorKind, e: &dyn std::fmt::Display) -> ! {
    if kind == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(exit::SUCCESS));
    }
    eprintln!("git-ripple: cannot write to standard output: {e}");
    std::process::exit(i32::from(exit::INTERNAL));
}

/// Exit codes, documented in the README.
pub mod exit {
    /// Everything asked for was done.
    pub const SUCCESS: u8 = 0;
    /// A batch's (or the final) verify command failed; the failed batch was rolled back.
    pub const VERIFY_FAILED: u8 = 1;
    /// Bad input: not a repository, an unknown symbol, a bad option or recipe.
    pub const BAD_INPUT: u8 = 2;
    /// A batch could not be transformed (a rule refused, or its edits were unsafe); nothing of
    /// it was written.
    pub const TRANSFORM_FAILED: u8 = 3;
    /// Stopped between batches: the model token budget (`--max-tokens-total`) is spent.
    pub const BUDGET_SPENT: u8 = 4;
    /// Stopped by Ctrl-C or SIGTERM; the batch in progress was rolled back (or finished).
    pub const INTERRUPTED: u8 = 130;
    /// git-ripple itself failed (a bug, or the machine: disk full, permissions).
    pub const INTERNAL: u8 = 70;
}

const HELP_EXAMPLES: &str = "\
Examples:
  git ripple graph                       summary of the repository's dependency graph
  git ripple graph --format json         files, edges, symbols and unresolved imports
  git ripple graph --symbol shopcore.db.queries.fetch_order
                                         where a symbol is defined and used
  git ripple recipes                     the repository's and the bundled recipes
  git ripple new rename shopcore.db.queries.fetch_order load_order
                                         write a recipe for it, with verify commands
  git ripple plan rename-fetch-order     the batches a recipe will make, in order
  git ripple run rename-fetch-order      carry it out: one verified commit per batch
  git ripple status                      the run in progress
  git ripple resume                      continue it after Ctrl-C, a crash or a fix
  git ripple abort                       back to where the run began
  git ripple log                         the run's commits and their trailers
  git ripple check -j 2                  every commit of the run green on its own?
  git ripple report                      the run in Markdown, for a pull request
  git ripple stack --push origin         a branch per batch, for stacked pull requests
  git ripple install-man                 manual pages, so `git ripple --help` finds one
  git ripple completions bash            completions for `git ripple <TAB>`";

/// Repository-wide refactorings and migrations of Python and Go code, batch by batch.
#[derive(Debug, Parser)]
#[command(name = "git-ripple", bin_name = "git ripple", version, about, after_help = HELP_EXAMPLES)]
pub struct Cli {
    /// Run as if started in this folder (like `git -C`).
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub directory: Option<PathBuf>,

    /// Only errors and the final report.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail: every verify command's result as it finishes.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Plain line-oriented progress for CI logs: no progress bars, no colours, no prompts.
    /// Implied when stderr is not a terminal.
    #[arg(long, global = true)]
    pub ci: bool,

    #[command(subcommand)]
    /// The subcommand.
    pub command: Command,
}

#[derive(Debug, Subcommand)]
/// The subcommands, one module each.
pub enum Command {
    /// Show the repository's dependency graph: a summary, JSON, Graphviz, or one symbol's uses.
    Graph(graph::GraphArgs),
    /// List the repository's recipes (.ripple/recipes/) and the bundled ones.
    Recipes(recipes::RecipesArgs),
    /// Write a recipe from one line: `git ripple new rename SYMBOL NEW_NAME`.
    New(new::NewArgs),
    /// Show the batches a recipe will make, in order, with the reason for every file.
    Plan(plan::PlanArgs),
    /// Carry out a recipe: one verified commit per batch on a new branch (or --dry-run).
    Run(run::RunArgs),
    /// Continue the interrupted or stopped run.
    Resume(resume::ResumeArgs),
    /// Show the run in progress: branch, batches done, failed and left, last error.
    Status(status::StatusArgs),
    /// Give up the run in progress: back to the original branch and files.
    Abort(abort::AbortArgs),
    /// List the run's commits with their batch and verification trailers.
    Log(log::LogArgs),
    /// Prove every commit of the run (or a range) green on its own: bisect-clean.
    Check(check::CheckArgs),
    /// The run for reviewers, in Markdown or JSON: batches, verification, check, what is left.
    Report(report::ReportArgs),
    /// One branch per batch, each on the previous, with pull-request bodies (stacked review).
    Stack(stack::StackArgs),
    /// Show or clear the facts cache that lets an unchanged file skip parsing.
    Cache(cache::CacheArgs),
    /// Print exactly what a model step's batch would send to a model, with token counts.
    Explain(explain::ExplainArgs),
    /// Write the manual pages where man finds them, so `git ripple --help` shows the manual.
    InstallMan(install_man::InstallManArgs),
    /// Print completions for bash, zsh or fish (for `git ripple <TAB>` and `git-ripple <TAB>`).
    Completions(completions::CompletionsArgs),
}

/// How much to print and whether a person is watching (global flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// Only errors and the final report.
    pub quiet: bool,
    /// Every verify command's result as it finishes.
    pub verbose: bool,
    /// Plain lines, no prompts or colours.
    pub ci: bool,
}

/// Run git-ripple with these arguments (the first is the program name), as `main` does; tests
/// call it in-process.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let cwd = match &cli.directory {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let output = Output {
        quiet: cli.quiet,
        verbose: cli.verbose,
        ci: cli.ci,
    };
    if cli.ci {
        // Error reports without colour or Unicode art in CI logs.
        let _ = miette::set_hook(Box::new(|_| {
            Box::new(
                miette::MietteHandlerOpts::new()
                    .color(false)
                    .unicode(false)
                    .build(),
            )
        }));
    }
    let result = match cli.command {
        Command::Graph(args) => graph::run_graph(&cwd, args),
        Command::Recipes(args) => recipes::run_recipes(&cwd, args),
        Command::New(args) => new::run_new(&cwd, args),
        Command::Plan(args) => plan::run_plan(&cwd, args),
        Command::Run(args) => run::run_run(&cwd, args, &output),
        Command::Resume(args) => resume::run_resume(&cwd, args, &output),
        Command::Status(args) => status::run_status(&cwd, args),
        Command::Abort(args) => abort::run_abort(&cwd, args),
        Command::Log(args) => log::run_log(&cwd, args),
        Command::Check(args) => check::run_check(&cwd, args, &output),
        Command::Report(args) => report::run_report(&cwd, args),
        Command::Stack(args) => stack::run_stack(&cwd, args),
        Command::Cache(args) => cache::run_cache(&cwd, args),
        Command::Explain(args) => explain::run_explain(&cwd, args),
        Command::InstallMan(args) => install_man::run_install_man(args),
        Command::Completions(args) => completions::run_completions(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(exit::BAD_INPUT)
        }
    }
}
