//! Validating a [`RawSpec`] into a [`Spec`]: defaults filled in, every value parsed by its
//! validator in `input`, and what only the whole spec can tell refused (a reserved env key, a
//! container path or a port given twice, a loopback pool without `auto`). Text is parsed into
//! typed [`Parts`] first, which is also what [`crate::SpecBuilder`] fills, then checked as a whole.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use super::{
    Build, DAEMONS_ENV, DEFAULT_DAEMONS, DEFAULT_IMAGE, DEFAULT_WAIT, Pull, RawSpec, RawWait, Spec,
};
use crate::endpoints::PortKey;
use crate::error::{Error, Invalid, Result};
use crate::input::{self, EnvEntry, ImageRef, Volume};
use crate::limits::{self, Limits};
use crate::subnet::LoopbackPool;

impl RawSpec {
    /// Validate into a [`Spec`]: parse each value into its type (`Parts`), then check them
    /// together.
    pub fn validate(self, allow_nonloopback: bool) -> Result<Spec> {
        self.parts()?.validate(allow_nonloopback)
    }

    fn parts(self) -> Result<Parts> {
        let image = ImageRef::parse(self.image.as_deref().unwrap_or(DEFAULT_IMAGE))?;
        let daemons = match self.daemons {
            None => None,
            Some(ds) => Some(
                ds.iter()
                    .map(|d| input::parse_daemon(d))
                    .collect::<Result<_>>()?,
            ),
        };
        let env = (self.env.unwrap_or_default().iter())
            .map(|raw| EnvEntry::parse(raw))
            .collect::<Result<_>>()?;
        let volumes = (self.volumes.unwrap_or_default().iter())
            .map(|raw| Volume::parse(raw))
            .collect::<Result<_>>()?;
        let publish = (self.publish.unwrap_or_default().iter())
            .map(|raw| input::parse_publish(raw))
            .collect::<Result<_>>()?;
        let publish_ip = match self.publish_ip.as_deref() {
            None => None,
            Some("auto") => Some(PublishIp::Auto),
            Some(text) => Some(PublishIp::Addr(input::parse_ip(text)?)),
        };
        let loopback_pool = match self.loopback_pool {
            Some(text) => Some(text.parse::<LoopbackPool>()?),
            None => None,
        };
        let wait = match self.wait {
            None | Some(RawWait::No) => None,
            Some(RawWait::Default) => Some(DEFAULT_WAIT),
            Some(RawWait::Within(text)) => Some(parse_wait(&text)?),
        };
        let ttl = self.ttl.as_deref().map(parse_ttl).transpose()?;
        let limits = Limits {
            memory: self
                .memory
                .as_deref()
                .map(limits::parse_memory)
                .transpose()?,
            millicpus: self.cpus.as_deref().map(limits::parse_cpus).transpose()?,
            pids: (self.pids_limit.as_deref())
                .map(limits::parse_pids_limit)
                .transpose()?,
        };
        Ok(Parts {
            ttl,
            image,
            daemons,
            env,
            volumes,
            publish,
            publish_ip,
            loopback_pool,
            pull: self.pull,
            build: self.build,
            wait,
            limits,
        })
    }
}

/// Where the ports are published, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishIp {
    /// On this address.
    Addr(IpAddr),
    /// `--publish-ip auto`: on an address of the bottle's own, from the loopback pool.
    Auto,
}

/// The spec's values, each already of its own type, before the checks that look at several of
/// them (defaults, repeats, the loopback rule). [`crate::SpecBuilder`] fills it directly and
/// [`RawSpec::validate`] parses text into it, so a typed value never goes through text.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    pub image: ImageRef,
    /// `None`: the default daemons.
    pub daemons: Option<Vec<String>>,
    /// In the order given; a later entry for a key wins.
    pub env: Vec<EnvEntry>,
    pub volumes: Vec<Volume>,
    pub publish: Vec<PortKey>,
    /// `None`: `127.0.0.1`.
    pub publish_ip: Option<PublishIp>,
    pub loopback_pool: Option<LoopbackPool>,
    pub pull: Option<Pull>,
    pub build: Option<Build>,
    pub wait: Option<Duration>,
    pub ttl: Option<Duration>,
    pub limits: Limits,
}

impl Parts {
    /// The parts of a spec that runs `image` and asks for nothing else.
    pub(crate) fn new(image: ImageRef) -> Parts {
        Parts {
            image,
            daemons: None,
            env: Vec::new(),
            volumes: Vec::new(),
            publish: Vec::new(),
            publish_ip: None,
            loopback_pool: None,
            pull: None,
            build: None,
            wait: None,
            ttl: None,
            limits: Limits::default(),
        }
    }

    /// Check the parts together into a [`Spec`].
    pub(crate) fn validate(self, allow_nonloopback: bool) -> Result<Spec> {
        let daemons = match self.daemons {
            None => DEFAULT_DAEMONS.iter().map(|d| d.to_string()).collect(),
            Some(ds) => ds,
        };
        let mut env = BTreeMap::new();
        for EnvEntry { key, value } in self.env {
            if key.as_str() == DAEMONS_ENV {
                return Err(Error::invalid(
                    Invalid::EnvKey,
                    format!(
                        "env `{DAEMONS_ENV}` is set by bottle from the spec's daemons: list them as daemons instead"
                    ),
                ));
            }
            // Later entries win, as with `docker run -e`.
            env.insert(key, value);
        }
        let mut volumes = BTreeMap::new();
        for v in self.volumes {
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
        for key in self.publish {
            if key.0 == 0 {
                return Err(input::parse_port("0").unwrap_err());
            }
            if !publish.insert(key) {
                let (port, proto) = key;
                return Err(Error::invalid(
                    Invalid::DuplicatePort,
                    format!(
                        "port {port}/{proto} is published twice: list each container port once"
                    ),
                ));
            }
        }
        let loopback_pool = match (self.publish_ip, self.loopback_pool) {
            (Some(PublishIp::Auto), pool) => Some(pool.unwrap_or_default()),
            // A pool that nothing would use: refused, not silently ignored.
            (_, Some(pool)) => {
                return Err(Error::invalid(
                    Invalid::LoopbackPool,
                    format!(
                        "loopback pool `{pool}` is used only with the publish IP `auto`: ask for `auto`, or drop the pool"
                    ),
                ));
            }
            (_, None) => None,
        };
        let publish_ip = match (loopback_pool, self.publish_ip) {
            // What `plan` shows: the address `up` takes on an engine with no other bottle.
            (Some(pool), _) => IpAddr::V4(pool.subnet().network()),
            (None, Some(PublishIp::Addr(ip))) => input::check_publish_ip(ip, allow_nonloopback)?,
            (None, _) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        };
        Ok(Spec {
            image: self.image,
            daemons,
            env,
            volumes: volumes.into_values().collect(),
            publish,
            publish_ip,
            pull: self.pull.unwrap_or_default(),
            build: self.build,
            wait: self.wait,
            ttl: match self.ttl {
                Some(ttl) => Some(check_ttl(ttl)?),
                None => None,
            },
            loopback_pool: loopback_pool.map(|p| p.subnet().net()),
            limits: self.limits.checked()?,
        })
    }
}

/// Parse a `--ttl` duration: as `--timeout` takes it, at least a second.
///
/// Public because a lease can be given without a spec (`up SLUG --ttl 2h` keeps an existing
/// bottle's spec): a launcher reading one from text validates it by the rule
/// [`crate::SpecText`]'s `ttl` is held to.
pub fn parse_ttl(text: &str) -> Result<Duration> {
    let ttl = crate::input::parse_timeout(text).map_err(|_| {
        ttl_error(&format!(
            "invalid ttl {}: expected whole seconds, minutes or hours from 1s to 8784h (366 days), such as 90s, 30m or 2h",
            crate::input::quoted(text)
        ))
    })?;
    check_ttl(ttl)
}

/// The longest lease: 100 years, so the expiry stays a four-digit year.
const MAX_TTL_SECS: u64 = 100 * 365 * 86_400;

/// A lease is recorded in whole seconds: at least one second, whatever the spelling (`0.5s` and
/// `999ms` alike are refused), a fraction past it rounded up, at most [`MAX_TTL_SECS`].
fn check_ttl(ttl: Duration) -> Result<Duration> {
    if ttl < Duration::from_secs(1) {
        return Err(ttl_error(
            "invalid ttl: a lease is at least a second, such as 90s, 30m or 2h",
        ));
    }
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    match secs <= MAX_TTL_SECS {
        true => Ok(Duration::from_secs(secs)),
        false => Err(ttl_error("invalid ttl: a lease is at most 100 years")),
    }
}

fn ttl_error(message: &str) -> Error {
    Error::invalid(Invalid::Ttl, message)
}

/// Parse a `--wait` duration: as `--timeout` takes it (`60s`, `2m`, `500ms`, plain seconds).
pub fn parse_wait(text: &str) -> Result<Duration> {
    crate::input::parse_timeout(text).map_err(|_| {
        Error::invalid(
            Invalid::Wait,
            "invalid wait duration: expected a positive duration such as 60s, 2m, 500ms or plain seconds",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::raw;
    use super::*;

    /// A lease is at least a second whatever its spelling; past a second, a fraction rounds up.
    #[test]
    fn a_ttl_below_a_second_is_refused_however_it_is_spelled() {
        for (text, want) in [
            ("0.5s", None),
            ("1ms", None),
            ("999ms", None),
            ("0s", None),
            ("1y", None),
            ("100000000000000s", None),
            ("1000ms", Some(1)),
            ("1001ms", Some(2)),
            ("90s", Some(90)),
            ("2h", Some(7200)),
        ] {
            assert_eq!(parse_ttl(text).ok().map(|d| d.as_secs()), want, "{text}");
        }
        assert!(check_ttl(Duration::from_secs(MAX_TTL_SECS + 1)).is_err());
    }
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
            assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::LoopbackPool), "{e}");
            assert!(e.message().contains("publish IP `auto`"), "{e}");
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
                &ErrorKind::Invalid(Invalid::LoopbackPool),
                "{bad}: {e}"
            );
        }
        let e = spec(None, None, Some(RawWait::Within("soon".into()))).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Wait), "{e}");

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
        // compose's `wait_timeout`: the limit, which asks for the wait unless `wait = false`.
        let wait_of = |text: &str| {
            let raw = RawSpec::from_toml(text, Path::new("f.toml")).unwrap();
            raw.validate(false).unwrap().wait
        };
        let five = Some(std::time::Duration::from_secs(5));
        assert_eq!(wait_of("wait_timeout = \"5s\"\n"), five);
        assert_eq!(wait_of("wait_timeout = \"5s\"\nwait = true\n"), five);
        assert_eq!(wait_of("wait = false\nwait_timeout = \"5s\"\n"), None);
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
