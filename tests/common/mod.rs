//! Shared test helpers: fixture repositories and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create fixture folder");
    for entry in std::fs::read_dir(from).expect("read fixture folder") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("fixture file type");
        if kind.is_dir() {
            if entry.file_name() == "__pycache__" || entry.file_name() == ".pytest_cache" {
                continue;
            }
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
            // The module cache's files are read-only; a repository's are not.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mut perms = std::fs::metadata(&target)
                    .expect("copied file")
                    .permissions();
                perms.set_mode(perms.mode() | 0o200);
                std::fs::set_permissions(&target, perms).expect("make the copy writable");
            }
        }
    }
}

/// A git command isolated from the user's and the system's configuration, with a fixed
/// identity and clock so commit ids are reproducible.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ripple Test")
        .env("GIT_AUTHOR_EMAIL", "test@ripple.invalid")
        .env("GIT_COMMITTER_NAME", "Ripple Test")
        .env("GIT_COMMITTER_EMAIL", "test@ripple.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
    cmd
}

/// Run git and fail the test on error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An empty git repository in a temp dir.
pub fn empty_repo() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    dir
}

/// A fixture (`python/shop`, `go/shop`) copied into a temp dir and committed.
pub fn fixture_repo(name: &str) -> TempDir {
    repo_copy(&fixtures().join(name))
}

/// A folder (a fixture, a downloaded module) copied into a temp dir and committed.
pub fn repo_copy(from: &Path) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    copy_dir(from, dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    // The identity git-ripple commits with, as a user would have configured it.
    git(dir.path(), &["config", "user.name", "Ripple User"]);
    git(dir.path(), &["config", "user.email", "user@ripple.invalid"]);
    commit_all(dir.path(), "fixture");
    dir
}

/// A repository made at `dir` with `files` (path, text) committed, and the identity a user
/// would have configured.
pub fn repo_at(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("create the repository folder");
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "Ripple User"]);
    git(dir, &["config", "user.email", "user@ripple.invalid"]);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create folder");
        std::fs::write(path, text).expect("write file");
    }
    commit_all(dir, "files");
}

/// [`repo_at`] in a new temporary folder.
pub fn repo_with_files(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    repo_at(dir.path(), files);
    dir
}

/// Stage everything and commit.
pub fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// The one way tests run git-ripple: the real binary on a repository, in an environment of its
/// own. Nothing from the developer's shell reaches it (no `RIPPLE_*`, `OPENAI_*`,
/// `ANTHROPIC_*`, `OLLAMA_HOST`, no global or system git configuration), so a test's outcome
/// does not depend on who runs it; retries back off for a millisecond, not half a second.
pub struct Ripple {
    cmd: Command,
}

impl Ripple {
    /// `git-ripple -C dir`.
    pub fn new(dir: &Path) -> Ripple {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-ripple"));
        cmd.arg("-C").arg(dir);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if ["RIPPLE_", "OPENAI_", "ANTHROPIC_", "GIT_"]
                .iter()
                .any(|p| key.starts_with(p))
                || key == "OLLAMA_HOST"
                || key == "VISUAL"
                || key == "EDITOR"
            {
                cmd.env_remove(key.as_ref());
            }
        }
        cmd.env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("RIPPLE_RETRY_BASE_MS", "1");
        Ripple { cmd }
    }

    /// Add arguments.
    pub fn args(mut self, args: &[&str]) -> Ripple {
        self.cmd.args(args);
        self
    }

    /// Set an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Ripple {
        self.cmd.env(key, value);
        self
    }

    /// Set several environment variables.
    pub fn envs(mut self, vars: &[(&str, &str)]) -> Ripple {
        for (k, v) in vars {
            self.cmd.env(k, v);
        }
        self
    }

    /// The command, for tests that spawn it and talk to it while it runs.
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Run it to the end.
    pub fn output(mut self) -> Output {
        self.cmd.output().expect("run git-ripple")
    }

    /// Run it, expect success, return stdout.
    pub fn ok(self) -> String {
        assert_ok(&self.output())
    }

    /// Run it, expect success, parse stdout as JSON.
    pub fn json(self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
    }
}

/// Expect a run to have succeeded; its stdout.
pub fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "git-ripple failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// `git-ripple -C dir args…`, run to the end.
pub fn ripple(dir: &Path, args: &[&str]) -> Output {
    Ripple::new(dir).args(args).output()
}

/// `git-ripple -C dir args…`, expected to succeed; its stdout.
pub fn ripple_ok(dir: &Path, args: &[&str]) -> String {
    Ripple::new(dir).args(args).ok()
}

/// Validate a JSON document against `docs/run-report.schema.json` with Python's jsonschema
/// (installed by scripts/test).
pub fn assert_matches_schema(report: &[u8]) {
    let schema =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/run-report.schema.json");
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("report.json");
    std::fs::write(&path, report).expect("write report");
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)",
        ])
        .arg(&schema)
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "report does not match the schema:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `git ripple graph --format json`, parsed.
pub fn graph_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&ripple_ok(dir, &["graph", "--format", "json"])).expect("graph json")
}

/// The import edges of a graph as sorted `from -> to` lines.
pub fn import_edges(graph: &serde_json::Value) -> Vec<String> {
    let mut edges: Vec<String> = graph["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["kind"] == "imports")
        .map(|e| {
            format!(
                "{} -> {}",
                e["from"].as_str().unwrap_or(""),
                e["to"].as_str().unwrap_or("")
            )
        })
        .collect();
    edges.sort();
    edges
}

/// `file:line:column` of every non-definition reference of a symbol.
pub fn symbol_references(dir: &Path, id: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&ripple_ok(
        dir,
        &["graph", "--symbol", id, "--format", "json"],
    ))
    .expect("symbol json");
    let mut refs: Vec<String> = v["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter(|r| r["kind"] != "definition")
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["file"].as_str().unwrap_or(""),
                r["line"],
                r["column"]
            )
        })
        .collect();
    refs.sort();
    refs
}

/// Lines of a file marked as decoys by the fixture (`# DECOY`, `// DECOY`), as `file:line`.
pub fn decoy_lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for line in git(dir, &["grep", "-n", "DECOY"]).lines() {
        let mut parts = line.splitn(3, ':');
        if let (Some(f), Some(l)) = (parts.next(), parts.next()) {
            out.push(format!("{f}:{l}"));
        }
    }
    out
}

/// Assert that the fixture marks at least `at_least` decoy lines and that no reference
/// (`file:line:column`) falls on one of them.
pub fn assert_no_decoys(dir: &Path, refs: &[String], at_least: usize) {
    let decoys = decoy_lines(dir);
    assert!(
        decoys.len() >= at_least,
        "the fixture marks its decoys: {decoys:?}"
    );
    for r in refs {
        let line = r.rsplit_once(':').map(|(l, _)| l).unwrap_or(r);
        assert!(
            !decoys.iter().any(|d| d == line),
            "decoy reported as a reference: {r}"
        );
    }
}

/// Commits on `branch` since `base`, oldest first.
pub fn commits_between(dir: &Path, base: &str, branch: &str) -> Vec<String> {
    git(
        dir,
        &["rev-list", "--reverse", &format!("{base}..{branch}")],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// The fixtures' own test suite, as [`assert_each_commit_passes`] runs it.
pub const PYTEST: &[&[&str]] = &[&["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]];

/// Check out each commit on its own (detached, clean) and run `commands` in it; every one must
/// pass. Leaves the repository on `back`.
pub fn assert_each_commit_passes(dir: &Path, commits: &[String], commands: &[&[&str]], back: &str) {
    for c in commits {
        git(dir, &["checkout", "-q", "--detach", c]);
        for cmd in commands {
            let out = Command::new(cmd[0])
                .args(&cmd[1..])
                .current_dir(dir)
                .env("GOFLAGS", "-mod=mod")
                .output()
                .expect("run verifier");
            assert!(
                out.status.success(),
                "{cmd:?} fails at commit {c}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    git(dir, &["checkout", "-q", back]);
}

/// The lines marked as decoys, with their text, at a revision.
pub fn decoy_texts(dir: &Path, rev: &str) -> Vec<String> {
    let mut lines: Vec<String> = git(dir, &["grep", "-h", "DECOY", rev])
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    lines.sort();
    lines
}

/// A model provider on loopback: answers each request with what `answer` returns for the
/// request's path, headers and body (status, extra headers, body), and records every request.
pub struct FakeModel {
    pub url: String,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<RecordedRequest>>>,
}

/// One request the fake model received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    pub headers: String,
    pub body: String,
}

/// The user prompt of a Chat Completions request.
pub fn prompt_of(r: &RecordedRequest) -> String {
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json body");
    v["messages"][1]["content"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The user text of an Anthropic Messages request: a plain string, or the text blocks that
/// `cache_control` marks split it into, joined.
pub fn anthropic_prompt(v: &serde_json::Value) -> String {
    let content = &v["messages"][0]["content"];
    match content.as_array() {
        Some(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
        None => content.as_str().unwrap_or("").to_string(),
    }
}

type Answer = dyn Fn(&RecordedRequest, usize) -> (u16, Vec<(String, String)>, String) + Send + Sync;

impl FakeModel {
    pub fn start(answer: Box<Answer>) -> FakeModel {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = std::sync::Arc::clone(&requests);
        let answer: std::sync::Arc<Answer> = std::sync::Arc::from(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let recorded = std::sync::Arc::clone(&recorded);
                let answer = std::sync::Arc::clone(&answer);
                // One thread per connection: a slow answer does not hold up a retry.
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head, body_start) = loop {
                        let n = stream.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 4);
                        }
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())
                                .flatten()
                        })
                        .unwrap_or(0);
                    while buf.len() < body_start + length {
                        let n = stream.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let path = head
                        .lines()
                        .next()
                        .and_then(|l| l.split_whitespace().nth(1))
                        .unwrap_or("")
                        .to_string();
                    let request = RecordedRequest {
                        path,
                        headers: head.clone(),
                        body: String::from_utf8_lossy(&buf[body_start..]).into_owned(),
                    };
                    let n = {
                        let mut r = recorded.lock().expect("lock");
                        r.push(request.clone());
                        r.len() - 1
                    };
                    let (status, headers, body) = answer(&request, n);
                    let extra: String = headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}\r\n"))
                        .collect();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes());
                });
            }
        });
        FakeModel { url, requests }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("lock").clone()
    }
}

/// A Chat Completions answer with this text.
pub fn chat_answer(text: &str) -> String {
    serde_json::json!({
        "choices": [{"message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100},
    })
    .to_string()
}

/// The files a prompt shows under "## Files of this batch", as (path, first line).
pub fn prompt_files(prompt: &str) -> Vec<(String, String)> {
    prompt_file_texts(prompt)
        .into_iter()
        .map(|(path, text)| (path, text.lines().next().unwrap_or("").to_string()))
        .collect()
}

/// The files a prompt shows under "## Files of this batch", as (path, whole text).
pub fn prompt_file_texts(prompt: &str) -> Vec<(String, String)> {
    let Some(section) = prompt.split("## Files of this batch").nth(1) else {
        return Vec::new();
    };
    let lines: Vec<&str> = section.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        if !lines[i].is_empty() && lines[i + 1].starts_with("```") {
            let fence = lines[i + 1];
            let mut text = String::new();
            let mut j = i + 2;
            while j < lines.len() && lines[j] != fence {
                text.push_str(lines[j]);
                text.push('\n');
                j += 1;
            }
            out.push((lines[i].to_string(), text));
            i = j;
        }
        i += 1;
    }
    out
}
