//! `git ripple explain`: exactly what would be sent to a model for one batch, with token counts
//! per part, without calling any model.

use std::fmt::Write as _;
use std::path::Path;

use clap::Args;
use miette::{IntoDiagnostic, Result, miette};
use serde_json::json;

use super::exit;
use super::render::RunFormat;
use crate::context::{self, Ask};
use crate::graph::{GraphOptions, build_graph};
use crate::recipe::{StepAction, find_recipe, parse_recipe};
use crate::scan::{Repository, View, scan_repo};
use crate::simulate::simulate;

#[derive(Debug, Args)]
#[command(after_help = "\
Prints the prompt of a model step's batch: the instructions, the contracts of what the batch's
files use from elsewhere (nearest first; the farthest are dropped to fit the budget), and the
files in full. Files that look like secrets are withheld and token-like strings redacted.

Examples:
  git ripple explain model-rename-fetch-order --batch 2
  git ripple explain model-rename-fetch-order --batch 2 --budget 4000 --format json")]
pub struct ExplainArgs {
    /// The recipe: a path, or a repository or bundled recipe name.
    pub recipe: String,
    /// The batch (its index in `git ripple plan`).
    #[arg(long, value_name = "K")]
    pub batch: usize,
    /// Token budget of the prompt.
    #[arg(long, value_name = "TOKENS", default_value_t = context::DEFAULT_BUDGET)]
    pub budget: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run_explain(cwd: &Path, args: ExplainArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let recipe = parse_recipe(find_recipe(&repo.root, cwd, &args.recipe)?)?;
    let scan = scan_repo(&repo)?;
    let options = GraphOptions::default();
    let plan = simulate(&repo.root, &scan, &recipe, &options, false)?.plan;
    let Some((step_index, batch)) = plan
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.batches.iter().map(move |b| (i, b)))
        .find(|(_, b)| b.index == args.batch)
    else {
        return Err(miette!(
            help = "`git ripple plan` lists the batches",
            "the plan has no batch {} (it has {})",
            args.batch,
            plan.totals.batches
        ));
    };
    let StepAction::Model(step) = &recipe.steps[step_index].action else {
        return Err(miette!(
            help = "only model steps send anything; `git ripple run --dry-run` shows what this batch changes",
            "batch {} belongs to a `{}` step, which runs without a model",
            args.batch,
            recipe.steps[step_index].action.kind()
        ));
    };
    let graph = build_graph(&repo.root, &scan, &options)?;
    let view = View::disk(&repo.root);
    let read = |p: &str| view.text(p);
    let focus: Vec<String> = step
        .select
        .references
        .iter()
        .map(|r| r.value.clone())
        .collect();
    // Exactly what a run's first request for the batch is (before a run, with no ledger yet).
    let request = context::first_request(&Ask {
        instructions: &step.instructions,
        files: &batch.files,
        graph: &graph,
        read: &read,
        ledger: &[],
        budget: args.budget,
        focus: &focus,
        focus_above: recipe.batch.focus_above,
    });
    let prompt = &request.prompt;
    let out = match args.format {
        RunFormat::Json => {
            let v = json!({
                "recipe": recipe.name,
                "batch": batch.index,
                "tokens": prompt.tokens,
                "budget": prompt.budget,
                "parts": prompt.parts.iter().map(|p| json!({
                    "kind": p.kind, "name": p.name, "tokens": p.tokens,
                })).collect::<Vec<_>>(),
                "dropped": prompt.dropped,
                "recall": prompt.recall,
                "withheld": prompt.withheld,
                "system": request.system,
                "text": request.user,
            });
            let mut s = serde_json::to_string_pretty(&v).into_diagnostic()?;
            s.push('\n');
            s
        }
        RunFormat::Text => {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "Batch {} of {}: {} tokens of a {} token budget",
                batch.index, recipe.name, prompt.tokens, prompt.budget
            );
            for p in &prompt.parts {
                let _ = writeln!(s, "  {:>6} tokens  {:<12} {}", p.tokens, p.kind, p.name);
            }
            let recall = &prompt.recall;
            let _ = writeln!(
                s,
                "  contract recall: {} of {} symbols used from outside the batch ({:.0}%)",
                recall.included,
                recall.used,
                recall.ratio() * 100.0
            );
            for m in &recall.missing {
                let why = match m.reason {
                    "budget" => "dropped to fit the budget",
                    "secret" => "its file looks like a secret",
                    _ => "no contract could be read",
                };
                let _ = writeln!(s, "  missing: contract of {} ({why})", m.symbol);
            }
            for w in &prompt.withheld {
                let _ = writeln!(s, "  withheld (looks like a secret): {w}");
            }
            let _ = writeln!(s, "\n----- the system prompt -----\n{}", request.system);
            let _ = writeln!(s, "----- the prompt -----\n{}", request.user);
            s
        }
    };
    out!("{out}");
    Ok(exit::SUCCESS)
}
