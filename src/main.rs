//! The `bottle` binary: parse, take `-e KEY=VALUE` values off its own argv, run, map the error
//! to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match bottle::cli::parse(args.iter().cloned()) {
        Ok(cli) => cli,
        Err(err) => {
            let json = bottle::cli::wants_json(&args);
            return ExitCode::from(bottle::cli::usage_error(&err, json));
        }
    };
    // `-e KEY=VALUE` values off bottle's own argv, before any thread or engine command starts;
    // `run` says so once the input is known to be valid (a refusal stays one line).
    let warning = bottle::cli::scrub::hide_env_values(&cli, &args);
    let reporting = bottle::cli::Reporting::of(&cli);
    match bottle::cli::run(cli, warning.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(bottle::cli::report(&err, &reporting)),
    }
}
