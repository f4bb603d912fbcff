//! `git ripple graph`: the dependency graph as a summary, JSON, Graphviz, or one symbol.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result};
use serde_json::json;

use super::exit;
use crate::graph::{Graph, GraphOptions, SymbolRef, build_graph};
use crate::lang::{ImportTarget, Language, UnsureReference};
use crate::scan::{Repository, scan_repo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A summary a person reads at a glance.
    Text,
    /// Files, edges, symbols and unresolved imports for tools.
    Json,
    /// Graphviz: files (or packages with --packages) and their imports.
    Dot,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  git ripple graph
  git ripple graph --format json > graph.json
  git ripple graph --format dot --packages | dot -Tsvg > packages.svg
  git ripple graph --symbol example.com/shop/models.Order
  git ripple graph --symbol shopcore.db.queries.fetch_order --format json
  git ripple graph --references --format json > references.json")]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
    /// With --format dot: one node per package (Go folder, Python package) instead of per file.
    #[arg(long)]
    pub packages: bool,
    /// Show one symbol's definition and every reference (file:line:column) instead of the graph.
    #[arg(long, value_name = "ID")]
    pub symbol: Option<String>,
    /// Every symbol with every reference, and every unsure site (a use whose name matches a
    /// member but whose receiver's type is unknown), for tools that check them.
    #[arg(long, conflicts_with = "symbol")]
    pub references: bool,
    /// Skip source files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_file_size: u64,
    /// Parse every file again instead of reusing the facts cache (`git ripple cache`).
    #[arg(long)]
    pub no_cache: bool,
}

/// A symbol that is not in the repository, with the closest IDs that are.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("no symbol `{id}` in this repository")]
#[diagnostic(code(ripple::unknown_symbol), help("{hint}"))]
struct UnknownSymbol {
    id: String,
    hint: String,
}

pub fn run_graph(cwd: &Path, args: GraphArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let scan = scan_repo(&repo)?;
    let options = GraphOptions {
        max_file_size: args.max_file_size,
        cache: !args.no_cache,
        ..GraphOptions::default()
    };
    let graph = build_graph(&repo.root, &scan, &options)?;
    let out = match (&args.symbol, args.format) {
        (Some(id), format) => render_symbol(&graph, id, format)?,
        (None, format) if args.references => render_references(&graph, format).into_diagnostic()?,
        (None, GraphFormat::Text) => render_text(&graph),
        (None, GraphFormat::Json) => {
            if let Err(e) = write_json(&graph, std::io::stdout().lock()) {
                let kind = e.io_error_kind().unwrap_or(std::io::ErrorKind::Other);
                super::stdout_failed(kind, &e);
            }
            String::new()
        }
        (None, GraphFormat::Dot) => render_dot(&graph, args.packages),
    };
    out!("{out}");
    // The graph is the process's largest allocation, and the process ends here: the system
    // takes the memory back at once, where dropping it piece by piece cost a tenth of a warm
    // build.
    std::mem::forget(graph);
    Ok(exit::SUCCESS)
}

fn import_kind(target: &ImportTarget) -> &'static str {
    match target {
        ImportTarget::File(_) | ImportTarget::Folder(_) => "resolved",
        ImportTarget::Stdlib => "stdlib",
        ImportTarget::External => "third_party",
        ImportTarget::Unresolved(_) => "unresolved",
    }
}

/// The human summary.
pub fn render_text(graph: &Graph) -> String {
    let mut s = String::new();
    let mut per_lang: BTreeMap<Language, usize> = BTreeMap::new();
    for f in &graph.files {
        *per_lang.entry(f.language).or_default() += 1;
    }
    let langs: Vec<String> = per_lang.iter().map(|(l, n)| format!("{n} {l}")).collect();
    let _ = writeln!(
        s,
        "files      {} ({})",
        graph.files.len(),
        if langs.is_empty() {
            "none".into()
        } else {
            langs.join(", ")
        }
    );
    let exported = graph.symbols.iter().filter(|s| s.exported).count();
    let _ = writeln!(
        s,
        "symbols    {} ({exported} exported)",
        graph.symbols.len()
    );
    let edges = graph.edge_counts();
    let count = |k: &str| edges.get(k).copied().unwrap_or(0);
    let _ = writeln!(
        s,
        "edges      {} imports, {} uses, {} defines",
        count("imports"),
        count("uses"),
        count("defines")
    );
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &graph.imports {
        *by_kind.entry(import_kind(&i.target)).or_default() += 1;
    }
    let _ = writeln!(
        s,
        "imports    {} resolved, {} stdlib, {} third-party, {} unresolved",
        by_kind.get("resolved").unwrap_or(&0),
        by_kind.get("stdlib").unwrap_or(&0),
        by_kind.get("third_party").unwrap_or(&0),
        by_kind.get("unresolved").unwrap_or(&0),
    );
    let unresolved: Vec<_> = graph
        .imports
        .iter()
        .filter_map(|i| match &i.target {
            ImportTarget::Unresolved(why) => Some((i, why)),
            _ => None,
        })
        .collect();
    for (i, why) in unresolved.iter().take(10) {
        let _ = writeln!(
            s,
            "  unresolved {}:{} {} ({why})",
            graph.files[i.file].path, i.line, i.text
        );
    }
    if unresolved.len() > 10 {
        let _ = writeln!(
            s,
            "  … and {} more (see --format json)",
            unresolved.len() - 10
        );
    }
    let with_errors: Vec<_> = graph.files.iter().filter(|f| f.parse_errors > 0).collect();
    let _ = writeln!(
        s,
        "parse      {} files with syntax errors",
        with_errors.len()
    );
    for f in with_errors.iter().take(10) {
        let _ = writeln!(s, "  {} ({} error nodes)", f.path, f.parse_errors);
    }
    if !graph.skipped.is_empty() {
        let _ = writeln!(s, "skipped    {} files", graph.skipped.len());
        for k in graph.skipped.iter().take(10) {
            let _ = writeln!(s, "  {} ({})", k.path, k.reason);
        }
    }
    let cycles = graph.cycles();
    let _ = writeln!(s, "cycles     {}", cycles.len());
    for c in cycles.iter().take(5) {
        let names: Vec<&str> = c.iter().map(|&f| graph.files[f].path.as_str()).collect();
        let shown = names.iter().take(6).copied().collect::<Vec<_>>().join(", ");
        let more = if names.len() > 6 {
            format!(", … ({} files)", names.len())
        } else {
            String::new()
        };
        let _ = writeln!(s, "  {shown}{more}");
    }
    s
}

/// The whole graph as JSON, written to `out` as it is serialised: nothing the size of the
/// output is built in memory (a `serde_json::Value` of django's graph took 270 MB). Keys come
/// in sorted order, as a JSON object map sorts them.
pub fn write_json(graph: &Graph, out: impl std::io::Write) -> serde_json::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &JsonGraph(graph))?;
    use std::io::Write as _;
    out.write_all(b"\n").map_err(serde_json::Error::io)?;
    out.flush().map_err(serde_json::Error::io)
}

struct JsonGraph<'g>(&'g Graph);

/// A sequence serialised from an iterator made on demand.
struct Seq<F>(F);

impl<F, I> serde::Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

#[derive(serde::Serialize)]
struct JsonFile<'g> {
    #[serde(skip_serializing_if = "Option::is_none")]
    build_constraint: Option<&'g String>,
    language: Language,
    module: &'g Option<String>,
    parse_errors: u32,
    path: &'g str,
}

#[derive(serde::Serialize)]
struct JsonSymbol<'g> {
    column: u32,
    exported: bool,
    file: &'g str,
    id: &'g str,
    kind: crate::lang::facts::SymbolKind,
    line: u32,
    name: &'g str,
}

#[derive(serde::Serialize)]
struct JsonEdge<'e> {
    from: &'e str,
    kind: &'static str,
    to: &'e str,
}

#[derive(serde::Serialize)]
struct JsonUnresolved<'g> {
    file: &'g str,
    import: &'g str,
    line: u32,
    reason: &'g str,
}

#[derive(serde::Serialize)]
struct JsonExternal<'g> {
    file: &'g str,
    import: &'g str,
    kind: &'static str,
    line: u32,
}

impl serde::Serialize for JsonGraph<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let graph = self.0;
        let path = |f: usize| graph.files[f].path.as_str();
        let mut map = serializer.serialize_map(Some(7))?;
        let cycles = graph.cycles();
        map.serialize_entry(
            "cycles",
            &Seq(|| cycles.iter().map(|c| Seq(|| c.iter().map(|&f| path(f))))),
        )?;
        let edges = graph.edges();
        map.serialize_entry(
            "edges",
            &Seq(|| {
                edges.iter().map(|e| JsonEdge {
                    from: &e.from,
                    kind: e.kind,
                    to: &e.to,
                })
            }),
        )?;
        map.serialize_entry(
            "external",
            &Seq(|| {
                graph.imports.iter().filter_map(|i| match &i.target {
                    ImportTarget::Stdlib | ImportTarget::External => Some(JsonExternal {
                        file: path(i.file),
                        import: &i.text,
                        kind: import_kind(&i.target),
                        line: i.line,
                    }),
                    _ => None,
                })
            }),
        )?;
        map.serialize_entry(
            "files",
            &Seq(|| {
                graph.files.iter().map(|f| JsonFile {
                    build_constraint: f.build_constraint.as_ref(),
                    language: f.language,
                    module: &f.module,
                    parse_errors: f.parse_errors,
                    path: &f.path,
                })
            }),
        )?;
        map.serialize_entry("skipped", &graph.skipped)?;
        map.serialize_entry(
            "symbols",
            &Seq(|| {
                graph.symbols.iter().map(|s| JsonSymbol {
                    column: s.span.column,
                    exported: s.exported,
                    file: path(s.file),
                    id: &s.id,
                    kind: s.kind,
                    line: s.span.line,
                    name: &s.name,
                })
            }),
        )?;
        map.serialize_entry(
            "unresolved",
            &Seq(|| {
                graph.imports.iter().filter_map(|i| match &i.target {
                    ImportTarget::Unresolved(reason) => Some(JsonUnresolved {
                        file: path(i.file),
                        import: &i.text,
                        line: i.line,
                        reason,
                    }),
                    _ => None,
                })
            }),
        )?;
        map.end()
    }
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The package (Go folder, Python parent package folder) a file belongs to.
fn package_of(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    }
}

/// Graphviz of the import edges.
pub fn render_dot(graph: &Graph, packages: bool) -> String {
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for e in graph.edges().into_iter().filter(|e| e.kind == "imports") {
        let (from, to) = if packages {
            let to = match graph.file_id(&e.to) {
                Some(_) => package_of(&e.to),
                None => e.to.clone(),
            };
            (package_of(&e.from), to)
        } else {
            (e.from, e.to)
        };
        if from == to {
            continue;
        }
        nodes.insert(from.clone());
        nodes.insert(to.clone());
        edges.insert((from, to));
    }
    if !packages {
        for f in &graph.files {
            nodes.insert(f.path.clone());
        }
    }
    let mut s = String::from(
        "digraph ripple {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for n in &nodes {
        let _ = writeln!(s, "  {};", dot_id(n));
    }
    for (a, b) in &edges {
        let _ = writeln!(s, "  {} -> {};", dot_id(a), dot_id(b));
    }
    s.push_str("}\n");
    s
}

fn reference_json(graph: &Graph, r: &SymbolRef) -> serde_json::Value {
    json!({
        "file": graph.files[r.file].path,
        "line": r.span.line,
        "column": r.span.column,
        "kind": r.kind.name(),
    })
}

fn unsure_json(graph: &Graph, u: &UnsureReference) -> serde_json::Value {
    json!({
        "file": graph.files[u.file].path,
        "line": u.span.line,
        "column": u.span.column,
        "name": u.name,
        "reason": u.reason,
        "candidates": u.candidates,
    })
}

fn reference_line(graph: &Graph, r: &SymbolRef) -> String {
    format!(
        "{}:{}:{}  {}",
        graph.files[r.file].path,
        r.span.line,
        r.span.column,
        r.kind.name()
    )
}

fn unsure_line(graph: &Graph, u: &UnsureReference) -> String {
    format!("unsure {}", graph.describe_unsure(u))
}

/// Every symbol's references and every unsure site.
fn render_references(graph: &Graph, format: GraphFormat) -> serde_json::Result<String> {
    if format == GraphFormat::Json {
        let symbols: Vec<_> = (0..graph.symbols.len())
            .map(|sid| {
                let s = &graph.symbols[sid];
                json!({
                    "id": s.id,
                    "kind": s.kind,
                    "references": graph.references(sid).iter()
                        .map(|r| reference_json(graph, r)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let unsure: Vec<_> = graph.unsure.iter().map(|u| unsure_json(graph, u)).collect();
        let mut s = serde_json::to_string_pretty(&json!({ "symbols": symbols, "unsure": unsure }))?;
        s.push('\n');
        return Ok(s);
    }
    let mut s = String::new();
    for (sid, sym) in graph.symbols.iter().enumerate() {
        let _ = writeln!(s, "{} ({})", sym.id, sym.kind.name());
        for r in graph.references(sid) {
            let _ = writeln!(s, "  {}", reference_line(graph, r));
        }
    }
    let _ = writeln!(s, "{} unsure sites", graph.unsure.len());
    for u in &graph.unsure {
        let _ = writeln!(s, "  {}  ({})", unsure_line(graph, u), u.name);
    }
    Ok(s)
}

fn render_symbol(graph: &Graph, id: &str, format: GraphFormat) -> Result<String> {
    let Some(sid) = graph.symbol_id(id) else {
        let close = graph.closest_symbols(id, 3);
        let hint = if close.is_empty() {
            "list the repository's symbols with `git ripple graph --format json`".to_string()
        } else {
            format!(
                "did you mean {}?",
                close
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(UnknownSymbol {
            id: id.to_string(),
            hint,
        }
        .into());
    };
    let symbol = &graph.symbols[sid];
    let refs = graph.references(sid);
    Ok(match format {
        GraphFormat::Json => {
            let references: Vec<_> = refs.iter().map(|r| reference_json(graph, r)).collect();
            let unsure: Vec<_> = graph
                .unsure_sites(sid)
                .map(|u| unsure_json(graph, u))
                .collect();
            let mut s = serde_json::to_string_pretty(&json!({
                "id": symbol.id,
                "name": symbol.name,
                "kind": symbol.kind,
                "exported": symbol.exported,
                "definition": {
                    "file": graph.files[symbol.file].path,
                    "line": symbol.span.line,
                    "column": symbol.span.column,
                },
                "references": references,
                "unsure": unsure,
            }))
            .into_diagnostic()?;
            s.push('\n');
            s
        }
        GraphFormat::Text | GraphFormat::Dot => {
            let mut s = String::new();
            let _ = writeln!(s, "{} ({})", symbol.id, symbol.kind.name());
            let _ = writeln!(
                s,
                "  defined  {}:{}:{}",
                graph.files[symbol.file].path, symbol.span.line, symbol.span.column
            );
            let uses: Vec<_> = refs
                .iter()
                .filter(|r| !(r.file == symbol.file && r.span == symbol.span))
                .collect();
            let files: BTreeSet<usize> = uses.iter().map(|r| r.file).collect();
            let _ = writeln!(s, "  {} references in {} files", uses.len(), files.len());
            for r in uses {
                let _ = writeln!(s, "  {}", reference_line(graph, r));
            }
            let unsure: Vec<_> = graph.unsure_sites(sid).collect();
            if !unsure.is_empty() {
                let _ = writeln!(
                    s,
                    "  {} unsure sites (the name matches, but not provably this symbol)",
                    unsure.len()
                );
                for u in unsure {
                    let _ = writeln!(s, "  {}", unsure_line(graph, u));
                }
            }
            s
        }
    })
}
