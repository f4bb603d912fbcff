//! Checking a recipe's step against the repository it is planned on: symbols and modules exist
//! (with the closest ones as a hint), new names are legal and free in the symbol's language, a
//! rename does not hide a symbol its users need. Errors point at the recipe's spans.

use std::collections::BTreeSet;

use crate::graph::Graph;
use crate::lang::facts::SymbolKind;
use crate::recipe::{Family, Located, Recipe, RecipeError, StepAction, Unsure};

/// Check step `index` of the recipe against `graph` (the repository as the earlier steps leave
/// it).
pub fn check_step(recipe: &Recipe, graph: &Graph, index: usize) -> Result<(), RecipeError> {
    let unknown_symbol = |id: &Located<String>| {
        let close = graph.closest_symbols(&id.value, 3);
        let help = if close.is_empty() {
            "`git ripple graph --format json` lists the repository's symbols".to_string()
        } else {
            format!("closest: {}", quoted(&close))
        };
        recipe.invalid_at(
            id.span.clone(),
            format!("no symbol `{}` in this repository", id.value),
            "unknown symbol",
            Some(help),
        )
    };
    match &recipe.steps[index].action {
        StepAction::Rename(r) => {
            let Some(sid) = graph.symbol_id(&r.symbol.value) else {
                return Err(unknown_symbol(&r.symbol));
            };
            let symbol = &graph.symbols[sid];
            let language = graph.files[symbol.file].language;
            let support = language.support();
            if support.keywords().contains(&r.to.value.as_str()) {
                return Err(recipe.invalid_at(
                    r.to.span.clone(),
                    format!("`{}` is a {language} keyword", r.to.value),
                    "reserved",
                    None,
                ));
            }
            if !support.is_identifier(&r.to.value) {
                return Err(recipe.invalid_at(
                    r.to.span.clone(),
                    format!("`{}` is not a {language} identifier", r.to.value),
                    "the new name",
                    None,
                ));
            }
            if r.to.value == symbol.name {
                return Err(recipe.invalid_at(
                    r.to.span.clone(),
                    format!("the symbol is already called `{}`", r.to.value),
                    "same name",
                    None,
                ));
            }
            if graph.facts[symbol.file].generated {
                return Err(recipe.invalid_at(
                    r.symbol.span.clone(),
                    format!(
                        "`{}` is defined in a generated file ({})",
                        symbol.name, graph.files[symbol.file].path
                    ),
                    "generated",
                    Some("rename it in the generator's input and regenerate".into()),
                ));
            }
            let set = graph.rename_set(sid);
            if set.len() > 1 && r.family == Family::Refuse {
                return Err(recipe.invalid_at(
                    r.symbol.span.clone(),
                    format!(
                        "`{}` keeps one name with {} other method{} (an interface method and its implementations, or a method and its overrides): {}",
                        symbol.name,
                        set.len() - 1,
                        if set.len() == 2 { "" } else { "s" },
                        quoted(&set[1..].iter().map(|&m| graph.symbols[m].id.as_str()).collect::<Vec<_>>())
                    ),
                    "a method family",
                    Some("family = \"rename\" (the default) renames them all in one commit".into()),
                ));
            }
            if symbol.kind == SymbolKind::Method
                && let Some(reason) = set.iter().find_map(|&m| {
                    support.outside_interface(&symbol.name, graph.outside_bases_of(m))
                })
            {
                return Err(recipe.invalid_at(
                    r.symbol.span.clone(),
                    format!("`{}` {reason}", symbol.name),
                    "satisfies an outside interface",
                    Some("keep the name; add a method with the new name that calls it if callers should move".into()),
                ));
            }
            for &member in &set {
                let m = &graph.symbols[member];
                let prefix = &m.id[..m.id.len() - m.name.len()];
                let new_id = format!("{prefix}{}", r.to.value);
                if graph.symbol_id(&new_id).is_some() {
                    return Err(recipe.invalid_at(
                        r.to.span.clone(),
                        format!("`{new_id}` already exists"),
                        "name taken",
                        Some("pick a name that is free in the symbol's scope (and its method family's)".into()),
                    ));
                }
            }
            if r.unsure == Unsure::Fail {
                let sites = graph.describe_unsure_sites(&set);
                if !sites.is_empty() {
                    return Err(recipe.invalid_at(
                        r.symbol.span.clone(),
                        format!(
                            "{} unsure site{} may use `{}`: {}",
                            sites.len(),
                            if sites.len() == 1 { "" } else { "s" },
                            symbol.name,
                            sites.join(", ")
                        ),
                        "unsure = \"fail\"",
                        Some("`unsure = \"report\"` leaves them for verification to judge, `\"rename\"` renames them too".into()),
                    ));
                }
            }
            if let Some(hint) = support.visibility_by_name()
                && symbol.exported
                && !support.is_exported(&r.to.value)
            {
                let module = &graph.files[symbol.file].module;
                let used_outside = graph
                    .references(sid)
                    .iter()
                    .any(|re| &graph.files[re.file].module != module);
                if used_outside {
                    return Err(recipe.invalid_at(
                        r.to.span.clone(),
                        format!(
                            "`{}` would not be exported, but `{}` is used outside its package",
                            r.to.value, symbol.name
                        ),
                        "unexported name",
                        Some(hint.into()),
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
                let close = crate::suggest::closest(&m.from.value, modules.iter().copied(), 3);
                return Err(recipe.invalid_at(
                    m.from.span.clone(),
                    format!(
                        "no Python module or Go package `{}` in this repository",
                        m.from.value
                    ),
                    "unknown module",
                    Some(format!("closest: {}", quoted(&close))),
                ));
            }
            if modules.contains(m.to.value.as_str()) {
                return Err(recipe.invalid_at(
                    m.to.span.clone(),
                    format!("`{}` already exists", m.to.value),
                    "taken",
                    None,
                ));
            }
        }
        StepAction::Rewrite(_) => {}
    }
    Ok(())
}

/// Every step of the recipe against one graph.
pub fn check_recipe(recipe: &Recipe, graph: &Graph) -> Result<(), RecipeError> {
    (0..recipe.steps.len()).try_for_each(|i| check_step(recipe, graph, i))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
