//! `git ripple run` end to end on the fixtures: what a run promises beyond the transform cases
//! (`tests/cases/`, compared whole): trailers and identity, failures roll back exactly, dirty
//! trees are refused, dry runs change nothing, interrupts leave nothing half-applied.

use std::path::Path;

use crate::cases::{prepare, run_case};
use crate::common::{
    Ripple, commit_all, commits_between, fixture_repo, git, repo_at, repo_with_files, ripple,
    ripple_ok,
};

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
    let ran = run_case("python-rename-fetch-order");
    let dir = ran.repo.path();
    assert_eq!(ran.branch, "ripple/rename-fetch-order");
    assert_eq!(ran.report["commits"].as_array().map(Vec::len), Some(5));
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
    let ran = run_case("go-rename-fetch-order");
    // The expand commit keeps the old name as an alias; the last one removes it.
    let first = git(
        ran.repo.path(),
        &["show", &ran.commits[0], "--", "internal/store/store.go"],
    );
    for line in [
        "+// Deprecated: use LoadOrder instead.",
        "+//go:fix inline",
        "+func FetchOrder(id string) (models.Order, error) { return LoadOrder(id) }",
    ] {
        assert!(first.contains(line), "missing {line:?} in\n{first}");
    }
}

#[test]
fn go_ioutil_rewrite_fixes_imports() {
    let ran = run_case("go-ioutil");
    let dir = ran.repo.path();
    let left = crate::common::git_command(dir)
        .args(["grep", "-n", "ioutil", "--", "*.go"])
        .output()
        .expect("git grep");
    assert!(
        !left.status.success(),
        "no ioutil left:\n{}",
        String::from_utf8_lossy(&left.stdout)
    );
    gofmt_clean(dir);
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
    let out = ripple_ok(dir, &["run", "rename-go-fetch-order", "--dry-run"]);
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
        out.contains("-func FetchOrder(id string) (models.Order, error) { return LoadOrder(id) }"),
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
    // The case adds cmd/shopd/render.go: a literal in another package that sets the embedded
    // field by name.
    let case = prepare("go-rename-order-type");
    let plan = Ripple::new(case.repo.path())
        .args(&["plan", &case.recipe, "--format", "json"])
        .json();
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
    let ran = case.run();
    assert!(ran.commits.len() > 2, "expand, migrate, contract");
    gofmt_clean(ran.repo.path());
}

#[test]
fn later_steps_are_planned_on_what_earlier_steps_leave() {
    // Step 2 renames a symbol that only exists once step 1 has run.
    let case = prepare("python-two-steps");
    let dir = case.repo.path();
    let plan = Ripple::new(dir)
        .args(&["plan", &case.recipe, "--format", "json"])
        .json();
    assert_eq!(plan["steps"][1]["batches"][0]["index"], 2);
    assert_eq!(plan["steps"][1]["batches"][0]["level"], 1, "after step 1");
    let before = repo_state(dir);
    let dry = ripple_ok(dir, &["run", &case.recipe, "--dry-run"]);
    assert!(
        dry.contains("+def get_order(order_id: int) -> Order:"),
        "{dry}"
    );
    assert_eq!(repo_state(dir), before);
    case.run();
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
    ripple_ok(dir, &["run", "rename-fetch-order"]);
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
    let child = Ripple::new(dir)
        .args(&["run", "slow.toml", "--format", "json"])
        .command()
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
    let ran = run_case("go-generic-forwarder");
    let dir = ran.repo.path();
    let expand = git(dir, &["show", &ran.commits[0], "--", "util/util.go"]);
    assert!(
        expand.contains(
            "+func Map[T any, U any](xs []T, f func(T) U) []U { return Transform[T, U](xs, f) }"
        ),
        "{expand}"
    );
    gofmt_clean(dir);
}

#[test]
fn verification_never_runs_stale_bytecode() {
    // Python trusts a `.pyc` whose recorded source mtime (whole seconds) and size match the
    // source. Two same-size renames of one module, each verified by a compile that lands in the
    // same second, are exactly that case: the verify command pins the mtime to make the second
    // deterministic. Without removing the bytecode of edited modules, the final import would run
    // the first rename's code and miss `ccc`.
    let repo = repo_with_files(&[
        ("pkg/__init__.py", ""),
        ("pkg/m.py", "def aaa():\n    return 1\n"),
        (
            "twice.toml",
            r#"name = "twice"

[[step]]
kind = "rename"
symbol = "pkg.m.aaa"
to = "bbb"
compat = "none"

[[step]]
kind = "rename"
symbol = "pkg.m.bbb"
to = "ccc"
compat = "none"

[verify]
commands = ["touch -d @1700000000 pkg/m.py && python3 -m compileall -q pkg && python3 -c 'import pkg.m'"]
final = ["python3 -c 'from pkg.m import ccc; assert ccc() == 1'"]
"#,
        ),
    ]);
    let dir = repo.path();
    let out = Ripple::new(dir)
        .args(&["run", "twice.toml", "--format", "json"])
        .output();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["outcome"], "success", "{report:#}");
    assert_eq!(report["commits"].as_array().map(Vec::len), Some(2));
}

/// The shop with a test that fails before any change (and `extra` test files), committed.
fn shop_with_a_broken_test(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let broken = [(
        "tests/test_broken.py",
        "def test_already_broken():\n    assert 1 == 2\n",
    )];
    for (path, text) in broken.iter().chain(extra) {
        std::fs::write(dir.join(path), text).expect("test file");
    }
    commit_all(dir, "a test that fails before any change");
    repo
}

#[test]
fn a_red_baseline_stops_the_run_before_any_change() {
    let repo = shop_with_a_broken_test(&[]);
    let dir = repo.path();
    let before = repo_state(dir);
    let out = ripple(dir, &["run", "rename-fetch-order"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Stopped before any change"), "{text}");
    assert!(
        text.contains("baseline  python -m pytest -q: exit 1: 1 failed, 22 passed"),
        "{text}"
    );
    assert!(text.contains("test_already_broken"), "the output: {text}");
    assert_eq!(repo_state(dir), before, "no branch, no change");

    // Allowed: each batch is judged by "no new failures" against the baseline.
    let report = Ripple::new(dir)
        .args(&[
            "run",
            "rename-fetch-order",
            "--allow-red-baseline",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    assert_eq!(report["baseline"]["allowed_red"], true);
    assert_eq!(
        report["baseline"]["commands"][0]["failing_tests"][0],
        "tests/test_broken.py::test_already_broken"
    );
    let notes = report["batches"][0]["notes"].to_string();
    assert!(notes.contains("no new failures"), "{notes}");
    assert_eq!(report["commits"].as_array().map(Vec::len), Some(5));
}

#[test]
fn a_batch_that_breaks_a_test_is_not_excused_by_a_red_baseline() {
    // A test that fails once the new name exists: the batch's own failure.
    let repo = shop_with_a_broken_test(&[(
        "tests/test_names.py",
        "import shopcore.db.queries as q\n\ndef test_no_new_name():\n    assert not hasattr(q, 'load_order')\n",
    )]);
    let dir = repo.path();
    let out = Ripple::new(dir)
        .args(&[
            "run",
            "rename-fetch-order",
            "--allow-red-baseline",
            "--format",
            "json",
        ])
        .output();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["outcome"], "verification_failed");
    assert_eq!(report["batches"][0]["failure_cause"], "batch", "{report:#}");
}

#[test]
fn a_flaky_command_is_told_apart_from_a_broken_batch() {
    let marks = tempfile::TempDir::new().expect("temp");
    let mark = marks.path().join("mark");
    let count = marks.path().join("count");
    // Passes once (the baseline), then never again, whatever the tree: not the batch's doing.
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "once.toml",
        r#"name = "once"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"
[verify]
commands = ["[ ! -e \"$FLAKY_MARK\" ] && touch \"$FLAKY_MARK\""]
"#,
    );
    commit_all(dir, "recipe");
    let out = Ripple::new(dir)
        .args(&["run", "once.toml", "--format", "json"])
        .env("FLAKY_MARK", &mark.display().to_string())
        .output();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["outcome"], "verification_failed");
    let batch = &report["batches"][0];
    assert_eq!(batch["failure_cause"], "pre_existing", "{report:#}");
    assert!(
        batch["notes"].to_string().contains("parent tree too"),
        "{batch:#}"
    );
    assert_eq!(git(dir, &["status", "--porcelain"]), "", "rolled back");

    // Fails every other time: `retries = 1` lets each batch through, and says so.
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "flaky.toml",
        r#"name = "flaky"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "load_order"
[verify]
commands = ["n=$(cat \"$FLAKY_COUNT\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$FLAKY_COUNT\"; [ $((n % 2)) -eq 0 ]"]
retries = 1
"#,
    );
    commit_all(dir, "recipe");
    let report = Ripple::new(dir)
        .args(&["run", "flaky.toml", "--format", "json"])
        .env("FLAKY_COUNT", &count.display().to_string())
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let notes = report["batches"][0]["notes"].to_string();
    assert!(notes.contains("passed on retry 1: flaky"), "{notes}");
}

#[test]
fn python_files_stay_clean_under_the_formatters_the_project_configures() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let mut pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).expect("pyproject");
    pyproject.push_str(
        "\n[tool.black]\nline-length = 88\n\n[tool.ruff.lint]\nselect = [\"I\"]\n\n[tool.ruff.lint.isort]\nknown-first-party = [\"shopcore\", \"shoputil\"]\n",
    );
    std::fs::write(dir.join("pyproject.toml"), pyproject).expect("pyproject");
    // The project is kept clean: formatted and sorted before the run.
    for cmd in [
        &["black", "-q", "."][..],
        &["ruff", "check", "-q", "--fix", "."][..],
    ] {
        let out = std::process::Command::new(cmd[0])
            .args(&cmd[1..])
            .current_dir(dir)
            .output()
            .expect("formatter (installed by scripts/test)");
        assert!(out.status.success(), "{cmd:?}: {out:?}");
    }
    commit_all(dir, "formatted");
    // A longer name that sorts elsewhere: imports go out of order and calls grow past the limit
    // unless the batch is formatted again.
    add_recipe(
        dir,
        "long.toml",
        r#"name = "long"
[[step]]
kind = "rename"
symbol = "shopcore.db.queries.fetch_order"
to = "order_from_the_primary_database_by_identifier"
[batch]
max_files = 5
[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#,
    );
    commit_all(dir, "recipe");
    let report = Ripple::new(dir)
        .args(&["run", "long.toml", "--format", "json"])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let commits = commits_between(dir, "main", "ripple/long");
    assert!(commits.len() >= 3, "{commits:?}");
    crate::common::assert_each_commit_passes(
        dir,
        &commits,
        &[
            &["black", "--check", "-q", "."],
            &["ruff", "check", "-q", "."],
        ],
        "ripple/long",
    );
}

/// Go's minor version (`go1.26.8` → 26), if `go` runs.
fn go_minor() -> Option<u32> {
    let out = std::process::Command::new("go")
        .arg("version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let version = text
        .split_whitespace()
        .nth(2)?
        .strip_prefix("go1.")?
        .to_string();
    version.split('.').next()?.parse().ok()
}

#[test]
fn go_fix_moves_callers_in_other_modules_to_the_new_name() {
    if go_minor().is_none_or(|m| m < 26) {
        eprintln!("skipped: `go fix` inlines //go:fix directives from Go 1.26 on");
        return;
    }
    // parent/app is the repository; parent/use another module that calls it.
    let parent = tempfile::TempDir::new().expect("temp");
    let app = parent.path().join("app");
    repo_at(
        &app,
        &[
            ("go.mod", "module example.com/app\n\ngo 1.22\n"),
            (
                "calc/calc.go",
                "package calc\n\n// Limit is the largest factor.\nconst Limit = 4\n\n// Quad multiplies by four.\nfunc Quad(n int) int { return n * Limit }\n",
            ),
            (
                "calc/calc_test.go",
                "package calc\n\nimport \"testing\"\n\nfunc TestQuad(t *testing.T) {\n\tif Quad(2) != 8 {\n\t\tt.Fatal(Quad(2))\n\t}\n}\n",
            ),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/calc\"\n)\n\nfunc main() { fmt.Println(calc.Quad(1)) }\n",
            ),
            (
                "quad.toml",
                "name = \"quad\"\n\n[[step]]\nkind = \"rename\"\nsymbol = \"example.com/app/calc.Quad\"\nto = \"Times4\"\n\n[batch]\nmax_files = 1\n\n[verify]\ncommands = [\"go build ./...\", \"go vet ./...\"]\n",
            ),
        ],
    );
    let write = |path: &Path, text: &str| {
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        std::fs::write(path, text).expect("write");
    };
    let user = parent.path().join("use");
    write(
        &user.join("go.mod"),
        "module example.com/use\n\ngo 1.22\n\nrequire example.com/app v0.0.0\n\nreplace example.com/app => ../app\n",
    );
    write(
        &user.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/calc\"\n)\n\nfunc main() { fmt.Println(calc.Quad(3)) }\n",
    );
    Ripple::new(&app).args(&["run", "quad.toml", "-q"]).ok();
    let commits = commits_between(&app, "main", "ripple/quad");
    assert!(commits.len() >= 2, "expand, then the rest: {commits:?}");
    // While the old name is kept (the expand commit), go fix moves the other module's callers.
    git(&app, &["checkout", "-q", "--detach", &commits[0]]);
    let shim = std::fs::read_to_string(app.join("calc/calc.go")).expect("calc.go");
    assert!(
        shim.contains("//go:fix inline\nfunc Quad(n int) int { return Times4(n) }"),
        "{shim}"
    );
    let fix = std::process::Command::new("go")
        .args(["fix", "./..."])
        .current_dir(&user)
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("go fix");
    assert!(fix.status.success(), "{fix:?}");
    let fixed = std::fs::read_to_string(user.join("main.go")).expect("main.go");
    assert!(fixed.contains("calc.Times4(3)"), "{fixed}");
    assert!(!fixed.contains("calc.Quad("), "{fixed}");
    // And it builds against the finished rename, where the old name is gone.
    git(&app, &["checkout", "-q", "ripple/quad"]);
    let build = std::process::Command::new("go")
        .args(["build", "./..."])
        .current_dir(&user)
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("go build");
    assert!(build.status.success(), "{build:?}");
    drop(parent);
}

/// The shop renamed with `extra` in the rename step and `verify` as its command.
fn shop_rename(extra: &str, verify: &str) -> (tempfile::TempDir, serde_json::Value) {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "kept.toml",
        &format!(
            "name = \"kept\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n{extra}\n[batch]\nmax_files = 5\n[verify]\ncommands = [{verify:?}]\n"
        ),
    );
    commit_all(dir, "recipe");
    let report = Ripple::new(dir)
        .args(&["run", "kept.toml", "--format", "json"])
        .json();
    (repo, report)
}

/// `python3 ARGS` at `dir` with the shop's source roots.
fn python(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("python3")
        .args(args)
        .current_dir(dir)
        .env("PYTHONPATH", "src:libs")
        .output()
        .expect("python3")
}

/// `python -W error::DeprecationWarning -c CODE` at `dir` with the shop's source roots.
fn python_strict(dir: &Path, code: &str) -> std::process::Output {
    python(dir, &["-W", "error::DeprecationWarning", "-c", code])
}

#[test]
fn by_default_a_suite_run_with_warnings_as_errors_stays_green_at_every_commit() {
    // Every batch is verified with DeprecationWarning as an error: the plain alias of the
    // migrate commits never warns.
    let (_repo, report) = shop_rename("", "python -W error::DeprecationWarning -m pytest -q");
    assert_eq!(report["outcome"], "success", "{report:#}");
    assert_eq!(report["commits"].as_array().map(Vec::len), Some(5));
}

#[test]
fn keep_compat_keeps_the_old_name_after_the_run_and_warn_makes_it_warn() {
    let (repo, report) = shop_rename("keep_compat = true", "python -m pytest -q");
    assert_eq!(report["outcome"], "success", "{report:#}");
    let phases: Vec<String> = report["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["phase"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(!phases.contains(&"contract".to_string()), "{phases:?}");
    let dir = repo.path();
    let queries = std::fs::read_to_string(dir.join("src/shopcore/db/queries.py")).expect("read");
    assert!(queries.contains("fetch_order = load_order"), "{queries}");
    let kept = python_strict(
        dir,
        "from shopcore.db import fetch_order, load_order; assert fetch_order is load_order",
    );
    assert!(kept.status.success(), "{kept:?}");

    let (repo, report) = shop_rename(
        "compat = \"warn\"\nkeep_compat = true",
        "python -W error::DeprecationWarning -m pytest -q",
    );
    assert_eq!(report["outcome"], "success", "{report:#}");
    let last = report["batches"]
        .as_array()
        .and_then(|b| b.last())
        .expect("a batch");
    assert_eq!(last["phase"], "warn", "{report:#}");
    let dir = repo.path();
    // A caller of the kept name fails under warnings-as-errors; the new name does not.
    let old = python_strict(dir, "from shopcore.db import fetch_order; fetch_order(1)");
    assert!(!old.status.success(), "{old:?}");
    assert!(
        String::from_utf8_lossy(&old.stderr)
            .contains("DeprecationWarning: `fetch_order` is deprecated; use `load_order`"),
        "{old:?}"
    );
    let new = python(
        dir,
        &[
            "-W",
            "error::DeprecationWarning",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
    );
    assert!(new.status.success(), "the suite uses the new name: {new:?}");
}

#[test]
fn a_star_import_keeps_working_while_callers_move() {
    let repo = repo_with_files(&[
        ("pkg/__init__.py", ""),
        (
            "pkg/m.py",
            "__all__ = [\"aaa\"]\n\n\ndef aaa():\n    return 1\n",
        ),
        ("pkg/star.py", "from pkg.m import *\n\nVALUE = aaa()\n"),
        ("pkg/named.py", "from pkg.m import aaa\n\nOTHER = aaa()\n"),
        (
            "r.toml",
            "name = \"r\"\n[[step]]\nkind = \"rename\"\nsymbol = \"pkg.m.aaa\"\nto = \"bbb\"\n[batch]\nmax_files = 1\n[verify]\ncommands = [\"python3 -c 'import pkg.star, pkg.named'\"]\n",
        ),
    ]);
    let dir = repo.path();
    let report = Ripple::new(dir)
        .args(&["run", "r.toml", "--format", "json"])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let first = git(dir, &["show", "ripple/r~2:pkg/m.py"]);
    assert!(first.contains("__all__ = [\"bbb\", \"aaa\"]"), "{first}");
    let last = std::fs::read_to_string(dir.join("pkg/m.py")).expect("m");
    assert!(last.contains("__all__ = [\"bbb\"]"), "{last}");
}

#[test]
fn a_trailing_comment_stays_on_the_renamed_definition() {
    let repo = repo_with_files(&[
        ("go.mod", "module example.com/app\n\ngo 1.22\n"),
        (
            "conf/conf.go",
            "package conf\n\n// RetryLimit bounds retries.\nconst RetryLimit = 5 // per request\n",
        ),
        (
            "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/conf\"\n)\n\nfunc main() { fmt.Println(conf.RetryLimit) }\n",
        ),
        (
            "r.toml",
            "name = \"r\"\n[[step]]\nkind = \"rename\"\nsymbol = \"example.com/app/conf.RetryLimit\"\nto = \"MaxRetries\"\n[batch]\nmax_files = 1\n[verify]\ncommands = [\"go build ./...\", \"gofmt -l . | (! grep .)\"]\n",
        ),
    ]);
    let dir = repo.path();
    let report = Ripple::new(dir)
        .args(&["run", "r.toml", "--format", "json"])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let commits = commits_between(dir, "main", "ripple/r");
    let expand = git(dir, &["show", &format!("{}:conf/conf.go", commits[0])]);
    assert!(
        expand.contains("const MaxRetries = 5 // per request\n\n// Deprecated: use MaxRetries instead.\n//\n//go:fix inline\nconst RetryLimit = MaxRetries\n"),
        "{expand}"
    );
    let last = std::fs::read_to_string(dir.join("conf/conf.go")).expect("conf.go");
    assert_eq!(
        last,
        "package conf\n\n// MaxRetries bounds retries.\nconst MaxRetries = 5 // per request\n"
    );
}

#[test]
fn a_kept_class_alias_warns_when_used_and_not_when_its_package_is_imported() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    add_recipe(
        dir,
        "kept.toml",
        "name = \"kept\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.models.Order\"\nto = \"PurchaseOrder\"\ncompat = \"warn\"\nkeep_compat = true\n[batch]\nmax_files = 6\n[verify]\ncommands = [\"python -W error::DeprecationWarning -m pytest -q -p no:cacheprovider\"]\n",
    );
    commit_all(dir, "recipe");
    let report = Ripple::new(dir)
        .args(&["run", "kept.toml", "--format", "json"])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let last = report["batches"]
        .as_array()
        .and_then(|b| b.last())
        .expect("a batch");
    assert_eq!(last["phase"], "warn", "{report:#}");
    // Importing the package and using the new name: no warning.
    let quiet = python_strict(
        dir,
        "import shopcore.models, shopcore\nfrom shopcore.models import PurchaseOrder",
    );
    assert!(quiet.status.success(), "{quiet:?}");
    // The old name, from the module or through a re-export: a DeprecationWarning.
    let old = python_strict(dir, "from shopcore.models import Order");
    assert!(!old.status.success(), "{old:?}");
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("`Order` is deprecated; use `PurchaseOrder`"),
        "{old:?}"
    );
    let relaxed = python(
        dir,
        &[
            "-c",
            "from shopcore.models import Order, PurchaseOrder; assert Order is PurchaseOrder",
        ],
    );
    assert!(relaxed.status.success(), "{relaxed:?}");
}

#[test]
fn go_example_functions_are_renamed_with_what_they_name() {
    let repo = repo_with_files(&[
        ("go.mod", "module example.com/app\n\ngo 1.22\n"),
        (
            "price/price.go",
            "package price\n\nimport \"strconv\"\n\n// ParsePrice reads cents.\nfunc ParsePrice(s string) int {\n\tn, _ := strconv.Atoi(s)\n\treturn n\n}\n\n// Server serves prices.\ntype Server struct{}\n\n// Handle answers one request.\nfunc (Server) Handle(s string) int { return ParsePrice(s) }\n",
        ),
        (
            "price/example_test.go",
            "package price_test\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/price\"\n)\n\nfunc ExampleParsePrice() {\n\tfmt.Println(price.ParsePrice(\"12\"))\n\t// Output: 12\n}\n\nfunc ExampleServer_Handle() {\n\tfmt.Println(price.Server{}.Handle(\"3\"))\n\t// Output: 3\n}\n\nfunc ExampleParsePrice_zero() {\n\tfmt.Println(price.ParsePrice(\"x\"))\n\t// Output: 0\n}\n",
        ),
        (
            "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/price\"\n)\n\nfunc main() { fmt.Println(price.ParsePrice(\"1\"), price.Server{}.Handle(\"2\")) }\n",
        ),
        (
            "r.toml",
            "name = \"r\"\n[[step]]\nkind = \"rename\"\nsymbol = \"example.com/app/price.ParsePrice\"\nto = \"Parse\"\n\n[[step]]\nkind = \"rename\"\nsymbol = \"example.com/app/price.Server\"\nto = \"Service\"\n\n[batch]\nmax_files = 1\n[verify]\ncommands = [\"go build ./...\", \"go vet ./...\", \"go test ./...\"]\n",
        ),
    ]);
    let dir = repo.path();
    let refs = crate::common::symbol_references(dir, "example.com/app/price.ParsePrice");
    assert!(
        refs.iter()
            .filter(|r| r.starts_with("price/example_test.go"))
            .count()
            >= 4,
        "the examples' names and calls: {refs:?}"
    );
    let report = Ripple::new(dir)
        .args(&["run", "r.toml", "--format", "json"])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let examples = std::fs::read_to_string(dir.join("price/example_test.go")).expect("read");
    // (A method's example, `ExampleT_M`, follows a method rename the same way; renaming a method
    // called through values waits for type-aware references.)
    for name in [
        "func ExampleParse()",
        "func ExampleService_Handle()",
        "func ExampleParse_zero()",
    ] {
        assert!(examples.contains(name), "{name} in\n{examples}");
    }
    // go vet (run at every batch) checks example names; the last commit passes it too.
    let vet = std::process::Command::new("go")
        .args(["vet", "./..."])
        .current_dir(dir)
        .output()
        .expect("go vet");
    assert!(vet.status.success(), "{vet:?}");
}

#[test]
fn tests_named_after_the_symbol_are_renamed_only_when_asked() {
    let (repo, report) = shop_rename(
        "rename_tests = true",
        "python -m pytest -q -p no:cacheprovider",
    );
    assert_eq!(report["outcome"], "success", "{report:#}");
    let tests = std::fs::read_to_string(repo.path().join("tests/test_queries.py")).expect("read");
    assert!(
        tests.contains("def test_load_order_returns_saved_order("),
        "{tests}"
    );
    assert!(
        tests.contains("def test_load_order_unknown_id_raises("),
        "{tests}"
    );
    assert!(!tests.contains("test_fetch_order"), "{tests}");

    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    let recipe = crate::common::fixtures()
        .join("../recipes/rename-go-fetch-order.toml")
        .canonicalize()
        .expect("bundled recipe");
    let text = std::fs::read_to_string(recipe).expect("read");
    let text = text.replacen(
        "to = \"LoadOrder\"",
        "to = \"LoadOrder\"\nrename_tests = true",
        1,
    );
    assert!(text.contains("rename_tests = true"), "{text}");
    add_recipe(
        dir,
        "go-tests.toml",
        &text.replace("name = \"rename-go-fetch-order\"", "name = \"go-tests\""),
    );
    commit_all(dir, "recipe");
    let report = Ripple::new(dir)
        .args(&["run", "go-tests.toml", "--format", "json"])
        .json();
    assert_eq!(report["outcome"], "success", "{report:#}");
    let tests = std::fs::read_to_string(dir.join("internal/store/fetch_test.go")).expect("read");
    assert!(
        tests.contains("func TestLoadOrder(t *testing.T)"),
        "{tests}"
    );
    assert!(
        tests.contains("func TestLoadOrderMissing(t *testing.T)"),
        "{tests}"
    );
}
