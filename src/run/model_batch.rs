//! Model batches: setting up the client from the spec, budgets, the prompt, asking the model
//! and turning its answer into checked edits.

use super::*;

/// The options with a model client when the recipe has `model` steps and a spec is chosen
/// (options first, then the recipe's `model`).
pub(super) fn with_model(options: &RunOptions, recipe: &Recipe) -> Result<RunOptions, RunError> {
    let mut out = options.clone();
    let needs = recipe
        .steps
        .iter()
        .any(|s| matches!(s.action, StepAction::Model(_)));
    if !needs || out.model.is_some() || options.dry_run {
        return Ok(out);
    }
    if let Some(transcript) = &options.replay {
        out.model = Some(Arc::new(crate::model::Client::replay(transcript)?));
        return Ok(out);
    }
    let Some(spec) = options.model_spec.clone().or_else(|| recipe.model.clone()) else {
        return Ok(out);
    };
    let mut spec = crate::model::ModelSpec::parse(&spec)?;
    if let Some(var) = &options.api_key_env {
        spec.key_env = Some(var.clone());
    }
    let mut retry = crate::model::RetryPolicy::default();
    if let Some(ms) = std::env::var("RIPPLE_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        retry.base = std::time::Duration::from_millis(ms);
    }
    // A provider that does not answer in time is retried like a dropped connection.
    let timeout = std::env::var("RIPPLE_MODEL_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(600);
    let client = crate::model::Client::new(spec, std::time::Duration::from_secs(timeout), retry)?;
    out.model = Some(Arc::new(client));
    Ok(out)
}

/// Why the run's model budget is spent, if it is: `--max-tokens-total`, or `--max-cost` with
/// prices configured.
pub(super) fn budget_spent(options: &RunOptions, state: &RunState) -> Option<String> {
    let used = state.tokens_in + state.tokens_out;
    if let Some(limit) = options.max_tokens_total
        && used >= limit
    {
        return Some(format!(
            "the token budget ({limit}) is spent; `git ripple resume --max-tokens-total N` continues"
        ));
    }
    if let (Some(cap), Some((input, output))) = (options.max_cost, options.prices) {
        let cost = state.tokens_in as f64 * input / 1e6 + state.tokens_out as f64 * output / 1e6;
        if cost >= cap {
            return Some(format!(
                "the cost cap ({cap:.2}) is reached ({cost:.2} spent); `git ripple resume --max-cost N` continues"
            ));
        }
    }
    None
}

/// Prompt budget of a model batch (tokens).
pub const MODEL_PROMPT_BUDGET: usize = 24_000;
/// How many earlier batches the ledger remembers.
pub(super) const LEDGER_ENTRIES: usize = 20;
/// The system prompt (Markdown, embedded).
const SYSTEM_PROMPT: &str = include_str!("../../prompts/system.md");

/// The repair prompt template (Markdown, embedded).
const REPAIR_PROMPT: &str = include_str!("../../prompts/repair.md");

/// What a model batch is asked with: the step, the batch's files, the graph for contracts and
/// the ledger.
pub(super) struct ModelAsk<'a> {
    pub client: &'a crate::model::Client,
    pub step: &'a crate::recipe::ModelStep,
    pub files: &'a [String],
    pub graph: &'a Graph,
    pub ledger: &'a [String],
}

/// Ask the model for a batch's edits, from the files as they are now (and, for a repair, the
/// failed verification), and apply its answer to them in memory. Returns the edits and the
/// (input, output) tokens used.
pub(super) fn ask_model(
    ask: &ModelAsk<'_>,
    read: &dyn Fn(&str) -> Option<String>,
    failure: Option<&CommandResult>,
) -> Result<(Transformed, (u64, u64)), String> {
    let step = ask.step;
    let files = ask.files;
    let prompt = context::build_prompt(
        &step.instructions,
        files,
        ask.graph,
        read,
        ask.ledger,
        MODEL_PROMPT_BUDGET,
    );
    let text = match failure {
        None => prompt.text.clone(),
        Some(f) => REPAIR_PROMPT
            .replace("{prompt}", &prompt.text)
            .replace("{command}", &f.command)
            .replace(
                "{output}",
                context::redact(&verify::relevant_lines(&f.output, 80)).trim_end(),
            ),
    };
    let completion = ask
        .client
        .complete(SYSTEM_PROMPT, &text)
        .map_err(|e| e.to_string())?;
    let usage = (completion.input_tokens, completion.output_tokens);
    let edits = crate::edit::protocol::parse_answer(&completion.text)
        .map_err(|e| format!("the model's answer was refused: {e}"))?;
    let allow_new = |p: &str| step.new_files.as_ref().is_some_and(|g| g.is_match(p));
    let scope = crate::edit::protocol::Scope {
        files,
        allow_new: &allow_new,
    };
    let (mut changes, mut notes) = crate::edit::protocol::apply_edits(&edits, &scope, read)
        .map_err(|e| format!("the model's answer was refused: {e}"))?;
    keep_gofmt_clean(&mut changes);
    if !prompt.dropped.is_empty() {
        notes.push(format!(
            "contracts left out to fit the prompt budget: {}",
            prompt.dropped.join(", ")
        ));
    }
    if !prompt.withheld.is_empty() {
        notes.push(format!(
            "withheld from the model (look like secrets): {}",
            prompt.withheld.join(", ")
        ));
    }
    let n = changes.changes.len();
    Ok((
        Transformed {
            changes,
            summary: format!(
                "{} ({n} file{} changed by the model)",
                step.instructions.lines().next().unwrap_or("").trim(),
                if n == 1 { "" } else { "s" }
            ),
            notes,
        },
        usage,
    ))
}

/// Fold a repair's changes (made on top of `into`'s results) into `into`: the `before` stays
/// what the batch started from.
pub(super) fn merge_changes(into: &mut crate::edit::ChangeSet, repair: crate::edit::ChangeSet) {
    for c in repair.changes {
        match into.changes.iter_mut().find(|x| x.path == c.path) {
            Some(existing) => existing.after = c.after,
            None => into.changes.push(c),
        }
    }
    let done = std::mem::take(into);
    *into = done.normalize();
}
