//! Contracts of Go declarations: a function's or method's signature, a type, const or var
//! declaration whole (a struct's fields and an interface's methods are its contract), with the
//! first paragraph of the doc comment above it. Never a function body.

use std::sync::OnceLock;

use tree_sitter::Query;

use crate::lang::Language;
use crate::lang::shared::{ContractMatch, contract_match};

/// The compiled `queries/go/contracts.scm`.
pub(super) fn query() -> Option<&'static Query> {
    static QUERY: OnceLock<Option<Query>> = OnceLock::new();
    QUERY
        .get_or_init(|| {
            Query::new(
                &Language::Go.grammar(),
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/queries/go/contracts.scm"
                )),
            )
            .ok()
        })
        .as_ref()
}

/// The doc comment right above `start` (Go `//` lines), first paragraph.
pub(super) fn doc_paragraph(source: &str, start: usize) -> Option<String> {
    let mut lines = Vec::new();
    let mut end = source[..start].rfind('\n')?;
    loop {
        let line_start = source[..end].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = source[line_start..end].trim();
        let Some(text) = line.strip_prefix("//") else {
            break;
        };
        lines.push(text.trim().to_string());
        if line_start == 0 {
            break;
        }
        end = line_start - 1;
    }
    lines.reverse();
    let para: Vec<String> = lines.into_iter().take_while(|l| !l.is_empty()).collect();
    (!para.is_empty()).then(|| para.join(" "))
}

/// The contract of the declaration whose name starts at `name_start`.
pub(super) fn contract(source: &str, name_start: usize) -> Option<String> {
    let ContractMatch {
        tree,
        kind,
        whole,
        body,
    } = contract_match(Language::Go, query()?, source, name_start)?;
    let text = |r: std::ops::Range<usize>| source[r].trim_end().to_string();
    if kind == "contract.function" {
        let sig = text(whole.start..body?.start);
        let doc = doc_paragraph(source, whole.start)
            .map(|d| format!("// {d}\n"))
            .unwrap_or_default();
        return Some(format!("{doc}{sig}"));
    }
    let spec = text(whole.clone());
    let node = tree
        .root_node()
        .descendant_for_byte_range(whole.start, whole.end)?;
    let parent = node.parent()?;
    let full = match parent.kind() {
        "type_declaration" | "const_declaration" | "var_declaration"
            if parent.named_child_count() == 1 =>
        {
            text(parent.byte_range())
        }
        "type_declaration" => format!("type {spec}"),
        "const_declaration" => format!("const {spec}"),
        "var_declaration" => format!("var {spec}"),
        _ => spec,
    };
    let doc = doc_paragraph(source, parent.start_byte())
        .or_else(|| doc_paragraph(source, whole.start))
        .map(|d| format!("// {d}\n"))
        .unwrap_or_default();
    Some(format!("{doc}{full}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_have_no_bodies() {
        assert!(query().is_some(), "queries/go/contracts.scm compiles");
        let src = "package store\n\n// FetchOrder looks up an order.\n//\n// More.\nfunc FetchOrder(id string) (Order, error) {\n\treturn secret()\n}\n\n// Order is a purchase.\ntype Order struct {\n\tID string\n}\n";
        let at = src.find("FetchOrder(").expect("name");
        assert_eq!(
            contract(src, at).as_deref(),
            Some("// FetchOrder looks up an order.\nfunc FetchOrder(id string) (Order, error)")
        );
        let at = src.find("Order struct").expect("type");
        assert_eq!(
            contract(src, at).as_deref(),
            Some("// Order is a purchase.\ntype Order struct {\n\tID string\n}")
        );
    }
}
