fn main() -> std::process::ExitCode {
    git_ripple::main_with_args(std::env::args_os())
}
