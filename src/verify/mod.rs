//! Verification: run a batch's build and test commands (from the recipe, never from a model)
//! through `sh -c` at the repository root, with a timeout, capturing what they print.
//!
//! A command that outlives its timeout is killed with its whole process group, so a `go test`
//! or `pytest` that spawned children does not linger. The captured output is capped (its tail
//! is what matters for a report); a summary line is taken from the end of it.

pub mod cache;
pub mod check;
pub mod failures;
pub mod scratch;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Output kept per command: the last 256 KiB.
const MAX_OUTPUT: usize = 256 * 1024;

/// How one verify command went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandResult {
    /// The command, as run.
    pub command: String,
    /// Whether it exited 0 in time.
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Its exit code (none when killed by a signal).
    pub exit_code: Option<i32>,
    /// Whether it was killed at its timeout.
    pub timed_out: bool,
    /// Stopped because the run was interrupted (Ctrl-C).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// How long it ran.
    pub duration_ms: u64,
    /// The last meaningful line of output (`22 passed in 0.31s`), or `ok`.
    pub summary: String,
    /// Combined stdout and stderr (the tail, when long).
    #[serde(skip)]
    pub output: String,
}

/// Why a command could not even be started: stop (the machine has no `sh`?).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot run `{command}`: {source}")]
#[diagnostic(code(ripple::verify::spawn))]
pub struct SpawnError {
    /// The command.
    pub command: String,
    /// Why it could not be started.
    pub source: std::io::Error,
}

/// What a verify command may reach. Verifying a model batch runs code the model wrote, so it
/// runs without the credentials the environment carries; a recipe can also cut it off the
/// network.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    /// Run without credentials: variables that look like them are removed, and the credential
    /// files of the common cloud and container tools are pointed at nothing.
    pub strip_credentials: bool,
    /// Variables kept although they look like credentials (the recipe's `[verify] env`).
    pub allow: Vec<String>,
    /// More variables to remove (the model's API key variable, whatever its name).
    pub also_strip: Vec<String>,
    /// Run in a network namespace of its own, with no network (`[verify] network = false`).
    pub offline: bool,
    /// Variables set for the commands (a checked copy's `PYTHONPATH`).
    pub env: Vec<(String, String)>,
}

/// Whether an environment variable looks like a credential (what [`Sandbox`] strips).
pub fn is_credential_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const SUFFIXES: &[&str] = &[
        "_API_KEY",
        "_APIKEY",
        "_KEY",
        "_TOKEN",
        "_AUTHTOKEN",
        "_SECRET",
        "_PASSWORD",
        "_PASSWD",
        "_PASS",
        "_PWD",
        "_PAT",
        "_DSN",
        "_CREDENTIALS",
        "_AUTH",
        "_DATABASE_URL",
    ];
    const PREFIXES: &[&str] = &[
        "AWS_",
        "AZURE_",
        "ARM_",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GIT_CONFIG_",
    ];
    const NAMES: &[&str] = &[
        "API_KEY",
        "SECRET_KEY",
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PGPASSWORD",
        "MYSQL_PWD",
        "DATABASE_URL",
        "SSH_AUTH_SOCK",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "DBUS_SESSION_BUS_ADDRESS",
        "GPG_AGENT_INFO",
    ];
    SUFFIXES.iter().any(|s| upper.ends_with(s))
        || PREFIXES.iter().any(|p| upper.starts_with(p))
        || NAMES.contains(&upper.as_str())
}

/// Where the credential files of common tools are looked for, pointed at nothing: AWS,
/// Kubernetes, `.netrc` (curl, Python's requests), npm's user configuration.
const EMPTY_CREDENTIAL_FILES: &[&str] = &[
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "KUBECONFIG",
    "NETRC",
    "NPM_CONFIG_USERCONFIG",
];
/// Configuration folders of common tools, pointed at an empty folder: gcloud, az, docker, gh.
const EMPTY_CONFIG_DIRS: &[&str] = &[
    "CLOUDSDK_CONFIG",
    "AZURE_CONFIG_DIR",
    "DOCKER_CONFIG",
    "GH_CONFIG_DIR",
];

/// The files in `.git` that make git run programs (its configuration, hooks, attributes), as
/// they were before a command that runs a model's code: a test cannot leave a hook behind.
struct GitGuard {
    saved: Vec<(std::path::PathBuf, Option<Vec<u8>>)>,
}

impl GitGuard {
    fn watched(root: &Path) -> Vec<std::path::PathBuf> {
        let git = root.join(".git");
        if !git.is_dir() {
            return Vec::new();
        }
        let mut out = vec![git.join("config")];
        for dir in ["hooks", "info"] {
            if let Ok(entries) = std::fs::read_dir(git.join(dir)) {
                out.extend(entries.flatten().map(|e| e.path()));
            }
        }
        out
    }

    fn snapshot(root: &Path) -> GitGuard {
        GitGuard {
            saved: GitGuard::watched(root)
                .into_iter()
                .map(|p| {
                    let content = std::fs::read(&p).ok();
                    (p, content)
                })
                .collect(),
        }
    }

    /// What the command changed, put back; the paths it changed.
    fn restore(&self, root: &Path) -> Vec<String> {
        let mut changed = Vec::new();
        let known: Vec<&std::path::PathBuf> = self.saved.iter().map(|(p, _)| p).collect();
        for p in GitGuard::watched(root) {
            if !known.contains(&&p) && p.is_file() {
                let _ = std::fs::remove_file(&p);
                changed.push(p.display().to_string());
            }
        }
        for (p, content) in &self.saved {
            if std::fs::read(p).ok() != *content {
                if let Some(c) = content {
                    let _ = std::fs::write(p, c);
                }
                changed.push(p.display().to_string());
            }
        }
        changed
    }
}

/// Whether network namespaces can be made here (`unshare --net --map-root-user`).
fn can_isolate_network() -> bool {
    static CAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CAN.get_or_init(|| {
        Command::new("unshare")
            .args(["--net", "--map-root-user", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Run one command at `root`, killing it after `timeout`, or as soon as `cancel` is set.
pub fn run_command(
    root: &Path,
    command: &str,
    timeout: Duration,
    cancel: &AtomicBool,
    sandbox: &Sandbox,
) -> Result<CommandResult, SpawnError> {
    let start = Instant::now();
    if sandbox.offline && !can_isolate_network() {
        return Ok(CommandResult {
            command: command.to_string(),
            success: false,
            exit_code: None,
            timed_out: false,
            interrupted: false,
            duration_ms: 0,
            summary: "network isolation is not available here (`unshare --net --map-root-user` fails); allow user namespaces, or set `network = true` in [verify]".to_string(),
            output: String::new(),
        });
    }
    let mut cmd = if sandbox.offline {
        let mut c = Command::new("unshare");
        c.args(["--net", "--map-root-user", "--", "sh", "-c", command]);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        c
    };
    let guard = sandbox.strip_credentials.then(|| GitGuard::snapshot(root));
    // Kept for as long as the command runs: the empty configuration folders.
    let empty = if sandbox.strip_credentials {
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let allowed = sandbox.allow.iter().any(|a| a == key.as_ref());
            if (is_credential_variable(&key)
                || sandbox.also_strip.iter().any(|v| v == key.as_ref()))
                && !allowed
            {
                cmd.env_remove(key.as_ref());
            }
        }
        for var in EMPTY_CREDENTIAL_FILES {
            if !sandbox.allow.iter().any(|a| a == var) {
                cmd.env(var, "/dev/null");
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("git-ripple-empty-")
            .tempdir()
            .map_err(|source| SpawnError {
                command: command.to_string(),
                source,
            })?;
        for var in EMPTY_CONFIG_DIRS {
            if !sandbox.allow.iter().any(|a| a == var) {
                cmd.env(var, dir.path());
            }
        }
        // git asks no credential helper (the user's `~/.git-credentials`) and no terminal.
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "credential.helper")
            .env("GIT_CONFIG_VALUE_0", "");
        Some(dir)
    } else {
        None
    };
    cmd.envs(sandbox.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|source| SpawnError {
        command: command.to_string(),
        source,
    })?;
    let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut stream| {
        let buffer = Arc::clone(&buffer);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = buffer.lock() {
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > 2 * MAX_OUTPUT {
                        let cut = b.len() - MAX_OUTPUT;
                        b.drain(..cut);
                    }
                }
            }
        })
    })
    .collect();

    let mut timed_out = false;
    let mut interrupted = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            kill_group(&mut child);
            break child.wait().ok();
        }
        if cancel.load(Ordering::SeqCst) {
            interrupted = true;
            kill_group(&mut child);
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A grandchild may still hold the pipes open after the shell exits; give the readers a
    // moment, then stop waiting for them.
    kill_group_if_alive(&child);
    for r in readers {
        let _ = r.join();
    }
    let raw = buffer.lock().map(|b| b.clone()).unwrap_or_default();
    let raw = if raw.len() > MAX_OUTPUT {
        raw[raw.len() - MAX_OUTPUT..].to_vec()
    } else {
        raw
    };
    let output = String::from_utf8_lossy(&raw).into_owned();
    drop(empty);
    let tampered = guard.map(|g| g.restore(root)).unwrap_or_default();
    let exit_code = status.and_then(|s| s.code());
    let success =
        !timed_out && !interrupted && tampered.is_empty() && status.is_some_and(|s| s.success());
    let duration = start.elapsed();
    let summary = if !tampered.is_empty() {
        format!(
            "the command changed git's own files ({}); they were put back",
            tampered.join(", ")
        )
    } else if timed_out {
        format!("timed out after {}s", timeout.as_secs())
    } else if interrupted {
        "interrupted".to_string()
    } else {
        summarize(&output, success, exit_code)
    };
    Ok(CommandResult {
        command: command.to_string(),
        success,
        exit_code,
        timed_out,
        interrupted,
        duration_ms: duration.as_millis() as u64,
        summary,
        output,
    })
}

/// [`run_command`], run again up to `retries` times while it fails (not when it was
/// interrupted): a flaky test gets its chances (`[verify] retries`). Returns the last result and
/// how many retries it took.
pub fn run_retrying(
    root: &Path,
    command: &str,
    timeout: Duration,
    cancel: &AtomicBool,
    sandbox: &Sandbox,
    retries: u32,
) -> Result<(CommandResult, u32), SpawnError> {
    let mut tries = 0;
    loop {
        let result = run_command(root, command, timeout, cancel, sandbox)?;
        if result.success || result.interrupted || tries >= retries {
            return Ok((result, tries));
        }
        tries += 1;
    }
}

#[cfg(unix)]
fn kill_group(child: &mut std::process::Child) {
    let pid = child.id() as i32;
    // SAFETY: kill(2) with a negative pid signals the process group we created for the
    // command (process_group(0) above); it touches no memory of ours.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_group(child: &mut std::process::Child) {
    let _ = child.kill();
}

/// After the shell exited, kill what it left behind in its group (background processes that
/// would otherwise keep the output pipes open).
#[cfg(unix)]
fn kill_group_if_alive(child: &std::process::Child) {
    let pid = child.id() as i32;
    // SAFETY: as in kill_group; signalling a group that no longer exists is harmless (ESRCH).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group_if_alive(_child: &std::process::Child) {}

/// The line a person would look at: the last non-empty one (pytest's and go test's totals
/// are last), trimmed; `ok` for a silent success.
fn summarize(output: &str, success: bool, exit_code: Option<i32>) -> String {
    let last = output
        .lines()
        .rev()
        .map(|l| l.trim().trim_matches('='))
        .map(str::trim)
        .find(|l| !l.is_empty());
    let line = match last {
        Some(l) if l.chars().count() > 100 => {
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            let cut: String = l.chars().take(99).collect();
            format!("{cut}…")
        }
        Some(l) => l.split_whitespace().collect::<Vec<_>>().join(" "),
        None if success => "ok".to_string(),
        None => String::new(),
    };
    match (success, exit_code) {
        (true, _) => line,
        (false, Some(code)) if line.is_empty() => format!("exit {code}"),
        (false, Some(code)) => format!("exit {code}: {line}"),
        (false, None) => format!("killed by a signal: {line}"),
    }
}

/// At most `budget` lines of a failing command's output for a model to read: the lines that
/// name errors and failures first (in order), then the end of the output.
pub fn relevant_lines(output: &str, budget: usize) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let marks = [
        "error",
        "Error",
        "ERROR",
        "FAIL",
        "panic",
        "Traceback",
        "assert",
        "undefined",
        "cannot",
    ];
    let mut picked: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| marks.iter().any(|m| l.contains(m)))
        .map(|(i, _)| i)
        .take(budget / 2)
        .collect();
    let room = budget.saturating_sub(picked.len());
    picked.extend(lines.len().saturating_sub(room)..lines.len());
    picked.sort_unstable();
    picked.dedup();
    let mut out = String::new();
    let mut last = None;
    for i in picked {
        if last.is_some_and(|l: usize| i > l + 1) {
            out.push_str("…\n");
        }
        out.push_str(lines[i]);
        out.push('\n');
        last = Some(i);
    }
    out
}

/// The last `lines` lines of an output, for failure reports.
pub fn tail(output: &str, lines: usize) -> String {
    let all: Vec<&str> = output.lines().collect();
    let from = all.len().saturating_sub(lines);
    all[from..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_failure_and_timeout() {
        let dir = std::env::temp_dir();
        let go = AtomicBool::new(false);
        let plain = Sandbox::default();
        let ok = run_command(
            &dir,
            "echo one; echo '22 passed in 0.1s'",
            Duration::from_secs(10),
            &go,
            &plain,
        )
        .expect("run");
        assert!(ok.success);
        assert_eq!(ok.summary, "22 passed in 0.1s");
        let fail = run_command(
            &dir,
            "echo boom >&2; exit 3",
            Duration::from_secs(10),
            &go,
            &plain,
        )
        .expect("run");
        assert!(!fail.success);
        assert_eq!(fail.exit_code, Some(3));
        assert_eq!(fail.summary, "exit 3: boom");
        let slow = run_command(
            &dir,
            "sleep 5 & sleep 5",
            Duration::from_millis(200),
            &go,
            &plain,
        )
        .expect("run");
        assert!(slow.timed_out && !slow.success);
        assert!(
            slow.duration_ms < 4000,
            "killed promptly: {}ms",
            slow.duration_ms
        );
        let stop = AtomicBool::new(true);
        let cancelled =
            run_command(&dir, "sleep 5", Duration::from_secs(10), &stop, &plain).expect("run");
        assert!(cancelled.interrupted && !cancelled.success);
    }

    #[test]
    fn model_code_cannot_leave_a_git_hook_behind() {
        let dir = tempfile::TempDir::new().expect("temp");
        std::fs::create_dir_all(dir.path().join(".git/hooks")).expect("git dir");
        std::fs::write(dir.path().join(".git/config"), "[core]\n").expect("config");
        let go = AtomicBool::new(false);
        let sandbox = Sandbox {
            strip_credentials: true,
            ..Sandbox::default()
        };
        let result = run_command(
            dir.path(),
            "echo evil > .git/hooks/pre-commit; echo '[core] fsmonitor = evil' >> .git/config",
            Duration::from_secs(10),
            &go,
            &sandbox,
        )
        .expect("run");
        assert!(!result.success, "{}", result.summary);
        assert!(result.summary.contains("changed git's own files"));
        assert!(!dir.path().join(".git/hooks/pre-commit").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".git/config")).expect("read"),
            "[core]\n"
        );
    }

    #[test]
    fn credentials_are_recognised_by_name() {
        for name in [
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
            "DB_PASSWORD",
            "STRIPE_SECRET_KEY",
            "SSH_AUTH_SOCK",
            "NPM_TOKEN",
            "PGPASSWORD",
            "SENTRY_DSN",
            "GITLAB_PAT",
            "DATABASE_URL",
            "STRIPE_KEY",
        ] {
            assert!(is_credential_variable(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "GOPATH",
            "GOFLAGS",
            "PYTHONPATH",
            "LANG",
            "TOKENIZERS_PARALLELISM",
        ] {
            assert!(!is_credential_variable(name), "{name}");
        }
    }

    #[test]
    fn relevant_lines_put_errors_first() {
        let mut out = String::new();
        for i in 0..100 {
            out.push_str(&format!("line {i}\n"));
        }
        out.push_str("E   AssertionError: boom\n");
        for i in 100..200 {
            out.push_str(&format!("line {i}\n"));
        }
        let picked = relevant_lines(&out, 10);
        assert!(picked.contains("AssertionError: boom"));
        assert!(picked.contains("line 199"));
        assert!(picked.lines().count() <= 12);
    }

    #[test]
    fn tails() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
