//! The dependency graph: files, Go package folders and symbols as nodes; imports, uses and
//! definitions as edges (petgraph). Built once from facts, queried many times, never mutated
//! after build, so later stages can share it across threads.
//!
//! Besides the full graph, the build derives the file-level dependency relation the planner
//! needs: file A depends on file B when A imports B (Python), imports B's package (Go), or uses
//! a symbol B defines.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;
use serde::Serialize;

mod cache;

pub use cache::{CacheStats, FactsCache};

use crate::lang::facts::{FileFacts, ImportKind, ReferenceKind, Span, SymbolKind};
use crate::lang::{
    self, ExtractError, FileId, ImportTarget, Language, Manifests, ResolvedImport, UnsureReason,
    UnsureReference,
};
use crate::scan::{IndexedBlobs, Scan, Skipped};

/// Limits and switches for building the graph.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// Files larger than this are skipped (generated code, data files with a source extension).
    pub max_file_size: u64,
    /// File contents that differ from the work tree (`None`: deleted), for planning on top of
    /// changes not written yet (a dry run's earlier steps).
    pub overlay: BTreeMap<String, Option<String>>,
    /// Keep and reuse facts by (path, blob id) in the repository's facts cache
    /// ([`FactsCache`]); `--no-cache` turns it off.
    pub cache: bool,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            max_file_size: 1024 * 1024,
            overlay: BTreeMap::new(),
            cache: true,
        }
    }
}

/// Why the graph could not be built. Stop: this is a broken build, not bad input (bad files
/// are skipped and reported instead).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GraphError {
    #[error(transparent)]
    #[diagnostic(code(ripple::extract))]
    /// A grammar or a bundled query failed.
    Extract(#[from] ExtractError),
}

/// A source file in the graph.
#[derive(Debug, Clone, Serialize)]
pub struct FileNode {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// Its language.
    pub language: Language,
    /// Python module or Go import path.
    pub module: Option<String>,
    /// Error nodes tree-sitter recovered from (facts are still extracted).
    pub parse_errors: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Go: the file's build constraint, if any.
    pub build_constraint: Option<String>,
    /// Git blob id of the content read (what a facts cache is keyed by).
    #[serde(skip)]
    pub blob: gix::ObjectId,
    /// Size in bytes of the content read (what batch token estimates start from).
    #[serde(skip)]
    pub size: u64,
}

/// A repository symbol.
#[derive(Debug, Clone, Serialize)]
pub struct Symbol {
    /// The stable ID (`pkg.module.Class.method`), what recipes name.
    pub id: String,
    /// The bare name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The file defining it.
    pub file: FileId,
    /// Where its name is.
    pub span: Span,
    /// Whether it is visible outside its package or module.
    pub exported: bool,
}

/// A place that refers to a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SymbolRef {
    /// The file.
    pub file: FileId,
    /// Where the name is.
    pub span: Span,
    /// What kind of use.
    pub kind: ReferenceKind,
    /// The file of the module the use reaches the symbol through, when that module binds it
    /// without defining it (`api.fetch_order` where `api` imported it): the use needs that
    /// path to keep working until it moves to the new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<FileId>,
}

impl SymbolRef {
    /// Whether a rename that keeps the public names (`public = "keep"`) leaves this use as it
    /// is: it reaches the symbol through one of the `public` re-exports, or it is such a
    /// re-export's own use of the name it exports (everything but the import itself).
    pub fn keeps_public_name(&self, public: &[FileId]) -> bool {
        self.via.is_some_and(|v| public.contains(&v))
            || (public.contains(&self.file) && self.kind != ReferenceKind::Import)
    }
}

/// Index of a symbol in [`Graph::symbols`].
pub type SymbolId = usize;

/// A node of the full graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A source file.
    File(FileId),
    /// A Go package folder or a Python namespace package (`.` for the root).
    Folder(String),
    /// A repository symbol.
    Symbol(SymbolId),
}

/// An edge of the full graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// File → file (Python) or file → folder (Go package, Python namespace package).
    Imports,
    /// File → symbol it refers to.
    Uses,
    /// File → symbol it defines.
    Defines,
    /// Folder → the files of its package.
    Contains,
}

impl EdgeKind {
    /// The kind as JSON and text output name it.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Imports => "imports",
            EdgeKind::Uses => "uses",
            EdgeKind::Defines => "defines",
            EdgeKind::Contains => "contains",
        }
    }
}

/// The repository's dependency graph.
pub struct Graph {
    /// Every source file, in path order.
    pub files: Vec<FileNode>,
    /// Each file's facts, by file id.
    pub facts: Vec<FileFacts>,
    /// Every symbol, sorted by ID.
    pub symbols: Vec<Symbol>,
    /// Every import, resolved.
    pub imports: Vec<ResolvedImport>,
    /// Files left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Documentation and configuration files, never parsed (see
    /// [`crate::scan::Scan::text_paths`]).
    pub text_paths: Vec<String>,
    references: Vec<Vec<SymbolRef>>,
    /// Uses that may be a member's: the type layer could not tell (see [`UnsureReference`]).
    pub unsure: Vec<UnsureReference>,
    /// Per symbol, the indexes into `unsure` of the sites that may be its.
    unsure_by_symbol: Vec<Vec<usize>>,
    /// Per symbol, the symbols that are the same name and rename with it (a Go type and the
    /// embedded fields named after it).
    renamed_with: Vec<Vec<SymbolId>>,
    /// Per method, the other methods of its family (see [`Graph::family`]).
    families: Vec<Vec<SymbolId>>,
    /// Per class, its bases outside the repository along its MRO (see [`Graph::outside_bases_of`]).
    outside_bases: HashMap<SymbolId, Vec<String>>,
    symbol_index: HashMap<String, SymbolId>,
    path_index: HashMap<String, FileId>,
    graph: DiGraph<Node, EdgeKind>,
    deps: Vec<Vec<FileId>>,
    rdeps: Vec<Vec<FileId>>,
}

struct Loaded {
    facts: FileFacts,
    blob: gix::ObjectId,
    size: u64,
}

fn load(
    root: &Path,
    path: &str,
    language: Language,
    options: &GraphOptions,
    cache: Option<&FactsCache>,
    indexed: &IndexedBlobs,
) -> Result<Result<Loaded, Skipped>, ExtractError> {
    let skip = |reason: String| {
        Ok(Err(Skipped {
            path: path.to_string(),
            reason,
        }))
    };
    let cached = |blob: gix::ObjectId, size: u64| {
        let facts = cache?.get(path, &blob)?;
        (facts.language == language).then_some(Loaded { facts, blob, size })
    };
    let bytes: std::borrow::Cow<'_, [u8]> = match options.overlay.get(path) {
        Some(Some(text)) => std::borrow::Cow::Borrowed(text.as_bytes()),
        Some(None) => return skip("deleted in the work tree".into()),
        None => {
            let full = root.join(path);
            let meta = match gix::index::fs::Metadata::from_path_no_follow(&full) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return skip("deleted in the work tree".into());
                }
                Err(e) => return skip(format!("unreadable: {e}")),
            };
            if !meta.is_file() {
                return skip("not a regular file".into());
            }
            if meta.len() > options.max_file_size {
                return skip(format!(
                    "{} bytes, over the {} byte limit",
                    meta.len(),
                    options.max_file_size
                ));
            }
            // An unchanged tracked file: the index names its blob, so a cached entry needs
            // neither the file's bytes nor their hash.
            if let Some(loaded) = indexed
                .blob(path, &meta)
                .and_then(|blob| cached(blob, meta.len()))
            {
                return Ok(Ok(loaded));
            }
            match std::fs::read(&full) {
                Ok(b) => std::borrow::Cow::Owned(b),
                Err(e) => return skip(format!("unreadable: {e}")),
            }
        }
    };
    if std::str::from_utf8(&bytes).is_err() {
        return skip("not valid UTF-8".into());
    }
    let blob = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, &bytes)
        .unwrap_or_else(|_| gix::ObjectId::null(gix::hash::Kind::Sha1));
    if let Some(loaded) = cached(blob, bytes.len() as u64) {
        return Ok(Ok(loaded));
    }
    match lang::extract_facts(language, path, &bytes) {
        Ok(facts) => {
            if let Some(c) = cache {
                c.put(path, &blob, &facts);
            }
            Ok(Ok(Loaded {
                facts,
                blob,
                size: bytes.len() as u64,
            }))
        }
        Err(ExtractError::Parse) => skip("tree-sitter could not parse it".into()),
        Err(e) => Err(e),
    }
}

/// Read, parse and resolve every scanned file, and build the graph.
pub fn build_graph(root: &Path, scan: &Scan, options: &GraphOptions) -> Result<Graph, GraphError> {
    let mut sources: Vec<(&str, Language)> = scan
        .sources
        .iter()
        .map(|s| (s.path.as_str(), s.language))
        .collect();
    for (path, text) in &options.overlay {
        if text.is_some()
            && !sources.iter().any(|(p, _)| p == path)
            && let Some(language) = Language::from_path(Path::new(path))
        {
            sources.push((path.as_str(), language));
        }
    }
    sources.sort();
    let cache = options
        .cache
        .then(|| FactsCache::of_work_tree(root))
        .flatten();
    let results: Vec<_> = sources
        .par_iter()
        .map(|(path, language)| {
            load(
                root,
                path,
                *language,
                options,
                cache.as_ref(),
                &scan.indexed,
            )
        })
        .collect();
    let mut skipped = scan.skipped.clone();
    let mut loaded = Vec::with_capacity(results.len());
    for r in results {
        match r? {
            Ok(l) => loaded.push(l),
            Err(s) => skipped.push(s),
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));

    let manifests = Manifests {
        files: scan
            .manifest_paths
            .iter()
            .filter_map(|p| Some((p.clone(), std::fs::read_to_string(root.join(p)).ok()?)))
            .collect(),
    };
    let mut graph = assemble(loaded, skipped, &manifests);
    graph.text_paths = scan.text_paths.clone();
    Ok(graph)
}

/// Build a graph from facts already extracted (used by the build above and by tests and
/// benchmarks that generate facts in memory).
fn assemble(loaded: Vec<Loaded>, skipped: Vec<Skipped>, manifests: &Manifests) -> Graph {
    let (facts, blobs): (Vec<FileFacts>, Vec<(gix::ObjectId, u64)>) = loaded
        .into_iter()
        .map(|l| (l.facts, (l.blob, l.size)))
        .unzip();

    // Each language resolves its own files, in parallel.
    let resolutions: Vec<lang::Resolution> = Language::ALL
        .par_iter()
        .map(|&language| {
            let files: Vec<(FileId, &FileFacts)> = facts
                .iter()
                .enumerate()
                .filter(|(_, f)| f.language == language)
                .collect();
            language.support().resolve(&files, manifests)
        })
        .collect();

    let mut files: Vec<FileNode> = facts
        .iter()
        .zip(&blobs)
        .map(|(f, &(blob, size))| FileNode {
            path: f.path.clone(),
            language: f.language,
            module: None,
            parse_errors: f.parse_errors,
            build_constraint: f.build_constraint.clone(),
            blob,
            size,
        })
        .collect();
    let mut symbol_defs = Vec::new();
    let mut imports = Vec::new();
    let mut resolved_refs = Vec::new();
    let mut unsure = Vec::new();
    let mut links = Vec::new();
    let mut family_groups = Vec::new();
    let mut outside = Vec::new();
    // Package folders → the files an import of the folder depends on.
    let mut folder_files: HashMap<String, Vec<FileId>> = HashMap::new();
    for res in resolutions {
        for (file, module) in res.modules {
            files[file].module = Some(module);
        }
        for (folder, file) in res.packages {
            folder_files.entry(folder).or_default().push(file);
        }
        symbol_defs.extend(res.symbols);
        imports.extend(res.imports);
        resolved_refs.extend(res.references);
        unsure.extend(res.unsure);
        links.extend(res.renamed_with);
        family_groups.extend(res.families);
        outside.extend(res.outside_bases);
    }
    symbol_defs.sort_by(|a, b| a.id.cmp(&b.id));
    symbol_defs.dedup_by(|a, b| a.id == b.id);
    let symbols: Vec<Symbol> = symbol_defs
        .iter()
        .map(|s| {
            let def = &facts[s.file].definitions[s.definition];
            Symbol {
                id: s.id.clone(),
                name: def.name.clone(),
                kind: def.kind,
                file: s.file,
                span: def.span,
                exported: def.exported,
            }
        })
        .collect();
    let symbol_index: HashMap<String, SymbolId> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    // A module's file, for the access paths uses go through (a package: its `__init__.py`).
    let module_file: HashMap<&str, FileId> = files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.module.as_deref().map(|m| (m, i)))
        .collect();
    let mut references: Vec<Vec<SymbolRef>> = vec![Vec::new(); symbols.len()];
    for r in resolved_refs {
        if let Some(&s) = symbol_index.get(&r.symbol) {
            references[s].push(SymbolRef {
                file: r.file,
                span: r.span,
                kind: r.kind,
                via: r
                    .via
                    .as_deref()
                    .and_then(|m| module_file.get(m).copied())
                    .filter(|&f| f != r.file),
            });
        }
    }
    for refs in &mut references {
        refs.sort();
        refs.dedup_by(|a, b| a.file == b.file && a.span == b.span);
    }
    unsure.sort_by_key(|u| (u.file, u.span));
    unsure.dedup_by(|a, b| a.file == b.file && a.span == b.span);
    let mut unsure_by_symbol: Vec<Vec<usize>> = vec![Vec::new(); symbols.len()];
    for (i, u) in unsure.iter().enumerate() {
        for c in &u.candidates {
            if let Some(&s) = symbol_index.get(c) {
                unsure_by_symbol[s].push(i);
            }
        }
    }
    let mut renamed_with: Vec<Vec<SymbolId>> = vec![Vec::new(); symbols.len()];
    for (member, with) in &links {
        if let (Some(&m), Some(&w)) = (symbol_index.get(member), symbol_index.get(with)) {
            renamed_with[w].push(m);
        }
    }
    let mut families: Vec<Vec<SymbolId>> = vec![Vec::new(); symbols.len()];
    for group in &family_groups {
        let ids: Vec<SymbolId> = group
            .iter()
            .filter_map(|id| symbol_index.get(id).copied())
            .collect();
        for &a in &ids {
            families[a].extend(ids.iter().copied().filter(|&b| b != a));
        }
    }
    let outside_bases: HashMap<SymbolId, Vec<String>> = outside
        .into_iter()
        .filter_map(|(class, bases)| Some((*symbol_index.get(&class)?, bases)))
        .collect();
    imports.sort_by(|a, b| (a.file, a.line, &a.text).cmp(&(b.file, b.line, &b.text)));

    let path_index: HashMap<String, FileId> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.clone(), i))
        .collect();

    // The full graph.
    let mut graph = DiGraph::new();
    let file_nodes: Vec<NodeIndex> = (0..files.len())
        .map(|i| graph.add_node(Node::File(i)))
        .collect();
    let symbol_nodes: Vec<NodeIndex> = (0..symbols.len())
        .map(|i| graph.add_node(Node::Symbol(i)))
        .collect();
    let mut folder_nodes: HashMap<String, NodeIndex> = HashMap::new();
    let mut folder_node = |graph: &mut DiGraph<Node, EdgeKind>, folder: &str| {
        *folder_nodes.entry(folder.to_string()).or_insert_with(|| {
            let n = graph.add_node(Node::Folder(folder.to_string()));
            for &f in folder_files.get(folder).into_iter().flatten() {
                graph.add_edge(n, file_nodes[f], EdgeKind::Contains);
            }
            n
        })
    };
    let mut deps: Vec<BTreeSet<FileId>> = vec![BTreeSet::new(); files.len()];
    // One import edge per (file, target), however many statements name the target.
    let mut seen_imports = HashSet::new();
    for import in &imports {
        let from = file_nodes[import.file];
        match &import.target {
            ImportTarget::File(t) => {
                if seen_imports.insert((from, file_nodes[*t])) {
                    graph.add_edge(from, file_nodes[*t], EdgeKind::Imports);
                }
                if *t != import.file {
                    deps[import.file].insert(*t);
                }
            }
            ImportTarget::Folder(folder) => {
                let n = folder_node(&mut graph, folder);
                if seen_imports.insert((from, n)) {
                    graph.add_edge(from, n, EdgeKind::Imports);
                }
                for &f in folder_files.get(folder).into_iter().flatten() {
                    if f != import.file {
                        deps[import.file].insert(f);
                    }
                }
            }
            ImportTarget::Stdlib | ImportTarget::External | ImportTarget::Unresolved(_) => {}
        }
    }
    for (sid, symbol) in symbols.iter().enumerate() {
        graph.add_edge(
            file_nodes[symbol.file],
            symbol_nodes[sid],
            EdgeKind::Defines,
        );
        let mut users = BTreeSet::new();
        for r in &references[sid] {
            if r.kind != ReferenceKind::Definition {
                users.insert(r.file);
            }
        }
        for user in users {
            graph.add_edge(file_nodes[user], symbol_nodes[sid], EdgeKind::Uses);
            if user != symbol.file {
                deps[user].insert(symbol.file);
            }
        }
    }
    let deps: Vec<Vec<FileId>> = deps.into_iter().map(|d| d.into_iter().collect()).collect();
    let mut rdeps: Vec<Vec<FileId>> = vec![Vec::new(); files.len()];
    for (from, ds) in deps.iter().enumerate() {
        for &to in ds {
            rdeps[to].push(from);
        }
    }

    Graph {
        files,
        facts,
        symbols,
        imports,
        skipped,
        text_paths: Vec::new(),
        references,
        unsure,
        unsure_by_symbol,
        renamed_with,
        families,
        outside_bases,
        symbol_index,
        path_index,
        graph,
        deps,
        rdeps,
    }
}

/// One edge as the `graph` command prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EdgeView {
    /// A path or symbol ID.
    pub from: String,
    /// A path, folder or symbol ID.
    pub to: String,
    /// `imports`, `uses` or `defines`.
    pub kind: &'static str,
}

impl Graph {
    /// The file with this repository-relative path.
    pub fn file_id(&self, path: &str) -> Option<FileId> {
        self.path_index.get(path).copied()
    }

    /// The symbol with this ID.
    pub fn symbol_id(&self, id: &str) -> Option<SymbolId> {
        self.symbol_index.get(id).copied()
    }

    /// Every place that refers to a symbol, including its definition(s), in file and position
    /// order.
    pub fn references(&self, symbol: SymbolId) -> &[SymbolRef] {
        &self.references[symbol]
    }

    /// The unsure sites whose name is this symbol's: uses the type layer could not tell apart.
    pub fn unsure_sites(&self, symbol: SymbolId) -> impl Iterator<Item = &UnsureReference> {
        self.unsure_by_symbol[symbol]
            .iter()
            .map(|&i| &self.unsure[i])
    }

    /// The unsure sites of a rename set, each once, split into those the rename settles and
    /// those it leaves open. A use through a union of classes (`Union[Base, Other]`, a fixture
    /// parametrised over both) is unsure because renaming one class's member alone would break
    /// the others' uses; when every class's member is in the set, the rename changes them all,
    /// so the use renames with them whichever class the value is. Sites reached through a
    /// value of unknown type stay open even then: it may be a class outside the repository.
    pub fn unsure_sites_of_set(
        &self,
        set: &[SymbolId],
    ) -> (Vec<&UnsureReference>, Vec<&UnsureReference>) {
        let sites: BTreeSet<usize> = set
            .iter()
            .flat_map(|&m| self.unsure_by_symbol[m].iter().copied())
            .collect();
        sites.into_iter().map(|i| &self.unsure[i]).partition(|u| {
            u.reason == UnsureReason::Union
                && u.candidates
                    .iter()
                    .all(|c| self.symbol_id(c).is_some_and(|s| set.contains(&s)))
        })
    }

    /// The unsure sites of a rename set the rename leaves open (see
    /// [`Graph::unsure_sites_of_set`]), as reports show them.
    pub fn describe_unsure_sites(&self, symbols: &[SymbolId]) -> Vec<String> {
        self.unsure_sites_of_set(symbols)
            .1
            .into_iter()
            .map(|u| self.describe_unsure(u))
            .collect()
    }

    /// An unsure site as reports show it: `path:line:column (reason)`.
    pub fn describe_unsure(&self, u: &UnsureReference) -> String {
        format!(
            "{}:{}:{} ({})",
            self.files[u.file].path,
            u.span.line,
            u.span.column,
            u.reason.describe()
        )
    }

    /// The symbols that are one name with `symbol` and rename with it: a Go type and the
    /// embedded fields named after it.
    pub fn renamed_with(&self, symbol: SymbolId) -> &[SymbolId] {
        &self.renamed_with[symbol]
    }

    /// The other methods of a method's family: the interface methods it implements and their
    /// other implementations, which must keep one name with it.
    pub fn family(&self, symbol: SymbolId) -> &[SymbolId] {
        &self.families[symbol]
    }

    /// The import paths of the package (Go) or module (Python) `file` belongs to: what an
    /// encoder's presence is read from.
    pub fn package_imports(&self, file: FileId) -> Vec<&str> {
        let module = &self.files[file].module;
        let mut out: Vec<&str> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| &f.module == module && f.language == self.files[file].language)
            .flat_map(|(i, _)| &self.facts[i].imports)
            .filter_map(|i| match &i.kind {
                ImportKind::Package { path, .. } => Some(path.as_str()),
                ImportKind::Module { module, .. } => Some(module.as_str()),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The bases outside the repository along the MRO of the class a member belongs to
    /// (`unittest.TestCase`): what the member may override without the graph seeing it.
    pub fn outside_bases_of(&self, member: SymbolId) -> &[String] {
        let id = &self.symbols[member].id;
        id.rsplit_once('.')
            .and_then(|(class, _)| self.symbol_index.get(class))
            .and_then(|class| self.outside_bases.get(class))
            .map_or(&[], Vec::as_slice)
    }

    /// What a rename of `symbol` renames: the symbol, then its family.
    pub fn rename_set(&self, symbol: SymbolId) -> Vec<SymbolId> {
        std::iter::once(symbol)
            .chain(self.family(symbol).iter().copied())
            .collect()
    }

    /// The definition a symbol comes from, in its file's facts.
    pub fn definition(&self, symbol: SymbolId) -> Option<&crate::lang::facts::Definition> {
        let sym = &self.symbols[symbol];
        self.facts[sym.file]
            .definitions
            .iter()
            .find(|d| d.span == sym.span)
    }

    /// The access paths to a rename's symbol (and its family): `(user, module)` for each use
    /// that reaches it through another module binding it (`api.fetch_order`, `from api import
    /// fetch_order`, where `api` imported it). A path has to keep working until its users have
    /// moved to the new name.
    pub fn access_paths(&self, symbol: SymbolId) -> Vec<(FileId, FileId)> {
        let mut paths: Vec<(FileId, FileId)> = self
            .rename_set(symbol)
            .iter()
            .flat_map(|&m| self.references(m))
            .filter_map(|r| r.via.filter(|&v| v != r.file).map(|v| (r.file, v)))
            .collect();
        paths.sort_unstable();
        paths.dedup();
        paths
    }

    /// The package `__init__`s other than the definition's that re-export the symbol by
    /// importing it: its public names, which a rename that keeps them (`public = "keep"`,
    /// `keep`) leaves as they are. None when it does not keep them.
    pub fn public_reexports(&self, symbol: SymbolId, keep: bool) -> Vec<FileId> {
        if !keep {
            return Vec::new();
        }
        let def = self.symbols[symbol].file;
        let mut inits: Vec<FileId> = self
            .references(symbol)
            .iter()
            .filter(|r| {
                r.kind == ReferenceKind::Import
                    && r.file != def
                    && self.files[r.file]
                        .language
                        .support()
                        .is_package_init(&self.files[r.file].path)
            })
            .map(|r| r.file)
            .collect();
        inits.sort_unstable();
        inits.dedup();
        inits
    }

    /// The dotted paths a symbol is named by: its own ID, and for a module-level symbol each
    /// package that re-exports it (`click.format_filename` for `click.utils.format_filename`),
    /// the way documentation names it. Each with the symbol's path inside that module.
    pub fn dotted_paths(&self, symbol: SymbolId) -> Vec<(String, String)> {
        let sym = &self.symbols[symbol];
        let Some(local) = self.definition(symbol).map(|d| d.local_path()) else {
            return Vec::new();
        };
        let mut paths = vec![(sym.id.clone(), local.clone())];
        if local == sym.name {
            for init in self.public_reexports(symbol, true) {
                if let Some(module) = &self.files[init].module {
                    paths.push((format!("{module}.{}", sym.name), sym.name.clone()));
                }
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// Files this file depends on directly.
    pub fn dependencies(&self, file: FileId) -> &[FileId] {
        &self.deps[file]
    }

    /// Files that depend on this file directly.
    pub fn dependents(&self, file: FileId) -> &[FileId] {
        &self.rdeps[file]
    }

    /// Files reachable from `files` along dependency edges (not including the start files
    /// unless a cycle leads back to them), with their distance in hops, up to `max_hops`.
    pub fn transitive_dependencies(
        &self,
        files: &[FileId],
        max_hops: Option<usize>,
    ) -> Vec<(FileId, usize)> {
        self.walk(files, max_hops, &self.deps)
    }

    /// Files that depend on `files`, directly or transitively, with their distance in hops.
    pub fn transitive_dependents(
        &self,
        files: &[FileId],
        max_hops: Option<usize>,
    ) -> Vec<(FileId, usize)> {
        self.walk(files, max_hops, &self.rdeps)
    }

    fn walk(
        &self,
        start: &[FileId],
        max_hops: Option<usize>,
        adj: &[Vec<FileId>],
    ) -> Vec<(FileId, usize)> {
        let mut dist: HashMap<FileId, usize> = HashMap::new();
        let mut queue: VecDeque<(FileId, usize)> = start.iter().map(|&f| (f, 0)).collect();
        let starts: HashSet<FileId> = start.iter().copied().collect();
        while let Some((f, d)) = queue.pop_front() {
            if max_hops.is_some_and(|m| d >= m) {
                continue;
            }
            for &n in &adj[f] {
                if starts.contains(&n) || dist.contains_key(&n) {
                    continue;
                }
                dist.insert(n, d + 1);
                queue.push_back((n, d + 1));
            }
        }
        let mut out: Vec<(FileId, usize)> = dist.into_iter().collect();
        out.sort();
        out
    }

    /// Strongly connected components of the file dependency relation that contain a cycle,
    /// largest first (each sorted by path).
    pub fn cycles(&self) -> Vec<Vec<FileId>> {
        let mut g: DiGraph<FileId, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.files.len()).map(|i| g.add_node(i)).collect();
        for (from, ds) in self.deps.iter().enumerate() {
            for &to in ds {
                g.add_edge(nodes[from], nodes[to], ());
            }
        }
        let mut out: Vec<Vec<FileId>> = petgraph::algo::tarjan_scc(&g)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut files: Vec<FileId> = c.into_iter().map(|n| g[n]).collect();
                files.sort();
                files
            })
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out
    }

    /// The import, use and define edges, sorted, as paths and symbol IDs.
    pub fn edges(&self) -> Vec<EdgeView> {
        let mut out = BTreeSet::new();
        for e in self.graph.raw_edges() {
            let kind = e.weight;
            if kind == EdgeKind::Contains {
                continue;
            }
            let from = self.node_name(&self.graph[e.source()]);
            let to = self.node_name(&self.graph[e.target()]);
            out.insert(EdgeView {
                from,
                to,
                kind: kind.name(),
            });
        }
        out.into_iter().collect()
    }

    /// How many import, use and define edges there are (without materialising them).
    pub fn edge_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for e in self.graph.raw_edges() {
            if e.weight != EdgeKind::Contains {
                *counts.entry(e.weight.name()).or_default() += 1;
            }
        }
        counts
    }

    fn node_name(&self, node: &Node) -> String {
        match node {
            Node::File(f) => self.files[*f].path.clone(),
            Node::Folder(d) => d.clone(),
            Node::Symbol(s) => self.symbols[*s].id.clone(),
        }
    }

    /// Symbol IDs closest to `query` (for "did you mean" hints): same final name first, then
    /// by edit distance.
    pub fn closest_symbols(&self, query: &str, limit: usize) -> Vec<&str> {
        let last = query.rsplit(['.', '/']).next().unwrap_or(query);
        let mut scored: Vec<(usize, &str)> = self
            .symbols
            .iter()
            .map(|s| {
                let name_bonus = if s.name == last { 0 } else { 1000 };
                (
                    name_bonus + crate::suggest::edit_distance(query, &s.id),
                    s.id.as_str(),
                )
            })
            .collect();
        scored.sort();
        scored.into_iter().take(limit).map(|(_, id)| id).collect()
    }
}

/// Uses of a Go field that a struct gets by embedding a type: selectors (`c.Conn.Close()`)
/// and literal keys (`TracedConn{Conn: c}`) that name the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedFieldUse {
    /// The file declaring the embedding struct.
    pub struct_file: FileId,
    /// The embedding struct's name.
    pub struct_name: String,
    /// The file with the uses.
    pub literal_file: FileId,
    /// Byte ranges of the field's name at each use.
    pub keys: Vec<(usize, usize)>,
}

impl Graph {
    /// Where a Go type's name is also a field name: the uses of the fields of structs that
    /// embed it. Renaming the type renames those fields, so those uses must change in the same
    /// commit as the struct.
    pub fn embedded_field_uses(&self, symbol: SymbolId) -> Vec<EmbeddedFieldUse> {
        let mut out = Vec::new();
        for &field in self.renamed_with(symbol) {
            let f = &self.symbols[field];
            let owner = f.id.rsplit('.').nth(1).unwrap_or_default().to_string();
            let mut by_file: BTreeMap<FileId, Vec<(usize, usize)>> = BTreeMap::new();
            for r in self.references(field) {
                if r.kind != ReferenceKind::Definition {
                    by_file
                        .entry(r.file)
                        .or_default()
                        .push((r.span.start as usize, r.span.end as usize));
                }
            }
            for (file, keys) in by_file {
                out.push(EmbeddedFieldUse {
                    struct_file: f.file,
                    struct_name: owner.clone(),
                    literal_file: file,
                    keys,
                });
            }
        }
        out
    }
}
