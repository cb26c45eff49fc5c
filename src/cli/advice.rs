//! What the command line adds to a library error when it prints one: the flag, variable or
//! command that helps, in the CLI's own terms.
//!
//! The library's messages say what happened, and what would help in the library's terms (`up`,
//! another prefix, a longer timeout); only the CLI knows its flags. One table, keyed by the error's
//! kind, so the advice for a kind is written once.

use bottle::{Error, ErrorKind, Invalid};

/// What the user asked for, which some advice depends on: the subcommand, and its slug when it
/// was given one.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The subcommand's name (`down`, `gc`, `logs`, …).
    pub command: &'a str,
    /// The one slug the command was about, if it was about one.
    pub slug: Option<&'a str>,
    /// Whether the command worked over a fleet (`--contexts`), where `--context` is refused.
    pub fleet: bool,
}

/// The CLI's advice for `err`, to follow its message after `; `, if the kind (and the error's
/// data) has any.
pub fn advice(err: &Error, asked: Asked<'_>) -> Option<String> {
    let slug = asked.slug.unwrap_or("SLUG");
    // A removal a second signal stopped: the error names what is left; another run removes it.
    if *err.kind() == ErrorKind::Interrupted && !err.left().is_empty() {
        return match asked.command {
            "down" => Some(format!("`bottle down {slug}` removes what is left")),
            "gc" => Some("`bottle gc` removes what is left".to_string()),
            _ => None,
        };
    }
    if err.output_limit().is_some() && asked.command == "logs" {
        return Some(format!(
            "`bottle logs {slug} --tail N` prints the last N lines"
        ));
    }
    Some(
        match err.kind() {
            ErrorKind::EngineUnavailable if asked.fleet => {
                "`--engine PATH` (or `BOTTLE_ENGINE`) names the engine, and `--contexts` (or `BOTTLE_CONTEXTS`) its contexts"
            }
            ErrorKind::EngineUnavailable => {
                "`--engine PATH` (or `BOTTLE_ENGINE`) names the engine, and `--context` its context"
            }
            ErrorKind::Timeout => "`--timeout` (or `BOTTLE_TIMEOUT`) sets the timeout",
            ErrorKind::NotFound => {
                "`bottle up SLUG` with the bottle's spec (flags, `--config`, or a `bottle.toml` in the working directory) brings it up"
            }
            ErrorKind::Invalid(Invalid::PublishIp) => {
                "`--allow-nonloopback` allows a publish IP that is not loopback"
            }
            ErrorKind::Invalid(Invalid::Pool | Invalid::Block) => {
                "`--pool` and `--block` set the pool and the length of each bottle's subnet"
            }
            ErrorKind::PoolExhausted => {
                "`--pool` and `--block` (or `--loopback-pool`) set the pools, and `bottle gc` removes unused bottles"
            }
            ErrorKind::Invalid(Invalid::Timeout | Invalid::Wait | Invalid::Ttl) => {
                "`--timeout` (or `BOTTLE_TIMEOUT`), `--wait` and `--ttl` take such durations"
            }
            // No advice for `Invalid::EnvValue`: a bare key's value goes through the same env-file,
            // so no other way of passing it would carry it.
            ErrorKind::Invalid(Invalid::LoopbackPool) => {
                "`--loopback-pool` (`loopback_pool`) goes with `--publish-ip auto`"
            }
            _ => return None,
        }
        .to_string(),
    )
}

/// `message` followed by the advice for `err`, if any.
pub fn with_advice(message: &str, err: Option<&Error>, asked: Asked<'_>) -> String {
    match err.and_then(|e| advice(e, asked)) {
        Some(advice) => format!("{message}; {advice}"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASKED: Asked<'static> = Asked {
        command: "up",
        slug: None,
        fleet: false,
    };

    #[test]
    fn advice_follows_the_message_by_kind() {
        let check = |kind: ErrorKind, want: Option<&str>| {
            let err = Error::new(kind.clone(), "what happened");
            let got = with_advice(err.message(), Some(&err), ASKED);
            let want = want.map_or("what happened".to_string(), |a| {
                format!("what happened; {a}")
            });
            assert_eq!(got, want, "{kind:?}");
        };
        check(
            ErrorKind::Timeout,
            Some("`--timeout` (or `BOTTLE_TIMEOUT`) sets the timeout"),
        );
        check(
            ErrorKind::Invalid(Invalid::PublishIp),
            Some("`--allow-nonloopback` allows a publish IP that is not loopback"),
        );
        check(ErrorKind::Invalid(Invalid::Slug), None);
        check(ErrorKind::EngineFailed, None);
        // No library message names a flag or a `bottle` command: that is this table's job.
        for kind in [ErrorKind::NotFound, ErrorKind::EngineUnavailable] {
            assert!(advice(&Error::new(kind, ""), ASKED).is_some());
        }
    }

    /// a_fleet_with_every_context_dead_advised_the_context_option_it_refuses (attack17).
    #[test]
    fn a_fleet_is_advised_its_own_option() {
        let dead = Error::new(ErrorKind::EngineUnavailable, "");
        let fleet = Asked {
            fleet: true,
            ..ASKED
        };
        let said = |asked| advice(&dead, asked).unwrap();
        assert!(said(fleet).contains("`--contexts`"), "{}", said(fleet));
        assert!(!said(ASKED).contains("`--contexts`"), "{}", said(ASKED));
    }
}
