//! `move`: a Python module or package to a new dotted path, or a Go package to a new import
//! path in the same module, with every import of it updated.
//!
//! Python: the files move (new packages get an `__init__.py` when the old ones had one);
//! absolute imports of the module are rewritten, relative ones that reached it become
//! absolute, the moved files' own relative imports become absolute (their package changed),
//! and attribute chains through a plain `import old.path` follow. Go: the files move, import
//! paths are rewritten, and when the last path element changes the package clause is renamed
//! and importers' qualifiers (`store.X` → `storage.X`) follow.
//!
//! A move is one batch: importers cannot keep building against a module that is gone.

use std::collections::{BTreeMap, BTreeSet};

use crate::edit::{ChangeSet, FileChange, TextEdit, apply_text_edits};
use crate::facts::{FileFacts, ImportKind};
use crate::graph::Graph;
use crate::lang::Language;
use crate::recipe::MoveStep;

use super::imports::go_local_name;
use super::{BatchInput, RuleContext, RuleError, Transformed, read};
use crate::lang::python::from_base;

pub(super) fn move_module(
    ctx: &RuleContext<'_>,
    step: &MoveStep,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RuleError> {
    let from = step.from.value.as_str();
    let to = step.to.value.as_str();
    let language = ctx
        .graph
        .files
        .iter()
        .find(|f| f.module.as_deref() == Some(from))
        .map(|f| f.language)
        .ok_or_else(|| RuleError::Stale(format!("`{from}` is no longer in the repository")))?;
    let changes = match language {
        Language::Python => move_python(ctx, from, to, batch)?,
        Language::Go => move_go(ctx, from, to, batch)?,
    };
    let moved = changes.changes.iter().filter(|c| c.after.is_none()).count();
    let updated = changes
        .changes
        .iter()
        .filter(|c| c.before.is_some() && c.after.is_some())
        .count();
    Ok(Transformed {
        summary: format!(
            "Move `{from}` to `{to}`: {moved} file{} moved, {updated} importer{} updated.",
            if moved == 1 { "" } else { "s" },
            if updated == 1 { "" } else { "s" }
        ),
        changes,
        notes: Vec::new(),
    })
}

/// `old` with the `from` prefix replaced by `to`, if it is `from` or inside it.
fn remap(module: &str, from: &str, to: &str) -> Option<String> {
    if module == from {
        Some(to.to_string())
    } else {
        module
            .strip_prefix(from)
            .filter(|rest| rest.starts_with('.') || rest.starts_with('/'))
            .map(|rest| format!("{to}{rest}"))
    }
}

fn move_python(
    ctx: &RuleContext<'_>,
    from: &str,
    to: &str,
    batch: &BatchInput<'_>,
) -> Result<ChangeSet, RuleError> {
    let graph = ctx.graph;
    // Moved files: old path → new path.
    let mut moves: BTreeMap<String, String> = BTreeMap::new();
    for f in &graph.files {
        let Some(module) = f.module.as_deref() else {
            continue;
        };
        let Some(new_module) = remap(module, from, to) else {
            continue;
        };
        if f.language != Language::Python {
            continue;
        }
        let rel_old = module.replace('.', "/");
        let suffix = if f.path.ends_with("__init__.py") {
            "/__init__.py"
        } else if f.path.ends_with(".pyi") {
            ".pyi"
        } else {
            ".py"
        };
        let stem = format!("{rel_old}{suffix}");
        let prefix = f.path.strip_suffix(&stem).unwrap_or("");
        moves.insert(
            f.path.clone(),
            format!("{prefix}{}{suffix}", new_module.replace('.', "/")),
        );
    }
    let mut out = ChangeSet::default();
    for path in batch.files {
        let Some(fid) = graph.file_id(path) else {
            continue;
        };
        let source = read(ctx, path)?;
        let facts = &graph.facts[fid];
        let module = graph.files[fid].module.clone().unwrap_or_default();
        let is_package = path.ends_with("__init__.py");
        let is_moved = moves.contains_key(path);
        let mut edits = Vec::new();
        for imp in &facts.imports {
            let (s, e) = (imp.span.start as usize, imp.span.end as usize);
            let stmt = &source[s..e];
            match &imp.kind {
                ImportKind::Module { module: m, alias } => {
                    if let Some(new) = remap(m, from, to) {
                        let at = stmt.find(m.as_str()).map(|i| s + i).unwrap_or(s);
                        edits.push(TextEdit::new(at, at + m.len(), new));
                        if alias.is_none() {
                            edits.extend(attribute_chains(facts, m, &remap_or(m, from, to)));
                        }
                    }
                }
                ImportKind::From {
                    level,
                    module: m,
                    names,
                    star,
                } => {
                    // The module the statement imports from, as the resolver computes it.
                    let Some(absolute) = from_base(&module, is_package, *level, m) else {
                        continue;
                    };
                    // Where the module text sits in the statement (after `from` and dots).
                    let written = imp.text.as_str();
                    let module_at = stmt
                        .find(written)
                        .map(|i| s + i)
                        .unwrap_or(s + "from ".len());
                    let module_range = module_at..module_at + written.len();
                    if let Some(new) = remap(&absolute, from, to) {
                        edits.push(TextEdit::new(module_range.start, module_range.end, new));
                        continue;
                    }
                    // `from package import moved_module [as x]`.
                    let moved_names: Vec<_> = names
                        .iter()
                        .filter(|n| {
                            !*star && remap(&format!("{absolute}.{}", n.name), from, to).is_some()
                        })
                        .collect();
                    if !moved_names.is_empty() {
                        let (new_parent, new_last) = to.rsplit_once('.').unwrap_or(("", to));
                        if moved_names.len() == names.len() && names.len() == 1 {
                            let n = moved_names[0];
                            edits.push(TextEdit::new(
                                module_range.start,
                                module_range.end,
                                new_parent.to_string(),
                            ));
                            let bound = n.alias.clone().unwrap_or(n.name.clone());
                            let text = if bound == new_last || n.alias.is_some() {
                                new_last.to_string()
                            } else {
                                format!("{new_last} as {bound}")
                            };
                            edits.push(TextEdit::new(
                                n.span.start as usize,
                                n.span.end as usize,
                                text,
                            ));
                        } else {
                            // Split: drop the moved names from this import, import them from
                            // their new place on the next line.
                            let line_start = source[..s].rfind('\n').map(|i| i + 1).unwrap_or(0);
                            let indent: String = source[line_start..s]
                                .chars()
                                .take_while(|c| c.is_whitespace())
                                .collect();
                            let mut added = String::new();
                            for n in &moved_names {
                                let idx = names.iter().position(|x| x.span == n.span).unwrap_or(0);
                                let item_end = |k: usize| {
                                    let x = &names[k];
                                    let end = x.span.end as usize;
                                    match &x.alias {
                                        Some(a) => source[end..]
                                            .find(a.as_str())
                                            .map(|i| end + i + a.len())
                                            .unwrap_or(end),
                                        None => end,
                                    }
                                };
                                let range = if idx + 1 < names.len() {
                                    n.span.start as usize..names[idx + 1].span.start as usize
                                } else if idx > 0 {
                                    item_end(idx - 1)..item_end(idx)
                                } else {
                                    n.span.start as usize..item_end(idx)
                                };
                                edits.push(TextEdit::new(range.start, range.end, ""));
                                let bound = n.alias.clone().unwrap_or(n.name.clone());
                                let name = if bound == new_last {
                                    new_last.to_string()
                                } else {
                                    format!("{new_last} as {bound}")
                                };
                                added.push_str(&format!(
                                    "\n{indent}from {new_parent} import {name}"
                                ));
                            }
                            edits.push(TextEdit::new(e, e, added));
                        }
                        continue;
                    }
                    // The moved file's own relative imports: its package changes, so they
                    // become absolute.
                    // (`written` includes the leading dots.)
                    if is_moved && *level > 0 && !absolute.is_empty() {
                        edits.push(TextEdit::new(
                            module_range.start,
                            module_range.end,
                            absolute,
                        ));
                    }
                }
                ImportKind::Dynamic { module: Some(m) } => {
                    if let Some(new) = remap(m, from, to)
                        && let Some(i) = stmt.find(m.as_str())
                    {
                        edits.push(TextEdit::new(s + i, s + i + m.len(), new));
                    }
                }
                _ => {}
            }
        }
        let after = apply_text_edits(path, &source, edits)?;
        match moves.get(path) {
            Some(new_path) => {
                out.changes.push(FileChange {
                    path: path.clone(),
                    before: Some(source),
                    after: None,
                });
                out.changes.push(FileChange {
                    path: new_path.clone(),
                    before: None,
                    after: Some(after),
                });
            }
            None => out.changes.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: Some(after),
            }),
        }
    }
    // New package folders get an `__init__.py` when the module's old package had one.
    let old_parent_init = moves.keys().next().and_then(|p| {
        let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        graph.file_id(&format!("{dir}/__init__.py"))
    });
    if old_parent_init.is_some() {
        let created: BTreeSet<String> = moves.values().cloned().collect();
        let mut inits = BTreeSet::new();
        for new_path in moves.values() {
            let mut dir = new_path.rsplit_once('/').map(|(d, _)| d);
            while let Some(d) = dir.filter(|d| !d.is_empty()) {
                if ctx.root.join(d).is_dir() {
                    break;
                }
                let init = format!("{d}/__init__.py");
                if !created.contains(&init) {
                    inits.insert(init);
                }
                dir = d.rsplit_once('/').map(|(p, _)| p);
            }
        }
        for init in inits {
            out.changes.push(FileChange {
                path: init,
                before: None,
                after: Some(String::new()),
            });
        }
    }
    Ok(out)
}

fn remap_or(module: &str, from: &str, to: &str) -> String {
    remap(module, from, to).unwrap_or_else(|| module.to_string())
}

/// `old.module.name` attribute chains in code after `import old.module` become `new.module.name`.
fn attribute_chains(facts: &FileFacts, imported: &str, new: &str) -> Vec<TextEdit> {
    let parts: Vec<&str> = imported.split('.').collect();
    facts
        .references
        .iter()
        .filter(|r| {
            r.segments.len() > parts.len()
                && r.segments.iter().zip(&parts).all(|(s, p)| s.name == *p)
        })
        .map(|r| {
            TextEdit::new(
                r.segments[0].span.start as usize,
                r.segments[parts.len() - 1].span.end as usize,
                new.to_string(),
            )
        })
        .collect()
}

fn move_go(
    ctx: &RuleContext<'_>,
    from: &str,
    to: &str,
    batch: &BatchInput<'_>,
) -> Result<ChangeSet, RuleError> {
    let graph: &Graph = ctx.graph;
    let moved: Vec<usize> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.language == Language::Go && f.module.as_deref() == Some(from))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = moved.first() else {
        return Err(RuleError::Stale(format!("no Go package `{from}`")));
    };
    let old_dir = graph.files[first]
        .path
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default();
    // The module root folder and path: old_dir ends with the package's path inside the module.
    let (mut module_dir, mut module_path) = (old_dir.clone(), from.to_string());
    loop {
        if ctx.root.join(&module_dir).join("go.mod").is_file() {
            break;
        }
        let (Some((d, _)), Some((p, _))) =
            (module_dir.rsplit_once('/'), module_path.rsplit_once('/'))
        else {
            if module_dir.is_empty() || !module_dir.contains('/') {
                module_dir = String::new();
                module_path = module_path
                    .rsplit_once('/')
                    .map(|(p, _)| p.to_string())
                    .unwrap_or_default();
            }
            break;
        };
        module_dir = d.to_string();
        module_path = p.to_string();
    }
    let Some(rel_new) = to
        .strip_prefix(&module_path)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Err(RuleError::Unsupported(format!(
            "`{to}` is not inside the module `{module_path}`; moving a package to another module is not supported"
        )));
    };
    let new_dir = if module_dir.is_empty() {
        rel_new.to_string()
    } else {
        format!("{module_dir}/{rel_new}")
    };
    let old_name = graph.facts[first]
        .package_name
        .clone()
        .unwrap_or_else(|| go_local_name(from, None));
    let new_last = go_local_name(to, None);
    let rename_package = old_name == go_local_name(from, None) && new_last != old_name;

    let mut out = ChangeSet::default();
    for path in batch.files {
        let Some(fid) = graph.file_id(path) else {
            continue;
        };
        let source = read(ctx, path)?;
        let facts = &graph.facts[fid];
        let mut edits = Vec::new();
        for imp in &facts.imports {
            let ImportKind::Package { path: ipath, alias } = &imp.kind else {
                continue;
            };
            if ipath != from {
                continue;
            }
            let (s, e) = (imp.span.start as usize, imp.span.end as usize);
            if let Some(i) = source[s..e].find(&format!("\"{from}\"")) {
                edits.push(TextEdit::new(s + i + 1, s + i + 1 + from.len(), to));
            }
            if rename_package && alias.is_none() {
                for r in &facts.references {
                    if r.segments.len() > 1 && r.segments[0].name == old_name {
                        let sp = &r.segments[0].span;
                        edits.push(TextEdit::new(
                            sp.start as usize,
                            sp.end as usize,
                            new_last.clone(),
                        ));
                    }
                }
            }
        }
        let is_moved = moved.contains(&fid);
        if is_moved && rename_package {
            let tree = crate::lang::parse(Language::Go, source.as_bytes())?;
            let mut cursor = tree.root_node().walk();
            for n in tree.root_node().named_children(&mut cursor) {
                if n.kind() == "package_clause"
                    && let Some(id) = n.named_child(0)
                {
                    let name = &source[id.byte_range()];
                    let new_name = if name == format!("{old_name}_test") {
                        format!("{new_last}_test")
                    } else if name == old_name {
                        new_last.clone()
                    } else {
                        continue;
                    };
                    edits.push(TextEdit::new(id.start_byte(), id.end_byte(), new_name));
                }
            }
        }
        // An external test package in the moved folder imports the package by its old path
        // and qualifies with the old name: handled above like any importer.
        let after = apply_text_edits(path, &source, edits)?;
        if is_moved {
            let file_name = path.rsplit_once('/').map(|(_, f)| f).unwrap_or(path);
            out.changes.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: None,
            });
            out.changes.push(FileChange {
                path: format!("{new_dir}/{file_name}"),
                before: None,
                after: Some(after),
            });
        } else {
            out.changes.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: Some(after),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remap_only_inside_the_moved_module() {
        assert_eq!(remap("a.b", "a.b", "c.d").as_deref(), Some("c.d"));
        assert_eq!(remap("a.b.x", "a.b", "c.d").as_deref(), Some("c.d.x"));
        assert_eq!(remap("a.bc", "a.b", "c.d"), None);
        assert_eq!(
            remap("example.com/m/x/y", "example.com/m/x", "example.com/m/z").as_deref(),
            Some("example.com/m/z/y")
        );
    }
}
