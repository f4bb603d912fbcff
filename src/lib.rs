//! git-ripple: repository-wide refactorings and migrations of Python and Go code, carried out
//! as a sequence of small, verified, reviewable commits ordered along the code's own
//! dependency graph.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! scan ─► facts (lang) ─► graph ─► (recipe) plan ─► transform ─► apply ─► verify ─► commit
//! ```
//!
//! * [`scan`] lists the files git sees;
//! * [`lang`] extracts per-file [`facts`] with tree-sitter queries and resolves imports and
//!   names per language;
//! * [`graph`] assembles files, folders and symbols into a petgraph and answers dependency
//!   questions;
//! * [`recipe`] reads and checks the TOML recipes that describe a change;
//! * [`plan`] cuts a recipe's targets into ordered, bounded batches;
//! * [`cli`] is the command line on top.

pub mod cli;
pub mod context;
pub mod edit;
pub mod facts;
pub mod format;
pub mod graph;
pub mod lang;
pub mod model;
pub mod plan;
pub mod recipe;
pub mod rules;
pub mod run;
pub mod scan;
pub mod state;
pub mod vcs;
pub mod verify;

pub use cli::main_with_args;
