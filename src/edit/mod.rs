//! Edits: checking a batch's change before anything is written, and writing it. Transforms
//! (rules and the model) only ever produce a [`ChangeSet`]; this module is the only writer of
//! the work tree during a run, and it can put every file back exactly as it was.
//!
//! Checks before anything is written: paths stay inside the repository (no absolute paths, no
//! `..`, nothing under `.git/`), and no changed source file gains syntax errors (tree-sitter
//! re-parse). Writes never go through a symbolic link and replace files atomically.
//! [`protocol`] turns a model's answer into a change.

pub mod protocol;

use std::path::{Component, Path};

use crate::change::{ChangeSet, TextError};
use crate::lang::{self, Language};

/// Why edits cannot be applied. Each refuses the whole batch; nothing is written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EditError {
    /// Text edits that do not apply (overlapping, out of bounds): skip the batch.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The path leaves the repository or touches `.git/`; refuse the batch.
    #[error("refused path `{path}`: {reason}")]
    UnsafePath {
        /// The path the edit names.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The new text has more syntax errors than the old; refuse the batch.
    #[error("the edit of {path} introduces syntax errors ({before} before, {after} after)")]
    Syntax {
        /// The file.
        path: String,
        /// Syntax errors before the edit.
        before: u32,
        /// Syntax errors after it.
        after: u32,
    },
    /// The new text adds an invisible, bidirectional or control character that was not there
    /// (Trojan Source, CVE-2021-42574; zero-width characters; terminal escapes): refuse the
    /// batch. Never retried.
    #[error(
        "{path}:{line}: the change adds {code} ({name}), a character a reviewer cannot see; refused"
    )]
    Invisible {
        /// The file.
        path: String,
        /// 1-based line of its first new occurrence.
        line: usize,
        /// `U+202E`.
        code: String,
        /// What it is.
        name: &'static str,
    },
    /// The file system refused a write or a restore: stop.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why the file system refused.
        source: std::io::Error,
    },
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
    if path.contains('\\') || path.contains(':') {
        return refuse("backslashes and colons name other places on some systems");
    }
    if path.chars().any(|c| c.is_control() || is_invisible(c)) {
        // Some file systems ignore such characters: `.g\u{200C}it` is `.git` on HFS+.
        return refuse("invisible or control characters in a path");
    }
    for c in p.components() {
        match c {
            Component::ParentDir => return refuse("`..` leaves the repository"),
            Component::Prefix(_) | Component::RootDir => {
                return refuse("absolute paths are not allowed");
            }
            Component::Normal(n) => {
                let n = n.to_string_lossy();
                // Windows drops trailing dots and spaces (`.git.`), and 8.3 names alias long
                // ones (`GIT~1`).
                let bare = n.trim_end_matches(['.', ' ']).to_ascii_lowercase();
                if bare == ".git" || bare.starts_with("git~") {
                    return refuse("git's own files are never edited");
                }
                if bare.is_empty() || n.ends_with(' ') {
                    return refuse("a path component that is only dots or ends with a space");
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a character hides from a reader: Unicode format characters (bidi controls and
/// isolates, zero-width characters, the byte-order mark, soft hyphens, tags) and control
/// characters other than tab, line feed and carriage return (terminal escapes among them).
pub(crate) fn is_invisible(c: char) -> bool {
    static FORMAT: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    if c.is_control() {
        return true;
    }
    // Invisible although not format characters: variation selectors (which can hide data
    // after any character), Hangul fillers, the combining grapheme joiner, line and paragraph
    // separators, the blank braille pattern.
    if matches!(
        c,
        '\u{FE00}'..='\u{FE0F}'
            | '\u{E0100}'..='\u{E01EF}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{034F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2800}'
    ) {
        return true;
    }
    FORMAT
        .get_or_init(|| regex::Regex::new(r"^\p{Cf}$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut [0; 4])))
}

/// What an invisible character is, for the refusal.
pub(crate) fn invisible_name(c: char) -> &'static str {
    match c {
        '\u{202A}'..='\u{202E}' => "a bidirectional embedding or override",
        '\u{2066}'..='\u{2069}' => "a bidirectional isolate",
        '\u{200E}' | '\u{200F}' | '\u{061C}' => "a bidirectional mark",
        '\u{200B}'..='\u{200D}' | '\u{2060}' => "a zero-width character",
        '\u{FEFF}' => "a byte-order mark inside the file",
        '\u{1B}' => "an escape character (terminal control sequences)",
        '\r' => "a carriage return without a line feed (it hides the rest of a line in a terminal)",
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => "a variation selector",
        c if c.is_control() => "a control character",
        _ => "an invisible formatting character",
    }
}

fn hidden(text: &str, i: usize, c: char) -> bool {
    (is_invisible(c) && !(i == 0 && c == '\u{FEFF}'))
        || (c == '\r' && !text[i + 1..].starts_with('\n'))
}

/// How many of each hiding character a text holds.
fn hidden_counts(text: &str) -> std::collections::HashMap<char, usize> {
    let mut counts: std::collections::HashMap<char, usize> = Default::default();
    for (i, c) in text.char_indices() {
        if hidden(text, i, c) {
            *counts.entry(c).or_default() += 1;
        }
    }
    counts
}

/// The first hiding character (invisible, control, a lone carriage return) `after` has more of
/// than `before` (a byte-order mark at the very start of a file does not count), with its
/// 1-based line.
pub(crate) fn introduced_invisible(before: Option<&str>, after: &str) -> Option<(usize, char)> {
    let old = before.map(hidden_counts).unwrap_or_default();
    introduced_beyond(&old, after)
}

fn introduced_beyond(
    old: &std::collections::HashMap<char, usize>,
    after: &str,
) -> Option<(usize, char)> {
    let count = hidden_counts;
    let new = count(after);
    let added: Vec<char> = new
        .iter()
        .filter(|(c, n)| old.get(c).copied().unwrap_or(0) < **n)
        .map(|(c, _)| *c)
        .collect();
    if added.is_empty() {
        return None;
    }
    // The first occurrence past as many as there were before: where the new one most likely is.
    let mut seen: std::collections::HashMap<char, usize> = Default::default();
    let (at, c) = after.char_indices().find(|&(i, c)| {
        if !added.contains(&c) || !hidden(after, i, c) {
            return false;
        }
        let n = seen.entry(c).or_default();
        *n += 1;
        *n > old.get(&c).copied().unwrap_or(0)
    })?;
    Some((after[..at].matches('\n').count() + 1, c))
}

/// Check every path, that no file gains invisible or control characters, and that no source
/// file gains syntax errors.
pub fn check(changes: &ChangeSet) -> Result<(), EditError> {
    // A file created by the change may be another one moved: what the deleted files held is
    // its baseline.
    let mut deleted: std::collections::HashMap<char, usize> = Default::default();
    for c in changes.changes.iter().filter(|c| c.after.is_none()) {
        for (ch, n) in hidden_counts(c.before.as_deref().unwrap_or("")) {
            *deleted.entry(ch).or_default() += n;
        }
    }
    for c in &changes.changes {
        check_path(&c.path)?;
        let found = match (&c.before, &c.after) {
            (_, None) => None,
            (Some(before), Some(after)) => introduced_invisible(Some(before), after),
            (None, Some(after)) => introduced_beyond(&deleted, after),
        };
        if let Some((line, ch)) = found {
            return Err(EditError::Invisible {
                path: c.path.clone(),
                line,
                code: format!("U+{:04X}", ch as u32),
                name: invisible_name(ch),
            });
        }
        let (Some(after), Some(language)) = (&c.after, Language::from_path(Path::new(&c.path)))
        else {
            continue;
        };
        let errors = |text: &str| {
            lang::parse(language, text.as_bytes())
                .map(|t| lang::count_parse_errors(t.root_node()))
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
pub fn write(root: &Path, changes: &ChangeSet) -> Result<(), EditError> {
    for c in &changes.changes {
        write_side(root, &c.path, c.after.as_deref())?;
        invalidate_caches(root, &c.path);
        if c.after.is_none() {
            remove_empty_parents(root, &c.path);
        }
    }
    Ok(())
}

/// Put every file back as it was before (the inverse of [`fn@write`]), removing
/// folders the change created if they are left empty.
pub fn restore(root: &Path, changes: &ChangeSet) -> Result<(), EditError> {
    for c in &changes.changes {
        write_side(root, &c.path, c.before.as_deref())?;
        invalidate_caches(root, &c.path);
        if c.before.is_none() {
            remove_empty_parents(root, &c.path);
        }
    }
    Ok(())
}

/// Whatever a language caches from `path` goes with the old text: verification must see the
/// tree as it is now (see [`lang::Support::invalidate_caches`]).
fn invalidate_caches(root: &Path, path: &str) {
    if let Some(language) = Language::from_path(Path::new(path)) {
        language.support().invalidate_caches(root, path);
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
            // half a file behind. The temporary file gets a fresh random name and is created
            // exclusively (O_EXCL): a link planted by the repository can never be written
            // through.
            let parent = full.parent().unwrap_or(root);
            let mut tmp = tempfile::Builder::new()
                .prefix(".ripple-")
                .suffix(".tmp")
                .tempfile_in(parent)
                .map_err(io)?;
            {
                use std::io::Write;
                tmp.write_all(text.as_bytes()).map_err(io)?;
            }
            if let Ok(meta) = std::fs::symlink_metadata(&full)
                && meta.is_file()
            {
                tmp.as_file()
                    .set_permissions(meta.permissions())
                    .map_err(io)?;
            }
            tmp.persist(&full).map_err(|e| io(e.error))?;
            Ok(())
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
    use crate::change::FileChange;

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            ".git/config",
            ".git./config",
            ".GIT /config",
            "GIT~1/config",
            ".g\u{200C}it/config",
            "a\\..\\..\\x",
            "C:/x",
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
            write(root.path(), &set),
            Err(EditError::UnsafePath { .. })
        ));
        assert!(!outside.path().join("evil.py").exists());
    }

    #[test]
    fn invisible_characters_are_refused_unless_already_there() {
        let change = |before: Option<&str>, after: &str| ChangeSet {
            changes: vec![FileChange {
                path: "a.py".into(),
                before: before.map(str::to_string),
                after: Some(after.to_string()),
            }],
        };
        for (after, code) in [
            ("s = \"admin\u{202E} \u{2066}\"\n", "U+202E"),
            ("# note\u{200B}\nx = 1\n", "U+200B"),
            ("x = 1\n\u{FEFF}y = 2\n", "U+FEFF"),
            ("# \u{1b}[31mred\u{1b}[0m\n", "U+001B"),
        ] {
            match check(&change(Some("x = 1\n"), after)) {
                Err(EditError::Invisible { code: c, .. }) => assert_eq!(c, code, "{after:?}"),
                other => panic!("{after:?}: {other:?}"),
            }
        }
        // Already there, at the start of a file, or ordinary non-ASCII text: fine.
        let kept = "s = \"\u{202E}\"\n";
        assert!(check(&change(Some(kept), &format!("{kept}y = 2\n"))).is_ok());
        assert!(check(&change(Some("\u{FEFF}x = 1\n"), "\u{FEFF}x = 2\n")).is_ok());
        assert!(
            check(&change(
                Some("x = 1\n"),
                "# café, naïve, 日本語, emoji 🎉\nx = 1\n"
            ))
            .is_ok()
        );
        assert!(check(&change(None, "\u{FEFF}x = 1\n")).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_never_written_through() {
        let root = tempfile::TempDir::new().expect("temp");
        let outside = tempfile::TempDir::new().expect("temp");
        std::fs::create_dir_all(root.path().join("src")).expect("dir");
        std::fs::write(root.path().join("src/a.py"), "x = 1\n").expect("write");
        // Every name the old temporary file could have had, pointing outside.
        for name in [".a.py.ripple-tmp", ".ripple-tmp"] {
            std::os::unix::fs::symlink(
                outside.path().join("owned"),
                root.path().join("src").join(name),
            )
            .expect("link");
        }
        let set = ChangeSet {
            changes: vec![FileChange {
                path: "src/a.py".into(),
                before: Some("x = 1\n".into()),
                after: Some("x = 2\n".into()),
            }],
        };
        write(root.path(), &set).expect("write");
        assert_eq!(
            std::fs::read_to_string(root.path().join("src/a.py")).expect("read"),
            "x = 2\n"
        );
        assert!(
            !outside.path().join("owned").exists(),
            "nothing written outside"
        );
    }

    #[test]
    fn lone_carriage_returns_and_moves() {
        let one = |before: Option<&str>, after: &str| ChangeSet {
            changes: vec![FileChange {
                path: "a.py".into(),
                before: before.map(str::to_string),
                after: Some(after.to_string()),
            }],
        };
        assert!(matches!(
            check(&one(Some("x = 1\n"), "evil()\r# harmless\nx = 1\n")),
            Err(EditError::Invisible { .. })
        ));
        assert!(
            check(&one(Some("x = 1\r\n"), "x = 2\r\n")).is_ok(),
            "CRLF is fine"
        );
        // A moved file keeps what it had.
        let moved = ChangeSet {
            changes: vec![
                FileChange {
                    path: "a.py".into(),
                    before: Some("s = \"\u{202E}\"\n".into()),
                    after: None,
                },
                FileChange {
                    path: "b.py".into(),
                    before: None,
                    after: Some("s = \"\u{202E}\"\n".into()),
                },
            ],
        };
        assert!(check(&moved).is_ok());
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
        assert!(matches!(check(&set), Err(EditError::Syntax { .. })));
    }
}
