//! `--publish-ip auto`: a loopback address of the bottle's own, and the check that no other
//! container publishes on it.
//!
//! The engine's port bindings are the record; there is no state file. One `ps --all` (every
//! container, not only bottles': a foreign container's address is as taken as a bottle's) and one
//! `container inspect` of what it lists show every address the engine publishes on
//! (`HostConfig.PortBindings` included, so a stopped container keeps its address for its next
//! start). On a local engine the host's own listeners count too: a socket bound to one loopback
//! address (`127.0.4.32:5432`) holds it, read from `/proc/net/tcp` and `tcp6` at no engine
//! command. Sockets bound to every address (`0.0.0.0:PORT`) are on every loopback address alike,
//! so they rule none out (`doctor` names them). The choice itself is [`decide::pick_loopback`];
//! locally it is made under the `loopback` lock, held until the bundle publishes, and the threads
//! of one process see each other's choices until then ([`super::claims`]). Both only spare work: after start, [`conflict`] looks again, and of two containers on one address the
//! one created later moves on ([`decide::keeps_loopback`]).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::Ipv4Network;

use super::Ctx;
use super::decide;
use crate::argv;
use crate::classify::Verb;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Container;

/// Every container on the engine (any prefix, bottle's or not) except the one named `ours`, as
/// one inspect shows them. The inspect grows with the number of containers, but stays one command.
pub(super) fn other_containers(ctx: &Ctx, ours: &str) -> Result<Vec<Container>> {
    let reply = ctx.run(Verb::Ps, argv::ps(&[]))?.check()?;
    let ids: Vec<String> = ctx
        .id_names(&reply)?
        .into_iter()
        .filter(|(_, names)| !names.split(',').any(|n| n == ours))
        .map(|(id, _)| id)
        .collect();
    Ok(ctx
        .inspect_containers(&ids)?
        .into_iter()
        .filter(|c| c.name != ours)
        .collect())
}

fn v4s(c: &Container) -> impl Iterator<Item = Ipv4Addr> + '_ {
    c.publish_ips.iter().filter_map(|ip| match ip {
        IpAddr::V4(ip) => Some(*ip),
        IpAddr::V6(_) => None,
    })
}

/// The address to publish on: `keep` (the bottle's bundle had it) if still free, else the lowest
/// free one. `skip` holds addresses this run already lost a race for.
/// `others` is [`other_containers`]' answer.
pub(super) fn choose(
    ctx: &Ctx,
    others: &[Container],
    pool: Ipv4Network,
    keep: Option<Ipv4Addr>,
    skip: &BTreeSet<Ipv4Addr>,
) -> Result<Ipv4Addr> {
    let mut taken: BTreeSet<Ipv4Addr> = others.iter().flat_map(v4s).collect();
    if ctx.local() {
        taken.extend(crate::host::specific_v4(&crate::host::tcp_listeners()));
    }
    taken.extend(skip);
    decide::pick_loopback(pool, &taken, keep).ok_or_else(|| exhausted(pool))
}

fn exhausted(pool: Ipv4Network) -> Error {
    let prefix = pool.prefix().saturating_sub(1).max(8);
    let wider = Ipv4Network::new(pool.network(), prefix)
        .and_then(|n| Ipv4Network::new(n.network(), prefix))
        .map_or_else(|_| pool.to_string(), |n| n.to_string());
    Error::new(
        ErrorKind::PoolExhausted,
        format!(
            "loopback pool {pool} exhausted: other containers publish on (or host sockets listen on) all {} of its addresses; bring a bottle down, or use a wider loopback pool (e.g. `{wider}`)",
            pool.size()
        ),
    )
}

/// After `ours` started on `ip`: whether it must give the address up, because another container
/// (a bottle's or not) that was created first publishes on it too.
pub(super) fn conflict(ctx: &Ctx, ours: &Container, ip: Ipv4Addr) -> Result<bool> {
    let others = other_containers(ctx, &ours.name)?;
    let same: Vec<(&str, &str)> = others
        .iter()
        .filter(|c| v4s(c).any(|a| a == ip))
        .map(|c| (c.created.as_str(), c.id.as_str()))
        .collect();
    Ok(!decide::keeps_loopback((&ours.created, &ours.id), &same))
}

/// The bundle's own auto address, if it publishes on one address of `pool`.
pub(super) fn current(b: &Container, pool: Ipv4Network) -> Option<Ipv4Addr> {
    v4s(b).find(|ip| pool.contains(*ip))
}

/// On macOS, a loopback address other than 127.0.0.1 exists only once aliased on `lo0`: check
/// that it is, and say how to add it. Elsewhere all of 127.0.0.0/8 is local already.
#[cfg(target_os = "macos")]
pub(super) fn check_alias(ip: Ipv4Addr) -> Result<()> {
    // Binding succeeds only on an address the host has.
    match std::net::TcpListener::bind((ip, 0)) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::new(
            ErrorKind::Refused,
            format!(
                "loopback address {ip} is not configured on this Mac; add it with `sudo ifconfig lo0 alias {ip} up` and run `up` again"
            ),
        )),
    }
}

#[cfg(not(target_os = "macos"))]
pub(super) fn check_alias(_ip: Ipv4Addr) -> Result<()> {
    Ok(())
}
