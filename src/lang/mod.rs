//! Languages git-ripple understands: which files belong to which language, the tree-sitter
//! grammar and queries for each, and the per-language resolver that turns facts into edges.
//!
//! Adding a language means a grammar, a folder of queries under `queries/<lang>/` and one
//! resolver module here; nothing outside `lang/` should need to match on a language name except
//! to print it.

pub mod go;
pub mod python;
mod query;
mod scope;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use query::{QueryError, QuerySet};

/// A source language git-ripple can parse and resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Go,
}

impl Language {
    /// Every supported language, in the order reports list them.
    pub const ALL: [Language; 2] = [Language::Python, Language::Go];

    /// The language of a repository path, decided by its extension alone (as editors do), so
    /// that scanning never has to read a file to classify it.
    pub fn from_path(path: &Path) -> Option<Language> {
        match path.extension()?.to_str()? {
            "py" | "pyi" => Some(Language::Python),
            "go" => Some(Language::Go),
            _ => None,
        }
    }

    /// The lower-case name used in output and in `queries/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Go => "go",
        }
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Index of a file in the scan's (path-sorted) file list.
pub type FileId = usize;

/// What one import statement (or one submodule it names) resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "target", rename_all = "snake_case")]
pub enum ImportTarget {
    /// A repository file (Python modules and packages' `__init__.py`).
    File(FileId),
    /// A repository folder: a Go package, or a Python namespace package (no `__init__.py`).
    Folder(String),
    /// The language's standard library.
    Stdlib,
    /// Not in the repository: a third-party dependency.
    External,
    /// Looks like it should be in the repository but is not, or is computed at run time.
    Unresolved(String),
}

/// One import of one file, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedImport {
    pub file: FileId,
    pub line: u32,
    /// The import as written.
    pub text: String,
    pub target: ImportTarget,
    pub context: crate::facts::ImportContext,
    /// `importlib.import_module("…")` rather than an import statement.
    pub dynamic: bool,
}

/// A symbol defined in the repository, with its stable ID
/// (`shopcore.db.queries.fetch_order`, `example.com/shop/models.Order.Total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolDef {
    pub id: String,
    pub file: FileId,
    /// Index into the file's `definitions`.
    pub definition: usize,
}

/// A place in a file that refers to a symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedReference {
    pub file: FileId,
    pub symbol: String,
    pub span: crate::facts::Span,
    pub kind: crate::facts::ReferenceKind,
}

/// What a resolver produces for the files of its language.
#[derive(Debug, Default)]
pub struct Resolution {
    pub symbols: Vec<SymbolDef>,
    pub imports: Vec<ResolvedImport>,
    pub references: Vec<ResolvedReference>,
    /// File → the module (Python) or package import path (Go) it belongs to.
    pub modules: Vec<(FileId, String)>,
}

/// The repository paths a resolver may need besides source files (`go.mod`,
/// `pyproject.toml`, `setup.cfg`, `setup.py`), with their contents.
#[derive(Debug, Default, Clone)]
pub struct Manifests {
    pub files: Vec<(String, String)>,
}

impl Manifests {
    /// Whether a repository path is a manifest some resolver reads.
    pub fn is_manifest(path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        matches!(name, "go.mod" | "pyproject.toml" | "setup.cfg" | "setup.py")
    }

    /// Manifests with the given file name, as (folder, contents); the folder is `""` at the root.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.files.iter().filter_map(move |(path, text)| {
            let (dir, file) = match path.rsplit_once('/') {
                Some((d, f)) => (d, f),
                None => ("", path.as_str()),
            };
            (file == name).then_some((dir, text.as_str()))
        })
    }
}

/// Parse a file with the language's grammar, reusing one parser per thread and language.
pub fn parse(language: Language, source: &[u8]) -> Result<tree_sitter::Tree, ExtractError> {
    thread_local! {
        static PARSERS: std::cell::RefCell<[Option<tree_sitter::Parser>; 2]> =
            const { std::cell::RefCell::new([None, None]) };
    }
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let slot = &mut parsers[language as usize];
        if slot.is_none() {
            let mut parser = tree_sitter::Parser::new();
            parser
                .set_language(&language.grammar())
                .map_err(|e| ExtractError::Grammar(e.to_string()))?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut().ok_or(ExtractError::Parse)?;
        parser.parse(source, None).ok_or(ExtractError::Parse)
    })
}

/// Extract facts from one file's source with the language's queries.
pub fn extract_facts(
    language: Language,
    path: &str,
    source: &[u8],
) -> Result<crate::facts::FileFacts, ExtractError> {
    let tree = parse(language, source)?;
    Ok(match language {
        Language::Python => python::extract(path, source, &tree, python::queries()?),
        Language::Go => go::extract(path, source, &tree, go::queries()?),
    })
}

/// How many distinct nodes `query` captures as `capture` in `source` (a node captured by
/// several matches counts once). Text predicates (`#eq?`, `#match?`) are checked.
pub fn count_captures(
    language: Language,
    query: &tree_sitter::Query,
    capture: &str,
    source: &[u8],
) -> Result<usize, ExtractError> {
    let tree = parse(language, source)?;
    let mut ranges: Vec<(usize, usize)> = query::run(query, tree.root_node(), source)
        .iter()
        .filter_map(|m| m.get(capture))
        .map(|n| (n.start_byte(), n.end_byte()))
        .collect();
    ranges.sort_unstable();
    ranges.dedup();
    Ok(ranges.len())
}

/// One match's captures: (capture name, byte range), in capture order.
pub type MatchCaptures = Vec<(String, std::ops::Range<usize>)>;

/// Every match of `query` in `source`: for each match, its captures as (name, byte range), in
/// capture order. Text predicates are checked.
pub fn captures(
    language: Language,
    query: &tree_sitter::Query,
    source: &[u8],
) -> Result<Vec<MatchCaptures>, ExtractError> {
    let tree = parse(language, source)?;
    Ok(captures_in(query, &tree, source))
}

/// [`captures`] on a tree already parsed (several queries over one parse).
pub fn captures_in(
    query: &tree_sitter::Query,
    tree: &tree_sitter::Tree,
    source: &[u8],
) -> Vec<MatchCaptures> {
    query::run(query, tree.root_node(), source)
        .into_iter()
        .map(|m| {
            m.captures
                .iter()
                .map(|(name, node)| (name.to_string(), node.byte_range()))
                .collect()
        })
        .collect()
}

/// Whether a Go file still uses the package imported under `name` (`name.X` in code or types).
pub fn go_uses_package(source: &str, name: &str) -> Result<bool, ExtractError> {
    static QUERY: std::sync::OnceLock<Result<tree_sitter::Query, QueryError>> =
        std::sync::OnceLock::new();
    let query = QUERY
        .get_or_init(|| {
            query::compile(
                &Language::Go.grammar(),
                "queries/go/qualifiers.scm",
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/queries/go/qualifiers.scm"
                )),
            )
        })
        .as_ref()
        .map_err(ExtractError::Query)?;
    Ok(captures(Language::Go, query, source.as_bytes())?
        .iter()
        .flatten()
        .any(|(_, r)| &source[r.clone()] == name))
}

/// Why a file's facts could not be extracted at all.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExtractError {
    /// The grammar's ABI does not match the tree-sitter runtime: a build problem; stop.
    #[error("tree-sitter grammar could not be loaded: {0}")]
    Grammar(String),
    /// tree-sitter gave up (it only does on cancellation or time-out): skip the file.
    #[error("tree-sitter could not parse the file")]
    Parse,
    /// A bundled query is broken: a build problem; stop.
    #[error(transparent)]
    Query(#[from] &'static QueryError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled query compiles: a broken `.scm` fails here, not in a user's run.
    #[test]
    fn all_bundled_queries_compile() {
        python::queries().expect("python queries compile");
        go::queries().expect("go queries compile");
        assert!(
            go_uses_package("package a\nvar x = os.Args\n", "os").expect("qualifiers.scm compiles")
        );
    }

    #[test]
    fn languages_are_chosen_by_extension() {
        assert_eq!(
            Language::from_path(Path::new("a/b.py")),
            Some(Language::Python)
        );
        assert_eq!(
            Language::from_path(Path::new("a/b.pyi")),
            Some(Language::Python)
        );
        assert_eq!(
            Language::from_path(Path::new("x_test.go")),
            Some(Language::Go)
        );
        assert_eq!(Language::from_path(Path::new("go.mod")), None);
    }
}
