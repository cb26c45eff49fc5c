//! **Pure.** A bottle's changes, read from the engine's own event stream (`events --format
//! '{{json .}}'`): what one line says ([`parse_line`]), and what it means for the bottles being
//! watched ([`Tracker`]). No I/O here: `watch.rs` runs the stream and the looks a step asks for.
//!
//! The engines print their events in two shapes (captured in `fixtures/engine-events/`):
//!
//! - the docker API's, from the docker CLI against dockerd and against podman's socket:
//!   `{"Type", "Action", "Actor": {"ID", "Attributes": {labels…, "name", "exitCode"}}, "timeNano"}`
//!   (podman's socket adds `containerExitCode` to every event, `"0"` where it means nothing);
//! - native podman's: `{"Type", "Status", "ID", "Name", "Attributes": {labels…}, "Time" (RFC 3339),
//!   "ContainerExitCode", "health_status"}`.
//!
//! Their actions differ too, and only a few of them change what a bottle shows:
//!
//! | engine action | change |
//! |---|---|
//! | `create` | state `created` |
//! | `start` | state `running`, then a look for the published ports |
//! | `unpause` | state `running` |
//! | `pause` | state `paused` |
//! | `die` (docker, podman's socket), `died` (podman) | state `exited`, with its exit code |
//! | `destroy` (docker), `remove` (podman) | state `missing` |
//! | `health_status: healthy` (docker) | health `healthy` |
//! | `health_status` (podman, either shape) | a look for the health |
//!
//! The rest say nothing about state: `kill` (the container may ignore the signal), `stop` (docker
//! prints it after `die`, podman before it starts stopping), `restart` (docker after the new
//! `start`, podman before the old process dies), `init`, `cleanup`, `exec_*`, `attach`, `rename`.
//! Podman's health event does not carry the new status: its socket sends none, and native podman
//! 4.3 writes the status from before the check ran (`starting` after a first check that passed),
//! so the health is read from the container. A change is reported once: an action that leaves the
//! bottle as this stream last reported it (docker's `stop` after `die`) says nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use super::decide::created_time;
use crate::argv::{LABEL_ROLE, LABEL_SLUG, ROLE_BUNDLE};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{Names, Prefix, Slug};
use crate::model::{Bottle, Container, PortView, State};

/// One change of one bottle, from the engine's event stream: what [`crate::Bottles::watch`] and
/// [`crate::Bottles::events`] give, and one line of `bottle events` (the schema's `event`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BottleEvent {
    /// The bottle that changed.
    pub slug: Slug,
    /// When the engine says it happened.
    pub time: SystemTime,
    /// The engine's own word for what happened (`start`, `die`, `died`, `health_status: healthy`),
    /// as it printed it.
    pub action: String,
    /// What changed.
    pub change: Change,
}

/// What changed in a [`BottleEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The bundle's state: `running`, `paused`, `exited`, `created`, or `missing` once it is
    /// removed.
    #[non_exhaustive]
    State {
        /// The new state.
        state: State,
        /// The bundle's exit code, when it stopped (`exited`) and the engine said it.
        exit_code: Option<i32>,
    },
    /// The bundle's health (`healthy`, `unhealthy`, `starting`), for an image with a healthcheck.
    #[non_exhaustive]
    Health {
        /// The engine's word for it.
        health: String,
    },
    /// The bundle's published ports, after a start, when they are not those this stream last
    /// reported (the first start a stream sees always reports them).
    #[non_exhaustive]
    Ports {
        /// Every published port, as `status` shows it.
        ports: Vec<PortView>,
    },
}

impl Change {
    /// `state`, `health` or `ports`: the `change` field of the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::State { .. } => "state",
            Change::Health { .. } => "health",
            Change::Ports { .. } => "ports",
        }
    }
}

impl Serialize for BottleEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("slug", &self.slug)?;
        m.serialize_entry("time", &rfc3339(self.time))?;
        m.serialize_entry("action", &self.action)?;
        m.serialize_entry("change", self.change.kind())?;
        match &self.change {
            Change::State { state, exit_code } => {
                m.serialize_entry("state", state)?;
                if let Some(code) = exit_code {
                    m.serialize_entry("exit_code", code)?;
                }
            }
            Change::Health { health } => m.serialize_entry("health", health)?,
            Change::Ports { ports } => m.serialize_entry("ports", ports)?,
        }
        m.end()
    }
}

/// `t` as RFC 3339 in UTC with nanoseconds (`2026-12-07T02:17:59.378553188Z`), as podman prints
/// event times. Times before 1970 are not events bottle sees; they print as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm, the inverse of
    // `decide::created_time`'s).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// One line of the engine's event stream, in either shape, as bottle reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    /// `container`, `network`, `image`, …
    pub kind: String,
    /// The action as the engine printed it.
    pub action: String,
    /// The container's ID.
    pub id: String,
    /// The container's name (its new one, for a rename).
    pub name: String,
    /// The container's labels.
    pub labels: BTreeMap<String, String>,
    pub time: SystemTime,
    /// The exit code a `die` (`died`) carries.
    pub exit_code: Option<i32>,
}

/// The docker API's shape of an event.
#[derive(Deserialize)]
struct DockerShape {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Action")]
    action: String,
    #[serde(rename = "Actor", default)]
    actor: Actor,
    #[serde(rename = "timeNano", default)]
    time_nano: Option<i64>,
    #[serde(default)]
    time: Option<i64>,
}

#[derive(Deserialize, Default)]
struct Actor {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Attributes", default)]
    attributes: BTreeMap<String, String>,
}

/// Native podman's shape of an event.
#[derive(Deserialize)]
struct PodmanShape {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Attributes", default)]
    attributes: BTreeMap<String, String>,
    #[serde(rename = "Time", default)]
    time: String,
    #[serde(rename = "ContainerExitCode", default)]
    exit_code: Option<i32>,
}

/// Keys the docker shape puts among the labels, which are not labels.
const DOCKER_ATTRIBUTES: &[&str] = &[
    "name",
    "image",
    "exitCode",
    "containerExitCode",
    "signal",
    "execID",
    "podId",
];

/// One line of `events --format '{{json .}}'`: `Ok(None)` for a blank line, an error naming
/// `command` for a line that is neither shape (bottle never guesses at what the engine said).
pub fn parse_line(command: &str, line: &str) -> Result<Option<EngineEvent>> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let unreadable = || {
        let excerpt: String = line.chars().take(200).collect();
        Error::new(
            ErrorKind::EngineFailed,
            format!("`{command}` printed an event bottle cannot read: {excerpt}"),
        )
    };
    let value: serde_json::Value = serde_json::from_str(line).map_err(|_| unreadable())?;
    if value.get("Action").is_some() {
        let d: DockerShape = serde_json::from_value(value).map_err(|_| unreadable())?;
        let mut labels = d.actor.attributes;
        let name = labels.remove("name").unwrap_or_default();
        let exit_code = labels
            .get("exitCode")
            .or_else(|| labels.get("containerExitCode"))
            .and_then(|c| c.parse().ok());
        labels.retain(|k, _| !DOCKER_ATTRIBUTES.contains(&k.as_str()));
        let nanos = d
            .time_nano
            .or_else(|| d.time.map(|s| s.saturating_mul(1_000_000_000)))
            .unwrap_or(0);
        return Ok(Some(EngineEvent {
            kind: d.kind,
            action: d.action,
            id: d.actor.id,
            name,
            labels,
            time: UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64),
            exit_code,
        }));
    }
    let p: PodmanShape = serde_json::from_value(value).map_err(|_| unreadable())?;
    let time = created_time(&p.time)
        .filter(|(s, _)| *s >= 0)
        .map_or(UNIX_EPOCH, |(s, n)| UNIX_EPOCH + Duration::new(s as u64, n));
    Ok(Some(EngineEvent {
        kind: p.kind,
        action: p.status,
        id: p.id,
        name: p.name,
        labels: p.attributes,
        time,
        exit_code: p.exit_code,
    }))
}

/// What an action means for a bundle (see the table at the top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// The bundle is in this state now; `look` asks for its published ports.
    State { state: State, ports: bool },
    /// Its health is this, as the event says.
    Health(String),
    /// Its health changed; the event does not say to what.
    HealthUnsaid,
    /// Nothing a bottle shows.
    Nothing,
}

/// What `action` means (see the table at the top).
pub fn meaning(action: &str) -> Meaning {
    let state = |state, ports| Meaning::State { state, ports };
    match action {
        "create" => state(State::Created, false),
        "start" => state(State::Running, true),
        "unpause" => state(State::Running, false),
        "pause" => state(State::Paused, false),
        "die" | "died" => state(State::Exited, false),
        "destroy" | "remove" => state(State::Missing, false),
        "health_status" => Meaning::HealthUnsaid,
        a => match a.strip_prefix("health_status:").map(str::trim) {
            Some("") => Meaning::HealthUnsaid,
            Some(health) => Meaning::Health(health.to_string()),
            None => Meaning::Nothing,
        },
    }
}

/// A look at one bundle that a step asks for: its published ports after a start, its health
/// after a health event that does not say it. Its answer goes to [`Tracker::looked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    pub slug: Slug,
    /// The bundle's ID, as the event gave it.
    pub id: String,
    /// The event's time and action, which the changes it finds carry.
    pub time: SystemTime,
    pub action: String,
    pub ports: bool,
    pub health: bool,
}

/// What one engine event gives: a change to report, and a look to make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub event: Option<BottleEvent>,
    pub look: Option<Look>,
}

/// What this stream last reported of one bottle.
#[derive(Debug, Clone, Default)]
struct Seen {
    state: Option<State>,
    health: Option<String>,
    ports: Vec<PortView>,
}

/// The watched bottles and what was last reported of each: turns engine events into changes.
#[derive(Debug, Clone)]
pub struct Tracker {
    prefix: Prefix,
    /// Only these slugs; every bottle of the prefix when empty.
    only: BTreeSet<Slug>,
    seen: BTreeMap<Slug, Seen>,
}

impl Tracker {
    /// Watch the bottles `only` (every one of `prefix` when empty).
    pub fn new(prefix: &Prefix, only: &[Slug]) -> Tracker {
        Tracker {
            prefix: prefix.clone(),
            only: only.iter().cloned().collect(),
            seen: BTreeMap::new(),
        }
    }

    /// The watched bottle whose bundle `e` is about, if it is one: a container with bottle's
    /// bundle labels, named as this prefix names that slug's bundle (a bundle something renamed
    /// is no longer reported; another prefix's bottles are not this stream's).
    fn slug_of(&self, e: &EngineEvent) -> Option<Slug> {
        if e.kind != "container"
            || e.labels.get(LABEL_ROLE).map(String::as_str) != Some(ROLE_BUNDLE)
        {
            return None;
        }
        let slug = Slug::parse(e.labels.get(LABEL_SLUG)?).ok()?;
        let names = Names::new(&self.prefix, &slug).ok()?;
        let watched = self.only.is_empty() || self.only.contains(&slug);
        (watched && names.bundle == e.name).then_some(slug)
    }

    /// What `e` changes.
    pub fn on_event(&mut self, e: &EngineEvent) -> Step {
        let Some(slug) = self.slug_of(e) else {
            return Step::default();
        };
        let look = |ports, health| Look {
            slug: slug.clone(),
            id: e.id.clone(),
            time: e.time,
            action: e.action.clone(),
            ports,
            health,
        };
        let seen = self.seen.entry(slug.clone()).or_default();
        let change = match meaning(&e.action) {
            Meaning::Nothing => return Step::default(),
            Meaning::HealthUnsaid => {
                return Step {
                    event: None,
                    look: Some(look(false, true)),
                };
            }
            Meaning::Health(health) => {
                if seen.health.as_ref() == Some(&health) {
                    return Step::default();
                }
                seen.health = Some(health.clone());
                Change::Health { health }
            }
            Meaning::State { state, ports } => {
                let look = ports.then(|| look(true, false));
                if seen.state.as_ref() == Some(&state) {
                    return Step { event: None, look };
                }
                if state == State::Missing {
                    // A bottle brought up again is new: its ports and health are reported afresh.
                    *seen = Seen::default();
                }
                seen.state = Some(state.clone());
                let exit_code = (state == State::Exited).then_some(e.exit_code).flatten();
                let event = BottleEvent {
                    slug: slug.clone(),
                    time: e.time,
                    action: e.action.clone(),
                    change: Change::State { state, exit_code },
                };
                return Step {
                    event: Some(event),
                    look,
                };
            }
        };
        Step {
            event: Some(BottleEvent {
                slug,
                time: e.time,
                action: e.action.clone(),
                change,
            }),
            look: None,
        }
    }

    /// The changes a look found: `bundle` is what `container inspect` of the look's ID showed
    /// (`None`: gone already, which its own event reports).
    pub fn looked(&mut self, look: &Look, bundle: Option<&Container>) -> Vec<BottleEvent> {
        let Some(bundle) = bundle else {
            return Vec::new();
        };
        let Ok(names) = Names::new(&self.prefix, &look.slug) else {
            return Vec::new();
        };
        let seen = self.seen.entry(look.slug.clone()).or_default();
        let event = |change| BottleEvent {
            slug: look.slug.clone(),
            time: look.time,
            action: look.action.clone(),
            change,
        };
        let mut out = Vec::new();
        if look.ports {
            let ports = Bottle::from_observed(&look.slug, &names, None, Some(bundle)).ports;
            if ports != seen.ports {
                seen.ports = ports.clone();
                out.push(event(Change::Ports { ports }));
            }
        }
        if look.health
            && let Some(health) = &bundle.health
            && seen.health.as_ref() != Some(health)
        {
            seen.health = Some(health.clone());
            out.push(event(Change::Health {
                health: health.clone(),
            }));
        }
        out
    }
}

/// Complete lines out of a byte stream cut anywhere (the engine's stdout, as the executor reads
/// it). The last unfinished line waits for the next bytes.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Add `bytes`; every line they complete, without its line ending.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(last + 1);
        let done = std::mem::replace(&mut self.pending, rest);
        String::from_utf8_lossy(&done)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &[(&str, &str)] = &[
        (
            "docker-20.10",
            include_str!("../../fixtures/engine-events/docker-20.10.jsonl"),
        ),
        (
            "docker-28.2-engine-20.10",
            include_str!("../../fixtures/engine-events/docker-28.2-engine-20.10.jsonl"),
        ),
        (
            "podman-4.3",
            include_str!("../../fixtures/engine-events/podman-4.3.jsonl"),
        ),
        (
            "podman-4.3-docker-28.2",
            include_str!("../../fixtures/engine-events/podman-4.3-docker-28.2.jsonl"),
        ),
    ];

    fn prefix(p: &str) -> Prefix {
        Prefix::parse(p).unwrap()
    }

    fn slug(s: &str) -> Slug {
        Slug::parse(s).unwrap()
    }

    /// Each step of a capture, short: `state running`, `look ports`, `health healthy`.
    fn steps(tracker: &mut Tracker, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in text.lines() {
            let Some(e) = parse_line("docker events", line).unwrap() else {
                continue;
            };
            let step = tracker.on_event(&e);
            if let Some(ev) = step.event {
                let what = match &ev.change {
                    Change::State { state, exit_code } => match exit_code {
                        Some(c) => format!("state {state} ({c})"),
                        None => format!("state {state}"),
                    },
                    Change::Health { health } => format!("health {health}"),
                    Change::Ports { ports } => format!("ports {}", ports.len()),
                };
                out.push(format!("{} {what} <- {}", ev.slug, ev.action));
            }
            if let Some(look) = step.look {
                let what = match (look.ports, look.health) {
                    (true, _) => "ports",
                    _ => "health",
                };
                out.push(format!("{} look {what} <- {}", look.slug, look.action));
            }
        }
        out
    }

    /// Every engine path, one bottle through `up`, an outside `stop`, `start`, `pause`,
    /// `unpause`, `restart`, `kill` and `down`: the same changes, in the same order, whatever
    /// words and shapes the engine used (`die`/`died`, `destroy`/`remove`, `stop` before or
    /// after the death, `restart` before or after the start).
    #[test]
    fn every_engine_path_reports_the_same_changes() {
        let want = [
            "cap state created <- create",
            "cap state running <- start",
            "cap look ports <- start",
            "cap state exited (137) <- DIE",
            "cap state running <- start",
            "cap look ports <- start",
            "cap state paused <- pause",
            "cap state running <- unpause",
            "cap state exited (137) <- DIE",
            "cap state running <- start",
            "cap look ports <- start",
            "cap state exited (137) <- DIE",
            "cap state missing <- REMOVE",
        ];
        for (path, text) in FIXTURES {
            let mut tracker = Tracker::new(&prefix("fxev"), &[]);
            let (die, remove) = match path.starts_with("podman-4.3") && !path.contains("docker") {
                true => ("died", "remove"),
                false if path.starts_with("podman") => ("die", "remove"),
                false => ("die", "destroy"),
            };
            let want: Vec<String> = want
                .iter()
                .map(|w| w.replace("DIE", die).replace("REMOVE", remove))
                .collect();
            assert_eq!(steps(&mut tracker, text), want, "{path}");
        }
    }

    /// Other prefixes' bottles, other slugs, containers without bottle's labels and renamed
    /// bundles are not this stream's.
    #[test]
    fn only_the_watched_bottles_of_this_prefix() {
        let (_, text) = FIXTURES[0];
        let check = |prefix_: &str, only: &[&str], want: usize| {
            let only: Vec<Slug> = only.iter().map(|s| slug(s)).collect();
            let mut tracker = Tracker::new(&prefix(prefix_), &only);
            assert_eq!(steps(&mut tracker, text).len(), want, "{prefix_} {only:?}");
        };
        check("fxev", &[], 13);
        check("fxev", &["cap"], 13);
        check("fxev", &["cap", "other"], 13);
        check("fxev", &["other"], 0);
        check("fxe", &[], 0);
        check("bot-bottle", &[], 0);
        // A container without the bundle role, and a renamed bundle.
        let mut tracker = Tracker::new(&prefix("fxev"), &[]);
        for (from, to) in [
            ("\"bottle.role\":\"bundle\"", "\"bottle.role\":\"network\""),
            ("\"name\":\"fxev-sidecars-cap\"", "\"name\":\"renamed\""),
        ] {
            let line = text.lines().nth(1).unwrap().replace(from, to);
            assert_ne!(line, text.lines().nth(1).unwrap());
            assert_eq!(steps(&mut tracker, &line), Vec::<String>::new(), "{to}");
        }
    }

    #[test]
    fn reads_both_shapes() {
        let docker = parse_line("docker events", FIXTURES[0].1.lines().nth(4).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                docker.kind.as_str(),
                docker.action.as_str(),
                docker.exit_code
            ),
            ("container", "die", Some(137))
        );
        assert_eq!(docker.name, "fxev-sidecars-cap");
        assert_eq!(docker.id.len(), 64);
        assert_eq!(docker.labels["bottle.slug"], "cap");
        // Attributes that are not labels are not taken for labels.
        assert!(!docker.labels.contains_key("image"), "{:?}", docker.labels);
        let podman = parse_line("podman events", FIXTURES[2].1.lines().next().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            (podman.action.as_str(), podman.name.as_str()),
            ("create", "fxev-sidecars-cap")
        );
        assert_eq!(rfc3339(podman.time), "2026-12-07T02:17:59.378553188Z");
        assert_eq!(parse_line("docker events", "  ").unwrap(), None);
        let err = parse_line("docker events", "WARNING: something").unwrap_err();
        assert_eq!(
            err.message(),
            "`docker events` printed an event bottle cannot read: WARNING: something"
        );
        assert!(parse_line("docker events", "{\"Type\":\"container\"}").is_err());
    }

    #[test]
    fn actions_mean() {
        #[track_caller]
        fn check(action: &str, want: Meaning) {
            assert_eq!(meaning(action), want, "{action}");
        }
        let state = |state, ports| Meaning::State { state, ports };
        check("create", state(State::Created, false));
        check("start", state(State::Running, true));
        check("unpause", state(State::Running, false));
        check("pause", state(State::Paused, false));
        check("die", state(State::Exited, false));
        check("died", state(State::Exited, false));
        check("destroy", state(State::Missing, false));
        check("remove", state(State::Missing, false));
        check("health_status: healthy", Meaning::Health("healthy".into()));
        check(
            "health_status: unhealthy",
            Meaning::Health("unhealthy".into()),
        );
        check("health_status", Meaning::HealthUnsaid);
        for nothing in [
            "kill",
            "stop",
            "restart",
            "init",
            "cleanup",
            "exec_die",
            "exec_died",
            "attach",
            "rename",
            "oom",
            "resize",
            "commit",
            "",
        ] {
            check(nothing, Meaning::Nothing);
        }
    }

    fn health_line(path: &str) -> &'static str {
        match path {
            "docker-20.10" => {
                include_str!("../../fixtures/engine-events/health-docker-20.10.jsonl")
            }
            "podman-4.3" => include_str!("../../fixtures/engine-events/health-podman-4.3.jsonl"),
            _ => include_str!("../../fixtures/engine-events/health-podman-4.3-docker-28.2.jsonl"),
        }
    }

    /// docker says the new health in its action; podman's events do not (its socket says none,
    /// native podman 4.3 the one from before the check), so a look reads it.
    #[test]
    fn health_from_the_event_or_a_look() {
        let mut tracker = Tracker::new(&prefix("fxev"), &[]);
        assert_eq!(
            steps(&mut tracker, health_line("docker-20.10")),
            ["hc health healthy <- health_status: healthy"]
        );
        // The same health again is no change.
        assert_eq!(
            steps(&mut tracker, health_line("docker-20.10")),
            Vec::<String>::new()
        );
        for path in ["podman-4.3", "podman-4.3-docker-28.2"] {
            let mut tracker = Tracker::new(&prefix("fxev"), &[]);
            assert_eq!(
                steps(&mut tracker, health_line(path)),
                ["hc look health <- health_status"],
                "{path}"
            );
            let e = parse_line("x", health_line(path)).unwrap().unwrap();
            let look = tracker.on_event(&e).look.unwrap();
            let mut bundle = container("healthy");
            assert_eq!(
                kinds(&tracker.looked(&look, Some(&bundle))),
                ["health healthy"]
            );
            assert!(tracker.looked(&look, Some(&bundle)).is_empty());
            bundle.health = Some("unhealthy".into());
            assert_eq!(
                kinds(&tracker.looked(&look, Some(&bundle))),
                ["health unhealthy"]
            );
            // A bundle gone by the time of the look: its own event says so.
            assert!(tracker.looked(&look, None).is_empty());
        }
    }

    fn container(health: &str) -> Container {
        let json = r#"{"Id":"c1","Name":"/fxev-sidecars-hc","State":{"Status":"running","Health":{"Status":"HEALTH"}},"Config":{"Image":"img","Labels":{"bottle.slug":"hc","bottle.role":"bundle"}},"NetworkSettings":{"Ports":{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"49153"}]}}}"#;
        crate::model::parse_objects(&json.replace("HEALTH", health))
            .unwrap()
            .into_iter()
            .find_map(crate::model::Object::into_container)
            .unwrap()
    }

    fn kinds(events: &[BottleEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match &e.change {
                Change::Health { health } => format!("health {health}"),
                Change::Ports { ports } => format!(
                    "ports {}",
                    ports
                        .iter()
                        .map(|p| format!("{}->{}", p.container_port, p.host_address()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Change::State { state, .. } => format!("state {state}"),
            })
            .collect()
    }

    /// Ports are reported after a start when they are not what this stream last reported, and
    /// afresh once the bottle was removed.
    #[test]
    fn ports_when_they_changed() {
        let mut tracker = Tracker::new(&prefix("fxev"), &[]);
        let look = Look {
            slug: slug("hc"),
            id: "c1".into(),
            time: UNIX_EPOCH,
            action: "start".into(),
            ports: true,
            health: false,
        };
        let mut bundle = container("healthy");
        assert_eq!(
            kinds(&tracker.looked(&look, Some(&bundle))),
            ["ports 8080->127.0.0.1:49153"]
        );
        assert!(tracker.looked(&look, Some(&bundle)).is_empty());
        bundle
            .ports
            .get_mut(&(8080, crate::model::Protocol::Tcp))
            .unwrap()[0]
            .host_port = 49154;
        assert_eq!(
            kinds(&tracker.looked(&look, Some(&bundle))),
            ["ports 8080->127.0.0.1:49154"]
        );
        // Removed and brought up again: reported afresh, even on the same ports.
        let removed = parse_line("x", health_line("docker-20.10"))
            .map(|e| {
                let mut e = e.unwrap();
                e.action = "destroy".into();
                e
            })
            .unwrap();
        assert!(tracker.on_event(&removed).event.is_some());
        assert_eq!(
            kinds(&tracker.looked(&look, Some(&bundle))),
            ["ports 8080->127.0.0.1:49154"]
        );
    }

    #[test]
    fn the_json_of_each_change() {
        let event = |change| BottleEvent {
            slug: slug("demo"),
            time: UNIX_EPOCH + Duration::new(1_796_609_879, 378_553_188),
            action: "die".into(),
            change,
        };
        let json = |e: &BottleEvent| serde_json::to_value(e).unwrap().to_string();
        assert_eq!(
            json(&event(Change::State {
                state: State::Exited,
                exit_code: Some(137)
            })),
            r#"{"action":"die","change":"state","exit_code":137,"slug":"demo","state":"exited","time":"2026-12-07T02:17:59.378553188Z"}"#
        );
        assert_eq!(
            json(&event(Change::State {
                state: State::Running,
                exit_code: None
            })),
            r#"{"action":"die","change":"state","slug":"demo","state":"running","time":"2026-12-07T02:17:59.378553188Z"}"#
        );
        assert_eq!(
            json(&event(Change::Health {
                health: "healthy".into()
            })),
            r#"{"action":"die","change":"health","health":"healthy","slug":"demo","time":"2026-12-07T02:17:59.378553188Z"}"#
        );
        assert_eq!(
            json(&event(Change::Ports { ports: vec![] })),
            r#"{"action":"die","change":"ports","ports":[],"slug":"demo","time":"2026-12-07T02:17:59.378553188Z"}"#
        );
    }

    #[test]
    fn times_in_rfc3339() {
        #[track_caller]
        fn check(secs: u64, nanos: u32, want: &str) {
            let t = UNIX_EPOCH + Duration::new(secs, nanos);
            assert_eq!(rfc3339(t), want);
            // It reads back the same.
            assert_eq!(created_time(want), Some((secs as i64, nanos)), "{want}");
        }
        check(0, 0, "1970-01-01T00:00:00.000000000Z");
        check(951_782_400, 1, "2000-02-29T00:00:00.000000001Z");
        check(1_796_609_879, 378_553_188, "2026-12-07T02:17:59.378553188Z");
        check(4_107_542_399, 999_999_999, "2100-02-28T23:59:59.999999999Z");
    }

    #[test]
    fn lines_out_of_a_stream_cut_anywhere() {
        let mut lines = Lines::default();
        assert!(lines.push(b"{\"a\"").is_empty());
        assert_eq!(
            lines.push(b":1}\n{\"b\":2}\n{\"c"),
            ["{\"a\":1}", "{\"b\":2}"]
        );
        assert_eq!(lines.push(b"\":3}\r\n"), ["{\"c\":3}"]);
        assert!(lines.push(b"").is_empty());
    }
}
