//! A model step's transform: the prompt from [`crate::context`], a request to the model, and
//! its answer parsed and applied in memory by [`crate::edit::protocol`], within the batch's
//! files (and the globs the step allows for new files), with the secrets the prompt redacted
//! put back where the answer may keep them.
//!
//! An answer refused for its form (no blocks, a SEARCH text that is not in the file) goes back
//! to the model with the exact reason, up to the step's `format_repairs` times; one refused for
//! safety (a path outside the batch, a copied secret, a destructive edit) ends the transform.

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
    let focus = step.focus();
    let ask = Ask {
        instructions: &step.instructions,
        files: batch.files,
        graph: ctx.graph,
        read: &read,
        ledger: ctx.ledger,
        budget: ctx.budget,
        focus: &focus,
        focus_above: ctx.focus_above,
    };
    let mut request = match failure {
        None => context::first_request(&ask),
        Some(f) => context::repair_request(
            &ask,
            f.command,
            &crate::verify::relevant_lines(f.output, 80),
        ),
    };
    let allow_new = |p: &str| step.new_files.as_ref().is_some_and(|g| g.is_match(p));
    let mut usage = Usage::default();
    let mut format_repairs = 0;
    let mut notes = Vec::new();
    let (changes, applied_notes) = loop {
        let completion = client.complete(&request.system, &request.user, &request.stable)?;
        usage += completion.usage;
        let scope = protocol::Scope {
            files: batch.files,
            allow_new: &allow_new,
            allow_delete: step.allow_delete,
            secrets: request.secrets(),
        };
        let applied = protocol::parse_answer(&completion.text)
            .and_then(|edits| protocol::apply_edits(&edits, &scope, &read));
        match applied {
            Ok(done) => break done,
            Err(e) if e.is_form() && format_repairs < step.format_repairs => {
                format_repairs += 1;
                notes.push(format!(
                    "format repair {format_repairs}: {}",
                    context::redact(&e.to_string())
                ));
                request =
                    context::format_repair_request(&request, &completion.text, &e.to_string());
            }
            Err(source) => {
                return Err(TransformError::Refused {
                    source,
                    usage,
                    format_repairs,
                });
            }
        }
    };
    notes.extend(applied_notes);
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
        format_repairs,
    })
}
