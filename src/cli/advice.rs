//! What the command line adds to a library error when it prints one: the flag, variable or
//! command that helps, in the CLI's own terms.
//!
//! The library's messages say what happened, and what would help in the library's terms (`up`,
//! another prefix, a longer timeout); only the CLI knows its flags. One table, keyed by the error's
//! kind, so the advice for a kind is written once.

use bottle::{Error, ErrorKind, Invalid};

/// The CLI's advice for `err`, to follow its message after `; `, if the kind has any.
pub fn advice(err: &Error) -> Option<&'static str> {
    Some(match err.kind() {
        ErrorKind::EngineUnavailable => "`--engine PATH` (or `BOTTLE_ENGINE`) names the engine",
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
        ErrorKind::Invalid(Invalid::LoopbackPool) => {
            "`--loopback-pool` (`loopback_pool`) goes with `--publish-ip auto`"
        }
        _ => return None,
    })
}

/// `message` followed by the advice for `err`, if any.
pub fn with_advice(message: &str, err: Option<&Error>) -> String {
    match err.and_then(advice) {
        Some(advice) => format!("{message}; {advice}"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_follows_the_message_by_kind() {
        let check = |kind: ErrorKind, want: Option<&str>| {
            let err = Error::new(kind.clone(), "what happened");
            let got = with_advice(err.message(), Some(&err));
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
            assert!(advice(&Error::new(kind, "")).is_some());
        }
    }
}
