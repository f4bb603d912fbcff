//! Bad and unusual input: clear errors and exit codes, never a panic; odd files are skipped
//! and reported, not dropped silently.

use std::fs;

use crate::common::*;

fn skipped(graph: &serde_json::Value) -> Vec<(String, String)> {
    graph["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or("").to_string(),
                s["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn paths(graph: &serde_json::Value) -> Vec<String> {
    graph["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let out = ripple(dir.path(), &["graph"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not inside a git repository"), "{err}");
    assert!(err.contains("git init"), "hint missing: {err}");
}

#[test]
fn help_lists_subcommands_and_version_works() {
    let dir = empty_repo();
    let help = ripple_ok(dir.path(), &["--help"]);
    assert!(
        help.contains("graph") && help.contains("dependency graph"),
        "{help}"
    );
    let version = ripple_ok(dir.path(), &["--version"]);
    assert!(version.starts_with("git-ripple "), "{version}");
}

/// The JSON graph is written as it is serialised; it must read as the document serde_json
/// prints for the same value (keys sorted, two-space indent, one newline at the end).
#[test]
fn json_graph_is_the_canonical_pretty_document() {
    for fixture in ["python/shop", "go/shop"] {
        let repo = fixture_repo(fixture);
        let text = ripple_ok(repo.path(), &["graph", "--format", "json"]);
        let value: serde_json::Value = serde_json::from_str(&text).expect("graph json");
        let canonical = serde_json::to_string_pretty(&value).expect("serialise") + "\n";
        assert!(text == canonical, "{fixture}: the streamed JSON differs");
        for key in [
            "cycles",
            "edges",
            "external",
            "files",
            "skipped",
            "symbols",
            "unresolved",
        ] {
            assert!(value.get(key).is_some(), "{fixture}: no {key}");
        }
        assert!(!value["symbols"].as_array().expect("symbols").is_empty());
    }
}

/// A reader that stops early (`| head`) ends the output, not the command: no error, no
/// partial-write message.
#[test]
fn json_graph_into_a_closed_pipe_ends_quietly() {
    use std::io::Read as _;
    use std::process::Stdio;
    // Output well over a pipe's buffer and the writer's, so the write after the close fails.
    let texts: Vec<(String, String)> = (0..150)
        .map(|m| {
            let defs: String = (0..10)
                .map(|f| format!("def function_{m}_{f}(x):\n    return x\n\n"))
                .collect();
            (format!("pkg/module_{m}.py"), defs)
        })
        .collect();
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let repo = repo_with_files(&files);
    let mut child = Ripple::new(repo.path())
        .args(&["graph", "--format", "json"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn git-ripple");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn works_from_a_subfolder_like_git() {
    let repo = fixture_repo("python/shop");
    let top = ripple_ok(repo.path(), &["graph", "--format", "json"]);
    let sub = ripple_ok(
        &repo.path().join("src/shopcore/db"),
        &["graph", "--format", "json"],
    );
    assert_eq!(top, sub);
}

#[test]
fn sees_what_git_sees() {
    let repo = empty_repo();
    let root = repo.path();
    fs::write(root.join(".gitignore"), "build/\n*.gen.py\n").expect("write");
    fs::write(root.join("tracked.py"), "import untracked\n").expect("write");
    commit_all(root, "init");
    fs::write(root.join("untracked.py"), "X = 1\n").expect("write");
    fs::create_dir_all(root.join("build")).expect("mkdir");
    fs::write(root.join("build/out.py"), "X = 1\n").expect("write");
    fs::write(root.join("skip.gen.py"), "X = 1\n").expect("write");
    fs::create_dir_all(root.join("vendor/lib")).expect("mkdir");
    fs::write(root.join("vendor/lib/x.go"), "package lib\n").expect("write");
    fs::create_dir_all(root.join("web/node_modules/m")).expect("mkdir");
    fs::write(root.join("web/node_modules/m/x.py"), "X = 1\n").expect("write");

    let graph = graph_json(root);
    assert_eq!(paths(&graph), ["tracked.py", "untracked.py"]);
    let edges = import_edges(&graph);
    assert_eq!(edges, ["tracked.py -> untracked.py"]);
}

#[test]
fn invalid_utf8_large_files_and_symlinks_are_skipped_and_reported() {
    let repo = empty_repo();
    let root = repo.path();
    fs::write(root.join("ok.py"), "def f():\n    return 1\n").expect("write");
    fs::write(root.join("latin1.py"), b"s = '\xe9t\xe9'\n").expect("write");
    fs::write(root.join("big.py"), "x = 1\n".repeat(400)).expect("write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("loop.py", root.join("loop.py")).expect("symlink");
        std::os::unix::fs::symlink("ok.py", root.join("alias.py")).expect("symlink");
    }
    let out = ripple(
        root,
        &["graph", "--format", "json", "--max-file-size", "1000"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(paths(&graph), ["ok.py"]);
    let skipped = skipped(&graph);
    let reason = |p: &str| {
        skipped
            .iter()
            .find(|(path, _)| path == p)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert_eq!(reason("latin1.py"), "not valid UTF-8");
    assert!(
        reason("big.py").contains("over the 1000 byte limit"),
        "{skipped:?}"
    );
    #[cfg(unix)]
    {
        assert_eq!(reason("loop.py"), "symbolic link");
        assert_eq!(reason("alias.py"), "symbolic link");
    }
    let text = ripple_ok(root, &["graph", "--max-file-size", "1000"]);
    let expected = if cfg!(unix) {
        "skipped    4 files"
    } else {
        "skipped    2 files"
    };
    assert!(text.contains(expected), "{text}");
}

#[test]
fn syntax_errors_keep_recoverable_facts() {
    let repo = empty_repo();
    let root = repo.path();
    fs::write(root.join("models.py"), "class Order:\n    pass\n").expect("write");
    fs::write(
        root.join("broken.py"),
        "from models import Order\n\ndef ok():\n    return Order()\n\ndef broken(:\n    pass\n",
    )
    .expect("write");
    let graph = graph_json(root);
    let broken = graph["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "broken.py")
        .cloned()
        .unwrap_or_default();
    assert!(broken["parse_errors"].as_u64().unwrap_or(0) > 0, "{broken}");
    assert_eq!(import_edges(&graph), ["broken.py -> models.py"]);
    let refs = symbol_references(root, "models.Order");
    assert!(refs.contains(&"broken.py:4:12".to_string()), "{refs:?}");
    let text = ripple_ok(root, &["graph"]);
    assert!(
        text.contains("parse      1 files with syntax errors"),
        "{text}"
    );
}

#[test]
fn unknown_symbol_suggests_the_closest() {
    let repo = fixture_repo("python/shop");
    let out = ripple(
        repo.path(),
        &["graph", "--symbol", "shopcore.db.queries.fetch_orders"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no symbol `shopcore.db.queries.fetch_orders`"),
        "{err}"
    );
    assert!(
        err.contains("did you mean `shopcore.db.queries.fetch_order`"),
        "{err}"
    );
}

#[test]
fn dot_output_is_a_graphviz_graph() {
    let repo = fixture_repo("go/shop");
    let dot = ripple_ok(repo.path(), &["graph", "--format", "dot", "--packages"]);
    assert!(dot.starts_with("digraph ripple {"), "{dot}");
    assert!(dot.contains("\"cmd/shopd\" -> \"api/v2\";"), "{dot}");
}

#[test]
fn text_summary_reads_at_a_glance() {
    let repo = fixture_repo("python/shop");
    let text = ripple_ok(repo.path(), &["graph"]);
    insta::assert_snapshot!(text);
}

/// The fixtures are real projects: their own builds and tests pass with the real toolchains,
/// so later stages can use them as verification targets.
#[test]
fn fixtures_pass_their_own_tests() {
    let python = fixture_repo("python/shop");
    let out = std::process::Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(python.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run pytest");
    assert!(
        out.status.success(),
        "pytest: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let go = fixture_repo("go/shop");
    for args in [["build", "./..."], ["vet", "./..."], ["test", "./..."]] {
        let out = std::process::Command::new("go")
            .args(args)
            .current_dir(go.path())
            .env("GOPROXY", "off")
            .output()
            .expect("run go");
        assert!(
            out.status.success(),
            "go {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_facts_cache_gives_the_same_graph_and_never_trusts_a_damaged_entry() {
    let repo = fixture_repo("go/typed");
    let dir = repo.path();
    let cold = ripple_ok(dir, &["graph", "--references", "--format", "json"]);
    let status: serde_json::Value =
        serde_json::from_str(&ripple_ok(dir, &["cache", "status", "--format", "json"]))
            .expect("status json");
    let go_files = git(dir, &["ls-files", "*.go"]).lines().count() as u64;
    assert_eq!(status["entries"], go_files, "{status}");
    let warm = ripple_ok(dir, &["graph", "--references", "--format", "json"]);
    assert_eq!(warm, cold);
    // Damage every entry: each is ignored and rebuilt, the graph is the same.
    let cache_dir = std::path::PathBuf::from(status["dir"].as_str().expect("dir"));
    for folder in std::fs::read_dir(&cache_dir).expect("cache dir").flatten() {
        for entry in std::fs::read_dir(folder.path()).expect("folder").flatten() {
            let mut bytes = std::fs::read(entry.path()).expect("entry");
            let at = bytes.len() / 2;
            bytes[at] ^= 0x20;
            std::fs::write(entry.path(), bytes).expect("damage");
        }
    }
    assert_eq!(
        ripple_ok(dir, &["graph", "--references", "--format", "json"]),
        cold
    );
    assert_eq!(
        ripple_ok(
            dir,
            &["graph", "--references", "--format", "json", "--no-cache"]
        ),
        cold
    );
    // A changed file is read again.
    let path = dir.join("conn/platform_linux.go");
    let text = std::fs::read_to_string(&path).expect("file");
    std::fs::write(&path, text.replace("func Platform()", "func Platform2()")).expect("edit");
    let changed = ripple_ok(
        dir,
        &["graph", "--symbol", "example.com/typed/conn.Platform2"],
    );
    assert!(changed.contains("conn/platform_linux.go"), "{changed}");
    assert!(ripple_ok(dir, &["cache", "clear"]).contains("Removed"));
    let status: serde_json::Value =
        serde_json::from_str(&ripple_ok(dir, &["cache", "status", "--format", "json"]))
            .expect("status json");
    assert_eq!(status["entries"], 0);
}

#[test]
fn an_edit_that_keeps_size_and_mtime_is_still_seen_when_the_index_vouches_for_files() {
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    // Files older than the index: its entries are not racy, so it vouches for their blobs
    // and a warm build reads none of them.
    let old = "200001010000";
    let files: Vec<String> = git(dir, &["ls-files", "*.py"])
        .lines()
        .map(String::from)
        .collect();
    for f in &files {
        let status = std::process::Command::new("touch")
            .args(["-m", "-t", old, f])
            .current_dir(dir)
            .status()
            .expect("touch");
        assert!(status.success());
    }
    git(dir, &["update-index", "--really-refresh"]);
    let cold = ripple_ok(dir, &["graph", "--references", "--format", "json"]);
    let warm = ripple_ok(dir, &["graph", "--references", "--format", "json"]);
    assert_eq!(warm, cold);
    // The same number of bytes and the same modification time: only the change time and
    // the content differ, and the file is read again.
    let path = dir.join("src/shopcore/db/queries.py");
    let text = fs::read_to_string(&path).expect("file");
    assert!(text.contains("def fetch_order("), "{text}");
    fs::write(&path, text.replace("def fetch_order(", "def fetch_ordeR(")).expect("edit");
    let status = std::process::Command::new("touch")
        .args(["-m", "-t", old, "src/shopcore/db/queries.py"])
        .current_dir(dir)
        .status()
        .expect("touch");
    assert!(status.success());
    let changed = ripple_ok(
        dir,
        &["graph", "--symbol", "shopcore.db.queries.fetch_ordeR"],
    );
    assert!(changed.contains("src/shopcore/db/queries.py"), "{changed}");
    assert_eq!(
        ripple_ok(dir, &["graph", "--references", "--format", "json"]),
        ripple_ok(
            dir,
            &["graph", "--references", "--format", "json", "--no-cache"]
        )
    );
}
