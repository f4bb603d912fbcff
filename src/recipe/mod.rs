//! Recipes: the checked-in description of one change. A recipe is TOML (the format is
//! documented in `recipes/README.md`); it is read into a serde form that mirrors the file
//! (`RecipeFile`, every value kept with its span), then checked into a [`Recipe`] whose queries
//! are compiled, templates parsed and globs built.
//!
//! Recipes are data: parsing one needs no repository. Checking it against a repository (do the
//! symbols and modules exist?) is the planner's job, and whether a model spec names a usable
//! model is the model stage's; both point their errors at the recipe's spans through
//! [`Recipe::invalid_at`]. Every error points at the exact span in the recipe file. This module
//! reads recipe files and the bundled recipes; it never looks at the repository's sources.

mod file;
mod parse;
pub mod template;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use globset::GlobSet;
use miette::{NamedSource, SourceSpan};
use toml::Spanned;

use crate::lang::Language;

pub use parse::{fill_placeholders, parse_recipe, placeholders};

/// Where a recipe's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file: `.ripple/recipes/NAME.toml` in the repository, or any path.
    File(PathBuf),
    /// Compiled into the binary from `recipes/NAME.toml`.
    Bundled(&'static str),
}

/// A recipe's text and where it came from, before it is parsed.
#[derive(Debug, Clone)]
pub struct RecipeSource {
    /// Where it came from.
    pub origin: Origin,
    /// The TOML text.
    pub text: String,
    /// How messages name it: a file relative to where the command was started, or
    /// `recipes/NAME.toml (bundled)`.
    pub display: String,
}

/// Recipes shipped with git-ripple (`recipes/*.toml`), loaded through exactly the same path as
/// a user's recipe files.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "rename-fetch-order",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recipes/rename-fetch-order.toml"
        )),
    ),
    (
        "rename-go-fetch-order",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recipes/rename-go-fetch-order.toml"
        )),
    ),
    (
        "go-ioutil",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recipes/go-ioutil.toml"
        )),
    ),
    (
        "python-utcnow",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recipes/python-utcnow.toml"
        )),
    ),
    (
        "model-rename-fetch-order",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recipes/model-rename-fetch-order.toml"
        )),
    ),
    (
        "model-deprecate-fetch-order",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recipes/model-deprecate-fetch-order.toml"
        )),
    ),
];

/// Where a repository keeps its recipes.
pub const REPO_RECIPES: &str = ".ripple/recipes";

impl RecipeSource {
    /// How error messages and reports name this recipe.
    pub fn display_name(&self) -> String {
        self.display.clone()
    }

    /// A bundled recipe's source.
    pub fn bundled(name: &'static str, text: &str) -> RecipeSource {
        RecipeSource {
            origin: Origin::Bundled(name),
            text: text.to_string(),
            display: format!("recipes/{name}.toml (bundled)"),
        }
    }

    fn named_source(&self) -> NamedSource<String> {
        NamedSource::new(self.display_name(), self.text.clone()).with_language("toml")
    }
}

/// Why a recipe could not be found, read or accepted. All of these stop the command: the user
/// fixes the recipe or the command line.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RecipeError {
    /// The file exists but cannot be read.
    #[error("cannot read recipe {path}: {source}")]
    #[diagnostic(code(ripple::recipe::read))]
    Read {
        /// The path as given.
        path: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// Neither a path nor the name of a repository or bundled recipe.
    #[error("no recipe `{name}`")]
    #[diagnostic(code(ripple::recipe::not_found), help("{help}"))]
    NotFound {
        /// The name given.
        name: String,
        /// What was found instead.
        help: String,
    },
    /// The recipe says something wrong at a span.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidRecipe>),
}

/// One mistake in a recipe, with the span it is at.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(ripple::recipe::invalid))]
pub struct InvalidRecipe {
    /// What is wrong.
    pub message: String,
    #[source_code]
    /// The recipe's text, for the snippet.
    pub src: NamedSource<String>,
    #[label("{label}")]
    /// Where in the recipe.
    pub span: SourceSpan,
    /// The label under the span.
    pub label: String,
    #[help]
    /// What to do instead.
    pub help: Option<String>,
}

impl InvalidRecipe {
    /// The byte range the error points at (tests check it).
    pub fn range(&self) -> std::ops::Range<usize> {
        self.span.offset()..self.span.offset() + self.span.len()
    }
}

struct Errors<'a> {
    source: &'a RecipeSource,
}

impl Errors<'_> {
    fn at(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> RecipeError {
        RecipeError::Invalid(Box::new(InvalidRecipe {
            message: message.into(),
            src: self.source.named_source(),
            span: span.into(),
            label: label.into(),
            help,
        }))
    }
}

impl Recipe {
    /// An error at `span` of this recipe's text, for checks made after parsing (symbols against
    /// the graph, the model spec against the providers).
    pub fn invalid_at(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> RecipeError {
        Errors {
            source: &self.source,
        }
        .at(span, message, label, help)
    }

    /// The git blob id of the recipe's text: what a run and a plan file record, so a changed
    /// recipe is noticed.
    pub fn hash(&self) -> String {
        text_hash(&self.source.text)
    }
}

/// The git blob id of a text (how recipes are fingerprinted).
pub fn text_hash(text: &str) -> String {
    crate::change::blob_id(text.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// The checked form.

/// A parsed, checked recipe.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// The recipe's name (the run's branch and trailers use it).
    pub name: String,
    /// The model spec the recipe asks for (a command-line or environment choice wins), with its
    /// span for the model stage's errors.
    pub model: Option<Located<String>>,
    /// One line for listings.
    pub description: String,
    /// The steps, carried out in order.
    pub steps: Vec<Step>,
    /// How batches are bounded and grouped.
    pub batch: BatchLimits,
    /// The commands that decide whether a batch is good.
    pub verify: VerifySpec,
    /// How commit messages read.
    pub commit: CommitSpec,
    /// The text the recipe was parsed from (errors after parsing point into it).
    pub source: Arc<RecipeSource>,
}

/// One step; each step is planned into its own batches, and a run carries out the steps in
/// order.
#[derive(Debug, Clone)]
pub struct Step {
    /// What reports and `{step}` call it.
    pub title: String,
    /// What the step does.
    pub action: StepAction,
}

#[derive(Debug, Clone)]
/// The kinds of step a recipe can have.
pub enum StepAction {
    /// Rename a symbol and every reference to it.
    Rename(RenameStep),
    /// Replace query matches with templates.
    Rewrite(RewriteStep),
    /// Move a module or package.
    Move(MoveStep),
    /// Let a model change the selected files.
    Model(ModelStep),
}

impl StepAction {
    /// The `kind` as written in the recipe.
    pub fn kind(&self) -> &'static str {
        match self {
            StepAction::Rename(_) => "rename",
            StepAction::Rewrite(_) => "rewrite",
            StepAction::Move(_) => "move",
            StepAction::Model(_) => "model",
        }
    }
}

/// A value from the recipe with the span it was written at, for errors found after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Its byte range in the recipe's text.
    pub span: std::ops::Range<usize>,
}

impl<T> Located<T> {
    fn from_spanned(s: Spanned<T>) -> Self {
        let span = s.span();
        Located {
            value: s.into_inner(),
            span,
        }
    }
}

/// How a rename keeps every intermediate commit green.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    /// Expand / migrate / contract: the first batch keeps the old name as a deprecated alias,
    /// the last removes it.
    Alias,
    /// One batch for the whole step.
    None,
    /// As `Alias`; and an alias kept after the run (`keep_compat`) warns when it is used
    /// (Python: a `DeprecationWarning` from a wrapper of the function or method).
    Warn,
}

#[derive(Debug, Clone)]
/// A `rename` step.
pub struct RenameStep {
    /// The symbol's ID (`pkg.module.name`).
    pub symbol: Located<String>,
    /// The new name.
    pub to: Located<String>,
    /// How every commit is kept green while callers move.
    pub compat: Compat,
    /// Whether the recipe says `compat`: a Python class attribute is staged behind a
    /// forwarding property only when it asks for `alias`, otherwise it changes in one batch.
    pub compat_given: bool,
    /// Keep the old name after the run (no contract batch): a library's old public name
    /// stays for a release.
    pub keep_compat: bool,
    /// The name a package's re-export gives the symbol: the new one, or the old public one.
    pub public: Public,
    /// Rename the tests named after the symbol too (`test_fetch_order_…`, `TestFetchOrder`,
    /// `BenchmarkFetchOrder`); by default test names are left as they are.
    pub rename_tests: bool,
    /// What to do with the methods that must keep the symbol's name with it (an interface
    /// method and its implementations): rename them all, or refuse.
    pub family: Family,
    /// What to do with unsure sites (the name matches, but not provably this symbol).
    pub unsure: Unsure,
}

/// What a package's re-export of a renamed symbol is called (`from .helpers import …` in an
/// `__init__.py`), and so what its callers (`pkg.name(...)`, `from pkg import name`) say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Public {
    /// The re-export takes the new name, and its callers move to it.
    Follow,
    /// The re-export keeps the old public name (`from .helpers import new as old`), and its
    /// callers are left as they are: a library's public name does not change.
    Keep,
}

/// A rename of a method that interfaces (or overrides) tie to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Rename the whole family in one commit: never half of it.
    Rename,
    /// Stop and list the family.
    Refuse,
}

/// What a rename does with the sites it cannot be sure of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsure {
    /// Leave them, list them in the plan, keep the old name as an alias for them; verification
    /// judges.
    Report,
    /// Rename them too.
    Rename,
    /// Refuse to plan while there are any.
    Fail,
}

#[derive(Debug, Clone)]
/// A `move` step.
pub struct MoveStep {
    /// The module or package moved.
    pub from: Located<String>,
    /// Where it goes.
    pub to: Located<String>,
}

#[derive(Debug, Clone)]
/// A `rewrite` step.
pub struct RewriteStep {
    /// The grammar the queries are written for.
    pub language: Language,
    /// The query and template pairs.
    pub rules: Vec<RewriteRule>,
    /// Which files the rules run on.
    pub paths: PathFilter,
}

/// One query + template pair of a rewrite step.
#[derive(Debug, Clone)]
pub struct RewriteRule {
    /// The query as written (reports quote it).
    pub query_text: String,
    /// The query, compiled.
    pub query: Arc<tree_sitter::Query>,
    /// The capture whose node the template replaces.
    pub replace: String,
    /// What replaces the captured node.
    pub template: Template,
    /// Imports the replacement needs (Go import paths; Python `import …` / `from … import …`).
    pub imports: Vec<String>,
}

/// A replacement template: literal text and `$capture` holes (`$$` is a literal `$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Text and holes, in order.
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// One piece of a template.
pub enum TemplatePart {
    /// Literal text.
    Text(String),
    /// The text of a capture of the match.
    Capture(String),
}

#[derive(Debug, Clone)]
/// A `model` step.
pub struct ModelStep {
    /// What the model is asked to do.
    pub instructions: String,
    /// How many times a failed verification is sent back to the model to fix.
    pub repairs: u32,
    /// How many times an answer refused for its form (no blocks, a SEARCH text not found) is
    /// sent back with the reason, per request.
    pub format_repairs: u32,
    /// Whether answers may empty files or delete most of their lines.
    pub allow_delete: bool,
    /// Globs under which the model may create files (none by default).
    pub new_files: Option<GlobSet>,
    /// Which files it works on.
    pub select: Selection,
}

impl ModelStep {
    /// The symbols the step is about (its `references` selection): what a focused view of a
    /// large file shows in full.
    pub fn focus(&self) -> Vec<String> {
        self.select
            .references
            .iter()
            .map(|r| r.value.clone())
            .collect()
    }
}

/// Which files a model step works on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Files defining or referencing these symbols.
    pub references: Vec<Located<String>>,
    /// Files where this query matches.
    pub query: Option<(Language, Arc<tree_sitter::Query>)>,
    /// Globs: select on their own, restrict when combined with `references` or `query`.
    pub paths: PathFilter,
    /// Also the dependents of the selected files, up to this many hops.
    pub propagate: usize,
}

/// Include and exclude globs over repository paths (`*` stays inside a folder, `**` crosses).
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    /// Compiled include globs (none: everything).
    pub include: Option<GlobSet>,
    /// Compiled exclude globs.
    pub exclude: Option<GlobSet>,
    /// The include globs as written.
    pub include_patterns: Vec<String>,
    /// The exclude globs as written.
    pub exclude_patterns: Vec<String>,
}

impl PathFilter {
    /// Whether the filter allows `path` (no include globs allow everything not excluded).
    pub fn allows(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(path))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(path))
    }

    /// Whether an exclude glob matches `path`.
    pub fn excludes(&self, path: &str) -> bool {
        self.exclude.as_ref().is_some_and(|g| g.is_match(path))
    }

    /// Whether any include glob is given (then the filter alone can select files).
    pub fn has_include(&self) -> bool {
        self.include.is_some()
    }
}

/// How batches are bounded and grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// At most this many files per batch (a cycle larger than this is one oversized batch).
    pub max_files: usize,
    /// A model batch's prompt budget in real tokens (everything it sends: instructions, rules,
    /// the ledger, contracts, files), what the planner sizes it by; a rule batch's source,
    /// estimated at four bytes per token.
    pub max_tokens: u64,
    /// What batches keep to.
    pub group: Grouping,
    /// A model batch's file over this many tokens is sent as a focused view (its imports,
    /// an outline, and the regions the step touches) rather than whole.
    pub focus_above: usize,
}

/// A batch's budget unless `[batch] max_tokens` says otherwise.
pub const DEFAULT_MAX_TOKENS: u64 = 24_000;

/// Files up to this many tokens are sent whole.
pub const FOCUS_ABOVE: usize = 4_000;

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_files: 8,
            max_tokens: DEFAULT_MAX_TOKENS,
            group: Grouping::Package,
            focus_above: FOCUS_ABOVE,
        }
    }
}

/// What a batch is kept cohesive by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Files of one package (a Go package folder, a Python package) share batches.
    Package,
    /// Dependency order only.
    None,
    /// Files with the same code owners (CODEOWNERS), and within them one package: a batch
    /// needs one team's approval, and a team is asked as few times as dependencies allow.
    Owners,
}

/// Commands that decide whether a batch is good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySpec {
    /// Run after every batch; `{files}`, `{packages}` and `{tests}` are filled per batch.
    pub commands: Vec<String>,
    /// How long one command may run before it is killed.
    pub timeout: Duration,
    /// Run once after the last batch.
    pub final_commands: Vec<String>,
    /// Whether the commands may use the network (`network = false`: a namespace without it).
    pub network: bool,
    /// Variables that look like credentials but the build needs, kept for model batches'
    /// verification (`env = ["NPM_TOKEN"]`).
    pub env: Vec<String>,
    /// How many times a failing command runs again before it counts as failed (flaky tests).
    pub retries: u32,
}

/// The commit message template (`{recipe}`, `{step}`, `{batch}`, `{total}`, `{summary}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSpec {
    /// The template (`{recipe}`, `{step}`, `{batch}`, `{total}`, `{summary}`).
    pub message: String,
}

/// The default commit message: subject names the recipe, step and batch; the body is the
/// batch summary.
pub const DEFAULT_COMMIT_MESSAGE: &str = "{recipe}: {step} ({batch}/{total})\n\n{summary}";

const VERIFY_PLACEHOLDERS: &[&str] = &["files", "packages", "tests"];
const COMMIT_PLACEHOLDERS: &[&str] = &["recipe", "step", "batch", "total", "summary"];
const STEP_KINDS: &[&str] = &["rename", "rewrite", "move", "model"];

// ---------------------------------------------------------------------------------------------
// Finding and listing recipes.

/// Find the recipe `arg` names: a path to a file, else `.ripple/recipes/ARG.toml` in the
/// repository, else a bundled recipe called ARG.
pub fn find_recipe(root: &Path, cwd: &Path, arg: &str) -> Result<RecipeSource, RecipeError> {
    let as_path = cwd.join(arg);
    let in_repo = root.join(REPO_RECIPES).join(format!("{arg}.toml"));
    let looks_like_path = arg.ends_with(".toml") || arg.contains('/');
    for candidate in [as_path, in_repo] {
        if candidate.is_file() {
            let shown = candidate
                .strip_prefix(cwd)
                .or_else(|_| candidate.strip_prefix(root))
                .unwrap_or(&candidate);
            return read_recipe(&candidate, shown);
        }
    }
    if !looks_like_path && let Some((name, text)) = BUNDLED.iter().find(|(n, _)| *n == arg) {
        return Ok(RecipeSource::bundled(name, text));
    }
    let mut names: Vec<String> = list_recipes(root).into_iter().map(|e| e.name).collect();
    names.sort();
    names.dedup();
    let help = if looks_like_path {
        format!("no file at {}", cwd.join(arg).display())
    } else {
        let mut scored: Vec<(usize, &String)> = names
            .iter()
            .map(|n| (crate::suggest::edit_distance(arg, n), n))
            .collect();
        scored.sort();
        match scored.first() {
            Some((d, n)) if *d <= arg.len().max(3) / 2 => {
                format!("did you mean `{n}`? `git ripple recipes` lists them all")
            }
            _ => "give a path to a .toml file, or a name `git ripple recipes` lists".to_string(),
        }
    };
    Err(RecipeError::NotFound {
        name: arg.to_string(),
        help,
    })
}

/// Read a recipe file; `shown` is how messages name it.
pub fn read_recipe(path: &Path, shown: &Path) -> Result<RecipeSource, RecipeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
        path: shown.display().to_string(),
        source,
    })?;
    Ok(RecipeSource {
        origin: Origin::File(path.to_path_buf()),
        text,
        display: shown.display().to_string(),
    })
}

/// One line of `git ripple recipes`.
#[derive(Debug, Clone)]
pub struct RecipeEntry {
    /// What `plan` and `run` accept.
    pub name: String,
    /// Where it was found.
    pub origin: Origin,
    /// The description, or why the recipe does not parse.
    pub description: Result<String, String>,
}

/// The repository's recipes (`.ripple/recipes/*.toml`, sorted) then the bundled ones.
pub fn list_recipes(root: &Path) -> Vec<RecipeEntry> {
    let mut out = Vec::new();
    let dir = root.join(REPO_RECIPES);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let description = read_recipe(&path, &shown)
            .map_err(|e| e.to_string())
            .and_then(|src| parse_recipe(src).map_err(|e| e.to_string()))
            .map(|r| r.description);
        out.push(RecipeEntry {
            name,
            origin: Origin::File(path),
            description,
        });
    }
    for (name, text) in BUNDLED {
        let source = RecipeSource::bundled(name, text);
        out.push(RecipeEntry {
            name: (*name).to_string(),
            origin: Origin::Bundled(name),
            description: parse_recipe(source)
                .map(|r| r.description)
                .map_err(|e| e.to_string()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_recipe_parses_and_is_listed() {
        for (name, text) in BUNDLED {
            let source = RecipeSource::bundled(name, text);
            if let Err(e) = parse_recipe(source) {
                panic!("bundled recipe {name}: {:?}", miette::Report::new(e));
            }
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("recipes folder")
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                if p.extension()? != "toml" {
                    return None;
                }
                Some(p.file_stem()?.to_string_lossy().into_owned())
            })
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = BUNDLED.iter().map(|(n, _)| n.to_string()).collect();
        bundled.sort();
        assert_eq!(on_disk, bundled, "every recipes/*.toml is bundled");
    }
}
