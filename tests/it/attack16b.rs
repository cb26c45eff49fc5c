//! attack16b: adversarial regressions for the last round's unattacked fixes (a host port a racer
//! took between `up`'s look and its `run` is chosen again; a refused start names what holds a
//! recorded endpoint; `gc` keeps stopped bundles). Each test is named after the bug it shows and
//! fails without its fix.

use crate::fake::{Fake, container_json, with_env};
use crate::transcripts::{BUNDLE, NET, network};

/// Native podman refuses a `run` whose host port is taken without printing the new container's
/// ID, and leaves that container behind, `Created` (seen on podman 4.3: `Error: cannot listen on
/// the TCP port: listen tcp4 127.0.0.1:P: bind: address already in use`, exit 126). When a look
/// then shows a racer on the port, `up` chose again but removed only a container whose ID `run`
/// had printed: it forgot this one, its next `run` met its own leftover under the bundle's name,
/// and the failed `up` left it (a labelled container) on the engine. The fake keeps that state:
/// the leftover holds the name until something removes it.
#[test]
fn a_racer_on_the_port_of_a_run_that_printed_no_id_leaves_its_container_behind() {
    let mut fake = Fake::new();
    let d = fake.state_dir();
    let d = d.display();
    // This run's own leftover, found by its `bottle.run` label until it is removed.
    fake.on_sh(
        "ps *label=bottle.run=*",
        &format!("[ -e {d}/c9.made ] && [ ! -e {d}/c9.removed ] && printf 'c9\\t{BUNDLE}\\n'"),
    );
    // The first look: nothing publishes. Every later one: the racer, on candidate 0.
    fake.once("ps --all*", 0, "", "");
    fake.on("ps --all*", 0, "r1\tracer\n", "");
    let racer = container_json("racer", "r1", "running", &[], "bridge", "", &[(80, 26435)]);
    fake.on("container inspect* r1", 0, &racer, "");
    let leftover = container_json(
        BUNDLE,
        "c9",
        "created",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.run", "RUNID"),
        ],
        NET,
        "",
        &[(8080, 26435)],
    );
    fake.on_sh(
        "container inspect* c9",
        &format!(
            "[ -e {d}/c9.removed ] && {{ echo 'Error: no such container c9' >&2; exit 1; }}; printf '%s' '{}' | sed \"s/RUNID/$(cat {d}/runid)/\"; exit 0",
            leftover.trim_end()
        ),
    );
    fake.on_sh("rm *c9", &format!(": > {d}/c9.removed"));
    // `run`: the first is refused as podman refuses it (no ID, a `Created` leftover); later ones
    // meet the leftover's name while it is there, and run otherwise.
    fake.on_sh(
        "run *",
        &format!(
            r#"for a in "$@"; do case "$a" in bottle.run=*) echo "${{a#bottle.run=}}" > {d}/runid;; esac; done
if [ ! -e {d}/c9.made ]; then
  : > {d}/c9.made
  echo 'Error: cannot listen on the TCP port: listen tcp4 127.0.0.1:26435: bind: address already in use' >&2
  exit 126
fi
if [ ! -e {d}/c9.removed ]; then
  echo 'Error: creating container storage: the container name "{BUNDLE}" is already in use by c9. You have to remove that container to be able to reuse that name: that name is already in use' >&2
  exit 125
fi
echo {id}
exit 0"#,
            id = "d".repeat(64)
        ),
    );
    let bundle = with_env(
        &container_json(
            BUNDLE,
            &"d".repeat(64),
            "running",
            &[("bottle.role", "bundle"), ("bottle.slug", "demo")],
            NET,
            "10.213.150.2",
            &[(8080, 26436)],
        ),
        &[],
    );
    fake.on("container inspect*", 0, &bundle, "");
    let out = fake.bottle(&["up", "demo", "--image", "img", "-p", "8080", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let calls = fake.transcript();
    assert!(
        std::path::Path::new(&format!("{d}/c9.removed")).exists(),
        "the refused run's container was left: {err}\n{calls}"
    );
    assert!(out.status.success(), "{err}\n{calls}");
    let runs: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("docker run"))
        .collect();
    assert_eq!(runs.len(), 2, "{calls}");
    assert!(runs[1].contains("127.0.0.1:26436:8080"), "{calls}");
}

/// Stops the fake's background socket holders, even when the test fails.
///
/// The holders end themselves when the stop file appears (or after 120 s): a `kill PID` at drop
/// could hit an unrelated process once a holder had exited and its PID been reused, and the suite
/// runs thousands of engine processes (an `up` elsewhere in the suite was seen interrupted).
struct Holders(std::path::PathBuf);

impl Drop for Holders {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, "");
    }
}

/// A python socket holder: binds and listens on 127.0.0.1:$p, touches `ready`, and holds the port
/// until `stop` exists or its directory is gone (a test's temp dir, removed on drop), at most 120 s.
fn holder_py(ready: &str, stop: &str) -> String {
    format!(
        r#"python3 -c 'import os,socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close(); t=time.time()
d=os.path.dirname(sys.argv[3])
while os.path.isdir(d) and not os.path.exists(sys.argv[3]) and time.time()-t < 120: time.sleep(0.05)' "$p" {ready} {stop} </dev/null >/dev/null 2>&1 &"#
    )
}

/// podman's docker-compatible service keeps listening on a failed `run`'s host ports after the
/// refusal (seen on podman 4.3's service: `run` of a bundle whose command does not exist, exit
/// 127, and `127.0.0.1:P` stays bound by `podman system service` for about 12 s, `rm` or not).
/// On a local engine the look after the refusal then sees a host socket on the port `up` chose,
/// takes it for a racer, and runs again on the next candidate: each round fails the same way and
/// holds one more port, and after 8 rounds `up` says the bottle "kept changing" instead of the
/// engine's error. The fake plays that service: each `run` binds its host port in a process that outlives
/// it, and fails for a reason that is not about ports.
#[test]
fn a_run_refused_for_another_reason_is_retried_while_the_engine_keeps_its_sockets() {
    let mut fake = Fake::new();
    let d = fake.state_dir();
    let _holders = Holders(d.join("stop"));
    let d = d.display();
    fake.on("ps --all*", 0, "", "");
    fake.on_sh(
        "run *",
        &format!(
            r#"for a in "$@"; do case "$a" in 127.0.0.1:*:8080) p="${{a#127.0.0.1:}}"; p="${{p%:8080}}";; esac; done
rm -f {d}/ready
{holder}
n=0; while [ ! -e {d}/ready ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
echo {id}
echo 'docker: Error response from daemon: runc: runc create failed: unable to start container process: exec: "/nonexistent": stat /nonexistent: no such file or directory: OCI runtime attempted to invoke a command that was not found' >&2
exit 127"#,
            id = "e".repeat(64),
            holder = holder_py(&format!("{d}/ready"), &format!("{d}/stop")),
        ),
    );
    // A local engine (a unix socket): the look reads the host's sockets.
    let out = fake
        .command(&["up", "atk16b-leak", "--image", "img", "-p", "8080"])
        .env("DOCKER_HOST", "unix:///nonexistent/attack16b.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let calls = fake.transcript();
    let runs = calls
        .lines()
        .filter(|l| l.starts_with("docker run"))
        .count();
    assert_eq!(out.status.code(), Some(1), "{err}\n{calls}");
    assert!(
        err.contains("command that was not found"),
        "the engine's error was lost: {err}"
    );
    assert!(runs <= 2, "{runs} runs: {err}\n{calls}");
}

/// `bottle stop` (or `pause`, or `restart`) of a running bottle the engine refuses for a reason
/// that is not about ports (here docker's `cannot stop container: permission denied`, seen with
/// AppArmor): the error blamed the bottle's own port proxy, still listening on its recorded port
/// because the bundle still runs, saying the endpoint "is held by a host socket" and telling the
/// user to free it. A live bundle's own bindings account for the sockets on its ports. A local
/// engine (a unix socket), and a real socket on the recorded port standing for the port proxy.
#[test]
fn a_refused_stop_blames_the_bottles_own_port_proxy_as_a_host_socket() {
    let proxy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = proxy.local_addr().unwrap().port();
    let record = format!("127.0.0.1:{port}->8080/tcp");
    let bundle = container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.endpoints", &record),
        ],
        NET,
        "10.213.150.2",
        &[(8080, port)],
    );
    let mut fake = Fake::new();
    fake.on(
        "inspect *",
        0,
        &(bundle.clone() + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle, "");
    fake.on("ps --all*", 0, &format!("c1\t{BUNDLE}\n"), "");
    fake.on(
        "stop *",
        1,
        "",
        "Error response from daemon: cannot stop container: c1: permission denied\n",
    );
    let out = fake
        .command(&["stop", "demo"])
        .env("DOCKER_HOST", "unix:///nonexistent/attack16b.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}\n{}", fake.transcript());
    assert!(err.contains("permission denied"), "{err}");
    assert!(!err.contains("held by"), "{err}");
}

/// Podman shows two states docker has not: `stopping` while a stop waits out its grace period
/// (the bundle's processes still run), and `stopped` between a stop and its cleanup (which
/// lingers when the cleanup process does not fire, and reaches the docker API too: podman issue
/// 17728). `gc` kept only `exited` of the stopped states, so it took either for a leftover and
/// removed it with a plain `rm`, which podman grants even to a `stopping` container (seen on
/// podman 4.3: `podman stop -t 4` of `sleep 300`, then `podman rm` removes it at once): a `gc`
/// during a `bottle stop` removed the bottle, its network and its endpoints record.
#[test]
fn gc_removes_a_podman_bottle_that_is_stopping_or_stopped() {
    for state in ["stopping", "stopped"] {
        let bundle = container_json(
            BUNDLE,
            "c1",
            state,
            &[("bottle.role", "bundle"), ("bottle.slug", "demo")],
            NET,
            "",
            &[],
        );
        let mut fake = Fake::new();
        fake.on("ps *", 0, &format!("c1\t{BUNDLE}\n"), "");
        fake.on("network ls *", 0, &format!("net1\t{NET}\n"), "");
        fake.on("inspect*", 0, &(bundle + &network(&[])), "");
        let out = fake.bottle(&["gc", "--json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        let calls = fake.transcript();
        assert_eq!(out.status.code(), Some(0), "{state}: {err}\n{calls}");
        assert!(!calls.contains("docker rm"), "{state}: {calls}");
        assert!(!calls.contains("network rm"), "{state}: {calls}");
    }
}

/// A signal while `up` looks again after a refused `run` (the look that decides whether a racer
/// took a port it chose): the refused run's container is still this run's, and the rollback
/// removes it. An attack that found nothing (the container stays in the journal until it is
/// removed); kept as the guard of that order.
#[test]
fn a_signal_during_the_look_after_a_refused_run_rolls_it_back() {
    let mut fake = Fake::new();
    let d = fake.state_dir();
    let looking = d.join("looking");
    fake.once("ps --all*", 0, "", "");
    fake.on_sh("ps --all*", &format!(": > {}; sleep 5", looking.display()));
    let id = "f".repeat(64);
    fake.once(
        "run *",
        125,
        &format!("{id}\n"),
        "docker: Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:26435 failed: port is already allocated.\n",
    );
    let child = fake
        .command(&["up", "demo", "--image", "img", "-p", "8080"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !looking.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            fake.transcript()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let calls = fake.transcript();
    assert_eq!(out.status.code(), Some(130), "{err}\n{calls}");
    let run = calls.find("docker run").unwrap();
    assert!(
        calls[run..].contains(&format!("rm --force --volumes {id}")),
        "{err}\n{calls}"
    );
}

fn local(path: &crate::real::EnginePath) -> bool {
    path.env
        .iter()
        .all(|(k, v)| k != "DOCKER_HOST" || v.starts_with("unix://"))
}

/// The real engines' side of
/// [`a_racer_on_the_port_of_a_run_that_printed_no_id_leaves_its_container_behind`]: a wrapper
/// of the path's CLI plays the racer, taking the host port of the first `run` just before it
/// hands that `run` to the engine (after `up`'s look, as a racer without bottle's lock would): a
/// listening socket on a local engine, a container publishing on it on a remote one (where only
/// containers are seen, and where such races happen). Each engine refuses the `run` (native
/// podman printing no ID, and leaving the container); `up` then sees the racer, takes back what
/// the refused `run` left, and runs on the next candidate: exit 0, one bundle.
#[test]
fn a_racer_on_the_port_of_a_run_that_printed_no_id_leaves_its_container_behind_on_real_engines() {
    use std::os::unix::fs::PermissionsExt;
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for (i, path) in paths.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let _holders = Holders(dir.path().join("stop"));
        let real = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {}", path.program)])
            .output()
            .unwrap();
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        let name = match path.podman && path.env.is_empty() {
            true => "podman",
            false => "docker",
        };
        let mut b = crate::real::Bottles::new(path, &format!("rp{i}"));
        let racer = match local(path) {
            true => format!(
                r#"{}
  n=0; while [ ! -e {d}/ready ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done"#,
                holder_py(&format!("{d}/ready"), &format!("{d}/stop"))
            ),
            false => format!(
                "{real} run -d --name {}-racer -p \"127.0.0.1:$p:8080\" {} sleep 120 >/dev/null",
                b.prefix, path.image
            ),
        };
        let wrapper = dir.path().join(name);
        std::fs::write(
            &wrapper,
            format!(
                r#"#!/bin/sh
if [ "$1" = run ] && [ ! -e {d}/raced ]; then
  : > {d}/raced
  for a in "$@"; do case "$a" in 127.0.0.1:*:8080) p="${{a#127.0.0.1:}}"; p="${{p%:8080}}";; esac; done
  echo "$p" > {d}/port
  {racer}
fi
exec {real} "$@"
"#
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        b.cli = wrapper.display().to_string();
        let pool = format!("10.{}.144.0/20", 100 + std::process::id() % 100);
        let out = b.bottle(&[
            "up",
            "rp",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--json",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        let bundle = format!("{}-sidecars-rp", b.prefix);
        let listed = b.docker_out(&[
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            &format!("name=^{}-sidecars-", b.prefix),
        ]);
        assert!(out.status.success(), "{path}: {err}\n{listed}");
        let raced: u16 = std::fs::read_to_string(dir.path().join("port"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let up = crate::real::json(&String::from_utf8_lossy(&out.stdout));
        let port = up["ports"][0]["host_port"].as_u64().unwrap() as u16;
        assert_ne!(port, raced, "{path}: {up}");
        assert_eq!(
            listed, bundle,
            "{path}: one bundle, and nothing the refused run left"
        );
        assert_eq!(up["bundle"]["state"], "running", "{path}: {up}");
    }
}

/// The real side of [`gc_removes_a_podman_bottle_that_is_stopping_or_stopped`], on the podman
/// paths: `gc` while the engine's own `stop -t 4` (a user's, or a launcher's; `bottle stop`
/// holds the slug's lock, which `gc` waits for) waits out its grace period (the test image
/// ignores SIGTERM) keeps the `stopping` bundle. Ended by killing the stop: the drop guard
/// removes everything.
#[test]
fn gc_removes_a_podman_bottle_that_is_stopping_on_podman() {
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| p.podman) {
        let b = crate::real::Bottles::new(path, &format!("gs{i}"));
        let pool = format!("10.{}.144.0/20", 100 + std::process::id() % 100);
        b.ok(&["up", "gs", "--image", &path.image, "--pool", &pool]);
        let bundle = format!("{}-sidecars-gs", b.prefix);
        let mut stop = b
            .path
            .engine()
            .args(["stop", "-t", "4", &bundle])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let state = || b.docker_out(&["inspect", "--format", "{{.State.Status}}", &bundle]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while state() != "stopping" {
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: never stopping: {}",
                state()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let gc = b.bottle(&["gc", "--json"]);
        let seen = state();
        let _ = stop.kill();
        let _ = stop.wait();
        assert!(gc.status.success(), "{path}: {gc:?}");
        assert!(
            ["stopping", "exited", "stopped"].contains(&seen.as_str()),
            "{path}: gc removed the stopping bottle: {seen:?}, {}",
            String::from_utf8_lossy(&gc.stdout)
        );
    }
}

/// `up` of a bottle while the engine stops it, on the podman paths: podman shows the bundle
/// `stopping` while the stop waits out its grace period, and its port proxy still listens on the
/// recorded port. `up` replaces a bundle in a state it does not know, but its check before the
/// old bundle goes took that listener for someone else's (only a running, paused or restarting
/// bundle explained a socket) and failed: "endpoint 127.0.0.1:P/tcp of bottle `g2` is held by a
/// host socket" (seen on podman 4.3). Docker shows such a bundle `running`, and `up` keeps it.
/// Once waited for, podman's docker API may show the bundle `stopped` (not yet cleaned up), which
/// `up` replaced (`"reason": "the bundle is \`stopped\`"`) instead of starting it: `started`.
#[test]
fn up_of_a_stopping_podman_bottle_says_its_own_port_is_held_by_a_host_socket() {
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| p.podman) {
        let b = crate::real::Bottles::new(path, &format!("us{i}"));
        let pool = format!("10.{}.144.0/20", 100 + std::process::id() % 100);
        let up = || {
            b.bottle(&[
                "up",
                "us",
                "--image",
                &path.image,
                "--pool",
                &pool,
                "-p",
                "8080",
                "--json",
            ])
        };
        let first = up();
        assert!(first.status.success(), "{path}: {first:?}");
        let first = crate::real::json(&String::from_utf8_lossy(&first.stdout));
        let bundle = format!("{}-sidecars-us", b.prefix);
        let mut stop = b
            .path
            .engine()
            .args(["stop", "-t", "3", &bundle])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let state = || b.docker_out(&["inspect", "--format", "{{.State.Status}}", &bundle]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while state() != "stopping" {
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: never stopping: {}",
                state()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let again = up();
        let _ = stop.kill();
        let _ = stop.wait();
        let err = String::from_utf8_lossy(&again.stderr);
        assert!(again.status.success(), "{path}: {err}");
        let again = crate::real::json(&String::from_utf8_lossy(&again.stdout));
        assert_eq!(again["ports"], first["ports"], "{path}: {again}");
        assert_eq!(again["action"], "started", "{path}: {again}");
    }
}
