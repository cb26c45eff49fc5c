//! The adversary's second round (the library facade, `--publish-ip auto`, `--wait`, `--parallel`,
//! the pull path): each test is one attack that broke bottle. A test that is `#[ignore]`d names a
//! problem that is not fixed yet.

use crate::fake::Fake;

const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";
const NO_SUCH_IMAGE: &str =
    "docker: Error response from daemon: No such image: img:latest.\nSee 'docker run --help'.\n";
const NO_REGISTRY: &str = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n";

/// A missing image and no registry, through the library with no event callback: the pull's
/// failure said only "its output is above" (there is nothing above: the library prints nothing),
/// and the error kept no command data, though the contract promises the engine command, its exit
/// code and stderr. The same message reached `up --json`'s error object, where nothing is above
/// either.
#[test]
fn a_failed_pull_keeps_its_command_and_stderr() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 125, "", NO_SUCH_IMAGE);
    fake.on("pull *", 1, "", NO_REGISTRY);
    let program = fake.state_dir().parent().unwrap().join("docker");
    let bottles = bottle::Bottles::new(bottle::Engine::new(program).unwrap())
        .prefix("a2pull".parse().unwrap());
    let spec = bottle::Spec::builder("img").build().unwrap();
    let err = bottles.up(&"demo".parse().unwrap(), &spec).unwrap_err();
    assert!(err.message().contains("no such host"), "{err}");
    assert!(!err.message().contains("above"), "{err}");
    let cmd = err.command().expect("the failed pull");
    assert!(cmd.line().ends_with("pull img"), "{}", cmd.line());
    assert_eq!(cmd.exit_code(), Some(1));
    assert!(cmd.stderr().contains("no such host"), "{}", cmd.stderr());
    assert_eq!(err.rolled_back(), ["network `a2pull-bundle-demo`"]);

    // The CLI's JSON error object carries the reason too.
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 125, "", NO_SUCH_IMAGE);
    fake.on("pull *", 1, "", NO_REGISTRY);
    let out = fake.bottle(&["up", "demo", "--image", "img", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let e = crate::real::json(stdout.trim());
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("no such host"), "{message}");
}

/// `--publish-ip auto` after a crash: bottle `b`'s first `up` listed the addresses before bottle
/// `a`'s bundle existed (a race with no shared lock) and was killed after `run`, before its check
/// after start. Its bundle, newer than `a`'s, sits on `a`'s address. The re-`up` of `b` then
/// exited 0 with `kept`, serving on another bottle's address: the check ran only on the path that
/// runs a bundle. (Reproduced with a wrapper engine that hides `a` from `b`'s listing and kills
/// `b`'s process at its first `container inspect`.)
#[test]
fn a_kept_auto_bundle_on_an_older_bundles_address_moves_on() {
    use std::os::unix::fs::PermissionsExt;
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for path in paths {
        let guard = crate::real::Bottles::new(&path, "a2lb");
        let pool = format!("127.{}.0.16/28", 100 + std::process::id() % 100);
        let spec = [
            "--pool",
            "10.151.0.0/16",
            "--image",
            &path.image,
            "--pull",
            "never",
            "-p",
            "80",
            "--publish-ip",
            "auto",
            "--loopback-pool",
            &pool,
            "--json",
        ];
        let up = |slug: &str| -> serde_json::Value {
            let mut args = vec!["up", slug];
            args.extend(spec);
            crate::real::json(guard.ok(&args).trim())
        };
        let ip = |v: &serde_json::Value| v["ports"][0]["host_ip"].as_str().unwrap().to_string();
        let a = up("a");
        // Stopped while `b` crashes, so that no host socket holds `a`'s address either (a local
        // `auto` also skips addresses host sockets are bound to, which `a`'s port proxy is): the
        // wrapper below hides `a` from the listing only.
        let a_bundle = format!("{}-sidecars-a", guard.prefix);
        let stopped = guard.docker(&["stop", "-t", "0", &a_bundle]);
        assert!(stopped.status.success(), "{path}: {stopped:?}");

        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("engine");
        let script = format!(
            "#!/bin/sh\ncase \"$*\" in\n  ps\\ *) exit 0 ;;\n  container\\ inspect*) kill -9 $PPID; exit 1 ;;\nesac\nexec '{}' \"$@\"\n",
            path.program
        );
        std::fs::write(&wrapper, script).unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut args = vec!["up", "b"];
        args.extend(spec);
        let crashed = guard
            .command(&args)
            .env("BOTTLE_ENGINE", &wrapper)
            .output()
            .unwrap();
        assert_eq!(crashed.status.code(), None, "killed: {crashed:?}");
        // `a` runs again, on its address (the host port is the engine's pick again).
        let started = guard.docker(&["start", &a_bundle]);
        assert!(started.status.success(), "{path}: {started:?}");

        let b = up("b");
        assert_ne!(ip(&b), ip(&a), "{path}: b serves on a's address: {b}");
        assert_eq!(b["action"], "replaced", "{b}");
        // And `a`, the older, keeps its address.
        assert_eq!(ip(&up("a")), ip(&a), "{path}");
    }
}
