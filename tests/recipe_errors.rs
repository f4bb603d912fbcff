//! Invalid recipes: every error names the cause and points at the exact span in the file.

use git_ripple::graph::{GraphOptions, build_graph};
use git_ripple::recipe::{Recipe, RecipeError, RecipeSource, parse_recipe, read_recipe};
use git_ripple::scan::{Repository, scan_repo};

use crate::common::{fixture_repo, ripple};

const HEADER: &str = "name = \"r\"\ndescription = \"d\"\n";

fn source(text: &str) -> RecipeSource {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("r.toml");
    std::fs::write(&path, text).expect("write recipe");
    read_recipe(&path, std::path::Path::new("r.toml")).expect("read recipe")
}

/// The error's message, the recipe text it points at, and its help.
fn invalid(err: RecipeError, text: &str) -> (String, String, String) {
    match err {
        RecipeError::Invalid(e) => (
            e.message.clone(),
            text[e.range()].to_string(),
            e.help.clone().unwrap_or_default(),
        ),
        other => panic!("expected a span error, got {other:?}"),
    }
}

fn parse_error(text: &str) -> (String, String, String) {
    match parse_recipe(source(text)) {
        Ok(_) => panic!("recipe accepted:\n{text}"),
        Err(e) => invalid(e, text),
    }
}

fn check_error(body: &str) -> (String, String, String) {
    let text = format!("{HEADER}{body}");
    let repo = fixture_repo("python/shop");
    let r = Repository::discover(repo.path()).expect("repo");
    let scan = scan_repo(&r).expect("scan");
    let graph = build_graph(&r.root, &scan, &GraphOptions::default()).expect("graph");
    let recipe: Recipe = parse_recipe(source(&text)).expect("parses");
    match git_ripple::plan::check::check_recipe(&recipe, &graph) {
        Ok(()) => panic!("recipe accepted by the check:\n{text}"),
        Err(e) => invalid(e, &text),
    }
}

#[test]
fn unknown_top_level_key() {
    let (msg, at, help) = parse_error("nme = \"x\"\n[[step]]\nkind = \"model\"\n");
    assert_eq!(msg, "unknown key `nme`");
    assert_eq!(at, "nme");
    assert_eq!(help, "did you mean `name`?");
}

#[test]
fn unknown_step_key_suggests_the_right_one() {
    let (msg, at, help) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbl = \"a.b\"\nto = \"c\"\n"
    ));
    assert_eq!(msg, "unknown key `symbl`");
    assert_eq!(at, "symbl");
    assert_eq!(help, "did you mean `symbol`?");
}

#[test]
fn wrong_type() {
    let (msg, at, _) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"c\"\n[batch]\nmax_files = \"5\"\n"
    ));
    assert!(msg.contains("invalid type: string \"5\""), "{msg}");
    assert_eq!(at, "\"5\"");
}

#[test]
fn unknown_step_kind() {
    let (msg, at, help) = parse_error(&format!("{HEADER}[[step]]\nkind = \"renam\"\n"));
    assert_eq!(msg, "unknown step kind `renam`");
    assert_eq!(at, "\"renam\"");
    assert!(help.contains("rename, rewrite, move, model"), "{help}");
}

#[test]
fn key_of_another_step_kind() {
    let (msg, at, help) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"c\"\ninstructions = \"do it\"\n"
    ));
    assert_eq!(msg, "`instructions` is not a key of a `rename` step");
    assert_eq!(at, "\"do it\"");
    assert!(help.contains("symbol, to, compat"), "{help}");
}

#[test]
fn missing_required_key() {
    let (msg, at, _) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\n"
    ));
    assert_eq!(msg, "a `rename` step needs `to`");
    assert_eq!(at, "[[step]]", "points at the step's header");
}

#[test]
fn no_steps() {
    let (msg, _, help) = parse_error(HEADER);
    assert_eq!(msg, "the recipe has no steps");
    assert!(help.contains("[[step]]"));
}

#[test]
fn query_that_does_not_compile_points_inside_the_query() {
    let text = format!(
        "{HEADER}[[step]]\nkind = \"rewrite\"\nlanguage = \"python\"\nquery = '(call function: (identifer) @f) @match'\ntemplate = \"$f()\"\n"
    );
    let (msg, at, _) = parse_error(&text);
    assert!(msg.contains("unknown node type `identifer`"), "{msg}");
    assert!(msg.contains("line 1, column 18 of the query"), "{msg}");
    // The span is the first character of the bad node name, inside the TOML string.
    assert_eq!(at, "i");
    let RecipeError::Invalid(e) = parse_recipe(source(&text)).expect_err("invalid") else {
        panic!("span error expected")
    };
    assert_eq!(&text[e.range().start..e.range().start + 9], "identifer");
}

#[test]
fn a_field_on_a_predicate_is_an_error_not_an_abort() {
    // tree-sitter 0.27's query compiler asserts (aborting the process) on this form; found by
    // fuzzing the recipe parser. It is refused first, with the span.
    let text = format!(
        "{HEADER}[[step]]\nkind = \"rewrite\"\nlanguage = \"python\"\nquery = '((call function: (attribute attribute: (#eq? @m \"time\"))) @match)'\ntemplate = \"x\"\n"
    );
    let (msg, at, _) = parse_error(&text);
    assert!(
        msg.contains("a field must be followed by a node pattern"),
        "{msg}"
    );
    assert!(msg.contains("line 1, column 41 of the query"), "{msg}");
    assert_eq!(at, "#");
}

#[test]
fn keep_compat_without_an_alias_is_refused() {
    let (msg, at, help) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"c\"\ncompat = \"none\"\nkeep_compat = true\n"
    ));
    assert!(
        msg.contains("`keep_compat = true` keeps the old name"),
        "{msg}"
    );
    assert_eq!(at, "true");
    assert!(help.contains("drop"), "{help}");
}

#[test]
fn query_error_in_a_multi_line_string() {
    let text = format!(
        "{HEADER}[[step]]\nkind = \"rewrite\"\nlanguage = \"go\"\nquery = '''\n(call_expression\n  function: (selector_expresion) @match)\n'''\ntemplate = \"x\"\n"
    );
    let RecipeError::Invalid(e) = parse_recipe(source(&text)).expect_err("invalid") else {
        panic!("span error expected")
    };
    assert!(e.message.contains("line 2"), "{}", e.message);
    assert!(text[e.range().start..].starts_with("selector_expresion"));
}

#[test]
fn template_with_an_unknown_capture() {
    let (msg, at, help) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rewrite\"\nlanguage = \"python\"\nquery = '(call function: (identifier) @f) @match'\ntemplate = \"$fn()\"\n"
    ));
    assert_eq!(
        msg,
        "the template uses `$fn`, which the query does not capture"
    );
    assert_eq!(at, "$fn");
    assert!(help.contains("@f, @match"), "{help}");
}

#[test]
fn query_without_the_capture_to_replace() {
    let (msg, _, help) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rewrite\"\nlanguage = \"python\"\nquery = '(call function: (identifier) @f)'\ntemplate = \"x\"\n"
    ));
    assert_eq!(msg, "the query has no capture `@match`");
    assert!(help.contains("replace"), "{help}");
}

#[test]
fn unknown_placeholder_in_verify_and_commit() {
    let step = "[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"c\"\n";
    let (msg, at, help) = parse_error(&format!(
        "{HEADER}{step}[verify]\ncommands = [\"pytest {{test}}\"]\n"
    ));
    assert_eq!(msg, "unknown placeholder `{test}` in a verify command");
    assert_eq!(at, "{test}");
    assert!(help.contains("{files}, {packages}, {tests}"), "{help}");
    let (msg, at, _) = parse_error(&format!(
        "{HEADER}{step}[commit]\nmessage = \"{{recipe}}: {{batches}}\"\n"
    ));
    assert_eq!(msg, "unknown placeholder `{batches}` in a commit message");
    assert_eq!(at, "{batches}");
}

#[test]
fn shell_braces_are_not_placeholders() {
    let text = format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"c\"\n[verify]\ncommands = [\"test -n \\\"${{HOME}}\\\" && go test {{packages}}\"]\n"
    );
    parse_recipe(source(&text)).expect("`${HOME}` is shell, `{packages}` a placeholder");
}

#[test]
fn bad_glob_duration_and_grouping() {
    let (msg, at, _) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rewrite\"\nlanguage = \"go\"\nquery = '(identifier) @match'\ntemplate = \"x\"\npaths = [\"src/[a\"]\n"
    ));
    assert!(msg.starts_with("`src/[a` is not a valid glob"), "{msg}");
    assert_eq!(at, "\"src/[a\"");
    let step = "[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"c\"\n";
    let (msg, at, _) = parse_error(&format!(
        "{HEADER}{step}[verify]\ntimeout = \"ten minutes\"\n"
    ));
    assert_eq!(msg, "`ten minutes` is not a duration");
    assert_eq!(at, "\"ten minutes\"");
    let (msg, at, _) = parse_error(&format!("{HEADER}{step}[batch]\ngroup = \"module\"\n"));
    assert_eq!(msg, "unknown grouping `module`");
    assert_eq!(at, "\"module\"");
}

#[test]
fn invalid_new_name() {
    let (msg, at, _) = parse_error(&format!(
        "{HEADER}[[step]]\nkind = \"rename\"\nsymbol = \"a.b\"\nto = \"load-order\"\n"
    ));
    assert_eq!(msg, "`load-order` is not a valid identifier");
    assert_eq!(at, "\"load-order\"");
}

#[test]
fn unknown_symbol_suggests_the_closest() {
    let (msg, at, help) = check_error(
        "[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_ordr\"\nto = \"load_order\"\n",
    );
    assert_eq!(
        msg,
        "no symbol `shopcore.db.queries.fetch_ordr` in this repository"
    );
    assert_eq!(at, "\"shopcore.db.queries.fetch_ordr\"");
    assert!(
        help.starts_with("closest: `shopcore.db.queries.fetch_order`"),
        "{help}"
    );
}

#[test]
fn unknown_symbol_in_a_model_selection() {
    let (msg, at, _) = check_error(
        "[[step]]\nkind = \"model\"\ninstructions = \"x\"\nselect = { references = [\"shopcore.db.queries.nope\"] }\n",
    );
    assert_eq!(
        msg,
        "no symbol `shopcore.db.queries.nope` in this repository"
    );
    assert_eq!(at, "\"shopcore.db.queries.nope\"");
}

#[test]
fn rename_to_a_taken_name_or_a_keyword() {
    let (msg, at, _) = check_error(
        "[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"save_order\"\n",
    );
    assert_eq!(msg, "`shopcore.db.queries.save_order` already exists");
    assert_eq!(at, "\"save_order\"");
    let (msg, _, _) = check_error(
        "[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"lambda\"\n",
    );
    assert_eq!(msg, "`lambda` is a python keyword");
}

#[test]
fn move_of_an_unknown_module() {
    let (msg, at, help) = check_error(
        "[[step]]\nkind = \"move\"\nfrom = \"shopcore.db.querys\"\nto = \"shopcore.storage.queries\"\n",
    );
    assert_eq!(
        msg,
        "no Python module or Go package `shopcore.db.querys` in this repository"
    );
    assert_eq!(at, "\"shopcore.db.querys\"");
    assert!(help.contains("`shopcore.db.queries`"), "{help}");
}

#[test]
fn cli_renders_the_error_with_file_line_and_hint() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path().join(".ripple/recipes");
    std::fs::create_dir_all(&dir).expect("recipes dir");
    std::fs::write(
        dir.join("bad.toml"),
        format!("{HEADER}\n[[step]]\nkind = \"rename\"\nsymbl = \"x\"\nto = \"y\"\n"),
    )
    .expect("write");
    let out = ripple(repo.path(), &["plan", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown key `symbl`"), "{err}");
    assert!(err.contains(".ripple/recipes/bad.toml:6:1"), "{err}");
    assert!(err.contains("did you mean `symbol`?"), "{err}");
}
