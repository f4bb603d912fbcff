//! `git ripple cache`: the facts cache (`.git/ripple/facts/`, shared by worktrees) in numbers,
//! and a way to drop it.

use std::path::Path;

use clap::{Args, Subcommand};
use miette::{IntoDiagnostic, Result};

use super::exit;
use super::render::RunFormat;
use crate::graph::FactsCache;
use crate::scan::Repository;

#[derive(Debug, Args)]
#[command(after_help = "\
Entries are keyed by a file's path and content (its git blob id) and by the build of
git-ripple that wrote them; a damaged, foreign or old entry is ignored and rewritten. Clearing
only costs the next graph build its parse time.

Examples:
  git ripple cache status
  git ripple cache clear")]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Where the cache is, how many entries it has and their size.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RunFormat::Text)]
        format: RunFormat,
    },
    /// Remove every entry.
    Clear,
}

pub fn run_cache(cwd: &Path, args: CacheArgs) -> Result<u8> {
    let repo = Repository::discover(cwd)?;
    let cache = FactsCache::open(repo.repo.common_dir());
    match args.action {
        CacheAction::Status { format } => {
            let stats = cache.stats();
            match format {
                RunFormat::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "dir": cache.dir(),
                        "entries": stats.entries,
                        "bytes": stats.bytes,
                    }))
                    .into_diagnostic()?
                ),
                RunFormat::Text => outln!(
                    "facts cache  {}\nentries      {}\nsize         {:.1} MB",
                    cache.dir().display(),
                    stats.entries,
                    stats.bytes as f64 / 1e6
                ),
            }
        }
        CacheAction::Clear => {
            let stats = cache.stats();
            cache.clear().into_diagnostic()?;
            outln!("Removed {} facts cache entries.", stats.entries);
        }
    }
    Ok(exit::SUCCESS)
}
