//! Python: facts from `queries/python/*.scm`, and the resolver that maps imports to files and
//! names to symbols (packages, namespace packages, several roots, relative imports,
//! re-exports through `__init__.py`, `importlib` with literal arguments).

mod compat;
mod contract;
mod environment;
mod format;
mod imports;
mod moves;
mod resolve;

use std::collections::HashSet;
use std::sync::LazyLock;

use tree_sitter::{Node, Query};

use super::query::{self, Match, QueryError, QuerySet};
use super::scope::ScopeIndex;
use super::shared::{self, DefinitionRules, ScopeRules};
use crate::lang::Language;
use crate::lang::facts::{
    FileFacts, Import, ImportContext, ImportKind, ImportedName, Reference, ReferenceKind, Segment,
    Span, SymbolKind,
};

/// The compiled Python queries.
pub struct PythonQueries {
    /// imports, definitions, references and locals in one query.
    all: Query,
}

impl QuerySet for PythonQueries {
    fn compile_all() -> Result<Self, QueryError> {
        let files = query::bundled_queries!("python");
        let all = query::compile_combined(&tree_sitter_python::LANGUAGE.into(), &files)?;
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
fn extract(path: &str, source: &[u8], tree: &tree_sitter::Tree, q: &PythonQueries) -> FileFacts {
    let root = tree.root_node();
    let matches = query::run(&q.all, root, source);
    let imports = extract_imports(&matches, source);
    let definitions = shared::extract_definitions(&matches, source, &DEFINITIONS);
    let scopes = shared::collect_scopes(&matches, source, &SCOPES);

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
        parse_errors: crate::lang::facts::count_parse_errors(root),
        types: Default::default(),
    }
}

use super::shared::text;

/// Python's definitions: module-level ones and members of module-level classes (methods, nested
/// classes); a definition inside a function or lambda is a local.
const DEFINITIONS: DefinitionRules = DefinitionRules {
    local_scopes: &["function_definition", "lambda"],
    member_scopes: &["class_definition"],
    classify: classify_definition,
    whole: whole_definition,
    exported: is_exported,
};

/// Python binds a name for its whole scope (a name assigned anywhere in a function is local
/// to all of it); class bodies are not enclosing scopes for their methods.
const SCOPES: ScopeRules = ScopeRules {
    class_scopes: &["class_definition"],
    hoisted: true,
    patterns: &[
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "tuple",
        "list",
        "parenthesized_expression",
        "list_splat_pattern",
        "expression_list",
        "as_pattern_target",
        "list_splat",
    ],
};

fn classify_definition(
    capture: &str,
    _m: &Match<'_, '_>,
    _source: &[u8],
    name: &str,
    member: bool,
) -> Option<SymbolKind> {
    if name == "__all__" {
        return None;
    }
    Some(match capture {
        "definition.function" if member => SymbolKind::Method,
        "definition.function" => SymbolKind::Function,
        "definition.class" => SymbolKind::Class,
        "definition.type" => SymbolKind::Type,
        // Class attributes are not symbols (yet).
        _ if member => return None,
        _ if name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            && name.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            SymbolKind::Constant
        }
        _ => SymbolKind::Variable,
    })
}

/// A decorated definition starts at its decorators; an assignment is its whole statement.
fn whole_definition(def: Node<'_>) -> Node<'_> {
    let anchor = if def.kind() == "assignment" {
        def.parent().unwrap_or(def)
    } else {
        def
    };
    match def.parent() {
        Some(p) if p.kind() == "decorated_definition" => p,
        _ => anchor,
    }
}

/// Python's convention: a leading underscore marks a private name.
fn is_exported(name: &str) -> bool {
    !name.starts_with('_')
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

/// Python's [`Support`](crate::lang::Support).
pub struct Python;

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

impl crate::lang::Support for Python {
    fn extensions(&self) -> &'static [&'static str] {
        &["py", "pyi"]
    }

    fn manifests(&self) -> &'static [&'static str] {
        &["pyproject.toml", "setup.cfg", "setup.py"]
    }

    fn grammar(&self) -> tree_sitter::Language {
        tree_sitter_python::LANGUAGE.into()
    }

    fn extract(
        &self,
        path: &str,
        source: &[u8],
        tree: &tree_sitter::Tree,
    ) -> Result<FileFacts, crate::lang::ExtractError> {
        Ok(extract(path, source, tree, queries()?))
    }

    fn resolve(
        &self,
        files: &[(crate::lang::FileId, &FileFacts)],
        manifests: &crate::lang::Manifests,
    ) -> crate::lang::Resolution {
        let paths: Vec<&str> = files.iter().map(|(_, f)| f.path.as_str()).collect();
        let roots = resolve::PythonRoots::detect(manifests, &paths);
        resolve::resolve(files, &roots)
    }

    fn keywords(&self) -> &'static [&'static str] {
        KEYWORDS
    }

    fn is_exported(&self, name: &str) -> bool {
        is_exported(name)
    }

    fn is_test_file(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        (name.starts_with("test_") && name.ends_with(".py")) || name.ends_with("_test.py")
    }

    fn test_target(&self, path: &str) -> Option<String> {
        self.is_test_file(path).then(|| path.to_string())
    }

    fn is_package_init(&self, path: &str) -> bool {
        path.ends_with("__init__.py") || path.ends_with("__init__.pyi")
    }

    fn module_contains(&self, parent: &str, module: &str) -> bool {
        module == parent
            || module
                .strip_prefix(parent)
                .is_some_and(|rest| rest.starts_with('.'))
    }

    fn contract(&self, source: &str, name_start: usize) -> Option<String> {
        contract::contract(source, name_start)
    }

    fn doc_range(
        &self,
        def: &crate::lang::facts::Definition,
        source: &str,
    ) -> Result<Option<std::ops::Range<usize>>, crate::lang::ExtractError> {
        compat::docstring(def, source)
    }

    fn alias_blocker(&self, kind: SymbolKind) -> Option<&'static str> {
        compat::alias_blocker(kind)
    }

    fn alias_marker(&self, new: &str) -> String {
        compat::alias_marker(new)
    }

    fn line_comment(&self) -> &'static str {
        "#"
    }

    fn test_name_part(&self, name: &str, old: &str) -> Option<(usize, String)> {
        // `test_old`, `test_old_when_…`; a class `TestOld`, `TestOldSomething`.
        for prefix in ["test_", "Test"] {
            if let Some(rest) = name.strip_prefix(prefix)
                && let Some(after) = rest.strip_prefix(old)
                && (after.is_empty()
                    || after.starts_with('_')
                    || (prefix == "Test" && after.starts_with(|c: char| c.is_uppercase())))
            {
                return Some((prefix.len(), old.to_string()));
            }
        }
        None
    }

    fn warning_alias(&self, kind: SymbolKind) -> bool {
        compat::warning_alias(kind)
    }

    fn warn_alias(&self, source: &str, kind: SymbolKind, old: &str, new: &str) -> Option<String> {
        compat::warn_alias(source, kind, old, new)
    }

    fn warn_reexport(&self, source: &str, kind: SymbolKind, old: &str, new: &str) -> String {
        compat::warn_reexport(source, kind, old, new)
    }

    fn alias_block(
        &self,
        def: &crate::lang::facts::Definition,
        source: &str,
        old: &str,
        new: &str,
    ) -> Result<String, crate::lang::RewriteError> {
        Ok(compat::alias_block(def, source, old, new))
    }

    fn remove_reexports(&self, source: &str, old: &str, new: &str) -> String {
        compat::remove_reexports(source, old, new)
    }

    fn reexport_both(
        &self,
        kind: ReferenceKind,
        source: &str,
        span: std::ops::Range<usize>,
        old: &str,
        new: &str,
    ) -> Option<String> {
        compat::reexport_both(kind, source, span, old, new)
    }

    fn reexports_kept(&self, old: &str, new: &str) -> Vec<String> {
        compat::reexports_kept(old, new)
    }

    fn check_import(&self, text: &str) -> Result<(), &'static str> {
        let p = text.trim();
        if (p.starts_with("import ") || p.starts_with("from ") && p.contains(" import "))
            && !p.contains('\n')
        {
            Ok(())
        } else {
            Err("a Python import is `import x` or `from x import y`, on one line")
        }
    }

    fn add_import(
        &self,
        path: &str,
        source: &str,
        import: &str,
    ) -> Result<String, crate::lang::RewriteError> {
        imports::add_import(path, source, import)
    }

    fn remove_unused_imports(
        &self,
        path: &str,
        before: &str,
        after: &str,
        replaced: &str,
    ) -> Result<String, crate::lang::RewriteError> {
        imports::remove_unused(path, before, after, replaced)
    }

    fn verify_env(
        &self,
        root: &std::path::Path,
        manifests: &crate::lang::Manifests,
        paths: &[String],
    ) -> Vec<(String, String)> {
        environment::verify_env(root, manifests, paths)
    }

    fn foreign_imports(
        &self,
        root: &std::path::Path,
        manifests: &crate::lang::Manifests,
        paths: &[String],
        env: &[(String, String)],
    ) -> Vec<String> {
        environment::foreign_imports(root, manifests, paths, env)
    }

    fn format(
        &self,
        root: &std::path::Path,
        path: &str,
        before: &str,
        after: &str,
    ) -> crate::lang::Formatted {
        format::format(root, path, before, after)
    }

    fn invalidate_caches(&self, root: &std::path::Path, path: &str) {
        remove_bytecode(root, path);
    }

    fn move_module(
        &self,
        request: &crate::lang::ModuleMove<'_>,
    ) -> Result<Vec<crate::change::FileChange>, crate::lang::RewriteError> {
        moves::move_module(request)
    }
}

/// Remove the bytecode compiled from `path`: `__pycache__/<stem>.<tag>.pyc` (any interpreter,
/// any optimization level) and the legacy `<stem>.pyc` beside it.
fn remove_bytecode(root: &std::path::Path, path: &str) {
    let source = std::path::Path::new(path);
    let (Some(stem), Some(dir)) = (source.file_stem().and_then(|s| s.to_str()), source.parent())
    else {
        return;
    };
    let dir = root.join(dir);
    let _ = std::fs::remove_file(dir.join(format!("{stem}.pyc")));
    let Ok(entries) = std::fs::read_dir(dir.join("__pycache__")) else {
        return;
    };
    let prefix = format!("{stem}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // `m.cpython-312.pyc`, `m.cpython-312.opt-1.pyc`: the stem, then one or more tags.
        if let Some(rest) = name.strip_prefix(&prefix)
            && rest.ends_with(".pyc")
            && !rest.trim_end_matches(".pyc").is_empty()
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    // Gone when empty, so a folder whose modules all moved away is not left behind as a
    // namespace package.
    let _ = std::fs::remove_dir(dir.join("__pycache__"));
}
