//! The library as a launcher embeds it: the contract's example (in-process, and as the compiled
//! `examples/embed`), two bottles brought up from two threads with one cancelled mid-`up`, and the
//! CLI's `--json` error object (through the binary, with the fake engine).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::fake::Fake;
use crate::real::{self, clis};

const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";
const CTR_ID: &str = "d04c8e2d730bd96d8190cb3a0745f745aa97bdb2234cf9eefcbde1ee9b58ac6e\n";

fn error_object(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one object on stdout: {stdout}");
    let v = real::json(lines[0]);
    v["error"].clone()
}

/// A failed `up --json` prints the error object on stdout (and the line on stderr): its kind,
/// message, exit code, what the rollback removed and what it could not.
#[test]
fn a_json_failure_is_one_error_object_naming_the_rollback() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once(
        "run *",
        125,
        CTR_ID,
        "docker: Error response from daemon: Address already in use.\n",
    );
    fake.on(
        "network rm*",
        1,
        "",
        "Error response from daemon: the disk caught fire\n",
    );
    let out = fake.bottle(&["up", "demo", "--image", "bundle:1", "-p", "8080", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("bottle: `docker run` failed"),
        "{stderr}"
    );
    let e = error_object(&out);
    assert_eq!(e["kind"], "engine_failed", "{e}");
    assert_eq!(e["exit_code"], 1, "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("Address already in use"), "{message}");
    assert!(message.contains("could not roll back"), "{message}");
    assert_eq!(
        e["rolled_back"],
        serde_json::json!(["container `bot-bottle-sidecars-demo`"])
    );
    let left = e["left"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{e}");
    let left = left[0].as_str().unwrap();
    assert!(
        left.starts_with("network `bot-bottle-bundle-demo`: "),
        "{left}"
    );
    assert!(left.contains("the disk caught fire"), "{left}");
}

/// Invalid input is an error object too (exit 2, nothing run, nothing rolled back); without
/// `--json` stdout stays empty.
#[test]
fn invalid_input_is_an_error_object_with_json_only() {
    let fake = Fake::new();
    let out = fake.bottle(&["up", "Not-A-Slug", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let e = error_object(&out);
    assert_eq!(e["kind"], "invalid", "{e}");
    assert_eq!(e["exit_code"], 2, "{e}");
    assert_eq!(e["rolled_back"], serde_json::json!([]));
    assert_eq!(e["left"], serde_json::json!([]));
    assert!(fake.calls().is_empty());
    let out = fake.bottle(&["up", "Not-A-Slug"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// The engine paths an in-process test can use: the library inherits this process's environment,
/// and tests never set variables, so paths that need one (`DOCKER_HOST`) are left out.
fn local_paths() -> Option<Vec<real::EnginePath>> {
    let paths: Vec<_> = clis()?.into_iter().filter(|p| p.env.is_empty()).collect();
    if paths.is_empty() {
        eprintln!("skipping an in-process library test: every engine path needs DOCKER_HOST");
    }
    Some(paths)
}

/// This test's own pool, apart from every other test's.
fn pool(third: u8) -> String {
    let n = 100 + (std::process::id() % 100);
    format!("10.{n}.{third}.0/20")
}

/// The contract's example, in-process: the same calls as `examples/embed.rs`.
#[test]
fn the_contract_example_runs_through_the_library() {
    use bottle::{Action, Bottles, Engine, Slug, Spec};
    let Some(paths) = local_paths() else { return };
    for path in paths {
        let guard = real::Bottles::new(&path, "emb");
        let bottles = Bottles::new(Engine::new(&path.program).unwrap())
            .prefix(guard.prefix.parse().unwrap())
            .pool(bottle::Pool::new(pool(48).parse().unwrap(), 24).unwrap());
        let spec = Spec::builder(path.image.clone())
            .publish(8080)
            .secret_env("API_TOKEN", "t0ken-value")
            .build()
            .unwrap();
        let slug: Slug = "demo".parse().unwrap();
        let up = bottles.up(&slug, &spec).unwrap();
        assert_eq!(up.action, Action::Created);
        let addr: std::net::SocketAddr = up.bottle.port(8080).expect("published");
        assert!(addr.ip().is_loopback(), "{addr}");
        assert!(real::http_get(&addr.to_string()).contains("bottle test bundle"));
        assert_eq!(bottles.port(&slug, 8080).unwrap(), addr);
        assert_eq!(
            bottles.status(&slug).unwrap().bundle.state,
            bottle::State::Running
        );
        let again = bottles.up(&slug, &spec).unwrap();
        assert_eq!(again.action, Action::Kept);
        let removed = bottles.down(&slug).unwrap();
        assert_eq!(removed.containers.len() + removed.networks.len(), 2);
        assert!(guard.leftovers().is_empty(), "{:?}", guard.leftovers());
    }
}

/// Issue 15: a launcher can wait for a bottle that already exists (the VM test called the hidden
/// `ready::wait_until`): ready when its bundle answers, a failure when it is stopped, not found
/// when there is no such bottle.
#[test]
fn waiting_for_an_existing_bottle() {
    use bottle::{Bottles, Engine, ErrorKind, Slug, Spec};
    use std::time::Duration;
    let Some(paths) = local_paths() else { return };
    for path in paths {
        let guard = real::Bottles::new(&path, "wait");
        let bottles = Bottles::new(Engine::new(&path.program).unwrap())
            .prefix(guard.prefix.parse().unwrap())
            .pool(bottle::Pool::new(pool(96).parse().unwrap(), 24).unwrap());
        let spec = Spec::builder(path.image.clone())
            .publish(8080)
            .build()
            .unwrap();
        let slug: Slug = "w".parse().unwrap();
        let none: Slug = "none".parse().unwrap();
        let err = bottles
            .wait_ready(&none, Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::NotFound, "{path}: {err}");
        bottles.up(&slug, &spec).unwrap();
        bottles
            .wait_ready(&slug, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let bundle = format!("{}-sidecars-w", guard.prefix);
        assert!(guard.docker(&["stop", "-t", "0", &bundle]).status.success());
        let err = bottles
            .wait_ready(&slug, Duration::from_secs(5))
            .unwrap_err();
        // A stopped bundle is not ready, and says why: the typed kind, not an engine failure.
        assert_eq!(
            err.kind(),
            &ErrorKind::NotReady(bottle::NotReady::Exited),
            "{path}: {err}"
        );
        assert!(err.message().contains("is not ready"), "{path}: {err}");
        bottles.down(&slug).unwrap();
        assert!(guard.leftovers().is_empty(), "{:?}", guard.leftovers());
    }
}

/// The compiled `examples/embed` (built by `cargo build --example embed`, which scripts/test.sh
/// runs before `cargo test`), on its own prefix and pool.
#[test]
fn the_compiled_example_runs() {
    let Some(paths) = local_paths() else { return };
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bottle"));
    let example = bin.parent().unwrap().join("examples/embed");
    if !example.exists() {
        assert!(
            !std::env::var("BOTTLE_REQUIRE_DOCKER").is_ok_and(|v| v == "1"),
            "BOTTLE_REQUIRE_DOCKER=1, but {} is missing: run `cargo build --example embed`",
            example.display()
        );
        eprintln!(
            "skipping the compiled example: {} is missing (`cargo build --example embed`)",
            example.display()
        );
        return;
    }
    for path in paths {
        let guard = real::Bottles::new(&path, "exa");
        let out = std::process::Command::new(&example)
            .env("BOTTLE_ENGINE", &path.program)
            .env("BOTTLE_TEST_IMAGE", &path.image)
            .env("BOTTLE_PREFIX", &guard.prefix)
            .env("BOTTLE_POOL", pool(64))
            .env("API_TOKEN", "t0ken-value")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {stdout}{}",
            example.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("created 127.0.0.1:"), "{stdout}");
        assert!(stdout.contains("bottle test bundle"), "{stdout}");
        // The library wrote nothing itself: stderr is empty.
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(guard.leftovers().is_empty(), "{:?}", guard.leftovers());
    }
}

/// Two bottles brought up from two threads of one process; one is cancelled through its own
/// token once its network exists (as its `run` starts): it rolls back and nothing of it is left,
/// while the other ends running.
#[test]
fn one_of_two_concurrent_ups_is_cancelled_and_rolls_back_alone() {
    use bottle::{Bottles, CancelToken, Engine, ErrorKind, Event, Slug, Spec};
    let Some(paths) = local_paths() else { return };
    for path in paths {
        let guard = real::Bottles::new(&path, "two");
        let base = Bottles::new(Engine::new(&path.program).unwrap())
            .prefix(guard.prefix.parse().unwrap())
            .pool(bottle::Pool::new(pool(80).parse().unwrap(), 24).unwrap());
        let spec = Arc::new(
            Spec::builder(path.image.clone())
                .publish(8080)
                .build()
                .unwrap(),
        );
        let a_token = CancelToken::new();
        let cancelled_at_run = Arc::new(AtomicBool::new(false));
        let a = {
            let (token, seen) = (a_token.clone(), Arc::clone(&cancelled_at_run));
            base.clone()
                .with_cancel_token(a_token.clone())
                .on_event(move |e| {
                    // The event names its bottle: no need to find `a` in the command line.
                    if let Event::Command { line, .. } = e
                        && line.contains(" run ")
                        && e.slug().is_some_and(|s| s.as_str() == "a")
                    {
                        seen.store(true, Ordering::SeqCst);
                        token.cancel();
                    }
                })
        };
        let b = base.clone().with_cancel_token(CancelToken::new());
        let (slug_a, slug_b): (Slug, Slug) = ("a".parse().unwrap(), "b".parse().unwrap());
        let (spec_a, spec_b) = (Arc::clone(&spec), Arc::clone(&spec));
        let (sa, sb) = (slug_a.clone(), slug_b.clone());
        let ta = std::thread::spawn(move || a.up(&sa, &spec_a));
        let tb = std::thread::spawn(move || b.up(&sb, &spec_b));
        let (ra, rb) = (ta.join().unwrap(), tb.join().unwrap());

        assert!(
            cancelled_at_run.load(Ordering::SeqCst),
            "a's `run` never started"
        );
        let err = ra.expect_err("a was cancelled");
        assert_eq!(err.kind(), &ErrorKind::Interrupted, "{err}");
        assert!(err.left().is_empty(), "{:?}", err.left());
        let rolled: Vec<&str> = err.rolled_back().iter().map(String::as_str).collect();
        assert!(
            rolled.iter().any(|r| r.starts_with("network `")),
            "the network existed and was rolled back: {rolled:?}"
        );
        let b_up = rb.expect("b is unaffected");
        assert_eq!(b_up.bottle.bundle.state, bottle::State::Running);
        // Nothing of a is left; b's network and bundle are all there is.
        let mut left = guard.leftovers();
        left.sort();
        let want = [
            format!("{}-bundle-b", guard.prefix),
            format!("{}-sidecars-b", guard.prefix),
        ];
        assert_eq!(left, want);
        let status = base.status(&slug_b).unwrap();
        assert_eq!(status.bundle.state, bottle::State::Running);
        assert_eq!(
            base.status(&slug_a).unwrap_err().kind(),
            &ErrorKind::NotFound
        );
        base.down(&slug_b).unwrap();
        assert!(guard.leftovers().is_empty(), "{:?}", guard.leftovers());
    }
}

/// The library on the fake engine, in-process: `Engine::new` takes the fake's path, and a prefix
/// of this test's own keeps its per-slug locks apart from every other test's.
fn fake_bottles(fake: &Fake, prefix: &str) -> bottle::Bottles {
    let program = fake.state_dir().parent().unwrap().join("docker");
    bottle::Bottles::new(bottle::Engine::new(program).unwrap()).prefix(prefix.parse().unwrap())
}

/// A failed `up` keeps the failed command (line, exit code, stderr) and what its rollback removed.
#[test]
fn a_failed_up_keeps_the_command_and_the_rollback() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once(
        "run *",
        125,
        CTR_ID,
        "docker: Error response from daemon: Address already in use.\n",
    );
    let bottles = fake_bottles(&fake, "libup");
    let spec = bottle::Spec::builder("bundle:1")
        .publish(8080)
        .build()
        .unwrap();
    let err = bottles.up(&"demo".parse().unwrap(), &spec).unwrap_err();
    assert_eq!(err.kind(), &bottle::ErrorKind::EngineFailed);
    let cmd = err.command().expect("the failed command");
    assert!(cmd.line().contains(" run --detach"), "{}", cmd.line());
    assert_eq!(cmd.exit_code(), Some(125));
    assert!(
        cmd.stderr().contains("Address already in use"),
        "{}",
        cmd.stderr()
    );
    assert_eq!(
        err.rolled_back(),
        [
            "container `libup-sidecars-demo`",
            "network `libup-bundle-demo`"
        ]
    );
    assert!(err.left().is_empty(), "{:?}", err.left());
    assert!(err.removed().is_empty());
}

/// A `down` that fails at the network says what it had already removed.
#[test]
fn a_failed_down_says_what_it_had_removed() {
    use crate::fake::{container_json, network_json};
    let mut fake = Fake::new();
    let (net, bundle) = ("libdn-bundle-demo", "libdn-sidecars-demo");
    let labels = |role| [("bottle.role", role), ("bottle.slug", "demo")];
    let objects = container_json(
        bundle,
        "c1",
        "running",
        &labels("bundle"),
        net,
        "10.213.150.2",
        &[],
    ) + &network_json(
        net,
        "net1",
        "10.213.150.0/24",
        &labels("network"),
        &[("c1", bundle)],
    );
    fake.on("inspect*", 0, &objects, "");
    fake.on(
        "network rm*",
        1,
        "",
        "Error response from daemon: the disk caught fire\n",
    );
    let err = fake_bottles(&fake, "libdn")
        .down(&"demo".parse().unwrap())
        .unwrap_err();
    assert_eq!(err.removed(), [bundle]);
    assert_eq!(err.command().and_then(|c| c.exit_code()), Some(1));
    assert!(err.message().contains("the disk caught fire"), "{err}");
}

/// The library builds without the binary's command-line crates: a launcher that depends on it
/// with `default-features = false` (`fixtures/embedder`) pulls no clap, anyhow or signal-hook,
/// and at most 40 crates. `cargo tree` runs offline, from this checkout's lock file.
#[test]
fn embedder_pulls_no_command_line_crate() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = repo.join("fixtures/embedder");
    // A copy whose path to bottle is absolute, so cargo writes its lock file in a temp dir.
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(fixture.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace(r#"path = "../..""#, &format!("path = {:?}", repo));
    assert!(manifest.contains("default-features = false"), "{manifest}");
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::copy(fixture.join("src/main.rs"), dir.path().join("src/main.rs")).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crates: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "embedder")
        .collect();
    for cli_crate in [
        "clap",
        "clap_complete",
        "clap_mangen",
        "anyhow",
        "signal-hook",
    ] {
        assert!(!crates.contains(cli_crate), "{cli_crate} in {crates:?}");
    }
    assert!(crates.contains("bottle"), "{crates:?}");
    assert!(crates.len() <= 40, "{} crates: {crates:?}", crates.len());
    eprintln!("embedder: {} crates", crates.len());
}

/// Issue 15: a `down` cancelled while it runs finishes its removal and then fails as
/// interrupted, in the library as in the CLI (exit 130); it used to be `Ok` in the library.
#[test]
fn a_cancelled_down_is_interrupted_in_the_library_too() {
    use bottle::{Bottles, Engine, ErrorKind, Slug};
    let mut fake = Fake::new();
    let missing = "Error: No such object: bot-bottle-sidecars-a\nError: No such object: bot-bottle-bundle-a\n";
    // The look at `a` takes a while; the cancel arrives meanwhile.
    fake.on_sh(
        "inspect *bot-bottle-sidecars-a *",
        &format!(r#"sleep 0.5; printf '\n'; printf '{missing}' >&2; exit 1"#),
    );
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap());
    let token = bottles.cancel_token();
    let slug: Slug = "a".parse().unwrap();
    let err = std::thread::scope(|s| {
        let down = s.spawn(|| bottles.down(&slug));
        // Cancel only once the engine runs: the look has begun.
        let log = fake.state_dir().join("log");
        let start = std::time::Instant::now();
        while !log.exists() && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        token.cancel();
        down.join().unwrap().unwrap_err()
    });
    assert_eq!(err.kind(), &ErrorKind::Interrupted, "{err}");
    assert_eq!(err.exit_code(), 130);
    assert!(err.removed().is_empty(), "{err:?}");
    assert_eq!(
        fake.calls().len(),
        1,
        "the look finished: {:?}",
        fake.calls()
    );
}

/// Issue 15: on a machine with podman and no docker, the CLI finds podman as the library does
/// (`Engine::detect`); it used to look for `docker` only and exit 69.
#[test]
fn the_cli_finds_podman_when_docker_is_missing() {
    let mut fake = Fake::new();
    fake.on(
        "version *",
        0,
        r#"{"Client":{"Version":"4.3.1"},"Server":{"Version":"4.3.1"}}"#,
        "",
    );
    // A PATH that holds `podman` only (the fake, which finds its own tools).
    let bin = tempfile::tempdir().unwrap();
    let podman = bin.path().join("podman");
    std::fs::write(
        &podman,
        format!(
            "#!/bin/sh\nPATH=/usr/bin:/bin exec {} \"$@\"\n",
            fake.program().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&podman, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = crate::fake::bottle_cmd()
        .args(["version", "--json"])
        .env("PATH", bin.path())
        .env_remove("BOTTLE_ENGINE")
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = real::json(stdout.trim());
    assert_eq!(v["engine"]["program"], "podman", "{v}");
    assert_eq!(v["engine"]["server"], "4.3.1", "{v}");
}

/// Regression (issue 15): a bare env key read the process environment at `up` time, so a
/// multithreaded launcher had to call the unsafe `std::env::set_var` to hand a bottle a value.
/// With `Bottles::environment`, the bundle gets exactly the given values (through the env-file,
/// see a_bare_env_key_changed_the_engine_clis_own_environment_for_run), and a key the given
/// environment lacks is not set even when the process has it (`HOME`).
#[test]
fn bare_env_keys_read_the_environment_given_to_bottles() {
    let mut fake = Fake::new();
    fake.on_sh(
        "run *",
        r#"printf '%s' "${BOTTLE_T_TOKEN-unset}" > "$D/token""#,
    );
    assert!(
        std::env::var_os("HOME").is_some(),
        "the test needs HOME set"
    );
    let bottles = fake_bottles(&fake, "libenv").environment([("BOTTLE_T_TOKEN", "t0ken")]);
    let spec = bottle::Spec::builder("bundle:1")
        .env("BOTTLE_T_TOKEN")
        .env("HOME")
        .build()
        .unwrap();
    // The fake answers nothing useful after `run`; only what `run` saw matters here.
    let _ = bottles.up(&"demo".parse().unwrap(), &spec);
    let seen = |f: &str| std::fs::read_to_string(fake.state_dir().join(f)).unwrap();
    let (_, env_file) = (1..10)
        .find_map(|n| fake.env_file_seen(n))
        .expect("`run` had an env-file");
    assert_eq!(env_file, "BOTTLE_T_TOKEN=t0ken\n");
    // The engine CLI's own environment is bottle's: the value is not there.
    assert_eq!(seen("token"), "unset");
}

/// Regression (issue 15): an `Event` did not say whose it was, so a launcher with several bottles
/// could not tell them apart. Commands of `up`, `down` and `status` name their slug; `ls` and
/// `gc`, which work on the whole engine, name none.
#[test]
fn events_name_their_bottle() {
    use std::sync::Mutex;
    let fake = Fake::new();
    type Seen = Vec<(Option<String>, String)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = Arc::clone(&seen);
    let bottles = fake_bottles(&fake, "libev").on_event(move |e| {
        if let bottle::Event::Command { line, .. } = e {
            let slug = e.slug().map(|s| s.to_string());
            log.lock().unwrap().push((slug, line.to_string()));
        }
    });
    let demo: bottle::Slug = "demo".parse().unwrap();
    let spec = bottle::Spec::builder("bundle:1").build().unwrap();
    let _ = bottles.up(&demo, &spec);
    let _ = bottles.down(&demo);
    let _ = bottles.status(&demo);
    let per_bottle = std::mem::take(&mut *seen.lock().unwrap());
    assert!(!per_bottle.is_empty());
    for (slug, line) in &per_bottle {
        assert_eq!(slug.as_deref(), Some("demo"), "{line}");
    }
    let _ = bottles.ls();
    let _ = bottles.gc(true);
    let engine_wide = std::mem::take(&mut *seen.lock().unwrap());
    assert!(!engine_wide.is_empty());
    for (slug, line) in &engine_wide {
        assert_eq!(slug, &None, "{line}");
    }
}

/// Regression (issue 15): a cancelled handle was poisoned, its `down()` failing `interrupted` at
/// once, so a launcher could not tear down what a cancelled `up` left without a new handle. A
/// cancel is spent once a call it reached has ended.
#[test]
fn a_cancelled_handle_still_tears_down() {
    use crate::fake::{container_json, network_json};
    let mut fake = Fake::new();
    let (net, bundle) = ("libcx-bundle-demo", "libcx-sidecars-demo");
    let labels = |role| [("bottle.role", role), ("bottle.slug", "demo")];
    let objects = container_json(
        bundle,
        "c1",
        "running",
        &labels("bundle"),
        net,
        "10.213.150.2",
        &[],
    ) + &network_json(
        net,
        "net1",
        "10.213.150.0/24",
        &labels("network"),
        &[("c1", bundle)],
    );
    fake.on("inspect*", 0, &objects, "");
    let bottles = fake_bottles(&fake, "libcx");
    // A cancel that cut a call short (here one made before it started, which it reaches).
    bottles.cancel_token().cancel();
    let cut = bottles.status(&"demo".parse().unwrap()).unwrap_err();
    assert_eq!(cut.kind(), &bottle::ErrorKind::Interrupted, "{cut}");
    let removed = bottles.down(&"demo".parse().unwrap()).unwrap();
    assert_eq!(removed.containers, [bundle]);
    assert_eq!(removed.networks, [net]);
    let calls = fake.transcript();
    assert!(calls.contains("docker rm "), "{calls}");
}

/// Regression (issue 15): a bundle that exited while `up` waited for it failed as
/// `EngineFailed` with no command, like an engine failure. It is `NotReady(Exited)` now, still
/// exit code 1, and `up` rolls back what it made.
#[test]
fn a_bundle_that_exits_while_up_waits_is_not_ready() {
    use crate::fake::container_json;
    let mut fake = Fake::new();
    let (net, bundle) = ("libnr-bundle-demo", "libnr-sidecars-demo");
    let id = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 0, &format!("{id}\n"), "");
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "demo")];
    let running = container_json(bundle, id, "running", &labels, net, "10.213.150.2", &[]);
    let exited = container_json(bundle, id, "exited", &labels, net, "", &[]);
    // Running when `up` reads it back after `run`, exited when it looks while waiting.
    fake.once("*inspect*", 0, &running, "");
    fake.on("*inspect*", 0, &exited, "");
    let spec = bottle::Spec::builder("bundle:1")
        .pull(bottle::Pull::Never)
        .wait(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let err = fake_bottles(&fake, "libnr")
        .up(&"demo".parse().unwrap(), &spec)
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &bottle::ErrorKind::NotReady(bottle::NotReady::Exited),
        "{err}"
    );
    assert_eq!(err.kind_name(), "not_ready");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.deadline(), None);
    assert!(err.message().contains("is not ready"), "{err}");
}

/// Issue 14, item 3: `println!("{:?}", Spec::builder("img").secret_env("API_TOKEN", "s3cretDBG"))`
/// printed `env: Some(["API_TOKEN=s3cretDBG"])`. No `Debug` or `Display` of a public type shows a
/// value: the builder, the spec, errors (from validation and from a failed `up` whose engine echoes
/// the value), the failed command, and every event.
#[test]
fn spec_builder_debug_printed_the_secret() {
    const SECRET: &str = "s3cretDBG";
    let builder = bottle::Spec::builder("bundle:1")
        .publish(8080)
        .env("HOME")
        .secret_env("API_TOKEN", SECRET);
    let mut shown = vec![format!("{builder:?}")];
    // The key shows, its value is masked (the builder holds typed entries, not `KEY=VALUE` text).
    assert!(
        shown[0].contains("API_TOKEN") && shown[0].contains("Secret(***)"),
        "{}",
        shown[0]
    );
    let invalid = builder.clone().publish(0).build().unwrap_err();
    shown.extend([format!("{invalid:?}"), format!("{invalid}")]);
    let spec = builder.build().unwrap();
    shown.push(format!("{spec:?}"));

    // A failed `up`: the image is missing and the pull fails, each engine answer quoting the value.
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once(
        "run *",
        125,
        "",
        &format!("docker: Error response from daemon: No such image: bundle:1 {SECRET}.\n"),
    );
    fake.on(
        "pull *",
        1,
        &format!("pulling with {SECRET}\n"),
        &format!("Error response from daemon: denied {SECRET}\n"),
    );
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let bottles = fake_bottles(&fake, "libdbg").on_event(move |e| {
        seen.lock().unwrap().push(format!("{e:?}"));
    });
    shown.push(format!("{bottles:?}"));
    let err = bottles.up(&"demo".parse().unwrap(), &spec).unwrap_err();
    shown.extend([format!("{err:?}"), format!("{err}")]);
    let cmd = err.command().expect("the failed command");
    shown.extend([format!("{cmd:?}"), cmd.stderr().to_string()]);
    let events = events.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| e.contains("pulling with ***")),
        "the pull's output is an event: {events:?}"
    );
    shown.extend(events);
    for text in &shown {
        assert!(!text.contains(SECRET), "{text}");
    }
}

/// A guard from `up_guarded` takes its bottle down when dropped; `keep` lets go of it.
#[test]
fn a_dropped_guard_takes_its_bottle_down() {
    use crate::fake::{container_json, network_json};
    let mut fake = Fake::new();
    let (net, bundle) = ("libgd-bundle-demo", "libgd-sidecars-demo");
    let id = "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1";
    let labels = |role| [("bottle.role", role), ("bottle.slug", "demo")];
    let running = container_json(
        bundle,
        id,
        "running",
        &labels("bundle"),
        net,
        "10.213.150.2",
        &[],
    );
    let both = running.clone()
        + &network_json(
            net,
            "net1",
            "10.213.150.0/24",
            &labels("network"),
            &[(id, bundle)],
        );
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 0, &format!("{id}\n"), "");
    fake.once("*inspect*", 0, &running, "");
    fake.on("*inspect*", 0, &both, "");
    let bottles = fake_bottles(&fake, "libgd");
    let spec = bottle::Spec::builder("bundle:1")
        .pull(bottle::Pull::Never)
        .build()
        .unwrap();
    let guard = bottles.up_guarded(&"demo".parse().unwrap(), &spec).unwrap();
    assert_eq!(guard.outcome().action, bottle::Action::Created);
    assert!(!fake.transcript().contains("docker rm "));
    drop(guard);
    let calls = fake.transcript();
    assert!(calls.contains("docker rm "), "{calls}");
    assert!(calls.contains("docker network rm "), "{calls}");
}

/// Also noticed in attack15: a guard whose `up` found the bottle already running as asked
/// (`Kept`) took down, when dropped, a bottle it had not created (another launcher's guard's).
/// A drop takes down only what its `up` created.
#[test]
fn a_dropped_guard_leaves_a_bottle_it_did_not_create() {
    use crate::fake::{container_json, network_json};
    let mut fake = Fake::new();
    let (net, bundle) = ("libgk-bundle-demo", "libgk-sidecars-demo");
    let id = "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2";
    let spec = bottle::Spec::builder("bundle:1")
        .pull(bottle::Pull::Never)
        .build()
        .unwrap();
    let digest = spec.digest();
    let bundle_labels = [
        ("bottle.role", "bundle"),
        ("bottle.slug", "demo"),
        ("bottle.env", ""),
        ("bottle.spec", digest.as_str()),
        ("bottle.run", "0000000000000000"),
    ];
    let net_labels = [
        ("bottle.role", "network"),
        ("bottle.slug", "demo"),
        ("bottle.subnet", "10.213.150.0/24"),
    ];
    let both = container_json(
        bundle,
        id,
        "running",
        &bundle_labels,
        net,
        "10.213.150.2",
        &[],
    ) + &network_json(net, "net1", "10.213.150.0/24", &net_labels, &[(id, bundle)]);
    let exists = format!("Error response from daemon: network with name {net} already exists\n");
    fake.on("network create*", 1, "", &exists);
    fake.on("*inspect*", 0, &both, "");
    let bottles = fake_bottles(&fake, "libgk");
    let guard = bottles.up_guarded(&"demo".parse().unwrap(), &spec).unwrap();
    assert_eq!(guard.outcome().action, bottle::Action::Kept);
    drop(guard);
    let calls = fake.transcript();
    assert!(
        !calls.contains(" rm "),
        "a kept bottle was taken down: {calls}"
    );
}

/// On each real engine: a bare env key gets its value from `Bottles::environment`, not from the
/// process; `up` compares against that value, so the same environment keeps the bundle and
/// another value replaces it, naming `EnvValues`.
#[test]
fn the_given_environment_reaches_the_bundle_and_decides_kept_or_replaced() {
    use bottle::{Action, Bottles, Engine, ReplaceReason, Slug, Spec};
    let Some(paths) = local_paths() else { return };
    for path in paths {
        let guard = real::Bottles::new(&path, "envg");
        let base = Bottles::new(Engine::new(&path.program).unwrap())
            .prefix(guard.prefix.parse().unwrap())
            .pool(bottle::Pool::new(pool(144).parse().unwrap(), 24).unwrap());
        let spec = Spec::builder(path.image.clone())
            .env("BOTTLE_T_GIVEN")
            .build()
            .unwrap();
        let slug: Slug = "demo".parse().unwrap();
        let with = |v: &str| base.clone().environment([("BOTTLE_T_GIVEN", v)]);
        let up = with("one").up(&slug, &spec).unwrap();
        assert_eq!(up.action, Action::Created);
        let env = std::process::Command::new(&path.program)
            .args(["inspect", "--format", "{{json .Config.Env}}"])
            .arg(&up.bottle.bundle.name)
            .envs(path.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let env = String::from_utf8_lossy(&env.stdout);
        assert!(
            env.contains("\"BOTTLE_T_GIVEN=one\""),
            "{}: {env}",
            path.spec
        );
        assert_eq!(with("one").up(&slug, &spec).unwrap().action, Action::Kept);
        let replaced = with("two").up(&slug, &spec).unwrap();
        assert_eq!(replaced.action, Action::Replaced);
        assert_eq!(replaced.reason, Some(ReplaceReason::EnvValues));
        base.down(&slug).unwrap();
        assert!(guard.leftovers().is_empty(), "{:?}", guard.leftovers());
    }
}
