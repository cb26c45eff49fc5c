//! `bottle events` and `Bottles::events`/`watch` (issue 16, item 5): the engine's own event
//! stream, replayed by the fake engine from the captured fixtures, and on every real engine path
//! a bundle stopped from outside, seen within seconds.

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fake::{Fake, Stderr, container_json};
use crate::real::{Bottles, clis};
use crate::schema;

const CAPTURE: &str = include_str!("../../fixtures/engine-events/docker-20.10.jsonl");

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// The captured stream of one bottle (prefix `fxev`, slug `cap`), which the fake prints and then
/// ends; `container inspect` shows the bundle on one port.
fn replaying() -> Fake {
    let mut fake = Fake::new();
    fake.on("events *", 0, CAPTURE, "");
    let id = CAPTURE
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.get(..64))
        .unwrap()
        .to_string();
    let bundle = container_json(
        "fxev-sidecars-cap",
        &id,
        "running",
        &[("bottle.role", "bundle"), ("bottle.slug", "cap")],
        "fxev-bundle-cap",
        "10.213.7.2",
        &[(8080, 49153)],
    );
    fake.on(&format!("container inspect * {id}"), 0, &bundle, "");
    fake
}

/// Each change of the capture is one JSON line of the schema's `event`, in order, the ports once
/// (the later starts publish the same); the engine's end of its stream is an error, exit 1.
#[test]
fn events_prints_each_change_and_a_closed_stream_is_an_error() {
    let fake = replaying();
    let out = fake
        .command(&["events"])
        .env("BOTTLE_PREFIX", "fxev")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 1, "{stderr}");
    assert!(
        stderr.contains("ended: the engine closed its event stream"),
        "{stderr}"
    );
    let changes: Vec<String> = stdout
        .lines()
        .map(|line| {
            let v = schema::check("event", line);
            assert_eq!(v["slug"], "cap", "{line}");
            let what = match v["change"].as_str().unwrap() {
                "state" => v["state"].as_str().unwrap().to_string(),
                "ports" => format!("ports {}", v["ports"][0]["host_port"]),
                other => other.to_string(),
            };
            format!("{} {what}", v["action"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        changes,
        [
            "create created",
            "start running",
            "start ports 49153",
            "die exited",
            "start running",
            "pause paused",
            "unpause running",
            "die exited",
            "start running",
            "die exited",
            "destroy missing",
        ]
    );
    let first = schema::check("event", stdout.lines().nth(3).unwrap());
    assert_eq!(first["exit_code"], 137);
    // The time is the engine's, in RFC 3339 UTC.
    let time = first["time"].as_str().unwrap();
    assert!(
        time.starts_with("2026-12-07T") && time.ends_with('Z'),
        "{time}"
    );
    // One `events` and one look per start: no poll loop.
    let calls = fake.calls();
    let events = &calls[0];
    assert_eq!(
        events[..6],
        [
            "events",
            "--filter",
            "type=container",
            "--filter",
            "label=bottle.role=bundle",
            "--since"
        ]
    );
    assert_eq!(events[7..], ["--format", "{{json .}}"]);
    let since: f64 = events[6].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(now - since < 60.0 && since <= now, "{since} {now}");
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(
        calls[1..]
            .iter()
            .all(|c| c[..2] == ["container", "inspect"])
    );
}

/// Only the slugs given, and only this prefix's bottles.
#[test]
fn events_of_other_slugs_and_prefixes_are_not_printed() {
    let fake = replaying();
    for (prefix, slugs) in [("fxev", &["other"][..]), ("bot-bottle", &[])] {
        let mut args = vec!["events"];
        args.extend(slugs);
        let out = fake
            .command(&args)
            .env("BOTTLE_PREFIX", prefix)
            .output()
            .unwrap();
        assert_eq!(code(&out), 1);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "",
            "{prefix} {slugs:?}"
        );
    }
}

/// An engine whose daemon is unreachable: exit 69, as for every command; `--json` gives the error
/// object.
#[test]
fn events_of_an_unreachable_engine_exits_69() {
    let mut fake = Fake::new();
    fake.on(
        "events *",
        1,
        "",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
    );
    let out = fake.bottle(&["events", "--json"]);
    assert_eq!(code(&out), 69, "{}", String::from_utf8_lossy(&out.stderr));
    schema::check("error", &String::from_utf8_lossy(&out.stdout));
}

/// Wait until the fake engine has been called with `verb`, for at most 10 s.
#[track_caller]
fn called(fake: &Fake, verb: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fake
        .calls()
        .iter()
        .any(|c| c.first().is_some_and(|v| v == verb))
    {
        assert!(Instant::now() < deadline, "`{verb}` never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-C is how `events` ends: exit 130, nothing said, the engine's `events` gone with it.
#[test]
fn events_ends_on_ctrl_c_with_130_quietly() {
    let mut fake = Fake::new();
    fake.on_sh("events *", "sleep 30");
    let child = fake
        .command(&["events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    called(&fake, "events");
    let asked = Instant::now();
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
}

/// The library's iterator: the changes, then the stream's end as an error, once; a cancel of the
/// handle's token ends it as interrupted; dropping it stops the engine's `events` at once.
#[test]
fn the_library_iterator_yields_changes_and_stops_on_cancel_or_drop() {
    use bottle::{Change, ErrorKind, State};
    let fake = replaying();
    let bottles = bottle::Bottles::new(bottle::Engine::new(fake.program()).unwrap())
        .prefix("fxev".parse().unwrap());
    let all: Vec<_> = bottles.events(&[]).unwrap().collect();
    assert_eq!(all.len(), 12, "{all:?}");
    let first = all[0].as_ref().unwrap();
    assert_eq!(first.slug.as_str(), "cap");
    assert!(matches!(
        first.change,
        Change::State {
            state: State::Created,
            ..
        }
    ));
    assert!(matches!(
        all[2].as_ref().unwrap().change,
        Change::Ports { .. }
    ));
    let end = all[11].as_ref().unwrap_err();
    assert_eq!(end.kind(), &ErrorKind::EngineFailed, "{end}");

    // `watch`: the callback stops it.
    let mut seen = 0;
    let (tx, rx) = mpsc::channel();
    bottles
        .watch(&[], move |e| {
            let _ = tx.send(e);
            std::ops::ControlFlow::Break(())
        })
        .unwrap();
    seen += rx.try_iter().count();
    assert_eq!(seen, 1);

    let mut fake = Fake::new();
    fake.on_sh("events *", "sleep 30");
    let bottles = bottle::Bottles::new(bottle::Engine::new(fake.program()).unwrap());
    let mut stream = bottles.events(&[]).unwrap();
    called(&fake, "events");
    let asked = Instant::now();
    bottles.cancel_token().cancel();
    let end = stream.next().unwrap().unwrap_err();
    assert_eq!(end.kind(), &ErrorKind::Interrupted, "{end}");
    assert!(stream.next().is_none());
    assert!(asked.elapsed() < Duration::from_secs(5));
    // A cancel does not poison the handle: a new stream runs until it is dropped.
    let stream = bottles.events(&[]).unwrap();
    let asked = Instant::now();
    drop(stream);
    assert!(asked.elapsed() < Duration::from_secs(5));
}

/// Kills the stream's process if a test fails before it stops it.
struct Streaming(Child);

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 16, item 5: a bundle stopped from outside (`stop` through the path's own CLI) shows up
/// in `bottle events` within a deadline, with its exit code; Ctrl-C then ends the stream, exit 130.
/// On every engine path, one bottle each.
#[test]
fn an_outside_stop_shows_up_in_events_within_seconds() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("ev{i}"));
        let pool = format!("10.{}.112.0/20", 100 + std::process::id() % 100);
        // A slug per path: host ports derive from the slug, and three paths share one dockerd.
        let slug = format!("ev{i}");
        b.ok(&[
            "up",
            &slug,
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
        ]);
        // `--verbose` says the engine's `events` line once the stream's start time is taken, so
        // the stop below is after it, and in the stream.
        let mut child = b
            .command(&["events", &slug, "--verbose"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Stderr::until(&mut child, " events ");
        let stdout = child.stdout.take().unwrap();
        let mut stream = Streaming(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        let bundle = format!("{}-sidecars-{slug}", b.prefix);
        let stop = b.docker(&["stop", "-t", "0", &bundle]);
        assert!(stop.status.success(), "{path}: {stop:?}");
        let stopped = Instant::now();
        let deadline = stopped + Duration::from_secs(3);
        let event = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{path}: no `exited` event within 3 s of the stop"));
            let v = schema::check("event", &line);
            if v["state"] == "exited" {
                break v;
            }
        };
        eprintln!(
            "{path}: the stop showed up {:?} after `stop` returned",
            stopped.elapsed()
        );
        assert_eq!(event["slug"], slug.as_str(), "{path}: {event}");
        assert_eq!(event["exit_code"], 137, "{path}: {event}");
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(stream.0.id() as i32, libc::SIGINT) };
        let status = stream.0.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{path}: {}", stderr.all());
    }
}
