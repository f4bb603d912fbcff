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
    /// Token budget of the prompt (default: the recipe's `[batch] max_tokens`).
    #[arg(long, value_name = "TOKENS")]
    pub budget: Option<usize>,
    /// Show what a recorded run sent, from this transcript (default: the recipe's latest
    /// run's own transcript, when there is one).
    #[arg(long, value_name = "TRANSCRIPT")]
    pub replay: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

/// The first request a transcript recorded for `batch`: its system and user texts.
fn sent_request(transcript: &Path, batch: usize) -> Option<(String, String)> {
    let text = std::fs::read_to_string(transcript).ok()?;
    let label = format!("batch {batch}");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["label"].as_str() == Some(label.as_str()))
        .and_then(|v| crate::model::request_texts(&v["request"]))
}

pub fn run_explain(cwd: &Path, args: ExplainArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let recipe = parse_recipe(find_recipe(&repo.root, cwd, &args.recipe)?)?;
    // A run of this recipe: what it sent is in its transcript, and its ledger is what the
    // batches still to come will be shown.
    let git_dir = repo.repo.git_dir();
    let run = crate::run::state::find(git_dir, Some(&recipe.name))
        .ok()
        .flatten()
        .filter(|r| r.recipe.name == recipe.name);
    let transcript = args.replay.as_ref().map(|p| cwd.join(p)).or_else(|| {
        run.as_ref()
            .map(|r| crate::run::state::transcript_path(git_dir, &r.id))
    });
    if let Some((system, user)) = transcript
        .as_deref()
        .and_then(|t| sent_request(t, args.batch))
    {
        let source = match (&args.replay, &run) {
            (Some(p), _) => format!("as recorded in {}", p.display()),
            (None, Some(r)) => format!("as sent in run {}", r.id),
            (None, None) => "as recorded".to_string(),
        };
        let tokens = crate::tokens::count_tokens(&user);
        let out = match args.format {
            RunFormat::Json => {
                let v = json!({
                    "recipe": recipe.name,
                    "batch": args.batch,
                    "source": "sent",
                    "run": run.as_ref().map(|r| r.id.clone()),
                    "tokens": tokens,
                    "system": system,
                    "text": user,
                });
                let mut s = serde_json::to_string_pretty(&v).into_diagnostic()?;
                s.push('\n');
                s
            }
            RunFormat::Text => format!(
                "Batch {} of {}, {source} (its first request): {tokens} tokens\n\n----- the system prompt -----\n{system}\n----- the prompt -----\n{user}\n",
                args.batch, recipe.name
            ),
        };
        out!("{out}");
        return Ok(exit::SUCCESS);
    }
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
    let focus = step.focus();
    let (ledger, source) = match &run {
        Some(r) => (
            r.ledger.clone(),
            format!(
                "as run {} would send it now: the ledger holds {} entr{}, and later batches may add to it",
                r.id,
                r.ledger.len(),
                if r.ledger.len() == 1 { "y" } else { "ies" }
            ),
        ),
        None => (
            Vec::new(),
            "before a run: the ledger is empty and the contracts are as the files stand now; during or after a run, explain shows what was or will be sent".to_string(),
        ),
    };
    // Exactly what a run's first request for the batch is, given the ledger so far.
    let request = context::first_request(&Ask {
        instructions: &step.instructions,
        files: &batch.files,
        graph: &graph,
        read: &read,
        ledger: &ledger,
        budget: args.budget.unwrap_or(recipe.batch.max_tokens as usize),
        focus: &focus,
        focus_above: recipe.batch.focus_above,
    });
    let prompt = &request.prompt;
    // What sending everything would cost: the batch's files and every repository file they
    // import, whole.
    let naive: usize = {
        let mut files: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
        for f in batch.files.iter().filter_map(|f| graph.file_id(f)) {
            files.insert(f);
            files.extend(graph.dependencies(f).iter().copied());
        }
        files
            .iter()
            .filter_map(|&f| read(&graph.files[f].path))
            .map(|t| crate::tokens::count_tokens(&t))
            .sum()
    };
    let out = match args.format {
        RunFormat::Json => {
            let v = json!({
                "recipe": recipe.name,
                "batch": batch.index,
                "source": if run.is_some() { "next" } else { "plan" },
                "note": source,
                "tokens": prompt.tokens,
                "budget": prompt.budget,
                "parts": prompt.parts.iter().map(|p| json!({
                    "kind": p.kind, "name": p.name, "tokens": p.tokens,
                })).collect::<Vec<_>>(),
                "dropped": prompt.dropped,
                "recall": prompt.recall,
                "naive_tokens": naive,
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
                "Batch {} of {}: {} tokens of a {} token budget ({source})",
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
