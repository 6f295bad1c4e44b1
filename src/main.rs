//! The `infra` binary: everything is in the library (`infra::cli::main`).

use std::process::ExitCode;

fn main() -> ExitCode {
    infra::cli::main()
}
