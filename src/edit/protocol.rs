//! The edit protocol a model answers in: SEARCH/REPLACE blocks, or the apply_patch envelope
//! codex-class models use. Parsing is strict, and an answer is all or nothing: if anything in
//! it is malformed, names a file it may not touch, does not apply, or does what the step does
//! not allow, nothing from it is applied. The model proposes text; nothing here runs it.
//!
//! # SEARCH/REPLACE
//!
//! ```text
//! answer  = { prose | block }
//! block   = path-line [fence-line] "<<<<<<< SEARCH" NL { line } "=======" NL { line }
//!           ">>>>>>> REPLACE" NL [fence-line]
//! ```
//!
//! * Every block has its own path line, directly above its `<<<<<<< SEARCH` (a code fence line
//!   may sit between them). A path line is one word: backticks, asterisks and a trailing colon
//!   around it are dropped. A block right after another block's `>>>>>>> REPLACE`, or under a
//!   line of prose, has no path and refuses the answer.
//! * The three markers are exact lines (trailing spaces ignored). A `=======` or
//!   `>>>>>>> REPLACE` outside a block, a `<<<<<<< SEARCH` inside one, or a block left open
//!   refuses the answer, with the line number.
//! * An empty SEARCH creates the file (or appends to it when it exists).
//!
//! # apply_patch
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
//! Exactly one envelope; prose before `*** Begin Patch` and after `*** End Patch` is ignored;
//! a missing `*** End Patch`, a second envelope, an unknown `***` line or SEARCH/REPLACE
//! markers in the same answer refuse it.
//!
//! # Applying
//!
//! A SEARCH text (a hunk's old lines) is sought exactly first (it must match once), then with
//! whitespace at line ends ignored, saying so in a note. Secrets the prompt showed as
//! placeholders are put back: in a SEARCH, always; in a REPLACE, only on lines the same block's
//! SEARCH holds as they are (the line keeps its secret); anywhere else the answer is refused,
//! since the value would be copied into new code. Invisible and control characters a REPLACE
//! adds (those its SEARCH does not hold) refuse the answer too. An edit that empties a file or
//! removes more than half the lines of a file of at least [`DESTRUCTIVE_MIN_LINES`] lines is
//! refused unless the step allows deletions.
//!
//! Refusals come in two classes ([`ProtocolError::is_form`]): the answer's *form* (no blocks,
//! a block that does not parse, a SEARCH that matches nothing or twice), which the model may
//! be asked to fix, and *safety* (paths, the batch's scope, size, binary content, copied
//! secrets, destructive edits), which stops the batch.

use std::collections::BTreeMap;

use super::{EditError, check_path};
use crate::change::{ChangeSet, FileChange};

/// Answers larger than this are refused outright.
pub const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// Files with at least this many lines may not lose more than half of them in one answer
/// (unless the step allows deletions).
pub const DESTRUCTIVE_MIN_LINES: usize = 20;

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

/// Why an answer is refused. Nothing of it is applied; a form error may go back to the model
/// for a format repair, a safety error stops the batch.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProtocolError {
    /// An answer over [`MAX_ANSWER_BYTES`]: never looked at.
    #[error("the answer is {size} bytes, over the {MAX_ANSWER_BYTES} byte limit")]
    TooLarge {
        /// The answer's size in bytes.
        size: usize,
    },
    /// The answer has no edit blocks at all.
    #[error("the answer has no edits (no SEARCH/REPLACE block and no *** Begin Patch)")]
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
    #[error("block {block} (line {line}): {path} is not one of the batch's files")]
    OutsideBatch {
        /// The edit's number in the answer, from 1.
        block: usize,
        /// The line in the answer.
        line: usize,
        /// The path outside the batch.
        path: String,
    },
    /// A path that leaves the repository or names `.git`.
    #[error("block {block} (line {line}): {source}")]
    Path {
        /// The edit's number in the answer, from 1.
        block: usize,
        /// The line in the answer.
        line: usize,
        /// Why the path is refused.
        source: EditError,
    },
    /// A SEARCH text (or a hunk) that is not in the file.
    #[error("block {block} (line {line}): the SEARCH text is not in {path}{closest}")]
    NotFound {
        /// The edit's number in the answer, from 1.
        block: usize,
        /// The line in the answer.
        line: usize,
        /// The file.
        path: String,
        /// `; the closest lines are …`, when some are close.
        closest: String,
    },
    /// A SEARCH text matches more than once.
    #[error(
        "block {block} (line {line}): the SEARCH text matches {count} places in {path}; include more lines"
    )]
    Ambiguous {
        /// The edit's number in the answer, from 1.
        block: usize,
        /// The line in the answer.
        line: usize,
        /// The file.
        path: String,
        /// How many times it matches.
        count: usize,
    },
    /// New content with NUL bytes.
    #[error("{path} would contain binary data")]
    Binary {
        /// The file.
        path: String,
    },
    /// A redacted secret's placeholder where the value would be copied into new text.
    #[error(
        "block {block} (line {line}): {placeholder} is a redacted secret; an answer may keep the lines that hold it as they are, never write it anywhere else"
    )]
    SecretCopied {
        /// The edit's number in the answer, from 1.
        block: usize,
        /// The line in the answer.
        line: usize,
        /// The placeholder.
        placeholder: String,
    },
    /// A REPLACE (or a new file) with an invisible or control character its SEARCH does not
    /// hold at that place.
    #[error(
        "block {block} (line {line}): the edit adds {code} ({name}), a character a reviewer cannot see"
    )]
    Invisible {
        /// The edit's number in the answer, from 1.
        block: usize,
        /// The line in the answer.
        line: usize,
        /// `U+202E`.
        code: String,
        /// What it is.
        name: &'static str,
    },
    /// An edit that empties a file or deletes most of it, in a step that does not allow it.
    #[error(
        "{path}: the answer {what}; a step that means to delete code says `allow_delete = true`"
    )]
    Destructive {
        /// The file.
        path: String,
        /// What the edit does (`empties the file`, `removes 40 of its 60 lines`).
        what: String,
    },
}

impl ProtocolError {
    /// Whether the answer was refused for its form (the model may be asked again, with the
    /// reason), rather than for safety (the batch stops).
    pub fn is_form(&self) -> bool {
        matches!(
            self,
            ProtocolError::NoEdits
                | ProtocolError::Malformed { .. }
                | ProtocolError::NotFound { .. }
                | ProtocolError::Ambiguous { .. }
        )
    }
}

/// Parse a model's answer into edits, whichever of the two formats it uses.
pub fn parse_answer(answer: &str) -> Result<Vec<FileEdit>, ProtocolError> {
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(ProtocolError::TooLarge { size: answer.len() });
    }
    let lines: Vec<&str> = answer.lines().collect();
    let patch = lines.iter().position(|l| l.trim() == "*** Begin Patch");
    let marker = lines.iter().position(|l| {
        let l = l.trim_end();
        l == SEARCH || l == DIVIDER || l == REPLACE
    });
    let edits = match (patch, marker) {
        (Some(p), Some(m)) => {
            return Err(malformed(
                p.max(m) + 1,
                "the answer mixes SEARCH/REPLACE blocks and an apply_patch envelope; use one",
            ));
        }
        (Some(_), None) => parse_patch(&lines)?,
        (None, _) => parse_search_replace(&lines)?,
    };
    if edits.is_empty() {
        return Err(ProtocolError::NoEdits);
    }
    Ok(edits)
}

const SEARCH: &str = "<<<<<<< SEARCH";
const DIVIDER: &str = "=======";
const REPLACE: &str = ">>>>>>> REPLACE";

fn malformed(line: usize, message: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed {
        line,
        message: message.into(),
    }
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// The path a path line names, if it is one.
fn path_line(line: &str) -> Option<String> {
    let p = line
        .trim()
        .trim_matches(['`', '*'])
        .trim_end_matches(':')
        .trim()
        .to_string();
    let marker = [SEARCH, DIVIDER, REPLACE].contains(&p.as_str());
    (!p.is_empty() && !p.contains(char::is_whitespace) && !marker && !is_fence(&p)).then_some(p)
}

fn parse_search_replace(lines: &[&str]) -> Result<Vec<FileEdit>, ProtocolError> {
    enum State {
        Outside,
        Search,
        Replace,
    }
    let mut edits = Vec::new();
    let mut state = State::Outside;
    let (mut path, mut start) = (String::new(), 0);
    let (mut search, mut replace): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        match state {
            State::Outside => {
                let marker = raw.trim();
                if marker == DIVIDER || marker == REPLACE {
                    return Err(malformed(
                        n,
                        format!("a stray `{marker}` outside any block"),
                    ));
                }
                if marker == SEARCH && line != SEARCH {
                    return Err(malformed(n, format!("`{SEARCH}` must start its line")));
                }
                if line != SEARCH {
                    continue;
                }
                // The path line: right above, or above a fence line right above.
                let mut above = i.checked_sub(1);
                if let Some(a) = above
                    && is_fence(lines[a])
                {
                    above = a.checked_sub(1);
                }
                path = above
                    .and_then(|a| path_line(lines[a]))
                    .ok_or_else(|| {
                        malformed(
                            n,
                            format!(
                                "block {} has no file path on the line above `{SEARCH}` (every block needs its own)",
                                edits.len() + 1
                            ),
                        )
                    })?;
                start = n;
                search.clear();
                replace.clear();
                state = State::Search;
            }
            State::Search => match line {
                DIVIDER => state = State::Replace,
                SEARCH | REPLACE => {
                    return Err(malformed(
                        n,
                        format!("expected `{DIVIDER}` before this line"),
                    ));
                }
                _ => search.push(raw),
            },
            State::Replace => match line {
                REPLACE => {
                    edits.push(FileEdit::SearchReplace {
                        path: std::mem::take(&mut path),
                        search: join_lines(&search),
                        replace: join_lines(&replace),
                        line: start,
                    });
                    state = State::Outside;
                }
                SEARCH | DIVIDER => {
                    return Err(malformed(
                        n,
                        format!("expected `{REPLACE}` before this line"),
                    ));
                }
                _ => replace.push(raw),
            },
        }
    }
    if !matches!(state, State::Outside) {
        return Err(malformed(
            start,
            format!("the block starting here is never closed with `{REPLACE}`"),
        ));
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

fn parse_patch(lines: &[&str]) -> Result<Vec<FileEdit>, ProtocolError> {
    let begins: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim() == "*** Begin Patch")
        .collect();
    let ends: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim() == "*** End Patch")
        .collect();
    let begin = begins[0];
    if begins.len() > 1 {
        return Err(malformed(begins[1] + 1, "a second *** Begin Patch"));
    }
    let end = match ends.as_slice() {
        [] => {
            return Err(malformed(
                begin + 1,
                "*** Begin Patch without *** End Patch",
            ));
        }
        [e] if *e > begin => *e,
        [e] => return Err(malformed(e + 1, "*** End Patch before *** Begin Patch")),
        [_, second, ..] => return Err(malformed(second + 1, "a second *** End Patch")),
    };
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

/// Where edits may go and what they may do.
pub struct Scope<'a> {
    /// The batch's files: the only existing files an answer may edit.
    pub files: &'a [String],
    /// Whether a path may be created (the step's `new_files` globs).
    pub allow_new: &'a dyn Fn(&str) -> bool,
    /// Whether the step may empty files or delete most of their lines (`allow_delete`).
    pub allow_delete: bool,
    /// The placeholders the prompt showed instead of secrets, with their values.
    pub secrets: &'a [(String, String)],
}

/// Put the secrets back into a SEARCH text; into its REPLACE text only the placeholders the
/// SEARCH text holds.
fn restore_secrets(
    scope: &Scope<'_>,
    search: &str,
    replace: &str,
    block: usize,
    line: usize,
) -> Result<(String, String), ProtocolError> {
    let (mut search, mut replace) = (search.to_string(), replace.to_string());
    for (placeholder, value) in scope.secrets {
        let p = placeholder.as_str();
        // A line that keeps its secret: only lines the SEARCH has as they are, and no more
        // often than the SEARCH has them. Anything else would put the value into new code.
        let kept: Vec<&str> = search
            .lines()
            .filter(|l| l.contains(p))
            .map(str::trim)
            .collect();
        let copied = replace.matches(p).count() > search.matches(p).count()
            || replace
                .lines()
                .any(|l| l.contains(p) && !kept.contains(&l.trim()));
        if copied {
            return Err(ProtocolError::SecretCopied {
                block,
                line,
                placeholder: placeholder.clone(),
            });
        }
        search = search.replace(placeholder.as_str(), value);
        replace = replace.replace(placeholder.as_str(), value);
    }
    Ok((search, replace))
}

/// An invisible character `replace` adds over `search`, as an error.
fn check_invisible(
    search: &str,
    replace: &str,
    block: usize,
    line: usize,
) -> Result<(), ProtocolError> {
    if replace.contains('\0') {
        // Binary content: refused as such once the answer is applied.
        return Ok(());
    }
    match super::introduced_invisible(Some(search), replace) {
        Some((_, c)) => Err(ProtocolError::Invisible {
            block,
            line,
            code: format!("U+{:04X}", c as u32),
            name: super::invisible_name(c),
        }),
        None => Ok(()),
    }
}

/// Apply parsed edits to the batch's current texts. Returns the change set and notes (fuzzy
/// matches). All or nothing.
pub fn apply_edits(
    edits: &[FileEdit],
    scope: &Scope<'_>,
    current: &dyn Fn(&str) -> Option<String>,
) -> Result<(ChangeSet, Vec<String>), ProtocolError> {
    let mut texts: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    // Moved files: from → to (a move is judged by what the file it made holds).
    let mut moved_from: BTreeMap<String, String> = BTreeMap::new();
    let mut notes = Vec::new();
    for (k, edit) in edits.iter().enumerate() {
        let block = k + 1;
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
            check_path(p).map_err(|source| ProtocolError::Path {
                block,
                line,
                source,
            })?;
        }
        let in_batch = |p: &str| scope.files.iter().any(|f| f == p);
        let entry = texts.entry(path.clone()).or_insert_with(|| {
            let now = current(&path);
            (now.clone(), now)
        });
        // A new file only where there is none: an "added" file must not replace another.
        let creates = (matches!(edit, FileEdit::Add { .. })
            || matches!(edit, FileEdit::SearchReplace { search, .. } if search.is_empty()))
            && entry.1.is_none()
            && entry.0.is_none();
        let allowed = in_batch(&path) || creates && (scope.allow_new)(&path);
        if !allowed {
            if entry.0.is_none() && !path.contains(['/', '.']) {
                // A word of prose taken for a path (`Next:`): the form is wrong, not the intent.
                return Err(malformed(
                    line,
                    format!(
                        "block {block}: `{path}` is not one of the batch's files; put the file's path on the line above `{SEARCH}`"
                    ),
                ));
            }
            return Err(ProtocolError::OutsideBatch { block, line, path });
        }
        // Where `needle` is in `text` (from `from` on), or why it is not there once.
        let find = |text: &str, needle: &str, from: usize| {
            locate(text, needle, from).map_err(|count| match count {
                0 => ProtocolError::NotFound {
                    block,
                    line,
                    path: path.clone(),
                    closest: closest_lines(text, needle, scope.secrets),
                },
                count => ProtocolError::Ambiguous {
                    block,
                    line,
                    path: path.clone(),
                    count,
                },
            })
        };
        match edit {
            FileEdit::Add { content, .. } => {
                let (_, content) = restore_secrets(scope, "", content, block, line)?;
                check_invisible("", &content, block, line)?;
                entry.1 = Some(content);
            }
            FileEdit::Delete { .. } => entry.1 = None,
            FileEdit::SearchReplace {
                search, replace, ..
            } => {
                let (search, replace) = restore_secrets(scope, search, replace, block, line)?;
                check_invisible(&search, &replace, block, line)?;
                let text = entry.1.clone().unwrap_or_default();
                if search.is_empty() {
                    entry.1 = Some(if text.is_empty() {
                        replace
                    } else {
                        format!("{text}{replace}")
                    });
                } else {
                    let (at, len, fuzzy) = find(&text, &search, 0)?;
                    if fuzzy {
                        notes.push(format!(
                            "{path}: block {block} matched only when ignoring whitespace at line ends"
                        ));
                    }
                    entry.1 = Some(format!("{}{replace}{}", &text[..at], &text[at + len..]));
                }
            }
            FileEdit::Update { hunks, move_to, .. } => {
                let mut text = entry.1.clone().ok_or_else(|| ProtocolError::NotFound {
                    block,
                    line,
                    path: path.clone(),
                    closest: String::new(),
                })?;
                let mut from = 0;
                for h in hunks {
                    let old = h.old.iter().map(|l| format!("{l}\n")).collect::<String>();
                    let new = h.new.iter().map(|l| format!("{l}\n")).collect::<String>();
                    let (old, new) = restore_secrets(scope, &old, &new, block, line)?;
                    check_invisible(&old, &new, block, line)?;
                    if let Some(anchor) = &h.anchor {
                        let (anchor, _) = restore_secrets(scope, anchor, "", block, line)?;
                        let Some(i) = text[from..].find(anchor.as_str()) else {
                            return Err(ProtocolError::NotFound {
                                block,
                                line,
                                path: path.clone(),
                                closest: closest_lines(&text, &anchor, scope.secrets),
                            });
                        };
                        from += i;
                        if old.is_empty() {
                            // Lines added after the anchor's line.
                            let at = text[from..].find('\n').map_or(text.len(), |j| from + j + 1);
                            text.insert_str(at, &new);
                            from = at + new.len();
                            continue;
                        }
                    }
                    if old.is_empty() {
                        text.push_str(&new);
                        continue;
                    }
                    let (at, len, fuzzy) = find(&text, &old, from)?;
                    if fuzzy {
                        notes.push(format!(
                            "{path}: a hunk of block {block} matched only when ignoring whitespace at line ends"
                        ));
                    }
                    text = format!("{}{new}{}", &text[..at], &text[at + len..]);
                    from = at + new.len();
                }
                if let Some(to) = move_to {
                    let allowed = in_batch(to) || (scope.allow_new)(to) && current(to).is_none();
                    if !allowed {
                        return Err(ProtocolError::OutsideBatch {
                            block,
                            line,
                            path: to.clone(),
                        });
                    }
                    entry.1 = None;
                    moved_from.insert(path.clone(), to.clone());
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
    for (path, (before, after)) in &texts {
        if after.as_deref().is_some_and(|t| t.contains('\0')) {
            return Err(ProtocolError::Binary { path: path.clone() });
        }
        if scope.allow_delete {
            continue;
        }
        let after = match moved_from.get(path) {
            Some(to) => texts.get(to).and_then(|(_, a)| a.as_deref()),
            None => after.as_deref(),
        };
        if let Some(what) = destructive(before.as_deref(), after) {
            return Err(ProtocolError::Destructive {
                path: path.clone(),
                what,
            });
        }
    }
    for (path, (before, after)) in texts {
        changes.changes.push(FileChange {
            path,
            before,
            after,
        });
    }
    Ok((changes.normalize(), notes))
}

/// The first file a whole change (a batch's first answer and its repairs together) destroys
/// enough of to be refused, with what it does: repairs that each delete a little must not
/// delete a file between them.
pub fn destructive_change(changes: &ChangeSet) -> Option<(String, String)> {
    let creates = changes.changes.iter().any(|c| c.before.is_none());
    changes.changes.iter().find_map(|c| {
        if c.after.is_none() && creates {
            // Perhaps moved: the created file carries it on.
            return None;
        }
        destructive(c.before.as_deref(), c.after.as_deref()).map(|what| (c.path.clone(), what))
    })
}

/// What an edit from `before` to `after` destroys, if it destroys enough to be refused.
fn destructive(before: Option<&str>, after: Option<&str>) -> Option<String> {
    let before = before.filter(|b| !b.trim().is_empty())?;
    let Some(after) = after else {
        return Some("deletes the file".to_string());
    };
    if after.trim().is_empty() {
        return Some("empties the file".to_string());
    }
    let total = before.lines().count();
    if total < DESTRUCTIVE_MIN_LINES {
        return None;
    }
    let removed = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_millis(500))
        .diff_lines(before, after)
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .count();
    (removed * 2 > total).then(|| format!("removes {removed} of its {total} lines"))
}

/// `; the closest lines are …` for a SEARCH text that was not found: the lines of the file
/// nearest to the SEARCH text's first line, so the model can copy them exactly.
///
/// The lines are the file's own, so the secrets the prompt redacted are hidden again; only
/// lines of up to 200 characters in the first 10,000 are compared (the distance is quadratic).
fn closest_lines(text: &str, search: &str, secrets: &[(String, String)]) -> String {
    const LONGEST: usize = 200;
    let Some(first) = search
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .filter(|l| l.chars().count() <= LONGEST)
    else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().take(10_000).collect();
    let best = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && l.trim().chars().count() <= LONGEST)
        .map(|(i, l)| (crate::suggest::edit_distance(first, l.trim()), i))
        .min();
    match best {
        Some((d, i)) if d <= first.chars().count() / 2 => {
            let shown: Vec<String> = lines[i..lines.len().min(i + 3)]
                .iter()
                .map(|l| format!("    {l}"))
                .collect();
            let mut shown = shown.join("\n");
            // Longest first: a value may contain a shorter one.
            let mut by_length: Vec<&(String, String)> = secrets.iter().collect();
            by_length.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
            for (placeholder, value) in by_length {
                shown = shown.replace(value.as_str(), placeholder);
                // A secret over several lines shows up a line at a time.
                for part in value.lines().filter(|l| l.trim().len() >= 8) {
                    shown = shown.replace(part.trim(), placeholder);
                }
            }
            format!("; the closest lines are (line {}):\n{shown}", i + 1)
        }
        _ => String::new(),
    }
}

/// Find `needle` in `text` at or after `from`: exactly (it must be unique), else comparing
/// lines with whitespace at their ends ignored. Returns (offset, length in `text`, fuzzy).
///
/// Not found is `Err(0)`; more than one match is `Err(count)`.
fn locate(text: &str, needle: &str, from: usize) -> Result<(usize, usize, bool), usize> {
    let exact: Vec<usize> = text[from..]
        .match_indices(needle)
        .map(|(i, _)| from + i)
        .collect();
    match exact.len() {
        1 => return Ok((exact[0], needle.len(), false)),
        n if n > 1 => return Err(n),
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
        many => Err(many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_of(files: &[String]) -> Scope<'_> {
        Scope {
            files,
            allow_new: &|p: &str| p.starts_with("new/"),
            allow_delete: false,
            secrets: &[],
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
    fn every_block_names_its_file() {
        let answer = "src/queries.py\n<<<<<<< SEARCH\ndef fetch_order(order_id):\n=======\ndef load_order(order_id):\n>>>>>>> REPLACE\nsrc/queries.py\n<<<<<<< SEARCH\ndef other():\n=======\ndef another():\n>>>>>>> REPLACE\n";
        let edits = parse_answer(answer).expect("parse");
        assert_eq!(edits.len(), 2);
        let files = vec!["src/queries.py".to_string()];
        let (changes, _) = apply_edits(&edits, &scope_of(&files), &current).expect("apply");
        let after = changes.changes[0].after.as_deref().expect("text");
        assert!(after.contains("def load_order") && after.contains("def another"));
        // A block right after another one, or under prose, names no file.
        let reused = answer.replacen("REPLACE\nsrc/queries.py\n", "REPLACE\n", 1);
        assert!(matches!(
            parse_answer(&reused),
            Err(ProtocolError::Malformed { line: 7, .. })
        ));
        assert!(
            parse_answer("Here you go:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n").is_err()
        );
    }

    #[test]
    fn stray_and_unbalanced_markers_are_refused_with_their_line() {
        for (answer, line) in [
            (
                "src/queries.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n>>>>>>> REPLACE\n",
                7,
            ),
            ("text\n=======\n", 2),
            ("src/queries.py\n<<<<<<< SEARCH\na\n<<<<<<< SEARCH\n", 4),
            (
                "src/queries.py\n<<<<<<< SEARCH\na\n=======\nb\n=======\n",
                6,
            ),
            ("src/queries.py\n<<<<<<< SEARCH\na\n=======\nb\n", 2),
            (
                "*** Begin Patch\n*** Update File: src/queries.py\n@@\n-a\n+b\n",
                1,
            ),
            ("*** End Patch\n*** Begin Patch\n*** Delete File: a.py\n", 1),
            (
                "*** Begin Patch\n*** Delete File: a.py\n*** End Patch\n*** Begin Patch\n*** End Patch\n",
                4,
            ),
            ("*** Begin Patch\n*** Frobnicate: a.py\n*** End Patch\n", 2),
        ] {
            match parse_answer(answer) {
                Err(ProtocolError::Malformed { line: l, .. }) => assert_eq!(l, line, "{answer:?}"),
                other => panic!("{answer:?}: {other:?}"),
            }
        }
        let mixed = "a.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n*** Begin Patch\n*** Delete File: a.py\n*** End Patch\n";
        assert!(matches!(
            parse_answer(mixed),
            Err(ProtocolError::Malformed { .. })
        ));
    }

    #[test]
    fn destructive_edits_need_allow_delete() {
        let files = vec!["src/queries.py".to_string()];
        let emptied = "src/queries.py\n<<<<<<< SEARCH\ndef fetch_order(order_id):\n    return get(order_id)\n\n\ndef other():\n    pass\n=======\n>>>>>>> REPLACE\n";
        let edits = parse_answer(emptied).expect("parse");
        assert!(matches!(
            apply_edits(&edits, &scope_of(&files), &current),
            Err(ProtocolError::Destructive { .. })
        ));
        let allowed = Scope {
            allow_delete: true,
            ..scope_of(&files)
        };
        assert!(apply_edits(&edits, &allowed, &current).is_ok());
        // Most of a long file.
        let long: String = (0..30).map(|i| format!("x{i} = {i}\n")).collect();
        let read = |p: &str| (p == "src/queries.py").then(|| long.clone());
        let search: String = (0..20).map(|i| format!("x{i} = {i}\n")).collect();
        let answer =
            format!("src/queries.py\n<<<<<<< SEARCH\n{search}=======\ny = 1\n>>>>>>> REPLACE\n");
        let edits = parse_answer(&answer).expect("parse");
        assert!(matches!(
            apply_edits(&edits, &scope_of(&files), &read),
            Err(ProtocolError::Destructive { .. })
        ));
        let delete = "*** Begin Patch\n*** Delete File: src/queries.py\n*** End Patch\n";
        let edits = parse_answer(delete).expect("parse");
        assert!(matches!(
            apply_edits(&edits, &scope_of(&files), &current),
            Err(ProtocolError::Destructive { .. })
        ));
    }

    #[test]
    fn deletions_add_up_across_answers() {
        let before: String = (0..30).map(|i| format!("x{i} = {i}\n")).collect();
        let half: String = (0..14).map(|i| format!("x{i} = {i}\n")).collect();
        let little: String = (0..8).map(|i| format!("x{i} = {i}\n")).collect();
        let change = |after: &str| ChangeSet {
            changes: vec![FileChange {
                path: "a.py".into(),
                before: Some(before.clone()),
                after: Some(after.to_string()),
            }],
        };
        assert_eq!(
            destructive_change(&change(&half)),
            Some(("a.py".to_string(), "removes 16 of its 30 lines".to_string()))
        );
        assert_eq!(destructive_change(&change(&before[little.len()..])), None);
    }

    #[test]
    fn new_files_never_replace_existing_ones() {
        let files = vec!["src/queries.py".to_string()];
        let existing = |p: &str| match p {
            "src/queries.py" => Some(QUERIES.to_string()),
            "new/kept.py" => Some("KEPT = 1\n".to_string()),
            _ => None,
        };
        for answer in [
            "*** Begin Patch\n*** Add File: new/kept.py\n+x = 1\n*** End Patch\n",
            "new/kept.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n",
            "*** Begin Patch\n*** Update File: src/queries.py\n*** Move to: new/kept.py\n*** End Patch\n",
        ] {
            let edits = parse_answer(answer).expect("parse");
            assert!(
                matches!(
                    apply_edits(&edits, &scope_of(&files), &existing),
                    Err(ProtocolError::OutsideBatch { .. })
                ),
                "{answer}"
            );
        }
        // A move that empties the file on the way is destructive.
        let emptying = "*** Begin Patch\n*** Update File: src/queries.py\n*** Move to: new/q.py\n@@\n-def fetch_order(order_id):\n-    return get(order_id)\n-\n-\n-def other():\n-    pass\n*** End Patch\n";
        let edits = parse_answer(emptying).expect("parse");
        assert!(matches!(
            apply_edits(&edits, &scope_of(&files), &existing),
            Err(ProtocolError::Destructive { .. })
        ));
        // A word of prose taken for a path is a form error, asked again.
        let prose = "Next:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
        let edits = parse_answer(prose).expect("parse");
        let e = apply_edits(&edits, &scope_of(&files), &existing).expect_err("refused");
        assert!(e.is_form(), "{e}");
    }

    #[test]
    fn hunks_follow_their_anchor_and_blocks_may_not_add_invisible_characters() {
        let files = vec!["src/queries.py".to_string()];
        let added = "*** Begin Patch\n*** Update File: src/queries.py\n@@ def other():\n+    \"\"\"Other.\"\"\"\n*** End Patch\n";
        let (changes, _) = apply_edits(
            &parse_answer(added).expect("parse"),
            &scope_of(&files),
            &current,
        )
        .expect("apply");
        assert!(
            changes.changes[0]
                .after
                .as_deref()
                .is_some_and(|t| t.contains("def other():\n    \"\"\"Other.\"\"\"\n    pass")),
            "{changes:?}"
        );
        let lost = "*** Begin Patch\n*** Update File: src/queries.py\n@@ def nowhere():\n+x\n*** End Patch\n";
        let e = apply_edits(
            &parse_answer(lost).expect("parse"),
            &scope_of(&files),
            &current,
        )
        .expect_err("refused");
        assert!(matches!(e, ProtocolError::NotFound { .. }), "{e}");
        let hidden = "src/queries.py\n<<<<<<< SEARCH\ndef other():\n=======\ndef other():  # \u{FE0F}\n>>>>>>> REPLACE\n";
        let e = apply_edits(
            &parse_answer(hidden).expect("parse"),
            &scope_of(&files),
            &current,
        )
        .expect_err("refused");
        assert!(
            matches!(e, ProtocolError::Invisible { .. }) && !e.is_form(),
            "{e}"
        );
    }

    #[test]
    fn secrets_go_back_only_where_the_search_held_them() {
        let files = vec!["src/settings.py".to_string()];
        let text = "TOKEN = \"ghp_realrealrealrealrealreal1234\"\nDEBUG = False\n";
        let read = |p: &str| (p == "src/settings.py").then(|| text.to_string());
        let secrets = vec![(
            "[REDACTED-github-token-1]".to_string(),
            "ghp_realrealrealrealrealreal1234".to_string(),
        )];
        let scope = Scope {
            secrets: &secrets,
            ..scope_of(&files)
        };
        let kept = "src/settings.py\n<<<<<<< SEARCH\nTOKEN = \"[REDACTED-github-token-1]\"\nDEBUG = False\n=======\n# The service's token.\nTOKEN = \"[REDACTED-github-token-1]\"\nDEBUG = True\n>>>>>>> REPLACE\n";
        let (changes, _) =
            apply_edits(&parse_answer(kept).expect("parse"), &scope, &read).expect("apply");
        assert_eq!(
            changes.changes[0].after.as_deref(),
            Some(
                "# The service's token.\nTOKEN = \"ghp_realrealrealrealrealreal1234\"\nDEBUG = True\n"
            )
        );
        for copied in [
            "src/settings.py\n<<<<<<< SEARCH\nDEBUG = False\n=======\nDEBUG = False\nLEAK = \"[REDACTED-github-token-1]\"\n>>>>>>> REPLACE\n",
            // The same count, on a new line: the value would move into new code.
            "src/settings.py\n<<<<<<< SEARCH\nTOKEN = \"[REDACTED-github-token-1]\"\n=======\nrequests.get(\"https://x/?k=[REDACTED-github-token-1]\")\n>>>>>>> REPLACE\n",
            // The kept line twice.
            "src/settings.py\n<<<<<<< SEARCH\nTOKEN = \"[REDACTED-github-token-1]\"\n=======\nTOKEN = \"[REDACTED-github-token-1]\"\nTOKEN = \"[REDACTED-github-token-1]\"\n>>>>>>> REPLACE\n",
        ] {
            assert!(
                matches!(
                    apply_edits(&parse_answer(copied).expect("parse"), &scope, &read),
                    Err(ProtocolError::SecretCopied { block: 1, .. })
                ),
                "{copied}"
            );
        }
        // Not found: the closest lines are shown with the secret hidden again.
        let missing = "src/settings.py\n<<<<<<< SEARCH\nTOKEN  = \"[REDACTED-github-token-1]\"  \nDEBUG =  Fals\n=======\nx\n>>>>>>> REPLACE\n";
        let e = apply_edits(&parse_answer(missing).expect("parse"), &scope, &read)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("TOKEN = \"[REDACTED-github-token-1]\""), "{e}");
        assert!(!e.contains("ghp_real"), "{e}");
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
        match refuse(
            "src/queries.py\n<<<<<<< SEARCH\ndef fetch_ordr(order_id):\n=======\nx\n>>>>>>> REPLACE\n",
        ) {
            Err(e @ ProtocolError::NotFound { .. }) => {
                assert!(e.is_form());
                let m = e.to_string();
                assert!(m.starts_with("block 1 (line 2): the SEARCH text is not in src/queries.py; the closest lines are (line 1):"), "{m}");
                assert!(m.contains("    def fetch_order(order_id):"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
}
