//! `git ripple resume`: continue the run in progress.

use std::path::Path;

use clap::Args;
use miette::Result;

use super::Output;
use super::progress::Progress;
use super::render::{RunFormat, print_report};
use super::run::{ModelArgs, interrupt_flag};
use crate::graph::GraphOptions;
use crate::run::{RunOptions, resume_run};
use crate::scan::Repository;

#[derive(Debug, Args)]
#[command(after_help = "\
A batch that was half-applied when the run stopped (Ctrl-C, kill -9, a crash, a reboot) is put
back and done again; committed batches are never redone or lost. If the run's branch moved or
the recipe file changed since, resume says so and stops; --force carries on with the recipe as
it was when the run began, on top of the current HEAD.

Examples:
  git ripple resume
  git ripple resume --max-batches 2 --format json")]
pub struct ResumeArgs {
    /// Carry on although the recipe file changed or HEAD moved.
    #[arg(long)]
    pub force: bool,
    /// When a batch fails, restore it and go on with the next instead of stopping.
    #[arg(long)]
    pub keep_going: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Stop after this many more batches.
    #[arg(long, value_name = "N")]
    pub max_batches: Option<usize>,
    /// Output format of the final report.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run_resume(cwd: &Path, args: ResumeArgs, output: &Output) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let mut options = RunOptions {
        keep_going: args.keep_going,
        max_batches: args.max_batches,
        graph: GraphOptions::default(),
        interrupt: interrupt_flag()?,
        ..RunOptions::default()
    };
    args.model.apply(&repo, cwd, &mut options)?;
    let mut on_event = Progress::new(output, false);
    let report = resume_run(&repo, &options, args.force, &mut on_event)?;
    drop(on_event);
    print_report(&report, args.format)
}
