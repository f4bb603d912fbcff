//! Adding and removing Python imports the way a person (or isort) would: a `from m import n`
//! joins an existing `from m import …` line, or becomes a new line after the last module-level
//! import (after the module docstring when there is none); an import is removed only when
//! nothing in the file mentions its name any more. Each function takes a file's text and
//! returns the new text, so they compose.

use crate::change::{TextEdit, apply_text_edits, word_occurrences};
use crate::lang::facts::{FileFacts, ImportContext, ImportKind};
use crate::lang::shared::line_range;
use crate::lang::{self, Language, RewriteError};

/// Add a Python import statement (`import m` or `from m import a, b`) unless every name it
/// binds is already imported at module level.
pub(crate) fn add_import(path: &str, source: &str, stmt: &str) -> Result<String, RewriteError> {
    let facts = lang::extract_facts(Language::Python, path, source.as_bytes())?;
    let module_level: Vec<_> = facts
        .imports
        .iter()
        .filter(|i| i.context == ImportContext::Module)
        .collect();
    let stmt = stmt.trim();
    if let Some(rest) = stmt.strip_prefix("from ") {
        let (module, names) = rest.split_once(" import ").unwrap_or((rest, ""));
        let module = module.trim();
        let wanted: Vec<&str> = names
            .trim_matches(['(', ')'])
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        let mut missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|w| {
                !module_level.iter().any(|i| match &i.kind {
                    ImportKind::From {
                        level: 0,
                        module: m,
                        names,
                        ..
                    } => m == module && names.iter().any(|n| n.name == *w && n.alias.is_none()),
                    _ => false,
                })
            })
            .collect();
        if missing.is_empty() {
            return Ok(source.to_string());
        }
        missing.dedup();
        // Join an existing `from module import …` line.
        let existing = module_level.iter().find(|i| {
            matches!(&i.kind, ImportKind::From { level: 0, module: m, star: false, .. } if m == module)
        });
        if let Some(i) = existing {
            let (start, end) = (i.span.start as usize, i.span.end as usize);
            let text = &source[start..end];
            let edit = if text.trim_end().ends_with(')') {
                let close = start + text.rfind(')').unwrap_or(text.len());
                let before = source[..close].trim_end_matches([' ', '\t']);
                if before.ends_with('\n') {
                    // Multi-line, one name per line.
                    let indent = "    ";
                    let at = before.len();
                    let add: String = missing.iter().map(|n| format!("{indent}{n},\n")).collect();
                    TextEdit::new(at, at, add)
                } else {
                    let comma = if before.ends_with(',') { " " } else { ", " };
                    let at = before.len();
                    TextEdit::new(at, at, format!("{comma}{}", missing.join(", ")))
                }
            } else {
                TextEdit::new(end, end, format!(", {}", missing.join(", ")))
            };
            return Ok(apply_text_edits(path, source, vec![edit])?);
        }
        let line = format!("from {module} import {}\n", missing.join(", "));
        return insert_import_line(path, source, &facts, &line);
    }
    if let Some(module) = stmt.strip_prefix("import ") {
        let module = module.trim();
        let present = module_level.iter().any(
            |i| matches!(&i.kind, ImportKind::Module { module: m, alias: None } if m == module),
        );
        if present {
            return Ok(source.to_string());
        }
        return insert_import_line(path, source, &facts, &format!("import {module}\n"));
    }
    Ok(source.to_string())
}

/// The names a Python file binds by module-level imports, with what removing each takes:
/// (bound name, statement range, name item range, number of names in the statement).
struct Binding {
    name: String,
    statement: std::ops::Range<usize>,
    item: std::ops::Range<usize>,
    siblings: usize,
    index: usize,
}

fn bindings(source: &str, facts: &FileFacts) -> Vec<Binding> {
    let mut out = Vec::new();
    for i in facts
        .imports
        .iter()
        .filter(|i| i.context == ImportContext::Module)
    {
        match &i.kind {
            ImportKind::From {
                names, star: false, ..
            } => {
                let statement = line_range(source, i.span.start as usize, i.span.end as usize);
                for (k, n) in names.iter().enumerate() {
                    let start = n.span.start as usize;
                    let mut end = n.span.end as usize;
                    if let Some(a) = &n.alias
                        && let Some(p) = source[end..].find(a.as_str())
                    {
                        end += p + a.len();
                    }
                    out.push(Binding {
                        name: n.alias.clone().unwrap_or_else(|| n.name.clone()),
                        statement: statement.clone(),
                        item: start..end,
                        siblings: names.len(),
                        index: k,
                    });
                }
            }
            ImportKind::Module { module, alias } => {
                // `import a.b` binds `a`; `import a.b as c` binds `c`. Only whole-statement
                // removal is attempted for these (one module per statement).
                let bound = alias
                    .clone()
                    .unwrap_or_else(|| module.split('.').next().unwrap_or(module).to_string());
                let statement = line_range(source, i.span.start as usize, i.span.end as usize);
                let text = &source[statement.clone()];
                if text.trim_start().starts_with("import ") && !text.contains(',') {
                    out.push(Binding {
                        name: bound,
                        statement: statement.clone(),
                        item: statement,
                        siblings: 1,
                        index: 0,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Remove the import binding `name` when nothing in the file uses it any more (after a
/// rewrite replaced its last use). A name in `__all__` counts as a use.
pub(crate) fn remove_unused_name(
    path: &str,
    source: &str,
    name: &str,
) -> Result<String, RewriteError> {
    let facts = lang::extract_facts(Language::Python, path, source.as_bytes())?;
    let bindings = bindings(source, &facts);
    let Some(b) = bindings.iter().find(|b| b.name == name) else {
        return Ok(source.to_string());
    };
    // Used means mentioned anywhere outside the import statements, as a whole word: that
    // includes every reference, and errs on keeping an import a comment or string names.
    let in_imports = |at: usize| bindings.iter().any(|o| o.statement.contains(&at));
    if word_occurrences(source, 0..source.len(), name)
        .into_iter()
        .any(|at| !in_imports(at))
    {
        return Ok(source.to_string());
    }
    let edit = if b.siblings == 1 {
        TextEdit::new(b.statement.start, b.statement.end, "")
    } else {
        // Remove the item and one separating comma (the one after it, or before the last).
        let sibling = |k: usize| {
            bindings
                .iter()
                .find(|o| o.statement == b.statement && o.index == k)
        };
        match (
            sibling(b.index + 1),
            b.index.checked_sub(1).and_then(sibling),
        ) {
            (Some(next), _) => TextEdit::new(b.item.start, next.item.start, ""),
            (None, Some(prev)) => TextEdit::new(prev.item.end, b.item.end, ""),
            (None, None) => return Ok(source.to_string()),
        }
    };
    Ok(apply_text_edits(path, source, vec![edit])?)
}

/// Insert a whole import line after the last module-level import, or after the module
/// docstring and `from __future__` imports when there are none.
fn insert_import_line(
    path: &str,
    source: &str,
    facts: &FileFacts,
    line: &str,
) -> Result<String, RewriteError> {
    let last = facts
        .imports
        .iter()
        .filter(|i| i.context == ImportContext::Module)
        .filter(|i| !matches!(i.kind, ImportKind::Dynamic { .. }))
        .map(|i| i.span.end as usize)
        .max();
    let at = match last {
        Some(end) => line_range(source, end, end).end,
        None => {
            // After a module docstring if there is one.
            let tree = lang::parse(Language::Python, source.as_bytes())?;
            let root = tree.root_node();
            let first = root.named_child(0);
            match first {
                Some(n)
                    if n.kind() == "expression_statement"
                        && n.named_child(0).is_some_and(|s| s.kind() == "string") =>
                {
                    line_range(source, n.end_byte(), n.end_byte()).end
                }
                _ => 0,
            }
        }
    };
    let prefix = if at > 0 && !source[..at].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    Ok(apply_text_edits(
        path,
        source,
        vec![TextEdit::new(at, at, format!("{prefix}{line}"))],
    )?)
}

/// Remove the imports whose names the replaced code used and the new code no longer does.
pub(crate) fn remove_unused(
    path: &str,
    before: &str,
    after: &str,
    replaced: &str,
) -> Result<String, RewriteError> {
    let facts = lang::extract_facts(Language::Python, path, before.as_bytes())?;
    let mut names: Vec<String> = Vec::new();
    for i in &facts.imports {
        match &i.kind {
            ImportKind::Module { module, alias } => names.push(
                alias
                    .clone()
                    .unwrap_or_else(|| module.split('.').next().unwrap_or(module).to_string()),
            ),
            ImportKind::From { names: n, .. } => names.extend(
                n.iter()
                    .map(|n| n.alias.clone().unwrap_or_else(|| n.name.clone())),
            ),
            _ => {}
        }
    }
    names.sort();
    names.dedup();
    let mut out = after.to_string();
    for name in names {
        if !word_occurrences(replaced, 0..replaced.len(), &name).is_empty() {
            out = remove_unused_name(path, &out, &name)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_unused_imports_are_removed() {
        let src = "import time\nfrom os import path, sep\n\nx = sep\n";
        let out = remove_unused_name("a.py", src, "time").expect("remove");
        assert_eq!(out, "from os import path, sep\n\nx = sep\n");
        let out = remove_unused_name("a.py", &out, "path").expect("remove");
        assert_eq!(out, "from os import sep\n\nx = sep\n");
        assert_eq!(
            remove_unused_name("a.py", &out, "sep").expect("kept"),
            out,
            "still used"
        );
        let src = "from os import sep, path\n\nx = sep\n";
        let out = remove_unused_name("a.py", src, "path").expect("remove");
        assert_eq!(out, "from os import sep\n\nx = sep\n");
    }

    #[test]
    fn python_import_joins_an_existing_from_line() {
        let src = "\"\"\"Doc.\"\"\"\nfrom datetime import datetime, timedelta\n\nx = 1\n";
        let out = add_import("a.py", src, "from datetime import timezone").expect("add");
        assert_eq!(
            out,
            "\"\"\"Doc.\"\"\"\nfrom datetime import datetime, timedelta, timezone\n\nx = 1\n"
        );
        assert_eq!(
            add_import("a.py", &out, "from datetime import timezone").expect("again"),
            out
        );
        let src = "import os\n\nx = 1\n";
        let out = add_import("a.py", src, "from datetime import timezone").expect("add");
        assert_eq!(out, "import os\nfrom datetime import timezone\n\nx = 1\n");
        let src = "\"\"\"Doc.\"\"\"\n\nx = 1\n";
        let out = add_import("a.py", src, "import os").expect("add");
        assert_eq!(out, "\"\"\"Doc.\"\"\"\nimport os\n\nx = 1\n");
        let src = "from m import (\n    a,\n    b,\n)\n";
        let out = add_import("a.py", src, "from m import c").expect("add");
        assert_eq!(out, "from m import (\n    a,\n    b,\n    c,\n)\n");
    }
}
