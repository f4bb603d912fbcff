//! Which commits `git ripple check` proves green and with what: by default the commits of the
//! most recent run (finished or not) on its branch, judged by that run's recipe; for a range,
//! each commit by the recipe its `Ripple-Recipe` trailer names (the run of that recipe, else
//! the repository's or a bundled recipe of that name), commits without trailers by the most
//! recent run's recipe, or by `--recipe` for all.

use std::sync::atomic::AtomicBool;

use super::RunError;
use super::state::{self, RunState};
use crate::recipe::{Recipe, find_recipe, parse_recipe};
use crate::scan::Repository;
use crate::vcs;
use crate::verify::check::{CheckOptions, CheckReport, CommitCheck, CommitToCheck, check_commits};

/// What to check.
pub struct CheckRequest<'a> {
    /// `A..B` or one revision; `None`: the most recent run's commits.
    pub range: Option<&'a str>,
    /// Judge every commit by this recipe instead.
    pub recipe: Option<Recipe>,
    /// Commits checked at once.
    pub jobs: usize,
    /// Use (and keep) cached results.
    pub use_cache: bool,
    /// Ctrl-C.
    pub interrupt: &'a AtomicBool,
}

/// A recipe's verify commands and sandbox, for one commit.
fn judged_by(recipe: &Recipe, commit: vcs::CommitInfo) -> CommitToCheck {
    CommitToCheck {
        commit,
        commands: recipe.verify.commands.clone(),
        final_commands: recipe.verify.final_commands.clone(),
        timeout: recipe.verify.timeout,
        sandbox: super::batches::verify_sandbox(recipe, &super::RunOptions::default()),
    }
}

/// A run's recipe, as it was when it began, with `git config ripple.verify` for a recipe that
/// has no commands.
fn recipe_of(repo: &Repository, run: &RunState) -> Result<Recipe, RunError> {
    let mut recipe = parse_recipe(run.recipe.source())?;
    super::apply_git_config(repo, &mut recipe);
    Ok(recipe)
}

/// The commits to check and what judges each.
pub fn check_targets(
    repo: &Repository,
    request: &CheckRequest<'_>,
) -> Result<Vec<CommitToCheck>, RunError> {
    let git_dir = repo.repo.git_dir();
    let latest = state::load_latest(git_dir)?;
    let ids = match request.range {
        Some(range) => vcs::commits_in_range(&repo.repo, range)?,
        None => {
            let run = latest.as_ref().ok_or(RunError::NothingToCheck {
                reason: "there is no run in this repository".to_string(),
            })?;
            let start =
                gix::ObjectId::from_hex(run.started_from.commit.as_bytes()).map_err(|e| {
                    vcs::VcsError::Git {
                        what: "read the run's start",
                        message: e.to_string(),
                    }
                })?;
            vcs::run_commits(&repo.repo, &run.branch, start, &run.recipe.name)?
        }
    };
    if let Some(recipe) = &request.recipe {
        let mut recipe = recipe.clone();
        super::apply_git_config(repo, &mut recipe);
        return ids
            .into_iter()
            .map(|id| Ok(judged_by(&recipe, vcs::commit_info(&repo.repo, id)?)))
            .collect();
    }
    let fallback = latest.as_ref().map(|r| recipe_of(repo, r)).transpose()?;
    let runs = state::load_all(git_dir);
    let mut by_name: Vec<(String, Recipe)> = Vec::new();
    let mut out = Vec::new();
    for id in ids {
        let info = vcs::commit_info(&repo.repo, id)?;
        let recipe = match (&info.recipe, &fallback) {
            (Some(name), Some(run)) if &run.name == name => run.clone(),
            (Some(name), _) => match by_name.iter().find(|(n, _)| n == name) {
                Some((_, r)) => r.clone(),
                None => {
                    let recipe = match runs.iter().find(|r| &r.recipe.name == name) {
                        Some(run) => recipe_of(repo, run)?,
                        None => {
                            let mut r = parse_recipe(find_recipe(&repo.root, &repo.root, name)?)?;
                            super::apply_git_config(repo, &mut r);
                            r
                        }
                    };
                    by_name.push((name.clone(), recipe.clone()));
                    recipe
                }
            },
            (None, _) => fallback.clone().ok_or_else(|| RunError::NothingToCheck {
                reason: format!(
                    "commit {} has no Ripple-Recipe trailer and there is no run to take verify commands from",
                    info.id.to_hex_with_len(10)
                ),
            })?,
        };
        out.push(judged_by(&recipe, info));
    }
    if out
        .iter()
        .any(|c| c.commands.is_empty() && c.final_commands.is_empty())
    {
        return Err(RunError::NothingToCheck {
            reason: "the recipe has no verify commands".to_string(),
        });
    }
    Ok(out)
}

/// Check what `request` names.
pub fn check(
    repo: &Repository,
    request: &CheckRequest<'_>,
    progress: &(dyn Fn(&CommitCheck) + Sync),
) -> Result<CheckReport, RunError> {
    let targets = check_targets(repo, request)?;
    let options = CheckOptions {
        jobs: request.jobs,
        use_cache: request.use_cache,
        interrupt: request.interrupt,
    };
    let report = check_commits(&repo.repo, &repo.root, &targets, &options, progress)?;
    // A whole check of a run's own commits is what its report shows.
    if request.range.is_none()
        && request.recipe.is_none()
        && !report.interrupted
        && let Some(run) = state::load_latest(repo.repo.git_dir())?
    {
        state::save_check(repo.repo.git_dir(), &run.id, &redacted(report.clone()))?;
    }
    Ok(report)
}

/// A check as reports show and keep it: what a test printed is redacted (it can hold a
/// secret), and each commit's full output is dropped (the first red one keeps its tail).
pub fn redacted(mut report: CheckReport) -> CheckReport {
    use crate::context::redact;
    if let Some(red) = &mut report.first_red {
        red.output = redact(&red.output);
        red.summary = redact(&red.summary);
    }
    for c in &mut report.commits {
        for r in &mut c.commands {
            r.summary = redact(&r.summary);
        }
        c.output.clear();
    }
    report
}
