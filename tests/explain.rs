//! `git ripple explain`: the prompt of a model batch, exactly as it would be sent, with token
//! counts; contracts never carry bodies; the budget drops the farthest contracts first.

use crate::common::{FakeModel, Ripple, chat_answer, fixture_repo, git, ripple, ripple_ok};

/// `git ripple explain model-rename-fetch-order --batch 2 --format json`, plus `extra` flags.
fn explain_json(dir: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "explain",
        "model-rename-fetch-order",
        "--batch",
        "2",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ripple_ok(dir, &args)).expect("json")
}

#[test]
fn the_prompt_of_a_model_batch() {
    let repo = fixture_repo("python/shop");
    let json: serde_json::Value = explain_json(repo.path(), &[]);
    let text = json["text"].as_str().expect("prompt text");
    insta::assert_snapshot!("model_batch_prompt", text);
    // Contracts are signatures: the body of fetch_order is not there, its signature is.
    assert!(text.contains("def fetch_order(order_id: int) -> Order:"));
    assert!(!text.contains("connection.get_connection().get(order_id)"));
    let parts = json["parts"].as_array().expect("parts");
    let sum: u64 = parts.iter().filter_map(|p| p["tokens"].as_u64()).sum();
    assert!(
        sum > 0 && sum <= json["tokens"].as_u64().unwrap_or(0),
        "parts are counted"
    );
}

#[test]
fn a_small_budget_drops_the_farthest_contracts_first() {
    let repo = fixture_repo("python/shop");
    let full: serde_json::Value = explain_json(repo.path(), &[]);
    let contracts: Vec<String> = full["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|p| p["kind"] == "contract")
        .map(|p| p["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(contracts.len() > 3);
    let budget = (full["tokens"].as_u64().expect("tokens") - 150).to_string();
    let small: serde_json::Value = explain_json(repo.path(), &["--budget", &budget]);
    let dropped: Vec<&str> = small["dropped"]
        .as_array()
        .expect("dropped")
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(!dropped.is_empty());
    // The dropped ones are the last (farthest) of the full list, farthest first.
    let tail: Vec<&str> = contracts
        .iter()
        .rev()
        .take(dropped.len())
        .map(String::as_str)
        .collect();
    assert_eq!(dropped, tail);
    assert!(small["tokens"].as_u64().expect("tokens") <= budget.parse::<u64>().expect("n"));
}

#[test]
fn explain_refuses_batches_without_a_model() {
    let repo = fixture_repo("python/shop");
    let out = ripple(
        repo.path(),
        &["explain", "rename-fetch-order", "--batch", "1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs without a model"));
}

#[test]
fn a_model_step_is_refused_before_any_change() {
    let repo = fixture_repo("python/shop");
    let before = crate::common::git(repo.path(), &["show-ref"]);
    let out = ripple(repo.path(), &["run", "model-rename-fetch-order"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a `model` step"));
    assert_eq!(
        crate::common::git(repo.path(), &["show-ref"]),
        before,
        "no branch made"
    );
    assert_eq!(
        crate::common::git(repo.path(), &["status", "--porcelain"]),
        ""
    );
}

#[test]
fn explain_prints_exactly_the_first_request_of_a_run() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    let explained = explain_json(dir, &[]);
    let explained_first = Ripple::new(dir)
        .args(&[
            "explain",
            "model-rename-fetch-order",
            "--batch",
            "1",
            "--format",
            "json",
        ])
        .json();
    assert_ne!(explained["text"], explained_first["text"], "two batches");
    // A model that answers nothing useful: only the first request matters here.
    let model = FakeModel::start(Box::new(|_, _| (200, Vec::new(), chat_answer("no edits"))));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    let out = Ripple::new(dir)
        .args(&["run", "model-rename-fetch-order", "--model", &spec])
        .output();
    assert_eq!(out.status.code(), Some(3), "the answer is refused");
    let first = &model.requests()[0];
    let body: serde_json::Value = serde_json::from_str(&first.body).expect("json body");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], explained_first["system"]);
    assert_eq!(body["messages"][1]["content"], explained_first["text"]);
}

#[test]
fn a_dry_run_of_every_bundled_recipe_succeeds_without_a_model() {
    let listing = fixture_repo("python/shop");
    let listed = Ripple::new(listing.path())
        .args(&["recipes", "--format", "json"])
        .json();
    let mut bundled: Vec<String> = listed
        .as_array()
        .expect("recipes")
        .iter()
        .filter(|r| r["origin"] == "bundled")
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect();
    bundled.sort();
    let mut covered = Vec::new();
    for (fixture, recipes) in [
        (
            "python/shop",
            &[
                "model-deprecate-fetch-order",
                "model-rename-fetch-order",
                "python-utcnow",
                "rename-fetch-order",
            ][..],
        ),
        ("go/shop", &["go-ioutil", "rename-go-fetch-order"][..]),
    ] {
        let repo = fixture_repo(fixture);
        let before = git(repo.path(), &["show-ref"]);
        for recipe in recipes {
            let report = Ripple::new(repo.path())
                .args(&["run", recipe, "--dry-run", "--format", "json"])
                .json();
            assert_eq!(report["outcome"], "success", "{recipe}: {report:#}");
            assert_eq!(report["dry_run"], true);
            crate::common::assert_matches_schema(report.to_string().as_bytes());
            for b in report["batches"].as_array().expect("batches") {
                let status = b["status"].as_str().unwrap_or("");
                if recipe.starts_with("model-") {
                    assert_eq!(status, "not_simulated", "{recipe}: {b:#}");
                } else {
                    assert!(
                        ["would_commit", "unchanged"].contains(&status),
                        "{recipe}: {b:#}"
                    );
                }
            }
            covered.push(recipe.to_string());
        }
        assert_eq!(git(repo.path(), &["show-ref"]), before, "nothing made");
        assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
    }
    covered.sort();
    assert_eq!(covered, bundled, "every bundled recipe is dry-run");
    let text = ripple_ok(
        listing.path(),
        &["run", "model-rename-fetch-order", "--dry-run"],
    );
    assert!(text.contains("not simulated (needs a model)"), "{text}");
}

/// Every batch of a model step over all of a fixture's files, explained: the contract of every
/// symbol a batch uses from outside it is in the prompt (recall 1.0 within the default budget).
#[test]
fn contract_recall_is_complete_on_the_fixtures() {
    for (fixture, glob) in [
        ("python/shop", "**/*.py"),
        ("python/typed", "**/*.py"),
        ("go/shop", "**/*.go"),
        ("go/typed", "**/*.go"),
    ] {
        let repo = fixture_repo(fixture);
        let dir = repo.path();
        std::fs::write(
            dir.join("all.toml"),
            format!(
                "name = \"all\"\n[[step]]\nkind = \"model\"\ninstructions = \"Review.\"\nselect = {{ paths = [\"{glob}\"] }}\n[batch]\nmax_files = 3\n"
            ),
        )
        .expect("recipe");
        let plan: serde_json::Value =
            serde_json::from_str(&ripple_ok(dir, &["plan", "all.toml", "--format", "json"]))
                .expect("plan");
        let batches = plan["totals"]["batches"].as_u64().expect("batches");
        assert!(batches >= 2, "{fixture}");
        let (mut used, mut included) = (0, 0);
        for k in 1..=batches {
            let json: serde_json::Value = serde_json::from_str(&ripple_ok(
                dir,
                &[
                    "explain",
                    "all.toml",
                    "--batch",
                    &k.to_string(),
                    "--format",
                    "json",
                ],
            ))
            .expect("json");
            let recall = &json["recall"];
            assert_eq!(
                recall["missing"],
                serde_json::json!([]),
                "{fixture} batch {k}"
            );
            assert_eq!(recall["included"], recall["used"], "{fixture} batch {k}");
            used += recall["used"].as_u64().expect("used");
            included += recall["included"].as_u64().expect("included");
        }
        eprintln!("{fixture}: {batches} batches, {included} of {used} contracts");
        assert!(used > 0, "{fixture}: batches use something from outside");
    }
}

/// Before a run, explain says its ledger is empty; after a run against a model on loopback,
/// `explain --batch 3` shows exactly the system and user texts of the third request the model
/// received, and the ledger it carried.
#[test]
fn after_a_run_explain_shows_what_each_batch_was_sent() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(
        dir.join("review.toml"),
        "name = \"review\"\n[[step]]\nkind = \"model\"\ninstructions = \"Add the comment `# reviewed` as the first line of every file.\"\nselect = { paths = [\"src/shopcore/**/*.py\"] }\n[batch]\nmax_files = 2\n",
    )
    .expect("recipe");
    crate::common::commit_all(dir, "recipe");
    let before = ripple_ok(dir, &["explain", "review.toml", "--batch", "3"]);
    assert!(
        before.contains("before a run: the ledger is empty"),
        "{before}"
    );
    let model = FakeModel::start(Box::new(|r, _| {
        let prompt = crate::common::prompt_of(r);
        let answer: String = crate::common::prompt_files(&prompt)
            .iter()
            .map(|(path, first)| {
                format!("{path}\n<<<<<<< SEARCH\n{first}\n=======\n# reviewed\n{first}\n>>>>>>> REPLACE\n")
            })
            .collect();
        (200, Vec::new(), chat_answer(&answer))
    }));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    let out = Ripple::new(dir)
        .args(&["run", "review.toml", "--model", &spec])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let third = &model.requests()[2];
    let body: serde_json::Value = serde_json::from_str(&third.body).expect("json body");
    let explained = Ripple::new(dir)
        .args(&["explain", "review.toml", "--batch", "3", "--format", "json"])
        .json();
    assert_eq!(explained["source"], "sent");
    assert_eq!(explained["system"], body["messages"][0]["content"]);
    assert_eq!(explained["text"], body["messages"][1]["content"]);
    let text = explained["text"].as_str().expect("text");
    assert!(
        text.contains("- batch 1 ("),
        "the ledger of batches 1 and 2: {text}"
    );
    assert!(text.contains("- batch 2 ("), "{text}");
    assert!(!text.contains("- batch 3 ("), "{text}");
    // The ledger after three batches, as the fourth request carried it.
    let fourth = crate::common::prompt_of(&model.requests()[3]);
    let ledger = fourth
        .split("## Earlier batches")
        .nth(1)
        .and_then(|s| s.split("## Contracts").next())
        .expect("ledger section");
    insta::assert_snapshot!("ledger_after_three_batches", ledger.trim());
    // The same from the transcript given by hand.
    let transcript = std::fs::read_dir(dir.join(".git/ripple/runs"))
        .expect("runs")
        .filter_map(Result::ok)
        .map(|e| e.path().join("transcript.jsonl"))
        .find(|p| p.exists())
        .expect("a transcript");
    let replayed = Ripple::new(dir)
        .args(&[
            "explain",
            "review.toml",
            "--batch",
            "3",
            "--replay",
            transcript.to_str().expect("utf-8"),
            "--format",
            "json",
        ])
        .json();
    assert_eq!(replayed["text"], explained["text"]);
}
