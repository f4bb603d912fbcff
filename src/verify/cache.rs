//! Verification results remembered by what decides them: the tree, the command exactly as run
//! and the toolchains' versions. A reworded or rebased commit with the same tree, a second
//! `check`, a baseline already seen, a parent tree judged before: none runs a command again.
//!
//! Results live under `.git/ripple/verified/<key>.json`, one small file each (the output's tail
//! kept for failures), written atomically.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::CommandResult;

/// Output kept with a cached result: enough for a report's tail and a model's repair.
const KEPT_OUTPUT: usize = 32 * 1024;

/// The versions of the toolchains verify commands use (`go version`, the Python interpreters'),
/// part of every key: a new Go release may judge the same tree differently.
pub fn toolchains() -> String {
    static VERSIONS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSIONS
        .get_or_init(|| {
            let version = |program: &str, arg: &str| {
                Command::new(program)
                    .arg(arg)
                    .stdin(Stdio::null())
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| {
                        // Python 2 printed its version on stderr.
                        let text = [o.stdout, o.stderr].concat();
                        String::from_utf8_lossy(&text).trim().to_string()
                    })
                    .unwrap_or_else(|| "none".to_string())
            };
            format!(
                "go: {}\npython3: {}\npython: {}",
                version("go", "version"),
                version("python3", "--version"),
                version("python", "--version"),
            )
        })
        .clone()
}

/// A cached result: the command's result and the tail of what it printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    tree: String,
    result: CommandResult,
    output: String,
}

/// The results under one repository's `.git/ripple/verified/`.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
    toolchains: String,
}

impl ResultCache {
    /// The cache of the repository whose git folder is `git_dir`.
    pub fn open(git_dir: &Path) -> ResultCache {
        ResultCache {
            dir: git_dir.join("ripple").join("verified"),
            toolchains: toolchains(),
        }
    }

    fn key(&self, tree: &str, command: &str) -> String {
        crate::change::blob_id(
            format!("tree {tree}\ncommand {command}\n{}\n", self.toolchains).as_bytes(),
        )
    }

    fn path(&self, tree: &str, command: &str) -> PathBuf {
        self.dir.join(format!("{}.json", self.key(tree, command)))
    }

    /// What `command` did on `tree` before, if it ran there with these toolchains.
    pub fn get(&self, tree: &str, command: &str) -> Option<CommandResult> {
        let text = std::fs::read_to_string(self.path(tree, command)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.tree == tree && entry.result.command == command).then(|| {
            let mut result = entry.result;
            result.output = entry.output;
            result
        })
    }

    /// What `command` did on `tree`: from the cache (`true`), or by `run` now, kept for next
    /// time (`false`).
    pub fn get_or_run<E>(
        &self,
        tree: &str,
        command: &str,
        run: impl FnOnce() -> Result<CommandResult, E>,
    ) -> Result<(CommandResult, bool), E> {
        if let Some(hit) = self.get(tree, command) {
            return Ok((hit, true));
        }
        let result = run()?;
        self.put(tree, &result);
        Ok((result, false))
    }

    /// Remember what `command` did on `tree`. Interrupted and timed-out runs say nothing about
    /// the tree and are not kept; a failure to write only costs a later rerun.
    pub fn put(&self, tree: &str, result: &CommandResult) {
        if result.interrupted || result.timed_out {
            return;
        }
        let output = if result.output.len() > KEPT_OUTPUT {
            let mut cut = result.output.len() - KEPT_OUTPUT;
            while !result.output.is_char_boundary(cut) {
                cut += 1;
            }
            result.output[cut..].to_string()
        } else {
            result.output.clone()
        };
        let entry = Entry {
            tree: tree.to_string(),
            result: result.clone(),
            output,
        };
        let Ok(text) = serde_json::to_vec_pretty(&entry) else {
            return;
        };
        let path = self.path(tree, &result.command);
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let Ok(mut file) = tempfile::NamedTempFile::new_in(&self.dir) else {
            return;
        };
        use std::io::Write;
        if file.write_all(&text).is_ok() {
            let _ = file.persist(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(command: &str, success: bool) -> CommandResult {
        CommandResult {
            command: command.to_string(),
            success,
            exit_code: Some(if success { 0 } else { 1 }),
            timed_out: false,
            interrupted: false,
            duration_ms: 5,
            summary: "ok".to_string(),
            output: "all good\n".to_string(),
        }
    }

    #[test]
    fn keyed_by_tree_and_command() {
        let git = tempfile::TempDir::new().expect("temp");
        let cache = ResultCache::open(git.path());
        assert!(cache.get("t1", "go test ./...").is_none());
        cache.put("t1", &result("go test ./...", true));
        let hit = cache.get("t1", "go test ./...").expect("cached");
        assert!(hit.success);
        assert_eq!(hit.output, "all good\n");
        assert!(cache.get("t2", "go test ./...").is_none());
        assert!(cache.get("t1", "go vet ./...").is_none());
        let mut stopped = result("pytest", false);
        stopped.interrupted = true;
        cache.put("t1", &stopped);
        assert!(cache.get("t1", "pytest").is_none(), "interrupted: not kept");
    }
}
