//! The compatibility shims of a Go rename: while callers move, the old name stays as a
//! deprecated alias (`type Old = New`, `const Old = New`) or a one-line forwarding function
//! (functions and methods), each under a `Deprecated:` paragraph (gopls and staticcheck flag its
//! callers) and a `//go:fix inline` directive (`go fix` rewrites callers outside the repository).
//! The `Deprecated:` line is how the contract batch finds the alias again.

use crate::lang::facts::{Definition, SymbolKind};
use crate::lang::shared::declaration;
use crate::lang::{self, Language, RewriteError};

/// The first line of the doc comment above a deprecated alias: the `Deprecated:` paragraph
/// gopls and staticcheck flag callers by, and how the contract batch finds the alias again.
pub(super) fn alias_marker(new: &str) -> String {
    format!("// Deprecated: use {new} instead.")
}

/// Why a Go definition of this kind cannot keep its old name while callers move.
pub(super) fn alias_blocker(kind: SymbolKind) -> Option<&'static str> {
    match kind {
        SymbolKind::Variable => {
            Some("an alias of a Go variable would be a second variable, not the same one")
        }
        SymbolKind::Field => Some("a Go struct field has no alias"),
        _ => None,
    }
}

/// The text inserted right after the definition to keep the old name: a `Deprecated:` doc
/// paragraph and a `//go:fix inline` directive (so `go fix`, Go 1.26 and later, migrates callers
/// outside the repository too) above a forwarding function (for functions and methods; a
/// `var Old = New` could not be inlined), a constant alias or a type alias.
pub(super) fn alias_block(
    def: &Definition,
    source: &str,
    old: &str,
    new: &str,
) -> Result<String, RewriteError> {
    let line_start = source[..def.range.0 as usize]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let indent: String = source[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let doc = [
        alias_marker(new),
        "//".to_string(),
        "//go:fix inline".to_string(),
    ];
    let decl = &source[def.range.0 as usize..def.range.1 as usize];
    let grouped = !["type ", "const ", "func ", "var "]
        .iter()
        .any(|k| decl.starts_with(k));
    let spec = match def.kind {
        SymbolKind::Type | SymbolKind::Struct | SymbolKind::Interface | SymbolKind::Constant => {
            format!("{old} = {new}")
        }
        SymbolKind::Function | SymbolKind::Method => {
            let forwarder = forwarder(def, source, old, new)?.ok_or_else(|| {
                RewriteError::Stale(format!(
                    "the declaration of `{old}` is not where the graph has it"
                ))
            })?;
            return Ok(format!("\n\n{}\n{forwarder}", doc.join("\n")));
        }
        other => {
            return Err(RewriteError::Unsupported(format!(
                "cannot keep a Go {} as an alias; use compat = \"none\"",
                other.name()
            )));
        }
    };
    if grouped {
        let lines: Vec<String> = doc.iter().map(|l| format!("{indent}{l}")).collect();
        Ok(format!("\n{}\n{indent}{spec}", lines.join("\n")))
    } else {
        let keyword = match def.kind {
            SymbolKind::Constant => "const",
            _ => "type",
        };
        Ok(format!("\n\n{}\n{keyword} {spec}", doc.join("\n")))
    }
}

/// A forwarding function or method for the old name: `func (s *Store) Old(id string) (T,
/// error) { return s.New(id) }`, type parameters passed on. `None` when the declaration is not
/// found.
fn forwarder(
    def: &Definition,
    source: &str,
    old: &str,
    new: &str,
) -> Result<Option<String>, RewriteError> {
    let tree = lang::parse(Language::Go, source.as_bytes())?;
    let Some(node) = declaration(&tree, def, &["function_declaration", "method_declaration"])
    else {
        return Ok(None);
    };
    let text = |n: tree_sitter::Node<'_>| &source[n.byte_range()];
    let receiver = node.child_by_field_name("receiver");
    let type_params = node.child_by_field_name("type_parameters");
    let mut used: Vec<String> = Vec::new();
    let fresh = |base: &str, used: &mut Vec<String>| {
        let mut name = base.to_string();
        let mut i = 0;
        while used.contains(&name) {
            i += 1;
            name = format!("{base}{i}");
        }
        used.push(name.clone());
        name
    };
    // Parameters: keep their names, invent one where there is none (or `_`).
    let mut params = Vec::new();
    let mut args = Vec::new();
    if let Some(list) = node.child_by_field_name("parameters") {
        let mut cursor = list.walk();
        for p in list.named_children(&mut cursor) {
            let Some(ty) = p.child_by_field_name("type") else {
                continue;
            };
            let variadic = p.kind() == "variadic_parameter_declaration";
            let mut names: Vec<String> = {
                let mut c = p.walk();
                p.children_by_field_name("name", &mut c)
                    .map(|n| text(n).to_string())
                    .collect()
            };
            if names.is_empty() {
                names.push("_".to_string());
            }
            let names: Vec<String> = names
                .into_iter()
                .map(|n| {
                    if n == "_" {
                        fresh("p", &mut used)
                    } else {
                        used.push(n.clone());
                        n
                    }
                })
                .collect();
            let dots = if variadic { "..." } else { "" };
            params.push(format!("{} {dots}{}", names.join(", "), text(ty)));
            for n in names {
                args.push(format!("{n}{dots}"));
            }
        }
    }
    let recv = match receiver {
        Some(list) => {
            let Some(p) = list.named_child(0) else {
                return Ok(None);
            };
            let Some(ty) = p.child_by_field_name("type") else {
                return Ok(None);
            };
            let name = p
                .child_by_field_name("name")
                .map(|n| text(n).to_string())
                .filter(|n| n != "_")
                .unwrap_or_else(|| fresh("r", &mut used));
            Some((name, text(ty).to_string()))
        }
        None => None,
    };
    let (tparams, targs) = match type_params {
        Some(list) => {
            let mut names = Vec::new();
            let mut cursor = list.walk();
            for d in list.named_children(&mut cursor) {
                let mut c = d.walk();
                names.extend(
                    d.children_by_field_name("name", &mut c)
                        .map(|n| text(n).to_string()),
                );
            }
            (text(list).to_string(), format!("[{}]", names.join(", ")))
        }
        None => (String::new(), String::new()),
    };
    let result = node
        .child_by_field_name("result")
        .map(|r| format!(" {}", text(r)))
        .unwrap_or_default();
    let ret = if result.is_empty() { "" } else { "return " };
    let (head, call) = match &recv {
        Some((name, ty)) => (format!("func ({name} {ty}) "), format!("{name}.")),
        None => ("func ".to_string(), String::new()),
    };
    Ok(Some(format!(
        "{head}{old}{tparams}({}){result} {{ {ret}{call}{new}{targs}({}) }}",
        params.join(", "),
        args.join(", ")
    )))
}

/// A Go doc comment: the `//` lines right above the declaration.
pub(super) fn doc_comment(def: &Definition, source: &str) -> Option<std::ops::Range<usize>> {
    let def_line_start = source[..def.range.0 as usize]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut start = def_line_start;
    while start > 0 {
        let prev_end = start - 1;
        let prev_start = source[..prev_end].rfind('\n').map(|i| i + 1).unwrap_or(0);
        if source[prev_start..prev_end].trim_start().starts_with("//") {
            start = prev_start;
        } else {
            break;
        }
    }
    (start < def_line_start).then_some(start..def_line_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_forward_with_their_parameters() {
        let src = "package util\n\ntype Box struct{ V int }\n\nfunc (*Box) Add(_ int, more ...int) int {\n\treturn 0\n}\n";
        let facts = lang::extract_facts(Language::Go, "u.go", src.as_bytes()).expect("facts");
        let def = facts
            .definitions
            .iter()
            .find(|d| d.name == "Add")
            .expect("Add");
        let fwd = forwarder(def, src, "Add", "Plus").expect("parse");
        assert_eq!(
            fwd.as_deref(),
            Some("func (r *Box) Add(p int, more ...int) int { return r.Plus(p, more...) }")
        );
    }
}
