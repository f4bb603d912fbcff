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

/// What the placeholders stand for, each already shell-quoted and joined.
struct Values {
    files: String,
    packages: String,
    tests: String,
}

impl Values {
    /// `{files}` from `files`, `{packages}` from package targets (`./...` when there are none),
    /// `{tests}` from test targets; duplicates removed, sorted.
    fn new(
        files: impl IntoIterator<Item = String>,
        packages: impl IntoIterator<Item = String>,
        tests: impl IntoIterator<Item = String>,
    ) -> Values {
        let join = |items: BTreeSet<String>| {
            items
                .iter()
                .map(|i| shell_quote(i))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let files: Vec<String> = files.into_iter().map(|f| shell_quote(&f)).collect();
        let packages: BTreeSet<String> = packages.into_iter().collect();
        Values {
            files: files.join(" "),
            packages: if packages.is_empty() {
                "./...".to_string()
            } else {
                join(packages)
            },
            tests: join(tests.into_iter().collect()),
        }
    }

    /// The commands with the placeholders filled in.
    fn fill(&self, commands: &[String]) -> Vec<String> {
        commands
            .iter()
            .map(|c| {
                fill_placeholders(c, |name| match name {
                    "files" => Some(self.files.clone()),
                    "packages" => Some(self.packages.clone()),
                    "tests" => Some(self.tests.clone()),
                    _ => None,
                })
            })
            .collect()
    }

    /// For a batch of `files` of the graph: its files, and the packages and tests of the files
    /// and of everything depending on them.
    fn of_batch(root: &Path, graph: &Graph, files: &[FileId], paths: Vec<String>) -> Values {
        let all = with_dependents(graph, files);
        let nodes = || all.iter().map(|&f| &graph.files[f]);
        Values::new(
            paths,
            nodes().filter_map(|n| n.language.support().package_target(root, &n.path)),
            nodes().filter_map(|n| n.language.support().test_target(&n.path)),
        )
    }
}

/// The recipe's verify commands filled in for a batch of `files`.
pub fn fill_commands(
    root: &Path,
    graph: &Graph,
    commands: &[String],
    files: &[FileId],
) -> Vec<String> {
    let paths = files.iter().map(|&f| graph.files[f].path.clone()).collect();
    Values::of_batch(root, graph, files, paths).fill(commands)
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
    Values::of_batch(root, graph, &files, paths.to_vec()).fill(commands)
}

/// The recipe's verify commands widened to a whole tree at `root` whose files are `paths`, as
/// `check` and the baseline run them: `{files}` is every source file, `{packages}` every
/// package, `{tests}` every test file run by file.
pub fn fill_whole(root: &Path, paths: &[String], commands: &[String]) -> Vec<String> {
    let sources = || {
        paths
            .iter()
            .filter_map(|p| crate::lang::Language::from_path(Path::new(p)).map(|l| (p, l)))
    };
    Values::new(
        sources().map(|(p, _)| p.clone()),
        sources().filter_map(|(p, l)| l.support().package_target(root, p)),
        sources().filter_map(|(p, l)| l.support().test_target(p)),
    )
    .fill(commands)
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
