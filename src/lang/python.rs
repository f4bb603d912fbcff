//! Python: facts from `queries/python/*.scm`, and the resolver that maps imports to files and
//! names to symbols (packages, namespace packages, several roots, relative imports,
//! re-exports through `__init__.py`, `importlib` with literal arguments).

mod resolve;

use std::collections::HashSet;
use std::sync::LazyLock;

use tree_sitter::{Node, Query};

use super::query::{self, Match, QueryError, QuerySet};
use super::scope::ScopeIndex;
use crate::facts::{
    Definition, FileFacts, Import, ImportContext, ImportKind, ImportedName, Reference,
    ReferenceKind, Segment, Span, SymbolKind,
};
use crate::lang::Language;

pub use resolve::{PythonRoots, from_base, resolve};

/// The compiled Python queries.
pub struct PythonQueries {
    /// imports, definitions, references and locals in one query.
    all: Query,
}

impl QuerySet for PythonQueries {
    fn compile_all() -> Result<Self, QueryError> {
        let files = query::bundled_queries!("python");
        let all = query::compile_combined(&Language::Python.grammar(), &files)?;
        Ok(PythonQueries { all })
    }
}

static QUERIES: LazyLock<Result<PythonQueries, QueryError>> =
    LazyLock::new(PythonQueries::compile_all);

/// The process-wide compiled queries.
pub fn queries() -> Result<&'static PythonQueries, &'static QueryError> {
    QUERIES.as_ref()
}

/// Extract the facts of one Python file from its parse tree.
pub fn extract(
    path: &str,
    source: &[u8],
    tree: &tree_sitter::Tree,
    q: &PythonQueries,
) -> FileFacts {
    let root = tree.root_node();
    let matches = query::run(&q.all, root, source);
    let imports = extract_imports(&matches, source);
    let definitions = extract_definitions(&matches, source);
    let scopes = collect_scopes(&matches, source);

    let mut bound: HashSet<&str> = definitions
        .iter()
        .filter(|d| d.parents.is_empty())
        .map(|d| d.name.as_str())
        .collect();
    let mut star = false;
    for import in &imports {
        match &import.kind {
            ImportKind::Module { module, alias } => {
                bound.insert(match alias {
                    Some(a) => a.as_str(),
                    None => module.split('.').next().unwrap_or(module),
                });
            }
            ImportKind::From { names, star: s, .. } => {
                star |= *s;
                for n in names {
                    bound.insert(n.alias.as_deref().unwrap_or(&n.name));
                }
            }
            ImportKind::Dynamic { .. } | ImportKind::Package { .. } => {}
        }
    }
    let references = extract_references(&matches, source, &scopes, &bound, star);

    FileFacts {
        path: path.to_string(),
        language: Language::Python,
        package_name: None,
        build_constraint: None,
        imports,
        definitions,
        references,
        parse_errors: crate::facts::count_parse_errors(root),
    }
}

fn text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

fn extract_imports<'t>(matches: &[Match<'_, 't>], source: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    for m in matches.iter() {
        for &(name, node) in &m.captures {
            match name {
                "import" => {
                    let mut cursor = node.walk();
                    for child in node.children_by_field_name("name", &mut cursor) {
                        let (module, alias) = dotted_and_alias(child, source);
                        out.push(Import {
                            span: Span::of(child),
                            text: module.clone(),
                            kind: ImportKind::Module { module, alias },
                            context: import_context(node, source),
                        });
                    }
                }
                "import.from" => out.push(from_import(node, source)),
                "import.dynamic" => {
                    let Some(call) = node.parent().and_then(|p| p.parent()) else {
                        continue;
                    };
                    let module = string_literal(node, source).map(str::to_string);
                    out.push(Import {
                        span: Span::of(call),
                        text: text(call, source).to_string(),
                        kind: ImportKind::Dynamic { module },
                        context: import_context(call, source),
                    });
                }
                _ => {}
            }
        }
    }
    out
}

fn dotted_and_alias(node: Node<'_>, source: &[u8]) -> (String, Option<String>) {
    if node.kind() == "aliased_import" {
        let name = node
            .child_by_field_name("name")
            .map(|n| text(n, source))
            .unwrap_or("");
        let alias = node
            .child_by_field_name("alias")
            .map(|n| text(n, source).to_string());
        (name.to_string(), alias)
    } else {
        (text(node, source).to_string(), None)
    }
}

fn from_import(node: Node<'_>, source: &[u8]) -> Import {
    let (level, module) = match node.child_by_field_name("module_name") {
        Some(m) if m.kind() == "relative_import" => {
            let mut level = 0;
            let mut module = String::new();
            let mut cursor = m.walk();
            for child in m.children(&mut cursor) {
                match child.kind() {
                    "import_prefix" => level = text(child, source).matches('.').count() as u32,
                    "dotted_name" => module = text(child, source).to_string(),
                    _ => {}
                }
            }
            (level, module)
        }
        Some(m) => (0, text(m, source).to_string()),
        None => (0, String::new()),
    };
    let mut names = Vec::new();
    let mut cursor = node.walk();
    for child in node.children_by_field_name("name", &mut cursor) {
        let name_node = if child.kind() == "aliased_import" {
            child.child_by_field_name("name").unwrap_or(child)
        } else {
            child
        };
        let (name, alias) = dotted_and_alias(child, source);
        names.push(ImportedName {
            name,
            alias,
            span: Span::of(name_node),
        });
    }
    let mut cursor = node.walk();
    let star = node
        .children(&mut cursor)
        .any(|c| c.kind() == "wildcard_import");
    Import {
        span: Span::of(node),
        text: format!("{}{}", ".".repeat(level as usize), module),
        kind: ImportKind::From {
            level,
            module,
            names,
            star,
        },
        context: import_context(node, source),
    }
}

/// The value of a plain string literal (no f-string interpolation, no concatenation).
fn string_literal<'s>(node: Node<'_>, source: &'s [u8]) -> Option<&'s str> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let mut content = "";
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_start" => {
                let s = text(child, source);
                if s.contains(['f', 'F', 'b', 'B']) {
                    return None;
                }
            }
            "string_content" => content = text(child, source),
            "string_end" => {}
            _ => return None,
        }
    }
    Some(content)
}

fn string_content_node(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .find(|c| c.kind() == "string_content")
}

fn import_context(node: Node<'_>, source: &[u8]) -> ImportContext {
    let mut child = node;
    while let Some(parent) = child.parent() {
        match parent.kind() {
            "function_definition" | "lambda" => return ImportContext::Function,
            "if_statement" => {
                let cond = parent.child_by_field_name("condition");
                let in_consequence = parent
                    .child_by_field_name("consequence")
                    .is_some_and(|c| c.id() == child.id());
                if in_consequence && cond.is_some_and(|c| text(c, source).contains("TYPE_CHECKING"))
                {
                    return ImportContext::TypeChecking;
                }
            }
            "try_statement" => {
                let mut cursor = parent.walk();
                let guarded = parent.children(&mut cursor).any(|c| {
                    c.kind() == "except_clause" && {
                        let t = text(c, source);
                        let header = t.split(':').next().unwrap_or("");
                        header.contains("ImportError") || header.contains("ModuleNotFoundError")
                    }
                });
                if guarded {
                    return ImportContext::Guarded;
                }
            }
            _ => {}
        }
        child = parent;
    }
    ImportContext::Module
}

fn extract_definitions<'t>(matches: &[Match<'_, 't>], source: &[u8]) -> Vec<Definition> {
    let mut out = Vec::new();
    for m in matches.iter() {
        let Some(name) = m.get("name") else { continue };
        let Some((capture, def)) = m
            .captures
            .iter()
            .find(|(n, _)| n.starts_with("definition."))
        else {
            continue;
        };
        // Classes enclosing the definition; a function anywhere above makes it a local.
        let mut parents = Vec::new();
        let mut in_function = false;
        let mut anchor = *def;
        if anchor.kind() == "assignment" {
            anchor = anchor.parent().unwrap_or(anchor);
        }
        let mut up = anchor.parent();
        while let Some(p) = up {
            match p.kind() {
                "function_definition" | "lambda" => {
                    in_function = true;
                    break;
                }
                "class_definition" => {
                    if let Some(n) = p.child_by_field_name("name") {
                        parents.push(text(n, source).to_string());
                    }
                }
                _ => {}
            }
            up = p.parent();
        }
        if in_function {
            continue;
        }
        parents.reverse();
        let name_text = text(name, source).to_string();
        let kind = match *capture {
            "definition.function" if !parents.is_empty() => SymbolKind::Method,
            "definition.function" => SymbolKind::Function,
            "definition.class" => SymbolKind::Class,
            "definition.type" => SymbolKind::Type,
            _ if !parents.is_empty() => continue, // class attributes are not symbols
            _ if name_text
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                && name_text.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                SymbolKind::Constant
            }
            _ => SymbolKind::Variable,
        };
        if name_text == "__all__" {
            continue;
        }
        let whole = match def.parent() {
            Some(p) if p.kind() == "decorated_definition" => p,
            _ => anchor,
        };
        out.push(Definition {
            exported: !name_text.starts_with('_'),
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

/// Local scopes and their bindings, from `queries/python/locals.scm`.
fn collect_scopes<'s>(matches: &[Match<'_, '_>], source: &'s [u8]) -> ScopeIndex<'s> {
    let mut index = ScopeIndex::default();
    for m in matches {
        for &(capture, node) in &m.captures {
            if capture == "local.scope" {
                index.add_scope(
                    node.start_byte(),
                    node.end_byte(),
                    node.kind() == "class_definition",
                );
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
                    binding_identifiers(node, &mut names);
                    for ident in names {
                        index.binders.insert(ident.id());
                        if let Some(scope) = index.scope_at(ident.start_byte(), skip) {
                            index.bind(text(ident, source), scope, 0);
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
fn binding_identifiers<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    match node.kind() {
        "identifier" => out.push(node),
        "pattern_list"
        | "tuple_pattern"
        | "list_pattern"
        | "tuple"
        | "list"
        | "parenthesized_expression"
        | "list_splat_pattern"
        | "expression_list"
        | "as_pattern_target"
        | "list_splat" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                binding_identifiers(child, out);
            }
        }
        _ => {}
    }
}

/// Whether an identifier stands where Python reads a name (not a definition, a parameter, a
/// keyword, an attribute after a dot or part of an import statement).
fn is_read_position(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    let is_field = |field: &str| {
        parent
            .child_by_field_name(field)
            .is_some_and(|n| n.id() == node.id())
    };
    match parent.kind() {
        "attribute" => !is_field("attribute"),
        "keyword_argument" | "default_parameter" | "typed_default_parameter" => !is_field("name"),
        "function_definition" | "class_definition" => !is_field("name"),
        "parameters" | "lambda_parameters" | "typed_parameter" | "dotted_name"
        | "aliased_import" | "global_statement" | "nonlocal_statement" | "import_prefix"
        | "keyword_pattern" => false,
        _ => true,
    }
}

fn extract_references(
    matches: &[Match<'_, '_>],
    source: &[u8],
    scopes: &ScopeIndex<'_>,
    bound: &HashSet<&str>,
    star: bool,
) -> Vec<Reference> {
    let mut out = Vec::new();
    for m in matches.iter() {
        for &(capture, node) in &m.captures {
            match capture {
                "reference" => {
                    let name = text(node, source);
                    if !(star || bound.contains(name))
                        || scopes.binders.contains(&node.id())
                        || scopes.shadows(name, node.start_byte())
                        || !is_read_position(node)
                    {
                        continue;
                    }
                    out.push(Reference {
                        segments: attribute_chain(node, source),
                        kind: ReferenceKind::Code,
                    });
                }
                "reference.annotation" | "reference.all" => {
                    let Some(content) = string_content_node(node) else {
                        continue;
                    };
                    let Some(value) = string_literal(node, source) else {
                        continue;
                    };
                    let Some(segments) = dotted_segments(value, Span::of(content)) else {
                        continue;
                    };
                    out.push(Reference {
                        segments,
                        kind: if capture == "reference.all" {
                            ReferenceKind::AllEntry
                        } else {
                            ReferenceKind::StringAnnotation
                        },
                    });
                }
                _ => {}
            }
        }
    }
    out
}

/// `q.fetch_order.__name__` from its root identifier `q`: each segment with its own span.
fn attribute_chain(root: Node<'_>, source: &[u8]) -> Vec<Segment> {
    let mut segments = vec![Segment {
        name: text(root, source).to_string(),
        span: Span::of(root),
    }];
    let mut current = root;
    while let Some(parent) = current.parent() {
        if parent.kind() != "attribute"
            || parent
                .child_by_field_name("object")
                .is_none_or(|o| o.id() != current.id())
        {
            break;
        }
        let Some(attr) = parent.child_by_field_name("attribute") else {
            break;
        };
        segments.push(Segment {
            name: text(attr, source).to_string(),
            span: Span::of(attr),
        });
        current = parent;
    }
    segments
}

/// Split a string such as `models.Order` (inside a string literal at `at`) into segments, or
/// `None` when it is not a plain dotted name (`"Optional[Order]"` is left alone).
fn dotted_segments(value: &str, at: Span) -> Option<Vec<Segment>> {
    if value.is_empty() || value.len() != value.trim().len() {
        return None;
    }
    let mut segments = Vec::new();
    let mut offset = 0u32;
    for part in value.split('.') {
        let valid = part
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid || value.contains('\n') {
            return None;
        }
        let start = at.start + offset;
        segments.push(Segment {
            name: part.to_string(),
            span: Span {
                line: at.line,
                column: at.column + offset,
                start,
                end: start + part.len() as u32,
            },
        });
        offset += part.len() as u32 + 1;
    }
    Some(segments)
}
