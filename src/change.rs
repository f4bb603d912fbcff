//! Changes as plain data: byte-range edits of one text, one file before and after, and the files
//! one batch changes, with the diff and line counts reviewers read.
//!
//! Everything that produces a change (the rules, the languages' import and alias helpers, the
//! model's answers) and everything that consumes one (the checks and writes in `edit`, commits in
//! `vcs`) meets here, so this module sits below all of them and depends on none. It never touches
//! the file system: checking and writing a change is `edit`'s job.

/// A replacement of the bytes `start..end` of a text with `text` (an insertion when the range is
/// empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced.
    pub end: usize,
    /// What takes their place.
    pub text: String,
}

impl TextEdit {
    /// A replacement of `start..end` with `text`.
    pub fn new(start: usize, end: usize, text: impl Into<String>) -> TextEdit {
        TextEdit {
            start,
            end,
            text: text.into(),
        }
    }
}

/// Why text edits do not apply: always a bug in whatever produced them, so the batch is refused
/// and nothing is written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TextError {
    /// Two edits of one file overlap: a transform bug or a conflicting rule.
    #[error("overlapping edits in {path} at bytes {at}")]
    Overlap {
        /// The file edited.
        path: String,
        /// Where the second edit starts.
        at: usize,
    },
    /// An edit range is outside the file or splits a character.
    #[error(
        "an edit of {path} falls outside the file or inside a character (bytes {start}..{end})"
    )]
    OutOfBounds {
        /// The file edited.
        path: String,
        /// The edit's range.
        start: usize,
        /// The edit's range.
        end: usize,
    },
}

/// Apply non-overlapping edits to `source` (`path` only names the file in errors). Edits may
/// come in any order; identical duplicates are applied once, since two rules that agree on a
/// place are not in conflict.
pub fn apply_text_edits(
    path: &str,
    source: &str,
    mut edits: Vec<TextEdit>,
) -> Result<String, TextError> {
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
            return Err(TextError::OutOfBounds {
                path: path.to_string(),
                start: e.start,
                end: e.end,
            });
        }
        if e.start < last {
            return Err(TextError::Overlap {
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

/// Whether `text[at..at+len]` is a whole word (not part of a longer identifier).
pub fn is_whole_word(text: &str, at: usize, len: usize) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    !before.is_some_and(ident) && !after.is_some_and(ident)
}

/// Byte offsets of whole-word occurrences of `word` in `text[range]`.
pub fn word_occurrences(text: &str, range: std::ops::Range<usize>, word: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let hay = &text[range.clone()];
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let at = range.start + from + i;
        if is_whole_word(text, at, word.len()) {
            out.push(at);
        }
        from += i + word.len();
    }
    out
}

/// One file before and after (`None`: the file does not exist on that side, so a move is a
/// deletion plus a creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// The text the change starts from (what a rollback puts back).
    pub before: Option<String>,
    /// The text the change leaves.
    pub after: Option<String>,
}

/// The files one batch changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// One entry per file, in path order once normalized.
    pub changes: Vec<FileChange>,
}

impl ChangeSet {
    /// Paths of the files that change, in order.
    pub fn paths(&self) -> Vec<&str> {
        self.changes.iter().map(|c| c.path.as_str()).collect()
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Drop changes that change nothing, and sort by path (so equal changes compare equal and
    /// diffs read in a stable order).
    pub fn normalize(mut self) -> ChangeSet {
        self.changes.retain(|c| c.before != c.after);
        self.changes.sort_by(|a, b| a.path.cmp(&b.path));
        self
    }

    /// Files that used CRLF line endings throughout keep them: text the transforms insert is
    /// written with `\n`.
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

    /// Fold `later` (made on top of this change's results, such as a repair) into this change:
    /// each file's `before` stays what the batch started from.
    pub fn merge(&mut self, later: ChangeSet) {
        for c in later.changes {
            match self.changes.iter_mut().find(|x| x.path == c.path) {
                Some(existing) => existing.after = c.after,
                None => self.changes.push(c),
            }
        }
        *self = std::mem::take(self).normalize();
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

/// The git blob id of some bytes: how texts are fingerprinted (recipes, cache keys).
pub fn blob_id(bytes: &[u8]) -> String {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, bytes)
        .map(|id| id.to_hex().to_string())
        .unwrap_or_default()
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
            Err(TextError::Overlap { .. })
        ));
        assert!(matches!(
            apply_text_edits("x", s, vec![TextEdit::new(5, 50, "x")]),
            Err(TextError::OutOfBounds { .. })
        ));
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
    fn whole_words_only() {
        let text = "fetch_order(fetch_orders, x.fetch_order)";
        assert_eq!(
            word_occurrences(text, 0..text.len(), "fetch_order"),
            [0, 28]
        );
    }
}
