//! Transform cases: each folder `tests/cases/<name>/` is one recipe carried out on one
//! repository, its result compared whole.
//!
//! * `case.toml`: `fixture` (a folder of `fixtures/`; none: an empty repository), `recipe` (a
//!   bundled recipe's name; none: the folder's `recipe.toml`), `commits` (how many the run
//!   makes) and `check` (commands every commit must pass on its own, the real toolchains);
//! * `recipe.toml` (optional): the recipe, committed as `.ripple/recipes/<name>.toml`;
//! * `files/` (optional): files laid over the fixture and committed before the run;
//! * `expected.diff`: `git diff -M main <run branch>` after the run, compared whole.
//!   `RIPPLE_BLESS=1 cargo test` writes it from the current result instead.
//!
//! Every case also checks what every run promises: `main` is untouched, the work tree is clean
//! on the run's branch, and the fixture's decoys (`DECOY` lines) are byte for byte as before.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tempfile::TempDir;

use crate::common::{
    Ripple, assert_each_commit_passes, commit_all, commits_between, decoy_texts, empty_repo,
    fixture_repo, git,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    fixture: Option<String>,
    recipe: Option<String>,
    commits: usize,
    #[serde(default)]
    check: Vec<String>,
}

/// A case's repository, set up and committed, before the run.
pub struct Prepared {
    /// The repository.
    pub repo: TempDir,
    /// What `git ripple run` is given.
    pub recipe: String,
    name: String,
    case: CaseFile,
}

/// A case after its run, checked.
pub struct Ran {
    /// The repository, on the run's branch.
    pub repo: TempDir,
    /// The run's branch.
    pub branch: String,
    /// The run's commits, oldest first.
    pub commits: Vec<String>,
    /// The run's JSON report.
    pub report: serde_json::Value,
}

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(name)
}

fn copy_over(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read case files") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("create folder");
            copy_over(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy case file");
        }
    }
}

/// Set up case `name`'s repository.
pub fn prepare(name: &str) -> Prepared {
    let dir = folder(name);
    let text = std::fs::read_to_string(dir.join("case.toml")).expect("case.toml");
    let case: CaseFile = toml::from_str(&text).expect("a valid case.toml");
    let repo = match &case.fixture {
        Some(f) => fixture_repo(f),
        None => {
            let repo = empty_repo();
            git(repo.path(), &["config", "user.name", "Ripple User"]);
            git(
                repo.path(),
                &["config", "user.email", "user@ripple.invalid"],
            );
            repo
        }
    };
    if dir.join("files").is_dir() {
        copy_over(&dir.join("files"), repo.path());
    }
    let recipe = match &case.recipe {
        Some(bundled) => bundled.clone(),
        None => {
            let recipes = repo.path().join(".ripple/recipes");
            std::fs::create_dir_all(&recipes).expect("recipes folder");
            std::fs::copy(
                dir.join("recipe.toml"),
                recipes.join(format!("{name}.toml")),
            )
            .expect("copy recipe");
            name.to_string()
        }
    };
    if !git(repo.path(), &["status", "--porcelain"]).is_empty() {
        commit_all(repo.path(), "case setup");
    }
    Prepared {
        repo,
        recipe,
        name: name.to_string(),
        case,
    }
}

impl Prepared {
    /// Run the case's recipe and check its result.
    pub fn run(self) -> Ran {
        let dir = self.repo.path();
        let main_before = git(dir, &["rev-parse", "main"]);
        let report = Ripple::new(dir)
            .args(&["run", &self.recipe, "--format", "json"])
            .json();
        assert_eq!(report["outcome"], "success", "{}: {report:#}", self.name);
        let branch = report["branch"].as_str().expect("a run branch").to_string();
        let commits = commits_between(dir, "main", &branch);
        assert_eq!(commits.len(), self.case.commits, "{}: commits", self.name);
        assert_eq!(
            git(dir, &["rev-parse", "main"]),
            main_before,
            "main untouched"
        );
        assert_eq!(
            git(dir, &["symbolic-ref", "--short", "HEAD"]).trim(),
            branch,
            "HEAD on the run's branch"
        );
        assert_eq!(git(dir, &["status", "--porcelain"]), "", "clean work tree");

        let diff = git(dir, &["diff", "-M", "main", &branch]);
        let expected = folder(&self.name).join("expected.diff");
        if std::env::var_os("RIPPLE_BLESS").is_some() {
            std::fs::write(&expected, &diff).expect("write expected.diff");
        } else {
            let want = std::fs::read_to_string(&expected).unwrap_or_default();
            if want != diff {
                let changes = similar::TextDiff::from_lines(&want, &diff)
                    .unified_diff()
                    .header("expected.diff", "result")
                    .to_string();
                panic!(
                    "{}: the result differs from expected.diff (RIPPLE_BLESS=1 to accept it):\n{changes}",
                    self.name
                );
            }
        }
        if self.case.fixture.is_some() {
            assert_eq!(
                decoy_texts(dir, "main"),
                decoy_texts(dir, "HEAD"),
                "decoys untouched"
            );
        }
        let checks: Vec<Vec<&str>> = self
            .case
            .check
            .iter()
            .map(|c| c.split_whitespace().collect())
            .collect();
        let checks: Vec<&[&str]> = checks.iter().map(Vec::as_slice).collect();
        assert_each_commit_passes(dir, &commits, &checks, &branch);
        Ran {
            repo: self.repo,
            branch,
            commits,
            report,
        }
    }
}

/// Set up and run case `name`.
pub fn run_case(name: &str) -> Ran {
    prepare(name).run()
}

/// The cases run only for their result (the others are run by the tests in `run.rs` that
/// check more about them).
macro_rules! cases {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_case($name);
            }
        )*
        const PLAIN: &[&str] = &[$($name),*];
    };
}

cases! {
    python_utcnow => "python-utcnow",
    python_move_queries => "python-move-queries",
    go_move_store => "go-move-store",
    python_rename_order_class => "python-rename-order-class",
    python_rewrite_imports => "python-rewrite-imports",
}

/// The cases that tests elsewhere run (and check more about).
const CHECKED_ELSEWHERE: &[&str] = &[
    "python-rename-fetch-order",
    "go-rename-fetch-order",
    "go-ioutil",
    "go-rename-order-type",
    "python-two-steps",
    "go-generic-forwarder",
];

#[test]
fn every_case_folder_is_run() {
    let mut folders: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"))
            .expect("tests/cases")
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    folders.sort();
    let mut known: Vec<String> = PLAIN
        .iter()
        .chain(CHECKED_ELSEWHERE)
        .map(|s| s.to_string())
        .collect();
    known.sort();
    assert_eq!(folders, known, "every folder of tests/cases has a test");
}
