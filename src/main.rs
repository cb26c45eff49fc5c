//! The `bottle` binary: parse, run, map the error to an exit code. The command line (`cli`) is
//! part of the binary, not of the library: it uses only the library's public API.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(cli::usage_error(&err)),
    };
    let (verbose, json) = (cli.global.verbose, cli.global.json);
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(cli::report(&err, verbose, json)),
    }
}
