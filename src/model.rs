//! What the engine reports, parsed, and the bottle object bottle reports in turn.
//!
//! Pure: the functions here take the engine's JSON text and return typed views. Only the fields
//! bottle uses are read, so new engine fields do not break parsing.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

use crate::argv::{
    LABEL_ROLE, LABEL_RUN, LABEL_SLUG, LABEL_SPEC, LABEL_SUBNET, ROLE_BUNDLE, ROLE_NETWORK,
};
use crate::error::{Error, ErrorKind, Result};
use crate::input::Names;

/// A container as `inspect --format '{{json .}}'` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// Without the leading `/` the engine adds.
    pub name: String,
    pub state: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// `Config.Env`, `KEY=VALUE` each. It holds secret values, so `Debug` shows only the keys.
    pub env: Env,
    /// Container port → bindings, TCP only.
    pub ports: BTreeMap<u16, Vec<PortBinding>>,
    /// Network name → IPv4 address on it.
    pub networks: BTreeMap<String, String>,
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
    /// Attached containers: ID → name.
    pub containers: BTreeMap<String, String>,
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
    state: Option<RawState>,
    config: Option<RawConfig>,
    network_settings: Option<RawNetworkSettings>,
    #[serde(rename = "IPAM")]
    ipam: Option<RawIpam>,
    labels: Option<BTreeMap<String, String>>,
    containers: Option<BTreeMap<String, RawEndpoint>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawState {
    status: String,
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

/// Parse the output of an `inspect --format '{{json .}}'`: one JSON object per line. Blank lines
/// and the `[]` some engines print when nothing matched are skipped.
pub fn parse_objects(stdout: &str) -> Result<Vec<Object>> {
    stdout
        .lines()
        .filter(|l| !matches!(l.trim(), "" | "[]"))
        .map(parse_object)
        .collect()
}

fn parse_object(line: &str) -> Result<Object> {
    let raw: RawObject = serde_json::from_str(line).map_err(|e| {
        Error::new(
            ErrorKind::EngineFailed,
            format!("cannot parse the engine's inspect output: {e}"),
        )
    })?;
    let id = raw.id.unwrap_or_default();
    let name = raw.name.unwrap_or_default();
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
            let Some(port) = key.strip_suffix("/tcp").and_then(|p| p.parse::<u16>().ok()) else {
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
        let networks = settings
            .and_then(|s| s.networks)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, a)| (n, a.ip_address.unwrap_or_default()))
            .collect();
        return Ok(Object::Container(Container {
            id,
            name: name.trim_start_matches('/').to_string(),
            state: state.status,
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
        }));
    }
    if let Some(ipam) = raw.ipam {
        let subnets = ipam
            .config
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet?.parse().ok())
            .collect();
        return Ok(Object::Network(Network {
            id,
            name,
            labels: raw.labels.unwrap_or_default(),
            subnets,
            containers: raw
                .containers
                .unwrap_or_default()
                .into_iter()
                .map(|(id, e)| (id, e.name.unwrap_or_default()))
                .collect(),
        }));
    }
    Ok(Object::Other)
}

/// Parse `ID<TAB>NAME` listing lines.
pub fn parse_id_names(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(id, name)| (id.trim().to_string(), name.trim().to_string()))
        .collect()
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

/// The bottle object of `up --json`, `status --json` and `ls --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bottle {
    pub slug: String,
    pub network: NetworkView,
    pub bundle: BundleView,
    pub ports: Vec<PortView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkView {
    pub name: String,
    /// `null` when the network is missing.
    pub subnet: Option<Ipv4Network>,
    pub gateway: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleView {
    pub name: String,
    pub ip: Option<String>,
    pub image: Option<String>,
    /// The engine's state, or `missing`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortView {
    pub container_port: u16,
    pub host_ip: String,
    pub host_port: u16,
}

impl Bottle {
    /// Assemble the bottle object from what the engine showed.
    pub fn from_observed(
        slug: &str,
        names: &Names,
        network: Option<&Network>,
        bundle: Option<&Container>,
    ) -> Bottle {
        let subnet =
            network.and_then(|n| n.recorded_subnet().or_else(|| n.subnets.first().copied()));
        let host = |k: u32| subnet.map(|s| Ipv4Addr::from(u32::from(s.network()) + k));
        let ports = bundle
            .map(|b| {
                b.ports
                    .iter()
                    .flat_map(|(port, bindings)| {
                        bindings.iter().map(|bd| PortView {
                            container_port: *port,
                            host_ip: bd.host_ip.clone(),
                            host_port: bd.host_port,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Bottle {
            slug: slug.to_string(),
            network: NetworkView {
                name: names.network.clone(),
                subnet,
                gateway: host(1),
            },
            bundle: BundleView {
                name: names.bundle.clone(),
                ip: match bundle {
                    Some(b) => b
                        .networks
                        .get(&names.network)
                        .filter(|ip| !ip.is_empty())
                        .cloned(),
                    None => host(2).map(|ip| ip.to_string()),
                },
                image: bundle.map(|b| b.image.clone()),
                state: bundle.map_or_else(|| "missing".to_string(), |b| b.state.clone()),
            },
            ports,
        }
    }
}

/// `HOST_IP:HOST_PORT`, with brackets around an IPv6 address.
pub fn host_port(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

impl Bottle {
    /// The bottle object with the subnet `up` used (and its gateway), where the network itself
    /// was not inspected.
    pub fn with_subnet(mut self, subnet: Ipv4Network) -> Bottle {
        self.network.subnet = Some(subnet);
        self.network.gateway = Some(Ipv4Addr::from(u32::from(subnet.network()) + 1));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            c.ports[&8080],
            vec![PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: 49153
            }]
        );
        assert_eq!(c.ports[&9090], vec![]);
        let Object::Network(n) = &objs[1] else {
            panic!()
        };
        assert!(n.is_network_of("demo"));
        assert_eq!(n.recorded_subnet(), Some("10.213.45.0/24".parse().unwrap()));
        assert_eq!(objs[2], Object::Other);
    }
}
