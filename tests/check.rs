//! `git ripple check`: every commit of a run proven green on its own, in scratch worktrees,
//! with results cached by tree; a red commit found and shown; the worktree tests its own code.

use std::path::Path;

use crate::common::{Ripple, commit_all, fixture_repo, git};

/// The bundled Python rename, carried out.
fn python_run() -> tempfile::TempDir {
    let repo = fixture_repo("python/shop");
    Ripple::new(repo.path())
        .args(&["run", "rename-fetch-order", "-q"])
        .ok();
    repo
}

fn check_json(dir: &Path, args: &[&str]) -> (serde_json::Value, i32) {
    let mut all = vec!["check", "--format", "json", "-q"];
    all.extend_from_slice(args);
    let out = Ripple::new(dir).args(&all).output();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code().unwrap_or(-1))
}

#[test]
fn every_commit_of_a_run_is_green_and_checked_once_per_tree() {
    let repo = python_run();
    let dir = repo.path();
    let text = Ripple::new(dir).args(&["check", "-j", "2"]).ok();
    assert!(text.contains("bisect-clean: 5/5 commits green"), "{text}");
    let (first, code) = check_json(dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(first["bisect_clean"], true);
    assert_eq!(first["commands_run"], 0, "all cached: {first:#}");
    assert_eq!(first["commands_cached"], 5);
    // A copy of the branch with other commit ids but the same trees runs nothing either.
    git(
        dir,
        &["switch", "-q", "-c", "copy", "ripple/rename-fetch-order"],
    );
    let reworded = crate::common::git_command(dir)
        .args(["rebase", "-q", "--force-rebase", "main"])
        .env("GIT_COMMITTER_DATE", "2026-02-02T00:00:00Z")
        .output()
        .expect("rebase");
    assert!(reworded.status.success());
    let copy = git(dir, &["rev-parse", "HEAD"]);
    let original = git(dir, &["rev-parse", "ripple/rename-fetch-order"]);
    assert_ne!(copy, original, "new commits");
    let (rebased, code) = check_json(dir, &["main..copy"]);
    assert_eq!(code, 0);
    assert_eq!(rebased["total"], 5);
    assert_eq!(rebased["commands_run"], 0, "{rebased:#}");
    // --no-cache runs everything again.
    let (fresh, _) = check_json(dir, &["main..copy", "--no-cache", "-j", "2"]);
    assert_eq!(fresh["commands_run"], 5);
    assert_eq!(fresh["bisect_clean"], true);
}

#[test]
fn the_first_red_commit_is_named_with_its_output() {
    let repo = python_run();
    let dir = repo.path();
    // A commit on the run's branch that breaks a test, then one that mends it: the tip is
    // green, the middle is not, and only a per-commit check can tell.
    let queries = dir.join("src/shopcore/db/queries.py");
    let text = std::fs::read_to_string(&queries).expect("queries");
    std::fs::write(
        &queries,
        text.replace("def load_order(", "def load_orderx("),
    )
    .expect("break");
    commit_all(dir, "wip: break it");
    std::fs::write(&queries, &text).expect("mend");
    commit_all(dir, "wip: mend it");
    let broken = git(dir, &["rev-parse", "HEAD~1"]);
    let out = Ripple::new(dir)
        .args(&["check", "main..HEAD", "-q"])
        .output();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not bisect-clean: 6/7 commits green"),
        "{stdout}"
    );
    assert!(stdout.contains("wip: break it"), "{stdout}");
    assert!(
        stdout.contains("load_order"),
        "the failing output: {stdout}"
    );
    let (report, code) = check_json(dir, &["main..HEAD"]);
    assert_eq!(code, 1);
    assert_eq!(report["first_red"]["commit"], broken.trim());
    assert_eq!(report["commits"][5]["green"], false);
    assert_eq!(report["commits"][6]["green"], true);
}

#[test]
fn a_path_hack_that_imports_another_checkout_is_not_a_green() {
    let repo = python_run();
    let dir = repo.path();
    // Another checkout of the package (as an editable install of the original would be) put
    // ahead of everything by a sitecustomize on the path.
    let elsewhere = tempfile::TempDir::new().expect("temp");
    std::fs::create_dir_all(elsewhere.path().join("other/shopcore")).expect("copy");
    std::fs::write(elsewhere.path().join("other/shopcore/__init__.py"), "").expect("init");
    std::fs::write(
        elsewhere.path().join("sitecustomize.py"),
        format!(
            "import sys\nsys.path.insert(0, {:?})\n",
            elsewhere.path().join("other").display().to_string()
        ),
    )
    .expect("sitecustomize");
    let out = Ripple::new(dir)
        .args(&["check", "--format", "json", "-q", "--no-cache"])
        .env("PYTHONPATH", &elsewhere.path().display().to_string())
        .output();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let problem = report["commits"][0]["problem"].as_str().unwrap_or("");
    assert!(problem.contains("shopcore from"), "{report:#}");
    assert_eq!(
        report["commands_run"], 0,
        "nothing run on a tree it cannot test"
    );
}

#[test]
fn a_go_module_replacing_a_sibling_folder_is_checked_where_the_sibling_resolves() {
    // parent/lib is a module of its own; parent/app (the repository) uses it through
    // `replace example.com/lib => ../lib`.
    let parent = tempfile::TempDir::new().expect("temp");
    let lib = parent.path().join("lib");
    std::fs::create_dir_all(&lib).expect("lib");
    std::fs::write(lib.join("go.mod"), "module example.com/lib\n\ngo 1.22\n").expect("go.mod");
    std::fs::write(
        lib.join("lib.go"),
        "package lib\n\n// Twice doubles.\nfunc Twice(n int) int { return 2 * n }\n",
    )
    .expect("lib.go");
    let app = parent.path().join("app");
    crate::common::repo_at(
        &app,
        &[
            (
                "go.mod",
                "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n",
            ),
            (
                "calc/calc.go",
                "package calc\n\nimport \"example.com/lib\"\n\n// Quad multiplies by four.\nfunc Quad(n int) int { return lib.Twice(lib.Twice(n)) }\n",
            ),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/calc\"\n)\n\nfunc main() { fmt.Println(calc.Quad(1)) }\n",
            ),
            (
                "quad.toml",
                "name = \"quad\"\n\n[[step]]\nkind = \"rename\"\nsymbol = \"example.com/app/calc.Quad\"\nto = \"Times4\"\n\n[verify]\ncommands = [\"go build ./...\", \"go vet {packages}\"]\n",
            ),
        ],
    );
    Ripple::new(&app).args(&["run", "quad.toml", "-q"]).ok();
    let (report, code) = check_json(&app, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["bisect_clean"], true);
    assert!(report["total"].as_u64().unwrap_or(0) >= 2, "{report:#}");
    let first = &report["commits"][0];
    assert!(first["warnings"].is_null(), "{first:#}");
    // `{packages}` widened to every package of the tree.
    let vet = first["commands"][1]["command"].as_str().unwrap_or("");
    assert_eq!(vet, "go vet . ./calc");
    drop(parent);
}
