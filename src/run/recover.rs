//! Recovering runs: `resume` after an interruption (putting back a half-applied batch, or
//! recognising one committed just before the process died) and `abort` (back to where the run
//! began).

use std::time::Instant;

use serde::Serialize;

use super::report::{BatchStatus, RunReport, StartPoint};
use super::state::{self, RunState, RunStatus, StateError};
use super::{Event, Hooks, RunError, RunOptions, batches, preflight};
use crate::change::{ChangeSet, FileChange};
use crate::edit;
use crate::recipe::{BUNDLED, parse_recipe, text_hash};
use crate::scan::Repository;
use crate::vcs::{self, VcsError};

/// Continue the run in progress after Ctrl-C, `kill -9`, a crash or a failed batch: put back a
/// half-applied batch (or notice that it was committed just before the process died), check
/// that nobody moved the branch or changed the recipe, and carry out the remaining batches.
pub fn resume_run(
    repo: &Repository,
    options: &RunOptions,
    force: bool,
    on_event: &mut dyn Hooks,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let git_dir = repo.repo.git_dir().to_path_buf();
    let mut state = state::load_current(&git_dir)?.ok_or(RunError::NoRun)?;
    // The recipe as it was when the run began is what the run carries out.
    let now = match &state.recipe.path {
        Some(p) => std::fs::read_to_string(p).ok(),
        None => BUNDLED
            .iter()
            .find(|(n, _)| *n == state.recipe.name)
            .map(|(_, t)| t.to_string()),
    };
    if now.as_deref().map(text_hash).as_deref() != Some(state.recipe.hash.as_str()) && !force {
        return Err(RunError::RecipeChanged {
            display: state.recipe.display.clone(),
        });
    }
    let source = state.recipe.source();
    let recipe = parse_recipe(source)?;
    let head = vcs::head_state(&repo.repo)?;
    let run_ref = format!("refs/heads/{}", state.branch);
    if head.branch.as_deref() != Some(run_ref.as_str()) {
        return Err(RunError::NotOnRunBranch {
            branch: state.branch.clone(),
        });
    }
    let expected = last_commit(&state)?;
    if let Some(ip) = state.in_progress.take() {
        let slot = ip.batch - 1;
        if head.commit != expected
            && vcs::is_batch_commit(
                &repo.repo,
                head.commit,
                expected,
                &state.recipe.name,
                ip.batch,
            )?
        {
            // The commit was made just before the process died: keep it, fix the index.
            vcs::reset_index(&repo.repo, head.commit)?;
            let b = &mut state.batches[slot];
            b.status = BatchStatus::Committed;
            b.commit = Some(head.commit.to_hex().to_string());
            b.files = ip.files.iter().map(|f| f.path.clone()).collect();
            b.notes
                .push("committed just before the run was interrupted".to_string());
        } else {
            let changes = ChangeSet {
                changes: ip
                    .files
                    .iter()
                    .map(|f| FileChange {
                        path: f.path.clone(),
                        before: f.before.clone(),
                        after: None,
                    })
                    .collect(),
            };
            edit::restore(&repo.root, &changes).map_err(RunError::Write)?;
        }
        state.save(&git_dir)?;
    }
    let expected = last_commit(&state)?;
    if head.commit != expected && !force {
        return Err(RunError::Vcs(VcsError::HeadMoved {
            expected: expected.to_hex().to_string(),
            found: head.commit.to_hex().to_string(),
        }));
    }
    preflight::clean_tree(repo)?;
    on_event.event(Event::Planned { plan: &state.plan });
    state.status = RunStatus::Running;
    state.outcome = None;
    state.last_error = None;
    state.save(&git_dir)?;
    let options = RunOptions {
        keep_going: state.keep_going || options.keep_going,
        ..preflight::with_model(options, &recipe)?
    };
    if let Some(client) = &options.model {
        client.record_to(state::transcript_path(&git_dir, &state.id));
    }
    batches::execute(repo, &recipe, &mut state, &options, on_event, started)
}

/// The commit the run's branch should be at: the last committed batch's, or where it began.
fn last_commit(state: &RunState) -> Result<gix::ObjectId, RunError> {
    let hex = state
        .batches
        .iter()
        .rev()
        .find_map(|b| b.commit.clone())
        .unwrap_or_else(|| state.started_from.commit.clone());
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(|e| {
        RunError::State(StateError::Read {
            path: state.id.clone(),
            message: e.to_string(),
        })
    })
}

/// What `abort` did.
#[derive(Debug, Clone, Serialize)]
pub struct AbortReport {
    /// The run's id.
    pub id: String,
    /// Where HEAD and the files are now.
    pub restored_to: StartPoint,
    /// The run's branch.
    pub branch: String,
    /// Whether the branch was deleted (`--delete-branch`).
    pub branch_deleted: bool,
}

/// Go back to where the run began: the original branch checked out with its files exactly as
/// they were; the run's branch is kept unless `delete_branch`.
pub fn abort_run(repo: &Repository, delete_branch: bool) -> Result<AbortReport, RunError> {
    let git_dir = repo.repo.git_dir().to_path_buf();
    let mut state = state::load_current(&git_dir)?.ok_or(RunError::NoRun)?;
    let mut touched: std::collections::BTreeSet<String> = state
        .batches
        .iter()
        .filter(|b| b.status == BatchStatus::Committed)
        .flat_map(|b| b.files.iter().cloned())
        .collect();
    if let Some(ip) = state.in_progress.take() {
        touched.extend(ip.files.into_iter().map(|f| f.path));
    }
    // Anything else changed in the work tree is the user's: refuse rather than lose it.
    let dirty: Vec<String> = vcs::dirty_files(&repo.repo)?
        .into_iter()
        .filter(|f| !touched.contains(f))
        .collect();
    if !dirty.is_empty() {
        return Err(RunError::Dirty { files: dirty });
    }
    let start = gix::ObjectId::from_hex(state.started_from.commit.as_bytes()).map_err(|e| {
        RunError::State(StateError::Read {
            path: state.id.clone(),
            message: e.to_string(),
        })
    })?;
    let changes = ChangeSet {
        changes: touched
            .iter()
            .map(|path| {
                Ok(FileChange {
                    path: path.clone(),
                    before: vcs::file_at(&repo.repo, start, path)?,
                    after: None,
                })
            })
            .collect::<Result<_, VcsError>>()?,
    };
    edit::restore(&repo.root, &changes).map_err(RunError::Write)?;
    match &state.started_from.branch {
        Some(b) => vcs::switch_head(&repo.repo, &format!("refs/heads/{b}"), "git ripple abort")?,
        None => vcs::detach_head(&repo.repo, start)?,
    }
    vcs::reset_index(&repo.repo, start)?;
    let mut branch_deleted = false;
    if delete_branch && state.started_from.branch.as_deref() != Some(state.branch.as_str()) {
        vcs::delete_branch(&repo.repo, &state.branch)?;
        branch_deleted = true;
    }
    state.status = RunStatus::Aborted;
    state.save(&git_dir)?;
    Ok(AbortReport {
        id: state.id.clone(),
        restored_to: state.started_from.clone(),
        branch: state.branch.clone(),
        branch_deleted,
    })
}
