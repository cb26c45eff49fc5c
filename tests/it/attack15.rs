//! Attack round on issue 15's library surface (`attack15`): each test reproduces one problem found
//! by driving the library as a Rust launcher would, and is named after it. They fail on the branch
//! they were written on; the fix makes them pass.

use std::sync::mpsc;
use std::time::Duration;

use bottle::{Bottles, Engine, ErrorKind, Spec, SpecText};

use crate::fake::Fake;

/// Runs `f` on a thread of its own and gives its result, or `None` when it has not returned
/// within `within` (the thread is left behind: what it blocks on is the bug).
fn within<T: Send + 'static>(
    within: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(within).ok()
}

/// `Bottles::new` says "nothing is run", and a launcher calls it on whatever thread builds its
/// state. For an engine program that is a script naming podman (the `podman-docker` shim, or a
/// wrapper whose comment mentions podman) it runs `<engine> version` to learn the flavor, bounded
/// only by the 10-minute default timeout and with no token the caller could cancel yet. A wrapper
/// that hangs blocks `Bottles::new` (and so `plan`, which needs no engine) for 10 minutes.
#[test]
fn bottles_new_ran_the_engine_for_a_script_naming_podman() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("docker");
    let marker = dir.path().join("ran");
    let script = format!(
        "#!/bin/sh\n# podman-docker shim: emulate the Docker CLI using podman\n: > '{}'\nexec sleep 5\n",
        marker.display()
    );
    std::fs::write(&program, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let engine = Engine::new(&program).unwrap();
    let made = within(Duration::from_secs(2), move || {
        Bottles::new(engine);
    });
    assert!(
        made.is_some(),
        "`Bottles::new` blocked on the engine program (it ran: {})",
        marker.exists()
    );
    assert!(!marker.exists(), "`Bottles::new` ran the engine program");
}

/// `Engine::named` is the way to `plan` "where no engine is installed", documented as not looking
/// anything up. It opens the named file to read its first bytes (`flavor_of`), with a blocking
/// `open`: a FIFO at that path (or, for a bare name such as `docker`, a FIFO called `docker` in the
/// current directory: the bare name is opened relative to the cwd, not looked up on `PATH`) blocks
/// the caller forever, with no timeout and no cancel.
#[test]
fn engine_named_blocked_forever_opening_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("docker");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let path = fifo.clone();
    let named = within(Duration::from_secs(2), move || {
        let _ = Engine::named(&path);
    });
    if named.is_none() {
        // Unblock the thread left behind: it waits for a writer.
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
    }
    assert!(
        named.is_some(),
        "`Engine::named` blocked opening the FIFO it was named"
    );
}

/// `Bottles::interrupted` is documented as the way to learn that a `down_many` / `down_all`
/// "stopped early", and a cancel "never poisons the handle". But it reports any cancel ever made
/// on the handle's token: after a cancelled `up`, a later `down_many` that nothing interrupted is
/// reported as interrupted ("the removals it had begun were finished"), so a launcher cannot tell
/// a complete teardown from a cut-short one.
#[test]
fn interrupted_reported_a_cancel_of_an_earlier_call() {
    let mut fake = Fake::new();
    for slug in ["a", "b"] {
        let missing = format!(
            "Error: No such object: atk15int-sidecars-{slug}\nError: No such object: atk15int-bundle-{slug}\n"
        );
        fake.on(
            &format!("inspect *atk15int-sidecars-{slug} *"),
            1,
            "\n",
            &missing,
        );
    }
    let bottles =
        Bottles::new(Engine::new(fake.program()).unwrap()).prefix("atk15int".parse().unwrap());
    // A cancel aimed at an earlier call, which it cut short. (Made before that call started, it
    // reaches it: see `a_cancel_before_a_queued_call_started_was_lost`.)
    bottles.cancel_token().cancel();
    let earlier = bottles.ls().map(|_| ());
    assert!(
        matches!(&earlier, Err(e) if e.kind() == &ErrorKind::Interrupted),
        "{earlier:?}"
    );
    assert!(
        bottles.interrupted().is_err(),
        "the earlier call was cut short"
    );
    let slugs = ["a".parse().unwrap(), "b".parse().unwrap()];
    let results = bottles.down_many(&slugs);
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert!(
        bottles.interrupted().is_ok(),
        "a down_many that no cancel reached is reported interrupted: {:?}",
        bottles.interrupted()
    );
}

/// The issue names `env("HOME=/tmp")` as a launcher's likely mistake (it means `secret_env`).
/// The refusal quotes the whole text, value included, in the error's message and in the
/// builder's `Debug`: `env("API_TOKEN=sk-live-…")` puts the token into whatever log the launcher
/// writes its errors to. Every other path (the TOML parser, `secret_env`, `SpecText`'s `Debug`)
/// takes care never to show a value.
#[test]
fn env_key_refusal_quoted_the_secret_value() {
    let builder = Spec::builder("bundle:1").env("API_TOKEN=sk-live-hunter2");
    let debug = format!("{builder:?}");
    let err = builder.build().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Invalid(bottle::Invalid::EnvKey));
    assert!(!err.message().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

/// Issue 15: "Messages from the library give no CLI advice; the CLI adds advice when it renders."
/// A value `secret_env` cannot carry is refused with "export it and pass the bare name `-e K`
/// instead": a flag of the CLI, and advice that is wrong for the library, where bare keys read
/// [`Bottles::environment`], not the exported process environment.
#[test]
fn env_value_refusal_gave_cli_advice() {
    for value in ["a\nb".to_string(), "x".repeat(70_000)] {
        let err = Spec::builder("bundle:1")
            .secret_env("K", value)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Invalid(bottle::Invalid::EnvValue));
        assert!(!err.message().contains("`-e "), "{err}");
        assert!(!err.message().contains("export it"), "{err}");
    }
}

/// `SpecText::from_toml` (and `from_file`) promise that errors "never quote a value: a misplaced
/// secret must not end up on a terminal or in a CI log", and the module says so for every key.
/// The checks it shares with the builder quote the value for `image`, `publish` strings,
/// `daemons`, `publish_ip` and `loopback_pool`, so `image = "sk-hunter2 …"` or a token pasted into
/// the wrong key reaches the message.
#[test]
fn toml_errors_quoted_the_value_they_promise_never_to_show() {
    let path = std::path::Path::new("/nonexistent/bottle.toml");
    let cases = [
        "image = \"sk hunter2\"",
        "publish = [\"hunter2\"]",
        "daemons = [\"Hunter2\"]",
        "publish_ip = \"hunter2\"",
        "loopback_pool = \"hunter2\"",
        "volumes = [\"hunter2\"]",
    ];
    let mut leaks = Vec::new();
    for text in cases {
        // `publish_ip` is checked at `validate`, the others while parsing.
        let err = match SpecText::from_toml(text, path) {
            Err(e) => e,
            Ok(raw) => raw.validate(false).unwrap_err(),
        };
        if err.message().contains("hunter2") {
            leaks.push(format!("{text}: {err}"));
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}

/// A value in [`Bottles::environment`] that no process environment can carry (a NUL, or more than
/// the kernel's 128 KiB per string) is taken without a word, and `up` fails late, after creating
/// the network, as [`ErrorKind::EngineUnavailable`] ("could not execute … nul byte found"; the CLI
/// would exit 69, "install docker"), though the engine is there and the input is what is wrong.
/// The error also reports the bundle as possibly left behind ("the engine had not shown whether
/// its cut-short create had happened"), though the `run` never started. `secret_env` refuses the
/// same values up front as [`bottle::Invalid::EnvValue`].
#[test]
fn an_environment_value_the_os_cannot_carry_failed_as_engine_unavailable() {
    const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";
    for value in ["hun\0ter2".to_string(), "h".repeat(200_000)] {
        let mut fake = Fake::new();
        fake.once("network create*", 0, NET_ID, "");
        let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
            .prefix("atk15env".parse().unwrap())
            .environment([("TOKEN", value)]);
        let spec = Spec::builder("bundle:1").env("TOKEN").build().unwrap();
        let err = bottles.up(&"demo".parse().unwrap(), &spec).unwrap_err();
        assert_ne!(err.kind(), &ErrorKind::EngineUnavailable, "{err}");
        assert!(err.left().is_empty(), "nothing ran, yet: {:?}", err.left());
    }
}

/// Issue 15: "timeouts, readiness failures, cancellation and engine failures are distinct kinds,
/// each with its data". A [`ErrorKind::Timeout`] carries its deadline, but which engine command
/// ran past it is only in the English message: [`bottle::Error::command`] is `None` (there is no
/// exit code to fill a `CommandFailure` with), and the CLI's JSON error has `"command": null`. A
/// launcher that wants to say "`docker ps` hung" has to parse the message.
#[test]
fn a_timeout_kept_its_command_only_in_the_message() {
    let mut fake = Fake::new();
    fake.on_sh("ps *", "sleep 3");
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
        .prefix("atk15tmo".parse().unwrap())
        .timeout(Duration::from_millis(300));
    let err = bottles.ls().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout, "{err}");
    assert_eq!(err.deadline(), Some(Duration::from_millis(300)));
    let line = err.command().map(|c| c.line().to_string());
    assert!(
        line.as_deref().is_some_and(|l| l.contains(" ps ")),
        "the timed-out command as data: {line:?}; message: {err}"
    );
}

/// `Bottles::timeout` takes any `Duration`, where the CLI refuses a timeout that is not positive
/// ([`bottle::Invalid::Timeout`]). A zero timeout kills every engine command at once, and the
/// message calls it "the timeout of 0h".
#[test]
fn a_zero_timeout_was_taken_and_shown_as_0h() {
    let fake = Fake::new();
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
        .prefix("atk15zero".parse().unwrap())
        .timeout(Duration::ZERO);
    let err = bottles.ls().unwrap_err();
    assert!(!err.message().contains("timeout of 0h"), "{err}");
}

/// `follow_logs` hands the engine's output to the launcher's `sink` on the library's reader
/// threads. A sink that panics (a launcher bug) kills its reader thread silently: the call neither
/// fails nor returns, and follows on (here for as long as the engine keeps streaming) with nobody
/// reading the pipe, so a real `logs -f` blocks once the pipe fills. A panic in a sink should come
/// back to the caller (as the panic, or an error) instead of vanishing.
#[test]
fn a_panicking_follow_logs_sink_vanished_and_the_follow_went_on() {
    use crate::fake::container_json;
    let mut fake = Fake::new();
    let labels = [
        ("bottle.role", "bundle"),
        ("bottle.slug", "demo"),
        ("bottle.env", ""),
    ];
    let bundle = container_json(
        "atk15log-sidecars-demo",
        "c1",
        "running",
        &labels,
        "atk15log-bundle-demo",
        "10.213.150.2",
        &[],
    );
    fake.on("*inspect*", 0, &bundle, "");
    fake.on_sh("logs *", "echo first; sleep 6");
    let bottles =
        Bottles::new(Engine::new(fake.program()).unwrap()).prefix("atk15log".parse().unwrap());
    let followed = within(Duration::from_secs(3), move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            bottles.follow_logs(&"demo".parse().unwrap(), None, |_, _| {
                panic!("launcher bug in its log sink")
            })
        }))
        .map_err(|_| "panicked")
        .map(|r| r.map_err(|e| e.to_string()))
    });
    assert!(
        followed.is_some(),
        "the sink panicked on the first line, yet `follow_logs` went on following"
    );
}

/// The events callback runs on the caller's thread, inside `up`. When it panics (a launcher bug,
/// or a `RefCell` borrowed twice) after the network was created, the panic unwinds straight out of
/// `up` and nothing rolls back: the network this run created stays, though `up` promises that "on
/// failure or cancel, what this call created is removed again". (A `BottleGuard` does not help:
/// `up_guarded` had not returned one yet.)
#[test]
fn a_panicking_event_callback_left_the_network_up_created() {
    const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
        .prefix("atk15evp".parse().unwrap())
        .on_event(|e| {
            if let bottle::Event::Command { line, .. } = e
                && line.contains(" run ")
            {
                panic!("launcher bug in its event callback");
            }
        });
    let spec = Spec::builder("bundle:1").build().unwrap();
    let up = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        bottles.up(&"demo".parse().unwrap(), &spec)
    }));
    assert!(up.is_err(), "the callback's panic came through");
    let calls: Vec<String> = fake.calls().iter().map(|c| c.join(" ")).collect();
    assert!(
        calls.iter().any(|c| c.starts_with("network create")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().any(|c| c.starts_with("network rm")),
        "the network `up` created was not rolled back: {calls:#?}"
    );
}

/// Issue 15: "`Event` carries the slug", so a launcher with several bottles can tell whose event
/// it sees. `up`, `down` and `status` name their bottle, but the engine commands of `wait_ready`,
/// `logs` and `follow_logs` (all about one bottle) arrive with `slug: None`, as if they were work
/// on the whole engine.
#[test]
fn events_of_wait_ready_and_logs_did_not_name_their_bottle() {
    use crate::fake::container_json;
    use std::sync::{Arc, Mutex};
    let mut fake = Fake::new();
    let labels = [
        ("bottle.role", "bundle"),
        ("bottle.slug", "demo"),
        ("bottle.env", ""),
    ];
    let bundle = container_json(
        "atk15evs-sidecars-demo",
        "c1",
        "running",
        &labels,
        "atk15evs-bundle-demo",
        "10.213.150.2",
        &[],
    );
    fake.on("*inspect*", 0, &bundle, "");
    /// Each command's slug (if any) and line.
    type Seen = Vec<(Option<String>, String)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&seen);
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
        .prefix("atk15evs".parse().unwrap())
        .on_event(move |e| {
            if let bottle::Event::Command { line, slug, .. } = e {
                let slug = slug.map(|s| s.as_str().to_string());
                sink.lock().unwrap().push((slug, line.to_string()));
            }
        });
    let slug = "demo".parse().unwrap();
    let ready = bottles.wait_ready(&slug, Duration::from_secs(5));
    assert!(ready.is_ok(), "{ready:?}");
    bottles.logs(&slug, Some(10)).unwrap();
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    let unnamed: Vec<&String> = seen
        .iter()
        .filter(|(s, _)| s.as_deref() != Some("demo"))
        .map(|(_, line)| line)
        .collect();
    assert!(
        unnamed.is_empty(),
        "commands without their slug: {unnamed:#?}"
    );
}

/// The crate docs tell an async launcher to run calls through `spawn_blocking` and to cancel "from
/// the async side through `Bottles::cancel_token`". But a call counts only the cancels made after
/// it starts running, so a cancel made after the launcher queued the call and before a pool thread
/// picked it up (the user pressed Ctrl-C at once, or the pool was busy) is lost: the call runs to
/// the end as if nothing happened. Modelled here with a thread that starts its call only once
/// released, as a queued blocking task does (with `down`, whose fake is short; on real podman an
/// `up` whose cancel raced its start returned `Created` and left the bottle running).
#[test]
fn a_cancel_before_a_queued_call_started_was_lost() {
    let mut fake = Fake::new();
    let missing =
        "Error: No such object: atk15q-sidecars-a\nError: No such object: atk15q-bundle-a\n";
    fake.on("inspect *atk15q-sidecars-a *", 1, "\n", missing);
    let bottles =
        Bottles::new(Engine::new(fake.program()).unwrap()).prefix("atk15q".parse().unwrap());
    let token = bottles.cancel_token();
    let (release, queued) = mpsc::channel::<()>();
    // `spawn_blocking(move || bottles.down(&slug))`: queued, not yet running.
    let task = std::thread::spawn(move || {
        queued.recv().unwrap();
        bottles.down(&"a".parse().unwrap())
    });
    // The launcher cancels the call it queued.
    token.cancel();
    release.send(()).unwrap();
    let got = task.join().unwrap();
    assert!(
        matches!(&got, Err(e) if e.kind() == &ErrorKind::Interrupted),
        "the call queued before the cancel ran as if nothing happened: {got:?}"
    );
}

/// The library tells a readiness failure's reason apart ([`bottle::NotReady`]: deadline, exited,
/// replaced, removed) and keeps the wait that ran out ([`bottle::Error::deadline`]). The `--json`
/// error object (`$defs/error_body`, `additionalProperties: false`) has neither: a Python
/// launcher sees `"kind": "not_ready"` and has to parse the English `message` to learn whether
/// the bundle crashed (do not retry) or was only slow (retry with a longer `--wait`).
#[test]
fn json_not_ready_error_lost_the_reason_and_the_deadline() {
    use crate::fake::container_json;
    const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";
    let mut fake = Fake::new();
    let (net, bundle) = ("bot-bottle-bundle-demo", "bot-bottle-sidecars-demo");
    let id = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 0, &format!("{id}\n"), "");
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "demo")];
    let running = container_json(bundle, id, "running", &labels, net, "10.213.150.2", &[]);
    let exited = container_json(bundle, id, "exited", &labels, net, "", &[]);
    fake.once("*inspect*", 0, &running, "");
    fake.on("*inspect*", 0, &exited, "");
    let out = fake.bottle(&[
        "up",
        "demo",
        "--image",
        "bundle:1",
        "--pull",
        "never",
        "--wait=30s",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = &json["error"];
    assert_eq!(error["kind"], "not_ready", "{json}");
    let data: Vec<String> = error
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "message")
        .map(|(_, v)| v.to_string())
        .collect();
    assert!(
        data.iter().any(|v| v.contains("exited")),
        "the reason (`exited`) is only in the message: {json}"
    );
}

/// Resource names are `<prefix>-bundle-<slug>` and `<prefix>-sidecars-<slug>`, and both a prefix
/// and a slug may hold `-bundle`/`-sidecars`: prefix `a` with slug `bundle-x` and prefix
/// `a-bundle` with slug `x` name the same network `a-bundle-bundle-x`. Two launchers on one engine
/// (each with its own prefix, as the contract suggests for keeping apart) then refuse each other's
/// bottles: on docker, `--prefix atk15 status sidecars-x` with `--prefix atk15-sidecars` bottle
/// `x` up says the container "lacks bottle's labels" (it has them, for slug `x`).
///
/// Fixed by making the rule unambiguous: a prefix holds no `bundle` or `sidecars` word, so the
/// first such word of a name is its role. The pair that collided can no longer be formed, and
/// every pair that can names its own network.
#[test]
fn two_prefix_and_slug_pairs_named_the_same_network() {
    let refused = "a-bundle".parse::<bottle::Prefix>().unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::Invalid(bottle::Invalid::Prefix));
    let spec = Spec::builder("bundle:1").build().unwrap();
    let network_of = |prefix: &str, slug: &str| -> std::ffi::OsString {
        let bottles = Bottles::new(Engine::named("docker")).prefix(prefix.parse().unwrap());
        let plan = bottles.plan(&slug.parse().unwrap(), &spec).unwrap();
        plan[0].last().unwrap().clone()
    };
    assert_ne!(
        network_of("a", "bundle-x"),
        network_of("a-bundlex", "x"),
        "two different bottles, one network name"
    );
    assert_ne!(network_of("a", "x-bundle-y"), network_of("a-x", "bundle-y"));
}

/// A bare env key ([`bottle::SpecBuilder::env`]) reaches the bundle through the engine CLI's own
/// process environment (`run -e KEY`), so the value meant for the bundle also configures the
/// engine CLI for that one command. `env("HOME")` (the builder's own doc example) with a launcher's
/// [`Bottles::environment`] that gives the agent `HOME=/home/agent` runs `docker run` with that
/// `HOME`: the docker CLI then reads `/home/agent/.docker/config.json` (another current context,
/// so another engine than the `network create` before it), rootless podman another storage. A
/// key missing from the given environment is unset for `run` alone (`DOCKER_HOST`,
/// `XDG_RUNTIME_DIR`, `HOME`), with the same split. Every engine command of one `up` should see
/// one engine environment. (Seen on docker 20.10: with a `config.json` under the given `HOME`
/// naming another context, `network create` succeeded and `run` failed with "Current context …
/// is not found".)
#[test]
fn a_bare_env_key_changed_the_engine_clis_own_environment_for_run() {
    let mut fake = Fake::new();
    fake.on_sh(
        "network create*",
        r#"echo "$HOME" > "$D/home.create"; echo 5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544"#,
    );
    fake.on_sh(
        "run *",
        r#"echo "$HOME" > "$D/home.run"; echo d04c8e2d730bd96d8190cb3a0745f745aa97bdb2234cf9eefcbde1ee9b58ac6e"#,
    );
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
        .prefix("atk15home".parse().unwrap())
        .environment([("HOME", "/home/agent")]);
    let spec = Spec::builder("bundle:1")
        .env("HOME")
        .pull(bottle::Pull::Never)
        .build()
        .unwrap();
    // Whatever `up` makes of the fake's answers afterwards, both commands ran.
    let _ = bottles.up(&"demo".parse().unwrap(), &spec);
    let read = |name: &str| std::fs::read_to_string(fake.state_dir().join(name)).unwrap();
    let (create, run) = (read("home.create"), read("home.run"));
    assert_eq!(
        run, create,
        "`run` ran with the bundle's HOME, the other commands with bottle's"
    );
}
