//! Whole command sequences against the fake engine, snapshotted, for every lifecycle case: what
//! bottle runs, in which order, and how many commands each path costs.

use crate::fake::{Fake, Stderr, container_json, network_json, redact_run_id, with_env};

pub(crate) const NET: &str = "bot-bottle-bundle-demo";
pub(crate) const BUNDLE: &str = "bot-bottle-sidecars-demo";
pub(crate) const SUBNET: &str = "10.213.150.0/24";
const UP: &[&str] = &[
    "up",
    "demo",
    "--image",
    "img",
    "-p",
    "8080",
    "-e",
    "TOKEN=hunter2",
    "--json",
];

/// The `bottle.spec` digest `up` will use for `args`, read from `plan --json`.
fn digest(fake: &Fake, args: &[&str]) -> String {
    let mut plan = vec!["plan"];
    plan.extend(&args[1..]);
    let out = fake.bottle(&plan);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let at = text.find("bottle.spec=").unwrap() + "bottle.spec=".len();
    text[at..at + 64].to_string()
}

pub(crate) fn network(containers: &[(&str, &str)]) -> String {
    network_json(
        NET,
        "net1",
        SUBNET,
        &[
            ("bottle.role", "network"),
            ("bottle.slug", "demo"),
            ("bottle.subnet", SUBNET),
        ],
        containers,
    )
}

/// Our bundle, as the engine shows it after `up` with [`UP`]'s spec.
fn bundle(digest: &str, state: &str) -> String {
    let json = container_json(
        BUNDLE,
        "c1",
        state,
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", digest),
        ],
        NET,
        "10.213.150.2",
        &[(8080, 49153)],
    );
    with_env(
        &json,
        &[
            "PATH=/bin",
            "TOKEN=hunter2",
            "BOT_BOTTLE_SIDECAR_DAEMONS=egress,pipelock",
        ],
    )
}

/// Exit code, stdout, and stderr with the `bottle.run` label redacted.
fn run(fake: &Fake, args: &[&str]) -> (i32, String, String) {
    let out = fake.bottle(args);
    let err = String::from_utf8(out.stderr).unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        redact_run_id(&err),
    )
}

/// What `network create` prints: the new network's ID.
const NEW_NET_ID: &str = "7335ebb741b72fdeaefe2c905466ad670017eb9804497a1b9b1991d5b6ff7092\n";

/// `run --pull never` of a missing image (CLI 20.10; no container is created).
const NO_SUCH_IMAGE: &str =
    "docker: Error response from daemon: No such image: img:latest.\nSee 'docker run --help'.\n";
/// A `run` that failed without printing an ID: the rollback must look the bundle up by name.
const RUN_FAILED: &str = "docker: Error response from daemon: failed to create task for container: OCI runtime create failed.\n";

const EXISTS: &str =
    "Error response from daemon: network with name bot-bottle-bundle-demo already exists\n";

#[test]
fn fresh_up_runs_four_commands_and_hides_the_secret() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript());
    assert_eq!(
        fake.calls().len(),
        4,
        "budget: create, the look at the bindings (`ps`, listing nothing), run, read back"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["bundle"]["ip"], "10.213.150.2");
    assert_eq!(v["ports"][0]["host_port"], 49153);
    // The secret went through an in-memory file at /dev/fd/3, and nowhere else.
    let (link, content) = fake.env_file_seen(3).expect("run had an env-file");
    assert!(link.starts_with("pipe:["), "{link}");
    assert_eq!(content, "TOKEN=hunter2\n");
    let run_argv = &fake.calls()[2];
    let path = &run_argv[run_argv.iter().position(|a| a == "--env-file").unwrap() + 1];
    assert_eq!(path, "/dev/fd/3");
    assert!(!fake.calls().concat().iter().any(|a| a.contains("hunter2")));
    assert!(!out.contains("hunter2") && !err.contains("hunter2"));
}

#[test]
fn re_up_with_the_same_spec_keeps_the_bundle_in_two_commands() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once("network create*", 1, "", EXISTS);
    fake.on(
        "inspect*",
        0,
        &(bundle(&d, "running") + &network(&[("c1", BUNDLE)])),
        "",
    );
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript());
    assert_eq!(fake.calls().len(), 2);
    assert!(out.contains("\"state\":\"running\""));
}

#[test]
fn re_up_with_a_changed_spec_replaces_the_bundle() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once("network create*", 1, "", EXISTS);
    fake.on(
        "inspect*",
        0,
        &(bundle("0ld", "running") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript());
}

/// A stopped or paused bundle with the same spec is started again, not replaced.
#[test]
fn re_up_of_a_stopped_or_paused_bundle_starts_it() {
    for (state, verb) in [("exited", "start"), ("paused", "unpause")] {
        let mut fake = Fake::new();
        let d = digest(&fake, UP);
        fake.once("network create*", 1, "", EXISTS);
        fake.on("inspect*", 0, &(bundle(&d, state) + &network(&[])), "");
        fake.on("container inspect*", 0, &bundle(&d, "running"), "");
        let (code, out, err) = run(&fake, UP);
        assert_eq!(code, 0, "{err}");
        let calls = fake.transcript();
        assert!(calls.contains(&format!("docker {verb} c1\n")), "{calls}");
        assert!(!calls.contains("docker rm"), "{calls}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["action"], "started", "{out}");
    }
}

#[test]
fn up_over_a_foreign_network_touches_nothing() {
    let mut fake = Fake::new();
    fake.once("network create*", 1, "", EXISTS);
    fake.on(
        "inspect*",
        1,
        &network_json(NET, "n9", "10.1.0.0/24", &[], &[]),
        "Error: No such object: bot-bottle-sidecars-demo\n",
    );
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 1);
    insta::assert_snapshot!(fake.transcript());
    assert!(err.contains("lacks bottle's labels"), "{err}");
}

#[test]
fn up_over_a_foreign_bundle_touches_nothing_and_rolls_back_its_network() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NEW_NET_ID, "");
    fake.once("run *", 125, "", "docker: Error response from daemon: Conflict. The container name \"/bot-bottle-sidecars-demo\" is already in use by container \"f00\". You have to remove (or rename) that container to be able to reuse that name.\nSee 'docker run --help'.\n");
    let foreign = container_json(BUNDLE, "f00", "running", &[], "bridge", "172.17.0.5", &[]);
    fake.on("inspect*", 0, &(foreign.clone() + &network(&[])), "");
    // The rollback looks for a bundle this run made, finds the foreign one, and leaves it.
    fake.on("ps *", 0, "f00\tbot-bottle-sidecars-demo\n", "");
    fake.on("container inspect*", 0, &foreign, "");
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!(fake.transcript());
    assert!(
        !fake.transcript().contains("docker rm "),
        "removed the foreign bundle"
    );
    assert!(
        err.contains("container `bot-bottle-sidecars-demo` exists but lacks bottle's labels"),
        "{err}"
    );
}

#[test]
fn up_moves_past_two_overlapping_candidates() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    let overlap =
        "Error response from daemon: Pool overlaps with other one on this address space\n";
    fake.once("network create*", 1, "", overlap);
    fake.on(
        "network ls*",
        0,
        "n1\tother-a\nn2\tother-b\nn3\tbridge\n",
        "",
    );
    fake.on(
        "network inspect*",
        0,
        &(network_json("other-a", "n1", "10.213.150.0/24", &[], &[])
            + &network_json("other-b", "n2", "10.213.151.0/24", &[], &[])
            + &network_json("bridge", "n3", "172.17.0.0/16", &[], &[])),
        "",
    );
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript());
    assert!(out.contains("10.213.152.0/24"), "{out}");
}

#[test]
fn a_failed_run_is_rolled_back() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NEW_NET_ID, "");
    fake.once(
        "run *",
        125,
        // Engines up to 24 create the container, print its ID, then fail to start it.
        "d04c8e2d730bd96d8190cb3a0745f745aa97bdb2234cf9eefcbde1ee9b58ac6e\n",
        "docker: Error response from daemon: Address already in use.\n",
    );
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 1);
    insta::assert_snapshot!(fake.transcript());
    // The first line is the warning about `-e TOKEN=hunter2` on the command line (see
    // `secrets::a_value_on_bottles_command_line_stayed_in_its_argv`).
    let (warning, err) = err.trim_end().split_once('\n').unwrap();
    assert!(
        warning.starts_with("bottle: warning: `-e KEY=VALUE`"),
        "{warning}"
    );
    insta::assert_snapshot!(err, @"bottle: `docker run` failed (exit status: 125): docker: Error response from daemon: Address already in use.; rolled back what this run had created: container `bot-bottle-sidecars-demo`, network `bot-bottle-bundle-demo`");
}

#[test]
fn daemon_unreachable_is_exit_69() {
    let mut fake = Fake::new();
    let down = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n";
    fake.on("*", 1, "", down);
    for args in [UP, &["down", "demo"], &["status", "demo"], &["ls"]] {
        let (code, _, err) = run(&fake, args);
        assert_eq!(code, 69, "{args:?}: {err}");
        assert!(err.contains("Cannot connect to the Docker daemon"), "{err}");
    }
}

/// `down` in each engine's wording: full, half-built, absent, and racing another `down`.
#[test]
fn down_in_every_wording() {
    struct Wording {
        name: &'static str,
        bundle_missing: &'static str,
        both_missing: &'static str,
        network_rm_missing: &'static str,
        network_inspect_missing: &'static str,
    }
    let wordings = [
        Wording {
            name: "docker-20.10",
            bundle_missing: "Error: No such object: bot-bottle-sidecars-demo\n",
            both_missing: "Error: No such object: bot-bottle-sidecars-demo\nError: No such object: bot-bottle-bundle-demo\n",
            network_rm_missing: "Error: No such network: net1\n",
            network_inspect_missing: "Error: No such network: net1\n",
        },
        Wording {
            name: "docker-28",
            bundle_missing: "Error: No such object: bot-bottle-sidecars-demo\n",
            both_missing: "Error: No such object: bot-bottle-sidecars-demo\nError: No such object: bot-bottle-bundle-demo\n",
            network_rm_missing: "Error response from daemon: network net1 not found\nexit status 1\n",
            network_inspect_missing: "Error response from daemon: network net1 not found\n",
        },
        Wording {
            name: "podman-5",
            bundle_missing: "Error: no such object: \"bot-bottle-sidecars-demo\"\n",
            both_missing: "Error: no such object: \"bot-bottle-sidecars-demo\"\nError: no such object: \"bot-bottle-bundle-demo\"\n",
            network_rm_missing: "Error: unable to find network with name or ID net1: network not found\n",
            network_inspect_missing: "Error: network net1: unable to find network with name or ID net1: network not found\n",
        },
    ];
    let mut all = String::new();
    for w in &wordings {
        let mut cases = Vec::new();
        // Full.
        let mut fake = Fake::new();
        fake.on(
            "inspect*",
            0,
            &(bundle("d", "running") + &network(&[("c1", BUNDLE)])),
            "",
        );
        cases.push(("full", fake));
        // Half-built: the network only.
        let mut fake = Fake::new();
        fake.on("inspect*", 1, &network(&[]), w.bundle_missing);
        cases.push(("half-built", fake));
        // Absent.
        let mut fake = Fake::new();
        fake.on("inspect*", 1, "\n", w.both_missing);
        cases.push(("absent", fake));
        // Another `down` removed the network between our look and our `network rm`.
        let mut fake = Fake::new();
        fake.on("inspect*", 1, &network(&[]), w.bundle_missing);
        fake.on("network rm*", 1, "", w.network_rm_missing);
        fake.on("network inspect*", 1, "[]\n", w.network_inspect_missing);
        cases.push(("raced", fake));
        for (case, fake) in &cases {
            let (code, _, err) = run(fake, &["down", "demo"]);
            assert_eq!(code, 0, "{} {case}: {err}", w.name);
            let calls = fake.calls();
            // The budget is 3; only the race costs a confirming look.
            assert!(
                calls.len() <= 3 + usize::from(*case == "raced"),
                "{} {case}: {calls:?}",
                w.name
            );
            all.push_str(&format!("## {} {case}\n{}", w.name, fake.transcript()));
        }
    }
    insta::assert_snapshot!(all);
}

#[test]
fn down_refuses_a_network_with_foreign_containers_before_removing_anything() {
    let mut fake = Fake::new();
    fake.on(
        "inspect*",
        0,
        &(bundle("d", "running") + &network(&[("c1", BUNDLE), ("x9", "someone-else")])),
        "",
    );
    // What is on the network is judged by its labels (issue 14, item 7): this one has none.
    let foreign = container_json(
        "someone-else",
        "x9",
        "running",
        &[],
        NET,
        "10.213.150.9",
        &[],
    );
    fake.on("container inspect*", 0, &foreign, "");
    let (code, _, err) = run(&fake, &["down", "demo"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(fake.transcript());
    insta::assert_snapshot!(err.trim_end(), @"bottle: network `bot-bottle-bundle-demo` still has containers that bottle did not start: `someone-else`; detach them (e.g. `docker network disconnect bot-bottle-bundle-demo someone-else`) and run `down` again");
}

#[test]
fn down_refuses_foreign_resources_and_touches_nothing() {
    let mut fake = Fake::new();
    fake.on(
        "inspect*",
        0,
        &(container_json(
            BUNDLE,
            "f00",
            "running",
            &[("bottle.slug", "other")],
            NET,
            "10.213.150.2",
            &[],
        ) + &network(&[])),
        "",
    );
    let (code, _, err) = run(&fake, &["down", "demo"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
}

#[test]
fn status_port_ls_and_gc() {
    let mut fake = Fake::new();
    fake.on(
        "inspect --format*",
        0,
        &(bundle("d", "running") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle("d", "running"), "");
    let (code, out, err) = run(&fake, &["status", "demo", "--json"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out.trim_end(), @r#"{"bundle":{"image":"img","ip":"10.213.150.2","limits":{"cpus":null,"memory":null,"pids_limit":null},"name":"bot-bottle-sidecars-demo","state":"running"},"created":null,"expires":null,"host_ip":"127.0.0.1","network":{"gateway":"10.213.150.1","name":"bot-bottle-bundle-demo","subnet":"10.213.150.0/24"},"ports":[{"container_port":8080,"host_ip":"127.0.0.1","host_port":49153,"protocol":"tcp"}],"run":null,"slug":"demo"}"#);
    let (code, out, _) = run(&fake, &["port", "demo", "8080"]);
    assert_eq!((code, out.as_str()), (0, "127.0.0.1:49153\n"));
    let (code, _, err) = run(&fake, &["port", "demo", "9999"]);
    assert_eq!(code, 1);
    assert!(err.contains("published: 8080"), "{err}");

    let mut fake = Fake::new();
    fake.on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "");
    fake.on(
        "network ls *",
        0,
        "net1\tbot-bottle-bundle-demo\nnet2\tbot-bottle-bundle-gone\n",
        "",
    );
    let gone = network_json(
        "bot-bottle-bundle-gone",
        "net2",
        "10.213.7.0/24",
        &[
            ("bottle.role", "network"),
            ("bottle.slug", "gone"),
            ("bottle.subnet", "10.213.7.0/24"),
        ],
        &[],
    );
    fake.on(
        "inspect*",
        0,
        &(bundle("d", "exited") + &network(&[("c1", BUNDLE)]) + &gone),
        "",
    );
    let (code, out, err) = run(&fake, &["ls"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r"
    demo	exited	10.213.150.0/24	10.213.150.2	img	127.0.0.1:49153->8080/tcp	-
    gone	missing	10.213.7.0/24	10.213.7.2	-	-	-
    ");
    // One bottle at a time, so the transcript's order is the slugs' order.
    let (code, out, err) = run(&fake, &["gc", "--dry-run", "--parallel", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !fake.transcript().contains(" rm "),
        "dry run removed something"
    );
    let (code, out2, err) = run(&fake, &["gc", "--parallel", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.replace("would remove", "removed"), out2);
    insta::assert_snapshot!(fake.transcript());
}

/// With 32 healthy bottles `ls` ran 3 engine commands but `gc --dry-run` 35 (issue 15): on a
/// local engine `gc` looked at every listed bottle again under its lock. It looks again only at
/// what the listing shows it may remove: here one leftover among 32 healthy bottles.
#[test]
fn gc_inspected_every_healthy_bottle_again() {
    const HEALTHY: usize = 32;
    let mut fake = Fake::new();
    let (mut ps, mut nets, mut objects) = (String::new(), String::new(), String::new());
    for i in 0..HEALTHY {
        let (slug, subnet) = (format!("h{i}"), format!("10.213.{i}.0/24"));
        let (name, net) = (
            format!("bot-bottle-sidecars-{slug}"),
            format!("bot-bottle-bundle-{slug}"),
        );
        let (cid, nid) = (format!("c{i}"), format!("n{i}"));
        ps += &format!("{cid}\t{name}\n");
        nets += &format!("{nid}\t{net}\n");
        let labels = [
            ("bottle.role", "bundle"),
            ("bottle.slug", slug.as_str()),
            ("bottle.spec", "d"),
        ];
        objects += &container_json(&name, &cid, "running", &labels, &net, "10.213.0.2", &[]);
        let labels = [
            ("bottle.role", "network"),
            ("bottle.slug", slug.as_str()),
            ("bottle.subnet", subnet.as_str()),
        ];
        objects += &network_json(&net, &nid, &subnet, &labels, &[(&cid, &name)]);
    }
    let gone = network_json(
        "bot-bottle-bundle-gone",
        "net2",
        "10.213.200.0/24",
        &[
            ("bottle.role", "network"),
            ("bottle.slug", "gone"),
            ("bottle.subnet", "10.213.200.0/24"),
        ],
        &[],
    );
    fake.on("ps *", 0, &ps, "");
    fake.on(
        "network ls *",
        0,
        &(nets + "net2\tbot-bottle-bundle-gone\n"),
        "",
    );
    // The look under the lock at the leftover: its network alone (no bundle by that name).
    fake.on(
        "inspect --format {{json .}} bot-bottle-sidecars-gone bot-bottle-bundle-gone",
        1,
        &gone,
        "Error: No such object: bot-bottle-sidecars-gone\n",
    );
    fake.on("inspect *", 0, &(objects + &gone), "");
    // A local engine (no DOCKER_HOST), so `gc` takes its locks and looks again under them.
    let runtime = tempfile::tempdir().unwrap();
    let gc = |args: &[&str]| {
        let out = fake
            .command(args)
            .env_remove("DOCKER_HOST")
            .env("XDG_RUNTIME_DIR", runtime.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        String::from_utf8(out.stdout).unwrap()
    };
    let out = gc(&["gc", "--dry-run"]);
    assert!(out.contains("bot-bottle-bundle-gone"), "{out}");
    let calls = fake.calls();
    assert_eq!(calls.len(), 3 + 1, "listing, one look: {calls:#?}");
    let out = gc(&["gc"]);
    assert!(out.contains("bot-bottle-bundle-gone"), "{out}");
    let calls = fake.calls().split_off(4);
    assert_eq!(
        calls.len(),
        3 + 1 + 1,
        "listing, one look, `network rm`: {calls:#?}"
    );
    assert_eq!(calls[4], ["network", "rm", "net2"]);
}

/// A secret never shows, even when the engine echoes it back in an error, and `--verbose` and
/// `plan` never show it either. The env-file is gone after a failure too.
#[test]
fn secrets_stay_hidden_on_every_path() {
    let mut fake = Fake::new();
    fake.once(
        "run *",
        125,
        "",
        "docker: Error response from daemon: bad env-file line: TOKEN=hunter2\n",
    );
    let mut args = UP.to_vec();
    args.push("--verbose");
    let (code, out, err) = run(&fake, &args);
    assert_eq!(code, 1);
    assert!(err.contains("TOKEN=***"), "{err}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{err}"
    );
    assert!(
        err.contains("+ docker run"),
        "--verbose echoes commands: {err}"
    );
    let (link, _) = fake.env_file_seen(3).expect("run had an env-file");
    assert!(link.starts_with("pipe:["), "{link}");
    for args in [
        &["plan", "demo", "-e", "TOKEN=hunter2"][..],
        &["plan", "demo", "-e", "TOKEN=hunter2", "--json"],
    ] {
        let (code, out, err) = run(&fake, args);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains("hunter2"), "{out}");
    }
}

/// Engines before 25 allow two networks with one name; a racer on another host can make one.
/// `run` then says the name is ambiguous: keep the lowest ID, remove the empty duplicate, run again.
#[test]
fn a_duplicate_network_from_a_racer_is_removed() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once("run *", 125, "", "docker: Error response from daemon: network bot-bottle-bundle-demo is ambiguous (2 matches found based on name).\nSee 'docker run --help'.\n");
    fake.on(
        "network ls *",
        0,
        "net1\tbot-bottle-bundle-demo\nnet2\tbot-bottle-bundle-demo\n",
        "",
    );
    let twin = network(&[]).replace("net1", "net2");
    // What Engine 20.10 answers an untyped inspect of an ambiguous name.
    fake.on(
        "inspect *",
        1,
        "",
        "Error response from daemon: 2 matches found based on name: network bot-bottle-bundle-demo is ambiguous\n",
    );
    fake.on("network inspect*", 0, &(network(&[]) + &twin), "");
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript());
}

/// Run [`UP`], which must fail with exit 1 without ever running `forbidden` (its rollback must not
/// remove what it did not make); returns the transcript.
#[track_caller]
fn failed_up_never_running(fake: &Fake, forbidden: &str) -> String {
    let (code, _, err) = run(fake, UP);
    assert_eq!(code, 1, "{err}");
    let calls = fake.transcript();
    assert!(
        !calls.contains(forbidden),
        "ran `{forbidden}` on something this run did not make:\n{calls}"
    );
    calls
}

/// The rollback of a failed `run` never removes a container it did not make: here the name is held
/// by an unlabelled container, and the engine failed the `run` before it noticed the conflict.
#[test]
fn a_failed_run_never_removes_a_foreign_container() {
    let mut fake = Fake::new();
    fake.once("run *", 125, "", RUN_FAILED);
    fake.once("network create*", 0, NEW_NET_ID, "");
    // The rollback's look by name finds the unlabelled container that holds the name.
    let foreign = container_json(BUNDLE, "f00", "exited", &[], "bridge", "", &[]);
    fake.on("ps *", 0, "f00\tbot-bottle-sidecars-demo\n", "");
    fake.on("container inspect*", 0, &foreign, "");
    insta::assert_snapshot!(failed_up_never_running(&fake, "docker rm "));
}

/// An overlap in wording bottle does not know is still an overlap: the engine's networks say so.
#[test]
fn an_overlap_in_unknown_words_is_decided_by_the_subnets() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once(
        "network create*",
        1,
        "",
        "Error response from daemon: some future wording\n",
    );
    fake.on("network ls*", 0, "n1\tother-a\n", "");
    fake.on(
        "network inspect*",
        0,
        &network_json("other-a", "n1", "10.213.150.0/25", &[], &[]),
        "",
    );
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("10.213.151.0/24"), "{out}");
    insta::assert_snapshot!(fake.transcript());

    // The same words with no overlapping network are a real error, reported as such.
    let mut fake = Fake::new();
    fake.once(
        "network create*",
        1,
        "",
        "Error response from daemon: some future wording\n",
    );
    fake.on("network ls*", 0, "n1\tother-a\n", "");
    fake.on(
        "network inspect*",
        0,
        &network_json("other-a", "n1", "10.9.0.0/24", &[], &[]),
        "",
    );
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 1);
    assert!(err.contains("some future wording"), "{err}");
    assert_eq!(fake.calls().len(), 3, "{}", fake.transcript());
}

/// A signal while waiting for another bottle process's lock gives up at once with exit 130 and
/// runs nothing, even under `down`, which otherwise finishes what it began.
#[test]
fn a_signal_while_waiting_for_the_lock_changes_nothing() {
    let fake = Fake::new();
    let runtime = tempfile::tempdir().unwrap();
    let lock_dir = runtime.path().join("bottle");
    std::fs::create_dir(&lock_dir).unwrap();
    let held = std::fs::File::create(lock_dir.join("bot-bottle-demo.lock")).unwrap();
    held.lock().unwrap();
    for args in [&["down", "demo"][..], UP] {
        let mut cmd = fake.command(args);
        // A local engine (the fake ignores DOCKER_HOST), so bottle takes the per-slug lock.
        cmd.env_remove("DOCKER_HOST")
            .env("XDG_RUNTIME_DIR", runtime.path());
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let waiting = Stderr::until(
            &mut child,
            "waiting for another bottle process (bot-bottle-demo)",
        );
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        let err = waiting.all();
        assert_eq!(out.status.code(), Some(130), "{args:?}: {err}");
        // Text mode says it on stderr; `--json` (UP) prints the error object on stdout.
        let said = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
        assert!(said.contains("nothing was changed"), "{args:?}: {said}");
    }
    assert!(fake.calls().is_empty(), "{}", fake.transcript());
}

/// A create whose result bottle did not see (no ID printed, as if a signal cut it short) is looked
/// for by name, and only an object with this run's `bottle.run` label is removed: here the network
/// found is an older one of this bottle (a half-built bottle on a remote engine), so it stays.
#[test]
fn a_pending_rollback_removes_only_this_runs_objects() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, "", "");
    fake.once("run *", 125, "", RUN_FAILED);
    fake.on("network ls *", 0, "net1\tbot-bottle-bundle-demo\n", "");
    let older = network(&[]).replace(
        "\"bottle.role\"",
        "\"bottle.run\":\"0123456789abcdef\",\"bottle.role\"",
    );
    fake.on("network inspect*", 0, &older, "");
    insta::assert_snapshot!(failed_up_never_running(&fake, "docker network rm "));
}

/// With `[build]`, a missing image is built (its progress on stderr, never on stdout) and the run
/// tried again; with the image present this costs nothing extra.
#[test]
fn a_missing_image_is_built_from_the_build_section() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bottle.toml");
    std::fs::write(&config, "image = \"img\"\n[build]\ncontext = \"bundle\"\n").unwrap();
    let config = config.to_str().unwrap();
    let mut fake = Fake::new();
    let d = digest(&fake, &["up", "demo", "--config", config]);
    fake.once("run *", 125, "", NO_SUCH_IMAGE);
    fake.on(
        "build *",
        0,
        "Step 1/1 : FROM scratch\nSuccessfully tagged img:latest\n",
        "",
    );
    let b = bundle(&d, "running").replace("TOKEN=hunter2", "X=1");
    fake.on("container inspect*", 0, &b, "");
    let (code, out, err) = run(&fake, &["up", "demo", "--config", config, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Successfully tagged"),
        "build progress belongs on stderr: {err}"
    );
    assert!(
        !out.contains("Successfully tagged"),
        "stdout is the bottle object only: {out}"
    );
    let calls = fake
        .transcript()
        .replace(dir.path().to_str().unwrap(), "$CONFIG_DIR");
    insta::assert_snapshot!(calls);
}

/// A bundle that dies right after start after printing long lines: its logs are quoted with the
/// same cap as engine stderr, and masked (issue 8: a 303 KB error before).
#[test]
fn a_bundle_that_dies_is_quoted_with_the_stderr_cap() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.on("container inspect*", 0, &bundle(&d, "exited"), "");
    fake.on_sh(
        "logs *",
        "i=0; while [ $i -lt 40 ]; do head -c 8000 /dev/zero | tr '\\0' x; echo ' hunter2'; i=$((i+1)); done",
    );
    let (code, _, err) = run(&fake, UP);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("right after start"), "{err}");
    assert!(err.len() < 3000, "{} bytes", err.len());
    assert!(!err.contains("hunter2"), "the secret was quoted");
}

/// Two `down`s racing without a lock (a remote engine): the second `rm` hears "removal already in
/// progress". That is judged by what the container is now: once it is gone, `down` goes on.
#[test]
fn a_removal_already_in_progress_is_waited_for() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.on(
        "inspect *",
        0,
        &(bundle(&d, "running") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on(
        "rm *",
        1,
        "",
        "Error response from daemon: removal of container c1 is already in progress\n",
    );
    fake.once("container inspect*", 0, &bundle(&d, "removing"), "");
    fake.on(
        "container inspect*",
        1,
        "[]\n",
        "Error: No such container: c1\n",
    );
    let (code, _, err) = run(&fake, &["down", "demo"]);
    assert_eq!(code, 0, "{err}");
    let calls = fake.transcript();
    assert!(calls.contains("docker network rm net1"), "{calls}");
}

/// Five `down`s racing without locks (CLI 28.2 -> Engine 20.10, a loaded machine): a `down`
/// failed on "removal of container … is already in progress" because the look right after the
/// refusal showed the container still `running` (the racer was still killing it), not
/// `removing`. A removal in progress is waited for whatever state the container shows, until it
/// is gone.
#[test]
fn a_removal_in_progress_of_a_container_not_yet_shown_removing_is_waited_for() {
    for state in ["running", "exited"] {
        let mut fake = Fake::new();
        let d = digest(&fake, UP);
        fake.on(
            "inspect *",
            0,
            &(bundle(&d, "running") + &network(&[("c1", BUNDLE)])),
            "",
        );
        fake.on(
            "rm *",
            1,
            "",
            "Error response from daemon: removal of container c1 is already in progress\n",
        );
        fake.once("container inspect*", 0, &bundle(&d, state), "");
        fake.once("container inspect*", 0, &bundle(&d, "removing"), "");
        fake.on(
            "container inspect*",
            1,
            "[]\n",
            "Error response from daemon: No such container: c1\n",
        );
        let (code, _, err) = run(&fake, &["down", "demo"]);
        assert_eq!(code, 0, "{state}: {err}");
        let calls = fake.transcript();
        assert!(calls.contains("docker network rm net1"), "{state}: {calls}");
    }
}

/// Concurrent `down`s: the daemon looked the network up, then a racing `down` deleted it before
/// this `network rm` did, and libnetwork answered "unknown network … id …". Confirmed gone by a
/// look by ID, that is success.
#[test]
fn a_network_a_racing_down_removed_first_is_gone() {
    let mut fake = Fake::new();
    fake.on(
        "inspect*",
        1,
        &network(&[]),
        "Error: No such object: bot-bottle-sidecars-demo\n",
    );
    fake.on(
        "network rm*",
        1,
        "",
        "Error response from daemon: error while removing network: unknown network bot-bottle-bundle-demo id net1\n",
    );
    fake.on(
        "network inspect*",
        1,
        "[]\n",
        "Error response from daemon: network net1 not found\n",
    );
    let (code, _, err) = run(&fake, &["down", "demo"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript(), @r"
    docker inspect --format '{{json .}}' bot-bottle-sidecars-demo bot-bottle-bundle-demo
    docker network rm net1
    docker network inspect --format '{{json .}}' net1
    ");
}

/// Concurrent `down`s: `network rm` was refused as in use while another `down`'s removal of the
/// bundle still held its endpoint; by the look after it, nothing was attached. Tried again, not
/// reported as an error.
#[test]
fn a_network_refused_in_use_that_is_empty_by_the_look_is_removed() {
    let mut fake = Fake::new();
    fake.on(
        "inspect*",
        1,
        &network(&[]),
        "Error: No such object: bot-bottle-sidecars-demo\n",
    );
    fake.once(
        "network rm*",
        1,
        "",
        "Error response from daemon: error while removing network: network bot-bottle-bundle-demo id net1 has active endpoints\n",
    );
    fake.on("network inspect*", 0, &network(&[]), "");
    let (code, _, err) = run(&fake, &["down", "demo"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript(), @r"
    docker inspect --format '{{json .}}' bot-bottle-sidecars-demo bot-bottle-bundle-demo
    docker network rm net1
    docker network inspect --format '{{json .}}' net1
    docker network rm net1
    ");
}

/// Concurrent `down`s: `network rm` was refused as in use, the look showed the bundle still
/// attached (another `down` was removing it), and the next look showed it gone. `down` used to
/// call that bundle a container "that bottle did not start"; it now looks at the bottle again
/// and finishes.
#[test]
fn a_bundle_a_racing_down_was_removing_is_not_called_foreign() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once(
        "inspect*",
        0,
        &(bundle(&d, "running") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on(
        "inspect*",
        1,
        &network(&[]),
        "Error: No such object: bot-bottle-sidecars-demo\n",
    );
    fake.once(
        "network rm*",
        1,
        "",
        "Error response from daemon: error while removing network: network bot-bottle-bundle-demo id net1 has active endpoints\n",
    );
    fake.once("network inspect*", 0, &network(&[("c1", BUNDLE)]), "");
    fake.on("network inspect*", 0, &network(&[]), "");
    let (code, _, err) = run(&fake, &["down", "demo"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(fake.transcript(), @r"
    docker inspect --format '{{json .}}' bot-bottle-sidecars-demo bot-bottle-bundle-demo
    docker rm --force --volumes c1
    docker network rm net1
    docker network inspect --format '{{json .}}' net1
    docker inspect --format '{{json .}}' bot-bottle-sidecars-demo bot-bottle-bundle-demo
    docker network rm net1
    ");
}

/// A secret value that occurs in the engine's words (`v` in "Pool overlaps") is masked in what is
/// shown, but must not change what bottle decides: the overlap is still an overlap.
#[test]
fn a_secret_inside_the_engines_words_does_not_change_the_decision() {
    let mut fake = Fake::new();
    let overlap =
        "Error response from daemon: Pool overlaps with other one on this address space\n";
    fake.once("network create*", 1, "", overlap);
    fake.on("network ls*", 0, "n1\tother-a\n", "");
    fake.on(
        "network inspect*",
        0,
        // Nothing listed explains the overlap (a racer's network is not listed yet).
        &network_json("other-a", "n1", "172.17.0.0/16", &[], &[]),
        "",
    );
    let up = ["up", "demo", "--image", "img", "-e", "K=v", "--json"];
    let d = digest(&fake, &up);
    let json = container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", &d),
        ],
        NET,
        "10.213.151.2",
        &[],
    );
    fake.on("container inspect*", 0, &with_env(&json, &["K=v"]), "");
    let (code, out, err) = run(&fake, &up);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("10.213.151.0/24"), "{out}");
}

/// `down --all` takes what the listing showed as each bottle's first look: per bottle only its
/// removals follow the listing (no second inspect), which is what keeps many bottles fast.
#[test]
fn down_all_starts_from_the_listing() {
    let mut fake = Fake::new();
    fake.on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "");
    fake.on("network ls *", 0, "net1\tbot-bottle-bundle-demo\n", "");
    down_all_of_demo(&mut fake);
    let calls: Vec<String> = fake.transcript().lines().map(str::to_string).collect();
    assert_eq!(
        calls.len(),
        5,
        "ps, network ls, one inspect, rm, network rm: {calls:#?}"
    );
}

/// A listing that shows a bottle's bundle but not its network (seen once in the suite, on
/// podman's service just restarted: `down --all` exited 0 and left every network of that engine)
/// is confirmed by name before `down` trusts the absence: the network goes too.
#[test]
fn down_all_looks_for_a_network_the_listing_did_not_show() {
    let mut fake = Fake::new();
    fake.on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "");
    fake.on("network ls *", 0, "", "");
    // The listing's inspect shows the bundle; the look by name, the bundle and its network.
    fake.once("inspect*", 0, &bundle("d", "running"), "");
    down_all_of_demo(&mut fake);
    let calls = fake.transcript();
    assert!(calls.contains("docker network rm "), "{calls}");
}

/// `down --all` where an inspect shows the bottle `demo`'s bundle on its network (rules added
/// after the test's own, which win): exit 0, and `demo` removed.
fn down_all_of_demo(fake: &mut Fake) {
    fake.on(
        "inspect*",
        0,
        &(bundle("d", "running") + &network(&[("c1", BUNDLE)])),
        "",
    );
    let (code, out, err) = run(fake, &["down", "--all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed"), "{out}");
}

/// A missing image under the default `--pull missing` is pulled by bottle, with the engine's
/// progress on stderr (a pull inside `run` would keep it captured), then `run` again.
#[test]
fn a_missing_image_is_pulled_with_its_progress_shown() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once("run *", 125, "", NO_SUCH_IMAGE);
    fake.on(
        "pull *",
        0,
        "latest: Pulling from library/img\nStatus: Downloaded newer image for img:latest\n",
        "",
    );
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Pulling from library/img"),
        "progress on stderr: {err}"
    );
    assert!(!out.contains("Pulling"), "{out}");
    let calls = fake.transcript();
    assert_eq!(calls.matches("docker run ").count(), 2, "{calls}");
    assert!(calls.contains("docker pull img\n"), "{calls}");
}

/// An engine whose `inspect` exits 0 but prints nothing (or garbage) is not an empty bottle:
/// `down` and `status` fail naming the command, instead of "already gone" / "does not exist".
#[test]
fn an_inspect_that_exits_0_with_nothing_is_an_error() {
    for stdout in ["", "not json\n"] {
        let mut fake = Fake::new();
        fake.on("inspect *", 0, stdout, "");
        for args in [&["down", "demo"][..], &["status", "demo"]] {
            let (code, out, err) = run(&fake, args);
            assert_eq!(code, 1, "{args:?} with {stdout:?}: {out} {err}");
            assert!(err.contains("docker inspect"), "{err}");
            assert!(!out.contains("already gone"), "{out}");
        }
        assert!(!fake.transcript().contains(" rm "), "{}", fake.transcript());
    }
}

/// podman's `network create` lists the host's interfaces and then each one's addresses; an
/// interface torn down in between (another container's network going away) fails the create
/// with "route ip+net: no such network interface". Seen in the suite on native podman 4.3: `up`
/// failed. Nothing was created, so the same candidate is tried once more, and the bottle keeps
/// its preferred subnet.
#[test]
fn podmans_vanished_interface_during_network_create_is_tried_again() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once(
        "network create*",
        125,
        "",
        "Error: route ip+net: no such network interface\n",
    );
    fake.on("network ls*", 0, "", "");
    fake.on("container inspect*", 0, &bundle(&d, "running"), "");
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("10.213.150.0/24"), "{out}");
    let creates = fake
        .calls()
        .iter()
        .filter(|c| c.len() > 1 && c[0] == "network" && c[1] == "create")
        .count();
    assert_eq!(creates, 2, "{}", fake.transcript());
}

/// Issue 16: `down --volumes` removes only the volumes whose labels, as `volume inspect` shows
/// them, name this prefix and slug: the label filter of `volume ls` narrows, the labels decide.
/// A bottle already gone still has its volumes looked for; a volume gone by the time of its
/// removal (a racing `down`) is not an error.
#[test]
fn down_volumes_removes_only_what_its_labels_name() {
    let mut fake = Fake::new();
    let both_missing = "Error: No such object: bot-bottle-sidecars-demo\nError: No such object: bot-bottle-bundle-demo\n";
    fake.on("inspect *", 1, "", both_missing);
    fake.on("volume ls *", 0, "v-ours\nv-other\nv-raced\n", "");
    let labels = |slug: &str| {
        format!(r#"{{"bottle.prefix":"bot-bottle","bottle.role":"volume","bottle.slug":"{slug}"}}"#)
    };
    let shown = format!(
        "{{\"Name\":\"v-ours\",\"Labels\":{}}}\n{{\"Name\":\"v-other\",\"Labels\":{}}}\n{{\"Name\":\"v-raced\",\"Labels\":{}}}\n",
        labels("demo"),
        labels("other"),
        labels("demo")
    );
    fake.once(
        "volume inspect --format * v-ours v-other v-raced",
        0,
        &shown,
        "",
    );
    fake.on(
        "volume rm v-raced",
        1,
        "",
        "Error: No such volume: v-raced\n",
    );
    fake.on(
        "volume inspect --format * v-raced",
        1,
        "",
        "Error response from daemon: get v-raced: no such volume\n",
    );
    let out = fake.bottle(&["down", "demo", "--volumes", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"removed":{"containers":[],"networks":[],"volumes":["v-ours","v-raced"]},"slug":"demo"}"#
    );
    insta::assert_snapshot!(fake.transcript());
}

/// `run` refused for the bundle's name by docker CLI 28.2 (against dockerd 20.10).
const NAME_IN_USE: &str = "docker: Error response from daemon: Conflict. The container name \"/bot-bottle-sidecars-demo\" is already in use by container \"c1\". You have to remove (or rename) that container to be able to reuse that name.\n\nRun 'docker run --help' for more information\n";
/// The untyped inspect of both names when only the network shows (docker CLI 28.2).
const NO_BUNDLE_OBJECT: &str = "Error: No such object: bot-bottle-sidecars-demo\n";
const NO_BUNDLE_CONTAINER: &str =
    "Error response from daemon: No such container: bot-bottle-sidecars-demo\n";

/// The losing side of two `up`s of one slug without a shared lock (race17, seen through a fleet on
/// dockerd 20.10 with docker CLI 28.2): the winner's network exists, so the loser's `network
/// create` answers "exists" and its look shows the network alone; its `run` is refused for the
/// name, and the look after that still shows no bundle, because dockerd reserves the name when a
/// create begins and shows the container only when the create ends (slow under load). The loser
/// used to `run` again at once, eight rounds, and fail with "kept changing"; it waits for the
/// container to show under the name, waits for the peer's `created` bundle to start, and keeps it.
#[test]
fn a_name_held_by_a_create_not_yet_shown_is_waited_for() {
    let mut fake = Fake::new();
    let d = digest(&fake, UP);
    fake.once("network create*", 1, "", EXISTS);
    // The look after `network create`, and the one after the refused `run`: the network alone.
    for _ in 0..2 {
        fake.once("inspect *", 1, &network(&[]), NO_BUNDLE_OBJECT);
    }
    // Once the bundle shows by name, the look again: the network it is on, and the bundle.
    fake.on(
        "inspect *",
        0,
        &(bundle(&d, "created") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("run *", 125, "", NAME_IN_USE);
    for _ in 0..2 {
        fake.once(
            "container inspect *bot-bottle-sidecars-demo",
            1,
            "",
            NO_BUNDLE_CONTAINER,
        );
    }
    fake.on(
        "container inspect *bot-bottle-sidecars-demo",
        0,
        &bundle(&d, "created"),
        "",
    );
    fake.on("container inspect *c1", 0, &bundle(&d, "running"), "");
    let (code, out, err) = run(&fake, UP);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["action"], "kept", "{v}");
    assert_eq!(v["bundle"]["ip"], "10.213.150.2", "{v}");
    assert_eq!(v["bundle"]["state"], "running", "{v}");
    let transcript = fake.transcript();
    assert_eq!(
        transcript.matches("docker run ").count(),
        1,
        "one `run`, then the wait: {transcript}"
    );
    assert!(
        !transcript.contains("docker rm ") && !transcript.contains("network rm"),
        "the peer's bottle is adopted, never removed: {transcript}"
    );
    insta::assert_snapshot!(transcript);
}

/// The same refusal when no container ever shows under the name (a create that never ends, or a
/// name the engine never released): one wait, one `run` again, then an honest error naming the
/// name; never a success, never a `run` in a loop. `--timeout 1s` bounds the wait.
#[test]
fn a_name_held_with_nothing_showing_is_an_honest_error() {
    let mut fake = Fake::new();
    fake.once("network create*", 1, "", EXISTS);
    fake.on("inspect *", 1, &network(&[]), NO_BUNDLE_OBJECT);
    fake.on("run *", 125, "", NAME_IN_USE);
    fake.on("container inspect *", 1, "", NO_BUNDLE_CONTAINER);
    let mut args = vec!["--timeout", "1s"];
    args.extend(UP);
    let (code, out, err) = run(&fake, &args);
    assert_eq!(code, 1, "{err}");
    let transcript = fake.transcript();
    assert_eq!(transcript.matches("docker run ").count(), 2, "{transcript}");
    assert!(
        !transcript.contains("docker rm ") && !transcript.contains("network rm"),
        "{transcript}"
    );
    assert!(
        err.contains("the engine refuses the name `bot-bottle-sidecars-demo` as in use, yet shows no container by it"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["exit_code"], 1, "{v}");
}
