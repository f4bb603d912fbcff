//! `git ripple report`: the run for reviewers, in Markdown and JSON, and the commands it gives
//! to carry the run out again (run here, they make the same trees).

use std::path::Path;
use std::process::Command;

use crate::cases::run_case;
use crate::common::{Ripple, assert_matches_schema, commits_between, git, repo_with_files, ripple};

/// Hashes, ids and times vary between runs; what a reviewer reads does not.
pub fn scrub(text: &str) -> String {
    let rules = [
        (r"\b[0-9a-f]{40}\b", "<sha>"),
        (r"\b[0-9a-f]{7,12}\b", "<sha>"),
        (r"-\d{13}\b", "-<when>"),
        (r"\b\d+(\.\d+)? ?s\b", "<t>"),
        (r#""(duration_ms|updated_ms)": \d+"#, r#""$1": 0"#),
        (r#""toolchains": "[^"]*""#, r#""toolchains": "<versions>""#),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

/// Run the `reproduce` commands of a report in `dir`, with this git-ripple on the PATH.
pub fn reproduce(dir: &Path, report: &serde_json::Value) {
    let bin = Path::new(env!("CARGO_BIN_EXE_git-ripple"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in report["reproduce"].as_array().expect("reproduce commands") {
        let command = command.as_str().unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .env("PATH", &path)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("RIPPLE_MODEL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command}` failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The trees of a branch's commits since `base`.
pub fn trees(dir: &Path, base: &str, branch: &str) -> Vec<String> {
    commits_between(dir, base, branch)
        .iter()
        .map(|c| git(dir, &["rev-parse", &format!("{c}^{{tree}}")]))
        .collect()
}

#[test]
fn a_rule_run_reported_in_markdown_and_json_and_reproduced() {
    let ran = run_case("python-rename-fetch-order");
    let dir = ran.repo.path();
    let before = Ripple::new(dir).args(&["report"]).ok();
    assert!(
        before.contains("Not checked commit by commit yet"),
        "{before}"
    );

    Ripple::new(dir).args(&["check"]).ok();
    let markdown = Ripple::new(dir).args(&["report"]).ok();
    insta::assert_snapshot!("python_rename_report_markdown", scrub(&markdown));

    let out = ripple(dir, &["report", "--format", "json"]);
    assert!(out.status.success());
    assert_matches_schema(&out.stdout);
    let text = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("python_rename_report_json", scrub(&text));

    // By its recipe's name and by its id, the same run.
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = report["run_id"].as_str().unwrap();
    for name in [id, "rename-fetch-order"] {
        let again = Ripple::new(dir)
            .args(&["report", name, "--format", "json"])
            .json();
        assert_eq!(again["run_id"], id);
    }
    assert_eq!(report["check"]["bisect_clean"], true);

    // The commands it gives make the same commits' trees again.
    reproduce(dir, &report);
    let start = report["started_from"]["commit"].as_str().unwrap();
    assert_eq!(
        trees(dir, start, &ran.branch),
        trees(dir, start, &format!("{}-again", ran.branch))
    );
}

#[test]
fn a_check_of_other_commits_is_not_shown_as_the_runs() {
    let ran = run_case("python-rename-fetch-order");
    let dir = ran.repo.path();
    // A range that is not the run's own commits is not what the report shows.
    let range = format!("{}..{}", ran.commits[2], ran.commits[4]);
    Ripple::new(dir).args(&["check", &range]).ok();
    let report = Ripple::new(dir)
        .args(&["report", "--format", "json"])
        .json();
    assert!(report.get("check").is_none(), "{report}");
}

#[test]
fn no_run_or_an_unknown_run_is_said_so() {
    let repo = repo_with_files(&[("a.py", "x = 1\n")]);
    let out = ripple(repo.path(), &["report"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no run in this repository"));

    let ran = run_case("python-rename-fetch-order");
    let out = ripple(ran.repo.path(), &["report", "rename-nothing"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no run `rename-nothing`") && err.contains("runs here: rename-fetch-order-"),
        "{err}"
    );
}
