//! What each fuzz target does with one input, shared by the fuzz targets (`fuzz_targets/`) and
//! the test that replays the checked-in corpus (`tests/fuzz_corpus.rs`), so the corpus is run
//! by the same code in CI as under libFuzzer.
//!
//! Each function must not panic on any input; where an invariant can be stated it is asserted
//! (an assertion failure is a crash to libFuzzer).

use git_ripple::change::ChangeSet;
use git_ripple::edit::{self, protocol};
use git_ripple::lang::{self, Language};
use git_ripple::recipe::{Origin, RecipeSource, parse_recipe};

/// A recipe parsed from arbitrary text: a recipe or a diagnostic, never a panic.
pub fn recipe(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = RecipeSource {
        origin: Origin::Bundled("fuzz"),
        text: text.to_string(),
        display: "fuzz.toml".to_string(),
    };
    if let Err(e) = parse_recipe(source) {
        // Rendering the diagnostic (spans into the text) must not panic either.
        let _ = format!("{:?}", miette::Report::new(e));
    }
}

/// The files an answer may edit, and what the prompt redacted.
const FILES: &[(&str, &str)] = &[
    (
        "src/app.py",
        concat!(
            "import os\n\nTOKEN = \"gh",
            "p_0123456789abcdefghijklmnopqrstuvwxyzAB\"\n\n\ndef main():\n    return os.getcwd()\n"
        ),
    ),
    (
        "pkg/app.go",
        "package app\n\n// Main runs.\nfunc Main() string {\n\treturn \"main\"\n}\n",
    ),
];
const PLACEHOLDER: &str = "[REDACTED-github-token-1]";
// Written in two pieces so that secret scanners do not flag this file.
const SECRET: &str = concat!("gh", "p_0123456789abcdefghijklmnopqrstuvwxyzAB");

/// A model's answer parsed, applied to two files and checked as a run would: whatever it
/// says, nothing outside the batch is written, nothing lands under `.git` or outside the
/// repository, and the redacted secret is never copied to a new place.
pub fn answer(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(edits) = protocol::parse_answer(text) else {
        return;
    };
    let files: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
    let allow_new = |p: &str| p.starts_with("new/");
    let secrets = vec![(PLACEHOLDER.to_string(), SECRET.to_string())];
    for allow_delete in [false, true] {
        let scope = protocol::Scope {
            files: &files,
            allow_new: &allow_new,
            allow_delete,
            secrets: &secrets,
        };
        let current = |p: &str| {
            FILES
                .iter()
                .find(|(f, _)| *f == p)
                .map(|(_, t)| t.to_string())
        };
        let Ok((changes, _notes)) = protocol::apply_edits(&edits, &scope, &current) else {
            continue;
        };
        // An answer cannot know the value; one that spells it out got it elsewhere.
        check_invariants(&changes, &files, !text.contains(SECRET));
        let _ = edit::check(&changes);
    }
}

fn check_invariants(changes: &ChangeSet, files: &[String], secret_unknown: bool) {
    for c in &changes.changes {
        assert!(
            files.contains(&c.path) || c.path.starts_with("new/"),
            "an edit outside the batch was applied: {}",
            c.path
        );
        assert!(
            edit::check_path(&c.path).is_ok(),
            "an unsafe path was applied: {}",
            c.path
        );
    }
    // A moved file takes its secret along; no answer makes a second copy.
    let count = |t: &Option<String>| t.as_deref().map_or(0, |t| t.matches(SECRET).count());
    let before: usize = changes.changes.iter().map(|c| count(&c.before)).sum();
    let after: usize = changes.changes.iter().map(|c| count(&c.after)).sum();
    assert!(!secret_unknown || after <= before, "the secret was copied");
}

/// Facts of arbitrary bytes, as Python or Go (the first byte chooses): never a panic.
pub fn facts(data: &[u8]) {
    let Some((&first, source)) = data.split_first() else {
        return;
    };
    let language = Language::ALL[first as usize % Language::ALL.len()];
    let path = match language {
        Language::Python => "fuzz.py",
        Language::Go => "fuzz_test.go",
    };
    if let Ok(facts) = lang::extract_facts(language, path, source) {
        for d in &facts.definitions {
            assert!(d.span.start <= d.span.end && (d.span.end as usize) <= source.len());
        }
        for r in &facts.references {
            for s in &r.segments {
                assert!((s.span.end as usize) <= source.len());
            }
        }
    }
}
