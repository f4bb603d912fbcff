//! Go references against go/types, object by object: `tests/gotruth` (go/parser + go/types,
//! stdlib only) prints every identifier that denotes a package-level object, method, interface
//! method or struct field, and our `graph --references` must list exactly those, minus the
//! unsure sites it reports (which must stay under 2% of the uses). On the fixture and on real
//! modules fetched through the Go module proxy, pinned and cached under `target/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{fixture_repo, repo_copy, ripple_ok};

/// Real modules with the traps: embedding and promotion (chi's middleware wrappers, cobra's
/// Command), interfaces (chi's Router, mux's matchers), generics-free and generic code, table
/// tests with anonymous structs, example functions, build-tagged files (uuid's `node_js.go`,
/// chi's `!go1.22` fallback), dependencies (cobra: pflag).
const MODULES: &[(&str, &str)] = &[
    ("github.com/go-chi/chi/v5", "v5.1.0"),
    ("github.com/gorilla/mux", "v1.8.1"),
    ("github.com/google/uuid", "v1.6.0"),
    ("github.com/spf13/cobra", "v1.8.1"),
];

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// The module cache the real modules and their dependencies are downloaded into.
pub fn module_cache() -> PathBuf {
    target_dir().join("go-modules")
}

fn go(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("go")
        .args(args)
        .current_dir(dir)
        .env("GOMODCACHE", module_cache())
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("run go");
    assert!(
        out.status.success(),
        "go {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ground-truth program, built once.
fn gotruth() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gotruth");
        let bin = target_dir().join("gotruth");
        go(
            &src,
            &["build", "-o", bin.to_str().expect("utf-8 path"), "."],
        );
        bin
    })
}

/// A pinned module from the proxy (cached), with its dependencies, as a committed repository.
pub fn real_module(module: &str, version: &str) -> tempfile::TempDir {
    let scratch = tempfile::TempDir::new().expect("temp dir");
    let info: serde_json::Value = serde_json::from_str(&go(
        scratch.path(),
        &["mod", "download", "-json", &format!("{module}@{version}")],
    ))
    .expect("go mod download -json");
    let dir = repo_copy(Path::new(info["Dir"].as_str().expect("Dir")));
    go(dir.path(), &["mod", "download"]);
    dir
}

/// object ID → positions (`file:line:column`), as go/types sees them.
pub fn truth(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(gotruth())
        .arg(dir)
        .env("GOMODCACHE", module_cache())
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("run gotruth");
    assert!(
        out.status.success(),
        "gotruth failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (pos, id) = line.split_once('\t').expect("pos<TAB>id");
        map.entry(id.to_string())
            .or_default()
            .insert(pos.to_string());
    }
    map
}

struct Ours {
    references: BTreeMap<String, BTreeSet<String>>,
    unsure: BTreeSet<String>,
}

fn ours(dir: &Path) -> Ours {
    let v: serde_json::Value = serde_json::from_str(&ripple_ok(
        dir,
        &["graph", "--references", "--format", "json"],
    ))
    .expect("references json");
    let pos = |r: &serde_json::Value| {
        format!(
            "{}:{}:{}",
            r["file"].as_str().unwrap_or(""),
            r["line"],
            r["column"]
        )
    };
    let mut references = BTreeMap::new();
    for s in v["symbols"].as_array().expect("symbols") {
        let refs: BTreeSet<String> = s["references"]
            .as_array()
            .expect("references")
            .iter()
            // Example functions name symbols by go vet's rules; go/types does not count them.
            .filter(|r| r["kind"] != "example")
            .map(pos)
            .collect();
        references.insert(s["id"].as_str().expect("id").to_string(), refs);
    }
    let unsure = v["unsure"]
        .as_array()
        .expect("unsure")
        .iter()
        .map(pos)
        .collect();
    Ours { references, unsure }
}

/// Compare object by object; every difference listed, unsure sites at most 2% of the uses.
fn assert_matches_go_types(dir: &Path, name: &str) {
    let truth = truth(dir);
    let ours = ours(dir);
    let uses: usize = truth.values().map(BTreeSet::len).sum();
    assert!(uses > 100, "{name}: go/types found only {uses} uses");
    let mut differences = Vec::new();
    let ids: BTreeSet<&String> = truth.keys().chain(ours.references.keys()).collect();
    for id in ids {
        let empty = BTreeSet::new();
        let t = truth.get(id).unwrap_or(&empty);
        let o = ours.references.get(id).unwrap_or(&empty);
        let missed: Vec<_> = t
            .difference(o)
            .filter(|p| !ours.unsure.contains(*p))
            .collect();
        let wrong: Vec<_> = o.difference(t).collect();
        if !missed.is_empty() || !wrong.is_empty() {
            differences.push(format!("{id}: missed {missed:?}, wrong {wrong:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{name}: {} of {} objects differ from go/types:\n{}",
        differences.len(),
        truth.len(),
        differences.join("\n")
    );
    assert!(
        ours.unsure.len() * 50 <= uses,
        "{name}: {} unsure sites for {uses} uses (over 2%)",
        ours.unsure.len()
    );
    eprintln!(
        "{name}: {} objects, {uses} uses: 0 missed, 0 wrong, {} unsure",
        truth.len(),
        ours.unsure.len()
    );
}

#[test]
fn fixture_references_equal_go_types() {
    for fixture in ["go/shop", "go/typed"] {
        let repo = fixture_repo(fixture);
        assert_matches_go_types(repo.path(), &format!("fixtures/{fixture}"));
    }
}

#[test]
fn real_module_references_equal_go_types() {
    for (module, version) in MODULES {
        let repo = real_module(module, version);
        assert_matches_go_types(repo.path(), &format!("{module}@{version}"));
    }
}
