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
//! reset is [`Probe::ProxyOnly`]. This needs nothing inside the image (no `exec`, no tools), and
//! the same check works on every engine. Its one blind spot: a service that accepts and closes at
//! once without a byte looks like the proxy, and is never called ready.
//!
//! The probe connects from this process, so it sees the published address only where the engine
//! publishes it: on this host for a local engine. For a remote engine (`DOCKER_HOST=ssh://...`),
//! `127.0.0.1` is the remote host's loopback and the caller must not probe it from here.
//!
//! [`decide`] is the pure decision from what the engine shows plus the probes; [`wait_until`] is
//! the loop that re-inspects, probes and decides until ready, failed, out of time, or cancelled.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

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
    /// engine's port proxy could not reach a listener in the container.
    ProxyOnly,
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
    /// It will not become ready: it exited, is unhealthy, or the deadline passed.
    Failed {
        /// One line, for humans.
        why: String,
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
        Ok(0) => Probe::ProxyOnly,
        Ok(_) => Probe::Answered,
        Err(e) => match e.kind() {
            // Still open when the timeout ended: a listener holds it.
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Probe::Answered,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Probe::ProxyOnly,
            kind => Probe::Error(kind),
        },
    }
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

/// The pure decision. `state` is `State.Status`, `health` is `State.Health.Status` if the image has
/// a healthcheck (`None`, `""` and `"none"` all mean it has none), `probes` is one [`Probe`] per
/// published port, `elapsed` is the time waited so far and `deadline` the time allowed.
///
/// Order matters: an exit or an unhealthy verdict is reported as such even past the deadline, and
/// a bundle found ready is ready even if the deadline passed while it was being checked.
pub fn decide(
    state: &str,
    health: Option<&str>,
    probes: &[Probe],
    elapsed: Duration,
    deadline: Duration,
) -> Readiness {
    let health = health.filter(|h| !h.is_empty() && *h != "none");
    match state {
        "exited" | "dead" | "removing" => {
            return Readiness::Failed {
                why: format!("the bundle is {state}"),
            };
        }
        _ => {}
    }
    if health == Some("unhealthy") {
        return Readiness::Failed {
            why: "the bundle's healthcheck reports it unhealthy".to_string(),
        };
    }
    let pending = pending(state, health, probes);
    match pending {
        None => Readiness::Ready,
        Some(reason) if elapsed >= deadline => Readiness::Failed {
            why: format!("not ready within {}: {reason}", seconds(deadline)),
        },
        Some(_) => Readiness::Wait,
    }
}

/// Why a bundle that has not failed is not ready yet, or `None` if it is ready.
fn pending(state: &str, health: Option<&str>, probes: &[Probe]) -> Option<String> {
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
        .map(|(i, p)| format!("port {} of {}: {}", i + 1, probes.len(), describe(*p)))
        .collect();
    if unanswered.is_empty() {
        None
    } else {
        Some(unanswered.join("; "))
    }
}

fn describe(probe: Probe) -> String {
    match probe {
        Probe::Answered => "answered".to_string(),
        Probe::ProxyOnly => {
            "accepted by the engine's port proxy only (nothing listens in the bundle)".to_string()
        }
        Probe::Refused => "connection refused".to_string(),
        Probe::NoAnswer => "no answer to the connect".to_string(),
        Probe::Error(kind) => format!("{kind}"),
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s}s")
    } else {
        format!("{s:.1}s")
    }
}

/// Re-inspect, probe and [`decide`] until the bundle is ready, has failed, `deadline` has passed,
/// or `cancelled()` returns true. `inspect` is the caller's look at the engine (the CLI runs
/// `container inspect` through its executor); its error ends the wait and is returned as is.
/// `hold` is the [`probe`] timeout ([`HOLD`] is a good default).
pub fn wait_until<E>(
    deadline: Duration,
    hold: Duration,
    inspect: &mut dyn FnMut() -> Result<Observed, E>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Waited, E> {
    let start = Instant::now();
    loop {
        if cancelled() {
            return Ok(Waited::Cancelled);
        }
        let seen = inspect()?;
        // Probing a container that is not running yet only costs time.
        let probes = if seen.state == "running" {
            probe_all(&seen.ports, hold)
        } else {
            Vec::new()
        };
        let elapsed = start.elapsed();
        match decide(
            &seen.state,
            seen.health.as_deref(),
            &probes,
            elapsed,
            deadline,
        ) {
            Readiness::Ready => return Ok(Waited::Ready { after: elapsed }),
            Readiness::Failed { why } => return Ok(Waited::Failed { why }),
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

    use Probe::{Answered, NoAnswer, ProxyOnly, Refused};

    const S: Duration = Duration::from_secs(1);

    #[track_caller]
    fn check(
        state: &str,
        health: Option<&str>,
        probes: &[Probe],
        elapsed: u64,
        expected: Result<(), Option<&str>>,
    ) {
        let got = decide(state, health, probes, Duration::from_secs(elapsed), 10 * S);
        let want = match expected {
            Ok(()) => Readiness::Ready,
            Err(None) => Readiness::Wait,
            Err(Some(why)) => Readiness::Failed {
                why: why.to_string(),
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
        check("running", Some("starting"), &[Answered], 1, WAIT);
        check("running", None, &[ProxyOnly], 1, WAIT);
        check("running", None, &[Answered, ProxyOnly], 1, WAIT);
        check("running", None, &[Refused], 9, WAIT);
        check("running", None, &[NoAnswer], 9, WAIT);
        check(
            "running",
            None,
            &[Probe::Error(ErrorKind::AddrNotAvailable)],
            9,
            WAIT,
        );

        // Failed: exited or dead, unhealthy, and these before the deadline's own message.
        check("exited", None, &[], 0, Err(Some("the bundle is exited")));
        check("dead", None, &[], 0, Err(Some("the bundle is dead")));
        check("exited", None, &[], 20, Err(Some("the bundle is exited")));
        let unhealthy = Err(Some("the bundle's healthcheck reports it unhealthy"));
        check("running", Some("unhealthy"), &[Answered], 0, unhealthy);
        check("running", Some("unhealthy"), &[Answered], 20, unhealthy);

        // Failed: the deadline passed, saying what was still missing.
        check(
            "running",
            None,
            &[Answered, ProxyOnly],
            10,
            Err(Some(
                "not ready within 10s: port 2 of 2: accepted by the engine's port proxy only (nothing listens in the bundle)",
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
            "running",
            None,
            &[Refused],
            10,
            Err(Some(
                "not ready within 10s: port 1 of 1: connection refused",
            )),
        );
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
        assert_eq!(probe(closing_listener(), T), ProxyOnly);
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
        assert_eq!(probe_all(&addrs, T), [Answered, ProxyOnly, Answered]);
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
            matches!(&got, Waited::Failed { why } if why.contains("port proxy only")),
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
            })
        };
        let got = wait_until(60 * S, T, &mut inspect, &|| false).unwrap();
        assert_eq!(
            got,
            Waited::Failed {
                why: "the bundle is exited".to_string()
            }
        );
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
