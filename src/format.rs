//! Formatting after a transform: a Go file that was gofmt-clean before the change is run
//! through `gofmt` after it (a rename can change how keyed fields align), so a repository whose
//! CI checks formatting stays clean. Files that were not gofmt-clean are left as edited, and
//! without `gofmt` on the PATH nothing happens.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::edit::ChangeSet;

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
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())
        .flatten()
}

/// Re-format the changed Go files that were gofmt-clean before.
pub fn keep_gofmt_clean(changes: &mut ChangeSet) {
    for c in &mut changes.changes {
        if !c.path.ends_with(".go") {
            continue;
        }
        let (Some(before), Some(after)) = (&c.before, &c.after) else {
            continue;
        };
        if gofmt(before).as_deref() != Some(before.as_str()) {
            continue;
        }
        if let Some(formatted) = gofmt(after) {
            c.after = Some(formatted);
        }
    }
}
