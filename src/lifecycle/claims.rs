//! What this process's `up`s have chosen to publish on and not yet published: the host endpoints
//! (and the address) each chose, from its choice until its `run` has returned.
//!
//! The engine's bindings are the record of who holds an endpoint, but a bundle's bindings exist
//! only once its `run` has made it. Holding the `loopback` lock through `run` covered that gap
//! and made every `up` of a batch take turns through its slowest command (`up` of 32 slugs at
//! `--parallel 4` took as long as 32 one after another). Instead, the threads of one process
//! tell each other what they chose here, and for host ports on a fixed address the lock covers
//! only the look and the choice. (`--publish-ip auto` still holds it through `run`: every `up`
//! wants the pool's lowest free address, so another process would choose it too.) Another
//! process that looks while a `run` of ours is in flight may choose the same host port only if
//! the rule gives its slug the same candidate: the engine refuses the second bind, and `up`
//! chooses again, as it does against a racer on a remote engine (where there is no lock at all).
//!
//! A claim counts as a container that holds its endpoints, named after the bundle that will
//! hold them, so a choice avoids it and an error names it like any other holder. Claims are kept
//! per host: every local engine shares this host's ports (docker and podman here), and a remote
//! engine (a program and context) has its own, so a fleet's bottle on one host never avoids, or
//! is refused for, another host's claim.
//!
//! A claim released while a look runs is still counted (the look may have listed the containers
//! before that bundle existed): a choice counts every claim that was live when its look began,
//! and one made since on that host that holds what it chose sends it back to look again (a claim
//! elsewhere, or of other endpoints, changes nothing: another look would cost two engine
//! commands for nothing).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::endpoints::{Endpoint, HostPorts};
use crate::model::{Container, Env};

struct Registry {
    /// The next claim's ID: IDs grow, so the claims made since a look began are those from the
    /// ID that was next then.
    next_id: u64,
    /// Claim ID → the host it is on (see [`super::Ctx::claim_scope`]) and the container it counts as.
    claims: BTreeMap<u64, (String, Container)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next_id: 0,
    claims: BTreeMap::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // A panic elsewhere while holding it leaves the map consistent: every change is one call.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The claims on `scope`'s host as a look begins, and the first ID of those made after.
pub(super) struct Before {
    claims: BTreeMap<u64, Container>,
    since: u64,
}

fn on(r: &Registry, scope: &str) -> BTreeMap<u64, Container> {
    r.claims
        .iter()
        .filter(|(_, (s, _))| s == scope)
        .map(|(id, (_, c))| (*id, c.clone()))
        .collect()
}

/// Take this before the look: see [`view`].
pub(super) fn before_look(scope: &str) -> Before {
    let r = registry();
    Before {
        claims: on(&r, scope),
        since: r.next_id,
    }
}

/// What a choice sees: the containers the look found, then every claim on `scope`'s host that
/// was live when the look began or is now, of another bundle than `ours` (a replace of our own
/// bottle is not its own rival).
pub(super) struct View {
    pub others: Vec<Container>,
    since: u64,
}

pub(super) fn view(before: Before, looked: &[Container], scope: &str, ours: &str) -> View {
    let mut claimed = before.claims;
    claimed.extend(on(&registry(), scope));
    let mut others = looked.to_vec();
    others.extend(claimed.into_values().filter(|c| c.name != ours));
    View {
        others,
        since: before.since,
    }
}

/// A claim on endpoints, released on drop (once `run` has returned: the bundle then holds them
/// itself, or nothing does).
#[must_use]
pub(super) struct Claim(Option<u64>);

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            registry().claims.remove(&id);
        }
    }
}

/// Claim `ports` on `ip` on `scope`'s host for bundle `name`, unless a claim made there since the
/// look behind `seen` began holds one of them, or, with `whole_ip` (`--publish-ip auto`), the
/// address; `None` means look and choose again (each retry follows another thread's claim of what
/// this one chose, and each `up` claims once per `run`). Publishing nothing claims nothing.
pub(super) fn claim(
    seen: &View,
    scope: &str,
    name: &str,
    ip: IpAddr,
    ports: &HostPorts,
    whole_ip: bool,
) -> Option<Claim> {
    if ports.is_empty() {
        return Some(Claim(None));
    }
    let ours = claimed(name, ip, ports);
    let mut r = registry();
    let since = r
        .claims
        .range(seen.since..)
        .filter(|(_, (s, _))| s == scope)
        .map(|(_, (_, c))| c);
    for c in since {
        if (whole_ip && c.publish_ips.contains(&ip)) || !c.held.is_disjoint(&ours.held) {
            return None;
        }
    }
    let id = r.next_id;
    r.next_id += 1;
    r.claims.insert(id, (scope.to_string(), ours));
    Some(Claim(Some(id)))
}

/// The container a claim counts as: `Created`, publishing `ports` on `ip`.
fn claimed(name: &str, ip: IpAddr, ports: &HostPorts) -> Container {
    let held: BTreeSet<Endpoint> = ports
        .iter()
        .map(|(&(_, protocol), &port)| Endpoint { ip, port, protocol })
        .collect();
    Container {
        id: String::new(),
        name: name.to_string(),
        state: "created".to_string(),
        health: None,
        image: String::new(),
        labels: BTreeMap::new(),
        env: Env::default(),
        ports: BTreeMap::new(),
        networks: BTreeMap::new(),
        publish_ips: BTreeSet::from([ip]),
        held,
        created: String::new(),
        pid: None,
        limits: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;
    use std::net::Ipv4Addr;

    fn ports(list: &[(u16, u16)]) -> HostPorts {
        list.iter().map(|&(c, h)| ((c, Protocol::Tcp), h)).collect()
    }

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    // One test: the registry is process-wide, and tests run in parallel threads.
    #[test]
    fn a_claim_is_seen_on_its_host_until_dropped_even_by_a_look_begun_before() {
        const HOST: &str = "claims-test-host";
        let name = "claims-test-a";
        let tcp = |port| Endpoint {
            ip: IP,
            port,
            protocol: Protocol::Tcp,
        };
        let sees = |v: &View, name: &str| v.others.iter().any(|c| c.name == name);
        // Other tests' `up`s may claim meanwhile (on their own hosts): retry until none did.
        let (early, a) = loop {
            let before = before_look(HOST);
            let early = before_look(HOST);
            let v = view(before, &[], HOST, name);
            if let Some(a) = claim(&v, HOST, name, IP, &ports(&[(8080, 23456)]), false) {
                break (early, a);
            }
        };
        // Another bundle on that host sees it as a created container holding the endpoint.
        let v = view(before_look(HOST), &[], HOST, "claims-test-b");
        let c = v.others.iter().find(|c| c.name == name).expect("claimed");
        assert_eq!(c.state, "created");
        assert!(c.held.contains(&tcp(23456)));
        assert_eq!(c.publish_ips, BTreeSet::from([IP]));
        // Its own bundle does not (a replace is not its own rival), nor another host.
        assert!(!sees(&view(before_look(HOST), &[], HOST, name), name));
        assert!(!sees(
            &view(before_look("elsewhere"), &[], "elsewhere", "b"),
            name
        ));
        // A look that began before that claim cannot claim what it holds: look again. Other
        // endpoints it can, and an address too unless the address is what it claims.
        let stale = view(early, &[], HOST, "claims-test-b");
        assert!(sees(&stale, name));
        let b = |port, whole_ip| {
            claim(
                &stale,
                HOST,
                "claims-test-b",
                IP,
                &ports(&[(8080, port)]),
                whole_ip,
            )
        };
        assert!(b(23456, false).is_none());
        assert!(b(23456 + 1, true).is_none());
        drop(b(23456 + 1, false).expect("other endpoints"));
        // A look that began while it was live still counts it after its release.
        let during = before_look(HOST);
        drop(a);
        assert!(sees(&view(during, &[], HOST, "claims-test-b"), name));
        assert!(!sees(
            &view(before_look(HOST), &[], HOST, "claims-test-b"),
            name
        ));
        // Publishing nothing claims nothing, whatever the view.
        assert!(claim(&stale, HOST, "claims-test-c", IP, &HostPorts::new(), true).is_some());
    }
}
