//! Levels that say what really depends: while the old name works everywhere, a rename's
//! migrate batches need only the expand batch and the batches that change a path they reach
//! the symbol through, so CI runs them side by side and their branches merge in any order.

use std::path::Path;

use crate::common::{
    PYTEST, assert_each_commit_passes, assert_ok, commit_all, fixture_repo, git, repo_with_files,
    ripple, ripple_ok,
};

fn plan_json(dir: &Path, recipe: &str) -> serde_json::Value {
    serde_json::from_str(&ripple_ok(dir, &["plan", recipe, "--format", "json"])).expect("plan")
}

fn levels_and_deps(plan: &serde_json::Value) -> Vec<(u64, Vec<u64>)> {
    plan["steps"][0]["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| {
            (
                b["level"].as_u64().unwrap(),
                b["depends_on"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect()
}

fn tree(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", &format!("{rev}^{{tree}}")])
}

#[test]
fn migrate_batches_are_independent_jobs_whose_branches_merge_in_any_order() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let plan = plan_json(dir, "rename-fetch-order");
    assert_eq!(
        levels_and_deps(&plan),
        [
            (0, vec![]),
            (1, vec![1]),
            (1, vec![1]),
            (1, vec![1]),
            (2, vec![1, 2, 3, 4]),
        ]
    );
    std::fs::write(dir.join("plan.json"), plan.to_string()).expect("plan");
    std::fs::write(dir.join(".gitignore"), "__pycache__/\nplan.json\n").expect("ignore");
    commit_all(dir, "ignore the plan");
    let base = git(dir, &["rev-parse", "HEAD"]).trim().to_string();

    let batch = |k: &str| {
        assert_ok(&ripple(
            dir,
            &[
                "run",
                "rename-fetch-order",
                "--batch",
                k,
                "--plan",
                "plan.json",
            ],
        ));
    };
    batch("1");
    let expand = "ripple/rename-fetch-order-batch-1";
    // Level 1: three jobs, each on the expand commit alone, each green.
    for k in ["2", "3", "4"] {
        git(dir, &["switch", "-q", expand]);
        batch(k);
        let branch = format!("ripple/rename-fetch-order-batch-{k}");
        let tip = git(dir, &["rev-parse", &branch]).trim().to_string();
        assert_each_commit_passes(dir, &[tip], PYTEST, &branch);
    }
    // Merged in two orders: one tree, green.
    let merge = |name: &str, first: &str, rest: &[&str]| {
        git(
            dir,
            &[
                "switch",
                "-q",
                "-c",
                name,
                &format!("ripple/rename-fetch-order-batch-{first}"),
            ],
        );
        for k in rest {
            git(
                dir,
                &[
                    "-c",
                    "user.name=CI",
                    "-c",
                    "user.email=ci@ripple.invalid",
                    "merge",
                    "-q",
                    "--no-edit",
                    &format!("ripple/rename-fetch-order-batch-{k}"),
                ],
            );
        }
        tree(dir, name)
    };
    let one = merge("merged-a", "2", &["3", "4"]);
    let two = merge("merged-b", "4", &["2", "3"]);
    assert_eq!(one, two);
    // Contract on top of the merged level, as the last CI job: the same tree a plain run makes.
    git(dir, &["switch", "-q", "merged-a"]);
    batch("5");
    let fanned = tree(dir, "HEAD");
    let tip = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    assert_each_commit_passes(dir, &[tip], PYTEST, "ripple/rename-fetch-order-batch-5");

    git(dir, &["switch", "-q", "--detach", &base]);
    ripple_ok(
        dir,
        &["run", "rename-fetch-order", "--branch", "sequential"],
    );
    assert_eq!(fanned, tree(dir, "sequential"));
}

/// `pkgNN/use.py` calls `fetch` and imports the package before it (a chain the packer used
/// to turn into one level per batch); `users` reaches `fetch` through `hub`, which imported
/// it.
fn chain_repo(packages: usize) -> tempfile::TempDir {
    let mut files: Vec<(String, String)> = vec![
        (
            "pyproject.toml".into(),
            "[tool.pytest.ini_options]\npythonpath = [\".\"]\n".into(),
        ),
        ("core/__init__.py".into(), String::new()),
        (
            "core/store.py".into(),
            "def fetch(i):\n    return i\n".into(),
        ),
        (
            "hub/__init__.py".into(),
            "from core.store import fetch\n\n\ndef hello():\n    return fetch(-1)\n".into(),
        ),
        ("users/__init__.py".into(), String::new()),
        (
            "users/use.py".into(),
            "import hub\n\n\ndef run():\n    return hub.fetch(0)\n".into(),
        ),
    ];
    let mut test = String::from("import users.use\n");
    for n in 1..=packages {
        let before = if n == 1 {
            String::new()
        } else {
            format!(
                "from pkg{:02}.use import run as _before  # noqa: F401\n",
                n - 1
            )
        };
        files.push((format!("pkg{n:02}/__init__.py"), String::new()));
        files.push((
            format!("pkg{n:02}/use.py"),
            format!(
                "{before}from core.store import fetch\n\n\ndef run():\n    return fetch({n})\n"
            ),
        ));
        test.push_str(&format!("import pkg{n:02}.use\n"));
    }
    test.push_str("\n\ndef test_all():\n    assert users.use.run() == 0\n");
    for n in 1..=packages {
        test.push_str(&format!("    assert pkg{n:02}.use.run() == {n}\n"));
    }
    files.push(("tests/test_all.py".into(), test));
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    repo_with_files(&borrowed)
}

#[test]
fn a_use_through_an_importing_module_waits_for_that_module_and_nothing_else() {
    let repo = chain_repo(21);
    let dir = repo.path();
    std::fs::write(
        dir.join("rename.toml"),
        "name = \"rename\"\n[[step]]\nkind = \"rename\"\nsymbol = \"core.store.fetch\"\nto = \"load\"\n[batch]\nmax_files = 1\n[verify]\ncommands = [\"python3 -m pytest -q -p no:cacheprovider\"]\n",
    )
    .expect("recipe");
    commit_all(dir, "recipe");
    let plan = plan_json(dir, "rename.toml");
    let batches = plan["steps"][0]["batches"].as_array().expect("batches");
    assert_eq!(batches.len(), 25);
    let index_of = |file: &str| {
        batches
            .iter()
            .find(|b| b["files"].as_array().unwrap().iter().any(|f| f == file))
            .map(|b| b["index"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("{file} in no batch"))
    };
    let hub = index_of("hub/__init__.py");
    let users = &batches[index_of("users/use.py") as usize - 1];
    assert!(
        users["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == hub),
        "users reaches fetch through hub: {users}"
    );
    let levels: std::collections::BTreeSet<u64> = batches
        .iter()
        .map(|b| b["level"].as_u64().unwrap())
        .collect();
    assert_eq!(
        levels.len(),
        4,
        "expand, migrate, users after hub, contract: {levels:?}"
    );
    // Carried out in order, every commit is green.
    ripple_ok(dir, &["run", "rename.toml"]);
    let commits = crate::common::commits_between(dir, "main", "ripple/rename");
    assert_eq!(commits.len(), 25);
    assert_each_commit_passes(dir, &commits, PYTEST, "ripple/rename");
}
