//! Embedded fields: a struct that embeds a type gets a field named after it, so renaming the
//! type renames the field, and the literals that set the field by name change with it.

use super::text;

/// The structs in a file that embed a type, found from the type's reference spans: a
/// reference that is the whole type of a field declaration without a name (`models.Order`,
/// `*Order`) makes its struct embed the type, and gives the struct a field named after it.
pub(super) fn embedding_structs(source: &[u8], reference_starts: &[usize]) -> Vec<String> {
    let Ok(tree) = crate::lang::parse(crate::lang::Language::Go, source) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &start in reference_starts {
        let Some(mut node) = tree.root_node().descendant_for_byte_range(start, start) else {
            continue;
        };
        // Up from the name through the type (`pkg.T`, `*T`, `*pkg.T`) to the field.
        while matches!(
            node.kind(),
            "type_identifier" | "package_identifier" | "qualified_type" | "pointer_type"
        ) || node.kind() == "identifier"
        {
            match node.parent() {
                Some(p) => node = p,
                None => break,
            }
        }
        if node.kind() != "field_declaration" || node.child_by_field_name("name").is_some() {
            continue;
        }
        let mut up = node;
        while up.kind() != "type_spec" {
            match up.parent() {
                Some(p) => up = p,
                None => break,
            }
        }
        if let Some(name) = up.child_by_field_name("name") {
            out.push(text(name, source).to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Byte ranges of `field:` keys in composite literals of the given struct types (`S{…}`,
/// `pkg.S{…}`, `&S{…}`): where an embedded field is set by name.
pub(super) fn keyed_fields(source: &[u8], structs: &[String], field: &str) -> Vec<(usize, usize)> {
    let Ok(tree) = crate::lang::parse(crate::lang::Language::Go, source) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        if node.kind() != "composite_literal" {
            continue;
        }
        let Some(ty) = node.child_by_field_name("type") else {
            continue;
        };
        let name = match ty.kind() {
            "type_identifier" => text(ty, source),
            "qualified_type" => ty
                .child_by_field_name("name")
                .map(|n| text(n, source))
                .unwrap_or(""),
            _ => continue,
        };
        if !structs.iter().any(|s| s == name) {
            continue;
        }
        let Some(body) = node.child_by_field_name("body") else {
            continue;
        };
        let mut c = body.walk();
        for element in body.named_children(&mut c) {
            if element.kind() != "keyed_element" {
                continue;
            }
            let Some(key) = element.named_child(0) else {
                continue;
            };
            // The key is a literal_element wrapping an identifier (or the identifier itself).
            let ident = if key.kind() == "literal_element" {
                key.named_child(0)
            } else {
                Some(key)
            };
            if let Some(id) = ident
                && matches!(id.kind(), "identifier" | "field_identifier")
                && text(id, source) == field
            {
                out.push((id.start_byte(), id.end_byte()));
            }
        }
    }
    out.sort_unstable();
    out
}
