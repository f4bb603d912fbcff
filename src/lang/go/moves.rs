//! Moving a Go package to a new import path in the same module: the files move, import paths
//! are rewritten, and when the last path element changes the package clause is renamed and
//! importers' qualifiers (`store.X` → `storage.X`) follow.

use std::collections::{HashMap, HashSet};

use super::imports::local_name;
use crate::change::{FileChange, TextEdit, apply_text_edits};
use crate::lang::facts::ImportKind;
use crate::lang::{self, Language, ModuleFile, ModuleMove, RewriteError};

/// Move a Go package: its files move, and every import of it is rewritten.
pub(super) fn move_module(request: &ModuleMove<'_>) -> Result<Vec<FileChange>, RewriteError> {
    let (from, to) = (request.from, request.to);
    let by_path: HashMap<&str, &ModuleFile<'_>> =
        request.files.iter().map(|f| (f.path, f)).collect();
    let moved: HashSet<&str> = request
        .files
        .iter()
        .filter(|f| f.module == Some(from))
        .map(|f| f.path)
        .collect();
    let Some(first) = request.files.iter().find(|f| f.module == Some(from)) else {
        return Err(RewriteError::Stale(format!("no Go package `{from}`")));
    };
    let old_dir = first
        .path
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default();
    // The module root folder and path: old_dir ends with the package's path inside the module.
    let (mut module_dir, mut module_path) = (old_dir.clone(), from.to_string());
    loop {
        if request.root.join(&module_dir).join("go.mod").is_file() {
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
        return Err(RewriteError::Unsupported(format!(
            "`{to}` is not inside the module `{module_path}`; moving a package to another module is not supported"
        )));
    };
    let new_dir = if module_dir.is_empty() {
        rel_new.to_string()
    } else {
        format!("{module_dir}/{rel_new}")
    };
    let old_name = first
        .facts
        .package_name
        .clone()
        .unwrap_or_else(|| local_name(from, None));
    let new_last = local_name(to, None);
    let rename_package = old_name == local_name(from, None) && new_last != old_name;

    let mut out = Vec::new();
    for path in request.batch {
        let Some(file) = by_path.get(path.as_str()) else {
            continue;
        };
        let source = (request.read)(path)?;
        let facts = file.facts;
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
        let is_moved = moved.contains(path.as_str());
        if is_moved && rename_package {
            let tree = lang::parse(Language::Go, source.as_bytes())?;
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
            out.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: None,
            });
            out.push(FileChange {
                path: format!("{new_dir}/{file_name}"),
                before: None,
                after: Some(after),
            });
        } else {
            out.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: Some(after),
            });
        }
    }
    Ok(out)
}
