//! git-ripple: repository-wide refactorings and migrations of Python and Go code, carried out
//! as a sequence of small, verified, reviewable commits ordered along the code's own
//! dependency graph.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! scan ─► lang (facts) ─► graph ─► plan ─► context ─► transform ─► edit ─► verify ─► vcs
//!                           ▲        ▲                    │
//!                         recipe   simulate (plans step by step on earlier steps' edits)
//!                                                          run: sequences it all
//! ```
//!
//! * [`scan`] lists the files git sees; [`lang`] knows the languages (facts, resolvers, and
//!   everything else language-specific); [`graph`] assembles files and symbols into a graph;
//! * [`recipe`] reads the TOML recipes that describe a change (data, no repository needed);
//! * [`plan`] cuts a recipe's targets into ordered, bounded batches; [`simulate`] plans each
//!   step on what the earlier ones leave;
//! * [`context`] builds what a model sees; [`model`] talks to providers; [`transform`] turns a
//!   batch into edits, by rules or by a model;
//! * [`edit`] checks and writes edits; [`verify`] runs build and test commands; [`vcs`] commits;
//! * [`run`] sequences the stages batch by batch; [`cli`] is the command line on top.
//!
//! Below them all: [`change`] (edits as plain data), [`tokens`] (token counts) and [`suggest`]
//! ("did you mean" hints).

#![deny(missing_docs)]

pub mod change;
pub mod cli;
pub mod context;
pub mod edit;
pub mod graph;
pub mod lang;
pub mod model;
pub mod plan;
pub mod recipe;
pub mod run;
pub mod scan;
pub mod simulate;
pub mod suggest;
pub mod tokens;
pub mod transform;
pub mod vcs;
pub mod verify;

pub use cli::main_with_args;
