//! The ledger: what earlier model batches of a run did, so a later batch follows the same
//! decisions (a signature changed here, a repair needed there) without seeing their files.
//!
//! Entries are derived from what a batch committed, never from the model's own account, so the
//! same run gives the same ledger (`explain`, `resume` and `--replay` show it identically). The
//! ledger is append-only, oldest first, so the prompt's prefix stays the same from batch to
//! batch (a provider's prompt cache keeps serving it); when it outgrows [`LEDGER_TOKENS`], the
//! oldest entries are folded into one line, once, rather than trimmed on every batch.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::change::ChangeSet;
use crate::lang::Language;
use crate::tokens::count_tokens;

/// The ledger's cap in tokens: past it, the oldest half is folded into one line.
pub const LEDGER_TOKENS: usize = 1_500;
/// Signature changes listed per entry (the rest are counted).
const SIGNATURES_LISTED: usize = 6;
/// Files named by a folded line (the rest are counted).
const FILES_LISTED: usize = 8;

/// One line of the ledger: a batch, or several folded together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The first and last batch it covers.
    pub batches: (usize, usize),
    /// The files those batches changed.
    pub files: Vec<String>,
    /// How many definitions' signatures they added, removed or changed.
    pub signatures: usize,
    /// How many repair rounds (failed verification, refused answers) they needed.
    pub repairs: u32,
    /// The line as the prompt shows it.
    pub text: String,
}

/// What a committed model batch did, for [`record`].
pub struct Done<'a> {
    /// Its index in the plan.
    pub batch: usize,
    /// Lines it added and removed.
    pub lines: (usize, usize),
    /// What it committed.
    pub changes: &'a ChangeSet,
    /// Rounds after a failed verification, and the commands that failed.
    pub repairs: (u32, &'a [String]),
    /// Answers refused for their form and asked again.
    pub format_repairs: u32,
}

/// Append what `done` did, folding the oldest entries if the ledger outgrows its cap.
pub fn record(ledger: &mut Vec<LedgerEntry>, done: &Done<'_>) {
    let files: Vec<String> = done
        .changes
        .paths()
        .into_iter()
        .map(str::to_string)
        .collect();
    let changed = signature_changes(done.changes);
    let mut text = format!(
        "batch {} ({}): +{} -{} lines",
        done.batch,
        files.join(", "),
        done.lines.0,
        done.lines.1
    );
    if !changed.is_empty() {
        let listed: Vec<&str> = changed
            .iter()
            .take(SIGNATURES_LISTED)
            .map(String::as_str)
            .collect();
        text.push_str(&format!("; signatures: {}", listed.join("; ")));
        if changed.len() > SIGNATURES_LISTED {
            text.push_str(&format!(" and {} more", changed.len() - SIGNATURES_LISTED));
        }
    }
    let (repairs, failed) = done.repairs;
    if repairs > 0 {
        let commands: BTreeSet<&str> = failed.iter().map(String::as_str).collect();
        text.push_str(&format!(
            "; repaired after `{}` failed ({repairs} round{})",
            commands.into_iter().collect::<Vec<_>>().join("`, `"),
            if repairs == 1 { "" } else { "s" }
        ));
    }
    if done.format_repairs > 0 {
        text.push_str(&format!(
            "; {} answer{} refused for form first",
            done.format_repairs,
            if done.format_repairs == 1 { "" } else { "s" }
        ));
    }
    ledger.push(LedgerEntry {
        batches: (done.batch, done.batch),
        files,
        signatures: changed.len(),
        repairs: repairs + done.format_repairs,
        text,
    });
    if tokens(ledger) > LEDGER_TOKENS && ledger.len() > 1 {
        // The oldest half (a folded line already there included) becomes one line.
        let keep = ledger.len() / 2;
        let folded: Vec<LedgerEntry> = ledger.drain(..ledger.len() - keep).collect();
        ledger.insert(0, fold(&folded));
    }
}

/// The ledger's size in the prompt.
pub fn tokens(ledger: &[LedgerEntry]) -> usize {
    ledger.iter().map(|e| count_tokens(&e.text) + 2).sum()
}

fn fold(entries: &[LedgerEntry]) -> LedgerEntry {
    let first = entries.first().map_or(0, |e| e.batches.0);
    let last = entries.last().map_or(0, |e| e.batches.1);
    let files: Vec<String> = entries.iter().flat_map(|e| e.files.clone()).collect();
    let signatures = entries.iter().map(|e| e.signatures).sum();
    let repairs = entries.iter().map(|e| e.repairs).sum();
    let mut named: Vec<&str> = files
        .iter()
        .take(FILES_LISTED)
        .map(String::as_str)
        .collect();
    let more = files.len().saturating_sub(FILES_LISTED);
    let more = if more > 0 {
        named.push("…");
        format!(" ({more} more)")
    } else {
        String::new()
    };
    let text = format!(
        "batches {first}-{last} (folded to keep this list short): {} files changed: {}{more}; {signatures} signature change{}; {repairs} repair round{}",
        files.len(),
        named.join(", "),
        if signatures == 1 { "" } else { "s" },
        if repairs == 1 { "" } else { "s" }
    );
    LedgerEntry {
        batches: (first, last),
        files,
        signatures,
        repairs,
        text,
    }
}

/// The definitions whose header a change set added, removed or changed, as
/// `` `def f(a)` → `def f(a, b)` ``, `` added `def g()` ``, `` removed `class H` ``.
fn signature_changes(changes: &ChangeSet) -> Vec<String> {
    let mut out = Vec::new();
    for c in &changes.changes {
        let Some(language) = Language::from_path(std::path::Path::new(&c.path)) else {
            continue;
        };
        let headers = |text: &Option<String>| -> Vec<String> {
            text.as_deref()
                .and_then(|t| language.support().skeleton(t))
                .map(|s| s.definitions.into_iter().map(|d| d.header).collect())
                .unwrap_or_default()
        };
        let (before, after) = (headers(&c.before), headers(&c.after));
        let removed: Vec<&String> = before.iter().filter(|h| !after.contains(h)).collect();
        let added: Vec<&String> = after.iter().filter(|h| !before.contains(h)).collect();
        let mut paired = BTreeSet::new();
        for r in &removed {
            match added
                .iter()
                .position(|a| name_of(a) == name_of(r) && !paired.contains(a))
            {
                Some(i) => {
                    paired.insert(added[i]);
                    out.push(format!("`{r}` → `{}`", added[i]));
                }
                None => out.push(format!("removed `{r}`")),
            }
        }
        for a in added.iter().filter(|a| !paired.contains(*a)) {
            out.push(format!("added `{a}`"));
        }
    }
    out
}

/// The defined name in a header: the word before its parameters or after its keyword.
fn name_of(header: &str) -> &str {
    let head = header.split('(').next().unwrap_or(header);
    // `func (s *Store) Get(…)`: the receiver comes first.
    let head = if header.starts_with("func (") {
        header
            .split_once(") ")
            .map_or(head, |(_, rest)| rest.split('(').next().unwrap_or(rest))
    } else {
        head
    };
    head.split_whitespace().last().unwrap_or(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::FileChange;

    fn change(path: &str, before: &str, after: &str) -> ChangeSet {
        ChangeSet {
            changes: vec![FileChange {
                path: path.to_string(),
                before: Some(before.to_string()),
                after: Some(after.to_string()),
            }],
        }
    }

    #[test]
    fn entries_say_what_changed_and_how_it_was_repaired() {
        let changes = change(
            "m.py",
            "def f(a):\n    return a\n\n\ndef old():\n    pass\n",
            "def f(a, tz=None):\n    return a\n\n\ndef new():\n    pass\n",
        );
        let mut ledger = Vec::new();
        let failed = vec!["pytest -q".to_string()];
        record(
            &mut ledger,
            &Done {
                batch: 2,
                lines: (2, 2),
                changes: &changes,
                repairs: (1, &failed),
                format_repairs: 0,
            },
        );
        assert_eq!(
            ledger[0].text,
            "batch 2 (m.py): +2 -2 lines; signatures: `def f(a)` → `def f(a, tz=None)`; removed `def old()`; added `def new()`; repaired after `pytest -q` failed (1 round)"
        );
        assert_eq!(name_of("func (s *Store) Get(id string) error"), "Get");
        assert_eq!(name_of("class Order(Base)"), "Order");
    }

    #[test]
    fn the_ledger_is_append_only_until_it_folds_its_oldest_half_once() {
        let mut ledger = Vec::new();
        let mut folds = 0;
        for batch in 1..=200 {
            let changes = change(&format!("pkg/module_{batch}.py"), "x = 1\n", "x = 2\n");
            let before = ledger.clone();
            record(
                &mut ledger,
                &Done {
                    batch,
                    lines: (1, 1),
                    changes: &changes,
                    repairs: (0, &[]),
                    format_repairs: 0,
                },
            );
            if ledger.starts_with(&before) {
                assert_eq!(ledger.len(), before.len() + 1, "appended");
            } else {
                folds += 1;
                assert!(
                    ledger[0].text.starts_with("batches 1-"),
                    "{}",
                    ledger[0].text
                );
            }
            assert!(tokens(&ledger) <= LEDGER_TOKENS + 200, "capped");
        }
        assert!((1..20).contains(&folds), "{folds} folds in 200 batches");
        let covered: usize = ledger.iter().map(|e| e.batches.1 - e.batches.0 + 1).sum();
        assert_eq!(covered, 200, "every batch is accounted for");
    }
}
