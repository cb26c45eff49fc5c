//! The `bottle` binary: parse, take `-e KEY=VALUE` values off its own argv, run, map the error
//! to an exit code. The command line (`cli`) is part of the binary, not of the library: it uses
//! only the library's public API.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A TAB in a shell that sourced `bottle completions SHELL`: complete, print, exit.
    cli::complete_if_asked();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match cli::parse(args.iter().cloned()) {
        Ok(cli) => cli,
        Err(err) => {
            let json = cli::wants_json(&args);
            return ExitCode::from(cli::usage_error(&err, json));
        }
    };
    let reporting = cli::Reporting::of(&cli);
    if let Err(err) = cli::refuse_spaced_wait(&args) {
        return ExitCode::from(cli::report(&err.into(), &reporting));
    }
    // `-e KEY=VALUE` values off bottle's own argv, before any thread or engine command starts;
    // `run` says so once the input is known to be valid (a refusal stays one line).
    let warning = cli::scrub::hide_env_values(&cli, &args);
    match cli::run(cli, warning.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(cli::report(&err, &reporting)),
    }
}
