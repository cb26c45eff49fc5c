//! `version`, `doctor` and `logs`: commands about the engine and the bundle rather than the
//! bottle's lifecycle. Each engine command is built in [`crate::argv`] and run through the one
//! executor.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};

use ipnetwork::Ipv4Network;
use serde::Serialize;

use super::Reported;
use crate::argv;
use crate::classify::{Class, Verb, classify};
use crate::display::Masker;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{Engine, Stream};
use crate::input::{Prefix, Slug};
use crate::lifecycle::{self, Ctx};
use crate::spec::DAEMONS_ENV;
use crate::subnet::{Pool, overlaps};

/// The engine's versions, from `version --format '{{json .}}'`. `server` is `None` when the
/// daemon did not answer.
#[derive(Debug, Default, Serialize)]
pub struct EngineVersions {
    pub client: Option<String>,
    pub server: Option<String>,
}

/// Read `{"Client":{"Version":…},"Server":{"Version":…}|null}` (docker and podman alike). Native
/// podman has no daemon and prints no `Server` at all: the client is the engine, so its version is
/// the server's too (an unreachable docker daemon is `"Server":null`, and a failed command).
pub fn parse_versions(stdout: &str) -> EngineVersions {
    let v: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let version = |part: &str| {
        v.get(part)
            .and_then(|p| p.get("Version"))
            .and_then(|s| s.as_str())
            .map(str::to_string)
    };
    let daemonless = v.get("Client").is_some() && v.get("Server").is_none();
    EngineVersions {
        client: version("Client"),
        server: match daemonless {
            true => version("Client"),
            false => version("Server"),
        },
    }
}

/// Ask the engine for its versions. `Err` only when the engine could not be run at all.
fn engine_versions(engine: &Engine) -> Result<(EngineVersions, Option<Error>)> {
    let reply = engine.run(Verb::Version, argv::version())?;
    let versions = parse_versions(&reply.stdout);
    let err = (!reply.success() || versions.server.is_none()).then(|| {
        let mut e = reply.into_error();
        if *e.kind() != ErrorKind::EngineUnavailable {
            // No server version is an unreachable server, whatever the wording.
            e = Error::new(ErrorKind::EngineUnavailable, e.message());
        }
        e
    });
    Ok((versions, err))
}

/// `bottle version`: bottle's version always; the engine's as far as it answers.
pub fn version(
    engine: Result<Engine>,
    shown: &str,
    local: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let bottle = env!("CARGO_PKG_VERSION");
    let (versions, err) = match &engine {
        Ok(e) => engine_versions(e)?,
        Err(_) => (EngineVersions::default(), None),
    };
    // `--json` prints one document: the versions, or on failure only the error object.
    let failed = engine.is_err() || err.is_some();
    if json && !failed {
        let v = serde_json::json!({
            "bottle": bottle,
            "engine": {"program": shown, "local": local, "client": versions.client, "server": versions.server},
        });
        writeln!(out, "{}", super::json::line(&v)?)?;
    } else if !json {
        let or = |v: &Option<String>, none: &str| v.clone().unwrap_or(none.to_string());
        writeln!(out, "bottle   {bottle}")?;
        writeln!(
            out,
            "engine   {shown} ({})",
            if local { "local" } else { "remote" }
        )?;
        writeln!(out, "client   {}", or(&versions.client, "-"))?;
        writeln!(out, "server   {}", or(&versions.server, "unreachable"))?;
    }
    out.flush()?;
    engine?;
    match err {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Skip,
    /// Bottle works, but something may surprise its user: exit 0.
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    /// How to fix a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// How many of the pool's slots the `taken` subnets (engine networks, host routes) overlap.
pub fn taken_slots(pool: &Pool, taken: &[Ipv4Network]) -> u64 {
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

/// `bottle doctor`: check what bottle needs; exit 0 when it can work, 69 when the engine is missing
/// or unreachable, 1 otherwise.
pub fn doctor(
    engine: Result<Engine>,
    shown: &str,
    pool: &Pool,
    local: bool,
    quiet: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut checks = Vec::new();
    let mut code = 0u8;
    let where_ = if local { "local" } else { "remote" };
    let engine = match engine {
        Err(e) => {
            checks.push(
                Check::new("engine", Status::Fail, e.message())
                    .fix("install docker or podman, or pass --engine PATH (BOTTLE_ENGINE)"),
            );
            code = 69;
            None
        }
        Ok(engine) => match engine_versions(&engine) {
            Err(e) => {
                checks.push(
                    Check::new("engine", Status::Fail, e.message())
                        .fix("check --engine (BOTTLE_ENGINE)"),
                );
                code = 69;
                None
            }
            Ok((v, Some(e))) => {
                checks.push(unreachable_check(shown, v.client.as_deref(), where_, &e));
                code = 69;
                None
            }
            Ok((v, None)) => {
                checks.push(Check::new(
                    "engine",
                    Status::Ok,
                    format!(
                        "`{shown}` client {}, server {} ({where_})",
                        v.client.as_deref().unwrap_or("?"),
                        v.server.as_deref().unwrap_or("?")
                    ),
                ));
                Some(engine)
            }
        },
    };
    // Pool slots: free vs taken by engine networks and host routes.
    match &engine {
        None => checks.push(Check::new("pool", Status::Skip, "needs the engine")),
        Some(engine) => match engine_subnets(engine, pool) {
            Err(e) => {
                checks.push(Check::new("pool", Status::Fail, e.message()));
                code = code.max(1);
            }
            Ok(nets) => {
                let routes = if local {
                    crate::host::routes()
                } else {
                    Vec::new()
                };
                let (free, detail) = pool_detail(pool, &nets, &routes);
                if free == 0 {
                    checks.push(Check::new("pool", Status::Fail, detail).fix(
                        "remove unused networks (`bottle gc`), or pick a wider or another pool with --pool (BOTTLE_POOL)",
                    ));
                    code = code.max(1);
                } else {
                    checks.push(Check::new("pool", Status::Ok, detail));
                }
            }
        },
    }
    // The lock directory, used only with a local engine. Without one bottle still works (locks only
    // spare the engine some work), so this is a warning, never a failure.
    if local {
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
            (Ok(Some(_)), _) => checks.push(Check::new(
                "locks",
                Status::Ok,
                "the lock directory is usable",
            )),
            (_, why) => checks.push(
                Check::new(
                    "locks",
                    Status::Warn,
                    why.unwrap_or_else(|| "running without locks".to_string()),
                )
                .fix("make $XDG_RUNTIME_DIR/bottle (or the temp dir's bottle-UID) a directory of yours, mode 0700 (bottle is correct without locks; racing processes may do extra work)"),
            ),
        }
    } else {
        checks.push(Check::new(
            "locks",
            Status::Skip,
            "the engine is remote: bottle takes no locks",
        ));
    }
    // The default publish address must exist on this host for a local engine.
    if local {
        let ip = Ipv4Addr::LOCALHOST;
        match TcpListener::bind((ip, 0)) {
            Ok(_) => checks.push(Check::new(
                "loopback",
                Status::Ok,
                format!("{ip} can be published on"),
            )),
            Err(e) => {
                checks.push(
                    Check::new("loopback", Status::Fail, format!("cannot bind {ip}: {e}")).fix(
                        format!("add the address: `ip addr add {ip}/8 dev lo` (Linux) or `sudo ifconfig lo0 alias {ip}` (macOS)"),
                    ),
                );
                code = code.max(1);
            }
        }
    } else {
        checks.push(Check::new(
            "loopback",
            Status::Skip,
            "the engine is remote: its host publishes the ports",
        ));
    }
    // Host services bound to every address answer on each loopback address too, so a VM launcher
    // that allows a guest one bottle's address (`--publish-ip auto`) lets it reach them as well.
    if local {
        checks.push(wildcard_check(&crate::host::wildcard(
            &crate::host::tcp_listeners(),
        )));
    }
    if !quiet {
        if json {
            let v = serde_json::json!({"checks": checks, "exit_code": code});
            writeln!(out, "{v}")?;
        } else {
            for c in &checks {
                let status = match c.status {
                    Status::Ok => "ok  ",
                    Status::Skip => "skip",
                    Status::Warn => "warn",
                    Status::Fail => "FAIL",
                };
                writeln!(out, "{status}  {:<9}{}", c.name, c.detail)?;
                if let Some(fix) = &c.fix {
                    writeln!(out, "      {:<9}fix: {fix}", "")?;
                }
            }
        }
        out.flush()?;
    }
    match code {
        0 => Ok(()),
        code => Err(Reported(code).into()),
    }
}

/// `doctor`'s warning about the host's TCP listeners on every address (`0.0.0.0:PORT`,
/// `[::]:PORT`), from what [`crate::host::wildcard`] found. A warning, never a failure: bottle works,
/// but an allow-list of one loopback address is wider than it looks.
fn wildcard_check(listeners: &[std::net::SocketAddr]) -> Check {
    if listeners.is_empty() {
        return Check::new(
            "sockets",
            Status::Ok,
            "no TCP socket on this host listens on every address",
        );
    }
    let mut ports: Vec<u16> = listeners.iter().map(|a| a.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    let shown: Vec<String> = listeners.iter().map(|a| a.to_string()).collect();
    Check::new(
        "sockets",
        Status::Warn,
        format!(
            "TCP sockets listen on every address ({}): each is reachable on every loopback address, so a VM allowed one bottle's address (`--publish-ip auto`) reaches port{} {} too",
            shown.join(", "),
            if ports.len() == 1 { "" } else { "s" },
            ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        ),
    )
    .fix("if a VM launcher allows its guest a bottle's address, bind those services to one address (e.g. 127.0.0.1) or block their ports in the guest's policy")
}

/// The failed engine check when the CLI runs but its daemon does not serve us: refused for want of
/// permission on its socket (it said "does not answer", and to start it), or not answering.
fn unreachable_check(shown: &str, client: Option<&str>, where_: &str, e: &Error) -> Check {
    let client = client.unwrap_or("?");
    let denied = e.command().is_some_and(|c| {
        classify(Verb::Version, c.exit_code(), c.stderr()) == Class::PermissionDenied
    });
    match denied {
        true => Check::new(
            "engine",
            Status::Fail,
            format!("`{shown}` {client} ({where_}) answers, but its daemon refuses this user: permission denied on its socket"),
        )
        .fix("add this user to the socket's group (`sudo usermod -aG docker \"$USER\"`, then log in again), or use an engine this user may reach (rootless docker or podman, --context, DOCKER_HOST)"),
        false => Check::new(
            "engine",
            Status::Fail,
            format!("`{shown}` {client} ({where_}) answers, but its daemon does not"),
        )
        .fix("start the engine, or check --context, DOCKER_HOST and DOCKER_CONTEXT; `bottle version` shows the engine's own error"),
    }
}

/// What the pool check says: free slots, and what takes the others. A bottle's own bridge is both
/// an engine network and (locally) a host route; each slot is counted once, by the first that
/// takes it (it counted bottle bridges twice).
pub fn pool_detail(pool: &Pool, nets: &[Ipv4Network], routes: &[Ipv4Network]) -> (u64, String) {
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

/// Every subnet of the engine's networks: one listing, one inspect, as `up` learns them.
fn engine_subnets(engine: &Engine, pool: &Pool) -> Result<Vec<Ipv4Network>> {
    let ctx = Ctx {
        engine: engine.clone(),
        prefix: Prefix::default(),
        pool: *pool,
        local: engine.is_local(),
        environment: Default::default(),
        locks: crate::lock::Location::from_env(),
    };
    Ok(ctx.taken_subnets("")?.0)
}

/// Env keys the engines add to every container themselves, which a bundle made before the
/// `bottle.env` label must not take for values given to `up`: podman (native or through its docker
/// socket, where the CLI is docker's) adds `TERM`, `container`, `HOME` and `HOSTNAME`; docker adds
/// `HOSTNAME`, `PATH` and `HOME`. One list for both, since the CLI does not tell a socket's engine.
const ENGINE_ENV_KEYS: [&str; 5] = ["TERM", "container", "HOME", "HOSTNAME", "PATH"];

/// The values to mask in the bundle's logs. With the `bottle.env` label (`passed`): the values of
/// exactly the keys `up` passed. Without it (a bundle of an older bottle): every env value the
/// bundle has that its image does not set itself, except the entries engines add themselves and
/// bottle's own daemon list.
pub fn log_secrets(container_env: &[String], passed: Option<&str>, image_env: &[String]) -> Masker {
    let entries = container_env.iter().filter_map(|e| e.split_once('='));
    match passed {
        Some(keys) => {
            let keys: Vec<&str> = keys.split(',').filter(|k| !k.is_empty()).collect();
            Masker::new(
                entries
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(_, v)| v.to_string()),
            )
        }
        None => Masker::new(
            container_env
                .iter()
                .filter(|e| !image_env.contains(e))
                .filter_map(|e| e.split_once('='))
                .filter(|(k, _)| *k != DAEMONS_ENV && !ENGINE_ENV_KEYS.contains(k))
                .map(|(_, v)| v.to_string()),
        ),
    }
}

/// The bundle of `slug`, and a masker for what it logs. The image's env is read only for a
/// bundle without the `bottle.env` label.
fn bundle_and_secrets(ctx: &Ctx, slug: &Slug) -> Result<(crate::model::Container, Masker)> {
    let bundle = lifecycle::bundle(ctx, slug)?;
    let passed = bundle.labels.get(argv::LABEL_ENV).map(String::as_str);
    let image_env: Vec<String> = match passed {
        Some(_) => Vec::new(),
        None => ctx
            .engine
            .run(Verb::Inspect, argv::image_env(&bundle.image))
            .ok()
            .filter(|r| r.success())
            .and_then(|r| serde_json::from_str(r.stdout.trim()).ok())
            .unwrap_or_default(),
    };
    let masker = log_secrets(&bundle.env, passed, &image_env);
    Ok((bundle, masker))
}

/// `bottle logs`: the bundle's logs, through the engine, masked.
pub fn logs(ctx: &Ctx, slug: &Slug, tail: Option<u32>, out: &mut impl Write) -> anyhow::Result<()> {
    let (bundle, masker) = bundle_and_secrets(ctx, slug)?;
    let reply = ctx
        .engine
        .run(Verb::Logs, argv::logs_of(&bundle.id, false, tail))?
        .check()?;
    write!(out, "{}", masker.mask(&reply.stdout))?;
    out.flush()?;
    eprint!("{}", masker.mask(&reply.stderr));
    Ok(())
}

/// `bottle logs -f`: the bundle's logs as they come, masked, each line as soon as it ends. They
/// are written from the engine's reader threads, so the caller must not hold stdout's lock.
pub fn follow_logs(ctx: &Ctx, slug: &Slug, tail: Option<u32>) -> anyhow::Result<()> {
    let (bundle, masker) = bundle_and_secrets(ctx, slug)?;
    let engine = ctx.engine.clone().with_secrets(masker);
    let argv = argv::logs_of(&bundle.id, true, tail);
    match engine.run_follow(Verb::Logs, argv, std::sync::Arc::new(write_stream)) {
        // Ctrl-C is how `-f` ends.
        Err(e) if *e.kind() == ErrorKind::Interrupted => Err(Reported(130).into()),
        r => Ok(r?),
    }
}

/// Where a followed log goes: the engine's stdout to bottle's, its stderr to bottle's, each
/// piece flushed at once.
fn write_stream(stream: Stream, bytes: &[u8]) -> std::io::Result<()> {
    match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    }
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

    #[test]
    fn reads_engine_versions() {
        let v = parse_versions(
            r#"{"Client":{"Version":"20.10.24","ApiVersion":"1.41"},"Server":{"Version":"20.10.24"}}"#,
        );
        assert_eq!(
            (v.client.as_deref(), v.server.as_deref()),
            (Some("20.10.24"), Some("20.10.24"))
        );
        let v = parse_versions(r#"{"Client":{"Version":"4.3.1"},"Server":null}"#);
        assert_eq!((v.client.as_deref(), v.server), (Some("4.3.1"), None));
        // native_podman_has_no_server_and_is_not_unreachable (issue 15): podman 4.3 runs
        // containers itself, so `version` and `doctor` said its daemon did not answer (exit 69).
        let v = parse_versions(
            r#"{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","OsArch":"linux/amd64","Os":"linux"}}"#,
        );
        assert_eq!(
            (v.client.as_deref(), v.server.as_deref()),
            (Some("4.3.1"), Some("4.3.1"))
        );
        assert_eq!(parse_versions("").server, None);
    }

    #[test]
    fn log_secrets_are_the_values_up_gave() {
        #[track_caller]
        fn check(env: &[&str], passed: Option<&str>, image: &[&str], text: &str, want: &str) {
            let env: Vec<String> = env.iter().map(|e| e.to_string()).collect();
            let image: Vec<String> = image.iter().map(|e| e.to_string()).collect();
            assert_eq!(log_secrets(&env, passed, &image).mask(text), want);
        }
        let daemons = format!("{DAEMONS_ENV}=egress");
        // logs_on_podman_mask_the_engines_own_env_entries (attack round 4): with the label, only
        // the keys `up` passed, whatever else the engine added.
        let podman = [
            "PATH=/usr/bin",
            "TERM=xterm",
            "container=podman",
            "HOME=/",
            "HOSTNAME=abc123",
            "TOKEN=hunter2",
            daemons.as_str(),
        ];
        let text = "token hunter2 podman xterm abc123 home / daemons egress";
        let want = "token *** podman xterm abc123 home / daemons egress";
        check(&podman, Some("TOKEN"), &["PATH=/usr/bin"], text, want);
        // A passed key the image also sets holds the passed value.
        check(
            &["PATH=/opt/secretpath"],
            Some("PATH"),
            &["PATH=/usr/bin"],
            "/opt/secretpath",
            "***",
        );
        // No keys passed: nothing is masked.
        check(&podman, Some(""), &[], text, text);
        // Without the label (an older bottle's bundle): what the image does not set, except what
        // engines add and the daemon list.
        check(&podman, None, &["PATH=/usr/bin"], text, want);
        check(
            &["PATH=/x", "HOSTNAME=h1", "HOME=/root", "T=hunter2"],
            None,
            &[],
            "hunter2 /x h1",
            "*** /x h1",
        );
    }
}
