//! `stop`, `start`, `restart`, `pause`, `unpause`, `up` with no spec, `bottle.toml` discovery and
//! leases, against the fake engine: what each runs, decided from the state the engine shows.

use crate::fake::{Fake, container_json, redact_run_id};
use crate::transcripts::{BUNDLE, NET, network};

/// Our bundle in `state`, with these extra labels.
fn bundle(state: &str, extra: &[(&str, &str)]) -> String {
    let mut labels = vec![("bottle.role", "bundle"), ("bottle.slug", "demo")];
    labels.extend_from_slice(extra);
    let ports: &[(u16, u16)] = match state {
        "running" | "paused" => &[(8080, 49153)],
        _ => &[],
    };
    container_json(BUNDLE, "c1", state, &labels, NET, "10.213.150.2", ports)
}

/// The fake engine showing the bottle `demo` with its bundle in `state` (untyped inspect), and in
/// `after` once a command changed it (the look by ID).
fn engine(state: &str, after: &str) -> Fake {
    let mut fake = Fake::new();
    fake.on(
        "inspect --format*",
        0,
        &(bundle(state, &[]) + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle(after, &[]), "");
    fake
}

fn run(fake: &Fake, args: &[&str]) -> (i32, String, String) {
    let out = fake.bottle(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        redact_run_id(&String::from_utf8(out.stderr).unwrap()),
    )
}

/// The engine commands besides the first look (the untyped inspect).
fn changes(fake: &Fake) -> Vec<String> {
    fake.calls()
        .iter()
        .filter(|c| c[0] != "inspect")
        .map(|c| c.join(" "))
        .collect()
}

/// Each verb from each state: the commands it runs on the bundle by ID (none when it is already
/// where the verb leaves it: idempotent), and the state it reports.
#[test]
fn each_verb_runs_what_the_state_needs() {
    let inspect = "container inspect --format {{json .}} c1";
    let table: &[(&[&str], &str, &str, &[&str])] = &[
        (
            &["stop", "demo", "-t", "1"],
            "running",
            "exited",
            &["stop -t 1 c1", inspect],
        ),
        (&["stop", "demo"], "exited", "exited", &[]),
        (
            &["stop", "demo"],
            "paused",
            "exited",
            &["unpause c1", "stop c1", inspect],
        ),
        (
            &["start", "demo"],
            "exited",
            "running",
            &["start c1", inspect],
        ),
        (&["start", "demo"], "running", "running", &[]),
        (
            &["start", "demo"],
            "paused",
            "running",
            &["unpause c1", inspect],
        ),
        (
            &["restart", "demo", "-t", "0"],
            "running",
            "running",
            &["restart -t 0 c1", inspect],
        ),
        (
            &["restart", "demo"],
            "paused",
            "running",
            &["unpause c1", "restart c1", inspect],
        ),
        (
            &["pause", "demo"],
            "running",
            "paused",
            &["pause c1", inspect],
        ),
        (&["pause", "demo"], "paused", "paused", &[]),
        (
            &["unpause", "demo"],
            "paused",
            "running",
            &["unpause c1", inspect],
        ),
        (&["unpause", "demo"], "running", "running", &[]),
        (&["unpause", "demo"], "exited", "exited", &[]),
    ];
    for &(args, state, after, want) in table {
        let fake = engine(state, after);
        let mut argv = args.to_vec();
        argv.push("--json");
        let (code, out, err) = run(&fake, &argv);
        assert_eq!(code, 0, "{args:?} from {state}: {err}");
        assert_eq!(changes(&fake), want, "{args:?} from {state}");
        // One slug: the bottle object, as `status --json` has it.
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["bundle"]["state"], after, "{args:?} from {state}");
        assert_eq!(v["network"]["subnet"], "10.213.150.0/24");
        crate::schema::check("stop", &out);
    }
}

#[test]
fn a_verb_the_state_refuses_changes_nothing() {
    for (args, state) in [
        (["pause", "demo"], "exited"),
        (["start", "demo"], "dead"),
        (["restart", "demo"], "dead"),
    ] {
        let fake = engine(state, state);
        let (code, _, err) = run(&fake, &args);
        assert_eq!(code, 1, "{args:?} from {state}: {err}");
        assert!(err.contains(&format!("the bundle is `{state}`")), "{err}");
        assert!(changes(&fake).is_empty(), "{:?}", changes(&fake));
    }
}

/// A missing bottle is the exit and the words of `status` of one.
#[test]
fn a_verb_on_a_missing_bottle_exits_like_status() {
    let mut fake = Fake::new();
    fake.on(
        "inspect --format*",
        1,
        "[]\n",
        "Error: No such object: bot-bottle-sidecars-demo\n",
    );
    let (status_code, _, status_err) = run(&fake, &["status", "demo"]);
    for verb in ["stop", "start", "restart", "pause", "unpause"] {
        let (code, _, err) = run(&fake, &[verb, "demo"]);
        assert_eq!(code, status_code, "{verb}: {err}");
        assert_eq!(code, 1);
        assert!(err.contains("no bottle `demo`"), "{err}");
        assert!(status_err.contains("no bottle `demo`"));
    }
    let (code, out, _) = run(&fake, &["stop", "demo", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["kind"], "not_found");
}

/// A refused command is judged by a look: a racer that stopped the bundle first makes `stop`
/// succeed; a refusal that left it running is the engine's error.
#[test]
fn a_refused_stop_is_judged_by_what_the_bundle_is_now() {
    for (after, want) in [("exited", 0), ("running", 1)] {
        let mut fake = engine("running", after);
        fake.on(
            "stop *",
            1,
            "",
            "Error response from daemon: something odd\n",
        );
        let (code, _, err) = run(&fake, &["stop", "demo"]);
        assert_eq!(code, want, "after {after}: {err}");
    }
}

/// Several slugs (or `--all`): an array in the order given, a failed bottle as `{slug, error}`.
#[test]
fn several_bottles_give_an_array() {
    // `demo` exists, `other` does not.
    let mut fake = Fake::new();
    fake.on(
        "inspect --format* bot-bottle-sidecars-demo *",
        0,
        &(bundle("running", &[]) + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on(
        "inspect --format*",
        1,
        "[]\n",
        "Error: No such object: bot-bottle-sidecars-other\n",
    );
    fake.on("container inspect*", 0, &bundle("exited", &[]), "");
    let (code, out, err) = run(&fake, &["stop", "demo", "other", "--json"]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["slug"], "demo");
    assert_eq!(v[0]["bundle"]["state"], "exited");
    assert_eq!(v[1]["slug"], "other");
    assert_eq!(v[1]["error"]["kind"], "not_found");
    assert!(err.contains("bottle: other: no bottle `other`"), "{err}");
}

/// `up SLUG` with no spec (no flags, no `--config`, no `bottle.toml`) keeps the bottle as it is:
/// it starts a stopped bundle and never replaces it, whatever its spec (issue 16: it pulled the
/// default image, or replaced the bundle with the defaults).
#[test]
fn up_with_no_spec_keeps_the_bottle_as_it_is() {
    for (state, action, want) in [
        ("running", "kept", &[][..]),
        (
            "exited",
            "started",
            &["start c1", "container inspect --format {{json .}} c1"][..],
        ),
    ] {
        let fake = engine(state, "running");
        let dir = tempfile::tempdir().unwrap();
        let out = fake
            .command(&["up", "demo", "--json"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert_eq!(changes(&fake), want, "{state}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["action"], action);
        crate::schema::check("up", &String::from_utf8_lossy(&out.stdout));
    }
}

/// `up` with no spec exits 0 only with a bundle seen running, as any `up`: one that exits again
/// right after its start is exit 1.
#[test]
fn up_with_no_spec_fails_when_the_started_bundle_does_not_run() {
    let fake = engine("exited", "exited");
    let dir = tempfile::tempdir().unwrap();
    let out = fake
        .command(&["up", "demo"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("was `exited` right after start"), "{err}");
}

/// With no spec and no bottle there is nothing to run: exit 1, saying a new bundle needs an image;
/// nothing is created.
#[test]
fn up_with_no_spec_of_a_missing_bottle_says_what_is_needed() {
    let mut fake = Fake::new();
    fake.on(
        "inspect --format*",
        1,
        "[]\n",
        "Error: No such object: bot-bottle-sidecars-demo\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = fake
        .command(&["up", "demo"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no spec was given: a new bundle needs an image"),
        "{err}"
    );
    assert!(err.contains("bottle.toml"), "{err}");
    assert_eq!(changes(&fake), Vec::<String>::new());
}

/// `bottle.toml` in the working directory is the spec when no `--config` is given.
#[test]
fn bottle_toml_here_is_the_spec() {
    let fake = Fake::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bottle.toml"),
        "image = \"from-toml:1\"\npublish = [9000]\nttl = \"2h\"\n",
    )
    .unwrap();
    let out = fake
        .command(&["plan", "demo"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" from-toml:1\n"), "{text}");
    assert!(text.contains("->9000/tcp"), "{text}");
    assert!(text.contains("'bottle.expires=<now+7200s>'"), "{text}");
    assert!(text.contains("'bottle.ttl=7200'"), "{text}");
    // `--config` wins over the file here.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "image = \"other:2\"\n").unwrap();
    let out = fake
        .command(&["plan", "demo", "--config", other.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(" other:2\n") && !text.contains("from-toml"),
        "{text}"
    );
}

/// A lease is fixed at creation: `up --ttl` of a bottle with another lease (or none) is refused,
/// exit 1, and nothing is changed; the same lease is kept.
#[test]
fn up_with_another_lease_is_refused_and_changes_nothing() {
    let leased = [
        // In the future: a passed lease is refused for that reason instead.
        ("bottle.expires", "2126-12-07T03:00:00Z"),
        ("bottle.ttl", "3600"),
    ];
    for (labels, ttl, want) in [
        (&leased[..], "1h", 0),
        (&leased[..], "2h", 1),
        (&[][..], "1h", 1),
    ] {
        let mut fake = Fake::new();
        fake.on(
            "inspect --format*",
            0,
            &(bundle("running", labels) + &network(&[("c1", BUNDLE)])),
            "",
        );
        let dir = tempfile::tempdir().unwrap();
        let out = fake
            .command(&["up", "demo", "--ttl", ttl])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{ttl} over {labels:?}: {err}"
        );
        if want == 1 {
            assert!(err.contains("would need a new bundle"), "{err}");
        }
        assert_eq!(changes(&fake), Vec::<String>::new());
    }
}

/// `gc` removes a bundle whose lease has passed even while it runs: forced, by ID; a running one
/// whose lease has not passed stays.
#[test]
fn gc_removes_a_running_bottle_whose_lease_passed() {
    for (expires, removed) in [
        ("2000-01-01T00:00:00Z", true),
        ("2999-01-01T00:00:00Z", false),
    ] {
        let mut fake = Fake::new();
        let b = bundle(
            "running",
            &[("bottle.expires", expires), ("bottle.ttl", "60")],
        );
        fake.on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "");
        fake.on("network ls *", 0, "net1\tbot-bottle-bundle-demo\n", "");
        fake.on(
            "inspect --format*",
            0,
            &(b + &network(&[("c1", BUNDLE)])),
            "",
        );
        let (code, out, err) = run(&fake, &["gc", "--json"]);
        assert_eq!(code, 0, "{err}");
        let calls = changes(&fake).join("\n");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        crate::schema::check("gc", &out);
        match removed {
            true => {
                assert!(calls.contains("rm --force --volumes c1"), "{calls}");
                assert!(calls.contains("network rm net1"), "{calls}");
                assert_eq!(v["removed"]["containers"][0], BUNDLE);
            }
            false => assert!(!calls.contains("rm "), "{calls}"),
        }
    }
}

/// On every engine path, one bottle: each verb and its idempotent repeat, checked against what the
/// engine itself shows; `up` with no spec starting it and keeping it; another lease refused; and
/// `gc` removing it, running, once its lease has passed.
#[test]
fn verbs_and_a_lease_on_a_real_engine() {
    use crate::real::clis;
    let Some(paths) = clis() else { return };
    // The paths are independent (a prefix each) and their engines mostly wait: one thread per path
    // keeps the test's time near the slowest path's rather than the sum.
    std::thread::scope(|scope| {
        for (i, path) in paths.iter().enumerate() {
            scope.spawn(move || verbs_and_a_lease_on(path, i));
        }
    });
}

fn verbs_and_a_lease_on(path: &crate::real::EnginePath, i: usize) {
    use crate::real::{Bottles, json};
    use crate::schema;
    use std::time::{Duration, Instant};
    {
        let b = Bottles::new(path, &format!("vb{i}"));
        // A slug per path: the host-port rule derives a bottle's host ports from its slug, and
        // the paths run at once, three of them on one dockerd.
        let slug = format!("s{i}");
        let s = slug.as_str();
        let name = format!("{}-sidecars-{s}", b.prefix);
        let engine_state = || {
            b.docker_out(&[
                "container",
                "inspect",
                "--format",
                "{{.State.Status}}",
                &name,
            ])
        };
        let up = schema::check(
            "up",
            &b.ok(&[
                "up",
                s,
                "--image",
                &path.image,
                "-p",
                "8080",
                // Long enough for the verbs and `up`s below (an `up` of a bottle whose lease
                // passed is refused), short enough for the `gc` poll at the end.
                "--ttl",
                "30s",
                "--json",
            ]),
        );
        assert!(
            up["expires"].as_str().is_some_and(|e| e.ends_with('Z')),
            "{up}"
        );
        // Each verb, and again where idempotent: the repeat finds the bundle where the first left
        // it and runs nothing. A paused bundle is restarted too: podman refuses that (and a stop)
        // unless bottle unpauses it first.
        for (verb, want, again) in [
            (&["stop", s, "-t", "0"][..], "exited", true),
            (&["start", s][..], "running", true),
            (&["pause", s][..], "paused", true),
            (&["unpause", s][..], "running", true),
            (&["pause", s][..], "paused", false),
            (&["restart", s, "-t", "0"][..], "running", false),
            (&["stop", s, "-t", "0"][..], "exited", false),
        ] {
            for _ in 0..1 + usize::from(again) {
                let mut args = verb.to_vec();
                args.push("--json");
                let v = schema::check("stop", &b.ok(&args));
                assert_eq!(v["bundle"]["state"], want, "{verb:?} on {path}");
            }
            assert_eq!(engine_state(), want, "{verb:?} on {path}");
        }
        // `up` with no spec (none here, nor a `bottle.toml`): started, then kept; never replaced.
        let here = tempfile::tempdir().unwrap();
        let up_here = |args: &[&str]| b.command(args).current_dir(here.path()).output().unwrap();
        let out = up_here(&["up", s, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = schema::check("up", &String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            (v["action"].as_str(), v["run"].as_str()),
            (Some("started"), up["run"].as_str())
        );
        let again = up_here(&["up", s, "--json"]);
        let v = json(&String::from_utf8_lossy(&again.stdout));
        assert_eq!(
            v["action"],
            "kept",
            "{path}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        // Start and restart kept the bundle's publish arguments: its port is published.
        assert!(
            v["ports"][0]["host_port"].as_u64().is_some(),
            "{v} on {path}"
        );
        // Another lease would need a new bundle: refused, nothing changed.
        let out = up_here(&["up", s, "--ttl", "1h"]);
        assert_eq!(out.status.code(), Some(1), "{path}");
        assert_eq!(engine_state(), "running", "{path}");
        // `gc` removes the bottle once its lease has passed, although it runs.
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let gc = schema::check("gc", &b.ok(&["gc", "--json"]));
            if gc["removed"]["containers"] == serde_json::json!([name]) {
                assert_eq!(
                    gc["removed"]["networks"],
                    serde_json::json!([format!("{}-bundle-{s}", b.prefix)])
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "gc never removed the expired bottle on {path}: {gc}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");
    }
}

/// The library does what the CLI does: each state change and its `*_many`, `resume` (`up` with no
/// spec), the grace for `stop`, and a lease refused under a second.
#[test]
fn the_library_changes_state_as_the_cli_does() {
    use bottle::{Action, Bottles, Engine, ErrorKind, Invalid, Spec, State};
    let fake = engine("paused", "exited");
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap())
        .stop_grace(std::time::Duration::from_millis(1500));
    let slug = "demo".parse().unwrap();
    let b = bottles.stop(&slug).unwrap();
    assert_eq!(b.bundle.state, State::Exited);
    assert_eq!(changes(&fake)[..2], ["unpause c1", "stop -t 2 c1"]);
    let many = bottles.stop_many(&[slug.clone(), "other".parse().unwrap()]);
    // In the order given: `other` does not exist, as `status` would say.
    assert!(many[0].is_ok(), "{many:?}");
    assert_eq!(many[1].as_ref().unwrap_err().kind(), &ErrorKind::NotFound);

    let fake = engine("exited", "running");
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap());
    let up = bottles.resume(&slug, None).unwrap();
    assert_eq!(
        (up.action, up.bottle.bundle.state),
        (Action::Started, State::Running)
    );
    let e = bottles
        .resume(&slug, Some(std::time::Duration::from_secs(60)))
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Refused, "{e}");
    let e = bottles.pause(&slug).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Refused, "{e}");

    let e = Spec::builder("img:1")
        .ttl(std::time::Duration::from_millis(1400))
        .build();
    assert!(e.is_ok(), "a fraction past a second rounds up");
    let e = Spec::builder("img:1")
        .ttl(std::time::Duration::from_millis(400))
        .build()
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Invalid(Invalid::Ttl),
        "under a second"
    );
    let e = Spec::builder("img:1")
        .ttl(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Ttl));
}

/// The replace reason names exactly the parts that changed, in the text and in `--json`'s
/// `reason` and `changed` (issue 16: it named "env keys, volumes, daemons, publish IP or ports"
/// for any of them).
#[test]
fn a_replace_names_exactly_the_parts_that_changed() {
    let mut fake = Fake::new();
    let spec = ["--image", "img", "-p", "8080", "-e", "KEY"];
    // The parts `up` will record, from `plan`; the old bundle had other ports.
    let plan =
        String::from_utf8(fake.bottle(&[&["plan", "demo"][..], &spec].concat()).stdout).unwrap();
    let at = plan.find("bottle.parts=").unwrap() + "bottle.parts=".len();
    let parts = &plan[at..at + plan[at..].find('\'').unwrap()];
    let old_parts: String = parts
        .split(',')
        .map(|kv| match kv.split_once('=') {
            Some(("publish", _)) => "publish=00000000".to_string(),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    fake.on(
        "network create*",
        1,
        "",
        "Error response from daemon: network with name bot-bottle-bundle-demo already exists\n",
    );
    fake.on(
        "inspect --format*",
        0,
        &(bundle(
            "running",
            &[("bottle.spec", "old"), ("bottle.parts", &old_parts)],
        ) + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle("running", &[]), "");
    let (code, out, err) = run(&fake, &[&["up", "demo"][..], &spec, &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let v = crate::schema::check("up", &out);
    assert_eq!(v["action"], "replaced");
    assert_eq!(v["reason"], "ports");
    assert_eq!(v["changed"], serde_json::json!(["ports"]));
    let (code, out, err) = run(&fake, &[&["up", "demo"][..], &spec].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replaced (ports changed)"), "{out}");
}
