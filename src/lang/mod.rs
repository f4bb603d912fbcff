//! Languages: everything git-ripple knows about Python and Go lives here, behind one trait,
//! [`Support`]. Which files belong to which language, the tree-sitter grammar and queries, the
//! facts extracted from one file, the resolver that turns facts into edges, and the pieces of
//! language knowledge the later stages need without knowing the language: keywords and
//! visibility rules, test files and what names a package to a build tool, contracts and doc
//! comments, the compatibility shims of a rename, import insertion and removal, module moves and
//! formatting.
//!
//! The other stages hold a [`Language`] (a small copyable tag, serialised in facts and reports)
//! and call `language.support()`; they never match on a language. Adding a language means a
//! variant and its arms in this file, a folder of queries under `queries/<lang>/`, and one module
//! here implementing [`Support`].
//!
//! This module depends only on [`crate::change`] (the edits its helpers return); it knows
//! nothing of graphs, plans or git.

pub mod facts;
pub mod go;
pub mod python;
mod query;
mod scope;
mod shared;

pub use shared::{Outlined, Skeleton};

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::change::{FileChange, TextError};
use facts::{Definition, FileFacts, ReferenceKind, SymbolKind};

pub use facts::count_parse_errors;
pub use query::{QueryError, QuerySet, unsafe_form};

/// A source language git-ripple can parse and resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Python 3 (`.py`, `.pyi`).
    Python,
    /// Go (`.go`).
    Go,
}

impl Language {
    /// Every supported language, in the order reports list them.
    pub const ALL: [Language; 2] = [Language::Python, Language::Go];

    /// What the language knows: the only place a language tag becomes behaviour.
    pub fn support(self) -> &'static dyn Support {
        match self {
            Language::Python => &python::Python,
            Language::Go => &go::Go,
        }
    }

    /// The language of a repository path, decided by its extension alone (as editors do), so
    /// that scanning never has to read a file to classify it.
    pub fn from_path(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?;
        Language::ALL
            .into_iter()
            .find(|l| l.support().extensions().contains(&ext))
    }

    /// The language called `name` in recipes and output (`python`, `go`).
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The lower-case name used in output, in recipes and in `queries/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Go => "go",
        }
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        self.support().grammar()
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one language knows, for the stages that must not know which language they handle.
///
/// Methods with a default are the ones some languages have nothing to say about (Python has no
/// embedded fields, Go no package `__init__` files); the defaults say "nothing here".
pub trait Support: Sync {
    // --- files and parsing -----------------------------------------------------------------

    /// File extensions (without the dot) of the language's source files.
    fn extensions(&self) -> &'static [&'static str];

    /// File names of the manifests the resolver reads (`go.mod`, `pyproject.toml`, …).
    fn manifests(&self) -> &'static [&'static str];

    /// The tree-sitter grammar.
    fn grammar(&self) -> tree_sitter::Language;

    /// The facts of one parsed file.
    fn extract(
        &self,
        path: &str,
        source: &[u8],
        tree: &tree_sitter::Tree,
    ) -> Result<FileFacts, ExtractError>;

    /// Imports to targets and names to symbols, for every file of the language at once (a
    /// package or module scope spans files).
    fn resolve(&self, files: &[(FileId, &FileFacts)], manifests: &Manifests) -> Resolution;

    // --- names -----------------------------------------------------------------------------

    /// Reserved words, which no rename may produce.
    fn keywords(&self) -> &'static [&'static str];

    /// Whether a name is an identifier of the language.
    fn is_identifier(&self, name: &str) -> bool {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    }

    /// Whether a definition with this name is visible outside its package or module.
    fn is_exported(&self, name: &str) -> bool;

    /// Whether visibility is decided by the name itself (Go's capitals), so that a rename can
    /// hide a symbol from its users; the hint says how.
    fn visibility_by_name(&self) -> Option<&'static str> {
        None
    }

    // --- files in builds and tests ---------------------------------------------------------

    /// Whether the file holds tests.
    fn is_test_file(&self, path: &str) -> bool;

    /// What starts a line comment (`#`, `//`): a comment after a definition on its line belongs
    /// to the definition.
    fn line_comment(&self) -> &'static str;

    /// Where `old` sits in the name of a test function or class named after it
    /// (`test_fetch_order_unknown_id` → 5, `TestFetchOrder` → 4, `BenchmarkServer_Handle` with
    /// `Handle` → 16), by the language's test naming conventions; `None` when the name is not
    /// a test's named after `old`. The second value is the whole name part after the prefix
    /// up to a separator, so a caller can tell `TestFetchOrderMissing` (about `FetchOrder`) from
    /// a test of a longer symbol.
    fn test_name_part(&self, name: &str, old: &str) -> Option<(usize, String)> {
        let _ = (name, old);
        None
    }

    /// How a test runner is pointed at this file's tests, when tests are run by file (a
    /// `{tests}` argument); `None` when they run by package or the file is not a test.
    fn test_target(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }

    /// How a build tool at the repository root names the package of this file (a `{packages}`
    /// argument), when packages are built by name; `None` otherwise.
    fn package_target(&self, root: &Path, path: &str) -> Option<String> {
        let _ = (root, path);
        None
    }

    /// The places in a file (documentation, configuration, or a string in code) that name
    /// `symbol` by its full path the way this language's tools spell it, for a rename to
    /// change (exact ones) or report. `local` is the symbol's path inside its module
    /// (`Class.method`), so `symbol` without it is the module.
    fn outside_mentions(
        &self,
        path: &str,
        text: &str,
        symbol: &str,
        local: &str,
    ) -> Vec<OutsideMention> {
        let _ = (path, text, symbol, local);
        Vec::new()
    }

    /// Whether the file is its package's own module (`__init__.py`), where re-exports live.
    fn is_package_init(&self, path: &str) -> bool {
        let _ = path;
        false
    }

    /// Whether `module` moves with `parent` when `parent` is moved (a Python package takes its
    /// submodules along; a Go package does not take the packages in its subfolders).
    fn module_contains(&self, parent: &str, module: &str) -> bool {
        parent == module
    }

    // --- what a model sees -----------------------------------------------------------------

    /// The contract of the definition whose name starts at `name_start`: its signature or
    /// declaration and the first paragraph of its documentation, never its body.
    fn contract(&self, source: &str, name_start: usize) -> Option<String>;

    /// The import block and the outline of a file, for a focused view of a large file
    /// (`None`: it does not parse, and is sent whole).
    fn skeleton(&self, source: &str) -> Option<Skeleton>;

    /// The byte range of a definition's own documentation (docstring, doc comment), where a
    /// rename also renames exact mentions of the old name.
    fn doc_range(
        &self,
        def: &Definition,
        source: &str,
    ) -> Result<Option<Range<usize>>, ExtractError>;

    // --- renames ---------------------------------------------------------------------------

    /// Why a definition of this kind cannot keep its old name as an alias while callers move
    /// (then the rename is one batch), or `None` when it can.
    fn alias_blocker(&self, kind: SymbolKind) -> Option<&'static str>;

    /// For a definition [`Support::alias_blocker`] refuses: whether it can keep its old name
    /// as a forwarding property instead (a Python class attribute, when the recipe asks for
    /// `compat = "alias"`), or why not. `receivers` are the names its uses reach it through
    /// (`self`, `cls`, `Order` in `Order.rate`).
    fn forwarding_alias(
        &self,
        def: &Definition,
        source: &str,
        receivers: &[&str],
    ) -> Result<(), String> {
        let _ = (def, source, receivers);
        Err("this kind of definition has no forwarding alias".to_string())
    }

    /// The comment that marks a deprecated alias for `new` (how the contract batch finds the
    /// alias again, exactly).
    fn alias_marker(&self, new: &str) -> String;

    /// Whether a kept alias of a symbol of this kind can warn when used (`compat = "warn"`).
    fn warning_alias(&self, kind: SymbolKind) -> bool {
        let _ = kind;
        false
    }

    /// The source with the plain alias (`old = new` under its marker) of a symbol of `kind`
    /// made into one that warns when used, or `None` when it is not there.
    fn warn_alias(&self, source: &str, kind: SymbolKind, old: &str, new: &str) -> Option<String> {
        let _ = (source, kind, old, new);
        None
    }

    /// A module that re-exports a kept alias of `kind` (a package's `__init__`), changed so that
    /// importing the module does not use the old name but using it through the module warns;
    /// the source unchanged when the eager re-export is harmless (a warning wrapper).
    fn warn_reexport(&self, source: &str, kind: SymbolKind, old: &str, new: &str) -> String {
        let _ = (kind, old, new);
        source.to_string()
    }

    /// The text inserted right after the definition to keep the old name working (its marker
    /// comment included).
    fn alias_block(
        &self,
        def: &Definition,
        source: &str,
        old: &str,
        new: &str,
    ) -> Result<String, RewriteError>;

    /// In the expand phase, how a re-export (`from .m import old`, an `__all__` entry) at
    /// `span` keeps exporting the old name beside the new one; `None`: just rename it.
    fn reexport_both(
        &self,
        kind: ReferenceKind,
        source: &str,
        span: Range<usize>,
        old: &str,
        new: &str,
    ) -> Option<String> {
        let _ = (kind, source, span, old, new);
        None
    }

    /// What [`Support::reexport_both`] writes, with what the contract batch puts back.
    fn reexports_kept(&self, old: &str, new: &str) -> Vec<(String, String)> {
        let _ = (old, new);
        Vec::new()
    }

    /// The source with the old name taken out of every re-export that lists it beside the new
    /// one, found in the syntax tree (a formatter may have rewritten what the expand batch
    /// wrote, so [`Support::reexports_kept`] patterns alone do not find it).
    fn remove_reexports(&self, source: &str, old: &str, new: &str) -> String {
        let _ = (old, new);
        source.to_string()
    }

    /// What keeps an encoded field's name on the wire when it is renamed: (byte offset, text
    /// to insert), e.g. a Go struct tag `json:"Old"`; `None` when the field is not encoded or
    /// already says its wire name. `package_imports` are the imports of the field's package.
    fn wire_name_tag(
        &self,
        source: &str,
        def: &Definition,
        package_imports: &[&str],
        old: &str,
    ) -> Option<(usize, String)> {
        let _ = (source, def, package_imports, old);
        None
    }

    /// Why a method of this name is called by name from outside the repository, if it is:
    /// it satisfies a well-known interface (`String` → `fmt.Stringer`), the interpreter calls
    /// it (`__eq__`), or it overrides a hook of one of `outside_bases` (the bases outside the
    /// repository along its class's MRO, `unittest.TestCase`). Renaming it would break that
    /// silently; the reason completes "`name` …".
    fn outside_interface(&self, method: &str, outside_bases: &[String]) -> Option<String> {
        let _ = (method, outside_bases);
        None
    }

    // --- imports ---------------------------------------------------------------------------

    /// Whether `text` is an import a rewrite rule may ask for; the error is the hint.
    fn check_import(&self, text: &str) -> Result<(), &'static str>;

    /// `source` with `import` added where a person would put it, unless already imported.
    fn add_import(&self, path: &str, source: &str, import: &str) -> Result<String, RewriteError>;

    /// `after` without the imports that only the replaced code (`replaced`, the old text of
    /// every rewritten place) used; `before` is the file before the rewrite.
    fn remove_unused_imports(
        &self,
        path: &str,
        before: &str,
        after: &str,
        replaced: &str,
    ) -> Result<String, RewriteError>;

    // --- verifying a copy of a tree -------------------------------------------------------

    /// Folders outside the repository that building the tree reads, relative to the repository
    /// root (`../lib`, from Go's `replace example.com/lib => ../lib`): a copy of the tree
    /// verified somewhere else must still reach them.
    fn outside_paths(&self, manifests: &Manifests) -> Vec<String> {
        let _ = manifests;
        Vec::new()
    }

    /// Environment variables verify commands need so that they test the tree at `root` and not
    /// an installed copy of it (Python: the tree's source roots first on `PYTHONPATH`).
    fn verify_env(
        &self,
        root: &Path,
        manifests: &Manifests,
        paths: &[String],
    ) -> Vec<(String, String)> {
        let _ = (root, manifests, paths);
        Vec::new()
    }

    /// The tree's top-level modules that commands run with `env` would still import from
    /// somewhere else (an editable install of another checkout), each with where from: a
    /// verification that passes there says nothing about the tree.
    fn foreign_imports(
        &self,
        root: &Path,
        manifests: &Manifests,
        paths: &[String],
        env: &[(String, String)],
    ) -> Vec<String> {
        let _ = (root, manifests, paths, env);
        Vec::new()
    }

    // --- moves and formatting --------------------------------------------------------------

    /// The changes that move a module or package and update the batch's importers.
    fn move_module(&self, request: &ModuleMove<'_>) -> Result<Vec<FileChange>, RewriteError>;

    /// Remove what caches the compiled form of `path` and trusts file timestamps and sizes to
    /// know it is current (Python's bytecode): a same-size edit within the second of a compile
    /// would otherwise leave the next import running the old code.
    fn invalidate_caches(&self, root: &Path, path: &str) {
        let _ = (root, path);
    }

    /// The formatter's version of `after` when the project keeps the file formatted (`before`
    /// was formatted), so a rename never leaves a file for CI's format check to reject. `root`
    /// is the repository's (where the project's formatter configuration lives), `path` the
    /// file's.
    fn format(&self, root: &Path, path: &str, before: &str, after: &str) -> Formatted {
        let _ = (root, path, before, after);
        Formatted::default()
    }
}

/// What a formatter pass made of a file ([`Support::format`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// The formatted text, when the formatter changed the file.
    pub text: Option<String>,
    /// What the reviewer should know (a formatter the project configures is not installed).
    pub notes: Vec<String>,
}

/// A move of a module or package, as [`Support::move_module`] needs it.
pub struct ModuleMove<'a> {
    /// The module or package moved (`shopcore.db`, `example.com/shop/internal/store`).
    pub from: &'a str,
    /// Where it goes.
    pub to: &'a str,
    /// The work tree's root (which folders and `go.mod` files exist).
    pub root: &'a Path,
    /// Every file of the language in the repository.
    pub files: &'a [ModuleFile<'a>],
    /// The files to change: the moved ones and their importers.
    pub batch: &'a [String],
    /// A file's current text.
    pub read: &'a dyn Fn(&str) -> Result<String, RewriteError>,
}

/// One file a move may concern.
pub struct ModuleFile<'a> {
    /// Repository-relative path.
    pub path: &'a str,
    /// Its module or package import path, as resolved.
    pub module: Option<&'a str>,
    /// Its facts.
    pub facts: &'a FileFacts,
}

/// Why a language helper could not produce its edits. All fail the batch, and nothing has been
/// written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RewriteError {
    /// A file to change could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The repository no longer matches the plan (a symbol or an alias is gone).
    #[error("{0}")]
    Stale(String),
    /// This cannot be done safely; the message says what to use instead.
    #[error("{0}")]
    Unsupported(String),
    /// The edits do not apply.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A grammar or bundled query failed: a build problem.
    #[error(transparent)]
    Extract(#[from] ExtractError),
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
    /// The importing file.
    pub file: FileId,
    /// The import's line.
    pub line: u32,
    /// The import as written.
    pub text: String,
    /// What it resolves to.
    pub target: ImportTarget,
    /// Where it sits.
    pub context: facts::ImportContext,
    /// `importlib.import_module("…")` rather than an import statement.
    pub dynamic: bool,
}

/// A symbol defined in the repository, with its stable ID
/// (`shopcore.db.queries.fetch_order`, `example.com/shop/models.Order.Total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolDef {
    /// The stable ID.
    pub id: String,
    /// The defining file.
    pub file: FileId,
    /// Index into the file's `definitions`.
    pub definition: usize,
}

/// A place in a file that refers to a symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedReference {
    /// The file with the use.
    pub file: FileId,
    /// The symbol's ID.
    pub symbol: String,
    /// Where the name is.
    pub span: facts::Span,
    /// What kind of use.
    pub kind: facts::ReferenceKind,
    /// The module the use reaches the symbol through, when that module does not define it but
    /// binds it (`from api import fetch_order`, `api.fetch_order` where `api` imported it): an
    /// access path that must keep working until this use moves.
    pub via: Option<String>,
}

/// What a resolver produces for the files of its language.
#[derive(Debug, Default)]
pub struct Resolution {
    /// The symbols defined.
    pub symbols: Vec<SymbolDef>,
    /// Every import, resolved.
    pub imports: Vec<ResolvedImport>,
    /// Every use of a repository symbol.
    pub references: Vec<ResolvedReference>,
    /// File → the module (Python) or package import path (Go) it belongs to.
    pub modules: Vec<(FileId, String)>,
    /// Package folders (`.` for the root) → the files an import of the folder depends on.
    pub packages: Vec<(String, FileId)>,
    /// Uses whose name matches a repository member but whose operand's type is unknown.
    pub unsure: Vec<UnsureReference>,
    /// (member, symbol) pairs that are one name and rename together: a Go embedded field and
    /// the type it is named after.
    pub renamed_with: Vec<(String, String)>,
    /// Groups of methods that keep one name together: an interface method and the methods
    /// that implement it (Python: an overridden method and its overrides).
    pub families: Vec<Vec<String>>,
    /// Class → the bases outside the repository along its MRO, by dotted path where the
    /// import says it (`unittest.TestCase`), else as written: what its methods may override.
    pub outside_bases: Vec<(String, Vec<String>)>,
}

impl Resolution {
    /// Append another part's results after this one's (a resolver that resolves files in
    /// parallel joins them in file order, so the graph does not depend on the scheduling).
    pub fn extend(&mut self, part: Resolution) {
        let Resolution {
            symbols,
            imports,
            references,
            modules,
            packages,
            unsure,
            renamed_with,
            families,
            outside_bases,
        } = part;
        self.symbols.extend(symbols);
        self.imports.extend(imports);
        self.references.extend(references);
        self.modules.extend(modules);
        self.packages.extend(packages);
        self.unsure.extend(unsure);
        self.renamed_with.extend(renamed_with);
        self.families.extend(families);
        self.outside_bases.extend(outside_bases);
    }
}

/// A use that may be a repository member's and may not: the name matches, the type of what
/// it is reached through is unknown. Never dropped: reports list it, renames decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsureReference {
    /// The file with the use.
    pub file: FileId,
    /// Where the name is.
    pub span: facts::Span,
    /// The name.
    pub name: String,
    /// Why its type is unknown.
    pub reason: UnsureReason,
    /// The IDs of the repository members with that name.
    pub candidates: Vec<String>,
}

/// A symbol named by its path outside code (an entry point in `pyproject.toml`, a Sphinx role,
/// a dotted path in a settings string): see [`Support::outside_mentions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideMention {
    /// The symbol's own name in it (the part a rename changes).
    pub span: facts::Span,
    /// Whether the file's format says exactly this symbol (an entry point's `module:attr`),
    /// so the rename changes it; otherwise it is listed for a person (or renamed with
    /// `unsure = "rename"`).
    pub exact: bool,
    /// Whether it is documentation, which nothing runs: no alias has to stay for it.
    pub docs: bool,
    /// What the place is, as the plan says it.
    pub what: &'static str,
}

/// Why the type layer could not tell what a use denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsureReason {
    /// Reached through a value of a type parameter.
    TypeParameter,
    /// A name the layer cannot find (a declaration in a file that did not parse, …).
    UnresolvedName,
    /// An expression form the layer does not follow.
    UntrackedExpression,
    /// A value of an anonymous struct or interface type.
    AnonymousType,
    /// A chain of definitions longer than the layer follows.
    TooDeep,
    /// A key of a literal of a type from outside the repository: a field of it, or a map key
    /// naming a value of the repository.
    OutsideLiteral,
    /// A name in a directive no compiler checks (`//go:linkname`, `//go:generate`).
    Directive,
    /// Python: reached through a value the code says nothing of (an unannotated parameter,
    /// what an unannotated function returns).
    Untyped,
    /// Python: reached through a value of a union (`Union[Call, Filter]`) whose classes each
    /// have a member of that name: renaming one of them alone would break the others' uses.
    Union,
}

impl UnsureReason {
    /// The reason as reports say it.
    pub fn describe(self) -> &'static str {
        match self {
            UnsureReason::TypeParameter => "reached through a type parameter",
            UnsureReason::UnresolvedName => "a name whose declaration was not found",
            UnsureReason::UntrackedExpression => "an expression whose type is not followed",
            UnsureReason::AnonymousType => "a value of an anonymous type",
            UnsureReason::TooDeep => "a chain of definitions too long to follow",
            UnsureReason::Directive => "a name in a //go:linkname or //go:generate directive",
            UnsureReason::Untyped => "reached through a value whose type the code does not say",
            UnsureReason::Union => "reached through a union of classes that each have the member",
            UnsureReason::OutsideLiteral => {
                "a key of a literal of a type outside the repository (a field, or a map key)"
            }
        }
    }
}

/// The repository paths a resolver may need besides source files (`go.mod`,
/// `pyproject.toml`, `setup.cfg`, `setup.py`), with their contents.
#[derive(Debug, Default, Clone)]
pub struct Manifests {
    /// (path, contents) of every manifest.
    pub files: Vec<(String, String)>,
}

impl Manifests {
    /// Whether a repository path is a manifest some resolver reads.
    pub fn is_manifest(path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        Language::ALL
            .iter()
            .any(|l| l.support().manifests().contains(&name))
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
        static PARSERS: std::cell::RefCell<[Option<tree_sitter::Parser>; Language::ALL.len()]> =
            const { std::cell::RefCell::new([const { None }; Language::ALL.len()]) };
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
) -> Result<FileFacts, ExtractError> {
    let tree = parse(language, source)?;
    language.support().extract(path, source, &tree)
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
    }

    #[test]
    fn test_names_by_each_languages_conventions() {
        let go = Language::Go.support();
        assert_eq!(
            go.test_name_part("TestFetchOrder", "FetchOrder"),
            Some((4, "FetchOrder".into()))
        );
        assert_eq!(
            go.test_name_part("TestFetchOrderMissing", "FetchOrder"),
            Some((4, "FetchOrderMissing".into()))
        );
        assert_eq!(
            go.test_name_part("BenchmarkServer_Handle", "Handle"),
            Some((16, "Handle".into()))
        );
        assert_eq!(go.test_name_part("TestFetchOrders", "FetchOrder"), None);
        assert_eq!(go.test_name_part("ExampleFetchOrder", "FetchOrder"), None);
        let py = Language::Python.support();
        assert_eq!(
            py.test_name_part("test_fetch_order_unknown_id", "fetch_order"),
            Some((5, "fetch_order".into()))
        );
        assert_eq!(
            py.test_name_part("TestOrder", "Order"),
            Some((4, "Order".into()))
        );
        assert_eq!(py.test_name_part("test_fetch_orders", "fetch_order"), None);
        assert_eq!(py.test_name_part("fetch_order", "fetch_order"), None);
    }

    #[test]
    fn languages_are_chosen_by_extension_and_name() {
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
        assert_eq!(Language::from_name("go"), Some(Language::Go));
        assert_eq!(Language::from_name("rust"), None);
        assert!(Manifests::is_manifest("sub/go.mod"));
        assert!(Manifests::is_manifest("pyproject.toml"));
        assert!(!Manifests::is_manifest("Cargo.toml"));
    }
}
