//! Struct tags: an exported field of a struct that an encoder reads (`encoding/json`, `xml`,
//! YAML, TOML) is named on the wire by its Go name unless a tag says otherwise, so renaming the
//! field would change the wire format. The rename keeps the old wire name with a tag.

use tree_sitter::Node;

use super::text;
use crate::lang::facts::Definition;

/// Encoders by import path, and the tag key each reads.
const ENCODERS: &[(&str, &str)] = &[
    ("encoding/json", "json"),
    ("encoding/xml", "xml"),
    ("gopkg.in/yaml.v2", "yaml"),
    ("gopkg.in/yaml.v3", "yaml"),
    ("sigs.k8s.io/yaml", "json"),
    ("github.com/BurntSushi/toml", "toml"),
    ("github.com/pelletier/go-toml/v2", "toml"),
];

/// The tag to add after a renamed field's type so encoders keep its old name, as (byte offset,
/// text): when the field is exported, alone in its declaration, untagged, and its struct is
/// encoded (its other fields carry encoder tags, or its package imports an encoder).
pub(super) fn wire_name_tag(
    source: &str,
    def: &Definition,
    package_imports: &[&str],
    old: &str,
) -> Option<(usize, String)> {
    if !def.exported {
        return None;
    }
    let tree = crate::lang::parse(crate::lang::Language::Go, source.as_bytes()).ok()?;
    let field = tree
        .root_node()
        .descendant_for_byte_range(def.span.start as usize, def.span.end as usize)?;
    let field = ancestor(field, "field_declaration")?;
    let mut cursor = field.walk();
    let names = field.children_by_field_name("name", &mut cursor).count();
    if names != 1 || field.child_by_field_name("tag").is_some() {
        return None;
    }
    let list = field.parent()?;
    let mut keys: Vec<&str> = Vec::new();
    let mut cursor = list.walk();
    for sibling in list.named_children(&mut cursor) {
        if let Some(tag) = sibling.child_by_field_name("tag") {
            keys.extend(tag_keys(text(tag, source.as_bytes())));
        }
    }
    if keys.is_empty() {
        keys.extend(
            ENCODERS
                .iter()
                .filter(|(path, _)| package_imports.contains(path))
                .map(|(_, key)| *key),
        );
    }
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return None;
    }
    let ty = field.child_by_field_name("type")?;
    let tag = keys
        .iter()
        .map(|k| format!("{k}:\"{old}\""))
        .collect::<Vec<_>>()
        .join(" ");
    Some((ty.end_byte(), format!(" `{tag}`")))
}

fn ancestor<'t>(mut node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    loop {
        if node.kind() == kind {
            return Some(node);
        }
        node = node.parent()?;
    }
}

/// The keys of a struct tag (`json:"id,omitempty" xml:"id"` → json, xml), those of encoders.
fn tag_keys(tag: &str) -> Vec<&'static str> {
    let tag = tag.trim_matches(['`', '"']);
    let mut keys: Vec<&'static str> = Vec::new();
    for (_, key) in ENCODERS {
        if tag.contains(&format!("{key}:\"")) && !keys.contains(key) {
            keys.push(key);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_keys_are_the_encoders() {
        assert_eq!(tag_keys("`json:\"id\" xml:\"id,attr\"`"), ["json", "xml"]);
        assert!(tag_keys("`db:\"id\"`").is_empty());
    }
}
