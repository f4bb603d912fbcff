//! A green baseline first: before the first batch, the recipe's verify commands (widened to the
//! whole tree, as `check` runs them) run on the starting tree, cached
//! by its tree like any check. A red baseline stops the run before any change: a failure there
//! is the repository's, not the run's. With `--allow-red-baseline` the run goes on and a batch's
//! failing test command passes when the tests it fails all failed on the baseline too ("no new
//! failures"), for runners whose output names failing tests (pytest, `go test`).

use super::report::{Baseline, BaselineCommand};
use super::{Event, Hooks, RunError, RunOptions};
use crate::recipe::Recipe;
use crate::scan::Repository;
use crate::vcs;
use crate::verify::{self, cache::ResultCache};

/// Run the baseline on the commit `start` (checked out, clean) at the repository's root.
pub(super) fn run_baseline(
    repo: &Repository,
    recipe: &Recipe,
    options: &RunOptions,
    start: gix::ObjectId,
    hooks: &mut dyn Hooks,
) -> Result<Baseline, RunError> {
    let root = repo.root.as_path();
    let tree = vcs::commit_info(&repo.repo, start)?
        .tree
        .to_hex()
        .to_string();
    let paths = vcs::tree_paths(&repo.repo, start)?;
    // The final commands judge the finished change and may rightly fail before it.
    let commands = crate::plan::verify::fill_whole(root, &paths, &recipe.verify.commands);
    let cache = ResultCache::open(repo.repo.git_dir());
    let sandbox = super::batches::verify_sandbox(recipe, options);
    let mut out = Baseline {
        tree: tree.clone(),
        green: true,
        allowed_red: false,
        commands: Vec::new(),
        interrupted: false,
    };
    for command in commands {
        hooks.event(Event::Baseline { command: &command });
        let (result, cached) = cache.get_or_run(&tree, &command, || {
            verify::run_retrying(
                root,
                &command,
                recipe.verify.timeout,
                &options.interrupt,
                &sandbox,
                recipe.verify.retries,
            )
            .map(|(r, _)| r)
        })?;
        if result.interrupted {
            out.interrupted = true;
            out.green = false;
            return Ok(out);
        }
        let failing = (!result.success)
            .then(|| verify::failures::failing_tests(&result.output))
            .flatten()
            .unwrap_or_default();
        out.green &= result.success;
        out.commands.push(BaselineCommand {
            command: result.command.clone(),
            success: result.success,
            summary: crate::context::redact(&result.summary),
            cached,
            failing_tests: failing,
            output_tail: (!result.success)
                .then(|| crate::context::redact(&verify::tail(&result.output, 40))),
        });
    }
    Ok(out)
}
