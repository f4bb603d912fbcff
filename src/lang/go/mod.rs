//! Go: facts from `queries/go/*.scm`, and the resolver that maps import paths to package
//! folders (module path from `go.mod`, nested modules) and names to symbols (package scope
//! shared by all files of a package, aliased and dot imports, methods by receiver type).

mod compat;
mod contract;
mod format;
mod imports;
mod modfile;
mod moves;
mod resolve;
mod tags;
mod typefacts;
mod typing;

use std::sync::LazyLock;

use tree_sitter::{Node, Query};

use super::query::{self, Match, QueryError, QuerySet};
use super::scope::ScopeIndex;
use super::shared::{self, DefinitionRules, ScopeRules};
use crate::lang::Language;
use crate::lang::facts::{
    FileFacts, Import, ImportContext, ImportKind, Reference, ReferenceKind, Segment, Span,
    SymbolKind,
};

/// The compiled Go queries.
pub struct GoQueries {
    /// imports, definitions, references and locals in one query.
    all: Query,
}

impl QuerySet for GoQueries {
    fn compile_all() -> Result<Self, QueryError> {
        let files = query::bundled_queries!("go");
        let all = query::compile_combined(&tree_sitter_go::LANGUAGE.into(), &files)?;
        Ok(GoQueries { all })
    }
}

static QUERIES: LazyLock<Result<GoQueries, QueryError>> = LazyLock::new(GoQueries::compile_all);

/// The process-wide compiled queries.
pub fn queries() -> Result<&'static GoQueries, &'static QueryError> {
    QUERIES.as_ref()
}

/// Go's predeclared types (their members are never repository symbols).
pub(super) const PREDECLARED_TYPES: &[&str] = &[
    "any",
    "bool",
    "byte",
    "comparable",
    "complex128",
    "complex64",
    "error",
    "float32",
    "float64",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "rune",
    "string",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "uintptr",
];

/// Go's other predeclared identifiers: constants, `nil`, built-in functions.
const PREDECLARED_VALUES: &[&str] = &[
    "_", "append", "cap", "clear", "close", "complex", "copy", "delete", "false", "imag", "iota",
    "len", "make", "max", "min", "new", "nil", "panic", "print", "println", "real", "recover",
    "true",
];

/// Predeclared identifiers: never repository symbols, so not worth recording.
fn is_predeclared(name: &str) -> bool {
    PREDECLARED_TYPES.contains(&name) || PREDECLARED_VALUES.contains(&name)
}

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

use super::shared::text;

/// Go's definitions: package-level declarations (a declaration inside a function body is a
/// local); a method's parent is its receiver's type.
const DEFINITIONS: DefinitionRules = DefinitionRules {
    local_scopes: &["function_declaration", "method_declaration", "func_literal"],
    member_scopes: &[],
    local_classes: false,
    classify: classify_definition,
    whole: whole_declaration,
    exported: is_exported,
};

/// Go binds a local from the end of its declaration (`x := x + 1` reads the outer `x`), a
/// parameter from its position.
const SCOPES: ScopeRules = ScopeRules {
    class_scopes: &[],
    hoisted: false,
    patterns: &[],
};

fn classify_definition(
    capture: &str,
    m: &Match<'_, '_>,
    _source: &[u8],
    name: &str,
    _member: bool,
) -> Option<SymbolKind> {
    if name == "_" {
        return None;
    }
    Some(match capture {
        "definition.function" => SymbolKind::Function,
        // A method whose receiver type the query could not read is not a symbol.
        "definition.method" => {
            m.get("receiver")?;
            SymbolKind::Method
        }
        "definition.type" => match m.get("type").map(|t| t.kind()) {
            Some("struct_type") => SymbolKind::Struct,
            Some("interface_type") => SymbolKind::Interface,
            _ => SymbolKind::Type,
        },
        "definition.constant" => SymbolKind::Constant,
        _ => SymbolKind::Variable,
    })
}

/// A spec alone in its declaration (`type X struct{}`) reaches over the keyword; a spec of a
/// grouped `var ( … )` is its own range.
fn whole_declaration(def: Node<'_>) -> Node<'_> {
    match def.parent() {
        Some(p)
            if matches!(
                p.kind(),
                "type_declaration" | "const_declaration" | "var_declaration"
            ) && p.named_child_count() == 1 =>
        {
            p
        }
        _ => def,
    }
}

/// Go exports names that start with an upper-case letter.
fn is_exported(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

/// Extract the facts of one Go file from its parse tree.
fn extract(path: &str, source: &[u8], tree: &tree_sitter::Tree, q: &GoQueries) -> FileFacts {
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

    let mut definitions = shared::extract_definitions(&matches, source, &DEFINITIONS);
    let (types, members) = typefacts::extract(root, source);
    definitions.extend(members);
    let scopes = shared::collect_scopes(&matches, source, &SCOPES);
    let references = extract_references(&matches, source, &scopes);

    FileFacts {
        path: path.to_string(),
        language: Language::Go,
        package_name,
        build_constraint: build_constraint(path, source),
        imports,
        definitions,
        references,
        parse_errors: crate::lang::facts::count_parse_errors(root),
        generated: is_generated(source),
        generators: generators(source),
        mentions: directive_mentions(source),
        types,
    }
}

/// Whether a file says it is generated, by Go's convention: a line `// Code generated … DO NOT
/// EDIT.` (before the package clause, as `go generate` tools write it).
fn is_generated(source: &[u8]) -> bool {
    let head = &source[..source.len().min(16 * 1024)];
    String::from_utf8_lossy(head)
        .lines()
        .take_while(|l| !l.starts_with("package "))
        .any(|l| l.starts_with("// Code generated ") && l.trim_end().ends_with(" DO NOT EDIT."))
}

/// The names in a file's `//go:linkname` and `//go:generate` lines: each word that could be a
/// Go name or a qualified `path.Name`, with its span. Directives are whole lines starting with
/// `//go:`, so the text is scanned by line, not the tree.
fn directive_mentions(source: &[u8]) -> Vec<Segment> {
    let mut out = Vec::new();
    if !source.windows(5).any(|w| w == b"//go:") {
        return out;
    }
    let mut offset = 0;
    for (row, line) in source.split(|&b| b == b'\n').enumerate() {
        let start_of_line = offset;
        offset += line.len() + 1;
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some(rest) = line
            .strip_prefix("//go:linkname ")
            .or_else(|| line.strip_prefix("//go:generate "))
        else {
            continue;
        };
        let base = line.len() - rest.len();
        let mut at = 0;
        for word in rest.split(|c: char| !(c.is_alphanumeric() || "_./-".contains(c))) {
            let word_start = base + at;
            at += word.len() + 1;
            // `path.Name` → the name after the last dot; `-type=Kind` splits at `=`.
            let name = word.rsplit('.').next().unwrap_or(word);
            if !name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let column = word_start + (word.len() - name.len());
            let start = start_of_line + column;
            out.push(Segment {
                name: word.to_string(),
                span: Span {
                    line: row as u32 + 1,
                    column: column as u32 + 1,
                    start: start as u32,
                    end: (start + name.len()) as u32,
                },
            });
        }
    }
    out
}

/// The `//go:generate` directives of a file, with their 1-based lines.
fn generators(source: &[u8]) -> Vec<(u32, String)> {
    if !source.windows(13).any(|w| w == b"//go:generate") {
        return Vec::new();
    }
    String::from_utf8_lossy(source)
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let command = l.strip_prefix("//go:generate ")?;
            Some((i as u32 + 1, command.trim().to_string()))
        })
        .collect()
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
                absolute: false,
                segments: vec![segment(pkg, source), segment(name, source)],
                kind: ReferenceKind::Code,
                local_import: None,
                receiver: None,
                local_symbol: None,
            });
            continue;
        }
        let Some(node) = m.get("reference").or_else(|| m.get("reference.type")) else {
            continue;
        };
        let name = text(node, source);
        if is_predeclared(name)
            || scopes.binders.contains(&node.id())
            || scopes.shadows(name, node.start_byte())
            || !is_read_position(node)
        {
            continue;
        }
        out.push(Reference {
            absolute: false,
            segments: selector_chain(node, source),
            kind: ReferenceKind::Code,
            local_import: None,
            receiver: None,
            local_symbol: None,
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

/// Methods by which types satisfy interfaces of the standard library that code checks for at
/// run time (type assertions, `fmt`, encoders, `sort`, `database/sql`, `errors`).
const OUTSIDE_INTERFACES: &[(&str, &str)] = &[
    ("String", "fmt.Stringer"),
    ("GoString", "fmt.GoStringer"),
    ("Format", "fmt.Formatter"),
    ("Error", "error"),
    ("Unwrap", "errors (Unwrap)"),
    ("Is", "errors (Is)"),
    ("As", "errors (As)"),
    ("ServeHTTP", "http.Handler"),
    ("RoundTrip", "http.RoundTripper"),
    ("MarshalJSON", "json.Marshaler"),
    ("UnmarshalJSON", "json.Unmarshaler"),
    ("MarshalText", "encoding.TextMarshaler"),
    ("UnmarshalText", "encoding.TextUnmarshaler"),
    ("MarshalBinary", "encoding.BinaryMarshaler"),
    ("UnmarshalBinary", "encoding.BinaryUnmarshaler"),
    ("MarshalXML", "xml.Marshaler"),
    ("UnmarshalXML", "xml.Unmarshaler"),
    ("MarshalYAML", "yaml.Marshaler"),
    ("UnmarshalYAML", "yaml.Unmarshaler"),
    ("Read", "io.Reader"),
    ("Write", "io.Writer"),
    ("Close", "io.Closer"),
    ("Seek", "io.Seeker"),
    ("ReadAt", "io.ReaderAt"),
    ("WriteTo", "io.WriterTo"),
    ("ReadFrom", "io.ReaderFrom"),
    ("Len", "sort.Interface"),
    ("Less", "sort.Interface"),
    ("Swap", "sort.Interface"),
    ("Scan", "sql.Scanner"),
    ("Value", "driver.Valuer"),
    ("Lock", "sync.Locker"),
    ("Unlock", "sync.Locker"),
];

/// Go's [`Support`](crate::lang::Support).
pub struct Go;

#[rustfmt::skip]
const KEYWORDS: &[&str] = &[
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
    "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
    "return", "select", "struct", "switch", "type", "var",
];

/// Whether a folder belongs to a Go module nested below the repository root (its packages
/// cannot be named from the root module's `go` commands).
fn in_nested_module(root: &std::path::Path, folder: &str) -> bool {
    let mut dir = folder;
    while !dir.is_empty() {
        if root.join(dir).join("go.mod").is_file() {
            return true;
        }
        dir = dir.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    }
    false
}

impl crate::lang::Support for Go {
    fn extensions(&self) -> &'static [&'static str] {
        &["go"]
    }

    fn manifests(&self) -> &'static [&'static str] {
        &["go.mod", "go.work"]
    }

    fn grammar(&self) -> tree_sitter::Language {
        tree_sitter_go::LANGUAGE.into()
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
        resolve::resolve(files, manifests)
    }

    fn keywords(&self) -> &'static [&'static str] {
        KEYWORDS
    }

    fn is_exported(&self, name: &str) -> bool {
        is_exported(name)
    }

    fn visibility_by_name(&self) -> Option<&'static str> {
        Some("Go exports names that start with an upper-case letter")
    }

    fn is_test_file(&self, path: &str) -> bool {
        path.ends_with("_test.go")
    }

    fn package_target(&self, root: &std::path::Path, path: &str) -> Option<String> {
        let folder = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if in_nested_module(root, folder) {
            return None;
        }
        Some(if folder.is_empty() {
            ".".to_string()
        } else {
            format!("./{folder}")
        })
    }

    fn line_comment(&self) -> &'static str {
        "//"
    }

    fn test_name_part(&self, name: &str, old: &str) -> Option<(usize, String)> {
        // `TestOld`, `TestOld_case`, `TestOldMissing`, `TestType_Old` (a method), and the same
        // for benchmarks and fuzz tests.
        for prefix in ["Test", "Benchmark", "Fuzz"] {
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            let mut at = prefix.len();
            for part in rest.split('_') {
                if let Some(after) = part.strip_prefix(old)
                    && (after.is_empty() || after.starts_with(|c: char| c.is_uppercase()))
                {
                    return Some((at, part.to_string()));
                }
                at += part.len() + 1;
            }
        }
        None
    }

    fn outside_paths(&self, manifests: &crate::lang::Manifests) -> Vec<String> {
        let mut out = Vec::new();
        for (dir, text) in manifests.named("go.mod") {
            for target in modfile::local_replacements(text) {
                if let Some(path) = crate::lang::shared::normalize_relative(dir, &target)
                    && path.starts_with("../")
                {
                    out.push(path);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn contract(&self, source: &str, name_start: usize) -> Option<String> {
        contract::contract(source, name_start)
    }

    fn skeleton(&self, source: &str) -> Option<crate::lang::Skeleton> {
        shared::skeleton(
            crate::lang::Language::Go,
            contract::query()?,
            source,
            &["package_clause", "import_declaration"],
            None,
        )
    }

    fn doc_range(
        &self,
        def: &crate::lang::facts::Definition,
        source: &str,
    ) -> Result<Option<std::ops::Range<usize>>, crate::lang::ExtractError> {
        Ok(compat::doc_comment(def, source))
    }

    fn alias_blocker(&self, kind: SymbolKind) -> Option<&'static str> {
        compat::alias_blocker(kind)
    }

    fn alias_marker(&self, new: &str) -> String {
        compat::alias_marker(new)
    }

    fn alias_block(
        &self,
        def: &crate::lang::facts::Definition,
        source: &str,
        old: &str,
        new: &str,
    ) -> Result<String, crate::lang::RewriteError> {
        compat::alias_block(def, source, old, new)
    }

    fn wire_name_tag(
        &self,
        source: &str,
        def: &crate::lang::facts::Definition,
        package_imports: &[&str],
        old: &str,
    ) -> Option<(usize, String)> {
        if def.kind != SymbolKind::Field {
            return None;
        }
        tags::wire_name_tag(source, def, package_imports, old)
    }

    fn outside_interface(&self, method: &str, _outside_bases: &[String]) -> Option<String> {
        OUTSIDE_INTERFACES
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, iface)| {
                format!(
                    "is how the type satisfies {iface}, an interface outside the repository: the rename would build and still break it at run time (type assertions, encoders, fmt)"
                )
            })
    }

    fn check_import(&self, text: &str) -> Result<(), &'static str> {
        if !text.is_empty() && !text.contains(['"', ' ', '\t']) {
            Ok(())
        } else {
            Err("a Go import is an import path, such as \"os\"")
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

    fn move_module(
        &self,
        request: &crate::lang::ModuleMove<'_>,
    ) -> Result<Vec<crate::change::FileChange>, crate::lang::RewriteError> {
        moves::move_module(request)
    }

    fn format(
        &self,
        _root: &std::path::Path,
        _path: &str,
        before: &str,
        after: &str,
    ) -> crate::lang::Formatted {
        crate::lang::Formatted {
            text: format::format(before, after),
            notes: Vec::new(),
        }
    }
}
