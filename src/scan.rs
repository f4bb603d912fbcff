//! Scan: the files git sees, as git sees them.
//!
//! Tracked files come from the index; untracked files that are not ignored come from gix's
//! directory walk (which honours `.gitignore`, `.git/info/exclude` and `core.excludesFile`).
//! Scanning only lists paths and classifies them by extension; it never reads a source file,
//! so it stays cheap on large repositories. Reading, hashing and parsing happen in the graph
//! stage, in parallel, through a [`View`]: the work tree with the changes of earlier batches
//! that are not written yet laid over it (a dry run plans and transforms on such a view).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::lang::{Language, Manifests};

/// Folders never scanned: vendored and installed third-party code.
const SKIPPED_FOLDERS: &[&str] = &["vendor", "node_modules", ".git"];

/// The repository a command runs in.
pub struct Repository {
    /// The repository, through gix.
    pub repo: gix::Repository,
    /// The work tree's root.
    pub root: PathBuf,
}

/// Why the repository could not be opened or listed. Stop: nothing else can run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ScanError {
    #[error("{} is not inside a git repository", path.display())]
    #[diagnostic(
        code(ripple::not_a_repository),
        help("run git ripple inside a git work tree, or create one with `git init`")
    )]
    /// No `.git` above the folder.
    NotARepository {
        /// Where the search started.
        path: PathBuf,
        #[source]
        /// What gix found.
        source: Box<gix::Error>,
    },
    /// A bare repository has no files to change.
    #[error("the repository at {} has no work tree (it is bare)", path.display())]
    #[diagnostic(code(ripple::bare_repository))]
    Bare {
        /// Its git folder.
        path: PathBuf,
    },
    #[error("could not read git's index")]
    #[diagnostic(code(ripple::index))]
    /// The index could not be read.
    Index(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("could not list the work tree's untracked files")]
    #[diagnostic(code(ripple::dirwalk))]
    /// The untracked files could not be listed.
    Walk(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A source file git-ripple can parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePath {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// Its language.
    pub language: Language,
}

/// A file left out of the scan, with the reason, so that nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why it was left out.
    pub reason: String,
}

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Source files, sorted by path.
    pub sources: Vec<SourcePath>,
    /// Manifests the resolvers read (`go.mod`, `pyproject.toml`, …), sorted by path.
    pub manifest_paths: Vec<String>,
    /// Documentation and configuration files (`*.rst`, `*.md`, `*.toml`, `*.cfg`, `*.yaml`,
    /// …), sorted by path: never parsed, but where code is named by its dotted path (entry
    /// points, Sphinx roles, settings), which a rename must change or report.
    pub text_paths: Vec<String>,
    /// Files left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// The blob ids git's index vouches for (see [`IndexedBlobs`]).
    pub indexed: IndexedBlobs,
}

/// What git's index knows about tracked files' contents: a file whose stat data (times, size,
/// inode) still match its entry, and whose entry is not racy (written in the same second as the
/// index, when a later edit could keep the stat), has the entry's blob as its content. That is
/// how `git status` avoids reading unchanged files; the graph stage does the same, so a warm
/// build of an unchanged tree reads no source file. Empty when content filters (eol conversion,
/// `filter`/`text`/`ident` attributes) could make the work tree's bytes differ from the blob.
#[derive(Debug, Default)]
pub struct IndexedBlobs {
    entries: HashMap<String, (gix::ObjectId, gix::index::entry::Stat)>,
    options: gix::index::entry::stat::Options,
}

impl IndexedBlobs {
    /// The blob id of `path` if the index vouches for the file as `meta` (an lstat) shows it.
    pub fn blob(&self, path: &str, meta: &gix::index::fs::Metadata) -> Option<gix::ObjectId> {
        let (id, stat) = self.entries.get(path)?;
        let now = gix::index::entry::Stat::from_fs(meta).ok()?;
        stat.matches(&now, self.options).then_some(*id)
    }
}

/// Whether git may convert a file's bytes between the blob and the work tree, in which case the
/// index's blob id is not the hash of the bytes on disk. Conservative: any eol setting, any
/// attribute that can filter, anywhere.
fn content_may_be_filtered(repo: &Repository, attribute_files: &[String]) -> bool {
    let config = repo.repo.config_snapshot();
    let autocrlf = config.string("core.autocrlf");
    if autocrlf.is_some_and(|v| !v.eq_ignore_ascii_case(b"false"))
        || config.string("core.eol").is_some()
    {
        return true;
    }
    let mut sources: Vec<PathBuf> = attribute_files.iter().map(|p| repo.root.join(p)).collect();
    sources.push(repo.repo.common_dir().join("info").join("attributes"));
    sources.push(PathBuf::from("/etc/gitattributes"));
    // The global file: `core.attributesFile` (with `~` expanded), else git's default.
    match config.trusted_path("core.attributesFile") {
        Ok(Some(global)) => sources.push(global),
        Ok(None) => {
            let config_home = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
            sources.extend(config_home.map(|c| c.join("git").join("attributes")));
        }
        Err(_) => return true,
    }
    sources
        .iter()
        .any(|file| std::fs::read_to_string(file).is_ok_and(|text| text.lines().any(may_filter)))
}

/// Whether a gitattributes line sets, unsets or unspecifies an attribute that can convert
/// content (`*.py text eol=lf`, `*.bin -text`, `*.dat filter=lfs`).
fn may_filter(line: &str) -> bool {
    const CONVERTING: &[&str] = &[
        "text",
        "eol",
        "crlf",
        "filter",
        "ident",
        "working-tree-encoding",
    ];
    let line = line.trim();
    !line.starts_with('#')
        && line.split_whitespace().skip(1).any(|a| {
            let name = a.trim_start_matches(['-', '!']).split('=').next();
            name.is_some_and(|n| CONVERTING.contains(&n))
        })
}

/// Whether a file is documentation or configuration text that can name code (see
/// [`Scan::text_paths`]).
/// git-ripple's own files (`.ripple/recipes/*.toml`) are not among them: a recipe names the
/// symbols it changes by design.
pub fn is_text_file(path: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "rst", "md", "txt", "toml", "cfg", "ini", "yaml", "yml", "json",
    ];
    !path.starts_with(".ripple/")
        && path
            .rsplit_once('.')
            .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext))
}

impl Repository {
    /// Find the repository containing `start`, as git does (walking up to the first `.git`).
    pub fn discover(start: &Path) -> Result<Repository, ScanError> {
        let repo = gix::discover(start).map_err(|e| ScanError::NotARepository {
            path: start.to_path_buf(),
            source: Box::new(e),
        })?;
        let root = repo
            .workdir()
            .ok_or_else(|| ScanError::Bare {
                path: repo.git_dir().to_path_buf(),
            })?
            .to_path_buf();
        Ok(Repository { repo, root })
    }
}

fn in_skipped_folder(path: &str) -> bool {
    path.split('/')
        .rev()
        .skip(1)
        .any(|part| SKIPPED_FOLDERS.contains(&part))
}

/// List the repository's source files and manifests: tracked plus untracked-but-not-ignored.
pub fn scan_repo(repo: &Repository) -> Result<Scan, ScanError> {
    let index = repo
        .repo
        .index_or_empty()
        .map_err(|e| ScanError::Index(Box::new(e)))?;
    let mut paths: BTreeSet<String> = BTreeSet::new();
    let mut scan = Scan::default();
    // Stricter than git's defaults: nanoseconds count too, so an edit in the same second as
    // the last refresh that keeps the size (and has its mtime put back) is still seen. An
    // index written without nanoseconds then only costs a read and a hash per file.
    let stat_options = gix::index::entry::stat::Options {
        use_nsec: true,
        check_stat: true,
        ..repo.repo.stat_options().unwrap_or_default()
    };
    let index_time = index.timestamp();
    let mut indexed = HashMap::new();
    let mut attribute_files = Vec::new();

    for entry in index.entries() {
        let path = entry.path(&index).to_string();
        use gix::index::entry::{Flags, Mode};
        if entry.mode == Mode::FILE || entry.mode == Mode::FILE_EXECUTABLE {
            if path == ".gitattributes" || path.ends_with("/.gitattributes") {
                attribute_files.push(path.clone());
            }
            let trusted = entry.stage_raw() == 0
                && !entry
                    .flags
                    .intersects(Flags::INTENT_TO_ADD | Flags::ASSUME_VALID | Flags::SKIP_WORKTREE)
                && !entry.stat.is_racy(index_time, stat_options);
            if trusted && Language::from_path(Path::new(&path)).is_some() {
                indexed.insert(path.clone(), (entry.id, entry.stat));
            }
        }
        if entry.mode == Mode::SYMLINK {
            if Language::from_path(Path::new(&path)).is_some() {
                scan.skipped.push(Skipped {
                    path,
                    reason: "symbolic link".into(),
                });
            }
            continue;
        }
        if entry.mode == Mode::COMMIT {
            continue; // a submodule: another repository
        }
        paths.insert(path);
    }

    let options = repo
        .repo
        .dirwalk_options()
        .map_err(|e| ScanError::Walk(Box::new(e)))?
        .emit_untracked(gix::dir::walk::EmissionMode::Matching)
        .emit_tracked(false)
        .emit_ignored(None);
    let mut collect = gix::dir::walk::delegate::Collect::default();
    let interrupt = AtomicBool::new(false);
    repo.repo
        .dirwalk(&index, None::<&str>, &interrupt, options, &mut collect)
        .map_err(|e| ScanError::Walk(Box::new(e)))?;
    for (entry, _) in collect.unorded_entries {
        if entry.status != gix::dir::entry::Status::Untracked {
            continue;
        }
        let path = entry.rela_path.to_string();
        match entry.disk_kind {
            Some(gix::dir::entry::Kind::File) => {
                paths.insert(path);
            }
            Some(gix::dir::entry::Kind::Symlink)
                if Language::from_path(Path::new(&path)).is_some() =>
            {
                scan.skipped.push(Skipped {
                    path,
                    reason: "symbolic link".into(),
                });
            }
            _ => {}
        }
    }

    for path in paths {
        if in_skipped_folder(&path) {
            continue;
        }
        if Manifests::is_manifest(&path) {
            scan.manifest_paths.push(path.clone());
        }
        if let Some(language) = Language::from_path(Path::new(&path)) {
            scan.sources.push(SourcePath { path, language });
        } else if is_text_file(&path) {
            scan.text_paths.push(path);
        }
    }
    scan.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    if !content_may_be_filtered(repo, &attribute_files) {
        scan.indexed = IndexedBlobs {
            entries: indexed,
            options: stat_options,
        };
    }
    Ok(scan)
}

/// Changes not written to the work tree yet, by path (`None`: deleted).
pub type Overlay = BTreeMap<String, Option<String>>;

/// The work tree as the stages read it: the files on disk with an [`Overlay`] over them.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The work tree's root.
    pub root: &'a Path,
    /// What earlier batches changed and nobody wrote yet.
    pub overlay: Option<&'a Overlay>,
}

impl<'a> View<'a> {
    /// The work tree as it is on disk.
    pub fn disk(root: &'a Path) -> View<'a> {
        View {
            root,
            overlay: None,
        }
    }

    /// A file's text: the overlay's, else the disk's.
    pub fn read(&self, path: &str) -> std::io::Result<String> {
        match self.overlay.and_then(|o| o.get(path)) {
            Some(Some(text)) => Ok(text.clone()),
            Some(None) => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "deleted by an earlier batch",
            )),
            None => std::fs::read_to_string(self.root.join(path)),
        }
    }

    /// A file's text, or `None` when it cannot be read (for readers that skip such files).
    pub fn text(&self, path: &str) -> Option<String> {
        self.read(path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_that_can_convert_content_are_recognised() {
        assert!(may_filter("* text=auto"));
        assert!(may_filter("*.sh eol=lf"));
        assert!(may_filter("*.png -text"));
        assert!(may_filter("*.dat filter=lfs diff=lfs"));
        assert!(!may_filter("*.py diff=python"));
        assert!(!may_filter("# * text=auto"));
        assert!(!may_filter("text"));
    }

    #[test]
    fn vendored_folders_are_skipped_at_any_depth() {
        assert!(in_skipped_folder("vendor/github.com/x/y.go"));
        assert!(in_skipped_folder("web/node_modules/a/b.py"));
        assert!(!in_skipped_folder("vendor.go"));
        assert!(!in_skipped_folder("src/vendors/x.py"));
    }
}
