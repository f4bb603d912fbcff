//! What a model sees for one batch: the step's instructions, the batch's files in full, the
//! contracts of the repository symbols those files use from outside the batch (signatures,
//! type declarations, the first paragraph of a docstring; never a body), and the ledger of
//! what earlier batches did.
//!
//! Everything is counted in real tokens ([`crate::tokens`]). When a prompt is over its budget,
//! the contracts farthest from the batch in the graph are dropped first and the prompt says
//! which. Files that look like secrets are never included, and token-like strings are redacted
//! from all text.
//!
//! This is the only prompt builder: the first request of a batch ([`first_request`]) and a
//! repair after a failed verification ([`repair_request`]) are assembled here from the
//! Markdown templates in `prompts/`, and `git ripple explain` prints exactly what
//! [`first_request`] returns. This module builds text; it never sends anything.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::graph::Graph;
use crate::lang::facts::{ReferenceKind, SymbolKind};
use crate::tokens::count_tokens;

mod ledger;
mod redact;
mod view;

pub use ledger::{Done, LEDGER_TOKENS, LedgerEntry, record as record_in_ledger};
pub use redact::{Redactor, is_secret_path, redact, secret_ranges};
pub use view::{Focused, focused};

/// The prompt template of a batch (Markdown, embedded).
const TEMPLATE: &str = include_str!("../../prompts/batch.md");
/// The system prompt of every request.
pub const SYSTEM_PROMPT: &str = include_str!("../../prompts/system.md");
/// The repair prompt template: the batch's prompt, then the failure.
const REPAIR_TEMPLATE: &str = include_str!("../../prompts/repair.md");
/// The format repair template: the request, then why its answer could not be applied.
const FORMAT_REPAIR_TEMPLATE: &str = include_str!("../../prompts/format-repair.md");
/// At most this much of a refused answer is quoted back to the model.
const QUOTED_ANSWER_BYTES: usize = 8 * 1024;
/// The prompt budget of a model batch, in tokens.
pub const DEFAULT_BUDGET: usize = 24_000;
const _: () = assert!(DEFAULT_BUDGET as u64 == crate::recipe::DEFAULT_MAX_TOKENS);

/// What is sent to a model for a batch: the system text and the user text, with the parts the
/// user text was made of.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// The system prompt.
    pub system: String,
    /// The user prompt, exactly as sent.
    pub user: String,
    /// Byte offsets in `user` where a prefix ends that the next batches of the step repeat
    /// (after the rules, after each ledger entry): where a provider's prompt cache can hit.
    pub stable: Vec<usize>,
    /// How the batch's prompt was assembled (parts, counts, what was left out).
    pub prompt: Prompt,
    /// The secrets the texts were redacted of: the answer's placeholders map back through
    /// it. Never serialised, never sent.
    #[serde(skip)]
    pub redactor: Redactor,
}

impl Request {
    /// (placeholder, value) of every secret redacted from this request.
    pub fn secrets(&self) -> &[(String, String)] {
        self.redactor.secrets()
    }
}

/// What a model step's batch is asked with.
pub struct Ask<'a> {
    /// The step's instructions.
    pub instructions: &'a str,
    /// The batch's files.
    pub files: &'a [String],
    /// The graph, for contracts.
    pub graph: &'a Graph,
    /// A file's current text.
    pub read: &'a dyn Fn(&str) -> Option<String>,
    /// What earlier batches of the run did.
    pub ledger: &'a [LedgerEntry],
    /// The prompt budget in tokens.
    pub budget: usize,
    /// The symbols the step is about (its `references` selection): in a focused view, their
    /// definitions and uses are the regions shown in full.
    pub focus: &'a [String],
    /// Files over this many tokens are sent as focused views when the step is about symbols
    /// they use.
    pub focus_above: usize,
}

/// Where `text` (the file `path` as it is now) defines or uses the symbols `focus` names, as
/// byte offsets: the graph's own positions while the file is as the graph read it; once an
/// answer changed it (a repair round), every whole-word mention of their names.
fn focus_points(graph: &Graph, focus: &[String], path: &str, text: &str) -> Vec<usize> {
    let Some(file) = graph.file_id(path) else {
        return Vec::new();
    };
    let unchanged = gix::objs::compute_hash(
        gix::hash::Kind::Sha1,
        gix::object::Kind::Blob,
        text.as_bytes(),
    )
    .is_ok_and(|id| id == graph.files[file].blob);
    let mut points = Vec::new();
    for id in focus {
        let Some(sid) = graph.symbol_id(id) else {
            continue;
        };
        for member in graph.rename_set(sid) {
            let sym = &graph.symbols[member];
            if !unchanged {
                points.extend(word_mentions(text, &sym.name));
                continue;
            }
            if sym.file == file {
                points.push(sym.span.start as usize);
            }
            points.extend(
                graph
                    .references(member)
                    .iter()
                    .filter(|r| r.file == file)
                    .map(|r| r.span.start as usize),
            );
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// Byte offsets of `name` in `text` where it is a whole word.
fn word_mentions(text: &str, name: &str) -> Vec<usize> {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(name)
        .filter(|(i, _)| {
            !word(text[..*i].chars().next_back()) && !word(text[i + name.len()..].chars().next())
        })
        .map(|(i, _)| i)
        .collect()
}

/// Byte offsets of the lines of `path` a failure's output points at (`path:12`,
/// `File "path", line 12`): in a repair round, what failed is shown in full.
fn failure_points(path: &str, text: &str, output: &str) -> Vec<usize> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut points = Vec::new();
    for (i, _) in output.match_indices(path) {
        let rest = &output[i + path.len()..];
        let digits = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix("\", line "))
            .map(|r| {
                r.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            });
        if let Some(line) = digits.and_then(|d| d.parse::<usize>().ok())
            && let Some(&at) = starts.get(line.wrapping_sub(1))
        {
            points.push(at);
        }
    }
    points
}

/// The first request of a batch.
pub fn first_request(ask: &Ask<'_>) -> Request {
    let mut redactor = Redactor::new();
    let prompt = build_prompt(ask, &mut redactor, None);
    Request {
        system: SYSTEM_PROMPT.to_string(),
        user: prompt.text.clone(),
        stable: prompt.stable.clone(),
        prompt,
        redactor,
    }
}

/// A repair request: the batch's prompt over the files as they are now, then the verify
/// command that failed and the relevant lines of its output (redacted).
pub fn repair_request(ask: &Ask<'_>, command: &str, output: &str) -> Request {
    let mut redactor = Redactor::new();
    let prompt = build_prompt(ask, &mut redactor, Some(output));
    let user = REPAIR_TEMPLATE
        .replace("{prompt}", &prompt.text)
        .replace("{command}", &redactor.redact(command))
        .replace("{output}", redactor.redact(output).trim_end());
    Request {
        system: SYSTEM_PROMPT.to_string(),
        stable: shifted(&prompt.stable, &user, &prompt.text),
        user,
        prompt,
        redactor,
    }
}

/// A format repair: `base` again, then why its answer could not be applied (the exact
/// reason) and the answer itself, so the model can answer again in the right form.
pub fn format_repair_request(base: &Request, answer: &str, reason: &str) -> Request {
    let mut redactor = base.redactor.clone();
    let mut quoted = answer.to_string();
    if quoted.len() > QUOTED_ANSWER_BYTES {
        let mut cut = QUOTED_ANSWER_BYTES;
        while !quoted.is_char_boundary(cut) {
            cut -= 1;
        }
        quoted.truncate(cut);
        quoted.push_str("\n[… the rest of the answer is left out]");
    }
    let quoted = redactor.redact(&quoted);
    let fence = if quoted.contains("```") {
        "````"
    } else {
        "```"
    };
    let user = FORMAT_REPAIR_TEMPLATE
        .replace("{request}", &base.user)
        .replace("{reason}", &redactor.redact(reason))
        .replace(
            "{answer}",
            &format!("{fence}\n{}\n{fence}", quoted.trim_end()),
        );
    Request {
        system: base.system.clone(),
        stable: shifted(&base.stable, &user, &base.user),
        user,
        prompt: base.prompt.clone(),
        redactor,
    }
}

/// `stable` offsets of `inner` as offsets in `outer`, which contains it.
fn shifted(stable: &[usize], outer: &str, inner: &str) -> Vec<usize> {
    match outer.find(inner) {
        Some(at) => stable.iter().map(|s| s + at).collect(),
        None => Vec::new(),
    }
}

/// One part of a prompt, with its size.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// `instructions`, `file`, `contract`, `ledger` or `template`.
    pub kind: &'static str,
    /// The file path or symbol ID it is about.
    pub name: String,
    /// The text as it appears in the prompt.
    pub text: String,
    /// Its size in tokens.
    pub tokens: usize,
}

/// A batch's prompt.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    /// The parts, in the order the prompt shows them.
    pub parts: Vec<Part>,
    /// Contracts left out to fit the budget, farthest first.
    pub dropped: Vec<String>,
    /// How many of the contracts the batch needs are in the prompt.
    pub recall: Recall,
    /// Batch files never sent because they look like secrets.
    pub withheld: Vec<String>,
    /// The whole prompt's size in tokens.
    pub tokens: usize,
    /// The budget it was fit into.
    pub budget: usize,
    /// The full text sent as the user message.
    pub text: String,
    /// Where prefixes of `text` that later batches repeat end (see [`Request::stable`]).
    pub stable: Vec<usize>,
}

/// A contract of a symbol the batch uses.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    /// The symbol's ID.
    pub symbol: String,
    /// The file defining it.
    pub file: String,
    /// Distance from the batch in the dependency graph (1: a file the batch imports).
    pub hops: usize,
    /// The contract's text.
    pub text: String,
}

/// A symbol the batch uses from outside whose contract is not in the prompt, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    /// The symbol's ID.
    pub symbol: String,
    /// Why: `budget` (dropped to fit, farthest first), `secret` (its file looks like one),
    /// `unreadable` (its file could not be read or parsed).
    pub reason: &'static str,
}

/// How many of the symbols a batch's code uses from outside the batch have their contract in
/// the prompt: what the model can rely on instead of guessing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recall {
    /// Symbols the batch's files reference that are defined outside it (a field or an
    /// interface method counts as the type that declares it).
    pub used: usize,
    /// Of those, the ones whose contract the prompt carries.
    pub included: usize,
    /// The others, each with its reason.
    pub missing: Vec<Missing>,
}

impl Recall {
    /// The share included, 1.0 when the batch uses nothing from outside.
    pub fn ratio(&self) -> f64 {
        if self.used == 0 {
            1.0
        } else {
            self.included as f64 / self.used as f64
        }
    }
}

/// The contracts of every repository symbol the batch's files use that is defined outside
/// the batch, nearest first, and those that have none to show. `read` gives a file's
/// current text.
pub fn batch_contracts(
    graph: &Graph,
    files: &[String],
    read: &dyn Fn(&str) -> Option<String>,
) -> (Vec<Contract>, Vec<Missing>) {
    let in_batch: BTreeSet<usize> = files.iter().filter_map(|f| graph.file_id(f)).collect();
    let start: Vec<usize> = in_batch.iter().copied().collect();
    let hops: BTreeMap<usize, usize> = graph
        .transitive_dependencies(&start, None)
        .into_iter()
        .collect();
    let mut used: Vec<(usize, &str, usize)> = Vec::new();
    let mut missing = Vec::new();
    for (sid, sym) in graph.symbols.iter().enumerate() {
        if in_batch.contains(&sym.file) {
            continue;
        }
        if is_secret_path(&graph.files[sym.file].path) {
            if graph
                .references(sid)
                .iter()
                .any(|r| in_batch.contains(&r.file) && r.kind != ReferenceKind::Definition)
            {
                missing.push(Missing {
                    symbol: sym.id.clone(),
                    reason: "secret",
                });
            }
            continue;
        }
        let referenced = graph
            .references(sid)
            .iter()
            .any(|r| in_batch.contains(&r.file) && r.kind != ReferenceKind::Definition);
        if referenced {
            // A field or an interface method reached through a value: its contract is the
            // type that declares it (the struct's fields, the interface's method set).
            let owner = sym
                .id
                .rsplit_once('.')
                .and_then(|(o, _)| graph.symbol_id(o))
                .filter(|&o| {
                    sym.kind == SymbolKind::Field || graph.symbols[o].kind == SymbolKind::Interface
                });
            let sid = owner.unwrap_or(sid);
            let h = hops.get(&sym.file).copied().unwrap_or(usize::MAX);
            used.push((h, graph.symbols[sid].id.as_str(), sid));
        }
    }
    used.sort();
    used.dedup_by_key(|u| u.2);
    let mut seen = BTreeSet::new();
    used.retain(|u| seen.insert(u.2));
    // A Python class's contract lists its methods' signatures: their own would repeat them.
    let included: BTreeSet<usize> = used.iter().map(|u| u.2).collect();
    used.retain(|u| {
        !graph.symbols[u.2]
            .id
            .rsplit_once('.')
            .and_then(|(o, _)| graph.symbol_id(o))
            .is_some_and(|o| graph.symbols[o].kind == SymbolKind::Class && included.contains(&o))
    });
    let mut texts: BTreeMap<usize, Option<String>> = BTreeMap::new();
    let contracts = used
        .into_iter()
        .filter_map(|(h, id, sid)| {
            let sym = &graph.symbols[sid];
            let path = &graph.files[sym.file].path;
            let text = texts
                .entry(sym.file)
                .or_insert_with(|| read(path))
                .as_ref()
                .and_then(|source| {
                    graph.files[sym.file]
                        .language
                        .support()
                        .contract(source, sym.span.start as usize)
                });
            let Some(text) = text else {
                missing.push(Missing {
                    symbol: id.to_string(),
                    reason: "unreadable",
                });
                return None;
            };
            Some(Contract {
                symbol: id.to_string(),
                file: path.clone(),
                hops: h,
                text,
            })
        })
        .collect();
    missing.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    (contracts, missing)
}

/// A contract as the prompt shows it.
fn contract_part(c: Contract, redactor: &mut Redactor) -> Part {
    let block = format!(
        "{} ({})\n```\n{}\n```\n",
        c.symbol,
        c.file,
        redactor.redact(&c.text)
    );
    Part {
        kind: "contract",
        name: c.symbol,
        tokens: count_tokens(&block),
        text: block,
    }
}

/// A batch file as the prompt shows it: whole, or as a focused view around `points` (given
/// the file's text) when it is over `focus_above` tokens.
fn file_part(
    f: &str,
    raw: &str,
    focus_above: usize,
    points: &dyn Fn(&str) -> Vec<usize>,
    redactor: &mut Redactor,
) -> Part {
    let whole = count_tokens(raw);
    let view = (whole > focus_above)
        .then(|| {
            let language = crate::lang::Language::from_path(std::path::Path::new(f))?;
            let skeleton = language.support().skeleton(raw)?;
            focused(f, raw, &skeleton, &points(raw), &secret_ranges(raw), whole)
        })
        .flatten();
    match view {
        Some(v) => {
            let text = redactor.redact(&v.text);
            Part {
                kind: "view",
                name: f.to_string(),
                tokens: count_tokens(&text),
                text,
            }
        }
        None => {
            let text = redactor.redact(raw);
            let fence = if text.contains("```") { "````" } else { "```" };
            let block = format!(
                "{f}\n{fence}\n{text}{}{fence}\n",
                if text.ends_with('\n') { "" } else { "\n" }
            );
            Part {
                kind: "file",
                name: f.to_string(),
                tokens: count_tokens(&block),
                text: block,
            }
        }
    }
}

/// Tokens kept free in every prompt for a repair round's failure text (the relevant lines of
/// a verify command's output and the repair template).
pub const REPAIR_RESERVE: usize = 2_000;

/// The planner's view of prompt sizes ([`crate::plan::PromptSizer`]), from this module's own
/// assembly: a batch planned within its budget is explained within it.
pub struct Sizer<'a> {
    /// A file's current text.
    pub read: &'a dyn Fn(&str) -> Option<String>,
    /// `[batch] focus_above`.
    pub focus_above: usize,
}

impl crate::plan::PromptSizer for Sizer<'_> {
    fn fixed(&self, step: &crate::recipe::ModelStep) -> u64 {
        (count_tokens(TEMPLATE)
            + count_tokens(step.instructions.trim())
            + LEDGER_TOKENS
            + REPAIR_RESERVE) as u64
    }

    fn file(&self, graph: &Graph, step: &crate::recipe::ModelStep, file: usize) -> u64 {
        let path = graph.files[file].path.clone();
        if is_secret_path(&path) {
            return 1;
        }
        let focus = step.focus();
        let mut redactor = Redactor::new();
        let raw = (self.read)(&path).unwrap_or_default();
        let points = |raw: &str| focus_points(graph, &focus, &path, raw);
        let part = file_part(&path, &raw, self.focus_above, &points, &mut redactor);
        // Its contracts on their own: a batch's are the union of its files', never more.
        let (contracts, _) = batch_contracts(graph, std::slice::from_ref(&path), self.read);
        let contracts: usize = contracts
            .into_iter()
            .map(|c| contract_part(c, &mut redactor).tokens + 1)
            .sum();
        (part.tokens + 1 + contracts) as u64
    }
}

/// Assemble a batch's prompt within `budget` tokens.
fn build_prompt(ask: &Ask<'_>, redactor: &mut Redactor, failure: Option<&str>) -> Prompt {
    let Ask {
        instructions,
        files,
        graph,
        read,
        ledger,
        budget,
        focus,
        focus_above,
    } = *ask;
    // Redacted in the order the prompt shows them, so placeholders number from the top.
    let instructions = redactor.redact(instructions.trim());
    let ledger_text = if ledger.is_empty() {
        "None yet: this is the first batch.".to_string()
    } else {
        ledger
            .iter()
            .map(|l| format!("- {}\n", redactor.redact(&l.text)))
            .collect()
    };
    let (contracts, mut missing) = batch_contracts(graph, files, read);
    let used = contracts.len() + missing.len();
    let mut contracts: Vec<Part> = contracts
        .into_iter()
        .map(|c| contract_part(c, redactor))
        .collect();
    let mut withheld = Vec::new();
    let mut file_parts = Vec::new();
    for f in files {
        if is_secret_path(f) {
            withheld.push(f.clone());
            continue;
        }
        let raw = read(f).unwrap_or_default();
        let points = |raw: &str| {
            let mut points = focus_points(graph, focus, f, raw);
            points.extend(failure.map_or_else(Vec::new, |o| failure_points(f, raw, o)));
            points
        };
        let part = file_part(f, &raw, focus_above, &points, redactor);
        file_parts.push(part);
    }
    let fixed = count_tokens(TEMPLATE)
        + count_tokens(&instructions)
        + count_tokens(&ledger_text)
        + file_parts.iter().map(|p| p.tokens).sum::<usize>();
    // Drop the farthest contracts (they are sorted nearest first) until the prompt fits.
    let mut dropped = Vec::new();
    while fixed + contracts.iter().map(|p| p.tokens).sum::<usize>() > budget {
        match contracts.pop() {
            Some(c) => dropped.push(c.name),
            None => break,
        }
    }
    missing.extend(dropped.iter().map(|d| Missing {
        symbol: d.clone(),
        reason: "budget",
    }));
    let recall = Recall {
        used,
        included: contracts.len(),
        missing,
    };
    let contracts_text = if contracts.is_empty() {
        "None.".to_string()
    } else {
        contracts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let files_text = file_parts
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let text = TEMPLATE
        .replace("{instructions}", &instructions)
        .replace("{ledger}", ledger_text.trim_end())
        .replace("{contracts}", contracts_text.trim_end())
        .replace("{files}", files_text.trim_end());
    let mut parts = vec![Part {
        kind: "instructions",
        name: "instructions".into(),
        tokens: count_tokens(&instructions),
        text: instructions,
    }];
    parts.push(Part {
        kind: "ledger",
        name: "ledger".into(),
        tokens: count_tokens(&ledger_text),
        text: ledger_text.clone(),
    });
    parts.extend(contracts);
    parts.extend(file_parts);
    // The stable prefixes: everything up to the ledger (the same for every batch of the
    // step), then each ledger entry (append-only, so the next batch repeats them).
    let mut stable = Vec::new();
    if let Some(head) = text.find("\n## Earlier batches").map(|i| i + 1) {
        stable.push(head);
        let mut at = head;
        for entry in ledger_text.lines().filter(|l| l.starts_with("- ")) {
            match text[at..].find(entry) {
                Some(i) => {
                    at += i + entry.len() + 1;
                    stable.push(at.min(text.len()));
                }
                None => break,
            }
        }
    }
    Prompt {
        stable,
        tokens: count_tokens(&text),
        parts,
        dropped,
        recall,
        withheld,
        budget,
        text,
    }
}
