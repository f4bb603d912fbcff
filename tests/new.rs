//! `git ripple new`: recipes written from one line, with verify commands detected from the
//! repository, that `plan` accepts and `run` carries out; typos and missing input said so.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{commits_between, fixture_repo, git, ripple, ripple_ok};

fn recipe_text(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!(".ripple/recipes/{name}.toml"))).expect("recipe")
}

#[test]
fn a_python_rename_recipe_from_one_line_plans_and_runs_green() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let said = ripple_ok(
        dir,
        &[
            "new",
            "rename",
            "shopcore.db.queries.fetch_order",
            "load_order",
        ],
    );
    assert!(
        said.contains("wrote .ripple/recipes/rename-fetch-order-to-load-order.toml"),
        "{said}"
    );
    assert!(said.contains("plan: 11 files in 5 batches"), "{said}");
    assert!(
        said.contains("git ripple run rename-fetch-order-to-load-order"),
        "{said}"
    );
    let text = recipe_text(dir, "rename-fetch-order-to-load-order");
    insta::assert_snapshot!("new_python_rename_recipe", text);
    assert!(text.contains("\"python -m pytest -q {tests}\""), "{text}");

    ripple_ok(dir, &["plan", "rename-fetch-order-to-load-order"]);
    ripple_ok(dir, &["run", "rename-fetch-order-to-load-order"]);
    let commits = commits_between(dir, "main", "ripple/rename-fetch-order-to-load-order");
    assert_eq!(commits.len(), 5);
    let last = git(dir, &["log", "-1", "--format=%B", &commits[4]]);
    assert!(
        last.contains("Ripple-Verified: python -m pytest -q"),
        "{last}"
    );
}

#[test]
fn a_go_rename_recipe_gets_go_build_vet_and_test() {
    let repo = fixture_repo("go/shop");
    let dir = repo.path();
    ripple_ok(
        dir,
        &[
            "new",
            "rename",
            "example.com/shop/internal/store.FetchOrder",
            "LoadOrder",
            "--name",
            "load-order",
        ],
    );
    let text = recipe_text(dir, "load-order");
    for command in [
        "\"go build ./...\"",
        "\"go vet {packages}\"",
        "\"go test {packages}\"",
    ] {
        assert!(text.contains(command), "{command} missing:\n{text}");
    }
    ripple_ok(dir, &["run", "load-order"]);
    assert!(!commits_between(dir, "main", "ripple/load-order").is_empty());
}

#[test]
fn a_typo_gets_the_closest_symbols_and_nothing_is_written() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let out = ripple(
        dir,
        &[
            "new",
            "rename",
            "shopcore.db.queries.fetch_ordr",
            "load_order",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shopcore.db.queries.fetch_order") && err.contains("closest"),
        "{err}"
    );
    assert!(!dir.join(".ripple/recipes").exists());
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
}

#[test]
fn missing_input_and_existing_recipes_are_said_so() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let out = ripple(dir, &["new", "rename", "shopcore.db.queries.fetch_order"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing new name") && err.contains("(on a terminal, git ripple new"),
        "{err}"
    );
    let args = [
        "new",
        "rename",
        "shopcore.db.queries.fetch_order",
        "load_order",
        "--name",
        "mine",
    ];
    ripple_ok(dir, &args);
    let out = ripple(dir, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(".ripple/recipes/mine.toml exists already")
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    ripple_ok(dir, &forced);
}

#[test]
fn on_a_terminal_what_is_missing_is_asked() {
    // `script` gives the command a terminal; the answers come through it.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give the command a terminal");
        return;
    }
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let command = format!(
        "{} -C {} new --name asked",
        env!("CARGO_BIN_EXE_git-ripple"),
        dir.display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    {
        use std::io::Write as _;
        let stdin = child.stdin.as_mut().expect("stdin");
        stdin
            .write_all(b"rename\nshopcore.db.queries.fetch_order\nload_order\n")
            .expect("answers");
    }
    let out = child.wait_with_output().expect("wait");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("symbol ID"), "{shown}");
    assert!(shown.contains("new name"), "{shown}");
    let text = recipe_text(dir, "asked");
    assert!(
        text.contains("symbol = \"shopcore.db.queries.fetch_order\""),
        "{text}"
    );
    assert!(text.contains("to = \"load_order\""), "{text}");
}
