//! Host ports that hold still: what holds which endpoint (other containers' bindings, running or
//! not, and on a local engine the host's sockets), fed to the pure rule in [`crate::endpoints`].
//!
//! The engine's bindings are the record, as for `--publish-ip auto`: one `ps --all` and one
//! `container inspect` of what it lists (shared with the loopback choice when both are needed).

use std::net::SocketAddr;

use crate::endpoints::{self, Endpoint, Holder, HostPorts, Refusal};
use crate::error::{Error, ErrorKind};
use crate::model::{Container, Protocol};

/// Every endpoint something other than `ours` holds: each other container's bindings (by name),
/// then, on a local engine, each host socket no container explains (a live container's published
/// port is also a socket of its port proxy; see [`explains`]).
pub(super) fn held(
    others: &[Container],
    ours: Option<&Container>,
    local: bool,
) -> Vec<(Endpoint, Holder)> {
    let mut out: Vec<(Endpoint, Holder)> = others
        .iter()
        .flat_map(|c| {
            c.held
                .iter()
                .map(|e| (*e, Holder::Container(c.name.clone())))
        })
        .collect();
    if local {
        let sockets = |list: Vec<SocketAddr>, protocol| {
            list.into_iter().map(move |a| Endpoint {
                ip: a.ip().to_canonical(),
                port: a.port(),
                protocol,
            })
        };
        let explained = |e: &Endpoint| {
            others
                .iter()
                .chain(ours)
                .any(|c| explains(&c.state, &c.held, e))
        };
        let host: Vec<Endpoint> = sockets(crate::host::tcp_listeners(), Protocol::Tcp)
            .chain(sockets(crate::host::udp_sockets(), Protocol::Udp))
            .filter(|e| !explained(e))
            .collect();
        out.extend(host.into_iter().map(|e| (e, Holder::HostSocket)));
    }
    out
}

/// The host ports a bundle publishing `wanted` on `ip` uses, as [`endpoints::settle`] chooses
/// them with what `others` hold ([`held`]); on a local engine each new TCP port the rule chooses
/// is also tried with a bind ([`crate::host::tcp_in_use`]), since a socket bound but not
/// listening is in no socket table yet fails the engine's bind.
pub(super) fn choose(
    slug: &str,
    ip: std::net::IpAddr,
    wanted: &[endpoints::PortKey],
    recorded: &HostPorts,
    others: &[Container],
    local: bool,
) -> Result<HostPorts, Refusal> {
    let held = held(others, None, local);
    let taken = |e: &Endpoint| local && crate::host::tcp_in_use(SocketAddr::new(e.ip, e.port));
    settle_probed(slug, ip, wanted, recorded, held, taken)
}

/// [`endpoints::settle`], with each new TCP port it chooses (not a recorded one: those are kept
/// or refused, never moved) put to `taken`, the bind probe's answer: one that is taken is held by
/// a host socket, and the rule chooses again. Pure given `taken`. Ends: each round holds one more
/// endpoint the rule had not seen held.
fn settle_probed(
    slug: &str,
    ip: std::net::IpAddr,
    wanted: &[endpoints::PortKey],
    recorded: &HostPorts,
    mut held: Vec<(Endpoint, Holder)>,
    mut taken: impl FnMut(&Endpoint) -> bool,
) -> Result<HostPorts, Refusal> {
    loop {
        let chosen = endpoints::settle(slug, ip, wanted, recorded, &held)?;
        let busy: Vec<Endpoint> = chosen
            .iter()
            .filter(|(key, port)| key.1 == Protocol::Tcp && recorded.get(key) != Some(port))
            .map(|(key, port)| Endpoint {
                ip,
                port: *port,
                protocol: key.1,
            })
            .filter(|e| taken(e))
            .collect();
        if busy.is_empty() {
            return Ok(chosen);
        }
        held.extend(busy.into_iter().map(|e| (e, Holder::HostSocket)));
    }
}

/// Whether a container in `state` binding `bindings` accounts for the host socket `socket`: its
/// port proxy listens only while the container is live (running, paused or restarting, or
/// podman's `stopping`, a stop waiting out its grace period: a stopped or only created container
/// has no socket, so a socket on its port is someone else's), and only on the binding's own
/// address (or on every address, for a wildcard binding).
pub(super) fn explains(
    state: &str,
    bindings: &std::collections::BTreeSet<Endpoint>,
    socket: &Endpoint,
) -> bool {
    let live = matches!(state, "running" | "paused" | "restarting" | "stopping");
    live && bindings.iter().any(|b| {
        b.port == socket.port
            && b.protocol == socket.protocol
            && (b.ip == socket.ip || b.ip.is_unspecified() || socket.ip.is_unspecified())
    })
}

/// What holds the address `ip` (for `--publish-ip auto`): another container publishing on it, or
/// on a local engine a host socket bound to it that `ours` (the bottle's own bundle, whose port
/// proxies listen there) does not explain.
pub(super) fn address_holder(
    others: &[Container],
    ours: Option<&Container>,
    local: bool,
    ip: std::net::Ipv4Addr,
) -> Option<Holder> {
    let at = std::net::IpAddr::V4(ip);
    if let Some(c) = others.iter().find(|c| c.publish_ips.contains(&at)) {
        return Some(Holder::Container(c.name.clone()));
    }
    let mine = |a: &SocketAddr| {
        let socket = Endpoint {
            ip: a.ip().to_canonical(),
            port: a.port(),
            protocol: Protocol::Tcp,
        };
        ours.is_some_and(|b| explains(&b.state, &b.held, &socket))
    };
    let socket = local
        && crate::host::tcp_listeners()
            .iter()
            .any(|a| a.ip().to_canonical() == at && !mine(a));
    socket.then_some(Holder::HostSocket)
}

/// The refusal of a kept `--publish-ip auto` address that something else holds.
pub(super) fn address_refused(slug: &str, ip: std::net::Ipv4Addr, by: Holder) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!(
            "address {ip} of bottle `{slug}` is held by {by}; bottle keeps a bottle's endpoints and never moves them: free it, or bring the bottle down to let it choose a new one"
        ),
    )
}

/// A `start`, `restart` or `unpause` of `found` the engine refused: if one of the bundle's
/// recorded endpoints is held by something else, say what holds it (the engine's words stay in
/// the error). Costs a `ps` and an `inspect` only on this failure.
pub(super) fn why_not_started(
    ctx: &super::Ctx,
    slug: &str,
    found: &Container,
    err: Error,
) -> Error {
    let Some((at, recorded)) = recorded(found) else {
        return err;
    };
    let Ok((others, now)) = with_ours(ctx, &found.name) else {
        return err;
    };
    // The bundle as it is after the refusal: still live (a refused `stop` or `pause`), its own
    // port proxies listen on its recorded ports and are no one else's socket; not live (a
    // refused `start`), its bindings explain nothing, whatever its state said before.
    let held = held(&others, now.as_ref(), ctx.local());
    match endpoints::blame(at, &recorded, &held) {
        None => err,
        Some(r) => {
            let why = refused(slug, r);
            let msg = format!("{}; {}", why.message(), err.message());
            err.with_message(msg)
        }
    }
}

/// Every container other than the one named `ours`, and `ours` as the engine shows it now: the
/// same `ps --all` and `container inspect` as [`super::loopback::other_containers`].
fn with_ours(
    ctx: &super::Ctx,
    ours: &str,
) -> crate::error::Result<(Vec<Container>, Option<Container>)> {
    let reply = ctx
        .run(crate::classify::Verb::Ps, crate::argv::ps(&[]))?
        .check()?;
    let ids: Vec<String> = ctx
        .id_names(&reply)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let (mine, others): (Vec<Container>, Vec<Container>) = ctx
        .inspect_containers(&ids)?
        .into_iter()
        .partition(|c| c.name == ours);
    Ok((others, mine.into_iter().next()))
}

/// The endpoints a bundle records in its `bottle.endpoints` label, if it has a readable one.
pub(super) fn recorded(b: &Container) -> Option<(std::net::IpAddr, HostPorts)> {
    endpoints::parse_label(b.labels.get(crate::argv::LABEL_ENDPOINTS)?)
}

/// What a bundle publishes on, as a set of `(host address, host port, container port)`: its
/// label's record, or for a bundle without one (made before the rule) the bindings the engine
/// shows. What `up --json`'s `ports_changed` compares.
pub(super) fn published(b: &Container) -> Published {
    if let Some((ip, ports)) = recorded(b) {
        return ports.into_iter().map(|(k, p)| (ip, p, k)).collect();
    }
    b.ports
        .iter()
        .flat_map(|(k, bindings)| {
            bindings.iter().filter_map(move |bd| {
                let ip = bd.host_ip.trim_matches(['[', ']']).parse().ok()?;
                Some((ip, bd.host_port, *k))
            })
        })
        .collect()
}

/// Endpoints as `(host address, host port, container port)`.
pub(super) type Published = std::collections::BTreeSet<(std::net::IpAddr, u16, endpoints::PortKey)>;

/// The error for a refusal of the rule, naming the bottle.
pub(super) fn refused(slug: &str, refusal: Refusal) -> Error {
    match refusal {
        Refusal::Held { endpoint, by } => Error::new(
            ErrorKind::Refused,
            format!(
                "endpoint {}/{} of bottle `{slug}` is held by {by}; bottle keeps a bottle's endpoints and never moves them: free it, or bring the bottle down to let it choose new ones",
                SocketAddr::new(endpoint.ip, endpoint.port),
                endpoint.protocol
            ),
        ),
        Refusal::Exhausted { container_port } => Error::new(
            ErrorKind::Refused,
            format!(
                "no free host port for {}/{} of bottle `{slug}`: every port from {} to {} is held",
                container_port.0,
                container_port.1,
                endpoints::PORT_LOW,
                endpoints::PORT_HIGH
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn at(ip: &str, port: u16, protocol: Protocol) -> Endpoint {
        Endpoint {
            ip: ip.parse().unwrap(),
            port,
            protocol,
        }
    }

    /// up_keeps_choosing_a_port_a_socket_bound_but_not_listening_holds: the rule's port that the
    /// bind probe finds taken is skipped, as a listed socket's is; a recorded port is kept (never
    /// moved, whatever the probe says), and a UDP port is never probed (a bound UDP socket is
    /// listed).
    #[test]
    fn settle_skips_the_ports_the_probe_finds_taken() {
        let tcp = (8080, Protocol::Tcp);
        let udp = (53, Protocol::Udp);
        let c = |key, k| endpoints::candidate("demo", key, k);
        #[track_caller]
        fn check(
            wanted: &[endpoints::PortKey],
            recorded: &[(endpoints::PortKey, u16)],
            taken: &[u16],
            want: &[(endpoints::PortKey, u16)],
        ) {
            let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
            let recorded: HostPorts = recorded.iter().copied().collect();
            let got = settle_probed("demo", lo, wanted, &recorded, Vec::new(), |e| {
                assert_eq!(e.protocol, Protocol::Tcp, "probed {e:?}");
                taken.contains(&e.port)
            })
            .unwrap();
            let want: HostPorts = want.iter().copied().collect();
            assert_eq!(got, want, "taken {taken:?}");
        }
        check(&[tcp], &[], &[], &[(tcp, c(tcp, 0))]);
        check(&[tcp], &[], &[c(tcp, 0)], &[(tcp, c(tcp, 1))]);
        check(&[tcp], &[], &[c(tcp, 0), c(tcp, 1)], &[(tcp, c(tcp, 2))]);
        check(&[tcp], &[(tcp, 20001)], &[20001], &[(tcp, 20001)]);
        check(&[udp], &[], &[], &[(udp, c(udp, 0))]);
    }

    /// Which host socket a container's bindings account for: only a live container's, only on
    /// the same port, protocol and address (or a wildcard).
    #[test]
    fn explains_a_socket_only_for_a_live_container_on_its_address() {
        let tcp = Protocol::Tcp;
        let bound: BTreeSet<Endpoint> = [at("127.0.0.2", 24224, tcp)].into();
        let any: BTreeSet<Endpoint> = [at("0.0.0.0", 24224, tcp)].into();
        let cases = [
            ("running", &bound, at("127.0.0.2", 24224, tcp), true),
            ("paused", &bound, at("127.0.0.2", 24224, tcp), true),
            // up_of_a_stopping_podman_bottle_says_its_own_port_is_held_by_a_host_socket
            ("stopping", &bound, at("127.0.0.2", 24224, tcp), true),
            ("stopped", &bound, at("127.0.0.2", 24224, tcp), false),
            ("exited", &bound, at("127.0.0.2", 24224, tcp), false),
            ("created", &bound, at("127.0.0.2", 24224, tcp), false),
            ("running", &bound, at("127.0.0.1", 24224, tcp), false),
            ("running", &bound, at("127.0.0.2", 24225, tcp), false),
            (
                "running",
                &bound,
                at("127.0.0.2", 24224, Protocol::Udp),
                false,
            ),
            ("running", &any, at("127.0.0.1", 24224, tcp), true),
            ("running", &bound, at("0.0.0.0", 24224, tcp), true),
        ];
        for (state, bindings, socket, want) in cases {
            assert_eq!(
                explains(state, bindings, &socket),
                want,
                "{state} {socket:?}"
            );
        }
    }
}
