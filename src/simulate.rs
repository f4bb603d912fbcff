//! Multi-step planning: each step of a recipe is planned on the repository as the earlier steps
//! leave it. The earlier steps' rule edits are computed in memory and laid over the work tree
//! (an [`Overlay`]), the graph is built on that view, and the next step is planned on it.
//!
//! This sits above [`crate::plan`] (which plans one step on one graph and never transforms) and
//! [`crate::transform`] (which never plans), so `git ripple plan` and `explain` need nothing from
//! the orchestrator. A model step's edits cannot be known without asking the model: the steps
//! after one are planned on the repository before it, and the plan says so. (A dry run with a
//! model asks it: see [`crate::run`].)

use std::path::Path;

use crate::change::ChangeSet;
use crate::graph::{Graph, GraphError, GraphOptions, build_graph};
use crate::plan::{Plan, PlanBuilder, PlanError, StepPlan, check};
use crate::recipe::{Recipe, RecipeError, StepAction};
use crate::scan::{Overlay, Scan, View};
use crate::transform::{self, BatchInput, Transformed};

/// Why the steps could not be planned. All stop the command.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SimulateError {
    /// The recipe does not fit the repository (an unknown symbol, a taken name).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Recipe(#[from] RecipeError),
    /// The graph could not be built (a broken build).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Graph(#[from] GraphError),
    /// A step could not be planned (a broken build).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
}

/// Plans a recipe step by step over an overlay of the edits made so far.
pub struct Stepper<'a> {
    root: &'a Path,
    scan: &'a Scan,
    recipe: &'a Recipe,
    options: &'a GraphOptions,
    overlay: Overlay,
    builder: PlanBuilder,
}

impl<'a> Stepper<'a> {
    /// Start before the first step, on the work tree as it is.
    pub fn new(
        root: &'a Path,
        scan: &'a Scan,
        recipe: &'a Recipe,
        options: &'a GraphOptions,
    ) -> Stepper<'a> {
        Stepper {
            root,
            scan,
            recipe,
            options,
            overlay: Overlay::new(),
            builder: PlanBuilder::new(),
        }
    }

    /// Check and plan step `i` on the repository as the edits so far leave it; the graph it was
    /// planned on comes back with it (the step's transforms need the same one).
    pub fn plan_step(&mut self, i: usize) -> Result<(Graph, StepPlan), SimulateError> {
        let graph = build_graph(
            self.root,
            self.scan,
            &GraphOptions {
                overlay: self.overlay.clone(),
                ..self.options.clone()
            },
        )?;
        check::check_step(self.recipe, &graph, i)?;
        let view = View {
            root: self.root,
            overlay: Some(&self.overlay),
        };
        let read = |p: &str| view.text(p);
        let sizer = crate::context::Sizer {
            read: &read,
            focus_above: self.recipe.batch.focus_above,
        };
        let step = self
            .builder
            .plan_step(view, &graph, self.recipe, i, Some(&sizer))?
            .clone();
        Ok((graph, step))
    }

    /// The work tree with the edits so far.
    pub fn view(&self) -> View<'_> {
        View {
            root: self.root,
            overlay: Some(&self.overlay),
        }
    }

    /// Lay a batch's edits over the work tree: later batches and steps see them.
    pub fn apply(&mut self, changes: &ChangeSet) {
        for c in &changes.changes {
            self.overlay.insert(c.path.clone(), c.after.clone());
        }
    }

    /// Add a note to the step planned last.
    pub fn note(&mut self, note: String) {
        self.builder.note(note);
    }

    /// The plan of the steps planned so far.
    pub fn finish(self) -> Plan {
        self.builder.finish(self.recipe)
    }
}

/// The plan of every step, with the edits of every rule batch when they were computed.
pub struct Simulation {
    /// The plan, each step planned on what the steps before leave.
    pub plan: Plan,
    /// Per batch (index - 1): its edits, or why the rule failed; empty unless computed, and
    /// missing for batches of model steps and the steps after one.
    pub batches: Vec<Result<Transformed, String>>,
}

/// Plan a recipe step by step without changing anything; with `transform_all`, the last step's
/// rule edits are computed too (a dry run shows them).
pub fn simulate(
    root: &Path,
    scan: &Scan,
    recipe: &Recipe,
    options: &GraphOptions,
    transform_all: bool,
) -> Result<Simulation, SimulateError> {
    let mut stepper = Stepper::new(root, scan, recipe, options);
    let mut batches = Vec::new();
    let mut simulated = true;
    let last = recipe.steps.len().saturating_sub(1);
    for i in 0..recipe.steps.len() {
        let (graph, step_plan) = stepper.plan_step(i)?;
        if !simulated {
            stepper.note(
                "planned on the repository before the model step above changes it".to_string(),
            );
        }
        let action = &recipe.steps[i].action;
        if matches!(action, StepAction::Model(_)) {
            simulated = false;
            continue;
        }
        if !(transform_all || i < last) || !simulated {
            continue;
        }
        for b in &step_plan.batches {
            let input = BatchInput {
                files: &b.files,
                phase: b.phase,
            };
            let ctx = transform::Context {
                view: stepper.view(),
                graph: &graph,
                model: None,
                ledger: &[],
                budget: recipe.batch.max_tokens as usize,
                focus_above: recipe.batch.focus_above,
            };
            let result =
                transform::transform_batch(&ctx, action, &input).map_err(|e| e.to_string());
            // Later batches (the contract batch of a rename) see this one's changes.
            if let Ok(t) = &result {
                stepper.apply(&t.changes);
            }
            batches.push(result);
        }
    }
    Ok(Simulation {
        plan: stepper.finish(),
        batches,
    })
}
