//! Selection: which files a step must touch, each with the reasons it was chosen (the
//! definition and every reference of a renamed symbol, the matches of a rewrite's queries, a
//! moved module and its importers, a model step's references, queries and paths).

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::{PlanError, folder_of};
use crate::graph::Graph;
use crate::lang::facts::ReferenceKind;
use crate::lang::{self, FileId, ImportTarget, Language, UnsureReference};
use crate::recipe::{PathFilter, Public, RenameStep, RewriteStep, Selection, StepAction, Unsure};
use crate::scan::View;

/// Targets with their reasons, sorted by file (path order).
pub(super) type Targets = BTreeMap<FileId, Vec<String>>;

fn add_reason(targets: &mut Targets, file: FileId, reason: String) {
    let reasons = targets.entry(file).or_default();
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

/// Generated files among a step's targets are never edited (the next `go generate` would
/// undo it): they leave the targets, and the note says which generator directives of their
/// packages remake them.
pub(super) fn take_generated(graph: &Graph, targets: &mut Targets) -> Option<String> {
    let generated: Vec<FileId> = targets
        .keys()
        .copied()
        .filter(|&f| graph.facts[f].generated)
        .collect();
    if generated.is_empty() {
        return None;
    }
    let mut directives = BTreeSet::new();
    for &f in &generated {
        targets.remove(&f);
        let folder = folder_of(&graph.files[f].path);
        for (other, facts) in graph.facts.iter().enumerate() {
            if folder_of(&graph.files[other].path) == folder {
                for (line, command) in &facts.generators {
                    directives.insert(format!(
                        "`//go:generate {command}` ({}:{line})",
                        graph.files[other].path
                    ));
                }
            }
        }
    }
    let files: Vec<&str> = generated
        .iter()
        .map(|&f| graph.files[f].path.as_str())
        .collect();
    Some(format!(
        "{} generated file{} not edited, regenerate {}: {}{}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if files.len() == 1 { "it" } else { "them" },
        files.join(", "),
        if directives.is_empty() {
            " (no //go:generate directive in their packages names the generator)".to_string()
        } else {
            format!(
                "; made by {}",
                directives.into_iter().collect::<Vec<_>>().join(", ")
            )
        }
    ))
}

/// The targets of one step, on the repository as `view` shows it.
pub(super) fn select_targets(
    view: View<'_>,
    graph: &Graph,
    action: &StepAction,
) -> Result<Targets, PlanError> {
    let mut targets = Targets::new();
    match action {
        StepAction::Rename(r) => {
            if let Some(sid) = graph.symbol_id(&r.symbol.value) {
                let public = graph.public_reexports(sid, r.public == Public::Keep);
                let set = graph.rename_set(sid);
                for &member in &set {
                    add_symbol_targets(graph, member, &public, &mut targets);
                }
                let (settled, open) = graph.unsure_sites_of_set(&set);
                for u in settled {
                    add_reason(
                        &mut targets,
                        u.file,
                        format!(
                            "uses `{}` through a union of classes whose members all rename",
                            u.name
                        ),
                    );
                }
                if r.unsure == Unsure::Rename {
                    for u in open {
                        add_reason(
                            &mut targets,
                            u.file,
                            format!("an unsure site of `{}` (unsure = \"rename\")", u.name),
                        );
                    }
                }
                for u in graph.embedded_field_uses(sid) {
                    add_reason(
                        &mut targets,
                        u.literal_file,
                        format!(
                            "sets the field `{}` that `{}` embeds, by name",
                            graph.symbols[sid].name, u.struct_name
                        ),
                    );
                }
            }
        }
        StepAction::Model(m) => select_model_targets(view, graph, &m.select, &mut targets)?,
        StepAction::Rewrite(rw) => select_rewrite_targets(view, graph, rw, &mut targets)?,
        StepAction::Move(m) => select_move_targets(graph, &m.from.value, &mut targets),
    }
    Ok(targets)
}

/// The defining file and every file referring to the symbol, with what each reference is.
/// What a rename's plan says besides its batches: the method family it renames, and the
/// unsure sites (where they are, why, and what happens to them).
pub(super) fn rename_notes(view: View<'_>, graph: &Graph, r: &RenameStep) -> Vec<String> {
    let Some(sid) = graph.symbol_id(&r.symbol.value) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    let sym = &graph.symbols[sid];
    let support = graph.files[sym.file].language.support();
    if let Some(source) = view.text(&graph.files[sym.file].path)
        && let Some(def) = graph.definition(sid)
        && let Some((_, tag)) =
            support.wire_name_tag(&source, def, &graph.package_imports(sym.file), &sym.name)
    {
        notes.push(format!(
            "`{}` is encoded by its name: the rename adds the tag {} to keep its wire name",
            sym.name,
            tag.trim()
        ));
    }
    let set = graph.rename_set(sid);
    if set.len() > 1 {
        notes.push(format!(
            "renames the method family of `{}` with it: {}",
            graph.symbols[sid].name,
            set[1..]
                .iter()
                .map(|&m| format!("`{}`", graph.symbols[m].id))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let (settled, open) = graph.unsure_sites_of_set(&set);
    let describe = |sites: Vec<&UnsureReference>| -> Vec<String> {
        sites
            .into_iter()
            .map(|u| graph.describe_unsure(u))
            .collect()
    };
    let (settled, sites) = (describe(settled), describe(open));
    if !settled.is_empty() {
        notes.push(format!(
            "renames {} use{} through a union of classes whose members of that name all rename: {}",
            settled.len(),
            if settled.len() == 1 { "" } else { "s" },
            settled.join(", ")
        ));
    }
    if !sites.is_empty() {
        let what = match r.unsure {
            Unsure::Rename => "renamed too (unsure = \"rename\")",
            _ => "left as they are, for verification to judge (unsure = \"report\")",
        };
        notes.push(format!(
            "{} unsure site{} (the name matches, but not provably this symbol), {what}: {}",
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
            sites.join(", ")
        ));
    }
    notes
}

/// The unsure sites a rename leaves as they are (all of them, unless `unsure = "rename"`).
pub(super) fn unsure_left(graph: &Graph, r: &RenameStep) -> Vec<String> {
    match graph.symbol_id(&r.symbol.value) {
        Some(sid) if r.unsure != Unsure::Rename => {
            graph.describe_unsure_sites(&graph.rename_set(sid))
        }
        _ => Vec::new(),
    }
}

/// `public`: the re-exports whose callers keep the old name (`public = "keep"`).
fn add_symbol_targets(graph: &Graph, sid: usize, public: &[FileId], targets: &mut Targets) {
    let symbol = &graph.symbols[sid];
    add_reason(targets, symbol.file, format!("defines `{}`", symbol.name));
    let mut per_file: BTreeMap<FileId, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for r in graph.references(sid) {
        if r.keeps_public_name(public) {
            continue;
        }
        let what = match r.kind {
            ReferenceKind::Definition => continue,
            ReferenceKind::Code => "use",
            ReferenceKind::Import => "import",
            ReferenceKind::AllEntry => "`__all__` entry",
            ReferenceKind::StringAnnotation => "string annotation",
            ReferenceKind::Example => "example function",
            ReferenceKind::PatchTarget => "patch target string",
            ReferenceKind::Fixture => "fixture request",
        };
        *per_file.entry(r.file).or_default().entry(what).or_default() += 1;
    }
    for (file, counts) in per_file {
        let parts: Vec<String> = counts
            .iter()
            .map(|(what, n)| {
                if *n == 1 {
                    format!("1 {what}")
                } else {
                    format!("{n} {what}s")
                }
            })
            .collect();
        add_reason(
            targets,
            file,
            format!("refers to `{}`: {}", symbol.name, parts.join(", ")),
        );
    }
}

fn select_model_targets(
    view: View<'_>,
    graph: &Graph,
    select: &Selection,
    targets: &mut Targets,
) -> Result<(), PlanError> {
    let mut selected = Targets::new();
    for id in &select.references {
        if let Some(sid) = graph.symbol_id(&id.value) {
            add_symbol_targets(graph, sid, &[], &mut selected);
        }
    }
    if let Some((language, query)) = &select.query {
        for (file, count) in query_matches(view, graph, *language, query, &select.paths)? {
            add_reason(&mut selected, file, format!("query matches {count} times"));
        }
    }
    let only_paths = select.references.is_empty() && select.query.is_none();
    if only_paths {
        for (f, node) in graph.files.iter().enumerate() {
            if select.paths.allows(&node.path) {
                add_reason(&mut selected, f, "matches the step's paths".to_string());
            }
        }
    } else {
        selected.retain(|&f, _| select.paths.allows(&graph.files[f].path));
    }
    if select.propagate > 0 {
        let start: Vec<FileId> = selected.keys().copied().collect();
        for (f, hops) in graph.transitive_dependents(&start, Some(select.propagate)) {
            // Dependents are added wherever they are (the include globs chose the start),
            // unless excluded.
            if selected.contains_key(&f) || select.paths.excludes(&graph.files[f].path) {
                continue;
            }
            let why = if hops == 1 {
                "depends on a selected file (propagate)".to_string()
            } else {
                format!("depends on a selected file, {hops} hops away (propagate)")
            };
            add_reason(targets, f, why);
        }
    }
    for (f, reasons) in selected {
        for r in reasons {
            add_reason(targets, f, r);
        }
    }
    Ok(())
}

fn select_rewrite_targets(
    view: View<'_>,
    graph: &Graph,
    step: &RewriteStep,
    targets: &mut Targets,
) -> Result<(), PlanError> {
    let files: Vec<FileId> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, n)| n.language == step.language && step.paths.allows(&n.path))
        .map(|(f, _)| f)
        .collect();
    // (file, rule, matches), per file.
    let counts = files
        .par_iter()
        .map(|&f| {
            let Ok(source) = view.read(&graph.files[f].path) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for (r, rule) in step.rules.iter().enumerate() {
                let n = lang::count_captures(
                    step.language,
                    &rule.query,
                    &rule.replace,
                    source.as_bytes(),
                )?;
                if n > 0 {
                    out.push((f, r, n));
                }
            }
            Ok::<_, PlanError>(out)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for per_file in counts {
        for (f, r, n) in per_file {
            let rule = &step.rules[r];
            let label = template_label(rule);
            let times = if n == 1 {
                "1 match".to_string()
            } else {
                format!("{n} matches")
            };
            add_reason(targets, f, format!("rule {} ({label}): {times}", r + 1));
        }
    }
    Ok(())
}

fn template_label(rule: &crate::recipe::RewriteRule) -> String {
    let text: String = rule
        .template
        .parts
        .iter()
        .map(|p| match p {
            crate::recipe::TemplatePart::Text(t) => t.clone(),
            crate::recipe::TemplatePart::Capture(c) => format!("${c}"),
        })
        .collect();
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 40 {
        let cut: String = line.chars().take(39).collect();
        format!("→ {cut}…")
    } else {
        format!("→ {line}")
    }
}

/// Files where `query` matches, restricted to `language` and `paths`, with the number of
/// nodes captured as `@match` (or as the query's first capture).
fn query_matches(
    view: View<'_>,
    graph: &Graph,
    language: Language,
    query: &tree_sitter::Query,
    paths: &PathFilter,
) -> Result<Vec<(FileId, usize)>, PlanError> {
    let files: Vec<FileId> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, n)| n.language == language && paths.allows(&n.path))
        .map(|(f, _)| f)
        .collect();
    let names = query.capture_names();
    let capture = names
        .iter()
        .find(|c| **c == "match")
        .or(names.first())
        .map(|c| c.to_string());
    let Some(capture) = capture else {
        return Ok(Vec::new());
    };
    let results: Vec<Result<Option<(FileId, usize)>, PlanError>> = files
        .par_iter()
        .map(|&f| {
            let Ok(source) = view.read(&graph.files[f].path) else {
                return Ok(None);
            };
            let n = lang::count_captures(language, query, &capture, source.as_bytes())?;
            Ok((n > 0).then_some((f, n)))
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        if let Some(x) = r? {
            out.push(x);
        }
    }
    Ok(out)
}

fn select_move_targets(graph: &Graph, from: &str, targets: &mut Targets) {
    let moved: BTreeSet<FileId> = graph
        .files
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.module
                .as_deref()
                .is_some_and(|m| n.language.support().module_contains(from, m))
        })
        .map(|(f, _)| f)
        .collect();
    let moved_folders: BTreeSet<String> = moved
        .iter()
        .map(|&f| folder_of(&graph.files[f].path).to_string())
        .collect();
    for &f in &moved {
        add_reason(targets, f, format!("is moved (part of `{from}`)"));
    }
    for imp in &graph.imports {
        let hits = match &imp.target {
            ImportTarget::File(t) => moved.contains(t),
            ImportTarget::Folder(d) => moved_folders.contains(d.as_str()),
            _ => false,
        };
        if hits && !moved.contains(&imp.file) {
            add_reason(
                targets,
                imp.file,
                format!("imports `{from}` (line {})", imp.line),
            );
        }
    }
}

/// A place outside the graph's references that names a rename's symbol by its dotted path:
/// in documentation, configuration, packaging metadata, or a string of code.
#[derive(Debug, Clone)]
pub(super) struct Mention {
    pub path: String,
    /// The symbol's name (what the mention spells).
    pub name: String,
    pub mention: lang::OutsideMention,
}

impl Mention {
    /// Whether the rename edits it: an exact one always, the others with `unsure = "rename"`.
    pub fn renamed(&self, unsure: Unsure) -> bool {
        self.mention.exact || unsure == Unsure::Rename
    }

    /// `path:line:column (what)`, as the plan lists unsure sites.
    pub fn describe(&self) -> String {
        format!(
            "{}:{}:{} ({})",
            self.path, self.mention.span.line, self.mention.span.column, self.mention.what
        )
    }

    /// Why the rename edits its file, as the plan's targets say it.
    pub fn reason(&self) -> String {
        format!(
            "names `{}` in {}{}",
            self.name,
            self.mention.what,
            if self.mention.exact {
                ""
            } else {
                " (unsure = \"rename\")"
            }
        )
    }
}

/// What a rename does with the mentions of its symbol outside code.
pub(super) struct RenameMentions {
    /// The ones it edits: exact ones, and all with `unsure = "rename"`.
    pub edited: Vec<Mention>,
    /// The ones it leaves, as the plan lists unsure sites.
    pub left: Vec<String>,
    /// How many of those left something may run (not documentation): the alias stays for them.
    pub run_left: usize,
}

/// The mentions of a rename's symbol outside code (never in the recipe itself), split into
/// those it edits and those it lists, with the plan's note; `unsure = "fail"` refuses any it
/// would leave.
pub(super) fn rename_mentions(
    view: View<'_>,
    graph: &Graph,
    recipe: &crate::recipe::Recipe,
    r: &RenameStep,
    notes: &mut Vec<String>,
) -> Result<RenameMentions, PlanError> {
    let mut mentions = outside_mentions(view, graph, r);
    if let crate::recipe::Origin::File(file) = &recipe.source.origin
        && let Ok(recipe_file) = std::fs::canonicalize(file)
    {
        mentions.retain(|m| {
            std::fs::canonicalize(view.root.join(&m.path))
                .ok()
                .as_deref()
                != Some(recipe_file.as_path())
        });
    }
    let (edited, left): (Vec<Mention>, Vec<Mention>) =
        mentions.into_iter().partition(|m| m.renamed(r.unsure));
    let listed: Vec<String> = left.iter().map(Mention::describe).collect();
    let plural = listed.len() != 1;
    if r.unsure == Unsure::Fail && !listed.is_empty() {
        return Err(Box::new(
            recipe.invalid_at(
                r.symbol.span.clone(),
                format!(
                    "{} place{} outside code may name `{}` by its path: {}",
                    listed.len(),
                    if plural { "s" } else { "" },
                    r.symbol.value,
                    listed.join(", ")
                ),
                "unsure = \"fail\"",
                Some(
                    "`unsure = \"report\"` lists them in the plan, `\"rename\"` renames them too"
                        .into(),
                ),
            ),
        )
        .into());
    }
    if !listed.is_empty() {
        notes.push(format!(
            "{} mention{} outside code name `{}` by its path but nothing proves how {} read, left as {} (unsure = \"report\"): {}",
            listed.len(),
            if plural { "s" } else { "" },
            r.symbol.value,
            if plural { "they are" } else { "it is" },
            if plural { "they are" } else { "it is" },
            listed.join(", ")
        ));
    }
    Ok(RenameMentions {
        run_left: left.iter().filter(|m| !m.mention.docs).count(),
        edited,
        left: listed,
    })
}

/// Every mention of a rename's symbol outside its references: the documentation and
/// configuration files the scan found, and the strings of the language's source files (a
/// string that is already a reference, a `mock.patch` target, is the graph's).
pub(super) fn outside_mentions(view: View<'_>, graph: &Graph, r: &RenameStep) -> Vec<Mention> {
    let Some(sid) = graph.symbol_id(&r.symbol.value) else {
        return Vec::new();
    };
    let sym = &graph.symbols[sid];
    let language = graph.files[sym.file].language;
    let support = language.support();
    let dotted = graph.dotted_paths(sid);
    let sources = graph
        .files
        .iter()
        .filter(|f| f.language == language)
        .map(|f| f.path.as_str());
    let paths: Vec<&str> = graph
        .text_paths
        .iter()
        .map(String::as_str)
        .chain(sources)
        .collect();
    let references = graph.references(sid);
    let mut out: Vec<Mention> = paths
        .par_iter()
        .filter_map(|&path| {
            let text = view.text(path)?;
            if !text.contains(sym.name.as_str()) {
                return None;
            }
            let fid = graph.file_id(path);
            let mut found: Vec<Mention> = dotted
                .iter()
                .flat_map(|(symbol, local)| support.outside_mentions(path, &text, symbol, local))
                .filter(|m| {
                    !references.iter().any(|r| {
                        Some(r.file) == fid
                            && r.span.start < m.span.end
                            && m.span.start < r.span.end
                    })
                })
                .map(|mention| Mention {
                    path: path.to_string(),
                    name: sym.name.clone(),
                    mention,
                })
                .collect();
            found.sort_by_key(|m| m.mention.span.start);
            found.dedup_by_key(|m| m.mention.span.start);
            Some(found)
        })
        .flatten()
        .collect();
    out.sort_by(|a, b| (&a.path, a.mention.span.start).cmp(&(&b.path, b.mention.span.start)));
    out
}
