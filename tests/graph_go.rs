//! The Go graph on `fixtures/go/shop`: exact edges and references, and agreement with
//! `go list -json` as independent ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::common::*;

#[test]
fn import_edges_are_exact() {
    let repo = fixture_repo("go/shop");
    let graph = graph_json(repo.path());
    insta::assert_snapshot!(import_edges(&graph).join("\n"));
}

/// Import paths per file as git-ripple sees them: repository folders turned back into import
/// paths, plus the standard-library imports it records as external.
fn our_imports(graph: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in graph["edges"].as_array().expect("edges") {
        if e["kind"] != "imports" {
            continue;
        }
        let to = e["to"].as_str().unwrap_or("");
        let path = if to == "." {
            "example.com/shop".to_string()
        } else {
            format!("example.com/shop/{to}")
        };
        out.entry(e["from"].as_str().unwrap_or("").to_string())
            .or_default()
            .insert(path);
    }
    for e in graph["external"].as_array().expect("external") {
        out.entry(e["file"].as_str().unwrap_or("").to_string())
            .or_default()
            .insert(
                e["import"]
                    .as_str()
                    .unwrap_or("")
                    .trim_matches('"')
                    .to_string(),
            );
    }
    out
}

fn go_list(dir: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("go")
        .args(["list", "-json", "./..."])
        .current_dir(dir)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .output()
        .expect("run go list");
    assert!(
        out.status.success(),
        "go list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| v.expect("go list json"))
        .collect()
}

fn check_against_go_list(
    root: &Path,
    module_dir: &str,
    ours: &BTreeMap<String, BTreeSet<String>>,
) -> usize {
    let mut compared = 0;
    let canonical_root = root.canonicalize().expect("canonical root");
    for pkg in go_list(&root.join(module_dir)) {
        let dir = Path::new(pkg["Dir"].as_str().expect("Dir"));
        let rel = dir
            .canonicalize()
            .expect("canonical dir")
            .strip_prefix(&canonical_root)
            .expect("package inside the repository")
            .to_string_lossy()
            .replace('\\', "/");
        for (files_key, imports_key) in [
            ("GoFiles", "Imports"),
            ("TestGoFiles", "TestImports"),
            ("XTestGoFiles", "XTestImports"),
        ] {
            let files: Vec<&str> = pkg[files_key]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
                .unwrap_or_default();
            if files.is_empty() {
                continue;
            }
            let expected: BTreeSet<String> = pkg[imports_key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let mut got = BTreeSet::new();
            for f in &files {
                let path = if rel.is_empty() {
                    f.to_string()
                } else {
                    format!("{rel}/{f}")
                };
                got.extend(ours.get(&path).cloned().unwrap_or_default());
            }
            assert_eq!(got, expected, "{files_key} of {rel}");
            compared += files.len();
        }
    }
    compared
}

#[test]
fn package_imports_agree_with_go_list() {
    let repo = fixture_repo("go/shop");
    let graph = graph_json(repo.path());
    let ours = our_imports(&graph);
    let root_files = check_against_go_list(repo.path(), "", &ours);
    let nested_files = check_against_go_list(repo.path(), "tools", &ours);
    // Every file go list knows (for this platform) was compared.
    assert!(root_files >= 25, "{root_files}");
    assert!(nested_files >= 2, "{nested_files}");
}

#[test]
fn files_know_their_package_and_constraints() {
    let repo = fixture_repo("go/shop");
    let graph = graph_json(repo.path());
    let file = |path: &str| -> serde_json::Value {
        graph["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["path"] == path)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(file("api/v2/types.go")["module"], "example.com/shop/api/v2");
    assert_eq!(
        file("tools/seed/main.go")["module"],
        "example.com/shop/tools/seed"
    );
    assert_eq!(
        file("cmd/shopd/signals_linux.go")["build_constraint"],
        "linux"
    );
    assert_eq!(
        file("cmd/shopd/signals_other.go")["build_constraint"],
        "!linux"
    );
}

#[test]
fn fetch_order_references_are_exact_and_exclude_decoys() {
    let repo = fixture_repo("go/shop");
    let refs = symbol_references(repo.path(), "example.com/shop/internal/store.FetchOrder");
    assert_eq!(
        refs,
        [
            "api/v2/handlers.go:23:13",
            "cmd/shopd/main.go:65:18",
            "internal/billing/billing.go:42:15",
            "internal/store/cache.go:35:12",
            "internal/store/fetch_test.go:15:20",
            "internal/store/fetch_test.go:25:18",
            "internal/store/store_test.go:63:13",
        ]
    );
    assert_no_decoys(repo.path(), &refs, 14);
}

#[test]
fn type_references_cover_every_form() {
    let repo = fixture_repo("go/shop");
    let refs = symbol_references(repo.path(), "example.com/shop/models.Order");
    for expected in [
        "api/v2/types.go:16:9",            // embedded field models.Order
        "api/v2/types.go:25:25",           // type assertion v.(*models.Order)
        "pricing/discount.go:12:13",       // bare Order through the dot import
        "models/order.go:39:9",            // method receiver in its own package
        "tools/internal/gen/gen.go:15:46", // from the nested module
    ] {
        assert!(
            refs.iter().any(|r| r == expected),
            "missing {expected} in {refs:?}"
        );
    }
    // Ground truth (go/types): the two code blocks of EXPECTED.md's `models.Order` section.
    let expected_md =
        std::fs::read_to_string(crate::common::fixtures().join("go/shop/EXPECTED.md"))
            .expect("EXPECTED.md");
    let section = expected_md
        .split("## `example.com/shop/models.Order`")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("models.Order section");
    let mut truth: Vec<String> = section
        .split("```")
        .skip(1)
        .step_by(2)
        .flat_map(|block| block.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    truth.sort();
    assert_eq!(refs, truth, "references of models.Order vs go/types");
    insta::assert_snapshot!(refs.join("\n"));
}

#[test]
fn a_nested_module_that_requires_a_published_version_is_not_renamed_with_the_files_beside_it() {
    // tools/ builds against example.com/shop v1.4.0 from the proxy, not these files; lab/
    // replaces it with the files here, so its uses count.
    let repo = crate::common::repo_with_files(&[
        ("go.mod", "module example.com/shop\n\ngo 1.22\n"),
        (
            "util/util.go",
            "package util\n\n// Hello greets.\nfunc Hello() string { return \"hi\" }\n",
        ),
        (
            "main.go",
            "package main\n\nimport \"example.com/shop/util\"\n\nfunc main() { println(util.Hello()) }\n",
        ),
        (
            "tools/go.mod",
            "module example.com/shop/tools\n\ngo 1.22\n\nrequire example.com/shop v1.4.0\n",
        ),
        (
            "tools/main.go",
            "package main\n\nimport \"example.com/shop/util\"\n\nfunc main() { println(util.Hello()) }\n",
        ),
        (
            "lab/go.mod",
            "module example.com/shop/lab\n\ngo 1.22\n\nrequire example.com/shop v1.4.0\n\nreplace example.com/shop => ../\n",
        ),
        (
            "lab/main.go",
            "package main\n\nimport \"example.com/shop/util\"\n\nfunc main() { println(util.Hello()) }\n",
        ),
    ]);
    let dir = repo.path();
    let refs = crate::common::symbol_references(dir, "example.com/shop/util.Hello");
    let files: std::collections::BTreeSet<&str> =
        refs.iter().filter_map(|r| r.split(':').next()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["lab/main.go", "main.go"],
        "{refs:?}"
    );
    let graph = crate::common::graph_json(dir);
    let external = graph["external"].to_string();
    assert!(external.contains("tools/main.go"), "{external}");
}
