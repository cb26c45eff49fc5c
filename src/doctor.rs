//! `doctor`'s checks and the engine's versions, as data: what bottle needs (an engine that
//! answers, free subnet slots, a lock directory, the default publish address, host ports clear of
//! the kernel's ephemeral range), each check with its status and, for a failure, what would fix
//! it as a [`Fix`] (the CLI turns it into advice).

use std::net::{Ipv4Addr, TcpListener};

use ipnetwork::Ipv4Network;
use serde::Serialize;

use crate::bottles::Bottles;
use crate::classify::{Class, Verb, classify};
use crate::endpoints::{PORT_HIGH, PORT_LOW};
use crate::error::{Error, Result};
use crate::input::Prefix;
use crate::lifecycle::Ctx;
use crate::subnet::{Pool, overlaps};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CheckStatus {
    /// Fine.
    Ok,
    /// Not checked: it needs something that failed, or does not apply (a remote engine).
    Skip,
    /// bottle works, but something may surprise its user: exit 0.
    Warn,
    /// bottle cannot work (or not fully) until it is fixed.
    Fail,
}

/// What would fix a failed check. The library names the remedy; how to say it (flags,
/// environment variables, commands) is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fix {
    /// No engine program was found: install docker or podman, or name another one.
    InstallEngine,
    /// The engine program could not be run: name another one.
    CheckEngine,
    /// The engine CLI runs but its daemon does not answer: start it, or check its context.
    StartDaemon,
    /// The daemon refuses this user (permission denied on its socket): join the socket's group,
    /// or use an engine this user may reach.
    JoinSocketGroup,
    /// Every subnet slot of the pool is taken: remove unused networks, or use another pool.
    FreePool,
    /// The lock directory is unusable: make it a private directory of this user's (bottle is
    /// correct without locks; racing processes may do extra work).
    LockDirectory,
    /// Host TCP sockets listen on every address, so each bottle's loopback address reaches them:
    /// bind them to one address, or block their ports in a guest's policy.
    BindOneAddress,
    /// This loopback address cannot be bound: add it to the loopback interface.
    AddLoopback(Ipv4Addr),
    /// The kernel's ephemeral range takes in ports of the host-port rule's range: reserve them
    /// from its choices by setting `net.ipv4.ip_local_reserved_ports` to this value (what is
    /// reserved now, and the rule's range), or move the ephemeral range above the rule's.
    ReservePorts(String),
}

/// One of `doctor`'s checks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Check {
    /// `engine`, `pool`, `locks`, `loopback`, `sockets` or `ports`.
    pub name: &'static str,
    /// How it came out.
    pub status: CheckStatus,
    /// What was seen, as a sentence.
    pub detail: String,
    /// What would fix a failure.
    pub fix: Option<Fix>,
}

impl Check {
    fn new(name: &'static str, status: CheckStatus, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: Fix) -> Check {
        self.fix = Some(fix);
        self
    }
}

/// What `doctor` checks: the handle it would use (or why there is none, e.g.
/// [`crate::Engine::detect`]'s error), how the engine is named in the details, and the pool.
#[derive(Debug)]
pub struct DoctorConfig {
    /// The bottles handle whose engine is checked, or the error that kept the engine from being
    /// found.
    pub bottles: Result<Bottles>,
    /// The engine as the user named it (`docker`, a path), for the details.
    pub shown: String,
    /// The pool whose free slots are counted.
    pub pool: Pool,
}

/// `doctor`'s answer: every check in order, and the exit code the contract gives it (0 bottle
/// can work, 69 the engine is missing or unreachable, 1 anything else).
#[derive(Debug)]
#[non_exhaustive]
pub struct Doctor {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// 0, 1 or 69.
    pub exit_code: u8,
}

/// Run `doctor`'s checks. Each engine command goes through the handle's engine (its timeout,
/// cancel token and events).
pub fn doctor(config: DoctorConfig) -> Doctor {
    let local = config.bottles.as_ref().map_or(true, |b| b.ctx().local());
    let mut checks = Vec::new();
    let ctx = engine_check(&config, local, &mut checks);
    checks.push(pool_check(ctx.as_ref(), &config.pool, local));
    checks.push(lock_check(local));
    checks.push(loopback_check(local));
    // Host services bound to every address answer on each loopback address too, so a VM launcher
    // that allows a guest one bottle's address (`--publish-ip auto`) lets it reach them as well.
    if local {
        checks.push(wildcard_check(&crate::host::wildcard(
            &crate::host::tcp_listeners(),
        )));
    }
    // Only a local engine publishes on this host's ports; a remote host's kernel is not readable.
    let ephemeral = local.then(crate::host::ephemeral_ports).flatten();
    checks.push(ports_check(local, ephemeral.as_ref()));
    let exit_code = match checks.first() {
        Some(c) if c.status == CheckStatus::Fail => 69,
        _ if checks.iter().any(|c| c.status == CheckStatus::Fail) => 1,
        _ => 0,
    };
    Doctor { checks, exit_code }
}

/// The engine answers, client and daemon; the context to go on with when it does.
fn engine_check(config: &DoctorConfig, local: bool, checks: &mut Vec<Check>) -> Option<Ctx> {
    let shown = &config.shown;
    let where_ = if local { "local" } else { "remote" };
    let bottles = match &config.bottles {
        Err(e) => {
            checks
                .push(Check::new("engine", CheckStatus::Fail, e.message()).fix(Fix::InstallEngine));
            return None;
        }
        Ok(b) => b,
    };
    match crate::versions::engine_versions(&bottles.ctx().engine) {
        Err(e) => {
            checks.push(Check::new("engine", CheckStatus::Fail, e.message()).fix(Fix::CheckEngine));
            None
        }
        Ok(crate::versions::EngineVersions {
            client,
            unreachable: Some(e),
            ..
        }) => {
            checks.push(unreachable_check(shown, client.as_deref(), where_, &e));
            None
        }
        Ok(v) => {
            checks.push(Check::new(
                "engine",
                CheckStatus::Ok,
                format!(
                    "`{shown}` client {}, server {} ({where_})",
                    v.client.as_deref().unwrap_or("?"),
                    v.server.as_deref().unwrap_or("?")
                ),
            ));
            Some(Ctx {
                pool: config.pool,
                prefix: Prefix::default(),
                ..bottles.ctx().clone()
            })
        }
    }
}

/// Pool slots: free vs taken by engine networks and host routes.
fn pool_check(ctx: Option<&Ctx>, pool: &Pool, local: bool) -> Check {
    let Some(ctx) = ctx else {
        return Check::new("pool", CheckStatus::Skip, "needs the engine");
    };
    // Every subnet of the engine's networks: one listing, one inspect, as `up` learns them.
    let nets = match ctx.taken_subnets("") {
        Err(e) => return Check::new("pool", CheckStatus::Fail, e.message()),
        Ok((nets, _)) => nets,
    };
    let routes = if local {
        crate::host::routes()
    } else {
        Vec::new()
    };
    let (free, detail) = pool_detail(pool, &nets, &routes);
    match free {
        0 => Check::new("pool", CheckStatus::Fail, detail).fix(Fix::FreePool),
        _ => Check::new("pool", CheckStatus::Ok, detail),
    }
}

/// The lock directory, used only with a local engine. Without one bottle still works (locks only
/// spare the engine some work), so this is a warning, never a failure.
fn lock_check(local: bool) -> Check {
    if !local {
        return Check::new(
            "locks",
            CheckStatus::Skip,
            "the engine is remote: bottle takes no locks",
        );
    }
    let why = std::cell::RefCell::new(None);
    let lock = crate::lock::acquire(
        "doctor",
        std::time::Duration::from_secs(2),
        &|| false,
        &|m| {
            why.borrow_mut().get_or_insert_with(|| m.to_string());
        },
    );
    match (lock, why.into_inner()) {
        (Ok(Some(_)), _) => Check::new("locks", CheckStatus::Ok, "the lock directory is usable"),
        (_, why) => Check::new(
            "locks",
            CheckStatus::Warn,
            why.unwrap_or_else(|| "running without locks".to_string()),
        )
        .fix(Fix::LockDirectory),
    }
}

/// The default publish address must exist on this host for a local engine.
fn loopback_check(local: bool) -> Check {
    if !local {
        return Check::new(
            "loopback",
            CheckStatus::Skip,
            "the engine is remote: its host publishes the ports",
        );
    }
    let ip = Ipv4Addr::LOCALHOST;
    match TcpListener::bind((ip, 0)) {
        Ok(_) => Check::new(
            "loopback",
            CheckStatus::Ok,
            format!("{ip} can be published on"),
        ),
        Err(e) => Check::new(
            "loopback",
            CheckStatus::Fail,
            format!("cannot bind {ip}: {e}"),
        )
        .fix(Fix::AddLoopback(ip)),
    }
}

/// `doctor`'s warning about the host's TCP listeners on every address (`0.0.0.0:PORT`,
/// `[::]:PORT`), from what [`crate::host::wildcard`] found. A warning, never a failure: bottle works,
/// but an allow-list of one loopback address is wider than it looks.
fn wildcard_check(listeners: &[std::net::SocketAddr]) -> Check {
    if listeners.is_empty() {
        return Check::new(
            "sockets",
            CheckStatus::Ok,
            "no TCP socket on this host listens on every address",
        );
    }
    let mut ports: Vec<u16> = listeners.iter().map(|a| a.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    let shown: Vec<String> = listeners.iter().map(|a| a.to_string()).collect();
    Check::new(
        "sockets",
        CheckStatus::Warn,
        format!(
            "TCP sockets listen on every address ({}): each is reachable on every loopback address, so a VM allowed one bottle's own loopback address (a publish IP of `auto`) reaches port{} {} too",
            shown.join(", "),
            if ports.len() == 1 { "" } else { "s" },
            ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        ),
    )
    .fix(Fix::BindOneAddress)
}

/// `doctor`'s check of the kernel's ephemeral ports against the host-port rule's range
/// ([`PORT_LOW`]-[`PORT_HIGH`], chosen below Linux's default ephemeral range). A port of the
/// rule's range that the kernel may pick for an outgoing connection can be held when a bottle's
/// recorded host port is published again (a restart, a start): a warning, never a failure, since
/// `up` skips a port it sees held. Ports reserved from the kernel's choices are not at risk.
fn ports_check(local: bool, seen: Option<&crate::host::Ephemeral>) -> Check {
    let rule = format!("{PORT_LOW}-{PORT_HIGH}");
    let Some(seen) = seen.filter(|_| local) else {
        let why = match local {
            false => "the engine is remote: its host's ephemeral ports cannot be read from here",
            true => "cannot read /proc/sys/net/ipv4/ip_local_port_range (not Linux?)",
        };
        return Check::new("ports", CheckStatus::Skip, why);
    };
    let reserved = |p: &u16| seen.reserved.iter().any(|r| r.contains(p));
    let exposed = (PORT_LOW..=PORT_HIGH)
        .filter(|p| seen.range.contains(p) && !reserved(p))
        .count();
    let range = format!("{}-{}", seen.range.start(), seen.range.end());
    if exposed == 0 {
        return Check::new(
            "ports",
            CheckStatus::Ok,
            format!(
                "the kernel gives no port of the host-port rule's range ({rule}) to outgoing connections (ephemeral range {range})"
            ),
        );
    }
    // The value keeps what is reserved now: setting the key replaces the whole list.
    let mut value: Vec<String> = seen
        .reserved
        .iter()
        .filter(|r| *r.end() < PORT_LOW || *r.start() > PORT_HIGH)
        .map(|r| match r.start() == r.end() {
            true => r.start().to_string(),
            false => format!("{}-{}", r.start(), r.end()),
        })
        .collect();
    value.push(rule.clone());
    Check::new(
        "ports",
        CheckStatus::Warn,
        format!(
            "the kernel's ephemeral range ({range}) takes in {exposed} port{} of the host-port rule's range ({rule}): it may give one to an outgoing connection, which then holds a bottle's host port when the bottle starts again",
            if exposed == 1 { "" } else { "s" }
        ),
    )
    .fix(Fix::ReservePorts(value.join(",")))
}

/// `: ` and the first line the engine printed on stderr for `e`, or nothing.
fn engine_said(e: &Error) -> String {
    let line = e
        .command()
        .and_then(|c| c.stderr().lines().map(str::trim).find(|l| !l.is_empty()))
        .map(|l| l.trim_end_matches('.').to_string());
    line.map_or(String::new(), |l| format!(": {l}"))
}

/// The failed engine check when the CLI runs but its daemon does not serve us: refused for want of
/// permission on its socket, or not answering.
fn unreachable_check(shown: &str, client: Option<&str>, where_: &str, e: &Error) -> Check {
    let client = client.unwrap_or("?");
    let denied = e.command().is_some_and(|c| {
        c.exit_code().is_some_and(|code| {
            classify(Verb::Version, code, c.stderr()) == Class::PermissionDenied
        })
    });
    match denied {
        true => Check::new(
            "engine",
            CheckStatus::Fail,
            format!("`{shown}` {client} ({where_}) answers, but its daemon refuses this user: permission denied on its socket"),
        )
        .fix(Fix::JoinSocketGroup),
        // The engine's own words (which socket, which context) are what a person acts on.
        false => Check::new(
            "engine",
            CheckStatus::Fail,
            format!(
                "`{shown}` {client} ({where_}) answers, but its daemon does not{}",
                engine_said(e)
            ),
        )
        .fix(Fix::StartDaemon),
    }
}

/// What the pool check says: free slots, and what takes the others. A bottle's own bridge is both
/// an engine network and (locally) a host route; each slot is counted once, by the first that
/// takes it (it counted bottle bridges twice).
fn pool_detail(pool: &Pool, nets: &[Ipv4Network], routes: &[Ipv4Network]) -> (u64, String) {
    let all: Vec<Ipv4Network> = nets.iter().chain(routes).copied().collect();
    let taken = taken_slots(pool, &all);
    let by_nets = taken_slots(pool, nets);
    let free = pool.slots() - taken;
    let detail = format!(
        "{free} of {} /{} slots in {} free ({by_nets} taken by engine networks, {} more by other host routes)",
        pool.slots(),
        pool.block(),
        pool.net(),
        taken - by_nets
    );
    (free, detail)
}

/// How many of the pool's slots the `taken` subnets (engine networks, host routes) overlap.
pub(crate) fn taken_slots(pool: &Pool, taken: &[Ipv4Network]) -> u64 {
    let net = pool.net();
    let size = 1u64 << (32 - pool.block());
    let base = u64::from(u32::from(net.network()));
    let mut ranges: Vec<(u64, u64)> = taken
        .iter()
        .filter(|t| overlaps(net, **t))
        .map(|t| {
            let lo = u64::from(u32::from(t.network())).max(base);
            let hi = (u64::from(u32::from(t.broadcast())) + 1).min(base + pool.slots() * size);
            ((lo - base) / size, (hi - base).div_ceil(size))
        })
        .collect();
    ranges.sort();
    let mut count = 0;
    let mut end = 0;
    for (lo, hi) in ranges {
        let lo = lo.max(end);
        if hi > lo {
            count += hi - lo;
            end = hi;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_taken(pool: &str, block: u8, taken: &[&str], want: u64) {
        let pool = Pool::parse(pool, block).unwrap();
        let taken: Vec<Ipv4Network> = taken.iter().map(|t| t.parse().unwrap()).collect();
        assert_eq!(taken_slots(&pool, &taken), want);
    }

    #[test]
    fn counts_taken_slots_once() {
        check_taken("10.213.0.0/16", 24, &[], 0);
        check_taken("10.213.0.0/16", 24, &["10.213.5.0/24", "10.213.5.0/24"], 1);
        check_taken(
            "10.213.0.0/16",
            24,
            &["10.213.4.0/23", "10.213.5.128/25"],
            2,
        );
        check_taken("10.213.0.0/16", 24, &["10.0.0.0/8"], 256);
        check_taken("10.213.0.0/16", 24, &["172.17.0.0/16"], 0);
        check_taken("10.213.0.0/16", 26, &["10.213.0.0/24"], 4);
    }

    /// The host-port rule (20000-32767) assumes Linux's default ephemeral range (32768-60999);
    /// `doctor` did not look. A kernel whose ephemeral range takes in the rule's ports (not
    /// reserved from it) may give one to an outgoing connection: a warning, with the fix.
    #[test]
    fn ephemeral_ports_that_overlap_the_host_port_rule_are_a_warning() {
        use crate::host::Ephemeral;
        let seen = |lo: u16, hi: u16, reserved: &[(u16, u16)]| Ephemeral {
            range: lo..=hi,
            reserved: reserved.iter().map(|&(a, b)| a..=b).collect(),
        };
        #[track_caller]
        fn check(
            local: bool,
            seen: Option<Ephemeral>,
            status: CheckStatus,
            detail: &str,
            fix: Option<&str>,
        ) {
            let c = ports_check(local, seen.as_ref());
            assert_eq!((c.name, c.status), ("ports", status), "{}", c.detail);
            assert!(c.detail.contains(detail), "{}", c.detail);
            let want = fix.map(|v| Fix::ReservePorts(v.to_string()));
            assert_eq!(c.fix, want, "{}", c.detail);
        }
        use CheckStatus::*;
        let clear = "the kernel gives no port of the host-port rule's range (20000-32767) to outgoing connections";
        let taken = "ports of the host-port rule's range (20000-32767)";
        check(true, Some(seen(32768, 60999, &[])), Ok, clear, None);
        check(true, Some(seen(40000, 65535, &[])), Ok, clear, None);
        check(true, Some(seen(1024, 19999, &[])), Ok, clear, None);
        // Reserved from the kernel's choices: explicit binds (the engine's) still work.
        check(
            true,
            Some(seen(1024, 65535, &[(20000, 32767)])),
            Ok,
            clear,
            None,
        );
        check(
            true,
            Some(seen(1024, 65535, &[(10000, 40000)])),
            Ok,
            clear,
            None,
        );
        check(
            true,
            Some(seen(1024, 65535, &[])),
            Warn,
            &format!("takes in 12768 {taken}"),
            Some("20000-32767"),
        );
        check(
            true,
            Some(seen(32767, 60999, &[])),
            Warn,
            "takes in 1 port of the host-port rule's range (20000-32767)",
            Some("20000-32767"),
        );
        check(
            true,
            Some(seen(20000, 20000, &[])),
            Warn,
            "takes in 1 port of the host-port rule's range (20000-32767)",
            Some("20000-32767"),
        );
        // What is reserved now is kept in the value the fix sets.
        check(
            true,
            Some(seen(1024, 65535, &[(8080, 8080), (20000, 29999)])),
            Warn,
            &format!("takes in 2768 {taken}"),
            Some("8080,20000-32767"),
        );
        check(true, None, Skip, "cannot read", None);
        check(
            false,
            Some(seen(1024, 65535, &[])),
            Skip,
            "the engine is remote",
            None,
        );
    }

    /// `doctor` counted a bottle's bridge twice, as an engine network and as a host route.
    #[test]
    fn doctor_counts_each_taken_slot_once() {
        let pool = Pool::parse("10.213.0.0/16", 24).unwrap();
        let nets: Vec<Ipv4Network> = vec!["10.213.5.0/24".parse().unwrap()];
        let routes: Vec<Ipv4Network> = vec![
            "10.213.5.0/24".parse().unwrap(),
            "10.213.9.0/24".parse().unwrap(),
            "192.168.1.0/24".parse().unwrap(),
        ];
        let (free, detail) = pool_detail(&pool, &nets, &routes);
        assert_eq!(free, 254);
        assert_eq!(
            detail,
            "254 of 256 /24 slots in 10.213.0.0/16 free (1 taken by engine networks, 1 more by other host routes)"
        );
    }
}
