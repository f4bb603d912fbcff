//! Verifying a copy of a Python tree: its source roots go first on `PYTHONPATH`, and a probe
//! asks the interpreter where each of the tree's top-level modules would be imported from, so an
//! editable install of another checkout cannot pass for the copy.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use super::resolve::PythonRoots;
use crate::lang::Manifests;

/// Asks `importlib` where each name (argv[2:]) would come from, without importing it, and
/// prints those found outside argv[1] (a JSON list of "name from path").
const PROBE: &str = r#"
import importlib.util, json, os, sys
root = os.path.realpath(sys.argv[1])
out = []
for name in sys.argv[2:]:
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    if spec is None:
        continue
    places = list(spec.submodule_search_locations or []) or [spec.origin]
    places = [os.path.realpath(p) for p in places if p and p not in ("built-in", "frozen")]
    if places and not any(p == root or p.startswith(root + os.sep) for p in places):
        out.append(name + " from " + places[0])
print(json.dumps(out))
"#;

fn roots(manifests: &Manifests, paths: &[String]) -> PythonRoots {
    let python: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|p| p.ends_with(".py") || p.ends_with(".pyi"))
        .collect();
    PythonRoots::detect(manifests, &python)
}

/// `PYTHONPATH` with the tree's source roots first (deepest first, as module names are taken),
/// then whatever the caller's environment had.
pub(super) fn verify_env(
    root: &Path,
    manifests: &Manifests,
    paths: &[String],
) -> Vec<(String, String)> {
    if !paths.iter().any(|p| p.ends_with(".py")) {
        return Vec::new();
    }
    let mut entries: Vec<String> = roots(manifests, paths)
        .folders()
        .iter()
        .map(|r| root.join(r).display().to_string())
        .map(|p| p.trim_end_matches('/').to_string())
        .collect();
    if let Ok(existing) = std::env::var("PYTHONPATH")
        && !existing.is_empty()
    {
        entries.push(existing);
    }
    vec![("PYTHONPATH".to_string(), entries.join(":"))]
}

/// The tree's top-level module names (packages and modules directly under a source root).
fn top_level(manifests: &Manifests, paths: &[String]) -> BTreeSet<String> {
    let roots = roots(manifests, paths);
    paths
        .iter()
        .filter(|p| p.ends_with(".py"))
        .filter_map(|p| roots.module_of(p))
        .filter_map(|m| m.split('.').next().map(str::to_string))
        .filter(|m| !matches!(m.as_str(), "setup" | "conftest" | "noxfile" | "__main__"))
        .collect()
}

/// Top-level modules of the tree that the interpreter would find elsewhere.
///
/// The answer depends on the names, where the source roots sit inside the tree, and what the
/// environment adds before them, not on where the tree was copied to; so within one process
/// (a `check` of many commits) the probe runs once per distinct question.
pub(super) fn foreign_imports(
    root: &Path,
    manifests: &Manifests,
    paths: &[String],
    env: &[(String, String)],
) -> Vec<String> {
    let names = top_level(manifests, paths);
    if names.is_empty() {
        return Vec::new();
    }
    let root_text = root.display().to_string();
    // What stands at the top of each root (a regular package wins over namespace portions).
    let folders = roots(manifests, paths);
    let tops: Vec<&String> = paths
        .iter()
        .filter(|p| {
            folders.folders().iter().any(|r| {
                let rel = if r.is_empty() {
                    p.as_str()
                } else {
                    p.strip_prefix(r.as_str())
                        .and_then(|x| x.strip_prefix('/'))
                        .unwrap_or("")
                };
                (rel.ends_with(".py") && !rel.contains('/'))
                    || rel.matches('/').count() == 1 && rel.ends_with("/__init__.py")
            })
        })
        .collect();
    let question = format!(
        "{}\n{}\n{:?}\n{}",
        names.iter().cloned().collect::<Vec<_>>().join(","),
        folders.folders().join(","),
        tops,
        env.iter()
            .map(|(k, v)| format!("{k}={}", v.replace(&root_text, "<tree>")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    static ANSWERS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>,
    > = std::sync::OnceLock::new();
    let answers = ANSWERS.get_or_init(Default::default);
    if let Some(known) = answers.lock().ok().and_then(|a| a.get(&question).cloned()) {
        return known;
    }
    let found = probe(root, &names, env);
    if let Ok(mut a) = answers.lock() {
        a.insert(question, found.clone());
    }
    found
}

/// Ask the interpreter (see [`PROBE`]).
fn probe(root: &Path, names: &BTreeSet<String>, env: &[(String, String)]) -> Vec<String> {
    for interpreter in ["python3", "python"] {
        let out = Command::new(interpreter)
            .arg("-c")
            .arg(PROBE)
            .arg(root)
            .args(names)
            .current_dir(root)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let Ok(out) = out else { continue };
        if !out.status.success() {
            continue;
        }
        return serde_json::from_slice(&out.stdout).unwrap_or_default();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_src_layout_puts_src_first_and_names_its_packages() {
        let paths: Vec<String> = [
            "pyproject.toml",
            "src/shop/__init__.py",
            "src/shop/db.py",
            "tests/test_db.py",
            "conftest.py",
        ]
        .map(String::from)
        .to_vec();
        let manifests = Manifests {
            files: vec![(
                "pyproject.toml".into(),
                "[project]\nname = \"shop\"\n".into(),
            )],
        };
        let env = verify_env(Path::new("/w"), &manifests, &paths);
        assert!(env[0].1.starts_with("/w/src:/w"), "{env:?}");
        let names: Vec<String> = top_level(&manifests, &paths).into_iter().collect();
        assert_eq!(names, ["shop", "tests"]);
    }

    #[test]
    fn the_probe_finds_modules_outside_the_tree() {
        let tree = tempfile::TempDir::new().expect("temp");
        let elsewhere = tempfile::TempDir::new().expect("temp");
        std::fs::create_dir_all(elsewhere.path().join("shop")).expect("package");
        std::fs::write(elsewhere.path().join("shop/__init__.py"), "").expect("init");
        let paths = vec!["src/shop/__init__.py".to_string()];
        let manifests = Manifests::default();
        // Only the other checkout on the path: the tree's own package is shadowed.
        let env = vec![(
            "PYTHONPATH".to_string(),
            elsewhere.path().display().to_string(),
        )];
        let found = foreign_imports(tree.path(), &manifests, &paths, &env);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("shop from "), "{found:?}");
        // With the tree's roots first, nothing comes from elsewhere.
        std::fs::create_dir_all(tree.path().join("src/shop")).expect("package");
        std::fs::write(tree.path().join("src/shop/__init__.py"), "").expect("init");
        let mut env = verify_env(tree.path(), &manifests, &paths);
        env[0].1.push(':');
        env[0].1.push_str(&elsewhere.path().display().to_string());
        assert!(foreign_imports(tree.path(), &manifests, &paths, &env).is_empty());
    }
}
