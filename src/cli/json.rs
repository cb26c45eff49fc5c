//! `--json` output, pure: the shapes of `docs/bottle.schema.json`, one `$defs` entry per command.
//!
//! One rule for every command: a document is one compact line, and every object in it has its
//! keys sorted. [`line`] makes that so by going through `serde_json::Value`, whose map is ordered by
//! key (serde_json's `preserve_order` feature is off; the schema test in `tests/it/schema.rs`
//! fails if it ever comes on). The bottle object is `model::Bottle`'s own `Serialize`, so `up`,
//! `status` and `ls` cannot drift apart.

use serde::Serialize;
use serde_json::{Value, json};

use bottle::{Error, ErrorKind, Invalid, Removed, Slug, UpOutcome};

/// One JSON document as bottle prints it: compact, on one line, keys sorted.
pub fn line(value: &impl Serialize) -> serde_json::Result<String> {
    serde_json::to_value(value).and_then(|v| serde_json::to_string(&v))
}

/// A command's JSON answer: [`line`] when stdout is a pipe or a file (one line per document, for
/// `jq` and `grep`), indented when it is a terminal, where a person reads it (as `gh` and
/// `kubectl` do). A stream of documents (one per event) uses [`line`] whatever stdout is.
pub fn document(value: &impl Serialize) -> serde_json::Result<String> {
    use std::io::IsTerminal;
    static TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    match TERMINAL.get_or_init(|| std::io::stdout().is_terminal()) {
        true => serde_json::to_value(value).and_then(|v| serde_json::to_string_pretty(&v)),
        false => line(value),
    }
}

/// `up` of one bottle: the bottle object, with `action` and, for `replaced`, `reason`.
pub fn up(up: &UpOutcome) -> serde_json::Result<Value> {
    let mut v = serde_json::to_value(&up.bottle)?;
    v["action"] = serde_json::to_value(up.action)?;
    if up.action == bottle::Action::Replaced {
        v["ports_changed"] = serde_json::Value::Bool(up.ports_changed);
    }
    if let Some(reason) = &up.reason {
        v["reason"] = serde_json::to_value(reason)?;
        // The parts that changed, by name, when the old bundle recorded them.
        if !reason.fields().is_empty() {
            v["changed"] = serde_json::to_value(reason.fields())?;
        }
    }
    Ok(v)
}

/// `down` of one bottle: its slug and what was removed (both lists empty: it was already gone).
pub fn down(slug: &Slug, removed: &Removed) -> Value {
    json!({"slug": slug.as_str(), "removed": removed})
}

/// `gc`: what it removed, or with `--dry-run` what it would remove, under a field that says which.
pub fn gc(dry_run: bool, found: &Removed) -> Value {
    // The networks kept for containers bottle did not start: not removed, so beside `removed`.
    let kept = &found.kept;
    match dry_run {
        true => json!({"dry_run": true, "would_remove": found, "kept": kept}),
        false => json!({"dry_run": false, "removed": found, "kept": kept}),
    }
}

/// What an error object holds besides the data of a library [`Error`]: the message exactly as the
/// text mode prints it, the exit code, and the input at fault.
pub struct Failure<'a> {
    /// The library's error, when it is one (not, e.g., an I/O error of bottle's own output).
    pub error: Option<&'a Error>,
    pub message: &'a str,
    pub exit_code: u8,
    /// The option or argument at fault, for an `invalid` error that can name one.
    pub input: Option<&'a str>,
}

/// The contract's error object: `{"error": {...}}`.
pub fn error(f: &Failure<'_>) -> Value {
    json!({"error": error_body(f)})
}

/// A bottle of several that failed, as an element of `up`'s or `down`'s array.
pub fn failed(slug: &Slug, f: &Failure<'_>) -> Value {
    json!({"slug": slug.as_str(), "error": error_body(f)})
}

fn error_body(f: &Failure<'_>) -> Value {
    let list = |get: fn(&Error) -> &[String]| f.error.map_or(&[][..], get);
    json!({
        "kind": f.error.map_or("io", Error::kind_name),
        "message": f.message,
        "exit_code": f.exit_code,
        "input": f.input,
        // The command line in full: the message names only its verb unless `--verbose`.
        "command": f.error.and_then(Error::command).map(|c| c.line()),
        // Data a launcher acts on without reading the message: why a bundle was not ready
        // (`exited`: do not retry; `deadline`: retry with a longer wait), and the wait or
        // timeout that ran out.
        "reason": f.error.and_then(|e| match e.kind() {
            ErrorKind::NotReady(why) => Some(why.as_str()),
            _ => None,
        }),
        "deadline_secs": f.error.and_then(Error::deadline).map(|d| d.as_secs_f64()),
        "rolled_back": list(Error::rolled_back),
        "left": list(Error::left),
        "kept": list(Error::kept),
        "removed": list(Error::removed),
    })
}

/// The option or argument of `command` (the subcommand's name) that an invalid-input error is
/// about. A value from `--config` is named by the option of the same key.
pub fn invalid_input(kind: &ErrorKind, command: &str) -> Option<&'static str> {
    let ErrorKind::Invalid(what) = kind else {
        return None;
    };
    Some(match what {
        Invalid::Slug | Invalid::NameTooLong => "SLUG",
        Invalid::Prefix => "--prefix",
        Invalid::Image => "--image",
        Invalid::EnvKey | Invalid::EnvValue => "--env",
        Invalid::Volume | Invalid::VolumeMode => "--volume",
        // `bottle port SLUG PORT` takes a port as its argument; `up` and `plan` take `-p`.
        Invalid::Port if command == "port" => "PORT",
        Invalid::Port | Invalid::DuplicatePort => "--publish",
        Invalid::PublishIp => "--publish-ip",
        Invalid::LoopbackPool => "--loopback-pool",
        Invalid::Pool | Invalid::Subnet => "--pool",
        Invalid::Block => "--block",
        Invalid::Daemons => "--daemons",
        Invalid::ConfigKey | Invalid::Config => "--config",
        Invalid::Timeout => "--timeout",
        Invalid::Wait => "--wait",
        Invalid::Ttl => "--ttl",
        Invalid::Memory => "--memory",
        Invalid::Cpus => "--cpus",
        Invalid::PidsLimit => "--pids-limit",
        Invalid::Context => "--contexts",
        // `Invalid` is `#[non_exhaustive]`: outside the library crate a new kind needs this arm
        // until it is given its option above.
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_sorted_keys() {
        #[derive(Serialize)]
        struct Declared {
            zeta: u8,
            alpha: Inner,
        }
        #[derive(Serialize)]
        struct Inner {
            y: u8,
            b: u8,
        }
        let v = Declared {
            zeta: 1,
            alpha: Inner { y: 2, b: 3 },
        };
        assert_eq!(line(&v).unwrap(), r#"{"alpha":{"b":3,"y":2},"zeta":1}"#);
    }

    #[test]
    fn gc_says_what_it_would_remove() {
        let found = Removed {
            containers: vec!["c".into()],
            networks: vec![],
            kept: vec![bottle::KeptNetwork {
                network: "n".into(),
                containers: vec!["web".into()],
            }],
            ..Removed::default()
        };
        let kept = json!([{"network": "n", "containers": ["web"]}]);
        assert_eq!(
            gc(true, &found),
            json!({"dry_run": true, "would_remove": {"containers": ["c"], "networks": []}, "kept": kept})
        );
        assert_eq!(
            gc(false, &found),
            json!({"dry_run": false, "removed": {"containers": ["c"], "networks": []}, "kept": kept})
        );
    }

    #[track_caller]
    fn check_input(what: Invalid, command: &str, want: &str) {
        assert_eq!(
            invalid_input(&ErrorKind::Invalid(what), command),
            Some(want)
        );
    }

    #[test]
    fn invalid_inputs_are_named_by_their_option() {
        check_input(Invalid::Slug, "up", "SLUG");
        check_input(Invalid::Port, "up", "--publish");
        check_input(Invalid::Port, "port", "PORT");
        check_input(Invalid::DuplicatePort, "plan", "--publish");
        check_input(Invalid::LoopbackPool, "up", "--loopback-pool");
        check_input(Invalid::Wait, "up", "--wait");
        check_input(Invalid::Timeout, "up", "--timeout");
        check_input(Invalid::ConfigKey, "up", "--config");
        assert_eq!(invalid_input(&ErrorKind::NotFound, "status"), None);
    }

    #[test]
    fn error_objects_hold_the_message_as_given_and_every_list() {
        let e = Error::new(ErrorKind::NotFound, "bottle `x` does not exist");
        let f = Failure {
            error: Some(&e),
            message: "shown",
            exit_code: 1,
            input: None,
        };
        assert_eq!(
            error(&f),
            json!({"error": {"kind": "not_found", "message": "shown", "exit_code": 1,
                "input": null, "command": null, "reason": null, "deadline_secs": null,
                "rolled_back": [], "left": [], "kept": [], "removed": []}})
        );
        let slug = Slug::parse("x").unwrap();
        assert_eq!(failed(&slug, &f)["slug"], "x");
    }
}
