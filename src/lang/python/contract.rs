//! Contracts of Python definitions: the signature (decorators included) and the first
//! paragraph of the docstring; for a class, its fields and its methods' signatures. Never a
//! body: a contract is what a caller needs.

use std::sync::OnceLock;

use tree_sitter::Query;

use crate::lang::Language;
use crate::lang::shared::{ContractMatch, contract_match};

/// The compiled `queries/python/contracts.scm`.
pub(super) fn query() -> Option<&'static Query> {
    static QUERY: OnceLock<Option<Query>> = OnceLock::new();
    QUERY
        .get_or_init(|| {
            Query::new(
                &Language::Python.grammar(),
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/queries/python/contracts.scm"
                )),
            )
            .ok()
        })
        .as_ref()
}

/// The first paragraph of a docstring's text (quotes stripped).
fn first_paragraph(doc: &str) -> String {
    let body = doc
        .trim()
        .trim_start_matches(['r', 'u', 'b', 'R', 'U', 'B'])
        .trim_matches(|c| c == '"' || c == '\'')
        .trim();
    body.split("\n\n")
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The contract of the definition whose name starts at `name_start`.
pub(super) fn contract(source: &str, name_start: usize) -> Option<String> {
    let ContractMatch {
        tree,
        kind,
        whole,
        body,
    } = contract_match(Language::Python, query()?, source, name_start)?;
    let text = |r: std::ops::Range<usize>| source[r].trim_end().to_string();
    // Start at decorators, if any.
    let node = tree
        .root_node()
        .descendant_for_byte_range(whole.start, whole.end)?;
    let start = match node.parent() {
        Some(p) if p.kind() == "decorated_definition" => p.start_byte(),
        _ => whole.start,
    };
    if kind == "contract.value" {
        return Some(value_contract(&source[whole]));
    }
    let body_range = body?;
    let header = text(start..body_range.start);
    let indent = " ".repeat(4);
    // The smallest node over the body's range can be the body's only statement (a
    // class whose body is its docstring): go up to the block.
    let mut body_node = tree
        .root_node()
        .descendant_for_byte_range(body_range.start, body_range.end)?;
    while body_node.kind() != "block" {
        body_node = body_node.parent()?;
    }
    let mut out = header;
    let mut cursor = body_node.walk();
    let children: Vec<_> = body_node.named_children(&mut cursor).collect();
    if let Some(doc) = children
        .first()
        .filter(|s| s.kind() == "expression_statement")
        .and_then(|s| s.named_child(0))
        .filter(|s| s.kind() == "string")
    {
        out.push_str(&format!(
            "\n{indent}\"\"\"{}\"\"\"",
            first_paragraph(&source[doc.byte_range()])
        ));
    }
    if kind == "contract.class" {
        for child in &children {
            let def = if child.kind() == "decorated_definition" {
                child.child_by_field_name("definition")
            } else {
                Some(*child)
            };
            match def.map(|d| d.kind()) {
                Some("function_definition") => {
                    let d = def?;
                    let b = d.child_by_field_name("body")?;
                    let sig = source[child.start_byte()..b.start_byte()].trim_end();
                    out.push_str(&format!("\n{indent}{sig} ..."));
                }
                Some("expression_statement") => {
                    // Fields: `name: int = 0` assignments at class level.
                    let t = source[child.byte_range()].trim();
                    if let Some(first) = t.lines().next()
                        && child
                            .named_child(0)
                            .is_some_and(|a| a.kind() == "assignment")
                    {
                        out.push_str(&format!("\n{indent}{first}"));
                    }
                }
                _ => {}
            }
        }
    } else {
        out.push_str(&format!("\n{indent}..."));
    }
    Some(out)
}

/// The longest value a module-level assignment's contract shows whole.
const VALUE_CHARS: usize = 120;

/// `NAME = value` for a short value, `NAME: T = …` / `NAME = …` for a long one (a caller
/// needs the name and the type, not a page of data).
fn value_contract(assignment: &str) -> String {
    let assignment = assignment.trim();
    if !assignment.contains('\n') && assignment.len() <= VALUE_CHARS {
        return assignment.to_string();
    }
    match assignment.split_once('=') {
        Some((target, _)) => format!("{} = …", target.trim_end()),
        None => assignment.lines().next().unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_have_no_bodies() {
        assert!(query().is_some(), "queries/python/contracts.scm compiles");
        let src = "class Order:\n    \"\"\"A customer's order.\n\n    Long details.\n    \"\"\"\n\n    status: str = \"new\"\n\n    def total(self) -> int:\n        \"\"\"Sum.\"\"\"\n        return secret_body()\n\n\n@cache\ndef fetch_order(order_id: int) -> Order:\n    \"\"\"Return the order.\"\"\"\n    return secret_body()\n";
        let class = contract(src, 6).expect("class");
        assert_eq!(
            class,
            "class Order:\n    \"\"\"A customer's order.\"\"\"\n    status: str = \"new\"\n    def total(self) -> int: ..."
        );
        let at = src.find("fetch_order").expect("name");
        let func = contract(src, at).expect("func");
        assert_eq!(
            func,
            "@cache\ndef fetch_order(order_id: int) -> Order:\n    \"\"\"Return the order.\"\"\"\n    ..."
        );
        assert!(!class.contains("secret_body") && !func.contains("secret_body"));
    }

    #[test]
    fn module_values_show_short_values_and_cut_long_ones() {
        let src = "TIMEOUT: int = 30\nTABLE = {\n    'a': 1,\n    'b': 2,\n}\n";
        assert_eq!(contract(src, 0).as_deref(), Some("TIMEOUT: int = 30"));
        let at = src.find("TABLE").expect("name");
        assert_eq!(contract(src, at).as_deref(), Some("TABLE = …"));
    }
}
