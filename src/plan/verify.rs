//! Verify placeholders: a recipe's verify commands filled in for one batch. `{files}` is the
//! batch's files; `{packages}` names the packages of the batch's files and of everything that
//! depends on them, the way the language's build tool wants them (`./internal/store`), or every
//! package when there are none; `{tests}` lists the test files (for languages that run tests by
//! file) among the batch's files and their dependents. Values are shell-quoted.
//!
//! The commands come only from the recipe and the user's configuration: a run fills them again
//! for the batch it carries out, never taking them from a plan file.

use std::collections::BTreeSet;
use std::path::Path;

use crate::graph::Graph;
use crate::lang::FileId;
use crate::recipe::fill_placeholders;

/// The recipe's verify commands filled in for a batch of `files`.
pub fn fill_commands(
    root: &Path,
    graph: &Graph,
    commands: &[String],
    files: &[FileId],
) -> Vec<String> {
    commands
        .iter()
        .map(|c| fill_verify(root, graph, c, files))
        .collect()
}

/// [`fill_commands`] for a batch given by paths (a plan file's); paths the graph does not know
/// are left out of `{packages}` and `{tests}` but kept in `{files}`.
pub fn fill_commands_for_paths(
    root: &Path,
    graph: &Graph,
    commands: &[String],
    paths: &[String],
) -> Vec<String> {
    let files: Vec<FileId> = paths.iter().filter_map(|p| graph.file_id(p)).collect();
    let all = paths
        .iter()
        .map(|p| shell_quote(p))
        .collect::<Vec<_>>()
        .join(" ");
    commands
        .iter()
        .map(|c| {
            fill_placeholders(c, |name| match name {
                "files" => Some(all.clone()),
                "packages" => Some(packages(root, graph, &files)),
                "tests" => Some(tests(graph, &files)),
                _ => None,
            })
        })
        .collect()
}

/// The recipe's verify commands widened to a whole tree at `root` whose files are `paths`, as
/// `check` and the baseline run them: `{files}` is every source file, `{packages}` every
/// package, `{tests}` every test file run by file.
pub fn fill_whole(root: &Path, paths: &[String], commands: &[String]) -> Vec<String> {
    let sources: Vec<(&String, crate::lang::Language)> = paths
        .iter()
        .filter_map(|p| crate::lang::Language::from_path(Path::new(p)).map(|l| (p, l)))
        .collect();
    let files = sources
        .iter()
        .map(|(p, _)| shell_quote(p))
        .collect::<Vec<_>>()
        .join(" ");
    let packages: BTreeSet<String> = sources
        .iter()
        .filter_map(|(p, l)| l.support().package_target(root, p))
        .collect();
    let packages = if packages.is_empty() {
        "./...".to_string()
    } else {
        packages
            .iter()
            .map(|n| shell_quote(n))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let tests = sources
        .iter()
        .filter_map(|(p, l)| l.support().test_target(p))
        .collect::<BTreeSet<_>>()
        .iter()
        .map(|t| shell_quote(t))
        .collect::<Vec<_>>()
        .join(" ");
    commands
        .iter()
        .map(|c| {
            fill_placeholders(c, |name| match name {
                "files" => Some(files.clone()),
                "packages" => Some(packages.clone()),
                "tests" => Some(tests.clone()),
                _ => None,
            })
        })
        .collect()
}

fn fill_verify(root: &Path, graph: &Graph, command: &str, files: &[FileId]) -> String {
    fill_placeholders(command, |name| match name {
        "files" => Some(
            files
                .iter()
                .map(|&f| shell_quote(&graph.files[f].path))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "packages" => Some(packages(root, graph, files)),
        "tests" => Some(tests(graph, files)),
        _ => None,
    })
}

/// The packages of the files and of every file depending on them, as the build tool names them
/// from the root (`./...` when there are none).
fn packages(root: &Path, graph: &Graph, files: &[FileId]) -> String {
    let all = with_dependents(graph, files);
    let names: BTreeSet<String> = all
        .iter()
        .map(|&f| &graph.files[f])
        .filter_map(|n| n.language.support().package_target(root, &n.path))
        .collect();
    if names.is_empty() {
        return "./...".to_string();
    }
    names
        .iter()
        .map(|n| shell_quote(n))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The files and everything depending on them, directly or not.
fn with_dependents(graph: &Graph, files: &[FileId]) -> Vec<FileId> {
    let mut all: Vec<FileId> = files.to_vec();
    all.extend(
        graph
            .transitive_dependents(files, None)
            .into_iter()
            .map(|(f, _)| f),
    );
    all
}

/// The test files run by file among the files and everything depending on them.
fn tests(graph: &Graph, files: &[FileId]) -> String {
    let all = with_dependents(graph, files);
    let tests: BTreeSet<String> = all
        .iter()
        .map(|&f| &graph.files[f])
        .filter_map(|n| n.language.support().test_target(&n.path))
        .collect();
    tests
        .iter()
        .map(|t| shell_quote(t))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quote for `sh -c` when needed.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("src/a.py"), "src/a.py");
        assert_eq!(shell_quote("a b.py"), "'a b.py'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
