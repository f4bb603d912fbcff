//! Git, through gix: is the work tree clean, which branch and commit are we on, create and
//! switch to the run's branch, and commit one batch. The only writer of git objects and refs.
//!
//! A commit is made without touching the work tree: blobs for the changed files, the HEAD tree
//! edited, a commit on top of HEAD (refused if HEAD moved since the run began), and the index
//! rewritten from the new tree so `git status` is clean. Nothing is ever pushed and no
//! existing commit is rewritten.

pub mod trailers;

use std::collections::BTreeSet;
use std::path::Path;

use gix::ObjectId;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use crate::change::ChangeSet;

/// Why a git operation failed. All stop the run (nothing half-done is left: a failed commit
/// leaves the batch's files written but uncommitted, and the run restores them).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum VcsError {
    /// gix reported an error.
    #[error("git: {what}: {message}")]
    #[diagnostic(code(ripple::git))]
    Git {
        /// What was being done.
        what: &'static str,
        /// gix's message.
        message: String,
    },
    /// No author or committer identity is configured.
    #[error("git has no identity to commit with")]
    #[diagnostic(
        code(ripple::git::identity),
        help(
            "set it like for any commit: git config user.name \"Your Name\" && git config user.email you@example.com"
        )
    )]
    NoIdentity,
    /// HEAD moved under the run (another process committed or switched branches).
    #[error("HEAD moved from {expected} to {found} while the run was working")]
    #[diagnostic(
        code(ripple::git::head_moved),
        help(
            "another git command changed the repository during the run; nothing was committed for this batch"
        )
    )]
    HeadMoved {
        /// The commit the run made last.
        expected: String,
        /// Where HEAD is.
        found: String,
    },
}

fn git_err(what: &'static str) -> impl FnOnce(gix::Error) -> VcsError {
    move |e| VcsError::Git {
        what,
        message: e.to_string(),
    }
}

/// Where the repository stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadState {
    /// `refs/heads/main`, or `None` when HEAD is detached.
    pub branch: Option<String>,
    /// The commit HEAD points at.
    pub commit: ObjectId,
}

/// The branch and commit HEAD points at.
pub fn head_state(repo: &gix::Repository) -> Result<HeadState, VcsError> {
    let commit = repo.head_id().map_err(git_err("read HEAD"))?.detach();
    let branch = repo
        .head_name()
        .map_err(git_err("read HEAD"))?
        .map(|n| n.as_bstr().to_string());
    Ok(HeadState { branch, commit })
}

/// Tracked files with changes, staged or not (untracked files are not listed).
pub fn dirty_files(repo: &gix::Repository) -> Result<Vec<String>, VcsError> {
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(git_err("status"))?
        .untracked_files(gix::status::UntrackedFiles::None)
        .into_iter(Vec::new())
        .map_err(git_err("status"))?;
    let mut out = BTreeSet::new();
    for item in iter {
        let item = item.map_err(git_err("status"))?;
        out.insert(item.location().to_string());
    }
    Ok(out.into_iter().collect())
}

/// Whether `path` is in the index.
pub fn is_tracked(repo: &gix::Repository, path: &str) -> Result<bool, VcsError> {
    let index = repo.index_or_empty().map_err(git_err("read the index"))?;
    Ok(index.entry_by_path(path.into()).is_some())
}

/// Whether a local branch exists.
pub fn branch_exists(repo: &gix::Repository, name: &str) -> Result<bool, VcsError> {
    Ok(repo
        .try_find_reference(format!("refs/heads/{name}").as_str())
        .map_err(git_err("look up a branch"))?
        .is_some())
}

/// Where a local branch points, if it exists.
pub fn branch_target(repo: &gix::Repository, name: &str) -> Result<Option<ObjectId>, VcsError> {
    let Some(mut reference) = repo
        .try_find_reference(format!("refs/heads/{name}").as_str())
        .map_err(git_err("look up a branch"))?
    else {
        return Ok(None);
    };
    let id = reference
        .peel_to_id()
        .map_err(git_err("read a branch"))?
        .detach();
    Ok(Some(id))
}

/// Create `refs/heads/NAME` at `at`, refusing if it exists; HEAD and the work tree stay.
pub fn create_branch(
    repo: &gix::Repository,
    name: &str,
    at: ObjectId,
    log: &str,
) -> Result<(), VcsError> {
    repo.reference(
        format!("refs/heads/{name}").as_str(),
        at,
        PreviousValue::MustNotExist,
        log,
    )
    .map_err(git_err("create the branch"))?;
    Ok(())
}

/// Create `refs/heads/NAME` at `at` (refusing if it exists) and point HEAD at it. The work
/// tree and index already match `at`, so nothing else changes.
pub fn create_and_switch(repo: &gix::Repository, name: &str, at: ObjectId) -> Result<(), VcsError> {
    let full = format!("refs/heads/{name}");
    repo.reference(
        full.as_str(),
        at,
        PreviousValue::MustNotExist,
        "branch: Created from HEAD by git-ripple",
    )
    .map_err(git_err("create the branch"))?;
    switch_head(repo, &full, "checkout: moving to the run's branch")
}

/// Point HEAD at a branch (no work tree change: callers only switch between branches at the
/// same commit, or after restoring files themselves).
pub fn switch_head(repo: &gix::Repository, full_name: &str, log: &str) -> Result<(), VcsError> {
    let target: gix::refs::FullName =
        full_name
            .try_into()
            .map_err(|e: gix::validate::reference::name::Error| VcsError::Git {
                what: "switch branch",
                message: e.to_string(),
            })?;
    repo.edit_reference(RefEdit {
        change: Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: log.into(),
            },
            expected: PreviousValue::Any,
            new: gix::refs::Target::Symbolic(target),
        },
        name: "HEAD"
            .try_into()
            .map_err(|e: gix::validate::reference::name::Error| VcsError::Git {
                what: "switch branch",
                message: e.to_string(),
            })?,
        deref: false,
    })
    .map_err(git_err("switch branch"))?;
    Ok(())
}

/// Commit the change set on top of `parent` (which must still be HEAD), and make the index
/// match the new tree.
pub fn commit_changes(
    repo: &gix::Repository,
    changes: &ChangeSet,
    message: &str,
    parent: ObjectId,
) -> Result<ObjectId, VcsError> {
    let head = repo.head_id().map_err(git_err("read HEAD"))?.detach();
    if head != parent {
        return Err(VcsError::HeadMoved {
            expected: parent.to_hex().to_string(),
            found: head.to_hex().to_string(),
        });
    }
    if repo.author().is_none() || repo.committer().is_none() {
        return Err(VcsError::NoIdentity);
    }
    let commit = repo
        .find_commit(parent)
        .map_err(git_err("read HEAD's commit"))?;
    let tree = commit.tree_id().map_err(git_err("read HEAD's tree"))?;
    let mut editor = repo.edit_tree(tree).map_err(git_err("edit the tree"))?;
    let head_tree = repo.find_tree(tree).map_err(git_err("read HEAD's tree"))?;
    for c in &changes.changes {
        match &c.after {
            Some(text) => {
                let blob = repo
                    .write_blob(text.as_bytes())
                    .map_err(git_err("write a blob"))?;
                // Keep an existing file's mode (executable scripts stay executable).
                let kind = head_tree
                    .lookup_entry_by_path(&c.path)
                    .ok()
                    .flatten()
                    .map(|e| e.mode().kind())
                    .filter(|k| matches!(k, gix::object::tree::EntryKind::BlobExecutable))
                    .unwrap_or(gix::object::tree::EntryKind::Blob);
                editor
                    .upsert(c.path.as_str(), kind, blob.detach())
                    .map_err(git_err("edit the tree"))?;
            }
            None => {
                editor
                    .remove(c.path.as_str())
                    .map_err(git_err("edit the tree"))?;
            }
        }
    }
    let new_tree = editor.write().map_err(git_err("write the tree"))?.detach();
    let id = repo
        .commit("HEAD", message, new_tree, [parent])
        .map_err(git_err("commit"))?
        .detach();
    write_index_from_tree(repo, new_tree)?;
    Ok(id)
}

fn write_index_from_tree(repo: &gix::Repository, tree: ObjectId) -> Result<(), VcsError> {
    let mut index = repo
        .index_from_tree(&tree)
        .map_err(git_err("rebuild the index"))?;
    index
        .write(gix::index::write::Options::default())
        .map_err(|e| VcsError::Git {
            what: "write the index",
            message: e.to_string(),
        })
}

/// Make the index match a commit's tree (after a commit whose index write was interrupted, or
/// when going back to where a run began).
pub fn reset_index(repo: &gix::Repository, commit: ObjectId) -> Result<(), VcsError> {
    let tree = repo
        .find_commit(commit)
        .map_err(git_err("read a commit"))?
        .tree_id()
        .map_err(git_err("read a commit's tree"))?;
    write_index_from_tree(repo, tree.detach())
}

/// A file's text at a commit (`None` when the commit has no such file).
pub fn file_at(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
) -> Result<Option<String>, VcsError> {
    let tree = repo
        .find_commit(commit)
        .map_err(git_err("read a commit"))?
        .tree()
        .map_err(git_err("read a commit's tree"))?;
    let Some(entry) = tree
        .lookup_entry_by_path(path)
        .map_err(git_err("look up a file"))?
    else {
        return Ok(None);
    };
    let blob = entry.object().map_err(git_err("read a file"))?;
    Ok(Some(String::from_utf8_lossy(&blob.data).into_owned()))
}

/// Whether `commit` is the run's commit of batch `batch` on top of `parent` (made just before
/// the process died, so the state does not know it yet).
pub fn is_batch_commit(
    repo: &gix::Repository,
    commit: ObjectId,
    parent: ObjectId,
    recipe: &str,
    batch: usize,
) -> Result<bool, VcsError> {
    let c = repo.find_commit(commit).map_err(git_err("read a commit"))?;
    let parents: Vec<ObjectId> = c.parent_ids().map(|p| p.detach()).collect();
    if parents != [parent] {
        return Ok(false);
    }
    let message = c.message_raw_sloppy().to_string();
    Ok(trailers::batch_of(&message, recipe) == Some(batch))
}

/// Point HEAD at a commit directly (the run began on a detached HEAD).
pub fn detach_head(repo: &gix::Repository, commit: ObjectId) -> Result<(), VcsError> {
    repo.edit_reference(RefEdit {
        change: Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: "git ripple abort".into(),
            },
            expected: PreviousValue::Any,
            new: gix::refs::Target::Object(commit),
        },
        name: "HEAD"
            .try_into()
            .map_err(|e: gix::validate::reference::name::Error| VcsError::Git {
                what: "detach HEAD",
                message: e.to_string(),
            })?,
        deref: false,
    })
    .map_err(git_err("detach HEAD"))?;
    Ok(())
}

/// Delete a local branch.
pub fn delete_branch(repo: &gix::Repository, name: &str) -> Result<(), VcsError> {
    let full: gix::refs::FullName = format!("refs/heads/{name}").try_into().map_err(
        |e: gix::validate::reference::name::Error| VcsError::Git {
            what: "delete the branch",
            message: e.to_string(),
        },
    )?;
    repo.edit_reference(RefEdit {
        change: Change::Delete {
            expected: PreviousValue::Any,
            log: RefLog::AndReference,
        },
        name: full,
        deref: false,
    })
    .map_err(git_err("delete the branch"))?;
    Ok(())
}

/// A commit git-ripple made, as `git ripple log` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RippleCommit {
    /// The commit id.
    pub commit: String,
    /// The first line of its message.
    pub subject: String,
    /// The `Ripple-*` trailers, in order.
    pub trailers: Vec<(String, String)>,
}

/// The commits with `Ripple-*` trailers at the tip of the current branch, newest first,
/// following first parents until the first commit without them.
pub fn ripple_commits(repo: &gix::Repository) -> Result<Vec<RippleCommit>, VcsError> {
    let mut out = Vec::new();
    let mut next = Some(repo.head_id().map_err(git_err("read HEAD"))?.detach());
    while let Some(id) = next {
        let c = repo.find_commit(id).map_err(git_err("read a commit"))?;
        let message = c.message_raw_sloppy().to_string();
        let trailers = trailers::parse(&message);
        if trailers.is_empty() {
            break;
        }
        out.push(RippleCommit {
            commit: id.to_hex().to_string(),
            subject: message.lines().next().unwrap_or("").to_string(),
            trailers,
        });
        next = c.parent_ids().next().map(|p| p.detach());
    }
    Ok(out)
}

/// The batches of `recipe` already in HEAD's history (any ancestor, merges included), read from
/// the commits' `Ripple-Recipe` and `Ripple-Batch` trailers.
pub fn applied_batches(
    repo: &gix::Repository,
    recipe: &str,
) -> Result<std::collections::BTreeSet<usize>, VcsError> {
    const MAX_COMMITS: usize = 50_000;
    let mut found = std::collections::BTreeSet::new();
    let mut seen = std::collections::HashSet::new();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(repo.head_id().map_err(git_err("read HEAD"))?.detach());
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) || seen.len() > MAX_COMMITS {
            continue;
        }
        let c = repo.find_commit(id).map_err(git_err("read a commit"))?;
        let message = c.message_raw_sloppy().to_string();
        if let Some(k) = trailers::batch_of(&message, recipe) {
            found.insert(k);
        }
        queue.extend(c.parent_ids().map(|p| p.detach()));
    }
    Ok(found)
}

/// A commit to check: its id, tree, subject and the recipe its `Ripple-Recipe` trailer names.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// The commit.
    pub id: ObjectId,
    /// Its tree: what a verification result is cached by.
    pub tree: ObjectId,
    /// The first line of its message.
    pub subject: String,
    /// The recipe named by its `Ripple-Recipe` trailer, if it has one.
    pub recipe: Option<String>,
}

/// What a commit holds, for [`CommitInfo`].
pub fn commit_info(repo: &gix::Repository, id: ObjectId) -> Result<CommitInfo, VcsError> {
    let c = repo.find_commit(id).map_err(git_err("read a commit"))?;
    let message = c.message_raw_sloppy().to_string();
    let tree = c
        .tree_id()
        .map_err(git_err("read a commit's tree"))?
        .detach();
    Ok(CommitInfo {
        id,
        tree,
        subject: message.lines().next().unwrap_or("").to_string(),
        recipe: trailers::parse(&message)
            .into_iter()
            .find(|(k, _)| k == "Ripple-Recipe")
            .map(|(_, v)| v),
    })
}

/// Resolve a revision (`HEAD~2`, a branch, an id) to a commit.
pub fn resolve_commit(repo: &gix::Repository, spec: &str) -> Result<ObjectId, VcsError> {
    let id = repo
        .rev_parse_single(spec)
        .map_err(|e| VcsError::Git {
            what: "resolve a revision",
            message: format!("{spec}: {e}"),
        })?
        .detach();
    let object = repo.find_object(id).map_err(git_err("read an object"))?;
    let commit = object.peel_to_commit().map_err(|e| VcsError::Git {
        what: "resolve a revision",
        message: format!("{spec} is not a commit: {e}"),
    })?;
    Ok(commit.id)
}

/// The commits of a range as `git rev-list --reverse` lists them: `A..B` (reachable from B,
/// not from A), or one revision for that commit alone; oldest first, parents before children.
pub fn commits_in_range(repo: &gix::Repository, range: &str) -> Result<Vec<ObjectId>, VcsError> {
    const MAX_COMMITS: usize = 100_000;
    let (from, to) = match range.split_once("..") {
        Some((a, b)) if !b.starts_with('.') => (
            Some(resolve_commit(repo, if a.is_empty() { "HEAD" } else { a })?),
            resolve_commit(repo, if b.is_empty() { "HEAD" } else { b })?,
        ),
        Some(_) => {
            return Err(VcsError::Git {
                what: "resolve a range",
                message: format!("{range}: use A..B (symmetric ranges A...B are not supported)"),
            });
        }
        None => return Ok(vec![resolve_commit(repo, range)?]),
    };
    let parents = |id: ObjectId| -> Result<Vec<ObjectId>, VcsError> {
        let c = repo.find_commit(id).map_err(git_err("read a commit"))?;
        Ok(c.parent_ids().map(|p| p.detach()).collect())
    };
    let mut hidden = std::collections::HashSet::new();
    if let Some(from) = from {
        let mut stack = vec![from];
        while let Some(id) = stack.pop() {
            if hidden.len() < MAX_COMMITS && hidden.insert(id) {
                stack.extend(parents(id)?);
            }
        }
    }
    // Depth-first, each commit after its parents (a topological order, oldest first).
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(to, false)];
    while let Some((id, expanded)) = stack.pop() {
        if expanded {
            out.push(id);
            continue;
        }
        if hidden.contains(&id) || !seen.insert(id) || seen.len() > MAX_COMMITS {
            continue;
        }
        stack.push((id, true));
        for p in parents(id)?.into_iter().rev() {
            stack.push((p, false));
        }
    }
    Ok(out)
}

/// A run's commits on its branch: first parents from the branch's tip back to where the run
/// began, oldest first. When the branch no longer reaches that commit (rebased), the walk stops
/// at the first commit without the recipe's trailer.
pub fn run_commits(
    repo: &gix::Repository,
    branch: &str,
    started_from: ObjectId,
    recipe: &str,
) -> Result<Vec<ObjectId>, VcsError> {
    const MAX_COMMITS: usize = 100_000;
    let tip = resolve_commit(repo, &format!("refs/heads/{branch}"))?;
    let mut chain = Vec::new();
    let mut reached_start = false;
    let mut next = Some(tip);
    while let Some(id) = next {
        if id == started_from {
            reached_start = true;
            break;
        }
        if chain.len() >= MAX_COMMITS {
            break;
        }
        chain.push(id);
        let c = repo.find_commit(id).map_err(git_err("read a commit"))?;
        next = c.parent_ids().next().map(|p| p.detach());
    }
    if !reached_start {
        let keep = chain
            .iter()
            .take_while(|&&id| {
                commit_info(repo, id).is_ok_and(|i| i.recipe.as_deref() == Some(recipe))
            })
            .count();
        chain.truncate(keep);
    }
    chain.reverse();
    Ok(chain)
}

/// Visit every file of a commit's tree (blobs, executables and links; submodules left out) with
/// its path below the tree, its kind and its blob. Names a checkout could not hold safely (`.git`,
/// `..`, or with a `/`) are skipped.
fn walk_tree(
    repo: &gix::Repository,
    commit: ObjectId,
    mut visit: impl FnMut(&str, gix::object::tree::EntryKind, ObjectId) -> Result<(), VcsError>,
) -> Result<(), VcsError> {
    use gix::object::tree::EntryKind;
    let tree = repo
        .find_commit(commit)
        .map_err(git_err("read a commit"))?
        .tree_id()
        .map_err(git_err("read a commit's tree"))?
        .detach();
    let mut stack = vec![(tree, String::new())];
    while let Some((id, prefix)) = stack.pop() {
        let tree = repo.find_tree(id).map_err(git_err("read a tree"))?;
        for entry in tree.iter() {
            let entry = entry.map_err(|e| VcsError::Git {
                what: "read a tree",
                message: e.to_string(),
            })?;
            let name = entry.filename().to_string();
            if name == ".git" || name.contains('/') || name == ".." {
                continue;
            }
            let path = format!("{prefix}{name}");
            let oid = entry.oid().to_owned();
            match entry.mode().kind() {
                EntryKind::Tree => stack.push((oid, format!("{path}/"))),
                EntryKind::Commit => {}
                kind => visit(&path, kind, oid)?,
            }
        }
    }
    Ok(())
}

/// The paths of a commit's files (blobs and links, submodules left out), sorted.
pub fn tree_paths(repo: &gix::Repository, commit: ObjectId) -> Result<Vec<String>, VcsError> {
    let mut out = Vec::new();
    walk_tree(repo, commit, |path, _, _| {
        out.push(path.to_string());
        Ok(())
    })?;
    out.sort();
    Ok(out)
}

/// Write a commit's files into `dir` (an empty folder): a scratch worktree, as a fresh clone
/// would have them. Executable files stay executable and symbolic links stay links; submodules
/// are left out.
pub fn export_tree(repo: &gix::Repository, commit: ObjectId, dir: &Path) -> Result<(), VcsError> {
    use gix::object::tree::EntryKind;
    let io = |e: std::io::Error| VcsError::Git {
        what: "export a tree",
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    walk_tree(repo, commit, |rel, kind, oid| {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let blob = repo.find_blob(oid).map_err(git_err("read a blob"))?;
        if kind == EntryKind::Link {
            #[cfg(unix)]
            std::os::unix::fs::symlink(String::from_utf8_lossy(&blob.data).as_ref(), &path)
                .map_err(io)?;
            return Ok(());
        }
        std::fs::write(&path, &blob.data).map_err(io)?;
        #[cfg(unix)]
        if kind == EntryKind::BlobExecutable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        }
        Ok(())
    })
}

/// A value of the repository's git configuration (`ripple.branchPrefix`), the last one set.
pub fn config_string(repo: &gix::Repository, key: &str) -> Option<String> {
    repo.config_snapshot()
        .plumbing()
        .string(key)
        .map(|v| v.to_string())
}

/// Every value of a multi-valued key (`git config --add ripple.verify "go test ./..."`).
pub fn config_strings(repo: &gix::Repository, key: &str) -> Vec<String> {
    repo.config_snapshot()
        .plumbing()
        .strings(key)
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.to_string())
        .collect()
}
