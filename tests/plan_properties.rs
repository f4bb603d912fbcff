//! Properties of the batch packer on generated dependency graphs (with cycles): dependencies
//! first, cycles never split, limits respected unless a cycle forces it, deterministic.

use git_ripple::plan::{PackItem, Packed, pack};
use petgraph::graph::DiGraph;
use proptest::prelude::*;

/// Items with random dependencies (cycles included), groups (by package, or by owner set
/// and package) and sizes.
fn items() -> impl Strategy<Value = Vec<PackItem>> {
    (1usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(0..n, 0..4), n),
            prop::collection::vec(0u8..5, n),
            prop::collection::vec(1u64..400, n),
            any::<bool>(),
        )
            .prop_map(move |(deps, groups, tokens, by_owner)| {
                (0..n)
                    .map(|i| PackItem {
                        name: format!("pkg{}/file{i:02}.py", groups[i]),
                        group: format!("pkg{}", groups[i]),
                        // `group = "owners"`: an owner set, then the package.
                        class: by_owner.then(|| format!("@team{}", groups[i] % 2)),
                        tokens: tokens[i],
                        deps: deps[i].clone(),
                        together: Vec::new(),
                    })
                    .collect()
            })
    })
}

fn batch_of(packed: &[Packed], n: usize) -> Vec<usize> {
    let mut of = vec![usize::MAX; n];
    for (b, p) in packed.iter().enumerate() {
        for &i in &p.items {
            assert_eq!(of[i], usize::MAX, "item {i} in two batches");
            of[i] = b;
        }
    }
    assert!(of.iter().all(|&b| b != usize::MAX), "every item is placed");
    of
}

fn sccs(items: &[PackItem]) -> Vec<Vec<usize>> {
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..items.len()).map(|i| g.add_node(i)).collect();
    for (i, it) in items.iter().enumerate() {
        for &d in &it.deps {
            g.add_edge(nodes[i], nodes[d], ());
        }
    }
    petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .map(|c| c.into_iter().map(|x| g[x]).collect())
        .collect()
}

/// The plan in terms of names only, to compare plans of permuted inputs.
fn by_name(items: &[PackItem], packed: &[Packed]) -> Vec<(Vec<String>, usize, Vec<usize>)> {
    packed
        .iter()
        .map(|p| {
            (
                p.items.iter().map(|&i| items[i].name.clone()).collect(),
                p.level,
                p.depends_on.clone(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn dependencies_come_first(items in items(), max_files in 1usize..6, max_tokens in 200u64..1500) {
        let packed = pack(&items, max_files, max_tokens);
        let of = batch_of(&packed, items.len());
        for (i, it) in items.iter().enumerate() {
            for &d in &it.deps {
                prop_assert!(of[d] <= of[i], "{} depends on {} but comes first", it.name, items[d].name);
                if of[d] < of[i] {
                    prop_assert!(packed[of[i]].depends_on.contains(&of[d]));
                    prop_assert!(packed[of[d]].level < packed[of[i]].level);
                }
            }
        }
        for (b, p) in packed.iter().enumerate() {
            for &d in &p.depends_on {
                prop_assert!(d < b, "batch {b} depends on later batch {d}");
            }
            // Levels never go down in run order.
            if b > 0 {
                prop_assert!(packed[b - 1].level <= p.level);
            }
        }
    }

    #[test]
    fn cycles_are_never_split(items in items(), max_files in 1usize..6, max_tokens in 200u64..1500) {
        let packed = pack(&items, max_files, max_tokens);
        let of = batch_of(&packed, items.len());
        for c in sccs(&items) {
            let first = of[c[0]];
            prop_assert!(c.iter().all(|&m| of[m] == first), "cycle {c:?} split");
        }
    }

    #[test]
    fn limits_hold_unless_one_cycle_or_file_exceeds_them(
        items in items(), max_files in 1usize..6, max_tokens in 200u64..1500
    ) {
        let packed = pack(&items, max_files, max_tokens);
        let comps = sccs(&items);
        for p in &packed {
            let tokens: u64 = p.items.iter().map(|&i| items[i].tokens).sum();
            prop_assert_eq!(tokens, p.tokens);
            let over = p.items.len() > max_files || tokens > max_tokens;
            prop_assert_eq!(over, p.oversized);
            if over {
                // Exactly one strongly connected component, which alone is over the limits.
                let c = comps.iter().find(|c| c.contains(&p.items[0])).expect("component");
                let mut c = c.clone();
                c.sort_by(|a, b| items[*a].name.cmp(&items[*b].name));
                prop_assert_eq!(&c, &p.items);
            }
        }
    }

    #[test]
    fn packing_is_deterministic_and_ignores_input_order(
        items in items(), max_files in 1usize..6, seed in any::<u64>()
    ) {
        let a = pack(&items, max_files, 1000);
        prop_assert_eq!(&a, &pack(&items, max_files, 1000));
        // Shuffle the items (remapping dependencies): the same plan by name.
        let n = items.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut new_pos = vec![0; n];
        for (new, &old) in order.iter().enumerate() {
            new_pos[old] = new;
        }
        let shuffled: Vec<PackItem> = order
            .iter()
            .map(|&old| PackItem {
                deps: items[old].deps.iter().map(|&d| new_pos[d]).collect(),
                ..items[old].clone()
            })
            .collect();
        let b = pack(&shuffled, max_files, 1000);
        prop_assert_eq!(by_name(&items, &a), by_name(&shuffled, &b));
    }

    #[test]
    fn an_owner_set_per_batch_unless_a_cycle_spans_two(
        items in items(),
        max_files in 1usize..6,
        max_tokens in 200u64..1500,
    ) {
        let class = |i: usize| items[i].class.clone();
        let packed = pack(&items, max_files, max_tokens);
        for p in &packed {
            let classes: std::collections::BTreeSet<Option<String>> =
                p.items.iter().map(|&i| class(i)).collect();
            if classes.len() > 1 && classes.iter().all(Option::is_some) {
                let spanning = p.cycles.iter().any(|c| {
                    c.iter().map(|&i| class(i)).collect::<std::collections::BTreeSet<_>>().len() > 1
                });
                prop_assert!(spanning, "owner sets {:?} mixed in one batch without a cycle", classes);
            }
        }
    }
}
