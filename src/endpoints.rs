//! The normative host-port rule: slug, container port and protocol → FNV-1a 64 → ordered host-port
//! candidates in a range below the Linux ephemeral range; the first that nothing holds is the
//! bottle's, recorded in its bundle's `bottle.endpoints` label and published as an explicit
//! `-p IP:HOSTPORT:PORT`, so every later start, restart, unpause, replace and engine restart
//! publishes on the same one (docs/contract.md, "Host-port rule").
//!
//! Pure: what holds an endpoint (another container's bindings, a host socket) is an input.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::Protocol;
use crate::subnet::fnv1a64;

/// The lowest host port the rule hands out.
pub const PORT_LOW: u16 = 20000;
/// The highest host port the rule hands out: one below Linux's default ephemeral range
/// (`net.ipv4.ip_local_port_range` = 32768–60999), where the kernel and the engines' own
/// port choices live.
pub const PORT_HIGH: u16 = 32767;
/// How many host ports the range holds.
const SPAN: u64 = (PORT_HIGH - PORT_LOW) as u64 + 1;

/// A container port and its protocol, as a spec publishes it.
pub type PortKey = (u16, Protocol);

/// Host port per published container port: what a bundle publishes on (with one host address).
pub type HostPorts = BTreeMap<PortKey, u16>;

/// An endpoint held on the host: address, port and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
}

/// Who holds an endpoint, for the error that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A container, by name (a bottle's or not, running or only created: its bindings hold).
    Container(String),
    /// A socket on the host that no container explains.
    HostSocket,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Container(name) => write!(f, "container `{name}`"),
            Holder::HostSocket => f.write_str("a host socket"),
        }
    }
}

/// Why no endpoints could be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A recorded endpoint is held by something else: bottle never moves it silently.
    Held { endpoint: Endpoint, by: Holder },
    /// Every host port of the range is held for this address and protocol.
    Exhausted { container_port: PortKey },
}

/// The key the rule hashes: `SLUG/PORT/PROTO`, e.g. `demo/8080/tcp`.
pub fn rule_key(slug: &str, key: PortKey) -> String {
    format!("{slug}/{}/{}", key.0, key.1)
}

/// Candidate `k` (0-based) for a container port of a slug: `PORT_LOW + (h + k) mod SPAN`, `h` the
/// FNV-1a 64 of [`rule_key`].
pub fn candidate(slug: &str, key: PortKey, k: u64) -> u16 {
    let h = fnv1a64(rule_key(slug, key).as_bytes());
    let offset = ((h % SPAN) + (k % SPAN)) % SPAN;
    // `offset < SPAN <= u16::MAX - PORT_LOW + 1`, so this never saturates.
    PORT_LOW.saturating_add(offset as u16)
}

/// Whether two endpoints collide: same port and protocol, and an address in common (equal, or
/// either one every address).
pub fn collides(a: &Endpoint, b: &Endpoint) -> bool {
    a.port == b.port
        && a.protocol == b.protocol
        && (a.ip == b.ip || a.ip.is_unspecified() || b.ip.is_unspecified())
}

/// The host ports a bundle publishing `wanted` on `ip` uses: a recorded one (the bottle's own,
/// from its bundle's label) is kept, or the command is refused naming its holder; a new one is the
/// rule's first candidate that nothing in `held` (nor a port chosen before it, in `wanted`'s
/// order) collides with.
pub fn settle(
    slug: &str,
    ip: IpAddr,
    wanted: &[PortKey],
    recorded: &HostPorts,
    held: &[(Endpoint, Holder)],
) -> Result<HostPorts, Refusal> {
    let kept: HostPorts = wanted
        .iter()
        .filter_map(|k| recorded.get(k).map(|&p| (*k, p)))
        .collect();
    if let Some(refusal) = blame(ip, &kept, held) {
        return Err(refusal);
    }
    let holder = |e: &Endpoint| held.iter().any(|(h, _)| collides(h, e));
    let mut out = kept;
    for &key in wanted {
        let at = |port: u16| Endpoint {
            ip,
            port,
            protocol: key.1,
        };
        let mine = |port: u16, out: &HostPorts| out.iter().any(|(k, &p)| k.1 == key.1 && p == port);
        if out.contains_key(&key) {
            continue;
        }
        let free = (0..SPAN)
            .map(|k| candidate(slug, key, k))
            .find(|&p| !holder(&at(p)) && !mine(p, &out) && !recorded_elsewhere(recorded, key, p));
        match free {
            Some(port) => out.insert(key, port),
            None => {
                return Err(Refusal::Exhausted {
                    container_port: key,
                });
            }
        };
    }
    Ok(out)
}

/// The refusal for `recorded` endpoints on `ip` that something in `held` holds, if any: a
/// container's binding first (the engine's own record, and the likelier cause of a refused start),
/// then a host socket (which may be a passing one, such as an engine's half-done start letting go
/// of its ports), each in the endpoints' order.
pub fn blame(ip: IpAddr, recorded: &HostPorts, held: &[(Endpoint, Holder)]) -> Option<Refusal> {
    let socket_last = |by: &Holder| matches!(by, Holder::HostSocket);
    let mut found: Vec<(Endpoint, &Holder)> = recorded
        .iter()
        .filter_map(|(key, &port)| {
            let endpoint = Endpoint {
                ip,
                port,
                protocol: key.1,
            };
            let by = held
                .iter()
                .filter(|(h, _)| collides(h, &endpoint))
                .min_by_key(|(_, by)| socket_last(by))?;
            Some((endpoint, &by.1))
        })
        .collect();
    found.sort_by_key(|(_, by)| socket_last(by));
    let (endpoint, by) = found.into_iter().next()?;
    Some(Refusal::Held {
        endpoint,
        by: by.clone(),
    })
}

/// Whether `port` is recorded for another container port of the same protocol: a new port never
/// takes a host port the bottle already owns.
fn recorded_elsewhere(recorded: &HostPorts, key: PortKey, port: u16) -> bool {
    recorded
        .iter()
        .any(|(k, &p)| *k != key && k.1 == key.1 && p == port)
}

/// The `bottle.endpoints` label: `HOST_IP:HOST_PORT->PORT/PROTO`, comma-separated, in port order
/// (IPv6 addresses in brackets), e.g. `127.0.0.1:20417->8080/tcp,127.0.0.1:23001->53/udp`.
pub fn label(ip: IpAddr, ports: &HostPorts) -> String {
    ports
        .iter()
        .map(|(&(port, proto), &host)| {
            let at = std::net::SocketAddr::new(ip, host);
            format!("{at}->{port}/{proto}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parse a `bottle.endpoints` label back; `None` when any part does not parse (the label is
/// then ignored, and new ports are chosen, as for a bundle without one).
pub fn parse_label(text: &str) -> Option<(IpAddr, HostPorts)> {
    let mut ip = None;
    let mut out = HostPorts::new();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (at, inner) = item.split_once("->")?;
        let at: std::net::SocketAddr = at.parse().ok()?;
        let (port, proto) = inner.split_once('/')?;
        let proto = Protocol::parse(proto)?;
        if *ip.get_or_insert(at.ip()) != at.ip() {
            return None;
        }
        out.insert((port.parse().ok()?, proto), at.port());
    }
    Some((ip?, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const TCP: Protocol = Protocol::Tcp;
    const UDP: Protocol = Protocol::Udp;

    #[track_caller]
    fn check(
        wanted: &[PortKey],
        recorded: &[(PortKey, u16)],
        held: &[(IpAddr, u16, Protocol, Holder)],
        want: Result<&[(PortKey, u16)], Refusal>,
    ) {
        let recorded: HostPorts = recorded.iter().copied().collect();
        let held: Vec<(Endpoint, Holder)> = held
            .iter()
            .map(|(ip, port, protocol, h)| {
                (
                    Endpoint {
                        ip: *ip,
                        port: *port,
                        protocol: *protocol,
                    },
                    h.clone(),
                )
            })
            .collect();
        let got = settle("demo", LO, wanted, &recorded, &held);
        let want = want.map(|w| w.iter().copied().collect::<HostPorts>());
        assert_eq!(got, want);
    }

    #[test]
    fn candidates_stay_in_range_and_wrap() {
        for k in [0, 1, SPAN - 1, SPAN, SPAN * 3 + 7] {
            let p = candidate("demo", (8080, TCP), k);
            assert!((PORT_LOW..=PORT_HIGH).contains(&p), "{p}");
        }
        assert_eq!(
            candidate("demo", (8080, TCP), SPAN),
            candidate("demo", (8080, TCP), 0)
        );
        let c0 = candidate("demo", (8080, TCP), 0);
        let c1 = candidate("demo", (8080, TCP), 1);
        assert!(c1 == c0 + 1 || (c0 == PORT_HIGH && c1 == PORT_LOW));
        // The protocol is part of the key.
        assert_ne!(rule_key("demo", (53, TCP)), rule_key("demo", (53, UDP)));
    }

    #[test]
    fn settle_table() {
        let c = |port, proto, k| candidate("demo", (port, proto), k);
        let c0 = c(8080, TCP, 0);
        let ctr = |n: &str| Holder::Container(n.to_string());
        // Fresh: candidate 0 of each port.
        check(
            &[(8080, TCP), (53, UDP)],
            &[],
            &[],
            Ok(&[((8080, TCP), c0), ((53, UDP), c(53, UDP, 0))]),
        );
        // Held on the same address, or on every address: the next candidate.
        for ip in [LO, IpAddr::V4(Ipv4Addr::UNSPECIFIED)] {
            check(
                &[(8080, TCP)],
                &[],
                &[(ip, c0, TCP, ctr("x"))],
                Ok(&[((8080, TCP), c(8080, TCP, 1))]),
            );
        }
        // Held on another address, or for the other protocol: no collision.
        check(
            &[(8080, TCP)],
            &[],
            &[
                (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), c0, TCP, ctr("x")),
                (LO, c0, UDP, Holder::HostSocket),
            ],
            Ok(&[((8080, TCP), c0)]),
        );
        // Recorded: kept, even off the rule's first choice.
        check(
            &[(8080, TCP)],
            &[((8080, TCP), 20001)],
            &[],
            Ok(&[((8080, TCP), 20001)]),
        );
        // Recorded and held: refused, naming the holder; never moved.
        check(
            &[(8080, TCP)],
            &[((8080, TCP), 20001)],
            &[(LO, 20001, TCP, Holder::HostSocket)],
            Err(Refusal::Held {
                endpoint: Endpoint {
                    ip: LO,
                    port: 20001,
                    protocol: TCP,
                },
                by: Holder::HostSocket,
            }),
        );
        // Two recorded endpoints held: the container is named before a host socket, whatever
        // the endpoints' order (a refused start on podman once left a passing socket on the
        // first, and the error blamed it instead of the container on the second).
        check(
            &[(53, UDP), (8080, TCP)],
            &[((53, UDP), 20001), ((8080, TCP), 20002)],
            &[
                (LO, 20001, UDP, Holder::HostSocket),
                (LO, 20002, TCP, ctr("thief")),
            ],
            Err(Refusal::Held {
                endpoint: Endpoint {
                    ip: LO,
                    port: 20002,
                    protocol: TCP,
                },
                by: ctr("thief"),
            }),
        );
        // One endpoint held by both a host socket and a container: the container is named.
        check(
            &[(8080, TCP)],
            &[((8080, TCP), 20002)],
            &[
                (LO, 20002, TCP, Holder::HostSocket),
                (LO, 20002, TCP, ctr("thief")),
            ],
            Err(Refusal::Held {
                endpoint: Endpoint {
                    ip: LO,
                    port: 20002,
                    protocol: TCP,
                },
                by: ctr("thief"),
            }),
        );
        // A new port never takes a host port the bottle records for another one.
        check(
            &[(8080, TCP), (9090, TCP)],
            &[((9090, TCP), c0)],
            &[],
            Ok(&[((8080, TCP), c(8080, TCP, 1)), ((9090, TCP), c0)]),
        );
    }

    #[test]
    fn two_ports_on_one_candidate_take_turns() {
        // Find two container ports whose candidate 0 is the same host port.
        let mut seen = BTreeMap::new();
        let (a, b) = (1..=u16::MAX)
            .find_map(|p| {
                let c = candidate("demo", (p, TCP), 0);
                seen.insert(c, p).map(|q| (q, p))
            })
            .unwrap();
        let got = settle("demo", LO, &[(a, TCP), (b, TCP)], &HostPorts::new(), &[]).unwrap();
        assert_eq!(got[&(a, TCP)], candidate("demo", (a, TCP), 0));
        assert_eq!(got[&(b, TCP)], candidate("demo", (b, TCP), 1));
    }

    #[test]
    fn label_round_trips() {
        let ports: HostPorts = [((8080, TCP), 20417), ((53, UDP), 23001)].into();
        let text = label(LO, &ports);
        assert_eq!(text, "127.0.0.1:23001->53/udp,127.0.0.1:20417->8080/tcp");
        assert_eq!(parse_label(&text), Some((LO, ports.clone())));
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(parse_label(&label(v6, &ports)), Some((v6, ports)));
        for bad in [
            "",
            "x",
            "127.0.0.1:1->2/sctp",
            "127.0.0.1:1->2/tcp,127.0.0.2:3->4/tcp",
        ] {
            assert_eq!(parse_label(bad), None, "{bad}");
        }
    }
}
