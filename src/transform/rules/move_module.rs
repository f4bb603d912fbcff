//! `move`: a module or package to a new path, with every import of it updated. What moving
//! means is the language's ([`Support::move_module`](crate::lang::Support::move_module)): a
//! Python package takes its submodules and gets `__init__.py` files; a Go package renames its
//! package clause and its importers' qualifiers.
//!
//! A move is one batch: importers cannot keep building against a module that is gone.

use crate::change::ChangeSet;
use crate::graph::Graph;
use crate::lang::{ModuleFile, ModuleMove, RewriteError};
use crate::recipe::MoveStep;
use crate::scan::View;

use super::{BatchInput, Transformed, plural, read};

pub(super) fn move_module(
    view: View<'_>,
    graph: &Graph,
    step: &MoveStep,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RewriteError> {
    let from = step.from.value.as_str();
    let to = step.to.value.as_str();
    let language = graph
        .files
        .iter()
        .find(|f| f.module.as_deref() == Some(from))
        .map(|f| f.language)
        .ok_or_else(|| RewriteError::Stale(format!("`{from}` is no longer in the repository")))?;
    let files: Vec<ModuleFile<'_>> = graph
        .files
        .iter()
        .zip(&graph.facts)
        .filter(|(f, _)| f.language == language)
        .map(|(f, facts)| ModuleFile {
            path: &f.path,
            module: f.module.as_deref(),
            facts,
        })
        .collect();
    let reader = |p: &str| read(view, p);
    let changes = ChangeSet {
        changes: language.support().move_module(&ModuleMove {
            from,
            to,
            root: view.root,
            files: &files,
            batch: batch.files,
            read: &reader,
        })?,
    };
    let moved = changes.changes.iter().filter(|c| c.after.is_none()).count();
    let updated = changes
        .changes
        .iter()
        .filter(|c| c.before.is_some() && c.after.is_some())
        .count();
    Ok(Transformed {
        summary: format!(
            "Move `{from}` to `{to}`: {} moved, {} updated.",
            plural(moved, "file", "files"),
            plural(updated, "importer", "importers")
        ),
        changes,
        ..Transformed::default()
    })
}
