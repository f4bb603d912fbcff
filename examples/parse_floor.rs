//! The parse-only floor for `scripts/bench-vs-ast-grep`: list the files `git ripple graph`
//! would (the same scan), read each and parse it with tree-sitter on the same thread pool,
//! and nothing else. The ratio of `graph` to this says what our own work costs on top of
//! parsing.
//!
//! ```sh
//! cargo run --release --example parse_floor -- path/to/repo
//! ```

use rayon::prelude::*;

fn main() -> miette::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let repo = git_ripple::scan::Repository::discover(std::path::Path::new(&dir))?;
    let scan = git_ripple::scan::scan_repo(&repo)?;
    let (parsed, bytes) = scan
        .sources
        .par_iter()
        .map(|s| {
            let Ok(text) = std::fs::read(repo.root.join(&s.path)) else {
                return (0, 0);
            };
            let ok = git_ripple::lang::parse(s.language, &text).is_ok();
            (usize::from(ok), text.len())
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "parsed {parsed} of {} files, {bytes} bytes",
        scan.sources.len()
    );
    Ok(())
}
