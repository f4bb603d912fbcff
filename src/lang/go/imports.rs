//! Adding and removing Go imports the way gofmt and goimports lay them out: a standard-library
//! import joins the standard-library group of the import block in sorted position, another
//! import the last group; removing the last spec of a declaration removes the declaration.
//! Each function takes a file's text and returns the new text (unchanged when nothing is
//! needed), so they compose.

use std::sync::OnceLock;

use tree_sitter::{Node, Query};

use crate::change::{TextEdit, apply_text_edits};
use crate::lang::facts::ImportKind;
use crate::lang::shared::line_range;
use crate::lang::{self, Language, QueryError, RewriteError};

fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// A Go import spec: its path, local name (alias), byte range and line range.
struct GoSpec {
    path: String,
    alias: Option<String>,
    /// The spec's line, from its first byte to just after its newline.
    line: std::ops::Range<usize>,
    start: usize,
}

fn is_std(path: &str) -> bool {
    !path.split('/').next().unwrap_or("").contains('.')
}

/// The local name a Go import is used under (alias, or the last path element without a
/// `.vN` / `go-` decoration).
pub(crate) fn local_name(path: &str, alias: Option<&str>) -> String {
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

fn specs(source: &str) -> Result<GoImports, RewriteError> {
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
pub(crate) fn add_import(path: &str, source: &str, import: &str) -> Result<String, RewriteError> {
    let (specs, decls, package_end) = specs(source)?;
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
pub(crate) fn remove_import(
    path: &str,
    source: &str,
    import: &str,
) -> Result<String, RewriteError> {
    let (specs, decls, _) = specs(source)?;
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

/// Whether a Go file still uses the package imported under `name` (`name.X` in code or types).
fn uses_package(source: &str, name: &str) -> Result<bool, RewriteError> {
    static QUERY: OnceLock<Result<Query, QueryError>> = OnceLock::new();
    let query = QUERY
        .get_or_init(|| {
            lang::query::compile(
                &tree_sitter_go::LANGUAGE.into(),
                "queries/go/qualifiers.scm",
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/queries/go/qualifiers.scm"
                )),
            )
        })
        .as_ref()
        .map_err(|e| RewriteError::Extract(lang::ExtractError::Query(e)))?;
    Ok(lang::captures(Language::Go, query, source.as_bytes())?
        .iter()
        .flatten()
        .any(|(_, r)| &source[r.clone()] == name))
}

/// Remove the imports whose package the replaced code used and the new code no longer does.
pub(crate) fn remove_unused(
    path: &str,
    before: &str,
    after: &str,
    replaced: &str,
) -> Result<String, RewriteError> {
    let facts = lang::extract_facts(Language::Go, path, before.as_bytes())?;
    let mut out = after.to_string();
    for i in &facts.imports {
        let ImportKind::Package { path: ipath, alias } = &i.kind else {
            continue;
        };
        if matches!(alias.as_deref(), Some("_") | Some(".")) {
            continue;
        }
        let name = local_name(ipath, alias.as_deref());
        let used_before = replaced.contains(&format!("{name}."));
        if used_before && !uses_package(&out, &name)? {
            out = remove_import(path, &out, ipath)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_import_joins_the_std_group_in_order() {
        let src = "package a\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n\n\t\"example.com/x\"\n)\n";
        let out = add_import("a.go", src, "os").expect("add");
        assert_eq!(
            out,
            "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n\n\t\"example.com/x\"\n)\n"
        );
        assert_eq!(add_import("a.go", &out, "os").expect("again"), out);
        let out = remove_import("a.go", &out, "strings").expect("remove");
        assert_eq!(
            out,
            "package a\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"example.com/x\"\n)\n"
        );
    }

    #[test]
    fn go_import_into_single_and_missing_declarations() {
        let src = "package a\n\nimport \"fmt\"\n\nfunc f() {}\n";
        let out = add_import("a.go", src, "os").expect("add");
        assert_eq!(
            out,
            "package a\n\nimport \"fmt\"\nimport \"os\"\n\nfunc f() {}\n"
        );
        let out = remove_import("a.go", &out, "fmt").expect("remove");
        assert_eq!(out, "package a\n\nimport \"os\"\n\nfunc f() {}\n");
        let src = "package a\n\nfunc f() {}\n";
        let out = add_import("a.go", src, "os").expect("add");
        assert_eq!(out, "package a\n\nimport \"os\"\n\nfunc f() {}\n");
    }

    #[test]
    fn go_removing_the_last_of_a_group_keeps_one_blank_line() {
        let src = "package a\n\nimport (\n\t\"io/ioutil\"\n\n\t\"example.com/x\"\n)\n";
        let out = remove_import("a.go", src, "io/ioutil").expect("remove");
        assert_eq!(out, "package a\n\nimport (\n\t\"example.com/x\"\n)\n");
    }
}
