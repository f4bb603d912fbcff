//! Packing: targets cut into ordered, bounded batches. [`pack`] is pure, on an abstract graph,
//! so its invariants (cycles whole, dependencies first, limits kept) can be property-tested;
//! `pack_step` feeds it a step's targets and says why each batch is what it is.

use std::collections::{BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use super::owners::Owners;
use super::{StepBatch, common_folder, folder_of};
use crate::graph::Graph;
use crate::lang::FileId;
use crate::recipe::{BatchLimits, Grouping, StepAction};

use super::select::Targets;

/// One target for [`pack`].
#[derive(Debug, Clone)]
pub struct PackItem {
    /// Unique; ties are broken by name so the result does not depend on input order.
    pub name: String,
    /// Items of one group prefer the same batch (the package, when grouping by package).
    pub group: String,
    /// Items of different classes never share a batch unless a cycle forces it, and a
    /// class's batches are consolidated so it is asked as few times as the order allows
    /// (the owner set, when grouping by owners). `None`: no such constraint.
    pub class: Option<String>,
    /// Estimated size.
    pub tokens: u64,
    /// Indices of items this one depends on.
    pub deps: Vec<usize>,
    /// Indices of items that must land in the same batch as this one (like a cycle).
    pub together: Vec<usize>,
}

/// One batch produced by [`pack`], in run order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Item indices, sorted by name.
    pub items: Vec<usize>,
    /// Dependency level (0: depends on no other batch).
    pub level: usize,
    /// Indices of earlier packed batches this one depends on.
    pub depends_on: Vec<usize>,
    /// Items that cannot be split (import cycles, and items kept `together`) inside this
    /// batch.
    pub cycles: Vec<Vec<usize>>,
    /// Over the limits because an indivisible unit is.
    pub oversized: bool,
    /// Estimated size of the batch.
    pub tokens: u64,
}

/// Cut items into batches: cycles kept whole, dependencies first, one group per batch where
/// possible, at most `max_files` items and `max_tokens` tokens per batch unless a single cycle
/// or item alone exceeds them.
pub fn pack(items: &[PackItem], max_files: usize, max_tokens: u64) -> Vec<Packed> {
    let n = items.len();
    if n == 0 {
        return Vec::new();
    }
    // Strongly connected components over the dependency edges.
    let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(n, 0);
    let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
    for (i, item) in items.iter().enumerate() {
        for &d in &item.deps {
            if d < n && d != i {
                g.add_edge(nodes[i], nodes[d], ());
            }
        }
        for &t in &item.together {
            if t < n && t != i {
                g.add_edge(nodes[i], nodes[t], ());
                g.add_edge(nodes[t], nodes[i], ());
            }
        }
    }
    let mut comps: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .map(|c| {
            let mut members: Vec<usize> = c.into_iter().map(|x| g[x]).collect();
            members.sort_by(|a, b| items[*a].name.cmp(&items[*b].name));
            members
        })
        .collect();
    comps.sort_by(|a, b| items[a[0]].name.cmp(&items[b[0]].name));
    let mut comp_of = vec![0; n];
    for (c, members) in comps.iter().enumerate() {
        for &m in members {
            comp_of[m] = c;
        }
    }
    let comp_deps: Vec<BTreeSet<usize>> = comps
        .iter()
        .enumerate()
        .map(|(c, members)| {
            members
                .iter()
                .flat_map(|&m| items[m].deps.iter())
                .filter(|&&d| d < n)
                .map(|&d| comp_of[d])
                .filter(|&d| d != c)
                .collect()
        })
        .collect();

    // Longest path from the leaves: a component's level is one more than its deepest
    // dependency's.
    let levels = comp_levels(&comp_deps);
    let size = |c: usize| -> (usize, u64) {
        (
            comps[c].len(),
            comps[c].iter().map(|&m| items[m].tokens).sum(),
        )
    };
    let mut order: Vec<usize> = (0..comps.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&items[comps[a][0]], &items[comps[b][0]]);
        levels[a]
            .cmp(&levels[b])
            .then_with(|| x.class.cmp(&y.class))
            .then_with(|| x.group.cmp(&y.group))
            .then_with(|| items[comps[a][0]].name.cmp(&items[comps[b][0]].name))
    });

    // Greedy placement in topological order. A component may join any open batch of its group
    // that comes no earlier than the batches holding its dependencies: nothing placed so far
    // depends on it, so no batch can end up depending on a later one.
    struct Open {
        comps: Vec<usize>,
        group: String,
        class: Option<String>,
        files: usize,
        tokens: u64,
        closed: bool,
    }
    let mut batches: Vec<Open> = Vec::new();
    let mut batch_of = vec![usize::MAX; comps.len()];
    for c in order {
        let (files, tokens) = size(c);
        let group = items[comps[c][0]].group.clone();
        let class = items[comps[c][0]].class.clone();
        let earliest = comp_deps[c].iter().map(|&d| batch_of[d]).max().unwrap_or(0);
        let too_big = files > max_files || tokens > max_tokens;
        let fit = if too_big {
            None
        } else {
            (earliest..batches.len()).find(|&p| {
                let b = &batches[p];
                !b.closed
                    && b.group == group
                    && b.class == class
                    && b.files + files <= max_files
                    && b.tokens + tokens <= max_tokens
            })
        };
        let p = match fit {
            Some(p) => p,
            None => {
                batches.push(Open {
                    comps: Vec::new(),
                    group,
                    class,
                    files: 0,
                    tokens: 0,
                    closed: too_big,
                });
                batches.len() - 1
            }
        };
        let b = &mut batches[p];
        b.comps.push(c);
        b.files += files;
        b.tokens += tokens;
        batch_of[c] = p;
    }

    // Classes (owner sets): a team asked once rather than twice where the order allows. A
    // batch moves forward into a later one of its group when no batch in between builds on it.
    if items.iter().any(|i| i.class.is_some()) {
        let deps_of = |b: &Open, batch_of: &[usize]| -> BTreeSet<usize> {
            b.comps
                .iter()
                .flat_map(|&c| comp_deps[c].iter())
                .map(|&d| batch_of[d])
                .collect()
        };
        for p in 0..batches.len() {
            if batches[p].comps.is_empty() || batches[p].closed {
                continue;
            }
            let target = (p + 1..batches.len()).find(|&q| {
                let (a, b) = (&batches[p], &batches[q]);
                !b.closed
                    && !b.comps.is_empty()
                    && a.group == b.group
                    && a.class == b.class
                    && a.files + b.files <= max_files
                    && a.tokens + b.tokens <= max_tokens
                    && (p + 1..q).all(|r| !deps_of(&batches[r], &batch_of).contains(&p))
            });
            if let Some(q) = target {
                let moved = std::mem::take(&mut batches[p].comps);
                for &c in &moved {
                    batch_of[c] = q;
                }
                let (files, tokens) = (batches[p].files, batches[p].tokens);
                batches[p].files = 0;
                batches[p].tokens = 0;
                batches[q].comps.extend(moved);
                batches[q].files += files;
                batches[q].tokens += tokens;
            }
        }
        let kept: Vec<usize> = (0..batches.len())
            .filter(|&p| !batches[p].comps.is_empty())
            .collect();
        let mut renumber = vec![usize::MAX; batches.len()];
        for (i, &p) in kept.iter().enumerate() {
            renumber[p] = i;
        }
        for b in batch_of.iter_mut() {
            *b = renumber[*b];
        }
        batches.retain(|b| !b.comps.is_empty());
    }

    // Batch dependencies and levels (dependencies always sit at lower positions).
    let batch_deps: Vec<BTreeSet<usize>> = batches
        .iter()
        .enumerate()
        .map(|(p, b)| {
            b.comps
                .iter()
                .flat_map(|&c| comp_deps[c].iter())
                .map(|&d| batch_of[d])
                .filter(|&d| d != p)
                .collect()
        })
        .collect();
    let mut batch_level = vec![0usize; batches.len()];
    for p in 0..batches.len() {
        batch_level[p] = batch_deps[p]
            .iter()
            .map(|&d| batch_level[d] + 1)
            .max()
            .unwrap_or(0);
    }

    // Batches of one level are independent of each other, so small ones can be merged without
    // changing any level or order: neighbours in path order first (sibling packages), while
    // the limits allow. This keeps batches cohesive yet full, so a run is not a long string of
    // one-file commits.
    let mut positions: Vec<usize> = (0..batches.len()).collect();
    positions.sort_by(|&a, &b| {
        batch_level[a]
            .cmp(&batch_level[b])
            .then_with(|| batches[a].class.cmp(&batches[b].class))
            .then_with(|| batches[a].group.cmp(&batches[b].group))
            .then(a.cmp(&b))
    });
    let mut merged: Vec<Vec<usize>> = Vec::new();
    let mut current: Option<(Vec<usize>, usize, u64)> = None;
    for p in positions {
        let b = &batches[p];
        let joins = current.as_ref().is_some_and(|(ps, files, tokens)| {
            batch_level[ps[0]] == batch_level[p]
                && batches[ps[0]].class == b.class
                && !b.closed
                && !batches[ps[0]].closed
                && files + b.files <= max_files
                && tokens + b.tokens <= max_tokens
        });
        if joins {
            if let Some((ps, files, tokens)) = current.as_mut() {
                ps.push(p);
                *files += b.files;
                *tokens += b.tokens;
            }
        } else {
            merged.extend(current.take().map(|(ps, _, _)| ps));
            current = Some((vec![p], b.files, b.tokens));
        }
    }
    merged.extend(current.map(|(ps, _, _)| ps));
    merged.sort_by_key(|ps| {
        (
            batch_level[ps[0]],
            ps.iter().copied().min().unwrap_or(usize::MAX),
        )
    });
    let mut new_index = vec![0; batches.len()];
    for (i, ps) in merged.iter().enumerate() {
        for &p in ps {
            new_index[p] = i;
        }
    }
    merged
        .iter()
        .enumerate()
        .map(|(i, ps)| {
            let cs: Vec<usize> = ps.iter().flat_map(|&p| batches[p].comps.clone()).collect();
            let mut members: Vec<usize> = cs.iter().flat_map(|&c| comps[c].clone()).collect();
            members.sort_by(|x, y| items[*x].name.cmp(&items[*y].name));
            let depends_on: BTreeSet<usize> = ps
                .iter()
                .flat_map(|&p| batch_deps[p].iter())
                .map(|&d| new_index[d])
                .filter(|&d| d != i)
                .collect();
            let files: usize = ps.iter().map(|&p| batches[p].files).sum();
            let tokens: u64 = ps.iter().map(|&p| batches[p].tokens).sum();
            let mut cycles: Vec<Vec<usize>> = cs
                .iter()
                .filter(|&&c| comps[c].len() > 1)
                .map(|&c| comps[c].clone())
                .collect();
            cycles.sort_by(|a, b| items[a[0]].name.cmp(&items[b[0]].name));
            Packed {
                items: members,
                level: batch_level[ps[0]],
                depends_on: depends_on.into_iter().collect(),
                cycles,
                oversized: files > max_files || tokens > max_tokens,
                tokens,
            }
        })
        .collect()
}

fn comp_levels(deps: &[BTreeSet<usize>]) -> Vec<usize> {
    // The condensation is acyclic; an explicit stack avoids deep recursion on long chains.
    let mut level: Vec<Option<usize>> = vec![None; deps.len()];
    for start in 0..deps.len() {
        let mut stack = vec![start];
        while let Some(&c) = stack.last() {
            if level[c].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = deps[c]
                .iter()
                .copied()
                .filter(|&d| level[d].is_none())
                .collect();
            if pending.is_empty() {
                level[c] = Some(
                    deps[c]
                        .iter()
                        .filter_map(|&d| level[d])
                        .map(|l| l + 1)
                        .max()
                        .unwrap_or(0),
                );
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    level.into_iter().map(|l| l.unwrap_or(0)).collect()
}

/// A step's targets cut into batches (before a rename's phases are marked).
pub(super) fn pack_step(
    graph: &Graph,
    action: &StepAction,
    targets: &Targets,
    limits: &BatchLimits,
    size: &dyn Fn(FileId) -> u64,
    owners: &Owners,
    notes: &mut Vec<String>,
) -> Vec<StepBatch> {
    let files: Vec<FileId> = targets.keys().copied().collect();
    if files.is_empty() {
        return Vec::new();
    }
    let position: HashMap<FileId, usize> = files.iter().enumerate().map(|(i, &f)| (f, i)).collect();
    let group_of = |f: FileId| match limits.group {
        Grouping::Package | Grouping::Owners => folder_of(&graph.files[f].path).to_string(),
        Grouping::None => String::new(),
    };
    // Grouping by owners: a team's files come together, then by package.
    let class_of = |f: FileId| match limits.group {
        Grouping::Owners => Some(owners.of(&graph.files[f].path).join(" ")),
        Grouping::Package | Grouping::None => None,
    };
    // A renamed Go type that is embedded renames a field too: the struct and the literals
    // setting that field by name change in one batch.
    let mut together: HashMap<usize, Vec<usize>> = HashMap::new();
    if let StepAction::Rename(r) = action
        && let Some(sid) = graph.symbol_id(&r.symbol.value)
    {
        for u in graph.embedded_field_uses(sid) {
            if let (Some(&a), Some(&b)) =
                (position.get(&u.struct_file), position.get(&u.literal_file))
            {
                together.entry(a).or_default().push(b);
            }
        }
        // A test double's target (`mock.patch("pkg.mod.f")`) must name what the code calls:
        // left on the deprecated alias it would patch nothing the renamed module calls, so
        // the file renames with the definition. So must a test asking for a fixture: pytest
        // finds fixtures by their own name, never through an alias.
        let def = position.get(&graph.symbols[sid].file).copied();
        for member in graph.rename_set(sid) {
            for r in graph.references(member) {
                if matches!(
                    r.kind,
                    crate::lang::facts::ReferenceKind::PatchTarget
                        | crate::lang::facts::ReferenceKind::Fixture
                ) && let (Some(a), Some(&b)) = (def, position.get(&r.file))
                {
                    together.entry(a).or_default().push(b);
                }
            }
        }
    }
    let items: Vec<PackItem> = files
        .iter()
        .enumerate()
        .map(|(i, &f)| PackItem {
            name: graph.files[f].path.clone(),
            group: group_of(f),
            class: class_of(f),
            tokens: size(f),
            deps: graph
                .dependencies(f)
                .iter()
                .filter_map(|d| position.get(d).copied())
                .collect(),
            together: together.get(&i).cloned().unwrap_or_default(),
        })
        .collect();

    let packed = pack(&items, limits.max_files, limits.max_tokens);
    let out: Vec<StepBatch> = packed
        .iter()
        .map(|p| {
            let batch_files: Vec<FileId> = p.items.iter().map(|&i| files[i]).collect();
            let groups: BTreeSet<&str> = p.items.iter().map(|&i| items[i].group.as_str()).collect();
            let group = common_folder(&groups);
            let n = p.items.len();
            let files_word = if n == 1 { "file" } else { "files" };
            let mut reason = match limits.group {
                Grouping::None => format!("{n} {files_word} in dependency order"),
                Grouping::Package if groups.len() == 1 => {
                    format!("{n} {files_word} of package {group}")
                }
                Grouping::Package => format!(
                    "{n} {files_word} of {} packages ({})",
                    groups.len(),
                    groups
                        .iter()
                        .map(|g| if g.is_empty() { "." } else { g })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Grouping::Owners => {
                    let sets: BTreeSet<&str> = p
                        .items
                        .iter()
                        .map(|&i| items[i].class.as_deref().unwrap_or_default())
                        .collect();
                    let whose = if sets.len() == 1 {
                        match sets.first().copied().unwrap_or_default() {
                            "" => "without an owner in CODEOWNERS".to_string(),
                            owners => format!("owned by {owners}"),
                        }
                    } else {
                        format!(
                            "of {} owner sets, kept together by their dependencies ({})",
                            sets.len(),
                            sets.iter()
                                .map(|s| if s.is_empty() { "nobody" } else { s })
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    };
                    let place = if groups.len() == 1 {
                        format!("package {group}")
                    } else {
                        format!("{} packages", groups.len())
                    };
                    format!("{n} {files_word} {whose}, {place}")
                }
            };
            for cycle in &p.cycles {
                let names: Vec<&str> = cycle.iter().map(|&i| items[i].name.as_str()).collect();
                let linked = cycle.iter().any(|&i| !items[i].together.is_empty());
                let what = if linked {
                    "files that change together (a definition and what must follow it in one commit: the literals setting a field named after an embedded type, test doubles patching it by name)"
                } else {
                    "files in an import cycle, kept together"
                };
                reason.push_str(&format!("; {} {what}: {}", cycle.len(), names.join(", ")));
            }
            if p.oversized {
                let n = p.items.len();
                let over = if n > limits.max_files {
                    format!("{n} files > max_files {}", limits.max_files)
                } else {
                    format!("~{} tokens > max_tokens {}", p.tokens, limits.max_tokens)
                };
                reason.push_str(&format!(
                    "; over the limits ({over}): a cycle or a file cannot be split"
                ));
                let sent = if matches!(action, StepAction::Model(_)) {
                    "; its prompt shows large files as focused views and leaves out the farthest contracts to fit (`git ripple explain` lists them)"
                } else {
                    ""
                };
                notes.push(format!(
                    "a batch exceeds the limits ({over}) because a cycle or a single file cannot be split{sent}"
                ));
            }
            StepBatch {
                files: batch_files,
                level: p.level,
                depends_on: p.depends_on.clone(),
                phase: None,
                group,
                reason,
                tokens: p.tokens,
                oversized: p.oversized,
            }
        })
        .collect();

    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, group: &str, deps: &[usize]) -> PackItem {
        PackItem {
            name: name.to_string(),
            group: group.to_string(),
            class: None,
            tokens: 10,
            deps: deps.to_vec(),
            together: Vec::new(),
        }
    }

    #[test]
    fn dependencies_come_first_and_cycles_stay_together() {
        // c → b → a, and d ↔ e.
        let items = vec![
            item("a", "x", &[]),
            item("b", "y", &[0]),
            item("c", "z", &[1]),
            item("d", "w", &[4]),
            item("e", "w", &[3]),
        ];
        let packed = pack(&items, 1, 1000);
        let batch_of = |i: usize| packed.iter().position(|p| p.items.contains(&i)).unwrap();
        assert!(batch_of(0) < batch_of(1));
        assert!(batch_of(1) < batch_of(2));
        assert_eq!(batch_of(3), batch_of(4));
        assert!(packed[batch_of(3)].oversized);
    }
}
