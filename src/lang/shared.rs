//! The extractors every language shares, driven by its queries and a small table of rules:
//! definitions (`@definition.*` with `@name`, `@receiver` for a method's type) and local scopes
//! (`@local.scope`, `@local.definition`, `@local.definition.outer`, `@local.statement`,
//! `@local.global`, the nvim-treesitter `locals` convention).
//!
//! What differs between languages is data: which nodes are function bodies (a definition inside
//! one is a local, not a symbol), which nodes make their definitions members (Python classes),
//! how far a definition's range reaches (decorators, a declaration group of one), which capture
//! means which kind of symbol, and whether a local name is bound from the start of its scope
//! (Python) or from the end of its declaration (Go).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use tree_sitter::Node;

use super::facts::{Definition, Span, SymbolKind};
use super::query::Match;
use super::scope::ScopeIndex;

/// The text of a node (empty when it is not UTF-8, which the scan already excludes).
pub(crate) fn text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

/// Each node's parent, found in one walk of the tree. `Node::parent` walks down from the root
/// every time it is called (tree-sitter keeps no parent links), so following a node up to its
/// function cost the depth squared times the width, on every identifier of a file: it was a
/// quarter of a cold graph build of django.
pub(crate) struct Parents<'t> {
    of: HashMap<usize, Node<'t>, BuildHasherDefault<IdHasher>>,
    /// The named nodes, in the order a stack walk visits them (see [`Parents::named`]).
    named: Vec<Node<'t>>,
}

impl<'t> Parents<'t> {
    pub(crate) fn of(root: Node<'t>) -> Self {
        let mut of = HashMap::with_capacity_and_hasher(
            root.descendant_count(),
            BuildHasherDefault::default(),
        );
        let mut named = Vec::new();
        let mut cursor = root.walk();
        // Named nodes in walk order; anonymous ones with children only for their parents.
        let mut stack = vec![root];
        let mut anonymous = Vec::new();
        while let Some(node) = stack.pop() {
            named.push(node);
            for child in node.children(&mut cursor) {
                of.insert(child.id(), node);
                if child.is_named() {
                    stack.push(child);
                } else if child.child_count() > 0 {
                    anonymous.push(child);
                }
            }
        }
        while let Some(node) = anonymous.pop() {
            for child in node.children(&mut cursor) {
                of.insert(child.id(), node);
                if child.child_count() > 0 {
                    anonymous.push(child);
                }
            }
        }
        Parents { of, named }
    }

    /// Every named node reachable through named nodes from the root, in the order of the walk
    /// `stack = [root]; pop a node, push its named children`: the walks over a whole file
    /// read this list instead of walking the tree again (each walk cost as much as a query).
    pub(crate) fn named(&self) -> &[Node<'t>] {
        &self.named
    }

    pub(crate) fn parent(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.of.get(&node.id()).copied()
    }

    /// The node's parent, its parent's parent, and so on up to the root.
    pub(crate) fn ancestors(&self, node: Node<'_>) -> impl Iterator<Item = Node<'t>> + '_ {
        std::iter::successors(self.parent(node), |&n| self.parent(n))
    }
}

/// Node ids are addresses: distinct, so a multiply spreads them well enough, at a fraction
/// of SipHash's cost.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// The lines a byte range spans: from the start of its first line to just after the newline
/// of its last.
pub(crate) fn line_range(source: &str, start: usize, end: usize) -> std::ops::Range<usize> {
    let line_start = source[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = source[end..]
        .find('\n')
        .map(|i| end + i + 1)
        .unwrap_or(source.len());
    line_start..line_end
}

/// How a language's definitions are read from its query matches.
pub(crate) struct DefinitionRules {
    /// Node kinds whose bodies hold locals: a definition below one is not a symbol.
    pub local_scopes: &'static [&'static str],
    /// Node kinds that make the definitions below them members, named by their `name` field.
    pub member_scopes: &'static [&'static str],
    /// Whether a class defined in a local scope is a symbol all the same, named through the
    /// function (`test_x.MyType`): Python tests subclass repository classes inside test
    /// functions, and their methods override (a rename of the base method must reach them).
    pub local_classes: bool,
    /// The kind of symbol a match defines (`None`: not a symbol), from its `definition.*`
    /// capture name, the match, the defined name and whether it is a member.
    pub classify: fn(&str, &Match<'_, '_>, &[u8], &str, bool) -> Option<SymbolKind>,
    /// The node whose range is the whole definition (decorators, a one-spec declaration).
    pub whole: for<'t> fn(Node<'t>) -> Node<'t>,
    /// Whether a name is exported.
    pub exported: fn(&str) -> bool,
}

/// The symbols one file defines, in file order.
pub(crate) fn extract_definitions(
    matches: &[Match<'_, '_>],
    source: &[u8],
    rules: &DefinitionRules,
) -> Vec<Definition> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for m in matches {
        let Some(name) = m.get("name") else { continue };
        let Some(&(capture, def)) = m
            .captures
            .iter()
            .find(|(n, _)| n.starts_with("definition."))
        else {
            continue;
        };
        if !seen.insert(name.id()) {
            continue;
        }
        let mut parents = Vec::new();
        let mut local = false;
        // Inside a class (or the class itself) so far: a local scope above is named, not a
        // barrier, when the language keeps local classes.
        let mut in_class = rules.member_scopes.contains(&def.kind());
        let mut up = def.parent();
        while let Some(p) = up {
            if rules.local_scopes.contains(&p.kind()) {
                match p.child_by_field_name("name") {
                    Some(n) if rules.local_classes && in_class => {
                        parents.push(text(n, source).to_string());
                    }
                    _ => {
                        local = true;
                        break;
                    }
                }
            }
            if rules.member_scopes.contains(&p.kind())
                && let Some(n) = p.child_by_field_name("name")
            {
                parents.push(text(n, source).to_string());
                in_class = true;
            }
            up = p.parent();
        }
        if local {
            continue;
        }
        parents.reverse();
        let name_text = text(name, source).to_string();
        let Some(kind) = (rules.classify)(capture, m, source, &name_text, !parents.is_empty())
        else {
            continue;
        };
        if let Some(receiver) = m.get("receiver") {
            parents.push(text(receiver, source).to_string());
        }
        let whole = (rules.whole)(def);
        out.push(Definition {
            exported: (rules.exported)(&name_text),
            name: name_text,
            parents,
            kind,
            span: Span::of(name),
            range: (whole.start_byte() as u32, whole.end_byte() as u32),
        });
    }
    out.sort_by_key(|d| d.span.start);
    out
}

/// How a language binds local names.
pub(crate) struct ScopeRules {
    /// Scope node kinds that are class bodies: visible only directly inside them, not in the
    /// functions they contain.
    pub class_scopes: &'static [&'static str],
    /// Whether a name bound anywhere in a scope is local to the whole scope (Python), rather
    /// than from the end of its declaration on (Go).
    pub hoisted: bool,
    /// Node kinds of binding patterns whose identifiers are all bound (`a, (b, *c) = …`).
    pub patterns: &'static [&'static str],
}

/// The local scopes of one file and the names bound in each.
pub(crate) fn collect_scopes<'s>(
    matches: &[Match<'_, '_>],
    source: &'s [u8],
    rules: &ScopeRules,
) -> ScopeIndex<'s> {
    let mut index = ScopeIndex::default();
    for m in matches {
        for &(capture, node) in &m.captures {
            match capture {
                "local.scope" => index.add_scope(
                    node.start_byte(),
                    node.end_byte(),
                    rules.class_scopes.contains(&node.kind()),
                ),
                "local.outside" => index.add_outside(node.start_byte(), node.end_byte()),
                _ => {}
            }
        }
    }
    index.seal();
    for m in matches {
        for &(capture, node) in &m.captures {
            match capture {
                "local.definition" | "local.definition.outer" => {
                    // A def's or class's own name binds in the scope around it.
                    let skip = usize::from(capture == "local.definition.outer");
                    let mut names = Vec::new();
                    binding_identifiers(node, rules.patterns, &mut names);
                    for ident in names {
                        index.binders.insert(ident.id());
                        let visible_from = if rules.hoisted {
                            0
                        } else {
                            m.get("local.statement")
                                .map_or(ident.start_byte(), |s| s.end_byte())
                        };
                        // A declaration outside every scope is not a local.
                        if let Some(scope) = index.scope_at(ident.start_byte(), skip) {
                            index.bind(text(ident, source), scope, visible_from);
                        }
                    }
                }
                "local.global" => {
                    if let Some(scope) = index.scope_at(node.start_byte(), 0) {
                        index.declare_global(text(node, source), scope);
                    }
                }
                _ => {}
            }
        }
    }
    index
}

/// The identifiers a binding target binds (`a`, `a, b`, `(a, [b, *c])`), not the ones inside
/// attribute or subscript targets (`self.x = …` binds nothing locally).
fn binding_identifiers<'t>(node: Node<'t>, patterns: &[&str], out: &mut Vec<Node<'t>>) {
    if patterns.contains(&node.kind()) {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            binding_identifiers(child, patterns, out);
        }
    } else if node.kind().ends_with("identifier") {
        // `identifier`, and Go's `type_identifier` for local types.
        out.push(node);
    }
}

/// What a language's contracts query matched for one definition: the file's tree, the
/// `contract.*` capture (its name and range) and the `body` capture.
pub(crate) struct ContractMatch {
    /// The parsed file.
    pub tree: tree_sitter::Tree,
    /// `contract.function`, `contract.class`, …
    pub kind: String,
    /// The whole definition.
    pub whole: std::ops::Range<usize>,
    /// Its body, when it has one.
    pub body: Option<std::ops::Range<usize>>,
}

/// The contracts query's match for the definition whose name starts at `name_start`.
pub(crate) fn contract_match(
    language: super::Language,
    query: &tree_sitter::Query,
    source: &str,
    name_start: usize,
) -> Option<ContractMatch> {
    let tree = super::parse(language, source.as_bytes()).ok()?;
    let matches = super::captures_in(query, &tree, source.as_bytes());
    let m = matches
        .iter()
        .find(|m| m.iter().any(|(n, r)| n == "name" && r.start == name_start))?;
    let (kind, whole) = m.iter().find(|(n, _)| n.starts_with("contract."))?.clone();
    let body = m.iter().find(|(n, _)| n == "body").map(|(_, r)| r.clone());
    Some(ContractMatch {
        tree,
        kind,
        whole,
        body,
    })
}

/// The node of one of `kinds` that declares `def` (found up from its name).
pub(crate) fn declaration<'t>(
    tree: &'t tree_sitter::Tree,
    def: &Definition,
    kinds: &[&str],
) -> Option<tree_sitter::Node<'t>> {
    let mut node = tree
        .root_node()
        .descendant_for_byte_range(def.span.start as usize, def.span.end as usize)?;
    while !kinds.contains(&node.kind()) {
        node = node.parent()?;
    }
    Some(node)
}

/// `old` with the `from` prefix replaced by `to`, if it is `from` or inside it.
pub(crate) fn remap(module: &str, from: &str, to: &str) -> Option<String> {
    if module == from {
        Some(to.to_string())
    } else {
        module
            .strip_prefix(from)
            .filter(|rest| rest.starts_with('.') || rest.starts_with('/'))
            .map(|rest| format!("{to}{rest}"))
    }
}

/// `target` (a relative path, as a manifest writes it) joined to the repository folder `dir`
/// and normalized: `("cmd", "../../lib")` is `../lib`. `None` for an absolute target.
pub fn normalize_relative(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    let mut above = 0usize;
    for part in dir.split('/').chain(target.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    above += 1;
                }
            }
            p => parts.push(p),
        }
    }
    let mut out: Vec<&str> = std::iter::repeat_n("..", above).collect();
    out.extend(parts);
    Some(out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node's parent from the one walk is the one tree-sitter finds from the root.
    #[test]
    fn parents_agree_with_tree_sitter() {
        let sources = [
            (
                super::super::Language::Python,
                "import os\n@dec\nclass A(B):\n    def f(self, x: int = 1):\n        return [y for y in x if (z := y)]\n",
            ),
            (
                super::super::Language::Go,
                "package p\n\nfunc (s *S) F(a, b int) (int, error) {\n\tfor i := range a {\n\t\t_ = i\n\t}\n\treturn a + b, nil\n}\n",
            ),
        ];
        for (language, source) in sources {
            let tree = super::super::parse(language, source.as_bytes()).expect("parses");
            let root = tree.root_node();
            let parents = Parents::of(root);
            let mut cursor = root.walk();
            let mut seen = 0;
            let mut stack = vec![root];
            while let Some(node) = stack.pop() {
                seen += 1;
                assert_eq!(parents.parent(node), node.parent(), "{node:?} in {source}");
                stack.extend(node.children(&mut cursor));
            }
            assert!(seen > 30, "{seen} nodes");
            let mut walked = Vec::new();
            let mut stack = vec![root];
            while let Some(node) = stack.pop() {
                walked.push(node);
                stack.extend(node.named_children(&mut cursor));
            }
            assert_eq!(parents.named(), walked.as_slice());
            let leaf = root.descendant_for_byte_range(source.len() - 3, source.len() - 3);
            let leaf = leaf.expect("a leaf");
            let up: Vec<_> = parents.ancestors(leaf).collect();
            let expected: Vec<_> = std::iter::successors(leaf.parent(), |n| n.parent()).collect();
            assert_eq!(up, expected);
        }
    }

    #[test]
    fn remap_only_inside_the_moved_module() {
        assert_eq!(remap("a.b", "a.b", "c.d").as_deref(), Some("c.d"));
        assert_eq!(remap("a.b.x", "a.b", "c.d").as_deref(), Some("c.d.x"));
        assert_eq!(remap("a.bc", "a.b", "c.d"), None);
        assert_eq!(
            remap("example.com/m/x/y", "example.com/m/x", "example.com/m/z").as_deref(),
            Some("example.com/m/z/y")
        );
    }
}

/// A file reduced to what a focused view is made of: where its import block ends, and each
/// definition (class, function, method, type) with its one-line header and its range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skeleton {
    /// One past the last byte of the import block at the top of the file (package clause,
    /// imports), or 0 when there is none.
    pub imports_end: usize,
    /// In file order; nested definitions (methods) follow their class.
    pub definitions: Vec<Outlined>,
}

/// One definition in a [`Skeleton`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlined {
    /// Its header on one line: `def fetch(self, id: int) -> Order`, `func (s *Store) Get(id string) error`.
    pub header: String,
    /// From its first decorator or doc-less keyword to its end.
    pub range: std::ops::Range<usize>,
    /// How many outlined definitions enclose it.
    pub depth: usize,
    /// Whether it is a function or method (a region's natural unit) rather than a type.
    pub callable: bool,
}

/// The longest header an outline keeps (a signature over many lines is joined, then cut).
const HEADER_CHARS: usize = 160;

/// A file's [`Skeleton`] from its contracts query (`@contract.function`, `@contract.class`,
/// `@contract.type` with `@body`) and the top-level node kinds that make up its import block.
/// `decorated` is the node kind that wraps a definition with its decorators, if any.
pub(crate) fn skeleton(
    language: super::Language,
    query: &tree_sitter::Query,
    source: &str,
    import_kinds: &[&str],
    decorated: Option<&str>,
) -> Option<Skeleton> {
    let tree = super::parse(language, source.as_bytes()).ok()?;
    let root = tree.root_node();
    // The import block: up to the last import before the first definition.
    let mut imports_end = 0;
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        if import_kinds.contains(&child.kind()) {
            imports_end = child.end_byte();
        } else if child.kind().contains("definition") || child.kind().contains("declaration") {
            break;
        }
    }
    let mut definitions: Vec<Outlined> = Vec::new();
    for m in super::captures_in(query, &tree, source.as_bytes()) {
        let Some((kind, whole)) = m.iter().find(|(n, _)| n.starts_with("contract.")) else {
            continue;
        };
        if kind == "contract.value" {
            continue;
        }
        let mut start = whole.start;
        if let Some(decorated) = decorated
            && let Some(node) = root.descendant_for_byte_range(whole.start, whole.end)
            && let Some(parent) = node.parent()
            && parent.kind() == decorated
        {
            start = parent.start_byte();
        }
        let body = m.iter().find(|(n, _)| n == "body").map(|(_, r)| r.clone());
        // The header ends where the last piece before the body does (a comment after the
        // colon is not part of it); a type without a body is its first line.
        let header_end = match (
            &body,
            root.descendant_for_byte_range(whole.start, whole.end),
        ) {
            (Some(body), Some(node)) => {
                let mut cursor = node.walk();
                node.children(&mut cursor)
                    .take_while(|c| c.start_byte() < body.start)
                    .filter(|c| c.kind() != "comment")
                    .map(|c| c.end_byte())
                    .last()
                    .unwrap_or(body.start)
            }
            (Some(body), None) => body.start,
            (None, _) => source[whole.clone()]
                .find('\n')
                .map_or(whole.end, |i| whole.start + i),
        };
        // Decorators stay out of the header line: the definition's own line is what it names.
        let joined: String = source[whole.start..header_end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let joined = joined.trim_end_matches([':', '{', ' ']);
        let mut header: String = joined.chars().take(HEADER_CHARS).collect();
        if header.len() < joined.len() {
            header.push('…');
        }
        definitions.push(Outlined {
            header,
            range: start..whole.end,
            depth: 0,
            callable: kind == "contract.function",
        });
    }
    definitions.sort_by_key(|d| (d.range.start, std::cmp::Reverse(d.range.end)));
    definitions.dedup_by_key(|d| d.range.clone());
    for i in 0..definitions.len() {
        let r = definitions[i].range.clone();
        definitions[i].depth = definitions[..i]
            .iter()
            .filter(|o| o.range.start <= r.start && r.end <= o.range.end)
            .count();
    }
    Some(Skeleton {
        imports_end,
        definitions,
    })
}
