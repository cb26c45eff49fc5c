//! The `bottle` binary: parse, run, map the error to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bottle::cli::Cli::parse();
    match bottle::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bottle: {err:#}");
            ExitCode::from(bottle::cli::exit_code(&err))
        }
    }
}
