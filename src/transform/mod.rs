//! Transform: one seam for rules and models. A batch and the repository's current view go in;
//! a [`Transformed`] (the edits, a summary, notes, the model tokens used) comes out, whatever the
//! step's kind: [`transform_batch`]. A model step can also be asked to [`repair`] its batch
//! after a failed verification.
//!
//! Rules live in `rules`; a model step asks the model through [`crate::model`] with the
//! prompt [`crate::context`] builds, and hands the answer to [`crate::edit::protocol`] to
//! parse and apply in memory. The formatter pass (gofmt for Go) runs here, once, for rules and
//! models alike. This stage returns edits: it never writes the work tree, never verifies and
//! never commits. The orchestrator owns that loop.

mod model;
mod rules;

use crate::change::ChangeSet;
use crate::graph::Graph;
use crate::lang::{Language, RewriteError};
use crate::plan::Phase;
use crate::recipe::{ModelStep, StepAction};
use crate::scan::View;

/// A batch's files, as the planner cut them.
#[derive(Debug, Clone, Copy)]
pub struct BatchInput<'a> {
    /// The files, repository-relative.
    pub files: &'a [String],
    /// Which part of a staged rename the batch is.
    pub phase: Option<Phase>,
}

pub use crate::model::Usage;

/// What a transform produced for one batch.
#[derive(Debug, Clone, Default)]
pub struct Transformed {
    /// The edits, not checked or written yet.
    pub changes: ChangeSet,
    /// One line for the commit message body and the report.
    pub summary: String,
    /// What the reviewer should know (skipped matches, fuzzy matches, context left out).
    pub notes: Vec<String>,
    /// What the model used (zero for rules).
    pub usage: Usage,
    /// How many answers were refused for their form and asked again.
    pub format_repairs: u32,
}

/// What a transform reads: the repository as it is now, its graph, and for model steps the
/// model and the run's ledger.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The work tree (with pending changes laid over it in a dry run).
    pub view: View<'a>,
    /// The graph as it was at the start of the step.
    pub graph: &'a Graph,
    /// The model, for model steps.
    pub model: Option<&'a crate::model::Client>,
    /// What earlier model batches of the run did.
    pub ledger: &'a [crate::context::LedgerEntry],
    /// The prompt budget of a model batch, in tokens.
    pub budget: usize,
    /// Larger batch files are sent as focused views (`[batch] focus_above`).
    pub focus_above: usize,
}

/// Why a batch could not be transformed. All fail the batch; nothing has been written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TransformError {
    /// A rule could not make its edits (the message says why and what to do).
    #[error(transparent)]
    Rule(#[from] RewriteError),
    /// A model step without a model: the run refuses this before any change, so only a caller
    /// that skipped that check sees it.
    #[error("a `model` step needs a model; choose one with --model SPEC")]
    NoModel,
    /// The provider failed or refused (after retries for the transient failures).
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// The model's answer is malformed or edits what it may not (the tokens were spent all
    /// the same).
    #[error("the model's answer was refused: {source}{}", after_repairs(*format_repairs))]
    Refused {
        /// Why.
        source: crate::edit::protocol::ProtocolError,
        /// What the refused answers cost.
        usage: Usage,
        /// How many answers before it were refused for their form and asked again.
        format_repairs: u32,
    },
}

fn after_repairs(n: u32) -> String {
    match n {
        0 => String::new(),
        1 => " (after 1 format repair)".to_string(),
        n => format!(" (after {n} format repairs)"),
    }
}

impl TransformError {
    /// The model tokens spent before the transform failed.
    pub fn usage(&self) -> Usage {
        match self {
            TransformError::Refused { usage, .. } => *usage,
            _ => Usage::default(),
        }
    }

    /// How many format repairs were asked for before the transform failed.
    pub fn format_repairs(&self) -> u32 {
        match self {
            TransformError::Refused { format_repairs, .. } => *format_repairs,
            _ => 0,
        }
    }
}

/// A verification that failed, as a repair is asked about it.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// The command, as run.
    pub command: &'a str,
    /// Its output (the relevant lines are picked for the prompt).
    pub output: &'a str,
}

/// The edits of one batch of a step.
pub fn transform_batch(
    ctx: &Context<'_>,
    action: &StepAction,
    batch: &BatchInput<'_>,
) -> Result<Transformed, TransformError> {
    let transformed = match rules::apply_rule(ctx.view, ctx.graph, action, batch) {
        Some(result) => result?,
        None => {
            let StepAction::Model(step) = action else {
                unreachable!("every step that is not a rule is a model step")
            };
            model::ask(ctx, step, batch, None)?
        }
    };
    Ok(finish(ctx.view.root, transformed))
}

/// A model step's fix for its batch after `failure`, made on the batch's files as they are now
/// (the view shows them with the batch's earlier edits).
pub fn repair(
    ctx: &Context<'_>,
    step: &ModelStep,
    batch: &BatchInput<'_>,
    failure: Failure<'_>,
) -> Result<Transformed, TransformError> {
    Ok(finish(
        ctx.view.root,
        model::ask(ctx, step, batch, Some(failure))?,
    ))
}

/// Normalize the change (sorted, no empty changes, line endings kept) and run each language's
/// formatter over the files it keeps formatted.
fn finish(root: &std::path::Path, mut t: Transformed) -> Transformed {
    for c in &mut t.changes.changes {
        let (Some(before), Some(after), Some(language)) = (
            &c.before,
            &c.after,
            Language::from_path(std::path::Path::new(&c.path)),
        ) else {
            continue;
        };
        let formatted = language.support().format(root, &c.path, before, after);
        if let Some(text) = formatted.text {
            c.after = Some(text);
        }
        for note in formatted.notes {
            if !t.notes.contains(&note) {
                t.notes.push(note);
            }
        }
    }
    t.changes = std::mem::take(&mut t.changes)
        .normalize()
        .keep_line_endings();
    t
}
