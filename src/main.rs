//! The `bottle` binary: parse, run, map the error to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = match bottle::cli::parse(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let json = bottle::cli::wants_json(&args);
            return ExitCode::from(bottle::cli::usage_error(&err, json));
        }
    };
    let reporting = bottle::cli::Reporting::of(&cli);
    match bottle::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(bottle::cli::report(&err, &reporting)),
    }
}
