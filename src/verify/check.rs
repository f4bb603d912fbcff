//! Proof that every commit is green: each commit of a range exported into a scratch worktree of
//! its own, its verify commands widened to the whole tree (and on the last commit the final ones)
//! run there, in
//! parallel across commits, each result cached by tree, command and toolchains (see
//! [`super::cache`]). What `git ripple check` prints and `run --check` records.
//!
//! The scratch worktree must test its own code: Python commands get the tree's source roots
//! first on `PYTHONPATH` and a probe makes sure no top-level module would be imported from
//! somewhere else (an editable install of the original checkout); folders outside the
//! repository that the build reads (Go's `replace … => ../lib`) are linked in at the same
//! relative place.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::cache::{ResultCache, toolchains};
use super::scratch::{Scratch, ScratchError};
use super::{CommandResult, Sandbox, SpawnError, run_command};
use crate::lang::{Language, Manifests};
use crate::vcs::{self, CommitInfo, VcsError};

/// A commit and what judges it.
#[derive(Debug, Clone)]
pub struct CommitToCheck {
    /// The commit.
    pub commit: CommitInfo,
    /// The recipe's verify commands, as written (`{files}`, `{packages}` and `{tests}` are
    /// widened to the whole tree).
    pub commands: Vec<String>,
    /// The recipe's `final` commands (run on the last commit of a range only: they judge the
    /// finished change).
    pub final_commands: Vec<String>,
    /// Per command.
    pub timeout: Duration,
    /// What the commands may reach (the recipe's: credentials stripped when it has model
    /// steps, the network when it says so).
    pub sandbox: Sandbox,
}

/// How to check.
pub struct CheckOptions<'a> {
    /// Commits checked at once.
    pub jobs: usize,
    /// Use results cached before (and keep new ones).
    pub use_cache: bool,
    /// Set by Ctrl-C: the running commands stop, the rest is not checked.
    pub interrupt: &'a AtomicBool,
}

/// One command on one commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandCheck {
    /// The command, as run (widened).
    pub command: String,
    /// Whether it passed.
    pub success: bool,
    /// Its summary line.
    pub summary: String,
    /// How long it ran (when it ran before, how long it took then).
    pub duration_ms: u64,
    /// Taken from the cache: not run this time.
    pub cached: bool,
}

/// How one commit went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitCheck {
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub subject: String,
    /// Its tree (what results are cached by).
    pub tree: String,
    /// Every command passed.
    pub green: bool,
    /// Not checked: the check was interrupted first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_checked: bool,
    /// The commands, in order, up to the first that failed.
    pub commands: Vec<CommandCheck>,
    /// Why the commit is red without a command failing (its modules would be imported from
    /// somewhere else), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Things that make the result less certain (a `replace` folder that is not there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the failing command printed (its tail), for the report on the first red commit.
    #[serde(skip)]
    pub output: String,
}

/// The first commit that is not green, what failed and what it printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirstRed {
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub subject: String,
    /// The failing command (or the problem).
    pub command: String,
    /// Its summary line.
    pub summary: String,
    /// The tail of its output.
    pub output: String,
}

/// The whole check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    /// Every commit green (and every commit checked).
    pub bisect_clean: bool,
    /// Commits green.
    pub green: usize,
    /// Commits in the range.
    pub total: usize,
    /// The first red commit, in history order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_red: Option<FirstRed>,
    /// Stopped by Ctrl-C before every commit was checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Per commit, oldest first.
    pub commits: Vec<CommitCheck>,
    /// Commands run this time.
    pub commands_run: usize,
    /// Commands whose result came from the cache.
    pub commands_cached: usize,
    /// Commits checked at once.
    pub jobs: usize,
    /// Wall-clock time of the check.
    pub duration_ms: u64,
    /// The toolchains results are keyed by.
    pub toolchains: String,
}

impl CheckReport {
    /// The one-line verdict: `bisect-clean: 13/13 commits green`, or where it broke.
    pub fn headline(&self) -> String {
        if self.bisect_clean {
            format!("bisect-clean: {}/{} commits green", self.green, self.total)
        } else if let Some(red) = &self.first_red {
            format!(
                "not bisect-clean: {}/{} commits green; first red: {} {}",
                self.green,
                self.total,
                &red.commit[..red.commit.len().min(10)],
                red.subject
            )
        } else {
            format!(
                "not bisect-clean: {}/{} commits green (interrupted)",
                self.green, self.total
            )
        }
    }
}

/// Why a check could not be carried out (not: a commit is red). Stop.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckError {
    /// Reading the repository failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Vcs(#[from] VcsError),
    /// A scratch worktree could not be made.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Scratch(#[from] ScratchError),
    /// A command could not be started.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Spawn(#[from] SpawnError),
}

/// A tree's paths and manifests, read from git without writing anything.
fn tree_facts(
    repo: &gix::Repository,
    id: gix::ObjectId,
) -> Result<(Vec<String>, Manifests), VcsError> {
    let paths = vcs::tree_paths(repo, id)?;
    let mut manifests = Manifests::default();
    for p in paths.iter().filter(|p| Manifests::is_manifest(p)) {
        if let Some(text) = vcs::file_at(repo, id, p)? {
            manifests.files.push((p.clone(), text));
        }
    }
    Ok((paths, manifests))
}

/// Check one commit.
fn check_one(
    repo: &gix::Repository,
    real_root: &Path,
    target: &CommitToCheck,
    options: &CheckOptions<'_>,
    cache: &ResultCache,
    counts: (&AtomicUsize, &AtomicUsize),
    last: bool,
) -> Result<CommitCheck, CheckError> {
    let info = &target.commit;
    let tree = info.tree.to_hex().to_string();
    let mut out = CommitCheck {
        commit: info.id.to_hex().to_string(),
        subject: info.subject.clone(),
        tree: tree.clone(),
        green: false,
        not_checked: false,
        commands: Vec::new(),
        problem: None,
        warnings: Vec::new(),
        output: String::new(),
    };
    let (paths, manifests) = tree_facts(repo, info.id)?;
    let outside: Vec<String> = Language::ALL
        .iter()
        .flat_map(|l| l.support().outside_paths(&manifests))
        .collect();
    let (scratch, unreached) = Scratch::of_commit_reaching(repo, info.id, real_root, &outside)?;
    let root = scratch.root();
    for u in unreached {
        out.warnings.push(format!(
            "the build reads {u} (a go.mod `replace`), which is not there from {}; the check may fail where the repository would not",
            real_root.display()
        ));
    }
    let mut sandbox = target.sandbox.clone();
    for language in Language::ALL {
        sandbox
            .env
            .extend(language.support().verify_env(root, &manifests, &paths));
    }
    let mut commands = crate::plan::verify::fill_whole(root, &paths, &target.commands);
    if last {
        commands.extend(crate::plan::verify::fill_whole(
            root,
            &paths,
            &target.final_commands,
        ));
    }
    let mut probed = false;
    for command in commands {
        let cached = options
            .use_cache
            .then(|| cache.get(&tree, &command))
            .flatten();
        let from_cache = cached.is_some();
        let result: CommandResult = match cached {
            Some(r) => {
                counts.1.fetch_add(1, Ordering::Relaxed);
                r
            }
            None => {
                // Before the first command runs here: the tree's modules must be the ones
                // imported. (Cached results were only ever made after this passed.)
                if !probed {
                    probed = true;
                    let foreign: Vec<String> = Language::ALL
                        .iter()
                        .flat_map(|l| {
                            l.support()
                                .foreign_imports(root, &manifests, &paths, &sandbox.env)
                        })
                        .collect();
                    if !foreign.is_empty() {
                        out.problem = Some(format!(
                            "the commands would import this tree's modules from somewhere else ({}): an editable install or a PYTHONPATH entry shadows the checkout, so a green result would say nothing about the commit",
                            foreign.join(", ")
                        ));
                        out.commands.clear();
                        return Ok(out);
                    }
                }
                let r = run_command(root, &command, target.timeout, options.interrupt, &sandbox)?;
                counts.0.fetch_add(1, Ordering::Relaxed);
                if options.use_cache {
                    cache.put(&tree, &r);
                }
                r
            }
        };
        if result.interrupted {
            out.not_checked = true;
            out.commands.clear();
            return Ok(out);
        }
        let ok = result.success;
        out.commands.push(CommandCheck {
            command: result.command.clone(),
            success: ok,
            summary: result.summary.clone(),
            duration_ms: result.duration_ms,
            cached: from_cache,
        });
        if !ok {
            out.output = super::tail(&result.output, 60);
            return Ok(out);
        }
    }
    out.green = true;
    drop(scratch);
    Ok(out)
}

/// Check `commits` (oldest first), `options.jobs` at a time; `progress` hears of each as it
/// finishes (from the worker that checked it).
pub fn check_commits(
    repo: &gix::Repository,
    real_root: &Path,
    commits: &[CommitToCheck],
    options: &CheckOptions<'_>,
    progress: &(dyn Fn(&CommitCheck) + Sync),
) -> Result<CheckReport, CheckError> {
    let started = Instant::now();
    let cache = ResultCache::open(repo.git_dir());
    let real_root = real_root
        .canonicalize()
        .unwrap_or_else(|_| real_root.to_path_buf());
    let next = AtomicUsize::new(0);
    let run = AtomicUsize::new(0);
    let cached = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<CommitCheck, CheckError>>>> =
        Mutex::new((0..commits.len()).map(|_| None).collect());
    let jobs = options.jobs.clamp(1, commits.len().max(1));
    let shared = repo.clone().into_sync();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                // gix handles are per thread.
                let repo = shared.to_thread_local();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = commits.get(i) else { break };
                    let result = if options.interrupt.load(Ordering::SeqCst) {
                        Ok(not_checked(target))
                    } else {
                        check_one(
                            &repo,
                            &real_root,
                            target,
                            options,
                            &cache,
                            (&run, &cached),
                            i + 1 == commits.len(),
                        )
                    };
                    if let Ok(c) = &result {
                        progress(c);
                    }
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(result);
                    }
                }
            });
        }
    });
    let mut checked = Vec::with_capacity(commits.len());
    let all = results.into_inner().unwrap_or_default();
    for (i, r) in all.into_iter().enumerate() {
        checked.push(match r {
            Some(r) => r?,
            None => not_checked(&commits[i]),
        });
    }
    let green = checked.iter().filter(|c| c.green).count();
    let interrupted = checked.iter().any(|c| c.not_checked);
    let first_red = checked
        .iter()
        .find(|c| !c.green && !c.not_checked)
        .map(|c| {
            let failed = c.commands.iter().find(|r| !r.success);
            FirstRed {
                commit: c.commit.clone(),
                subject: c.subject.clone(),
                command: failed
                    .map(|f| f.command.clone())
                    .unwrap_or_else(|| "(before any command)".to_string()),
                summary: failed
                    .map(|f| f.summary.clone())
                    .or_else(|| c.problem.clone())
                    .unwrap_or_default(),
                output: c.output.clone(),
            }
        });
    Ok(CheckReport {
        bisect_clean: green == checked.len() && !interrupted,
        green,
        total: checked.len(),
        first_red,
        interrupted,
        commits: checked,
        commands_run: run.into_inner(),
        commands_cached: cached.into_inner(),
        jobs,
        duration_ms: started.elapsed().as_millis() as u64,
        toolchains: toolchains(),
    })
}

fn not_checked(target: &CommitToCheck) -> CommitCheck {
    CommitCheck {
        commit: target.commit.id.to_hex().to_string(),
        subject: target.commit.subject.clone(),
        tree: target.commit.tree.to_hex().to_string(),
        green: false,
        not_checked: true,
        commands: Vec::new(),
        problem: None,
        warnings: Vec::new(),
        output: String::new(),
    }
}
