//! Compiling the embedded `.scm` queries and running them over a tree.
//!
//! Queries are data: each language keeps its patterns in `queries/<lang>/*.scm`, embedded with
//! `include_str!`. A query that does not compile is reported as an error naming the file and the
//! position inside it, never a panic, and one unit test compiles every bundled query.

use tree_sitter::{Node, Query, QueryCursor, StreamingIterator};

/// A bundled query failed to compile. Only a broken build can produce this; stop.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("query {file} does not compile at {row}:{column}: {message}")]
#[diagnostic(
    code(ripple::query),
    help("this is a bug in git-ripple's bundled queries")
)]
pub struct QueryError {
    /// The bundled query file.
    pub file: &'static str,
    /// 1-based line in it.
    pub row: usize,
    /// 1-based column.
    pub column: usize,
    /// tree-sitter's message.
    pub message: String,
}

/// Where a query written by a user holds a form that tree-sitter's query compiler (0.27) does
/// not survive: a field whose pattern is only a predicate (`attribute: (#eq? @m "x")`, also
/// inside groups or alternations) trips an assertion that aborts the process. Refused before
/// compiling, with the byte offset of the predicate and why. Strings and comments are skipped.
pub fn unsafe_form(source: &str) -> Option<(usize, &'static str)> {
    let bytes = source.as_bytes();
    let skip_blank = |mut j: usize| {
        loop {
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b';' {
                while j < bytes.len() && bytes[j] != b'\n' {
                    j += 1;
                }
                continue;
            }
            return j;
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'#' | b'@' | b'!' => {
                // A predicate, capture or negated field name: not a field prefix.
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b"_-.?!".contains(&bytes[i]))
                {
                    i += 1;
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let mut j = skip_blank(i);
                if j < bytes.len() && bytes[j] == b':' {
                    j = skip_blank(j + 1);
                    while j < bytes.len() && (bytes[j] == b'(' || bytes[j] == b'[') {
                        j = skip_blank(j + 1);
                    }
                    if j < bytes.len() && bytes[j] == b'#' {
                        return Some((
                            j,
                            "a field must be followed by a node pattern, not a predicate (put the predicate after the pattern it tests)",
                        ));
                    }
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Compile one embedded query, naming its file in the error.
pub(crate) fn compile(
    language: &tree_sitter::Language,
    file: &'static str,
    source: &str,
) -> Result<Query, QueryError> {
    Query::new(language, source).map_err(|e| QueryError {
        file,
        row: e.row + 1,
        column: e.column + 1,
        message: e.message,
    })
}

/// The four query files of a language (`imports`, `definitions`, `references`, `locals`), as
/// (name, embedded text), for [`compile_combined`].
macro_rules! bundled_queries {
    ($lang:literal) => {
        [
            $crate::lang::query::bundled_queries!(@one $lang, "imports"),
            $crate::lang::query::bundled_queries!(@one $lang, "definitions"),
            $crate::lang::query::bundled_queries!(@one $lang, "references"),
            $crate::lang::query::bundled_queries!(@one $lang, "locals"),
        ]
    };
    (@one $lang:literal, $file:literal) => {
        (
            concat!("queries/", $lang, "/", $file, ".scm"),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/queries/",
                $lang,
                "/",
                $file,
                ".scm"
            )),
        )
    };
}
pub(crate) use bundled_queries;

/// Compile a language's query files as one query, so that extraction walks each tree once
/// (one traversal instead of one per file roughly halves the time spent in queries). On error,
/// the files are compiled one by one to name the one at fault and the position inside it.
pub(crate) fn compile_combined(
    language: &tree_sitter::Language,
    files: &[(&'static str, &'static str)],
) -> Result<Query, QueryError> {
    let combined: String = files.iter().map(|(_, src)| format!("{src}\n")).collect();
    Query::new(language, &combined).map_err(|e| {
        files
            .iter()
            .find_map(|(file, src)| compile(language, file, src).err())
            .unwrap_or(QueryError {
                file: "(combined queries)",
                row: e.row + 1,
                column: e.column + 1,
                message: e.message,
            })
    })
}

/// The compiled queries of one language, built once per process and shared by every thread
/// (a `Query` is immutable; only cursors are per-thread).
pub trait QuerySet: Sized + Send + Sync + 'static {
    /// Compile every query of the set.
    fn compile_all() -> Result<Self, QueryError>;
}

/// One match: its captures as (capture name, node).
pub(crate) struct Match<'q, 't> {
    pub captures: Vec<(&'q str, Node<'t>)>,
}

impl<'t> Match<'_, 't> {
    /// The first node captured under `name`.
    pub fn get(&self, name: &str) -> Option<Node<'t>> {
        self.captures
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, node)| *node)
    }
}

/// Run `query` over `root`, with text predicates (`#eq?`, `#match?`) checked against `source`.
pub(crate) fn run<'q, 't>(query: &'q Query, root: Node<'t>, source: &[u8]) -> Vec<Match<'q, 't>> {
    let names = query.capture_names();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, root, source);
    let mut out = Vec::new();
    while let Some(m) = matches.next() {
        out.push(Match {
            captures: m
                .captures()
                .iter()
                .map(|c| (names[c.index as usize], c.node))
                .collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_on_a_predicate_is_refused_before_tree_sitter_sees_it() {
        let bad =
            r#"((call function: (attribute object: (identifier) @m attribute: (#eq? @m "time"))))"#;
        let (at, why) = unsafe_form(bad).expect("refused");
        assert_eq!(&bad[at..at + 4], "#eq?");
        assert!(why.contains("field"));
        assert!(unsafe_form("(pair key: [ ( #eq? @k \"x\") ])").is_some());
        assert!(unsafe_form("(pair key: ; note\n (#eq? @k \"x\"))").is_some());
        for fine in [
            r#"((call function: (attribute object: (identifier) @m attribute: (identifier) @f)) (#eq? @m "time"))"#,
            r#"((string) @s (#match? @s "key: (#x"))"#,
            "(function_definition !return_type name: (identifier) @n)",
            "; field: (#eq?)\n(identifier) @i",
        ] {
            assert_eq!(unsafe_form(fine), None, "{fine}");
        }
    }
}
