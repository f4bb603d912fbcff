//! Runs that survive: killed with SIGKILL at every stage of a batch and resumed, they end with
//! the same commits as an uninterrupted run; abort puts everything back; status and log report.

use std::path::Path;

use crate::common::{
    Ripple, assert_matches_schema, assert_ok, commit_all, commits_between, fixture_repo, git,
    ripple, ripple_ok,
};

/// Durations (`0.11s`) blanked: the one thing in a commit message that depends on the clock.
fn blank_durations(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number =
            chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts_number {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            if j < chars.len()
                && chars[j] == 's'
                && chars.get(j + 1).is_none_or(|c| !c.is_alphanumeric())
            {
                out.push_str("Ts");
                i = j + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The run's commits as (tree, message): what must not depend on interruptions.
fn commit_contents(dir: &Path, branch: &str) -> Vec<(String, String)> {
    commits_between(dir, "main", branch)
        .iter()
        .map(|c| {
            let tree = git(dir, &["rev-parse", &format!("{c}^{{tree}}")]);
            let message = git(dir, &["log", "-1", "--format=%B", c]);
            (tree.trim().to_string(), blank_durations(&message))
        })
        .collect()
}

/// A diagnostic as one line (miette wraps long messages to the terminal's width).
fn one_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn ripple_with_failpoint(dir: &Path, failpoint: &str, args: &[&str]) -> std::process::Output {
    Ripple::new(dir)
        .env("RIPPLE_FAILPOINT", failpoint)
        .args(args)
        .output()
}

#[test]
fn killed_anywhere_then_resumed_gives_the_same_commits() {
    let reference = fixture_repo("python/shop");
    assert_ok(&ripple(reference.path(), &["run", "rename-fetch-order"]));
    let expected = commit_contents(reference.path(), "ripple/rename-fetch-order");
    assert_eq!(expected.len(), 5);

    for point in ["transformed:2", "applied:2", "verified:3", "committed:3"] {
        let repo = fixture_repo("python/shop");
        let dir = repo.path();
        let main_before = git(dir, &["rev-parse", "main"]);
        let killed = ripple_with_failpoint(dir, point, &["run", "rename-fetch-order"]);
        assert_eq!(killed.status.code(), None, "{point}: killed by a signal");
        let status = ripple(dir, &["status", "--format", "json"]);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status");
        assert_eq!(status["run"]["recipe"], "rename-fetch-order", "{point}");
        assert!(
            status["run"]["left"].as_u64().is_some_and(|n| n >= 2),
            "{point}: {status}"
        );

        let resumed = ripple(dir, &["resume", "--format", "json"]);
        assert_ok(&resumed);
        let report: serde_json::Value = serde_json::from_slice(&resumed.stdout).expect("report");
        assert_eq!(report["outcome"], "success", "{point}");
        assert_eq!(
            commit_contents(dir, "ripple/rename-fetch-order"),
            expected,
            "{point}: same trees and messages as the uninterrupted run"
        );
        assert_eq!(git(dir, &["status", "--porcelain"]), "", "{point}: clean");
        assert_eq!(
            git(dir, &["rev-parse", "main"]),
            main_before,
            "{point}: main untouched"
        );
        git(dir, &["fsck", "--no-progress"]);
        let after: serde_json::Value =
            serde_json::from_slice(&ripple(dir, &["status", "--format", "json"]).stdout)
                .expect("status");
        assert_eq!(
            after["run"],
            serde_json::Value::Null,
            "{point}: the run is done"
        );
    }
}

#[test]
fn max_batches_pauses_and_resume_finishes() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    assert_ok(&ripple(
        dir,
        &["run", "rename-fetch-order", "--max-batches", "2"],
    ));
    assert_eq!(
        commits_between(dir, "main", "ripple/rename-fetch-order").len(),
        2
    );
    let status = String::from_utf8_lossy(&ripple(dir, &["status"]).stdout).into_owned();
    assert!(
        status.contains("2 done, 0 failed, 3 left, of 5"),
        "{status}"
    );
    // A second run must not start while this one is unfinished.
    let again = ripple(dir, &["run", "python-utcnow"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        one_line(&again.stderr).contains("is not finished"),
        "{}",
        one_line(&again.stderr)
    );
    assert_ok(&ripple(dir, &["run", "--resume"]));
    assert_eq!(
        commits_between(dir, "main", "ripple/rename-fetch-order").len(),
        5
    );
    let log = String::from_utf8_lossy(&ripple(dir, &["log"]).stdout).into_owned();
    assert_eq!(log.matches("Ripple-Batch: ").count(), 5, "{log}");
    assert!(
        log.contains("Ripple-Verified: python -m pytest -q"),
        "{log}"
    );
}

#[test]
fn abort_restores_the_starting_state_exactly() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let state = |dir: &Path| {
        let mut s = git(dir, &["symbolic-ref", "HEAD"]);
        s.push_str(&git(dir, &["rev-parse", "HEAD", "main"]));
        s.push_str(&git(dir, &["ls-files", "-s"]));
        s.push_str(&git(
            dir,
            &["status", "--porcelain", "--untracked-files=all"],
        ));
        s
    };
    let before = state(dir);
    // Killed with a batch half-applied, then aborted.
    let killed = ripple_with_failpoint(dir, "applied:3", &["run", "rename-fetch-order"]);
    assert_eq!(killed.status.code(), None);
    let out = ripple(dir, &["abort"]);
    assert_ok(&out);
    assert_eq!(
        state(dir),
        before,
        "branch, files and index as before the run"
    );
    assert!(
        git(dir, &["branch", "--list", "ripple/rename-fetch-order"]).contains("ripple/"),
        "the run's branch is kept"
    );
    assert_eq!(
        commits_between(dir, "main", "ripple/rename-fetch-order").len(),
        2
    );
    let status = String::from_utf8_lossy(&ripple(dir, &["status"]).stdout).into_owned();
    assert!(status.contains("No git-ripple run in progress"), "{status}");
    let again = ripple(dir, &["abort"]);
    assert_eq!(again.status.code(), Some(2), "nothing to abort");

    // --delete-branch removes it too.
    git(dir, &["branch", "-D", "ripple/rename-fetch-order"]);
    assert_ok(&ripple(
        dir,
        &["run", "rename-fetch-order", "--max-batches", "1"],
    ));
    assert_ok(&ripple(dir, &["abort", "--delete-branch"]));
    assert_eq!(git(dir, &["branch", "--list", "ripple/*"]), "");
    assert_eq!(state(dir), before);
}

#[test]
fn resume_refuses_a_changed_recipe_or_a_moved_branch() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let recipe = dir.join("rename.toml");
    std::fs::write(
        &recipe,
        "name = \"r\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n[batch]\nmax_files = 5\n",
    )
    .expect("write");
    commit_all(dir, "recipe");
    assert_ok(&ripple(dir, &["run", "rename.toml", "--max-batches", "1"]));

    // The recipe changes (and is committed, so the tree is clean).
    std::fs::write(
        &recipe,
        format!(
            "{}\n# edited\n",
            std::fs::read_to_string(&recipe).expect("read")
        ),
    )
    .expect("write");
    commit_all(dir, "edit the recipe on the run branch");
    let out = ripple(dir, &["resume"]);
    assert_eq!(out.status.code(), Some(2));
    let err = one_line(&out.stderr);
    assert!(err.contains("changed since the run began"), "{err}");

    // Put the recipe back: now the branch has moved (the extra commit).
    git(dir, &["reset", "-q", "--hard", "HEAD~1"]);
    std::fs::write(dir.join("extra.txt"), "x\n").expect("write");
    commit_all(dir, "someone else's commit");
    let out = ripple(dir, &["resume"]);
    assert_eq!(out.status.code(), Some(2));
    let err = one_line(&out.stderr);
    assert!(err.contains("HEAD moved"), "{err}");
    assert_ok(&ripple(dir, &["resume", "--force"]));
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
}

#[test]
fn reports_match_their_documented_schema() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    // A dry run (diffs), a partial run, a failing batch, and a resumed success.
    let dry = ripple(
        dir,
        &["run", "rename-fetch-order", "--dry-run", "--format", "json"],
    );
    assert_ok(&dry);
    assert_matches_schema(&dry.stdout);
    let first = ripple(
        dir,
        &[
            "run",
            "rename-fetch-order",
            "--max-batches",
            "1",
            "--format",
            "json",
        ],
    );
    assert_ok(&first);
    assert_matches_schema(&first.stdout);
    let rest = ripple(dir, &["run", "--resume", "--check", "--format", "json"]);
    assert_ok(&rest);
    assert_matches_schema(&rest.stdout);
    let checked: serde_json::Value = serde_json::from_slice(&rest.stdout).expect("json");
    assert_eq!(checked["check"]["bisect_clean"], true, "{checked:#}");
    let check = ripple(dir, &["check", "--format", "json"]);
    assert_ok(&check);
    let alone: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(alone["total"], checked["check"]["total"]);

    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(
        dir.join("fail.toml"),
        "name = \"fail\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n[verify]\ncommands = [\"false\"]\n",
    )
    .expect("write");
    commit_all(dir, "recipe");
    let red = ripple(dir, &["run", "fail.toml", "--format", "json"]);
    assert_eq!(red.status.code(), Some(1));
    assert_matches_schema(&red.stdout);
    let report: serde_json::Value = serde_json::from_slice(&red.stdout).expect("json");
    assert_eq!(report["outcome"], "baseline_failed");
    // Green on the starting tree, red once a batch writes the new name: caused by the batch.
    std::fs::write(
        dir.join("fail.toml"),
        "name = \"fail\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n[verify]\ncommands = [\"! grep -rq load_order src\"]\n",
    )
    .expect("write");
    commit_all(dir, "recipe");
    let failed = ripple(dir, &["run", "fail.toml", "--format", "json"]);
    assert_eq!(failed.status.code(), Some(1));
    assert_matches_schema(&failed.stdout);
    let report: serde_json::Value = serde_json::from_slice(&failed.stdout).expect("json");
    assert_eq!(report["outcome"], "verification_failed");
    assert_eq!(report["batches"][0]["failure_cause"], "batch", "{report:#}");
}

#[test]
fn one_batch_of_a_level_runs_on_top_of_its_dependencies() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let plan = ripple(dir, &["plan", "rename-fetch-order", "--format", "json"]);
    assert_ok(&plan);
    std::fs::write(dir.join("plan.json"), &plan.stdout).expect("write plan");
    std::fs::write(dir.join(".gitignore"), "__pycache__/\nplan.json\n").expect("ignore");
    commit_all(dir, "ignore the plan");

    // Batch 2 needs batch 1: refused on main.
    let out = ripple(
        dir,
        &[
            "run",
            "rename-fetch-order",
            "--batch",
            "2",
            "--plan",
            "plan.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        one_line(&out.stderr)
            .contains("batch 2 builds on batches 1, which are not applied on HEAD"),
        "{}",
        one_line(&out.stderr)
    );
    // Level 0: batch 1 on its own branch.
    assert_ok(&ripple(
        dir,
        &[
            "run",
            "rename-fetch-order",
            "--batch",
            "1",
            "--plan",
            "plan.json",
        ],
    ));
    assert_eq!(
        git(dir, &["symbolic-ref", "--short", "HEAD"]).trim(),
        "ripple/rename-fetch-order-batch-1"
    );
    assert_eq!(commits_between(dir, "main", "HEAD").len(), 1);
    // Level 1 on top of it, as a CI job would after merging level 0.
    let out = ripple(
        dir,
        &[
            "run",
            "rename-fetch-order",
            "--batch",
            "2",
            "--plan",
            "plan.json",
            "--format",
            "json",
        ],
    );
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["batches"].as_array().map(Vec::len),
        Some(1),
        "reports its one batch"
    );
    assert_eq!(report["batches"][0]["index"], 2);
    let log = git(
        dir,
        &[
            "log",
            "--format=%(trailers:key=Ripple-Batch,valueonly)",
            "-2",
        ],
    );
    assert_eq!(log.split_whitespace().collect::<Vec<_>>(), ["2/5", "1/5"]);
    // The same batch again is refused.
    let again = ripple(
        dir,
        &[
            "run",
            "rename-fetch-order",
            "--batch",
            "2",
            "--plan",
            "plan.json",
            "--branch",
            "x",
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(one_line(&again.stderr).contains("already applied"));
}

#[test]
fn interactive_review_accepts_skips_edits_and_quits() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let mut child = Ripple::new(dir)
        .args(&[
            "run",
            "rename-fetch-order",
            "--interactive",
            "--format",
            "json",
        ])
        .command()
        // An editor that changes nothing: the batch is verified again and asked about again.
        .env("EDITOR", "true")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        // batch 1: accept; batch 2: skip; batch 3: edit, then accept; batch 4: quit.
        stdin.write_all(b"a\ns\ne\na\nq\n").expect("answers");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let statuses: Vec<&str> = report["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        ["committed", "skipped", "committed", "not_run", "not_run"]
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Batch 1/5 passed verification"),
        "prompts on stderr"
    );
    assert_eq!(
        commits_between(dir, "main", "ripple/rename-fetch-order").len(),
        2
    );
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "quit put batch 4 back"
    );
    let status = String::from_utf8_lossy(&ripple(dir, &["status"]).stdout).into_owned();
    assert!(status.contains("status   interrupted"), "{status}");
}

#[test]
fn git_config_sets_the_branch_prefix_and_default_verify_commands() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    git(dir, &["config", "ripple.branchPrefix", "migrations/"]);
    git(dir, &["config", "--add", "ripple.verify", "true"]);
    git(
        dir,
        &[
            "config",
            "--add",
            "ripple.verify",
            "python -m pytest -q -p no:cacheprovider",
        ],
    );
    std::fs::write(
        dir.join("plain.toml"),
        "name = \"plain\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\ncompat = \"none\"\n",
    )
    .expect("write");
    commit_all(dir, "recipe without verify commands");
    assert_ok(&ripple(dir, &["run", "plain.toml", "--ci"]));
    let message = git(dir, &["log", "-1", "--format=%B", "migrations/plain"]);
    assert!(message.contains("Ripple-Verified: true (ok)"), "{message}");
    assert!(
        message.contains("Ripple-Verified: python -m pytest -q -p no:cacheprovider (22 passed"),
        "{message}"
    );
}

#[test]
fn quiet_prints_only_the_report() {
    let repo = fixture_repo("python/shop");
    let out = ripple(repo.path(), &["-q", "run", "python-utcnow"]);
    assert_ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no progress lines"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Done: 1 of 1 batch committed"));
}

#[test]
fn killed_while_a_verify_command_runs_then_resumed() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(
        dir.join("slow.toml"),
        "name = \"slow\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n[batch]\nmax_files = 5\n[verify]\ncommands = [\"[ \\\"$(git branch --show-current)\\\" = main ] || touch .verifying; sleep 1; python -m pytest -q -p no:cacheprovider\"]\n",
    )
    .expect("write");
    std::fs::write(dir.join(".gitignore"), "__pycache__/\n.verifying\n").expect("ignore");
    commit_all(dir, "recipe");
    let mut child = Ripple::new(dir)
        .args(&["run", "slow.toml"])
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let started = std::time::Instant::now();
    // Past the baseline (run on main), inside a batch's verification.
    while !dir.join(".verifying").exists() {
        assert!(started.elapsed().as_secs() < 60, "never verified");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let out = ripple(dir, &["resume", "--format", "json"]);
    assert_ok(&out);
    assert_eq!(commits_between(dir, "main", "ripple/slow").len(), 5);
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
    git(dir, &["fsck", "--no-progress"]);
}

#[test]
fn a_plan_file_carries_data_never_commands() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(dir.join(".gitignore"), "__pycache__/\n*.json\npwned\n").expect("ignore");
    commit_all(dir, "ignore plans");
    let mut plan = Ripple::new(dir)
        .args(&["plan", "rename-fetch-order", "--format", "json"])
        .json();
    // Someone edits the plan's commands: the run still runs the recipe's.
    let batch = &mut plan["steps"][0]["batches"][0];
    assert_eq!(batch["verify"][0], "python -m pytest -q");
    batch["verify"] = serde_json::json!(["touch pwned && false"]);
    std::fs::write(dir.join("edited.json"), plan.to_string()).expect("write plan");
    let report = Ripple::new(dir)
        .args(&[
            "run",
            "rename-fetch-order",
            "--batch",
            "1",
            "--plan",
            "edited.json",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(report["outcome"], "success");
    assert_eq!(
        report["batches"][0]["verify"][0]["command"], "python -m pytest -q",
        "the recipe's command ran"
    );
    assert!(!dir.join("pwned").exists(), "the plan's command never ran");

    // A plan made from another version of the recipe is refused.
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let recipe = "name = \"rename\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n";
    std::fs::write(dir.join("rename.toml"), recipe).expect("recipe");
    std::fs::write(dir.join(".gitignore"), "__pycache__/\n*.json\n").expect("ignore");
    commit_all(dir, "recipe");
    let plan = ripple_ok(dir, &["plan", "rename.toml", "--format", "json"]);
    std::fs::write(dir.join("plan.json"), plan).expect("write plan");
    std::fs::write(
        dir.join("rename.toml"),
        recipe.replace("load_order", "get_order"),
    )
    .expect("edit recipe");
    commit_all(dir, "recipe changed");
    let out = ripple(
        dir,
        &["run", "rename.toml", "--batch", "1", "--plan", "plan.json"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        one_line(&out.stderr).contains("the plan was made from another version of the recipe"),
        "{}",
        one_line(&out.stderr)
    );
    assert_eq!(
        git(dir, &["branch", "--list", "ripple/*"]),
        "",
        "nothing made"
    );
}
