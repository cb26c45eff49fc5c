//! The `bottle` binary: parse, run, map the error to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match bottle::cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(bottle::cli::usage_error(&err)),
    };
    let (verbose, json) = (cli.global.verbose, cli.global.json);
    match bottle::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(bottle::cli::report(&err, verbose, json)),
    }
}
