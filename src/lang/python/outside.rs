//! Where Python code is named outside code. Entry points (`pkg.cli:main` in `pyproject.toml`'s
//! `[project.scripts]` and `[project.entry-points.*]`, `setup.cfg`'s `[options.entry_points]`,
//! `setup.py`'s `entry_points`) name exactly one object, and rename with it. A dotted path
//! (`pkg.cli.main`) in documentation (Sphinx roles, autodoc directives), in configuration (YAML,
//! INI, JSON) or in a string of code (a settings module's `"pkg.middleware.Auth"`) most likely
//! names it too, but nothing proves how it is read: those are listed for a person.

use crate::lang::facts::Span;
use crate::lang::{self, Language, OutsideMention};

/// The files whose entry points are packaging metadata: `module:attr` there is exact.
const METADATA: &[&str] = &["pyproject.toml", "setup.cfg", "setup.py"];

const DOCS: &[&str] = &["rst", "md", "txt"];

const ROLES: &[&str] = &[
    ":func:", ":class:", ":meth:", ":attr:", ":mod:", ":data:", ":obj:", ":exc:", ":const:",
];

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Starts of `needle` in `text` that no longer dotted name surrounds: not after a name
/// character or a dot, not before a name character (a dot after it is a member of it, still a
/// mention).
fn bounded(text: &str, needle: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    text.match_indices(needle)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + needle.len()).copied();
            !before.is_some_and(|b| is_word(b) || b == b'.') && !after.is_some_and(is_word)
        })
        .collect()
}

fn span_at(text: &str, start: usize, len: usize) -> Span {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    Span {
        line: text[..start].matches('\n').count() as u32 + 1,
        column: (start - line_start) as u32 + 1,
        start: start as u32,
        end: (start + len) as u32,
    }
}

/// See [`crate::lang::Support::outside_mentions`].
pub(super) fn mentions(path: &str, text: &str, symbol: &str, local: &str) -> Vec<OutsideMention> {
    let Some(module) = symbol
        .strip_suffix(local)
        .and_then(|m| m.strip_suffix('.'))
        .filter(|m| !m.is_empty())
    else {
        return Vec::new();
    };
    let name = local.rsplit('.').next().unwrap_or(local);
    let entry = format!("{module}:{local}");
    if !text.contains(symbol) && !text.contains(&entry) {
        return Vec::new();
    }
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let extension = file_name.rsplit_once('.').map_or("", |(_, e)| e);
    let python = extension == "py";
    let docs = DOCS.contains(&extension);
    // A string of code only: a comment or the code itself is something else (the graph's).
    let tree = python
        .then(|| lang::parse(Language::Python, text.as_bytes()).ok())
        .flatten();
    // The string of code around a place, and whether it is a docstring (documentation, which
    // nothing runs).
    let string_at = |at: usize| -> Option<bool> {
        let t = tree.as_ref()?;
        let string = t
            .root_node()
            .descendant_for_byte_range(at, at + 1)
            .and_then(|n| {
                std::iter::successors(Some(n), |n| n.parent()).find(|n| n.kind() == "string")
            })?;
        Some(is_docstring(string))
    };
    let in_string = |at: usize| string_at(at).is_some();
    let mut out = Vec::new();
    for at in bounded(text, &entry) {
        if python && !in_string(at) {
            continue;
        }
        out.push(OutsideMention {
            span: span_at(text, at + entry.len() - name.len(), name.len()),
            exact: METADATA.contains(&file_name),
            docs,
            what: "an entry point (`module:object`)",
        });
    }
    for at in bounded(text, symbol) {
        if python && !in_string(at) {
            continue;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..at];
        let what = if python {
            "a dotted path in a string"
        } else if docs && ROLES.iter().any(|r| before.contains(r)) {
            "a Sphinx cross-reference role"
        } else if docs && before.trim_start().starts_with(".. auto") {
            "an autodoc directive"
        } else if docs {
            "a dotted path in documentation"
        } else {
            "a dotted path in configuration"
        };
        let docstring = python && string_at(at) == Some(true);
        out.push(OutsideMention {
            span: span_at(text, at + symbol.len() - name.len(), name.len()),
            exact: false,
            docs: docs || docstring,
            what: if docstring {
                "a dotted path in a docstring"
            } else {
                what
            },
        });
    }
    out.sort_by_key(|m| m.span.start);
    out
}

/// A string that is the first statement of a module, class or function body.
fn is_docstring(string: tree_sitter::Node<'_>) -> bool {
    let Some(statement) = string
        .parent()
        .filter(|p| p.kind() == "expression_statement")
    else {
        return false;
    };
    let Some(body) = statement.parent() else {
        return false;
    };
    matches!(body.kind(), "module" | "block")
        && body
            .named_child(0)
            .is_some_and(|first| first.id() == statement.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_are_exact_and_dotted_paths_are_listed() {
        let toml =
            "[project.scripts]\nbill = \"billing.cli:main\"\nother = \"billing.cli:main_menu\"\n";
        let found = mentions("pyproject.toml", toml, "billing.cli.main", "main");
        assert_eq!(found.len(), 1);
        assert!(found[0].exact);
        assert_eq!(
            &toml[found[0].span.start as usize..found[0].span.end as usize],
            "main"
        );
        assert_eq!((found[0].span.line, found[0].span.column), (2, 21));

        let rst = "See :func:`billing.cli.main` and\n\n.. autofunction:: billing.cli.main\n\nnot billing.cli.mainly.\n";
        let found = mentions("docs/api.rst", rst, "billing.cli.main", "main");
        let what: Vec<&str> = found.iter().map(|m| m.what).collect();
        assert_eq!(
            what,
            ["a Sphinx cross-reference role", "an autodoc directive"]
        );
        assert!(found.iter().all(|m| m.docs && !m.exact));

        // In Python, strings only; a method's class path names the class too.
        let py = "# billing.invoice.Invoice is documented\nMIDDLEWARE = [\"billing.invoice.Invoice.total\"]\n";
        let found = mentions("settings.py", py, "billing.invoice.Invoice", "Invoice");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].what, "a dotted path in a string");
        assert_eq!(found[0].span.line, 2);
        assert!(!found[0].docs);

        // A docstring is documentation: nothing runs it.
        let py = "def f():\n    \"\"\"Like billing.invoice.Invoice.\"\"\"\n";
        let found = mentions("m.py", py, "billing.invoice.Invoice", "Invoice");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].what, "a dotted path in a docstring");
        assert!(found[0].docs);
    }
}
