//! What the engine reports, parsed, and the bottle object bottle reports in turn.
//!
//! Pure: the functions here take the engine's JSON text and return typed views. Only the fields
//! bottle uses are read, so new engine fields do not break parsing.
//!
//! Engines disagree on the shape of `inspect --format '{{json .}}'`: docker prints one object per
//! line, podman 4 prints one pretty-printed JSON array for all of them, and native podman's
//! networks are netavark-shaped (`name`, `id`, `labels`, `subnets[].subnet`, no `Containers`).
//! [`parse_json_objects`] reads the output as a stream of JSON values and accepts any mix of those
//! (see `fixtures/engine-stdout/`). Output it cannot read is an error naming the command, never an
//! empty success.

pub use crate::error::Removed;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

use crate::argv::{
    LABEL_ROLE, LABEL_RUN, LABEL_SLUG, LABEL_SPEC, LABEL_SUBNET, ROLE_BUNDLE, ROLE_NETWORK,
};
use crate::endpoints::{Endpoint, PortKey};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{Names, Slug};
use crate::limits::Limits;
use crate::subnet::Subnet;

/// A container as `inspect --format '{{json .}}'` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// Without the leading `/` the engine adds.
    pub name: String,
    pub state: String,
    /// `State.Health.Status` (`starting`, `healthy`, `unhealthy`) when the image has a
    /// `HEALTHCHECK`; `None` when it has none.
    pub health: Option<String>,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// `Config.Env`, `KEY=VALUE` each. It holds secret values, so `Debug` shows only the keys.
    pub env: Env,
    /// Container port and protocol → bindings.
    pub ports: BTreeMap<PortKey, Vec<PortBinding>>,
    /// Network name → IPv4 address on it.
    pub networks: BTreeMap<String, String>,
    /// Every host address the container publishes a port on, or will once started: the bindings
    /// of `NetworkSettings.Ports` and of `HostConfig.PortBindings` (which a stopped container
    /// keeps). `--publish-ip auto` reads the addresses other bottles hold from these.
    pub publish_ips: BTreeSet<IpAddr>,
    /// Every host endpoint the container holds, or will once started: the bindings with a host
    /// port, of `NetworkSettings.Ports` and `HostConfig.PortBindings`. The host-port rule counts
    /// them as taken.
    pub held: BTreeSet<Endpoint>,
    /// `Created`, as the engine prints it (RFC 3339); empty if it shows none.
    pub created: String,
    /// `State.Pid`, the main process's PID on the engine's host, while it runs (`None` for 0).
    pub pid: Option<u32>,
    /// The limits the engine applies: `HostConfig.Memory`, `NanoCpus` and `PidsLimit`, each
    /// `None` when unlimited (0, `-1` or absent). Native podman applies its own pids limit
    /// (2048 by default) when none was asked for, and shows it.
    pub limits: Limits,
}

/// A container's environment. Derefs to the `KEY=VALUE` strings; `Debug` shows only the keys.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Env(pub Vec<String>);

impl std::ops::Deref for Env {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self
            .0
            .iter()
            .map(|e| e.split('=').next().unwrap_or(""))
            .collect();
        write!(f, "Env(keys: {keys:?})")
    }
}

/// A network as `inspect --format '{{json .}}'` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub subnets: Vec<Ipv4Network>,
    /// Attached containers: ID → name. Empty when the engine does not list them: see
    /// [`Network::containers_listed`].
    pub containers: BTreeMap<String, String>,
    /// Whether the engine's JSON listed the attached containers. Docker's does, and so does
    /// podman's docker-compatible socket; native podman's netavark JSON has no `Containers`, so
    /// there an empty `containers` means "unknown": ask `ps --all --filter network=NAME` instead.
    pub containers_listed: bool,
}

/// One object of an untyped `inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    Container(Container),
    Network(Network),
    /// An image, volume or anything else that happens to answer to the name.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: u16,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawObject {
    id: Option<String>,
    name: Option<String>,
    created: Option<String>,
    state: Option<RawState>,
    config: Option<RawConfig>,
    network_settings: Option<RawNetworkSettings>,
    host_config: Option<RawHostConfig>,
    #[serde(rename = "IPAM")]
    ipam: Option<RawIpam>,
    labels: Option<BTreeMap<String, String>>,
    containers: Option<BTreeMap<String, RawEndpoint>>,
    // Native podman's netavark network JSON is lowercase.
    #[serde(rename = "name")]
    lc_name: Option<String>,
    #[serde(rename = "id")]
    lc_id: Option<String>,
    #[serde(rename = "labels")]
    lc_labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "subnets")]
    lc_subnets: Option<Vec<RawNetavarkSubnet>>,
}

#[derive(Deserialize)]
struct RawNetavarkSubnet {
    subnet: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawState {
    status: String,
    health: Option<RawHealth>,
    pid: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawHealth {
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawConfig {
    image: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    env: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNetworkSettings {
    ports: Option<BTreeMap<String, Option<Vec<RawBinding>>>>,
    networks: Option<BTreeMap<String, RawAttachment>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawHostConfig {
    port_bindings: Option<BTreeMap<String, Option<Vec<RawBinding>>>>,
    memory: Option<i64>,
    nano_cpus: Option<i64>,
    pids_limit: Option<i64>,
}

impl RawHostConfig {
    /// The limits in bottle's units; 0 or less is unlimited on every engine.
    fn limits(&self) -> Limits {
        let positive = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).filter(|&v| v > 0);
        Limits {
            memory: positive(self.memory),
            millicpus: positive(self.nano_cpus)
                .and_then(|n| u32::try_from(n / 1_000_000).ok())
                .filter(|&m| m > 0),
            pids: positive(self.pids_limit).and_then(|p| u32::try_from(p).ok()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBinding {
    host_ip: String,
    host_port: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAttachment {
    #[serde(rename = "IPAddress")]
    ip_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawIpam {
    config: Option<Vec<RawIpamConfig>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawIpamConfig {
    subnet: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawEndpoint {
    name: Option<String>,
}

impl Object {
    pub fn into_container(self) -> Option<Container> {
        match self {
            Object::Container(c) => Some(c),
            _ => None,
        }
    }

    pub fn into_network(self) -> Option<Network> {
        match self {
            Object::Network(n) => Some(n),
            _ => None,
        }
    }
}

/// Whether a command may print nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Nothing printed is a valid answer (e.g. `inspect` that matched nothing and exited non-zero).
    Allowed,
    /// The command must print at least one object; printing none is an error.
    Error,
}

/// Parse the output of an `inspect --format '{{json .}}'` of any engine, with the error naming
/// the command when the output is not what bottle can read.
///
/// The output is read as a stream of JSON values separated by whitespace: one object per line
/// (docker), one (pretty-printed) array of objects (podman), or several of either. `[]` and blank
/// output contribute nothing.
///
/// (`reads_docker_lines_and_podman_arrays` below shows both.)
pub fn parse_json_objects(command: &str, stdout: &str, empty: Empty) -> Result<Vec<Object>> {
    let fail = |why: String| {
        Error::new(
            ErrorKind::EngineFailed,
            format!(
                "cannot parse the output of `{command}`: {why}; it printed: {}",
                excerpt(stdout)
            ),
        )
    };
    let mut objects = Vec::new();
    for value in serde_json::Deserializer::from_str(stdout).into_iter::<serde_json::Value>() {
        let value = value.map_err(|e| fail(e.to_string()))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            v @ serde_json::Value::Object(_) => vec![v],
            other => {
                return Err(fail(format!(
                    "expected a JSON object or array, found `{other}`"
                )));
            }
        };
        for item in items {
            if !item.is_object() {
                return Err(fail(format!(
                    "expected a JSON object, found {}",
                    kind_of(&item)
                )));
            }
            let raw: RawObject = serde_json::from_value(item).map_err(|e| fail(e.to_string()))?;
            objects.push(object_from_raw(raw));
        }
    }
    if objects.is_empty() && empty == Empty::Error {
        return Err(fail("no object".to_string()));
    }
    Ok(objects)
}

/// [`parse_json_objects`] for callers that do not name the command; empty output is allowed.
#[cfg(test)]
pub fn parse_objects(stdout: &str) -> Result<Vec<Object>> {
    parse_json_objects("inspect", stdout, Empty::Allowed)
}

/// What kind of JSON value this is, for an error message (the value itself may be huge).
fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The start of an engine's output, for an error message.
fn excerpt(stdout: &str) -> String {
    const MAX: usize = 200;
    let t = stdout.trim();
    if t.is_empty() {
        return "nothing".to_string();
    }
    let cut: String = t.chars().take(MAX).collect();
    let more = if cut.len() < t.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

fn object_from_raw(raw: RawObject) -> Object {
    let id = raw.id.or(raw.lc_id).unwrap_or_default();
    let name = raw.name.or(raw.lc_name).unwrap_or_default();
    if let Some(state) = raw.state {
        let config = raw.config;
        let settings = raw.network_settings;
        let mut ports = BTreeMap::new();
        for (key, bindings) in settings
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
        {
            let Some(port) = port_key(key) else {
                continue;
            };
            let bindings = bindings
                .iter()
                .flatten()
                .filter_map(|b| {
                    Some(PortBinding {
                        host_ip: b.host_ip.clone(),
                        host_port: b.host_port.parse().ok()?,
                    })
                })
                .collect();
            ports.insert(port, bindings);
        }
        let limits = raw
            .host_config
            .as_ref()
            .map(RawHostConfig::limits)
            .unwrap_or_default();
        let configured = raw.host_config.and_then(|h| h.port_bindings);
        let publish_ips = settings
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .chain(configured.as_ref())
            .flatten()
            .flat_map(|(_, bindings)| bindings.iter().flatten())
            .filter_map(|b| b.host_ip.parse().ok())
            .collect();
        let held = settings
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .chain(configured.as_ref())
            .flatten()
            .filter_map(|(key, bindings)| Some((port_key(key)?, bindings.as_ref()?)))
            .flat_map(|((_, protocol), bindings)| {
                bindings.iter().filter_map(move |b| {
                    Some(Endpoint {
                        ip: binding_ip(&b.host_ip)?,
                        port: b.host_port.parse().ok()?,
                        protocol,
                    })
                })
            })
            .collect();
        let networks = settings
            .and_then(|s| s.networks)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, a)| (n, a.ip_address.unwrap_or_default()))
            .collect();
        return Object::Container(Container {
            id,
            name: name.trim_start_matches('/').to_string(),
            state: state.status,
            health: state
                .health
                .and_then(|h| h.status)
                .filter(|h| !h.is_empty() && h != "none"),
            image: config
                .as_ref()
                .and_then(|c| c.image.clone())
                .unwrap_or_default(),
            env: Env(config
                .as_ref()
                .and_then(|c| c.env.clone())
                .unwrap_or_default()),
            labels: config.and_then(|c| c.labels).unwrap_or_default(),
            ports,
            networks,
            publish_ips,
            held,
            created: raw.created.unwrap_or_default(),
            pid: state
                .pid
                .and_then(|p| u32::try_from(p).ok())
                .filter(|&p| p > 0),
            limits,
        });
    }
    if let Some(ipam) = raw.ipam {
        let subnets = ipam
            .config
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet?.parse().ok())
            .collect();
        return Object::Network(Network {
            id,
            name,
            labels: raw.labels.unwrap_or_default(),
            subnets,
            containers_listed: raw.containers.is_some(),
            containers: raw
                .containers
                .unwrap_or_default()
                .into_iter()
                .map(|(id, e)| (id, e.name.unwrap_or_default()))
                .collect(),
        });
    }
    // Native podman: netavark's network JSON.
    if let Some(subnets) = raw.lc_subnets {
        return Object::Network(Network {
            id,
            name,
            labels: raw.lc_labels.unwrap_or_default(),
            subnets: subnets
                .into_iter()
                .filter_map(|s| s.subnet?.parse().ok())
                .collect(),
            containers: BTreeMap::new(),
            containers_listed: false,
        });
    }
    Object::Other
}

/// A named volume as `volume inspect --format '{{json .}}'` shows it: what `down --volumes` judges
/// it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawVolume {
    name: String,
    labels: Option<BTreeMap<String, String>>,
}

/// Parse a `volume inspect`: docker prints one object per line, podman one array. An empty answer
/// is no volume; output bottle cannot read is an error naming the command.
pub fn parse_volumes(command: &str, stdout: &str) -> Result<Vec<VolumeInfo>> {
    let mut volumes = Vec::new();
    for value in serde_json::Deserializer::from_str(stdout).into_iter::<serde_json::Value>() {
        let fail = |why: String| {
            Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "cannot parse the output of `{command}`: {why}; it printed: {}",
                    excerpt(stdout)
                ),
            )
        };
        let items = match value.map_err(|e| fail(e.to_string()))? {
            serde_json::Value::Array(items) => items,
            v => vec![v],
        };
        for item in items {
            let raw: RawVolume = serde_json::from_value(item).map_err(|e| fail(e.to_string()))?;
            volumes.push(VolumeInfo {
                name: raw.name,
                labels: raw.labels.unwrap_or_default(),
            });
        }
    }
    Ok(volumes)
}

impl VolumeInfo {
    /// Carries the labels bottle puts on a volume it creates for the bottle `slug` of `prefix`.
    pub fn is_volume_of(&self, prefix: &str, slug: &str) -> bool {
        self.is_volume_of_prefix(prefix) && label_is(&self.labels, LABEL_SLUG, slug)
    }

    /// Carries bottle's volume labels for some bottle of `prefix`.
    pub fn is_volume_of_prefix(&self, prefix: &str) -> bool {
        label_is(&self.labels, crate::argv::LABEL_PREFIX, prefix)
            && label_is(&self.labels, LABEL_ROLE, crate::argv::ROLE_VOLUME)
    }

    /// The slug its labels name, if any.
    pub fn slug(&self) -> Option<&str> {
        self.labels.get(LABEL_SLUG).map(String::as_str)
    }
}

/// Parse the `ID<TAB>NAME` lines of `network ls` / `ps` (see [`crate::argv::ID_NAME_FORMAT`]).
/// Blank lines are skipped (no match prints nothing on every engine); any other line without
/// both fields is an error naming the command.
pub fn parse_id_names_of(command: &str, stdout: &str) -> Result<Vec<(String, String)>> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('\t') {
            Some((id, name)) if !id.trim().is_empty() && !name.trim().is_empty() => {
                Ok((id.trim().to_string(), name.trim().to_string()))
            }
            _ => Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "cannot parse the output of `{command}`: expected `ID<TAB>NAME`, got {l:?}"
                ),
            )),
        })
        .collect()
}

/// What `network create` printed: docker prints the new network's 64-hex ID, native podman its
/// name. Either identifies exactly the network this run made; anything but one word is an error.
#[cfg(test)]
pub fn parse_created(command: &str, stdout: &str) -> Result<String> {
    let words: Vec<&str> = stdout.split_whitespace().collect();
    match words[..] {
        [one] => Ok(one.to_string()),
        _ => Err(Error::new(
            ErrorKind::EngineFailed,
            format!(
                "cannot parse the output of `{command}`: expected one ID or name; it printed: {}",
                excerpt(stdout)
            ),
        )),
    }
}

impl Container {
    /// Carries bottle's bundle labels for this slug.
    pub fn is_bundle_of(&self, slug: &str) -> bool {
        label_is(&self.labels, LABEL_SLUG, slug) && label_is(&self.labels, LABEL_ROLE, ROLE_BUNDLE)
    }

    /// Made by the `up` invocation with this `bottle.run` label.
    pub fn created_by(&self, run: &str) -> bool {
        label_is(&self.labels, LABEL_RUN, run)
    }

    pub fn spec_digest(&self) -> Option<&str> {
        self.labels.get(LABEL_SPEC).map(String::as_str)
    }
}

impl Network {
    /// Carries bottle's network labels for this slug.
    pub fn is_network_of(&self, slug: &str) -> bool {
        label_is(&self.labels, LABEL_SLUG, slug) && label_is(&self.labels, LABEL_ROLE, ROLE_NETWORK)
    }

    /// Made by the `up` invocation with this `bottle.run` label.
    pub fn created_by(&self, run: &str) -> bool {
        label_is(&self.labels, LABEL_RUN, run)
    }

    /// The subnet bottle recorded when it created the network.
    pub fn recorded_subnet(&self) -> Option<Ipv4Network> {
        self.labels.get(LABEL_SUBNET)?.parse().ok()
    }
}

fn label_is(labels: &BTreeMap<String, String>, key: &str, want: &str) -> bool {
    labels.get(key).is_some_and(|v| v == want)
}

/// The bottle object of `up --json`, `status --json` and `ls --json`: its `Serialize` is the
/// `bottle` of `docs/bottle.schema.json`, so every command shows the same object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bottle {
    /// The bottle's slug.
    pub slug: Slug,
    /// Its bridge network.
    pub network: NetworkView,
    /// Its sidecar bundle container.
    pub bundle: BundleView,
    /// Every published port binding, by container port ([`Bottle::port`] gives one as an address).
    pub ports: Vec<PortView>,
    /// The address every port is published on (the first port's), or `None` when none is.
    pub host_ip: Option<IpAddr>,
    /// When the bundle was created, as the engine reports it (RFC 3339); `None` when it is
    /// missing.
    pub created: Option<String>,
    /// The bundle's `bottle.run` label: which `up` created it. `None` when it is missing.
    pub run: Option<String>,
    /// When the bottle's lease expires (RFC 3339, UTC, whole seconds), from the bundle's
    /// `bottle.expires` label; `None` without a lease (or a bundle). `gc` removes the bottle once
    /// it has passed.
    pub expires: Option<String>,
    /// The context (docker context or podman connection) whose engine holds the bottle, when it
    /// was found through a [`crate::Fleet`]; its addresses and ports are on that engine's host.
    /// Serialized only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// A bottle's network, as the bottle object shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkView {
    /// The network's name, `<prefix>-bundle-<slug>`.
    pub name: String,
    /// The subnet; `null` when the network is missing.
    pub subnet: Option<Subnet>,
    /// The subnet's first address, the bridge's; `null` when the network is missing.
    pub gateway: Option<Ipv4Addr>,
}

/// A bottle's bundle container, as the bottle object shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleView {
    /// The container's name, `<prefix>-sidecars-<slug>`.
    pub name: String,
    /// Its address on the bottle's network: always the subnet's second address.
    pub ip: Option<Ipv4Addr>,
    /// The image it runs; `None` only when it is missing.
    pub image: Option<String>,
    /// The engine's state of the bundle, or [`State::Missing`].
    pub state: State,
    /// The limits the engine applies to the bundle, as it shows them (all `null` when it is
    /// missing; native podman shows its default pids limit when none was asked for).
    pub limits: Limits,
}

/// The state of a bottle's bundle container, as the engine reports it. It serializes (and
/// displays) as the engine's word, `running`, `exited`, …, or `missing` when there is no bundle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Running (podman's `stopping` too: a stop still in its grace period).
    Running,
    /// Made but not started (or started and failed before running, on engines up to 24).
    Created,
    /// Restarting under its restart policy.
    Restarting,
    /// Paused.
    Paused,
    /// Stopped (podman's `stopped` too: exited, not yet cleaned up).
    Exited,
    /// Failed in a way the engine could not clean up.
    Dead,
    /// Being removed.
    Removing,
    /// There is no bundle container.
    Missing,
    /// A state this version of bottle does not know, as the engine spelled it (podman has a few
    /// of its own, such as `configured`).
    Other(String),
}

impl State {
    /// The state from the engine's word (`State.Status`). Podman's two transitional words are
    /// shown as the state docker shows at the same moment, so a bottle reads the same on every
    /// engine: `stopping` (a stop waiting out its grace period, its processes and port proxies
    /// still up) is `running`, as docker shows a container until its stop ends; `stopped`
    /// (exited, not yet cleaned up) is `exited`.
    pub(crate) fn from_engine(word: &str) -> State {
        match word {
            "running" | "stopping" => State::Running,
            "stopped" => State::Exited,
            "created" => State::Created,
            "restarting" => State::Restarting,
            "paused" => State::Paused,
            "exited" => State::Exited,
            "dead" => State::Dead,
            "removing" => State::Removing,
            other => State::Other(other.to_string()),
        }
    }

    /// The engine's word for it, or `missing`.
    pub fn as_str(&self) -> &str {
        match self {
            State::Running => "running",
            State::Created => "created",
            State::Restarting => "restarting",
            State::Paused => "paused",
            State::Exited => "exited",
            State::Dead => "dead",
            State::Removing => "removing",
            State::Missing => "missing",
            State::Other(word) => word,
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One published port binding of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortView {
    /// The port inside the bundle.
    pub container_port: u16,
    /// The host address it is published on.
    pub host_ip: IpAddr,
    /// The host port the engine picked.
    pub host_port: u16,
    /// The port's protocol, `tcp` or `udp`.
    pub protocol: Protocol,
}

/// A published port's protocol, `tcp` or `udp` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Protocol {
    /// TCP, the default.
    Tcp,
    /// UDP (`-p 53/udp`).
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`, as `docker port` and the JSON write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    /// `tcp` or `udp`, in any case; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Protocol> {
        match text.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

/// `8080/tcp` or `53/udp`, as the engine keys its port maps; `None` for another protocol.
fn port_key(key: &str) -> Option<PortKey> {
    let (port, proto) = key.split_once('/')?;
    Some((port.parse().ok()?, Protocol::parse(proto)?))
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host address of a binding as the engine reports it: an address, perhaps in brackets;
/// empty means every address. `None` for anything else.
fn binding_ip(text: &str) -> Option<IpAddr> {
    match text {
        "" => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        text => text.trim_matches(['[', ']']).parse().ok(),
    }
}

impl Bottle {
    /// Assemble the bottle object from what the engine showed.
    pub(crate) fn from_observed(
        slug: &Slug,
        names: &Names,
        network: Option<&Network>,
        bundle: Option<&Container>,
    ) -> Bottle {
        let subnet =
            network.and_then(|n| n.recorded_subnet().or_else(|| n.subnets.first().copied()));
        let host = |k: u32| subnet.map(|s| Ipv4Addr::from(u32::from(s.network()) + k));
        let ports: Vec<PortView> = bundle
            .map(|b| {
                b.ports
                    .iter()
                    .flat_map(|(&(port, protocol), bindings)| {
                        bindings.iter().filter_map(move |bd| {
                            Some(PortView {
                                container_port: port,
                                host_ip: binding_ip(&bd.host_ip)?,
                                host_port: bd.host_port,
                                protocol,
                            })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let host_ip = host_ip_of(&ports);
        Bottle {
            slug: slug.clone(),
            network: NetworkView {
                name: names.network.clone(),
                subnet: subnet.map(Subnet::from_net),
                gateway: host(1),
            },
            bundle: BundleView {
                name: names.bundle.clone(),
                // Always the pinned address, from the subnet: a stopped bundle shows no address on
                // its network, but it gets the same one when it starts (issue 14). The engine's own
                // view only where no subnet is known (the network is gone).
                ip: host(2)
                    .or_else(|| bundle.and_then(|b| b.networks.get(&names.network)?.parse().ok())),
                image: bundle.map(|b| b.image.clone()),
                state: bundle.map_or(State::Missing, |b| State::from_engine(&b.state)),
                limits: bundle.map(|b| b.limits).unwrap_or_default(),
            },
            ports,
            host_ip,
            created: bundle.map(|b| b.created.clone()).filter(|c| !c.is_empty()),
            run: bundle.and_then(|b| b.labels.get(LABEL_RUN).cloned()),
            expires: bundle.and_then(|b| b.labels.get(crate::argv::LABEL_EXPIRES).cloned()),
            context: None,
        }
    }
}

impl PortView {
    /// `HOST_IP:HOST_PORT`, with brackets around an IPv6 address (what `bottle port` prints).
    pub fn host_address(&self) -> String {
        host_port(self.host_ip, self.host_port)
    }
}

/// The address a bundle's ports are published on: the first port's, as bottle publishes every
/// port on one address.
fn host_ip_of(ports: &[PortView]) -> Option<IpAddr> {
    ports.first().map(|p| p.host_ip)
}

/// `HOST_IP:HOST_PORT`, with brackets around an IPv6 address.
pub fn host_port(ip: IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

impl Bottle {
    /// The address the bundle's ports are published on (the first port's; bottle publishes every
    /// port on one address), or `None` when it publishes none.
    pub fn host_ip(&self) -> Option<IpAddr> {
        self.host_ip
    }

    /// The bottle object with the subnet `up` used (and its gateway), where the network itself
    /// was not inspected.
    pub(crate) fn with_subnet(mut self, subnet: Ipv4Network) -> Bottle {
        self.network.subnet = Some(Subnet::from_net(subnet));
        self.network.gateway = Some(Ipv4Addr::from(u32::from(subnet.network()) + 1));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// podman_stopping_and_stopped_show_as_the_contracts_states: `ls`, `status` and the JSON
    /// showed podman's own words, which the schema's state list does not have.
    #[test]
    fn state_from_the_engines_word() {
        #[track_caller]
        fn check(word: &str, want: State) {
            assert_eq!(State::from_engine(word), want, "{word}");
        }
        check("running", State::Running);
        check("stopping", State::Running);
        check("exited", State::Exited);
        check("stopped", State::Exited);
        check("created", State::Created);
        check("removing", State::Removing);
        check("configured", State::Other("configured".to_string()));
    }

    #[test]
    fn parses_mixed_inspect_output() {
        let out = r#"{"Id":"c1","Name":"/bot-bottle-sidecars-demo","State":{"Status":"running"},"Config":{"Image":"img","Labels":{"bottle.slug":"demo","bottle.role":"bundle"}},"NetworkSettings":{"Ports":{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"49153"}],"53/udp":null,"9090/tcp":null},"Networks":{"bot-bottle-bundle-demo":{"IPAddress":"10.213.45.2"}}}}
{"Name":"bot-bottle-bundle-demo","Id":"n1","IPAM":{"Config":[{"Subnet":"10.213.45.0/24"}]},"Containers":{"c1":{"Name":"bot-bottle-sidecars-demo"}},"Labels":{"bottle.slug":"demo","bottle.role":"network","bottle.subnet":"10.213.45.0/24"}}
{"Id":"sha256:abc","RepoTags":["x"]}
"#;
        let objs = parse_objects(out).unwrap();
        let Object::Container(c) = &objs[0] else {
            panic!()
        };
        assert!(c.is_bundle_of("demo") && !c.is_bundle_of("demo2"));
        assert_eq!(
            c.ports[&(8080, Protocol::Tcp)],
            vec![PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: 49153
            }]
        );
        assert_eq!(c.ports[&(9090, Protocol::Tcp)], vec![]);
        assert_eq!(c.ports[&(53, Protocol::Udp)], vec![]);
        let Object::Network(n) = &objs[1] else {
            panic!()
        };
        assert!(n.is_network_of("demo"));
        assert_eq!(n.recorded_subnet(), Some("10.213.45.0/24".parse().unwrap()));
        assert_eq!(objs[2], Object::Other);
    }

    /// `State.Health` when the image has a healthcheck; the publish addresses from the running
    /// bindings and from `HostConfig.PortBindings`, which a stopped container keeps.
    #[test]
    fn reads_health_and_publish_addresses() {
        let running = r#"{"Id":"c1","Name":"/b","State":{"Status":"running","Health":{"Status":"starting"}},"NetworkSettings":{"Ports":{"8080/tcp":[{"HostIp":"127.0.0.17","HostPort":"49153"}]}},"HostConfig":{"PortBindings":{"8080/tcp":[{"HostIp":"127.0.0.17","HostPort":""}]}}}"#;
        let stopped = r#"{"Id":"c2","Name":"/b","State":{"Status":"exited"},"NetworkSettings":{"Ports":{}},"HostConfig":{"PortBindings":{"8080/tcp":[{"HostIp":"127.0.0.18","HostPort":""}]}}}"#;
        let none = r#"{"Id":"c3","Name":"/b","State":{"Status":"running","Health":{"Status":""}}}"#;
        let got: Vec<_> = parse_objects(&format!("{running}\n{stopped}\n{none}"))
            .unwrap()
            .into_iter()
            .filter_map(Object::into_container)
            .map(|c| (c.health, c.publish_ips.into_iter().collect::<Vec<_>>()))
            .collect();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            got,
            vec![
                (Some("starting".to_string()), vec![ip("127.0.0.17")]),
                (None, vec![ip("127.0.0.18")]),
                (None, vec![]),
            ]
        );
    }

    /// `State.Pid` while the bundle runs, which `--wait` reads the bundle's sockets through; the
    /// engines print 0 for a container that does not run.
    #[test]
    fn reads_the_pid_of_a_running_container_only() {
        let pid = |state: &str| {
            let text = format!(r#"{{"Id":"c1","Name":"/b","State":{state}}}"#);
            parse_objects(&text)
                .unwrap()
                .into_iter()
                .find_map(Object::into_container)
                .unwrap()
                .pid
        };
        assert_eq!(pid(r#"{"Status":"running","Pid":12912}"#), Some(12912));
        assert_eq!(pid(r#"{"Status":"exited","Pid":0}"#), None);
        assert_eq!(pid(r#"{"Status":"created"}"#), None);
        assert_eq!(pid(r#"{"Status":"running","Pid":-1}"#), None);
    }

    #[track_caller]
    fn check(stdout: &str, empty: Empty, want: Result<Vec<&str>, &str>) {
        let got = parse_json_objects("podman inspect x", stdout, empty).map(|objs| {
            objs.iter()
                .map(|o| match o {
                    Object::Container(c) => format!("container {}", c.name),
                    Object::Network(n) => format!("network {}", n.name),
                    Object::Other => "other".to_string(),
                })
                .collect::<Vec<_>>()
        });
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(want)) => {
                let e = e.to_string();
                assert!(e.contains("`podman inspect x`"), "{e}");
                assert!(e.contains(want), "{e}");
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    const C: &str = r#"{"Id":"c","Name":"/c1","State":{"Status":"running"}}"#;
    const N: &str =
        r#"{"Id":"n","Name":"n1","IPAM":{"Config":[{"Subnet":"10.1.0.0/24"}]},"Containers":{}}"#;
    const NETAVARK: &str = r#"{"name":"n2","id":"m","subnets":[{"subnet":"10.2.0.0/24","gateway":"10.2.0.1"}],"labels":{"a":"b"}}"#;

    #[test]
    fn parses_every_shape_of_json_output() {
        let lines = format!("{C}\n{N}\n");
        check(&lines, Empty::Error, Ok(vec!["container c1", "network n1"]));
        let array = format!("[\n  {C},\n  {N}\n]\n");
        check(&array, Empty::Error, Ok(vec!["container c1", "network n1"]));
        // Several arrays, or arrays and lines mixed, as repeated commands may print.
        let mixed = format!("[{C}]\n{NETAVARK}\n[]\n[{N}]");
        check(
            &mixed,
            Empty::Error,
            Ok(vec!["container c1", "network n2", "network n1"]),
        );
        check("", Empty::Allowed, Ok(vec![]));
        check("[]\n", Empty::Allowed, Ok(vec![]));
        check("\n", Empty::Error, Err("no object"));
        check("[]", Empty::Error, Err("no object"));
        // A truncated array, a stray line and a non-object are errors, never an empty success.
        check(&format!("[\n  {C},\n"), Empty::Allowed, Err("EOF"));
        check(
            &format!("{C}\nWARNING: x\n"),
            Empty::Allowed,
            Err("WARNING"),
        );
        check("[1]", Empty::Allowed, Err("expected a JSON object"));
        check(
            "\"x\"",
            Empty::Allowed,
            Err("expected a JSON object or array"),
        );
    }

    #[test]
    fn reads_netavark_networks() {
        let objs = parse_json_objects("podman network inspect n2", NETAVARK, Empty::Error).unwrap();
        let Object::Network(n) = &objs[0] else {
            panic!("{objs:?}")
        };
        assert_eq!((n.id.as_str(), n.name.as_str()), ("m", "n2"));
        assert_eq!(n.subnets, vec!["10.2.0.0/24".parse().unwrap()]);
        assert_eq!(n.labels["a"], "b");
        assert!(!n.containers_listed && n.containers.is_empty());
        let objs = parse_json_objects("docker network inspect n1", N, Empty::Error).unwrap();
        assert!(matches!(&objs[0], Object::Network(n) if n.containers_listed));
    }

    #[test]
    fn network_create_prints_one_word() {
        assert_eq!(parse_created("c", "fxpod-new\n").unwrap(), "fxpod-new");
        assert!(parse_created("c", "").is_err());
        assert!(parse_created("c", "a b\n").is_err());
    }

    /// The output shapes `parse_json_objects` reads (it was a doctest; the module is private).
    #[test]
    fn volumes_are_judged_by_their_labels() {
        // As captured: docker 20.10 (one object per line) and podman 4.3 (a pretty array).
        let docker = r#"{"CreatedAt":"2026-12-07T02:14:19Z","Driver":"local","Labels":{"bottle.prefix":"bot-bottle","bottle.role":"volume","bottle.slug":"demo"},"Mountpoint":"/var/lib/docker/volumes/v1/_data","Name":"v1","Options":null,"Scope":"local"}
{"CreatedAt":"2026-12-07T02:14:19Z","Driver":"local","Labels":null,"Mountpoint":"/x","Name":"v2","Options":{},"Scope":"local"}"#;
        let podman = "[\n {\n  \"Name\": \"v3\",\n  \"Driver\": \"local\",\n  \"Labels\": {\n   \"bottle.prefix\": \"bot-bottle\",\n   \"bottle.role\": \"volume\",\n   \"bottle.slug\": \"other\"\n  },\n  \"MountCount\": 0\n }\n]";
        let all: Vec<VolumeInfo> = [docker, podman]
            .iter()
            .flat_map(|out| parse_volumes("volume inspect", out).unwrap())
            .collect();
        let names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["v1", "v2", "v3"]);
        assert!(all[0].is_volume_of("bot-bottle", "demo"));
        assert!(!all[0].is_volume_of("other-prefix", "demo"));
        assert!(
            !all[1].is_volume_of_prefix("bot-bottle"),
            "unlabelled: foreign"
        );
        assert!(!all[2].is_volume_of("bot-bottle", "demo"));
        assert_eq!(all[2].slug(), Some("other"));
        assert!(parse_volumes("volume inspect", "").unwrap().is_empty());
        assert!(parse_volumes("volume inspect", "nope").is_err());
    }

    #[test]
    fn reads_docker_lines_and_podman_arrays() {
        let docker = "{\"Id\":\"c\",\"Name\":\"/x\",\"State\":{\"Status\":\"running\"}}\n";
        let podman = "[\n  {\n    \"Id\": \"c\",\n    \"Name\": \"x\",\n    \"State\": {\"Status\": \"running\"}\n  }\n]\n";
        for out in [docker, podman] {
            let objs = parse_json_objects("docker inspect x", out, Empty::Error).unwrap();
            assert!(matches!(&objs[..], [Object::Container(c)] if c.name == "x"));
        }
        assert!(parse_json_objects("docker inspect x", "", Empty::Error).is_err());
        assert!(
            parse_json_objects("docker inspect x", "[]\n", Empty::Allowed)
                .unwrap()
                .is_empty()
        );
    }
}
