//! What a model sees for one batch: the step's instructions, the batch's files in full, the
//! contracts of the repository symbols those files use from outside the batch (signatures,
//! type declarations, the first paragraph of a docstring; never a body), and the ledger of
//! what earlier batches did.
//!
//! Everything is counted in real tokens (tiktoken's o200k_base). When a prompt is over its
//! budget, the contracts farthest from the batch in the graph are dropped first and the prompt
//! says which. Files that look like secrets are never included, and token-like strings are
//! redacted from all text. This module builds text; it never sends anything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Serialize;
use tree_sitter::Query;

use crate::facts::ReferenceKind;
use crate::graph::Graph;
use crate::lang::{self, Language};

/// The prompt template (Markdown, embedded).
const TEMPLATE: &str = include_str!("../prompts/batch.md");

/// One part of a prompt, with its size.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// `instructions`, `file`, `contract`, `ledger` or `template`.
    pub kind: &'static str,
    /// The file path or symbol ID it is about.
    pub name: String,
    pub text: String,
    pub tokens: usize,
}

/// A batch's prompt.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    pub parts: Vec<Part>,
    /// Contracts left out to fit the budget, farthest first.
    pub dropped: Vec<String>,
    /// Batch files never sent because they look like secrets.
    pub withheld: Vec<String>,
    pub tokens: usize,
    pub budget: usize,
    /// The full text sent as the user message.
    pub text: String,
}

fn bpe() -> Option<&'static tiktoken_rs::CoreBPE> {
    static BPE: OnceLock<Option<tiktoken_rs::CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Tokens in `text` (o200k_base, the encoding of current OpenAI models; close enough for
/// budgeting other providers' models too).
pub fn count_tokens(text: &str) -> usize {
    match bpe() {
        Some(b) => b.encode_with_special_tokens(text).len(),
        None => text.len().div_ceil(4),
    }
}

/// Files that must never be sent: environment files, keys, credentials.
pub fn is_secret_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.starts_with(".env")
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name.ends_with(".p12")
        || name.starts_with("id_rsa")
        || name.starts_with("id_ed25519")
        || name.starts_with("id_ecdsa")
        || name.starts_with("id_dsa")
        || name.contains("credentials")
        || name == ".netrc"
        || name == ".pgpass"
}

/// Replace token-like strings (API keys, private keys, passwords in URLs) with `[REDACTED]`.
pub fn redact(text: &str) -> String {
    static PATTERNS: OnceLock<Vec<regex::Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            // Private keys, whole blocks.
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
            // Provider keys and tokens.
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",
            r"\bgh[pousr]_[A-Za-z0-9]{20,}",
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\bxox[abpr]-[A-Za-z0-9\-]{10,}",
            r"\bAKIA[0-9A-Z]{16}\b",
            r"\bAIza[0-9A-Za-z_\-]{35}",
            // user:password@ in URLs.
            r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/:@]+:[^\s/@]+@",
        ]
        .iter()
        .filter_map(|p| regex::Regex::new(p).ok())
        .collect()
    });
    let mut out = text.to_string();
    for (i, re) in patterns.iter().enumerate() {
        out = if i + 1 == patterns.len() {
            // Keep the scheme and host readable.
            re.replace_all(&out, |c: &regex::Captures<'_>| {
                let m = &c[0];
                let scheme_end = m.find("://").map(|p| p + 3).unwrap_or(0);
                format!("{}[REDACTED]@", &m[..scheme_end])
            })
            .into_owned()
        } else {
            re.replace_all(&out, "[REDACTED]").into_owned()
        };
    }
    out
}

fn contracts_query(language: Language) -> Option<&'static Query> {
    static PY: OnceLock<Option<Query>> = OnceLock::new();
    static GO: OnceLock<Option<Query>> = OnceLock::new();
    let (cell, src) = match language {
        Language::Python => (&PY, include_str!("../queries/python/contracts.scm")),
        Language::Go => (&GO, include_str!("../queries/go/contracts.scm")),
    };
    cell.get_or_init(|| Query::new(&language.grammar(), src).ok())
        .as_ref()
}

/// The first paragraph of a docstring's text (quotes stripped).
fn first_paragraph(doc: &str) -> String {
    let body = doc
        .trim()
        .trim_start_matches(['r', 'u', 'b', 'R', 'U', 'B'])
        .trim_matches(|c| c == '"' || c == '\'')
        .trim();
    body.split("\n\n")
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The doc comment right above `start` (Go `//` lines), first paragraph.
fn go_doc(source: &str, start: usize) -> Option<String> {
    let mut lines = Vec::new();
    let mut end = source[..start].rfind('\n')?;
    loop {
        let line_start = source[..end].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = source[line_start..end].trim();
        let Some(text) = line.strip_prefix("//") else {
            break;
        };
        lines.push(text.trim().to_string());
        if line_start == 0 {
            break;
        }
        end = line_start - 1;
    }
    lines.reverse();
    let para: Vec<String> = lines.into_iter().take_while(|l| !l.is_empty()).collect();
    (!para.is_empty()).then(|| para.join(" "))
}

/// The contract of the definition whose name is at `name_start` in `source`.
pub fn extract_contract(language: Language, source: &str, name_start: usize) -> Option<String> {
    let query = contracts_query(language)?;
    let tree = lang::parse(language, source.as_bytes()).ok()?;
    let matches = lang::captures_in(query, &tree, source.as_bytes());
    let m = matches
        .iter()
        .find(|m| m.iter().any(|(n, r)| n == "name" && r.start == name_start))?;
    let (kind, whole) = m.iter().find(|(n, _)| n.starts_with("contract."))?;
    let body = m.iter().find(|(n, _)| n == "body").map(|(_, r)| r.clone());
    let text = |r: std::ops::Range<usize>| source[r].trim_end().to_string();
    match (language, kind.as_str()) {
        (Language::Python, _) => {
            // Start at decorators, if any.
            let node = tree
                .root_node()
                .descendant_for_byte_range(whole.start, whole.end)?;
            let start = match node.parent() {
                Some(p) if p.kind() == "decorated_definition" => p.start_byte(),
                _ => whole.start,
            };
            let body_range = body?;
            let header = text(start..body_range.start);
            let indent = " ".repeat(4);
            // The smallest node over the body's range can be the body's only statement (a
            // class whose body is its docstring): go up to the block.
            let mut body_node = tree
                .root_node()
                .descendant_for_byte_range(body_range.start, body_range.end)?;
            while body_node.kind() != "block" {
                body_node = body_node.parent()?;
            }
            let mut out = header;
            let mut cursor = body_node.walk();
            let children: Vec<_> = body_node.named_children(&mut cursor).collect();
            if let Some(doc) = children
                .first()
                .filter(|s| s.kind() == "expression_statement")
                .and_then(|s| s.named_child(0))
                .filter(|s| s.kind() == "string")
            {
                out.push_str(&format!(
                    "\n{indent}\"\"\"{}\"\"\"",
                    first_paragraph(&source[doc.byte_range()])
                ));
            }
            if kind == "contract.class" {
                for child in &children {
                    let def = if child.kind() == "decorated_definition" {
                        child.child_by_field_name("definition")
                    } else {
                        Some(*child)
                    };
                    match def.map(|d| d.kind()) {
                        Some("function_definition") => {
                            let d = def?;
                            let b = d.child_by_field_name("body")?;
                            let sig = source[child.start_byte()..b.start_byte()].trim_end();
                            out.push_str(&format!("\n{indent}{sig} ..."));
                        }
                        Some("expression_statement") => {
                            // Fields: `name: int = 0` assignments at class level.
                            let t = source[child.byte_range()].trim();
                            if let Some(first) = t.lines().next()
                                && child
                                    .named_child(0)
                                    .is_some_and(|a| a.kind() == "assignment")
                            {
                                out.push_str(&format!("\n{indent}{first}"));
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                out.push_str(&format!("\n{indent}..."));
            }
            Some(out)
        }
        (Language::Go, "contract.function") => {
            let sig = text(whole.start..body?.start);
            let doc = go_doc(source, whole.start)
                .map(|d| format!("// {d}\n"))
                .unwrap_or_default();
            Some(format!("{doc}{sig}"))
        }
        (Language::Go, _) => {
            let spec = text(whole.clone());
            let node = tree
                .root_node()
                .descendant_for_byte_range(whole.start, whole.end)?;
            let parent = node.parent()?;
            let full = match parent.kind() {
                "type_declaration" | "const_declaration" | "var_declaration"
                    if parent.named_child_count() == 1 =>
                {
                    text(parent.byte_range())
                }
                "type_declaration" => format!("type {spec}"),
                "const_declaration" => format!("const {spec}"),
                "var_declaration" => format!("var {spec}"),
                _ => spec,
            };
            let doc = go_doc(source, parent.start_byte())
                .or_else(|| go_doc(source, whole.start))
                .map(|d| format!("// {d}\n"))
                .unwrap_or_default();
            Some(format!("{doc}{full}"))
        }
    }
}

/// A contract of a symbol the batch uses.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    pub symbol: String,
    pub file: String,
    /// Distance from the batch in the dependency graph (1: a file the batch imports).
    pub hops: usize,
    pub text: String,
}

/// The contracts of every repository symbol the batch's files use that is defined outside
/// the batch, nearest first. `read` gives a file's current text.
pub fn batch_contracts(
    graph: &Graph,
    files: &[String],
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<Contract> {
    let in_batch: BTreeSet<usize> = files.iter().filter_map(|f| graph.file_id(f)).collect();
    let start: Vec<usize> = in_batch.iter().copied().collect();
    let hops: BTreeMap<usize, usize> = graph
        .transitive_dependencies(&start, None)
        .into_iter()
        .collect();
    let mut used: Vec<(usize, &str, usize)> = Vec::new();
    for (sid, sym) in graph.symbols.iter().enumerate() {
        if in_batch.contains(&sym.file) || is_secret_path(&graph.files[sym.file].path) {
            continue;
        }
        let referenced = graph
            .references(sid)
            .iter()
            .any(|r| in_batch.contains(&r.file) && r.kind != ReferenceKind::Definition);
        if referenced {
            let h = hops.get(&sym.file).copied().unwrap_or(usize::MAX);
            used.push((h, sym.id.as_str(), sid));
        }
    }
    used.sort();
    let mut texts: BTreeMap<usize, Option<String>> = BTreeMap::new();
    used.into_iter()
        .filter_map(|(h, id, sid)| {
            let sym = &graph.symbols[sid];
            let path = &graph.files[sym.file].path;
            let source = texts
                .entry(sym.file)
                .or_insert_with(|| read(path))
                .as_ref()?;
            let text = extract_contract(
                graph.files[sym.file].language,
                source,
                sym.span.start as usize,
            )?;
            Some(Contract {
                symbol: id.to_string(),
                file: path.clone(),
                hops: h,
                text,
            })
        })
        .collect()
}

/// Assemble a batch's prompt within `budget` tokens.
pub fn build_prompt(
    instructions: &str,
    files: &[String],
    graph: &Graph,
    read: &dyn Fn(&str) -> Option<String>,
    ledger: &[String],
    budget: usize,
) -> Prompt {
    let mut withheld = Vec::new();
    let mut file_parts = Vec::new();
    for f in files {
        if is_secret_path(f) {
            withheld.push(f.clone());
            continue;
        }
        let text = redact(&read(f).unwrap_or_default());
        let fence = if text.contains("```") { "````" } else { "```" };
        let block = format!(
            "{f}\n{fence}\n{text}{}{fence}\n",
            if text.ends_with('\n') { "" } else { "\n" }
        );
        file_parts.push(Part {
            kind: "file",
            name: f.clone(),
            tokens: count_tokens(&block),
            text: block,
        });
    }
    let ledger_text = if ledger.is_empty() {
        "None yet: this is the first batch.".to_string()
    } else {
        ledger
            .iter()
            .map(|l| format!("- {}\n", redact(l)))
            .collect()
    };
    let mut contracts: Vec<Part> = batch_contracts(graph, files, read)
        .into_iter()
        .map(|c| {
            let block = format!("{} ({})\n```\n{}\n```\n", c.symbol, c.file, redact(&c.text));
            Part {
                kind: "contract",
                name: c.symbol,
                tokens: count_tokens(&block),
                text: block,
            }
        })
        .collect();
    let instructions = redact(instructions.trim());
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
        text: ledger_text,
    });
    parts.extend(contracts);
    parts.extend(file_parts);
    Prompt {
        tokens: count_tokens(&text),
        parts,
        dropped,
        withheld,
        budget,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_queries_compile() {
        assert!(
            contracts_query(Language::Python).is_some(),
            "queries/python/contracts.scm"
        );
        assert!(
            contracts_query(Language::Go).is_some(),
            "queries/go/contracts.scm"
        );
    }

    #[test]
    fn python_contracts_have_no_bodies() {
        let src = "class Order:\n    \"\"\"A customer's order.\n\n    Long details.\n    \"\"\"\n\n    status: str = \"new\"\n\n    def total(self) -> int:\n        \"\"\"Sum.\"\"\"\n        return secret_body()\n\n\n@cache\ndef fetch_order(order_id: int) -> Order:\n    \"\"\"Return the order.\"\"\"\n    return secret_body()\n";
        let class = extract_contract(Language::Python, src, 6).expect("class");
        assert_eq!(
            class,
            "class Order:\n    \"\"\"A customer's order.\"\"\"\n    status: str = \"new\"\n    def total(self) -> int: ..."
        );
        let at = src.find("fetch_order").expect("name");
        let func = extract_contract(Language::Python, src, at).expect("func");
        assert_eq!(
            func,
            "@cache\ndef fetch_order(order_id: int) -> Order:\n    \"\"\"Return the order.\"\"\"\n    ..."
        );
        assert!(!class.contains("secret_body") && !func.contains("secret_body"));
    }

    #[test]
    fn go_contracts_have_no_bodies() {
        let src = "package store\n\n// FetchOrder looks up an order.\n//\n// More.\nfunc FetchOrder(id string) (Order, error) {\n\treturn secret()\n}\n\n// Order is a purchase.\ntype Order struct {\n\tID string\n}\n";
        let at = src.find("FetchOrder(").expect("name");
        assert_eq!(
            extract_contract(Language::Go, src, at).as_deref(),
            Some("// FetchOrder looks up an order.\nfunc FetchOrder(id string) (Order, error)")
        );
        let at = src.find("Order struct").expect("type");
        assert_eq!(
            extract_contract(Language::Go, src, at).as_deref(),
            Some("// Order is a purchase.\ntype Order struct {\n\tID string\n}")
        );
    }

    #[test]
    fn secrets_are_withheld_and_redacted() {
        assert!(is_secret_path(".env.local"));
        assert!(is_secret_path("deploy/id_rsa"));
        assert!(is_secret_path("certs/server.pem"));
        assert!(is_secret_path("aws/credentials"));
        assert!(!is_secret_path("src/environment.py"));
        let text = "key = \"sk-proj-abcdefghijklmnop1234\"\nurl = \"postgres://admin:hunter2@db:5432/x\"\ntoken = \"ghp_abcdefghijklmnopqrstuvwxyz012345\"\n";
        let out = redact(text);
        assert!(!out.contains("sk-proj-abcdef"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("ghp_abc"), "{out}");
        assert!(out.contains("postgres://[REDACTED]@db:5432/x"), "{out}");
    }

    #[test]
    fn tokens_are_counted_with_a_real_tokenizer() {
        assert_eq!(count_tokens(""), 0);
        let n = count_tokens("def fetch_order(order_id: int) -> Order:");
        assert!((5..20).contains(&n), "{n}");
    }
}
