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
    format!("# Deprecated alias: use {new}.")
}

/// Functions and methods warn when called (a wrapper); a class or a constant warns when the
/// module's attribute is read (a module `__getattr__`, PEP 562).
pub(super) fn warning_alias(kind: SymbolKind) -> bool {
    matches!(
        kind,
        SymbolKind::Function | SymbolKind::Method | SymbolKind::Class | SymbolKind::Constant
    )
}

/// Whether the old name is handed out by the module's `__getattr__` rather than bound.
fn read_through_getattr(kind: SymbolKind) -> bool {
    matches!(kind, SymbolKind::Class | SymbolKind::Constant)
}

/// A module `__getattr__` (PEP 562) that warns and hands out `new` for `old`, chained to the
/// module's own `__getattr__` when it has one.
fn getattr_shim(source: &str, old: &str, new: &str) -> String {
    let message = format!("`{old}` is deprecated; use `{new}`");
    let has_own = source.starts_with("def __getattr__(") || source.contains("\ndef __getattr__(");
    let (before, fallback) = if has_own {
        let saved = format!("_git_ripple_getattr_{old}");
        (
            format!("{saved} = __getattr__\n\n\n"),
            format!("    return {saved}(name)"),
        )
    } else {
        (
            String::new(),
            "    raise AttributeError(f\"module {__name__!r} has no attribute {name!r}\")"
                .to_string(),
        )
    };
    let marker = alias_marker(new);
    let mut out = source.trim_end_matches('\n').to_string();
    out.push_str(&format!(
        "\n\n\n{before}{marker} It warns when used.\ndef __getattr__(name):\n    if name == {old:?}:\n        import warnings\n\n        warnings.warn({message:?}, DeprecationWarning, stacklevel=2)\n        return {new}\n{fallback}\n"
    ));
    out
}

/// See [`crate::lang::Support::warn_reexport`]: for a class or a constant, the package stops
/// importing the old name and hands it out through its own warning `__getattr__`.
pub(super) fn warn_reexport(source: &str, kind: SymbolKind, old: &str, new: &str) -> String {
    if !read_through_getattr(kind) {
        return source.to_string();
    }
    // Only the `from … import` lists: `__all__` keeps the name (a star import then warns).
    let out = without_old_entries(source, old, new, false);
    if out == source {
        return out;
    }
    getattr_shim(&out, old, new)
}

/// The plain alias under its marker (`old = new`) made into a wrapper that warns when called:
/// a function at module level, a method (forwarding to `self.new`) in a class body.
pub(super) fn warn_alias(source: &str, kind: SymbolKind, old: &str, new: &str) -> Option<String> {
    let marker = alias_marker(new);
    let mut from = 0;
    while let Some(i) = source[from..].find(&marker) {
        let at = from + i;
        from = at + marker.len();
        let line_start = source[..at].rfind('\n').map_or(0, |j| j + 1);
        let indent = &source[line_start..at];
        if !indent.chars().all(|c| c == ' ' || c == '\t') {
            continue;
        }
        let alias = format!("\n{indent}{old} = {new}");
        if !source[from..].starts_with(&alias) {
            continue;
        }
        let end = from + alias.len();
        if read_through_getattr(kind) && indent.is_empty() {
            // The alias goes (with the blank lines before it); the module hands the old name
            // out through `__getattr__`, warning.
            let mut start = line_start;
            while start > 0 && source.as_bytes()[start - 1] == b'\n' {
                start -= 1;
            }
            let mut out = String::with_capacity(source.len());
            out.push_str(&source[..start]);
            out.push_str(&source[end..]);
            return Some(getattr_shim(&out, old, new));
        }
        let message = format!("`{old}` is deprecated; use `{new}`");
        let (params, call) = if indent.is_empty() {
            ("*args, **kwargs", format!("{new}(*args, **kwargs)"))
        } else {
            (
                "self, *args, **kwargs",
                format!("self.{new}(*args, **kwargs)"),
            )
        };
        let body = format!("{indent}    ");
        let shim = format!(
            "{marker} It warns when called.\n{indent}def {old}({params}):\n{body}\"\"\"Deprecated: use `{new}`.\"\"\"\n{body}import warnings\n\n{body}warnings.warn({message:?}, DeprecationWarning, stacklevel=2)\n{body}return {call}"
        );
        let mut out = String::with_capacity(source.len() + shim.len());
        out.push_str(&source[..at]);
        out.push_str(&shim);
        out.push_str(&source[end..]);
        return Some(out);
    }
    None
}

/// Why a Python definition of this kind cannot keep its old name while callers move.
pub(super) fn alias_blocker(kind: SymbolKind) -> Option<&'static str> {
    match kind {
        SymbolKind::Variable => {
            Some("an alias of a module variable would be a second variable, not the same one")
        }
        // `self.old = …` in one batch and `obj.new` in another would be two attributes.
        SymbolKind::Field => Some(
            "an attribute has no plain alias (a write through one name would not be seen through the other): the definition and every use change together",
        ),
        _ => None,
    }
}

/// See [`crate::lang::Support::forwarding_alias`]: a plain class attribute (`rate = 0.2` in a
/// class body) of a class without `__slots__`, used through instances only, can keep its old
/// name as a property that reads and writes the new one. An attribute assigned in a method, a
/// declared field (annotated, or of a dataclass-like class: also a keyword at construction)
/// and one read through the class itself (`cls.rate`, `Order.rate`, where a property would
/// hand out itself) cannot.
pub(super) fn forwarding_alias(
    def: &Definition,
    source: &str,
    receivers: &[&str],
) -> Result<(), String> {
    let tree = lang::parse(Language::Python, source.as_bytes()).map_err(|e| e.to_string())?;
    let Some(statement) = declaration(&tree, def, &["expression_statement"]) else {
        return Err("its definition is not an assignment".to_string());
    };
    let class = std::iter::successors(statement.parent(), |n| n.parent())
        .find(|n| matches!(n.kind(), "class_definition" | "function_definition"))
        .filter(|n| n.kind() == "class_definition")
        .ok_or("an attribute assigned in a method has no property to stand in for it")?;
    let text = |n: tree_sitter::Node<'_>| &source[n.byte_range()];
    if statement
        .named_child(0)
        .is_some_and(|a| a.kind() == "assignment" && a.child_by_field_name("type").is_some())
    {
        return Err("a declared field (`name: T = …`) is also a keyword at construction".into());
    }
    let decorated = class
        .parent()
        .filter(|p| p.kind() == "decorated_definition")
        .map_or("", text);
    let bases = class.child_by_field_name("superclasses").map_or("", text);
    if ["dataclass", "attr.s", "attrs.define", "define", "frozen"]
        .iter()
        .any(|d| decorated.contains(&format!("@{d}")) || decorated.contains(&format!(".{d}")))
        || ["NamedTuple", "TypedDict", "BaseModel"]
            .iter()
            .any(|b| bases.contains(b))
    {
        return Err("a field of a dataclass-like class is also a keyword at construction".into());
    }
    let body = class.child_by_field_name("body").map_or("", text);
    if body.contains("__slots__") {
        return Err("the class defines `__slots__`, which leaves no room for a property".into());
    }
    let class_name = class.child_by_field_name("name").map_or("", text);
    if let Some(r) = receivers
        .iter()
        .find(|r| **r == "cls" || **r == class_name || r.starts_with(char::is_uppercase))
    {
        return Err(format!(
            "`{r}.{}` reads it through a class, where a property would hand out itself",
            def.name
        ));
    }
    Ok(())
}

/// The text inserted right after the definition to keep the old name: `old = new`, or for an
/// attribute a property forwarding reads and writes to the new name.
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
    let value = if def.kind == SymbolKind::Field {
        format!(
            "property(lambda self: self.{new}, lambda self, value: setattr(self, {new:?}, value))"
        )
    } else {
        new.to_string()
    };
    format!("{blank}{indent}{comment}\n{indent}{old} = {value}")
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
pub(super) fn reexports_kept(old: &str, new: &str) -> Vec<(String, String)> {
    let idiom = format!("{new} as {new}");
    vec![
        (format!("{idiom}, {old} as {old}"), idiom),
        (format!("{new}, {old}"), new.to_string()),
        (format!("{new}\", \"{old}"), new.to_string()),
        (format!("{new}', '{old}"), new.to_string()),
    ]
}

/// A docstring: the first statement of a function or class body, when it is a string.
pub(super) fn docstring(
    def: &Definition,
    source: &str,
) -> Result<Option<std::ops::Range<usize>>, ExtractError> {
    // An attribute or a variable has none: the class or function around it owns that string.
    if !matches!(
        def.kind,
        SymbolKind::Function | SymbolKind::Method | SymbolKind::Class
    ) {
        return Ok(None);
    }
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

/// The source without the old name where a re-export lists it beside the new one (the contract
/// batch's job), found in the syntax tree whatever a formatter made of the lines: an
/// `from m import …, old, …` name (unaliased) of a statement that also imports `new`, and an
/// `"old"` entry of an `__all__` list or tuple that also holds `"new"`. Each entry goes with its
/// comma; the layout of the rest is kept.
pub(super) fn remove_reexports(source: &str, old: &str, new: &str) -> String {
    without_old_entries(source, old, new, true)
}

/// The source without `old` in the re-export lists that also hold `new`: `from … import`
/// names, and (`with_all`) `__all__` entries. Each entry goes with its comma.
fn without_old_entries(source: &str, old: &str, new: &str, with_all: bool) -> String {
    let Ok(tree) = lang::parse(Language::Python, source.as_bytes()) else {
        return source.to_string();
    };
    let text = |n: tree_sitter::Node<'_>| &source[n.byte_range()];
    let mut cuts: Vec<Range<usize>> = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        let entries: Vec<tree_sitter::Node<'_>> = match node.kind() {
            "import_from_statement" => {
                let mut c = node.walk();
                node.children_by_field_name("name", &mut c).collect()
            }
            "list" | "tuple"
                if with_all
                    && node
                        .parent()
                        .filter(|p| p.kind() == "assignment")
                        .and_then(|p| p.child_by_field_name("left"))
                        .is_some_and(|l| text(l) == "__all__") =>
            {
                let mut c = node.walk();
                node.named_children(&mut c).collect()
            }
            _ => continue,
        };
        let is = |n: &tree_sitter::Node<'_>, name: &str| match n.kind() {
            "dotted_name" => text(*n) == name,
            // The explicit re-export idiom, `name as name`.
            "aliased_import" => [
                n.child_by_field_name("name"),
                n.child_by_field_name("alias"),
            ]
            .iter()
            .all(|part| part.is_some_and(|p| text(p) == name)),
            "string" => {
                let t = text(*n);
                t.len() >= 2 && &t[1..t.len() - 1] == name
            }
            _ => false,
        };
        if !entries.iter().any(|n| is(n, new)) {
            continue;
        }
        for (i, entry) in entries.iter().enumerate() {
            if !is(entry, old) {
                continue;
            }
            cuts.push(
                match (entries.get(i + 1), i.checked_sub(1).map(|j| entries[j])) {
                    // `old, next`: up to the next entry.
                    (Some(next), _) => entry.start_byte()..next.start_byte(),
                    // `prev, old`: from the end of the previous one (its comma goes, a trailing
                    // comma after `old` stays as the list's).
                    (None, Some(prev)) => prev.end_byte()..entry.end_byte(),
                    (None, None) => continue,
                },
            );
        }
    }
    cuts.sort_by_key(|c| std::cmp::Reverse(c.start));
    let mut out = source.to_string();
    for c in cuts {
        out.replace_range(c, "");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reexports_lose_the_old_name_in_any_layout() {
        let one_line = "from .q import A, new, old, z\n__all__ = [\"A\", \"new\", \"old\"]\n";
        assert_eq!(
            remove_reexports(one_line, "old", "new"),
            "from .q import A, new, z\n__all__ = [\"A\", \"new\"]\n"
        );
        let exploded = "from .q import (\n    A,\n    new,\n    old,\n)\n\n__all__ = (\n    'old',\n    'new',\n)\n";
        assert_eq!(
            remove_reexports(exploded, "old", "new"),
            "from .q import (\n    A,\n    new,\n)\n\n__all__ = (\n    'new',\n)\n"
        );
        // Not beside the new name, or aliased: left alone.
        let other =
            "from .q import old\nfrom .r import new, old as legacy\nx = [\"new\", \"old\"]\n";
        assert_eq!(remove_reexports(other, "old", "new"), other);
    }

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
