//! Edits: what a transform proposes, checked, and then written. Transforms (rules, later the
//! model) only ever produce a [`ChangeSet`]; this module is the only writer of the work tree
//! during a run, and it can put every file back exactly as it was.
//!
//! Checks before anything is written: paths stay inside the repository (no absolute paths, no
//! `..`, nothing under `.git/`), and no changed source file gains syntax errors (tree-sitter
//! re-parse).

pub mod protocol;

use std::path::{Component, Path};

use crate::lang::{self, Language};

/// A replacement of `start..end` (bytes) with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl TextEdit {
    pub fn new(start: usize, end: usize, text: impl Into<String>) -> TextEdit {
        TextEdit {
            start,
            end,
            text: text.into(),
        }
    }
}

/// One file before and after (`None`: the file does not exist on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The files one batch changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<FileChange>,
}

/// Why edits cannot be applied. Each refuses the whole batch; nothing is written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EditError {
    /// Two edits of one file overlap: a transform bug or a conflicting rule; skip the batch.
    #[error("overlapping edits in {path} at bytes {at}")]
    Overlap { path: String, at: usize },
    /// An edit range is outside the file or splits a character; skip the batch.
    #[error(
        "an edit of {path} falls outside the file or inside a character (bytes {start}..{end})"
    )]
    OutOfBounds {
        path: String,
        start: usize,
        end: usize,
    },
    /// The path leaves the repository or touches `.git/`; refuse the batch.
    #[error("refused path `{path}`: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    /// The new text has more syntax errors than the old; refuse the batch.
    #[error("the edit of {path} introduces syntax errors ({before} before, {after} after)")]
    Syntax {
        path: String,
        before: u32,
        after: u32,
    },
    /// The file system refused a write or a restore: stop.
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Apply non-overlapping edits to `source`. Edits may come in any order; identical duplicates
/// are applied once.
pub fn apply_text_edits(
    path: &str,
    source: &str,
    mut edits: Vec<TextEdit>,
) -> Result<String, EditError> {
    edits.sort_by_key(|e| (e.start, e.end));
    edits.dedup();
    let mut out = String::with_capacity(source.len() + 64);
    let mut last = 0;
    for e in &edits {
        if e.start > e.end
            || e.end > source.len()
            || !source.is_char_boundary(e.start)
            || !source.is_char_boundary(e.end)
        {
            return Err(EditError::OutOfBounds {
                path: path.to_string(),
                start: e.start,
                end: e.end,
            });
        }
        if e.start < last {
            return Err(EditError::Overlap {
                path: path.to_string(),
                at: e.start,
            });
        }
        out.push_str(&source[last..e.start]);
        out.push_str(&e.text);
        last = e.end;
    }
    out.push_str(&source[last..]);
    Ok(out)
}

/// Refuse paths that are absolute, climb out with `..`, or point into `.git/`.
pub fn check_path(path: &str) -> Result<(), EditError> {
    let refuse = |reason| {
        Err(EditError::UnsafePath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return refuse("empty path");
    }
    let p = Path::new(path);
    if p.is_absolute() || path.starts_with('/') || path.starts_with('\\') {
        return refuse("absolute paths are not allowed");
    }
    for c in p.components() {
        match c {
            Component::ParentDir => return refuse("`..` leaves the repository"),
            Component::Prefix(_) | Component::RootDir => {
                return refuse("absolute paths are not allowed");
            }
            Component::Normal(n) if n.eq_ignore_ascii_case(".git") => {
                return refuse("git's own files are never edited");
            }
            _ => {}
        }
    }
    Ok(())
}

impl ChangeSet {
    /// Paths of the files that actually change, in order.
    pub fn paths(&self) -> Vec<&str> {
        self.changes.iter().map(|c| c.path.as_str()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Drop changes that change nothing, and sort by path.
    pub fn normalize(mut self) -> ChangeSet {
        self.changes.retain(|c| c.before != c.after);
        self.changes.sort_by(|a, b| a.path.cmp(&b.path));
        self
    }

    /// Files that used CRLF line endings throughout keep them: text the transforms insert
    /// is written with `\n`.
    pub fn keep_line_endings(mut self) -> ChangeSet {
        for c in &mut self.changes {
            let (Some(before), Some(after)) = (&c.before, &c.after) else {
                continue;
            };
            let lines = before.matches('\n').count();
            if lines == 0 || before.matches("\r\n").count() != lines {
                continue;
            }
            c.after = Some(after.replace("\r\n", "\n").replace('\n', "\r\n"));
        }
        self
    }

    /// Check every path, and that no source file gains syntax errors.
    pub fn check(&self) -> Result<(), EditError> {
        for c in &self.changes {
            check_path(&c.path)?;
            let (Some(after), Some(language)) = (&c.after, Language::from_path(Path::new(&c.path)))
            else {
                continue;
            };
            let errors = |text: &str| {
                lang::parse(language, text.as_bytes())
                    .map(|t| crate::facts::count_parse_errors(t.root_node()))
                    .unwrap_or(u32::MAX)
            };
            let before = c.before.as_deref().map(errors).unwrap_or(0);
            let after_errors = errors(after);
            if after_errors > before {
                return Err(EditError::Syntax {
                    path: c.path.clone(),
                    before,
                    after: after_errors,
                });
            }
        }
        Ok(())
    }

    /// Write the new contents (creating folders, deleting files whose `after` is `None`).
    pub fn write(&self, root: &Path) -> Result<(), EditError> {
        for c in &self.changes {
            write_side(root, &c.path, c.after.as_deref())?;
            if c.after.is_none() {
                remove_empty_parents(root, &c.path);
            }
        }
        Ok(())
    }

    /// Put every file back as it was before (the inverse of [`ChangeSet::write`]), removing
    /// folders the change created if they are left empty.
    pub fn restore(&self, root: &Path) -> Result<(), EditError> {
        for c in &self.changes {
            write_side(root, &c.path, c.before.as_deref())?;
            if c.before.is_none() {
                remove_empty_parents(root, &c.path);
            }
        }
        Ok(())
    }

    /// A unified diff of the whole change set, as `git diff` prints it.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let before = c.before.as_deref().unwrap_or("");
            let after = c.after.as_deref().unwrap_or("");
            let (a, b) = (
                if c.before.is_some() {
                    format!("a/{}", c.path)
                } else {
                    "/dev/null".to_string()
                },
                if c.after.is_some() {
                    format!("b/{}", c.path)
                } else {
                    "/dev/null".to_string()
                },
            );
            out.push_str(&format!("diff --git a/{} b/{}\n", c.path, c.path));
            let diff = similar::TextDiff::from_lines(before, after);
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&a, &b)
                    .to_string(),
            );
        }
        out
    }

    /// (files, lines added, lines removed).
    pub fn stats(&self) -> (usize, usize, usize) {
        let mut added = 0;
        let mut removed = 0;
        for c in &self.changes {
            let diff = similar::TextDiff::from_lines(
                c.before.as_deref().unwrap_or(""),
                c.after.as_deref().unwrap_or(""),
            );
            for op in diff.iter_all_changes() {
                match op.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
        }
        (self.changes.len(), added, removed)
    }
}

/// Remove the folders above `path` that are left empty (git does not track folders).
fn remove_empty_parents(root: &Path, path: &str) {
    let mut dir = Path::new(path).parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if std::fs::remove_dir(root.join(d)).is_err() {
            break;
        }
        dir = d.parent();
    }
}

fn write_side(root: &Path, path: &str, content: Option<&str>) -> Result<(), EditError> {
    check_path(path)?;
    // Never write through a symbolic link: a linked folder could lead out of the repository.
    let mut at = root.to_path_buf();
    for part in Path::new(path).components() {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(EditError::UnsafePath {
                path: path.to_string(),
                reason: "it goes through a symbolic link",
            });
        }
    }
    let full = root.join(path);
    let io = |source| EditError::Io {
        path: path.to_string(),
        source,
    };
    match content {
        Some(text) => {
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            // Write through a temporary file and rename, so an interrupted write never leaves
            // half a file behind.
            let tmp = full.with_file_name(format!(
                ".{}.ripple-tmp",
                full.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            std::fs::write(&tmp, text).map_err(io)?;
            if let Ok(meta) = std::fs::metadata(&full) {
                let _ = std::fs::set_permissions(&tmp, meta.permissions());
            }
            std::fs::rename(&tmp, &full).map_err(io)
        }
        None => match std::fs::remove_file(&full) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_any_order_and_refuse_overlaps() {
        let s = "abc def ghi";
        let out = apply_text_edits(
            "x",
            s,
            vec![TextEdit::new(8, 11, "GHI"), TextEdit::new(0, 3, "ABC")],
        )
        .expect("apply");
        assert_eq!(out, "ABC def GHI");
        assert!(matches!(
            apply_text_edits(
                "x",
                s,
                vec![TextEdit::new(0, 5, "x"), TextEdit::new(4, 6, "y")]
            ),
            Err(EditError::Overlap { .. })
        ));
        assert!(matches!(
            apply_text_edits("x", s, vec![TextEdit::new(5, 50, "x")]),
            Err(EditError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            ".git/config",
            "a/.git/hooks/x",
            "",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for good in ["a.py", "src/a/b.go", ".github/workflows/ci.yml", "a/..b/c"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn writes_never_go_through_a_symbolic_link() {
        let root = tempfile::TempDir::new().expect("temp");
        let outside = tempfile::TempDir::new().expect("temp");
        std::os::unix::fs::symlink(outside.path(), root.path().join("linked")).expect("link");
        let set = ChangeSet {
            changes: vec![FileChange {
                path: "linked/evil.py".into(),
                before: None,
                after: Some("x = 1\n".into()),
            }],
        };
        assert!(matches!(
            set.write(root.path()),
            Err(EditError::UnsafePath { .. })
        ));
        assert!(!outside.path().join("evil.py").exists());
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let set = ChangeSet {
            changes: vec![FileChange {
                path: "a.py".into(),
                before: Some("x = 1\r\ny = 2\r\n".into()),
                after: Some("x = 1\r\n\nz = 3\r\ny = 2\r\n".into()),
            }],
        }
        .keep_line_endings();
        assert_eq!(
            set.changes[0].after.as_deref(),
            Some("x = 1\r\n\r\nz = 3\r\ny = 2\r\n")
        );
    }

    #[test]
    fn syntax_errors_are_refused() {
        let set = ChangeSet {
            changes: vec![FileChange {
                path: "a.py".into(),
                before: Some("x = 1\n".into()),
                after: Some("x = (1\n".into()),
            }],
        };
        assert!(matches!(set.check(), Err(EditError::Syntax { .. })));
    }
}
