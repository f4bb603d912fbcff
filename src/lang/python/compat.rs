//! The compatibility shims of a Python rename: while callers move, the old name stays bound to
//! the new object (`old = new` right after the definition), and re-exports (`from .m import
//! old` in a package's `__init__.py`, `__all__` entries) export both names. The marker comment
//! above the alias is how the contract batch finds it again.

use std::ops::Range;

use crate::lang::facts::{Definition, ReferenceKind, SymbolKind};
use crate::lang::shared::declaration;
use crate::lang::{self, ExtractError, Language};

/// The comment that marks a deprecated alias.
pub(super) fn alias_marker(new: &str) -> String {
    format!("# Deprecated alias: use {new}. git-ripple removes it once every caller has moved.")
}

/// Why a Python definition of this kind cannot keep its old name while callers move.
pub(super) fn alias_blocker(kind: SymbolKind) -> Option<&'static str> {
    (kind == SymbolKind::Variable)
        .then_some("an alias of a module variable would be a second variable, not the same one")
}

/// The text inserted right after the definition to keep the old name.
pub(super) fn alias_block(def: &Definition, source: &str, old: &str, new: &str) -> String {
    let line_start = source[..def.range.0 as usize]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let indent: String = source[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let comment = alias_marker(new);
    let blank = if indent.is_empty() { "\n\n\n" } else { "\n\n" };
    format!("{blank}{indent}{comment}\n{indent}{old} = {new}")
}

/// A re-export keeps the old name beside the new one: `from .m import new, old`, or
/// `__all__ = ["new", "old"]`.
pub(super) fn reexport_both(
    kind: ReferenceKind,
    source: &str,
    span: Range<usize>,
    old: &str,
    new: &str,
) -> Option<String> {
    match kind {
        ReferenceKind::Import => Some(format!("{new}, {old}")),
        ReferenceKind::AllEntry => {
            let quote = source[..span.start].chars().next_back().unwrap_or('"');
            Some(format!("{new}{quote}, {quote}{old}"))
        }
        _ => None,
    }
}

/// What [`reexport_both`] writes.
pub(super) fn reexports_kept(old: &str, new: &str) -> Vec<String> {
    vec![
        format!("{new}, {old}"),
        format!("{new}\", \"{old}"),
        format!("{new}', '{old}"),
    ]
}

/// A docstring: the first statement of a function or class body, when it is a string.
pub(super) fn docstring(
    def: &Definition,
    source: &str,
) -> Result<Option<std::ops::Range<usize>>, ExtractError> {
    let tree = lang::parse(Language::Python, source.as_bytes())?;
    let Some(node) = declaration(&tree, def, &["function_definition", "class_definition"]) else {
        return Ok(None);
    };
    let doc = node
        .child_by_field_name("body")
        .and_then(|b| b.named_child(0))
        .filter(|s| s.kind() == "expression_statement")
        .and_then(|s| s.named_child(0))
        .filter(|s| s.kind() == "string");
    Ok(doc.map(|d| d.byte_range()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_keep_the_indentation_of_the_definition() {
        let src = "class A:\n    def load(self):\n        pass\n";
        let facts = lang::extract_facts(Language::Python, "a.py", src.as_bytes()).expect("facts");
        let def = facts
            .definitions
            .iter()
            .find(|d| d.name == "load")
            .expect("load");
        assert_eq!(
            alias_block(def, src, "fetch", "load"),
            format!("\n\n    {}\n    fetch = load", alias_marker("load"))
        );
    }
}
