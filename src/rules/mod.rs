//! Deterministic transforms: what a recipe's `rename`, `rewrite` and `move` steps do to one
//! batch's files. A rule reads the files and returns a [`ChangeSet`]; it never writes (that is
//! [`crate::edit`]'s job) and never runs anything.
//!
//! Rules work from the graph built at the start of the step, reading each file's current text.
//! Within a step a file is touched by one batch, except the deprecated aliases a rename adds in
//! its first batch and removes in its last, which are found again by their exact text.

mod imports;
mod move_module;
mod rename;
mod rewrite;

use std::collections::BTreeMap;
use std::path::Path;

use crate::edit::{ChangeSet, EditError};
use crate::graph::Graph;
use crate::plan::Phase;
use crate::recipe::StepAction;

/// What a rule needs: the repository root, the graph as it was at the start of the step, and
/// changes not written to the work tree yet (a dry run's earlier batches; `None`: deleted).
pub struct RuleContext<'a> {
    pub root: &'a Path,
    pub graph: &'a Graph,
    pub overlay: &'a BTreeMap<String, Option<String>>,
}

/// A batch's files, as the planner cut them.
pub struct BatchInput<'a> {
    pub files: &'a [String],
    pub phase: Option<Phase>,
}

/// What a rule produced for one batch.
#[derive(Debug, Clone, Default)]
pub struct Transformed {
    pub changes: ChangeSet,
    /// One line for the commit message body and the report.
    pub summary: String,
    /// Things the reviewer should know (skipped matches, unresolved places).
    pub notes: Vec<String>,
}

/// Why a rule could not produce its edits. All of these fail the batch (it is skipped or the run
/// stops, and nothing has been written).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RuleError {
    /// A target file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The repository no longer matches the plan (a symbol or an alias is gone).
    #[error("{0}")]
    Stale(String),
    /// The rule cannot do this safely; the message says what to use instead.
    #[error("{0}")]
    Unsupported(String),
    /// The rule's edits do not apply.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// A grammar or bundled query failed: a build problem.
    #[error(transparent)]
    Extract(#[from] crate::lang::ExtractError),
}

/// Run the rule of a step on one batch.
pub fn transform_batch(
    ctx: &RuleContext<'_>,
    action: &StepAction,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RuleError> {
    let out = match action {
        StepAction::Rename(step) => rename::rename(ctx, step, batch)?,
        StepAction::Rewrite(step) => rewrite::rewrite(ctx, step, batch)?,
        StepAction::Move(step) => move_module::move_module(ctx, step, batch)?,
        StepAction::Model(_) => {
            return Err(RuleError::Unsupported(
                "a `model` step needs a language model; this build of git-ripple carries out rename, rewrite and move steps only".into(),
            ));
        }
    };
    Ok(Transformed {
        changes: out.changes.normalize().keep_line_endings(),
        ..out
    })
}

fn read(ctx: &RuleContext<'_>, path: &str) -> Result<String, RuleError> {
    if let Some(over) = ctx.overlay.get(path) {
        return over.clone().ok_or_else(|| RuleError::Read {
            path: path.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "deleted by an earlier batch",
            ),
        });
    }
    std::fs::read_to_string(ctx.root.join(path)).map_err(|source| RuleError::Read {
        path: path.to_string(),
        source,
    })
}

/// Whether `text[at..at+len]` is a whole word (not part of a longer identifier).
fn is_whole_word(text: &str, at: usize, len: usize) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    !before.is_some_and(ident) && !after.is_some_and(ident)
}

/// Byte offsets of whole-word occurrences of `word` in `text[range]`.
fn word_occurrences(text: &str, range: std::ops::Range<usize>, word: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let hay = &text[range.clone()];
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let at = range.start + from + i;
        if is_whole_word(text, at, word.len()) {
            out.push(at);
        }
        from += i + word.len();
    }
    out
}
