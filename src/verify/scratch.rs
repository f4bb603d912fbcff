//! A scratch worktree: a commit's files exported into a temporary folder, where verify commands
//! run on a change without touching the user's work tree. A dry run with a model verifies its
//! batches here; each batch's edits are written over the previous ones, as commits would be.
//!
//! The folder holds the commit's tracked files only (like a fresh clone), and is removed when
//! the [`Scratch`] is dropped.

use std::path::Path;

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
        Ok(Scratch { dir })
    }

    /// The folder: where verify commands run.
    pub fn root(&self) -> &Path {
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
