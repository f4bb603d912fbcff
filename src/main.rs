//! The `git-ripple` binary (`git ripple …`): the command line of the library, nothing else.

fn main() -> std::process::ExitCode {
    git_ripple::main_with_args(std::env::args_os())
}
