//! The executor through the built binary and the fake engine: timeouts, cancellation by signals,
//! engines that hold their pipes or print too much, the in-memory env-file, `--timeout` parsing.

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::fake::Fake;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fake whose every command marks that it started, then hangs.
fn hung() -> Fake {
    let mut fake = Fake::new();
    fake.on_sh("*", ": > \"$D/started\"; sleep 30");
    fake
}

fn timed(fake: &Fake, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = fake.bottle(args);
    (out, start.elapsed())
}

/// `up`, `down` and `gc` against an engine that never answers end by `--timeout`, exit 1, and say
/// which command and what to do.
#[test]
fn a_hung_engine_ends_by_the_timeout() {
    for (args, budget) in [
        // `up`'s `network create` times out, then its rollback's lookup of what that create may have
        // made times out too: two timeouts.
        (
            &["up", "demo", "--image", "img", "--timeout", "1s"][..],
            3.5,
        ),
        (&["down", "demo", "--timeout", "1s"], 2.0),
        (&["gc", "--timeout", "1s"], 2.0),
    ] {
        let fake = hung();
        let (out, took) = timed(&fake, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(took.as_secs_f64() < budget, "{args:?} took {took:?}: {err}");
        assert!(
            err.contains("`docker ") && err.contains("did not finish within the timeout of 1s"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("--timeout") && err.contains("BOTTLE_TIMEOUT"),
            "{err}"
        );
    }
}

/// `BOTTLE_TIMEOUT` works like `--timeout`.
#[test]
fn the_timeout_comes_from_the_environment_too() {
    let fake = hung();
    let start = Instant::now();
    let out = fake
        .command(&["status", "demo"])
        .env("BOTTLE_TIMEOUT", "500ms")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stderr(&out).contains("within the timeout of 500ms"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_timeout_is_refused_in_one_line() {
    let fake = Fake::new();
    for bad in ["0", "garbage", "10x", "-1s", ""] {
        let out = fake.bottle(&["ls", &format!("--timeout={bad}")]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{bad:?}: {err}");
        assert!(err.contains("timeout"), "{err}");
        let out = fake
            .command(&["ls"])
            .env("BOTTLE_TIMEOUT", bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    assert!(fake.calls().is_empty());
}

fn spawn(fake: &Fake, args: &[&str]) -> Child {
    fake.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sigint(child: &Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
}

/// With a long timeout, a first SIGINT leaves `up`'s create its grace (and then the rollback, and
/// `down`'s or `gc`'s removals, run to the end); a second SIGINT ends bottle within 2 s, exit 130.
#[test]
fn a_second_sigint_ends_bottle_at_once() {
    for args in [
        &["up", "demo", "--image", "img", "--timeout", "1h"][..],
        &["down", "demo", "--timeout", "1h"],
        &["gc", "--timeout", "1h"],
    ] {
        let fake = hung();
        let child = spawn(&fake, args);
        wait_for(&fake.state_dir().join("started"));
        sigint(&child);
        std::thread::sleep(Duration::from_millis(300));
        let second = Instant::now();
        sigint(&child);
        let out = child.wait_with_output().unwrap();
        let took = second.elapsed();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{args:?}: {err}");
        assert!(
            took < Duration::from_secs(2),
            "{args:?}: {took:?} after the second signal"
        );
        assert!(err.contains("interrupted"), "{err}");
    }
}

/// One SIGINT during `down`'s command does not stop it: the command it began finishes (here after
/// 1 s), then bottle exits 130.
#[test]
fn a_first_sigint_lets_down_finish_its_command() {
    let mut fake = Fake::new();
    fake.on_sh(
        "inspect *",
        ": > \"$D/started\"; sleep 1; : > \"$D/finished\"; echo 'Error: No such object: bot-bottle-sidecars-demo' >&2; exit 1",
    );
    let child = spawn(&fake, &["down", "demo"]);
    wait_for(&fake.state_dir().join("started"));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        fake.state_dir().join("finished").exists(),
        "{}",
        stderr(&out)
    );
}

/// One SIGINT during a command that creates nothing kills it at once.
#[test]
fn a_first_sigint_kills_a_read_at_once() {
    let fake = hung();
    let child = spawn(&fake, &["status", "demo", "--timeout", "1h"]);
    wait_for(&fake.state_dir().join("started"));
    let sent = Instant::now();
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        sent.elapsed() < Duration::from_millis(500),
        "{:?}",
        sent.elapsed()
    );
}

/// An engine that leaves a child holding its stdout and stderr (ssh ControlPersist does) costs at
/// most the pipe grace, and that child is left alone.
#[test]
fn a_child_holding_the_pipes_does_not_hold_bottle() {
    let mut fake = Fake::new();
    fake.on_sh(
        "*",
        "sleep 20 & echo $! > \"$D/holder.pid\"; echo 'Error: No such object: x' >&2; exit 1",
    );
    let (out, took) = timed(&fake, &["status", "demo"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_millis(700), "took {took:?}");
    // What the engine printed before exiting was read.
    assert!(
        stderr(&out).contains("no bottle `demo`"),
        "{}",
        stderr(&out)
    );
    let pid: i32 = std::fs::read_to_string(fake.state_dir().join("holder.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) with signal 0 only checks; then we end the child we made the fake start.
    unsafe {
        assert_eq!(
            libc::kill(pid, 0),
            0,
            "bottle killed the engine's lingering child"
        );
        libc::kill(pid, libc::SIGKILL);
    }
}

/// 10 MB of engine stderr (all different lines): `ls` fails fast and quotes at most ~2000 chars.
#[test]
fn ten_megabytes_of_stderr_cost_well_under_a_second() {
    let mut fake = Fake::new();
    let mut big = String::with_capacity(10 << 20);
    let mut i = 0u64;
    while big.len() < 10_000_000 {
        big.push_str(&format!("Error response from daemon: line {i}\n"));
        i += 1;
    }
    fake.on("ps *", 1, "", &big);
    let (out, took) = timed(&fake, &["ls"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}", &err[..err.len().min(500)]);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(err.len() < 2600, "{} bytes of message", err.len());
    assert!(err.contains("bytes more)"), "{err}");
}

/// `KEY=VALUE` entries, and bare keys' values, reach the engine at /dev/fd/3 (an in-memory file),
/// exactly, in no argv; and `--verbose` shows the line as run.
#[test]
fn the_env_file_is_in_memory_at_fd_3() {
    let fake = Fake::new();
    let out = fake.bottle(&[
        "up",
        "demo",
        "--image",
        "img",
        "-e",
        "A=1",
        "-e",
        "B=x y=z",
        "-e",
        "HOME",
        "--verbose",
    ]);
    let err = stderr(&out);
    let run = fake
        .calls()
        .iter()
        .position(|c| c.first().is_some_and(|w| w == "run"))
        .expect("a run");
    let (link, content) = fake.env_file_seen(run + 1).expect("run had an env-file");
    assert!(link.starts_with("pipe:["), "{link}");
    // The bare `HOME` travels there too, with bottle's own value: never as `--env HOME`, which
    // would make the engine CLI read it from its own environment.
    assert!(content.starts_with("A=1\nB=x y=z\nHOME="), "{content}");
    assert_eq!(content.lines().count(), 3, "{content}");
    assert!(!err.contains("--env HOME"), "{err}");
    assert!(
        err.contains("+ docker run ") && err.contains(" --env-file /dev/fd/3 "),
        "{err}"
    );
    assert!(!fake.calls().concat().iter().any(|a| a.contains("x y=z")));
}
