//! Focused views: a large batch file sent as its import block, an outline of its definitions,
//! and in full only the regions the step touches (each use or definition of a symbol the step
//! is about, with the function around it), so a three-function change to a 3,000-line module
//! does not spend the budget on the other 2,900 lines.
//!
//! A view only shapes what the model reads. Its edits still apply to the real file: a SEARCH
//! text from any line, shown or not, applies as long as it matches exactly once.

use std::fmt::Write as _;

use crate::lang::Skeleton;

/// Lines between two regions at most this far apart are shown too (they merge into one).
const MERGE_GAP: usize = 3;
/// Lines around a use outside any function (module-level code).
const WINDOW: usize = 3;
/// A view showing at least this share of the file's lines is not worth its outline: the file
/// is sent whole.
const WORTH_IT: f64 = 0.6;

/// A focused view of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Focused {
    /// The text of the view, as the prompt shows it (path line included).
    pub text: String,
    /// The line ranges shown in full (1-based, inclusive), in order.
    pub shown: Vec<(usize, usize)>,
    /// The file's line count.
    pub lines: usize,
}

/// The view of `source` around the byte offsets in `points`, or `None` when the whole file
/// should be sent instead (nothing to focus on, or the regions cover most of it). A region
/// never cuts through one of the `whole` ranges (secrets the redactor must see entire).
pub fn focused(
    path: &str,
    source: &str,
    skeleton: &Skeleton,
    points: &[usize],
    whole: &[std::ops::Range<usize>],
    whole_tokens: usize,
) -> Option<Focused> {
    if points.is_empty() || source.is_empty() {
        return None;
    }
    let starts: Vec<usize> = std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < source.len())
        .collect();
    let lines = starts.len();
    // 1-based line of a byte offset.
    let line_of = |byte: usize| starts.partition_point(|&s| s <= byte).max(1);

    let mut regions: Vec<(usize, usize)> = Vec::new();
    if skeleton.imports_end > 0 {
        regions.push((1, line_of(skeleton.imports_end - 1)));
    }
    for &p in points {
        let around = |callable: bool| {
            skeleton
                .definitions
                .iter()
                .filter(|d| d.callable == callable && d.range.start <= p && p < d.range.end)
                .min_by_key(|d| d.range.end - d.range.start)
        };
        // The function or method around the use; else a type small enough to show whole;
        // else the lines around it.
        let region = around(true)
            .or_else(|| {
                around(false).filter(|d| {
                    let span = line_of(d.range.end.saturating_sub(1)) - line_of(d.range.start);
                    span * 4 < lines
                })
            })
            .map(|d| {
                (
                    line_of(d.range.start),
                    line_of(d.range.end.saturating_sub(1)),
                )
            })
            .unwrap_or_else(|| {
                let l = line_of(p);
                (l.saturating_sub(WINDOW).max(1), (l + WINDOW).min(lines))
            });
        regions.push(region);
    }
    let merge = |mut regions: Vec<(usize, usize)>| {
        regions.sort_unstable();
        let mut shown: Vec<(usize, usize)> = Vec::new();
        for (a, b) in regions {
            match shown.last_mut() {
                Some(last) if a <= last.1 + MERGE_GAP + 1 => last.1 = last.1.max(b),
                _ => shown.push((a, b)),
            }
        }
        shown
    };
    let mut shown = merge(regions);
    // Widen a region over any secret it only partly shows, until none is cut.
    loop {
        let mut widened = false;
        for r in whole.iter().filter(|r| !r.is_empty()) {
            let (first, last) = (line_of(r.start), line_of(r.end - 1));
            for region in shown.iter_mut() {
                let overlaps = region.0 <= last && first <= region.1;
                if overlaps && (first < region.0 || region.1 < last) {
                    *region = (region.0.min(first), region.1.max(last));
                    widened = true;
                }
            }
        }
        if !widened {
            break;
        }
        shown = merge(shown);
    }
    let shown_lines: usize = shown.iter().map(|(a, b)| b - a + 1).sum();
    if shown_lines as f64 >= WORTH_IT * lines as f64 {
        return None;
    }

    let is_shown = |line: usize| shown.iter().any(|&(a, b)| a <= line && line <= b);
    let text_of = |(a, b): (usize, usize)| {
        let from = starts[a - 1];
        let to = starts.get(b).copied().unwrap_or(source.len());
        &source[from..to]
    };
    let ranges = shown
        .iter()
        .map(|(a, b)| {
            if a == b {
                format!("{a}")
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{path} (a focused view of a large file: {lines} lines, about {whole_tokens} tokens whole)"
    );
    let _ = writeln!(
        out,
        "Shown in full: lines {ranges}. The other lines are left out here, their definitions \
         listed in the outline. A SEARCH text must still match the real file exactly once, \
         and may come from any of its lines."
    );
    let outline: Vec<String> = skeleton
        .definitions
        .iter()
        .filter_map(|d| {
            // The line its header is on (after decorators).
            let header_line = line_of(d.range.start);
            let def_line = (header_line..=line_of(d.range.end.saturating_sub(1)))
                .find(|&l| {
                    text_of((l, l))
                        .trim_start()
                        .starts_with(first_word(&d.header))
                })
                .unwrap_or(header_line);
            (!is_shown(def_line))
                .then(|| format!("{def_line:>6}  {}{}", "    ".repeat(d.depth), d.header))
        })
        .collect();
    if !outline.is_empty() {
        let _ = writeln!(out, "\nOutline of what is left out (line, definition):");
        for l in &outline {
            let _ = writeln!(out, "{l}");
        }
    }
    for &(a, b) in &shown {
        let text = text_of((a, b));
        let fence = if text.contains("```") { "````" } else { "```" };
        let _ = write!(
            out,
            "\nLines {a}-{b}:\n{fence}\n{text}{}{fence}\n",
            if text.ends_with('\n') { "" } else { "\n" }
        );
    }
    Some(Focused {
        text: out,
        shown,
        lines,
    })
}

fn first_word(header: &str) -> &str {
    header.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;

    /// The skeleton of `source` as the file `path`, by its extension.
    fn skeleton_of(path: &str, source: &str) -> Skeleton {
        Language::from_path(std::path::Path::new(path))
            .and_then(|l| l.support().skeleton(source))
            .expect("parses")
    }

    fn module(functions: usize) -> String {
        let mut s = String::from("import os\nfrom datetime import datetime\n\n");
        for i in 0..functions {
            let _ = write!(
                s,
                "\n\ndef f{i}(x):\n    \"\"\"Function {i}.\"\"\"\n    y = x + {i}\n    return y\n"
            );
        }
        s.push_str("\n\nclass Big:\n    def method(self):\n        return datetime.now()\n");
        s
    }

    #[test]
    fn views_show_imports_the_touched_functions_and_an_outline() {
        let source = module(40);
        let skeleton = skeleton_of("m.py", &source);
        let use_at = source.find("datetime.now").expect("use");
        let f7 = source.find("y = x + 7").expect("f7");
        let view = focused("big.py", &source, &skeleton, &[use_at, f7], &[], 999).expect("a view");
        assert_eq!(view.shown.first(), Some(&(1, 2)), "{}", view.text);
        assert!(
            view.text
                .contains("def method(self):\n        return datetime.now()")
        );
        assert!(
            view.text
                .contains("def f7(x):\n    \"\"\"Function 7.\"\"\"")
        );
        assert!(!view.text.contains("y = x + 8"), "{}", view.text);
        assert!(view.text.contains("  def f8(x)\n"), "{}", view.text);
        // The class around the method is outlined (its header line is not shown).
        assert!(view.text.contains("  class Big\n"), "{}", view.text);
    }

    #[test]
    fn nothing_to_focus_on_or_most_of_the_file_means_whole() {
        let source = module(3);
        let skeleton = skeleton_of("m.py", &source);
        assert_eq!(focused("m.py", &source, &skeleton, &[], &[], 10), None);
        let everywhere: Vec<usize> = (0..3)
            .map(|i| source.find(&format!("x + {i}")).expect("use"))
            .collect();
        assert_eq!(
            focused("m.py", &source, &skeleton, &everywhere, &[], 10),
            None
        );
    }

    #[test]
    fn go_files_keep_their_package_and_imports() {
        let mut source = String::from("package store\n\nimport (\n\t\"fmt\"\n\t\"time\"\n)\n");
        for i in 0..30 {
            let _ = write!(
                source,
                "\n// F{i} does {i}.\nfunc F{i}(x int) int {{\n\treturn x + {i}\n}}\n"
            );
        }
        source.push_str("\nfunc Now() string {\n\treturn fmt.Sprint(time.Now())\n}\n");
        let skeleton = skeleton_of("store.go", &source);
        let at = source.find("time.Now()").expect("use");
        let view = focused("store.go", &source, &skeleton, &[at], &[], 999).expect("a view");
        assert!(view.text.contains("package store\n\nimport (\n\t\"fmt\""));
        assert!(
            view.text
                .contains("func Now() string {\n\treturn fmt.Sprint(time.Now())\n}")
        );
        assert!(
            view.text.contains("  func F3(x int) int\n"),
            "{}",
            view.text
        );
    }

    #[test]
    fn a_region_never_cuts_a_secret() {
        let mut source = module(30);
        source.push_str("\nKEY = '''\n-----BEGIN\nsecret line\n-----END\n'''\nLAST = 1\n");
        let skeleton = skeleton_of("m.py", &source);
        let secret =
            source.find("-----BEGIN").expect("key")..source.find("-----END").expect("end") + 8;
        let at = source.find("LAST").expect("use");
        let view = focused("k.py", &source, &skeleton, &[at], &[secret], 999).expect("a view");
        assert!(
            view.text.contains("-----BEGIN\nsecret line\n-----END"),
            "{}",
            view.text
        );
    }
}
