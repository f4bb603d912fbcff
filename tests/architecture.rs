//! The house rules, checked on the source itself: every module says what it owns, data flows
//! one way (no import loop between the stages, nor between the modules of one stage), languages
//! live in `src/lang/` (no other file names a language variant), and no module pulls in another
//! one's whole namespace (`use super::*` only in tests).
//!
//! The source is read as text: a module's dependencies are the `crate::X` and `super::X` paths
//! it names outside its `#[cfg(test)]` module (which, by our convention, closes the file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, as (path relative to `src/`, text without its test module).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root.clone()];
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path: PathBuf = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                let code = match text.find("\n#[cfg(test)]") {
                    Some(i) => text[..i].to_string(),
                    None => text,
                };
                let rel = path
                    .strip_prefix(&root)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, code));
            }
        }
    }
    out.sort();
    out
}

/// The module path of a file: `run/batches.rs` → [run, batches], `run/mod.rs` → [run].
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The paths following `prefix` in `code` (`crate::plan::verify` after `crate::` gives
/// [plan, verify]); a group (`super::{a, b::c}`) gives one path per member.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let split = |text: &str| -> Vec<String> {
        text.split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The group's members, split at top-level commas.
            let mut depth = 0;
            let mut member = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(split(&member));
                        member.clear();
                        continue;
                    }
                    _ => {}
                }
                member.push(c);
            }
            out.push(split(&member));
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        out.push(split(&rest[..end]));
    }
    out.retain(|p| !p.is_empty());
    out
}

/// A cycle in a directed graph, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let from = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if let Some(c) = visit(node, edges, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn every_module_says_what_it_owns() {
    for (rel, code) in sources() {
        assert!(
            code.trim_start().starts_with("//!"),
            "src/{rel} opens without a `//!` doc saying what it owns"
        );
    }
}

#[test]
fn only_lang_names_a_language() {
    for (rel, code) in sources() {
        if rel.starts_with("lang/") {
            continue;
        }
        for variant in ["Language::Python", "Language::Go"] {
            assert!(
                !code.contains(variant),
                "src/{rel} names {variant}: that knowledge belongs behind lang::Support"
            );
        }
    }
}

#[test]
fn no_glob_imports_of_a_parent_outside_tests() {
    for (rel, code) in sources() {
        assert!(
            !code.contains("use super::*"),
            "src/{rel}: `use super::*` outside tests makes two modules one namespace"
        );
    }
}

#[test]
fn stages_do_not_import_each_other_in_a_loop() {
    let files = sources();
    let top: BTreeSet<String> = files
        .iter()
        .map(|(rel, _)| module_of(rel)[0].clone())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    // Stage level: `crate::X` from a file of stage Y is an edge Y → X.
    let mut stages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Within a stage: an edge between two sibling modules (`super::X`, `crate::stage::X`).
    let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in &files {
        let module = module_of(rel);
        // Comments (doc links included) are not dependencies.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        let code = code.as_str();
        if module[0] == "lib" || module[0] == "main" {
            continue;
        }
        let me = module.join("::");
        stages.entry(module[0].clone()).or_default();
        for path in paths_after(code, "crate::") {
            if top.contains(&path[0]) && path[0] != module[0] {
                stages
                    .entry(module[0].clone())
                    .or_default()
                    .insert(path[0].clone());
            }
            // `crate::lang::shared` from `lang::go::imports` is the sibling `lang::shared`.
            if path.len() > 1 && path[0] == module[0] && module.len() > 1 {
                let target = format!("{}::{}", path[0], path[1]);
                let mine = format!("{}::{}", module[0], module[1]);
                if target != mine && files.iter().any(|(r, _)| module_of(r).join("::") == target) {
                    siblings.entry(mine).or_default().insert(target);
                }
            }
        }
        if module.len() >= 2 {
            // `super::X` from `a::b::c` names `a::b::X`; from `a::b` (a mod.rs or a leaf) it
            // names `a::X`.
            let parent = &module[..module.len() - 1];
            for path in paths_after(code, "super::") {
                let target = format!("{}::{}", parent.join("::"), path[0]);
                if target != me && files.iter().any(|(r, _)| module_of(r).join("::") == target) {
                    siblings.entry(me.clone()).or_default().insert(target);
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&stages) {
        panic!(
            "the stages import each other in a loop: {}",
            cycle.join(" → ")
        );
    }
    if let Some(cycle) = find_cycle(&siblings) {
        panic!(
            "modules of one stage import each other in a loop: {}",
            cycle.join(" → ")
        );
    }
    // The arrows the pipeline promises.
    let depends = |a: &str, b: &str| stages.get(a).is_some_and(|d| d.contains(b));
    for (low, high) in [
        ("lang", "graph"),
        ("recipe", "graph"),
        ("recipe", "model"),
        ("plan", "transform"),
        ("plan", "run"),
        ("plan", "simulate"),
        ("transform", "run"),
        ("model", "vcs"),
        ("model", "edit"),
        ("graph", "model"),
    ] {
        assert!(!depends(low, high), "{low} must not depend on {high}");
    }
}

#[test]
fn the_loop_check_finds_loops() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        paths_after("use super::{report::{A, B}, state};", "super::"),
        vec![vec!["report".to_string()], vec!["state".to_string()]]
    );
}
