//! `git ripple new`: a recipe from one line (`git ripple new rename SYMBOL NEW_NAME`), written to
//! `.ripple/recipes/<name>.toml` with a comment per key and the verify commands the repository
//! calls for, checked and planned before it is written.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use clap::{Args, Subcommand};
use miette::{IntoDiagnostic, Result, miette};

use super::exit;
use crate::graph::GraphOptions;
use crate::recipe::template::{NewStep, default_name, detect_verify, render};
use crate::recipe::{Origin, REPO_RECIPES, RecipeSource, parse_recipe};
use crate::scan::{Repository, View, scan_repo};
use crate::simulate::simulate;

#[derive(Debug, Args)]
#[command(after_help = "\
Writes .ripple/recipes/<name>.toml: the step, batch limits, and verify commands detected from
the repository (pytest, tox, nox, a Makefile's test target; go build, go vet and go test per
module), with a comment on every key. The recipe is checked and planned first (a mistyped
symbol gets the closest ones); nothing is written when it does not plan. On a terminal, what
is missing is asked for.

Examples:
  git ripple new rename shopcore.db.queries.fetch_order load_order
  git ripple new move shopcore.db.queries shopcore.storage.queries
  git ripple new rewrite --language go --query '(call_expression) @match' --template '…'
  git ripple new model --instructions 'Use pathlib instead of os.path' --path 'src/**/*.py'")]
pub struct NewArgs {
    /// What the recipe does.
    #[command(subcommand)]
    pub kind: Option<NewKind>,
    /// The recipe's name (default: from the change, `rename-fetch-order-to-load-order`).
    #[arg(long, global = true, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace a recipe of that name.
    #[arg(long, global = true)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum NewKind {
    /// Rename a symbol everywhere it is used.
    Rename {
        /// The symbol ID (`pkg.module.name`, `import/path.Type.Method`).
        symbol: Option<String>,
        /// The new name.
        to: Option<String>,
    },
    /// Move a Python module or package, or a Go package.
    Move {
        /// Its dotted path or import path.
        from: Option<String>,
        /// Where it goes.
        to: Option<String>,
    },
    /// Rewrite what a tree-sitter query matches.
    Rewrite {
        /// The grammar: python or go.
        #[arg(long)]
        language: String,
        /// The query; the node captured as @match is replaced.
        #[arg(long)]
        query: String,
        /// The replacement ($name inserts capture @name's text).
        #[arg(long)]
        template: String,
        /// An import the replacement needs (repeatable).
        #[arg(long = "import", value_name = "IMPORT")]
        imports: Vec<String>,
        /// Only files matching this glob (repeatable).
        #[arg(long = "path", value_name = "GLOB")]
        paths: Vec<String>,
    },
    /// Let a model carry out instructions, batch by batch.
    Model {
        /// What the model should do.
        #[arg(long)]
        instructions: Option<String>,
        /// A symbol whose file and users are selected (repeatable).
        #[arg(long = "references", value_name = "SYMBOL")]
        references: Vec<String>,
        /// A glob selecting files (repeatable).
        #[arg(long = "path", value_name = "GLOB")]
        paths: Vec<String>,
    },
}

/// Asks on the terminal for what the command line left out, or says what is missing.
struct Asker {
    interactive: bool,
}

impl Asker {
    fn get(&self, value: Option<String>, what: &str, usage: &str) -> Result<String> {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            return Ok(v);
        }
        if !self.interactive {
            return Err(miette!(
                code = "ripple::new::missing",
                help = format!("{usage} (on a terminal, git ripple new asks)"),
                "missing {what}"
            ));
        }
        loop {
            eprint!("{what}: ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            let read = std::io::stdin()
                .lock()
                .read_line(&mut line)
                .into_diagnostic()?;
            if read == 0 {
                return Err(miette!(code = "ripple::new::missing", "missing {what}"));
            }
            let line = line.trim();
            if !line.is_empty() {
                return Ok(line.to_string());
            }
        }
    }
}

fn step_from(kind: Option<NewKind>, ask: &Asker) -> Result<NewStep> {
    let kind = match kind {
        Some(k) => k,
        None => {
            let what = ask.get(
                None,
                "what the recipe does (rename, move or model)",
                "git ripple new rename SYMBOL NEW_NAME, new move FROM TO, new rewrite …, new model --instructions …",
            )?;
            match what.as_str() {
                "rename" => NewKind::Rename {
                    symbol: None,
                    to: None,
                },
                "move" => NewKind::Move {
                    from: None,
                    to: None,
                },
                "model" => NewKind::Model {
                    instructions: None,
                    references: Vec::new(),
                    paths: Vec::new(),
                },
                other => {
                    return Err(miette!(
                        code = "ripple::new::kind",
                        help = "rename, move, or model (rewrite takes its query as flags)",
                        "`{other}` is not a kind of recipe"
                    ));
                }
            }
        }
    };
    Ok(match kind {
        NewKind::Rename { symbol, to } => NewStep::Rename {
            symbol: ask.get(
                symbol,
                "symbol ID (as `git ripple graph --symbol` shows it)",
                "git ripple new rename SYMBOL NEW_NAME",
            )?,
            to: ask.get(to, "new name", "git ripple new rename SYMBOL NEW_NAME")?,
        },
        NewKind::Move { from, to } => NewStep::Move {
            from: ask.get(
                from,
                "module or package to move",
                "git ripple new move FROM TO",
            )?,
            to: ask.get(to, "where it goes", "git ripple new move FROM TO")?,
        },
        NewKind::Rewrite {
            language,
            query,
            template,
            imports,
            paths,
        } => NewStep::Rewrite {
            language,
            query,
            template,
            imports,
            paths,
        },
        NewKind::Model {
            instructions,
            references,
            paths,
        } => NewStep::Model {
            instructions: ask.get(
                instructions,
                "instructions for the model",
                "git ripple new model --instructions TEXT [--references SYMBOL] [--path GLOB]",
            )?,
            references,
            paths,
        },
    })
}

/// Configuration files verify detection looks at besides sources and manifests.
const CONFIG_FILES: &[&str] = &[
    "tox.ini",
    "noxfile.py",
    "Makefile",
    "pytest.ini",
    "setup.cfg",
];

pub fn run_new(cwd: &Path, args: NewArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let ask = Asker {
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let step = step_from(args.kind, &ask)?;
    let name = args.name.unwrap_or_else(|| default_name(&step));
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(miette!(
            code = "ripple::new::name",
            help =
                "letters, digits, `-`, `_` and `.`: it becomes the file name and the branch name",
            "`{name}` cannot name a recipe"
        ));
    }
    let relative = format!("{REPO_RECIPES}/{name}.toml");
    let path = repo.root.join(&relative);
    if path.exists() && !args.force {
        return Err(miette!(
            code = "ripple::new::exists",
            help = "`--name` picks another name, `--force` replaces it",
            "{relative} exists already"
        ));
    }

    let scan = scan_repo(&repo)?;
    let view = View::disk(&repo.root);
    let mut paths: Vec<&str> = scan.sources.iter().map(|s| s.path.as_str()).collect();
    paths.extend(scan.manifest_paths.iter().map(String::as_str));
    paths.extend(CONFIG_FILES.iter().filter(|f| repo.root.join(f).is_file()));
    paths.sort_unstable();
    paths.dedup();
    let detected = detect_verify(&paths, &|p| view.text(p));
    let text = render(&name, &step, &detected);

    // Checked and planned as `plan` would, before anything is written.
    let source = RecipeSource {
        origin: Origin::File(path.clone()),
        text: text.clone(),
        display: relative.clone(),
    };
    let mut recipe = parse_recipe(source)?;
    crate::run::apply_git_config(&repo, &mut recipe);
    let plan = simulate(&repo.root, &scan, &recipe, &GraphOptions::default(), false)?.plan;

    std::fs::create_dir_all(path.parent().expect("a recipes folder")).into_diagnostic()?;
    std::fs::write(&path, &text).into_diagnostic()?;
    outln!("wrote {relative}");
    let t = &plan.totals;
    outln!(
        "plan: {} file{} in {} batch{} over {} level{}",
        t.files,
        if t.files == 1 { "" } else { "s" },
        t.batches,
        if t.batches == 1 { "" } else { "es" },
        t.levels,
        if t.levels == 1 { "" } else { "s" },
    );
    for step in &plan.steps {
        for note in &step.notes {
            outln!("  note: {note}");
        }
    }
    if recipe.verify.commands.is_empty() {
        outln!("verify: none found; add your build and test commands to [verify] commands");
    } else {
        outln!("verify: {}", recipe.verify.commands.join("; "));
    }
    outln!("next:");
    outln!("  git ripple plan {name}     every batch, file and reason");
    outln!("  git ripple run {name}      carry it out, one verified commit per batch");
    Ok(exit::SUCCESS)
}
