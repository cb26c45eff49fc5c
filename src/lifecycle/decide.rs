//! Deciding, apart from doing: what `up`, `down`, `gc` and the rollback do next, as pure functions
//! of what the engine showed, this run's identity and the spec.
//!
//! **Architecture Invariant:** nothing here runs a command, reads the environment or a clock. The
//! effectful modules observe, call one of these functions, and apply its answer. Each function is
//! tested as a table below, without the fake engine.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
use serde::Serialize;

use crate::argv::{LABEL_EXPIRES, LABEL_LIMITS, LABEL_TTL, Lease};
use crate::classify::Class;
use crate::limits::Limits;
use crate::model::{Container, Network};
use crate::subnet;

/// What `up` did, as `up --json` reports it in `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// This run created the bundle (and the network, if it was missing).
    Created,
    /// The bundle was already running as asked; nothing changed.
    Kept,
    /// A bundle with another spec was removed and a new one run; `reason` says what changed.
    Replaced,
    /// A stopped or paused bundle with the same spec was started or unpaused.
    Started,
}

impl Action {
    /// The action as `up --json` names it: `created`, `kept`, `replaced` or `started`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Kept => "kept",
            Action::Replaced => "replaced",
            Action::Started => "started",
        }
    }
}

/// What `up` wants the bundle to be.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub slug: &'a str,
    /// The `bottle.spec` digest.
    pub digest: &'a str,
    pub image: &'a str,
    pub ports: &'a BTreeSet<crate::endpoints::PortKey>,
    /// The bottle's network name, and the pinned address on it.
    pub network: &'a str,
    pub ip: Ipv4Addr,
    /// This run's `bottle.run` label.
    pub run: &'a str,
    /// The short digest of each part of the spec, as the `bottle.parts` label records it.
    pub parts: &'a BTreeMap<String, String>,
    /// The spec's memory, CPU and pids limits.
    pub limits: Limits,
}

/// What `up` does with a bundle it found under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleStep {
    /// Running (or restarting) with the same spec: report it.
    Keep,
    /// Stopped with the same spec: `start` it.
    Start,
    /// Paused with the same spec: `unpause` it.
    Unpause,
    /// Another `up` of the same spec is between create and start: wait for it, then look again.
    /// Never removed: it is a peer's, and it is what this run would make.
    AwaitPeer,
    /// The engine is removing it: wait until it is gone, then run ours.
    AwaitRemoval,
    /// The engine is stopping it (podman's `stopping`, a stop waiting out its grace period; its
    /// port proxies still listen): wait until the stop ends, then look again. Never started,
    /// kept or replaced while it stops: a replace would find its recorded ports still held.
    AwaitStop,
    /// Another spec: make sure the new bundle can run, then remove this one and run ours.
    Replace { reason: ReplaceReason },
    /// Not bottle's: refuse, touch nothing.
    Refuse,
}

/// Why `up` replaced a bundle: the part of the spec that changed, or what was wrong with the
/// bundle. Its `Display` (and its JSON, `up --json`'s `reason`) is the CLI's phrase, e.g.
/// `image (was `old:1`)` or `published ports`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplaceReason {
    /// Another image; `was` is the one the old bundle ran, as the engine reported it.
    Image {
        /// The old bundle's image.
        was: String,
    },
    /// The old bundle carried no `bottle.spec` label, so nothing says what it runs.
    Unlabelled,
    /// Other published ports.
    Ports,
    /// The network was re-created on another subnet, so the bundle's pinned address changed.
    Address,
    /// The same keys, other values for some env variables.
    EnvValues,
    /// Something else in the spec: env keys, volumes, daemons, publish IP or ports.
    Spec,
    /// Other resource limits; `changed` names each that differs (`cpus`, `memory`,
    /// `pids_limit`), from the old bundle's `bottle.limits` label.
    Limits {
        /// The limits that changed, in name order.
        changed: Vec<String>,
    },
    /// The bundle was in a state bottle does not restart, such as `dead`.
    State {
        /// The engine's state.
        state: String,
    },
    /// `--publish-ip auto`: its loopback address was published by an older bottle's bundle.
    LoopbackTaken,
    /// These parts of the spec changed, exactly (from the bundle's `bottle.parts` label; a
    /// bundle made before that label gets one of the reasons above instead).
    Changed {
        /// The parts that differ, in the spec's order.
        fields: Vec<SpecField>,
    },
}

/// A part of the bundle's spec, as a replace names it ([`ReplaceReason::Changed`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SpecField {
    /// The image.
    Image,
    /// The daemons it starts.
    Daemons,
    /// The env keys (or whether a key's value is given or inherited); values are compared apart
    /// ([`ReplaceReason::EnvValues`]).
    EnvKeys,
    /// The bind mounts.
    Volumes,
    /// The address ports are published on (or `auto` and its pool).
    PublishIp,
    /// The published ports.
    Ports,
    /// A resource limit, by its name (`cpus`, `memory`, `pids_limit`).
    Limit(String),
    /// A part this version of bottle has no name for (recorded by a newer one), by its key.
    Other(String),
}

impl SpecField {
    /// The part as the `bottle.parts` label keys it.
    fn from_key(key: &str) -> SpecField {
        match key {
            "image" => SpecField::Image,
            "daemons" => SpecField::Daemons,
            "env" => SpecField::EnvKeys,
            "volumes" => SpecField::Volumes,
            "publish_ip" => SpecField::PublishIp,
            "publish" => SpecField::Ports,
            other => SpecField::Other(other.to_string()),
        }
    }

    /// Its name in `up --json`'s `changed`: `image`, `daemons`, `env_keys`, `volumes`,
    /// `publish_ip`, `ports`, or the label's own key for one this version does not name.
    pub fn as_str(&self) -> &str {
        match self {
            SpecField::Image => "image",
            SpecField::Daemons => "daemons",
            SpecField::EnvKeys => "env_keys",
            SpecField::Volumes => "volumes",
            SpecField::PublishIp => "publish_ip",
            SpecField::Ports => "ports",
            SpecField::Limit(name) => name,
            SpecField::Other(key) => key,
        }
    }
}

/// As a person reads it: `image`, `env keys`, `publish IP`, `ports`, ….
impl std::fmt::Display for SpecField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SpecField::EnvKeys => "env keys",
            SpecField::PublishIp => "publish IP",
            other => other.as_str(),
        })
    }
}

impl serde::Serialize for SpecField {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ReplaceReason {
    /// The parts of the spec that changed, when the bundle recorded them
    /// ([`ReplaceReason::Changed`]); empty otherwise.
    pub fn fields(&self) -> &[SpecField] {
        match self {
            ReplaceReason::Changed { fields } => fields,
            _ => &[],
        }
    }
}

/// The parts whose short digests differ between the bundle's `bottle.parts` label and `wanted`,
/// or `None` when the bundle has no such label (made by an older bottle). A part only one side
/// has counts as changed.
pub fn changed_parts(
    label: Option<&str>,
    wanted: &BTreeMap<String, String>,
) -> Option<Vec<SpecField>> {
    let found: BTreeMap<&str, &str> = label?
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let keys: BTreeSet<&str> = found
        .keys()
        .copied()
        .chain(wanted.keys().map(String::as_str))
        .collect();
    let mut fields: Vec<SpecField> = keys
        .into_iter()
        .filter(|k| found.get(k).copied() != wanted.get(*k).map(String::as_str))
        .map(SpecField::from_key)
        .collect();
    fields.sort();
    Some(fields)
}

impl std::fmt::Display for ReplaceReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplaceReason::Image { was } => write!(f, "image (was `{was}`)"),
            ReplaceReason::Unlabelled => f.write_str("spec (the bundle has no spec label)"),
            ReplaceReason::Ports => f.write_str("published ports"),
            ReplaceReason::Address => {
                f.write_str("address (the network was re-created on another subnet)")
            }
            ReplaceReason::EnvValues => f.write_str("environment values"),
            ReplaceReason::Spec => {
                f.write_str("spec (env keys, volumes, daemons, publish IP or ports)")
            }
            ReplaceReason::Limits { changed } => write!(f, "limits ({})", changed.join(", ")),
            ReplaceReason::State { state } => write!(f, "the bundle is `{state}`"),
            ReplaceReason::LoopbackTaken => {
                f.write_str("its loopback address was published by an older bottle's bundle")
            }
            ReplaceReason::Changed { fields } => {
                // The limits together, as `limits (cpus, memory)`, the way a replace of a bundle
                // without parts names them.
                let limits: Vec<&str> = fields
                    .iter()
                    .filter_map(|f| match f {
                        SpecField::Limit(name) => Some(name.as_str()),
                        _ => None,
                    })
                    .collect();
                let mut names: Vec<String> = fields
                    .iter()
                    .filter(|f| !matches!(f, SpecField::Limit(_)))
                    .map(ToString::to_string)
                    .collect();
                if !limits.is_empty() {
                    names.push(format!("limits ({})", limits.join(", ")));
                }
                f.write_str(&names.join(", "))
            }
        }
    }
}

/// As its phrase, the string `up --json` has always printed.
impl serde::Serialize for ReplaceReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Decide what to do with `found`. `env_matches` is whether its environment holds the values the
/// spec asks for (compared outside, since it reads bottle's own environment). `waited` is true once
/// this run has waited its bound for a peer; a bundle still `created` after that is started.
pub fn bundle_step(
    w: &Wanted<'_>,
    found: &Container,
    env_matches: bool,
    waited: bool,
) -> BundleStep {
    if !found.is_bundle_of(w.slug) {
        return BundleStep::Refuse;
    }
    if found.state == "removing" {
        return BundleStep::AwaitRemoval;
    }
    if found.state == "stopping" {
        return BundleStep::AwaitStop;
    }
    if let Some(reason) = difference(w, found, env_matches) {
        return BundleStep::Replace { reason };
    }
    match found.state.as_str() {
        "running" | "restarting" => BundleStep::Keep,
        "paused" => BundleStep::Unpause,
        "created" if !found.created_by(w.run) && !waited => BundleStep::AwaitPeer,
        // podman's `stopped` is `exited` before its cleanup (the docker API shows it too, right
        // after a stop): a stopped bottle, started, never replaced.
        "created" | "exited" | "stopped" => BundleStep::Start,
        // `dead`, or a state this version does not know: a new bundle is the safe way back.
        state => BundleStep::Replace {
            reason: ReplaceReason::State {
                state: state.to_string(),
            },
        },
    }
}

/// Which part of the spec the found bundle differs in, or `None` if it is what `w` asks for.
///
/// The `bottle.spec` digest decides; the other comparisons only name the part that changed, from
/// what the engine shows of the bundle.
pub fn difference(w: &Wanted<'_>, found: &Container, env_matches: bool) -> Option<ReplaceReason> {
    // A bundle that has not started (or has stopped) shows no address yet: not a difference.
    let at_ip = found
        .networks
        .get(w.network)
        .is_some_and(|a| a.is_empty() || *a == w.ip.to_string());
    if found.spec_digest() == Some(w.digest) && env_matches && at_ip {
        return None;
    }
    // Ports the image only EXPOSEs are listed with no binding: they are not published.
    let found_ports: BTreeSet<crate::endpoints::PortKey> = found
        .ports
        .iter()
        .filter(|(_, bindings)| !bindings.is_empty())
        .map(|(port, _)| *port)
        .collect();
    let limits_changed = w
        .limits
        .changed_from(found.labels.get(LABEL_LIMITS).map_or("", String::as_str));
    // A bundle that recorded its parts names exactly the ones that changed; the limits part by
    // the limits themselves (`memory`, `cpus`, `pids_limit`), from their own label.
    let parts = found
        .labels
        .get(crate::argv::LABEL_PARTS)
        .map(String::as_str);
    if found.spec_digest() != Some(w.digest)
        && let Some(mut fields) = changed_parts(parts, w.parts).filter(|f| !f.is_empty())
    {
        let limits = SpecField::Other("limits".to_string());
        if fields.contains(&limits) && !limits_changed.is_empty() {
            fields.retain(|f| *f != limits);
            fields.extend(
                limits_changed
                    .iter()
                    .map(|l| SpecField::Limit(l.to_string())),
            );
        }
        return Some(ReplaceReason::Changed { fields });
    }
    let reason = if short_image(&found.image) != short_image(w.image) {
        ReplaceReason::Image {
            was: found.image.clone(),
        }
    } else if found.spec_digest().is_none() {
        ReplaceReason::Unlabelled
    } else if found_ports != *w.ports && found.state == "running" {
        ReplaceReason::Ports
    } else if !at_ip {
        ReplaceReason::Address
    } else if !limits_changed.is_empty() {
        ReplaceReason::Limits {
            changed: limits_changed.into_iter().map(str::to_string).collect(),
        }
    } else if found.spec_digest() == Some(w.digest) {
        ReplaceReason::EnvValues
    } else {
        ReplaceReason::Spec
    };
    Some(reason)
}

/// An image reference without the default registry prefixes engines add when they report it
/// (podman: `localhost/NAME`, docker: `docker.io/library/NAME`).
fn short_image(image: &str) -> &str {
    ["localhost/", "docker.io/library/", "docker.io/"]
        .iter()
        .find_map(|p| image.strip_prefix(p))
        .unwrap_or(image)
}

/// Which of the networks named like the bottle's to keep, and which empty duplicates to remove.
/// Engines before 25 allow several networks of one name when two creates race.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkChoice {
    pub keep: usize,
    pub remove: Vec<usize>,
}

/// Keep the network the bundle is on, else the lowest ID, so racing processes agree; remove the
/// empty others. `None` when there is none. Every network must already be known to be ours.
pub fn choose_network(networks: &[Network], bundle_id: Option<&str>) -> Option<NetworkChoice> {
    let on_bundle = networks
        .iter()
        .position(|n| bundle_id.is_some_and(|id| n.containers.contains_key(id)));
    let lowest = (0..networks.len()).min_by(|&a, &b| networks[a].id.cmp(&networks[b].id));
    let keep = on_bundle.or(lowest)?;
    let remove = (0..networks.len())
        .filter(|&i| i != keep && networks[i].containers.is_empty())
        .collect();
    Some(NetworkChoice { keep, remove })
}

/// The subnet a kept network stands for: the one bottle recorded, else the engine's first.
pub fn network_subnet(n: &Network) -> Option<Ipv4Network> {
    n.recorded_subnet().or_else(|| n.subnets.first().copied())
}

/// What to do after `network create` refused a candidate with something other than "exists".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterRefusal {
    /// A network of our name is listed: a racer made it; use it.
    Exists,
    /// The candidate is taken: try the next one that overlaps none of these.
    Next,
    /// The engine said "overlap" but no listed network explains it: a racer's network may not be
    /// listed yet. Look the name up again before moving on.
    LookAgain,
    /// The engine tripped over a passing host state (podman: an interface that vanished while it
    /// listed the host's addresses): try the same candidate once more.
    Retry,
    /// A real error: report the engine's answer.
    Fail,
}

pub fn after_refusal(
    class: Class,
    candidate: Ipv4Network,
    taken: &[Ipv4Network],
    ours_listed: bool,
    looked_again: bool,
) -> AfterRefusal {
    if ours_listed {
        return AfterRefusal::Exists;
    }
    if taken.iter().any(|t| subnet::overlaps(*t, candidate)) {
        return AfterRefusal::Next;
    }
    match (class, looked_again) {
        (Class::SubnetOverlap, false) => AfterRefusal::LookAgain,
        (Class::SubnetOverlap, true) => AfterRefusal::Next,
        (Class::InterfaceVanished, false) => AfterRefusal::Retry,
        _ => AfterRefusal::Fail,
    }
}

/// What `up` does after its `run` was refused and it looked at the bottle again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRun {
    /// Decide from what the look shows, as every round does.
    Decide,
    /// The engine refused the bundle's name as in use, yet the look shows no container by it:
    /// another process's create holds the name and has not finished. dockerd reserves a name
    /// first and shows the container only at the end of its create (moby `daemon/create.go`:
    /// `newContainer` reserves, `Register` comes after the layers are made), which under load
    /// outlasts every round of the loop. Wait for a container to show under the name.
    AwaitName,
    /// Already waited for the name in vain, and the engine still refuses it with nothing
    /// showing: say so rather than run again.
    NameHeld,
}

/// Judge a refused `run` (`class`) by the look that followed it: whether it shows a bundle under
/// the name, and whether this run has already waited its bound for one to show, in vain.
pub fn after_run(class: Class, shown: bool, waited_in_vain: bool) -> AfterRun {
    match (class, shown, waited_in_vain) {
        (Class::NameConflict, false, false) => AfterRun::AwaitName,
        (Class::NameConflict, false, true) => AfterRun::NameHeld,
        _ => AfterRun::Decide,
    }
}

/// What this run may have created, so a failure or an interrupt can take it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Made {
    #[default]
    Nothing,
    /// The create finished but printed no ID (podman's `network create` prints the name; a failed
    /// `run` may print nothing): one lookup by name and this run's `bottle.run` label settles it.
    Pending,
    /// The create was cut short by a signal or a timeout: the daemon may still be making the
    /// object, so the rollback looks until it shows up (bounded).
    Cut,
    Id(String),
}

impl Made {
    /// From what a create printed on stdout: the last 64-hex-digit word, if any.
    pub fn from_stdout(stdout: &str) -> Made {
        let id = stdout
            .split_whitespace()
            .rev()
            .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()));
        id.map_or(Made::Pending, |id| Made::Id(id.to_string()))
    }
}

/// What the rollback does with a network this run may have made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkRollback {
    /// Remove it by this ID.
    Remove(String),
    /// Leave it: another run's bundle is on it (a peer adopted it), or it is not this run's.
    Leave,
}

/// `found`: the networks of our name as the engine shows them now. `ours_removed`: the ID of the
/// bundle this rollback removed, if any (the engine may still list it as attached).
pub fn network_rollback(
    made: &Made,
    found: &[Network],
    slug: &str,
    run: &str,
    ours_removed: Option<&str>,
) -> Vec<NetworkRollback> {
    let mine = |n: &Network| match made {
        Made::Nothing => false,
        Made::Id(id) => n.id == *id,
        Made::Pending | Made::Cut => n.is_network_of(slug) && n.created_by(run),
    };
    found
        .iter()
        .filter(|n| mine(n))
        .map(|n| {
            let peers = n
                .containers
                .keys()
                .any(|id| Some(id.as_str()) != ours_removed);
            match peers {
                true => NetworkRollback::Leave,
                false => NetworkRollback::Remove(n.id.clone()),
            }
        })
        .collect()
}

/// A bundle left `created` for longer than this is not a peer's `up` between create and start
/// (that takes a second or two, ten under heavy load), but the leftover of a run that died there
/// (a second signal during `run`, a kill, a reboot): `up` starts it without waiting, and `gc` may
/// remove it. Generous, since the engine's clock (a remote one) may differ from ours.
pub const STALE_CREATED: i64 = 30;

/// Whether `b` is a `created` bundle older than [`STALE_CREATED`] at `now` (seconds since the
/// epoch). An unreadable creation time counts as fresh: waiting is the safe side.
pub fn stale_created(b: &Container, now: i64) -> bool {
    b.state == "created" && created_time(&b.created).is_some_and(|(t, _)| now - t > STALE_CREATED)
}

/// An RFC 3339 time as engines print `Created` (`2026-11-23T11:31:12.123456789Z`, or with a
/// `+01:00` offset): seconds since the Unix epoch and nanoseconds. `None` if unreadable.
pub fn created_time(text: &str) -> Option<(i64, u32)> {
    let num = |s: &str| -> Option<i64> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (date, rest) = text.split_once('T')?;
    let mut ymd = date.splitn(3, '-');
    let (y, m, d) = (num(ymd.next()?)?, num(ymd.next()?)?, num(ymd.next()?)?);
    let clock = rest.get(..8)?;
    let mut hms = clock.splitn(3, ':');
    let (hh, mm, ss) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    let after = &rest[8..];
    let fraction = after.strip_prefix('.').map_or("", |f| {
        &f[..f.bytes().take_while(u8::is_ascii_digit).count()]
    });
    // Engines cut trailing zeros (`.5`): pad to nanoseconds; more than nine digits are cut.
    let nanos: u32 = format!("{:0<9}", &fraction[..fraction.len().min(9)])
        .parse()
        .ok()?;
    let zone = after.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (num(&z[1..3])? * 3600 + num(&z[4..6])? * 60)
        }
        _ => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss - offset, nanos))
}

/// Bundle states `gc` leaves alone: such a bundle is somebody's, not a leftover (a `created` one
/// only while it is not [stale](stale_created)).
pub const LIVE_STATES: &[&str] = &["running", "paused", "restarting", "created", "removing"];

/// A stopped bottle's bundle states: docker's `exited`, and podman's `stopping` (a stop waiting
/// out its grace period: the processes still run, and podman's plain `rm` removes it all the
/// same) and `stopped` (between a stop and its cleanup, which may never fire; podman issue 17728
/// shows it through the docker API too).
const STOPPED_STATES: &[&str] = &["exited", "stopping", "stopped"];

/// Whether `gc` leaves a bundle alone at `now`: in a live state or stopped ([`STOPPED_STATES`]),
/// not a dead run's stale `created` leftover, and with no lease that has passed.
///
/// A stopped bundle is a stopped bottle, not a leftover: `bottle stop`, an engine restart and a
/// service that ended all leave it `exited`, and the engine shows nothing that tells them apart
/// (no label can be added to a container, and neither engine shows whether a stop was asked
/// for). Removing it would take its `bottle.endpoints` record with it, and the next `up` could
/// choose other ports. `down` removes it; a lease (`up --ttl`) bounds a crashed launcher's.
fn is_live(b: &Container, now: i64) -> bool {
    let state = b.state.as_str();
    let kept = LIVE_STATES.contains(&state) || STOPPED_STATES.contains(&state);
    kept && !stale_created(b, now) && !lease_passed(b, now)
}

/// Whether `b`'s lease (its `bottle.expires` label) has passed at `now` (seconds since the
/// epoch): `gc` then removes it whatever its state. No lease, or an unreadable one, never passes.
pub fn lease_passed(b: &Container, now: i64) -> bool {
    lease_of(b).is_some_and(|l| created_time(&l.expires).is_some_and(|(t, _)| t <= now))
}

/// Why `up` of `b` is refused when its lease has passed at `now`: `gc` may remove the bottle at
/// any moment, so an `up` that exits 0 would report a bottle about to go. `None` while the lease
/// runs (or without one).
pub fn lease_expired(b: &Container, now: i64) -> Option<String> {
    lease_passed(b, now).then(|| {
        let expires = lease_of(b).map(|l| l.expires).unwrap_or_default();
        format!("its lease passed at {expires}, and `gc` removes it")
    })
}

/// The lease `b`'s labels record, if any.
pub fn lease_of(b: &Container) -> Option<Lease> {
    let expires = b.labels.get(LABEL_EXPIRES)?.clone();
    let ttl = b.labels.get(LABEL_TTL)?.parse().ok()?;
    Some(Lease { expires, ttl })
}

/// The lease a bundle that `up` runs is given: the one the bundle it replaces had (a lease is
/// fixed when the bottle is made, so a replace keeps it), else `ttl` seconds from `now`.
pub fn lease_for(ttl: Option<u64>, replaced: Option<Lease>, now: i64) -> Option<Lease> {
    replaced.or_else(|| {
        ttl.map(|ttl| Lease {
            expires: rfc3339(now.saturating_add(ttl as i64)),
            ttl,
        })
    })
}

/// Why `up` asking for a lease of `wanted` seconds (if it asks for one) cannot keep the bottle
/// whose bundle has `found`: a lease is fixed at creation, and another one would need a new
/// bundle, which `up` does not make for it. `None`: no conflict.
pub fn lease_conflict(wanted: Option<u64>, found: Option<&Lease>) -> Option<String> {
    let wanted = wanted?;
    match found {
        Some(l) if l.ttl == wanted => None,
        Some(l) => Some(format!(
            "its lease was fixed when it was made ({} s, expiring {}), and a lease of {wanted} s would need a new bundle",
            l.ttl, l.expires
        )),
        None => Some(format!(
            "it was made without a lease, and a lease of {wanted} s would need a new bundle"
        )),
    }
}

/// `secs` since the Unix epoch as RFC 3339 in UTC, whole seconds (`2026-12-07T03:00:00Z`): the
/// inverse of [`created_time`] for such times (Howard Hinnant's civil-from-days).
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// What a refused `rm` means, judged by the container as a look after it shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRm {
    /// The container is gone: removed, whoever did it.
    Gone,
    /// Another process is removing it: look again after a pause.
    Wait,
    /// `rm` without `--force` (`gc`) refused a live container: it stays, the bottle is live again.
    Kept,
    /// A real error: report the engine's answer.
    Fail,
}

/// `rm` was refused (`class`), and a look shows the container's `state` (`None`: gone). One
/// in state `removing` is waited for; so is one whose refusal said another removal is in
/// progress, whatever state it shows: docker reports a container that a racing `rm --force` is
/// still killing as `running` or `exited` (the removal flag shows only in some states), and a
/// look may come before the daemon's view says `removing`. Waiting stops at the deadline
/// (`time_left`), so a removal that never ends is reported with the engine's words.
pub fn after_rm(class: Class, force: bool, state: Option<&str>, time_left: bool) -> AfterRm {
    let Some(state) = state else {
        return AfterRm::Gone;
    };
    let removing = state == "removing" || class == Class::RemovalInProgress;
    if removing && time_left {
        return AfterRm::Wait;
    }
    if !force && LIVE_STATES.contains(&state) {
        return AfterRm::Kept;
    }
    AfterRm::Fail
}

/// What a refused `network rm` means, judged by a look at the network by ID after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterNetworkRm {
    /// The network is gone: removed, whoever did it.
    Gone,
    /// It was refused as in use, but nothing is attached any more (the last container, another
    /// `down`'s removal, left between the refusal and the look): run `network rm` again.
    Again,
    /// Containers are attached: name them.
    Attached,
    /// A real error: report the engine's answer.
    Fail,
}

/// `network rm` was refused (`class`); `attached` is how many containers a look by ID shows on
/// the network now (`None`: the network is gone). A "not found" or "in use" is only a hint: the
/// look decides. `tries_left` bounds the retries of an emptied network.
pub fn after_network_rm(class: Class, attached: Option<usize>, tries_left: bool) -> AfterNetworkRm {
    match (class, attached) {
        (Class::NotFound | Class::InUse, None) => AfterNetworkRm::Gone,
        (Class::InUse, Some(0)) if tries_left => AfterNetworkRm::Again,
        (Class::InUse, Some(n)) if n > 0 => AfterNetworkRm::Attached,
        _ => AfterNetworkRm::Fail,
    }
}

/// What `gc` does with one listed bottle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcStep {
    /// Leave it: live, or not entirely bottle's.
    Skip,
    /// Remove the bundle (if given), the strays (by index), then these networks.
    Remove {
        bundle: Option<usize>,
        strays: Vec<usize>,
        networks: Vec<usize>,
    },
}

/// `gc` removes bundles that are not live, strays whatever their state (see [`is_stray`]: no
/// bottle command reports them, so nothing else ever would), and networks with no live bundle; a
/// network with containers bottle did not start is left for `down` to explain.
pub fn gc_step(
    slug: &str,
    bundle: Option<&Container>,
    strays: &[Container],
    networks: &[Network],
    now: i64,
) -> GcStep {
    if bundle.is_some_and(|b| !b.is_bundle_of(slug))
        || networks.iter().any(|n| !n.is_network_of(slug))
    {
        return GcStep::Skip;
    }
    let live = bundle.is_some_and(|b| is_live(b, now));
    let ours = |id: &str| bundle.is_some_and(|b| b.id == id) || strays.iter().any(|s| s.id == id);
    let foreign = networks
        .iter()
        .any(|n| n.containers.keys().any(|id| !ours(id)));
    let step = GcStep::Remove {
        bundle: bundle.filter(|_| !live).map(|_| 0),
        strays: (0..strays.len()).collect(),
        networks: match live || foreign {
            true => Vec::new(),
            false => (0..networks.len()).collect(),
        },
    };
    match step {
        GcStep::Remove {
            bundle: None,
            ref strays,
            ref networks,
        } if strays.is_empty() && networks.is_empty() => GcStep::Skip,
        step => step,
    }
}

/// Whether `gc` may remove (or name as kept) anything of a bottle as the listing shows it: only
/// those are looked at again under the slug's lock, so a listing of healthy bottles costs no
/// command per bottle. A bottle the listing shows live (or not entirely bottle's) that an `up`
/// or a stop changes after the listing is this run's miss, never a removal of something live.
pub fn gc_may_remove(
    slug: &str,
    bundle: Option<&Container>,
    strays: &[Container],
    networks: &[Network],
    now: i64,
) -> bool {
    gc_step(slug, bundle, strays, networks, now) != GcStep::Skip
        || !gc_foreign(slug, bundle, strays, networks, now).is_empty()
}

/// The networks `gc` keeps only because containers bottle did not start are attached to them: each
/// network's index with those containers' names. Empty when the bottle is live or not entirely
/// bottle's (then `gc` leaves it for other reasons). `gc` says so, as `down` does, rather than keep
/// them silently.
pub fn gc_foreign(
    slug: &str,
    bundle: Option<&Container>,
    strays: &[Container],
    networks: &[Network],
    now: i64,
) -> Vec<(usize, Vec<String>)> {
    if bundle.is_some_and(|b| !b.is_bundle_of(slug))
        || networks.iter().any(|n| !n.is_network_of(slug))
        || bundle.is_some_and(|b| is_live(b, now))
    {
        return Vec::new();
    }
    let ours = |id: &str| bundle.is_some_and(|b| b.id == id) || strays.iter().any(|s| s.id == id);
    networks
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let foreign = n
                .containers
                .iter()
                .filter(|(id, _)| !ours(id))
                .map(|(_, name)| name.clone())
                .collect::<Vec<_>>();
            (i, foreign)
        })
        .filter(|(_, foreign)| !foreign.is_empty())
        .collect()
}

/// The keys of the `KEY=VALUE` entries `sent` through the env-file that the bundle's environment
/// (`KEY=VALUE` strings, as the engine records them) does not hold with that value. Non-empty
/// means the engine never read them: something (a wrapper) drained the pipe before it did.
pub fn unsent_env<'a>(
    sent: impl IntoIterator<Item = (&'a str, &'a str)>,
    env: &[String],
) -> Vec<&'a str> {
    sent.into_iter()
        .filter(|(key, value)| {
            !env.iter()
                .any(|e| e.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')) == Some(value))
        })
        .map(|(key, _)| key)
        .collect()
}

/// A stray: a container that carries the bundle labels of bottle `slug` and sits on its network
/// `network`, but is not named `bundle` (something other than bottle renamed it). It is still
/// bottle's: `down` and `gc` remove it, and `up` that finds its own bundle renamed fails.
pub fn is_stray(c: &Container, slug: &str, bundle: &str, network: &str) -> bool {
    c.is_bundle_of(slug) && c.name != bundle && c.networks.contains_key(network)
}

/// The containers on a bottle's network besides its bundle, as `down` sorts them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The IDs and names of bundles of this bottle: a racing `up`'s bundle that `down` did not
    /// see when it looked, or one renamed by something else. `down` removes them.
    pub ours: Vec<(String, String)>,
    /// Names of containers bottle did not start: `down` refuses while they are there.
    pub foreign: Vec<String>,
}

/// Sort what is on a network (`attached`: ID → name, as the engine lists it) by what the
/// containers are (`inspected`: the same IDs, as a `container inspect` shows them now). The
/// bundle `down` already holds is neither; a container gone since the listing is neither too. A
/// container carrying this slug's bundle labels is never foreign, whatever its name.
pub fn sort_attached(
    slug: &str,
    bundle_id: Option<&str>,
    attached: &BTreeMap<String, String>,
    inspected: &[Container],
) -> Attached {
    let mut out = Attached::default();
    for id in attached.keys().filter(|id| Some(id.as_str()) != bundle_id) {
        match inspected.iter().find(|c| c.id == *id) {
            Some(c) if c.is_bundle_of(slug) => out.ours.push((c.id.clone(), c.name.clone())),
            Some(c) => out.foreign.push(c.name.clone()),
            None => {}
        }
    }
    out
}

/// `--publish-ip auto`: the address a bottle publishes on. `keep` (the address its bundle already
/// has) wins while it is in `pool` and free; otherwise the lowest address of `pool` not in `taken`.
/// `None` when every address is taken.
pub fn pick_loopback(
    pool: Ipv4Network,
    taken: &BTreeSet<Ipv4Addr>,
    keep: Option<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    if let Some(ip) = keep.filter(|ip| pool.contains(*ip) && !taken.contains(ip)) {
        return Some(ip);
    }
    pool.iter().find(|ip| !taken.contains(ip))
}

/// After start, with other containers found on the same loopback address (a race another process
/// ran without our lock, or a foreign container started since the choice): whether ours keeps the
/// address. The container created first keeps it, ties broken by the lower ID, so every racer reaches the same verdict and exactly one stays.
/// Each bundle is `(Created, ID)` as the engine shows them.
pub fn keeps_loopback(ours: (&str, &str), others: &[(&str, &str)]) -> bool {
    // An unreadable time sorts last: such a bundle never wins against a readable one.
    fn key<'a>((created, id): (&str, &'a str)) -> ((i64, u32), &'a str) {
        (created_time(created).unwrap_or((i64::MAX, 0)), id)
    }
    let mine = key(ours);
    others.iter().all(|o| key(*o) > mine)
}

/// A change of a bottle's state that a user asks for by name: `bottle stop`, `start`,
/// `restart`, `pause`, `unpause` ([`crate::Bottles::stop`] and its siblings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Stop the bundle (its network stays).
    Stop,
    /// Start a stopped bundle (or unpause a paused one).
    Start,
    /// Stop and start the bundle again, whatever state it is in.
    Restart,
    /// Freeze the bundle's processes.
    Pause,
    /// Thaw a paused bundle.
    Unpause,
}

impl Change {
    /// The command's name, `stop` … `unpause`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Stop => "stop",
            Change::Start => "start",
            Change::Restart => "restart",
            Change::Pause => "pause",
            Change::Unpause => "unpause",
        }
    }
}

/// One engine command of a [`Change`], on the bundle by ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Stop,
    Start,
    Restart,
    Pause,
    Unpause,
}

/// What a [`Change`] of a bundle in a state needs: the engine commands, in order (none: it is
/// already so), or a refusal saying why (the bundle is in a state the change cannot apply to).
///
/// Paused bundles are unpaused first: podman refuses to stop or restart a paused container (docker
/// does both), and one way for both engines is one behaviour to test.
pub fn change_ops(change: Change, state: &str) -> std::result::Result<Vec<ChangeOp>, String> {
    use ChangeOp as Op;
    let refuse = |why: &str| Err(format!("the bundle is `{state}`{why}"));
    match (change, state) {
        (_, "removing") => refuse(": it is being removed"),
        (Change::Stop, "running" | "restarting") => Ok(vec![Op::Stop]),
        (Change::Stop, "paused") => Ok(vec![Op::Unpause, Op::Stop]),
        (Change::Stop, _) => Ok(Vec::new()),
        (Change::Start | Change::Restart, "dead") => {
            refuse("; the engine cannot start it again, `up` with its spec replaces it")
        }
        (Change::Start, "created" | "exited") => Ok(vec![Op::Start]),
        (Change::Start, "paused") => Ok(vec![Op::Unpause]),
        (Change::Start, "running" | "restarting") => Ok(Vec::new()),
        (Change::Restart, "paused") => Ok(vec![Op::Unpause, Op::Restart]),
        (Change::Restart, "running" | "restarting" | "created" | "exited") => Ok(vec![Op::Restart]),
        (Change::Pause, "running") => Ok(vec![Op::Pause]),
        (Change::Pause, "paused") => Ok(Vec::new()),
        (Change::Pause, _) => refuse("; only a running bundle can be paused"),
        // Not paused is what `unpause` asks for, whatever else the bundle is.
        (Change::Unpause, "paused") => Ok(vec![Op::Unpause]),
        (Change::Unpause, _) => Ok(Vec::new()),
        (_, _) => refuse(", a state this version of bottle does not know"),
    }
}

/// Whether a bundle in `state` is where `change` leaves it: after an engine command failed, a
/// look decides (a racing `stop` or `down` may have done it first), never the failure's wording.
pub fn change_reached(change: Change, state: &str) -> bool {
    match change {
        Change::Stop => matches!(state, "exited" | "created" | "dead"),
        Change::Start | Change::Restart => state == "running",
        Change::Pause => state == "paused",
        Change::Unpause => state != "paused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// an_env_file_read_before_the_engine_gives_a_bundle_without_its_values (attack round 4).
    #[test]
    fn unsent_env_is_what_the_bundle_lacks() {
        #[track_caller]
        fn check(sent: &[(&str, &str)], env: &[&str], want: &[&str]) {
            let env: Vec<String> = env.iter().map(|e| e.to_string()).collect();
            assert_eq!(unsent_env(sent.iter().copied(), &env), want);
        }
        check(&[], &[], &[]);
        check(&[("L", "Lit")], &["PATH=/bin", "L=Lit"], &[]);
        check(&[("L", "Lit")], &["PATH=/bin"], &["L"]);
        check(&[("L", "Lit")], &["L=Lit2"], &["L"]);
        check(&[("L", "Lit")], &["LL=Lit", "XL=Lit"], &["L"]);
        check(&[("E", "")], &["E="], &[]);
        check(&[("E", "")], &[], &["E"]);
        check(&[("A", "1"), ("B", "2")], &["B=2"], &["A"]);
    }
    use crate::argv::{LABEL_ROLE, LABEL_RUN, LABEL_SLUG, LABEL_SPEC, LABEL_SUBNET};

    const NET: &str = "bot-bottle-bundle-demo";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A bundle of `demo`: state, spec digest, run, image, and its address on the network.
    fn bundle(state: &str, digest: &str, run: &str, image: &str, ip: &str) -> Container {
        Container {
            id: "c1".into(),
            name: "bot-bottle-sidecars-demo".into(),
            state: state.into(),
            health: None,
            image: image.into(),
            labels: labels(&[
                (LABEL_SLUG, "demo"),
                (LABEL_ROLE, "bundle"),
                (LABEL_SPEC, digest),
                (LABEL_RUN, run),
            ]),
            env: Default::default(),
            ports: BTreeMap::from([((8080, crate::model::Protocol::Tcp), vec![binding()])]),
            held: Default::default(),
            networks: BTreeMap::from([(NET.to_string(), ip.to_string())]),
            publish_ips: Default::default(),
            created: String::new(),
            pid: None,
            limits: Default::default(),
        }
    }

    fn binding() -> crate::model::PortBinding {
        crate::model::PortBinding {
            host_ip: "127.0.0.1".into(),
            host_port: 49153,
        }
    }

    fn wanted<'a>(ports: &'a BTreeSet<crate::endpoints::PortKey>) -> Wanted<'a> {
        Wanted {
            slug: "demo",
            digest: "d1",
            image: "img",
            ports,
            network: NET,
            ip: "10.0.0.2".parse().unwrap(),
            run: "me",
            parts: &NO_PARTS,
            limits: Limits::default(),
        }
    }

    static NO_PARTS: BTreeMap<String, String> = BTreeMap::new();

    #[track_caller]
    fn check_bundle(found: Container, env_ok: bool, waited: bool, want: BundleStep) {
        let ports = BTreeSet::from([(8080, crate::model::Protocol::Tcp)]);
        assert_eq!(
            bundle_step(&wanted(&ports), &found, env_ok, waited),
            want,
            "{found:?}"
        );
    }

    fn replace(reason: ReplaceReason) -> BundleStep {
        BundleStep::Replace { reason }
    }

    #[test]
    fn replace_reasons_read_as_before() {
        // `up --json`'s `reason` and the text line keep the strings they had as plain text.
        let table = [
            (
                ReplaceReason::Image { was: "old".into() },
                "image (was `old`)",
            ),
            (
                ReplaceReason::Unlabelled,
                "spec (the bundle has no spec label)",
            ),
            (ReplaceReason::Ports, "published ports"),
            (
                ReplaceReason::Address,
                "address (the network was re-created on another subnet)",
            ),
            (ReplaceReason::EnvValues, "environment values"),
            (
                ReplaceReason::Spec,
                "spec (env keys, volumes, daemons, publish IP or ports)",
            ),
            (
                ReplaceReason::State {
                    state: "dead".into(),
                },
                "the bundle is `dead`",
            ),
            (
                ReplaceReason::LoopbackTaken,
                "its loopback address was published by an older bottle's bundle",
            ),
        ];
        for (reason, text) in table {
            assert_eq!(reason.to_string(), text);
            assert_eq!(serde_json::to_value(&reason).unwrap(), text);
        }
    }

    /// A change of limits replaces the bundle, and the reason names the limits that changed,
    /// from the old bundle's `bottle.limits` label (issue 16).
    fn replace_names_the_limit_that_changed(ip: &str) {
        let ports = BTreeSet::from([(8080, crate::model::Protocol::Tcp)]);
        let mut w = wanted(&ports);
        w.limits = Limits {
            memory: Some(512 << 20),
            millicpus: Some(1500),
            pids: None,
        };
        let mut old = bundle("running", "d0", "peer", "img", ip);
        old.labels
            .insert(LABEL_LIMITS.into(), "cpus=2,memory=536870912".into());
        let reason = ReplaceReason::Limits {
            changed: vec!["cpus".into()],
        };
        assert_eq!(bundle_step(&w, &old, true, false), replace(reason.clone()));
        assert_eq!(reason.to_string(), "limits (cpus)");
        // Limits dropped: an old bundle with limits, a spec with none.
        let dropped = ReplaceReason::Limits {
            changed: vec!["cpus".into(), "memory".into()],
        };
        assert_eq!(
            bundle_step(&wanted(&ports), &old, true, false),
            replace(dropped)
        );
        // The same limits, something else changed: not the limits.
        old.labels
            .insert(LABEL_LIMITS.into(), "cpus=1.5,memory=536870912".into());
        assert_eq!(
            bundle_step(&w, &old, true, false),
            replace(ReplaceReason::Spec)
        );
    }

    #[test]
    fn bundle_steps() {
        let ip = "10.0.0.2";
        // Same spec, by state, ours or a peer's.
        check_bundle(
            bundle("running", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::Keep,
        );
        check_bundle(
            bundle("running", "d1", "me", "img", ip),
            true,
            false,
            BundleStep::Keep,
        );
        check_bundle(
            bundle("restarting", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::Keep,
        );
        check_bundle(
            bundle("paused", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::Unpause,
        );
        check_bundle(
            bundle("exited", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::Start,
        );
        check_bundle(
            bundle("created", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::AwaitPeer,
        );
        check_bundle(
            bundle("created", "d1", "peer", "img", ip),
            true,
            true,
            BundleStep::Start,
        );
        check_bundle(
            bundle("created", "d1", "me", "img", ip),
            true,
            false,
            BundleStep::Start,
        );
        // Not started yet: no address to compare.
        check_bundle(
            bundle("created", "d1", "peer", "img", ""),
            true,
            false,
            BundleStep::AwaitPeer,
        );
        check_bundle(
            bundle("removing", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::AwaitRemoval,
        );
        // podman's stopped-but-not-cleaned-up: started like `exited`
        // (up_of_a_stopping_podman_bottle_says_its_own_port_is_held_by_a_host_socket, whose
        // podman-socket path saw `stopped` after the stop and a replace).
        check_bundle(
            bundle("stopped", "d1", "peer", "img", ip),
            true,
            false,
            BundleStep::Start,
        );
        // podman's stop in its grace period, whatever the spec
        // (up_of_a_stopping_podman_bottle_says_its_own_port_is_held_by_a_host_socket).
        for digest in ["d1", "d0"] {
            check_bundle(
                bundle("stopping", digest, "peer", "img", ip),
                true,
                false,
                BundleStep::AwaitStop,
            );
        }
        check_bundle(
            bundle("dead", "d1", "peer", "img", ip),
            true,
            false,
            replace(ReplaceReason::State {
                state: "dead".into(),
            }),
        );
        // Another spec, whatever the state or owner: replaced, with the part that changed.
        check_bundle(
            bundle("created", "d0", "peer", "old", ip),
            true,
            false,
            replace(ReplaceReason::Image { was: "old".into() }),
        );
        check_bundle(
            bundle("running", "d1", "peer", "img", ip),
            false,
            false,
            replace(ReplaceReason::EnvValues),
        );
        check_bundle(
            bundle("running", "d1", "peer", "img", "10.9.9.2"),
            true,
            false,
            replace(ReplaceReason::Address),
        );
        check_bundle(
            bundle("running", "d0", "peer", "img", ip),
            true,
            false,
            replace(ReplaceReason::Spec),
        );
        let mut other_ports = bundle("running", "d0", "peer", "img", ip);
        other_ports.ports =
            BTreeMap::from([((9090, crate::model::Protocol::Tcp), vec![binding()])]);
        check_bundle(other_ports, true, false, replace(ReplaceReason::Ports));
        // A port the image only EXPOSEs (no binding) is not a published one: the reason is
        // elsewhere in the spec (here, say, the publish IP).
        let mut exposed = bundle("running", "d0", "peer", "img", ip);
        exposed
            .ports
            .insert((9999, crate::model::Protocol::Tcp), vec![]);
        check_bundle(exposed, true, false, replace(ReplaceReason::Spec));
        replace_names_the_limit_that_changed(ip);
        // Not bottle's: refused, even with a matching digest.
        let mut foreign = bundle("running", "d1", "peer", "img", ip);
        foreign.labels.remove(LABEL_ROLE);
        check_bundle(foreign, true, false, BundleStep::Refuse);
        let mut other_slug = bundle("running", "d1", "peer", "img", ip);
        other_slug.labels.insert(LABEL_SLUG.into(), "demo2".into());
        check_bundle(other_slug, true, false, BundleStep::Refuse);
    }

    fn network(id: &str, attached: &[&str], run: &str) -> Network {
        Network {
            id: id.into(),
            name: NET.into(),
            labels: labels(&[
                (LABEL_SLUG, "demo"),
                (LABEL_ROLE, "network"),
                (LABEL_RUN, run),
                (LABEL_SUBNET, "10.0.0.0/24"),
            ]),
            subnets: vec!["10.0.1.0/24".parse().unwrap()],
            containers: attached
                .iter()
                .map(|c| (c.to_string(), "x".to_string()))
                .collect(),
            containers_listed: true,
        }
    }

    #[track_caller]
    fn check_choice(nets: &[Network], bundle: Option<&str>, want: Option<(usize, &[usize])>) {
        let got = choose_network(nets, bundle);
        let want = want.map(|(keep, remove)| NetworkChoice {
            keep,
            remove: remove.to_vec(),
        });
        assert_eq!(got, want);
    }

    #[test]
    fn network_choices() {
        check_choice(&[], None, None);
        check_choice(&[network("b", &[], "r")], None, Some((0, &[])));
        // Duplicates: the lowest ID wins, so every racer keeps the same one.
        check_choice(
            &[network("b", &[], "r"), network("a", &[], "r")],
            None,
            Some((1, &[0])),
        );
        // ... unless the bundle is on the other one; a duplicate with containers is never removed.
        check_choice(
            &[network("b", &["c1"], "r"), network("a", &[], "r")],
            Some("c1"),
            Some((0, &[1])),
        );
        check_choice(
            &[network("b", &["c9"], "r"), network("a", &[], "r")],
            None,
            Some((1, &[])),
        );
        // The recorded subnet wins over what the engine lists.
        assert_eq!(
            network_subnet(&network("a", &[], "r")),
            Some("10.0.0.0/24".parse().unwrap())
        );
    }

    /// a_name_held_by_a_create_not_yet_shown_is_waited_for (race17): after a refused `run`, a
    /// name conflict with nothing under the name is a create still in flight, never a `run` again
    /// at once.
    #[test]
    fn refused_runs() {
        #[track_caller]
        fn check(class: Class, shown: bool, waited_in_vain: bool, want: AfterRun) {
            assert_eq!(after_run(class, shown, waited_in_vain), want);
        }
        use AfterRun::*;
        check(Class::NameConflict, false, false, AwaitName);
        check(Class::NameConflict, false, true, NameHeld);
        // A bundle shows: the look decides (keep it, wait for it, replace it, or refuse a foreign one).
        check(Class::NameConflict, true, false, Decide);
        check(Class::NameConflict, true, true, Decide);
        // Refusals about the network: the look settles the networks and decides.
        check(Class::Ambiguous, false, false, Decide);
        check(Class::NotFound, false, false, Decide);
        check(Class::NotFound, false, true, Decide);
    }

    #[track_caller]
    fn check_refusal(class: Class, taken: &[&str], ours: bool, looked: bool, want: AfterRefusal) {
        let taken: Vec<Ipv4Network> = taken.iter().map(|t| t.parse().unwrap()).collect();
        let candidate = "10.0.0.0/24".parse().unwrap();
        assert_eq!(after_refusal(class, candidate, &taken, ours, looked), want);
    }

    #[test]
    fn refusals() {
        use AfterRefusal::*;
        check_refusal(Class::SubnetOverlap, &[], true, false, Exists);
        check_refusal(Class::Other, &["10.0.0.0/16"], false, false, Next);
        check_refusal(Class::SubnetOverlap, &["10.0.0.128/25"], false, false, Next);
        // An overlap nobody listed: a racer's network may not be listed yet.
        check_refusal(
            Class::SubnetOverlap,
            &["10.1.0.0/24"],
            false,
            false,
            LookAgain,
        );
        check_refusal(Class::SubnetOverlap, &[], false, true, Next);
        check_refusal(Class::Other, &["10.1.0.0/24"], false, false, Fail);
        check_refusal(Class::AddressInUse, &[], false, true, Fail);
        // podman's host-address scan raced a teardown: the same candidate once more, then fail.
        check_refusal(Class::InterfaceVanished, &[], false, false, Retry);
        check_refusal(Class::InterfaceVanished, &[], false, true, Fail);
    }

    #[test]
    fn made_from_stdout() {
        let id = "a".repeat(64);
        assert_eq!(Made::from_stdout(&format!("{id}\n")), Made::Id(id.clone()));
        assert_eq!(Made::from_stdout(&format!("warning\n{id}\n")), Made::Id(id));
        // Podman's `network create` prints the name: the rollback must look it up.
        assert_eq!(Made::from_stdout("bot-bottle-bundle-demo\n"), Made::Pending);
        assert_eq!(Made::from_stdout(""), Made::Pending);
    }

    #[test]
    fn network_rollbacks() {
        use NetworkRollback::*;
        let mine = network("n1", &[], "me");
        let with_peer = network("n1", &["c9"], "me");
        let with_ours = network("n1", &["c1"], "me");
        let other_run = network("n2", &[], "peer");
        let id = Made::Id("n1".into());
        assert_eq!(
            network_rollback(
                &Made::Nothing,
                std::slice::from_ref(&mine),
                "demo",
                "me",
                None
            ),
            vec![]
        );
        assert_eq!(
            network_rollback(&id, std::slice::from_ref(&mine), "demo", "me", None),
            vec![Remove("n1".into())]
        );
        // A peer adopted the network: its bundle is on it. Leave it.
        assert_eq!(
            network_rollback(&id, std::slice::from_ref(&with_peer), "demo", "me", None),
            vec![Leave]
        );
        // Our own bundle, just removed, may still be listed.
        assert_eq!(
            network_rollback(&id, &[with_ours], "demo", "me", Some("c1")),
            vec![Remove("n1".into())]
        );
        // Pending: only a network with this run's label.
        assert_eq!(
            network_rollback(
                &Made::Pending,
                &[other_run.clone(), mine.clone()],
                "demo",
                "me",
                None
            ),
            vec![Remove("n1".into())]
        );
        assert_eq!(
            network_rollback(&Made::Pending, &[other_run], "demo", "me", None),
            vec![]
        );
        assert_eq!(
            network_rollback(&Made::Pending, &[with_peer], "demo", "me", None),
            vec![Leave]
        );
    }

    /// 2026-11-23T12:00:00Z.
    const NOW: i64 = 1_795_435_200;

    #[test]
    fn creation_times() {
        assert_eq!(created_time("1970-01-01T00:00:00Z").map(|t| t.0), Some(0));
        assert_eq!(created_time("2026-11-23T12:00:00Z").map(|t| t.0), Some(NOW));
        assert_eq!(
            created_time("2026-11-23T12:00:00.123456789Z").map(|t| t.0),
            Some(NOW)
        );
        assert_eq!(
            created_time("2026-11-23T13:00:00.5+01:00").map(|t| t.0),
            Some(NOW)
        );
        assert_eq!(
            created_time("2026-11-23T11:00:00-01:00").map(|t| t.0),
            Some(NOW)
        );
        assert_eq!(
            created_time("2000-02-29T00:00:00Z").map(|t| t.0),
            Some(951_782_400)
        );
        assert_eq!(
            created_time("2026-11-23T12:00:00.5Z"),
            Some((NOW, 500_000_000))
        );
        assert_eq!(
            created_time("2026-11-23T12:00:00.123456789Z"),
            Some((NOW, 123_456_789))
        );
        for bad in [
            "",
            "2026-11-23",
            "2026-13-01T00:00:00Z",
            "2026-11-23T12:00:00",
            "x-y-zT12:00:00Z",
        ] {
            assert_eq!(created_time(bad), None, "{bad}");
        }
        let at = |state: &str, created: &str| {
            let mut b = bundle(state, "d", "r", "img", "");
            b.created = created.into();
            stale_created(&b, NOW)
        };
        assert!(at("created", "2026-11-23T11:59:00Z"));
        assert!(!at("created", "2026-11-23T11:59:45Z"));
        assert!(!at("created", ""), "an unreadable time counts as fresh");
        assert!(!at("exited", "2026-11-23T11:00:00Z"));
    }

    /// `demo`'s bundle renamed by something else: its labels and its network stay.
    fn stray(id: &str, state: &str) -> Container {
        Container {
            id: id.into(),
            name: "renamed".into(),
            ..bundle(state, "d", "r", "img", "10.0.0.2")
        }
    }

    fn remove(bundle: Option<usize>, strays: &[usize], networks: &[usize]) -> GcStep {
        GcStep::Remove {
            bundle,
            strays: strays.to_vec(),
            networks: networks.to_vec(),
        }
    }

    /// Every change from every state: the commands, in order, or a refusal. Paused bundles are
    /// unpaused first, since podman refuses to stop or restart them.
    #[test]
    fn change_ops_by_state() {
        use Change::*;
        use ChangeOp as Op;
        #[track_caller]
        fn check(change: Change, state: &str, want: Option<&[ChangeOp]>) {
            let got = change_ops(change, state);
            match want {
                Some(ops) => assert_eq!(got.as_deref(), Ok(ops), "{change:?} of {state}"),
                None => assert!(got.is_err(), "{change:?} of {state}: {got:?}"),
            }
        }
        let table: &[(Change, &str, Option<&[ChangeOp]>)] = &[
            (Stop, "running", Some(&[Op::Stop])),
            (Stop, "restarting", Some(&[Op::Stop])),
            (Stop, "paused", Some(&[Op::Unpause, Op::Stop])),
            (Stop, "exited", Some(&[])),
            (Stop, "created", Some(&[])),
            (Stop, "dead", Some(&[])),
            (Stop, "removing", None),
            (Start, "exited", Some(&[Op::Start])),
            (Start, "created", Some(&[Op::Start])),
            (Start, "paused", Some(&[Op::Unpause])),
            (Start, "running", Some(&[])),
            (Start, "restarting", Some(&[])),
            (Start, "dead", None),
            (Start, "removing", None),
            (Start, "weird", None),
            (Restart, "running", Some(&[Op::Restart])),
            (Restart, "exited", Some(&[Op::Restart])),
            (Restart, "created", Some(&[Op::Restart])),
            (Restart, "paused", Some(&[Op::Unpause, Op::Restart])),
            (Restart, "dead", None),
            (Pause, "running", Some(&[Op::Pause])),
            (Pause, "paused", Some(&[])),
            (Pause, "exited", None),
            (Pause, "created", None),
            (Pause, "restarting", None),
            (Unpause, "paused", Some(&[Op::Unpause])),
            (Unpause, "running", Some(&[])),
            (Unpause, "exited", Some(&[])),
            (Unpause, "removing", None),
        ];
        for &(change, state, want) in table {
            check(change, state, want);
        }
    }

    /// A refused command is judged by the state a look shows afterwards.
    #[test]
    fn change_reached_by_state() {
        use Change::*;
        let table = [
            (Stop, "exited", true),
            (Stop, "created", true),
            (Stop, "running", false),
            (Stop, "paused", false),
            (Start, "running", true),
            (Start, "exited", false),
            (Restart, "running", true),
            (Restart, "restarting", false),
            (Pause, "paused", true),
            (Pause, "running", false),
            (Unpause, "running", true),
            (Unpause, "exited", true),
            (Unpause, "paused", false),
        ];
        for (change, state, want) in table {
            assert_eq!(change_reached(change, state), want, "{change:?} {state}");
        }
    }

    #[test]
    fn rfc3339_is_the_inverse_of_created_time() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_796_612_400, "2026-12-07T03:00:00Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(secs), text);
            assert_eq!(created_time(text), Some((secs, 0)), "{text}");
        }
        // Every day of a few years round-trips.
        for day in (0..4000).map(|d| 1_700_000_000 + d * 86_400 + 3_723) {
            assert_eq!(created_time(&rfc3339(day)), Some((day, 0)));
        }
    }

    fn leased(state: &str, expires: &str, ttl: &str) -> Container {
        let mut b = bundle(state, "d", "r", "img", "10.0.0.2");
        b.labels.insert(LABEL_EXPIRES.into(), expires.into());
        b.labels.insert(LABEL_TTL.into(), ttl.into());
        b
    }

    /// The clock is an input: a lease passes at its expiry, to the second.
    #[test]
    fn leases_pass_at_their_expiry() {
        let at = created_time("2026-12-07T03:00:00Z").unwrap().0;
        let table = [(at - 1, false), (at, true), (at + 3600, true)];
        for (now, want) in table {
            let b = leased("running", "2026-12-07T03:00:00Z", "60");
            assert_eq!(lease_passed(&b, now), want, "{now}");
        }
        // No lease, or an unreadable one, never passes.
        assert!(!lease_passed(
            &bundle("running", "d", "r", "img", ""),
            i64::MAX
        ));
        assert!(!lease_passed(&leased("running", "soon", "60"), i64::MAX));
        assert!(!lease_passed(
            &leased("running", "2026-12-07T03:00:00Z", "x"),
            i64::MAX
        ));
    }

    /// `up` of a bottle whose lease has passed is refused (gc may take it any moment), naming
    /// the expiry; while the lease runs, nothing.
    #[test]
    fn up_of_a_bottle_whose_lease_passed_is_refused() {
        let at = created_time("2026-12-07T03:00:00Z").unwrap().0;
        let b = leased("exited", "2026-12-07T03:00:00Z", "60");
        assert_eq!(lease_expired(&b, at - 1), None);
        let why = lease_expired(&b, at).unwrap();
        assert!(why.contains("2026-12-07T03:00:00Z"), "{why}");
    }

    #[test]
    fn gc_removes_a_bottle_whose_lease_passed_running_or_not() {
        let at = created_time("2026-12-07T03:00:00Z").unwrap().0;
        let n_on = || vec![network("n1", &["c1"], "r")];
        for state in ["running", "paused", "restarting", "created", "exited"] {
            let b = leased(state, "2026-12-07T03:00:00Z", "60");
            assert_eq!(
                gc_step("demo", Some(&b), &[], &n_on(), at),
                remove(Some(0), &[], &[0]),
                "{state}"
            );
            // Before it passes, a stopped (`exited`) bottle is kept like a running one.
            assert_eq!(
                gc_step("demo", Some(&b), &[], &n_on(), at - 1),
                GcStep::Skip,
                "{state}"
            );
        }
    }

    #[test]
    fn a_lease_is_fixed_at_creation() {
        let found = Lease {
            expires: "2026-12-07T03:00:00Z".into(),
            ttl: 60,
        };
        assert_eq!(lease_conflict(None, Some(&found)), None);
        assert_eq!(lease_conflict(None, None), None);
        assert_eq!(lease_conflict(Some(60), Some(&found)), None);
        let other = lease_conflict(Some(61), Some(&found)).unwrap();
        assert!(
            other.contains("60 s, expiring 2026-12-07T03:00:00Z"),
            "{other}"
        );
        let none = lease_conflict(Some(60), None).unwrap();
        assert!(none.contains("without a lease"), "{none}");
        // A replace keeps the lease it found; a new bottle's runs from now.
        let now = created_time("2026-12-07T02:59:00Z").unwrap().0;
        assert_eq!(lease_for(Some(60), None, now), Some(found.clone()));
        let kept = Lease {
            expires: "2030-01-01T00:00:00Z".into(),
            ttl: 5,
        };
        assert_eq!(
            lease_for(Some(60), Some(kept.clone()), now),
            Some(kept.clone())
        );
        assert_eq!(lease_for(None, Some(kept.clone()), now), Some(kept));
        assert_eq!(lease_for(None, None, now), None);
    }

    #[test]
    fn a_replace_names_exactly_the_parts_that_changed() {
        let parts = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let want = parts(&[
            ("daemons", "d1"),
            ("env", "e1"),
            ("image", "i1"),
            ("publish", "p1"),
            ("publish_ip", "a1"),
            ("volumes", "v1"),
        ]);
        let label = "daemons=d1,env=e1,image=i1,publish=p1,publish_ip=a1,volumes=v1";
        let table: &[(Option<&str>, Option<Vec<SpecField>>)] = &[
            (None, None),
            (Some(label), Some(vec![])),
            (
                Some("daemons=d1,env=e2,image=i1,publish=p2,publish_ip=a1,volumes=v1"),
                Some(vec![SpecField::EnvKeys, SpecField::Ports]),
            ),
            (
                Some("daemons=d9,env=e1,image=i9,publish=p1,publish_ip=a9,volumes=v9"),
                Some(vec![
                    SpecField::Image,
                    SpecField::Daemons,
                    SpecField::Volumes,
                    SpecField::PublishIp,
                ]),
            ),
            // A part only one side records (a newer bottle's, say `memory`) counts as changed.
            (
                Some("daemons=d1,env=e1,image=i1,memory=m1,publish=p1,publish_ip=a1,volumes=v1"),
                Some(vec![SpecField::Other("memory".into())]),
            ),
        ];
        for (label, fields) in table {
            assert_eq!(
                changed_parts(*label, &want).as_ref(),
                fields.as_ref(),
                "{label:?}"
            );
        }
        let reason = ReplaceReason::Changed {
            fields: vec![SpecField::EnvKeys, SpecField::PublishIp, SpecField::Ports],
        };
        assert_eq!(reason.to_string(), "env keys, publish IP, ports");
        assert_eq!(
            serde_json::to_value(reason.fields()).unwrap(),
            serde_json::json!(["env_keys", "publish_ip", "ports"])
        );
        // Through `difference`: the bundle's label decides, not the five-way guess.
        let ports = BTreeSet::from([(8080, crate::model::Protocol::Tcp)]);
        let mut found = bundle("running", "old", "r", "img", "10.0.0.2");
        found.labels.insert(
            crate::argv::LABEL_PARTS.into(),
            "daemons=d1,env=e1,image=i1,publish=p1,publish_ip=a2,volumes=v1".into(),
        );
        let w = Wanted {
            parts: &want,
            ..wanted(&ports)
        };
        assert_eq!(
            difference(&w, &found, true),
            Some(ReplaceReason::Changed {
                fields: vec![SpecField::PublishIp]
            })
        );
    }

    /// A changed limits part is named by the limits that changed (from `bottle.limits`).
    #[test]
    fn a_changed_limits_part_names_the_limits() {
        let ports = BTreeSet::from([(8080, crate::model::Protocol::Tcp)]);
        let want: BTreeMap<String, String> = [("image", "i1"), ("limits", "l2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut found = bundle("running", "old", "r", "img", "10.0.0.2");
        found
            .labels
            .insert(crate::argv::LABEL_PARTS.into(), "image=i1,limits=l1".into());
        found
            .labels
            .insert(LABEL_LIMITS.into(), "memory=536870912".into());
        let w = Wanted {
            parts: &want,
            limits: crate::Limits {
                memory: Some(1 << 30),
                millicpus: None,
                pids: None,
            },
            ..wanted(&ports)
        };
        let reason = difference(&w, &found, true).unwrap();
        assert_eq!(reason.fields(), [SpecField::Limit("memory".into())]);
        assert_eq!(reason.to_string(), "limits (memory)");
        assert_eq!(
            serde_json::to_value(reason.fields()).unwrap(),
            serde_json::json!(["memory"])
        );
    }

    #[test]
    fn gc_steps() {
        let ip = "10.0.0.2";
        let n = || vec![network("n1", &[], "r")];
        let n_on = || vec![network("n1", &["c1"], "r")];
        for live in LIVE_STATES {
            let b = bundle(live, "d", "r", "img", ip);
            assert_eq!(
                gc_step("demo", Some(&b), &[], &n_on(), NOW),
                GcStep::Skip,
                "{live}"
            );
        }
        // A stopped bottle (`bottle stop`, an engine restart, a service that ended) is kept with
        // its endpoints record (gc_removes_a_bottle_that_bottle_stop_stopped_and_its_endpoints);
        // a `dead` bundle is a leftover.
        // So is a podman bundle `stopping` or `stopped`
        // (gc_removes_a_podman_bottle_that_is_stopping_or_stopped).
        for state in ["exited", "stopping", "stopped"] {
            let stopped = bundle(state, "d", "r", "img", ip);
            assert_eq!(
                gc_step("demo", Some(&stopped), &[], &n_on(), NOW),
                GcStep::Skip,
                "{state}"
            );
        }
        let exited = bundle("dead", "d", "r", "img", ip);
        assert_eq!(
            gc_step("demo", Some(&exited), &[], &n_on(), NOW),
            remove(Some(0), &[], &[0])
        );
        assert_eq!(
            gc_step("demo", None, &[], &n(), NOW),
            remove(None, &[], &[0])
        );
        // A `created` bundle is an `up` in progress, unless it has been created for long.
        let mut stale = bundle("created", "d", "r", "img", ip);
        stale.created = "2026-11-23T11:50:00Z".into();
        assert!(matches!(
            gc_step("demo", Some(&stale), &[], &n_on(), NOW),
            GcStep::Remove { .. }
        ));
        // Somebody else's container on the network: left for `down` to explain.
        assert_eq!(gc_step("demo", None, &[], &n_on(), NOW), GcStep::Skip);
        // Not entirely bottle's: skipped.
        let mut foreign = exited.clone();
        foreign.labels.remove(LABEL_SLUG);
        assert_eq!(
            gc_step("demo", Some(&foreign), &[], &n(), NOW),
            GcStep::Skip
        );
    }

    /// What `gc` looks at again under the lock: what it may remove or must name as kept, and
    /// nothing of a healthy bottle.
    #[test]
    fn gc_looks_again_only_at_what_may_go() {
        let ip = "10.0.0.2";
        let n_on = |ids: &[&str]| vec![network("n1", ids, "r")];
        let running = bundle("running", "d", "r", "img", ip);
        let exited = bundle("dead", "d", "r", "img", ip);
        let mut stray = bundle("exited", "d", "r", "img", ip);
        stray.id = "c9".into();
        stray.name = "renamed".into();
        let mut not_ours = exited.clone();
        not_ours.labels.remove(LABEL_SLUG);
        for (bundle, strays, networks, want) in [
            (Some(&running), vec![], n_on(&["c1"]), false),
            (Some(&exited), vec![], n_on(&["c1"]), true),
            (None, vec![], n_on(&[]), true),
            // A foreign container on a dead bottle's network: named as kept.
            (None, vec![], n_on(&["web"]), true),
            (Some(&running), vec![stray.clone()], n_on(&["c1"]), true),
            (Some(&not_ours), vec![], n_on(&[]), false),
        ] {
            assert_eq!(
                gc_may_remove("demo", bundle, &strays, &networks, NOW),
                want,
                "{bundle:?} {strays:?} {networks:?}"
            );
        }
    }

    /// gc_kept_a_network_with_a_foreign_container_silently (attack round 4).
    #[test]
    fn gc_names_the_foreign_containers_it_keeps_a_network_for() {
        let ip = "10.0.0.2";
        let n_on = |ids: &[&str]| vec![network("n1", ids, "r")];
        let exited = bundle("dead", "d", "r", "img", ip);
        let running = bundle("running", "d", "r", "img", ip);
        let names = |v: Vec<(usize, Vec<String>)>| -> Vec<(usize, Vec<String>)> { v };
        // Only the bundle attached: nothing to say.
        assert_eq!(
            gc_foreign("demo", Some(&exited), &[], &n_on(&["c1"]), NOW),
            names(vec![])
        );
        // A foreign container, with or without a dead bundle: named.
        let web = vec![(0, vec!["x".to_string()])];
        assert_eq!(
            gc_foreign("demo", Some(&exited), &[], &n_on(&["c1", "web"]), NOW),
            web
        );
        assert_eq!(gc_foreign("demo", None, &[], &n_on(&["web"]), NOW), web);
        // A live bottle keeps its network anyway: nothing to say.
        assert_eq!(
            gc_foreign("demo", Some(&running), &[], &n_on(&["c1", "web"]), NOW),
            names(vec![])
        );
        // Not entirely bottle's: skipped for that reason, not this one.
        let mut foreign = exited.clone();
        foreign.labels.remove(LABEL_SLUG);
        assert_eq!(
            gc_foreign("demo", Some(&foreign), &[], &n_on(&["web"]), NOW),
            names(vec![])
        );
    }

    /// Issue 14, item 6: a bundle renamed by something else is still bottle's, and `gc` sees it.
    #[test]
    fn gc_removes_a_renamed_bundle_whatever_its_state() {
        let running = bundle("running", "d", "r", "img", "10.0.0.2");
        let n_on = |ids: &[&str]| vec![network("n1", ids, "r")];
        // The only thing on the network: the stray goes, and the network with it.
        for state in ["running", "exited", "created"] {
            let s = [stray("s1", state)];
            assert_eq!(
                gc_step("demo", None, &s, &n_on(&["s1"]), NOW),
                remove(None, &[0], &[0]),
                "{state}"
            );
        }
        // Beside a live bundle: the stray goes, the bottle stays.
        assert_eq!(
            gc_step(
                "demo",
                Some(&running),
                &[stray("s1", "running")],
                &n_on(&["c1", "s1"]),
                NOW
            ),
            remove(None, &[0], &[])
        );
        // Beside somebody else's container: the stray goes, the network stays for `down`.
        assert_eq!(
            gc_step(
                "demo",
                None,
                &[stray("s1", "exited")],
                &n_on(&["s1", "x"]),
                NOW
            ),
            remove(None, &[0], &[])
        );
    }

    #[test]
    fn strays() {
        let b = |name: &str, slug: &str, net: &str| Container {
            name: name.into(),
            labels: labels(&[(LABEL_SLUG, slug), (LABEL_ROLE, "bundle")]),
            networks: BTreeMap::from([(net.to_string(), String::new())]),
            ..bundle("running", "d", "r", "img", "")
        };
        let bundle_name = "bot-bottle-sidecars-demo";
        let check = |c: Container, want: bool| {
            assert_eq!(is_stray(&c, "demo", bundle_name, NET), want, "{c:?}");
        };
        check(b("renamed", "demo", NET), true);
        // Under its own name it is the bundle, not a stray.
        check(b(bundle_name, "demo", NET), false);
        // Another slug's, or on another prefix's network: not this bottle's.
        check(b("renamed", "demo2", NET), false);
        check(b("renamed", "demo", "other-bundle-demo"), false);
        // Without the role label: not bottle's at all.
        let mut unlabelled = b("renamed", "demo", NET);
        unlabelled.labels.remove(LABEL_ROLE);
        check(unlabelled, false);
    }

    /// Issue 14, item 7: a bundle of this slug on the network is never foreign, whatever its name.
    #[test]
    fn attached_containers_are_sorted_by_their_labels() {
        let on = |ids: &[&str]| -> BTreeMap<String, String> {
            ids.iter()
                .map(|i| (i.to_string(), format!("name-{i}")))
                .collect()
        };
        let ours = |id: &str, name: &str| Container {
            id: id.into(),
            name: name.into(),
            ..bundle("running", "d", "peer", "img", "10.0.0.2")
        };
        let mut foreign = ours("f1", "web");
        foreign.labels.clear();
        let mut other_slug = ours("o1", "bot-bottle-sidecars-demo2");
        other_slug.labels.insert(LABEL_SLUG.into(), "demo2".into());
        #[track_caller]
        fn check(
            bundle_id: Option<&str>,
            attached: &BTreeMap<String, String>,
            inspected: &[Container],
            ours: &[&str],
            foreign: &[&str],
        ) {
            let got = sort_attached("demo", bundle_id, attached, inspected);
            let ids: Vec<&str> = got.ours.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(ids, ours, "ours");
            assert_eq!(got.foreign, foreign, "foreign");
        }
        let racer = ours("c2", "bot-bottle-sidecars-demo");
        let renamed = ours("c3", "moved");
        // A racing `up`'s bundle that `down` did not see, and a renamed one: both ours.
        check(
            None,
            &on(&["c2"]),
            std::slice::from_ref(&racer),
            &["c2"],
            &[],
        );
        check(
            Some("c1"),
            &on(&["c1", "c3"]),
            std::slice::from_ref(&renamed),
            &["c3"],
            &[],
        );
        // The bundle `down` holds is neither; one gone since the listing is neither.
        check(Some("c1"), &on(&["c1"]), &[], &[], &[]);
        check(None, &on(&["gone"]), &[], &[], &[]);
        // Unlabelled, or another slug's bundle: foreign.
        check(
            None,
            &on(&["f1", "c2"]),
            &[foreign, racer],
            &["c2"],
            &["web"],
        );
        check(
            None,
            &on(&["o1"]),
            &[other_slug],
            &[],
            &["bot-bottle-sidecars-demo2"],
        );
    }

    /// A `down` racing other `down`s failed on "removal of container … is already in progress"
    /// while a look showed the container as still `running`/`exited`, not `removing`.
    #[test]
    fn a_refused_rm_is_judged_by_the_container() {
        use AfterRm::*;
        #[track_caller]
        fn check(class: Class, force: bool, state: Option<&str>, time_left: bool, want: AfterRm) {
            assert_eq!(
                after_rm(class, force, state, time_left),
                want,
                "{class:?} force={force} {state:?} time_left={time_left}"
            );
        }
        let busy = Class::RemovalInProgress;
        for class in [busy, Class::Other, Class::NotFound] {
            for force in [true, false] {
                // Gone is gone, however the refusal was worded.
                check(class, force, None, true, Gone);
                check(class, force, None, false, Gone);
                // `removing` is waited for, until the deadline.
                check(class, force, Some("removing"), true, Wait);
            }
        }
        // A removal in progress is waited for whatever state the look shows.
        for state in ["running", "exited", "dead", "created", "paused"] {
            check(busy, true, Some(state), true, Wait);
            check(busy, false, Some(state), true, Wait);
            check(busy, true, Some(state), false, Fail);
        }
        // Past the deadline: `gc` keeps a live one, anything else fails.
        check(busy, false, Some("running"), false, Kept);
        check(busy, false, Some("exited"), false, Fail);
        check(Class::Other, true, Some("removing"), false, Fail);
        check(Class::Other, false, Some("removing"), false, Kept);
        // Another refusal of a container that is not being removed is not waited for.
        check(Class::Other, true, Some("running"), true, Fail);
        check(Class::Other, true, Some("exited"), true, Fail);
        check(Class::Other, false, Some("running"), true, Kept);
        check(Class::Other, false, Some("paused"), true, Kept);
        check(Class::Other, false, Some("exited"), true, Fail);
    }

    /// Concurrent `down`s: the network was refused as in use while another `down`'s removal of
    /// the bundle still held its endpoint, and the look after showed it empty or gone.
    #[test]
    fn a_refused_network_rm_is_judged_by_the_network() {
        use AfterNetworkRm::*;
        #[track_caller]
        fn check(class: Class, attached: Option<usize>, tries_left: bool, want: AfterNetworkRm) {
            assert_eq!(
                after_network_rm(class, attached, tries_left),
                want,
                "{class:?} {attached:?} tries_left={tries_left}"
            );
        }
        for tries_left in [true, false] {
            check(Class::NotFound, None, tries_left, Gone);
            check(Class::InUse, None, tries_left, Gone);
            check(Class::InUse, Some(1), tries_left, Attached);
            check(Class::InUse, Some(2), tries_left, Attached);
            // "Not found" of a network that a look still shows is not believed.
            check(Class::NotFound, Some(0), tries_left, Fail);
            check(Class::NotFound, Some(1), tries_left, Fail);
            check(Class::Other, Some(0), tries_left, Fail);
        }
        check(Class::InUse, Some(0), true, Again);
        check(Class::InUse, Some(0), false, Fail);
    }

    #[track_caller]
    fn check_loopback(pool: &str, taken: &[u8], keep: Option<u8>, want: Option<u8>) {
        let pool: Ipv4Network = pool.parse().unwrap();
        let at = |last: u8| Ipv4Addr::new(127, 0, 0, last);
        let taken: BTreeSet<Ipv4Addr> = taken.iter().map(|&l| at(l)).collect();
        assert_eq!(
            pick_loopback(pool, &taken, keep.map(at)),
            want.map(at),
            "{pool} taken {taken:?} keep {keep:?}"
        );
    }

    #[test]
    fn loopback_pick_table() {
        let p = "127.0.0.16/28";
        check_loopback(p, &[], None, Some(16));
        check_loopback(p, &[16], None, Some(17));
        check_loopback(p, &[16, 17, 19], None, Some(18));
        check_loopback(p, &[1, 15, 32], None, Some(16));
        check_loopback(p, &(16..=30).collect::<Vec<_>>(), None, Some(31));
        check_loopback(p, &(16..=31).collect::<Vec<_>>(), None, None);
        // Its own address is kept, even above a lower free one; not when taken or outside.
        check_loopback(p, &[], Some(20), Some(20));
        check_loopback(p, &[20], Some(20), Some(16));
        check_loopback(p, &[], Some(40), Some(16));
        check_loopback("127.0.0.8/32", &[], None, Some(8));
        check_loopback("127.0.0.8/32", &[8], None, None);
    }

    #[test]
    fn loopback_race_is_won_by_the_first_created() {
        let a = ("2024-05-01T10:00:00.5Z", "bbb");
        let b = ("2024-05-01T10:00:00.123456789Z", "aaa");
        let c = ("2024-05-01T10:00:00.5Z", "ccc");
        let d = ("2024-05-01T10:00:01Z", "000");
        // .123456789 < .5 although it sorts after it as text.
        assert!(keeps_loopback(b, &[a, c, d]));
        assert!(!keeps_loopback(a, &[b]));
        // Same time: the lower ID.
        assert!(keeps_loopback(a, &[c]));
        assert!(!keeps_loopback(c, &[a]));
        assert!(!keeps_loopback(d, &[a]));
        assert!(keeps_loopback(d, &[]));
        // Exactly one of any set keeps it.
        let all = [a, b, c, d];
        let keepers = all
            .iter()
            .filter(|x| {
                let others: Vec<_> = all.iter().filter(|o| o != x).copied().collect();
                keeps_loopback(**x, &others)
            })
            .count();
        assert_eq!(keepers, 1);
    }
}
