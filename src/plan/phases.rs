//! Phases: how a change that spans several batches keeps every commit green. A rename whose
//! old name can stay as a deprecated alias is cut into expand (rename the definition, keep the
//! alias), migrate (move callers) and contract (remove the alias) batches; a change that cannot
//! be staged (`compat = "none"`, a variable, a move) is one batch.

use super::select::Targets;
use super::{Phase, StepBatch, folder_of};
use crate::graph::Graph;
use crate::lang::FileId;
use crate::lang::facts::{ReferenceKind, SymbolKind};
use crate::recipe::{BatchLimits, Compat, StepAction, Unsure};

/// Why the step must be one batch, or `None` when it can be spread over several.
pub(super) fn single_batch(graph: &Graph, action: &StepAction) -> Option<String> {
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
                    "one batch: `{}` keeps one name with {} other method{} (an interface method and its implementations), never half of them",
                    sym.name,
                    graph.family(sid).len(),
                    if graph.family(sid).len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                ));
            }
            let language = graph.files[sym.file].language;
            language
                .support()
                .alias_blocker(sym.kind)
                .map(|why| format!("one batch: {why}"))
        }
        StepAction::Move(_) => Some(
            "a move is one batch: importers cannot build against a module that is gone".to_string(),
        ),
        StepAction::Rewrite(_) | StepAction::Model(_) => None,
    }
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
    let set = graph.rename_set(sid);
    // Each file's uses that go through another module: (user, the module's file).
    let paths: Vec<(FileId, FileId)> = set
        .iter()
        .flat_map(|&m| graph.references(m))
        .filter_map(|r| r.via.map(|v| (r.file, v)))
        .collect();
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

/// Mark a rename spread over several batches as expand / migrate and add the contract batch:
/// the definition's file, and the package re-exports that kept the old name.
pub(super) fn add_phases(
    graph: &Graph,
    action: &StepAction,
    targets: &Targets,
    generated_uses: bool,
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
    let unsure = graph.unsure_sites(sid).count();
    let keep_compat = r.keep_compat || (r.unsure == Unsure::Report && unsure > 0) || generated_uses;
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
    // The definition's file, and the package re-exports that kept the old name.
    let mut keepers: Vec<FileId> = vec![def_file];
    keepers.extend(targets.keys().copied().filter(|&f| {
        let file = &graph.files[f];
        f != def_file
            && file.language.support().is_package_init(&file.path)
            && graph
                .references(sid)
                .iter()
                .any(|re| re.file == f && re.kind != ReferenceKind::Code)
    }));
    keepers.sort_by(|a, b| graph.files[*a].path.cmp(&graph.files[*b].path));
    if keep_compat {
        let warns = r.compat == Compat::Warn
            && graph.files[def_file].language.support().warning_alias(kind);
        let why = if r.keep_compat {
            "keep_compat".to_string()
        } else if generated_uses {
            "generated files use it until they are regenerated".to_string()
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
