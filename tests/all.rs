//! Integration tests: the real binary on fixture repositories copied into temp dirs and
//! committed with a fixed identity and date. One test binary, one module per area.

mod access_paths;
mod architecture;
mod cases;
mod check;
mod common;
mod explain;
mod fuzz_corpus;
mod go_renames;
mod go_types;
mod graph_go;
mod graph_input;
mod graph_python;
mod help;
mod levels;
mod model;
mod new;
mod plan;
mod plan_properties;
mod python_ground_truth;
mod python_real;
mod python_renames;
mod recipe_errors;
mod report;
mod resume;
mod run;
mod stack;
mod trust;
mod views;
