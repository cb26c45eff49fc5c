//! Round four of breaking it (after issue 14): each test is named after the bug it shows.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::fake::bottle_cmd;
use crate::real::{Bottles, EnginePath};

/// Build `FROM <test image>` with `CMD <cmd>` on this path, offline; the tag is returned.
fn build(path: &EnginePath, name: &str, cmd: &[&str]) -> String {
    let tag = format!("bottle-itatk-{name}:{}", std::process::id());
    let dockerfile = format!(
        "FROM {}\nCMD {}\n",
        path.image,
        serde_json::to_string(cmd).unwrap()
    );
    let mut child = path
        .engine()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &tag, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dockerfile.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "build {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

/// On podman (native and through its docker socket) every container gets `TERM=xterm`,
/// `container=podman`, `HOME=/` and `HOSTNAME=<id>` in `Config.Env`, none of which the image
/// sets: `bottle logs` took them for values given to `up` and masked every `podman`, `xterm`, the
/// hostname and a lone `/` in the bundle's logs ("running under *** with *** on *** home=***").
/// Only the values `up` passed are secrets.
#[test]
fn logs_mask_only_the_values_up_passed_not_the_engines_own_env() {
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for path in &paths {
        let b = Bottles::new(path, "lgenv");
        let tag = build(
            path,
            "lgenv",
            &[
                "/bin/sh",
                "-c",
                "while true; do echo \"under podman with xterm on $(hostname) home=$HOME tok=$TOK\"; sleep 1; done",
            ],
        );
        let up = b
            .command(&["up", "s", "--image", &tag, "--pull", "never", "-e", "TOK"])
            .env("TOK", "hunter2secret")
            .output()
            .unwrap();
        assert!(
            up.status.success(),
            "{}: {}",
            path.spec,
            String::from_utf8_lossy(&up.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let line = loop {
            let out = b.ok(&["logs", "s", "--tail", "1"]);
            if out.contains("tok=") || Instant::now() > deadline {
                break out;
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        let _ = b.docker(&["rmi", "-f", &tag]);
        assert!(line.contains("tok=***"), "{}: {line}", path.spec);
        assert!(!line.contains("hunter2secret"), "{}: {line}", path.spec);
        assert!(
            line.contains("under podman with xterm")
                && !line.contains(" on *** ")
                && line.contains("home=/ "),
            "{}: values `up` never passed were masked: {line}",
            path.spec
        );
    }
}

/// The masker is built from every secret value before anything else runs, and for a value with a
/// long run of one byte (padding, a zero-filled key, `"0000…"`) that build is quadratic: one
/// 16 000-byte value kept `bottle up` busy for minutes (debug build; a 960 kB config of 16 such
/// values for over ten) before it ran a single engine command, ignoring SIGINT and SIGTERM all
/// along (the cancel flag is never looked at). The same value in random bytes takes under 2 s.
#[test]
fn a_long_repetitive_secret_no_longer_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let engine = dir.path().join("docker");
    std::fs::write(
        &engine,
        "#!/bin/sh\necho 'engine unreachable' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&engine, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("bottle.toml");
    std::fs::write(
        &config,
        format!(
            "image = \"bottle-test-bundle:latest\"\npull = \"never\"\nenv = [\"K={}\"]\n",
            "0".repeat(16_000)
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut child = bottle_cmd()
        .args(["up", "s", "--config"])
        .arg(&config)
        .env("BOTTLE_ENGINE", &engine)
        .env("BOTTLE_PREFIX", "atkq")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        status.is_some(),
        "bottle up with one 16 000-byte `0000…` value still ran after 30 s without reaching the engine"
    );
}

/// Issue 14 item 12 refused `-v /:/`, `HOST:/`, `HOST://` and `HOST:/.`, but not a container path
/// that only cleans to `/` past a `..`: `-v /tmp/d:/x/..` is accepted, docker then fails `run`
/// ("destination can't be '/'", after the network was made and rolled back), and native podman
/// 4.3 mounts the host directory over the bundle's root, runc creating `dev`, `etc`, `proc`, `run`
/// and `sys` in the host directory (`-v /:/x/..` gives the bundle the host's root). The check must
/// resolve `..` the way the engine cleans the path, and refuse up front (exit 2).
#[test]
fn a_volume_whose_container_path_cleans_to_root_is_refused() {
    for target in ["/x/..", "/x/../", "/a/b/../..", "/./x/..", "/x/../."] {
        let volume = format!("/tmp:{target}");
        let out = bottle_cmd()
            .args(["plan", "s", "-v", &volume])
            .env("BOTTLE_PREFIX", "atkv")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "-v {volume} mounts over the bundle's root, but plan exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The env-file is now a pipe: what one reader takes is gone. An engine wrapper (or an engine)
/// that reads `/dev/fd/3` before the engine proper does (here: a wrapper that validates it with
/// `cat`) makes `up` exit 0 with a bundle that lacks every `KEY=VALUE`; the next `up` finds
/// "environment values changed" and replaces it, so bottle can tell, but the run that created it
/// reported success. (With the memfd, `/dev/fd/3` reopened from the start.) `up` must check the
/// values it sent against the bundle's environment after `run`, as it does on the next `up`.
#[test]
fn an_env_file_drained_before_the_engine_fails_up() {
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for path in paths.iter().filter(|p| !p.podman) {
        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("docker-wrapper");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\ncase \"$*\" in *env-file*) cat /dev/fd/3 >/dev/null;; esac\nexec {} \"$@\"\n",
                path.program
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut b = Bottles::new(path, "eat");
        b.cli = wrapper.to_string_lossy().into_owned();
        let up = b.bottle(&[
            "up",
            "s",
            "--image",
            &path.image,
            "--pull",
            "never",
            "-e",
            "L=Lit12345",
        ]);
        let env = b.docker_out(&["exec", &format!("{}-sidecars-s", b.prefix), "env"]);
        assert!(
            !up.status.success() || env.contains("L=Lit12345"),
            "{}: up exited 0 but the bundle has no L: {env}",
            path.spec
        );
    }
}
