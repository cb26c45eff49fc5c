//! `--contexts` against the fake engine, which answers per `--context` and plays a dead one: the
//! stderr lines, exit codes 0/1/69, the `--json` error object with `contexts` and `partial`,
//! placement around a dead context, a slug found on two contexts, and the usage errors.
//! (Real engines: `fleet.rs`.)

use crate::fake::{Fake, container_json, network_json};

/// `demo` scores `pod` above `default` (`placement_score`'s rustdoc): its first choice is `pod`.
const FLEET: &str = "default,pod";
const DEAD: &str =
    "Cannot connect to the Docker daemon at unix:///run/pod.sock. Is the docker daemon running?\n";
const NET: &str = "bot-bottle-bundle-demo";
const BUNDLE: &str = "bot-bottle-sidecars-demo";

fn run(fake: &Fake, args: &[&str]) -> (i32, String, String) {
    let out = fake.bottle(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn bundle(state: &str, spec: &str) -> String {
    container_json(
        BUNDLE,
        "c1",
        state,
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", spec),
        ],
        NET,
        "10.213.150.2",
        &[(8080, 26435)],
    )
}

fn network() -> String {
    network_json(
        NET,
        "net1",
        "10.213.150.0/24",
        &[
            ("bottle.role", "network"),
            ("bottle.slug", "demo"),
            ("bottle.subnet", "10.213.150.0/24"),
        ],
        &[("c1", BUNDLE)],
    )
}

/// `context` holds the running bottle `demo`: its listing and its looks.
fn holds_demo(fake: &mut Fake, context: &str) {
    let c = format!("--context {context}");
    fake.on(&format!("{c} ps *"), 0, &format!("c1\t{BUNDLE}\n"), "");
    fake.on(
        &format!("{c} network ls *"),
        0,
        &format!("net1\t{NET}\n"),
        "",
    );
    fake.on(
        &format!("{c} inspect*"),
        0,
        &(bundle("running", "x") + &network()),
        "",
    );
}

/// `context` answers, and holds no bottle `demo`.
fn absent(fake: &mut Fake, context: &str) {
    let missing = format!("Error: No such object: {BUNDLE}\n");
    fake.on(&format!("--context {context} inspect*"), 1, "", &missing);
}

fn dead(fake: &mut Fake, context: &str) {
    fake.on(&format!("--context {context} *"), 1, "", DEAD);
}

fn dead_line(context: &str) -> String {
    format!(
        "bottle: context `{context}` did not answer: {}",
        DEAD.trim_end()
    )
}

#[test]
fn ls_over_a_dead_context_lists_the_others_names_it_and_exits_1() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    holds_demo(&mut fake, "default");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "ls"]);
    assert_eq!(code, 1, "{err}");
    // The piped line keeps its fields, the context last.
    assert!(out.starts_with("demo\trunning\t10.213.150.0/24\t"), "{out}");
    assert!(out.trim_end().ends_with("\tdefault"), "{out}");
    assert!(err.contains(&dead_line("pod")), "{err}");
    assert_eq!(err.lines().count(), 1, "one line per dead context: {err}");

    let (code, out, _) = run(&fake, &["--contexts", FLEET, "ls", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = &v["error"];
    assert_eq!(e["exit_code"], 1);
    assert_eq!(e["kind"], "engine_unavailable");
    assert_eq!(e["contexts"][0]["context"], "pod");
    assert_eq!(e["contexts"][0]["kind"], "engine_unavailable");
    assert_eq!(e["contexts"][0]["exit_code"], 69);
    assert_eq!(e["partial"][0]["slug"], "demo");
    assert_eq!(e["partial"][0]["context"], "default");
    assert_eq!(e["partial"].as_array().unwrap().len(), 1);
}

#[test]
fn ls_over_answering_contexts_has_a_context_on_each_bottle_and_a_filter_for_it() {
    let mut fake = Fake::new();
    holds_demo(&mut fake, "default");
    // `pod` answers, and holds nothing (unmatched calls exit 0 with no output).
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "ls", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["context"], "default");
    // On a terminal, the table's CONTEXT column comes right after SLUG.
    let (code, table) = crate::cli::in_pty(fake.command(&["--contexts", FLEET, "ls"]));
    assert_eq!(code, 0, "{table}");
    let header = table.lines().next().unwrap_or_default();
    assert!(header.starts_with("SLUG   CONTEXT   STATE"), "{table}");
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("demo   default   running"),
        "{table}"
    );
    let (_, out, _) = run(
        &fake,
        &["--contexts", FLEET, "ls", "--filter", "context=pod", "-q"],
    );
    assert_eq!(out, "");
    let (_, out, _) = run(
        &fake,
        &[
            "--contexts",
            FLEET,
            "ls",
            "--format",
            "{{.Slug}} {{.Context}}",
        ],
    );
    assert_eq!(out, "demo default\n");
    // Without `--contexts` the object has no `context`.
    let mut one = Fake::new();
    holds_demo(&mut one, "*");
    let out = one.bottle(&["ls", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v[0].get("context").is_none(), "{v}");
}

#[test]
fn every_context_dead_is_exit_69() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    dead(&mut fake, "default");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "ls", "--json"]);
    assert_eq!(code, 69, "{err}");
    let v = crate::schema::check("error", &out);
    assert_eq!(v["error"]["exit_code"], 69);
    assert_eq!(v["error"]["contexts"].as_array().unwrap().len(), 2);
    assert!(err.contains(&dead_line("default")) && err.contains(&dead_line("pod")));
    let (code, _, err) = run(&fake, &["--contexts", FLEET, "down", "--all"]);
    assert_eq!(code, 69, "{err}");
    let (code, _, err) = run(
        &fake,
        &["--contexts", FLEET, "up", "demo", "--image", "img"],
    );
    assert_eq!(code, 69, "{err}");
    assert!(err.contains("no context answered"), "{err}");
}

#[test]
fn up_goes_around_a_dead_first_choice_to_the_next_by_score_and_exits_0() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    fake.on(
        "--context default container inspect*",
        0,
        &bundle("running", "x"),
        "",
    );
    absent(&mut fake, "default");
    let (code, out, err) = run(
        &fake,
        &[
            "--contexts",
            FLEET,
            "up",
            "demo",
            "--image",
            "img",
            "-p",
            "8080",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "bottle: context `pod` did not answer; `demo` goes to `default`, the next by placement score"
        ),
        "{err}"
    );
    assert!(err.contains(&dead_line("pod")), "{err}");
    let v = crate::schema::check("up", &out);
    assert_eq!(v["context"], "default");
    assert_eq!(v["action"], "created");
    // Everything `up` created, it created on `default`.
    let creates: Vec<Vec<String>> = fake
        .calls()
        .into_iter()
        .filter(|c| c.iter().any(|a| a == "create" || a == "run"))
        .collect();
    assert!(!creates.is_empty());
    assert!(
        creates.iter().all(|c| c[..2] == ["--context", "default"]),
        "{creates:?}"
    );
}

#[test]
fn up_of_a_bottle_that_exists_on_the_lower_scoring_context_stays_there() {
    let mut fake = Fake::new();
    holds_demo(&mut fake, "default");
    absent(&mut fake, "pod");
    let (code, _, err) = run(
        &fake,
        &["--contexts", "pod,default", "up", "demo", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    // Nothing was made on `pod`, the rule's first choice: the bottle already was on `default`.
    let on_pod: Vec<Vec<String>> = fake
        .calls()
        .into_iter()
        .filter(|c| c[..2] == ["--context", "pod"])
        .collect();
    assert!(on_pod.iter().all(|c| c[2] == "inspect"), "{on_pod:?}");
}

#[test]
fn a_slug_on_two_contexts_is_read_on_the_best_scoring_one_and_the_other_named() {
    let mut fake = Fake::new();
    holds_demo(&mut fake, "default");
    holds_demo(&mut fake, "pod");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "status", "demo", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["context"], "pod");
    assert!(
        err.contains("bottle: `demo` is also on context `default`: acted on `pod`"),
        "{err}"
    );
    // `env` says whose host the addresses are on.
    let (code, out, _) = run(&fake, &["--contexts", FLEET, "env", "demo"]);
    assert_eq!(code, 0);
    assert!(out.contains("export BOTTLE_CONTEXT=pod\n"), "{out}");
    // `down` removes every copy.
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "down", "demo", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let contexts: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["context"].as_str().unwrap())
        .collect();
    assert_eq!(contexts, ["default", "pod"]);
}

#[test]
fn down_with_a_dead_context_removes_on_the_others_names_it_and_exits_1() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    holds_demo(&mut fake, "default");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "down", "demo"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("(context `default`)"), "{out}");
    assert!(err.contains(&dead_line("pod")), "{err}");
    let rm = fake
        .calls()
        .into_iter()
        .any(|c| c[..3] == ["--context", "default", "rm"]);
    assert!(rm, "the bundle on `default` was removed");
    let (code, out, _) = run(&fake, &["--contexts", FLEET, "down", "--all", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["partial"][0]["context"], "default");
    assert_eq!(v["error"]["contexts"][0]["context"], "pod");
}

#[test]
fn a_bad_context_list_is_a_usage_error_and_runs_nothing() {
    for args in [
        &["--contexts", "a,a", "ls"][..],
        &["--contexts", "a,,b", "ls"],
        &["--contexts", "", "ls"],
        &["--contexts", "-x", "ls"],
        &["--contexts", "a b", "ls"],
        &["--contexts", "a", "--context", "b", "ls"],
        &["--contexts", "a", "ls", "--context", "b"],
        &["ls", "--context", "b", "--contexts", "a"],
    ] {
        let fake = Fake::new();
        let (code, _, err) = run(&fake, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(fake.calls().is_empty(), "{args:?}");
    }
    // The environment names them too.
    let fake = Fake::new();
    let out = fake
        .command(&["ls"])
        .env("BOTTLE_CONTEXTS", "a,a")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = fake
        .command(&["ls", "--context", "x"])
        .env("BOTTLE_CONTEXTS", "a")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(fake.calls().is_empty());
}

#[test]
fn a_podman_fleet_names_its_members_as_connections() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let podman = dir.path().join("podman");
    std::fs::write(
        &podman,
        format!("#!/bin/sh\necho \"$@\" >> {}\nexit 0\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&podman, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = crate::fake::bottle_cmd()
        .args([
            "--engine",
            podman.to_str().unwrap(),
            "--contexts",
            "a,b",
            "ls",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(
        seen.lines().any(|l| l.starts_with("--connection a ps")),
        "{seen}"
    );
    assert!(
        seen.lines().any(|l| l.starts_with("--connection b ps")),
        "{seen}"
    );
    assert!(!seen.contains("--context"), "{seen}");
}

#[test]
fn the_spec_file_may_name_the_contexts_up_places_over() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    absent(&mut fake, "default");
    fake.on(
        "--context default container inspect*",
        0,
        &bundle("running", "x"),
        "",
    );
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("bottle.toml");
    std::fs::write(
        &toml,
        "image = \"img\"\ncontexts = [\"default\", \"pod\"]\n",
    )
    .unwrap();
    let out = fake
        .command(&["up", "demo", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("`demo` goes to `default`"), "{err}");
    // `--context` (or `--contexts`) on the command line wins over the file.
    let out = fake
        .command(&["up", "demo", "--context", "pod"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69));
    // A bad list in the file is refused with its place, before anything runs.
    std::fs::write(&toml, "image = \"img\"\ncontexts = [\"a\", \"a\"]\n").unwrap();
    let fresh = Fake::new();
    let out = fresh
        .command(&["up", "demo"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("named twice") && err.contains("line 2"),
        "{err}"
    );
    assert!(fresh.calls().is_empty());
}

#[test]
fn a_state_change_changes_every_copy_and_prints_the_best_scoring_one() {
    let mut fake = Fake::new();
    for context in ["default", "pod"] {
        fake.on(
            &format!("--context {context} container inspect*"),
            0,
            &bundle("exited", "x"),
            "",
        );
        holds_demo(&mut fake, context);
    }
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "stop", "demo", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&v["context"], &v["bundle"]["state"]),
        (&"pod".into(), &"exited".into())
    );
    for context in ["default", "pod"] {
        let stopped = fake
            .calls()
            .into_iter()
            .any(|c| c[..3] == ["--context", context, "stop"]);
        assert!(stopped, "{context}: {:?}", fake.calls());
    }
}

#[test]
fn events_merge_the_contexts_streams_each_line_with_its_context() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    let start = r#"{"status":"start","id":"c1","from":"img","Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"bottle.role":"bundle","bottle.slug":"demo","name":"bot-bottle-sidecars-demo"}},"scope":"local","time":1796612400,"timeNano":1796612400000000000}"#;
    fake.on("--context default events *", 0, &format!("{start}\n"), "");
    fake.on(
        "--context default container inspect*",
        0,
        &bundle("running", "x"),
        "",
    );
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "events", "--json"]);
    // `default`'s stream ended (the fake has no more to say), `pod` never answered.
    assert_eq!(code, 1, "{err}");
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["context"], &first["slug"]),
        (&"default".into(), &"demo".into())
    );
    crate::schema::check("event", out.lines().next().unwrap());
    let last = crate::schema::check("error", out.lines().last().unwrap());
    assert_eq!(last["error"]["contexts"][0]["context"], "pod");
    assert_eq!(err.matches(&dead_line("pod")).count(), 1, "{err}");
}

#[test]
fn a_bottle_not_found_while_a_context_is_dead_says_it_may_be_there() {
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    absent(&mut fake, "default");
    let (code, _, err) = run(&fake, &["--contexts", FLEET, "status", "demo"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no bottle `demo`"), "{err}");
    assert!(
        err.contains("context `pod` did not answer, and may hold it"),
        "{err}"
    );
    assert!(err.contains(&dead_line("pod")), "{err}");
}

/// The library's `Fleet`, as a launcher calls it: per-context results, where `up` went and what
/// it skipped, and a cancel before the call that starts nothing.
#[test]
fn the_library_fleet_says_per_context_what_answered_and_where_up_went() {
    use bottle::{Bottles, Engine, ErrorKind, Fleet, Slug, Spec};
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    absent(&mut fake, "default");
    fake.on(
        "--context default container inspect*",
        0,
        &bundle("running", "x"),
        "",
    );
    let bottles = Bottles::new(Engine::new(fake.program()).unwrap());
    assert_eq!(
        Fleet::new(&bottles, &["a", "a"]).unwrap_err().kind(),
        &ErrorKind::Invalid(bottle::Invalid::Context)
    );
    let fleet = Fleet::new(&bottles, &["default", "pod"]).unwrap();
    let listed = fleet.ls();
    assert_eq!(
        listed.answered().map(|(c, _)| c).collect::<Vec<_>>(),
        ["default"]
    );
    assert_eq!(listed.dead().map(|(c, _)| c).collect::<Vec<_>>(), ["pod"]);
    assert!(!listed.all_dead());
    let slug: Slug = "demo".parse().unwrap();
    let spec = Spec::builder("img").build().unwrap();
    let up = fleet.up(&slug, &spec).unwrap();
    assert_eq!(up.context, "default");
    assert_eq!(up.skipped, ["pod"]);
    assert_eq!(up.outcome.bottle.context.as_deref(), Some("default"));
    assert_eq!(up.dead.len(), 1);
    // A cancel made before a call starts it nothing, and is spent with it.
    let calls = fake.calls().len();
    bottles.cancel_token().cancel();
    let r = fleet.up(&slug, &spec);
    assert_eq!(r.unwrap_err().kind(), &ErrorKind::Interrupted);
    assert_eq!(fake.calls().len(), calls, "nothing ran after the cancel");
    // Spent: the next call runs.
    assert_eq!(fleet.up(&slug, &spec).unwrap().context, "default");
}

/// `up --json` over a fleet said nothing on stdout of the contexts it did not ask: a placement
/// that went around a dead context, or a bottle converged while another did not answer, looked
/// like a run where every context answered (fleetup, item 1).
#[test]
fn a_fleet_up_json_object_did_not_say_which_contexts_were_skipped_or_unanswered() {
    // Placed around the dead first choice: skipped and unanswered both name it.
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    fake.on(
        "--context default container inspect*",
        0,
        &bundle("running", "x"),
        "",
    );
    absent(&mut fake, "default");
    let args = [
        "--contexts",
        FLEET,
        "up",
        "demo",
        "--image",
        "img",
        "--json",
    ];
    let (code, out, err) = run(&fake, &args);
    assert_eq!(code, 0, "{err}");
    let v = crate::schema::check("up", &out);
    assert_eq!(v["skipped"], serde_json::json!(["pod"]), "{v}");
    assert_eq!(v["unanswered"], serde_json::json!(["pod"]), "{v}");

    // Converged where it is while the rule's first choice did not answer: nothing skipped (the
    // bottle did not move), but the dead context is unanswered.
    let mut fake = Fake::new();
    dead(&mut fake, "pod");
    holds_demo(&mut fake, "default");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "up", "demo", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = crate::schema::check("up", &out);
    assert_eq!(v["context"], "default");
    assert_eq!(v["skipped"], serde_json::json!([]), "{v}");
    assert_eq!(v["unanswered"], serde_json::json!(["pod"]), "{v}");

    // Every context answered: both present, empty; several slugs: on each object.
    let mut fake = Fake::new();
    holds_demo(&mut fake, "default");
    absent(&mut fake, "pod");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "up", "demo", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = crate::schema::check("up", &out);
    assert_eq!(
        (&v["skipped"], &v["unanswered"]),
        (&serde_json::json!([]), &serde_json::json!([])),
        "{v}"
    );
    // Several slugs: on each up object, in the slugs' order; a failed one's `{slug, error}` has
    // neither (`f2` is nowhere, and `up` with no spec makes nothing).
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "up", "demo", "f2", "--json"]);
    assert_eq!(code, 1, "{err}");
    let v = crate::schema::check("up", &out);
    assert_eq!(
        (&v[0]["slug"], &v[0]["unanswered"], &v[0]["skipped"]),
        (
            &"demo".into(),
            &serde_json::json!([]),
            &serde_json::json!([])
        ),
        "{v}"
    );
    assert_eq!(v[1]["slug"], "f2");
    assert!(v[1].get("unanswered").is_none(), "{v}");

    // Without `--contexts`, the object has neither.
    let mut one = Fake::new();
    holds_demo(&mut one, "*");
    let out = one.bottle(&["up", "demo", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.get("skipped").is_none() && v.get("unanswered").is_none(),
        "{v}"
    );
}

/// The chosen context answered the look and died before the work: exit 69 said "no context
/// answered", which was not so (fleetup, item 2). Exit 1, the context named, and nothing tried
/// on another context (the dead one may hold a half-made bottle).
#[test]
fn a_fleet_up_whose_chosen_context_died_after_the_look_exited_69() {
    let mut fake = Fake::new();
    // `pod`, the first choice for `demo`, answers the look (absent), then nothing else.
    absent(&mut fake, "pod");
    dead(&mut fake, "pod");
    absent(&mut fake, "default");
    let (code, _, err) = run(
        &fake,
        &["--contexts", FLEET, "up", "demo", "--image", "img"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("context `pod`"), "{err}");
    let (code, out, err) = run(
        &fake,
        &[
            "--contexts",
            FLEET,
            "up",
            "demo",
            "--image",
            "img",
            "--json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v = crate::schema::check("error", &out);
    assert_eq!(v["error"]["exit_code"], 1, "{v}");
    assert_eq!(v["error"]["kind"], "engine_failed", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("context `pod`: "),
        "{v}"
    );
    let on_default: Vec<Vec<String>> = fake
        .calls()
        .into_iter()
        .filter(|c| c[..2] == ["--context", "default"])
        .collect();
    assert!(
        on_default.iter().all(|c| c[2] == "inspect"),
        "{on_default:?}"
    );
}

/// `ls -q` printed a slug once per context that holds it; its lines feed `down`, which acts on
/// every context anyway (fleetup, item 3).
#[test]
fn ls_quiet_printed_a_slug_held_by_two_contexts_twice() {
    let mut fake = Fake::new();
    holds_demo(&mut fake, "default");
    holds_demo(&mut fake, "pod");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "ls", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "demo\n");
    let (code, out, err) = run(&fake, &["--contexts", FLEET, "ls", "-q", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "[\"demo\"]\n");
    // The table still shows both rows.
    let (_, out, _) = run(&fake, &["--contexts", FLEET, "ls"]);
    assert_eq!(out.lines().count(), 2, "{out}");
}
