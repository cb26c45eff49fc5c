//! Endpoints that hold still, against the fake engine: a replace publishes on the replaced
//! bundle's recorded endpoints (its `bottle.endpoints` label), not the rule's first choice, and
//! a recorded endpoint that another container holds fails the `up` naming it, with the old bundle
//! kept (issue 16: host ports moved on every start and replace).

use crate::fake::{Fake, container_json, with_env};
use crate::transcripts::{BUNDLE, NET, network};

const UP: &[&str] = &[
    "up", "demo", "--image", "img", "-p", "8080", "-e", "A=1", "--json",
];
const EXISTS: &str =
    "Error response from daemon: network with name bot-bottle-bundle-demo already exists\n";

/// The bottle's old bundle: another spec, publishing 8080 at 20001 as its label records.
fn old_bundle() -> String {
    let json = container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.spec", "0ld"),
            ("bottle.endpoints", "127.0.0.1:20001->8080/tcp"),
        ],
        NET,
        "10.213.150.2",
        &[(8080, 20001)],
    );
    with_env(&json, &["A=1"])
}

fn new_bundle(ports: &[(u16, u16)]) -> String {
    let json = container_json(
        BUNDLE,
        "c2",
        "running",
        &[("bottle.role", "bundle"), ("bottle.slug", "demo")],
        NET,
        "10.213.150.2",
        ports,
    );
    with_env(&json, &["A=1"])
}

fn engine() -> Fake {
    let mut fake = Fake::new();
    fake.once("network create*", 1, "", EXISTS);
    fake.on(
        "inspect*",
        0,
        &(old_bundle() + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake
}

/// A replace (the spec changed) runs the new bundle on the old one's recorded host port, which
/// is not the rule's candidate 0 (26435 for `demo/8080/tcp`), and says the ports did not change.
#[test]
fn a_replace_publishes_on_the_recorded_endpoints() {
    let mut fake = engine();
    fake.on("ps --all*", 0, "", "");
    fake.on("container inspect*", 0, &new_bundle(&[(8080, 20001)]), "");
    let out = fake.bottle(UP);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], "replaced", "{v}");
    assert_eq!(v["ports_changed"], false, "{v}");
    let run = fake
        .calls()
        .into_iter()
        .find(|c| c.first().is_some_and(|w| w == "run"))
        .expect("a run");
    assert!(run.contains(&"127.0.0.1:20001:8080".to_string()), "{run:?}");
    assert!(
        run.contains(&"bottle.endpoints=127.0.0.1:20001->8080/tcp".to_string()),
        "{run:?}"
    );

    // Asking for another port too: the old one stays, and `ports_changed` says the set changed.
    let mut fake = engine();
    fake.on("ps --all*", 0, "", "");
    fake.on(
        "container inspect*",
        0,
        &new_bundle(&[(8080, 20001), (9090, 22587)]),
        "",
    );
    let mut args = UP.to_vec();
    args.extend(["-p", "9090"]);
    let out = fake.bottle(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ports_changed"], true, "{v}");
}

/// Another container holds the recorded endpoint: `up` fails (exit 1) naming it, before the old
/// bundle is removed, and never moves the bottle to another port.
#[test]
fn a_recorded_endpoint_held_by_another_container_is_named_and_never_moved() {
    let mut fake = engine();
    fake.on(
        "ps --all*",
        0,
        "t1\tsquatter\nc1\tbot-bottle-sidecars-demo\n",
        "",
    );
    let squatter = container_json(
        "squatter",
        "t1",
        "running",
        &[],
        "bridge",
        "",
        &[(80, 20001)],
    );
    fake.on("container inspect*", 0, &squatter, "");
    let out = fake.bottle(UP);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "endpoint 127.0.0.1:20001/tcp of bottle `demo` is held by container `squatter`"
        ),
        "{err}"
    );
    let calls = fake.transcript();
    assert!(!calls.contains("docker rm"), "{calls}");
    assert!(!calls.contains("docker run"), "{calls}");
}

/// UDP ports come from the TOML file too (`publish = [8080, "53/udp"]`), each at its rule port;
/// another protocol is refused before any engine command (exit 2).
#[test]
fn toml_publishes_udp_ports_at_their_rule_ports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bottle.toml");
    std::fs::write(
        &path,
        "image = \"img\"\npublish = [8080, \"53/udp\", \"53\"]\n",
    )
    .unwrap();
    let fake = Fake::new();
    let out = fake.bottle(&["plan", "demo", "--config", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let argvs: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let run = &argvs[1];
    // Candidate 0 of `demo/53/udp`, `demo/53/tcp` and `demo/8080/tcp` (fixtures/port-vectors.json).
    for want in ["127.0.0.1:23735:53/udp", "127.0.0.1:26435:8080"] {
        assert!(run.contains(&want.to_string()), "{want}: {run:?}");
    }
    assert!(run.iter().any(|a| a.ends_with(":53")), "{run:?}");
    std::fs::write(&path, "image = \"img\"\npublish = [\"53/sctp\"]\n").unwrap();
    let out = fake.bottle(&["up", "demo", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(fake.calls().is_empty());
}

/// `--publish-ip auto`: a replace keeps the bottle's address too; another container publishing
/// on it fails the `up` naming it, before the old bundle is removed.
#[test]
fn a_kept_auto_address_held_by_another_container_is_named_and_never_moved() {
    let mut fake = Fake::new();
    fake.once("network create*", 1, "", EXISTS);
    let mut old: serde_json::Value = serde_json::from_str(&old_bundle()).unwrap();
    old["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostIp"] = "127.0.0.17".into();
    let old = old.to_string() + "\n";
    fake.on("inspect*", 0, &(old + &network(&[("c1", BUNDLE)])), "");
    fake.on(
        "ps --all*",
        0,
        "t1\tsquatter\nc1\tbot-bottle-sidecars-demo\n",
        "",
    );
    let mut squatter: serde_json::Value = serde_json::from_str(&container_json(
        "squatter",
        "t1",
        "running",
        &[],
        "bridge",
        "",
        &[(80, 40000)],
    ))
    .unwrap();
    squatter["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"] = "127.0.0.17".into();
    fake.on("container inspect*", 0, &(squatter.to_string() + "\n"), "");
    let mut args = UP.to_vec();
    args.extend(["--publish-ip", "auto"]);
    let out = fake.bottle(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("address 127.0.0.17 of bottle `demo` is held by container `squatter`"),
        "{err}"
    );
    let calls = fake.transcript();
    assert!(!calls.contains("docker rm"), "{calls}");
    assert!(!calls.contains("docker run"), "{calls}");
}

/// A racer without bottle's lock (a remote engine, another lock directory) took the rule's first
/// host port between `up`'s look and its `run`: the engine refused the bind, and `up` failed
/// (seen in the suite: two tests' `s -p 8080` on one dockerd). A look now shows the racer on that
/// port, so `up` runs again on the next candidate; the engine's words are not read.
#[test]
fn a_racer_took_the_chosen_port_between_the_look_and_run() {
    let mut fake = Fake::new();
    // The first look: nothing publishes. Every later one: the racer, on candidate 0.
    fake.once("ps --all*", 0, "", "");
    fake.on("ps --all*", 0, "r1\tracer\n", "");
    let racer = container_json("racer", "r1", "running", &[], "bridge", "", &[(80, 26435)]);
    fake.on("container inspect* r1", 0, &racer, "");
    fake.once(
        "run *",
        125,
        "",
        "docker: Error response from daemon: driver failed programming external connectivity on endpoint bot-bottle-sidecars-demo: Bind for 127.0.0.1:26435 failed: port is already allocated.\n",
    );
    fake.on("container inspect*", 0, &new_bundle(&[(8080, 26436)]), "");
    let out = fake.bottle(&["up", "demo", "--image", "img", "-p", "8080", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let runs: Vec<Vec<String>> = fake
        .calls()
        .into_iter()
        .filter(|c| c.first().is_some_and(|w| w == "run"))
        .collect();
    assert_eq!(runs.len(), 2, "{}", fake.transcript());
    assert!(
        runs[0].contains(&"127.0.0.1:26435:8080".to_string()),
        "{runs:?}"
    );
    assert!(
        runs[1].contains(&"127.0.0.1:26436:8080".to_string()),
        "{runs:?}"
    );

    // A refusal with nobody on the port is the engine's error, as before: no second `run`.
    let mut fake = Fake::new();
    fake.on("ps --all*", 0, "", "");
    fake.once(
        "run *",
        125,
        "",
        "docker: Error response from daemon: boom.\n",
    );
    let out = fake.bottle(&["up", "demo", "--image", "img", "-p", "8080"]);
    assert_eq!(out.status.code(), Some(1));
    let runs = fake.transcript().matches("docker run").count();
    assert_eq!(runs, 1, "{}", fake.transcript());
}
