//! Deterministic transforms: what a recipe's `rename`, `rewrite` and `move` steps do to one
//! batch's files. A rule reads the files through the [`View`] and returns a
//! [`ChangeSet`](crate::change::ChangeSet); it
//! never writes and never runs anything. What a rule needs to know about a language it asks the
//! language's [`Support`](crate::lang::Support).
//!
//! Rules work from the graph built at the start of the step, reading each file's current text.
//! Within a step a file is touched by one batch, except the deprecated aliases a rename adds in
//! its first batch and removes in its last, which are found again by their exact text.

mod move_module;
mod rename;
mod rewrite;

use crate::graph::Graph;
use crate::lang::RewriteError;
use crate::recipe::StepAction;
use crate::scan::View;

use super::{BatchInput, Transformed};

/// A rule's edits for one batch, or `None` for a step that is not a rule (a model step).
pub(super) fn apply_rule(
    view: View<'_>,
    graph: &Graph,
    action: &StepAction,
    batch: &BatchInput<'_>,
) -> Option<Result<Transformed, RewriteError>> {
    let result = match action {
        StepAction::Rename(step) => rename::rename(view, graph, step, batch),
        StepAction::Rewrite(step) => rewrite::rewrite(view, step, batch),
        StepAction::Move(step) => move_module::move_module(view, graph, step, batch),
        StepAction::Model(_) => return None,
    };
    Some(result)
}

/// A file's current text.
fn read(view: View<'_>, path: &str) -> Result<String, RewriteError> {
    view.read(path).map_err(|source| RewriteError::Read {
        path: path.to_string(),
        source,
    })
}

/// The summary of a change set for rules that count places.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
