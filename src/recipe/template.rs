//! New recipes from a one-line description (`git ripple new rename SYMBOL NEW_NAME`): the TOML
//! text, with a comment per key, and verify commands detected from what the repository holds
//! (its file list and a few configuration files, read through a callback so this module needs
//! no repository of its own).

/// The one step a new recipe carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewStep {
    /// Rename a symbol.
    Rename {
        /// Its ID.
        symbol: String,
        /// The new name.
        to: String,
    },
    /// Move a Python module or package, or a Go package.
    Move {
        /// Its dotted path or import path.
        from: String,
        /// Where it goes.
        to: String,
    },
    /// A tree-sitter query and its replacement.
    Rewrite {
        /// `python` or `go`.
        language: String,
        /// The query.
        query: String,
        /// The replacement.
        template: String,
        /// Imports the replacement needs.
        imports: Vec<String>,
        /// Globs restricting the files.
        paths: Vec<String>,
    },
    /// A model carries out instructions.
    Model {
        /// What to do.
        instructions: String,
        /// Symbols whose files (and every file using them) are selected.
        references: Vec<String>,
        /// Globs selecting (or restricting) the files.
        paths: Vec<String>,
    },
}

/// A verify command and why it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command.
    pub command: String,
    /// The comment written above it.
    pub why: String,
}

/// Verify commands found for a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    /// Run after every batch.
    pub commands: Vec<Command>,
    /// Run once at the end (heavy runners: tox, nox, `make test`).
    pub final_commands: Vec<Command>,
}

/// The verify commands a repository's own files call for. `paths` are the repository's files
/// (as git lists them); `read` gives a file's text.
pub fn detect_verify(paths: &[&str], read: &dyn Fn(&str) -> Option<String>) -> Detected {
    let mut d = Detected::default();
    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let has_python = paths.iter().any(|p| p.ends_with(".py"));
    if has_python {
        let contains = |file: &str, needle: &str| read(file).is_some_and(|t| t.contains(needle));
        let tests = paths.iter().any(|p| {
            let n = name(p);
            n.ends_with(".py") && (n.starts_with("test_") || n.ends_with("_test.py"))
        });
        let pytest = paths
            .iter()
            .any(|p| name(p) == "conftest.py" || *p == "pytest.ini")
            || contains("pyproject.toml", "[tool.pytest")
            || contains("setup.cfg", "[tool:pytest]")
            || contains("tox.ini", "[pytest]")
            || tests;
        if pytest {
            d.commands.push(Command {
                command: "python -m pytest -q {tests}".to_string(),
                why: "pytest, as the repository configures it; {tests} is the batch's test files and those depending on its files (all tests when there are none)".to_string(),
            });
        } else {
            d.commands.push(Command {
                command: "python -m compileall -q {files}".to_string(),
                why: "no test runner found: at least every file the batch changes must compile"
                    .to_string(),
            });
        }
        if paths.contains(&"tox.ini") || contains("pyproject.toml", "[tool.tox") {
            d.final_commands.push(Command {
                command: "tox".to_string(),
                why: "every tox environment, once, after the last batch".to_string(),
            });
        }
        if paths.contains(&"noxfile.py") {
            d.final_commands.push(Command {
                command: "nox".to_string(),
                why: "every nox session, once, after the last batch".to_string(),
            });
        }
    }
    if paths.contains(&"Makefile")
        && read("Makefile").is_some_and(|t| t.lines().any(|l| l.starts_with("test:")))
    {
        d.final_commands.push(Command {
            command: "make test".to_string(),
            why: "the Makefile's test target, once, after the last batch".to_string(),
        });
    }
    let mut modules: Vec<&str> = paths
        .iter()
        .filter_map(|p| {
            if *p == "go.mod" {
                Some("")
            } else {
                p.strip_suffix("/go.mod")
            }
        })
        .filter(|dir| !dir.split('/').any(|c| c == "vendor" || c == "testdata"))
        .collect();
    modules.sort_unstable();
    for dir in modules {
        if dir.is_empty() {
            d.commands.push(Command {
                command: "go build ./...".to_string(),
                why: "the root module builds".to_string(),
            });
            d.commands.push(Command {
                command: "go vet {packages}".to_string(),
                why: "go vet on the batch's packages and every package depending on them"
                    .to_string(),
            });
            d.commands.push(Command {
                command: "go test {packages}".to_string(),
                why: "their tests".to_string(),
            });
        } else {
            for (verb, why) in [
                ("build", "builds"),
                ("vet", "passes go vet"),
                ("test", "passes its tests"),
            ] {
                d.commands.push(Command {
                    command: format!("go -C {dir} {verb} ./..."),
                    why: format!("the module in {dir}/ {why}"),
                });
            }
        }
    }
    d
}

/// A recipe name from the step: `rename-fetch-order-to-load-order`, `move-queries`, ….
pub fn default_name(step: &NewStep) -> String {
    let last = |s: &str| s.rsplit(['.', '/']).next().unwrap_or(s).to_string();
    let raw = match step {
        NewStep::Rename { symbol, to } => format!("rename-{}-to-{to}", last(symbol)),
        NewStep::Move { from, to } => format!("move-{}-to-{}", last(from), last(to)),
        NewStep::Rewrite { language, .. } => format!("rewrite-{language}"),
        NewStep::Model { instructions, .. } => {
            let words = slug(instructions, 60);
            let words: Vec<&str> = words.split('-').take(4).collect();
            format!("model-{}", words.join("-"))
        }
    };
    slug(&raw, 60)
}

/// Lower case, words split at `_`, capitals and punctuation, joined by `-`.
/// A lowercase, hyphenated name for `raw` fit for file and branch names:
/// camelCase and punctuation become word breaks, and at most `max` characters
/// are kept, never ending on a hyphen.
pub(crate) fn slug(raw: &str, max: usize) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in raw.chars() {
        if c.is_ascii_uppercase() && prev_lower && !out.ends_with('-') {
            out.push('-');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_matches('-');
    out.chars()
        .take(max)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// A TOML string for `value` (basic or literal, whichever TOML picks).
fn string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

fn strings(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| string(v)).collect();
    format!("[{}]", items.join(", "))
}

/// The recipe text.
pub fn render(name: &str, step: &NewStep, detected: &Detected) -> String {
    let mut s = String::new();
    let description = match step {
        NewStep::Rename { symbol, to } => format!("Rename {symbol} to {to}"),
        NewStep::Move { from, to } => format!("Move {from} to {to}"),
        NewStep::Rewrite { language, .. } => format!("Rewrite {language} code"),
        NewStep::Model { instructions, .. } => {
            instructions.lines().next().unwrap_or_default().to_string()
        }
    };
    s.push_str("# Written by `git ripple new`; `git ripple plan ");
    s.push_str(name);
    s.push_str("` shows what it will do.\n");
    s.push_str("# Every key is described in recipes/README.md of git-ripple.\n\n");
    s.push_str("# How reports, branches and commit trailers name this change.\n");
    s.push_str(&format!("name = {}\n", string(name)));
    s.push_str("# One line, shown by `git ripple recipes` and `plan`.\n");
    s.push_str(&format!("description = {}\n\n", string(&description)));
    s.push_str("[[step]]\n");
    match step {
        NewStep::Rename { symbol, to } => {
            s.push_str("kind = \"rename\"\n");
            s.push_str("# The symbol's ID, as `git ripple graph --symbol` shows it.\n");
            s.push_str(&format!("symbol = {}\n", string(symbol)));
            s.push_str("# Its new name.\n");
            s.push_str(&format!("to = {}\n", string(to)));
            s.push_str("# \"alias\": the old name stays, deprecated, until the last batch, so every commit builds.\n");
            s.push_str("compat = \"alias\"\n");
            s.push_str("# Uses the type layer cannot prove are this symbol's: \"report\" leaves them (listed in the plan), \"rename\", \"fail\".\n");
            s.push_str("unsure = \"report\"\n");
        }
        NewStep::Move { from, to } => {
            s.push_str("kind = \"move\"\n");
            s.push_str("# The Python module or package, or the Go package's import path.\n");
            s.push_str(&format!("from = {}\n", string(from)));
            s.push_str("# Where it goes (must not exist yet).\n");
            s.push_str(&format!("to = {}\n", string(to)));
        }
        NewStep::Rewrite {
            language,
            query,
            template,
            imports,
            paths,
        } => {
            s.push_str("kind = \"rewrite\"\n");
            s.push_str("# The grammar the query is written for.\n");
            s.push_str(&format!("language = {}\n", string(language)));
            s.push_str("# A tree-sitter query; the node captured as @match is replaced.\n");
            s.push_str(&format!("query = {}\n", string(query)));
            s.push_str("# The replacement: $name inserts capture @name's text.\n");
            s.push_str(&format!("template = {}\n", string(template)));
            if !imports.is_empty() {
                s.push_str("# Imports the replacement needs, added where missing.\n");
                s.push_str(&format!("imports = {}\n", strings(imports)));
            }
            if !paths.is_empty() {
                s.push_str("# Only files matching these globs.\n");
                s.push_str(&format!("paths = {}\n", strings(paths)));
            }
        }
        NewStep::Model {
            instructions,
            references,
            paths,
        } => {
            s.push_str("kind = \"model\"\n");
            s.push_str("# What the model should do, in plain language.\n");
            s.push_str(&format!("instructions = {}\n", string(instructions)));
            s.push_str("# How many times a failed verification goes back to the model.\n");
            s.push_str("repairs = 2\n");
            let mut select = Vec::new();
            if !references.is_empty() {
                select.push(format!("references = {}", strings(references)));
            }
            if !paths.is_empty() {
                select.push(format!("paths = {}", strings(paths)));
            }
            s.push_str(
                "# Which files: each symbol's file and every file using it, and/or globs.\n",
            );
            s.push_str(&format!("select = {{ {} }}\n", select.join(", ")));
        }
    }
    s.push_str("\n[batch]\n");
    s.push_str("# Files per batch; each batch is one verified commit.\n");
    s.push_str("max_files = 8\n");
    s.push_str("# \"package\": a batch keeps to one package; \"owners\": to one CODEOWNERS owner set; \"none\".\n");
    s.push_str("group = \"package\"\n");
    s.push_str("\n[verify]\n");
    s.push_str(
        "# Run after every batch, from the repository root; a failure rolls the batch back.\n",
    );
    if detected.commands.is_empty() {
        s.push_str("# No build or test command was found: add yours.\n");
        s.push_str("commands = []\n");
    } else {
        command_list(&mut s, "commands", &detected.commands);
    }
    if !detected.final_commands.is_empty() {
        s.push_str("# Run once after the last batch.\n");
        command_list(&mut s, "final", &detected.final_commands);
    }
    s
}

/// `key = [ ... ]` with each command under a comment saying why it was picked.
fn command_list(s: &mut String, key: &str, commands: &[Command]) {
    s.push_str(&format!("{key} = [\n"));
    for c in commands {
        s.push_str(&format!("    # {}\n    {},\n", c.why, string(&c.command)));
    }
    s.push_str("]\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_steps() {
        let rename = NewStep::Rename {
            symbol: "shopcore.db.queries.fetch_order".into(),
            to: "load_order".into(),
        };
        assert_eq!(default_name(&rename), "rename-fetch-order-to-load-order");
        let go = NewStep::Rename {
            symbol: "example.com/shop/store.FetchOrder".into(),
            to: "LoadOrder".into(),
        };
        assert_eq!(default_name(&go), "rename-fetch-order-to-load-order");
        let model = NewStep::Model {
            instructions: "Replace utcnow() with now(timezone.utc) everywhere.".into(),
            references: vec![],
            paths: vec![],
        };
        assert_eq!(default_name(&model), "model-replace-utcnow-with-now");
    }

    #[test]
    fn verify_commands_follow_the_repository() {
        let files = [
            "pyproject.toml",
            "src/a.py",
            "tests/test_a.py",
            "tox.ini",
            "Makefile",
            "go.mod",
            "tools/go.mod",
            "vendor/x/go.mod",
        ];
        let read = |p: &str| match p {
            "Makefile" => Some("build:\n\tgo build\ntest:\n\tpytest\n".to_string()),
            "tox.ini" => Some("[tox]\nenvlist = py312\n".to_string()),
            _ => None,
        };
        let d = detect_verify(&files, &read);
        let commands: Vec<&str> = d.commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            commands,
            [
                "python -m pytest -q {tests}",
                "go build ./...",
                "go vet {packages}",
                "go test {packages}",
                "go -C tools build ./...",
                "go -C tools vet ./...",
                "go -C tools test ./...",
            ]
        );
        let finals: Vec<&str> = d
            .final_commands
            .iter()
            .map(|c| c.command.as_str())
            .collect();
        assert_eq!(finals, ["tox", "make test"]);
        let none = detect_verify(&["lib/x.py"], &|_| None);
        assert_eq!(none.commands[0].command, "python -m compileall -q {files}");
    }

    #[test]
    fn every_kind_renders_a_recipe_that_parses() {
        use crate::recipe::{Origin, RecipeSource, parse_recipe};
        let detected = detect_verify(&["go.mod", "main.go"], &|_| None);
        let steps = [
            NewStep::Move {
                from: "shop.db".into(),
                to: "shop.storage".into(),
            },
            NewStep::Rewrite {
                language: "go".into(),
                query: r#"((selector_expression operand: (identifier) @pkg field: (field_identifier) @fn) @match (#eq? @pkg "ioutil") (#eq? @fn "ReadFile"))"#.into(),
                template: "os.ReadFile".into(),
                imports: vec!["os".into()],
                paths: vec!["**/*.go".into()],
            },
            NewStep::Model {
                instructions: "Use \"pathlib\" instead of os.path.\nKeep behaviour.".into(),
                references: vec!["shop.paths.join".into()],
                paths: vec!["src/**/*.py".into()],
            },
        ];
        for step in steps {
            let name = default_name(&step);
            let text = render(&name, &step, &detected);
            let source = RecipeSource {
                origin: Origin::File("new.toml".into()),
                text: text.clone(),
                display: "new.toml".into(),
            };
            let recipe = parse_recipe(source).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            assert_eq!(recipe.name, name);
            assert_eq!(recipe.verify.commands[0], "go build ./...");
        }
    }
}
