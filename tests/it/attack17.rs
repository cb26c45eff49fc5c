//! attack17: an adversary on the fleet (`--contexts`, the library's `Fleet`): signals at odd
//! moments, hostile lists, and whether the exit codes and `--json` documents say what happened.
//! Each test is named after the bug it found.

use std::time::{Duration, Instant};

use crate::fake::Fake;

/// Spawn `bottle args` on `fake`, wait until the engine shows `marker` (a file in its state dir,
/// touched by a rule), then send `signal`; the exit code, stdout and stderr.
fn signalled(fake: &Fake, args: &[&str], marker: &str, signal: i32) -> (i32, String, String) {
    let child = fake
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = fake.state_dir().join(marker);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "{}", fake.transcript());
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, signal) };
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A Ctrl-C while every context lists its bottles (`ls`, `down --all`, `gc`, `stop --all`) was
/// reported as a context that failed: exit 1, and under `--json` an `engine_unavailable` object
/// saying "the others did their part" when no context was dead and none did its part. Without
/// a fleet the same Ctrl-C exits 130; over a fleet it must too, its object `interrupted`.
#[test]
fn an_interrupted_fleet_listing_exited_1_as_a_context_that_failed() {
    for (args, json) in [
        (&["ls"][..], false),
        (&["ls", "--json"], true),
        (&["down", "--all", "--json"], true),
        (&["gc"], false),
        (&["stop", "--all"], false),
    ] {
        let mut fake = Fake::new();
        fake.on_sh("--context * ps *", "touch \"$D/listing\"; sleep 10");
        let argv = [&["--contexts", "default,pod"][..], args].concat();
        let (code, out, err) = signalled(&fake, &argv, "listing", libc::SIGINT);
        assert_eq!(code, 130, "{args:?}: {out}{err}");
        assert!(!err.contains("did their part"), "{args:?}: {err}");
        if json {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["error"]["kind"], "interrupted", "{out}");
            assert_eq!(v["error"]["exit_code"], 130, "{out}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(!message.contains("did their part"), "{out}");
            assert_eq!(v["error"]["contexts"][0]["kind"], "interrupted", "{out}");
        }
    }
}
