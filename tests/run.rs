//! `git ripple run` end to end on the fixtures: the bundled recipes make the expected commits,
//! every commit passes the real toolchain on its own, the final diffs match snapshots, decoys
//! stay untouched; failures roll back exactly; dirty trees are refused; dry runs change nothing.

use std::path::Path;

use crate::common::{
    assert_each_commit_passes, commit_all, commits_between, decoy_texts, fixture_repo, git, ripple,
};

const PYTEST: &[&str] = &["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"];
const GO_BUILD: &[&str] = &["go", "build", "./..."];
const GO_VET: &[&str] = &["go", "vet", "./..."];
const GO_TEST: &[&str] = &["go", "test", "./..."];

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = ripple(dir, args);
    assert!(
        out.status.success(),
        "git ripple {args:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Write a recipe file into the repository (committed by the caller, or left untracked).
fn add_recipe(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("recipe folder")).expect("create folder");
    std::fs::write(path, text).expect("write recipe");
}

/// Everything that identifies the repository's state: refs, HEAD, index and work tree.
fn repo_state(dir: &Path) -> String {
    let mut s = git(dir, &["show-ref"]);
    s.push_str(&git(dir, &["symbolic-ref", "HEAD"]));
    s.push_str(&git(dir, &["ls-files", "-s"]));
    s.push_str(&git(
        dir,
        &["status", "--porcelain", "--untracked-files=all"],
    ));
    s.push_str(&git(dir, &["diff"]));
    s
}

#[test]
fn python_rename_makes_one_green_commit_per_batch() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let main_before = git(dir, &["rev-parse", "main"]);
    let report: serde_json::Value = serde_json::from_str(&run_ok(
        dir,
        &["run", "rename-fetch-order", "--format", "json"],
    ))
    .expect("json report");
    assert_eq!(report["outcome"], "success");
    assert_eq!(report["branch"], "ripple/rename-fetch-order");

    let commits = commits_between(dir, "main", "ripple/rename-fetch-order");
    assert_eq!(commits.len(), 5, "one commit per planned batch");
    assert_eq!(report["commits"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        git(dir, &["rev-parse", "main"]),
        main_before,
        "main untouched"
    );
    assert_eq!(
        git(dir, &["symbolic-ref", "--short", "HEAD"]).trim(),
        "ripple/rename-fetch-order"
    );
    assert_eq!(git(dir, &["status", "--porcelain"]), "", "clean work tree");

    // Trailers and the user's identity.
    let last = git(dir, &["log", "-1", "--format=%an <%ae>%n%B"]);
    assert!(
        last.starts_with("Ripple User <user@ripple.invalid>"),
        "{last}"
    );
    for trailer in [
        "Ripple-Recipe: rename-fetch-order",
        "Ripple-Step: 1/1 rename",
        "Ripple-Batch: 5/5",
        "Ripple-Verified: python -m pytest -q (22 passed",
    ] {
        assert!(last.contains(trailer), "missing {trailer:?} in:\n{last}");
    }
    let trailers = git(
        dir,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Ripple-Batch,valueonly)",
        ],
    );
    assert_eq!(trailers.trim(), "5/5", "git parses the trailers");

    insta::assert_snapshot!(
        "python_rename_diff",
        git(dir, &["diff", "main", "ripple/rename-fetch-order"])
    );
    assert_eq!(decoy_texts(dir, "main"), decoy_texts(dir, "HEAD"));
    assert_each_commit_passes(dir, &commits, &[PYTEST], "ripple/rename-fetch-order");
    // The old name is gone except in the decoys and test names.
    let left = git(dir, &["grep", "-n", "fetch_order", "--", "*.py"]);
    for line in left.lines() {
        assert!(
            line.contains("DECOY") || line.contains("def test_fetch_order"),
            "left behind: {line}"
        );
    }
}

#[test]
fn go_rename_keeps_every_commit_building() {
    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    run_ok(dir, &["run", "rename-go-fetch-order"]);
    let commits = commits_between(dir, "main", "ripple/rename-go-fetch-order");
    assert_eq!(commits.len(), 4);
    insta::assert_snapshot!(
        "go_rename_diff",
        git(dir, &["diff", "main", "ripple/rename-go-fetch-order"])
    );
    assert_eq!(decoy_texts(dir, "main"), decoy_texts(dir, "HEAD"));
    // The expand commit keeps the old name as an alias; the last one removes it.
    let first = git(dir, &["show", &commits[0], "--", "internal/store/store.go"]);
    assert!(first.contains("+var FetchOrder = LoadOrder"), "{first}");
    assert_each_commit_passes(
        dir,
        &commits,
        &[GO_BUILD, GO_VET, GO_TEST],
        "ripple/rename-go-fetch-order",
    );
}

#[test]
fn go_ioutil_rewrite_fixes_imports() {
    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    run_ok(dir, &["run", "go-ioutil"]);
    let commits = commits_between(dir, "main", "ripple/go-ioutil");
    assert_eq!(commits.len(), 1);
    insta::assert_snapshot!(
        "go_ioutil_diff",
        git(dir, &["diff", "main", "ripple/go-ioutil"])
    );
    let left = crate::common::git_command(dir)
        .args(["grep", "-n", "ioutil", "--", "*.go"])
        .output()
        .expect("git grep");
    assert!(
        !left.status.success(),
        "no ioutil left:\n{}",
        String::from_utf8_lossy(&left.stdout)
    );
    let gofmt = std::process::Command::new("gofmt")
        .args(["-l", "."])
        .current_dir(dir)
        .output()
        .expect("gofmt");
    assert_eq!(String::from_utf8_lossy(&gofmt.stdout), "", "gofmt-clean");
    assert_each_commit_passes(
        dir,
        &commits,
        &[GO_BUILD, GO_VET, GO_TEST],
        "ripple/go-ioutil",
    );
}

#[test]
fn python_utcnow_rewrite_adds_the_import() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    run_ok(dir, &["run", "python-utcnow"]);
    let commits = commits_between(dir, "main", "ripple/python-utcnow");
    assert_eq!(commits.len(), 1);
    insta::assert_snapshot!(
        "python_utcnow_diff",
        git(dir, &["diff", "main", "ripple/python-utcnow"])
    );
    assert_each_commit_passes(dir, &commits, &[PYTEST], "ripple/python-utcnow");
}

#[test]
fn a_failing_batch_is_rolled_back_and_earlier_ones_stay() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    // Passes for batch 1, fails as soon as a batch renames the handlers (batch 2).
    add_recipe(
        dir,
        ".ripple/recipes/fail-second.toml",
        r#"name = "fail-second"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"
[batch]
max_files = 5
[verify]
commands = ["python -m pytest -q -p no:cacheprovider", "echo checking handlers; ! grep -q load_order src/shopcore/api/handlers.py"]
"#,
    );
    commit_all(dir, "add recipe");
    let out = ripple(dir, &["run", "fail-second", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "verification failed exit code");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["outcome"], "verification_failed");
    let batches = report["batches"].as_array().expect("batches");
    assert_eq!(batches[0]["status"], "committed");
    assert_eq!(batches[1]["status"], "verification_failed");
    assert!(
        batches[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("grep -q load_order")),
        "names the command: {}",
        batches[1]["error"]
    );
    assert!(
        batches[1]["output_tail"]
            .as_str()
            .is_some_and(|t| t.contains("checking handlers")),
        "keeps the output's tail"
    );
    assert_eq!(batches[2]["status"], "not_run");

    let commits = commits_between(dir, "main", "ripple/fail-second");
    assert_eq!(commits.len(), 1, "batch 1 stays committed");
    assert_eq!(git(dir, &["rev-parse", "HEAD"]).trim(), commits[0]);
    assert_eq!(
        git(dir, &["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the work tree is exactly batch 1's commit"
    );
}

#[test]
fn keep_going_skips_the_failed_batch() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "fail-second.toml",
        r#"name = "fail-second"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"
compat = "alias"
[batch]
max_files = 5
[verify]
commands = ["! grep -q load_order src/shopcore/api/handlers.py"]
"#,
    );
    commit_all(dir, "add recipe");
    let out = ripple(
        dir,
        &[
            "run",
            "fail-second.toml",
            "--keep-going",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let statuses: Vec<&str> = report["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses[1], "verification_failed");
    assert!(
        statuses[2..].iter().all(|s| *s == "committed"),
        "{statuses:?}"
    );
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
}

#[test]
fn dirty_work_tree_is_refused_and_left_alone() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let path = dir.join("src/shopcore/db/queries.py");
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("\n# work in progress\n");
    std::fs::write(&path, &text).expect("write");
    let before = repo_state(dir);
    let out = ripple(dir, &["run", "rename-fetch-order"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert!(
        err.contains("src/shopcore/db/queries.py"),
        "lists the file: {err}"
    );
    assert_eq!(repo_state(dir), before);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}

#[test]
fn dry_run_prints_diffs_and_changes_nothing() {
    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    let before = repo_state(dir);
    let out = run_ok(dir, &["run", "rename-go-fetch-order", "--dry-run"]);
    assert_eq!(
        repo_state(dir),
        before,
        "refs, index and work tree unchanged"
    );
    assert!(
        out.contains("-func FetchOrder(id string) (models.Order, error) {"),
        "{out}"
    );
    assert!(out.contains("+func LoadOrder(id string) (models.Order, error) {"));
    assert!(out.contains("batch 4/4  would commit"), "{out}");
    assert!(
        out.contains("-var FetchOrder = LoadOrder"),
        "the contract batch: {out}"
    );
}

#[test]
fn existing_branch_and_untracked_targets_are_refused() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    git(dir, &["branch", "ripple/rename-fetch-order"]);
    let out = ripple(dir, &["run", "rename-fetch-order"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(
        dir.join("src/shopcore/api/scratch.py"),
        "from shopcore.db.queries import fetch_order\n\nfetch_order(1)\n",
    )
    .expect("write");
    let before = repo_state(dir);
    let out = ripple(dir, &["run", "rename-fetch-order"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("scratch.py would be changed but is not tracked"),
        "{err}"
    );
    assert_eq!(repo_state(dir), before);
}

#[test]
fn a_rule_that_breaks_syntax_is_refused_before_writing() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "break.toml",
        r#"name = "break"
[[step]]
kind = "rewrite"
language = "python"
query = '((identifier) @match (#eq? @match "fetch_order"))'
template = "fetch order"
"#,
    );
    commit_all(dir, "add recipe");
    let out = ripple(dir, &["run", "break.toml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "transform failed exit code");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["batches"][0]["status"], "transform_failed");
    assert!(
        report["batches"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("introduces syntax errors")),
        "{}",
        report["batches"][0]["error"]
    );
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
    assert_eq!(commits_between(dir, "main", "ripple/break").len(), 0);
}

#[test]
fn python_module_move_updates_every_import() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "move.toml",
        r#"name = "move-queries"
[[step]]
kind = "move"
from = "shopcore.db.queries"
to = "shopcore.storage.queries"
[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#,
    );
    commit_all(dir, "add recipe");
    run_ok(dir, &["run", "move.toml"]);
    let commits = commits_between(dir, "main", "ripple/move-queries");
    assert_eq!(commits.len(), 1);
    assert!(dir.join("src/shopcore/storage/queries.py").is_file());
    assert!(dir.join("src/shopcore/storage/__init__.py").is_file());
    assert!(!dir.join("src/shopcore/db/queries.py").exists());
    insta::assert_snapshot!(
        "python_move_diff",
        git(dir, &["diff", "-M", "main", "ripple/move-queries"])
    );
    assert_each_commit_passes(dir, &commits, &[PYTEST], "ripple/move-queries");
}

#[test]
fn go_package_move_renames_the_package_and_its_qualifiers() {
    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "move.toml",
        r#"name = "move-store"
[[step]]
kind = "move"
from = "example.com/shop/internal/store"
to = "example.com/shop/internal/storage"
[verify]
commands = ["go build ./...", "go vet ./..."]
"#,
    );
    commit_all(dir, "add recipe");
    run_ok(dir, &["run", "move.toml"]);
    let commits = commits_between(dir, "main", "ripple/move-store");
    assert_eq!(commits.len(), 1);
    assert!(dir.join("internal/storage/store.go").is_file());
    assert!(!dir.join("internal/store").exists());
    insta::assert_snapshot!(
        "go_move_diff",
        git(dir, &["diff", "-M", "main", "ripple/move-store"])
    );
    assert_each_commit_passes(
        dir,
        &commits,
        &[GO_BUILD, GO_VET, GO_TEST],
        "ripple/move-store",
    );
}

fn gofmt_clean(dir: &Path) {
    let gofmt = std::process::Command::new("gofmt")
        .args(["-l", "."])
        .current_dir(dir)
        .output()
        .expect("gofmt");
    assert_eq!(String::from_utf8_lossy(&gofmt.stdout), "", "gofmt-clean");
}

#[test]
fn go_type_rename_follows_embedded_fields_and_stays_gofmt_clean() {
    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "order.toml",
        r#"name = "rename-order-type"
[[step]]
kind = "rename"
symbol = "example.com/shop/models.Order"
to = "PurchaseOrder"
[batch]
max_files = 6
[verify]
commands = ["go build ./...", "go vet ./..."]
"#,
    );
    // A literal in another package sets the embedded field by name.
    std::fs::write(
        dir.join("cmd/shopd/render.go"),
        "package main\n\nimport (\n\tapi \"example.com/shop/api/v2\"\n\t\"example.com/shop/models\"\n)\n\nfunc render(o models.Order) api.OrderResponse {\n\treturn api.OrderResponse{Order: o, Total: \"0\"}\n}\n",
    )
    .expect("write");
    commit_all(dir, "add recipe");
    let plan: serde_json::Value =
        serde_json::from_str(&run_ok(dir, &["plan", "order.toml", "--format", "json"]))
            .expect("plan");
    let batches = plan["steps"][0]["batches"].as_array().expect("batches");
    let batch_of = |f: &str| {
        batches.iter().position(|b| {
            b["files"]
                .as_array()
                .is_some_and(|fs| fs.iter().any(|x| x == f))
        })
    };
    assert!(batch_of("cmd/shopd/render.go").is_some());
    assert_eq!(
        batch_of("cmd/shopd/render.go"),
        batch_of("api/v2/types.go"),
        "the struct and the literal setting its embedded field change together"
    );
    let targets = plan["steps"][0]["targets"].as_array().expect("targets");
    assert!(
        targets.iter().any(|t| t["path"] == "cmd/shopd/render.go"
            && t["reasons"]
                .to_string()
                .contains("that `OrderResponse` embeds")),
        "{targets:?}"
    );
    run_ok(dir, &["run", "order.toml"]);
    let render = std::fs::read_to_string(dir.join("cmd/shopd/render.go")).expect("read");
    assert!(
        render.contains("api.OrderResponse{PurchaseOrder: o"),
        "{render}"
    );
    let commits = commits_between(dir, "main", "ripple/rename-order-type");
    assert!(commits.len() > 2, "expand, migrate, contract");
    let types = std::fs::read_to_string(dir.join("api/v2/types.go")).expect("read");
    assert!(
        types.contains("\tmodels.PurchaseOrder\n"),
        "embedded type renamed"
    );
    assert!(types.contains("PurchaseOrder: o,"), "keyed field renamed");
    let pricing = std::fs::read_to_string(dir.join("pricing/pricing.go")).expect("read");
    assert!(
        pricing.contains("Quote(sku string, qty int, price Cents) PurchaseOrder"),
        "{pricing}"
    );
    gofmt_clean(dir);
    assert_eq!(decoy_texts(dir, "main"), decoy_texts(dir, "HEAD"));
    assert_each_commit_passes(
        dir,
        &commits,
        &[GO_BUILD, GO_VET, GO_TEST],
        "ripple/rename-order-type",
    );
}

#[test]
fn python_class_rename_covers_string_annotations() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "order.toml",
        r#"name = "rename-order-class"
[[step]]
kind = "rename"
symbol = "shopcore.models.Order"
to = "PurchaseOrder"
[batch]
max_files = 6
[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#,
    );
    commit_all(dir, "add recipe");
    run_ok(dir, &["run", "order.toml"]);
    let commits = commits_between(dir, "main", "ripple/rename-order-class");
    let diff = git(dir, &["diff", "main", "ripple/rename-order-class"]);
    assert!(
        diff.contains("+def serialize(order: \"PurchaseOrder\") -> dict:"),
        "{diff}"
    );
    assert_eq!(decoy_texts(dir, "main"), decoy_texts(dir, "HEAD"));
    assert_each_commit_passes(dir, &commits, &[PYTEST], "ripple/rename-order-class");
}

#[test]
fn later_steps_are_planned_on_what_earlier_steps_leave() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    // Step 2 renames a symbol that only exists once step 1 has run.
    add_recipe(
        dir,
        "two-steps.toml",
        r#"name = "two-steps"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"
compat = "none"

[[step]]
kind = "rename"
symbol = "shopcore.db.queries.load_order"
to = "get_order"
compat = "none"

[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#,
    );
    commit_all(dir, "add recipe");
    let plan: serde_json::Value = serde_json::from_str(&run_ok(
        dir,
        &["plan", "two-steps.toml", "--format", "json"],
    ))
    .expect("json");
    assert_eq!(plan["steps"][1]["batches"][0]["index"], 2);
    assert_eq!(plan["steps"][1]["batches"][0]["level"], 1, "after step 1");
    let before = repo_state(dir);
    let dry = run_ok(dir, &["run", "two-steps.toml", "--dry-run"]);
    assert!(
        dry.contains("+def get_order(order_id: int) -> Order:"),
        "{dry}"
    );
    assert_eq!(repo_state(dir), before);
    run_ok(dir, &["run", "two-steps.toml"]);
    let commits = commits_between(dir, "main", "ripple/two-steps");
    assert_eq!(commits.len(), 2);
    let queries = std::fs::read_to_string(dir.join("src/shopcore/db/queries.py")).expect("read");
    assert!(queries.contains("def get_order("));
    assert_each_commit_passes(dir, &commits, &[PYTEST], "ripple/two-steps");
}

#[test]
fn crlf_files_keep_their_line_endings() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let path = dir.join("src/shopcore/db/queries.py");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace('\n', "\r\n")).expect("write");
    // Keep git from normalising the line endings we are testing.
    git(dir, &["config", "core.autocrlf", "false"]);
    commit_all(dir, "queries.py with CRLF line endings");
    run_ok(dir, &["run", "rename-fetch-order"]);
    let after = std::fs::read_to_string(&path).expect("read");
    assert!(after.contains("def load_order(order_id: int) -> Order:\r\n"));
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "every line still ends with CRLF"
    );
    assert!(
        !after.contains("fetch_order = load_order"),
        "alias removed again"
    );
}

#[test]
fn ctrl_c_during_verify_rolls_the_batch_back() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    // The first batch verifies quickly; the second waits, and is interrupted while it does.
    add_recipe(
        dir,
        "slow.toml",
        r#"name = "slow"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"
[batch]
max_files = 5
[verify]
commands = ["if grep -q load_order src/shopcore/api/handlers.py; then touch .verifying; sleep 30; fi"]
"#,
    );
    std::fs::write(dir.join(".gitignore"), "__pycache__/\n.verifying\n").expect("ignore");
    commit_all(dir, "add recipe");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_git-ripple"))
        .arg("-C")
        .arg(dir)
        .args(["run", "slow.toml", "--format", "json"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start git-ripple");
    let started = std::time::Instant::now();
    while !dir.join(".verifying").exists() {
        assert!(
            started.elapsed().as_secs() < 60,
            "batch 2 never started verifying"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signalling the child we spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "the interrupted exit code");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["outcome"], "interrupted");
    assert_eq!(report["batches"][0]["status"], "committed");
    assert_eq!(report["batches"][1]["status"], "interrupted");
    assert_eq!(report["batches"][2]["status"], "not_run");
    assert_eq!(commits_between(dir, "main", "ripple/slow").len(), 1);
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "batch 2 was rolled back: the tree is batch 1's commit"
    );
}

#[test]
fn go_generic_function_rename_keeps_a_forwarder_while_callers_move() {
    let repo = crate::common::empty_repo();
    let dir = repo.path();
    git(dir, &["config", "user.name", "Ripple User"]);
    git(dir, &["config", "user.email", "user@ripple.invalid"]);
    let files = [
        ("go.mod", "module example.com/gen\n\ngo 1.22\n"),
        (
            "util/util.go",
            "// Package util has helpers.\npackage util\n\n// Map applies f to every element.\nfunc Map[T any, U any](xs []T, f func(T) U) []U {\n\tout := make([]U, 0, len(xs))\n\tfor _, x := range xs {\n\t\tout = append(out, f(x))\n\t}\n\treturn out\n}\n\n// Box holds a value.\ntype Box struct{ V int }\n\n// Add adds n to the box, variadically.\nfunc (b *Box) Add(n int, more ...int) int {\n\tb.V += n\n\tfor _, m := range more {\n\t\tb.V += m\n\t}\n\treturn b.V\n}\n",
        ),
        (
            "a/a.go",
            "package a\n\nimport \"example.com/gen/util\"\n\n// Doubled doubles.\nfunc Doubled(xs []int) []int { return util.Map(xs, func(x int) int { return 2 * x }) }\n",
        ),
        (
            "b/b.go",
            "package b\n\nimport (\n\t\"strconv\"\n\n\t\"example.com/gen/util\"\n)\n\n// Strings formats.\nfunc Strings(xs []int) []string { return util.Map(xs, strconv.Itoa) }\n",
        ),
    ];
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dir");
        std::fs::write(p, text).expect("write");
    }
    add_recipe(
        dir,
        "rename.toml",
        r#"name = "rename-map"
[[step]]
kind = "rename"
symbol = "example.com/gen/util.Map"
to = "Transform"
[batch]
max_files = 1
[verify]
commands = ["go build ./...", "go vet ./..."]
"#,
    );
    commit_all(dir, "generic module");
    run_ok(dir, &["run", "rename.toml"]);
    let commits = commits_between(dir, "main", "ripple/rename-map");
    assert_eq!(commits.len(), 4, "expand, two callers, contract");
    let expand = git(dir, &["show", &commits[0], "--", "util/util.go"]);
    assert!(
        expand.contains(
            "+func Map[T any, U any](xs []T, f func(T) U) []U { return Transform[T, U](xs, f) }"
        ),
        "{expand}"
    );
    let util = std::fs::read_to_string(dir.join("util/util.go")).expect("read");
    assert!(
        !util.contains("func Map"),
        "the forwarder is gone at the end: {util}"
    );
    gofmt_clean(dir);
    assert_each_commit_passes(dir, &commits, &[GO_BUILD, GO_VET], "ripple/rename-map");
}

#[test]
fn python_rewrite_adds_and_removes_imports() {
    let repo = crate::common::empty_repo();
    let dir = repo.path();
    git(dir, &["config", "user.name", "Ripple User"]);
    git(dir, &["config", "user.email", "user@ripple.invalid"]);
    std::fs::create_dir_all(dir.join("app")).expect("dir");
    std::fs::write(dir.join("app/__init__.py"), "").expect("write");
    std::fs::write(
        dir.join("app/timing.py"),
        "\"\"\"Timing helpers.\"\"\"\nimport time\nfrom os import sep\n\n\ndef elapsed(start):\n    return time.time() - start\n\n\ndef joined(a, b):\n    return a + sep + b\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("test_timing.py"),
        "from app.timing import elapsed, joined\n\n\ndef test_elapsed():\n    assert elapsed(0) > 0\n\n\ndef test_joined():\n    assert joined('a', 'b') == 'a/b'\n",
    )
    .expect("write");
    add_recipe(
        dir,
        "monotonic.toml",
        r#"name = "monotonic"
[[step]]
kind = "rewrite"
language = "python"
query = '''((call function: (attribute object: (identifier) @m attribute: (identifier) @f) arguments: (argument_list) @args) @match (#eq? @m "time") (#eq? @f "time") (#eq? @args "()"))'''
template = "monotonic()"
imports = ["from time import monotonic"]
[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#,
    );
    commit_all(dir, "timing module");
    run_ok(dir, &["run", "monotonic.toml"]);
    let timing = std::fs::read_to_string(dir.join("app/timing.py")).expect("read");
    assert_eq!(
        timing,
        "\"\"\"Timing helpers.\"\"\"\nfrom os import sep\nfrom time import monotonic\n\n\ndef elapsed(start):\n    return monotonic() - start\n\n\ndef joined(a, b):\n    return a + sep + b\n"
    );
}
