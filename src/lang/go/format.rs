//! gofmt after a transform: a Go file that was gofmt-clean before the change is run through
//! `gofmt` after it (a rename can change how keyed fields align), so a repository whose CI
//! checks formatting stays clean. Files that were not gofmt-clean are left as edited, and
//! without `gofmt` on the PATH nothing happens.

use std::io::Write;
use std::process::{Command, Stdio};

/// `gofmt` of `source`, or `None` when gofmt is unavailable or rejects the file.
fn gofmt(source: &str) -> Option<String> {
    let mut child = Command::new("gofmt")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = source.to_string();
    // Write from another thread: gofmt may fill its output pipe before reading all input.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())
        .flatten()
}

/// The gofmt'd `after`, when `before` was gofmt-clean.
pub(super) fn format(before: &str, after: &str) -> Option<String> {
    if gofmt(before).as_deref() != Some(before) {
        return None;
    }
    gofmt(after)
}
