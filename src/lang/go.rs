//! Go: facts from `queries/go/*.scm`, and the resolver that maps import paths to package
//! folders (module path from `go.mod`, nested modules) and names to symbols (package scope
//! shared by all files of a package, aliased and dot imports, methods by receiver type).

mod resolve;

use std::collections::HashSet;
use std::sync::LazyLock;

use tree_sitter::{Node, Query};

use super::query::{self, Match, QueryError, QuerySet};
use super::scope::ScopeIndex;
use crate::facts::{
    Definition, FileFacts, Import, ImportContext, ImportKind, Reference, ReferenceKind, Segment,
    Span, SymbolKind,
};
use crate::lang::Language;

pub use resolve::{display_folder, resolve};

/// The compiled Go queries.
pub struct GoQueries {
    /// imports, definitions, references and locals in one query.
    all: Query,
}

impl QuerySet for GoQueries {
    fn compile_all() -> Result<Self, QueryError> {
        let files = query::bundled_queries!("go");
        let all = query::compile_combined(&Language::Go.grammar(), &files)?;
        Ok(GoQueries { all })
    }
}

static QUERIES: LazyLock<Result<GoQueries, QueryError>> = LazyLock::new(GoQueries::compile_all);

/// The process-wide compiled queries.
pub fn queries() -> Result<&'static GoQueries, &'static QueryError> {
    QUERIES.as_ref()
}

/// Predeclared identifiers: never repository symbols, so not worth recording.
const PREDECLARED: &[&str] = &[
    "_",
    "any",
    "append",
    "bool",
    "byte",
    "cap",
    "clear",
    "close",
    "comparable",
    "complex",
    "complex128",
    "complex64",
    "copy",
    "delete",
    "error",
    "false",
    "float32",
    "float64",
    "imag",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "iota",
    "len",
    "make",
    "max",
    "min",
    "new",
    "nil",
    "panic",
    "print",
    "println",
    "real",
    "recover",
    "rune",
    "string",
    "true",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "uintptr",
];

const GOOS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];
const GOARCH: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le", "ppc64",
    "ppc64le", "riscv64", "s390x", "wasm",
];

fn text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

/// Extract the facts of one Go file from its parse tree.
pub fn extract(path: &str, source: &[u8], tree: &tree_sitter::Tree, q: &GoQueries) -> FileFacts {
    let root = tree.root_node();
    let matches = query::run(&q.all, root, source);
    let mut package_name = None;
    let mut imports = Vec::new();
    for m in matches.iter() {
        if let Some(pkg) = m.get("package") {
            package_name.get_or_insert_with(|| text(pkg, source).to_string());
            continue;
        }
        let (Some(spec), Some(path_node)) = (m.get("import"), m.get("import.path")) else {
            continue;
        };
        let raw = text(path_node, source);
        let import_path = raw.trim_matches(['"', '`']).to_string();
        imports.push(Import {
            span: Span::of(spec),
            text: raw.to_string(),
            kind: ImportKind::Package {
                path: import_path,
                alias: m.get("import.alias").map(|a| text(a, source).to_string()),
            },
            context: ImportContext::Module,
        });
    }

    let definitions = extract_definitions(&matches, source);
    let scopes = collect_scopes(&matches, source);
    let references = extract_references(&matches, source, &scopes);

    FileFacts {
        path: path.to_string(),
        language: Language::Go,
        package_name,
        build_constraint: build_constraint(path, source),
        imports,
        definitions,
        references,
        parse_errors: crate::facts::count_parse_errors(root),
    }
}

/// The `//go:build` line (or legacy `// +build` lines) before the package clause, combined with
/// the constraint a `_GOOS`/`_GOARCH` file-name suffix implies.
fn build_constraint(path: &str, source: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let head = std::str::from_utf8(&source[..source.len().min(8192)]).unwrap_or("");
    let mut legacy = Vec::new();
    for line in head.lines() {
        let line = line.trim();
        if line.starts_with("package ") {
            break;
        }
        if let Some(expr) = line.strip_prefix("//go:build ") {
            parts.push(expr.trim().to_string());
        } else if let Some(expr) = line.strip_prefix("// +build ") {
            legacy.push(expr.trim().to_string());
        }
    }
    if parts.is_empty() && !legacy.is_empty() {
        parts.push(format!("+build {}", legacy.join(" ")));
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.strip_suffix(".go").unwrap_or(name);
    let stem = stem.strip_suffix("_test").unwrap_or(stem);
    let elems: Vec<&str> = stem.split('_').collect();
    if elems.len() >= 2 {
        let last = elems[elems.len() - 1];
        let before = elems[elems.len() - 2];
        let implied = if GOARCH.contains(&last) && GOOS.contains(&before) && elems.len() >= 3 {
            Some(format!("{before} && {last}"))
        } else if GOOS.contains(&last) || GOARCH.contains(&last) {
            Some(last.to_string())
        } else {
            None
        };
        if let Some(implied) = implied.filter(|i| !parts.contains(i)) {
            parts.push(implied);
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(
            parts
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" && "),
        ),
    }
}

fn in_function(node: Node<'_>) -> bool {
    let mut up = node.parent();
    while let Some(p) = up {
        if matches!(
            p.kind(),
            "function_declaration" | "method_declaration" | "func_literal"
        ) {
            return true;
        }
        up = p.parent();
    }
    false
}

fn extract_definitions<'t>(matches: &[Match<'_, 't>], source: &[u8]) -> Vec<Definition> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for m in matches.iter() {
        let Some(name) = m.get("name") else { continue };
        let Some((capture, def)) = m
            .captures
            .iter()
            .find(|(n, _)| n.starts_with("definition."))
        else {
            continue;
        };
        if !seen.insert(name.id()) {
            continue;
        }
        if !matches!(*capture, "definition.function" | "definition.method") && in_function(*def) {
            continue;
        }
        let name_text = text(name, source).to_string();
        if name_text == "_" {
            continue;
        }
        let mut parents = Vec::new();
        let kind = match *capture {
            "definition.function" => SymbolKind::Function,
            "definition.method" => {
                let Some(receiver) = m.get("receiver") else {
                    continue;
                };
                parents.push(text(receiver, source).to_string());
                SymbolKind::Method
            }
            "definition.type" => match m.get("type").map(|t| t.kind()) {
                Some("struct_type") => SymbolKind::Struct,
                Some("interface_type") => SymbolKind::Interface,
                _ => SymbolKind::Type,
            },
            "definition.constant" => SymbolKind::Constant,
            _ => SymbolKind::Variable,
        };
        // Whole declaration: a grouped `var ( … )` spec is its own range.
        let whole = match def.parent() {
            Some(p)
                if matches!(
                    p.kind(),
                    "type_declaration" | "const_declaration" | "var_declaration"
                ) && p.named_child_count() == 1 =>
            {
                p
            }
            _ => *def,
        };
        out.push(Definition {
            exported: name_text.chars().next().is_some_and(char::is_uppercase),
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

/// Local scopes and declarations, from `queries/go/locals.scm`. A declaration is visible from
/// the end of its statement (`x := x + 1` reads the outer `x`), a parameter from its position.
fn collect_scopes<'s>(matches: &[Match<'_, '_>], source: &'s [u8]) -> ScopeIndex<'s> {
    let mut index = ScopeIndex::default();
    for m in matches {
        if let Some(scope) = m.get("local.scope") {
            index.add_scope(scope.start_byte(), scope.end_byte(), false);
        }
    }
    index.seal();
    for m in matches {
        let Some(ident) = m.get("local.definition") else {
            continue;
        };
        index.binders.insert(ident.id());
        let visible_from = m
            .get("local.statement")
            .map_or(ident.start_byte(), |s| s.end_byte());
        // The scope is the innermost one around the declaration; a package-level declaration
        // has none and is not a local.
        if let Some(scope) = index.scope_at(ident.start_byte(), 0) {
            index.bind(text(ident, source), scope, visible_from);
        }
    }
    index
}

/// Whether an identifier stands where Go reads a name.
fn is_read_position(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind() {
        // The declared name, not the result type (`func Quote() Order`) or the aliased type
        // (`type Money = Cents`), which are children of the same node.
        "function_declaration" | "type_alias" => parent
            .child_by_field_name("name")
            .is_none_or(|n| n.id() != node.id()),
        "labeled_statement" | "qualified_type" => false,
        // `Order{ID: 1}`: the key of a struct literal names a field, not a value.
        "literal_element" => parent.parent().is_none_or(|kv| {
            kv.kind() != "keyed_element"
                || kv
                    .child_by_field_name("key")
                    .is_none_or(|k| k.id() != parent.id())
        }),
        "selector_expression" => parent
            .child_by_field_name("operand")
            .is_some_and(|o| o.id() == node.id()),
        _ => true,
    }
}

fn extract_references(
    matches: &[Match<'_, '_>],
    source: &[u8],
    scopes: &ScopeIndex<'_>,
) -> Vec<Reference> {
    let mut out = Vec::new();
    for m in matches.iter() {
        if let (Some(pkg), Some(name)) = (m.get("reference.package"), m.get("reference.name")) {
            let pkg_name = text(pkg, source);
            if scopes.shadows(pkg_name, pkg.start_byte()) {
                continue;
            }
            out.push(Reference {
                segments: vec![segment(pkg, source), segment(name, source)],
                kind: ReferenceKind::Code,
            });
            continue;
        }
        let Some(node) = m.get("reference").or_else(|| m.get("reference.type")) else {
            continue;
        };
        let name = text(node, source);
        if PREDECLARED.contains(&name)
            || scopes.binders.contains(&node.id())
            || scopes.shadows(name, node.start_byte())
            || !is_read_position(node)
        {
            continue;
        }
        out.push(Reference {
            segments: selector_chain(node, source),
            kind: ReferenceKind::Code,
        });
    }
    out
}

fn segment(node: Node<'_>, source: &[u8]) -> Segment {
    Segment {
        name: text(node, source).to_string(),
        span: Span::of(node),
    }
}

/// `models.Order.Total` from its root identifier `models`.
fn selector_chain(root: Node<'_>, source: &[u8]) -> Vec<Segment> {
    let mut segments = vec![segment(root, source)];
    let mut current = root;
    while let Some(parent) = current.parent() {
        if parent.kind() != "selector_expression"
            || parent
                .child_by_field_name("operand")
                .is_none_or(|o| o.id() != current.id())
        {
            break;
        }
        let Some(field) = parent.child_by_field_name("field") else {
            break;
        };
        segments.push(segment(field, source));
        current = parent;
    }
    segments
}

/// The structs in a file that embed a type, found from the type's reference spans: a
/// reference that is the whole type of a field declaration without a name (`models.Order`,
/// `*Order`) makes its struct embed the type, and gives the struct a field named after it.
pub fn embedding_structs(source: &[u8], reference_starts: &[usize]) -> Vec<String> {
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
pub fn keyed_fields(source: &[u8], structs: &[String], field: &str) -> Vec<(usize, usize)> {
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
