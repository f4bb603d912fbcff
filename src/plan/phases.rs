//! Phases: how a change that spans several batches keeps every commit green. A rename whose
//! old name can stay as a deprecated alias is cut into expand (rename the definition, keep the
//! alias), migrate (move callers) and contract (remove the alias) batches; a change that cannot
//! be staged (`compat = "none"`, a variable, a move) is one batch.

use super::select::Targets;
use super::{Phase, StepBatch, folder_of};
use crate::graph::Graph;
use crate::lang::FileId;
use crate::lang::facts::{ReferenceKind, SymbolKind};
use crate::recipe::{BatchLimits, Compat, Public, StepAction, Unsure};
use crate::scan::View;

/// Why the step must be one batch, or `None` when it can be spread over several.
pub(super) fn single_batch(view: View<'_>, graph: &Graph, action: &StepAction) -> Option<String> {
    match action {
        StepAction::Rename(r) if r.compat == Compat::None => {
            Some("compat = \"none\": the whole rename is one batch and one commit".to_string())
        }
        StepAction::Rename(r) => {
            let sid = graph.symbol_id(&r.symbol.value)?;
            let sym = &graph.symbols[sid];
            let owner = sym.id.rsplit_once('.').map(|(o, _)| o);
            if sym.kind == SymbolKind::Method
                && owner
                    .and_then(|o| graph.symbol_id(o))
                    .is_some_and(|o| graph.symbols[o].kind == SymbolKind::Interface)
                && graph.family(sid).is_empty()
            {
                return Some(
                    "one batch: an interface's method has no alias (every implementation would need both names)"
                        .to_string(),
                );
            }
            if !graph.family(sid).is_empty() {
                return Some(format!(
                    "one batch: `{}` keeps one name with {} other method{} (an interface method and its implementations, or a method and its overrides), never half of them",
                    sym.name,
                    graph.family(sid).len(),
                    if graph.family(sid).len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                ));
            }
            let support = graph.files[sym.file].language.support();
            let why = support.alias_blocker(sym.kind)?;
            // Asked for explicitly, a class attribute may keep a forwarding property instead.
            if r.compat_given && r.compat == Compat::Alias {
                let forwarding = forwarding_alias(view, graph, sid);
                return match forwarding {
                    Ok(()) => None,
                    Err(no) => Some(format!("one batch: {why}; no forwarding property: {no}")),
                };
            }
            Some(format!("one batch: {why}"))
        }
        StepAction::Move(_) => Some(
            "a move is one batch: importers cannot build against a module that is gone".to_string(),
        ),
        StepAction::Rewrite(_) | StepAction::Model(_) => None,
    }
}

/// Whether the symbol can keep its old name as a forwarding property, asked of its language
/// with the names its uses reach it through (`self` in `self.rate`).
fn forwarding_alias(view: View<'_>, graph: &Graph, sid: usize) -> Result<(), String> {
    let sym = &graph.symbols[sid];
    let def = graph
        .definition(sid)
        .ok_or("its definition is not where the graph saw it")?;
    let source = view
        .text(&graph.files[sym.file].path)
        .ok_or("its file cannot be read")?;
    let texts: Vec<String> = graph
        .references(sid)
        .iter()
        .filter(|r| r.kind == ReferenceKind::Code)
        .filter_map(|r| {
            let text = view.text(&graph.files[r.file].path)?;
            let before = text.get(..r.span.start as usize)?.strip_suffix('.')?;
            let start = before
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            Some(before[start..].to_string())
        })
        .collect();
    let receivers: Vec<&str> = texts.iter().map(String::as_str).collect();
    graph.files[sym.file]
        .language
        .support()
        .forwarding_alias(def, &source, &receivers)
}

/// The whole step as one batch, for the reason [`single_batch`] gave.
pub(super) fn one_batch(
    targets: &Targets,
    limits: &BatchLimits,
    size: &dyn Fn(FileId) -> u64,
    why: String,
    notes: &mut Vec<String>,
) -> Vec<StepBatch> {
    let files: Vec<FileId> = targets.keys().copied().collect();
    if files.is_empty() {
        return Vec::new();
    }
    notes.push(why.clone());
    let tokens = files.iter().map(|&f| size(f)).sum();
    vec![StepBatch {
        oversized: files.len() > limits.max_files || tokens > limits.max_tokens,
        files,
        level: 0,
        depends_on: Vec::new(),
        phase: None,
        group: "*".to_string(),
        reason: why,
        tokens,
    }]
}

/// What a migrate batch really needs while the old name still works everywhere: the expand
/// batch (and anything placed before it), and the earlier batches through whose modules its
/// files reach the symbol (`api.fetch_order` where `api` imported it: migrating `api` changes
/// that path). Nothing else, so the migrate batches of one level are independent CI jobs and
/// merge in any order; the order of application stays the plan's.
fn migrate_dependencies(graph: &Graph, sid: usize, out: &mut [StepBatch]) {
    let Some(expand) = out.iter().position(|b| b.phase == Some(Phase::Expand)) else {
        return;
    };
    let paths = graph.access_paths(sid);
    let batch_of: std::collections::HashMap<FileId, usize> = out
        .iter()
        .enumerate()
        .flat_map(|(i, b)| b.files.iter().map(move |&f| (f, i)))
        .collect();
    for i in expand + 1..out.len() {
        if out[i].phase != Some(Phase::Migrate) {
            continue;
        }
        let mut deps: std::collections::BTreeSet<usize> = (0..=expand).collect();
        for &(user, through) in &paths {
            if out[i].files.contains(&user)
                && let Some(&j) = batch_of.get(&through)
                && j < i
            {
                deps.insert(j);
            }
        }
        out[i].depends_on = deps.into_iter().collect();
        out[i].level = out[i]
            .depends_on
            .iter()
            .map(|&d| out[d].level + 1)
            .max()
            .unwrap_or(0);
    }
}

/// The modules through which files of other batches reach the symbol: each keeps exporting
/// the old name beside the new one until contract removes it. Removing a path in a migrate
/// batch instead would make that batch wait for every user of the path, and chain the
/// migrate batches again.
/// A module that hands the name out through a star import has nothing of its own to keep:
/// the path works while the definition's module exports the old name. `public`: the
/// re-exports that keep the old public name for good.
fn kept_paths(graph: &Graph, sid: usize, public: &[FileId], out: &[StepBatch]) -> Vec<FileId> {
    let batch_of = |f: FileId| out.iter().position(|b| b.files.contains(&f));
    let binds_by_name = |f: FileId| {
        graph.rename_set(sid).iter().any(|&m| {
            graph.references(m).iter().any(|r| {
                r.file == f && matches!(r.kind, ReferenceKind::Import | ReferenceKind::AllEntry)
            })
        })
    };
    let mut kept: Vec<FileId> = graph
        .access_paths(sid)
        .into_iter()
        .filter(|&(user, through)| {
            !public.contains(&through)
                && binds_by_name(through)
                && batch_of(through).is_some_and(|b| batch_of(user) != Some(b))
        })
        .map(|(_, through)| through)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    kept
}

/// Uses of a renamed symbol's old name that no batch changes, so its alias stays after the run.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct KeptUses {
    /// Generated files use it (until they are regenerated).
    pub generated: bool,
    /// Mentions outside code that something may run (configuration, strings of code).
    pub outside: usize,
}

/// Mark a rename spread over several batches as expand / migrate and add the contract batch:
/// the definition's file, and the package re-exports that kept the old name.
pub(super) fn add_phases(
    graph: &Graph,
    action: &StepAction,
    targets: &Targets,
    kept: KeptUses,
    size: &dyn Fn(FileId) -> u64,
    out: &mut Vec<StepBatch>,
    notes: &mut Vec<String>,
) {
    let StepAction::Rename(r) = action else {
        return;
    };
    let Some(sid) = graph.symbol_id(&r.symbol.value) else {
        return;
    };
    // Unsure sites left as they are still use the old name: it stays for them.
    let unsure = graph.unsure_sites_of_set(&graph.rename_set(sid)).1.len();
    // So do mentions outside code that something runs (configuration, strings of code).
    let keep_compat = r.keep_compat
        || (r.unsure == Unsure::Report && (unsure > 0 || kept.outside > 0))
        || kept.generated;
    if out.len() <= 1 && !keep_compat {
        return;
    }
    let def_file = graph.symbols[sid].file;
    let old = &graph.symbols[sid].name;
    let kind = graph.symbols[sid].kind;
    for b in out.iter_mut() {
        if b.files.contains(&def_file) {
            b.phase = Some(Phase::Expand);
            b.reason = format!(
                "expand: rename the definition, keep `{old}` as a deprecated alias; {}",
                b.reason
            );
        } else {
            b.phase = Some(Phase::Migrate);
            b.reason = format!("migrate callers to `{}`; {}", r.to.value, b.reason);
        }
    }
    migrate_dependencies(graph, sid, out);
    // The definition's file, and the re-exports that kept the old name: package `__init__`s
    // and any module whose `__all__` lists it.
    let mut keepers: Vec<FileId> = vec![def_file];
    keepers.extend(targets.keys().copied().filter(|&f| {
        let file = &graph.files[f];
        let init = file.language.support().is_package_init(&file.path);
        f != def_file
            && graph.references(sid).iter().any(|re| {
                re.file == f
                    && (re.kind == ReferenceKind::AllEntry
                        || (init && re.kind != ReferenceKind::Code))
            })
    }));
    // And the modules that kept exporting the old name for users in other batches.
    let public = graph.public_reexports(sid, r.public == Public::Keep);
    let paths = kept_paths(graph, sid, &public, out);
    if !paths.is_empty() {
        let names: Vec<&str> = paths
            .iter()
            .map(|&f| graph.files[f].path.as_str())
            .collect();
        notes.push(format!(
            "access paths: files in other batches reach `{old}` through {}; {} exporting it beside `{}` {}",
            names.join(", "),
            if names.len() == 1 { "it keeps" } else { "each keeps" },
            r.to.value,
            if keep_compat { "after the run, with the alias" } else { "until the last batch removes it" }
        ));
    }
    keepers.extend(paths);
    // A re-export that keeps the public name (`new as old`) has nothing to remove.
    keepers.retain(|f| !public.contains(f));
    keepers.sort_by(|a, b| graph.files[*a].path.cmp(&graph.files[*b].path));
    keepers.dedup();
    if keep_compat {
        let warns = r.compat == Compat::Warn
            && graph.files[def_file].language.support().warning_alias(kind);
        let why = if r.keep_compat {
            "keep_compat".to_string()
        } else if kept.generated {
            "generated files use it until they are regenerated".to_string()
        } else if unsure == 0 {
            format!(
                "{} mention{} outside code that something may run (unsure = \"report\")",
                kept.outside,
                if kept.outside == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "{unsure} unsure site{} (unsure = \"report\")",
                if unsure == 1 { "" } else { "s" }
            )
        };
        notes.push(format!(
            "{why}: `{old}` stays as a deprecated alias after the run{}",
            if warns {
                "; the last batch makes it warn (DeprecationWarning) when used"
            } else if r.compat == Compat::Warn {
                "; compat = \"warn\" has no run-time warning for this kind of symbol, the alias stays plain"
            } else {
                ""
            }
        ));
        if warns {
            let level = out.iter().map(|b| b.level + 1).max().unwrap_or(0);
            let tokens = keepers.iter().map(|&f| size(f)).sum();
            out.push(StepBatch {
                depends_on: (0..out.len()).collect(),
                group: folder_of(&graph.files[def_file].path).to_string(),
                files: keepers,
                level,
                phase: Some(Phase::Warn),
                reason: format!("warn: the kept alias `{old}` warns when used"),
                tokens,
                oversized: false,
            });
        }
        return;
    }
    let contract = keepers;
    let level = out.iter().map(|b| b.level + 1).max().unwrap_or(0);
    let tokens = contract.iter().map(|&f| size(f)).sum();
    notes.push(format!(
        "expand / migrate / contract: `{old}` stays as a deprecated alias until the last batch removes it, so every commit builds"
    ));
    out.push(StepBatch {
        depends_on: (0..out.len()).collect(),
        group: folder_of(&graph.files[def_file].path).to_string(),
        files: contract,
        level,
        phase: Some(Phase::Contract),
        reason: format!("contract: remove the deprecated alias `{old}`"),
        tokens,
        oversized: false,
    });
}
