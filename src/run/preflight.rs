//! Preflight: everything that can refuse a run, checked before anything changes. A dirty work
//! tree, a model step without a model (or with a spec no provider takes), a plan file made for
//! another recipe or another version of it, a batch whose dependencies are not applied, an
//! untracked target, a taken branch, another run in progress.

use std::sync::Arc;
use std::time::Duration;

use super::{RunError, RunOptions, state};
use crate::graph::{GraphOptions, build_graph};
use crate::model::{self, Client, ModelSpec, RetryPolicy};
use crate::plan::{Plan, verify};
use crate::recipe::{Recipe, StepAction};
use crate::scan::{Repository, Scan};
use crate::vcs;

/// Whether the recipe has a step that needs a model.
pub(super) fn has_model_steps(recipe: &Recipe) -> bool {
    recipe
        .steps
        .iter()
        .any(|s| matches!(s.action, StepAction::Model(_)))
}

/// The options with a model client when the recipe has `model` steps and a spec is chosen
/// (the options' spec first, then the recipe's `model`), or a transcript to replay.
pub(super) fn with_model(options: &RunOptions, recipe: &Recipe) -> Result<RunOptions, RunError> {
    let mut out = options.clone();
    if !has_model_steps(recipe) || out.model.is_some() {
        return Ok(out);
    }
    if let Some(transcript) = &options.replay {
        out.model = Some(Arc::new(Client::replay(transcript)?));
        return Ok(out);
    }
    let spec = match (&options.model_spec, &recipe.model) {
        (Some(spec), _) => ModelSpec::parse(spec)?,
        // The recipe's spec: an error points at it.
        (None, Some(spec)) => ModelSpec::parse(&spec.value).map_err(|e| {
            RunError::Recipe(recipe.invalid_at(
                spec.span.clone(),
                e.to_string(),
                "not a model spec",
                Some(model::SPEC_FORMS.to_string()),
            ))
        })?,
        (None, None) => return Ok(out),
    };
    let mut spec = spec;
    if let Some(var) = &options.api_key_env {
        spec.key_env = Some(var.clone());
    }
    let mut retry = RetryPolicy::default();
    if let Some(ms) = std::env::var("RIPPLE_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        retry.base = Duration::from_millis(ms);
    }
    // A provider that does not answer in time is retried like a dropped connection.
    let timeout = std::env::var("RIPPLE_MODEL_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(600);
    out.model = Some(Arc::new(Client::new(
        spec,
        Duration::from_secs(timeout),
        retry,
    )?));
    protect_own_environment();
    Ok(out)
}

/// The process holds an API key in its environment, and verify commands run a model's code
/// as the same user: make `/proc/<pid>/environ` (and ptrace) of this process unreadable to
/// them. Children get their own, ordinary, state on exec.
fn protect_own_environment() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) changes a flag of this process; it reads or writes no
    // memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// A real run of a recipe with model steps needs a model (a dry run shows the plan without).
pub(super) fn model_configured(options: &RunOptions, recipe: &Recipe) -> Result<(), RunError> {
    if options.dry_run || options.model.is_some() {
        return Ok(());
    }
    match recipe
        .steps
        .iter()
        .position(|s| matches!(s.action, StepAction::Model(_)))
    {
        Some(i) => Err(RunError::ModelStep { step: i + 1 }),
        None => Ok(()),
    }
}

/// Uncommitted changes to tracked files refuse the run: they are the user's.
pub(super) fn clean_tree(repo: &Repository) -> Result<(), RunError> {
    let dirty = vcs::dirty_files(&repo.repo)?;
    if dirty.is_empty() {
        Ok(())
    } else {
        Err(RunError::Dirty { files: dirty })
    }
}

/// The batches of a plan file, with their verify commands made again from the recipe (and the
/// git configuration it was given): a plan file is data, never a script. A plan made for
/// another recipe, or from another version of this one, is refused.
pub(super) fn plan_from_file(
    repo: &Repository,
    recipe: &Recipe,
    plan: &Plan,
    scan: &Scan,
    options: &RunOptions,
) -> Result<Plan, RunError> {
    if plan.recipe != recipe.name {
        return Err(RunError::PlanMismatch {
            plan: plan.recipe.clone(),
            recipe: recipe.name.clone(),
        });
    }
    if plan.recipe_hash != recipe.hash() {
        return Err(RunError::PlanOutdated {
            display: recipe.source.display_name(),
        });
    }
    let graph = build_graph(
        &repo.root,
        scan,
        &GraphOptions {
            overlay: Default::default(),
            ..options.graph.clone()
        },
    )?;
    let mut plan = plan.clone();
    for batch in plan.steps.iter_mut().flat_map(|s| s.batches.iter_mut()) {
        batch.verify = verify::fill_commands_for_paths(
            &repo.root,
            &graph,
            &recipe.verify.commands,
            &batch.files,
        );
    }
    Ok(plan)
}

/// `--batch K`: K exists, is not applied yet, and the batches it depends on are in HEAD's
/// history.
pub(super) fn batch_applicable(
    repo: &Repository,
    recipe: &Recipe,
    plan: &Plan,
    k: usize,
) -> Result<(), RunError> {
    let Some(batch) = plan
        .steps
        .iter()
        .flat_map(|s| &s.batches)
        .find(|b| b.index == k)
    else {
        return Err(RunError::NoSuchBatch {
            batch: k,
            total: plan.totals.batches,
        });
    };
    let applied = vcs::applied_batches(&repo.repo, &recipe.name)?;
    if applied.contains(&k) {
        return Err(RunError::AlreadyApplied { batch: k });
    }
    let missing: Vec<String> = batch
        .depends_on
        .iter()
        .filter(|d| !applied.contains(d))
        .map(|d| d.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(RunError::MissingDependencies {
            batch: k,
            missing: missing.join(", "),
        });
    }
    Ok(())
}

/// Untracked files are never committed behind the user's back.
pub(super) fn targets_tracked(
    repo: &Repository,
    plan: &Plan,
    only: Option<usize>,
) -> Result<(), RunError> {
    for b in plan
        .steps
        .iter()
        .flat_map(|s| &s.batches)
        .filter(|b| only.is_none_or(|k| k == b.index))
    {
        for f in &b.files {
            if repo.root.join(f).exists() && !vcs::is_tracked(&repo.repo, f)? {
                return Err(RunError::UntrackedTarget { path: f.clone() });
            }
        }
    }
    Ok(())
}

/// The run's branch, which must not exist yet, with no other run in progress.
pub(super) fn free_branch(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
) -> Result<String, RunError> {
    let prefix = options.branch_prefix.as_deref().unwrap_or("ripple/");
    let branch = options
        .branch
        .clone()
        .unwrap_or_else(|| match options.batch {
            Some(k) => format!("{prefix}{}-batch-{k}", recipe.name),
            None => format!("{prefix}{}", recipe.name),
        });
    if vcs::branch_exists(&repo.repo, &branch)? {
        return Err(RunError::BranchExists { name: branch });
    }
    if let Some(running) = state::load_current(repo.repo.git_dir())? {
        return Err(RunError::RunInProgress {
            id: running.id,
            branch: running.branch,
        });
    }
    Ok(branch)
}
