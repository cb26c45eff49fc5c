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

/// Probe (not a finding so far): a second signal during a fleet `down --all` whose removals
/// hang ends bottle within 2 s, as the contract promises without a fleet.
#[test]
fn a_second_signal_ends_a_fleet_down_all_within_2s() {
    use crate::fake::{container_json, network_json};
    let mut fake = Fake::new();
    let (net, bundle) = ("bot-bottle-bundle-demo", "bot-bottle-sidecars-demo");
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "demo")];
    let c = container_json(bundle, "c1", "running", &labels, net, "10.213.150.2", &[]);
    let n = network_json(
        net,
        "n1",
        "10.213.150.0/24",
        &[("bottle.role", "network"), ("bottle.slug", "demo")],
        &[("c1", bundle)],
    );
    fake.on("--context * ps *", 0, &format!("c1\t{bundle}\n"), "");
    fake.on("--context * network ls *", 0, &format!("n1\t{net}\n"), "");
    fake.on("--context * inspect*", 0, &(c + &n), "");
    fake.on_sh("--context * rm *", "touch \"$D/removing\"; sleep 30");
    fake.on_sh("--context * stop *", "touch \"$D/removing\"; sleep 30");
    fake.on_sh("--context * kill *", "touch \"$D/removing\"; sleep 30");
    let mut child = fake
        .command(&["--contexts", "default,pod", "down", "--all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = fake.state_dir().join("removing");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "{}", fake.transcript());
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(200));
    let second = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let took = second.elapsed();
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(
        took < Duration::from_secs(2),
        "{took:?}: {err}\n{}",
        fake.transcript()
    );
    assert_eq!(status.code(), Some(130), "{err}");
}

/// A Ctrl-C while the contexts looked for a bottle (`status`, `env`, `logs`) cut one context's
/// look short, and bottle printed what another context showed and exited 0, never naming the
/// one it had not heard: that context may hold the bottle too (the best-scoring copy, which
/// reads act on). A look a signal cut short is the call interrupted (130), as without a fleet.
#[test]
fn an_interrupted_look_let_status_print_another_contexts_answer_and_exit_0() {
    use crate::fake::{container_json, network_json};
    let (net, bundle) = ("bot-bottle-bundle-demo", "bot-bottle-sidecars-demo");
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "demo")];
    let c = container_json(bundle, "c1", "running", &labels, net, "10.213.150.2", &[]);
    let n = network_json(
        net,
        "n1",
        "10.213.150.0/24",
        &[("bottle.role", "network"), ("bottle.slug", "demo")],
        &[("c1", bundle)],
    );
    for args in [
        &["status", "demo"][..],
        &["status", "demo", "--json"],
        &["env", "demo"],
        &["logs", "demo"],
    ] {
        let mut fake = Fake::new();
        std::fs::write(fake.state_dir().join("demo.json"), format!("{c}{n}")).unwrap();
        // `default` answers at once; `other` looks only once `default` has answered, and hangs.
        fake.on_sh(
            "--context default inspect*",
            "cat \"$D/demo.json\"; touch \"$D/answered\"",
        );
        fake.on_sh(
            "--context other inspect*",
            // (The pause lets bottle take `default`'s answer in before the signal.)
            "while [ ! -e \"$D/answered\" ]; do sleep 0.01; done; sleep 0.3; touch \"$D/looking\"; sleep 10",
        );
        let argv = [&["--contexts", "default,other"][..], args].concat();
        let (code, out, err) = signalled(&fake, &argv, "looking", libc::SIGINT);
        assert_eq!(code, 130, "{args:?}: {out}{err}");
        assert!(err.contains("interrupted"), "{args:?}: {err}");
    }
}

/// Probe (not a finding so far): a Ctrl-C while a fleet `up` runs the bundle on the context the
/// rule chose rolls back there, and only there: every engine call after the `run` names that
/// context (the rollback's looks included), and the exit is 130.
#[test]
fn an_interrupted_fleet_up_rolls_back_on_the_context_it_placed_on() {
    let mut fake = Fake::new();
    let missing = "Error: No such object: bot-bottle-sidecars-demo\n";
    // `demo` goes to `pod` (placement_score's rustdoc).
    fake.on("--context * inspect*", 1, "", missing);
    fake.on_sh("--context pod run *", "touch \"$D/running\"; sleep 10");
    let argv = ["--contexts", "default,pod", "up", "demo", "--image", "img"];
    let (code, out, err) = signalled(&fake, &argv, "running", libc::SIGINT);
    assert_eq!(code, 130, "{out}{err}");
    assert!(err.contains("context `pod`"), "{err}");
    let calls = fake.calls();
    let run = calls.iter().position(|c| c.contains(&"run".to_string()));
    let run = run.expect("a run");
    assert!(calls.len() > run + 1, "{}", fake.transcript());
    for call in &calls[run..] {
        assert_eq!(&call[..2], ["--context", "pod"], "{}", fake.transcript());
    }
}

/// A context whose look failed with an engine error (it answered, but not whether it holds the
/// bottle) was dropped in silence when another context held the bottle: `status`, `env` printed
/// the other's answer, and `stop` stopped the other's copy, all exit 0, though the failed
/// context may hold a copy (the best-scoring one, which reads act on; one `stop` left running).
/// The contract: any failure of a context is reported with the context named, exit 1.
#[test]
fn a_context_whose_look_failed_was_dropped_in_silence_when_another_held_the_bottle() {
    use crate::fake::{container_json, network_json};
    let (net, bundle) = ("bot-bottle-bundle-demo", "bot-bottle-sidecars-demo");
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "demo")];
    let c = container_json(bundle, "c1", "running", &labels, net, "10.213.150.2", &[]);
    let n = network_json(
        net,
        "n1",
        "10.213.150.0/24",
        &[("bottle.role", "network"), ("bottle.slug", "demo")],
        &[("c1", bundle)],
    );
    let odd = "Error response from daemon: something odd\n";
    let mut fake = Fake::new();
    fake.on("--context pod *", 1, "", odd);
    fake.on("--context default *inspect*", 0, &format!("{c}{n}"), "");
    let line = "bottle: context `pod`: ";
    for args in [&["status", "demo"][..], &["env", "demo"], &["stop", "demo"]] {
        let argv = [&["--contexts", "default,pod"][..], args].concat();
        let out = fake.bottle(&argv);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.matches(line).count(), 1, "{args:?}: {err}");
        assert!(err.contains("something odd"), "{args:?}: {err}");
    }
    let out = fake.bottle(&["--contexts", "default,pod", "status", "demo", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["contexts"][0]["context"], "pod", "{v}");
    assert_eq!(v["error"]["contexts"][0]["kind"], "engine_failed", "{v}");
    assert_eq!(v["error"]["partial"]["context"], "default", "{v}");
    // `up` of the bottle that exists: converged where it is, the failed look said as a dead
    // one is (a warning: the exit follows `up`'s rule).
    let out = fake.bottle(&["--contexts", "default,pod", "up", "demo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches(line).count(), 1, "{err}");
    // The library says it too.
    let bottles = bottle::Bottles::new(bottle::Engine::new(fake.program()).unwrap());
    let fleet = bottle::Fleet::new(&bottles, &["default", "pod"]).unwrap();
    let placed = fleet.locate(&"demo".parse().unwrap()).unwrap();
    assert_eq!(placed.context, "default");
    let failed: Vec<&str> = placed.failed.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(failed, ["pod"]);
}

/// The contract: `plan`, `subnet`, `version` and `doctor` take no fleet, "they accept the option
/// and ignore it". A bad list (`BOTTLE_CONTEXTS=` left empty in a session, a stray comma) refused
/// them all the same, exit 2: a session with a broken fleet variable could not even ask
/// `bottle doctor` what was wrong, nor `bottle subnet` for a subnet.
#[test]
fn a_bad_contexts_list_refused_the_commands_that_take_no_fleet() {
    let fake = Fake::new();
    for list in ["", ",", "-x"] {
        for args in [&["subnet", "demo"][..], &["plan", "demo", "--image", "img"]] {
            let out = fake
                .command(args)
                .env("BOTTLE_CONTEXTS", list)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{list:?} {args:?}: {err}");
        }
        // The commands that take a fleet still refuse it before running anything.
        let out = fake
            .command(&["ls"])
            .env("BOTTLE_CONTEXTS", list)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{list:?}");
    }
    assert!(fake.calls().is_empty(), "{}", fake.transcript());
}

/// With every context dead, a fleet's error ended with the one-engine advice, "`--context` its
/// context": an option `--contexts` refuses beside it (exit 2). The advice names `--contexts`.
#[test]
fn a_fleet_with_every_context_dead_advised_the_context_option_it_refuses() {
    let mut fake = Fake::new();
    let dead = "Cannot connect to the Docker daemon at unix:///run/x.sock. Is the docker daemon running?\n";
    fake.on("--context *", 1, "", dead);
    for args in [
        &["status", "demo"][..],
        &["up", "demo", "--image", "img"],
        &["stop", "demo"],
    ] {
        let argv = [&["--contexts", "a1,b1"][..], args].concat();
        let out = fake.bottle(&argv);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(69), "{args:?}: {err}");
        assert!(!err.contains("`--context` its context"), "{args:?}: {err}");
        assert!(err.contains("`--contexts`"), "{args:?}: {err}");
    }
}
