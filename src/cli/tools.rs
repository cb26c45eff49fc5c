//! `version`, `doctor`, `logs` and `events` as the command line shows them. The checks, the versions and
//! the masked logs are the library's ([`bottle::doctor`], [`Bottles::versions`],
//! [`Bottles::logs`]); this module renders them and adds the command-line advice.

use std::io::Write;
use std::ops::ControlFlow;

use bottle::{Bottles, CheckStatus, DoctorConfig, ErrorKind, Fix, Result, Slug, Stream};

use super::Reported;

/// `bottle version`: bottle's version always; the engine's as far as it answers.
pub fn version(
    bottles: Result<Bottles>,
    shown: &str,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let local = bottles.as_ref().map_or(true, |b| b.engine().is_local());
    let versions = match &bottles {
        Ok(b) => b.versions()?,
        Err(_) => Default::default(),
    };
    // `--json` prints one document: the versions, or on failure only the error object.
    let failed = bottles.is_err() || versions.unreachable.is_some();
    if json && !failed {
        let v = serde_json::json!({
            "bottle": bottle::VERSION,
            "engine": {"program": shown, "local": local, "client": versions.client, "server": versions.server},
        });
        writeln!(out, "{}", super::json::document(&v)?)?;
    } else if !json {
        let or = |v: &Option<String>, none: &str| v.clone().unwrap_or(none.to_string());
        writeln!(out, "bottle   {}", bottle::VERSION)?;
        writeln!(
            out,
            "engine   {shown} ({})",
            if local { "local" } else { "remote" }
        )?;
        writeln!(out, "client   {}", or(&versions.client, "-"))?;
        writeln!(out, "server   {}", or(&versions.server, "unreachable"))?;
    }
    out.flush()?;
    bottles?;
    match versions.unreachable {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// The command-line advice for a failed check.
fn fix_text(fix: &Fix) -> String {
    match fix {
        Fix::InstallEngine => "install docker or podman, or pass --engine PATH (BOTTLE_ENGINE)".into(),
        Fix::CheckEngine => "check --engine (BOTTLE_ENGINE)".into(),
        Fix::StartDaemon => "start the engine, or check --context, DOCKER_HOST and DOCKER_CONTEXT".into(),
        Fix::JoinSocketGroup => "add this user to the socket's group (`sudo usermod -aG docker \"$USER\"`, then log in again), or use an engine this user may reach (rootless docker or podman, --context, DOCKER_HOST)".into(),
        Fix::BindOneAddress => "if a VM launcher allows its guest a bottle's address, bind those services to one address (e.g. 127.0.0.1) or block their ports in the guest's policy".into(),
        Fix::FreePool => "remove unused networks (`bottle gc`), or pick a wider or another pool with --pool (BOTTLE_POOL)".into(),
        Fix::LockDirectory => "make $XDG_RUNTIME_DIR/bottle (or the temp dir's bottle-UID) a directory of yours, mode 0700 (bottle is correct without locks; racing processes may do extra work)".into(),
        Fix::AddLoopback(ip) => format!("add the address: `ip addr add {ip}/8 dev lo` (Linux) or `sudo ifconfig lo0 alias {ip}` (macOS)"),
        Fix::ReservePorts(value) => format!("reserve them from the kernel's choices: `sudo sysctl -w net.ipv4.ip_local_reserved_ports={value}` (and the same line in /etc/sysctl.d/ to keep it), or move net.ipv4.ip_local_port_range above them"),
        _ => "see `bottle doctor --help`".into(),
    }
}

/// `bottle doctor`: the library's checks, printed; exit 0 when bottle can work, 69 when the
/// engine is missing or unreachable, 1 otherwise.
pub fn doctor(
    config: DoctorConfig,
    quiet: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let doctor = bottle::doctor(config);
    if !quiet && json {
        let checks: Vec<serde_json::Value> = doctor
            .checks
            .iter()
            .map(|c| {
                let mut v =
                    serde_json::json!({"name": c.name, "status": c.status, "detail": c.detail});
                if let Some(fix) = &c.fix {
                    v["fix"] = fix_text(fix).into();
                }
                v
            })
            .collect();
        let v = serde_json::json!({"checks": checks, "exit_code": doctor.exit_code});
        writeln!(out, "{v}")?;
    } else if !quiet {
        for c in &doctor.checks {
            let status = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Skip => "skip",
                CheckStatus::Warn => "warn",
                _ => "FAIL",
            };
            writeln!(out, "{status}  {:<9}{}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "      {:<9}fix: {}", "", fix_text(fix))?;
            }
        }
    }
    out.flush()?;
    match doctor.exit_code {
        0 => Ok(()),
        code => Err(Reported(code).into()),
    }
}

/// `bottle logs`: the bundle's logs, through the engine, masked.
pub fn logs(
    bottles: &Bottles,
    slug: &Slug,
    tail: Option<u32>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let logs = bottles.logs(slug, tail)?;
    write!(out, "{}", logs.stdout)?;
    out.flush()?;
    eprint!("{}", logs.stderr);
    Ok(())
}

/// `bottle logs -f`: the bundle's logs as they come, masked, each line as soon as it ends. They
/// are written from the engine's reader threads, so the caller must not hold stdout's lock.
pub fn follow_logs(bottles: &Bottles, slug: &Slug, tail: Option<u32>) -> anyhow::Result<()> {
    match bottles.follow_logs(slug, tail, write_stream) {
        // Ctrl-C is how `-f` ends.
        Err(e) if *e.kind() == ErrorKind::Interrupted => Err(Reported(130).into()),
        r => Ok(r?),
    }
}

/// `bottle events`: one JSON line per change, flushed at once, until a signal (exit 130, quietly)
/// or the engine's end of the stream (its error). A reader that went away (`| head -1`) ends it,
/// exit 0.
pub fn events(bottles: &Bottles, slugs: &[Slug]) -> anyhow::Result<()> {
    let result = bottles.watch(slugs, |event| write_event(&event));
    match result {
        // Ctrl-C is how it ends.
        Err(e) if *e.kind() == ErrorKind::Interrupted => Err(Reported(130).into()),
        r => Ok(r?),
    }
}

/// One event, one JSON line on stdout, flushed at once; a stdout nobody reads any more ends the
/// stream (and bottle, exit 0).
pub fn write_event(event: &impl serde::Serialize) -> ControlFlow<()> {
    let written = super::json::line(event)
        .map_err(std::io::Error::other)
        .and_then(|text| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}").and_then(|()| out.flush())
        });
    match written {
        Ok(()) => ControlFlow::Continue(()),
        Err(_) => ControlFlow::Break(()),
    }
}

/// Where a followed log goes: the engine's stdout to bottle's, its stderr to bottle's, each
/// piece flushed at once.
fn write_stream(stream: Stream, bytes: &[u8]) -> std::io::Result<()> {
    match stream {
        Stream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
    }
}
