//! The Python graph on `fixtures/python/shop`: exact edges, exact references, and agreement
//! with grimp as independent ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::common::*;

#[test]
fn import_edges_are_exact() {
    let repo = fixture_repo("python/shop");
    let graph = graph_json(repo.path());
    insta::assert_snapshot!(import_edges(&graph).join("\n"));
}

#[test]
fn modules_come_from_the_declared_roots() {
    let repo = fixture_repo("python/shop");
    let graph = graph_json(repo.path());
    let module = |path: &str| -> String {
        graph["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["path"] == path)
            .and_then(|f| f["module"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    assert_eq!(module("src/shopcore/db/queries.py"), "shopcore.db.queries");
    assert_eq!(module("src/shopcore/db/__init__.py"), "shopcore.db");
    assert_eq!(
        module("src/shopcore/plugins/loyalty.py"),
        "shopcore.plugins.loyalty"
    );
    assert_eq!(module("libs/shoputil/money.py"), "shoputil.money");
    assert_eq!(module("tests/test_queries.py"), "tests.test_queries");
}

#[test]
fn fetch_order_references_are_exact_and_exclude_decoys() {
    let repo = fixture_repo("python/shop");
    let refs = symbol_references(repo.path(), "shopcore.db.queries.fetch_order");
    let expected = [
        // names in import statements (relative, aliased, re-exported, multi-line)
        "src/shopcore/api/handlers.py:6:33",
        "src/shopcore/db/__init__.py:2:37",
        "src/shopcore/db/cache.py:6:22",
        "src/shopcore/plugins/loyalty.py:8:25",
        "src/shopcore/services/billing.py:7:26",
        "src/shopcore/services/orders.py:6:5",
        "tests/test_queries.py:5:48",
        // the `__all__` entry of the re-exporting package
        "src/shopcore/db/__init__.py:4:30",
        // bare uses of from-imported names
        "src/shopcore/db/cache.py:18:13",
        "src/shopcore/plugins/loyalty.py:17:13",
        "src/shopcore/plugins/loyalty.py:22:13",
        "src/shopcore/services/billing.py:15:13",
        "src/shopcore/services/orders.py:35:13",
        "src/shopcore/services/orders.py:44:13",
        "tests/test_queries.py:10:12",
        "tests/test_queries.py:15:9",
        "tests/test_queries.py:9:12",
        // uses through the alias `fo`
        "src/shopcore/api/handlers.py:29:17",
        "src/shopcore/api/handlers.py:40:56",
        // attribute uses through module aliases and the package re-export
        "src/shopcore/api/reports.py:16:23",
        "src/shopcore/pricing/calculator.py:23:21",
        "src/shopcore/services/shipping.py:19:15",
        "src/shopcore/services/shipping.py:25:15",
        "tests/test_queries.py:19:24",
        "tests/test_queries.py:19:47",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(refs, expected);

    assert_no_decoys(repo.path(), &refs, 15);
}

#[test]
fn decoy_symbols_have_their_own_references() {
    let repo = fixture_repo("python/shop");
    let archive = symbol_references(repo.path(), "shopcore.legacy.archive.fetch_order");
    assert_eq!(
        archive,
        [
            "src/shopcore/api/reports.py:28:22",
            "src/shopcore/legacy/archive.py:29:13",
            "tests/test_decoys.py:10:20",
            "tests/test_decoys.py:12:17",
        ]
    );
    // The method is reached through instances: `w = Warehouse(...)` and `warehouse or
    // Warehouse("main")` (an `Optional[Warehouse]` parameter) say which class.
    let method = symbol_references(repo.path(), "shopcore.inventory.Warehouse.fetch_order");
    assert_eq!(
        method,
        [
            "src/shopcore/services/shipping.py:27:16",
            "tests/test_decoys.py:19:14",
            "tests/test_decoys.py:20:14"
        ]
    );
}

#[test]
fn string_annotations_are_references() {
    let repo = fixture_repo("python/shop");
    let refs = symbol_references(repo.path(), "shopcore.models.Order");
    assert!(
        refs.contains(&"src/shopcore/api/handlers.py:17:23".to_string()),
        "{refs:?}"
    );
}

#[test]
fn unresolved_and_external_imports_are_recorded() {
    let repo = fixture_repo("python/shop");
    let graph = graph_json(repo.path());
    let external: BTreeSet<String> = graph["external"]
        .as_array()
        .expect("external")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["import"].as_str().unwrap_or(""),
                e["kind"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(external.contains("ujson third_party"), "{external:?}");
    assert!(external.contains("requests third_party"), "{external:?}");
    assert!(external.contains("datetime stdlib"), "{external:?}");
    assert!(
        graph["unresolved"]
            .as_array()
            .expect("unresolved")
            .is_empty()
    );
}

/// grimp's view of the module graph of the packages under `src/` and `libs/`.
fn grimp_edges(root: &std::path::Path) -> BTreeSet<(String, String)> {
    let script = r#"
import json, sys
sys.path[:0] = ["src", "libs"]
import grimp
graph = grimp.build_graph("shopcore", "shoputil", "shopcore.plugins")
edges = []
for m in sorted(graph.modules):
    for t in sorted(graph.find_modules_directly_imported_by(m)):
        edges.append([m, t])
print(json.dumps(edges))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(root)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "grimp failed (is it installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let edges: Vec<(String, String)> = serde_json::from_slice(&out.stdout).expect("grimp json");
    edges.into_iter().collect()
}

#[test]
fn module_edges_agree_with_grimp() {
    let repo = fixture_repo("python/shop");
    let graph = graph_json(repo.path());
    let modules: BTreeMap<&str, &str> = graph["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| Some((f["path"].as_str()?, f["module"].as_str()?)))
        .collect();
    let in_packages = |m: &str| m.starts_with("shopcore") || m.starts_with("shoputil");
    let mut ours = BTreeSet::new();
    for e in graph["edges"].as_array().expect("edges") {
        if e["kind"] != "imports" {
            continue;
        }
        let (Some(from), Some(to)) = (
            e["from"].as_str().and_then(|p| modules.get(p)),
            e["to"].as_str().and_then(|p| modules.get(p)),
        ) else {
            continue;
        };
        if in_packages(from) && in_packages(to) && from != to {
            ours.insert((from.to_string(), to.to_string()));
        }
    }
    // The one dynamic import (importlib.import_module with a literal) is an edge for us and
    // invisible to grimp.
    ours.remove(&(
        "shopcore.api.reports".to_string(),
        "shopcore.plugins.loyalty".to_string(),
    ));
    let grimp = grimp_edges(repo.path());
    let only_ours: Vec<_> = ours.difference(&grimp).collect();
    let only_grimp: Vec<_> = grimp.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_grimp.is_empty(),
        "only git-ripple: {only_ours:?}\nonly grimp: {only_grimp:?}"
    );
    assert!(ours.len() >= 30, "{}", ours.len());
}

/// The queries later stages plan with: direct and transitive dependencies and dependents, and
/// the import cycle kept as one strongly connected component.
#[test]
fn dependency_queries_follow_imports_and_uses() {
    use git_ripple::graph::{GraphOptions, build_graph};
    use git_ripple::scan::{Repository, scan_repo};

    let repo = fixture_repo("python/shop");
    let opened = Repository::discover(repo.path()).expect("open");
    let scan = scan_repo(&opened).expect("scan");
    let graph = build_graph(&opened.root, &scan, &GraphOptions::default()).expect("graph");
    let id = |p: &str| graph.file_id(p).unwrap_or_else(|| panic!("no file {p}"));
    let names = |files: &[usize]| -> Vec<String> {
        let mut v: Vec<String> = files.iter().map(|&f| graph.files[f].path.clone()).collect();
        v.sort();
        v
    };

    let queries = id("src/shopcore/db/queries.py");
    let direct = names(graph.dependencies(queries));
    assert_eq!(
        direct,
        ["src/shopcore/db/connection.py", "src/shopcore/models.py"]
    );

    let dependents = names(graph.dependents(queries));
    for user in [
        "src/shopcore/db/__init__.py",
        "src/shopcore/db/cache.py",
        "src/shopcore/services/orders.py",
        "src/shopcore/services/shipping.py",
        "tests/test_queries.py",
    ] {
        assert!(
            dependents.iter().any(|d| d == user),
            "{user} not in {dependents:?}"
        );
    }

    // One hop out from the definition reaches direct users only; unlimited reaches callers of
    // callers (the API layer uses the services).
    let one: Vec<usize> = graph
        .transitive_dependents(&[queries], Some(1))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(names(&one), dependents);
    let all = graph.transitive_dependents(&[queries], None);
    let handlers = id("src/shopcore/api/handlers.py");
    assert!(all.iter().any(|&(f, hops)| f == handlers && hops >= 1));
    assert!(all.len() > one.len());

    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(
        names(&cycles[0]),
        [
            "src/shopcore/services/billing.py",
            "src/shopcore/services/orders.py"
        ]
    );
}
