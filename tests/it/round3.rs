//! Issue 14, item 12: the small holes of the third adversarial round, each with its test, against
//! the fake engine (and, where the engine's own behaviour matters, the real one).

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::fake::{Fake, Stderr, network_json};
use crate::transcripts::{BUNDLE, NET, network};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
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

/// A leftover network of slug `slug` (no bundle).
fn leftover(slug: &str, id: &str, third: u8) -> String {
    let subnet = format!("10.213.{third}.0/24");
    network_json(
        &format!("bot-bottle-bundle-{slug}"),
        id,
        &subnet,
        &[
            ("bottle.role", "network"),
            ("bottle.slug", slug),
            ("bottle.subnet", &subnet),
        ],
        &[],
    )
}

/// A fake engine with three leftover networks, whose `network rm` takes half a second.
fn three_leftovers() -> Fake {
    let mut fake = Fake::new();
    fake.on("ps *", 0, "", "");
    fake.on(
        "network ls *",
        0,
        "n1\tbot-bottle-bundle-a\nn2\tbot-bottle-bundle-b\nn3\tbot-bottle-bundle-c\n",
        "",
    );
    fake.on(
        "inspect*",
        0,
        &(leftover("a", "n1", 1) + &leftover("b", "n2", 2) + &leftover("c", "n3", 3)),
        "",
    );
    fake.on_sh("network rm *", ": > \"$D/started\"; sleep 0.5");
    fake
}

/// An interrupted `gc` finishes the removals it began and says what it removed: on stdout as
/// usual, in the error's message, and in `--json`'s `removed` (it said nothing, and `[]`).
#[test]
fn an_interrupted_gc_reports_what_it_removed() {
    for json in [false, true] {
        let fake = three_leftovers();
        let mut args = vec!["gc", "--parallel", "3"];
        if json {
            args.push("--json");
        }
        let child = spawn(&fake, &args);
        wait_for(&fake.state_dir().join("started"));
        sigint(&child);
        let out = child.wait_with_output().unwrap();
        let (out_text, err) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(130), "{err}");
        let names = [
            "bot-bottle-bundle-a",
            "bot-bottle-bundle-b",
            "bot-bottle-bundle-c",
        ];
        for name in names {
            assert!(err.contains(name), "{err}");
        }
        if json {
            let v: serde_json::Value = serde_json::from_str(out_text.trim()).unwrap();
            assert_eq!(v["error"]["kind"], "interrupted", "{v}");
            assert_eq!(v["error"]["removed"], serde_json::json!(names), "{v}");
        } else {
            for name in names {
                assert!(
                    out_text.contains(&format!("removed network {name}")),
                    "{out_text}"
                );
            }
        }
    }
}

/// An `up` of `demo` with a changed spec, replacing a running bundle, whose `rm` runs `rm_script`
/// (which touches `$D/started`); returned once that `rm` has started.
fn replacing(rm_script: &str) -> (Fake, Child) {
    let mut fake = Fake::new();
    fake.once(
        "network create*",
        1,
        "",
        "Error response from daemon: network with name bot-bottle-bundle-demo already exists\n",
    );
    let old = crate::fake::container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", "0ld"),
        ],
        NET,
        "10.213.150.2",
        &[(8080, 49153)],
    );
    fake.on(
        "inspect --format*",
        0,
        &(old + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on_sh("rm *", rm_script);
    let child = spawn(&fake, &["up", "demo", "--image", "img", "-p", "8080"]);
    wait_for(&fake.state_dir().join("started"));
    (fake, child)
}

/// SIGINT while `up` removes the bundle it replaces: the removal finishes, and the message says
/// the bottle's previous bundle is gone (it said only "rolled back what this run had created").
#[test]
fn an_interrupted_replace_says_the_previous_bundle_is_gone() {
    let (fake, child) = replacing(": > \"$D/started\"; sleep 0.5; : > \"$D/removed\"");
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        fake.state_dir().join("removed").exists(),
        "the removal was cut: {err}"
    );
    assert!(err.contains("previous bundle"), "{err}");
    assert!(
        !err.contains("rolled back"),
        "nothing of this run was there: {err}"
    );
}

/// A second SIGINT while the replaced bundle's removal runs: bottle cannot know whether it went,
/// and says so, naming `bottle status`.
#[test]
fn a_second_signal_during_a_replace_says_the_previous_bundle_may_be_gone() {
    let (_fake, child) = replacing(": > \"$D/started\"; sleep 30");
    sigint(&child);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("previous bundle") && err.contains("a `status` of `demo` shows what is left"),
        "{err}"
    );
}

/// Malformed image references are refused up front, exit 2, before any engine command (they ran
/// four commands and exited 1).
#[test]
fn malformed_image_references_are_refused_up_front() {
    let fake = Fake::new();
    for bad in ["BARS-BB", "x@sha256:zzz", "x:", ":latest", "/x"] {
        for cmd in ["up", "plan"] {
            let out = fake.bottle(&[cmd, "demo", "--image", bad]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd} {bad}: {err}");
            assert!(err.contains("invalid image reference"), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

/// `-v /:/` (or any host path over the container's `/`) is refused, exit 2, nothing run.
#[test]
fn a_volume_over_the_containers_root_is_refused() {
    let fake = Fake::new();
    for bad in ["/:/", "/tmp://", "/tmp:/.:ro"] {
        let out = fake.bottle(&["up", "demo", "--image", "img", "-v", bad]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("root"), "{err}");
    }
    assert!(fake.calls().is_empty());
}

/// `--loopback-pool` without `--publish-ip auto` did nothing, silently: refused, exit 2.
#[test]
fn a_loopback_pool_without_auto_is_refused() {
    let fake = Fake::new();
    for extra in [&[][..], &["--publish-ip", "127.0.0.5"]] {
        let mut args = vec![
            "up",
            "demo",
            "--image",
            "img",
            "--loopback-pool",
            "127.0.4.0/30",
        ];
        args.extend(extra);
        let out = fake.bottle(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--publish-ip auto"), "{err}");
    }
    assert!(fake.calls().is_empty());
}

/// `BOTTLE_ENGINE=""` means unset, as in the library: the default engine, not "engine `` not
/// found".
#[test]
fn an_empty_bottle_engine_means_unset() {
    let fake = Fake::new();
    let out = fake
        .command(&["status", "demo"])
        .env("BOTTLE_ENGINE", "")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("engine ``"), "{err}");
    // The fake (as `docker` on PATH) was run.
    assert_eq!(fake.calls().len(), 1, "{err}");
}

/// `port s 8080/TCP` is TCP (it said "publishes TCP ports only, not TCP").
#[test]
fn a_port_given_as_tcp_in_capitals_is_tcp() {
    let mut fake = Fake::new();
    let bundle = crate::fake::container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", "d"),
        ],
        NET,
        "10.213.150.2",
        &[(8080, 49153)],
    );
    fake.on(
        "inspect --format*",
        0,
        &(bundle + &network(&[("c1", BUNDLE)])),
        "",
    );
    let out = fake.bottle(&["port", "demo", "8080/TCP"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.1:49153\n");
}

/// A signal while `up` waits for another process's subnet or loopback lock: one true sentence.
/// It said "nothing was changed; rolled back what this run had created" for the subnet lock; now
/// it says this run had created nothing, or names what it rolled back (the network, when the
/// wait was for the loopback lock).
#[test]
fn an_interrupted_lock_wait_says_one_true_thing() {
    for (lock, want) in [
        ("subnets", "this run had created nothing"),
        (
            "loopback",
            "rolled back what this run had created: network `bot-bottle-bundle-demo`",
        ),
    ] {
        let mut fake = Fake::new();
        fake.on("network create*", 0, &format!("{}\n", "7".repeat(64)), "");
        let runtime = tempfile::tempdir().unwrap();
        let lock_dir = runtime.path().join("bottle");
        std::fs::create_dir(&lock_dir).unwrap();
        let held = std::fs::File::create(lock_dir.join(format!("{lock}.lock"))).unwrap();
        held.lock().unwrap();
        let mut cmd = fake.command(&["up", "demo", "--image", "img", "--publish-ip", "auto"]);
        // A local engine (the fake ignores DOCKER_HOST), so bottle takes its locks.
        cmd.env_remove("DOCKER_HOST")
            .env("XDG_RUNTIME_DIR", runtime.path());
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let waiting = Stderr::until(
            &mut child,
            &format!("waiting for another bottle process ({lock})"),
        );
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        let err = waiting.all();
        assert_eq!(out.status.code(), Some(130), "{lock}: {err}");
        assert!(
            err.contains(&format!("({lock})")) && err.contains(want),
            "{lock}: {err}"
        );
        assert!(!err.contains("nothing was changed"), "{lock}: {err}");
    }
}

/// A script that runs the fake engine, with `comment` in it, as `docker` in its own directory.
fn wrapper(fake: &Fake, comment: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker");
    let target = fake.state_dir().parent().unwrap().join("docker");
    std::fs::write(
        &path,
        format!("#!/bin/sh\n# {comment}\nexec {} \"$@\"\n", target.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, path)
}

const DOCKER_VERSION: &str = r#"{"Client":{"Version":"28.2.2","ApiVersion":"1.41","DefaultAPIVersion":"1.50","Os":"linux","Arch":"amd64","Context":"default"},"Server":{"Version":"20.10.24"}}"#;
const PODMAN_VERSION: &str =
    r#"{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","OsArch":"linux/amd64","Os":"linux"}}"#;

/// A docker wrapper script whose comment mentions podman was taken for podman, so `down` ran
/// `rm --time 0` and failed on docker. The flavor is what the engine answers to `version`:
/// asked once, and only for a script that names podman (the fake itself, a plain script, is
/// never asked, so every budget holds).
#[test]
fn a_docker_wrapper_that_mentions_podman_is_docker() {
    for (answer, podman) in [(DOCKER_VERSION, false), (PODMAN_VERSION, true)] {
        let mut fake = Fake::new();
        fake.on("version *", 0, &format!("{answer}\n"), "");
        let bundle = crate::fake::container_json(
            BUNDLE,
            "c1",
            "exited",
            &[
                ("bottle.role", "bundle"),
                ("bottle.slug", "demo"),
                ("bottle.spec", "d"),
            ],
            NET,
            "10.213.150.2",
            &[],
        );
        fake.on(
            "inspect --format*",
            0,
            &(bundle + &network(&[("c1", BUNDLE)])),
            "",
        );
        let (_dir, path) = wrapper(&fake, "podman users: install podman-docker instead");
        let out = fake
            .command(&["down", "demo"])
            .env("BOTTLE_ENGINE", &path)
            .output()
            .unwrap();
        let calls = fake.calls();
        let err = stderr(&out);
        assert_eq!(calls[0][0], "version", "{}", fake.transcript());
        let versions = calls.iter().filter(|c| c[0] == "version").count();
        assert_eq!(versions, 1, "asked once: {}", fake.transcript());
        if podman {
            // Native podman is observed with typed inspects.
            assert_eq!(
                calls[1][..2],
                ["container", "inspect"],
                "{}",
                fake.transcript()
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{err}");
            assert_eq!(calls[1][0], "inspect", "{}", fake.transcript());
            let rm = calls.iter().find(|c| c[0] == "rm").expect("an rm");
            assert!(!rm.contains(&"--time".to_string()), "{}", fake.transcript());
        }
    }
    // The fake engine (a plain script) is never asked.
    let fake = Fake::new();
    fake.bottle(&["status", "demo"]);
    assert!(
        fake.calls().iter().all(|c| c[0] != "version"),
        "{}",
        fake.transcript()
    );
}

/// `kill -9` of `bottle logs -f` left `docker logs --follow` running under init: the engine CLI
/// now dies with bottle.
#[test]
fn the_followed_logs_die_with_bottle() {
    let mut fake = Fake::new();
    let bundle = crate::fake::container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", "d"),
        ],
        NET,
        "10.213.150.2",
        &[],
    );
    fake.on("container inspect*", 0, &bundle, "");
    fake.on_sh(
        "logs *",
        "echo $$ > \"$D/logs.pid.tmp\"; mv \"$D/logs.pid.tmp\" \"$D/logs.pid\"; exec sleep 30",
    );
    let mut child = spawn(&fake, &["logs", "demo", "-f"]);
    let pid_file = fake.state_dir().join("logs.pid");
    wait_for(&pid_file);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let still = alive();
    if still {
        // SAFETY: kill(2) of the engine process this test made, so nothing is left behind.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(!still, "`logs --follow` (pid {pid}) outlived bottle");
}

/// `bottle logs` of a bundle with over 64 MiB of logs exited 1 and printed nothing of use: it now
/// says the logs are too long to print at once, and that `--tail N` prints the last N lines.
#[test]
fn logs_over_64_mib_suggest_tail() {
    let mut fake = Fake::new();
    let bundle = crate::fake::container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", "d"),
        ],
        NET,
        "10.213.150.2",
        &[],
    );
    fake.on("container inspect*", 0, &bundle, "");
    fake.on_sh("logs *", "head -c 70000000 /dev/zero | tr '\\0' x; exit 0");
    let out = fake.bottle(&["logs", "demo"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("64 MiB") && err.contains("--tail N"), "{err}");
}

/// `doctor` called a socket this user may not open "its daemon does not answer" and advised
/// starting it: it now says permission denied, and how to get access.
#[test]
fn doctor_says_permission_denied() {
    let mut fake = Fake::new();
    fake.on(
        "version *",
        1,
        "{\"Client\":{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\"},\"Server\":null}\n",
        "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version\": dial unix /var/run/docker.sock: connect: permission denied\n",
    );
    let out = fake.bottle(&["doctor"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(69), "{text}{}", stderr(&out));
    assert!(text.contains("permission denied"), "{text}");
    assert!(text.contains("usermod -aG docker"), "{text}");
    assert!(
        !text.contains("does not answer") && !text.contains("does not\n"),
        "{text}"
    );
    // Not answering at all is still said so.
    let mut fake = Fake::new();
    fake.on(
        "version *",
        1,
        "{\"Client\":{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\"},\"Server\":null}\n",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
    );
    let text = stdout(&fake.bottle(&["doctor"]));
    assert!(text.contains("its daemon does not"), "{text}");
}

/// A second signal stops `down` or `gc` at once; the error now names what is left (it named only
/// the killed command), in the message and in `--json`'s `left`.
#[test]
fn a_second_signal_names_what_is_left() {
    let old = crate::fake::container_json(
        BUNDLE,
        "c1",
        // `dead`: a leftover `gc` removes (a stopped, `exited` bottle it keeps).
        "dead",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", "0ld"),
        ],
        NET,
        "10.213.150.2",
        &[],
    );
    let both = [
        "container `bot-bottle-sidecars-demo`",
        "network `bot-bottle-bundle-demo`",
    ];
    for (args, hang, left, again) in [
        (
            &["down", "demo", "--json"][..],
            "rm *",
            &both[..],
            "bottle down demo",
        ),
        (
            &["down", "demo", "--json"],
            "network rm *",
            &both[1..],
            "bottle down demo",
        ),
        (&["gc", "--json"], "rm *", &both[..], "bottle gc"),
    ] {
        let mut fake = Fake::new();
        fake.on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "");
        fake.on("network ls *", 0, "net1\tbot-bottle-bundle-demo\n", "");
        fake.on_sh(hang, ": > \"$D/started\"; sleep 30");
        fake.on(
            "inspect*",
            0,
            &(old.clone() + &network(&[("c1", BUNDLE)])),
            "",
        );
        let child = spawn(&fake, args);
        wait_for(&fake.state_dir().join("started"));
        sigint(&child);
        std::thread::sleep(Duration::from_millis(300));
        sigint(&child);
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{args:?}: {err}");
        let want = format!(
            "not seen removed: {}; `{again}` removes what is left",
            left.join(", ")
        );
        assert!(err.contains(&want), "{args:?} {hang}: {err}");
        // The error object is the only line.
        let text = stdout(&out);
        let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(v["error"]["left"], serde_json::json!(left), "{v}");
    }
}

/// On every engine path: a wrapper script around the path's CLI whose comment mentions podman is
/// the flavor its engine says. On the docker paths it was taken for podman, so `down` ran `rm
/// --time 0` (and typed podman-style lookups) against docker, and failed.
#[test]
fn a_wrapper_that_mentions_podman_works_on_every_engine() {
    use std::os::unix::fs::PermissionsExt;
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for (i, path) in paths.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("docker");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\n# A wrapper for the docker CLI (podman users: install podman-docker).\nexec '{}' \"$@\"\n",
                path.program
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut b = crate::real::Bottles::new(path, &format!("wrap{i}"));
        b.cli = wrapper.display().to_string();
        let img = path.image.clone();
        b.ok(&["up", "w", "--image", &img, "-p", "8080"]);
        b.ok(&["status", "w"]);
        let out = b.bottle(&["down", "w"]);
        assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");
    }
}

/// SIGINT while `up` runs the bundle of a spec with a named volume: the rollback leaves the
/// volume on purpose (it holds data), and the message said nothing of it. The message says what
/// was kept and how to remove it, and the `--json` error lists it under `kept`.
#[test]
fn an_interrupted_up_says_the_named_volume_it_kept() {
    let mut fake = Fake::new();
    let labels = r#"{"bottle.prefix":"bot-bottle","bottle.role":"volume","bottle.slug":"demo"}"#;
    fake.on(
        "volume inspect --format * data",
        0,
        &format!("{{\"Name\":\"data\",\"Labels\":{labels}}}\n"),
        "",
    );
    fake.on_sh("run *", ": > \"$D/started\"; sleep 30");
    let args = ["up", "demo", "--image", "img", "-v", "data:/data", "--json"];
    let child = spawn(&fake, &args);
    wait_for(&fake.state_dir().join("started"));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let said =
        "kept named volume `data` (volumes hold data): a `down --volumes` of `demo` removes it";
    assert!(err.contains(said), "{err}");
    let v = crate::schema::check("error", &stdout(&out));
    assert_eq!(v["error"]["kind"], "interrupted", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(said),
        "{v}"
    );
    assert_eq!(
        v["error"]["kept"],
        serde_json::json!(["volume `data`"]),
        "{v}"
    );
}
