//! `rewrite`: every match of a step's queries in the batch's files is replaced by its template,
//! then imports are fixed: the ones a rule says its replacement needs are added where missing,
//! and a Go import whose package the rewrite stopped using is removed.
//!
//! Matches that overlap an earlier one (same rule or another) are skipped and reported: the
//! first match in file order wins, so the result never depends on rule order within a place.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::change::{ChangeSet, FileChange, TextEdit, apply_text_edits};
use crate::lang::{self, RewriteError};
use crate::recipe::{RewriteStep, TemplatePart};
use crate::scan::View;

use super::{BatchInput, Transformed, read};

pub(super) fn rewrite(
    view: View<'_>,
    step: &RewriteStep,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RewriteError> {
    // Files are independent: rewrite them in parallel, keep the batch's (path) order.
    let per_file: Vec<Option<(FileChange, usize, Vec<String>)>> = batch
        .files
        .par_iter()
        .map(|path| rewrite_file(view, step, path))
        .collect::<Result<_, _>>()?;
    let mut changes = ChangeSet::default();
    let mut notes = Vec::new();
    let mut total = 0;
    for (change, count, file_notes) in per_file.into_iter().flatten() {
        changes.changes.push(change);
        total += count;
        notes.extend(file_notes);
    }
    let files = changes.changes.len();
    Ok(Transformed {
        summary: format!(
            "Rewrite {total} place{} in {files} file{}.",
            if total == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" }
        ),
        changes,
        notes,
        ..Transformed::default()
    })
}

/// One file's rewrite: its change, how many places changed, and notes; `None` when nothing
/// matched.
fn rewrite_file(
    view: View<'_>,
    step: &RewriteStep,
    path: &str,
) -> Result<Option<(FileChange, usize, Vec<String>)>, RewriteError> {
    let source = read(view, path)?;
    let tree = lang::parse(step.language, source.as_bytes())?;
    let mut notes = Vec::new();
    // (start, end, replacement, rule index)
    let mut found: Vec<(usize, usize, String, usize)> = Vec::new();
    for (r, rule) in step.rules.iter().enumerate() {
        for m in lang::captures_in(&rule.query, &tree, source.as_bytes()) {
            let Some((_, range)) = m.iter().find(|(n, _)| *n == rule.replace) else {
                continue;
            };
            let text: String = rule
                .template
                .parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Text(t) => t.as_str(),
                    TemplatePart::Capture(c) => m
                        .iter()
                        .find(|(n, _)| n == c)
                        .map(|(_, r)| &source[r.clone()])
                        .unwrap_or(""),
                })
                .collect();
            found.push((range.start, range.end, text, r));
        }
    }
    found.sort_by_key(|f| (f.0, std::cmp::Reverse(f.1), f.3));
    found.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let mut edits = Vec::new();
    let mut needed: BTreeSet<&str> = BTreeSet::new();
    let mut replaced_text = String::new();
    let mut last_end = 0;
    for (start, end, text, r) in found {
        if start < last_end {
            notes.push(format!(
                "{path}: a match of rule {} at byte {start} overlaps an earlier one and was left alone",
                r + 1
            ));
            continue;
        }
        last_end = end;
        if source[start..end] == text {
            continue;
        }
        replaced_text.push_str(&source[start..end]);
        replaced_text.push('\n');
        needed.extend(step.rules[r].imports.iter().map(String::as_str));
        edits.push(TextEdit::new(start, end, text));
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let count = edits.len();
    let mut after = apply_text_edits(path, &source, edits)?;
    let support = step.language.support();
    for import in &needed {
        after = support.add_import(path, &after, import)?;
    }
    after = support.remove_unused_imports(path, &source, &after, &replaced_text)?;
    Ok(Some((
        FileChange {
            path: path.to_string(),
            before: Some(source),
            after: Some(after),
        },
        count,
        notes,
    )))
}
