//! `docs/bottle.schema.json` against what bottle prints: every command's `--json` output through
//! the fake engine here, and the real engines' in `real.rs` (through [`check`]).
//!
//! The validator is a small one for the subset of JSON Schema 2020-12 that the schema uses (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `minimum`, `maximum`,
//! `$ref` to `#/$defs/…`, `oneOf`, `anyOf`; `format` and the annotations are not checked): the
//! offline build has no JSON Schema crate, and these fifty lines do. A keyword outside the subset
//! is an error, so the schema cannot grow a rule that nothing checks.

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::fake::{Fake, container_json, network_json};

/// The published schema, read once.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bottle.schema.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// Keywords that say nothing about validity.
const ANNOTATIONS: &[&str] = &["$schema", "title", "description", "format", "$defs"];

/// Where `value` breaks `schema` (a path and a reason), or `None` if it conforms. `root` resolves
/// `$ref`s.
pub fn violation(root: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let fail = |why: String| Some(format!("{at}: {why} (value: {value})"));
    let Some(rules) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => None,
            Value::Bool(false) => fail("no value is allowed here".into()),
            _ => panic!("{at}: a schema must be an object or a boolean: {schema}"),
        };
    };
    for (keyword, rule) in rules {
        let problem = match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => None,
            "$ref" => {
                let name = rule.as_str().unwrap().strip_prefix("#/$defs/").unwrap();
                let target = root["$defs"]
                    .get(name)
                    .unwrap_or_else(|| panic!("no $defs entry `{name}`"));
                violation(root, target, value, at)
            }
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                    _ => panic!("{at}: bad `type`: {rule}"),
                };
                (!types.iter().any(|t| is_type(value, t)))
                    .then(|| format!("{at}: not of type {types:?} (value: {value})"))
            }
            "enum" => (!rule.as_array().unwrap().contains(value))
                .then(|| format!("{at}: not one of {rule} (value: {value})")),
            "const" => (rule != value).then(|| format!("{at}: not {rule} (value: {value})")),
            "minimum" => value
                .as_f64()
                .filter(|v| *v < rule.as_f64().unwrap())
                .map(|_| format!("{at}: below {rule} (value: {value})")),
            "maximum" => value
                .as_f64()
                .filter(|v| *v > rule.as_f64().unwrap())
                .map(|_| format!("{at}: above {rule} (value: {value})")),
            "required" => value.as_object().and_then(|obj| {
                rule.as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap())
                    .find(|k| !obj.contains_key(*k))
                    .map(|k| format!("{at}: no `{k}` (value: {value})"))
            }),
            "properties" => value.as_object().and_then(|obj| {
                obj.iter().find_map(|(k, v)| {
                    let sub = rule.get(k)?;
                    violation(root, sub, v, &format!("{at}.{k}"))
                })
            }),
            "additionalProperties" => value.as_object().and_then(|obj| {
                let declared = rules.get("properties").and_then(Value::as_object);
                obj.iter()
                    .filter(|(k, _)| !declared.is_some_and(|d| d.contains_key(*k)))
                    .find_map(|(k, v)| violation(root, rule, v, &format!("{at}.{k}")))
            }),
            "items" => value.as_array().and_then(|items| {
                items
                    .iter()
                    .enumerate()
                    .find_map(|(i, v)| violation(root, rule, v, &format!("{at}[{i}]")))
            }),
            "oneOf" | "anyOf" => {
                let matched = rule
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| violation(root, s, value, at).is_none())
                    .count();
                match (keyword.as_str(), matched) {
                    ("oneOf", 1) => None,
                    ("anyOf", n) if n > 0 => None,
                    (k, n) => fail(format!("{n} of the {k} alternatives match")),
                }
            }
            other => panic!("{at}: the test's validator does not know `{other}`"),
        };
        if problem.is_some() {
            return problem;
        }
    }
    None
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => panic!("unknown type `{t}`"),
    }
}

/// `stdout` is one line of JSON that follows `$defs/<def>`, with every object's keys sorted.
/// Returns the value.
#[track_caller]
pub fn check(def: &str, stdout: &str) -> Value {
    let text = stdout.strip_suffix('\n').unwrap_or(stdout);
    assert!(!text.contains('\n'), "`{def}`: not one line: {stdout}");
    let value: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("`{def}`: not JSON ({e}): {stdout}"));
    // serde_json's map is ordered by key, so printing the value again gives the same text only if
    // bottle printed it compact and sorted.
    assert_eq!(
        serde_json::to_string(&value).unwrap(),
        text,
        "`{def}`: not compact with sorted keys"
    );
    let root = schema();
    let target = root["$defs"]
        .get(def)
        .unwrap_or_else(|| panic!("no $defs entry `{def}`"));
    if let Some(problem) = violation(root, target, &value, def) {
        panic!("`{def}` does not follow docs/bottle.schema.json: {problem}");
    }
    value
}

#[track_caller]
fn rejects(def: &str, value: Value) {
    let root = schema();
    assert!(
        violation(root, &root["$defs"][def], &value, def).is_some(),
        "`{def}` accepted {value}"
    );
}

#[test]
fn the_validator_checks_each_keyword() {
    let root = json!({"$defs": {
        "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 3},
        "o": {
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/n"}, "k": {"const": "x"}},
            "required": ["a"],
            "additionalProperties": {"enum": ["y", "z"]}
        },
        "one": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "any": {"anyOf": [{"type": "integer"}, {"type": "number"}]},
    }});
    let ok = |def: &str, v: Value| violation(&root, &root["$defs"][def], &v, def).is_none();
    assert!(ok("n", json!(2)) && ok("n", json!(null)));
    assert!(!ok("n", json!(0)) && !ok("n", json!(4)) && !ok("n", json!("2")));
    assert!(ok("o", json!({"a": 1, "k": "x", "extra": "y"})));
    assert!(!ok("o", json!({"k": "x"})), "required");
    assert!(!ok("o", json!({"a": 1, "k": "w"})), "const");
    assert!(
        !ok("o", json!({"a": 1, "extra": "w"})),
        "additionalProperties"
    );
    assert!(!ok("o", json!({"a": 9})), "$ref");
    assert!(ok("one", json!("s")) && ok("one", json!(["s"])));
    assert!(!ok("one", json!([1])), "items");
    // 1 is both an integer and a number: anyOf takes it, oneOf would not.
    assert!(ok("any", json!(1)));
    let both = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
    assert!(violation(&root, &both, &json!(1), "both").is_some());
}

#[test]
#[should_panic(expected = "does not know `pattern`")]
fn the_validator_refuses_keywords_it_does_not_check() {
    violation(&json!({}), &json!({"pattern": "x"}), &json!("x"), "p");
}

/// The schema itself: every `$ref` resolves, and every command has its entry.
#[test]
fn the_schema_has_an_entry_per_command_and_its_refs_resolve() {
    let root = schema();
    assert_eq!(
        root["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    for def in [
        "up", "down", "stop", "start", "restart", "pause", "unpause", "status", "ls", "env",
        "port", "gc", "version", "subnet", "plan", "doctor", "event", "error",
    ] {
        assert!(root["$defs"].get(def).is_some(), "no `{def}`");
    }
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(root, &mut all);
    for r in all {
        let name = r.strip_prefix("#/$defs/").unwrap();
        assert!(root["$defs"].get(name).is_some(), "{r}");
    }
    // The schema is strict where it matters.
    rejects(
        "gc",
        json!({"dry_run": true, "removed": {"containers": [], "networks": []}}),
    );
    rejects("status", json!({"slug": "x"}));
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn run(fake: &Fake, args: &[&str], want_code: i32) -> String {
    let out = fake.bottle(args);
    assert_eq!(
        out.status.code(),
        Some(want_code),
        "{args:?}: {}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

const RUN: &str = "0123456789abcdef";
const CREATED: &str = "2026-11-23T11:08:19.224689474Z";

/// `bottle subnet SLUG --json`: where the slug's bottle lands on a clean engine.
fn subnet_of(slug: &str) -> Value {
    serde_json::from_slice(&Fake::new().bottle(&["subnet", slug, "--json"]).stdout).unwrap()
}

/// The bundle of `slug` as `inspect` shows it: running, with `bottle.run` and its creation time.
fn bundle(slug: &str, ports: &[(u16, u16)]) -> String {
    let sub = subnet_of(slug);
    let mut v: Value = serde_json::from_str(&container_json(
        &format!("bot-bottle-sidecars-{slug}"),
        &format!("id-{slug}"),
        "running",
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", slug),
            ("bottle.run", RUN),
        ],
        &format!("bot-bottle-bundle-{slug}"),
        sub["bundle_ip"].as_str().unwrap(),
        ports,
    ))
    .unwrap();
    v["Created"] = CREATED.into();
    v.to_string() + "\n"
}

/// The network of `slug`, with its bundle attached or not.
fn network(slug: &str, attached: bool) -> String {
    let sub = subnet_of(slug);
    let subnet = sub["subnet"].as_str().unwrap();
    let id = format!("id-{slug}");
    let name = format!("bot-bottle-sidecars-{slug}");
    let containers: &[(&str, &str)] = match attached {
        true => &[(&id, &name)],
        false => &[],
    };
    network_json(
        &format!("bot-bottle-bundle-{slug}"),
        &format!("net-{slug}"),
        subnet,
        &[
            ("bottle.role", "network"),
            ("bottle.slug", slug),
            ("bottle.subnet", subnet),
            ("bottle.run", RUN),
        ],
        containers,
    )
}

/// An engine with bottles `demo` (running, two ports) and `gone` (its network only).
fn engine_with_bottles() -> Fake {
    let mut fake = Fake::new();
    fake.on("ps *", 0, "id-demo\tbot-bottle-sidecars-demo\n", "");
    fake.on(
        "network ls *",
        0,
        "net-demo\tbot-bottle-bundle-demo\nnet-gone\tbot-bottle-bundle-gone\n",
        "",
    );
    let found = bundle("demo", &[(8080, 49153), (9000, 49154)])
        + &network("demo", true)
        + &network("gone", false);
    fake.on("inspect*", 0, &found, "");
    fake
}

/// Every command's `--json` through the fake engine follows its `$defs` entry, sorted and on one
/// line; the bottle object is the same in `status`, `ls` and `up`.
#[test]
fn every_json_output_follows_the_schema() {
    let fake = engine_with_bottles();
    let status = check("status", &run(&fake, &["status", "demo", "--json"], 0));
    assert_eq!(status["created"], CREATED);
    assert_eq!(status["run"], RUN);
    assert_eq!(status["host_ip"], "127.0.0.1");
    assert_eq!(status["ports"][0]["protocol"], "tcp");
    let gone = check("status", &run(&fake, &["status", "gone", "--json"], 0));
    assert_eq!(
        (&gone["created"], &gone["run"]),
        (&Value::Null, &Value::Null)
    );
    let ls = check("ls", &run(&fake, &["ls", "--json"], 0));
    assert_eq!(ls[0], status);
    // `-q` was ignored under `--json`: the slugs only.
    let quiet = check("ls", &run(&fake, &["ls", "-q", "--json"], 0));
    assert_eq!(quiet[0], "demo");
    // `ls --format json`: the bottle object, one line each.
    let lines = run(&fake, &["ls", "--format", "json"], 0);
    let objects: Vec<Value> = lines.lines().map(|l| check("status", l)).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0], status);
    check("port", &run(&fake, &["port", "demo", "--json"], 0));
    check("port", &run(&fake, &["port", "demo", "8080", "--json"], 0));
    check("env", &run(&fake, &["env", "demo", "--json"], 0));
    let gc = check("gc", &run(&fake, &["gc", "--dry-run", "--json"], 0));
    assert_eq!(
        gc["would_remove"]["networks"],
        json!(["bot-bottle-bundle-gone"])
    );
    check("gc", &run(&fake, &["gc", "--json"], 0));
    check("subnet", &run(&fake, &["subnet", "demo", "--json"], 0));
    check(
        "plan",
        &run(&fake, &["plan", "demo", "-p", "8080", "--json"], 0),
    );
    check("error", &run(&fake, &["status", "nothing", "--json"], 1));

    let mut fake = Fake::new();
    fake.on(
        "version --format*",
        0,
        "{\"Client\":{\"Version\":\"20.10.24\"},\"Server\":{\"Version\":\"20.10.25\"}}\n",
        "",
    );
    check("version", &run(&fake, &["version", "--json"], 0));
    let doctor = fake.bottle(&["doctor", "--json"]);
    check("doctor", &stdout(&doctor));

    // `up`: one slug gives the bottle object with `action`, several an array.
    let mut fake = Fake::new();
    fake.on("network create*", 0, "net-a\n", "");
    for slug in ["a", "b"] {
        fake.on(
            &format!("container inspect *bot-bottle-sidecars-{slug}"),
            0,
            &bundle(slug, &[(8080, 49153)]),
            "",
        );
    }
    let up = check(
        "up",
        &run(
            &fake,
            &["up", "a", "--image", "img", "-p", "8080", "--json"],
            0,
        ),
    );
    assert_eq!(up["action"], "created");
    let mut bottle = up.clone();
    bottle.as_object_mut().unwrap().remove("action");
    check("status", &serde_json::to_string(&bottle).unwrap());
    let many = check(
        "up",
        &run(&fake, &["up", "a", "b", "--image", "img", "--json"], 0),
    );
    assert_eq!(many.as_array().map(Vec::len), Some(2), "{many}");
}

/// `down` of one slug printed a one-element array while `up` of one slug printed an object (issue
/// 15): one slug now gives one object, several (or `--all`) an array.
#[test]
fn down_of_one_slug_is_one_object_like_up() {
    let mut fake = Fake::new();
    fake.on("inspect *", 1, "[]\n", "Error: No such object: x\n");
    let one = check("down", &run(&fake, &["down", "demo", "--json"], 0));
    assert_eq!(
        one,
        json!({"slug": "demo", "removed": {"containers": [], "networks": []}})
    );
    let many = check("down", &run(&fake, &["down", "a", "b", "--json"], 0));
    assert_eq!(many.as_array().map(Vec::len), Some(2), "{many}");
    let all = check(
        "down",
        &run(&engine_with_bottles(), &["down", "--all", "--json"], 0),
    );
    assert!(all.is_array(), "{all}");
}

/// `gc --dry-run --json` called what it would remove `removed` (issue 15).
#[test]
fn gc_dry_run_json_says_would_remove() {
    let fake = engine_with_bottles();
    let dry = check("gc", &run(&fake, &["gc", "--dry-run", "--json"], 0));
    assert!(dry.get("removed").is_none(), "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["would_remove"],
        json!({"containers": [], "networks": ["bot-bottle-bundle-gone"]})
    );
}

/// Usage errors under `--json` printed no JSON at all (issue 15): now the error object, naming the
/// input at fault, with the message stderr shows.
#[test]
fn usage_errors_under_json_print_the_error_object() {
    for (args, input) in [
        (&["up", "x", "--bogus", "--json"][..], "--bogus"),
        (&["--json", "up", "x", "--pull", "sometimes"], "--pull"),
        (&["up", "--json"], "SLUG"),
        (&["frobnicate", "--json"], "frobnicate"),
        (&["up", "Not-A-Slug", "--json"], "SLUG"),
        (&["up", "x", "-p", "0", "--json"], "--publish"),
        (&["port", "x", "0", "--json"], "PORT"),
        (&["up", "x", "--wait=soon", "--json"], "--wait"),
        (&["up", "x", "--timeout", "soon", "--json"], "--timeout"),
    ] {
        let fake = Fake::new();
        let out = fake.bottle(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = check("error", &stdout(&out));
        assert_eq!(e["error"]["kind"], "invalid", "{args:?}");
        assert_eq!(e["error"]["input"], input, "{args:?}");
        assert_eq!(e["error"]["exit_code"], 2, "{args:?}");
        let line = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            format!("bottle: {}\n", e["error"]["message"].as_str().unwrap()),
            line,
            "{args:?}"
        );
        assert!(fake.calls().is_empty(), "{args:?}");
    }
    // Without `--json`, stdout stays empty; after `--`, `--json` is not an option.
    let out = Fake::new().bottle(&["up", "x", "--bogus"]);
    assert!(out.stdout.is_empty());
}

/// The JSON `message` held the whole engine command line and the engine's "See 'docker run
/// --help'" while stderr shortened them (issue 15): both now show the same sentence, and the full
/// line is in `command`.
#[test]
fn json_message_is_the_sentence_stderr_shows() {
    let mut fake = Fake::new();
    fake.on("network create*", 0, "net1\n", "");
    fake.on(
        "run *",
        125,
        "",
        "docker: Error response from daemon: pull access denied for img.\nSee 'docker run --help'.\n",
    );
    let out = fake.bottle(&["up", "demo", "--image", "img", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let e = check("error", &stdout(&out));
    let message = e["error"]["message"].as_str().unwrap();
    assert_eq!(
        format!("bottle: {message}\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!message.contains("--help"), "{message}");
    assert!(message.starts_with("`docker run` failed"), "{message}");
    let command = e["error"]["command"].as_str().unwrap();
    assert!(command.starts_with("docker run "), "{command}");
}

/// `version --json` with the daemon down printed the versions and then the error object: two
/// documents (issue 15). A failure prints only the error object.
#[test]
fn a_failed_version_json_is_one_error_object() {
    let mut fake = Fake::new();
    fake.on(
        "version*",
        1,
        "{\"Client\":{\"Version\":\"20.10.24\"},\"Server\":null}\n",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
    );
    let e = check("error", &run(&fake, &["version", "--json"], 69));
    assert_eq!(e["error"]["kind"], "engine_unavailable");
}

/// A signal during `down SLUG --json` whose removal then finished printed the bottle's object and
/// then the error object: two documents (issue 15). The one document is the error object (exit
/// 130), naming what was removed.
#[test]
fn an_interrupted_down_json_prints_one_document() {
    let mut fake = Fake::new();
    fake.on("inspect*", 0, &network("a", false), "");
    fake.on_sh("network rm *", ": > \"$D/started\"; sleep 0.5");
    let child = fake
        .command(&["down", "a", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = fake.state_dir().join("started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "`network rm` never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let e = check("error", &stdout(&out));
    assert_eq!(e["error"]["kind"], "interrupted");
    assert_eq!(e["error"]["removed"], json!(["bot-bottle-bundle-a"]));
}

/// A fleet of `default` (holding `demo` and `gone`) and `pod`, which holds nothing, or is dead.
fn fleet_engine(pod_dead: bool) -> Fake {
    let mut fake = Fake::new();
    match pod_dead {
        true => fake.on(
            "--context pod *",
            1,
            "",
            "Cannot connect to the Docker daemon at unix:///run/pod.sock. Is the docker daemon running?\n",
        ),
        false => fake.on(
            "--context pod *inspect*",
            1,
            "",
            "Error: No such object: bot-bottle-sidecars-demo\n",
        ),
    };
    fake.on(
        "--context default ps *",
        0,
        "id-demo\tbot-bottle-sidecars-demo\n",
        "",
    );
    fake.on(
        "--context default network ls *",
        0,
        "net-demo\tbot-bottle-bundle-demo\nnet-gone\tbot-bottle-bundle-gone\n",
        "",
    );
    let found = bundle("demo", &[(8080, 49153)]) + &network("demo", true) + &network("gone", false);
    fake.on("--context default *inspect*", 0, &found, "");
    fake
}

/// With `--contexts`, every `--json` output follows the schema: each bottle object and `down`'s
/// and `gc`'s elements carry `context`, `env` has `BOTTLE_CONTEXT`, `up`'s object `skipped` and
/// `unanswered`, and a dead context makes the one error object with `contexts` and `partial`
/// (itself the command's own shape).
#[test]
fn fleet_json_follows_the_schema() {
    let fake = fleet_engine(false);
    let f = ["--contexts", "default,pod"];
    let with = |args: &[&'static str]| [&f[..], args].concat();
    let ls = check("ls", &run(&fake, &with(&["ls", "--json"]), 0));
    assert_eq!(ls[0]["context"], "default");
    let status = check(
        "status",
        &run(&fake, &with(&["status", "demo", "--json"]), 0),
    );
    assert_eq!(status["context"], "default");
    let env = check("env", &run(&fake, &with(&["env", "demo", "--json"]), 0));
    assert_eq!(env["BOTTLE_CONTEXT"], "default");
    check("port", &run(&fake, &with(&["port", "demo", "--json"]), 0));
    let gc = check("gc", &run(&fake, &with(&["gc", "--dry-run", "--json"]), 0));
    assert_eq!(gc[0]["context"], "default");
    let down = check("down", &run(&fake, &with(&["down", "demo", "--json"]), 0));
    assert_eq!(down[0]["context"], "default");
    check("down", &run(&fake, &with(&["down", "--all", "--json"]), 0));
    // `up`'s object says which contexts were not asked: both lists, always, empty here.
    let up = check("up", &run(&fake, &with(&["up", "demo", "--json"]), 0));
    assert_eq!(
        (&up["skipped"], &up["unanswered"]),
        (&json!([]), &json!([]))
    );
    let mut wrong = up.clone();
    wrong["unanswered"] = json!("pod");
    rejects("up", wrong);

    let fake = fleet_engine(true);
    // `up` exits 0 when its bottle came up; its object names the dead context.
    let up = check("up", &run(&fake, &with(&["up", "demo", "--json"]), 0));
    assert_eq!(
        (&up["context"], &up["unanswered"]),
        (&json!("default"), &json!(["pod"]))
    );
    for (def, args) in [
        ("ls", &["ls", "--json"][..]),
        ("status", &["status", "demo", "--json"]),
        ("down", &["down", "--all", "--json"]),
        ("gc", &["gc", "--json"]),
    ] {
        let e = check("error", &run(&fake, &with(args), 1));
        assert_eq!(e["error"]["contexts"][0]["context"], "pod", "{args:?}");
        check(def, &e["error"]["partial"].to_string());
    }
}
