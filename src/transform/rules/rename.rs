//! `rename`: the definition and every true reference the graph resolves, nothing else.
//!
//! A place is renamed only if the graph lists it as a reference of the symbol *and* its text is
//! the old name (so an `as` alias, which the graph also lists, keeps its own name). Comments and
//! docstrings are left alone except exact whole-word mentions in the definition's own
//! docstring or doc comment.
//!
//! Expand / migrate / contract: when a rename spans several batches, the first (expand) keeps
//! the old name as a deprecated alias next to the definition, and Python re-exports
//! (`__init__.py` imports, `__all__`) export both names; callers move in the migrate batches;
//! the last batch (contract) removes exactly the text the expand batch added.

use std::collections::BTreeMap;

use crate::change::{
    ChangeSet, FileChange, TextEdit, apply_text_edits, is_whole_word, word_occurrences,
};
use crate::graph::{Graph, SymbolRef};
use crate::lang::facts::{Definition, ImportContext, ImportKind, ReferenceKind};
use crate::lang::{RewriteError, Support};
use crate::plan::Phase;
use crate::recipe::{Public, RenameStep, Unsure};
use crate::scan::View;

use super::{BatchInput, Transformed, read};

pub(super) fn rename(
    view: View<'_>,
    graph: &Graph,
    step: &RenameStep,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RewriteError> {
    let sid = graph.symbol_id(&step.symbol.value).ok_or_else(|| {
        RewriteError::Stale(format!(
            "the symbol `{}` is no longer in the repository",
            step.symbol.value
        ))
    })?;
    let sym = &graph.symbols[sid];
    let def_path = graph.files[sym.file].path.clone();
    let support = graph.files[sym.file].language.support();
    let (old, new) = (sym.name.as_str(), step.to.value.as_str());
    if batch.phase == Some(Phase::Contract) {
        return contract(view, support, &def_path, old, new, batch);
    }
    if batch.phase == Some(Phase::Warn) {
        let mut changes = ChangeSet::default();
        for path in batch.files {
            let source = read(view, path)?;
            let after = if *path == def_path {
                support
                    .warn_alias(&source, sym.kind, old, new)
                    .ok_or_else(|| {
                        RewriteError::Stale(format!(
                            "the deprecated alias `{old}` is no longer where git-ripple put it in {def_path}"
                        ))
                    })?
            } else {
                support.warn_reexport(&source, sym.kind, old, new)
            };
            if after != source {
                changes.changes.push(FileChange {
                    path: path.clone(),
                    before: Some(source),
                    after: Some(after),
                });
            }
        }
        return Ok(Transformed {
            summary: format!(
                "Keep `{old}` for compatibility, warning (DeprecationWarning) when it is used: use `{new}`."
            ),
            changes,
            ..Transformed::default()
        });
    }
    let def = graph
        .definition(sid)
        .ok_or_else(|| RewriteError::Stale(format!("the definition of `{old}` moved")))?;
    let keep_old = batch.phase.is_some();

    // Literals that set a field named after the renamed type (Go embedding).
    let field_uses = graph.embedded_field_uses(sid);
    // The symbol's references, its method family's, the unsure sites the rename settles, and
    // the others when asked.
    let set = graph.rename_set(sid);
    let mut places: Vec<SymbolRef> = set
        .iter()
        .flat_map(|&m| graph.references(m).iter().copied())
        .collect();
    let (settled, open) = graph.unsure_sites_of_set(&set);
    let renamed_sites = if step.unsure == Unsure::Rename {
        settled.into_iter().chain(open).collect()
    } else {
        settled
    };
    places.extend(renamed_sites.into_iter().map(|u| SymbolRef {
        file: u.file,
        span: u.span,
        kind: ReferenceKind::Code,
        via: None,
    }));
    // With `public = "keep"`, uses through a package's re-export keep the old public name.
    let public = graph.public_reexports(sid, step.public == Public::Keep);
    places.retain(|r| !r.keeps_public_name(&public));
    places.sort();
    places.dedup_by(|a, b| a.file == b.file && a.span == b.span);
    // Modules through which files outside this batch reach the symbol keep exporting the old
    // name until the contract batch (`api.get_item` where `api` imported it).
    let in_batch: Vec<usize> = batch
        .files
        .iter()
        .filter_map(|p| graph.file_id(p))
        .collect();
    let paths = graph.access_paths(sid);
    let mut changes = ChangeSet::default();
    let mut renamed = 0;
    let mut wire_tag = false;
    // Mentions outside code the plan put in this batch: exact ones (an entry point), and the
    // rest with `unsure = "rename"`.
    let dotted = graph.dotted_paths(sid);
    let mentions = |path: &str, source: &str, taken: &[TextEdit]| -> Vec<TextEdit> {
        let mut spans: Vec<(usize, usize)> = dotted
            .iter()
            .flat_map(|(symbol, local)| support.outside_mentions(path, source, symbol, local))
            .filter(|m| m.exact || step.unsure == Unsure::Rename)
            .map(|m| (m.span.start as usize, m.span.end as usize))
            .filter(|&(s, e)| source.get(s..e) == Some(old))
            .filter(|&(s, e)| {
                !taken
                    .iter()
                    .any(|t| t.start < e && s < t.end.max(t.start + 1))
            })
            .collect();
        spans.sort_unstable();
        spans.dedup();
        spans
            .into_iter()
            .map(|(s, e)| TextEdit::new(s, e, new))
            .collect()
    };
    for path in batch.files {
        let Some(fid) = graph.file_id(path) else {
            // Documentation or configuration: only its mentions.
            let source = read(view, path)?;
            let edits = mentions(path, &source, &[]);
            if !edits.is_empty() {
                renamed += edits.len();
                let after = apply_text_edits(path, &source, edits)?;
                changes.changes.push(FileChange {
                    path: path.clone(),
                    before: Some(source),
                    after: Some(after),
                });
            }
            continue;
        };
        let source = read(view, path)?;
        // Imported names by where they start: whether they have an alias, and where the alias
        // is when it is the name itself (`import x as x`, the explicit re-export idiom).
        let imported_names: BTreeMap<u32, (bool, Option<(u32, u32)>)> = graph.facts[fid]
            .imports
            .iter()
            .filter_map(|i| match &i.kind {
                ImportKind::From { names, .. } => Some(names),
                _ => None,
            })
            .flatten()
            .map(|n| {
                let idiom = n
                    .alias_span
                    .filter(|_| n.alias.as_deref() == Some(n.name.as_str()))
                    .map(|a| (a.start, a.end));
                (n.span.start, (n.alias.is_some(), idiom))
            })
            .collect();
        // A re-export (a package's own module, an `__all__`, a module other batches reach the
        // symbol through) keeps the old name exported until the contract batch.
        // The defining module's own `__all__` keeps it too (`from m import *` still finds it).
        let public_init = public.contains(&fid);
        let reexports = keep_old
            && !public_init
            && ((*path != def_path && support.is_package_init(path))
                || paths
                    .iter()
                    .any(|&(user, through)| through == fid && !in_batch.contains(&user))
                || graph
                    .references(sid)
                    .iter()
                    .any(|r| r.file == fid && r.kind == ReferenceKind::AllEntry));
        // The second name of an idiom is edited with the first.
        let idiom_aliases: Vec<u32> = imported_names
            .values()
            .filter_map(|&(_, idiom)| idiom.map(|(start, _)| start))
            .collect();
        // The file binds the old name again at module level (`if WIN: from ._win import old`
        // / `else: def old(…)`): its plain import keeps the local name (`new as old`), since
        // the file's uses read whichever binding ran.
        let rebound = places.iter().any(|r| {
            r.file == fid
                && r.kind == ReferenceKind::Import
                && imported_names.get(&r.span.start) == Some(&(false, None))
        }) && graph.facts[fid].definitions.iter().any(|d| {
            d.name == old
                && d.parents.is_empty()
                && !(fid == graph.symbols[sid].file && d.span == def.span)
        });
        let mut edits = Vec::new();
        // The other way round: the defining module also imports the old name from elsewhere
        // (the other platform's implementation); that import binds the new name too.
        if fid == graph.symbols[sid].file && def.parents.is_empty() {
            for n in graph.facts[fid]
                .imports
                .iter()
                .filter(|i| matches!(i.context, ImportContext::Module | ImportContext::Guarded))
                .filter_map(|i| match &i.kind {
                    ImportKind::From { names, .. } => Some(names),
                    _ => None,
                })
                .flatten()
                .filter(|n| n.name == old && n.alias.is_none())
            {
                let (s, e) = (n.span.start as usize, n.span.end as usize);
                if !places.iter().any(|r| r.file == fid && r.span == n.span)
                    && source.get(s..e) == Some(old)
                {
                    edits.push(TextEdit::new(s, e, format!("{old} as {new}")));
                    renamed += 1;
                }
            }
        }
        for r in places.iter().filter(|r| r.file == fid) {
            if r.kind == ReferenceKind::Import && idiom_aliases.contains(&r.span.start) {
                continue;
            }
            if rebound {
                let (s, e) = (r.span.start as usize, r.span.end as usize);
                if r.kind == ReferenceKind::Import
                    && imported_names.get(&r.span.start) == Some(&(false, None))
                    && source.get(s..e) == Some(old)
                {
                    edits.push(TextEdit::new(s, e, format!("{new} as {old}")));
                    renamed += 1;
                }
                continue;
            }
            let (s, e) = (r.span.start as usize, r.span.end as usize);
            if source.get(s..e) != Some(old) {
                // An alias (`import x as y` lists `y`'s uses too) or a stale span.
                continue;
            }
            let imported = (r.kind == ReferenceKind::Import)
                .then(|| imported_names.get(&r.span.start))
                .flatten();
            // A re-export that keeps the public name imports the new one under it.
            if public_init && let Some(&(aliased, idiom)) = imported {
                let end = idiom.map_or(e, |(_, end)| end as usize);
                if !aliased || idiom.is_some() {
                    edits.push(TextEdit::new(s, end, format!("{new} as {old}")));
                } else {
                    edits.push(TextEdit::new(s, e, new));
                }
                renamed += 1;
                continue;
            }
            // `from m import old as old` renames both sides, and re-exports like a plain
            // import.
            if let Some(&(_, Some((_, alias_end)))) = imported {
                let both = format!("{new} as {new}");
                let text = if reexports {
                    format!("{both}, {old} as {old}")
                } else {
                    both
                };
                edits.push(TextEdit::new(s, alias_end as usize, text));
                renamed += 1;
                continue;
            }
            // Only a plain `from m import old` re-exports the name (`import … as alias` exports
            // the alias).
            let reexported =
                reexports && (r.kind != ReferenceKind::Import || imported == Some(&(false, None)));
            let text = reexported
                .then(|| support.reexport_both(r.kind, &source, s..e, old, new))
                .flatten()
                .unwrap_or_else(|| new.to_string());
            edits.push(TextEdit::new(s, e, text));
            renamed += 1;
        }
        // Tests named after the symbol, when the step asks (`rename_tests = true`).
        if step.rename_tests && support.is_test_file(path) {
            for d in &graph.facts[fid].definitions {
                let Some((offset, part)) = support.test_name_part(&d.name, old) else {
                    continue;
                };
                // `TestFetchOrderMissing` is about `FetchOrder` unless a `FetchOrderMissing`
                // exists.
                if part != old && graph.symbols.iter().any(|s| s.name == part) {
                    continue;
                }
                let s = d.span.start as usize + offset;
                if source.get(s..s + old.len()) == Some(old) {
                    edits.push(TextEdit::new(s, s + old.len(), new));
                    renamed += 1;
                }
            }
        }
        for u in field_uses.iter().filter(|u| u.literal_file == fid) {
            for &(s, e) in &u.keys {
                if source.get(s..e) == Some(old) {
                    edits.push(TextEdit::new(s, e, new));
                    renamed += 1;
                }
            }
        }
        // The doc comments of the family's other methods name them too.
        for &member in &set[1..] {
            if graph.symbols[member].file == fid
                && let Some(d) = graph.definition(member)
            {
                edits.extend(doc_mentions(support, d, &source, old, new)?);
            }
        }
        if *path == def_path {
            edits.extend(doc_mentions(support, def, &source, old, new)?);
            if let Some((at, tag)) =
                support.wire_name_tag(&source, def, &graph.package_imports(sym.file), old)
            {
                edits.push(TextEdit::new(at, at, tag));
                wire_tag = true;
            }
            if batch.phase == Some(Phase::Expand) {
                let block = support.alias_block(def, &source, old, new)?;
                let at =
                    after_trailing_comment(&source, def.range.1 as usize, support.line_comment());
                edits.push(TextEdit::new(at, at, block));
            }
        }
        let more = mentions(path, &source, &edits);
        renamed += more.len();
        edits.extend(more);
        if edits.is_empty() {
            continue;
        }
        let after = apply_text_edits(path, &source, edits)?;
        changes.changes.push(FileChange {
            path: path.clone(),
            before: Some(source),
            after: Some(after),
        });
    }
    let files = changes.changes.len();
    let mut summary = format!(
        "Rename `{old}` to `{new}`: {renamed} place{} in {files} file{}.",
        if renamed == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" }
    );
    if wire_tag {
        summary.push_str(&format!(
            " The field is encoded: a tag keeps its wire name `{old}`."
        ));
    }
    match batch.phase {
        Some(Phase::Expand) if step.keep_compat => summary.push_str(&format!(
            " `{old}` stays as a deprecated alias, also after the run (keep_compat)."
        )),
        Some(Phase::Expand) => summary.push_str(&format!(
            " `{old}` stays as a deprecated alias until the last batch of this step."
        )),
        Some(Phase::Migrate) => summary.push_str(" Callers move to the new name."),
        _ => {}
    }
    Ok(Transformed {
        changes,
        summary,
        ..Transformed::default()
    })
}

/// Whole-word mentions of the old name in the definition's own docstring (Python) or doc
/// comment (Go).
fn doc_mentions(
    support: &dyn Support,
    def: &Definition,
    source: &str,
    old: &str,
    new: &str,
) -> Result<Vec<TextEdit>, RewriteError> {
    let range = support.doc_range(def, source)?;
    Ok(range
        .map(|r| {
            word_occurrences(source, r, old)
                .into_iter()
                .map(|at| TextEdit::new(at, at + old.len(), new))
                .collect()
        })
        .unwrap_or_default())
}

/// Remove what the expand batch added: the alias after the definition and the old name kept
/// in re-exports.
fn contract(
    view: View<'_>,
    support: &dyn Support,
    def_path: &str,
    old: &str,
    new: &str,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RewriteError> {
    let mut changes = ChangeSet::default();
    let comment = support.alias_marker(new);
    for path in batch.files {
        let source = read(view, path)?;
        let mut after = source.clone();
        if path == def_path {
            after = remove_alias(&after, &comment, support.line_comment(), old, new).ok_or_else(|| {
                RewriteError::Stale(format!(
                    "the deprecated alias `{old}` is no longer where git-ripple put it in {path}"
                ))
            })?;
            after = support.remove_reexports(&after, old, new);
        } else {
            after = support.remove_reexports(&after, old, new);
            for (kept, keep) in support.reexports_kept(old, new) {
                // Each pattern is what the expand batch wrote where the old name was.
                let keep = keep.as_str();
                let mut out = String::with_capacity(after.len());
                let mut rest = after.as_str();
                while let Some(i) = rest.find(&kept) {
                    let at = after.len() - rest.len() + i;
                    if is_whole_word(&after, at, kept.len()) {
                        out.push_str(&rest[..i]);
                        out.push_str(keep);
                    } else {
                        out.push_str(&rest[..i + kept.len()]);
                    }
                    rest = &rest[i + kept.len()..];
                }
                out.push_str(rest);
                after = out;
            }
        }
        if after != source {
            changes.changes.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: Some(after),
            });
        }
    }
    Ok(Transformed {
        summary: format!("Remove the deprecated alias `{old}`: every caller uses `{new}` now."),
        changes,
        ..Transformed::default()
    })
}

/// Where a definition's line really ends: past a trailing comment (`RETRY_LIMIT = 5  # per
/// request`, `const Max = 5 // per request`), which belongs to the definition, not to the alias
/// inserted after it.
fn after_trailing_comment(source: &str, end: usize, line_comment: &str) -> usize {
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    let rest = source[end..line_end].trim_start();
    if rest.starts_with(line_comment) {
        source[..line_end].trim_end_matches('\r').len()
    } else {
        end
    }
}

/// The source without the alias block (comment line, alias line and the blank lines before
/// them), or `None` when it is not there.
fn remove_alias(
    source: &str,
    comment: &str,
    line_comment: &str,
    old: &str,
    new: &str,
) -> Option<String> {
    if source.contains("\r\n") {
        // Work on `\n` line endings; the caller restores CRLF files.
        return remove_alias(
            &source.replace("\r\n", "\n"),
            comment,
            line_comment,
            old,
            new,
        );
    }
    let mut from = 0;
    while let Some(i) = source[from..].find(comment) {
        let at = from + i;
        from = at + comment.len();
        let line_start = source[..at].rfind('\n').map(|j| j + 1).unwrap_or(0);
        let indent = &source[line_start..at];
        if !indent.chars().all(|c| c == ' ' || c == '\t') {
            continue;
        }
        let rest = &source[at + comment.len()..];
        let Some(next) = rest.strip_prefix('\n') else {
            continue;
        };
        let Some(mut next) = next.strip_prefix(indent) else {
            continue;
        };
        // More lines of the same comment (`//`, `//go:fix inline`), then the alias line.
        let mut skipped = 0;
        while next.starts_with(line_comment) {
            let line = next.find('\n').map_or(next.len(), |n| n + 1);
            let Some(after) = next[line..].strip_prefix(indent) else {
                break;
            };
            skipped += line + indent.len();
            next = after;
        }
        // The alias line: `old = new`, `const Old = New`, … or a one-line forwarding function.
        let alias_line = &next[..next.find('\n').unwrap_or(next.len())];
        let has_word = |w: &str| !word_occurrences(alias_line, 0..alias_line.len(), w).is_empty();
        if !has_word(old) || !has_word(new) {
            continue;
        }
        let end = at + comment.len() + 1 + indent.len() + skipped + alias_line.len();
        // The newlines the expand batch put between the definition's last character and the
        // comment (one to three): the definition itself never ends with a newline.
        let mut start = line_start;
        let mut newlines = 0;
        while newlines < 3 && start > 0 && source.as_bytes()[start - 1] == b'\n' {
            start -= 1;
            newlines += 1;
        }
        let mut out = String::with_capacity(source.len());
        out.push_str(&source[..start]);
        out.push_str(&source[end..]);
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_block_round_trips() {
        let source = "def load_order(x):\n    return x\n\n\ndef other():\n    pass\n";
        let comment = "# Deprecated alias: use load_order.";
        let with_alias = source.replacen(
            "return x",
            &format!("return x\n\n\n{comment}\nfetch_order = load_order"),
            1,
        );
        let back = remove_alias(&with_alias, comment, "#", "fetch_order", "load_order");
        assert_eq!(back.as_deref(), Some(source));
        // More comment lines between the marker and the alias (Go's directive) go with it.
        let go = "func Load() {}\n\n// Deprecated: use Load instead.\n//\n//go:fix inline\nfunc Fetch() { Load() }\n";
        let back = remove_alias(
            go,
            "// Deprecated: use Load instead.",
            "//",
            "Fetch",
            "Load",
        );
        assert_eq!(back.as_deref(), Some("func Load() {}\n"));
        assert_eq!(
            after_trailing_comment("x = 5  # per request\ny", 5, "#"),
            20
        );
        assert_eq!(after_trailing_comment("x = 5 + 1\n", 5, "#"), 5);
    }
}
