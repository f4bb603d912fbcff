//! Adding and removing imports the way a person (or gofmt / isort) would lay them out: a Go
//! standard-library import joins the standard-library group of the import block in sorted
//! position, another import the last group; a Python `from m import n` joins an existing
//! `from m import …` line, or becomes a new line after the last module-level import.
//!
//! Each function takes a file's text and returns the new text (unchanged when nothing is
//! needed), so they compose.

use tree_sitter::Node;

use crate::edit::{TextEdit, apply_text_edits};
use crate::facts::{ImportContext, ImportKind};
use crate::lang::{self, Language};

use super::RuleError;

/// A Go import spec: its path, local name (alias), byte range and line range.
struct GoSpec {
    path: String,
    alias: Option<String>,
    /// The spec's line, from its first byte to just after its newline.
    line: std::ops::Range<usize>,
    start: usize,
}

fn line_range(source: &str, start: usize, end: usize) -> std::ops::Range<usize> {
    let line_start = source[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = source[end..]
        .find('\n')
        .map(|i| end + i + 1)
        .unwrap_or(source.len());
    line_start..line_end
}

fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

fn is_std(path: &str) -> bool {
    !path.split('/').next().unwrap_or("").contains('.')
}

/// The local name a Go import is used under (alias, or the last path element without a
/// `.vN` / `go-` decoration).
pub(super) fn go_local_name(path: &str, alias: Option<&str>) -> String {
    if let Some(a) = alias {
        return a.to_string();
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    let last =
        if last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit())
        {
            path.rsplit('/').nth(1).unwrap_or(last)
        } else {
            last
        };
    last.trim_start_matches("go-")
        .split('.')
        .next()
        .unwrap_or(last)
        .to_string()
}

/// A Go file's import specs, its import declarations' ranges, and where the package clause
/// ends.
type GoImports = (Vec<GoSpec>, Vec<std::ops::Range<usize>>, Option<usize>);

fn go_specs(source: &str) -> Result<GoImports, RuleError> {
    let tree = lang::parse(Language::Go, source.as_bytes())?;
    let root = tree.root_node();
    let mut specs = Vec::new();
    let mut decls = Vec::new();
    let mut package_end = None;
    let mut cursor = root.walk();
    for decl in root.named_children(&mut cursor) {
        match decl.kind() {
            "package_clause" => package_end = Some(decl.end_byte()),
            "import_declaration" => {
                decls.push(decl.byte_range());
                let mut stack = vec![decl];
                while let Some(n) = stack.pop() {
                    if n.kind() == "import_spec" {
                        let path = n
                            .child_by_field_name("path")
                            .map(|p| text(p, source).trim_matches(['"', '`']).to_string())
                            .unwrap_or_default();
                        let alias = n
                            .child_by_field_name("name")
                            .map(|a| text(a, source).to_string());
                        specs.push(GoSpec {
                            path,
                            alias,
                            line: line_range(source, n.start_byte(), n.end_byte()),
                            start: n.start_byte(),
                        });
                        continue;
                    }
                    let mut c = n.walk();
                    stack.extend(n.named_children(&mut c));
                }
            }
            _ => {}
        }
    }
    specs.sort_by_key(|s| s.start);
    Ok((specs, decls, package_end))
}

/// Add `import "path"` to a Go file unless it is already imported.
pub(super) fn go_add_import(path: &str, source: &str, import: &str) -> Result<String, RuleError> {
    let (specs, decls, package_end) = go_specs(source)?;
    if specs.iter().any(|s| s.path == import && s.alias.is_none()) {
        return Ok(source.to_string());
    }
    // Specs inside a parenthesised block, grouped by blank lines.
    let block = decls.iter().find(|d| {
        source[(*d).clone()]
            .trim_start_matches("import")
            .trim_start()
            .starts_with('(')
    });
    let edit = if let Some(block) = block {
        let in_block: Vec<&GoSpec> = specs
            .iter()
            .filter(|s| s.start >= block.start && s.start < block.end)
            .collect();
        let mut groups: Vec<Vec<&GoSpec>> = Vec::new();
        for s in in_block {
            // A blank (or comment) line between two specs starts a new group.
            let new_group = groups
                .last()
                .and_then(|g| g.last())
                .is_none_or(|prev| prev.line.end != s.line.start);
            if new_group {
                groups.push(vec![s]);
            } else if let Some(g) = groups.last_mut() {
                g.push(s);
            }
        }
        let std = is_std(import);
        let group = if std {
            groups.iter().find(|g| g.iter().all(|s| is_std(&s.path)))
        } else {
            groups
                .iter()
                .rev()
                .find(|g| g.iter().any(|s| !is_std(&s.path)))
        };
        match group {
            Some(g) => {
                let indent: String = source[g[0].line.clone()]
                    .chars()
                    .take_while(|c| c.is_whitespace() && *c != '\n')
                    .collect();
                let line = format!("{indent}\"{import}\"\n");
                match g.iter().find(|s| s.path.as_str() > import) {
                    Some(next) => TextEdit::new(next.line.start, next.line.start, line),
                    None => {
                        let last = g.last().expect("groups are never empty");
                        TextEdit::new(last.line.end, last.line.end, line)
                    }
                }
            }
            None => {
                // A new group: standard library first, others last.
                let close = block.end - 1;
                let open = source[block.clone()].find('(').map(|i| block.start + i + 1);
                match (std, open) {
                    (true, Some(open)) => TextEdit::new(open, open, format!("\n\t\"{import}\"\n")),
                    _ => {
                        let at = source[..close].rfind('\n').map(|i| i + 1).unwrap_or(close);
                        TextEdit::new(at, at, format!("\n\t\"{import}\"\n"))
                    }
                }
            }
        }
    } else if let Some(last) = decls.last() {
        TextEdit::new(last.end, last.end, format!("\nimport \"{import}\""))
    } else {
        let at = package_end.unwrap_or(0);
        TextEdit::new(at, at, format!("\n\nimport \"{import}\""))
    };
    Ok(apply_text_edits(path, source, vec![edit])?)
}

/// Remove a Go import (and its declaration when it was the only one in it).
pub(super) fn go_remove_import(
    path: &str,
    source: &str,
    import: &str,
) -> Result<String, RuleError> {
    let (specs, decls, _) = go_specs(source)?;
    let Some(spec) = specs.iter().find(|s| s.path == import) else {
        return Ok(source.to_string());
    };
    let decl = decls
        .iter()
        .find(|d| spec.start >= d.start && spec.start < d.end)
        .cloned()
        .unwrap_or(spec.line.clone());
    let siblings = specs
        .iter()
        .filter(|s| s.start >= decl.start && s.start < decl.end)
        .count();
    let mut range = if siblings == 1 {
        line_range(source, decl.start, decl.end)
    } else {
        spec.line.clone()
    };
    // Do not leave two blank lines, or a blank line right after `(` / before `)`.
    let before_blank =
        source[..range.start].ends_with("\n\n") || source[..range.start].ends_with("(\n");
    let after = &source[range.end..];
    let after_blank = after.starts_with('\n') || after.trim_start().starts_with(')');
    if before_blank && after.starts_with('\n') {
        range.end += 1;
    } else if source[..range.start].ends_with("\n\n") && after_blank {
        range.start -= 1;
    }
    Ok(apply_text_edits(
        path,
        source,
        vec![TextEdit::new(range.start, range.end, "")],
    )?)
}

/// Add a Python import statement (`import m` or `from m import a, b`) unless every name it
/// binds is already imported at module level.
pub(super) fn python_add_import(path: &str, source: &str, stmt: &str) -> Result<String, RuleError> {
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
        return insert_python_import_line(path, source, &facts, &line);
    }
    if let Some(module) = stmt.strip_prefix("import ") {
        let module = module.trim();
        let present = module_level.iter().any(
            |i| matches!(&i.kind, ImportKind::Module { module: m, alias: None } if m == module),
        );
        if present {
            return Ok(source.to_string());
        }
        return insert_python_import_line(path, source, &facts, &format!("import {module}\n"));
    }
    Ok(source.to_string())
}

/// The names a Python file binds by module-level imports, with what removing each takes:
/// (bound name, statement range, name item range, number of names in the statement).
struct PythonBinding {
    name: String,
    statement: std::ops::Range<usize>,
    item: std::ops::Range<usize>,
    siblings: usize,
    index: usize,
}

fn python_bindings(source: &str, facts: &crate::facts::FileFacts) -> Vec<PythonBinding> {
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
                    out.push(PythonBinding {
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
                    out.push(PythonBinding {
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
pub(super) fn python_remove_unused(
    path: &str,
    source: &str,
    name: &str,
) -> Result<String, RuleError> {
    let facts = lang::extract_facts(Language::Python, path, source.as_bytes())?;
    let bindings = python_bindings(source, &facts);
    let Some(b) = bindings.iter().find(|b| b.name == name) else {
        return Ok(source.to_string());
    };
    // Used means mentioned anywhere outside the import statements, as a whole word: that
    // includes every reference, and errs on keeping an import a comment or string names.
    let in_imports = |at: usize| bindings.iter().any(|o| o.statement.contains(&at));
    if super::word_occurrences(source, 0..source.len(), name)
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
fn insert_python_import_line(
    path: &str,
    source: &str,
    facts: &crate::facts::FileFacts,
    line: &str,
) -> Result<String, RuleError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_import_joins_the_std_group_in_order() {
        let src = "package a\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\n\t\"example.com/x\"\n)\n";
        let out = go_add_import("a.go", src, "os").expect("add");
        assert_eq!(
            out,
            "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n\n\t\"example.com/x\"\n)\n"
        );
        assert_eq!(go_add_import("a.go", &out, "os").expect("again"), out);
        let out = go_remove_import("a.go", &out, "strings").expect("remove");
        assert_eq!(
            out,
            "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"example.com/x\"\n)\n"
        );
    }

    #[test]
    fn go_import_into_single_and_missing_declarations() {
        let src = "package a\n\nimport \"fmt\"\n\nfunc f() {}\n";
        let out = go_add_import("a.go", src, "os").expect("add");
        assert_eq!(
            out,
            "package a\n\nimport \"fmt\"\nimport \"os\"\n\nfunc f() {}\n"
        );
        let out = go_remove_import("a.go", &out, "fmt").expect("remove");
        assert_eq!(out, "package a\n\nimport \"os\"\n\nfunc f() {}\n");
        let src = "package a\n\nfunc f() {}\n";
        let out = go_add_import("a.go", src, "os").expect("add");
        assert_eq!(out, "package a\n\nimport \"os\"\n\nfunc f() {}\n");
    }

    #[test]
    fn go_removing_the_last_of_a_group_keeps_one_blank_line() {
        let src = "package a\n\nimport (\n\t\"io/ioutil\"\n\n\t\"example.com/x\"\n)\n";
        let out = go_remove_import("a.go", src, "io/ioutil").expect("remove");
        assert_eq!(out, "package a\n\nimport (\n\t\"example.com/x\"\n)\n");
    }

    #[test]
    fn python_unused_imports_are_removed() {
        let src = "import time\nfrom os import path, sep\n\nx = sep\n";
        let out = python_remove_unused("a.py", src, "time").expect("remove");
        assert_eq!(out, "from os import path, sep\n\nx = sep\n");
        let out = python_remove_unused("a.py", &out, "path").expect("remove");
        assert_eq!(out, "from os import sep\n\nx = sep\n");
        assert_eq!(
            python_remove_unused("a.py", &out, "sep").expect("kept"),
            out,
            "still used"
        );
        let src = "from os import sep, path\n\nx = sep\n";
        let out = python_remove_unused("a.py", src, "path").expect("remove");
        assert_eq!(out, "from os import sep\n\nx = sep\n");
    }

    #[test]
    fn python_import_joins_an_existing_from_line() {
        let src = "\"\"\"Doc.\"\"\"\nfrom datetime import datetime, timedelta\n\nx = 1\n";
        let out = python_add_import("a.py", src, "from datetime import timezone").expect("add");
        assert_eq!(
            out,
            "\"\"\"Doc.\"\"\"\nfrom datetime import datetime, timedelta, timezone\n\nx = 1\n"
        );
        assert_eq!(
            python_add_import("a.py", &out, "from datetime import timezone").expect("again"),
            out
        );
        let src = "import os\n\nx = 1\n";
        let out = python_add_import("a.py", src, "from datetime import timezone").expect("add");
        assert_eq!(out, "import os\nfrom datetime import timezone\n\nx = 1\n");
        let src = "\"\"\"Doc.\"\"\"\n\nx = 1\n";
        let out = python_add_import("a.py", src, "import os").expect("add");
        assert_eq!(out, "\"\"\"Doc.\"\"\"\nimport os\n\nx = 1\n");
        let src = "from m import (\n    a,\n    b,\n)\n";
        let out = python_add_import("a.py", src, "from m import c").expect("add");
        assert_eq!(out, "from m import (\n    a,\n    b,\n    c,\n)\n");
    }
}
