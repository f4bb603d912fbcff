//! `rewrite`: every match of a step's queries in the batch's files is replaced by its template,
//! then imports are fixed: the ones a rule says its replacement needs are added where missing,
//! and a Go import whose package the rewrite stopped using is removed.
//!
//! Matches that overlap an earlier one (same rule or another) are skipped and reported: the
//! first match in file order wins, so the result never depends on rule order within a place.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::edit::{ChangeSet, FileChange, TextEdit, apply_text_edits};
use crate::facts::ImportKind;
use crate::lang::{self, Language};
use crate::recipe::{RewriteStep, TemplatePart};

use super::imports::{
    go_add_import, go_local_name, go_remove_import, python_add_import, python_remove_unused,
};
use super::{BatchInput, RuleContext, RuleError, Transformed, read};

pub(super) fn rewrite(
    ctx: &RuleContext<'_>,
    step: &RewriteStep,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RuleError> {
    // Files are independent: rewrite them in parallel, keep the batch's (path) order.
    let per_file: Vec<Option<(FileChange, usize, Vec<String>)>> = batch
        .files
        .par_iter()
        .map(|path| rewrite_file(ctx, step, path))
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
    })
}

/// One file's rewrite: its change, how many places changed, and notes; `None` when nothing
/// matched.
fn rewrite_file(
    ctx: &RuleContext<'_>,
    step: &RewriteStep,
    path: &str,
) -> Result<Option<(FileChange, usize, Vec<String>)>, RuleError> {
    let source = read(ctx, path)?;
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
    match step.language {
        Language::Go => {
            for import in &needed {
                after = go_add_import(path, &after, import)?;
            }
            // Imports whose name the replaced code used and the new code no longer does.
            let facts = lang::extract_facts(Language::Go, path, source.as_bytes())?;
            for i in &facts.imports {
                let ImportKind::Package { path: ipath, alias } = &i.kind else {
                    continue;
                };
                if matches!(alias.as_deref(), Some("_") | Some(".")) {
                    continue;
                }
                let name = go_local_name(ipath, alias.as_deref());
                let used_before = replaced_text.contains(&format!("{name}."));
                if used_before && !lang::go_uses_package(&after, &name)? {
                    after = go_remove_import(path, &after, ipath)?;
                }
            }
        }
        Language::Python => {
            for import in &needed {
                after = python_add_import(path, &after, import)?;
            }
            // Names the replaced code used and the new code no longer does.
            let facts = lang::extract_facts(Language::Python, path, source.as_bytes())?;
            let mut names: Vec<String> = Vec::new();
            names.extend(facts.imports.iter().filter_map(|i| match &i.kind {
                ImportKind::Module { module, alias } => {
                    Some(
                        alias.clone().unwrap_or_else(|| {
                            module.split('.').next().unwrap_or(module).to_string()
                        }),
                    )
                }
                _ => None,
            }));
            names.extend(facts.imports.iter().flat_map(|i| {
                match &i.kind {
                    ImportKind::From { names, .. } => names
                        .iter()
                        .map(|n| n.alias.clone().unwrap_or_else(|| n.name.clone()))
                        .collect(),
                    _ => Vec::new(),
                }
            }));
            names.sort();
            names.dedup();
            for name in names {
                let used_before =
                    super::word_occurrences(&replaced_text, 0..replaced_text.len(), &name)
                        .into_iter()
                        .next()
                        .is_some();
                if used_before {
                    after = python_remove_unused(path, &after, &name)?;
                }
            }
        }
    }
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
