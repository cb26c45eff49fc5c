//! The bundle spec: what `up` runs, from flags and an optional TOML file, validated and merged.
//!
//! Three steps, each in its own module, each a function of the one before:
//! - `read`: the config file's text, read bounded (a regular file of at most
//!   `read::MAX_CONFIG_BYTES`, never blocking on a FIFO). The only step that touches a file.
//! - `parse`: TOML text to a [`RawSpec`], the keys as given, each value checked where it stands
//!   so an error names its line and column (and never quotes a value); unknown keys are refused.
//! - `validate`: a [`RawSpec`] (the file's, overridden key by key by the flags) to a [`Spec`].
//!
//! Also the spec digest that goes into the `bottle.spec` label. The digest is how `up` tells
//! "already up as asked" from "up with a different spec"; see [`Spec::digest`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnetwork::Ipv4Network;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::endpoints::PortKey;
use crate::input::{EnvKey, EnvValue, ImageRef, Volume};
use crate::limits::Limits;
use crate::model::Protocol;

mod parse;
mod read;
mod validate;

pub(crate) use validate::{Parts, PublishIp};
pub use validate::{parse_ttl, parse_wait};

/// The bundle image when a spec names none: the sidecar image of the launcher bottle serves.
pub const DEFAULT_IMAGE: &str = "bot-bottle-sidecars:latest";
pub const DEFAULT_DAEMONS: &[&str] = &["egress", "pipelock"];
pub const DAEMONS_ENV: &str = "BOT_BOTTLE_SIDECAR_DAEMONS";

/// When the bundle image is pulled: `missing` (bottle pulls it when absent, with its progress shown), `never`, or `always` (the engine pulls on every run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// Pull the image only when the engine does not have it (the default).
    #[default]
    Missing,
    /// Never pull: a missing image is an error (or is built, with a build context).
    Never,
    /// Pull before every `up` that runs a bundle.
    Always,
}

impl Pull {
    /// Every policy, in the order `--help` lists them.
    pub const ALL: [Pull; 3] = [Pull::Missing, Pull::Never, Pull::Always];

    /// The policy as the engine's `--pull` flag spells it.
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
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile, if not the context's `Dockerfile`.
    pub dockerfile: Option<PathBuf>,
}

/// The spec as text, exported as [`crate::SpecText`]: its keys as a TOML file
/// ([`RawSpec::from_file`]) or the command line spells them, each `None` when not given. It holds
/// no checked value; [`RawSpec::validate`] turns it into a [`Spec`] with the same rules and errors
/// as [`Spec::builder`], which is the typed way to make one. `Debug` shows each env entry's key
/// only: a `KEY=VALUE` value is a secret.
#[derive(Clone, Default)]
pub struct RawSpec {
    /// The bundle image reference (`image`, `--image`).
    pub image: Option<String>,
    /// The daemons the bundle starts (`daemons`, `--daemons`).
    pub daemons: Option<Vec<String>>,
    /// `KEY=VALUE`, or a bare `KEY` whose value is inherited (`env`, `-e`).
    pub env: Option<Vec<String>>,
    /// `HOST:CTR[:ro|rw]` bind mounts (`volumes`, `-v`).
    pub volumes: Option<Vec<String>>,
    /// Container ports to publish, as text (`publish`, `-p`).
    pub publish: Option<Vec<String>>,
    /// An address, or `auto` (`publish_ip`, `--publish-ip`).
    pub publish_ip: Option<String>,
    /// The pull policy (`pull`, `--pull`).
    pub pull: Option<Pull>,
    /// `[build]`: build the image when it is missing.
    pub build: Option<Build>,
    /// `--wait[=DURATION]` / `wait`.
    pub wait: Option<RawWait>,
    /// `--loopback-pool` / `loopback_pool`: where `--publish-ip auto` takes its address from.
    pub loopback_pool: Option<String>,
    /// `--ttl` / `ttl`: the bottle's lease, as a duration (`30m`, `2h`).
    pub ttl: Option<String>,
    /// `--memory` / `memory`: a size such as `512m` or `1g`, or bytes.
    pub memory: Option<String>,
    /// `--cpus` / `cpus`: a number of CPUs, at most three decimal places.
    pub cpus: Option<String>,
    /// `--pids-limit` / `pids_limit`: a positive number of processes.
    pub pids_limit: Option<String>,
    /// `contexts`: the fleet `up` works over when neither `--contexts` nor `BOTTLE_CONTEXTS`
    /// names one (docker contexts, or podman connections). Not part of the bundle or its digest.
    pub contexts: Option<Vec<String>>,
}

/// Whether `up` waits for the bundle to be ready, as given (`--wait[=DURATION]`, `wait`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawWait {
    /// `wait = false`: return as soon as the bundle runs.
    No,
    /// `--wait` given bare, or `wait = true`: wait at most [`DEFAULT_WAIT`].
    Default,
    /// `--wait=DURATION`, `--wait-timeout DURATION`, `wait = "DURATION"`, `wait_timeout =
    /// "DURATION"`: a duration to parse.
    Within(String),
}

impl RawWait {
    /// This wait with `--wait-timeout` / `wait_timeout` given too: the limit replaces any other,
    /// and asks for the wait, unless the wait was turned off (`wait = false`).
    pub fn within(self, timeout: String) -> RawWait {
        match self {
            RawWait::No => RawWait::No,
            RawWait::Default | RawWait::Within(_) => RawWait::Within(timeout),
        }
    }
}

impl std::fmt::Debug for RawSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSpec")
            .field("image", &self.image)
            .field("daemons", &self.daemons)
            .field("env", &self.env.as_deref().map(env_debug))
            .field("volumes", &self.volumes)
            .field("publish", &self.publish)
            .field("publish_ip", &self.publish_ip)
            .field("pull", &self.pull)
            .field("build", &self.build)
            .field("wait", &self.wait)
            .field("loopback_pool", &self.loopback_pool)
            .field("ttl", &self.ttl)
            .field("memory", &self.memory)
            .field("cpus", &self.cpus)
            .field("pids_limit", &self.pids_limit)
            .finish()
    }
}

/// `-e` entries as `Debug` may show them: `KEY=***` for a `KEY=VALUE`, a bare `KEY` as it is.
pub fn env_debug(entries: &[String]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match e.split_once('=') {
            Some((key, _)) => format!("{key}={}", crate::display::MASK),
            None => e.clone(),
        })
        .collect()
}

/// What `--wait` given bare waits for at most.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

impl RawSpec {
    /// Flags override the file, key by key. A flag given replaces the file's value for that key,
    /// arrays included, except `env`, which is merged per env key: the file's entries, then the
    /// flags', a flag overriding the same key (validation keeps the last entry of a key). Replacing
    /// the whole list silently dropped every value of the file when one `-e` was given.
    pub fn overridden_by(self, flags: RawSpec) -> RawSpec {
        let env = match (self.env, flags.env) {
            (Some(mut file), Some(flags)) => {
                file.extend(flags);
                Some(file)
            }
            (file, flags) => flags.or(file),
        };
        RawSpec {
            image: flags.image.or(self.image),
            daemons: flags.daemons.or(self.daemons),
            env,
            volumes: flags.volumes.or(self.volumes),
            publish: flags.publish.or(self.publish),
            publish_ip: flags.publish_ip.or(self.publish_ip),
            pull: flags.pull.or(self.pull),
            build: flags.build.or(self.build),
            wait: flags.wait.or(self.wait),
            loopback_pool: flags.loopback_pool.or(self.loopback_pool),
            ttl: flags.ttl.or(self.ttl),
            memory: flags.memory.or(self.memory),
            cpus: flags.cpus.or(self.cpus),
            pids_limit: flags.pids_limit.or(self.pids_limit),
            contexts: flags.contexts.or(self.contexts),
        }
    }

    /// Whether any key that says what the bundle is was given: anything but `wait` and `ttl`,
    /// which say how `up` runs and how long the bottle lives. `up SLUG` with none of them (and
    /// no config file) keeps an existing bottle as it is rather than replacing it with defaults.
    pub fn names_bundle(&self) -> bool {
        // Destructured whole, so a key added later must be placed on one side or the other.
        let RawSpec {
            image,
            daemons,
            env,
            volumes,
            publish,
            publish_ip,
            pull,
            build,
            wait: _,
            loopback_pool,
            ttl: _,
            memory,
            cpus,
            pids_limit,
            contexts: _,
        } = self;
        image.is_some()
            || daemons.is_some()
            || env.is_some()
            || volumes.is_some()
            || publish.is_some()
            || publish_ip.is_some()
            || pull.is_some()
            || build.is_some()
            || loopback_pool.is_some()
            || memory.is_some()
            || cpus.is_some()
            || pids_limit.is_some()
    }
}

/// A validated, effective bundle spec: what `up` runs. Made by [`Spec::builder`] (or from flags
/// and a config file by the CLI), so it never holds an invalid value; its fields are read through
/// accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub(crate) image: ImageRef,
    pub(crate) daemons: Vec<String>,
    pub(crate) env: BTreeMap<EnvKey, EnvValue>,
    /// Sorted by container path, each container path once.
    pub(crate) volumes: Vec<Volume>,
    /// Container port and protocol, each once.
    pub(crate) publish: BTreeSet<PortKey>,
    pub(crate) publish_ip: IpAddr,
    pub(crate) pull: Pull,
    pub(crate) build: Option<Build>,
    /// `up --wait`: how long `up` waits for the bundle to be ready (see [`crate::ready`]); `None`
    /// returns as soon as it runs. Not part of the [`Spec::digest`]: it is not part of what runs.
    pub(crate) wait: Option<Duration>,
    /// `--publish-ip auto`: `up` publishes on the lowest address of this pool (inside
    /// 127.0.0.0/8) that no other bottle's bundle publishes on, and `publish_ip` only holds the
    /// pool's first address (what `plan` shows). `None`: publish on `publish_ip`.
    pub(crate) loopback_pool: Option<Ipv4Network>,
    /// `up --ttl`: the bottle's lease, recorded at creation as its `bottle.expires` label. Not
    /// part of the [`Spec::digest`]: a lease is fixed when the bottle is made, never a reason to
    /// replace its bundle.
    pub(crate) ttl: Option<Duration>,
    /// Memory, CPU and pids limits; part of the digest only when one is set, so that a bottle
    /// made before limits existed keeps its digest.
    pub(crate) limits: Limits,
}

impl Spec {
    /// The bundle image reference.
    pub fn image(&self) -> &str {
        self.image.as_str()
    }

    /// The daemons the bundle starts (`BOT_BOTTLE_SIDECAR_DAEMONS`).
    pub fn daemons(&self) -> &[String] {
        &self.daemons
    }

    /// The container ports (and their protocol) published on [`Spec::publish_ip`], each once, in
    /// order.
    pub fn publish(&self) -> &BTreeSet<(u16, Protocol)> {
        &self.publish
    }

    /// The host address the ports are published on (loopback unless allowed otherwise).
    pub fn publish_ip(&self) -> IpAddr {
        self.publish_ip
    }

    /// The bind mounts, sorted by container path, each container path once.
    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }

    /// The bundle's memory, CPU and pids limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The pull policy for the image.
    pub fn pull(&self) -> Pull {
        self.pull
    }

    /// Every env key the bundle gets, in order (values are never exposed here).
    pub fn env_keys(&self) -> impl Iterator<Item = &str> {
        self.env.keys().map(EnvKey::as_str)
    }

    /// The bare env keys, whose values the engine takes from bottle's own environment.
    pub fn inherited_env(&self) -> impl Iterator<Item = &str> {
        self.env.iter().filter_map(|(k, v)| match v {
            EnvValue::Inherit => Some(k.as_str()),
            EnvValue::Literal(_) => None,
        })
    }

    /// The directory an image missing from the engine is built from, if any.
    pub fn build_context(&self) -> Option<&Path> {
        self.build.as_ref().map(|b| b.context.as_path())
    }

    /// The pull policy `run` gets. A missing image is fetched by bottle itself, not inside `run`:
    /// with `[build]` it builds it, with `--pull missing` it runs `pull` (so the engine's progress
    /// reaches the user, where `run` keeps a pull's progress in its captured output), and then
    /// runs again. With the image present, as on the budgeted path, this costs nothing. `always`
    /// stays the engine's own policy.
    pub(crate) fn run_pull(&self) -> Pull {
        match self.fetches_missing_image() {
            true => Pull::Never,
            false => self.pull,
        }
    }

    /// Whether bottle itself makes a missing image present (builds it from `[build]`, or pulls
    /// it under `--pull missing`) rather than leaving that to `run`.
    pub(crate) fn fetches_missing_image(&self) -> bool {
        self.build.is_some() || self.pull == Pull::Missing
    }

    /// How long `up` waits for the bundle to be ready, if it waits ([`crate::SpecBuilder::wait`]).
    pub fn wait(&self) -> Option<Duration> {
        self.wait
    }

    /// The bottle's lease, if it has one ([`crate::SpecBuilder::ttl`]), in whole seconds.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// Every value to mask in foreign text (engine stderr, the bundle's logs): the `KEY=VALUE`
    /// values, and the values `lookup` gives for the bare `KEY`s, which reach the bundle through
    /// the environment and can be echoed back just the same. Empty values are left out.
    pub(crate) fn secret_values(&self, lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
        self.env
            .iter()
            .filter_map(|(k, v)| match v {
                EnvValue::Literal(s) => Some(s.expose().to_string()),
                EnvValue::Inherit => lookup(k.as_str()),
            })
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The hex SHA-256 digest of the effective spec, for the `bottle.spec` label.
    ///
    /// It covers everything that shapes the running bundle: image, daemons (in order: the bundle
    /// may care), the env keys and whether each is `KEY=VALUE` or a bare `KEY`, volumes, publish
    /// IP, ports and the limits that are set. Env, volumes and ports are canonicalised by sorting, so the order they were
    /// given in does not matter. The pull policy and `[build]` say how to get the image, not what
    /// runs, so they are left out.
    ///
    /// Env *values* are left out on purpose: the label travels in `docker run`'s argv, which every
    /// local user can read in `/proc`, and an unsalted hash of a short secret can be brute-forced.
    /// `up` compares values against the engine's own record instead (`Spec::env_matches`).
    pub fn digest(&self) -> String {
        sha256_hex(self.canonical().to_string().as_bytes())
    }

    /// A short digest (8 hex digits) of each part of [`Spec::digest`]'s canonical form, by its
    /// name (`daemons`, `env`, `image`, `publish`, `publish_ip`, `volumes`): the `bottle.parts`
    /// label, from which a replace names exactly the parts that changed. Derived from the same
    /// canonical form, so a part added to the digest is named too.
    pub(crate) fn part_digests(&self) -> BTreeMap<String, String> {
        let serde_json::Value::Object(parts) = self.canonical() else {
            unreachable!("the canonical form is an object")
        };
        parts
            .into_iter()
            .filter(|(k, _)| k != "v")
            .map(|(k, v)| (k, sha256_hex(v.to_string().as_bytes())[..8].to_string()))
            .collect()
    }

    /// What [`Spec::digest`] hashes: every part of the spec that decides what runs.
    fn canonical(&self) -> serde_json::Value {
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
        let mut canonical = serde_json::json!({
            "v": 1,
            "image": self.image.as_str(),
            "daemons": self.daemons,
            "env": env,
            "volumes": self.volumes.iter().map(Volume::to_arg).collect::<Vec<_>>(),
            // `auto` is recorded as such (not the address `up` chose), so a re-`up` is `kept`.
            "publish_ip": match self.loopback_pool {
                Some(pool) => format!("auto {pool}"),
                None => self.publish_ip.to_string(),
            },
            // A TCP port as its number, as the digest always had it, so a bottle made before UDP
            // existed is still `kept`; a UDP one as `53/udp`.
            "publish": self.publish.iter().map(|&(port, proto)| match proto {
                Protocol::Tcp => serde_json::json!(port),
                _ => serde_json::json!(format!("{port}/{proto}")),
            }).collect::<Vec<_>>(),
        });
        // Only when set: a spec without limits keeps the digest it had before limits existed, so
        // an upgrade of bottle replaces no bundle.
        if !self.limits.is_empty() {
            canonical["limits"] = serde_json::json!(self.limits.fields());
        }
        canonical
    }

    /// Whether a container's environment (`KEY=VALUE` strings, as the engine records them) holds
    /// the values this spec asks for: each `KEY=VALUE` exactly, and for a bare `KEY` the value
    /// `inherited` gives (or no such variable, if it gives none).
    pub(crate) fn env_matches(
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

    pub(super) fn raw(env: &[&str], vols: &[&str], ports: &[&str]) -> RawSpec {
        let v = |xs: &[&str]| Some(xs.iter().map(|s| s.to_string()).collect());
        RawSpec {
            env: v(env),
            volumes: v(vols),
            publish: v(ports),
            ..RawSpec::default()
        }
    }

    /// `-e` given with `--config` dropped the file's whole `env` list (attack round 4).
    #[test]
    fn env_flags_merge_with_the_files_env_per_key() {
        #[track_caller]
        fn check(file: Option<&[&str]>, flags: Option<&[&str]>, want: &[(&str, &str)]) {
            let list = |l: &[&str]| l.iter().map(|e| e.to_string()).collect::<Vec<_>>();
            let file = RawSpec {
                env: file.map(list),
                ..RawSpec::default()
            };
            let flags = RawSpec {
                env: flags.map(list),
                ..RawSpec::default()
            };
            let spec = file.overridden_by(flags).validate(false).unwrap();
            let got: Vec<(&str, &str)> = spec
                .env
                .iter()
                .map(|(k, v)| match v {
                    EnvValue::Literal(s) => (k.as_str(), s.expose()),
                    EnvValue::Inherit => (k.as_str(), "<inherit>"),
                })
                .collect();
            assert_eq!(got, want);
        }
        check(None, None, &[]);
        check(Some(&["A=1"]), None, &[("A", "1")]);
        check(None, Some(&["A=1"]), &[("A", "1")]);
        check(
            Some(&["A=1", "B=2"]),
            Some(&["C=3"]),
            &[("A", "1"), ("B", "2"), ("C", "3")],
        );
        check(
            Some(&["A=1", "B=2"]),
            Some(&["B=9"]),
            &[("A", "1"), ("B", "9")],
        );
        check(Some(&["A=1"]), Some(&["A"]), &[("A", "<inherit>")]);
        check(Some(&["A"]), Some(&["A=1"]), &[("A", "1")]);
    }

    /// Who fetches a missing image: bottle (with the progress shown), or `run` itself.
    #[test]
    fn missing_images_are_fetched_by_bottle_where_the_spec_lets_it() {
        let spec = |build: bool, pull: Pull| {
            RawSpec {
                pull: Some(pull),
                build: build.then(|| Build {
                    context: "/ctx".into(),
                    dockerfile: None,
                }),
                ..RawSpec::default()
            }
            .validate(false)
            .unwrap()
        };
        for (build, pull, fetches, run_pull) in [
            (false, Pull::Missing, true, Pull::Never),
            (false, Pull::Never, false, Pull::Never),
            (false, Pull::Always, false, Pull::Always),
            (true, Pull::Missing, true, Pull::Never),
            (true, Pull::Never, true, Pull::Never),
            (true, Pull::Always, true, Pull::Never),
        ] {
            let s = spec(build, pull);
            assert_eq!(s.fetches_missing_image(), fetches, "{build} {pull:?}");
            assert_eq!(s.run_pull(), run_pull, "{build} {pull:?}");
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
        // `env` merges per key (see `env_flags_merge_with_the_files_env_per_key`).
        assert_eq!(spec.env.len(), 1);
        assert_eq!(spec.publish, BTreeSet::from([(80, Protocol::Tcp)]));
    }

    #[test]
    fn secret_values_include_inherited_ones() {
        let spec = raw(&["A=lit", "B", "C", "EMPTY="], &[], &[])
            .validate(false)
            .unwrap();
        let values = spec.secret_values(|k| match k {
            "B" => Some("from-env".into()),
            _ => None,
        });
        assert_eq!(values, ["lit", "from-env"]);
    }
}
