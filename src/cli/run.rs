//! `git ripple run`: carry out a recipe batch by batch on its own branch, each batch verified
//! and committed, or rolled back.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::Output;
use super::progress::Progress;
use super::render::{RunFormat, print_report};
use crate::graph::GraphOptions;
use crate::recipe::{find_recipe, parse_recipe};
use crate::run::{RunOptions, resume_run, run_recipe};
use crate::scan::Repository;

#[derive(Debug, Args)]
#[command(after_help = "\
RECIPE is a path to a .toml file, the name of a recipe in .ripple/recipes/, or the name of a
bundled recipe (`git ripple recipes` lists them). The run works on a new branch (default
ripple/<recipe name>) created from HEAD; it never rewrites commits and never pushes.

Examples:
  git ripple run rename-fetch-order --dry-run      the diff of every batch, nothing changed
  git ripple run rename-fetch-order                 one verified commit per batch
  git ripple run go-ioutil --branch chore/ioutil --keep-going --format json > report.json
  git ripple run rename-fetch-order --max-batches 2             a first small run; then: git ripple resume
  git ripple run rename-fetch-order --batch 3 --plan plan.json  one batch of a CI matrix")]
pub struct RunArgs {
    /// The recipe: a path, or a repository or bundled recipe name.
    #[arg(required_unless_present = "resume")]
    pub recipe: Option<String>,
    /// Continue the interrupted or stopped run instead (same as `git ripple resume`).
    #[arg(long, conflicts_with_all = ["recipe", "dry_run", "branch"])]
    pub resume: bool,
    /// With --resume: carry on although the recipe file changed or HEAD moved.
    #[arg(long, requires = "resume")]
    pub force: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Stop after this many batches (resume later): a first small run to review.
    #[arg(long, value_name = "N")]
    pub max_batches: Option<usize>,
    /// Carry out only batch K on top of the current HEAD (CI fan-out: one job per batch of a
    /// level). Its dependencies must already be in HEAD's history.
    #[arg(long, value_name = "K")]
    pub batch: Option<usize>,
    /// Show every verified batch's diff and ask: accept (commit), skip, edit ($EDITOR on the
    /// batch's files, then verify again) or quit (resume later).
    #[arg(long, conflicts_with = "dry_run")]
    pub interactive: bool,
    /// With --batch: take the batch from this plan (`git ripple plan --format json` output)
    /// instead of planning again on HEAD.
    #[arg(long, value_name = "FILE", requires = "batch")]
    pub plan: Option<std::path::PathBuf>,
    /// The branch to create for the run's commits.
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Print the diff each batch would produce; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// When a batch fails, restore it and go on with the next instead of stopping.
    #[arg(long)]
    pub keep_going: bool,
    /// Go on although the starting tree fails its own verify commands; a batch's test command
    /// then passes when every test it fails failed on the starting tree too (pytest, go test).
    #[arg(long, conflicts_with = "dry_run")]
    pub allow_red_baseline: bool,
    /// After the last batch, check every commit of the run again on its own (as `git ripple
    /// check` does); the report records it and a red commit makes the exit status 1.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
    /// With --check: commits checked at once.
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 1,
        requires = "check"
    )]
    pub jobs: usize,
    /// Output format of the final report.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
    /// Skip source files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_file_size: u64,
}

/// Ctrl-C (or SIGTERM) asks the run to stop cleanly: the current batch is rolled back or
/// finished, nothing is left half-applied.
pub(super) fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupt)).into_diagnostic()?;
    }
    Ok(interrupt)
}

/// The model flags `run` and `resume` share.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model for `model` steps (overrides RIPPLE_MODEL, `git config ripple.model` and the
    /// recipe): openai:MODEL, openai-chat:MODEL, anthropic:MODEL, ollama:MODEL or
    /// openai-compatible:MODEL@BASE_URL.
    #[arg(long = "model", value_name = "SPEC")]
    pub spec: Option<String>,
    /// Stop (resumably) between batches once the model has used this many tokens.
    #[arg(long, value_name = "N")]
    pub max_tokens_total: Option<u64>,
    /// Stop (resumably) between batches once the model has cost this much; needs prices:
    /// `git config ripple.priceInput` and `ripple.priceOutput` (per million tokens).
    #[arg(long, value_name = "AMOUNT")]
    pub max_cost: Option<f64>,
    /// Answer model requests from a recorded run's transcript
    /// (.git/ripple/runs/<id>/transcript.jsonl) instead of calling a model: reproduces it.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<std::path::PathBuf>,
}

impl ModelArgs {
    /// Fill the model options from the flags, the environment and `git config` (`ripple.model`,
    /// `ripple.apiKeyEnv`, `ripple.priceInput`, `ripple.priceOutput`, `ripple.priceCachedInput`,
    /// `ripple.priceCacheWrite`).
    pub(super) fn apply(
        &self,
        repo: &Repository,
        cwd: &Path,
        options: &mut RunOptions,
    ) -> Result<()> {
        let config = |k: &str| crate::vcs::config_string(&repo.repo, k);
        let price = |k: &str| config(k)?.trim().parse::<f64>().ok();
        options.prices = price("ripple.priceInput")
            .zip(price("ripple.priceOutput"))
            .map(|(input, output)| crate::model::Prices {
                input,
                output,
                cached: price("ripple.priceCachedInput").unwrap_or(input),
                cache_write: price("ripple.priceCacheWrite").unwrap_or(input * 1.25),
            });
        if self.max_cost.is_some() && options.prices.is_none() {
            return Err(miette::miette!(
                help = "git config ripple.priceInput 2.50 && git config ripple.priceOutput 10 (per million tokens)",
                "--max-cost needs the model's prices"
            ));
        }
        options.model_spec = self
            .spec
            .clone()
            .or_else(|| std::env::var("RIPPLE_MODEL").ok().filter(|v| !v.is_empty()))
            .or_else(|| config("ripple.model"));
        options.api_key_env = config("ripple.apiKeyEnv");
        options.max_tokens_total = self.max_tokens_total;
        options.max_cost = self.max_cost;
        options.replay = self.replay.as_ref().map(|p| cwd.join(p));
        Ok(())
    }
}

pub fn run_run(cwd: &Path, args: RunArgs, output: &Output) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    if args.interactive && output.ci {
        return Err(miette::miette!(
            help = "drop --ci, or run without --interactive in CI",
            "--interactive asks a person about every batch; --ci promises no prompts"
        ));
    }
    let mut options = RunOptions {
        branch: args.branch.clone(),
        branch_prefix: crate::vcs::config_string(&repo.repo, "ripple.branchPrefix"),
        dry_run: args.dry_run,
        keep_going: args.keep_going,
        allow_red_baseline: args.allow_red_baseline,
        max_batches: args.max_batches,
        interactive: args.interactive,
        batch: args.batch,
        plan: match &args.plan {
            Some(path) => Some(load_plan(&cwd.join(path))?),
            None => None,
        },
        graph: GraphOptions {
            max_file_size: args.max_file_size,
            ..GraphOptions::default()
        },
        interrupt: interrupt_flag()?,
        ..RunOptions::default()
    };
    args.model.apply(&repo, cwd, &mut options)?;
    let mut on_event = Progress::new(output, args.dry_run);
    let report = match &args.recipe {
        Some(name) if !args.resume => {
            let source = find_recipe(&repo.root, cwd, name)?;
            let mut recipe = parse_recipe(source)?;
            crate::run::apply_git_config(&repo, &mut recipe);
            run_recipe(&repo, &recipe, &options, &mut on_event)?
        }
        _ => resume_run(&repo, &options, args.force, &mut on_event)?,
    };
    drop(on_event);
    let mut report = report;
    if args.check && report.outcome == crate::run::Outcome::Success && report.branch.is_some() {
        let request = crate::run::check::CheckRequest {
            range: None,
            recipe: None,
            jobs: args.jobs.max(1),
            use_cache: true,
            interrupt: &options.interrupt,
        };
        if !output.quiet {
            eprintln!("Checking every commit of the run on its own:");
        }
        let checked = crate::run::check::check(
            &repo,
            &request,
            &super::render::progress_printer(output.quiet),
        )?;
        report.check = Some(crate::run::check::redacted(checked));
    }
    let code = print_report(&report, args.format)?;
    Ok(match &report.check {
        Some(c) if code == super::exit::SUCCESS && c.interrupted => super::exit::INTERRUPTED,
        Some(c) if code == super::exit::SUCCESS && !c.bisect_clean => super::exit::VERIFY_FAILED,
        _ => code,
    })
}

/// Read a plan `git ripple plan --format json` wrote.
fn load_plan(path: &Path) -> Result<crate::plan::Plan> {
    let text = std::fs::read_to_string(path)
        .into_diagnostic()
        .map_err(|e| e.context(format!("cannot read the plan {}", path.display())))?;
    serde_json::from_str(&text).into_diagnostic().map_err(|e| {
        e.context(format!(
            "{} is not a plan `git ripple plan --format json` printed",
            path.display()
        ))
    })
}
