//! `rename`: the definition and every true reference the graph resolves, nothing else.
//!
//! A place is renamed only if the graph lists it as a reference of the symbol *and* its text is
//! the old name (so an `as` alias, which the graph also lists, keeps its own name). Comments and
//! docstrings are left alone except exact whole-word mentions in the definition's own
//! docstring or doc comment.
//!
//! Expand / migrate / contract: when a rename spans several batches, the first (expand) keeps
//! the old name as a deprecated alias next to the definition, and Python re-exports
//! (`__init__.py` imports, `__all__`) export both names; callers move in the migrate batches;
//! the last batch (contract) removes exactly the text the expand batch added.

use std::collections::BTreeMap;

use crate::edit::{ChangeSet, FileChange, TextEdit, apply_text_edits};
use crate::facts::{Definition, ImportKind, ReferenceKind, SymbolKind};
use crate::graph::Graph;
use crate::lang::Language;
use crate::plan::Phase;
use crate::recipe::RenameStep;

use super::{BatchInput, RuleContext, RuleError, Transformed, read, word_occurrences};

fn definition(graph: &Graph, symbol: usize) -> Option<&Definition> {
    let sym = &graph.symbols[symbol];
    graph.facts[sym.file]
        .definitions
        .iter()
        .find(|d| d.span == sym.span)
}

/// The comment that marks a deprecated alias (also how the contract batch finds it again).
fn alias_comment(language: Language, new: &str) -> String {
    match language {
        Language::Python => {
            format!(
                "# Deprecated alias: use {new}. git-ripple removes it once every caller has moved."
            )
        }
        Language::Go => format!(
            "// Deprecated: use {new}. git-ripple removes this alias once every caller has moved."
        ),
    }
}

/// The text inserted right after the definition to keep the old name, and how many newlines
/// precede it.
fn alias_block(
    language: Language,
    def: &Definition,
    source: &str,
    old: &str,
    new: &str,
) -> Result<String, RuleError> {
    let line_start = source[..def.range.0 as usize]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let indent: String = source[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let comment = alias_comment(language, new);
    match language {
        Language::Python => {
            let blank = if indent.is_empty() { "\n\n\n" } else { "\n\n" };
            Ok(format!("{blank}{indent}{comment}\n{indent}{old} = {new}"))
        }
        Language::Go => {
            let decl = &source[def.range.0 as usize..def.range.1 as usize];
            let grouped = !["type ", "const ", "func ", "var "]
                .iter()
                .any(|k| decl.starts_with(k));
            let spec = match def.kind {
                SymbolKind::Type | SymbolKind::Struct | SymbolKind::Interface => {
                    format!("{old} = {new}")
                }
                SymbolKind::Constant => format!("{old} = {new}"),
                SymbolKind::Function | SymbolKind::Method => {
                    if let Some(forwarder) = go_forwarder(def, source, old, new)? {
                        return Ok(format!("\n\n{comment}\n{forwarder}"));
                    }
                    format!("{old} = {new}")
                }
                other => {
                    return Err(RuleError::Unsupported(format!(
                        "cannot keep a Go {} as an alias; use compat = \"none\"",
                        other.name()
                    )));
                }
            };
            if grouped {
                Ok(format!("\n{indent}{comment}\n{indent}{spec}"))
            } else {
                let keyword = match def.kind {
                    SymbolKind::Constant => "const",
                    SymbolKind::Function => "var",
                    _ => "type",
                };
                Ok(format!("\n\n{comment}\n{keyword} {spec}"))
            }
        }
    }
}

/// A forwarding function or method for the old name, when a variable cannot stand in for it
/// (a method, or a generic function): `func (s *Store) Old(id string) (T, error) { return
/// s.New(id) }`. `None` for a plain function, which `var Old = New` aliases exactly.
fn go_forwarder(
    def: &Definition,
    source: &str,
    old: &str,
    new: &str,
) -> Result<Option<String>, RuleError> {
    let tree = crate::lang::parse(Language::Go, source.as_bytes())?;
    let Some(node) = declaration(&tree, def, &["function_declaration", "method_declaration"])
    else {
        return Ok(None);
    };
    let text = |n: tree_sitter::Node<'_>| &source[n.byte_range()];
    let receiver = node.child_by_field_name("receiver");
    let type_params = node.child_by_field_name("type_parameters");
    if receiver.is_none() && type_params.is_none() {
        return Ok(None);
    }
    let mut used: Vec<String> = Vec::new();
    let fresh = |base: &str, used: &mut Vec<String>| {
        let mut name = base.to_string();
        let mut i = 0;
        while used.contains(&name) {
            i += 1;
            name = format!("{base}{i}");
        }
        used.push(name.clone());
        name
    };
    // Parameters: keep their names, invent one where there is none (or `_`).
    let mut params = Vec::new();
    let mut args = Vec::new();
    if let Some(list) = node.child_by_field_name("parameters") {
        let mut cursor = list.walk();
        for p in list.named_children(&mut cursor) {
            let Some(ty) = p.child_by_field_name("type") else {
                continue;
            };
            let variadic = p.kind() == "variadic_parameter_declaration";
            let mut names: Vec<String> = {
                let mut c = p.walk();
                p.children_by_field_name("name", &mut c)
                    .map(|n| text(n).to_string())
                    .collect()
            };
            if names.is_empty() {
                names.push("_".to_string());
            }
            let names: Vec<String> = names
                .into_iter()
                .map(|n| {
                    if n == "_" {
                        fresh("p", &mut used)
                    } else {
                        used.push(n.clone());
                        n
                    }
                })
                .collect();
            let dots = if variadic { "..." } else { "" };
            params.push(format!("{} {dots}{}", names.join(", "), text(ty)));
            for n in names {
                args.push(format!("{n}{dots}"));
            }
        }
    }
    let recv = match receiver {
        Some(list) => {
            let Some(p) = list.named_child(0) else {
                return Ok(None);
            };
            let Some(ty) = p.child_by_field_name("type") else {
                return Ok(None);
            };
            let name = p
                .child_by_field_name("name")
                .map(|n| text(n).to_string())
                .filter(|n| n != "_")
                .unwrap_or_else(|| fresh("r", &mut used));
            Some((name, text(ty).to_string()))
        }
        None => None,
    };
    let (tparams, targs) = match type_params {
        Some(list) => {
            let mut names = Vec::new();
            let mut cursor = list.walk();
            for d in list.named_children(&mut cursor) {
                let mut c = d.walk();
                names.extend(
                    d.children_by_field_name("name", &mut c)
                        .map(|n| text(n).to_string()),
                );
            }
            (text(list).to_string(), format!("[{}]", names.join(", ")))
        }
        None => (String::new(), String::new()),
    };
    let result = node
        .child_by_field_name("result")
        .map(|r| format!(" {}", text(r)))
        .unwrap_or_default();
    let ret = if result.is_empty() { "" } else { "return " };
    let (head, call) = match &recv {
        Some((name, ty)) => (format!("func ({name} {ty}) "), format!("{name}.")),
        None => ("func ".to_string(), String::new()),
    };
    Ok(Some(format!(
        "{head}{old}{tparams}({}){result} {{ {ret}{call}{new}{targs}({}) }}",
        params.join(", "),
        args.join(", ")
    )))
}

pub(super) fn rename(
    ctx: &RuleContext<'_>,
    step: &RenameStep,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RuleError> {
    let graph = ctx.graph;
    let sid = graph.symbol_id(&step.symbol.value).ok_or_else(|| {
        RuleError::Stale(format!(
            "the symbol `{}` is no longer in the repository",
            step.symbol.value
        ))
    })?;
    let sym = &graph.symbols[sid];
    let def_path = graph.files[sym.file].path.clone();
    let language = graph.files[sym.file].language;
    let (old, new) = (sym.name.as_str(), step.to.value.as_str());
    if batch.phase == Some(Phase::Contract) {
        return contract(ctx, language, &def_path, old, new, batch);
    }
    let def = definition(graph, sid)
        .ok_or_else(|| RuleError::Stale(format!("the definition of `{old}` moved")))?;
    let keep_old = batch.phase.is_some();

    // Literals that set a field named after the renamed type (Go embedding).
    let reader = |p: &str| read(ctx, p).ok();
    let field_uses = graph.embedded_field_uses(sid, &reader);
    let mut changes = ChangeSet::default();
    let mut renamed = 0;
    for path in batch.files {
        let Some(fid) = graph.file_id(path) else {
            continue;
        };
        let source = read(ctx, path)?;
        let imported_names: BTreeMap<u32, bool> = graph.facts[fid]
            .imports
            .iter()
            .filter_map(|i| match &i.kind {
                ImportKind::From { names, .. } => Some(names),
                _ => None,
            })
            .flatten()
            .map(|n| (n.span.start, n.alias.is_some()))
            .collect();
        let reexports = keep_old
            && language == Language::Python
            && *path != def_path
            && (path.ends_with("__init__.py")
                || graph
                    .references(sid)
                    .iter()
                    .any(|r| r.file == fid && r.kind == ReferenceKind::AllEntry));
        let mut edits = Vec::new();
        for r in graph.references(sid).iter().filter(|r| r.file == fid) {
            let (s, e) = (r.span.start as usize, r.span.end as usize);
            if source.get(s..e) != Some(old) {
                // An alias (`import x as y` lists `y`'s uses too) or a stale span.
                continue;
            }
            let text = match r.kind {
                ReferenceKind::Import
                    if reexports && imported_names.get(&r.span.start) == Some(&false) =>
                {
                    format!("{new}, {old}")
                }
                ReferenceKind::AllEntry if reexports => {
                    let quote = source[..s].chars().next_back().unwrap_or('"');
                    format!("{new}{quote}, {quote}{old}")
                }
                _ => new.to_string(),
            };
            edits.push(TextEdit::new(s, e, text));
            renamed += 1;
        }
        for u in field_uses.iter().filter(|u| u.literal_file == fid) {
            for &(s, e) in &u.keys {
                if source.get(s..e) == Some(old) {
                    edits.push(TextEdit::new(s, e, new));
                    renamed += 1;
                }
            }
        }
        if *path == def_path {
            edits.extend(doc_mentions(language, def, &source, old, new)?);
            if batch.phase == Some(Phase::Expand) {
                let block = alias_block(language, def, &source, old, new)?;
                let at = def.range.1 as usize;
                edits.push(TextEdit::new(at, at, block));
            }
        }
        if edits.is_empty() {
            continue;
        }
        let after = apply_text_edits(path, &source, edits)?;
        changes.changes.push(FileChange {
            path: path.clone(),
            before: Some(source),
            after: Some(after),
        });
    }
    let files = changes.changes.len();
    let mut summary = format!(
        "Rename `{old}` to `{new}`: {renamed} place{} in {files} file{}.",
        if renamed == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" }
    );
    match batch.phase {
        Some(Phase::Expand) => summary.push_str(&format!(
            " `{old}` stays as a deprecated alias until the last batch of this step."
        )),
        Some(Phase::Migrate) => summary.push_str(" Callers move to the new name."),
        _ => {}
    }
    Ok(Transformed {
        changes,
        summary,
        notes: Vec::new(),
    })
}

/// Whole-word mentions of the old name in the definition's own docstring (Python) or doc
/// comment (Go).
fn doc_mentions(
    language: Language,
    def: &Definition,
    source: &str,
    old: &str,
    new: &str,
) -> Result<Vec<TextEdit>, RuleError> {
    let range = match language {
        Language::Python => python_docstring(def, source)?,
        Language::Go => go_doc_comment(def, source),
    };
    Ok(range
        .map(|r| {
            word_occurrences(source, r, old)
                .into_iter()
                .map(|at| TextEdit::new(at, at + old.len(), new))
                .collect()
        })
        .unwrap_or_default())
}

/// The node of one of `kinds` that declares `def` (found up from its name).
fn declaration<'t>(
    tree: &'t tree_sitter::Tree,
    def: &Definition,
    kinds: &[&str],
) -> Option<tree_sitter::Node<'t>> {
    let mut node = tree
        .root_node()
        .descendant_for_byte_range(def.span.start as usize, def.span.end as usize)?;
    while !kinds.contains(&node.kind()) {
        node = node.parent()?;
    }
    Some(node)
}

fn python_docstring(
    def: &Definition,
    source: &str,
) -> Result<Option<std::ops::Range<usize>>, RuleError> {
    let tree = crate::lang::parse(Language::Python, source.as_bytes())?;
    let Some(node) = declaration(&tree, def, &["function_definition", "class_definition"]) else {
        return Ok(None);
    };
    let doc = node
        .child_by_field_name("body")
        .and_then(|b| b.named_child(0))
        .filter(|s| s.kind() == "expression_statement")
        .and_then(|s| s.named_child(0))
        .filter(|s| s.kind() == "string");
    Ok(doc.map(|d| d.byte_range()))
}

fn go_doc_comment(def: &Definition, source: &str) -> Option<std::ops::Range<usize>> {
    let def_line_start = source[..def.range.0 as usize]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut start = def_line_start;
    while start > 0 {
        let prev_end = start - 1;
        let prev_start = source[..prev_end].rfind('\n').map(|i| i + 1).unwrap_or(0);
        if source[prev_start..prev_end].trim_start().starts_with("//") {
            start = prev_start;
        } else {
            break;
        }
    }
    (start < def_line_start).then_some(start..def_line_start)
}

/// Remove what the expand batch added: the alias after the definition and the old name kept
/// in re-exports.
fn contract(
    ctx: &RuleContext<'_>,
    language: Language,
    def_path: &str,
    old: &str,
    new: &str,
    batch: &BatchInput<'_>,
) -> Result<Transformed, RuleError> {
    let mut changes = ChangeSet::default();
    let comment = alias_comment(language, new);
    for path in batch.files {
        let source = read(ctx, path)?;
        let mut after = source.clone();
        if path == def_path {
            after = remove_alias(&after, &comment, old, new).ok_or_else(|| {
                RuleError::Stale(format!(
                    "the deprecated alias `{old}` is no longer where git-ripple put it in {path}"
                ))
            })?;
        } else {
            for kept in [
                format!("{new}, {old}"),
                format!("{new}\", \"{old}"),
                format!("{new}', '{old}"),
            ] {
                // Each pattern is what the expand batch wrote where the old name was.
                let keep = new;
                let mut out = String::with_capacity(after.len());
                let mut rest = after.as_str();
                while let Some(i) = rest.find(&kept) {
                    let at = after.len() - rest.len() + i;
                    if super::is_whole_word(&after, at, kept.len()) {
                        out.push_str(&rest[..i]);
                        out.push_str(keep);
                    } else {
                        out.push_str(&rest[..i + kept.len()]);
                    }
                    rest = &rest[i + kept.len()..];
                }
                out.push_str(rest);
                after = out;
            }
        }
        if after != source {
            changes.changes.push(FileChange {
                path: path.clone(),
                before: Some(source),
                after: Some(after),
            });
        }
    }
    Ok(Transformed {
        summary: format!("Remove the deprecated alias `{old}`: every caller uses `{new}` now."),
        changes,
        notes: Vec::new(),
    })
}

/// The source without the alias block (comment line, alias line and the blank lines before
/// them), or `None` when it is not there.
fn remove_alias(source: &str, comment: &str, old: &str, new: &str) -> Option<String> {
    if source.contains("\r\n") {
        // Work on `\n` line endings; the caller restores CRLF files.
        return remove_alias(&source.replace("\r\n", "\n"), comment, old, new);
    }
    let mut from = 0;
    while let Some(i) = source[from..].find(comment) {
        let at = from + i;
        from = at + comment.len();
        let line_start = source[..at].rfind('\n').map(|j| j + 1).unwrap_or(0);
        let indent = &source[line_start..at];
        if !indent.chars().all(|c| c == ' ' || c == '\t') {
            continue;
        }
        let rest = &source[at + comment.len()..];
        let Some(next) = rest.strip_prefix('\n') else {
            continue;
        };
        let Some(next) = next.strip_prefix(indent) else {
            continue;
        };
        // The alias line: `old = new`, `var Old = New`, … or a one-line forwarding function.
        let alias_line = &next[..next.find('\n').unwrap_or(next.len())];
        let has_word =
            |w: &str| !super::word_occurrences(alias_line, 0..alias_line.len(), w).is_empty();
        if !has_word(old) || !has_word(new) {
            continue;
        }
        let end = at + comment.len() + 1 + indent.len() + alias_line.len();
        // The newlines the expand batch put between the definition's last character and the
        // comment (one to three): the definition itself never ends with a newline.
        let mut start = line_start;
        let mut newlines = 0;
        while newlines < 3 && start > 0 && source.as_bytes()[start - 1] == b'\n' {
            start -= 1;
            newlines += 1;
        }
        let mut out = String::with_capacity(source.len());
        out.push_str(&source[..start]);
        out.push_str(&source[end..]);
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_methods_forward_with_their_parameters() {
        let src = "package util\n\ntype Box struct{ V int }\n\nfunc (*Box) Add(_ int, more ...int) int {\n\treturn 0\n}\n";
        let facts =
            crate::lang::extract_facts(Language::Go, "u.go", src.as_bytes()).expect("facts");
        let def = facts
            .definitions
            .iter()
            .find(|d| d.name == "Add")
            .expect("Add");
        let fwd = go_forwarder(def, src, "Add", "Plus").expect("parse");
        assert_eq!(
            fwd.as_deref(),
            Some("func (r *Box) Add(p int, more ...int) int { return r.Plus(p, more...) }")
        );
    }

    #[test]
    fn alias_block_round_trips() {
        let source = "def load_order(x):\n    return x\n\n\ndef other():\n    pass\n";
        let comment = alias_comment(Language::Python, "load_order");
        let with_alias = source.replacen(
            "return x",
            &format!("return x\n\n\n{comment}\nfetch_order = load_order"),
            1,
        );
        let back = remove_alias(&with_alias, &comment, "fetch_order", "load_order");
        assert_eq!(back.as_deref(), Some(source));
    }
}
