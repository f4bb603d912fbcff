//! `git ripple recipes`: the repository's recipes and the bundled ones, with descriptions.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result};
use serde_json::json;

use super::exit;
use crate::recipe::{Origin, REPO_RECIPES, list_recipes};
use crate::scan::Repository;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecipesFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Recipes are TOML files. Check them into .ripple/recipes/NAME.toml to share them with the
repository; `git ripple plan NAME` then finds them by name.

Examples:
  git ripple recipes
  git ripple recipes --format json")]
pub struct RecipesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RecipesFormat::Text)]
    pub format: RecipesFormat,
}

pub fn run_recipes(cwd: &Path, args: RecipesArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let entries = list_recipes(&repo.root);
    let mut invalid = false;
    let out = match args.format {
        RecipesFormat::Json => {
            let list: Vec<_> = entries
                .iter()
                .map(|e| {
                    let (origin, path) = match &e.origin {
                        Origin::File(p) => (
                            "repository",
                            p.strip_prefix(&repo.root).unwrap_or(p).display().to_string(),
                        ),
                        Origin::Bundled(n) => ("bundled", format!("recipes/{n}.toml")),
                    };
                    match &e.description {
                        Ok(d) => json!({"name": e.name, "origin": origin, "path": path, "description": d}),
                        Err(err) => {
                            invalid = true;
                            json!({"name": e.name, "origin": origin, "path": path, "error": err})
                        }
                    }
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&list).into_diagnostic()?;
            s.push('\n');
            s
        }
        RecipesFormat::Text => {
            let mut s = String::new();
            let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
            let repo_entries: Vec<_> = entries
                .iter()
                .filter(|e| matches!(e.origin, Origin::File(_)))
                .collect();
            let _ = writeln!(s, "In this repository ({REPO_RECIPES}/):");
            if repo_entries.is_empty() {
                let _ = writeln!(s, "  none yet: add {REPO_RECIPES}/NAME.toml");
            }
            for e in repo_entries {
                match &e.description {
                    Ok(d) => {
                        let d = if d.is_empty() { "(no description)" } else { d };
                        let _ = writeln!(s, "  {:<width$}  {d}", e.name);
                    }
                    Err(err) => {
                        invalid = true;
                        let first = err.lines().next().unwrap_or("");
                        let _ = writeln!(
                            s,
                            "  {:<width$}  INVALID: {first} (`git ripple plan {}` shows where)",
                            e.name, e.name
                        );
                    }
                }
            }
            let _ = writeln!(s, "Bundled with git-ripple:");
            for e in entries
                .iter()
                .filter(|e| matches!(e.origin, Origin::Bundled(_)))
            {
                let d = e.description.as_deref().unwrap_or("(invalid)");
                let _ = writeln!(s, "  {:<width$}  {d}", e.name);
            }
            s
        }
    };
    out!("{out}");
    Ok(if invalid {
        exit::BAD_INPUT
    } else {
        exit::SUCCESS
    })
}
