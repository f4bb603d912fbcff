//! Checking a parsed recipe against the repository: symbols and modules exist (with the
//! closest ones as a hint), new names are legal and free.

use std::collections::BTreeSet;

use super::parse::{GO_KEYWORDS, PYTHON_KEYWORDS};
use super::{Errors, Located, Recipe, RecipeError, StepAction};
use crate::graph::Graph;
use crate::lang::Language;

impl Recipe {
    /// Check what needs the repository: symbols exist (with the closest IDs as a hint), new
    /// names are free and legal in the symbol's language, moved modules exist.
    pub fn check(&self, graph: &Graph) -> Result<(), RecipeError> {
        (0..self.steps.len()).try_for_each(|i| self.check_step(graph, i))
    }

    /// [`Recipe::check`] for one step, against the repository as the earlier steps leave it.
    pub fn check_step(&self, graph: &Graph, index: usize) -> Result<(), RecipeError> {
        let errors = Errors {
            source: &self.source,
        };
        let unknown_symbol = |id: &Located<String>| {
            let close = graph.closest_symbols(&id.value, 3);
            let help = if close.is_empty() {
                "`git ripple graph --format json` lists the repository's symbols".to_string()
            } else {
                format!(
                    "closest: {}",
                    close
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            errors.at(
                id.span.clone(),
                format!("no symbol `{}` in this repository", id.value),
                "unknown symbol",
                Some(help),
            )
        };
        {
            let step = &self.steps[index];
            match &step.action {
                StepAction::Rename(r) => {
                    let Some(sid) = graph.symbol_id(&r.symbol.value) else {
                        return Err(unknown_symbol(&r.symbol));
                    };
                    let symbol = &graph.symbols[sid];
                    let language = graph.files[symbol.file].language;
                    let keywords = match language {
                        Language::Python => PYTHON_KEYWORDS,
                        Language::Go => GO_KEYWORDS,
                    };
                    if keywords.contains(&r.to.value.as_str()) {
                        return Err(errors.at(
                            r.to.span.clone(),
                            format!("`{}` is a {language} keyword", r.to.value),
                            "reserved",
                            None,
                        ));
                    }
                    if r.to.value == symbol.name {
                        return Err(errors.at(
                            r.to.span.clone(),
                            format!("the symbol is already called `{}`", r.to.value),
                            "same name",
                            None,
                        ));
                    }
                    let prefix = &symbol.id[..symbol.id.len() - symbol.name.len()];
                    let new_id = format!("{prefix}{}", r.to.value);
                    if graph.symbol_id(&new_id).is_some() {
                        return Err(errors.at(
                            r.to.span.clone(),
                            format!("`{new_id}` already exists"),
                            "name taken",
                            Some("pick a name that is free in the symbol's scope".into()),
                        ));
                    }
                    if language == Language::Go && symbol.exported {
                        let still_exported =
                            r.to.value.chars().next().is_some_and(char::is_uppercase);
                        let used_outside = graph.references(sid).iter().any(|re| {
                            graph.files[re.file].module != graph.files[symbol.file].module
                        });
                        if !still_exported && used_outside {
                            return Err(errors.at(
                                r.to.span.clone(),
                                format!(
                                    "`{}` would not be exported, but `{}` is used outside its package",
                                    r.to.value, symbol.name
                                ),
                                "unexported name",
                                Some("Go exports names that start with an upper-case letter".into()),
                            ));
                        }
                    }
                }
                StepAction::Model(m) => {
                    for id in &m.select.references {
                        if graph.symbol_id(&id.value).is_none() {
                            return Err(unknown_symbol(id));
                        }
                    }
                }
                StepAction::Move(m) => {
                    let modules: BTreeSet<&str> = graph
                        .files
                        .iter()
                        .filter_map(|f| f.module.as_deref())
                        .collect();
                    if !modules.contains(m.from.value.as_str()) {
                        let mut close: Vec<(usize, &str)> = modules
                            .iter()
                            .map(|n| (crate::graph::edit_distance(&m.from.value, n), *n))
                            .collect();
                        close.sort();
                        let help = format!(
                            "closest: {}",
                            close
                                .iter()
                                .take(3)
                                .map(|(_, n)| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        return Err(errors.at(
                            m.from.span.clone(),
                            format!(
                                "no Python module or Go package `{}` in this repository",
                                m.from.value
                            ),
                            "unknown module",
                            Some(help),
                        ));
                    }
                    if modules.contains(m.to.value.as_str()) {
                        return Err(errors.at(
                            m.to.span.clone(),
                            format!("`{}` already exists", m.to.value),
                            "taken",
                            None,
                        ));
                    }
                }
                StepAction::Rewrite(_) => {}
            }
        }
        Ok(())
    }
}
