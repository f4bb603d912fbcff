//! Help where git looks for it: `git ripple --help` (which git turns into `man git-ripple`)
//! after `install-man`, and completions that work under git's own completion.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary installed into `<prefix>/bin`, as `cargo install` puts it: a hard link (or a
/// copy across file systems), so the binary's own folder is `<prefix>/bin`.
fn installed(prefix: &Path) -> PathBuf {
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("git-ripple");
    let built = Path::new(env!("CARGO_BIN_EXE_git-ripple"));
    if std::fs::hard_link(built, &exe).is_err() {
        std::fs::copy(built, &exe).unwrap();
    }
    exe
}

/// `PATH` with the prefix's `bin` first.
fn path_with(prefix: &Path) -> String {
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("{}:{rest}", prefix.join("bin").display())
}

fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A command with the user's man and git configuration kept out.
fn command(program: &str, prefix: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("PATH", path_with(prefix))
        .env("HOME", prefix)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("MANPATH")
        .env_remove("MANOPT");
    cmd
}

fn stdout_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands `git ripple --help` lists.
fn subcommands(exe: &Path) -> Vec<String> {
    let help = stdout_ok(Command::new(exe).arg("--help"));
    help.split("Commands:")
        .nth(1)
        .expect("a Commands section")
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        // A name is indented by two; wrapped descriptions by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn git_ripple_help_shows_the_manual_after_install_man() {
    if !has("man") {
        eprintln!("skipped: no `man` on this machine");
        return;
    }
    let prefix = tempfile::tempdir().unwrap();
    let exe = installed(prefix.path());
    let said = stdout_ok(command(exe.to_str().unwrap(), prefix.path()).arg("install-man"));
    let man1 = prefix.path().join("share/man/man1");
    assert!(said.contains("now show the manual"), "{said}");

    // A page per subcommand, each rendered by man.
    let subs = subcommands(&exe);
    assert!(subs.len() >= 12, "{subs:?}");
    for name in std::iter::once("git-ripple".to_string())
        .chain(subs.iter().map(|s| format!("git-ripple-{s}")))
    {
        let page = man1.join(format!("{name}.1"));
        assert!(page.is_file(), "no page {}", page.display());
        let text = stdout_ok(command("man", prefix.path()).arg("-l").arg(&page));
        assert!(
            text.contains("NAME") && text.contains(&name) && text.contains("SYNOPSIS"),
            "{name}:\n{text}"
        );
    }

    // What a git user types first: git turns it into `man git-ripple`, found through PATH.
    let repo = tempfile::tempdir().unwrap();
    let manual = stdout_ok(
        command("git", prefix.path())
            .current_dir(repo.path())
            .args(["ripple", "--help"]),
    );
    assert!(
        manual.contains("git-ripple") && manual.contains("SYNOPSIS") && manual.contains("plan"),
        "{manual}"
    );
    // A subcommand's --help reaches clap: the short help, no manual needed.
    let short = stdout_ok(
        command("git", prefix.path())
            .current_dir(repo.path())
            .args(["ripple", "plan", "--help"]),
    );
    assert!(short.contains("Usage: git ripple plan"), "{short}");
    // The manual of a subcommand is there too.
    let plan = stdout_ok(command("man", prefix.path()).arg("git-ripple-plan"));
    assert!(plan.contains("git ripple plan"), "{plan}");
}

#[test]
fn install_man_writes_where_it_is_told() {
    let prefix = tempfile::tempdir().unwrap();
    let dir = prefix.path().join("man");
    let exe = Path::new(env!("CARGO_BIN_EXE_git-ripple"));
    stdout_ok(
        command(exe.to_str().unwrap(), prefix.path())
            .arg("install-man")
            .arg("--dir")
            .arg(&dir),
    );
    let page = std::fs::read_to_string(dir.join("man1/git-ripple-run.1")).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    assert!(page.contains("git\\-ripple\\-run") || page.contains("git-ripple-run"));
}

/// git's bash completion, where distributions put it.
fn git_bash_completion() -> Option<PathBuf> {
    [
        "/usr/share/bash-completion/completions/git",
        "/usr/share/git-core/contrib/completion/git-completion.bash",
        "/usr/local/share/bash-completion/completions/git",
        "/etc/bash_completion.d/git",
        "/opt/homebrew/etc/bash_completion.d/git-completion.bash",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// What bash offers for the words typed (the last one being completed), through git's
/// completion for `git …` and directly for `git-ripple …`.
fn bash_completions(git_completion: &Path, script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let entry = if words[0] == "git" {
        "__git_wrap__git_main".to_string()
    } else {
        format!(
            "_git__ripple git-ripple '{}' '{}'",
            words[words.len() - 1],
            words[words.len() - 2]
        )
    };
    let program = format!(
        "source '{}'; source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); {entry}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        git_completion.display(),
        script.display(),
        quoted.join(" "),
        words.len() - 1,
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "bash said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn completion_script(shell: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    stdout_ok(
        Command::new(env!("CARGO_BIN_EXE_git-ripple"))
            .current_dir(dir.path())
            .args(["completions", shell]),
    )
}

#[test]
fn bash_completes_git_ripple_through_gits_completion() {
    let Some(git_completion) = git_bash_completion() else {
        eprintln!("skipped: git's bash completion is not installed here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("git-ripple.bash");
    std::fs::write(&script, completion_script("bash")).unwrap();
    let complete = |words: &[&str]| bash_completions(&git_completion, &script, words);

    assert_eq!(complete(&["git", "ripple", "pl"]), ["plan"]);
    assert_eq!(complete(&["git", "ripple", "plan", "--fo"]), ["--format"]);
    assert_eq!(
        complete(&["git", "ripple", "run", "--format", ""]),
        ["text", "json"]
    );
    assert_eq!(complete(&["git", "ripple", "cache", "c"]), ["clear"]);
    let shells = complete(&["git", "ripple", "completions", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.contains(&shell.to_string()), "{shells:?}");
    }
    // Git's own options before the subcommand move it along.
    assert_eq!(complete(&["git", "-C", "x", "ripple", "ru"]), ["run"]);
    // And the program alone.
    assert_eq!(complete(&["git-ripple", "ch"]), ["check"]);
    assert_eq!(complete(&["git-ripple", "plan", "--fo"]), ["--format"]);
}

#[test]
fn zsh_and_fish_scripts_hook_into_gits_completion() {
    let zsh = completion_script("zsh");
    // zsh's git completion calls `_git-ripple` for `git ripple …`.
    assert!(zsh.starts_with("#compdef git-ripple"), "{zsh}");
    assert!(zsh.contains("_git-ripple()"));
    assert!(zsh.contains("'install-man:"));
    let fish = completion_script("fish");
    assert!(fish.contains("complete -c git-ripple"));
    assert!(fish.contains("complete -c git -f -n '__fish_git_using_command ripple'"));
    let dir = tempfile::tempdir().unwrap();
    for (shell, text) in [("zsh", &zsh), ("fish", &fish)] {
        if !has(shell) {
            eprintln!("no {shell} here: its script is checked by content only");
            continue;
        }
        let file = dir.path().join(format!("git-ripple.{shell}"));
        std::fs::write(&file, text).unwrap();
        stdout_ok(Command::new(shell).arg("-n").arg(&file));
    }
}
