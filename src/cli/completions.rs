//! `git ripple completions SHELL`: completion scripts that work where people type, `git ripple
//! <TAB>` as well as `git-ripple <TAB>`. clap_complete gives the word lists; each shell's git
//! completion is reached the way it looks for subcommands: bash calls `_git_ripple`, zsh calls
//! `_git-ripple`, fish asks `__fish_git_using_command ripple`.

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::{Cli, exit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// bash, with git's completion (`git ripple <TAB>`) and alone (`git-ripple <TAB>`).
    Bash,
    /// zsh, with git's completion and alone.
    Zsh,
    /// fish, through fish's git completion.
    Fish,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Where to put them:
  bash  git ripple completions bash > ~/.local/share/bash-completion/completions/git-ripple
        (bash-completion loads it when you first complete `git-ripple`; for `git ripple <TAB>`
        in a new shell, also add `source` of that file to ~/.bashrc)
  zsh   git ripple completions zsh > ~/.zfunc/_git-ripple
        with `fpath=(~/.zfunc $fpath)` before `compinit` in ~/.zshrc
  fish  git ripple completions fish > ~/.config/fish/conf.d/git-ripple.fish

Examples:
  git ripple completions bash
  source <(git ripple completions bash)")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

pub fn run_completions(args: CompletionsArgs) -> miette::Result<u8> {
    out!("{}", script(args.shell));
    Ok(exit::SUCCESS)
}

/// The script for one shell.
pub(super) fn script(shell: CompletionShell) -> String {
    // The subcommands' names in the scripts come from their bin names, which `build` derives
    // from the parent's: build with the program's own name, not `git ripple`.
    let mut cmd = Cli::command().name("git-ripple").bin_name("git-ripple");
    cmd.build();
    let generator = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(generator, &mut cmd, "git-ripple", &mut buf);
    let mut out = String::from_utf8_lossy(&buf).into_owned();
    if shell == CompletionShell::Bash {
        // clap_complete 4.6 names a subcommand's `case` label by turning every `-` of the bin
        // name into its subcommand separator, but the words it matches them with by turning
        // `-` into `__`: with a hyphenated program name no subcommand's options complete.
        out = out.replace("git__subcmd__ripple__subcmd__", "git__ripple__subcmd__");
    }
    out.push_str(match shell {
        CompletionShell::Bash => BASH_GIT,
        // zsh's git completion calls `_git-<name>` for `git <name> …` (and lists `git-*`
        // commands on the PATH): the clap function has that name already.
        CompletionShell::Zsh => "",
        CompletionShell::Fish => FISH_GIT,
    });
    out
}

/// git's bash completion calls `_git_ripple` for `git ripple …` with its own `words`, `cword`
/// and `cur` (and `__git_cmd_idx`, the index of `ripple`, since git 2.32): present them to the
/// clap function as if `git-ripple` had been typed.
const BASH_GIT: &str = r#"
# `git ripple <TAB>`: git's completion calls _git_ripple.
_git_ripple() {
    local idx=${__git_cmd_idx:-1}
    local COMP_WORDS=(git-ripple "${words[@]:idx+1}")
    local COMP_CWORD=$((cword - idx))
    _git__ripple git-ripple "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

/// fish's git completion knows `git ripple` through `__fish_git_using_command ripple`: hand the
/// words after `ripple` to the `git-ripple` completions above.
const FISH_GIT: &str = r#"
# `git ripple <TAB>`: the git-ripple completions, for the words after `ripple`.
function __fish_git_ripple_complete
    set -l tokens (commandline -opc)
    set -l at (contains -i -- ripple $tokens)
    set -l rest
    if test -n "$at"
        set rest $tokens[(math $at + 1)..-1]
    end
    set -l line (string join ' ' -- git-ripple (string escape -- $rest))
    set -l current (commandline -ct)
    complete -C "$line $current"
end
complete -c git -f -n '__fish_git_using_command ripple' -a '(__fish_git_ripple_complete)'
"#;
