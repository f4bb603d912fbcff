//! Run state: what a run has done so far, kept under `.git/ripple/runs/<id>/state.json` so that
//! `status`, `resume` and `abort` work after Ctrl-C, `kill -9`, a crash or a reboot.
//!
//! The state is rewritten at every step of a batch, atomically (a temporary file renamed over
//! the old one), so a reader never sees half a file. `.git/ripple/current` names the run in
//! progress. Before a batch's files are written, their previous contents are saved in the
//! state (`in_progress`), so a batch interrupted anywhere can be put back exactly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::time::Instant;

use super::report::{self, BatchReport, Outcome, RunReport, StartPoint};
use crate::change::ChangeSet;
use crate::plan::Plan;
use crate::recipe::{BUNDLED, Origin, Recipe, RecipeSource};
use crate::transform::Usage;
use crate::verify::CommandResult;

/// The state file's format version.
pub const VERSION: u32 = 2;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Batches are being carried out (or the process died while they were).
    Running,
    /// Stopped by Ctrl-C; resumable.
    Interrupted,
    /// Stopped on a failed batch; resumable (the failed batch is tried again).
    Stopped,
    /// Every batch done; the branch is ready for review.
    Done,
    /// Given up: back where it began.
    Aborted,
}

/// The recipe a run carries out, as it was when the run began.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecipeRecord {
    /// The recipe's name.
    pub name: String,
    /// How messages name it.
    pub display: String,
    /// The file it was read from (absolute), or `None` for a bundled recipe.
    pub path: Option<PathBuf>,
    /// Git blob id of the text: a changed recipe is noticed on resume.
    pub hash: String,
    /// Its text, as the run carries it out.
    pub text: String,
}

impl RecipeRecord {
    /// The recipe's text as the run began, to parse again (errors still point into it).
    pub fn source(&self) -> RecipeSource {
        RecipeSource {
            origin: match &self.path {
                Some(p) => Origin::File(p.clone()),
                None => BUNDLED
                    .iter()
                    .find(|(n, _)| *n == self.name)
                    .map(|(n, _)| Origin::Bundled(n))
                    .unwrap_or(Origin::File(PathBuf::from(&self.display))),
            },
            text: self.text.clone(),
            display: self.display.clone(),
        }
    }
}

/// A file of the batch in progress, as it was before the batch (`None`: it did not exist).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFile {
    /// The file.
    pub path: String,
    /// Its text before the batch.
    pub before: Option<String>,
}

/// The batch whose files may be on disk but not committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InProgress {
    /// The batch.
    pub batch: usize,
    /// Its files before it.
    pub files: Vec<SavedFile>,
}

/// Everything needed to report on, resume or abort a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The format version (see [`VERSION`]).
    pub version: u32,
    /// The run's id: the recipe's name and when it began.
    pub id: String,
    /// The recipe, as it was when the run began.
    pub recipe: RecipeRecord,
    /// Where the run began.
    pub started_from: StartPoint,
    /// The run's branch (short name).
    pub branch: String,
    /// Where it stands.
    pub status: RunStatus,
    /// The plan being carried out.
    pub plan: Plan,
    /// One per planned batch, in order (`not_run` until reached).
    pub batches: Vec<BatchReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The batch whose files may be written but not committed.
    pub in_progress: Option<InProgress>,
    /// Whether a failed batch is skipped rather than stopping the run.
    pub keep_going: bool,
    /// `run --batch K`: the one batch this run carries out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<usize>,
    /// What earlier model batches did, carried into later prompts (capped).
    #[serde(default)]
    pub ledger: Vec<crate::context::LedgerEntry>,
    /// Model tokens used so far.
    #[serde(default)]
    pub tokens: crate::model::Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why the run last stopped.
    pub last_error: Option<String>,
    /// The verify commands on the starting tree (what "no new failures" compares with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<report::Baseline>,
    /// How the run last ended (`None` while a batch is under way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The recipe's `final` commands, as they last ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub final_verify: Vec<CommandResult>,
    /// Milliseconds since the Unix epoch.
    pub updated_ms: u64,
}

/// Why the state could not be read or written. Stop: without it a run cannot be resumed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    #[error("cannot write the run state in {path}: {source}")]
    #[diagnostic(code(ripple::state::write))]
    /// The state file could not be written.
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The state file is missing, damaged or written by another version.
    #[error("cannot read the run state {path}: {message}")]
    #[diagnostic(
        code(ripple::state::read),
        help(
            "the file is git-ripple's own; if it is damaged, `git ripple abort` cannot use it either: switch branches with git and delete .git/ripple/current"
        )
    )]
    Read {
        /// The file.
        path: String,
        /// Why it cannot be used.
        message: String,
    },
}

fn ripple_dir(git_dir: &Path) -> PathBuf {
    git_dir.join("ripple")
}

fn state_path(git_dir: &Path, id: &str) -> PathBuf {
    ripple_dir(git_dir).join("runs").join(id).join("state.json")
}

/// Write `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let err = |source| StateError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

impl RunState {
    /// The report of the run as it stands.
    pub fn report(
        &self,
        outcome: Outcome,
        final_verify: Vec<CommandResult>,
        started: Instant,
    ) -> RunReport {
        RunReport {
            recipe: self.recipe.name.clone(),
            dry_run: false,
            branch: Some(self.branch.clone()),
            started_from: self.started_from.clone(),
            outcome,
            commits: self
                .batches
                .iter()
                .filter_map(|b| b.commit.clone())
                .collect(),
            files_changed: report::distinct_files(&self.batches),
            // A `--batch K` run reports on its one batch.
            batches: self
                .batches
                .iter()
                .filter(|b| self.only.is_none_or(|k| k == b.index))
                .cloned()
                .collect(),
            final_verify,
            duration_ms: started.elapsed().as_millis() as u64,
            tokens: self.tokens,
            transcript: None,
            baseline: self.baseline.clone(),
            check: None,
            run_id: Some(self.id.clone()),
            unsure: self
                .plan
                .steps
                .iter()
                .flat_map(|s| s.unsure.iter().cloned())
                .collect(),
            reproduce: Vec::new(),
        }
    }

    /// The report of the run as it was left, for `git ripple report`: the time is what its
    /// batches and final commands took; the check is the last one of exactly its commits.
    pub fn recorded_report(&self, git_dir: &Path) -> RunReport {
        let outcome = self.outcome.unwrap_or(match self.status {
            RunStatus::Interrupted | RunStatus::Running => Outcome::Interrupted,
            _ => Outcome::Success,
        });
        let mut report = self.report(outcome, self.final_verify.clone(), Instant::now());
        report.duration_ms = self.batches.iter().map(|b| b.duration_ms).sum::<u64>()
            + self.final_verify.iter().map(|c| c.duration_ms).sum::<u64>();
        report.check = load_check(git_dir, &self.id).filter(|c| {
            c.commits
                .iter()
                .map(|c| c.commit.as_str())
                .eq(report.commits.iter().map(String::as_str))
        });
        report.reproduce = self.reproduce(git_dir);
        report
    }

    /// Commands that carry the run out again from where it began, onto a branch beside the
    /// run's: the same start, the recipe (a path when it was not the repository's or a bundled
    /// one), and the model's recorded answers when it had model steps, so the same commits
    /// come out with no model and no network.
    fn reproduce(&self, git_dir: &Path) -> Vec<String> {
        let start = &self.started_from.commit;
        let mut out = vec![format!(
            "git switch --detach {}",
            &start[..start.len().min(12)]
        )];
        let recipe = match &self.recipe.path {
            Some(path) if !path.components().any(|c| c.as_os_str() == ".ripple") => {
                let root = git_dir.parent().unwrap_or(git_dir);
                path.strip_prefix(root)
                    .unwrap_or(path)
                    .display()
                    .to_string()
            }
            _ => self.recipe.name.clone(),
        };
        // Beside the run's own branch, which exists already.
        let mut run = format!("git ripple run {recipe} --branch {}-again", self.branch);
        if transcript_path(git_dir, &self.id).is_file() {
            run.push_str(&format!(
                " --replay .git/ripple/runs/{}/transcript.jsonl",
                self.id
            ));
        }
        out.push(run);
        out
    }

    /// The state of a run about to carry out `plan` on `branch`: every batch not run yet.
    pub fn start(
        recipe: &Recipe,
        started_from: StartPoint,
        branch: String,
        plan: Plan,
        keep_going: bool,
        only: Option<usize>,
    ) -> RunState {
        let batches = plan
            .steps
            .iter()
            .flat_map(|s| {
                s.batches
                    .iter()
                    .map(move |b| BatchReport::not_run(b, s.index))
            })
            .collect();
        RunState {
            version: VERSION,
            id: new_id(&recipe.name),
            recipe: RecipeRecord {
                name: recipe.name.clone(),
                display: recipe.source.display_name(),
                path: match &recipe.source.origin {
                    Origin::File(p) => Some(std::path::absolute(p).unwrap_or_else(|_| p.clone())),
                    Origin::Bundled(_) => None,
                },
                hash: recipe.hash(),
                text: recipe.source.text.clone(),
            },
            started_from,
            branch,
            status: RunStatus::Running,
            plan,
            batches,
            in_progress: None,
            keep_going,
            only,
            ledger: Vec::new(),
            tokens: crate::model::Usage::default(),
            last_error: None,
            baseline: None,
            outcome: None,
            final_verify: Vec::new(),
            updated_ms: 0,
        }
    }

    /// Record the previous contents of every file the batch changes (a repair may add files),
    /// so an interrupted batch can be put back exactly.
    pub fn begin_batch(&mut self, batch: usize, changes: &ChangeSet) {
        self.in_progress = Some(InProgress {
            batch,
            files: changes
                .changes
                .iter()
                .map(|c| SavedFile {
                    path: c.path.clone(),
                    before: c.before.clone(),
                })
                .collect(),
        });
    }

    /// Count model tokens.
    pub fn add_tokens(&mut self, usage: Usage) {
        self.tokens += usage;
    }

    /// Save the state and mark it as the current run.
    pub fn save(&mut self, git_dir: &Path) -> Result<(), StateError> {
        self.updated_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let json = serde_json::to_vec_pretty(self).map_err(|e| StateError::Write {
            path: self.id.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomically(&state_path(git_dir, &self.id), &json)?;
        let current = ripple_dir(git_dir).join("current");
        match self.status {
            RunStatus::Done | RunStatus::Aborted => match std::fs::remove_file(&current) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(StateError::Write {
                    path: current.display().to_string(),
                    source,
                }),
            },
            _ => write_atomically(&current, format!("{}\n", self.id).as_bytes()),
        }
    }
}

/// Where a run's model requests and responses are appended.
pub fn transcript_path(git_dir: &Path, id: &str) -> PathBuf {
    ripple_dir(git_dir)
        .join("runs")
        .join(id)
        .join("transcript.jsonl")
}

/// Where a dry run that asked a model appends its requests and responses.
pub fn dry_run_transcript_path(git_dir: &Path, id: &str) -> PathBuf {
    ripple_dir(git_dir)
        .join("dry-runs")
        .join(id)
        .join("transcript.jsonl")
}

/// Where the last `git ripple check` of a run's commits is kept, for `report`.
fn check_path(git_dir: &Path, id: &str) -> PathBuf {
    ripple_dir(git_dir).join("runs").join(id).join("check.json")
}

/// Keep the check of a run's commits (a later check replaces it).
pub fn save_check(
    git_dir: &Path,
    id: &str,
    check: &crate::verify::check::CheckReport,
) -> Result<(), StateError> {
    let path = check_path(git_dir, id);
    let json = serde_json::to_vec_pretty(check).map_err(|e| StateError::Write {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(&path, &json)
}

/// The last check of a run's commits, if one was made (and can be read).
pub fn load_check(git_dir: &Path, id: &str) -> Option<crate::verify::check::CheckReport> {
    let text = std::fs::read_to_string(check_path(git_dir, id)).ok()?;
    serde_json::from_str(&text).ok()
}

/// A recorded run by its id.
pub fn load(git_dir: &Path, id: &str) -> Option<RunState> {
    let text = std::fs::read_to_string(state_path(git_dir, id)).ok()?;
    serde_json::from_str::<RunState>(&text)
        .ok()
        .filter(|s| s.version == VERSION)
}

/// The run in progress, if any.
pub fn load_current(git_dir: &Path) -> Result<Option<RunState>, StateError> {
    let current = ripple_dir(git_dir).join("current");
    let id = match std::fs::read_to_string(&current) {
        Ok(id) => id.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StateError::Read {
                path: current.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let path = state_path(git_dir, &id);
    let read_err = |message: String| StateError::Read {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| read_err(e.to_string()))?;
    let state: RunState = serde_json::from_str(&text).map_err(|e| read_err(e.to_string()))?;
    if state.version != VERSION {
        return Err(read_err(format!(
            "written by a git-ripple with state version {}, this one reads {VERSION}",
            state.version
        )));
    }
    Ok(Some(state))
}

/// Every run recorded in the repository (finished, aborted or not), most recently updated
/// first. States that cannot be read are left out.
pub fn load_all(git_dir: &Path) -> Vec<RunState> {
    let Ok(entries) = std::fs::read_dir(ripple_dir(git_dir).join("runs")) else {
        return Vec::new();
    };
    let mut runs: Vec<RunState> = entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("state.json")).ok())
        .filter_map(|text| serde_json::from_str::<RunState>(&text).ok())
        .filter(|s| s.version == VERSION)
        .collect();
    runs.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(b.id.cmp(&a.id)));
    runs
}

/// The run in progress, else the most recent one.
pub fn load_latest(git_dir: &Path) -> Result<Option<RunState>, StateError> {
    if let Some(current) = load_current(git_dir)? {
        return Ok(Some(current));
    }
    Ok(load_all(git_dir)
        .into_iter()
        .find(|s| s.status != RunStatus::Aborted))
}

/// The run a user names on the command line: a run id, else the latest run of a recipe
/// by that name; with no name, the current or most recent run.
pub fn find(git_dir: &Path, name: Option<&str>) -> Result<Option<RunState>, StateError> {
    let Some(name) = name else {
        return load_latest(git_dir);
    };
    if let Some(run) = load(git_dir, name) {
        return Ok(Some(run));
    }
    Ok(load_all(git_dir)
        .into_iter()
        .find(|r| r.recipe.name == name))
}

/// A run id: the recipe's name and when it began (sortable, readable, unique enough for one
/// repository).
pub fn new_id(recipe: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let safe: String = recipe
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{safe}-{now}")
}
