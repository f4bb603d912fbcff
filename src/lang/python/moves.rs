//! Moving a Python module or package to a new dotted path: the files move (new packages get an
//! `__init__.py` when the old ones had one); absolute imports of the module are rewritten,
//! relative ones that reached it become absolute, the moved files' own relative imports become
//! absolute (their package changed), and attribute chains through a plain `import old.path`
//! follow.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::resolve::from_base;
use crate::change::{FileChange, TextEdit, apply_text_edits};
use crate::lang::facts::{FileFacts, ImportKind};
use crate::lang::shared::remap;
use crate::lang::{ModuleFile, ModuleMove, RewriteError};

/// Move a Python module or package: its files move, and every import of it is rewritten.
pub(super) fn move_module(request: &ModuleMove<'_>) -> Result<Vec<FileChange>, RewriteError> {
    let (from, to) = (request.from, request.to);
    let by_path: HashMap<&str, &ModuleFile<'_>> =
        request.files.iter().map(|f| (f.path, f)).collect();
    // Moved files: old path → new path.
    let mut moves: BTreeMap<String, String> = BTreeMap::new();
    for f in request.files {
        let Some(module) = f.module else {
            continue;
        };
        let Some(new_module) = remap(module, from, to) else {
            continue;
        };
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
            f.path.to_string(),
            format!("{prefix}{}{suffix}", new_module.replace('.', "/")),
        );
    }
    let mut out = Vec::new();
    for path in request.batch {
        let Some(file) = by_path.get(path.as_str()) else {
            continue;
        };
        let source = (request.read)(path)?;
        let facts = file.facts;
        let module = file.module.unwrap_or_default().to_string();
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
                out.push(FileChange {
                    path: path.clone(),
                    before: Some(source),
                    after: None,
                });
                out.push(FileChange {
                    path: new_path.clone(),
                    before: None,
                    after: Some(after),
                });
            }
            None => out.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: Some(after),
            }),
        }
    }
    // New package folders get an `__init__.py` when the module's old package had one.
    let old_parent_init = moves.keys().next().and_then(|p| {
        let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        by_path.get(format!("{dir}/__init__.py").as_str())
    });
    if old_parent_init.is_some() {
        let created: BTreeSet<String> = moves.values().cloned().collect();
        let mut inits = BTreeSet::new();
        for new_path in moves.values() {
            let mut dir = new_path.rsplit_once('/').map(|(d, _)| d);
            while let Some(d) = dir.filter(|d| !d.is_empty()) {
                if request.root.join(d).is_dir() {
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
            out.push(FileChange {
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
