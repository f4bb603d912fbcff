//! Parsing and checking a recipe's text into a [`Recipe`]: compiling queries, parsing
//! templates and placeholders, building globs. Nothing here looks at the repository.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use globset::{GlobSet, GlobSetBuilder};
use miette::NamedSource;
use toml::Spanned;

use super::file::{
    BatchFile, DurationFile, RecipeFile, RuleFile, SelectFile, StepFile, VerifyFile,
};
use super::{
    BatchLimits, COMMIT_PLACEHOLDERS, CommitSpec, Compat, DEFAULT_COMMIT_MESSAGE, Errors, Family,
    Grouping, InvalidRecipe, Located, ModelStep, MoveStep, Origin, PathFilter, Public, Recipe,
    RecipeError, RecipeSource, RenameStep, RewriteRule, RewriteStep, STEP_KINDS, Selection, Step,
    StepAction, Template, TemplatePart, Unsure, VERIFY_PLACEHOLDERS, VerifySpec,
};
use crate::lang::Language;

/// Parse and check a recipe's text (everything that does not need the repository).
pub fn parse_recipe(source: RecipeSource) -> Result<Recipe, RecipeError> {
    let errors = Errors { source: &source };
    let file: RecipeFile = toml::from_str(&source.text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        match unknown_key(e.message()) {
            Some((key, expected)) => {
                let close = crate::suggest::within(&key, expected.iter().map(String::as_str), 2);
                let help = match close {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => format!("known keys here: {}", expected.join(", ")),
                };
                errors.at(
                    span,
                    format!("unknown key `{key}`"),
                    "unknown key",
                    Some(help),
                )
            }
            None => errors.at(span, e.message().trim().to_string(), "here", None),
        }
    })?;
    let base_dir = match &source.origin {
        Origin::File(p) => p.parent().map(Path::to_path_buf),
        Origin::Bundled(_) => None,
    };
    let name = file.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(errors.at(file.name.span(), "the recipe name is empty", "empty", None));
    }
    if file.steps.is_empty() {
        return Err(errors.at(
            0..0,
            "the recipe has no steps",
            "steps go here",
            Some("add a `[[step]]` table with a `kind` (rename, rewrite, move or model)".into()),
        ));
    }
    let mut steps = Vec::with_capacity(file.steps.len());
    for step in file.steps {
        steps.push(check_step(&errors, base_dir.as_deref(), step)?);
    }
    let batch = check_batch(&errors, file.batch)?;
    let verify = check_verify(&errors, file.verify)?;
    let commit = match file.commit {
        Some(c) => {
            check_placeholders(&errors, &c.message, COMMIT_PLACEHOLDERS, "commit message")?;
            CommitSpec {
                message: c.message.into_inner(),
            }
        }
        None => CommitSpec {
            message: DEFAULT_COMMIT_MESSAGE.to_string(),
        },
    };
    // What the spec names is the model stage's to check, when a model is set up.
    let model = file.model.map(Located::from_spanned);
    Ok(Recipe {
        name,
        model,
        description: file.description.unwrap_or_default().trim().to_string(),
        steps,
        batch,
        verify,
        commit,
        source: Arc::new(source),
    })
}

/// serde's "unknown field `x`, expected one of `a`, `b`" as (x, [a, b]).
fn unknown_key(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), expected))
}

fn check_step(
    errors: &Errors,
    base_dir: Option<&Path>,
    step: Spanned<StepFile>,
) -> Result<Step, RecipeError> {
    let span = step.span();
    let s = step.into_inner();
    let kind = s.kind.get_ref().as_str();
    // Which optional keys each kind accepts; anything else set is an error at that key's value.
    let present: Vec<(&str, Option<std::ops::Range<usize>>)> = vec![
        ("symbol", s.symbol.as_ref().map(Spanned::span)),
        ("to", s.to.as_ref().map(Spanned::span)),
        ("compat", s.compat.as_ref().map(Spanned::span)),
        ("keep_compat", s.keep_compat.as_ref().map(Spanned::span)),
        ("public", s.public.as_ref().map(Spanned::span)),
        ("rename_tests", s.rename_tests.as_ref().map(Spanned::span)),
        ("family", s.family.as_ref().map(Spanned::span)),
        ("unsure", s.unsure.as_ref().map(Spanned::span)),
        ("from", s.from.as_ref().map(Spanned::span)),
        ("language", s.language.as_ref().map(Spanned::span)),
        ("query", s.query.as_ref().map(Spanned::span)),
        ("query_file", s.query_file.as_ref().map(Spanned::span)),
        ("template", s.template.as_ref().map(Spanned::span)),
        ("replace", s.replace.as_ref().map(Spanned::span)),
        ("imports", s.imports.as_ref().map(Spanned::span)),
        ("rule", s.rules.as_ref().map(Spanned::span)),
        ("paths", s.paths.as_ref().map(Spanned::span)),
        ("exclude", s.exclude.as_ref().map(Spanned::span)),
        ("instructions", s.instructions.as_ref().map(Spanned::span)),
        ("repairs", s.repairs.as_ref().map(Spanned::span)),
        ("new_files", s.new_files.as_ref().map(Spanned::span)),
        (
            "format_repairs",
            s.format_repairs.as_ref().map(Spanned::span),
        ),
        ("allow_delete", s.allow_delete.as_ref().map(Spanned::span)),
        ("select", s.select.as_ref().map(Spanned::span)),
    ];
    let allowed: &[&str] = match kind {
        "rename" => &[
            "symbol",
            "to",
            "compat",
            "keep_compat",
            "public",
            "rename_tests",
            "family",
            "unsure",
        ],
        "move" => &["from", "to"],
        "rewrite" => &[
            "language",
            "query",
            "query_file",
            "template",
            "replace",
            "imports",
            "rule",
            "paths",
            "exclude",
        ],
        "model" => &[
            "instructions",
            "select",
            "repairs",
            "new_files",
            "format_repairs",
            "allow_delete",
        ],
        other => {
            return Err(errors.at(
                s.kind.span(),
                format!("unknown step kind `{other}`"),
                "not a step kind",
                Some(format!(
                    "a step's kind is one of: {}",
                    STEP_KINDS.join(", ")
                )),
            ));
        }
    };
    for (key, key_span) in &present {
        if let Some(key_span) = key_span
            && !allowed.contains(key)
        {
            return Err(errors.at(
                key_span.clone(),
                format!("`{key}` is not a key of a `{kind}` step"),
                "not allowed here",
                Some(format!(
                    "a `{kind}` step takes: kind, name, {}",
                    allowed.join(", ")
                )),
            ));
        }
    }
    let require = |value: Option<Spanned<String>>, key: &str| {
        value.map(Located::from_spanned).ok_or_else(|| {
            errors.at(
                span.clone(),
                format!("a `{kind}` step needs `{key}`"),
                format!("`{key}` missing in this step"),
                None,
            )
        })
    };
    let (action, default_title) = match kind {
        "rename" => {
            let symbol = require(s.symbol, "symbol")?;
            let to = require(s.to, "to")?;
            if !is_identifier(&to.value) {
                return Err(errors.at(
                    to.span.clone(),
                    format!("`{}` is not a valid identifier", to.value),
                    "the new name",
                    Some("a name is letters, digits and `_`, not starting with a digit".into()),
                ));
            }
            let compat = match s.compat.as_ref().map(|c| c.get_ref().as_str()) {
                None | Some("alias") => Compat::Alias,
                Some("none") => Compat::None,
                Some("warn") => Compat::Warn,
                Some(other) => {
                    return Err(errors.at(
                        s.compat.as_ref().map(Spanned::span).unwrap_or_default(),
                        format!("unknown compat mode `{other}`"),
                        "not a compat mode",
                        Some("`alias` (default: every commit green), `warn` (a kept Python alias warns when used) or `none` (one commit)".into()),
                    ));
                }
            };
            let keep_compat = s.keep_compat.as_ref().is_some_and(|k| *k.get_ref());
            if keep_compat && compat == Compat::None {
                return Err(errors.at(
                    s.keep_compat.as_ref().map(Spanned::span).unwrap_or_default(),
                    "`keep_compat = true` keeps the old name after the run, and `compat = \"none\"` keeps no old name",
                    "needs an alias",
                    Some("drop `compat = \"none\"` (the default `alias` keeps it), or drop `keep_compat`".into()),
                ));
            }
            let public = match s.public.as_ref().map(|p| p.get_ref().as_str()) {
                None | Some("follow") => Public::Follow,
                Some("keep") => Public::Keep,
                Some(other) => {
                    return Err(errors.at(
                        s.public.as_ref().map(Spanned::span).unwrap_or_default(),
                        format!("unknown public mode `{other}`"),
                        "not a public mode",
                        Some("`follow` (default: a package's re-export takes the new name too) or `keep` (it keeps the old public name, for libraries)".into()),
                    ));
                }
            };
            let family = match s.family.as_ref().map(|f| f.get_ref().as_str()) {
                None | Some("rename") => Family::Rename,
                Some("refuse") => Family::Refuse,
                Some(other) => {
                    return Err(errors.at(
                        s.family.as_ref().map(Spanned::span).unwrap_or_default(),
                        format!("unknown family mode `{other}`"),
                        "not a family mode",
                        Some("`rename` (default: the interface method and every implementation, or the override chain) or `refuse` (stop and list them)".into()),
                    ));
                }
            };
            let unsure = match s.unsure.as_ref().map(|u| u.get_ref().as_str()) {
                None | Some("report") => Unsure::Report,
                Some("rename") => Unsure::Rename,
                Some("fail") => Unsure::Fail,
                Some(other) => {
                    return Err(errors.at(
                        s.unsure.as_ref().map(Spanned::span).unwrap_or_default(),
                        format!("unknown unsure mode `{other}`"),
                        "not an unsure mode",
                        Some("`report` (default: leave them, list them, keep the old name for them), `rename` (rename them too) or `fail` (stop if there are any)".into()),
                    ));
                }
            };
            let title = format!("rename {} to {}", symbol.value, to.value);
            (
                StepAction::Rename(RenameStep {
                    symbol,
                    to,
                    compat,
                    compat_given: s.compat.is_some(),
                    keep_compat,
                    public,
                    rename_tests: s.rename_tests.as_ref().is_some_and(|r| *r.get_ref()),
                    family,
                    unsure,
                }),
                title,
            )
        }
        "move" => {
            let from = require(s.from, "from")?;
            let to = require(s.to, "to")?;
            let title = format!("move {} to {}", from.value, to.value);
            (StepAction::Move(MoveStep { from, to }), title)
        }
        "rewrite" => {
            let language = match s.language {
                Some(l) => check_language(errors, &l)?,
                None => {
                    return Err(errors.at(
                        span.clone(),
                        "a `rewrite` step needs `language` (python or go)",
                        "`language` missing in this step",
                        None,
                    ));
                }
            };
            let mut rule_files: Vec<(RuleFile, std::ops::Range<usize>)> = Vec::new();
            if let Some(template) = s.template {
                let rule_span = template.span();
                rule_files.push((
                    RuleFile {
                        query: s.query,
                        query_file: s.query_file,
                        template,
                        replace: s.replace,
                        imports: s.imports,
                    },
                    rule_span,
                ));
            } else if let Some(q) = s.query.as_ref().or(s.query_file.as_ref()) {
                return Err(errors.at(
                    q.span(),
                    "this query has no `template`",
                    "what replaces its matches?",
                    Some("add `template = \"…\"` using the query's captures as `$name`".into()),
                ));
            }
            if let Some(rules) = s.rules {
                for r in rules.into_inner() {
                    let rule_span = r.span();
                    rule_files.push((r.into_inner(), rule_span));
                }
            }
            if rule_files.is_empty() {
                return Err(errors.at(
                    span.clone(),
                    "a `rewrite` step needs a `query` and a `template`, or `[[step.rule]]` tables",
                    "no rules in this step",
                    None,
                ));
            }
            let mut rules = Vec::new();
            for (r, rule_span) in rule_files {
                rules.push(check_rule(errors, base_dir, language, r, rule_span)?);
            }
            let paths = check_paths(errors, s.paths, s.exclude)?;
            let title = s
                .name
                .as_ref()
                .map(|n| n.get_ref().clone())
                .unwrap_or_else(|| {
                    format!(
                        "rewrite ({} rule{})",
                        rules.len(),
                        if rules.len() == 1 { "" } else { "s" }
                    )
                });
            (
                StepAction::Rewrite(RewriteStep {
                    language,
                    rules,
                    paths,
                }),
                title,
            )
        }
        "model" => {
            let instructions = require(s.instructions, "instructions")?;
            if instructions.value.trim().is_empty() {
                return Err(errors.at(
                    instructions.span,
                    "the instructions are empty",
                    "say what the model should do",
                    None,
                ));
            }
            let select = match s.select {
                Some(sel) => check_select(errors, sel)?,
                None => {
                    return Err(errors.at(
                        span.clone(),
                        "a `model` step needs `select` (references, paths or query)",
                        "which files should the model change?",
                        Some(
                            "for example `select = { references = [\"pkg.module.name\"] }`".into(),
                        ),
                    ));
                }
            };
            let title = first_line(&instructions.value, 72);
            let (new_files, _) = check_globs(errors, s.new_files)?;
            (
                StepAction::Model(ModelStep {
                    instructions: instructions.value,
                    select,
                    repairs: s.repairs.map(|r| r.into_inner()).unwrap_or(2),
                    format_repairs: s.format_repairs.map(|r| r.into_inner()).unwrap_or(2),
                    allow_delete: s.allow_delete.map(|a| a.into_inner()).unwrap_or(false),
                    new_files,
                }),
                title,
            )
        }
        _ => unreachable!("kind checked above"),
    };
    let title = s
        .name
        .map(|n| n.into_inner())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(default_title);
    Ok(Step { title, action })
}

fn check_rule(
    errors: &Errors,
    base_dir: Option<&Path>,
    language: Language,
    r: RuleFile,
    rule_span: std::ops::Range<usize>,
) -> Result<RewriteRule, RecipeError> {
    let (query_text, query) = match (r.query, r.query_file) {
        (Some(q), None) => {
            let query = compile_inline_query(errors, language, &q)?;
            (q.into_inner(), query)
        }
        (None, Some(f)) => load_query_file(errors, base_dir, language, &f)?,
        (Some(q), Some(_)) => {
            return Err(errors.at(
                q.span(),
                "a rule has either `query` or `query_file`, not both",
                "one of the two",
                None,
            ));
        }
        (None, None) => {
            return Err(errors.at(
                rule_span,
                "a rule needs a `query` (or `query_file`)",
                "no query",
                None,
            ));
        }
    };
    let replace = r
        .replace
        .as_ref()
        .map(|s| s.get_ref().trim_start_matches('@').to_string())
        .unwrap_or_else(|| "match".to_string());
    let captures: Vec<&str> = query.capture_names().to_vec();
    if !captures.contains(&replace.as_str()) {
        let (span, label) = match &r.replace {
            Some(s) => (s.span(), "no such capture"),
            None => (r.template.span(), "replaces which node?"),
        };
        return Err(errors.at(
            span,
            format!("the query has no capture `@{replace}`"),
            label,
            Some(format!(
                "capture the node to replace as `@match`, or name it with `replace = \"…\"`; the query's captures: {}",
                list_captures(&captures)
            )),
        ));
    }
    let template = parse_template(errors, &r.template, &captures)?;
    let mut imports = Vec::new();
    if let Some(list) = r.imports {
        for imp in list.into_inner() {
            if let Err(help) = language.support().check_import(imp.get_ref()) {
                return Err(errors.at(
                    imp.span(),
                    format!("`{}` is not an import", imp.get_ref()),
                    "not an import",
                    Some(help.into()),
                ));
            }
            imports.push(imp.into_inner().trim().to_string());
        }
    }
    Ok(RewriteRule {
        query_text,
        query: Arc::new(query),
        replace,
        template,
        imports,
    })
}

fn list_captures(captures: &[&str]) -> String {
    if captures.is_empty() {
        "none".to_string()
    } else {
        captures
            .iter()
            .map(|c| format!("@{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why a user's query does not compile, and where (0-based offset, row and column).
struct UserQueryError {
    offset: usize,
    row: usize,
    column: usize,
    message: String,
}

/// Compile a query a user wrote (inline or in a query file): forms tree-sitter's compiler does
/// not survive are refused first (see [`crate::lang::unsafe_form`]), so a bad recipe is
/// an error, never an abort.
fn compile_user_query(
    language: Language,
    text: &str,
) -> Result<tree_sitter::Query, UserQueryError> {
    if let Some((offset, why)) = crate::lang::unsafe_form(text) {
        let before = &text[..offset];
        let row = before.matches('\n').count();
        let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1);
        return Err(UserQueryError {
            offset,
            row,
            column,
            message: why.to_string(),
        });
    }
    tree_sitter::Query::new(&language.grammar(), text).map_err(|e| UserQueryError {
        offset: e.offset,
        row: e.row,
        column: e.column,
        message: query_error_message(&e),
    })
}

/// Compile a query written inline in the recipe; an error points inside the TOML string when
/// the string's text maps one to one onto the value (literal strings, basic strings without
/// escapes), else at the whole string.
fn compile_inline_query(
    errors: &Errors,
    language: Language,
    q: &Spanned<String>,
) -> Result<tree_sitter::Query, RecipeError> {
    compile_user_query(language, q.get_ref()).map_err(|e| {
        let span = q.span();
        let raw = &errors.source.text[span.clone()];
        let inner_start = value_start_in_raw(raw, q.get_ref());
        let at = match inner_start {
            Some(start) => {
                let off = span.start + start + e.offset.min(q.get_ref().len());
                let end = (off + 1).min(span.start + start + q.get_ref().len());
                off..end.max(off)
            }
            None => span,
        };
        errors.at(
            at,
            format!(
                "the query does not compile: {} at line {}, column {} of the query",
                e.message,
                e.row + 1,
                e.column + 1
            ),
            "here",
            Some(format!(
                "check it with the {} grammar's node names (`git ripple graph` parses with the same grammar)",
                language
            )),
        )
    })
}

/// Where, inside the raw TOML string token, the string's value begins, if the token's body is
/// exactly the value.
fn value_start_in_raw(raw: &str, value: &str) -> Option<usize> {
    for delim in ["'''", "\"\"\"", "'", "\""] {
        if raw.starts_with(delim) && raw.ends_with(delim) && raw.len() >= 2 * delim.len() {
            let body = &raw[delim.len()..raw.len() - delim.len()];
            let (skip, body) = if delim.len() == 3 {
                if let Some(b) = body.strip_prefix("\r\n") {
                    (2, b)
                } else if let Some(b) = body.strip_prefix('\n') {
                    (1, b)
                } else {
                    (0, body)
                }
            } else {
                (0, body)
            };
            return (body == value).then_some(delim.len() + skip);
        }
    }
    None
}

fn query_error_message(e: &tree_sitter::QueryError) -> String {
    use tree_sitter::QueryErrorKind as K;
    let what = match e.kind {
        K::Syntax => "syntax error",
        K::NodeType => "unknown node type",
        K::Field => "unknown field",
        K::Capture => "unknown capture",
        K::Predicate => "bad predicate",
        K::Structure => "impossible pattern",
        K::Language => "language mismatch",
    };
    if e.message.is_empty() {
        what.to_string()
    } else {
        format!("{what} `{}`", e.message.trim().trim_matches('"'))
    }
}

fn load_query_file(
    errors: &Errors,
    base_dir: Option<&Path>,
    language: Language,
    f: &Spanned<String>,
) -> Result<(String, tree_sitter::Query), RecipeError> {
    let Some(base) = base_dir else {
        return Err(errors.at(
            f.span(),
            "a bundled recipe cannot read query files",
            "here",
            Some("write the query inline".into()),
        ));
    };
    let path = base.join(f.get_ref());
    let text = std::fs::read_to_string(&path).map_err(|e| {
        errors.at(
            f.span(),
            format!("cannot read query file {}: {e}", path.display()),
            "this file",
            Some("query_file is relative to the recipe's folder".into()),
        )
    })?;
    let query = compile_user_query(language, &text).map_err(|e| {
        // Point into the query file itself.
        RecipeError::Invalid(Box::new(InvalidRecipe {
            message: format!(
                "the query does not compile: {} at line {}, column {}",
                e.message,
                e.row + 1,
                e.column + 1
            ),
            src: NamedSource::new(path.display().to_string(), text.clone()),
            span: (e.offset.min(text.len()), usize::from(e.offset < text.len())).into(),
            label: "here".into(),
            help: None,
        }))
    })?;
    Ok((text, query))
}

fn parse_template(
    errors: &Errors,
    template: &Spanned<String>,
    captures: &[&str],
) -> Result<Template, RecipeError> {
    let text = template.get_ref();
    // Byte range in the recipe file of `len` bytes at offset `i` of the template's value.
    let locate = |i: usize, len: usize| {
        let raw = &errors.source.text[template.span()];
        value_start_in_raw(raw, text)
            .map(|s| template.span().start + s + i..template.span().start + s + i + len)
            .unwrap_or(template.span())
    };
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(after) = rest.strip_prefix('$') else {
            let c = rest.chars().next().expect("i is inside the text");
            literal.push(c);
            i += c.len_utf8();
            continue;
        };
        if after.starts_with('$') {
            literal.push('$');
            i += 2;
            continue;
        }
        // `$name`, or `${name}` for dotted capture names and names followed by a letter.
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 3),
                None => ("", 1),
            }
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..len], len + 1)
        };
        if name.is_empty() {
            return Err(errors.at(
                locate(i, 1),
                "a `$` in a template starts a capture name",
                "no name after `$`",
                Some("write `$$` for a literal dollar sign".into()),
            ));
        }
        if !captures.contains(&name) {
            return Err(errors.at(
                locate(i, consumed),
                format!("the template uses `${name}`, which the query does not capture"),
                "unknown capture",
                Some(format!("the query's captures: {}", list_captures(captures))),
            ));
        }
        parts_push_capture(&mut parts, &mut literal, name);
        i += consumed;
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok(Template { parts })
}

fn parts_push_capture(parts: &mut Vec<TemplatePart>, literal: &mut String, name: &str) {
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(std::mem::take(literal)));
    }
    parts.push(TemplatePart::Capture(name.to_string()));
}

fn check_language(errors: &Errors, l: &Spanned<String>) -> Result<Language, RecipeError> {
    Language::from_name(l.get_ref()).ok_or_else(|| {
        errors.at(
            l.span(),
            format!("unknown language `{}`", l.get_ref()),
            "not a language git-ripple knows",
            Some(format!(
                "one of: {}",
                Language::ALL
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )
    })
}

fn check_globs(
    errors: &Errors,
    list: Option<Spanned<Vec<Spanned<String>>>>,
) -> Result<(Option<GlobSet>, Vec<String>), RecipeError> {
    let Some(list) = list else {
        return Ok((None, Vec::new()));
    };
    let mut builder = GlobSetBuilder::new();
    let mut patterns = Vec::new();
    for g in list.into_inner() {
        let glob = globset::GlobBuilder::new(g.get_ref())
            .literal_separator(true)
            .build()
            .map_err(|e| {
                errors.at(
                    g.span(),
                    format!("`{}` is not a valid glob: {}", g.get_ref(), e.kind()),
                    "this glob",
                    Some("`*` matches inside one folder, `**` across folders".into()),
                )
            })?;
        builder.add(glob);
        patterns.push(g.into_inner());
    }
    let set = builder.build().map_err(|e| {
        errors.at(
            0..0,
            format!("globs could not be combined: {e}"),
            "here",
            None,
        )
    })?;
    Ok((Some(set), patterns))
}

fn check_paths(
    errors: &Errors,
    paths: Option<Spanned<Vec<Spanned<String>>>>,
    exclude: Option<Spanned<Vec<Spanned<String>>>>,
) -> Result<PathFilter, RecipeError> {
    let (include, include_patterns) = check_globs(errors, paths)?;
    let (exclude, exclude_patterns) = check_globs(errors, exclude)?;
    Ok(PathFilter {
        include,
        exclude,
        include_patterns,
        exclude_patterns,
    })
}

fn check_select(errors: &Errors, sel: Spanned<SelectFile>) -> Result<Selection, RecipeError> {
    let span = sel.span();
    let s = sel.into_inner();
    let query = match (s.query, s.language) {
        (Some(q), Some(l)) => {
            let language = check_language(errors, &l)?;
            let query = compile_inline_query(errors, language, &q)?;
            Some((language, Arc::new(query)))
        }
        (Some(q), None) => {
            return Err(errors.at(
                q.span(),
                "a query in `select` needs `language` next to it",
                "which grammar?",
                Some("add `language = \"python\"` or `language = \"go\"`".into()),
            ));
        }
        (None, Some(l)) => {
            check_language(errors, &l)?;
            None
        }
        (None, None) => None,
    };
    let paths = check_paths(errors, s.paths, s.exclude)?;
    if s.references.is_empty() && query.is_none() && !paths.has_include() {
        return Err(errors.at(
            span,
            "`select` selects nothing",
            "empty selection",
            Some("give `references`, `paths` or `query`".into()),
        ));
    }
    Ok(Selection {
        references: s
            .references
            .into_iter()
            .map(Located::from_spanned)
            .collect(),
        query,
        paths,
        propagate: s.propagate.map(|p| p.into_inner()).unwrap_or(0),
    })
}

fn check_batch(errors: &Errors, batch: Option<BatchFile>) -> Result<BatchLimits, RecipeError> {
    let mut limits = BatchLimits::default();
    let Some(b) = batch else {
        return Ok(limits);
    };
    if let Some(m) = b.max_files {
        if *m.get_ref() == 0 {
            return Err(errors.at(m.span(), "max_files must be at least 1", "zero", None));
        }
        limits.max_files = m.into_inner();
    }
    if let Some(m) = b.max_tokens {
        if *m.get_ref() == 0 {
            return Err(errors.at(m.span(), "max_tokens must be at least 1", "zero", None));
        }
        limits.max_tokens = m.into_inner();
    }
    if let Some(m) = b.focus_above {
        limits.focus_above = m.into_inner();
    }
    if let Some(g) = b.group {
        limits.group = match g.get_ref().as_str() {
            "package" => Grouping::Package,
            "none" => Grouping::None,
            "owners" => Grouping::Owners,
            other => {
                return Err(errors.at(
                    g.span(),
                    format!("unknown grouping `{other}`"),
                    "not a grouping",
                    Some("`package` (default: a batch keeps to one package), `owners` (one CODEOWNERS owner set, then one package) or `none`".into()),
                ));
            }
        };
    }
    Ok(limits)
}

fn check_verify(errors: &Errors, verify: Option<VerifyFile>) -> Result<VerifySpec, RecipeError> {
    let mut spec = VerifySpec {
        commands: Vec::new(),
        timeout: Duration::from_secs(15 * 60),
        final_commands: Vec::new(),
        network: true,
        env: Vec::new(),
        retries: 0,
    };
    let Some(v) = verify else {
        return Ok(spec);
    };
    for c in v.commands.iter().chain(&v.final_commands) {
        if c.get_ref().trim().is_empty() {
            return Err(errors.at(c.span(), "an empty verify command", "empty", None));
        }
        check_placeholders(errors, c, VERIFY_PLACEHOLDERS, "verify command")?;
    }
    for var in &v.env {
        let name = var.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(errors.at(
                var.span(),
                format!("`{name}` is not an environment variable name"),
                "not a name",
                Some("list the names of variables to keep, such as \"NPM_TOKEN\"".into()),
            ));
        }
    }
    if let Some(r) = &v.retries
        && *r.get_ref() > 10
    {
        return Err(errors.at(
            r.span(),
            "at most 10 retries",
            "too many",
            Some("a command that needs more retries than that is broken, not flaky".into()),
        ));
    }
    spec.retries = v.retries.map_or(0, Spanned::into_inner);
    spec.network = v.network.unwrap_or(true);
    spec.env = v.env.into_iter().map(Spanned::into_inner).collect();
    spec.commands = v.commands.into_iter().map(Spanned::into_inner).collect();
    spec.final_commands = v
        .final_commands
        .into_iter()
        .map(Spanned::into_inner)
        .collect();
    if let Some(t) = v.timeout {
        let span = t.span();
        spec.timeout = match t.into_inner() {
            DurationFile::Seconds(s) => Duration::from_secs(s),
            DurationFile::Text(text) => parse_duration(&text).ok_or_else(|| {
                errors.at(
                    span.clone(),
                    format!("`{text}` is not a duration"),
                    "not a duration",
                    Some("seconds as a number, or text such as \"90s\", \"10m\", \"1h\"".into()),
                )
            })?,
        };
        if spec.timeout.is_zero() {
            return Err(errors.at(span, "the timeout must be positive", "zero", None));
        }
    }
    Ok(spec)
}

/// `90`, `90s`, `10m`, `1h`, `1h30m`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += match c {
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            _ => return None,
        };
    }
    number.is_empty().then_some(Duration::from_secs(total))
}

/// Check `{name}` placeholders against the allowed names (`{{` and `}}` are literal braces).
fn check_placeholders(
    errors: &Errors,
    text: &Spanned<String>,
    allowed: &[&str],
    what: &str,
) -> Result<(), RecipeError> {
    for (start, name) in placeholders(text.get_ref()) {
        if !allowed.contains(&name) {
            let raw = &errors.source.text[text.span()];
            let at = value_start_in_raw(raw, text.get_ref())
                .map(|s| {
                    let off = text.span().start + s + start;
                    off..off + name.len() + 2
                })
                .unwrap_or(text.span());
            return Err(errors.at(
                at,
                format!("unknown placeholder `{{{name}}}` in a {what}"),
                "unknown placeholder",
                Some(format!(
                    "a {what} can use: {}",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ));
        }
    }
    Ok(())
}

/// `{name}` placeholders in a template, with their byte offsets (`{{`/`}}` are escapes; a
/// brace followed by anything but a name is literal, so shell `${VAR}` and `{ … }` blocks pass).
pub fn placeholders(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            if bytes.get(i + 1) == Some(&b'{') {
                i += 2;
                continue;
            }
            if i > 0 && bytes[i - 1] == b'$' {
                i += 1;
                continue;
            }
            let rest = &text[i + 1..];
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if len > 0 && rest[len..].starts_with('}') {
                out.push((i, &rest[..len]));
                i += len + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Fill `{name}` placeholders with `value(name)`; `{{` and `}}` become single braces.
pub fn fill_placeholders(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let found = placeholders(text);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, name) in found {
        out.push_str(&unescape_braces(&text[last..start]));
        match value(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&text[start..start + name.len() + 2]),
        }
        last = start + name.len() + 2;
    }
    out.push_str(&unescape_braces(&text[last..]));
    out
}

fn unescape_braces(s: &str) -> String {
    s.replace("{{", "{").replace("}}", "}")
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_escapes_and_shell_braces() {
        let found = placeholders("a {files} {{x}} ${HOME} { echo } {tests}");
        assert_eq!(found, vec![(2, "files"), (33, "tests")]);
        let filled = fill_placeholders("go test {packages} {{literal}}", |n| {
            (n == "packages").then(|| "./a ./b".to_string())
        });
        assert_eq!(filled, "go test ./a ./b {literal}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
