//! `-e KEY=VALUE` values off bottle's own command line.
//!
//! A value typed on the command line is in bottle's argv, which every local user can read
//! (`ps`, `/proc/PID/cmdline`) for as long as bottle runs. bottle cannot undo what was visible
//! before it started, but on Linux it overwrites such values in place, in its own argv memory,
//! right after parsing and before any engine command, and says once on stderr how to pass them
//! safely. Only the binary calls this: it changes the whole process, which a library embedded in
//! a launcher must never do.

use std::ffi::OsString;

use super::{Cli, Command};
use crate::display::MASK;

/// The `-e` entries of `up` and `plan` that carry a value (`KEY=VALUE`).
pub fn literal_env(cli: &Cli) -> Vec<&str> {
    let spec = match &cli.command {
        Command::Up(a) => &a.spec,
        Command::Plan(a) => &a.spec,
        _ => return Vec::new(),
    };
    spec.env
        .iter()
        .filter(|e| e.contains('='))
        .map(String::as_str)
        .collect()
}

/// `arg` with the value of `entry` (`KEY=VALUE`) overwritten, if `arg` is that entry as the
/// command line gave it: on its own (`-e KEY=VALUE`), or attached to its flag (`-eKEY=VALUE`,
/// `-e=KEY=VALUE`, `--env=KEY=VALUE`). The result has the same length: the value's bytes become
/// [`MASK`] (cut to the value's length) and then NULs, so the argument still reads `KEY=***`.
pub fn scrub_arg(arg: &[u8], entry: &str) -> Option<Vec<u8>> {
    let (key, value) = entry.split_once('=')?;
    let flag = arg.strip_suffix(entry.as_bytes())?;
    if !["", "-e", "-e=", "--env="]
        .iter()
        .any(|f| f.as_bytes() == flag)
        || value.is_empty()
    {
        return None;
    }
    let start = flag.len() + key.len() + 1;
    let mut out = arg.to_vec();
    for (i, b) in out[start..].iter_mut().enumerate() {
        *b = MASK.as_bytes().get(i).copied().unwrap_or(0);
    }
    Some(out)
}

/// The argv with every value of `entries` overwritten (see [`scrub_arg`]); the program name is
/// left alone. `None` if no argument holds one.
pub fn scrub_args(args: &[Vec<u8>], entries: &[&str]) -> Option<Vec<Vec<u8>>> {
    let mut changed = false;
    let out = args
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            let scrubbed = (i > 0)
                .then(|| entries.iter().find_map(|e| scrub_arg(arg, e)))
                .flatten();
            changed |= scrubbed.is_some();
            scrubbed.unwrap_or_else(|| arg.clone())
        })
        .collect();
    changed.then_some(out)
}

/// Where the kernel keeps this process's argv (`arg_start`, `arg_end`), from `/proc/self/stat`
/// (fields 48 and 49, counted after the parenthesised command name, which may hold anything).
pub fn arg_area(stat: &str) -> Option<(u64, u64)> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (the state).
    let start = fields.get(48 - 3)?.parse().ok()?;
    let end = fields.get(49 - 3)?.parse().ok()?;
    (start < end).then_some((start, end))
}

/// Overwrite the values of `entries` in this process's argv memory, where `/proc/PID/cmdline`
/// reads them. `Ok(false)`: no argument held one. Call it before any other thread starts.
#[cfg(target_os = "linux")]
pub fn scrub_own_argv(args: &[OsString], entries: &[&str]) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::FileExt;
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let Some(scrubbed) = scrub_args(&args, entries) else {
        return Ok(false);
    };
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let unknown = |what: &str| std::io::Error::other(what.to_string());
    let (start, end) = arg_area(&stat).ok_or_else(|| unknown("no argv area in /proc/self/stat"))?;
    // The area must hold exactly the arguments std read, each NUL-terminated; anything else (a
    // runtime that moved them) is left alone.
    let joined = |args: &[Vec<u8>]| -> Vec<u8> {
        args.iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect()
    };
    let (was, now) = (joined(&args), joined(&scrubbed));
    // Writing to our own memory through /proc/self/mem touches nothing Rust owns: the argv
    // strings belong to the C runtime, and std copied them when it parsed.
    let mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")?;
    let mut seen = vec![0u8; usize::try_from(end - start).map_err(std::io::Error::other)?];
    mem.read_exact_at(&mut seen, start)?;
    if seen != was {
        return Err(unknown("the argv area does not hold the arguments"));
    }
    mem.write_all_at(&now, start)?;
    Ok(true)
}

/// Elsewhere there is no portable way to change what other processes see of the argv.
#[cfg(not(target_os = "linux"))]
pub fn scrub_own_argv(_args: &[OsString], _entries: &[&str]) -> std::io::Result<bool> {
    Err(std::io::Error::other("only done on Linux"))
}

/// Scrub the argv (see [`scrub_own_argv`]) and return the one warning to print, if any `-e`
/// carried a value.
pub fn hide_env_values(cli: &Cli, args: &[OsString]) -> Option<String> {
    let entries = literal_env(cli);
    if entries.is_empty() {
        return None;
    }
    let done = match scrub_own_argv(args, &entries) {
        Ok(_) => "bottle overwrote it in its own argv, but not before it started, nor in your shell's history".to_string(),
        Err(e) => format!("bottle could not overwrite it in its own argv ({e})"),
    };
    Some(format!(
        "warning: `-e KEY=VALUE` puts the value on the command line, where any local user can read it (`ps`); {done}; pass `-e KEY` with the value in bottle's environment, or `env` in the --config file"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(arg: &str, entry: &str, want: Option<&[u8]>) {
        assert_eq!(
            scrub_arg(arg.as_bytes(), entry).as_deref(),
            want,
            "{arg:?} {entry:?}"
        );
    }

    #[test]
    fn values_are_overwritten_in_every_form_and_keep_their_length() {
        check(
            "TOK=VisibleInPs123",
            "TOK=VisibleInPs123",
            Some(b"TOK=***\0\0\0\0\0\0\0\0\0\0\0"),
        );
        check("-eTOK=abcd", "TOK=abcd", Some(b"-eTOK=***\0"));
        check("-e=TOK=abcd", "TOK=abcd", Some(b"-e=TOK=***\0"));
        check("--env=TOK=abcd", "TOK=abcd", Some(b"--env=TOK=***\0"));
        // A short value: as many stars as it has bytes.
        check("T=1", "T=1", Some(b"T=*"));
        check("T=a=b", "T=a=b", Some(b"T=***"));
        // Not this entry, or not a form of `-e`.
        check("XTOK=abcd", "TOK=abcd", None);
        check("--config=TOK=abcd", "TOK=abcd", None);
        check("TOK=abcde", "TOK=abcd", None);
        check("T=", "T=", None);
    }

    /// Issue 14, item 3: the parsed command line's `Debug` shows no value either.
    #[test]
    fn the_parsed_command_line_shows_no_value() {
        let cli =
            crate::cli::parse(["bottle", "up", "s", "-e", "TOK=s3cretDBG", "-e", "HOME"]).unwrap();
        assert_eq!(literal_env(&cli), ["TOK=s3cretDBG"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("s3cretDBG"), "{shown}");
        assert!(
            shown.contains("TOK=***") && shown.contains("HOME"),
            "{shown}"
        );
    }

    #[test]
    fn only_arguments_that_hold_a_value_change() {
        let args: Vec<Vec<u8>> = [
            "bottle", "up", "s", "-e", "A=xyz", "-e", "HOME", "--image", "i",
        ]
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .collect();
        let out = scrub_args(&args, &["A=xyz"]).unwrap();
        assert_eq!(out[4], b"A=***");
        assert_eq!(
            [&out[..4], &out[5..]].concat(),
            [&args[..4], &args[5..]].concat()
        );
        assert_eq!(scrub_args(&args, &["B=xyz"]), None);
        // The program name is never touched, even if it looks like an entry.
        let odd: Vec<Vec<u8>> = vec![b"A=xyz".to_vec()];
        assert_eq!(scrub_args(&odd, &["A=xyz"]), None);
    }

    #[test]
    fn the_argv_area_is_read_after_the_command_name() {
        let mut fields: Vec<String> = (3..=52).map(|i| i.to_string()).collect();
        fields[48 - 3] = "140737488347000".into();
        fields[49 - 3] = "140737488347100".into();
        let stat = format!("1234 (a) b ) c) {}", fields.join(" "));
        assert_eq!(arg_area(&stat), Some((140737488347000, 140737488347100)));
        assert_eq!(arg_area("1 (x) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_argv_area_is_found() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let (start, end) = arg_area(&stat).unwrap();
        let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
        assert_eq!((end - start) as usize, cmdline.len());
    }
}
