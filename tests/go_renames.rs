//! Type-aware Go renames end to end on `fixtures/go/typed`: a method with its interface and
//! implementations, a field beside same-named decoys, an embedded type, refusals, and unsure
//! sites. Every commit builds, vets and tests; what go/types sees after the run is what it saw
//! before under the new name.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{
    Ripple, assert_each_commit_passes, commits_between, fixture_repo, git, ripple_ok,
};

const GO_CHECKS: &[&[&str]] = &[
    &["go", "build", "./..."],
    &["go", "vet", "./..."],
    &["go", "test", "./..."],
];

fn recipe(dir: &Path, name: &str, step: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\n\n[verify]\ncommands = [\"go build ./...\", \"go vet ./...\", \"go test ./...\"]\n\n[[step]]\nkind = \"rename\"\n{step}\n"
        ),
    )
    .expect("write recipe");
    path.to_str().expect("utf-8 path").to_string()
}

/// Plan and run the rename `step` (recipe `rename`) on `dir`; every commit passes the Go
/// checks. Returns the plan as text.
fn plan_and_run_green(dir: &Path, step: &str) -> String {
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let recipe = recipe(recipes.path(), "rename", step);
    let plan = ripple_ok(dir, &["plan", &recipe]);
    ripple_ok(dir, &["run", &recipe]);
    let commits = commits_between(dir, "main", "ripple/rename");
    assert!(!commits.is_empty());
    assert_each_commit_passes(dir, &commits, GO_CHECKS, "ripple/rename");
    plan
}

/// How many uses go/types finds of each object.
fn go_types_counts(dir: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (id, positions) in crate::go_types::truth(dir) {
        counts.insert(id, positions.len());
    }
    counts
}

/// Run a rename of `symbol` to `to` on the typed fixture; every commit passes the Go checks,
/// and go/types finds as many uses of each renamed object under its new ID as it found under
/// the old one, and no object left under an old ID.
fn rename_and_compare(symbol: &str, to: &str, extra: &str, renamed: &[(&str, &str)]) {
    rename_and_compare_in(&fixture_repo("go/typed"), symbol, to, extra, renamed);
}

/// [`rename_and_compare`] on a prepared repository (a fixture, a real module).
fn rename_and_compare_in(
    repo: &tempfile::TempDir,
    symbol: &str,
    to: &str,
    extra: &str,
    renamed: &[(&str, &str)],
) {
    let dir = repo.path();
    let before = go_types_counts(dir);
    plan_and_run_green(
        dir,
        &format!("symbol = \"{symbol}\"\nto = \"{to}\"\n{extra}"),
    );
    let after = go_types_counts(dir);
    // A renamed type's members move with it (`conn.Conn.Send` → `conn.Link.Send`).
    let moved = |id: &str| -> String {
        let new_symbol = format!("{}.{to}", symbol.rsplit_once('.').map_or("", |(p, _)| p));
        match id.strip_prefix(symbol).filter(|rest| rest.starts_with('.')) {
            Some(rest) => format!("{new_symbol}{rest}"),
            None => id.to_string(),
        }
    };
    for (old, new) in renamed {
        assert!(before.contains_key(*old), "{old} is not in the fixture");
        assert_eq!(
            after.get(*new),
            before.get(*old),
            "{old} → {new}: go/types uses before and after"
        );
        assert!(!after.contains_key(*old), "{old} is still used");
    }
    // Everything else keeps its uses (the decoys above all).
    for (id, n) in &before {
        if renamed.iter().any(|(old, _)| old == id) {
            continue;
        }
        assert_eq!(after.get(&moved(id)), Some(n), "{id} changed");
    }
}

/// `Conn.Send` and its implementations, renamed to `Deliver`.
const SEND_FAMILY: &[(&str, &str)] = &[
    (
        "example.com/typed/conn.Conn.Send",
        "example.com/typed/conn.Conn.Deliver",
    ),
    (
        "example.com/typed/conn.Pipe.Send",
        "example.com/typed/conn.Pipe.Deliver",
    ),
    (
        "example.com/typed/conn.Discard.Send",
        "example.com/typed/conn.Discard.Deliver",
    ),
    (
        "example.com/typed/conn.Traced.Send",
        "example.com/typed/conn.Traced.Deliver",
    ),
];

#[test]
fn an_interface_method_renames_with_every_implementation() {
    rename_and_compare(
        "example.com/typed/conn.Conn.Send",
        "Deliver",
        "",
        SEND_FAMILY,
    );
}

#[test]
fn an_implementation_renames_its_interface_too() {
    rename_and_compare(
        "example.com/typed/conn.Pipe.Send",
        "Deliver",
        "",
        SEND_FAMILY,
    );
}

#[test]
fn a_field_renames_through_values_and_keys_and_leaves_same_named_fields() {
    // `Inventory.Name` and `Owner.Name`: `x.Name`, `r.Inv.Owner.Name`, `&Owner{Name: …}`.
    rename_and_compare(
        "example.com/typed/store.Owner.Name",
        "Login",
        "",
        &[(
            "example.com/typed/store.Owner.Name",
            "example.com/typed/store.Owner.Login",
        )],
    );
}

#[test]
fn an_embedded_type_renames_the_field_it_names() {
    // `Traced` embeds `Conn`: `t.Conn.Send`, `traced.Conn.Close()`, `&Traced{Conn: c}`.
    rename_and_compare(
        "example.com/typed/conn.Conn",
        "Link",
        "",
        &[
            ("example.com/typed/conn.Conn", "example.com/typed/conn.Link"),
            (
                "example.com/typed/conn.Traced.Conn",
                "example.com/typed/conn.Traced.Link",
            ),
        ],
    );
}

#[test]
fn family_refuse_lists_the_family_and_outside_interfaces_are_refused() {
    let repo = fixture_repo("go/typed");
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let refuse = recipe(
        recipes.path(),
        "refuse",
        "symbol = \"example.com/typed/conn.Conn.Send\"\nto = \"Deliver\"\nfamily = \"refuse\"",
    );
    let out = Ripple::new(repo.path()).args(&["plan", &refuse]).output();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for member in ["conn.Pipe.Send", "conn.Discard.Send", "conn.Traced.Send"] {
        assert!(err.contains(member), "{member} not listed: {err}");
    }
    let closer = recipe(
        recipes.path(),
        "closer",
        "symbol = \"example.com/typed/conn.Pipe.Close\"\nto = \"Shut\"",
    );
    let out = Ripple::new(repo.path()).args(&["plan", &closer]).output();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("io.Closer"), "{err}");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
}

#[test]
fn unsure_sites_are_listed_left_for_verification_or_renamed_when_asked() {
    // `v, ok := inv.Get("b"); v.Qty`: Get returns the type parameter T of Store[Item].
    let repo = fixture_repo("go/typed");
    let dir = repo.path();
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let step = "symbol = \"example.com/typed/store.Item.Qty\"\nto = \"Quantity\"";
    let report = recipe(recipes.path(), "report", step);
    let plan = ripple_ok(dir, &["plan", &report]);
    assert!(
        plan.contains("1 unsure site") && plan.contains("store/store_test.go:21:37"),
        "{plan}"
    );
    let symbol = ripple_ok(
        dir,
        &["graph", "--symbol", "example.com/typed/store.Item.Qty"],
    );
    assert!(symbol.contains("1 unsure sites"), "{symbol}");

    let fail = recipe(
        recipes.path(),
        "fail",
        &format!("{step}\nunsure = \"fail\""),
    );
    let out = Ripple::new(dir).args(&["plan", &fail]).output();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("store/store_test.go:21:37"));

    // Left as it is, the site is a real use: verification fails and the batch is rolled back.
    let out = Ripple::new(dir).args(&["run", &report]).output();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
    // The report leaves the site for a person, and says which batch failed and why.
    let report = ripple_ok(dir, &["report"]);
    assert!(
        report.contains("1 unsure site")
            && report.contains("- `store/store_test.go:21:37")
            && report.contains("stopped on a failed batch")
            && report.contains("failed: "),
        "{report}"
    );
    ripple_ok(dir, &["abort", "--delete-branch"]);

    let plan = plan_and_run_green(dir, &format!("{step}\nunsure = \"rename\""));
    assert!(plan.contains("renamed too (unsure = \"rename\")"), "{plan}");
}

#[test]
fn generated_files_are_left_for_their_generator_and_keep_the_old_name_working() {
    let repo = fixture_repo("go/typed");
    let dir = repo.path();
    let plan = plan_and_run_green(
        dir,
        "symbol = \"example.com/typed/conn.Kind\"\nto = \"Class\"",
    );
    assert!(
        plan.contains("1 generated file not edited, regenerate it: conn/kind_string.go")
            && plan.contains("`//go:generate stringer -type=Kind` (conn/conn.go:"),
        "{plan}"
    );
    // The directive's `-type=Kind` is a use no compiler checks: an unsure site.
    assert!(
        plan.contains("a name in a //go:linkname or //go:generate directive"),
        "{plan}"
    );
    assert_eq!(
        git(
            dir,
            &["diff", "main..ripple/rename", "--", "conn/kind_string.go"]
        ),
        ""
    );
    let conn = std::fs::read_to_string(dir.join("conn/conn.go")).expect("conn.go");
    assert!(conn.contains("Kind = Class"), "the alias stays: {conn}");
}

#[test]
fn an_encoded_field_keeps_its_wire_name() {
    // `app.Export` is marshalled with encoding/json and has no tags; TestJSON checks the JSON.
    let repo = fixture_repo("go/typed");
    let dir = repo.path();
    let plan = plan_and_run_green(
        dir,
        "symbol = \"example.com/typed/app.Export.Owner\"\nto = \"Holder\"",
    );
    assert!(
        plan.contains("the rename adds the tag `json:\"Owner\"`"),
        "{plan}"
    );
    let app = std::fs::read_to_string(dir.join("app/app.go")).expect("app.go");
    assert!(app.contains("Holder string `json:\"Owner\"`"), "{app}");
    assert!(app.contains("Export{Holder: inv.Owner.Name"), "{app}");
}

#[test]
fn a_model_batch_sees_the_members_its_code_reaches_through_values() {
    // app/app.go calls `inv.Items()`, `traced.Send`, `p.Closed()` and reads
    // `r.Inv.Owner.Email`: the methods' signatures and the structs declaring the fields are in
    // its contracts, each once.
    let repo = fixture_repo("go/typed");
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let path = recipes.path().join("model.toml");
    std::fs::write(
        &path,
        "name = \"model\"\n\n[[step]]\nkind = \"model\"\ninstructions = \"Log every report line.\"\nselect = { paths = [\"app/app.go\"] }\n",
    )
    .expect("write recipe");
    let json: serde_json::Value = serde_json::from_str(&ripple_ok(
        repo.path(),
        &[
            "explain",
            path.to_str().expect("utf-8"),
            "--batch",
            "1",
            "--format",
            "json",
        ],
    ))
    .expect("explain json");
    let contracts: Vec<&str> = json["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|p| p["kind"] == "contract")
        .map(|p| p["name"].as_str().expect("contract name"))
        .collect();
    for want in [
        "example.com/typed/store.Inventory.Items",
        "example.com/typed/store.Inventory.Total",
        "example.com/typed/conn.Traced.Send",
        "example.com/typed/conn.Pipe.Closed",
        "example.com/typed/store.Owner",
        "example.com/typed/store.Inventory",
    ] {
        assert!(
            contracts.contains(&want),
            "{want} missing from {contracts:?}"
        );
    }
    assert!(
        !contracts
            .iter()
            .any(|c| c.ends_with(".Email") || c.ends_with(".Owner.Name")),
        "fields come as their struct: {contracts:?}"
    );
    let mut unique = contracts.clone();
    unique.dedup();
    assert_eq!(unique.len(), contracts.len(), "{contracts:?}");
    let text = json["text"].as_str().expect("prompt");
    assert!(text.contains("type Owner struct"), "{text}");
}

#[test]
fn real_modules_rename_a_function_a_type_a_method_a_field_and_a_method_family() {
    // google/uuid: `UUID.Version` beside the type `Version`; `NullUUID.Valid` beside
    // `sql.Null*.Valid`; chi: `Mux.Use`, which implements `Router.Use` (and `Routes`).
    let uuid = "github.com/google/uuid";
    for (symbol, to, renamed) in [
        ("NewString", "NewText", vec![("NewString", "NewText")]),
        ("NullUUID", "NullID", vec![("NullUUID", "NullID")]),
        ("UUID.Version", "Ver", vec![("UUID.Version", "UUID.Ver")]),
        (
            "NullUUID.Valid",
            "Present",
            vec![("NullUUID.Valid", "NullUUID.Present")],
        ),
    ] {
        let repo = crate::go_types::real_module(uuid, "v1.6.0");
        let full = |s: &str| format!("{uuid}.{s}");
        let renamed: Vec<(String, String)> =
            renamed.iter().map(|(a, b)| (full(a), full(b))).collect();
        let pairs: Vec<(&str, &str)> = renamed
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        rename_and_compare_in(&repo, &full(symbol), to, "", &pairs);
    }
    let chi = "github.com/go-chi/chi/v5";
    let repo = crate::go_types::real_module(chi, "v5.1.0");
    rename_and_compare_in(
        &repo,
        &format!("{chi}.Mux.Use"),
        "Attach",
        "",
        &[
            (&format!("{chi}.Mux.Use"), &format!("{chi}.Mux.Attach")),
            (
                &format!("{chi}.Router.Use"),
                &format!("{chi}.Router.Attach"),
            ),
        ],
    );
}
