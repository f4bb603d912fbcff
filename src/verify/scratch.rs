//! A scratch worktree: a commit's files exported into a temporary folder, where verify commands
//! run on a change without touching the user's work tree. A dry run with a model verifies its
//! batches here; each batch's edits are written over the previous ones, as commits would be.
//!
//! The folder holds the commit's tracked files only (like a fresh clone), and is removed when
//! the [`Scratch`] is dropped.

use std::path::{Path, PathBuf};

use crate::change::ChangeSet;
use crate::edit::{self, EditError};
use crate::vcs::{self, VcsError};

/// Why a scratch worktree could not be set up or written. Stop: the machine (disk, temp).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ScratchError {
    /// The temporary folder could not be made.
    #[error("cannot create a scratch worktree: {0}")]
    #[diagnostic(code(ripple::verify::scratch))]
    Create(#[source] std::io::Error),
    /// The commit could not be exported.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Export(#[from] VcsError),
    /// A change could not be written there.
    #[error(transparent)]
    Write(#[from] EditError),
}

/// A commit's files in a temporary folder.
pub struct Scratch {
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Scratch {
    /// Export `commit`'s tree.
    pub fn of_commit(
        repo: &gix::Repository,
        commit: gix::ObjectId,
    ) -> Result<Scratch, ScratchError> {
        let dir = tempfile::Builder::new()
            .prefix("git-ripple-scratch-")
            .tempdir()
            .map_err(ScratchError::Create)?;
        vcs::export_tree(repo, commit, dir.path())?;
        let root = dir.path().to_path_buf();
        Ok(Scratch { dir, root })
    }

    /// Export `commit`'s tree where the folders outside the repository its build reads
    /// (`outside`, relative to the repository's root `real_root`: `../lib`) are reached by the
    /// same relative paths: the tree goes as deep into the temporary folder as they go above
    /// the root, and each is linked in at its place. Returns the scratch worktree and the
    /// outside paths that could not be linked (they do not exist, or are the root's own
    /// ancestors).
    pub fn of_commit_reaching(
        repo: &gix::Repository,
        commit: gix::ObjectId,
        real_root: &Path,
        outside: &[String],
    ) -> Result<(Scratch, Vec<String>), ScratchError> {
        let depth = outside
            .iter()
            .map(|o| o.split('/').take_while(|p| *p == "..").count())
            .max()
            .unwrap_or(0);
        let Some(ancestor) = real_root.ancestors().nth(depth).filter(|_| depth > 0) else {
            return Ok((Scratch::of_commit(repo, commit)?, outside.to_vec()));
        };
        let dir = tempfile::Builder::new()
            .prefix("git-ripple-scratch-")
            .tempdir()
            .map_err(ScratchError::Create)?;
        let inner = real_root
            .strip_prefix(ancestor)
            .unwrap_or(Path::new("tree"));
        let root = dir.path().join(inner);
        std::fs::create_dir_all(&root).map_err(ScratchError::Create)?;
        vcs::export_tree(repo, commit, &root)?;
        let mut unreached = Vec::new();
        let mut sorted = outside.to_vec();
        sorted.sort();
        let mut links: Vec<PathBuf> = Vec::new();
        for o in sorted {
            let target = normalize(&real_root.join(&o));
            let Some(link) = target
                .strip_prefix(ancestor)
                .ok()
                .map(|rel| dir.path().join(rel))
                .filter(|link| {
                    !root.starts_with(link) && !link.starts_with(&root) && target.exists()
                })
            else {
                if target.starts_with(real_root) {
                    continue; // in the tree after all (`../repo/x`)
                }
                unreached.push(o);
                continue;
            };
            // Inside a folder linked already: reached through it (and nothing may be created
            // there, it is the user's).
            if links.iter().any(|l| link.starts_with(l)) {
                continue;
            }
            let linked = link
                .parent()
                .is_some_and(|p| std::fs::create_dir_all(p).is_ok())
                && symlink(&target, &link).is_ok();
            if linked {
                links.push(link);
            } else {
                unreached.push(o);
            }
        }
        Ok((Scratch { dir, root }, unreached))
    }

    /// The folder: where verify commands run.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The temporary folder holding it (the root itself unless the tree went deeper).
    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    /// Write a change into the scratch worktree.
    pub fn write(&self, changes: &ChangeSet) -> Result<(), ScratchError> {
        Ok(edit::write(self.root(), changes)?)
    }

    /// Put a change's files back as they were before it.
    pub fn restore(&self, changes: &ChangeSet) -> Result<(), ScratchError> {
        Ok(edit::restore(self.root(), changes)?)
    }
}

/// `..` and `.` taken out of an absolute path, without asking the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "symbolic links are not supported here",
    ))
}
