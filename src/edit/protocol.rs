//! The edit protocol a model answers in: SEARCH/REPLACE blocks, or the apply_patch envelope
//! codex-class models use. Parsing is strict; applying looks for the exact text first and
//! falls back to ignoring whitespace at the ends of lines only, saying so in a note.
//!
//! SEARCH/REPLACE grammar (fences around a block are allowed and ignored):
//!
//! ```text
//! path/to/file.py
//! <<<<<<< SEARCH
//! exact current lines (empty: create the file)
//! =======
//! new lines
//! >>>>>>> REPLACE
//! ```
//!
//! apply_patch grammar:
//!
//! ```text
//! *** Begin Patch
//! *** Update File: path        (optionally followed by *** Move to: new/path)
//! @@ optional anchor line
//!  context line
//! -removed line
//! +added line
//! *** Add File: path           (every following line starts with +)
//! *** Delete File: path
//! *** End Patch
//! ```
//!
//! An answer is all or nothing: if any block is malformed, names a file it may not touch or
//! does not apply, nothing from it is applied. The model proposes text; nothing here runs it.

use std::collections::BTreeMap;

use super::{EditError, check_path};
use crate::change::{ChangeSet, FileChange};

/// Answers larger than this are refused outright.
pub const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// One edit the answer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEdit {
    /// Replace `search` (exact lines; empty creates the file) with `replace`.
    SearchReplace {
        /// The file.
        path: String,
        /// The exact current lines (empty: append or create).
        search: String,
        /// What takes their place.
        replace: String,
        /// Where the block starts in the answer (errors name it).
        line: usize,
    },
    /// apply_patch `*** Update File` hunks, each (old lines, new lines, anchor).
    Update {
        /// The file.
        path: String,
        /// `*** Move to:`, if the file is renamed.
        move_to: Option<String>,
        /// The hunks, in file order.
        hunks: Vec<Hunk>,
        /// Where the update starts in the answer.
        line: usize,
    },
    /// `*** Add File`: a new file.
    Add {
        /// The file.
        path: String,
        /// Its text.
        content: String,
        /// Where it starts in the answer.
        line: usize,
    },
    /// `*** Delete File`.
    Delete {
        /// The file.
        path: String,
        /// Where it is in the answer.
        line: usize,
    },
}

/// One `@@` hunk of an apply_patch update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The `@@` line's text, which the hunk is sought after.
    pub anchor: Option<String>,
    /// The lines replaced (context and `-`).
    pub old: Vec<String>,
    /// The lines that replace them (context and `+`).
    pub new: Vec<String>,
}

impl FileEdit {
    fn path(&self) -> &str {
        match self {
            FileEdit::SearchReplace { path, .. }
            | FileEdit::Update { path, .. }
            | FileEdit::Add { path, .. }
            | FileEdit::Delete { path, .. } => path,
        }
    }

    fn line(&self) -> usize {
        match self {
            FileEdit::SearchReplace { line, .. }
            | FileEdit::Update { line, .. }
            | FileEdit::Add { line, .. }
            | FileEdit::Delete { line, .. } => *line,
        }
    }
}

/// Why an answer is refused. The batch gets a repair round or fails; nothing is applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProtocolError {
    /// An answer over [`MAX_ANSWER_BYTES`]: never looked at.
    #[error("the answer is {size} bytes, over the {MAX_ANSWER_BYTES} byte limit")]
    TooLarge {
        /// The answer's size in bytes.
        size: usize,
    },
    #[error("the answer has no edits (no SEARCH/REPLACE block and no *** Begin Patch)")]
    /// The answer has no edit blocks at all.
    NoEdits,
    /// A block or patch that does not follow the grammar.
    #[error("line {line}: {message}")]
    Malformed {
        /// The line in the answer.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An edit of a file that is not the batch's (nor a new file the step allows).
    #[error("line {line}: {path} is not one of the batch's files")]
    OutsideBatch {
        /// The line in the answer.
        line: usize,
        /// The path outside the batch.
        path: String,
    },
    /// A path that leaves the repository or names `.git`.
    #[error("line {line}: {source}")]
    Path {
        /// The line in the answer.
        line: usize,
        /// Why the path is refused.
        source: EditError,
    },
    /// A SEARCH text (or a hunk) that is not in the file.
    #[error("line {line}: the SEARCH text for {path} is not in the file")]
    NotFound {
        /// The line in the answer.
        line: usize,
        /// The file.
        path: String,
    },
    #[error("line {line}: the SEARCH text for {path} matches {count} places; include more lines")]
    /// A SEARCH text matches more than once.
    Ambiguous {
        /// Where the block starts in the answer.
        line: usize,
        /// The file.
        path: String,
        /// How many times it matches.
        count: usize,
    },
    /// New content with NUL bytes.
    #[error("line {line}: {path} contains binary data")]
    Binary {
        /// The line in the answer.
        line: usize,
        /// The file.
        path: String,
    },
}

/// Parse a model's answer into edits, whichever of the two formats it uses.
pub fn parse_answer(answer: &str) -> Result<Vec<FileEdit>, ProtocolError> {
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(ProtocolError::TooLarge { size: answer.len() });
    }
    let edits = if answer.lines().any(|l| l.trim() == "*** Begin Patch") {
        parse_patch(answer)?
    } else {
        parse_search_replace(answer)?
    };
    if edits.is_empty() {
        return Err(ProtocolError::NoEdits);
    }
    Ok(edits)
}

fn malformed(line: usize, message: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed {
        line,
        message: message.into(),
    }
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

fn parse_search_replace(answer: &str) -> Result<Vec<FileEdit>, ProtocolError> {
    let lines: Vec<&str> = answer.lines().collect();
    let mut edits = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "<<<<<<< SEARCH" {
            i += 1;
            continue;
        }
        let start = i + 1;
        // The path: the closest non-empty, non-fence line above; right after another block,
        // the same file as that block.
        let above = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !is_fence(l));
        let path = match above {
            Some(">>>>>>> REPLACE") => edits.last().map(|e: &FileEdit| e.path().to_string()),
            Some(l) => Some(
                l.trim_matches(['`', '*'])
                    .trim_end_matches(':')
                    .trim()
                    .to_string(),
            ),
            None => None,
        }
        .filter(|p| !p.is_empty() && !p.contains(char::is_whitespace))
        .ok_or_else(|| {
            malformed(
                start,
                "a SEARCH block without a file path on the line above",
            )
        })?;
        let mut j = i + 1;
        let mut search = Vec::new();
        while j < lines.len() && lines[j].trim_end() != "=======" {
            if lines[j].trim_end() == "<<<<<<< SEARCH" || lines[j].trim_end() == ">>>>>>> REPLACE" {
                return Err(malformed(j + 1, "expected ======= before this line"));
            }
            search.push(lines[j]);
            j += 1;
        }
        if j == lines.len() {
            return Err(malformed(start, "a SEARCH block without ======="));
        }
        j += 1;
        let mut replace = Vec::new();
        while j < lines.len() && lines[j].trim_end() != ">>>>>>> REPLACE" {
            if lines[j].trim_end() == "<<<<<<< SEARCH" || lines[j].trim_end() == "=======" {
                return Err(malformed(
                    j + 1,
                    "expected >>>>>>> REPLACE before this line",
                ));
            }
            replace.push(lines[j]);
            j += 1;
        }
        if j == lines.len() {
            return Err(malformed(start, "a SEARCH block without >>>>>>> REPLACE"));
        }
        edits.push(FileEdit::SearchReplace {
            path,
            search: join_lines(&search),
            replace: join_lines(&replace),
            line: start,
        });
        i = j + 1;
    }
    Ok(edits)
}

fn join_lines(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn parse_patch(answer: &str) -> Result<Vec<FileEdit>, ProtocolError> {
    let lines: Vec<&str> = answer.lines().collect();
    let begin = lines
        .iter()
        .position(|l| l.trim() == "*** Begin Patch")
        .ok_or_else(|| malformed(1, "no *** Begin Patch"))?;
    let end = lines
        .iter()
        .rposition(|l| l.trim() == "*** End Patch")
        .ok_or_else(|| malformed(begin + 1, "*** Begin Patch without *** End Patch"))?;
    let mut edits = Vec::new();
    let mut i = begin + 1;
    while i < end {
        let line = lines[i];
        let n = i + 1;
        if let Some(path) = line.strip_prefix("*** Add File: ") {
            let mut content = String::new();
            i += 1;
            while i < end && !lines[i].starts_with("*** ") {
                let Some(text) = lines[i].strip_prefix('+') else {
                    return Err(malformed(
                        i + 1,
                        "every line of an added file starts with +",
                    ));
                };
                content.push_str(text);
                content.push('\n');
                i += 1;
            }
            edits.push(FileEdit::Add {
                path: path.trim().to_string(),
                content,
                line: n,
            });
        } else if let Some(path) = line.strip_prefix("*** Delete File: ") {
            edits.push(FileEdit::Delete {
                path: path.trim().to_string(),
                line: n,
            });
            i += 1;
        } else if let Some(path) = line.strip_prefix("*** Update File: ") {
            i += 1;
            let mut move_to = None;
            if i < end
                && let Some(to) = lines[i].strip_prefix("*** Move to: ")
            {
                move_to = Some(to.trim().to_string());
                i += 1;
            }
            let mut hunks: Vec<Hunk> = Vec::new();
            let mut current: Option<Hunk> = None;
            while i < end && (!lines[i].starts_with("*** ") || lines[i] == "*** End of File") {
                let l = lines[i];
                if l == "*** End of File" {
                    i += 1;
                    continue;
                }
                if let Some(anchor) = l.strip_prefix("@@") {
                    if let Some(h) = current.take() {
                        hunks.push(h);
                    }
                    let anchor = anchor.trim();
                    current = Some(Hunk {
                        anchor: (!anchor.is_empty()).then(|| anchor.to_string()),
                        old: Vec::new(),
                        new: Vec::new(),
                    });
                    i += 1;
                    continue;
                }
                let h = current.get_or_insert_with(|| Hunk {
                    anchor: None,
                    old: Vec::new(),
                    new: Vec::new(),
                });
                match l.chars().next() {
                    Some(' ') => {
                        h.old.push(l[1..].to_string());
                        h.new.push(l[1..].to_string());
                    }
                    Some('-') => h.old.push(l[1..].to_string()),
                    Some('+') => h.new.push(l[1..].to_string()),
                    None => {
                        // A blank context line (some models drop the leading space).
                        h.old.push(String::new());
                        h.new.push(String::new());
                    }
                    Some(_) => {
                        return Err(malformed(i + 1, "a hunk line starts with ' ', '-' or '+'"));
                    }
                }
                i += 1;
            }
            if let Some(h) = current.take() {
                hunks.push(h);
            }
            if hunks.is_empty() && move_to.is_none() {
                return Err(malformed(n, "an update without hunks"));
            }
            edits.push(FileEdit::Update {
                path: path.trim().to_string(),
                move_to,
                hunks,
                line: n,
            });
        } else if line.trim().is_empty() {
            i += 1;
        } else {
            return Err(malformed(
                n,
                format!("unexpected line in a patch: {line:?}"),
            ));
        }
    }
    Ok(edits)
}

/// Where edits may go: the batch's files, plus new files under allowed globs.
pub struct Scope<'a> {
    /// The batch's files: the only existing files an answer may edit.
    pub files: &'a [String],
    /// Whether a path may be created (the step's `new_files` globs).
    pub allow_new: &'a dyn Fn(&str) -> bool,
}

/// Apply parsed edits to the batch's current texts. Returns the change set and notes (fuzzy
/// matches). All or nothing.
pub fn apply_edits(
    edits: &[FileEdit],
    scope: &Scope<'_>,
    current: &dyn Fn(&str) -> Option<String>,
) -> Result<(ChangeSet, Vec<String>), ProtocolError> {
    let mut texts: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut notes = Vec::new();
    for edit in edits {
        let line = edit.line();
        let path = edit.path().to_string();
        let mut touched = vec![path.clone()];
        if let FileEdit::Update {
            move_to: Some(to), ..
        } = edit
        {
            touched.push(to.clone());
        }
        for p in &touched {
            check_path(p).map_err(|source| ProtocolError::Path { line, source })?;
        }
        let in_batch = |p: &str| scope.files.iter().any(|f| f == p);
        let entry = texts.entry(path.clone()).or_insert_with(|| {
            let now = current(&path);
            (now.clone(), now)
        });
        let creates = matches!(edit, FileEdit::Add { .. })
            || matches!(edit, FileEdit::SearchReplace { search, .. } if search.is_empty())
                && entry.1.is_none();
        let allowed = in_batch(&path) || creates && (scope.allow_new)(&path);
        if !allowed {
            return Err(ProtocolError::OutsideBatch { line, path });
        }
        match edit {
            FileEdit::Add { content, .. } => entry.1 = Some(content.clone()),
            FileEdit::Delete { .. } => entry.1 = None,
            FileEdit::SearchReplace {
                search, replace, ..
            } => {
                let text = entry.1.clone().unwrap_or_default();
                if search.is_empty() {
                    entry.1 = Some(if text.is_empty() {
                        replace.clone()
                    } else {
                        format!("{text}{replace}")
                    });
                } else {
                    let (at, len, fuzzy) = locate(&text, search, 0, &path, line)?;
                    if fuzzy {
                        notes.push(format!(
                            "{path}: the SEARCH block at line {line} matched only when ignoring whitespace at line ends"
                        ));
                    }
                    entry.1 = Some(format!("{}{replace}{}", &text[..at], &text[at + len..]));
                }
            }
            FileEdit::Update { hunks, move_to, .. } => {
                let mut text = entry.1.clone().ok_or_else(|| ProtocolError::NotFound {
                    line,
                    path: path.clone(),
                })?;
                let mut from = 0;
                for h in hunks {
                    if let Some(anchor) = &h.anchor
                        && let Some(i) = text[from..].find(anchor.as_str())
                    {
                        from += i;
                    }
                    let old = h.old.iter().map(|l| format!("{l}\n")).collect::<String>();
                    let new = h.new.iter().map(|l| format!("{l}\n")).collect::<String>();
                    if old.is_empty() {
                        text.push_str(&new);
                        continue;
                    }
                    let (at, len, fuzzy) = locate(&text, &old, from, &path, line)?;
                    if fuzzy {
                        notes.push(format!(
                            "{path}: a hunk at line {line} matched only when ignoring whitespace at line ends"
                        ));
                    }
                    text = format!("{}{new}{}", &text[..at], &text[at + len..]);
                    from = at + new.len();
                }
                if let Some(to) = move_to {
                    let allowed = in_batch(to) || (scope.allow_new)(to);
                    if !allowed {
                        return Err(ProtocolError::OutsideBatch {
                            line,
                            path: to.clone(),
                        });
                    }
                    entry.1 = None;
                    let target = texts
                        .entry(to.clone())
                        .or_insert_with(|| (current(to), None));
                    target.1 = Some(text);
                } else {
                    entry.1 = Some(text);
                }
            }
        }
    }
    let mut changes = ChangeSet::default();
    for (path, (before, after)) in texts {
        if after.as_deref().is_some_and(|t| t.contains('\0')) {
            return Err(ProtocolError::Binary { line: 0, path });
        }
        changes.changes.push(FileChange {
            path,
            before,
            after,
        });
    }
    Ok((changes.normalize(), notes))
}

/// Find `needle` in `text` at or after `from`: exactly (it must be unique), else comparing
/// lines with whitespace at their ends ignored. Returns (offset, length in `text`, fuzzy).
fn locate(
    text: &str,
    needle: &str,
    from: usize,
    path: &str,
    line: usize,
) -> Result<(usize, usize, bool), ProtocolError> {
    let exact: Vec<usize> = text[from..]
        .match_indices(needle)
        .map(|(i, _)| from + i)
        .collect();
    match exact.len() {
        1 => return Ok((exact[0], needle.len(), false)),
        n if n > 1 => {
            return Err(ProtocolError::Ambiguous {
                line,
                path: path.to_string(),
                count: n,
            });
        }
        _ => {}
    }
    // Whitespace-relaxed: compare line by line with both ends trimmed.
    let want: Vec<&str> = needle.lines().map(str::trim).collect();
    let mut starts = Vec::new();
    let mut offset = 0;
    let hay: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .map(|l| {
            let at = offset;
            offset += l.len();
            (at, l)
        })
        .collect();
    for w in 0..hay.len() {
        if hay[w].0 < from || w + want.len() > hay.len() {
            continue;
        }
        if hay[w..w + want.len()]
            .iter()
            .zip(&want)
            .all(|((_, l), n)| l.trim() == *n)
        {
            starts.push(w);
        }
    }
    match starts.as_slice() {
        [w] => {
            let at = hay[*w].0;
            let end = hay[w + want.len() - 1].0 + hay[w + want.len() - 1].1.len();
            Ok((at, end - at, true))
        }
        [] => Err(ProtocolError::NotFound {
            line,
            path: path.to_string(),
        }),
        many => Err(ProtocolError::Ambiguous {
            line,
            path: path.to_string(),
            count: many.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_of(files: &[String]) -> Scope<'_> {
        Scope {
            files,
            allow_new: &|p: &str| p.starts_with("new/"),
        }
    }

    const QUERIES: &str =
        "def fetch_order(order_id):\n    return get(order_id)\n\n\ndef other():\n    pass\n";

    fn current(path: &str) -> Option<String> {
        (path == "src/queries.py").then(|| QUERIES.to_string())
    }

    #[test]
    fn search_replace_blocks_with_fences() {
        let answer = "I renamed it.\n\nsrc/queries.py\n```python\n<<<<<<< SEARCH\ndef fetch_order(order_id):\n=======\ndef load_order(order_id):\n>>>>>>> REPLACE\n```\n";
        let edits = parse_answer(answer).expect("parse");
        assert_eq!(edits.len(), 1);
        let files = vec!["src/queries.py".to_string()];
        let (changes, notes) = apply_edits(&edits, &scope_of(&files), &current).expect("apply");
        assert!(notes.is_empty());
        assert_eq!(
            changes.changes[0].after.as_deref(),
            Some(
                QUERIES
                    .replace("def fetch_order", "def load_order")
                    .as_str()
            )
        );
    }

    #[test]
    fn whitespace_differences_match_with_a_note() {
        let answer = "src/queries.py\n<<<<<<< SEARCH\ndef fetch_order(order_id):   \n  return get(order_id)\n=======\ndef load_order(order_id):\n    return get(order_id)\n>>>>>>> REPLACE\n";
        let edits = parse_answer(answer).expect("parse");
        let files = vec!["src/queries.py".to_string()];
        let (changes, notes) = apply_edits(&edits, &scope_of(&files), &current).expect("apply");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            changes.changes[0]
                .after
                .as_deref()
                .is_some_and(|t| t.starts_with("def load_order"))
        );
    }

    #[test]
    fn consecutive_blocks_reuse_the_path() {
        let answer = "src/queries.py\n<<<<<<< SEARCH\ndef fetch_order(order_id):\n=======\ndef load_order(order_id):\n>>>>>>> REPLACE\n<<<<<<< SEARCH\ndef other():\n=======\ndef another():\n>>>>>>> REPLACE\n";
        let edits = parse_answer(answer).expect("parse");
        assert_eq!(edits.len(), 2);
        let files = vec!["src/queries.py".to_string()];
        let (changes, _) = apply_edits(&edits, &scope_of(&files), &current).expect("apply");
        let after = changes.changes[0].after.as_deref().expect("text");
        assert!(after.contains("def load_order") && after.contains("def another"));
        assert!(
            parse_answer("Here you go:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n").is_err()
        );
    }

    #[test]
    fn apply_patch_envelope() {
        let answer = "*** Begin Patch\n*** Update File: src/queries.py\n@@\n-def fetch_order(order_id):\n+def load_order(order_id):\n     return get(order_id)\n*** Add File: new/notes.md\n+renamed\n*** End Patch\n";
        let edits = parse_answer(answer).expect("parse");
        assert_eq!(edits.len(), 2);
        let files = vec!["src/queries.py".to_string()];
        let (changes, _) = apply_edits(&edits, &scope_of(&files), &current).expect("apply");
        assert_eq!(changes.changes.len(), 2);
        assert_eq!(changes.changes[0].after.as_deref(), Some("renamed\n"));
        assert!(
            changes.changes[1]
                .after
                .as_deref()
                .is_some_and(|t| t.starts_with("def load_order"))
        );
    }

    #[test]
    fn refusals() {
        let files = vec!["src/queries.py".to_string()];
        let refuse = |answer: &str| {
            parse_answer(answer).and_then(|e| apply_edits(&e, &scope_of(&files), &current))
        };
        for (answer, what) in [
            (
                "../etc/passwd\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n",
                "climbs out",
            ),
            (
                "/etc/passwd\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n",
                "absolute",
            ),
            (
                ".git/hooks/pre-commit\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n",
                "git dir",
            ),
            (
                "src/other.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n",
                "outside the batch",
            ),
            (
                "src/queries.py\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n",
                "not found",
            ),
            ("src/queries.py\n<<<<<<< SEARCH\n    pass\n", "unterminated"),
            ("Sure! Run `rm -rf /` first.", "no edits"),
        ] {
            assert!(refuse(answer).is_err(), "{what}: {answer:?}");
        }
        let ambiguous = "src/queries.py\n<<<<<<< SEARCH\n\n=======\nx\n>>>>>>> REPLACE\n";
        assert!(matches!(
            refuse(ambiguous),
            Err(ProtocolError::Ambiguous { .. })
        ));
        let big = "x".repeat(MAX_ANSWER_BYTES + 1);
        assert!(matches!(
            parse_answer(&big),
            Err(ProtocolError::TooLarge { .. })
        ));
        let binary = "new/blob.bin\n<<<<<<< SEARCH\n=======\na\0b\n>>>>>>> REPLACE\n";
        assert!(matches!(refuse(binary), Err(ProtocolError::Binary { .. })));
    }
}
