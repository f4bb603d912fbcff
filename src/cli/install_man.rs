//! `git ripple install-man`: manual pages where `man` finds them, so that `git ripple --help`
//! (which git turns into `man git-ripple`) shows one instead of "No manual entry".
//!
//! man-db and mandoc derive their search path from `PATH`: for a folder `X/bin` on it, they
//! look in `X/share/man` (and `X/man`). So the default place is `share/man/man1` beside the
//! folder the binary is in: `~/.cargo/share/man/man1` for a `cargo install`ed binary, found
//! with no `MANPATH` to set.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use miette::{Context, IntoDiagnostic, Result, miette};

use super::{Cli, exit};

#[derive(Debug, Args)]
#[command(after_help = "\
Writes git-ripple.1 and one page per subcommand (git-ripple-plan.1, …). By default they go to
share/man/man1 beside the folder git-ripple is installed in (~/.cargo/share/man/man1 after
`cargo install`), where man finds them through PATH. After it, `git ripple --help` and
`man git-ripple-run` show the manual; `git ripple run --help` always shows the short help.

Examples:
  git ripple install-man
  git ripple install-man --dir ~/.local/share/man")]
pub struct InstallManArgs {
    /// A manual folder (the one holding man1/) instead of the one beside the binary.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run_install_man(args: InstallManArgs) -> Result<u8> {
    let root = match args.dir {
        Some(dir) => dir,
        None => beside_binary()?,
    };
    let man1 = root.join("man1");
    std::fs::create_dir_all(&man1)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", man1.display()))?;
    let pages = write_pages(&man1)?;
    outln!("wrote {} manual pages to {}", pages.len(), man1.display());
    match man_finds_it(&man1) {
        Some(true) => outln!("`git ripple --help` and `man git-ripple` now show the manual"),
        Some(false) => outln!(
            "man does not search {} yet: add it to MANPATH (export MANPATH=\"{}:\")",
            root.display(),
            root.display()
        ),
        None => outln!("`man` is not installed here; the pages are ready for it"),
    }
    Ok(exit::SUCCESS)
}

/// `share/man` beside the binary's folder (`X/bin/git-ripple` → `X/share/man`).
fn beside_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .into_diagnostic()
        .wrap_err("cannot tell where git-ripple is installed")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let bin = exe
        .parent()
        .ok_or_else(|| miette!("cannot tell where git-ripple is installed"))?;
    let prefix = bin.parent().unwrap_or(bin);
    Ok(prefix.join("share").join("man"))
}

/// One page for the command and one per subcommand, named as git names them
/// (`git-ripple-plan.1`), so `man git-ripple-plan` works too.
pub(super) fn write_pages(man1: &Path) -> Result<Vec<PathBuf>> {
    let mut cmd = Cli::command()
        .name("git-ripple")
        .bin_name("git ripple")
        .disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    page(&cmd, man1, &mut written)?;
    Ok(written)
}

fn page(cmd: &clap::Command, man1: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page(sub, man1, written)?;
    }
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("git-ripple {}", env!("CARGO_PKG_VERSION")))
        .manual("Git Manual");
    let path = man
        .generate_to(man1)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write a manual page to {}", man1.display()))?;
    written.push(path);
    Ok(())
}

/// Whether `man -w git-ripple` finds the page just written (`None`: no `man` here).
fn man_finds_it(man1: &Path) -> Option<bool> {
    let out = std::process::Command::new("man")
        .args(["-w", "git-ripple"])
        .output()
        .ok()?;
    let found = String::from_utf8_lossy(&out.stdout);
    let want = man1.join("git-ripple.1");
    let want = want.canonicalize().unwrap_or(want);
    Some(found.lines().any(|l| {
        let p = PathBuf::from(l.trim());
        p.canonicalize().unwrap_or(p) == want
    }))
}
