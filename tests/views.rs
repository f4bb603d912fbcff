//! Focused views: a large batch file reaches the model as its imports, an outline and the
//! regions the step touches; the model's edits still apply to the real file, inside the
//! regions shown and outside them.

use crate::common::{
    FakeModel, PYTEST, Ripple, assert_each_commit_passes, chat_answer, commits_between, git,
    prompt_of, repo_with_files, ripple_ok,
};

/// A module of about 6,000 tokens with one function that uses `clock.now`.
fn big_module() -> String {
    let mut s = String::from("\"\"\"Column totals.\"\"\"\n\nimport clock\n\n");
    for i in 0..150 {
        s.push_str(&format!(
            "\ndef total_{i}(rows):\n    \"\"\"The sum of column {i} over every row of a report.\"\"\"\n    return sum(r[{i}] for r in rows)\n\n"
        ));
    }
    s.push_str(
        "\ndef stamp():\n    \"\"\"When the report was made.\"\"\"\n    return clock.now()\n",
    );
    s
}

const RECIPE: &str = r#"name = "stamp"

[[step]]
kind = "model"
instructions = "Mark the report's time stamp."
select = { references = ["clock.now"] }

[batch]
max_files = 1

[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#;

fn repo() -> tempfile::TempDir {
    let big = big_module();
    repo_with_files(&[
        ("clock.py", "def now():\n    return 12\n"),
        ("report.py", &big),
        (
            "test_report.py",
            "import report\n\n\ndef test_stamp():\n    assert report.stamp() == 12\n\n\ndef test_total():\n    assert report.total_7([[0] * 8, [1] * 8]) == 1\n",
        ),
        ("stamp.toml", RECIPE),
    ])
}

#[test]
fn a_large_file_is_sent_as_a_focused_view() {
    let repo = repo();
    let dir = repo.path();
    let json: serde_json::Value = serde_json::from_str(&ripple_ok(
        dir,
        &["explain", "stamp.toml", "--batch", "2", "--format", "json"],
    ))
    .expect("json");
    let parts = json["parts"].as_array().expect("parts");
    let view = parts
        .iter()
        .find(|p| p["name"] == "report.py")
        .expect("report.py in the prompt");
    assert_eq!(view["kind"], "view");
    let text = json["text"].as_str().expect("text");
    let whole = big_module();
    assert!(
        (view["tokens"].as_u64().expect("tokens") as usize) * 2 < whole.len() / 4,
        "the view is a fraction of the file"
    );
    // The imports and the function using clock.now in full, the rest outlined.
    assert!(text.contains("import clock\n"));
    assert!(text.contains(
        "def stamp():\n    \"\"\"When the report was made.\"\"\"\n    return clock.now()\n"
    ));
    assert!(!text.contains("return sum(r[7] for r in rows)"));
    assert!(text.contains("def total_7(rows)\n"));
    let view_text = text
        .split("## Files of this batch")
        .nth(1)
        .expect("files section");
    insta::assert_snapshot!("focused_view", view_text);
}

#[test]
fn edits_apply_to_the_real_file_inside_and_outside_the_regions_shown() {
    let repo = repo();
    let dir = repo.path();
    let model = FakeModel::start(Box::new(|r, _| {
        let prompt = prompt_of(r);
        let answer = if prompt.contains("report.py (a focused view") {
            // One edit in a shown region, one in a function only the outline names.
            "report.py\n<<<<<<< SEARCH\n    return clock.now()\n=======\n    return clock.now()  # stamped\n>>>>>>> REPLACE\n\
             report.py\n<<<<<<< SEARCH\n    return sum(r[7] for r in rows)\n=======\n    return sum(r[7] for r in rows)  # checked\n>>>>>>> REPLACE\n"
                .to_string()
        } else {
            "clock.py\n<<<<<<< SEARCH\ndef now():\n=======\ndef now():  # the clock\n>>>>>>> REPLACE\n"
                .to_string()
        };
        (200, Vec::new(), chat_answer(&answer))
    }));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    let out = Ripple::new(dir)
        .args(&["run", "stamp.toml", "--model", &spec])
        .output();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("report.py")).expect("read");
    assert!(text.contains("    return clock.now()  # stamped\n"));
    assert!(text.contains("    return sum(r[7] for r in rows)  # checked\n"));
    // Everything else is as it was.
    let expected = big_module()
        .replace(
            "    return clock.now()\n",
            "    return clock.now()  # stamped\n",
        )
        .replace(
            "    return sum(r[7] for r in rows)\n",
            "    return sum(r[7] for r in rows)  # checked\n",
        );
    assert_eq!(text, expected);
    let commits = commits_between(dir, "main", "ripple/stamp");
    assert!(!commits.is_empty());
    assert_each_commit_passes(dir, &commits, PYTEST, "ripple/stamp");
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
}

/// Batches of a model step are planned in prompt tokens, with the context stage's own
/// assembly: on generated repositories of files of every size (some over the focus threshold,
/// some using many contracts) without import cycles, no planned batch is over its budget when
/// explained, and no contract is dropped for room.
#[test]
fn planned_batches_fit_their_budget_when_explained() {
    for seed in [1u64, 7, 42] {
        let mut state = seed;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut files: Vec<(String, String)> = vec![(
            "clock.py".into(),
            "def now():\n    \"\"\"The time.\"\"\"\n    return 12\n".into(),
        )];
        let modules = 24;
        for m in 0..modules {
            let mut s = String::from("import clock\n");
            // Imports of earlier modules only: a cycle is one unit and may be oversized.
            let imports = if m == 0 { 0 } else { next(4) };
            for i in 0..imports {
                let other = next(m);
                s.push_str(&format!("from lib{other} import helper_{other}_{i}\n"));
            }
            s.push('\n');
            let functions = 2 + next(120);
            for f in 0..functions {
                s.push_str(&format!(
                    "\ndef helper_{m}_{f}(rows, scale=1):\n    \"\"\"Scaled sum number {f} of module {m}.\"\"\"\n    return sum(r * scale + {f} for r in rows)\n\n"
                ));
            }
            s.push_str(&format!("\ndef stamp_{m}():\n    return clock.now()\n"));
            files.push((format!("lib{m}.py"), s));
        }
        files.push((
            "stamp.toml".into(),
            "name = \"stamp\"\n[[step]]\nkind = \"model\"\ninstructions = \"Mark every time stamp.\"\nselect = { references = [\"clock.now\"] }\n[batch]\nmax_files = 6\nmax_tokens = 12000\n".into(),
        ));
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let repo = repo_with_files(&borrowed);
        let dir = repo.path();
        let plan: serde_json::Value =
            serde_json::from_str(&ripple_ok(dir, &["plan", "stamp.toml", "--format", "json"]))
                .expect("plan");
        let batches = plan["totals"]["batches"].as_u64().expect("batches");
        assert!(batches >= 3, "seed {seed}: {batches} batches");
        for k in 1..=batches {
            let json: serde_json::Value = serde_json::from_str(&ripple_ok(
                dir,
                &[
                    "explain",
                    "stamp.toml",
                    "--batch",
                    &k.to_string(),
                    "--format",
                    "json",
                ],
            ))
            .expect("json");
            let (tokens, budget) = (json["tokens"].as_u64(), json["budget"].as_u64());
            assert_eq!(budget, Some(12_000));
            assert!(
                tokens <= budget,
                "seed {seed} batch {k}: {tokens:?} > {budget:?}"
            );
            assert_eq!(
                json["dropped"],
                serde_json::json!([]),
                "seed {seed} batch {k}"
            );
        }
    }
}
