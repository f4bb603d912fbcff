//! The formatter and import sorter a Python project configures, run on the files a batch
//! touched: a file that was clean under them before the change is made clean after it, as Go
//! files are with gofmt. Read from `pyproject.toml` (`[tool.black]`, `[tool.ruff.format]`,
//! `[tool.isort]`, ruff's `I` rules), `setup.cfg` (`[isort]`), `.isort.cfg`, `ruff.toml` and
//! `.ruff.toml`, in every folder from the repository's root to the file's. A tool configured but
//! not installed leaves the file as edited, and the batch's report says so.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::lang::Formatted;

/// A tool that rewrites a Python file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    /// isort.
    Isort,
    /// ruff's import sorting (`I` rules).
    RuffIsort,
    /// black.
    Black,
    /// ruff format.
    RuffFormat,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Isort => "isort",
            Tool::RuffIsort => "ruff (isort rules)",
            Tool::Black => "black",
            Tool::RuffFormat => "ruff format",
        }
    }

    /// The program (and its module, for `python3 -m` when the script is not on the PATH).
    fn program(self) -> &'static str {
        match self {
            Tool::Isort => "isort",
            Tool::Black => "black",
            Tool::RuffIsort | Tool::RuffFormat => "ruff",
        }
    }

    fn args(self, path: &str) -> Vec<String> {
        let path = path.to_string();
        match self {
            Tool::Isort => vec!["--filename".into(), path, "-".into()],
            Tool::RuffIsort => vec![
                "check".into(),
                "--select".into(),
                "I".into(),
                "--fix".into(),
                "--exit-zero".into(),
                "--quiet".into(),
                "--stdin-filename".into(),
                path,
                "-".into(),
            ],
            Tool::Black => vec!["-q".into(), "--stdin-filename".into(), path, "-".into()],
            Tool::RuffFormat => vec![
                "format".into(),
                "--quiet".into(),
                "--stdin-filename".into(),
                path,
                "-".into(),
            ],
        }
    }
}

/// The tools configured for `path`, import sorters first, with the file that configures each.
fn configured(root: &Path, path: &str) -> Vec<(Tool, String)> {
    let mut found: Vec<(Tool, String)> = Vec::new();
    let mut add = |tool: Tool, file: String| {
        if !found.iter().any(|(t, _)| *t == tool) {
            found.push((tool, file));
        }
    };
    let mut folders = vec![String::new()];
    let mut acc = String::new();
    if let Some((dir, _)) = path.rsplit_once('/') {
        for part in dir.split('/') {
            acc = if acc.is_empty() {
                part.to_string()
            } else {
                format!("{acc}/{part}")
            };
            folders.push(acc.clone());
        }
    }
    for folder in folders {
        let at = |name: &str| {
            if folder.is_empty() {
                name.to_string()
            } else {
                format!("{folder}/{name}")
            }
        };
        let read = |name: &str| std::fs::read_to_string(root.join(at(name))).ok();
        if let Some(table) = read("pyproject.toml").and_then(|t| t.parse::<toml::Table>().ok())
            && let Some(tool) = table.get("tool").and_then(|t| t.as_table())
        {
            let file = at("pyproject.toml");
            if tool.contains_key("isort") {
                add(Tool::Isort, file.clone());
            }
            if let Some(ruff) = tool.get("ruff").and_then(|r| r.as_table())
                && ruff_sorts_imports(ruff)
            {
                add(Tool::RuffIsort, file.clone());
            }
            if tool.contains_key("black") {
                add(Tool::Black, file.clone());
            }
            if tool
                .get("ruff")
                .and_then(|r| r.as_table())
                .is_some_and(|r| r.contains_key("format"))
            {
                add(Tool::RuffFormat, file);
            }
        }
        for name in ["ruff.toml", ".ruff.toml"] {
            if let Some(ruff) = read(name).and_then(|t| t.parse::<toml::Table>().ok()) {
                if ruff_sorts_imports(&ruff) {
                    add(Tool::RuffIsort, at(name));
                }
                if ruff.contains_key("format") {
                    add(Tool::RuffFormat, at(name));
                }
            }
        }
        if read("setup.cfg").is_some_and(|t| t.lines().any(|l| l.trim() == "[isort]")) {
            add(Tool::Isort, at("setup.cfg"));
        }
        if read(".isort.cfg").is_some() {
            add(Tool::Isort, at(".isort.cfg"));
        }
    }
    let order = |t: &Tool| match t {
        Tool::Isort | Tool::RuffIsort => 0,
        Tool::Black | Tool::RuffFormat => 1,
    };
    found.sort_by_key(|(t, _)| order(t));
    found
}

/// Whether a ruff configuration (a `[tool.ruff]` table or a `ruff.toml`) turns on the import
/// sorting rules: `I` (or `I001`, `ALL`) in `select` / `extend-select`, or an `isort` section.
fn ruff_sorts_imports(ruff: &toml::Table) -> bool {
    let lint = ruff.get("lint").and_then(|l| l.as_table());
    let selects = |t: &toml::Table| {
        ["select", "extend-select"].iter().any(|key| {
            t.get(*key).and_then(|v| v.as_array()).is_some_and(|rules| {
                rules.iter().filter_map(|r| r.as_str()).any(|r| {
                    r == "I" || r == "ALL" || (r.starts_with('I') && r[1..].starts_with('0'))
                })
            })
        })
    };
    selects(ruff)
        || lint.is_some_and(selects)
        || ruff.contains_key("isort")
        || lint.is_some_and(|l| l.contains_key("isort"))
}

/// Run `tool` on `source` at `root`: the rewritten text, `Err(true)` when the tool is not
/// installed, `Err(false)` when it refused the text (a syntax error, say).
fn run(tool: Tool, root: &Path, path: &str, source: &str) -> Result<String, bool> {
    let program = tool.program();
    let attempts: [(&str, Vec<String>); 2] = [
        (program, tool.args(path)),
        (
            "python3",
            [vec!["-m".to_string(), program.to_string()], tool.args(path)].concat(),
        ),
    ];
    for (exe, args) in attempts {
        let child = Command::new(exe)
            .args(&args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            continue;
        };
        let Some(mut stdin) = child.stdin.take() else {
            continue;
        };
        let input = source.to_string();
        // Write from another thread: the tool may fill its output pipe before reading all input.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let Ok(out) = child.wait_with_output() else {
            continue;
        };
        let _ = writer.join();
        if out.status.success() {
            return String::from_utf8(out.stdout).map_err(|_| false);
        }
        // `python3 -m black` without black: "No module named black".
        let missing = String::from_utf8_lossy(&out.stderr).contains("No module named");
        if !missing {
            return Err(false);
        }
    }
    Err(true)
}

/// Whether a tool is installed (asked once per process).
fn installed(tool: Tool, root: &Path) -> bool {
    static KNOWN: OnceLock<Mutex<Vec<(Tool, bool)>>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| Mutex::new(Vec::new()));
    if let Some(&(_, there)) = known
        .lock()
        .ok()
        .and_then(|k| k.iter().find(|(t, _)| *t == tool).copied())
        .as_ref()
    {
        return there;
    }
    let there = run(tool, root, "probe.py", "x = 1\n") != Err(true);
    if let Ok(mut k) = known.lock() {
        k.push((tool, there));
    }
    there
}

/// The configured tools' version of `after`, for each tool under which `before` was clean.
pub(super) fn format(root: &Path, path: &str, before: &str, after: &str) -> Formatted {
    let mut out = Formatted::default();
    let mut text = after.to_string();
    let mut changed = false;
    for (tool, file) in configured(root, path) {
        if !installed(tool, root) {
            out.notes.push(format!(
                "{file} configures {}, which is not installed here: {path} was left as edited (pip install {})",
                tool.name(),
                tool.program()
            ));
            continue;
        }
        if run(tool, root, path, before).as_deref() != Ok(before) {
            continue; // not kept clean by this tool: leave its style alone
        }
        if let Ok(formatted) = run(tool, root, path, &text) {
            changed |= formatted != text;
            text = formatted;
        }
    }
    if changed {
        out.text = Some(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_read_from_every_configuration_file_on_the_way() {
        let dir = tempfile::TempDir::new().expect("temp");
        let root = dir.path();
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.black]\nline-length = 100\n\n[tool.ruff.lint]\nextend-select = [\"E\", \"I\"]\n",
        )
        .expect("pyproject");
        std::fs::create_dir_all(root.join("lib/pkg")).expect("folders");
        std::fs::write(
            root.join("lib/setup.cfg"),
            "[metadata]\nname = x\n\n[isort]\nprofile = black\n",
        )
        .expect("setup.cfg");
        let tools: Vec<(Tool, String)> = configured(root, "lib/pkg/m.py");
        assert_eq!(
            tools,
            [
                (Tool::RuffIsort, "pyproject.toml".to_string()),
                (Tool::Isort, "lib/setup.cfg".to_string()),
                (Tool::Black, "pyproject.toml".to_string()),
            ]
        );
        assert!(
            configured(root, "other.py")
                .iter()
                .all(|(t, _)| *t != Tool::Isort)
        );
        let nothing = tempfile::TempDir::new().expect("temp");
        assert!(configured(nothing.path(), "a.py").is_empty());
    }
}
