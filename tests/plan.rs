//! `git ripple plan` and `git ripple recipes` on the fixtures: the bundled recipes' plans
//! (snapshots), ordering along the real graph, determinism across thread counts, and how
//! recipes are found.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{commit_all, fixture_repo, graph_json, import_edges, ripple, ripple_ok};

fn plan_json(dir: &Path, recipe: &str) -> serde_json::Value {
    serde_json::from_str(&ripple_ok(dir, &["plan", recipe, "--format", "json"])).expect("plan json")
}

/// Every import edge between two targets of a step goes from a later-or-same batch to an
/// earlier-or-same one, and every file of the step is in exactly one batch.
fn assert_dependencies_first(dir: &Path, plan: &serde_json::Value) {
    let edges = import_edges(&graph_json(dir));
    for step in plan["steps"].as_array().expect("steps") {
        let mut batch_of: HashMap<String, u64> = HashMap::new();
        for b in step["batches"].as_array().expect("batches") {
            let index = b["index"].as_u64().expect("index");
            for f in b["files"].as_array().expect("files") {
                let f = f.as_str().expect("path").to_string();
                if step["kind"] == "rename" && batch_of.contains_key(&f) {
                    // The contract batch revisits the definition's file on purpose.
                    assert_eq!(b["phase"], "contract", "{f} is in two batches");
                    continue;
                }
                assert!(batch_of.insert(f.clone(), index).is_none(), "{f} twice");
            }
            for d in b["depends_on"].as_array().expect("depends_on") {
                assert!(d.as_u64().expect("dep") < index, "depends on a later batch");
            }
        }
        for edge in &edges {
            let (from, to) = edge.split_once(" -> ").expect("edge");
            if let (Some(a), Some(b)) = (batch_of.get(from), batch_of.get(to)) {
                assert!(b <= a, "{from} (batch {a}) imports {to} (batch {b})");
            }
        }
    }
}

#[test]
fn python_rename_plan_is_ordered_and_explained() {
    let repo = fixture_repo("python/shop");
    let text = ripple_ok(repo.path(), &["plan", "rename-fetch-order"]);
    insta::assert_snapshot!("python_rename_plan_text", text);
    let plan = plan_json(repo.path(), "rename-fetch-order");
    insta::assert_json_snapshot!("python_rename_plan_json", plan);
    assert_dependencies_first(repo.path(), &plan);
    // The import cycle orders ↔ billing is one batch.
    let batches = plan["steps"][0]["batches"].as_array().expect("batches");
    let with = |f: &str| {
        batches.iter().position(|b| {
            b["files"]
                .as_array()
                .is_some_and(|fs| fs.iter().any(|x| x == f))
        })
    };
    assert_eq!(
        with("src/shopcore/services/orders.py"),
        with("src/shopcore/services/billing.py")
    );
    for b in batches {
        assert!(b["files"].as_array().expect("files").len() <= 5);
    }
}

#[test]
fn python_deprecation_plan() {
    let repo = fixture_repo("python/shop");
    insta::assert_snapshot!(ripple_ok(repo.path(), &["plan", "python-utcnow"]));
    assert_dependencies_first(repo.path(), &plan_json(repo.path(), "python-utcnow"));
}

#[test]
fn python_model_step_selects_definition_and_references() {
    let repo = fixture_repo("python/shop");
    let plan = plan_json(repo.path(), "model-rename-fetch-order");
    let step = &plan["steps"][0];
    assert_eq!(step["kind"], "model");
    let targets: Vec<&str> = step["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["path"].as_str().expect("path"))
        .collect();
    let rename = plan_json(repo.path(), "rename-fetch-order");
    let rename_targets: Vec<&str> = rename["steps"][0]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["path"].as_str().expect("path"))
        .collect();
    assert_eq!(targets, rename_targets);
    assert!(targets.contains(&"src/shopcore/db/queries.py"));
    assert_dependencies_first(repo.path(), &plan);
}

#[test]
fn go_rename_plan() {
    let repo = fixture_repo("go/shop");
    insta::assert_snapshot!(ripple_ok(repo.path(), &["plan", "rename-go-fetch-order"]));
    assert_dependencies_first(
        repo.path(),
        &plan_json(repo.path(), "rename-go-fetch-order"),
    );
}

#[test]
fn go_ioutil_plan_finds_every_use() {
    let repo = fixture_repo("go/shop");
    insta::assert_snapshot!(ripple_ok(repo.path(), &["plan", "go-ioutil"]));
    let plan = plan_json(repo.path(), "go-ioutil");
    let mut files: Vec<&str> = plan["steps"][0]["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .flat_map(|b| b["files"].as_array().expect("files"))
        .map(|f| f.as_str().expect("path"))
        .collect();
    files.sort();
    // Ground truth: `git grep` for the package's uses.
    let grep = crate::common::git(repo.path(), &["grep", "-l", "ioutil\\.", "--", "*.go"]);
    let mut expected: Vec<&str> = grep.lines().collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn plans_are_identical_whatever_the_thread_count() {
    for (fixture, recipe) in [
        ("python/shop", "rename-fetch-order"),
        ("go/shop", "go-ioutil"),
    ] {
        let repo = fixture_repo(fixture);
        let run = |threads: &str| {
            crate::common::Ripple::new(repo.path())
                .args(&["plan", recipe, "--format", "json"])
                .env("RAYON_NUM_THREADS", threads)
                .ok()
        };
        let one = run("1");
        assert_eq!(one, run("4"), "{recipe}: 1 thread vs 4");
        assert_eq!(one, run("4"), "{recipe}: run to run");
    }
}

#[test]
fn dot_output_draws_batches_and_dependencies() {
    let repo = fixture_repo("python/shop");
    let dot = ripple_ok(
        repo.path(),
        &["plan", "rename-fetch-order", "--format", "dot"],
    );
    assert!(dot.starts_with("digraph plan {"));
    assert!(dot.contains("subgraph cluster_step1"));
    assert!(dot.contains("b1 -> b2;"));
    assert!(dot.trim_end().ends_with('}'));
}

#[test]
fn repository_recipes_are_listed_and_found_by_name_or_path() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path().join(".ripple/recipes");
    std::fs::create_dir_all(&dir).expect("recipes dir");
    std::fs::write(
        dir.join("ship-rename.toml"),
        r#"name = "ship-rename"
description = "Rename shipping's estimate"

[[step]]
kind = "model"
instructions = "Tidy up the shipping estimate."
select = { paths = ["src/shopcore/services/shipping.py"], propagate = 1 }
"#,
    )
    .expect("write recipe");
    commit_all(repo.path(), "add a recipe");

    let list = ripple_ok(repo.path(), &["recipes"]);
    assert!(list.contains("ship-rename"), "{list}");
    assert!(list.contains("Rename shipping's estimate"));
    assert!(list.contains("rename-fetch-order"), "bundled ones too");
    let json: serde_json::Value =
        serde_json::from_str(&ripple_ok(repo.path(), &["recipes", "--format", "json"]))
            .expect("json");
    assert_eq!(json[0]["name"], "ship-rename");
    assert_eq!(json[0]["origin"], "repository");
    assert_eq!(json[0]["path"], ".ripple/recipes/ship-rename.toml");

    let by_name = plan_json(repo.path(), "ship-rename");
    let by_path = plan_json(repo.path(), ".ripple/recipes/ship-rename.toml");
    assert_eq!(by_name["steps"], by_path["steps"]);
    let targets = by_name["steps"][0]["targets"].as_array().expect("targets");
    assert!(targets.len() > 1, "dependents are added: {targets:?}");
    assert!(
        targets
            .iter()
            .any(|t| t["path"] == "src/shopcore/services/shipping.py"),
        "{targets:?}"
    );
    assert!(
        targets.iter().any(|t| t["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("propagate"))),
        "propagated dependents say why: {targets:?}"
    );
}

#[test]
fn unknown_recipe_name_suggests_the_closest() {
    let repo = fixture_repo("python/shop");
    let out = ripple(repo.path(), &["plan", "rename-fetch-ordr"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no recipe `rename-fetch-ordr`"), "{err}");
    assert!(err.contains("did you mean `rename-fetch-order`"), "{err}");
}

#[test]
fn invalid_repository_recipe_is_flagged_in_the_listing() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path().join(".ripple/recipes");
    std::fs::create_dir_all(&dir).expect("recipes dir");
    std::fs::write(
        dir.join("broken.toml"),
        "name = \"broken\"\n[[step]]\nkind = \"renam\"\n",
    )
    .expect("write");
    let out = ripple(repo.path(), &["recipes"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("broken"), "{text}");
    assert!(
        text.contains("INVALID: unknown step kind `renam`"),
        "{text}"
    );
}

const BY_OWNER: &str = r#"name = "rename-by-owner"
description = "Rename fetch_order to load_order, one team at a time"

[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"

[batch]
max_files = 5
group = "owners"

[verify]
commands = ["python -m pytest -q"]
"#;

/// Three teams: the API's, the services' (with the plugins), and the core's (everything
/// else); the tests are nobody's.
const CODEOWNERS: &str = "\
# The core team owns everything no later line gives to someone else.
*                        @shop/core
/src/shopcore/api/       @shop/api
/src/shopcore/services/  @shop/services
/src/shopcore/plugins/   @shop/services
/tests/
";

#[test]
fn batches_cut_by_code_owners_keep_one_team_per_batch() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::create_dir_all(dir.join(".github")).expect("folder");
    std::fs::write(dir.join(".github/CODEOWNERS"), CODEOWNERS).expect("codeowners");
    std::fs::create_dir_all(dir.join(".ripple/recipes")).expect("folder");
    std::fs::write(dir.join(".ripple/recipes/rename-by-owner.toml"), BY_OWNER).expect("recipe");
    commit_all(dir, "code owners and a recipe");

    let text = ripple_ok(dir, &["plan", "rename-by-owner"]);
    insta::assert_snapshot!("python_rename_by_owner_plan_text", text);
    let mermaid = ripple_ok(dir, &["plan", "rename-by-owner", "--format", "mermaid"]);
    insta::assert_snapshot!("python_rename_by_owner_plan_mermaid", mermaid);
    let plan = plan_json(dir, "rename-by-owner");
    assert_dependencies_first(dir, &plan);
    let batches = plan["steps"][0]["batches"].as_array().expect("batches");
    let owners_of = |b: &serde_json::Value| -> Vec<String> {
        b["owners"]
            .as_array()
            .map(|o| o.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    // One owner set per batch (the expand and contract batches are the definition's own).
    for b in batches {
        assert!(owners_of(b).len() <= 1, "{b}");
        assert!(
            owners_of(b).is_empty() || b["unowned"].is_null(),
            "owned and unowned files mixed: {b}"
        );
    }
    // And each team is asked as few times as the order allows: the API's files come in one
    // migrate batch.
    let api: Vec<&serde_json::Value> = batches
        .iter()
        .filter(|b| owners_of(b) == ["@shop/api"])
        .collect();
    assert_eq!(api.len(), 1, "{batches:?}");
    assert!(
        plan["steps"][0]["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n
                .as_str()
                .unwrap()
                .contains("without an owner in .github/CODEOWNERS")),
        "{plan}"
    );

    // Carried out, each commit names its owners.
    ripple_ok(dir, &["run", "rename-by-owner"]);
    let owners = crate::common::git(
        dir,
        &[
            "log",
            "--format=%(trailers:key=Ripple-Owners,valueonly)",
            "main..ripple/rename-by-owner",
        ],
    );
    for team in ["@shop/api", "@shop/services", "@shop/core"] {
        assert!(owners.contains(team), "{team} missing:\n{owners}");
    }
}

#[test]
fn owners_grouping_without_codeowners_says_so() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::create_dir_all(dir.join(".ripple/recipes")).expect("folder");
    std::fs::write(dir.join(".ripple/recipes/rename-by-owner.toml"), BY_OWNER).expect("recipe");
    commit_all(dir, "a recipe");
    let text = ripple_ok(dir, &["plan", "rename-by-owner"]);
    assert!(
        text.contains("group = \"owners\" but there is no CODEOWNERS file"),
        "{text}"
    );
}
