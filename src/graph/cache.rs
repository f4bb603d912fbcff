//! The facts cache: a file's facts depend only on its path and its bytes, so they are kept by
//! (path, blob id) and a second graph build of an unchanged file skips parsing it.
//!
//! Entries live in the repository's common git folder (`ripple/facts/`), shared by its
//! worktrees and branches. Each is one file, written to a temporary name and renamed into
//! place, so a killed process leaves no half entry; each starts with a header naming the format
//! and the build of git-ripple that wrote it and a checksum of the rest, so an entry from
//! another build, an old format or a damaged disk is ignored (and rewritten), never trusted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::lang::facts::FileFacts;

/// What an entry's first line says.
const MAGIC: &str = "git-ripple facts v1";

/// The facts cache of one repository.
#[derive(Debug, Clone)]
pub struct FactsCache {
    dir: PathBuf,
}

/// Entries and bytes, for `git ripple cache status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// How many entries.
    pub entries: u64,
    /// Their size on disk.
    pub bytes: u64,
}

/// What makes facts differ between builds of git-ripple: the version, the bundled queries,
/// and the executable itself (a development build changes without a version bump).
fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut s = format!("{MAGIC}\n{}\n", env!("CARGO_PKG_VERSION"));
        if let Ok(exe) = std::env::current_exe()
            && let Ok(meta) = std::fs::metadata(exe)
        {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            s.push_str(&format!("{} {modified}\n", meta.len()));
        }
        crate::change::blob_id(s.as_bytes())
    })
}

impl FactsCache {
    /// The cache of the repository whose common git folder is `common_dir`.
    pub fn open(common_dir: &Path) -> FactsCache {
        FactsCache {
            dir: common_dir.join("ripple").join("facts"),
        }
    }

    /// The cache of the repository whose work tree is `root` (`None` when it is not one).
    pub fn of_work_tree(root: &Path) -> Option<FactsCache> {
        let repo = gix::open(root).ok()?;
        Some(FactsCache::open(repo.common_dir()))
    }

    fn path(&self, path: &str, blob: &gix::ObjectId) -> PathBuf {
        let key = crate::change::blob_id(format!("{}\n{path}\n{blob}\n", build_id()).as_bytes());
        self.dir.join(&key[..2]).join(&key[2..])
    }

    /// The facts of `path` with content `blob`, if an intact entry of this build has them.
    pub fn get(&self, path: &str, blob: &gix::ObjectId) -> Option<FileFacts> {
        let bytes = std::fs::read(self.path(path, blob)).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let (header, payload) = text.split_once('\n')?;
        let (magic, rest) = header.split_once('\t')?;
        let (build, checksum) = rest.split_once('\t')?;
        if magic != MAGIC
            || build != build_id()
            || checksum != crate::change::blob_id(payload.as_bytes())
        {
            return None;
        }
        let facts: FileFacts = serde_json::from_str(payload).ok()?;
        (facts.path == path).then_some(facts)
    }

    /// Keep the facts of `path` with content `blob`. A failure to write only costs a parse
    /// next time.
    pub fn put(&self, path: &str, blob: &gix::ObjectId, facts: &FileFacts) {
        let Ok(payload) = serde_json::to_string(facts) else {
            return;
        };
        let target = self.path(path, blob);
        let Some(folder) = target.parent() else {
            return;
        };
        if std::fs::create_dir_all(folder).is_err() {
            return;
        }
        let Ok(mut file) = tempfile::NamedTempFile::new_in(folder) else {
            return;
        };
        let header = format!(
            "{MAGIC}\t{}\t{}\n",
            build_id(),
            crate::change::blob_id(payload.as_bytes())
        );
        if file.write_all(header.as_bytes()).is_ok() && file.write_all(payload.as_bytes()).is_ok() {
            let _ = file.persist(target);
        }
    }

    /// How many entries there are and their size.
    pub fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        let Ok(folders) = std::fs::read_dir(&self.dir) else {
            return stats;
        };
        for folder in folders.flatten() {
            let Ok(entries) = std::fs::read_dir(folder.path()) else {
                continue;
            };
            for e in entries.flatten() {
                if let Ok(meta) = e.metadata()
                    && meta.is_file()
                {
                    stats.entries += 1;
                    stats.bytes += meta.len();
                }
            }
        }
        stats
    }

    /// Remove every entry.
    pub fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Where the entries are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(path: &str) -> FileFacts {
        let language =
            crate::lang::Language::from_path(Path::new(path)).expect("a source file's language");
        crate::lang::extract_facts(language, path, b"package a\n\nfunc F() {}\n").expect("facts")
    }

    #[test]
    fn entries_round_trip_and_damaged_ones_are_ignored() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let cache = FactsCache::open(dir.path());
        let blob = gix::ObjectId::null(gix::hash::Kind::Sha1);
        assert!(cache.get("a/a.go", &blob).is_none());
        let f = facts("a/a.go");
        cache.put("a/a.go", &blob, &f);
        assert_eq!(cache.get("a/a.go", &blob), Some(f));
        // Another path with the same content is another entry.
        assert!(cache.get("b/a.go", &blob).is_none());
        // A damaged entry is ignored, then rewritten.
        let path = cache.path("a/a.go", &blob);
        let mut bytes = std::fs::read(&path).expect("entry");
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).expect("damage");
        assert!(cache.get("a/a.go", &blob).is_none());
        // An entry of another format is ignored.
        std::fs::write(&path, "git-ripple facts v0\tx\ty\n{}").expect("old");
        assert!(cache.get("a/a.go", &blob).is_none());
        assert_eq!(cache.stats().entries, 1);
        cache.clear().expect("clear");
        assert_eq!(cache.stats(), CacheStats::default());
    }
}
