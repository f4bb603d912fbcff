//! A model step's transform: the prompt from [`crate::context`], one request to the model, and
//! its answer parsed and applied in memory by [`crate::edit::protocol`], within the batch's
//! files (and the globs the step allows for new files).

use super::{BatchInput, Context, Failure, TransformError, Transformed, Usage};
use crate::context::{self, Ask};
use crate::edit::protocol;
use crate::recipe::ModelStep;

/// Ask the model for a batch's edits, from the files as they are now (and, for a repair, the
/// failed verification).
pub(super) fn ask(
    ctx: &Context<'_>,
    step: &ModelStep,
    batch: &BatchInput<'_>,
    failure: Option<Failure<'_>>,
) -> Result<Transformed, TransformError> {
    let client = ctx.model.ok_or(TransformError::NoModel)?;
    let read = |p: &str| ctx.view.text(p);
    let ask = Ask {
        instructions: &step.instructions,
        files: batch.files,
        graph: ctx.graph,
        read: &read,
        ledger: ctx.ledger,
        budget: ctx.budget,
    };
    let request = match failure {
        None => context::first_request(&ask),
        Some(f) => context::repair_request(
            &ask,
            f.command,
            &crate::verify::relevant_lines(f.output, 80),
        ),
    };
    let completion = client.complete(&request.system, &request.user)?;
    let usage = Usage {
        input: completion.input_tokens,
        output: completion.output_tokens,
    };
    let refused = |source| TransformError::Refused { source, usage };
    let edits = protocol::parse_answer(&completion.text).map_err(refused)?;
    let allow_new = |p: &str| step.new_files.as_ref().is_some_and(|g| g.is_match(p));
    let scope = protocol::Scope {
        files: batch.files,
        allow_new: &allow_new,
    };
    let (changes, mut notes) = protocol::apply_edits(&edits, &scope, &read).map_err(refused)?;
    let prompt = &request.prompt;
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
    Ok(Transformed {
        changes,
        summary: format!(
            "{} ({n} file{} changed by the model)",
            step.instructions.lines().next().unwrap_or("").trim(),
            if n == 1 { "" } else { "s" }
        ),
        notes,
        usage,
    })
}
