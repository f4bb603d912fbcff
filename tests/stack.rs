//! `git ripple stack`: a branch per batch, each on the previous, pull-request bodies, pushes
//! into a real (bare) remote, idempotence, refusal of moved branches, and growth after resume.

use std::path::Path;

use crate::cases::run_case;
use crate::common::{fixture_repo, git, ripple, ripple_ok};
use crate::report::scrub;

fn branches(dir: &Path, pattern: &str) -> Vec<String> {
    git(
        dir,
        &["branch", "--list", pattern, "--format=%(refname:short)"],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn a_run_becomes_a_stack_of_branches_with_bodies_pushed_to_a_remote() {
    let ran = run_case("python-rename-fetch-order");
    let dir = ran.repo.path();
    std::fs::create_dir_all(dir.join(".github")).unwrap();
    std::fs::write(
        dir.join(".github/CODEOWNERS"),
        "* @shop/maintainers\n/src/shopcore/api/ @shop/api\n/tests/\n",
    )
    .unwrap();

    let text = ripple_ok(dir, &["stack"]);
    insta::assert_snapshot!("python_rename_stack_text", scrub(&text));
    let stack = branches(dir, "ripple/rename-fetch-order-*");
    assert_eq!(
        stack,
        [
            "ripple/rename-fetch-order-01-expand-db",
            "ripple/rename-fetch-order-02-migrate",
            "ripple/rename-fetch-order-03-migrate-shopcore",
            "ripple/rename-fetch-order-04-migrate-services",
            "ripple/rename-fetch-order-05-contract-db",
        ]
    );
    // Each branch is its batch's commit, on the branch before it; the top is the run's tip.
    for (i, branch) in stack.iter().enumerate() {
        assert_eq!(git(dir, &["rev-parse", branch]).trim(), ran.commits[i]);
        let base = if i == 0 { "main" } else { &stack[i - 1] };
        assert_eq!(
            git(dir, &["rev-parse", &format!("{branch}~1")]),
            git(dir, &["rev-parse", base])
        );
    }
    assert_eq!(
        git(dir, &["rev-parse", &stack[4]]),
        git(dir, &["rev-parse", &ran.branch])
    );

    let report = crate::common::Ripple::new(dir)
        .args(&["report", "--format", "json"])
        .json();
    let id = report["run_id"].as_str().unwrap();
    let body =
        std::fs::read_to_string(dir.join(format!(".git/ripple/runs/{id}/pr/02.md"))).unwrap();
    insta::assert_snapshot!("python_rename_stack_body_02", scrub(&body));
    assert!(
        body.contains(
            "**Owners** (CODEOWNERS): @shop/api @shop/maintainers; 1 file without an owner"
        ),
        "{body}"
    );

    // Pushed into a real remote: every branch where it is here.
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        dir,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    let again = ripple_ok(dir, &["stack", "--push", "origin"]);
    assert!(again.contains("(0 new, 5 already there)"), "{again}");
    assert!(again.contains("pushed to origin"), "{again}");
    let listed = git(
        remote.path(),
        &["for-each-ref", "--format=%(refname:short) %(objectname)"],
    );
    for (i, branch) in stack.iter().enumerate() {
        assert!(
            listed.contains(&format!("{branch} {}", ran.commits[i])),
            "{branch} missing in:\n{listed}"
        );
    }

    // A stack branch someone moved is refused, not moved back; nothing else is made.
    git(dir, &["branch", "-f", &stack[2], &stack[0]]);
    git(dir, &["branch", "-D", &stack[4]]);
    let out = ripple(dir, &["stack"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no longer where git-ripple left it") && err.contains(&stack[2]),
        "{err}"
    );
    assert_eq!(
        git(dir, &["rev-parse", &stack[2]]),
        git(dir, &["rev-parse", &stack[0]])
    );
    assert_eq!(branches(dir, "ripple/rename-fetch-order-*").len(), 4);
}

#[test]
fn a_stack_grows_when_a_resumed_run_adds_batches() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    ripple_ok(dir, &["run", "rename-fetch-order", "--max-batches", "2"]);
    let first = ripple_ok(dir, &["stack"]);
    assert!(first.contains("stack of 2 branches"), "{first}");
    assert!(first.contains("the run is not finished"), "{first}");
    ripple_ok(dir, &["resume"]);
    let second = ripple_ok(dir, &["stack", "rename-fetch-order"]);
    assert!(second.contains("(3 new, 2 already there)"), "{second}");
    assert!(!second.contains("not finished"), "{second}");
    assert_eq!(branches(dir, "ripple/rename-fetch-order-*").len(), 5);
    // The printed commands open the pull requests bottom first, each on the one before.
    let commands: Vec<&str> = second
        .lines()
        .filter(|l| l.starts_with("gh pr create"))
        .collect();
    assert_eq!(commands.len(), 5);
    assert!(
        commands[0].starts_with(
            "gh pr create --base 'main' --head 'ripple/rename-fetch-order-01-expand-db'"
        )
    );
    assert!(commands[1].starts_with(
        "gh pr create --base 'ripple/rename-fetch-order-01-expand-db' --head 'ripple/rename-fetch-order-02-migrate'"
    ));
}

#[test]
fn nothing_to_stack_is_said_so() {
    let repo = fixture_repo("python/shop");
    let out = ripple(repo.path(), &["stack"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no run to make a stack of"));
}
