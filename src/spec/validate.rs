//! Validating a [`RawSpec`] into a [`Spec`]: defaults filled in, every value parsed by its
//! validator in `input`, and what only the whole spec can tell refused (a reserved env key, a
//! container path or a port given twice, a loopback pool without `auto`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use ipnetwork::Ipv4Network;

use super::{
    DAEMONS_ENV, DEFAULT_DAEMONS, DEFAULT_IMAGE, DEFAULT_LOOPBACK_POOL, DEFAULT_WAIT, RawSpec,
    RawWait, Spec,
};
use crate::error::{Error, Invalid, Result};
use crate::input::{self, EnvEntry, ImageRef, Volume};

impl RawSpec {
    /// Validate into a [`Spec`].
    pub fn validate(self, allow_nonloopback: bool) -> Result<Spec> {
        let image = ImageRef::parse(self.image.as_deref().unwrap_or(DEFAULT_IMAGE))?;
        let daemons = match self.daemons {
            None => DEFAULT_DAEMONS.iter().map(|d| d.to_string()).collect(),
            Some(ds) => ds
                .iter()
                .map(|d| input::parse_daemon(d))
                .collect::<Result<_>>()?,
        };
        let mut env = BTreeMap::new();
        for raw in self.env.unwrap_or_default() {
            let EnvEntry { key, value } = EnvEntry::parse(&raw)?;
            if key.as_str() == DAEMONS_ENV {
                return Err(Error::invalid(
                    Invalid::EnvKey,
                    format!(
                        "env `{DAEMONS_ENV}` is set by bottle: use --daemons (or `daemons` in the config) instead"
                    ),
                ));
            }
            // Later entries win, as with `docker run -e`.
            env.insert(key, value);
        }
        let mut volumes = BTreeMap::new();
        for raw in self.volumes.unwrap_or_default() {
            let v = Volume::parse(&raw)?;
            if volumes.contains_key(&v.container) {
                return Err(Error::invalid(
                    Invalid::Volume,
                    format!(
                        "duplicate volume target `{}`: mount each container path once",
                        v.container
                    ),
                ));
            }
            volumes.insert(v.container.clone(), v);
        }
        let mut publish = BTreeSet::new();
        for raw in self.publish.unwrap_or_default() {
            let port = input::parse_port(&raw)?;
            if !publish.insert(port) {
                return Err(Error::invalid(
                    Invalid::DuplicatePort,
                    format!("port {port} is published twice: list each container port once"),
                ));
            }
        }
        let loopback_pool = match (self.publish_ip.as_deref(), &self.loopback_pool) {
            (Some("auto"), pool) => Some(parse_loopback_pool(
                pool.as_deref().unwrap_or(DEFAULT_LOOPBACK_POOL),
            )?),
            // A pool that nothing would use: refused, not silently ignored.
            (_, Some(pool)) => {
                return Err(Error::invalid(
                    Invalid::PublishIp,
                    format!(
                        "--loopback-pool `{pool}` (loopback_pool) is used only with `--publish-ip auto`: add `--publish-ip auto`, or drop the pool"
                    ),
                ));
            }
            (_, None) => None,
        };
        let publish_ip = match loopback_pool {
            // What `plan` shows: the address `up` takes on an engine with no other bottle.
            Some(pool) => IpAddr::V4(pool.network()),
            None => input::parse_publish_ip(
                self.publish_ip.as_deref().unwrap_or("127.0.0.1"),
                allow_nonloopback,
            )?,
        };
        let wait = match self.wait {
            None | Some(RawWait::No) => None,
            Some(RawWait::Default) => Some(DEFAULT_WAIT),
            Some(RawWait::Within(text)) => Some(parse_wait(&text)?),
        };
        Ok(Spec {
            image,
            daemons,
            env,
            volumes: volumes.into_values().collect(),
            publish,
            publish_ip,
            pull: self.pull.unwrap_or_default(),
            build: self.build,
            wait,
            loopback_pool,
        })
    }
}

/// Parse a `--wait` duration: as `--timeout` takes it (`60s`, `2m`, `500ms`, plain seconds).
pub fn parse_wait(text: &str) -> Result<Duration> {
    crate::exec::parse_timeout(text).map_err(|_| {
        Error::invalid(
            Invalid::Timeout,
            "invalid --wait duration: expected a positive duration such as 60s, 2m, 500ms or plain seconds",
        )
    })
}

/// Parse a `--loopback-pool`: an IPv4 CIDR inside 127.0.0.0/8 (its network address is used).
pub fn parse_loopback_pool(text: &str) -> Result<Ipv4Network> {
    let refuse = |why: &str| {
        Error::invalid(
            Invalid::PublishIp,
            format!("invalid --loopback-pool {}: {why}", input::quoted(text)),
        )
    };
    let net: Ipv4Network = text
        .parse()
        .map_err(|_| refuse("expected an IPv4 CIDR such as 127.0.0.16/28"))?;
    // A prefix of 8 or more keeps the whole block inside 127.0.0.0/8 once its first address is.
    if !net.network().is_loopback() || net.prefix() < 8 {
        return Err(refuse(
            "it must lie inside 127.0.0.0/8, such as 127.0.0.16/28",
        ));
    }
    Ipv4Network::new(net.network(), net.prefix()).map_err(|_| refuse("not a valid CIDR"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::raw;
    use super::*;
    use crate::error::ErrorKind;
    use std::path::Path;

    /// `--publish-ip auto`: the digest records `auto` and the pool, not an address; `--wait`
    /// stays out of it; the pool must be loopback.
    #[test]
    fn auto_publish_ip_and_wait() {
        let spec = |ip: Option<&str>, pool: Option<&str>, wait: Option<RawWait>| {
            RawSpec {
                publish_ip: ip.map(str::to_string),
                loopback_pool: pool.map(str::to_string),
                wait,
                ..RawSpec::default()
            }
            .validate(false)
        };
        let auto = spec(Some("auto"), None, None).unwrap();
        assert_eq!(auto.loopback_pool, Some("127.0.0.16/28".parse().unwrap()));
        assert_eq!(auto.publish_ip.to_string(), "127.0.0.16");
        let fixed = spec(Some("127.0.0.16"), None, None).unwrap();
        assert_eq!(fixed.loopback_pool, None);
        assert_ne!(auto.digest(), fixed.digest());
        let other_pool = spec(Some("auto"), Some("127.1.0.0/28"), None).unwrap();
        assert_ne!(auto.digest(), other_pool.digest());
        // a_loopback_pool_without_auto_is_refused (issue 14): it did nothing, silently.
        for ip in [None, Some("127.0.0.5")] {
            let e = spec(ip, Some("127.1.0.0/28"), None).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::PublishIp), "{e}");
            assert!(e.message().contains("--publish-ip auto"), "{e}");
        }

        let waiting = spec(Some("auto"), None, Some(RawWait::Within("4s".into()))).unwrap();
        assert_eq!(waiting.wait, Some(std::time::Duration::from_secs(4)));
        assert_eq!(waiting.digest(), auto.digest());
        assert_eq!(spec(None, None, Some(RawWait::No)).unwrap().wait, None);
        let bare = spec(None, None, Some(RawWait::Default)).unwrap();
        assert_eq!(bare.wait, Some(DEFAULT_WAIT));

        for bad in [
            "10.0.0.0/28",
            "127.0.0.0/7",
            "0.0.0.0/0",
            "128.0.0.0/28",
            "x",
        ] {
            let e = spec(Some("auto"), Some(bad), None).unwrap_err();
            assert_eq!(
                e.kind(),
                &ErrorKind::Invalid(Invalid::PublishIp),
                "{bad}: {e}"
            );
        }
        let e = spec(None, None, Some(RawWait::Within("soon".into()))).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Timeout), "{e}");

        let file = RawSpec::from_toml(
            "publish_ip = \"auto\"\nloopback_pool = \"127.9.0.0/28\"\nwait = true\n",
            Path::new("f.toml"),
        )
        .unwrap()
        .validate(false)
        .unwrap();
        assert_eq!(file.loopback_pool, Some("127.9.0.0/28".parse().unwrap()));
        assert_eq!(file.wait, Some(DEFAULT_WAIT));
        let e = RawSpec::from_toml("wait = 3\n", Path::new("f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Config), "{e}");
    }

    #[test]
    fn duplicates_and_reserved_keys() {
        let e = raw(&[], &[], &["80", "80"]).validate(false).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::DuplicatePort));
        let e = raw(&["BOT_BOTTLE_SIDECAR_DAEMONS=x"], &[], &[])
            .validate(false)
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::EnvKey));
        let e = raw(&[], &["/a:/x", "/b:/x"], &[])
            .validate(false)
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Volume));
    }
}
