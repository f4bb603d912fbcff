//! What the redaction of prompts would take out of a folder's text files: a count per family
//! and every place, to measure false positives on real code:
//!
//! ```sh
//! cargo run --release --example redaction_scan -- path/to/repository
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use git_ripple::context::Redactor;

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".to_string());
    let mut files = 0;
    let mut per_family: BTreeMap<String, usize> = BTreeMap::new();
    let mut stack = vec![Path::new(&root).to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != ".git") {
                    stack.push(path);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            files += 1;
            let mut redactor = Redactor::new();
            let redacted = redactor.redact(&text);
            for (placeholder, _) in redactor.secrets() {
                let family = placeholder
                    .trim_start_matches("[REDACTED-")
                    .trim_end_matches(']')
                    .rsplit_once('-')
                    .map(|(f, _)| f.to_string())
                    .unwrap_or_default();
                *per_family.entry(family).or_default() += 1;
                let line = redacted
                    .lines()
                    .position(|l| l.contains(placeholder.as_str()))
                    .map_or(0, |i| i + 1);
                println!("{}:{line}: {placeholder}", path.display());
            }
        }
    }
    let total: usize = per_family.values().sum();
    println!("{files} text files, {total} values redacted: {per_family:?}");
}
