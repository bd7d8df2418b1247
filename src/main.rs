//! The `ripple` binary: parses the command line and hands over to `ripple::cli`.

fn main() -> std::process::ExitCode {
    ripple::cli::main()
}
