//! Stacks: a run's commits as one branch per batch, each on the previous, for teams that
//! review in stacked pull requests, with each pull request's title and body written out.
//!
//! The branches live beside the run's branch (`ripple/rename-x-01-expand` next to
//! `ripple/rename-x`), since git cannot nest a ref under an existing one. Making a stack is
//! idempotent: a branch already where the batch's commit is stays; a new batch (after a resume)
//! gets a new branch; a branch that no longer points where git-ripple left it is refused, never
//! moved, since someone may have pushed work onto it. Nothing is pushed unless asked, and then
//! by `git push` (gix does not push).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::report::{BatchReport, BatchStatus};
use super::state::{self, RunState, RunStatus, StateError};
use crate::plan::Batch;
use crate::plan::owners::Owners;
use crate::vcs::{self, VcsError};
use crate::verify::check::CheckReport;

/// Why a stack could not be made or pushed. Nothing was changed unless the error says so.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StackError {
    /// No run to make a stack of.
    #[error("there is no run to make a stack of{}", name.as_ref().map(|n| format!(" named `{n}`")).unwrap_or_default())]
    #[diagnostic(
        code(ripple::stack::no_run),
        help("`git ripple run RECIPE` makes one; `git ripple report` lists the runs here")
    )]
    NoRun {
        /// The run asked for.
        name: Option<String>,
    },
    /// The run has no commits yet.
    #[error("the run `{id}` has no commits yet: there is nothing to stack")]
    #[diagnostic(code(ripple::stack::empty), help("`git ripple resume` carries it on"))]
    Empty {
        /// The run.
        id: String,
    },
    /// A stack branch was moved or reused since git-ripple made it.
    #[error("{} no longer where git-ripple left {}:\n{}", if moved.len() == 1 { "a stack branch is" } else { "stack branches are" }, if moved.len() == 1 { "it" } else { "them" }, moved.iter().map(|m| format!("  {m}")).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(
        code(ripple::stack::moved),
        help(
            "nothing was created or moved; delete or rename those branches (`git branch -m`) if the work on them is kept elsewhere, then run `git ripple stack` again"
        )
    )]
    Moved {
        /// `branch: at X, batch N is Y`.
        moved: Vec<String>,
    },
    /// `git push` failed.
    #[error("`git push {remote}` failed: {message}")]
    #[diagnostic(
        code(ripple::stack::push),
        help(
            "the stack branches exist locally; fix the remote and run `git ripple stack --push REMOTE` again"
        )
    )]
    Push {
        /// The remote.
        remote: String,
        /// What git said.
        message: String,
    },
    /// A pull-request body could not be written.
    #[error("cannot write {path}: {source}")]
    #[diagnostic(code(ripple::stack::write))]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// The run state.
    State(#[from] StateError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    /// git.
    Vcs(#[from] VcsError),
}

/// What happened to a stack branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchAction {
    /// Made now.
    Created,
    /// Already there, at the batch's commit.
    Kept,
}

/// One branch of the stack: a batch's commit, on the branch of the batch before it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackBranch {
    /// The batch (1-based across the run).
    pub batch: usize,
    /// The branch.
    pub branch: String,
    /// What its pull request merges into: the previous stack branch, or where the run began.
    pub base: String,
    /// The batch's commit.
    pub commit: String,
    /// The pull request's title (the commit's subject).
    pub title: String,
    /// The pull request's body, repository-relative
    /// (`.git/ripple/runs/<id>/pr/NN.md`).
    pub body: String,
    /// Made now, or already there.
    pub action: BranchAction,
}

/// A stack, as `git ripple stack` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackReport {
    /// The run.
    pub run_id: String,
    /// The run's branch (its tip is the top of the stack once the run is done).
    pub run_branch: String,
    /// Whether every batch of the run is done: otherwise a resume adds to the stack.
    pub finished: bool,
    /// Bottom first.
    pub branches: Vec<StackBranch>,
    /// The remote pushed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
}

/// What `stack` is asked to do.
pub struct StackRequest<'a> {
    /// A run id or recipe name; `None`: the current or most recent run.
    pub run: Option<&'a str>,
    /// `ripple.branchPrefix` (`ripple/` when unset).
    pub branch_prefix: Option<&'a str>,
    /// Push the stack branches to this remote.
    pub push: Option<&'a str>,
    /// The repository's code owners, for the bodies.
    pub owners: &'a Owners,
}

/// The run a request names.
pub fn find_run(git_dir: &Path, name: Option<&str>) -> Result<RunState, StackError> {
    let found = state::find(git_dir, name)?;
    found.ok_or_else(|| StackError::NoRun {
        name: name.map(str::to_string),
    })
}

/// A branch-name part from a batch: its phase and its package's last folder.
fn slug(batch: Option<&Batch>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(b) = batch {
        if let Some(phase) = b.phase {
            parts.push(phase.name().to_string());
        }
        if b.group != "*" && b.group != "." && !b.group.is_empty() {
            parts.push(b.group.rsplit('/').next().unwrap_or(&b.group).to_string());
        }
    }
    let slug = crate::recipe::template::slug(&parts.join("-"), 40);
    if slug.is_empty() {
        "batch".to_string()
    } else {
        slug
    }
}

/// Make (or complete) the stack of a run, write its pull-request bodies, push if asked.
pub fn make_stack(
    repo: &gix::Repository,
    request: &StackRequest<'_>,
) -> Result<StackReport, StackError> {
    let git_dir = repo.git_dir();
    let run = find_run(git_dir, request.run)?;
    let committed: Vec<&BatchReport> = run
        .batches
        .iter()
        .filter(|b| b.status == BatchStatus::Committed && b.commit.is_some())
        .collect();
    if committed.is_empty() {
        return Err(StackError::Empty { id: run.id.clone() });
    }
    let prefix = request.branch_prefix.unwrap_or("ripple/");
    let width = run.batches.len().to_string().len().max(2);
    let plan_batches: Vec<&Batch> = run.plan.steps.iter().flat_map(|s| &s.batches).collect();
    let check = state::load_check(git_dir, &run.id);

    // Decide every branch first: a moved one refuses the whole stack before anything is made.
    let mut planned = Vec::new();
    let mut moved = Vec::new();
    let mut base = run
        .started_from
        .branch
        .clone()
        .unwrap_or_else(|| run.started_from.commit.clone());
    for b in &committed {
        let commit = b.commit.clone().unwrap_or_default();
        let id = ObjectId::from_hex(commit.as_bytes()).map_err(|e| VcsError::Git {
            what: "read a batch's commit",
            message: e.to_string(),
        })?;
        let branch = format!(
            "{prefix}{}-{:0width$}-{}",
            run.recipe.name,
            b.index,
            slug(plan_batches.get(b.index - 1).copied())
        );
        let action = match vcs::branch_target(repo, &branch)? {
            None => BranchAction::Created,
            Some(at) if at == id => BranchAction::Kept,
            Some(at) => {
                moved.push(format!(
                    "{branch}: at {}, batch {} is {}",
                    at.to_hex_with_len(10),
                    b.index,
                    id.to_hex_with_len(10)
                ));
                BranchAction::Kept
            }
        };
        planned.push((b, id, branch.clone(), base.clone(), action));
        base = branch;
    }
    if !moved.is_empty() {
        return Err(StackError::Moved { moved });
    }

    let total = run.batches.len();
    let pr_dir = git_dir.join("ripple").join("runs").join(&run.id).join("pr");
    std::fs::create_dir_all(&pr_dir).map_err(|source| StackError::Write {
        path: pr_dir.display().to_string(),
        source,
    })?;
    let mut branches = Vec::new();
    let count = planned.len();
    for (position, (b, id, branch, base, action)) in planned.into_iter().enumerate() {
        if action == BranchAction::Created {
            vcs::create_branch(repo, &branch, id, "branch: stack branch made by git-ripple")?;
        }
        let info = vcs::commit_info(repo, id)?;
        let file = format!("{:0width$}.md", b.index);
        let path: PathBuf = pr_dir.join(&file);
        let body = pr_body(&PrInput {
            run: &run,
            batch: b,
            plan: plan_batches.get(b.index - 1).copied(),
            position: position + 1,
            count,
            total,
            base: &base,
            check: check.as_ref(),
            owners: request.owners,
        });
        std::fs::write(&path, body).map_err(|source| StackError::Write {
            path: path.display().to_string(),
            source,
        })?;
        branches.push(StackBranch {
            batch: b.index,
            branch,
            base,
            commit: id.to_hex().to_string(),
            title: info.subject.clone(),
            body: format!(".git/ripple/runs/{}/pr/{file}", run.id),
            action,
        });
    }

    let pushed = match request.push {
        Some(remote) => {
            push(repo, remote, &branches)?;
            Some(remote.to_string())
        }
        None => None,
    };
    Ok(StackReport {
        run_id: run.id.clone(),
        run_branch: run.branch.clone(),
        finished: run.status == RunStatus::Done,
        branches,
        pushed,
    })
}

/// `git push REMOTE` of every stack branch, in one push (the remote sees the whole stack or
/// none of it where it supports atomic pushes).
fn push(repo: &gix::Repository, remote: &str, branches: &[StackBranch]) -> Result<(), StackError> {
    let root = repo.workdir().unwrap_or_else(|| repo.git_dir());
    let mut cmd = std::process::Command::new("git");
    cmd.current_dir(root)
        .arg("push")
        .arg("--porcelain")
        .arg(remote);
    for b in branches {
        cmd.arg(format!("refs/heads/{0}:refs/heads/{0}", b.branch));
    }
    let out = cmd.output().map_err(|e| StackError::Push {
        remote: remote.to_string(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        let said = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        Err(StackError::Push {
            remote: remote.to_string(),
            message: format!("{}{}", said.trim(), stdout.trim())
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

struct PrInput<'a> {
    run: &'a RunState,
    batch: &'a BatchReport,
    plan: Option<&'a Batch>,
    /// 1-based place in the stack.
    position: usize,
    /// Branches in the stack.
    count: usize,
    /// Batches in the run.
    total: usize,
    base: &'a str,
    check: Option<&'a CheckReport>,
    owners: &'a Owners,
}

/// A pull request's body: what the batch changes and why, its files and owners, how it was
/// verified, the tokens a model batch used, and whether the commit is green on its own.
fn pr_body(input: &PrInput<'_>) -> String {
    let b = input.batch;
    let run = input.run;
    let mut md = String::new();
    let step = run.plan.steps.get(b.step - 1);
    let _ = writeln!(
        md,
        "{}: batch {} of {}{}, {} of {} in this stack (base `{}`).\n",
        step.map_or(run.recipe.name.as_str(), |s| s.title.as_str()),
        b.index,
        input.total,
        b.phase
            .map(|p| format!(" ({})", p.name()))
            .unwrap_or_default(),
        input.position,
        input.count,
        input.base
    );
    if !b.summary.is_empty() {
        let _ = writeln!(md, "{}\n", b.summary.trim());
    }
    if let Some(plan) = input.plan
        && !plan.reason.is_empty()
    {
        let _ = writeln!(md, "Why these files together: {}\n", plan.reason.trim());
    }
    let _ = writeln!(
        md,
        "**Files** ({}, +{} −{})\n",
        b.files.len(),
        b.lines_added,
        b.lines_removed
    );
    for f in &b.files {
        let _ = writeln!(md, "- `{f}`");
    }
    md.push('\n');
    let (owners, unowned) = input.owners.of_files(&b.files);
    if !input.owners.is_empty() {
        let _ = write!(md, "**Owners** (CODEOWNERS): ");
        if owners.is_empty() {
            let _ = write!(md, "none");
        } else {
            let _ = write!(md, "{}", owners.join(" "));
        }
        if unowned > 0 {
            let _ = write!(
                md,
                "; {unowned} file{} without an owner",
                if unowned == 1 { "" } else { "s" }
            );
        }
        md.push_str("\n\n");
    }
    let _ = writeln!(md, "**Verified** before it was committed:\n");
    if b.verify.is_empty() {
        let _ = writeln!(md, "- no verify commands");
    }
    for c in &b.verify {
        let _ = writeln!(
            md,
            "- {} `{}`: {}",
            if c.success { "✓" } else { "✗" },
            c.command,
            c.summary
        );
    }
    md.push('\n');
    if !b.tokens.is_zero() {
        let _ = writeln!(
            md,
            "Model batch: {} tokens in, {} out{}.\n",
            b.tokens.input,
            b.tokens.output,
            if b.repairs > 0 {
                format!(
                    ", {} repair{}",
                    b.repairs,
                    if b.repairs == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        );
    }
    let commit = b.commit.as_deref().unwrap_or_default();
    let checked = input
        .check
        .and_then(|c| c.commits.iter().find(|c| c.commit == commit));
    let _ = writeln!(
        md,
        "**Check**: {}\n",
        match checked {
            Some(c) if c.green =>
                "green on its own (`git ripple check`, in a clean worktree)".to_string(),
            Some(c) if c.not_checked => "not checked (the check stopped before it)".to_string(),
            Some(c) => format!(
                "red on its own (`git ripple check`){}",
                c.problem
                    .as_deref()
                    .map(|p| format!(": {p}"))
                    .unwrap_or_default()
            ),
            None => "not checked yet: `git ripple check` proves each commit green on its own"
                .to_string(),
        }
    );
    for n in &b.notes {
        let _ = writeln!(md, "> {n}");
    }
    if !b.notes.is_empty() {
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "<sub>Made by git-ripple from the recipe `{}` (run `{}`).</sub>",
        run.recipe.name, run.id
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Phase;

    fn batch(phase: Option<Phase>, group: &str) -> Batch {
        Batch {
            index: 1,
            level: 0,
            phase,
            group: group.to_string(),
            files: Vec::new(),
            depends_on: Vec::new(),
            reason: String::new(),
            tokens: 0,
            oversized: false,
            verify: Vec::new(),
            owners: Vec::new(),
            unowned: 0,
        }
    }

    #[test]
    fn slugs_name_the_phase_and_the_package() {
        assert_eq!(slug(Some(&batch(Some(Phase::Expand), "*"))), "expand");
        assert_eq!(
            slug(Some(&batch(Some(Phase::Migrate), "src/shopcore/api"))),
            "migrate-api"
        );
        assert_eq!(slug(Some(&batch(None, "internal/Store_V2"))), "store-v2");
        assert_eq!(slug(Some(&batch(None, "."))), "batch");
        assert_eq!(slug(None), "batch");
    }
}
