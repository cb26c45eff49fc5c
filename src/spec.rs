//! The bundle spec: what `up` runs, from flags and an optional TOML file, validated and merged.
//!
//! Also the spec digest that goes into the `bottle.spec` label. The digest is how `up` tells
//! "already up as asked" from "up with a different spec"; see [`Spec::digest`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use ipnetwork::Ipv4Network;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Invalid, Result};
use crate::input::{self, EnvEntry, EnvKey, EnvValue, ImageRef, Volume};
use crate::subnet::LoopbackPool;

pub const DEFAULT_IMAGE: &str = "bot-bottle-sidecars:latest";
pub const DEFAULT_DAEMONS: &[&str] = &["egress", "pipelock"];
pub const DAEMONS_ENV: &str = "BOT_BOTTLE_SIDECAR_DAEMONS";

/// When the bundle image is pulled: `missing` (bottle pulls it when absent, with its progress shown), `never`, or `always` (the engine pulls on every run).
///
/// The variants' docs exist for rustdoc only (`cfg_attr(doc)`): as doc comments, clap would make
/// them `--pull`'s help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    #[cfg_attr(
        doc,
        doc = "Pull the image only when the engine does not have it (the default)."
    )]
    #[default]
    Missing,
    #[cfg_attr(
        doc,
        doc = "Never pull: a missing image is an error (or is built, with a build context)."
    )]
    Never,
    #[cfg_attr(doc, doc = "Pull before every `up` that runs a bundle.")]
    Always,
}

impl Pull {
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
    pub context: PathBuf,
    pub dockerfile: Option<PathBuf>,
}

/// The spec keys as they arrive, from flags or from the TOML file. `None` means "not given".
/// `Debug` shows each env entry's key only (see [`env_debug`]): a `KEY=VALUE` value is a secret.
#[derive(Clone, Default)]
pub struct RawSpec {
    pub image: Option<String>,
    pub daemons: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub volumes: Option<Vec<String>>,
    pub publish: Option<Vec<String>>,
    pub publish_ip: Option<String>,
    pub pull: Option<Pull>,
    pub build: Option<Build>,
    /// `--wait[=DURATION]` / `wait`: `Some(None)` is "do not wait" (`wait = false`),
    /// `Some(Some(text))` a duration to parse.
    pub wait: Option<Option<String>>,
    /// `--loopback-pool` / `loopback_pool`: where `--publish-ip auto` takes its address from.
    pub loopback_pool: Option<String>,
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

/// The largest config file bottle reads. A spec is a few hundred bytes; the cap keeps a mistaken
/// `--config /dev/zero` or a huge file from costing unbounded memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The keys a config file may hold, for the "unknown field" message.
const KEYS: &str = "image, daemons, env, volumes, publish, publish_ip, loopback_pool, wait, pull and [build] (context, dockerfile)";

/// What `--wait` given bare waits for at most.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

impl RawSpec {
    /// Read a TOML spec file: a regular file of at most [`MAX_CONFIG_BYTES`]. Unknown keys are
    /// refused. Relative `[build]` paths, and volume host paths that start with `./` or `../`, are
    /// taken relative to the file's directory, as a user writing the file would expect.
    ///
    /// Anything else (a FIFO, a device such as `/dev/zero`, a directory) is refused without
    /// reading from it, so a config path can neither block bottle nor feed it without end.
    pub fn from_file(path: &Path) -> Result<RawSpec> {
        let text = read_config(path)?;
        // The directory of the file as given, made absolute lexically (no symlink resolution, as a
        // shell's `cd` would see it).
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        RawSpec::parse_toml(&text, path, absolute.parent().unwrap_or(Path::new("")))
    }

    /// Parse a TOML spec. Relative paths are taken relative to `path`'s directory.
    ///
    /// Errors name the key, its line and column, and the type or form expected. They never quote
    /// a value: a misplaced secret (`env = "TOKEN=..."`) must not end up on a terminal or in a CI
    /// log.
    pub fn from_toml(text: &str, path: &Path) -> Result<RawSpec> {
        RawSpec::parse_toml(text, path, path.parent().unwrap_or(Path::new("")))
    }

    fn parse_toml(text: &str, path: &Path, dir: &Path) -> Result<RawSpec> {
        let cx = Toml {
            text,
            shown: input::quoted(&path.to_string_lossy()),
        };
        let doc = toml::de::DeTable::parse(text).map_err(|e| {
            // The parser's messages describe the syntax ("invalid string", "expected `]`"); its
            // span gives the place. Its rendered form (`Display`) would quote the line itself.
            let msg = e.message().replace(['\n', '\r'], " ");
            cx.error(
                Invalid::Config,
                e.span().map_or(0, |s| s.start),
                msg.trim_end(),
            )
        })?;
        let mut raw = RawSpec::default();
        for (key, value) in cx.in_file_order(doc.get_ref()) {
            let at = value.span().start;
            let name = key.get_ref().as_ref();
            match name {
                "image" => {
                    let image = cx.string(name, value)?;
                    cx.check(at, ImageRef::parse(&image))?;
                    raw.image = Some(image);
                }
                "daemons" => {
                    let mut daemons = Vec::new();
                    for (d, at) in cx.strings(name, value)? {
                        cx.check(at, input::parse_daemon(&d))?;
                        daemons.push(d);
                    }
                    raw.daemons = Some(daemons);
                }
                "env" => {
                    let mut env = Vec::new();
                    for (e, at) in cx.strings(name, value)? {
                        cx.check(at, EnvEntry::parse(&e))?;
                        env.push(e);
                    }
                    raw.env = Some(env);
                }
                "volumes" => {
                    let mut volumes = Vec::new();
                    for (v, at) in cx.strings(name, value)? {
                        let v = cx.check(at, resolve_volume(&v, dir))?;
                        cx.check(at, Volume::parse(&v))?;
                        volumes.push(v);
                    }
                    raw.volumes = Some(volumes);
                }
                "publish" => {
                    let mut ports = Vec::new();
                    for item in cx.array(name, value)? {
                        let at = item.span().start;
                        let port = match item.get_ref() {
                            toml::de::DeValue::String(s) => s.to_string(),
                            toml::de::DeValue::Integer(i) => {
                                match u16::from_str_radix(i.as_str(), i.radix()) {
                                    Ok(p) if p != 0 => p.to_string(),
                                    _ => {
                                        return Err(cx.error(
                                            Invalid::Port,
                                            at,
                                            "invalid port in `publish`: use a TCP port number from 1 to 65535",
                                        ));
                                    }
                                }
                            }
                            other => {
                                return Err(cx.error(
                                    Invalid::Config,
                                    at,
                                    &format!(
                                        "each item of `publish` must be a port number or a string, not {}",
                                        article(other.type_str())
                                    ),
                                ));
                            }
                        };
                        cx.check(at, input::parse_port(&port))?;
                        ports.push(port);
                    }
                    raw.publish = Some(ports);
                }
                "publish_ip" => raw.publish_ip = Some(cx.string(name, value)?),
                "loopback_pool" => {
                    let pool = cx.string(name, value)?;
                    cx.check(at, pool.parse::<LoopbackPool>())?;
                    raw.loopback_pool = Some(pool);
                }
                "wait" => {
                    raw.wait = Some(match value.get_ref() {
                        toml::de::DeValue::Boolean(true) => Some("60s".to_string()),
                        toml::de::DeValue::Boolean(false) => None,
                        toml::de::DeValue::String(s) => {
                            cx.check(at, parse_wait(s))?;
                            Some(s.to_string())
                        }
                        _ => {
                            return Err(cx.error(
                                Invalid::Config,
                                at,
                                "`wait` must be a duration such as \"60s\", or true or false",
                            ));
                        }
                    })
                }
                "pull" => {
                    let pull = match cx.string(name, value)?.as_str() {
                        "missing" => Pull::Missing,
                        "never" => Pull::Never,
                        "always" => Pull::Always,
                        _ => {
                            return Err(cx.error(
                                Invalid::Config,
                                at,
                                "`pull` must be `missing`, `never` or `always`",
                            ));
                        }
                    };
                    raw.pull = Some(pull);
                }
                "build" => raw.build = Some(cx.build(value, dir)?),
                _ => {
                    return Err(cx.error(
                        Invalid::ConfigKey,
                        key.span().start,
                        &format!("unknown field {}; the keys are {KEYS}", input::quoted(name)),
                    ));
                }
            }
        }
        Ok(raw)
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
            wait: flags.wait.or(self.wait),
            loopback_pool: flags.loopback_pool.or(self.loopback_pool),
        }
    }

    /// Validate into a [`Spec`]: parse each value into its type ([`Parts`]), then check them
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
            .map(|raw| input::parse_port(raw))
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
        let wait = match self.wait.flatten() {
            Some(text) => Some(parse_wait(&text)?),
            None => None,
        };
        Ok(Parts {
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
    pub publish: Vec<u16>,
    /// `None`: `127.0.0.1`.
    pub publish_ip: Option<PublishIp>,
    pub loopback_pool: Option<LoopbackPool>,
    pub pull: Option<Pull>,
    pub build: Option<Build>,
    pub wait: Option<Duration>,
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
        for port in self.publish {
            if port == 0 {
                return Err(input::parse_port("0").unwrap_err());
            }
            if !publish.insert(port) {
                return Err(Error::invalid(
                    Invalid::DuplicatePort,
                    format!("port {port} is published twice: list each container port once"),
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
            loopback_pool: loopback_pool.map(|p| p.subnet().net()),
        })
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
    pub(crate) publish: BTreeSet<u16>,
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

impl Spec {
    /// The bundle image reference.
    pub fn image(&self) -> &str {
        self.image.as_str()
    }

    /// The daemons the bundle starts (`BOT_BOTTLE_SIDECAR_DAEMONS`).
    pub fn daemons(&self) -> &[String] {
        &self.daemons
    }

    /// The container ports published on [`Spec::publish_ip`], each once, in order.
    pub fn publish(&self) -> &BTreeSet<u16> {
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

    /// The `KEY=VALUE` entries, which travel through the env-file.
    #[doc(hidden)]
    pub fn literal_env(&self) -> impl Iterator<Item = (&EnvKey, &input::Secret)> {
        self.env.iter().filter_map(|(k, v)| match v {
            EnvValue::Literal(s) => Some((k, s)),
            EnvValue::Inherit => None,
        })
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
    /// IP and ports. Env, volumes and ports are canonicalised by sorting, so the order they were
    /// given in does not matter. The pull policy and `[build]` say how to get the image, not what
    /// runs, so they are left out.
    ///
    /// Env *values* are left out on purpose: the label travels in `docker run`'s argv, which every
    /// local user can read in `/proc`, and an unsalted hash of a short secret can be brute-forced.
    /// `up` compares values against the engine's own record instead (`Spec::env_matches`).
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
            // `auto` is recorded as such (not the address `up` chose), so a re-`up` is `kept`.
            "publish_ip": match self.loopback_pool {
                Some(pool) => format!("auto {pool}"),
                None => self.publish_ip.to_string(),
            },
            "publish": self.publish,
        });
        sha256_hex(canonical.to_string().as_bytes())
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

/// Read a config file: refuse what is not a regular file before opening it, open without blocking
/// (in case it was swapped for a FIFO meanwhile), check again on the open file, and read at most
/// [`MAX_CONFIG_BYTES`] + 1 bytes.
fn read_config(path: &Path) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let shown = input::quoted(&path.to_string_lossy());
    let cannot = |why: String| {
        Error::invalid(
            Invalid::Config,
            format!("cannot read config {shown}: {why}"),
        )
    };
    let not_regular = |ft: std::fs::FileType| {
        let what = input::file_kind(&ft);
        cannot(format!(
            "it is {what}; give the path of a TOML file (at most 1 MiB)"
        ))
    };
    let too_big = || {
        Error::invalid(
            Invalid::Config,
            format!(
                "config {shown} is larger than the limit of 1 MiB: a spec needs a few hundred bytes; check the path"
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| cannot(e.to_string()))?;
    let meta = file.metadata().map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(e.to_string()))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        cannot(format!(
            "it is not UTF-8 (at byte {at}); TOML files are UTF-8"
        ))
    })
}

/// A volume whose host path starts with `./` or `../` (or is `.` or `..`), with that path joined to
/// `dir`. Other host paths are left for [`Volume::parse`] to judge: a bare name is not taken as a
/// path, since the engine would read it as a named volume.
fn resolve_volume(volume: &str, dir: &Path) -> Result<String> {
    let Some((host, rest)) = volume.split_once(':') else {
        return Ok(volume.to_string());
    };
    let relative = host == "." || host == ".." || host.starts_with("./") || host.starts_with("../");
    if !relative {
        return Ok(volume.to_string());
    }
    // Drop `.` components (`/dir/./data` becomes `/dir/data`); `..` is left to the kernel, which
    // resolves it against the real directory, symlinks included.
    let joined: PathBuf = dir
        .join(host)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    match joined.to_str() {
        Some(p) => Ok(format!("{p}:{rest}")),
        None => Err(Error::invalid(
            Invalid::Volume,
            "the config file's directory is not valid UTF-8, so a relative volume cannot be resolved: use an absolute host path",
        )),
    }
}

/// "a string", "an integer", "an array".
fn article(type_str: &str) -> String {
    match type_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => format!("an {type_str}"),
        false => format!("a {type_str}"),
    }
}

type DeItem<'a, 'i> = &'a toml::Spanned<toml::de::DeValue<'i>>;

/// A TOML document being read, for messages that point into it.
struct Toml<'t> {
    text: &'t str,
    shown: String,
}

impl Toml<'_> {
    /// `line L, column C` (1-based, columns in characters) of byte offset `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        (line, column)
    }

    fn error(&self, kind: Invalid, at: usize, msg: &str) -> Error {
        let (line, column) = self.position(at);
        Error::invalid(
            kind,
            format!(
                "invalid config {}, line {line}, column {column}: {msg}",
                self.shown
            ),
        )
    }

    /// A validator's verdict on a value from the file, with the value's place added.
    fn check<T>(&self, at: usize, res: Result<T>) -> Result<T> {
        res.map_err(|e| {
            let kind = match e.kind() {
                crate::ErrorKind::Invalid(k) => *k,
                _ => Invalid::Config,
            };
            self.error(kind, at, e.message())
        })
    }

    /// The table's entries in the order they appear in the file, so the first problem reported is
    /// the first one a reader meets.
    fn in_file_order<'a, 'i>(
        &self,
        table: &'a toml::de::DeTable<'i>,
    ) -> Vec<(&'a toml::Spanned<toml::de::DeString<'i>>, DeItem<'a, 'i>)> {
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        entries
    }

    fn wrong_type(&self, key: &str, want: &str, value: DeItem<'_, '_>) -> Error {
        self.error(
            Invalid::Config,
            value.span().start,
            &format!(
                "`{key}` must be {want}, not {}",
                article(value.get_ref().type_str())
            ),
        )
    }

    fn string(&self, key: &str, value: DeItem<'_, '_>) -> Result<String> {
        match value.get_ref() {
            toml::de::DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.wrong_type(key, "a string", value)),
        }
    }

    fn array<'a, 'i>(
        &self,
        key: &str,
        value: DeItem<'a, 'i>,
    ) -> Result<&'a [toml::Spanned<toml::de::DeValue<'i>>]> {
        match value.get_ref() {
            toml::de::DeValue::Array(a) => Ok(a),
            _ => Err(self.wrong_type(key, "an array", value)),
        }
    }

    /// An array of strings, each with its offset in the file.
    fn strings(&self, key: &str, value: DeItem<'_, '_>) -> Result<Vec<(String, usize)>> {
        let items = self.array(key, value)?;
        items
            .iter()
            .map(|item| match item.get_ref() {
                toml::de::DeValue::String(s) => Ok((s.to_string(), item.span().start)),
                other => Err(self.error(
                    Invalid::Config,
                    item.span().start,
                    &format!(
                        "each item of `{key}` must be a string, not {}",
                        article(other.type_str())
                    ),
                )),
            })
            .collect()
    }

    /// `[build]`: `context` (required) and `dockerfile`, relative to the file's directory.
    fn build(&self, value: DeItem<'_, '_>, dir: &Path) -> Result<Build> {
        let toml::de::DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("build", "a table", value));
        };
        let mut context = None;
        let mut dockerfile = None;
        for (key, v) in self.in_file_order(table) {
            match key.get_ref().as_ref() {
                "context" => context = Some(dir.join(self.string("build.context", v)?)),
                "dockerfile" => dockerfile = Some(dir.join(self.string("build.dockerfile", v)?)),
                other => {
                    return Err(self.error(
                        Invalid::ConfigKey,
                        key.span().start,
                        &format!(
                            "unknown field {} in [build]; its keys are context and dockerfile",
                            input::quoted(other)
                        ),
                    ));
                }
            }
        }
        let context = context.ok_or_else(|| {
            self.error(
                Invalid::Config,
                value.span().start,
                "[build] needs `context`, the directory to build the image from",
            )
        })?;
        Ok(Build {
            context,
            dockerfile,
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
        assert!(spec.env.is_empty());
        assert_eq!(spec.publish, BTreeSet::from([80]));
    }

    /// `--publish-ip auto`: the digest records `auto` and the pool, not an address; `--wait`
    /// stays out of it; the pool must be loopback.
    #[test]
    fn auto_publish_ip_and_wait() {
        let spec = |ip: Option<&str>, pool: Option<&str>, wait: Option<Option<&str>>| {
            RawSpec {
                publish_ip: ip.map(str::to_string),
                loopback_pool: pool.map(str::to_string),
                wait: wait.map(|w| w.map(str::to_string)),
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

        let waiting = spec(Some("auto"), None, Some(Some("4s"))).unwrap();
        assert_eq!(waiting.wait, Some(std::time::Duration::from_secs(4)));
        assert_eq!(waiting.digest(), auto.digest());
        assert_eq!(spec(None, None, Some(None)).unwrap().wait, None);

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
        let e = spec(None, None, Some(Some("soon"))).unwrap_err();
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

    #[track_caller]
    fn check_toml_error(text: &str, kind: Invalid, want: &[&str]) {
        let e = RawSpec::from_toml(text, Path::new("/cfg/f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(kind), "{text:?}: {e}");
        let msg = e.message();
        assert!(!msg.contains('\n'), "one line: {msg}");
        assert!(!msg.contains("hunter2"), "{text:?} quoted a value: {msg}");
        for w in want {
            assert!(msg.contains(w), "{text:?}: expected {w:?} in {msg}");
        }
    }

    /// Issue 8: `env = "TOK=hunter2-secret"` printed `invalid type: string "TOK=hunter2-secret",
    /// expected a sequence`. Errors name the key, the place and the type, never the value.
    #[test]
    fn config_errors_never_quote_a_value() {
        use Invalid::*;
        for (text, kind, want) in [
            (
                "env = \"TOK=hunter2-secret\"",
                Config,
                &[
                    "`/cfg/f.toml`, line 1, column 7",
                    "`env` must be an array, not a string",
                ][..],
            ),
            (
                "image = \"x\"\nenv = [\"A=1\", 2, \"hunter2\"]",
                Config,
                &[
                    "line 2, column 15",
                    "each item of `env` must be a string, not an integer",
                ],
            ),
            (
                "image = [\"hunter2\"]",
                Config,
                &["`image` must be a string, not an array"],
            ),
            (
                "publish_ip = 1.5",
                Config,
                &["`publish_ip` must be a string, not a float"],
            ),
            (
                "pull = \"hunter2\"",
                Config,
                &[
                    "line 1, column 8",
                    "`pull` must be `missing`, `never` or `always`",
                ],
            ),
            (
                "publish = [80, 99999]",
                Port,
                &["line 1, column 16", "invalid port in `publish`"],
            ),
            (
                "publish = [80, true]",
                Config,
                &["must be a port number or a string, not a boolean"],
            ),
            (
                "TOK = \"hunter2\"",
                ConfigKey,
                &["line 1, column 1", "unknown field `TOK`"],
            ),
            (
                "[build]\ncontext = \".\"\nsecret = \"hunter2\"",
                ConfigKey,
                &["line 3, column 1", "unknown field `secret` in [build]"],
            ),
            (
                "[build]\ndockerfile = \"D\"",
                Config,
                &["[build] needs `context`"],
            ),
            (
                "build = \"hunter2\"",
                Config,
                &["`build` must be a table, not a string"],
            ),
            (
                "env = [\"TOK=hunter2\\nsecond\"]",
                EnvValue,
                &["line 1, column 8", "env `TOK`", "`-e TOK`"],
            ),
            (
                "env = [\"1TOK=hunter2\"]",
                EnvKey,
                &["invalid env key `1TOK`"],
            ),
            // Syntax errors: the place, and the parser's words about the syntax only.
            (
                "image = \"x\"\nenv = [\"TOK=hunter2",
                Config,
                &["line 2, column"],
            ),
            ("env = [\"TOK=hunter2\" \"B\"]", Config, &["line 1, column"]),
            ("env = 'hunter2\nx'", Config, &["line 2, column 3"]),
            ("a.b = hunter2", Config, &["line 1, column 7"]),
            (
                "image = \"a\"\nimage = \"hunter2\"",
                Config,
                &["line 2, column 1"],
            ),
        ] {
            check_toml_error(text, kind, want);
        }
    }

    /// Issue 11: ports as integers or strings, relative volume host paths from the file's
    /// directory.
    #[test]
    fn toml_ports_and_relative_volumes() {
        let raw = RawSpec::from_toml(
            "publish = [8080, \"9000\", 0x50]\nvolumes = [\"./data:/data\", \"../up/x:/x:ro\", \".:/here\", \"/abs:/abs\"]\n",
            Path::new("/cfg/dir/spec.toml"),
        )
        .unwrap();
        assert_eq!(raw.publish.unwrap(), ["8080", "9000", "80"]);
        assert_eq!(
            raw.volumes.unwrap(),
            [
                "/cfg/dir/data:/data",
                "/cfg/dir/../up/x:/x:ro",
                "/cfg/dir:/here",
                "/abs:/abs"
            ]
        );
        // A bare name is not a path (the engine would take it for a named volume), and a
        // resolved path is still validated.
        check_toml_error(
            "volumes = [\"data:/data\"]",
            Invalid::Volume,
            &["line 1, column 12", "is not absolute"],
        );
        let e =
            RawSpec::from_toml("volumes = [\"./d:/d\"]", Path::new("/cfg,x/f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Volume), "{e}");
        // Relative to the file, not to where bottle runs.
        let e = RawSpec::from_toml("volumes = [\"./d:/d\"]", Path::new("f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Volume), "{e}");
    }

    /// The commented example in `fixtures/specs/example.toml` uses every key, and parses.
    #[test]
    fn the_example_file_uses_every_key_and_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let raw = RawSpec::from_toml(&text, &path).unwrap();
        let build = raw.build.as_ref().expect("[build]");
        assert!(build.dockerfile.is_some());
        assert!(raw.image.is_some() && raw.daemons.is_some() && raw.publish_ip.is_some());
        assert!(raw.pull.is_some());
        let volumes = raw.volumes.clone().unwrap();
        assert!(
            volumes
                .iter()
                .any(|v| v.starts_with(path.parent().unwrap().to_str().unwrap()))
        );
        let publish = raw.publish.clone().unwrap();
        assert!(publish.len() >= 2);
        let env = raw.env.clone().unwrap();
        assert!(env.iter().any(|e| e.contains('=')) && env.iter().any(|e| !e.contains('=')));
        raw.validate(false).unwrap();
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
