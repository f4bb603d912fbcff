//! Model steps end to end against a provider on loopback that speaks the real wire formats:
//! prompts carry files and contracts with secrets redacted, answers are applied, verified and
//! committed; transient errors are retried; failed verification is sent back for repair; API
//! keys are never written anywhere.

use std::process::Command;

use crate::common::{
    FakeModel, Ripple, anthropic_prompt, chat_answer, commit_all, commits_between, fixture_repo,
    git, prompt_files, prompt_of,
};

const RECIPE: &str = r#"name = "review-db"
[[step]]
kind = "model"
instructions = "Add the comment `# reviewed` as the first line of every file."
select = { paths = ["src/shopcore/db/*.py"] }
[batch]
max_files = 2
[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#;

/// What a competent model answers for RECIPE: one block per file of the batch.
fn review_answer(prompt: &str) -> String {
    prompt_files(prompt)
        .iter()
        .map(|(path, first)| {
            format!(
                "{path}\n<<<<<<< SEARCH\n{first}\n=======\n# reviewed\n{first}\n>>>>>>> REPLACE\n"
            )
        })
        .collect()
}

/// A Chat Completions server answering like a competent model for RECIPE, and its spec.
fn reviewer() -> (FakeModel, String) {
    let model = FakeModel::start(Box::new(|r, _| {
        (200, Vec::new(), chat_answer(&review_answer(&prompt_of(r))))
    }));
    let spec = format!("openai-compatible:fake-coder@{}/v1", model.url);
    (model, spec)
}

/// The same edits as `review_answer`, as an apply_patch envelope.
fn review_patch(prompt: &str) -> String {
    let mut out = String::from("*** Begin Patch\n");
    for (path, first) in prompt_files(prompt) {
        out.push_str(&format!(
            "*** Update File: {path}\n@@\n-{first}\n+# reviewed\n+{first}\n"
        ));
    }
    out.push_str("*** End Patch\n");
    out
}

fn run_with(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Ripple::new(dir).envs(env).args(args).output()
}

fn setup() -> tempfile::TempDir {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(dir.join("review.toml"), RECIPE).expect("recipe");
    // A secret in a file the model will see.
    let conn = dir.join("src/shopcore/db/connection.py");
    let text = std::fs::read_to_string(&conn).expect("read");
    std::fs::write(
        &conn,
        format!("{text}\nSERVICE_TOKEN = \"sk-proj-abcdefghijklmnopqrstuvwx\"\n"),
    )
    .expect("write");
    commit_all(dir, "recipe and a secret");
    repo
}

fn assert_reviewed(dir: &std::path::Path) {
    for f in ["__init__.py", "cache.py", "connection.py", "queries.py"] {
        let text = std::fs::read_to_string(dir.join("src/shopcore/db").join(f)).expect("read");
        assert!(text.starts_with("# reviewed\n"), "{f}: {text}");
    }
}

#[test]
fn a_model_step_runs_batch_by_batch_with_contracts_and_no_secrets() {
    let repo = setup();
    let dir = repo.path();
    let (model, spec) = reviewer();
    let out = run_with(
        dir,
        &[],
        &["run", "review.toml", "--model", &spec, "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["outcome"], "success");
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "one request per batch");
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(report["tokens"]["input"], 2000);
    assert_eq!(commits_between(dir, "main", "ripple/review-db").len(), 2);
    assert_reviewed(dir);
    let all: String = requests.iter().map(prompt_of).collect();
    assert!(all.contains("## Contracts of what these files use from elsewhere"));
    assert!(
        all.contains("[REDACTED-openai-key-1]"),
        "the token is redacted to a placeholder"
    );
    assert!(
        !all.contains("sk-proj-abcdefghijklmnopqrstuvwx"),
        "the secret never leaves"
    );
    // The second batch's prompt carries the ledger of the first: its files and what it did.
    let second = prompt_of(&requests[1]);
    let entry = second
        .lines()
        .find(|l| l.starts_with("- batch 1 ("))
        .expect("a ledger entry for batch 1");
    assert!(entry.contains("src/shopcore/db/"), "{entry}");
    assert!(entry.ends_with("): +2 -0 lines"), "{entry}");
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
}

#[test]
fn transient_errors_are_retried_honouring_retry_after() {
    let repo = setup();
    let dir = repo.path();
    let model = FakeModel::start(Box::new(|r, n| match n {
        0 => (429, vec![("Retry-After".into(), "0".into())], "{}".into()),
        1 => (503, Vec::new(), "{}".into()),
        _ => (200, Vec::new(), chat_answer(&review_answer(&prompt_of(r)))),
    }));
    // The model comes from `git config ripple.model` this time.
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    git(dir, &["config", "ripple.model", &spec]);
    let out = run_with(dir, &[], &["run", "review.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        model.requests().len(),
        4,
        "two retries, then one request per batch"
    );
    assert_reviewed(dir);
}

#[test]
fn a_failed_verification_is_sent_back_for_repair() {
    let repo = setup();
    let dir = repo.path();
    // The first answer breaks the package; the repair request gets the failure and fixes it.
    let model = FakeModel::start(Box::new(|r, n| {
        let prompt = prompt_of(r);
        let answer = if n == 0 {
            review_answer(&prompt).replacen("# reviewed\n", "raise RuntimeError('broken')\n", 1)
        } else if prompt.contains("## Verification failed") {
            prompt_files(&prompt)
                .iter()
                .filter(|(_, first)| first.starts_with("raise RuntimeError"))
                .map(|(path, first)| {
                    format!(
                        "{path}\n<<<<<<< SEARCH\n{first}\n=======\n# reviewed\n>>>>>>> REPLACE\n"
                    )
                })
                .collect()
        } else {
            review_answer(&prompt)
        };
        (200, Vec::new(), chat_answer(&answer))
    }));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    let out = run_with(
        dir,
        &[],
        &["run", "review.toml", "--model", &spec, "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = model.requests();
    assert!(
        prompt_of(&requests[1]).contains("## Verification failed"),
        "repair round"
    );
    assert!(
        prompt_of(&requests[1]).contains("RuntimeError"),
        "with the failure output"
    );
    assert_reviewed(dir);
    let first = git(dir, &["show", "--format=", "--stat", "ripple/review-db~1"]);
    assert!(first.contains("2 files changed"), "{first}");
}

#[test]
fn other_wire_formats_and_keys_stay_in_the_environment() {
    let repo = setup();
    let dir = repo.path();
    let model = FakeModel::start(Box::new(|r, _| {
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("body");
        let prompt = anthropic_prompt(&v);
        let body = serde_json::json!({
            "content": [{"type": "text", "text": review_answer(&prompt)}],
            "usage": {"input_tokens": 10, "output_tokens": 5},
        });
        (200, Vec::new(), body.to_string())
    }));
    let key = "test-key-do-not-store-1234567890";
    let base = format!("{}/v1", model.url);
    let out = run_with(
        dir,
        &[("ANTHROPIC_BASE_URL", &base), ("ANTHROPIC_API_KEY", key)],
        &[
            "run",
            "review.toml",
            "--model",
            "anthropic:claude-test",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = model.requests();
    assert_eq!(requests[0].path, "/v1/messages");
    assert!(
        requests[0]
            .headers
            .to_lowercase()
            .contains(&format!("x-api-key: {key}"))
    );
    assert_reviewed(dir);
    // The key is nowhere: not in the output, the commits or git-ripple's state.
    assert!(!String::from_utf8_lossy(&out.stdout).contains(key));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(key));
    assert!(!git(dir, &["log", "--format=%B", "ripple/review-db"]).contains(key));
    let state = Command::new("grep")
        .args(["-r", key, ".git/ripple"])
        .current_dir(dir)
        .output()
        .expect("grep");
    assert!(!state.status.success(), "the key is in .git/ripple");

    // No key: a clear error before any change.
    let repo = setup();
    let out = run_with(
        repo.path(),
        &[("ANTHROPIC_BASE_URL", &base)],
        &["run", "review.toml", "--model", "anthropic:claude-test"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ANTHROPIC_API_KEY is not set"));
    assert_eq!(git(repo.path(), &["branch", "--list", "ripple/*"]), "");
}

#[test]
fn the_responses_api_and_a_token_budget() {
    let repo = setup();
    let dir = repo.path();
    let model = FakeModel::start(Box::new(|r, _| {
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("body");
        let prompt = v["input"][0]["content"].as_str().unwrap_or("").to_string();
        // Codex-class models answer with the apply_patch envelope.
        let body = serde_json::json!({
            "output": [{"type": "message", "content": [{"type": "output_text", "text": review_patch(&prompt)}]}],
            "usage": {"input_tokens": 900, "output_tokens": 200},
        });
        (200, Vec::new(), body.to_string())
    }));
    let base = format!("{}/v1", model.url);
    let env = [
        ("OPENAI_BASE_URL", base.as_str()),
        ("OPENAI_API_KEY", "test-key"),
    ];
    // 1,100 tokens per batch: a 1,000 token budget allows one batch.
    let out = run_with(
        dir,
        &env,
        &[
            "run",
            "review.toml",
            "--model",
            "openai:codex-test",
            "--max-tokens-total",
            "1000",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["outcome"], "budget_spent");
    assert_eq!(report["tokens"]["input"], 900);
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/responses");
    assert!(
        requests[0]
            .headers
            .to_lowercase()
            .contains("authorization: bearer test-key")
    );
    // Resume with a larger budget finishes.
    let out = run_with(
        dir,
        &env,
        &[
            "resume",
            "--model",
            "openai:codex-test",
            "--max-tokens-total",
            "5000",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_reviewed(dir);
}

fn transcript(dir: &std::path::Path) -> std::path::PathBuf {
    let runs = dir.join(".git/ripple/runs");
    let run = std::fs::read_dir(&runs)
        .expect("runs")
        .flatten()
        .next()
        .expect("one run")
        .path();
    run.join("transcript.jsonl")
}

#[test]
fn a_recorded_run_replays_without_a_model() {
    let recorded = setup();
    let (model, spec) = reviewer();
    let out = run_with(
        recorded.path(),
        &[("RIPPLE_API_KEY", "sk-proj-zzzzzzzzzzzzzzzzzzzzzzzz")],
        &["run", "review.toml", "--model", &spec],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = git(
        recorded.path(),
        &["log", "-1", "--format=%B", "ripple/review-db"],
    );
    assert!(log.contains(&format!("Ripple-Model: {spec}")), "{log}");
    assert!(log.contains("Ripple-Tokens: 1000 in, 100 out"), "{log}");

    let path = transcript(recorded.path());
    let text = std::fs::read_to_string(&path).expect("transcript");
    assert_eq!(text.lines().count(), model.requests().len());
    assert!(
        !text.contains("sk-proj-abcdefghijklmnopqrstuvwx"),
        "no secret from the files"
    );
    assert!(!text.contains("sk-proj-zzzz"), "no API key");
    let saved = tempfile::NamedTempFile::new().expect("temp");
    std::fs::copy(&path, saved.path()).expect("copy");

    // Another copy of the repository, no model, no network: the same commits.
    let replayed = setup();
    let out = run_with(
        replayed.path(),
        &[],
        &[
            "run",
            "review.toml",
            "--replay",
            saved.path().to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trees = |dir: &std::path::Path| {
        commits_between(dir, "main", "ripple/review-db")
            .iter()
            .map(|c| git(dir, &["rev-parse", &format!("{c}^{{tree}}")]))
            .collect::<Vec<_>>()
    };
    assert_eq!(trees(recorded.path()), trees(replayed.path()));
}

#[test]
fn a_provider_that_times_out_is_retried() {
    let repo = setup();
    let dir = repo.path();
    let model = FakeModel::start(Box::new(|r, n| {
        if n == 0 {
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
        (200, Vec::new(), chat_answer(&review_answer(&prompt_of(r))))
    }));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    let out = run_with(
        dir,
        &[("RIPPLE_MODEL_TIMEOUT_SECS", "1")],
        &["run", "review.toml", "--model", &spec],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        model.requests().len(),
        3,
        "the timed-out request was sent again"
    );
    assert_reviewed(dir);
}

#[test]
fn a_cost_cap_with_configured_prices() {
    let repo = setup();
    let dir = repo.path();
    git(dir, &["config", "ripple.priceInput", "2"]);
    git(dir, &["config", "ripple.priceOutput", "10"]);
    let (model, spec) = reviewer();
    // Each batch: 1,000 input and 100 output tokens = 0.003; the cap allows one batch.
    let out = run_with(
        dir,
        &[],
        &[
            "run",
            "review.toml",
            "--model",
            &spec,
            "--max-cost",
            "0.002",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(model.requests().len(), 1);
    let status =
        String::from_utf8_lossy(&crate::common::ripple(dir, &["status"]).stdout).into_owned();
    assert!(
        status.contains("the cost cap (0.00) is reached"),
        "{status}"
    );
    assert!(
        status.contains("model    1000 tokens in, 100 out"),
        "{status}"
    );
}

#[test]
fn an_answer_that_edits_outside_the_batch_is_refused_whole() {
    let repo = setup();
    let dir = repo.path();
    let model = FakeModel::start(Box::new(|r, _| {
        let mut answer = review_answer(&prompt_of(r));
        answer.push_str(
            "src/shopcore/models.py\n<<<<<<< SEARCH\n=======\nimport os\n>>>>>>> REPLACE\n",
        );
        (200, Vec::new(), chat_answer(&answer))
    }));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    let out = run_with(
        dir,
        &[],
        &["run", "review.toml", "--model", &spec, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let error = report["batches"][0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("src/shopcore/models.py is not one of the batch's files"),
        "{error}"
    );
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "nothing from the answer was applied"
    );
    assert_eq!(commits_between(dir, "main", "ripple/review-db").len(), 0);
}

/// A scripted model for the bundled `model-deprecate-fetch-order` recipe: it reads which step
/// the prompt is for and answers with whole-file SEARCH/REPLACE blocks.
fn deprecate_answer(prompt: &str) -> String {
    let files = crate::common::prompt_file_texts(prompt);
    let block = |path: &str, before: &str, after: &str| {
        format!("{path}\n<<<<<<< SEARCH\n{before}=======\n{after}>>>>>>> REPLACE\n")
    };
    // What the step asks, from the prompt's "The change" section (the ledger quotes earlier
    // steps too).
    let change = prompt
        .split("## The change")
        .nth(1)
        .and_then(|s| s.split("## Rules").next())
        .unwrap_or("");
    let mut out = String::new();
    for (path, text) in files {
        let after = if change.contains("add `load_order(") {
            if path.ends_with("queries.py") {
                text.replace(
                    "def fetch_order(order_id: int) -> Order:",
                    "def load_order(order_id: int, *, strict: bool = True) -> Optional[Order]:\n    \"\"\"Return the order with ``order_id``; None when unknown and not strict.\"\"\"\n    order = connection.get_connection().get(order_id)\n    if order is None and strict:\n        raise OrderNotFound(order_id)\n    return order\n\n\ndef fetch_order(order_id: int) -> Order:",
                )
            } else {
                text.replace(
                    "fetch_order, list_orders",
                    "fetch_order, list_orders, load_order",
                )
                .replace(
                    "\"fetch_order\", \"list_orders\"",
                    "\"fetch_order\", \"list_orders\", \"load_order\"",
                )
            }
        } else if change.contains("Replace every use of the deprecated") {
            text.lines()
                .map(|l| {
                    if l.contains("DECOY") || l.contains("def test_") {
                        l.to_string()
                    } else {
                        l.replace("fetch_order", "load_order")
                    }
                })
                .map(|l| format!("{l}\n"))
                .collect()
        } else if change.contains("Remove the deprecated `fetch_order`") {
            if path.ends_with("queries.py") {
                let start = text.find("def fetch_order(").expect("fetch_order");
                let end = start + text[start..].find("\n\n\ndef ").expect("next def") + 3;
                format!("{}{}", &text[..start], &text[end..])
            } else {
                text.replace("fetch_order, ", "")
                    .replace("\"fetch_order\", ", "")
            }
        } else {
            text.clone()
        };
        if after != text {
            out.push_str(&block(&path, &text, &after));
        }
    }
    out
}

#[test]
fn a_deprecation_in_three_model_steps_through_every_wire_format() {
    for wire in ["chat", "responses", "messages"] {
        let repo = fixture_repo("python/shop");
        let dir = repo.path();
        let model = FakeModel::start(Box::new(move |r, _| {
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("body");
            let prompt = match r.path.as_str() {
                "/v1/chat/completions" => v["messages"][1]["content"].as_str().map(str::to_string),
                "/v1/responses" => v["input"][0]["content"].as_str().map(str::to_string),
                _ => Some(anthropic_prompt(&v)),
            }
            .unwrap_or_default();
            let text = deprecate_answer(&prompt);
            let body = match r.path.as_str() {
                "/v1/chat/completions" => chat_answer(&text),
                "/v1/responses" => serde_json::json!({
                    "output": [{"type": "message", "content": [{"type": "output_text", "text": text}]}],
                    "usage": {"input_tokens": 10, "output_tokens": 10},
                })
                .to_string(),
                _ => serde_json::json!({
                    "content": [{"type": "text", "text": text}],
                    "usage": {"input_tokens": 10, "output_tokens": 10},
                })
                .to_string(),
            };
            (200, Vec::new(), body)
        }));
        let base = format!("{}/v1", model.url);
        let (spec, env): (String, Vec<(&str, &str)>) = match wire {
            "chat" => (format!("openai-compatible:fake@{base}"), vec![]),
            "responses" => (
                "openai:codex-test".into(),
                vec![("OPENAI_BASE_URL", base.as_str()), ("OPENAI_API_KEY", "k")],
            ),
            _ => (
                "anthropic:claude-test".into(),
                vec![
                    ("ANTHROPIC_BASE_URL", base.as_str()),
                    ("ANTHROPIC_API_KEY", "k"),
                ],
            ),
        };
        let out = run_with(
            dir,
            &env,
            &[
                "run",
                "model-deprecate-fetch-order",
                "--model",
                &spec,
                "--format",
                "json",
            ],
        );
        assert!(
            out.status.success(),
            "{wire}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let commits = commits_between(dir, "main", "ripple/model-deprecate-fetch-order");
        assert!(commits.len() >= 3, "{wire}: expand, migrate, contract");
        let queries =
            std::fs::read_to_string(dir.join("src/shopcore/db/queries.py")).expect("read");
        assert!(queries.contains("def load_order(order_id: int, *, strict: bool = True)"));
        assert!(!queries.contains("def fetch_order("), "{wire}: contracted");
        // Every commit passes the tests on its own.
        crate::common::assert_each_commit_passes(
            dir,
            &commits,
            &[&["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]],
            "ripple/model-deprecate-fetch-order",
        );
    }
}

#[test]
fn a_dry_run_with_a_model_rehearses_in_a_scratch_worktree_and_replays() {
    let repo = setup();
    let dir = repo.path();
    let (model, spec) = reviewer();
    let before = (
        git(dir, &["show-ref"]),
        git(dir, &["status", "--porcelain", "--untracked-files=all"]),
    );
    let out = run_with(
        dir,
        &[],
        &[
            "run",
            "review.toml",
            "--dry-run",
            "--model",
            &spec,
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::common::assert_matches_schema(&out.stdout);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["outcome"], "success");
    assert_eq!(
        model.requests().len(),
        2,
        "the model was asked for each batch"
    );
    for b in report["batches"].as_array().expect("batches") {
        assert_eq!(b["status"], "would_commit", "{b:#}");
        assert!(
            b["diff"]
                .as_str()
                .is_some_and(|d| d.contains("+# reviewed")),
            "{b:#}"
        );
        assert!(
            b["verify"][0]["summary"]
                .as_str()
                .is_some_and(|s| s.contains("passed")),
            "verified by the recipe's command: {b:#}"
        );
    }
    // Nothing changed in the repository: no branch, no commit, no file.
    let ripple_state = dir.join(".git/ripple");
    assert_eq!(
        (
            git(dir, &["show-ref"]),
            git(dir, &["status", "--porcelain", "--untracked-files=all"])
        ),
        before
    );
    assert!(
        !std::fs::read_to_string(dir.join("src/shopcore/db/queries.py"))
            .expect("read")
            .starts_with("# reviewed"),
        "the work tree is untouched"
    );
    assert!(!ripple_state.join("current").exists(), "no run in progress");
    // The rehearsal's transcript answers a real run, without the model.
    let transcript = report["transcript"].as_str().expect("a transcript");
    let asked = model.requests().len();
    let out = run_with(
        dir,
        &[],
        &[
            "run",
            "review.toml",
            "--replay",
            transcript,
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(model.requests().len(), asked, "replayed, not asked");
    assert_eq!(commits_between(dir, "main", "ripple/review-db").len(), 2);
    assert_reviewed(dir);
}

#[test]
fn a_bad_model_spec_in_the_recipe_points_at_it() {
    let repo = setup();
    let dir = repo.path();
    let text = std::fs::read_to_string(dir.join("review.toml")).expect("read");
    std::fs::write(
        dir.join("review.toml"),
        text.replacen("[[step]]", "model = \"gpt-4\"\n[[step]]", 1),
    )
    .expect("write");
    commit_all(dir, "a recipe with a bad spec");
    let out = run_with(dir, &[], &["run", "review.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`gpt-4` is not a model spec"), "{err}");
    assert!(
        err.contains("review.toml:2:"),
        "points at the recipe's line: {err}"
    );
    assert_eq!(git(dir, &["branch", "--list", "ripple/*"]), "");
}

#[test]
fn the_report_of_a_model_run_counts_tokens_per_batch_and_reproduces_it_without_a_model() {
    let repo = setup();
    let dir = repo.path();
    let (model, spec) = reviewer();
    let out = run_with(dir, &[], &["run", "review.toml", "--model", &spec]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = Ripple::new(dir)
        .args(&["report", "--format", "json"])
        .json();
    crate::common::assert_matches_schema(report.to_string().as_bytes());
    let batches = report["batches"].as_array().expect("batches");
    assert_eq!(batches.len(), 2);
    for b in batches {
        assert_eq!(
            b["tokens"],
            serde_json::json!({"input": 1000, "output": 100})
        );
    }
    let markdown = Ripple::new(dir).args(&["report"]).ok();
    assert!(markdown.contains("| 1000 / 100 |"), "{markdown}");
    assert!(
        markdown.contains("2000 model tokens in, 200 out"),
        "{markdown}"
    );
    let replay = report["reproduce"][1].as_str().expect("run command");
    assert!(
        replay.contains("--replay .git/ripple/runs/") && replay.ends_with("/transcript.jsonl"),
        "{replay}"
    );

    // With the model gone, the printed commands give the same trees.
    let asked = model.requests().len();
    drop(model);
    crate::report::reproduce(dir, &report);
    let start = report["started_from"]["commit"].as_str().expect("start");
    assert_eq!(
        crate::report::trees(dir, start, "ripple/review-db"),
        crate::report::trees(dir, start, "ripple/review-db-again")
    );
    assert_eq!(asked, 2);
}

/// An Anthropic-format provider that honours `cache_control` the way the real one does: a
/// marked block's prefix (system text and the blocks up to it) is written to the cache, and a
/// request reads the longest cached prefix ending at a block boundary up to 20 blocks before a
/// mark. Its token counts are bytes. Each request is answered like a competent model, and
/// what it read from the cache is remembered per request.
#[test]
fn prompts_keep_a_stable_prefix_that_anthropic_caches_across_batches() {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
    let repo = setup();
    let dir = repo.path();
    std::fs::write(
        dir.join("all.toml"),
        RECIPE
            .replace("review-db", "review-all")
            .replace("src/shopcore/db/*.py", "src/shopcore/**/*.py"),
    )
    .expect("recipe");
    commit_all(dir, "recipe");
    let cache: Arc<Mutex<HashSet<String>>> = Arc::default();
    let reads: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let (cache_in, reads_in) = (Arc::clone(&cache), Arc::clone(&reads));
    let model = FakeModel::start(Box::new(move |r, _| {
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("body");
        let system = v["system"].as_str().unwrap_or("").to_string();
        let blocks: Vec<serde_json::Value> = v["messages"][0]["content"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let prefix = |i: usize| -> String {
            let mut p = system.clone();
            for b in &blocks[..=i] {
                p.push_str(b["text"].as_str().unwrap_or(""));
            }
            p
        };
        let marks: Vec<usize> = (0..blocks.len())
            .filter(|&i| blocks[i].get("cache_control").is_some())
            .collect();
        let mut cache = cache_in.lock().expect("cache");
        let mut read = 0;
        for &m in &marks {
            for j in (m.saturating_sub(20)..=m).rev() {
                let p = prefix(j);
                if cache.contains(&p) {
                    read = read.max(p.len());
                    break;
                }
            }
        }
        let mut written = 0;
        for &m in &marks {
            let p = prefix(m);
            if !cache.contains(&p) {
                written = written.max(p.len());
                cache.insert(p);
            }
        }
        let write = written.saturating_sub(read);
        let prompt = anthropic_prompt(&v);
        let total = system.len() + prompt.len();
        reads_in.lock().expect("reads").push((read, prompt.clone()));
        let body = serde_json::json!({
            "content": [{"type": "text", "text": review_answer(&prompt)}],
            "usage": {
                "input_tokens": total - read - write,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": write,
                "output_tokens": 5,
            },
        });
        (200, Vec::new(), body.to_string())
    }));
    let base = format!("{}/v1", model.url);
    let out = run_with(
        dir,
        &[
            ("ANTHROPIC_BASE_URL", &base),
            ("ANTHROPIC_API_KEY", "test-key"),
        ],
        &[
            "run",
            "all.toml",
            "--model",
            "anthropic:claude-test",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    let reads = reads.lock().expect("reads").clone();
    assert!(reads.len() >= 3, "{} requests", reads.len());
    let system_len = {
        let first: serde_json::Value =
            serde_json::from_str(&model.requests()[0].body).expect("body");
        first["system"].as_str().expect("system").len()
    };
    // Request k reads from the cache everything before its ledger's newest entry: the system
    // text, the instructions and rules, and the entries of batches 1..k-1.
    let ledger_at = |prompt: &str, entries: usize| -> usize {
        let head = prompt.find("## Earlier batches").expect("ledger section");
        let mut at = head;
        for _ in 0..entries {
            let line = prompt[at..].find("- batch ").expect("entry") + at;
            at = prompt[line..].find('\n').expect("eol") + line + 1;
        }
        at
    };
    assert_eq!(reads[0].0, 0, "nothing is cached before the first request");
    for (k, (read, prompt)) in reads.iter().enumerate().skip(1) {
        assert_eq!(
            *read,
            system_len + ledger_at(prompt, k - 1),
            "request {k} reads its stable prefix from the cache"
        );
    }
    // The run counts what the provider reported, normalised: input includes the cached part.
    let cached: usize = reads.iter().map(|(r, _)| r).sum();
    assert_eq!(report["tokens"]["cached"].as_u64(), Some(cached as u64));
    let input: usize = reads.iter().map(|(_, p)| system_len + p.len()).sum();
    assert_eq!(report["tokens"]["input"].as_u64(), Some(input as u64));
    assert!(report["tokens"]["cache_write"].as_u64().unwrap_or(0) > 0);
    let per_batch: u64 = report["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .filter_map(|b| b["tokens"]["cached"].as_u64())
        .sum();
    assert_eq!(per_batch, cached as u64);
    // And the commits say so.
    let log = git(dir, &["log", "-1", "--format=%B", "ripple/review-all"]);
    assert!(log.contains(" cached"), "{log}");
}
