//! What this process's `up`s have chosen to publish on and not yet published: the host endpoints
//! (and the address) each chose, from its choice until its `run` has returned.
//!
//! The engine's bindings are the record of who holds an endpoint, but a bundle's bindings exist
//! only once its `run` has made it. Holding the `loopback` lock through `run` covered that gap
//! and made every `up` of a batch take turns through its slowest command (`up` of 32 slugs at
//! `--parallel 4` took as long as 32 one after another). Instead, the threads of one process
//! tell each other what they chose here, and the lock covers only the look and the choice.
//! Another process that looks while a `run` of ours is in flight may choose the same endpoint:
//! the engine refuses the second bind, and `up` chooses again, as it does against a racer on a
//! remote engine (where there is no lock at all).
//!
//! A claim counts as a container that holds its endpoints, named after the bundle that will
//! hold them, so a choice avoids it and an error names it like any other holder. Claims are
//! process-wide, not per engine: on several engines of one host (docker and podman here) a port
//! is one port, and elsewhere avoiding another engine's claim costs only the rule's next port.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::endpoints::{Endpoint, HostPorts};
use crate::model::{Container, Env};

struct Registry {
    /// Bumped by every claim: a choice made with an older view must be made again. A release
    /// does not bump it: a view that still counts a released claim only chose more carefully.
    generation: u64,
    next_id: u64,
    claims: BTreeMap<u64, Container>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    generation: 0,
    next_id: 0,
    claims: BTreeMap::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // A panic elsewhere while holding it leaves the map consistent: every change is one call.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a choice sees: the containers the look found, then each claim of another bundle of
/// this process (never `ours`: a replace of our own bottle is not its own rival), and the
/// generation to claim against.
pub(super) struct View {
    pub others: Vec<Container>,
    generation: u64,
}

pub(super) fn view(looked: &[Container], ours: &str) -> View {
    let r = registry();
    let mut others = looked.to_vec();
    others.extend(r.claims.values().filter(|c| c.name != ours).cloned());
    View {
        others,
        generation: r.generation,
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

/// Claim `ports` on `ip` for bundle `name`, if nothing was claimed since `seen` was taken;
/// `None` means choose again with a new [`view`] (each retry follows another thread's claim, and
/// each `up` claims once per `run`). Publishing nothing claims nothing.
pub(super) fn claim(seen: &View, name: &str, ip: IpAddr, ports: &HostPorts) -> Option<Claim> {
    if ports.is_empty() {
        return Some(Claim(None));
    }
    let mut r = registry();
    if r.generation != seen.generation {
        return None;
    }
    let id = r.next_id;
    r.next_id += 1;
    r.generation += 1;
    r.claims.insert(id, claimed(name, ip, ports));
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
    fn a_claim_is_seen_by_other_bundles_until_dropped_and_a_stale_view_claims_nothing() {
        let name = "claims-test-a";
        // Other tests' `up`s may claim meanwhile: a fresh view claims unless one did.
        let (before, a) = loop {
            let v = view(&[], name);
            if let Some(a) = claim(&v, name, IP, &ports(&[(8080, 23456)])) {
                break (v, a);
            }
        };
        // Another bundle sees it as a created container holding 127.0.0.1:23456/tcp.
        let seen = view(&[], "claims-test-b");
        let c = seen
            .others
            .iter()
            .find(|c| c.name == name)
            .expect("claimed");
        assert_eq!(c.state, "created");
        assert!(c.held.contains(&Endpoint {
            ip: IP,
            port: 23456,
            protocol: Protocol::Tcp
        }));
        assert_eq!(c.publish_ips, BTreeSet::from([IP]));
        // Its own bundle does not (a replace is not its own rival).
        assert!(view(&[], name).others.iter().all(|c| c.name != name));
        // A view taken before that claim is stale: choose again.
        assert!(claim(&before, "claims-test-b", IP, &ports(&[(8080, 23457)])).is_none());
        drop(a);
        assert!(
            view(&[], "claims-test-b")
                .others
                .iter()
                .all(|c| c.name != name)
        );
        // Publishing nothing claims nothing, whatever the view.
        assert!(claim(&before, "claims-test-c", IP, &HostPorts::new()).is_some());
    }
}
