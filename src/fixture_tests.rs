//! The fixture corpora, read by the library's own unit tests: engine stderr for the classifier,
//! captured engine stdout for the model, and subnet vectors from the independent Python
//! implementation. (The `bottle subnet` and `plan` halves are in the integration tests.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::classify::{Class, Verb, classify};
use crate::subnet::Pool;

struct StderrFixture {
    verb: Verb,
    exit: i32,
    class: Class,
    stderr: String,
}

fn parse_stderr_fixture(path: &Path) -> StderrFixture {
    let text = std::fs::read_to_string(path).unwrap();
    let (head, body) = text
        .split_once("\n---\n")
        .unwrap_or_else(|| panic!("{}: no `---` line", path.display()));
    let fields: BTreeMap<&str, &str> = head.lines().filter_map(|l| l.split_once(": ")).collect();
    assert!(
        fields.get("source").is_some_and(|s| !s.is_empty()),
        "{}: no source",
        path.display()
    );
    StderrFixture {
        verb: Verb::from_name(fields["verb"])
            .unwrap_or_else(|| panic!("{}: unknown verb", path.display())),
        exit: fields["exit"].parse().unwrap(),
        class: Class::from_name(fields["class"])
            .unwrap_or_else(|| panic!("{}: unknown class", path.display())),
        stderr: body.to_string(),
    }
}

#[test]
fn classifier_agrees_with_every_engine_fixture() {
    insta::glob!("../fixtures/engine-stderr", "*/*.txt", |path| {
        let f = parse_stderr_fixture(path);
        assert_eq!(
            classify(f.verb, f.exit, &f.stderr),
            f.class,
            "{}",
            path.display()
        );
    });
}

/// Every class that matters for idempotency has, for every engine, a fixture or a written reason
/// (in that engine's MISSING.md) why the engine cannot produce it.
#[test]
fn every_class_has_a_fixture_for_every_engine() {
    // Every class the classifier knows, except `ok` and `other`.
    let required: Vec<Class> = Class::ALL
        .iter()
        .copied()
        .filter(|c| !matches!(c, Class::Ok | Class::Other))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engine-stderr");
    let mut engines = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        engines += 1;
        let mut have = BTreeSet::new();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "txt") {
                have.insert(parse_stderr_fixture(&file).class.name());
            }
        }
        let missing = std::fs::read_to_string(dir.join("MISSING.md")).unwrap_or_default();
        for &class in &required {
            let explained = missing
                .lines()
                .any(|l| l.starts_with(&format!("- {}:", class.name())));
            assert!(
                have.contains(class.name()) || explained,
                "{}: no fixture for class `{}` and no line for it in MISSING.md",
                dir.display(),
                class.name()
            );
        }
    }
    assert!(
        engines >= 8,
        "expected docker 20.10 (two CLIs), 23, 25, 28, 29 and podman 4, 5"
    );
}

#[derive(serde::Deserialize)]
struct Vector {
    pool: String,
    block: u8,
    slug: String,
    fnv1a64: String,
    slot: u64,
    subnet: String,
    gateway: String,
    bundle_ip: String,
    ip_range: String,
    candidates: Vec<String>,
}

fn vectors() -> Vec<Vector> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/subnet-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn subnet_rule_matches_the_independent_vectors() {
    let vectors = vectors();
    assert!(vectors.len() >= 20);
    for v in &vectors {
        let pool = Pool::parse(&v.pool, v.block).unwrap();
        let what = format!("{} {}/{}", v.slug, v.pool, v.block);
        assert_eq!(
            format!("{:#018x}", crate::subnet::fnv1a64(v.slug.as_bytes())),
            v.fnv1a64,
            "{what}"
        );
        let c = pool.candidate(&v.slug, 0);
        assert_eq!(c.slot, v.slot, "{what}");
        assert_eq!(c.subnet.to_string(), v.subnet, "{what}");
        assert_eq!(c.gateway.to_string(), v.gateway, "{what}");
        assert_eq!(c.bundle_ip.to_string(), v.bundle_ip, "{what}");
        assert_eq!(c.ip_range.to_string(), v.ip_range, "{what}");
        let got: Vec<String> = pool
            .candidates(&v.slug)
            .take(3)
            .map(|c| c.subnet.to_string())
            .collect();
        assert_eq!(got, v.candidates, "{what}");
    }
}

#[derive(serde::Deserialize)]
struct PlacementVector {
    slug: String,
    contexts: Vec<String>,
    scores: Vec<String>,
    order: Vec<String>,
    order_index: Vec<usize>,
}

/// The placement rule (issue 17) against `scripts/placement_vectors.py`'s vectors, an
/// independent implementation in Python.
#[test]
fn placement_rule_matches_the_independent_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/placement-vectors.json");
    let vectors: Vec<PlacementVector> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(vectors.len() >= 16);
    for v in &vectors {
        let slug: crate::Slug = v.slug.parse().unwrap();
        let contexts: Vec<&str> = v.contexts.iter().map(String::as_str).collect();
        let what = format!("{} over {:?}", v.slug, v.contexts);
        let scores: Vec<String> = contexts
            .iter()
            .map(|c| format!("{:#018x}", crate::placement_score(&slug, c)))
            .collect();
        assert_eq!(scores, v.scores, "{what}");
        let order = crate::placement_order(&slug, &contexts);
        assert_eq!(order, v.order_index, "{what}");
        let named: Vec<&str> = order.iter().map(|&i| contexts[i]).collect();
        assert_eq!(named, v.order, "{what}");
    }
}

/// One captured stdout (`fixtures/engine-stdout/ENGINE/CASE.txt`): the header of a stderr
/// fixture, then the bytes the command printed.
struct StdoutFixture {
    command: String,
    verb: Verb,
    exit: i32,
    stdout: String,
}

fn parse_stdout_fixture(path: &Path) -> StdoutFixture {
    let text = std::fs::read_to_string(path).unwrap();
    let (head, body) = text
        .split_once("\n---\n")
        .unwrap_or_else(|| panic!("{}: no `---` line", path.display()));
    let fields: BTreeMap<&str, &str> = head.lines().filter_map(|l| l.split_once(": ")).collect();
    let source = fields["source"];
    StdoutFixture {
        // `captured on this machine: LABEL, COMMAND`
        command: source
            .rsplit_once(", ")
            .map_or(source, |(_, c)| c)
            .to_string(),
        verb: Verb::from_name(fields["verb"])
            .unwrap_or_else(|| panic!("{}: unknown verb", path.display())),
        exit: fields["exit"].parse().unwrap(),
        stdout: body.to_string(),
    }
}

/// The names an `inspect … --format '{{json .}}' NAME…` fixture asked for.
fn inspected_names(command: &str) -> Vec<&str> {
    let (_, names) = command
        .split_once("'{{json .}}' ")
        .unwrap_or_else(|| panic!("no names in {command}"));
    names.split(' ').collect()
}

/// Every captured inspect output, of docker and of podman (native: pretty-printed arrays and
/// netavark networks; through its socket), parses into what the capture made: one object per
/// name asked for, with the labels, subnets, IP and published port the capture gave them.
#[test]
fn model_reads_every_captured_inspect_output() {
    use crate::model::{Empty, Object, parse_json_objects};
    let mut checked = 0;
    insta::glob!("../fixtures/engine-stdout", "*/*.txt", |path| {
        let f = parse_stdout_fixture(path);
        if !matches!(
            f.verb,
            Verb::Inspect | Verb::ContainerInspect | Verb::NetworkInspect
        ) {
            return;
        }
        checked += 1;
        let what = path.display();
        let empty = if f.exit == 0 {
            Empty::Error
        } else {
            Empty::Allowed
        };
        let objects = parse_json_objects(&f.command, &f.stdout, empty)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let names = inspected_names(&f.command);
        if f.exit == 0 {
            assert_eq!(objects.len(), names.len(), "{what}");
        }
        for object in &objects {
            match object {
                Object::Container(c) => {
                    assert!(c.name.starts_with("fxpod-c"), "{what}: {c:?}");
                    assert_eq!(c.id.len(), 64, "{what}");
                    assert_eq!(c.state, "running", "{what}");
                    if c.name == "fxpod-c1" {
                        assert_eq!(c.labels["bottle.slug"], "fxpod-x", "{what}");
                        assert_eq!(c.networks["fxpod-net1"], "10.147.1.10", "{what}");
                        assert_eq!(
                            c.ports[&(8080, crate::model::Protocol::Tcp)][0].host_ip,
                            "127.0.0.1",
                            "{what}"
                        );
                        assert!(
                            c.ports[&(8080, crate::model::Protocol::Tcp)][0].host_port > 0,
                            "{what}"
                        );
                        assert!(c.env.iter().any(|e| e == "A=b"), "{what}");
                        assert!(c.image.ends_with("bottle-test-bundle:latest"), "{what}");
                    }
                }
                Object::Network(n) => {
                    assert!(n.name.starts_with("fxpod-"), "{what}: {n:?}");
                    assert_eq!(n.id.len(), 64, "{what}");
                    assert_eq!(n.subnets.len(), 1, "{what}");
                    assert!(n.subnets[0].to_string().starts_with("10.147."), "{what}");
                    if n.name == "fxpod-net1" {
                        assert_eq!(n.labels["bottle.role"], "network", "{what}");
                        // Native podman lists no attached containers; docker and the socket do.
                        let native = f.command.starts_with("podman ");
                        assert_eq!(n.containers_listed, !native, "{what}");
                        if !native {
                            assert!(n.containers.values().any(|c| c == "fxpod-c1"), "{what}");
                        }
                    }
                }
                Object::Other => panic!("{what}: an object of unknown kind"),
            }
        }
    });
    assert!(checked >= 30, "only {checked} inspect fixtures");
}

/// The listings and `network create` of every engine parse, and unparsable output is an error
/// that names the command.
#[test]
fn model_reads_every_captured_listing() {
    use crate::model::{parse_created, parse_id_names_of};
    insta::glob!("../fixtures/engine-stdout", "*/*.txt", |path| {
        let f = parse_stdout_fixture(path);
        let what = path.display();
        match f.verb {
            Verb::NetworkLs | Verb::Ps if f.exit == 0 => {
                let rows = parse_id_names_of(&f.command, &f.stdout)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(rows.len(), f.stdout.lines().count(), "{what}");
                for (id, name) in rows {
                    assert_eq!(id.len(), 64, "{what}");
                    assert!(name.starts_with("fxpod-"), "{what}");
                }
            }
            Verb::NetworkCreate if f.exit == 0 => {
                let made = parse_created(&f.command, &f.stdout).unwrap();
                // Native podman prints the name, docker (and the socket) the 64-hex ID.
                assert!(made == "fxpod-new" || made.len() == 64, "{what}: {made}");
            }
            _ => {}
        }
    });
    let err = parse_id_names_of("docker ps", "abc def\n").unwrap_err();
    assert!(err.to_string().contains("`docker ps`"), "{err}");
}

/// `fixtures/port-vectors.json`, made by `scripts/port_vectors.py` (an independent implementation
/// of the host-port rule): the crate's candidates and choices agree with it.
#[test]
fn host_port_rule_matches_the_independent_vectors() {
    use crate::endpoints::{self, Endpoint, Holder, PORT_HIGH, PORT_LOW};
    use crate::model::Protocol;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/port-vectors.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(doc["range"], serde_json::json!([PORT_LOW, PORT_HIGH]));
    let proto = |s: &str| Protocol::parse(s).unwrap();
    let key = |s: &str| {
        let (p, pr) = s.split_once('/').unwrap();
        (p.parse::<u16>().unwrap(), proto(pr))
    };
    let singles = doc["candidates"].as_array().unwrap();
    assert!(singles.len() >= 8);
    for v in singles {
        let slug = v["slug"].as_str().unwrap();
        let k = (
            v["port"].as_u64().unwrap() as u16,
            proto(v["protocol"].as_str().unwrap()),
        );
        assert_eq!(endpoints::rule_key(slug, k), v["key"].as_str().unwrap());
        let h = crate::subnet::fnv1a64(endpoints::rule_key(slug, k).as_bytes());
        assert_eq!(format!("{h:#018x}"), v["fnv1a64"].as_str().unwrap(), "{v}");
        let got: Vec<u16> = (0..3).map(|i| endpoints::candidate(slug, k, i)).collect();
        let want: Vec<u16> = v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap() as u16)
            .collect();
        assert_eq!(got, want, "{v}");
    }
    let settles = doc["settle"].as_array().unwrap();
    assert!(settles.len() >= 6);
    for v in settles {
        let slug = v["slug"].as_str().unwrap();
        let ip: std::net::IpAddr = v["ip"].as_str().unwrap().parse().unwrap();
        let mut wanted: Vec<_> = v["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| key(p.as_str().unwrap()))
            .collect();
        wanted.sort();
        let held: Vec<(Endpoint, Holder)> = v["held"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let e = Endpoint {
                    ip: h[0].as_str().unwrap().parse().unwrap(),
                    port: h[1].as_u64().unwrap() as u16,
                    protocol: proto(h[2].as_str().unwrap()),
                };
                (e, Holder::HostSocket)
            })
            .collect();
        let got = endpoints::settle(slug, ip, &wanted, &Default::default(), &held).unwrap();
        let want: endpoints::HostPorts = v["chosen"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, p)| (key(k), p.as_u64().unwrap() as u16))
            .collect();
        assert_eq!(got, want, "{v}");
    }
}
