//! Readiness: when is a bundle ready to serve, and how `up --wait` finds out.
//!
//! "Ready" means: the bundle container is running, healthy if its image has a `HEALTHCHECK`, and
//! every published port is answered *by the service itself* through its host address.
//!
//! The last part is the hard one. With docker's userland proxy (`docker-proxy`, the default), a TCP
//! connect to a published host port succeeds whenever the container exists: the proxy accepts, then
//! dials the container, and when that dial fails it closes the client's connection. Measured on
//! Docker Engine 20.10 here: against a container whose port has no listener, `connect` succeeds and
//! the next `read` returns end-of-file (a FIN, not a reset) well under a millisecond later; once the
//! service listens, the connection stays open (an HTTP server waits for the request) or data
//! arrives (a server that speaks first). Engines that publish by DNAT instead of a proxy (rootful
//! podman with netavark) refuse the connect outright until the service listens.
//!
//! So [`probe`] connects, then reads with a short timeout and no request sent: data, or the
//! connection still open when the timeout ends, is [`Probe::Answered`]; an immediate end-of-file or
//! reset is [`Probe::Closed`]. This needs nothing inside the image (no `exec`, no tools), and
//! the same check works on every engine. Its one blind spot: a service that accepts and closes at
//! once without a byte looks like the proxy, and is never called ready.
//!
//! The probe connects from this process, so it sees the published address only where the engine
//! publishes it: on this host for a local engine. For a remote engine (`DOCKER_HOST=ssh://...`),
//! `127.0.0.1` is the remote host's loopback and the caller must not probe it from here.
//!
//! A healthcheck's `unhealthy` is not final: docker marks a bundle unhealthy after `--retries`
//! failed checks, and marks it healthy again at the next check that passes, so a bundle that takes
//! longer to start than `interval × retries` is unhealthy for a while and then healthy. Only two
//! things fail the wait before its deadline: the bundle exited, or it is no longer there.
//!
//! `up --wait` judges the bundle that this `up` created or kept, by its container ID, never by its
//! name: another `up` of the same bottle (one that shares no lock with this one) may replace it
//! while this one waits, and the bundle then under the name is that run's, not this one's
//! ([`Seen::Gone`]). A bundle found ready is looked at once more before the wait says so, so "ready"
//! means "seen ready, and still there".
//!
//! [`decide`] is the pure decision from what the engine shows plus the probes; [`wait_until`] is
//! the loop that re-inspects, probes and decides until ready, failed, gone, out of time, or
//! cancelled.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub use crate::error::NotReady;

/// How long [`probe`] waits, by default, for the connection to be closed on it. The proxy closes a
/// connection it cannot forward in well under a millisecond locally; this leaves room for a loaded
/// machine without making each probe round slow.
pub const HOLD: Duration = Duration::from_millis(250);

/// How long [`wait_until`] sleeps between rounds of inspect and probe.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// What one connection attempt to a published port showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The service itself accepted: it sent data, or kept the connection open past the timeout.
    Answered,
    /// Something accepted, then closed or reset the connection at once without a byte: the
    /// engine's port proxy, which could not reach a listener in the container, or a service that
    /// closes connections at once. [`Observed::listens`] tells which, where it can be seen.
    Closed,
    /// Nothing listens on the host address (or a DNAT rule reached a closed port).
    Refused,
    /// The connect itself did not finish within the timeout.
    NoAnswer,
    /// Another I/O error, such as an unreachable address.
    Error(ErrorKind),
}

/// What [`decide`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Running, healthy (or without a healthcheck), and every published port answered.
    Ready,
    /// Not yet; look again.
    Wait,
    /// It will not become ready: it exited, or the deadline passed.
    Failed {
        /// One line, for humans.
        why: String,
        /// Which: [`NotReady::Exited`] or [`NotReady::Deadline`].
        kind: NotReady,
    },
    /// The bundle that was waited for is no longer there: removed, and perhaps replaced by another
    /// run's bundle, which is not this run's to judge or to roll back.
    Gone {
        /// One line, for humans, to follow the bundle's name.
        why: String,
        /// Which: [`NotReady::Replaced`] or [`NotReady::Removed`].
        kind: NotReady,
    },
}

/// How [`wait_until`] ended, when the inspection itself did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// Ready after this long.
    Ready {
        /// Time from the start of the wait.
        after: Duration,
    },
    /// Will not become ready; see [`Readiness::Failed`].
    Failed {
        /// One line, for humans.
        why: String,
        /// Which: [`NotReady::Exited`] or [`NotReady::Deadline`].
        kind: NotReady,
    },
    /// The bundle waited for is no longer there; see [`Readiness::Gone`].
    Gone {
        /// One line, for humans, to follow the bundle's name.
        why: String,
        /// Which: [`NotReady::Replaced`] or [`NotReady::Removed`].
        kind: NotReady,
    },
    /// `cancelled()` returned true before the bundle was ready.
    Cancelled,
}

/// What one inspection of the bundle shows: the input [`wait_until`] needs on each round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// `State.Status`: `created`, `running`, `exited`, ...
    pub state: String,
    /// `State.Health.Status` when the image has a healthcheck: `starting`, `healthy`, `unhealthy`.
    pub health: Option<String>,
    /// Every published port, as the address to probe (see [`probe_addr`]).
    pub ports: Vec<SocketAddr>,
    /// For each of `ports`, in order: its container port, which a failure names (`port 8080`).
    /// A short list is allowed: a port not in it is named by its place (`port 2 of 3`).
    pub container_ports: Vec<u16>,
    /// For each of `ports`, in order: whether a socket in the bundle listens on its container
    /// port. `None`, or a short list, where that cannot be seen (a remote engine, a bundle whose
    /// `/proc` this process cannot read); see [`listening_ports`].
    pub listens: Vec<Option<bool>>,
}

/// What one look for the bundle waited for shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The bundle, inspected by its container ID.
    There(Observed),
    /// No container has its ID any more. `successor` is what now holds its name, if anything does.
    Gone {
        /// The container now under the bundle's name.
        successor: Option<Successor>,
    },
}

/// The container found under the bundle's name once the bundle waited for was gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Successor {
    /// Its container ID.
    pub id: String,
    /// It carries this bottle's bundle labels: another `up` of the bottle made it.
    pub by_bottle: bool,
}

impl From<Observed> for Seen {
    fn from(seen: Observed) -> Seen {
        Seen::There(seen)
    }
}

/// The address to probe for a port published on `host_ip`: a wildcard binding is probed on the
/// loopback address of its family, since that is where a local client reaches it.
pub fn probe_addr(host_ip: IpAddr, port: u16) -> SocketAddr {
    let ip = match host_ip {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, port)
}

/// Connect to `addr` and tell a service's answer from a proxy's accept: `timeout` bounds the
/// connect and then how long the connection must stay open (with nothing sent) to count as
/// answered. An answered probe therefore takes `timeout`; the others return at once.
pub fn probe(addr: SocketAddr, timeout: Duration) -> Probe {
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(stream) => stream,
        Err(e) => {
            return match e.kind() {
                ErrorKind::ConnectionRefused => Probe::Refused,
                ErrorKind::TimedOut | ErrorKind::WouldBlock => Probe::NoAnswer,
                kind => Probe::Error(kind),
            };
        }
    };
    if let Err(e) = stream.set_read_timeout(Some(timeout)) {
        return Probe::Error(e.kind());
    }
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => Probe::Closed,
        Ok(_) => Probe::Answered,
        Err(e) => match e.kind() {
            // Still open when the timeout ended: a listener holds it.
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Probe::Answered,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Probe::Closed,
            kind => Probe::Error(kind),
        },
    }
}

/// What listens in the container with this full ID whose main process is `pid` on this host:
/// the ports of [`listening_ports`] from its `/proc/PID/net/tcp` and `tcp6`. `None` when that
/// cannot be seen: `/proc` unreadable, or `pid` not in that container by its cgroup (the PID of an
/// engine in a VM names another process here). Only for a local engine.
pub fn listening_in(pid: u32, id: &str) -> Option<std::collections::BTreeSet<u16>> {
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    let cgroup = std::fs::read_to_string(proc.join("cgroup")).ok()?;
    if !cgroup_is_container(&cgroup, id) {
        return None;
    }
    let mut ports = std::collections::BTreeSet::new();
    let mut read = false;
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(proc.join(table)) {
            read = true;
            ports.extend(listening_ports(&text));
        }
    }
    read.then_some(ports)
}

/// Probe every address at once (each answered probe takes the whole timeout, so one after the
/// other would make a round as slow as the number of ports).
pub fn probe_all(addrs: &[SocketAddr], timeout: Duration) -> Vec<Probe> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = addrs
            .iter()
            .map(|&addr| scope.spawn(move || probe(addr, timeout)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Probe::Error(ErrorKind::Other)))
            .collect()
    })
}

/// The pure decision over one look at the bundle. For a bundle that is there: `state` is
/// `State.Status`, `health` is `State.Health.Status` if the image has a healthcheck (`None`, `""`
/// and `"none"` all mean it has none), `probes` is one [`Probe`] per published port, `elapsed` is
/// the time waited so far and `deadline` the time allowed.
///
/// Order matters: a bundle that is gone or exited is reported as such even past the deadline, and
/// a bundle found ready is ready even if the deadline passed while it was being checked. An
/// `unhealthy` bundle is waited for like a `starting` one: the next passing check makes it healthy.
pub fn decide(seen: &Seen, probes: &[Probe], elapsed: Duration, deadline: Duration) -> Readiness {
    let seen = match seen {
        Seen::There(seen) => seen,
        Seen::Gone { successor } => {
            let kind = match successor {
                Some(Successor {
                    by_bottle: true, ..
                }) => NotReady::Replaced,
                _ => NotReady::Removed,
            };
            return Readiness::Gone {
                why: gone(successor.as_ref()),
                kind,
            };
        }
    };
    let state = seen.state.as_str();
    let health = seen
        .health
        .as_deref()
        .filter(|h| !h.is_empty() && *h != "none");
    // `removing` is not final either: the bundle is about to be gone, and the next look tells
    // whether another `up` put its own under the name.
    match state {
        "exited" | "dead" => {
            return Readiness::Failed {
                why: format!("the bundle is {state}"),
                kind: NotReady::Exited,
            };
        }
        _ => {}
    }
    match pending(state, health, probes, &seen.container_ports, &seen.listens) {
        None => Readiness::Ready,
        Some(reason) if elapsed >= deadline => Readiness::Failed {
            why: format!("not ready within {}: {reason}", seconds(deadline)),
            kind: NotReady::Deadline,
        },
        Some(_) => Readiness::Wait,
    }
}

/// What to say of a bundle that is gone, by what now holds its name.
fn gone(successor: Option<&Successor>) -> String {
    match successor {
        Some(Successor { id, by_bottle: true }) => format!(
            "was replaced by another `up` while `up` waited for it to be ready: the bottle now runs container `{}`, which this run leaves alone",
            short_id(id)
        ),
        Some(Successor { id, .. }) => format!(
            "was removed while `up` waited for it to be ready, and container `{}`, which bottle did not start, now has its name",
            short_id(id)
        ),
        None => "was removed while `up` waited for it to be ready (by a `down`, or by another `up` of the bottle)".to_string(),
    }
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Whether a look taken right after [`decide`] said ready confirms it: the same bundle, still
/// running. (Its ports were just answered; a look that shows another state is decided afresh.)
pub fn confirms(seen: &Seen) -> bool {
    matches!(seen, Seen::There(o) if o.state == "running")
}

/// Why a bundle that has not failed is not ready yet, or `None` if it is ready.
fn pending(
    state: &str,
    health: Option<&str>,
    probes: &[Probe],
    container_ports: &[u16],
    listens: &[Option<bool>],
) -> Option<String> {
    if state != "running" {
        return Some(format!("the bundle is {state}"));
    }
    if let Some(health) = health
        && health != "healthy"
    {
        return Some(format!("the bundle's healthcheck reports it {health}"));
    }
    let unanswered: Vec<String> = probes
        .iter()
        .enumerate()
        .filter(|(_, p)| **p != Probe::Answered)
        .map(|(i, p)| {
            let listens = listens.get(i).copied().flatten();
            let port = match container_ports.get(i) {
                Some(port) => format!("port {port}"),
                None => format!("port {} of {}", i + 1, probes.len()),
            };
            format!("{port}: {}", describe(*p, listens))
        })
        .collect();
    if unanswered.is_empty() {
        None
    } else {
        Some(unanswered.join("; "))
    }
}

/// What a probe that was not answered saw, in words: `listens` is whether a socket in the bundle
/// listens on the port (`None`: not seen), which is what tells the engine's port proxy from a
/// service that closes at once.
fn describe(probe: Probe, listens: Option<bool>) -> String {
    match (probe, listens) {
        (Probe::Answered, _) => "answered".to_string(),
        (Probe::Closed, Some(false)) => {
            "the engine's port proxy accepted the connection, but nothing listens on the port in the bundle".to_string()
        }
        (Probe::Closed, Some(true)) => {
            "the service accepted the connection and closed it without a reply".to_string()
        }
        (Probe::Closed, None) => {
            "the connection was accepted and closed without a reply (the engine's port proxy does this while nothing listens in the bundle)".to_string()
        }
        (Probe::Refused, Some(false)) => {
            "connection refused (nothing listens on the port in the bundle)".to_string()
        }
        (Probe::Refused, _) => "connection refused".to_string(),
        (Probe::NoAnswer, _) => "no answer to the connect".to_string(),
        (Probe::Error(kind), _) => format!("{kind}"),
    }
}

/// The TCP ports that a socket listens on at a non-loopback address, from the text of
/// `/proc/PID/net/tcp` or `tcp6` (a header line, then one socket a line: `sl local_address
/// rem_address st ...`, the address as `HEXADDR:HEXPORT`, state `0A` for LISTEN). Read for the
/// bundle's own process, this is what listens *in* the bundle where the engine's port proxy can
/// reach it (a listener on the bundle's own loopback it cannot), whatever the proxy does on the
/// host.
pub fn listening_ports(proc_net_tcp: &str) -> std::collections::BTreeSet<u16> {
    proc_net_tcp
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let (addr, port) = local.rsplit_once(':')?;
            let reachable = !proc_addr(addr)?.is_loopback();
            (state == "0A" && reachable).then(|| u16::from_str_radix(port, 16).ok())?
        })
        .collect()
}

/// An address as `/proc/net/tcp{,6}` prints it: the raw bytes, in 32-bit words each printed as a
/// host-order number (so `0100007F` is 127.0.0.1 on a little-endian host). An IPv4-mapped IPv6
/// address is given as its IPv4 address.
fn proc_addr(hex: &str) -> Option<IpAddr> {
    let words = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<Vec<u32>>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    match bytes.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            Some(match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            })
        }
        _ => None,
    }
}

/// Whether the text of `/proc/PID/cgroup` places that process in the container with this full
/// ID (docker: `/docker/ID` or `docker-ID.scope`; podman: `libpod-ID`). A PID the engine reports
/// is only its own host's: on an engine in a VM the same number is another process here.
pub fn cgroup_is_container(cgroup: &str, id: &str) -> bool {
    id.len() >= 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && cgroup.contains(id)
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s}s")
    } else {
        format!("{s:.1}s")
    }
}

/// Re-inspect, probe and [`decide`] until the bundle is ready, has failed, is gone, `deadline`
/// has passed, or `cancelled()` returns true. `inspect` is the caller's look at the engine (the
/// CLI runs `container inspect` by the bundle's ID through its executor, and looks up the name
/// when the ID is gone); its error ends the wait and is returned as is. `hold` is the [`probe`]
/// timeout ([`HOLD`] is a good default).
///
/// A bundle found ready is looked at once more, and is ready only if that look [`confirms`] it.
pub fn wait_until<S: Into<Seen>, E>(
    deadline: Duration,
    hold: Duration,
    inspect: &mut dyn FnMut() -> Result<S, E>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Waited, E> {
    let start = Instant::now();
    let mut ready_after = None;
    loop {
        if cancelled() {
            return Ok(Waited::Cancelled);
        }
        let seen: Seen = inspect()?.into();
        if let Some(after) = ready_after.take()
            && confirms(&seen)
        {
            return Ok(Waited::Ready { after });
        }
        // Probing a container that is not running yet only costs time.
        let probes = match &seen {
            Seen::There(o) if o.state == "running" => probe_all(&o.ports, hold),
            _ => Vec::new(),
        };
        let elapsed = start.elapsed();
        match decide(&seen, &probes, elapsed, deadline) {
            Readiness::Ready => {
                // Look once more, at once: still there, still running?
                ready_after = Some(elapsed);
                continue;
            }
            Readiness::Failed { why, kind } => return Ok(Waited::Failed { why, kind }),
            Readiness::Gone { why, kind } => return Ok(Waited::Gone { why, kind }),
            Readiness::Wait => {}
        }
        // Sleep in slices, so that a cancellation is seen within 50 ms.
        let wake = Instant::now() + INTERVAL.min(deadline.saturating_sub(start.elapsed()));
        while Instant::now() < wake {
            if cancelled() {
                return Ok(Waited::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(50).min(wake - Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    use Probe::{Answered, Closed, NoAnswer, Refused};

    const S: Duration = Duration::from_secs(1);

    #[track_caller]
    fn check(
        state: &str,
        health: Option<&str>,
        probes: &[Probe],
        elapsed: u64,
        expected: Result<(), Option<&str>>,
    ) {
        let seen = Seen::There(Observed {
            state: state.to_string(),
            health: health.map(str::to_string),
            ports: Vec::new(),
            container_ports: (0..probes.len()).map(|i| 8080 + i as u16).collect(),
            listens: Vec::new(),
        });
        let got = decide(&seen, probes, Duration::from_secs(elapsed), 10 * S);
        let want = match expected {
            Ok(()) => Readiness::Ready,
            Err(None) => Readiness::Wait,
            Err(Some(why)) => Readiness::Failed {
                why: why.to_string(),
                kind: match state {
                    "exited" | "dead" => NotReady::Exited,
                    _ => NotReady::Deadline,
                },
            },
        };
        assert_eq!(got, want, "{state} {health:?} {probes:?} at {elapsed}s");
    }

    const READY: Result<(), Option<&str>> = Ok(());
    const WAIT: Result<(), Option<&str>> = Err(None);

    #[test]
    fn decide_table() {
        // Ready: running, no healthcheck or healthy, every port answered (or none published).
        check("running", None, &[Answered], 0, READY);
        check("running", None, &[], 0, READY);
        check("running", Some(""), &[Answered, Answered], 0, READY);
        check("running", Some("none"), &[Answered], 0, READY);
        check("running", Some("healthy"), &[Answered], 3, READY);
        // Ready wins over a deadline that passed while the last round ran.
        check("running", None, &[Answered], 12, READY);

        // Wait: not running yet, health starting, or a port not answered by the service.
        check("created", None, &[], 0, WAIT);
        check("restarting", None, &[], 1, WAIT);
        check("removing", None, &[], 1, WAIT);
        check("running", Some("starting"), &[Answered], 1, WAIT);
        check("running", None, &[Closed], 1, WAIT);
        check("running", None, &[Answered, Closed], 1, WAIT);
        check("running", None, &[Refused], 9, WAIT);
        check("running", None, &[NoAnswer], 9, WAIT);
        check(
            "running",
            None,
            &[Probe::Error(ErrorKind::AddrNotAvailable)],
            9,
            WAIT,
        );

        // Unhealthy is not final: the next passing check makes it healthy (issue 14, item 8).
        check("running", Some("unhealthy"), &[Answered], 0, WAIT);
        check("running", Some("unhealthy"), &[Closed], 9, WAIT);

        // Failed: exited or dead, and these before the deadline's own message.
        check("exited", None, &[], 0, Err(Some("the bundle is exited")));
        check("dead", None, &[], 0, Err(Some("the bundle is dead")));
        check("exited", None, &[], 20, Err(Some("the bundle is exited")));
        check(
            "exited",
            Some("unhealthy"),
            &[],
            3,
            Err(Some("the bundle is exited")),
        );
        check(
            "running",
            Some("unhealthy"),
            &[Answered],
            20,
            Err(Some(
                "not ready within 10s: the bundle's healthcheck reports it unhealthy",
            )),
        );

        // Failed: the deadline passed, saying what was still missing.
        check(
            "running",
            None,
            &[Answered, Closed],
            10,
            Err(Some(
                "not ready within 10s: port 8081: the connection was accepted and closed without a reply (the engine's port proxy does this while nothing listens in the bundle)",
            )),
        );
        check(
            "running",
            Some("starting"),
            &[Answered],
            11,
            Err(Some(
                "not ready within 10s: the bundle's healthcheck reports it starting",
            )),
        );
        check(
            "created",
            None,
            &[],
            10,
            Err(Some("not ready within 10s: the bundle is created")),
        );
        check(
            "removing",
            None,
            &[],
            10,
            Err(Some("not ready within 10s: the bundle is removing")),
        );
        check(
            "running",
            None,
            &[Refused],
            10,
            Err(Some("not ready within 10s: port 8080: connection refused")),
        );
    }

    /// What a port that was not answered is reported as: what the probe saw, and, where the
    /// bundle's own sockets could be read, whether anything listens in it (issue 14, item 8).
    #[test]
    fn unanswered_ports_say_what_was_seen() {
        #[track_caller]
        fn check(probe: Probe, listens: Option<bool>, said: &str) {
            let seen = Seen::There(Observed {
                state: "running".to_string(),
                health: None,
                ports: Vec::new(),
                container_ports: Vec::new(),
                listens: vec![listens],
            });
            let got = decide(&seen, &[probe], 10 * S, 10 * S);
            let want = Readiness::Failed {
                why: format!("not ready within 10s: port 1 of 1: {said}"),
                kind: NotReady::Deadline,
            };
            assert_eq!(got, want, "{probe:?} {listens:?}");
        }
        check(
            Closed,
            Some(false),
            "the engine's port proxy accepted the connection, but nothing listens on the port in the bundle",
        );
        check(
            Closed,
            Some(true),
            "the service accepted the connection and closed it without a reply",
        );
        check(
            Closed,
            None,
            "the connection was accepted and closed without a reply (the engine's port proxy does this while nothing listens in the bundle)",
        );
        check(
            Refused,
            Some(false),
            "connection refused (nothing listens on the port in the bundle)",
        );
        check(Refused, Some(true), "connection refused");
        check(Refused, None, "connection refused");
        check(NoAnswer, None, "no answer to the connect");
    }

    /// The bundle waited for is judged by its ID; once that is gone, what holds its name says
    /// whether another `up` replaced it (issue 14, item 5). Gone wins over every deadline.
    #[test]
    fn a_gone_bundle_says_what_replaced_it() {
        #[track_caller]
        fn check(successor: Option<(&str, bool)>, elapsed: u64, why: &str) {
            let seen = Seen::Gone {
                successor: successor.map(|(id, by_bottle)| Successor {
                    id: id.to_string(),
                    by_bottle,
                }),
            };
            let got = decide(&seen, &[], Duration::from_secs(elapsed), 10 * S);
            let kind = match successor {
                Some((_, true)) => NotReady::Replaced,
                _ => NotReady::Removed,
            };
            assert_eq!(
                got,
                Readiness::Gone {
                    why: why.to_string(),
                    kind,
                },
                "{successor:?}"
            );
        }
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let replaced = "was replaced by another `up` while `up` waited for it to be ready: the bottle now runs container `0123456789ab`, which this run leaves alone";
        check(Some((id, true)), 1, replaced);
        check(Some((id, true)), 30, replaced);
        check(
            Some(("abc", false)),
            1,
            "was removed while `up` waited for it to be ready, and container `abc`, which bottle did not start, now has its name",
        );
        check(
            None,
            1,
            "was removed while `up` waited for it to be ready (by a `down`, or by another `up` of the bottle)",
        );
    }

    #[test]
    fn confirms_only_the_same_bundle_still_running() {
        let there = |state: &str| {
            Seen::There(Observed {
                state: state.to_string(),
                health: None,
                ports: Vec::new(),
                container_ports: Vec::new(),
                listens: Vec::new(),
            })
        };
        assert!(confirms(&there("running")));
        assert!(!confirms(&there("exited")));
        assert!(!confirms(&there("restarting")));
        assert!(!confirms(&Seen::Gone { successor: None }));
    }

    /// `/proc/PID/net/tcp` and `tcp6` as the kernel prints them (trimmed to the fields read).
    #[test]
    fn listening_ports_reads_listeners_the_proxy_can_reach() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0200640A:0051 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
   3: 0200640A:1F90 0100640A:D431 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0
   4: 0200640A:0BB8 0100640A:D432 06 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0
";
        // 8080 on every address, 81 on the bundle's own address; 80 on its loopback only, and
        // sockets that do not listen (established, time-wait), are not counted.
        assert_eq!(listening_ports(tcp), [81, 8080].into());
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
";
        // `::` listens; `::1` and `::ffff:127.0.0.1` are the bundle's loopback.
        assert_eq!(listening_ports(tcp6), [8081].into());
        assert_eq!(listening_ports(""), [].into());
        assert_eq!(listening_ports("header\nnot a socket line\n"), [].into());
    }

    #[test]
    fn cgroup_is_container_table() {
        let id = "7b4c97adfd39c27aca8b6930b0dd1f526ec418ad6308e9489aebc097ceedca42";
        let check = |cgroup: &str, id: &str, want: bool| {
            assert_eq!(cgroup_is_container(cgroup, id), want, "{cgroup} {id}");
        };
        check(&format!("0::/docker/{id}\n"), id, true);
        check(&format!("0::/system.slice/docker-{id}.scope\n"), id, true);
        check(&format!("1:cpu:/libpod_parent/libpod-{id}\n"), id, true);
        // Another container, the host's own processes, and IDs too short to be sure of.
        check("0::/docker/0123456789abcdef0123456789abcdef\n", id, false);
        check("0::/\n", id, false);
        check(&format!("0::/docker/{id}\n"), "7b4c97adfd39", false);
        check("0::/\n", "", false);
    }

    /// A listener that accepts and closes each connection at once: what docker-proxy does when it
    /// cannot reach a listener in the container.
    fn closing_listener() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                drop(conn);
            }
        });
        addr
    }

    /// A listener that accepts and holds each connection, like an HTTP server awaiting a request.
    fn holding_listener() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                held.push(conn);
            }
        });
        addr
    }

    /// A port that nothing listens on: bind, note the port, and close.
    fn closed_port() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    const T: Duration = Duration::from_millis(200);

    #[test]
    fn probe_tells_a_holding_listener_from_one_that_closes() {
        assert_eq!(probe(holding_listener(), T), Answered);
        assert_eq!(probe(closing_listener(), T), Closed);
        assert_eq!(probe(closed_port(), T), Refused);
    }

    #[test]
    fn probe_counts_a_server_that_speaks_first_as_answered_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            for mut conn in listener.incoming().flatten() {
                let _ = conn.write_all(b"SSH-2.0-x\r\n");
                std::thread::sleep(Duration::from_secs(2));
            }
        });
        let start = Instant::now();
        assert_eq!(probe(addr, Duration::from_secs(5)), Answered);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn probe_all_keeps_the_order_and_runs_at_once() {
        let addrs = [holding_listener(), closing_listener(), holding_listener()];
        let start = Instant::now();
        assert_eq!(probe_all(&addrs, T), [Answered, Closed, Answered]);
        assert!(start.elapsed() < 2 * T, "{:?}", start.elapsed());
    }

    #[test]
    fn probe_addr_maps_wildcards_to_loopback() {
        assert_eq!(
            probe_addr("0.0.0.0".parse().unwrap(), 80),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("::".parse().unwrap(), 80),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("127.0.0.16".parse().unwrap(), 80),
            "127.0.0.16:80".parse().unwrap()
        );
    }

    fn running(ports: Vec<SocketAddr>) -> Observed {
        Observed {
            state: "running".to_string(),
            health: None,
            ports,
            container_ports: Vec::new(),
            listens: Vec::new(),
        }
    }

    /// A port where a proxy-like listener answers first and a service takes over after `after`.
    fn late_service(after: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let start = Instant::now();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if start.elapsed() >= after {
                    held.push(conn);
                }
            }
        });
        addr
    }

    #[test]
    fn wait_until_ready_once_the_service_listens() {
        let addr = late_service(Duration::from_millis(600));
        let mut inspect = || Ok::<_, ()>(running(vec![addr]));
        let got = wait_until(5 * S, T, &mut inspect, &|| false).unwrap();
        let Waited::Ready { after } = got else {
            panic!("{got:?}")
        };
        assert!(after >= Duration::from_millis(600), "{after:?}");
    }

    #[test]
    fn wait_until_fails_at_the_deadline_when_only_the_proxy_accepts() {
        let addr = closing_listener();
        let mut inspect = || Ok::<_, ()>(running(vec![addr]));
        let start = Instant::now();
        let got = wait_until(S, T, &mut inspect, &|| false).unwrap();
        assert!(
            matches!(&got, Waited::Failed { why, kind: NotReady::Deadline } if why.contains("accepted and closed without a reply")),
            "{got:?}"
        );
        assert!(start.elapsed() < 2 * S, "{:?}", start.elapsed());
    }

    #[test]
    fn wait_until_fails_at_once_when_the_bundle_exits() {
        let mut rounds = 0;
        let mut inspect = || {
            rounds += 1;
            Ok::<_, ()>(Observed {
                state: if rounds < 3 { "running" } else { "exited" }.to_string(),
                health: None,
                ports: vec![closed_port()],
                container_ports: Vec::new(),
                listens: Vec::new(),
            })
        };
        let got = wait_until(60 * S, T, &mut inspect, &|| false).unwrap();
        assert_eq!(
            got,
            Waited::Failed {
                why: "the bundle is exited".to_string(),
                kind: NotReady::Exited,
            }
        );
    }

    /// Unhealthy for the first checks, then healthy: ready, not failed (issue 14, item 8).
    #[test]
    fn wait_until_waits_out_an_unhealthy_start() {
        let addr = holding_listener();
        let mut rounds = 0;
        let mut inspect = || {
            rounds += 1;
            Ok::<_, ()>(Observed {
                health: Some(if rounds < 4 { "unhealthy" } else { "healthy" }.to_string()),
                ..running(vec![addr])
            })
        };
        let got = wait_until(10 * S, T, &mut inspect, &|| false).unwrap();
        assert!(matches!(got, Waited::Ready { .. }), "{got:?}");
    }

    /// The bundle goes while it is waited for, and another `up`'s bundle has its name: gone, at
    /// once, however long the deadline (issue 14, item 5).
    #[test]
    fn wait_until_reports_a_bundle_replaced_while_it_waited() {
        let addr = closing_listener();
        let mut rounds = 0;
        let mut inspect = || {
            rounds += 1;
            Ok::<_, ()>(match rounds {
                1..3 => Seen::There(running(vec![addr])),
                _ => Seen::Gone {
                    successor: Some(Successor {
                        id: "b".repeat(64),
                        by_bottle: true,
                    }),
                },
            })
        };
        let start = Instant::now();
        let got = wait_until(60 * S, T, &mut inspect, &|| false).unwrap();
        assert!(
            matches!(&got, Waited::Gone { why, kind: NotReady::Replaced } if why.starts_with("was replaced by another `up`")),
            "{got:?}"
        );
        assert!(start.elapsed() < 5 * S, "{:?}", start.elapsed());
    }

    /// Seen ready, then gone on the look that follows: not ready, gone (issue 14, item 5).
    #[test]
    fn wait_until_is_ready_only_if_the_bundle_is_still_there() {
        let addr = holding_listener();
        let mut rounds = 0;
        let mut inspect = || {
            rounds += 1;
            Ok::<_, ()>(match rounds {
                1 => Seen::There(running(vec![addr])),
                _ => Seen::Gone { successor: None },
            })
        };
        let got = wait_until(60 * S, T, &mut inspect, &|| false).unwrap();
        assert!(matches!(got, Waited::Gone { .. }), "{got:?}");
        assert_eq!(rounds, 2);
        // And a bundle still there on the second look is ready, after the two looks.
        let mut looks = 0;
        let mut inspect = || {
            looks += 1;
            Ok::<_, ()>(running(vec![addr]))
        };
        let got = wait_until(60 * S, T, &mut inspect, &|| false).unwrap();
        assert!(matches!(got, Waited::Ready { .. }), "{got:?}");
        assert_eq!(looks, 2);
    }

    #[test]
    fn wait_until_returns_the_inspect_error() {
        let mut inspect = || Err::<Observed, _>("engine gone");
        assert_eq!(
            wait_until(S, T, &mut inspect, &|| false),
            Err("engine gone")
        );
    }

    #[test]
    fn wait_until_stops_soon_after_cancellation() {
        let addr = closing_listener();
        let flag = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut inspect = || Ok::<_, ()>(running(vec![addr]));
                let start = Instant::now();
                let got = wait_until(60 * S, T, &mut inspect, &|| flag.load(Ordering::SeqCst));
                tx.send((got, start.elapsed())).unwrap();
            });
            std::thread::sleep(Duration::from_millis(400));
            flag.store(true, Ordering::SeqCst);
        });
        let (got, took) = rx.recv().unwrap();
        assert_eq!(got, Ok(Waited::Cancelled));
        assert!(took < Duration::from_millis(400) + 2 * T, "{took:?}");
    }
}
