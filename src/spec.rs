//! The bundle spec: what `up` runs, from flags and an optional TOML file, validated and merged.
//!
//! Also the spec digest that goes into the `bottle.spec` label. The digest is how `up` tells
//! "already up as asked" from "up with a different spec"; see [`Spec::digest`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Invalid, Result};
use crate::input::{self, EnvEntry, EnvKey, EnvValue, ImageRef, Volume};

pub const DEFAULT_IMAGE: &str = "bot-bottle-sidecars:latest";
pub const DEFAULT_DAEMONS: &[&str] = &["egress", "pipelock"];
pub const DAEMONS_ENV: &str = "BOT_BOTTLE_SIDECAR_DAEMONS";

/// The engine's pull policy for the bundle image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    #[default]
    Missing,
    Never,
    Always,
}

impl Pull {
    pub fn as_str(self) -> &'static str {
        match self {
            Pull::Missing => "missing",
            Pull::Never => "never",
            Pull::Always => "always",
        }
    }
}

/// `[build]`: build the image from here when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub context: PathBuf,
    pub dockerfile: Option<PathBuf>,
}

/// The spec keys as they arrive, from flags or from the TOML file. `None` means "not given".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub image: Option<String>,
    pub daemons: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub volumes: Option<Vec<String>>,
    pub publish: Option<Vec<String>>,
    pub publish_ip: Option<String>,
    pub pull: Option<Pull>,
    pub build: Option<Build>,
}

impl RawSpec {
    /// Read a TOML spec file. Unknown keys are refused. Relative `[build]` paths are taken relative
    /// to the file's directory, as a user writing the file would expect.
    pub fn from_file(path: &Path) -> Result<RawSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(
                Invalid::Config,
                format!("cannot read config `{}`: {e}", path.display()),
            )
        })?;
        let mut raw = RawSpec::from_toml(&text, path)?;
        if let Some(build) = &mut raw.build {
            let dir = path.parent().unwrap_or(Path::new("."));
            build.context = dir.join(&build.context);
            if let Some(df) = &mut build.dockerfile {
                *df = dir.join(&*df);
            }
        }
        Ok(raw)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<RawSpec> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let kind = if msg.starts_with("unknown field") {
                Invalid::ConfigKey
            } else {
                Invalid::Config
            };
            let msg = msg.replace('\n', " ");
            let hint = if kind == Invalid::ConfigKey {
                ""
            } else {
                "; see `bottle up --help` for the keys"
            };
            Error::invalid(
                kind,
                format!(
                    "invalid config `{}`: {}{hint}",
                    path.display(),
                    msg.trim_end()
                ),
            )
        })
    }

    /// Flags override the file, key by key. A flag given replaces the file's value for that key,
    /// arrays included.
    pub fn overridden_by(self, flags: RawSpec) -> RawSpec {
        RawSpec {
            image: flags.image.or(self.image),
            daemons: flags.daemons.or(self.daemons),
            env: flags.env.or(self.env),
            volumes: flags.volumes.or(self.volumes),
            publish: flags.publish.or(self.publish),
            publish_ip: flags.publish_ip.or(self.publish_ip),
            pull: flags.pull.or(self.pull),
            build: flags.build.or(self.build),
        }
    }

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
        let publish_ip = input::parse_publish_ip(
            self.publish_ip.as_deref().unwrap_or("127.0.0.1"),
            allow_nonloopback,
        )?;
        Ok(Spec {
            image,
            daemons,
            env,
            volumes: volumes.into_values().collect(),
            publish,
            publish_ip,
            pull: self.pull.unwrap_or_default(),
            build: self.build,
        })
    }
}

/// A validated, effective bundle spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub image: ImageRef,
    pub daemons: Vec<String>,
    pub env: BTreeMap<EnvKey, EnvValue>,
    /// Sorted by container path, each container path once.
    pub volumes: Vec<Volume>,
    pub publish: BTreeSet<u16>,
    pub publish_ip: IpAddr,
    pub pull: Pull,
    pub build: Option<Build>,
}

impl Spec {
    /// The pull policy `run` gets: with a `[build]` section bottle builds a missing image instead
    /// of pulling it, so `never`.
    pub fn run_pull(&self) -> Pull {
        match self.build {
            Some(_) => Pull::Never,
            None => self.pull,
        }
    }

    /// The `KEY=VALUE` entries, which travel through the env-file.
    pub fn literal_env(&self) -> impl Iterator<Item = (&EnvKey, &input::Secret)> {
        self.env.iter().filter_map(|(k, v)| match v {
            EnvValue::Literal(s) => Some((k, s)),
            EnvValue::Inherit => None,
        })
    }

    /// The hex SHA-256 digest of the effective spec, for the `bottle.spec` label.
    ///
    /// It covers everything that shapes the running bundle: image, daemons (in order: the bundle
    /// may care), the env keys and whether each is `KEY=VALUE` or a bare `KEY`, volumes, publish
    /// IP and ports. Env, volumes and ports are canonicalised by sorting, so the order they were
    /// given in does not matter. The pull policy and `[build]` say how to get the image, not what
    /// runs, so they are left out.
    ///
    /// Env *values* are left out on purpose: the label travels in `docker run`'s argv, which every
    /// local user can read in `/proc`, and an unsalted hash of a short secret can be brute-forced.
    /// `up` compares values against the engine's own record instead ([`Spec::env_matches`]).
    pub fn digest(&self) -> String {
        let env: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(k, v)| {
                let kind = match v {
                    EnvValue::Literal(_) => "value",
                    EnvValue::Inherit => "inherit",
                };
                (k.as_str(), kind)
            })
            .collect();
        let canonical = serde_json::json!({
            "v": 1,
            "image": self.image.as_str(),
            "daemons": self.daemons,
            "env": env,
            "volumes": self.volumes.iter().map(Volume::to_arg).collect::<Vec<_>>(),
            "publish_ip": self.publish_ip.to_string(),
            "publish": self.publish,
        });
        sha256_hex(canonical.to_string().as_bytes())
    }

    /// Whether a container's environment (`KEY=VALUE` strings, as the engine records them) holds
    /// the values this spec asks for: each `KEY=VALUE` exactly, and for a bare `KEY` the value
    /// `inherited` gives (or no such variable, if it gives none).
    pub fn env_matches(
        &self,
        container_env: &[String],
        inherited: impl Fn(&str) -> Option<String>,
    ) -> bool {
        let value_of = |key: &str| {
            container_env
                .iter()
                .find_map(|e| e.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
        };
        self.env.iter().all(|(k, v)| {
            let want = match v {
                EnvValue::Literal(s) => Some(s.expose().to_string()),
                EnvValue::Inherit => inherited(k.as_str()),
            };
            value_of(k.as_str()) == want.as_deref()
        })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn raw(env: &[&str], vols: &[&str], ports: &[&str]) -> RawSpec {
        let v = |xs: &[&str]| Some(xs.iter().map(|s| s.to_string()).collect());
        RawSpec {
            env: v(env),
            volumes: v(vols),
            publish: v(ports),
            ..RawSpec::default()
        }
    }

    fn digest(r: RawSpec) -> String {
        r.validate(false).unwrap().digest()
    }

    #[test]
    fn digest_is_order_independent_and_sensitive() {
        let a = digest(raw(&["A=1", "B=2"], &["/a:/a", "/b:/b:ro"], &["80", "443"]));
        let b = digest(raw(&["B=2", "A=1"], &["/b:/b:ro", "/a:/a"], &["443", "80"]));
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        for changed in [
            raw(&["A=1", "B"], &["/a:/a", "/b:/b:ro"], &["80", "443"]),
            raw(&["A=1", "B=2"], &["/a:/a", "/b:/b"], &["80", "443"]),
            raw(&["A=1", "B=2"], &["/a:/a", "/b:/b:ro"], &["80"]),
            raw(
                &["A=1", "B=2", "HOME_VAR"],
                &["/a:/a", "/b:/b:ro"],
                &["80", "443"],
            ),
        ] {
            assert_ne!(digest(changed), a);
        }
    }

    /// Values stay out of the digest (it travels in argv); `env_matches` compares them instead.
    #[test]
    fn env_values_are_compared_not_hashed() {
        let spec = |env: &[&str]| raw(env, &[], &[]).validate(false).unwrap();
        assert_eq!(
            spec(&["TOKEN=hunter2"]).digest(),
            spec(&["TOKEN=other"]).digest()
        );
        assert!(!format!("{:?}", spec(&["TOKEN=hunter2"])).contains("hunter2"));
        let env = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let running = env(&["PATH=/bin", "TOKEN=hunter2", "HOME_VAR=x", "EMPTY="]);
        let from_env = |k: &str| (k == "HOME_VAR").then(|| "x".to_string());
        assert!(spec(&["TOKEN=hunter2", "HOME_VAR", "EMPTY="]).env_matches(&running, from_env));
        assert!(!spec(&["TOKEN=other"]).env_matches(&running, from_env));
        assert!(
            !spec(&["TOKEN=hunter"]).env_matches(&running, from_env),
            "a prefix is not a match"
        );
        assert!(!spec(&["HOME_VAR"]).env_matches(&running, |_| Some("y".into())));
        assert!(!spec(&["UNSET_HERE"]).env_matches(&env(&["UNSET_HERE=1"]), |_| None));
        assert!(spec(&["UNSET_HERE"]).env_matches(&running, |_| None));
    }

    #[test]
    fn flags_override_the_file() {
        let file = RawSpec::from_toml(
            "image = \"a\"\nenv = [\"X=1\"]\npublish = [\"80\"]\n",
            Path::new("f.toml"),
        )
        .unwrap();
        let flags = RawSpec {
            image: Some("b".into()),
            env: Some(vec![]),
            ..RawSpec::default()
        };
        let spec = file.overridden_by(flags).validate(false).unwrap();
        assert_eq!(spec.image.as_str(), "b");
        assert!(spec.env.is_empty());
        assert_eq!(spec.publish, BTreeSet::from([80]));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = RawSpec::from_toml("imagee = \"a\"\n", Path::new("f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::ConfigKey), "{e}");
        assert!(!e.message().contains('\n'));
        let e = RawSpec::from_toml("[build]\ncontext = \".\"\nfoo = 1\n", Path::new("f.toml"))
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::ConfigKey), "{e}");
        let e = RawSpec::from_toml("image = 1\n", Path::new("f.toml")).unwrap_err();
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
