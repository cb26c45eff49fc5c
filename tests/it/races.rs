//! Correct without trusting a lock (issue 7): same-slug races on every engine path, an interrupt
//! sweep, and the edge cases where `up` used to give a wrong answer. Real engine, gated like
//! [`crate::real`].
//!
//! Race figures are written to stderr past the harness's capture, one line per path, so
//! `scripts/test.sh` shows them.

use std::io::Write;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::real::{Bottles, EnginePath, clis, http_get, json};

/// How many rounds of concurrent `up`s each path gets. The remote path (no locks at all) and the
/// first local path get the full count; the others a few, to keep CI short.
fn rounds(i: usize, path: &EnginePath) -> usize {
    let full = std::env::var("BOTTLE_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    match (i, path.spec.starts_with("remote:")) {
        (0, _) | (_, true) => full,
        _ => full.min(3),
    }
}

const RACERS: usize = 10;

fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Start `bottle up same` `RACERS` times at once, each with its own `XDG_RUNTIME_DIR` (and so
/// its own lock directory: the locks spare nothing here, as on a remote engine).
fn race(b: &Bottles, runtime: &tempfile::TempDir) -> Vec<Output> {
    let img = b.path.image.clone();
    let children: Vec<Child> = (0..RACERS)
        .map(|n| {
            crate::real::unlocked(
                b,
                runtime,
                n,
                &["up", "same", "--image", &img, "-p", "8080", "--json"],
            )
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// 10 concurrent `up`s of one slug, 10 rounds, on every path, without shared locks: after each
/// round exactly one network and one bundle, the bundle running, and every `up` that exited 0
/// reported the host port that `bottle port` shows at the end.
#[test]
fn same_slug_races_end_the_same_way_without_locks() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("race{i}"));
        let runtime = tempfile::tempdir().unwrap();
        let (mut ok, mut failed, mut false_successes) = (0, 0, 0);
        let rounds = rounds(i, path);
        let started = Instant::now();
        for round in 0..rounds {
            let outs = race(&b, &runtime);
            let net_filter = format!("name=^{}-bundle-same$", b.prefix);
            let ctr_filter = format!("name=^{}-sidecars-same$", b.prefix);
            let nets = b.docker_out(&["network", "ls", "-q", "--filter", &net_filter]);
            let ctrs = b.docker_out(&["ps", "-aq", "--filter", &ctr_filter]);
            assert_eq!(
                nets.lines().count(),
                1,
                "{path} round {round}: networks {nets:?}"
            );
            assert_eq!(
                ctrs.lines().count(),
                1,
                "{path} round {round}: bundles {ctrs:?}"
            );
            let now = b.ok(&["port", "same", "8080"]).trim().to_string();
            let status = json(&b.ok(&["status", "same", "--json"]));
            assert_eq!(status["bundle"]["state"], "running", "{path} round {round}");
            for out in &outs {
                if !out.status.success() {
                    failed += 1;
                    say(&format!(
                        "{path} round {round}: an `up` failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                    continue;
                }
                ok += 1;
                let v = json(&String::from_utf8_lossy(&out.stdout));
                let reported = format!(
                    "{}:{}",
                    v["ports"][0]["host_ip"].as_str().unwrap_or("?"),
                    v["ports"][0]["host_port"]
                );
                if reported != now {
                    false_successes += 1;
                }
            }
            // Half the rounds start from nothing, half re-`up` a bottle that is already there.
            if round % 2 == 1 {
                b.ok(&["down", "same"]);
            }
        }
        say(&format!(
            "race figures: {path}: {rounds} rounds x {RACERS} processes: {ok} exited 0, {failed} failed, {false_successes} false successes, {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        assert_eq!(false_successes, 0, "{path}");
        assert_eq!(failed, 0, "{path}: every racer should converge");
        b.ok(&["down", "same"]);
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");
    }
}

/// SIGINT at 0 to 400 ms into `up`: every run ends interrupted (exit 130) or had already
/// finished, and right after it exits, with no `gc`, nothing of it is left.
#[test]
fn an_interrupt_at_any_moment_of_up_leaves_nothing() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("sweep{i}"));
        let img = b.path.image.clone();
        // The full 10 ms sweep on the first path, 50 ms steps on the others.
        let step = if i == 0 { 10 } else { 50 };
        let (mut interrupted, mut finished, mut leftovers) = (0, 0, 0);
        for ms in (0..=400).step_by(step) {
            let mut child = b
                .command(&["up", "x", "--image", &img, "-p", "8080", "-e", "K=v"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(ms as u64));
            let done_before = child.try_wait().unwrap().is_some();
            if !done_before {
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            }
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => {
                    finished += 1;
                    b.ok(&["down", "x"]);
                }
                Some(130) => interrupted += 1,
                // Before bottle's handler is installed, SIGINT's default action ends it.
                None => interrupted += 1,
                other => panic!("{path} at {ms} ms: exit {other:?}: {err}"),
            }
            let left = b.leftovers();
            if !left.is_empty() {
                leftovers += 1;
                say(&format!("{path} at {ms} ms: left {left:?}: {err}"));
                b.ok(&["down", "x"]);
            }
            if out.status.code() == Some(130) {
                assert!(!err.contains("rolled back") || left.is_empty(), "{err}");
            }
        }
        say(&format!(
            "interrupt sweep: {path}: {interrupted} interrupted, {finished} had finished, {leftovers} with leftovers"
        ));
        assert_eq!(leftovers, 0, "{path}");
    }
}

/// A re-`up` of a healthy bottle on a full pool keeps it: the bottle's own network never counts
/// as taken (locally its bridge is a host route).
#[test]
fn re_up_on_a_full_pool_keeps_the_bottle() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("full{i}"));
        let pool = format!("10.77.{}.0/29", 200 + i);
        let img = b.path.image.clone();
        let args = [
            "up", "one", "--image", &img, "--pool", &pool, "--block", "29", "--json",
        ];
        let first = json(&b.ok(&args));
        let again = json(&b.ok(&args));
        assert_eq!(again["action"], "kept", "{path}: {again}");
        assert_eq!(first["bundle"], again["bundle"], "{path}");
    }
}

/// A changed spec whose image cannot be had keeps the running bundle (and its service).
#[test]
fn a_replace_with_a_missing_image_keeps_the_running_bundle() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("keep{i}"));
        let img = b.path.image.clone();
        let up = json(&b.ok(&["up", "k", "--image", &img, "-p", "8080", "--json"]));
        let id_before = b.docker_out(&[
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}-sidecars-k", b.prefix),
        ]);
        let out = b.bottle(&[
            "up",
            "k",
            "--image",
            "bottle-test-no-such-image:1",
            "--pull",
            "never",
            "-p",
            "8080",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(err.contains("was kept"), "{path}: {err}");
        let id_after = b.docker_out(&[
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}-sidecars-k", b.prefix),
        ]);
        assert_eq!(id_before, id_after, "{path}: the bundle was replaced");
        let addr = format!(
            "{}:{}",
            up["ports"][0]["host_ip"].as_str().unwrap(),
            up["ports"][0]["host_port"]
        );
        assert!(
            !http_get(&addr).is_empty(),
            "{path}: the old bundle no longer serves"
        );
    }
}

/// A paused bundle with an unchanged spec is unpaused (same container), and a stopped one started.
#[test]
fn a_paused_or_stopped_bundle_is_started_not_replaced() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("pause{i}"));
        let img = b.path.image.clone();
        let name = format!("{}-sidecars-p", b.prefix);
        let args = ["up", "p", "--image", &img, "-p", "8080", "--json"];
        b.ok(&args);
        let id = b.docker_out(&["inspect", "--format", "{{.Id}}", &name]);
        for stop in [&["pause"][..], &["stop", "--time", "0"]] {
            let mut cmd = stop.to_vec();
            cmd.push(&name);
            assert!(b.docker(&cmd).status.success(), "{path}: {cmd:?}");
            let v = json(&b.ok(&args));
            assert_eq!(v["action"], "started", "{path} after {stop:?}: {v}");
            assert_eq!(v["bundle"]["state"], "running", "{path}");
            assert_eq!(
                b.docker_out(&["inspect", "--format", "{{.Id}}", &name]),
                id,
                "{path}"
            );
        }
    }
}

/// `--context` naming a context that does not exist is exit 69, like an unreachable daemon.
#[test]
fn a_missing_context_is_exit_69() {
    let Some(paths) = clis() else { return };
    for path in paths.iter().filter(|p| !p.podman && p.env.is_empty()) {
        let b = Bottles::new(path, "ctx");
        for args in [
            &["ls", "--context", "bottle-no-such-context"][..],
            &["down", "x", "--context", "bottle-no-such-context"],
        ] {
            let out = b.bottle(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(69), "{path} {args:?}: {err}");
            assert!(err.contains("bottle-no-such-context"), "{err}");
        }
    }
}

/// race17, seen through a fleet (whose looks stagger its racers, and which passes `--context NAME`
/// to every command): racers that start while the first is already at its `run`, each with its
/// own lock directory. The late ones find the network made ("exists"), look, and are refused the
/// bundle's name, often while dockerd has reserved it but does not show the container yet; they
/// used to `run` again at once until "kept changing" (exit 1). Every racer exits 0 with the one
/// bundle (one `created`, the others `kept`, one `bottle.run` among them), and one network and one
/// bundle are left. One bottle per path; `--context default` wherever the CLI is docker's.
#[test]
fn racers_that_start_while_the_first_runs_keep_its_bundle() {
    use crate::fake::Stderr;
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("late{i}"));
        let runtime = tempfile::tempdir().unwrap();
        let img = b.path.image.clone();
        // Native podman's CLI knows no connection named `default`; docker's knows the context.
        let docker_cli = !path.podman || !path.env.is_empty();
        let mut args = match docker_cli {
            true => vec!["--context", "default"],
            false => Vec::new(),
        };
        args.extend(["--verbose", "up", "late", "--image", &img, "--json"]);
        let started = Instant::now();
        let mut first = crate::real::unlocked(&b, &runtime, 0, &args);
        let first_err = Stderr::until(&mut first, " run --detach ");
        let late: Vec<Child> = (1..3)
            .map(|n| crate::real::unlocked(&b, &runtime, n, &args))
            .collect();
        let mut outs = vec![(first.wait_with_output().unwrap(), first_err.all())];
        for c in late {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            outs.push((out, err));
        }
        let mut actions = Vec::new();
        let mut runs = std::collections::BTreeSet::new();
        let (mut waited, mut runs_made) = (0, 0);
        for (out, err) in &outs {
            assert!(out.status.success(), "{path}: an `up` failed: {err}");
            let v = json(&String::from_utf8_lossy(&out.stdout));
            assert_eq!(v["bundle"]["state"], "running", "{path}: {v}");
            actions.push(v["action"].as_str().unwrap_or("?").to_string());
            runs.insert(v["run"].as_str().unwrap_or("?").to_string());
            runs_made += err.matches(" run --detach ").count();
            // The wait for a name held by a create not yet shown: a `container inspect` by name
            // (on native podman every look is one, so it is counted only for docker's CLI).
            let by_name = format!("container inspect --format '{{{{json .}}}}' {}-", b.prefix);
            waited += usize::from(docker_cli && err.contains(&by_name));
        }
        actions.sort();
        assert_eq!(actions, ["created", "kept", "kept"], "{path}");
        assert_eq!(
            runs.len(),
            1,
            "{path}: reported bundles of several runs: {runs:?}"
        );
        let mut names = b.leftovers();
        names.sort();
        assert_eq!(
            names,
            [
                format!("{}-bundle-late", b.prefix),
                format!("{}-sidecars-late", b.prefix)
            ],
            "{path}: one network and one bundle"
        );
        say(&format!(
            "late racers: {path}: 3 exited 0 after {runs_made} `run`s, {waited} waited for the name, {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        b.ok(&["down", "late"]);
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");
    }
}
