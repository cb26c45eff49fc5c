//! Pure argv builders, one per engine verb.
//!
//! **Architecture Invariant:** nothing in this module reads the environment, touches the file
//! system, spawns a process, reads a clock or draws a random number. Every varying input, such as
//! the env-file path, is a parameter. That is what lets the insta snapshots pin every command
//! without redactions. The engine program and `--context` are not here either: the executor
//! prepends them, so these argv lists start at the engine's verb.
//!
//! Arguments are separate `OsString`s and never pass through a shell. Positional names come from
//! validated inputs ([`crate::input`]) that cannot start with `-`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use crate::endpoints::HostPorts;
use crate::model::Protocol;
use crate::spec::{DAEMONS_ENV, Pull, Spec};
use crate::subnet::Candidate;

/// Which engine CLI this is, from its program file (see `flavor_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// The docker CLI, or any CLI that is not podman.
    Docker,
    /// The podman CLI (natively, or remotely through its socket).
    Podman,
}

pub const LABEL_SLUG: &str = "bottle.slug";
pub const LABEL_ROLE: &str = "bottle.role";
pub const LABEL_SUBNET: &str = "bottle.subnet";
pub const LABEL_SPEC: &str = "bottle.spec";
/// The env keys `up` passed to the bundle (comma-separated, never their values), so `bottle logs`
/// masks the values of exactly those keys and not the entries the engine adds itself.
pub const LABEL_ENV: &str = "bottle.env";
/// Which `up` invocation created the object, so a rollback of a create that a signal cut short
/// can tell its own object from one that was already there or that a racer made.
pub const LABEL_RUN: &str = "bottle.run";
/// The bundle's lease: when it expires (RFC 3339, UTC, whole seconds), for `gc`.
pub const LABEL_EXPIRES: &str = "bottle.expires";
/// The bundle's lease as asked (`--ttl`), in seconds: what a later `up --ttl` is compared with.
pub const LABEL_TTL: &str = "bottle.ttl";
/// A short digest of each part of the spec (`image=…,env=…`): which parts a replace changed.
pub const LABEL_PARTS: &str = "bottle.parts";
/// The bundle's endpoints, chosen once by the host-port rule and kept for the bottle's life:
/// `HOST_IP:HOST_PORT->PORT/PROTO`, comma-separated (see [`crate::endpoints::label`]).
pub const LABEL_ENDPOINTS: &str = "bottle.endpoints";
/// The limits `up` ran the bundle with (`cpus=1.5,memory=536870912`), only when it set any, so a
/// replace names the limit that changed.
pub const LABEL_LIMITS: &str = "bottle.limits";
/// On a named volume bottle created: the prefix of the bottle it was made for (its name is the
/// user's, so the prefix is not in it).
pub const LABEL_PREFIX: &str = "bottle.prefix";
pub const ROLE_NETWORK: &str = "network";
pub const ROLE_VOLUME: &str = "volume";
pub const ROLE_BUNDLE: &str = "bundle";

/// Labels, sorted by key.
pub type Labels = BTreeMap<String, String>;

/// The format every `inspect` uses: one JSON object per line, parsed with serde.
pub const JSON_FORMAT: &str = "{{json .}}";
/// The format of `ls`-style listings: full ID, a tab, the name.
pub const ID_NAME_FORMAT: &str = "{{.ID}}\t{{.Name}}";
const PS_FORMAT: &str = "{{.ID}}\t{{.Names}}";

/// `network create`: a bridge network pinned to one candidate subnet.
#[derive(Debug)]
pub struct NetworkCreate<'a> {
    pub name: &'a str,
    pub candidate: &'a Candidate,
    pub labels: &'a Labels,
}

/// `run`: the sidecar bundle, detached, pinned at the candidate's bundle IP.
#[derive(Debug)]
pub struct Run<'a> {
    pub name: &'a str,
    pub network: &'a str,
    pub ip: Ipv4Addr,
    pub spec: &'a Spec,
    pub labels: &'a Labels,
    /// Where the `KEY=VALUE` entries were written, if there are any.
    pub env_file: Option<&'a Path>,
    /// The pull policy actually passed; `up` uses `never` when it can build the image itself.
    pub pull: Pull,
    /// The host port of each published port (the host-port rule's, or the bottle's recorded
    /// one): published explicitly, so the engine keeps it on every start and restart.
    pub host_ports: &'a HostPorts,
}

/// `build`: the bundle image from a `[build]` section.
#[derive(Debug)]
pub struct Build<'a> {
    pub tag: &'a str,
    pub context: &'a Path,
    pub dockerfile: Option<&'a Path>,
}

/// A listing filter.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Exactly this name. The engine's `name` filter is an unanchored regular expression, so
    /// `name=foo` also matches `foo-2`; anchoring makes it exact. Callers still compare the
    /// returned names: the filter narrows the listing, the comparison decides.
    Name(&'a str),
    /// Names that start with this prefix.
    NamePrefix(&'a str),
    /// `label=KEY=VALUE`.
    Label(&'a str, &'a str),
    /// Containers attached to this network (by name or ID).
    Network(&'a str),
}

struct Args(Vec<OsString>);

impl Args {
    fn new(verb: &[&str]) -> Args {
        Args(verb.iter().map(OsString::from).collect())
    }

    fn arg(mut self, a: impl Into<OsString>) -> Args {
        self.0.push(a.into());
        self
    }

    fn opt(self, flag: &str, value: impl Into<OsString>) -> Args {
        self.arg(flag).arg(value)
    }

    fn labels(self, labels: &Labels) -> Args {
        labels
            .iter()
            .fold(self, |a, (k, v)| a.opt("--label", format!("{k}={v}")))
    }

    fn filters(self, filters: &[Filter<'_>]) -> Args {
        filters.iter().fold(self, |a, f| match f {
            Filter::Name(n) => a.opt("--filter", format!("name=^{n}$")),
            Filter::NamePrefix(p) => a.opt("--filter", format!("name=^{p}")),
            Filter::Label(k, v) => a.opt("--filter", format!("label={k}={v}")),
            Filter::Network(n) => a.opt("--filter", format!("network={n}")),
        })
    }

    fn done(self) -> Vec<OsString> {
        self.0
    }
}

/// `network create --driver bridge --ipv6=false --subnet S --gateway G --ip-range R --label … NAME`
///
/// IPv4-only on purpose, not by the daemon's default: docker CLI 27 and later leave IPv6 to the
/// daemon's `default-network-opts` when the flag is absent. Docker CLI 20.10 and 28 and podman
/// 4.3 (native, and its docker socket through either docker CLI) all take `--ipv6=false`.
pub fn network_create(req: &NetworkCreate<'_>) -> Vec<OsString> {
    let c = req.candidate;
    Args::new(&["network", "create"])
        .opt("--driver", "bridge")
        .arg("--ipv6=false")
        .opt("--subnet", c.subnet.to_string())
        .opt("--gateway", c.gateway.to_string())
        .opt("--ip-range", c.ip_range.to_string())
        .labels(req.labels)
        .arg(req.name)
        .done()
}

/// `volume create --label … NAME`: a named volume the spec mounts, made before `run` so that it
/// carries bottle's labels (the engine would make a missing one unlabelled).
pub fn volume_create(name: &str, labels: &Labels) -> Vec<OsString> {
    Args::new(&["volume", "create"])
        .labels(labels)
        .arg(name)
        .done()
}

/// `volume ls --format {{.Name}}`, one name per line, narrowed by label filters.
pub fn volume_ls(filters: &[Filter<'_>]) -> Vec<OsString> {
    Args::new(&["volume", "ls"])
        .opt("--format", "{{.Name}}")
        .filters(filters)
        .done()
}

/// `volume inspect`, its name and labels in JSON, for each volume.
pub fn volume_inspect(names: &[&str]) -> Vec<OsString> {
    names
        .iter()
        .fold(
            Args::new(&["volume", "inspect"]).opt("--format", JSON_FORMAT),
            |a, n| a.arg(*n),
        )
        .done()
}

/// `volume rm NAME`, never `--force` (on podman it also removes the containers using it).
pub fn volume_rm(name: &str) -> Vec<OsString> {
    Args::new(&["volume", "rm"]).arg(name).done()
}

/// `network rm NAME…`. Never `-f`: on podman it also removes attached containers.
pub fn network_rm(names: &[&str]) -> Vec<OsString> {
    names
        .iter()
        .fold(Args::new(&["network", "rm"]), |a, n| a.arg(*n))
        .done()
}

/// `network ls`, one `ID<TAB>NAME` line per match.
pub fn network_ls(filters: &[Filter<'_>]) -> Vec<OsString> {
    Args::new(&["network", "ls", "--no-trunc"])
        .opt("--format", ID_NAME_FORMAT)
        .filters(filters)
        .done()
}

/// `network inspect`, one JSON object per line.
pub fn network_inspect(ids: &[&str]) -> Vec<OsString> {
    ids.iter()
        .fold(
            Args::new(&["network", "inspect"]).opt("--format", JSON_FORMAT),
            |a, id| a.arg(*id),
        )
        .done()
}

/// `ps --all`, one `ID<TAB>NAME` line per match.
pub fn ps(filters: &[Filter<'_>]) -> Vec<OsString> {
    Args::new(&["ps", "--all", "--no-trunc"])
        .opt("--format", PS_FORMAT)
        .filters(filters)
        .done()
}

/// Untyped `inspect` of several objects at once, one JSON object per line for each one found.
///
/// This is how bottle observes a bottle in one command: the bundle and the network together.
/// A name that matches nothing makes the command exit 1 after printing what it did find.
pub fn inspect(names: &[&str]) -> Vec<OsString> {
    names
        .iter()
        .fold(
            Args::new(&["inspect"]).opt("--format", JSON_FORMAT),
            |a, n| a.arg(*n),
        )
        .done()
}

/// `container inspect` of the bundle: its state, IP and every published port in one command.
pub fn container_inspect(name: &str) -> Vec<OsString> {
    containers_inspect(&[name])
}

/// `container inspect` of several containers, one JSON object each.
pub fn containers_inspect(ids: &[&str]) -> Vec<OsString> {
    ids.iter()
        .fold(
            Args::new(&["container", "inspect"]).opt("--format", JSON_FORMAT),
            |a, id| a.arg(*id),
        )
        .done()
}

/// `run --detach …`.
pub fn run(req: &Run<'_>) -> Vec<OsString> {
    let spec = req.spec;
    let mut a = Args::new(&["run", "--detach"])
        .opt("--name", req.name)
        .opt("--network", req.network)
        .opt("--ip", req.ip.to_string())
        .labels(req.labels)
        .opt("--env", format!("{DAEMONS_ENV}={}", spec.daemons.join(",")));
    if let Some(path) = req.env_file {
        a = a.opt("--env-file", path);
    }
    // Every env value, a bare key's included, travels through the env-file: no value enters
    // argv, and none changes the engine CLI's own environment (a bare `--env KEY` would make the
    // CLI read it from its own, so `HOME` or `DOCKER_HOST` would configure the CLI too).
    for v in &spec.volumes {
        a = a.opt("--volume", v.to_arg());
    }
    let host = match spec.publish_ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    for key @ (port, proto) in &spec.publish {
        let at = req
            .host_ports
            .get(key)
            .map_or(String::new(), u16::to_string);
        let suffix = match proto {
            Protocol::Tcp => "",
            Protocol::Udp => "/udp",
        };
        a = a.opt("--publish", format!("{host}:{at}:{port}{suffix}"));
    }
    // Bytes and millicpus are the engine's own units, so what it shows reads back exactly.
    let limits = spec.limits;
    if let Some(bytes) = limits.memory {
        a = a.opt("--memory", bytes.to_string());
    }
    if let Some(m) = limits.millicpus {
        a = a.opt("--cpus", crate::limits::cpus_text(m));
    }
    if let Some(n) = limits.pids {
        a = a.opt("--pids-limit", n.to_string());
    }
    a.opt("--pull", req.pull.as_str())
        .arg(spec.image.as_str())
        .done()
}

/// `rm --force --volumes NAME`: also removes the bundle's anonymous volumes, so none are left over.
/// Podman's `rm --force` waits out the container's stop timeout (10 s for a busybox that ignores
/// SIGTERM), where docker's kills at once: on podman `--time 0` makes both equally fast. Docker's
/// `rm` has no `--time`. One name per call: podman 4.3's `rm -f A MISSING` removes nothing.
pub fn rm(name: &str, flavor: Flavor) -> Vec<OsString> {
    let a = Args::new(&["rm", "--force", "--volumes"]);
    match flavor {
        Flavor::Podman => a.opt("--time", "0"),
        _ => a,
    }
    .arg(name)
    .done()
}

/// `rm --volumes ID`, without `--force`: for `gc`, whose bundle must still be stopped when the
/// engine removes it. An `up` that started it since `gc` looked makes the engine refuse, atomically,
/// where a forced removal would kill the bundle that `up` has just reported.
pub fn rm_stopped(id: &str) -> Vec<OsString> {
    Args::new(&["rm", "--volumes"]).arg(id).done()
}

/// `start ID`: a stopped bundle whose spec is current is started again, not replaced.
pub fn start(id: &str) -> Vec<OsString> {
    Args::new(&["start"]).arg(id).done()
}

/// `unpause ID`: a paused bundle whose spec is current is resumed, not replaced.
pub fn unpause(id: &str) -> Vec<OsString> {
    Args::new(&["unpause"]).arg(id).done()
}

/// `stop [-t SECONDS] ID`: `bottle stop`. `-t` is the grace period before the engine kills the
/// bundle (the engine's own default, 10 s, without it); spelled `-t` because docker 20.10 calls
/// it `--time`, docker 28 `--timeout`, and podman accepts `-t` like both.
pub fn stop(id: &str, grace: Option<u32>) -> Vec<OsString> {
    grace_opt(Args::new(&["stop"]), grace).arg(id).done()
}

/// `restart [-t SECONDS] ID`: `bottle restart`, with `stop`'s grace period. The engine keeps the
/// bundle's publish arguments as they are: nothing here names a port.
pub fn restart(id: &str, grace: Option<u32>) -> Vec<OsString> {
    grace_opt(Args::new(&["restart"]), grace).arg(id).done()
}

/// `pause ID`: `bottle pause` (the bundle's processes frozen, its ports still bound).
pub fn pause(id: &str) -> Vec<OsString> {
    Args::new(&["pause"]).arg(id).done()
}

fn grace_opt(a: Args, grace: Option<u32>) -> Args {
    match grace {
        Some(s) => a.opt("-t", s.to_string()),
        None => a,
    }
}

/// `image inspect --format {{.Id}} IMG`: whether the image is present, before a working bundle is
/// replaced by one that might not start.
pub fn image_inspect(image: &str) -> Vec<OsString> {
    Args::new(&["image", "inspect"])
        .opt("--format", "{{.Id}}")
        .arg(image)
        .done()
}

/// `pull IMG`.
pub fn pull(image: &str) -> Vec<OsString> {
    Args::new(&["pull"]).arg(image).done()
}

/// `logs --tail N NAME`: why a bundle stopped, for the error message.
pub fn logs(name: &str, tail: u32) -> Vec<OsString> {
    Args::new(&["logs", "--tail"])
        .arg(tail.to_string())
        .arg(name)
        .done()
}

/// `logs [--follow] [--tail N] NAME`: the bundle's logs, for `bottle logs`.
pub fn logs_of(name: &str, follow: bool, tail: Option<u32>) -> Vec<OsString> {
    let mut a = Args::new(&["logs"]);
    if follow {
        a = a.arg("--follow");
    }
    if let Some(n) = tail {
        a = a.opt("--tail", n.to_string());
    }
    a.arg(name).done()
}

/// `events --filter type=container --filter label=bottle.role=bundle --since S --format '{{json .}}'`:
/// every bundle's events, one JSON object per line, from `since` (seconds since the Unix epoch,
/// with nanoseconds, as both docker and podman read it), so nothing that happens while the engine
/// sets up its stream is missed. Both engines AND filters of different keys; one `label=` filter
/// per slug would AND too, so slugs and prefixes are told apart by bottle itself.
pub fn events(since: std::time::Duration) -> Vec<OsString> {
    Args::new(&["events"])
        .opt("--filter", "type=container")
        .opt("--filter", format!("label={LABEL_ROLE}={ROLE_BUNDLE}"))
        .opt(
            "--since",
            format!("{}.{:09}", since.as_secs(), since.subsec_nanos()),
        )
        .opt("--format", JSON_FORMAT)
        .done()
}

/// `version --format '{{json .}}'`: the engine's client and server versions.
pub fn version() -> Vec<OsString> {
    Args::new(&["version", "--format", JSON_FORMAT]).done()
}

/// `info --format '{{.NCPU}}'`: how many CPUs the engine's host has (docker refuses a `--cpus`
/// above it), asked before a replace with a CPU limit removes the old bundle.
pub fn info_ncpu() -> Vec<OsString> {
    Args::new(&["info", "--format", "{{.NCPU}}"]).done()
}

/// `image inspect --format '{{json .Config.Env}}' IMG`: the environment an image sets itself, so
/// `bottle logs` can tell it from the values given to `up`.
pub fn image_env(image: &str) -> Vec<OsString> {
    Args::new(&["image", "inspect", "--format", "{{json .Config.Env}}"])
        .arg(image)
        .done()
}

/// `build --tag IMG [--file F] CONTEXT`.
pub fn build(req: &Build<'_>) -> Vec<OsString> {
    let mut a = Args::new(&["build"]).opt("--tag", req.tag);
    if let Some(f) = req.dockerfile {
        a = a.opt("--file", f);
    }
    a.arg(req.context).done()
}

/// The labels of a bottle's network. `run` is the creating invocation's ID.
pub fn network_labels(slug: &str, candidate: &Candidate, run: &str) -> Labels {
    Labels::from([
        (LABEL_ROLE.to_string(), ROLE_NETWORK.to_string()),
        (LABEL_RUN.to_string(), run.to_string()),
        (LABEL_SLUG.to_string(), slug.to_string()),
        (LABEL_SUBNET.to_string(), candidate.subnet.to_string()),
    ])
}

/// A bottle's lease, as its bundle's labels record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// When it expires: RFC 3339, UTC, whole seconds.
    pub expires: String,
    /// The `--ttl` it was made with, in seconds.
    pub ttl: u64,
}

/// The labels of a named volume bottle creates for the bottle `slug` of `prefix`: `down --volumes`
/// removes exactly the volumes that carry them.
pub fn volume_labels(prefix: &str, slug: &str) -> Labels {
    Labels::from([
        (LABEL_PREFIX.to_string(), prefix.to_string()),
        (LABEL_ROLE.to_string(), ROLE_VOLUME.to_string()),
        (LABEL_SLUG.to_string(), slug.to_string()),
    ])
}

/// The labels of a bottle's bundle. `run` is the creating invocation's ID. Of the env only the
/// keys go in (bare and `KEY=VALUE` alike): a label is in argv, and a value never is.
pub fn bundle_labels(
    slug: &str,
    spec_digest: &str,
    spec: &Spec,
    run: &str,
    lease: Option<&Lease>,
) -> Labels {
    let keys: Vec<&str> = spec.env.keys().map(|k| k.as_str()).collect();
    let parts: Vec<String> = spec
        .part_digests()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let limits = spec.limits.label();
    let limits = (!limits.is_empty()).then(|| (LABEL_LIMITS.to_string(), limits));
    let mut labels = Labels::from([
        (LABEL_PARTS.to_string(), parts.join(",")),
        (LABEL_ENV.to_string(), keys.join(",")),
        (LABEL_ROLE.to_string(), ROLE_BUNDLE.to_string()),
        (LABEL_RUN.to_string(), run.to_string()),
        (LABEL_SLUG.to_string(), slug.to_string()),
        (LABEL_SPEC.to_string(), spec_digest.to_string()),
    ]);
    labels.extend(limits);
    if let Some(lease) = lease {
        labels.insert(LABEL_EXPIRES.to_string(), lease.expires.clone());
        labels.insert(LABEL_TTL.to_string(), lease.ttl.to_string());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_change_argv() {
        insta::assert_debug_snapshot!(stop("c1", None), @r#"
        [
            "stop",
            "c1",
        ]
        "#);
        insta::assert_debug_snapshot!(stop("c1", Some(2)), @r#"
        [
            "stop",
            "-t",
            "2",
            "c1",
        ]
        "#);
        insta::assert_debug_snapshot!(restart("c1", Some(0)), @r#"
        [
            "restart",
            "-t",
            "0",
            "c1",
        ]
        "#);
        insta::assert_debug_snapshot!(restart("c1", None), @r#"
        [
            "restart",
            "c1",
        ]
        "#);
        insta::assert_debug_snapshot!(pause("c1"), @r#"
        [
            "pause",
            "c1",
        ]
        "#);
        insta::assert_debug_snapshot!(info_ncpu(), @r#"
        [
            "info",
            "--format",
            "{{.NCPU}}",
        ]
        "#);
    }

    /// The lease and the parts are labels: the expiry is an input, never the clock.
    #[test]
    fn bundle_labels_with_a_lease() {
        let spec = crate::Spec::builder("img:1").publish(80).build().unwrap();
        let lease = Lease {
            expires: "2026-12-07T03:00:00Z".into(),
            ttl: 60,
        };
        let labels = bundle_labels("demo", "d", &spec, "r", Some(&lease));
        insta::assert_debug_snapshot!(labels, @r#"
        {
            "bottle.env": "",
            "bottle.expires": "2026-12-07T03:00:00Z",
            "bottle.parts": "daemons=46aa07bc,env=44136fa3,image=55aad34a,publish=54c2bbec,publish_ip=88270499,volumes=4f53cda1",
            "bottle.role": "bundle",
            "bottle.run": "r",
            "bottle.slug": "demo",
            "bottle.spec": "d",
            "bottle.ttl": "60",
        }
        "#);
        assert!(!bundle_labels("demo", "d", &spec, "r", None).contains_key(LABEL_EXPIRES));
    }

    /// Issue 16: the named-volume verbs, each argv as it runs.
    #[test]
    fn volume_verbs() {
        let labels = volume_labels("bot-bottle", "demo");
        insta::assert_debug_snapshot!("volume_create", volume_create("agent-data", &labels));
        insta::assert_debug_snapshot!(
            "volume_ls",
            volume_ls(&[
                Filter::Label(LABEL_ROLE, ROLE_VOLUME),
                Filter::Label(LABEL_PREFIX, "bot-bottle"),
                Filter::Label(LABEL_SLUG, "demo"),
            ])
        );
        insta::assert_debug_snapshot!("volume_inspect", volume_inspect(&["a", "b"]));
        insta::assert_debug_snapshot!("volume_rm", volume_rm("agent-data"));
    }

    /// The one argv of `bottle events`, with its start time an input.
    #[test]
    fn events_argv() {
        let since = std::time::Duration::new(1_796_609_879, 378_553);
        insta::assert_debug_snapshot!(events(since), @r#"
        [
            "events",
            "--filter",
            "type=container",
            "--filter",
            "label=bottle.role=bundle",
            "--since",
            "1796609879.000378553",
            "--format",
            "{{json .}}",
        ]
        "#);
    }
}
