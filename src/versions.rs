//! Versions: this library's, and the engine's as `version --format '{{json .}}'` reports them
//! (for `Bottles::versions` and `doctor`).

use crate::argv;
use crate::classify::Verb;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::Engine;

/// This library's version (the `bottle` binary's too: they are one package).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The engine's versions, from `version --format '{{json .}}'`.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct EngineVersions {
    /// The engine CLI's version, if it said.
    pub client: Option<String>,
    /// The daemon's version; `None` when the daemon did not answer.
    pub server: Option<String>,
    /// Why the daemon is unreachable ([`ErrorKind::EngineUnavailable`]), when it is.
    pub unreachable: Option<Error>,
}

/// Read `{"Client":{"Version":…},"Server":{"Version":…}|null}` (docker and podman alike). Native
/// podman has no daemon and prints no `Server` at all: the client is the engine, so its version is
/// the server's too (an unreachable docker daemon is `"Server":null`, and a failed command).
pub(crate) fn parse_versions(stdout: &str) -> EngineVersions {
    let v: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let version = |part: &str| {
        v.get(part)
            .and_then(|p| p.get("Version"))
            .and_then(|s| s.as_str())
            .map(str::to_string)
    };
    let daemonless = v.get("Client").is_some() && v.get("Server").is_none();
    EngineVersions {
        client: version("Client"),
        server: match daemonless {
            true => version("Client"),
            false => version("Server"),
        },
        unreachable: None,
    }
}

/// Ask the engine for its versions. `Err` only when the engine could not be run at all.
pub(crate) fn engine_versions(engine: &Engine) -> Result<EngineVersions> {
    let reply = engine.run(Verb::Version, argv::version())?;
    let mut versions = parse_versions(&reply.stdout);
    versions.unreachable = (!reply.success() || versions.server.is_none()).then(|| {
        let mut e = reply.into_error();
        if *e.kind() != ErrorKind::EngineUnavailable {
            // No server version is an unreachable server, whatever the wording.
            e = e.with_kind(ErrorKind::EngineUnavailable);
        }
        e
    });
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_engine_versions() {
        let v = parse_versions(
            r#"{"Client":{"Version":"20.10.24","ApiVersion":"1.41"},"Server":{"Version":"20.10.24"}}"#,
        );
        assert_eq!(
            (v.client.as_deref(), v.server.as_deref()),
            (Some("20.10.24"), Some("20.10.24"))
        );
        let v = parse_versions(r#"{"Client":{"Version":"4.3.1"},"Server":null}"#);
        assert_eq!((v.client.as_deref(), v.server), (Some("4.3.1"), None));
        // native_podman_has_no_server_and_is_not_unreachable (issue 15): podman 4.3 runs
        // containers itself, so `version` and `doctor` said its daemon did not answer (exit 69).
        let v = parse_versions(
            r#"{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","OsArch":"linux/amd64","Os":"linux"}}"#,
        );
        assert_eq!(
            (v.client.as_deref(), v.server.as_deref()),
            (Some("4.3.1"), Some("4.3.1"))
        );
        assert_eq!(parse_versions("").server, None);
    }
}
