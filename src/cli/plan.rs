//! `git ripple plan`: what a recipe will change, in which batches and in which order, without
//! changing anything.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result};

use super::exit;
use crate::graph::GraphOptions;
use crate::plan::Plan;
use crate::recipe::{find_recipe, parse_recipe};
use crate::scan::{Repository, scan_repo};
use crate::simulate::simulate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// What a reviewer reads before approving: batches, files, why, totals.
    Text,
    /// The plan for tools and CI fan-out (schema in the README).
    Json,
    /// Graphviz: batches and what each builds on.
    Dot,
    /// Mermaid flowchart of the same (renders in GitHub Markdown).
    Mermaid,
}

#[derive(Debug, Args)]
#[command(after_help = "\
RECIPE is a path to a .toml file, the name of a recipe in .ripple/recipes/, or the name of a
bundled recipe (`git ripple recipes` lists them).

Examples:
  git ripple plan rename-fetch-order
  git ripple plan .ripple/recipes/drop-py38.toml --format json > plan.json
  git ripple plan go-ioutil --format dot | dot -Tsvg > plan.svg")]
pub struct PlanArgs {
    /// The recipe: a path, or a repository or bundled recipe name.
    pub recipe: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Skip source files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_file_size: u64,
    /// Parse every file again instead of reusing the facts cache (`git ripple cache`).
    #[arg(long)]
    pub no_cache: bool,
}

pub fn run_plan(cwd: &Path, args: PlanArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let source = find_recipe(&repo.root, cwd, &args.recipe)?;
    let mut recipe = parse_recipe(source)?;
    crate::run::apply_git_config(&repo, &mut recipe);
    let scan = scan_repo(&repo)?;
    let options = GraphOptions {
        max_file_size: args.max_file_size,
        cache: !args.no_cache,
        ..GraphOptions::default()
    };
    // Each step is planned on the repository as the earlier steps leave it.
    let plan = simulate(&repo.root, &scan, &recipe, &options, false)?.plan;
    let out = match args.format {
        PlanFormat::Text => render_text(&plan),
        PlanFormat::Json => {
            let mut s = serde_json::to_string_pretty(&plan).into_diagnostic()?;
            s.push('\n');
            s
        }
        PlanFormat::Dot => render_dot(&plan),
        PlanFormat::Mermaid => render_mermaid(&plan),
    };
    out!("{out}");
    Ok(exit::SUCCESS)
}

fn tokens(n: u64) -> String {
    if n >= 10_000 {
        format!("~{}k tokens", n / 1000)
    } else if n >= 1000 {
        format!("~{:.1}k tokens", n as f64 / 1000.0)
    } else {
        format!("~{n} tokens")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The plan as a reviewer reads it: batches in commit order, each with its files and why.
pub fn render_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Plan for {}: {}", plan.recipe, plan.description);
    let _ = writeln!(s, "Recipe:  {}", plan.source);
    let grouping = match plan.limits.group.as_str() {
        "none" => "in dependency order only".to_string(),
        g => format!("grouped by {g}"),
    };
    let _ = writeln!(
        s,
        "Limits:  {} and {} per batch, {grouping}",
        plural(plan.limits.max_files, "file", "files"),
        tokens(plan.limits.max_tokens),
    );
    for step in &plan.steps {
        let levels: std::collections::BTreeSet<usize> =
            step.batches.iter().map(|b| b.level).collect();
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Step {} of {} ({}): {}",
            step.index,
            plan.steps.len(),
            step.kind,
            step.title
        );
        let _ = writeln!(
            s,
            "  {}, {} over {}",
            plural(step.targets.len(), "target", "targets"),
            plural(step.batches.len(), "batch", "batches"),
            plural(levels.len(), "level", "levels"),
        );
        for note in &step.notes {
            let _ = writeln!(s, "  note: {note}");
        }
        let reasons: HashMap<&str, &Vec<String>> = step
            .targets
            .iter()
            .map(|t| (t.path.as_str(), &t.reasons))
            .collect();
        for b in &step.batches {
            let _ = writeln!(s);
            let mut head = format!(
                "  Batch {}/{} · level {}",
                b.index, plan.totals.batches, b.level
            );
            if let Some(phase) = b.phase {
                let _ = write!(head, " · {}", phase.name());
            }
            if !b.depends_on.is_empty() {
                let after: Vec<String> = b.depends_on.iter().map(|d| d.to_string()).collect();
                let _ = write!(head, " · after {}", after.join(", "));
            }
            let _ = write!(
                head,
                " · {} · {}",
                plural(b.files.len(), "file", "files"),
                tokens(b.tokens)
            );
            if b.oversized {
                head.push_str(" · OVER LIMITS");
            }
            let _ = writeln!(s, "{head}");
            let _ = writeln!(s, "    why: {}", b.reason);
            if !b.owners.is_empty() || b.unowned > 0 {
                let _ = writeln!(s, "    owners: {}", owners_line(b));
            }
            let width = b.files.iter().map(|f| f.chars().count()).max().unwrap_or(0);
            for f in &b.files {
                let why = reasons
                    .get(f.as_str())
                    .map(|r| r.join("; "))
                    .unwrap_or_default();
                let _ = writeln!(s, "    {f:<width$}  {why}");
            }
            for v in &b.verify {
                let _ = writeln!(s, "    verify: {v}");
            }
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Total: {}, {}, {}, {}, {}",
        plural(plan.totals.steps, "step", "steps"),
        plural(plan.totals.batches, "batch", "batches"),
        plural(plan.totals.files, "file", "files"),
        tokens(plan.totals.tokens),
        plural(plan.totals.levels, "level", "levels"),
    );
    s
}

/// `@shop/api @shop/core (2 files without an owner)`.
fn owners_line(b: &crate::plan::Batch) -> String {
    let mut line = if b.owners.is_empty() {
        "none".to_string()
    } else {
        b.owners.join(" ")
    };
    if b.unowned > 0 {
        let _ = write!(
            line,
            " ({} without an owner)",
            plural(b.unowned, "file", "files")
        );
    }
    line
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Batches as Graphviz nodes clustered by step, with an edge from each batch to the ones
/// built on it.
pub fn render_dot(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph plan {{");
    let _ = writeln!(s, "  label=\"{}\";", dot_escape(&plan.recipe));
    let _ = writeln!(s, "  rankdir=LR;");
    let _ = writeln!(s, "  node [shape=box, fontname=\"monospace\"];");
    for step in &plan.steps {
        let _ = writeln!(s, "  subgraph cluster_step{} {{", step.index);
        let _ = writeln!(
            s,
            "    label=\"step {}: {}\";",
            step.index,
            dot_escape(&step.title)
        );
        for b in &step.batches {
            let mut label = format!(
                "batch {} · level {}\\n{}\\n{}",
                b.index,
                b.level,
                dot_escape(&b.group),
                plural(b.files.len(), "file", "files")
            );
            if let Some(p) = b.phase {
                let _ = write!(label, "\\n{}", p.name());
            }
            if !b.owners.is_empty() || b.unowned > 0 {
                let _ = write!(label, "\\n{}", dot_escape(&owners_line(b)));
            }
            let style = if b.oversized { ", color=red" } else { "" };
            let _ = writeln!(s, "    b{} [label=\"{label}\"{style}];", b.index);
        }
        let _ = writeln!(s, "  }}");
    }
    for step in &plan.steps {
        for b in &step.batches {
            for d in &b.depends_on {
                let _ = writeln!(s, "  b{d} -> b{};", b.index);
            }
        }
    }
    let _ = writeln!(s, "}}");
    s
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// The batch graph as a Mermaid flowchart: one subgraph per step, an edge from each batch to
/// the ones built on it.
pub fn render_mermaid(plan: &Plan) -> String {
    let mut s = String::from("flowchart LR\n");
    for step in &plan.steps {
        let _ = writeln!(
            s,
            "  subgraph step{}[\"step {}: {}\"]",
            step.index,
            step.index,
            mermaid_escape(&step.title)
        );
        for b in &step.batches {
            let phase = b
                .phase
                .map(|p| format!(" · {}", p.name()))
                .unwrap_or_default();
            let owners = if b.owners.is_empty() && b.unowned == 0 {
                String::new()
            } else {
                format!("<br/>{}", mermaid_escape(&owners_line(b)))
            };
            let _ = writeln!(
                s,
                "    b{}[\"batch {} · level {}{phase}<br/>{} · {}{owners}\"]",
                b.index,
                b.index,
                b.level,
                mermaid_escape(&b.group),
                plural(b.files.len(), "file", "files")
            );
        }
        let _ = writeln!(s, "  end");
    }
    for step in &plan.steps {
        for b in &step.batches {
            for d in &b.depends_on {
                let _ = writeln!(s, "  b{d} --> b{}", b.index);
            }
        }
    }
    s
}
