//! Issue 17's fleet on real engines (gated like `real.rs`): the local dockerd through the docker
//! context `default` and a podman service of the test's own through a docker context `pod` (see
//! [`crate::private_engines`]), and native podman through podman connections. One run places
//! slugs by the published rule, lists and reads them across the engines, stops the podman service
//! and checks what every command does with one engine down (and with all of them down), starts
//! it again, races two processes with the context list in both orders, and removes everything.
//!
//! Each step's time and outcome go to stderr as a table past the harness's capture (the issue's
//! closing note): where each test slug went, and what each command did with `pod` down.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::private_engines::{
    DockerContexts, PodmanConnections, PodmanService, fingerprint, skip, temp_dir,
};
use crate::real::{Bottles, clis, json};
use crate::schema;

const TEST: &str = "the fleet test";

/// The slugs `up` places over `default,pod`: three go to `default` and five to `pod` by the rule.
const SLUGS: [&str; 8] = ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"];

/// The slugs two processes each bring up at once, with the list in both orders: the rule puts
/// `race` on `default` and `race2` on `pod`.
const RACES: [&str; 2] = ["race", "race2"];

/// The first choice of `slug` over `contexts`, from `fixtures/placement-vectors.json` (made by
/// the independent implementation, `scripts/placement_vectors.py`), with the two scores.
fn vector(slug: &str, contexts: &[&str]) -> (String, Vec<String>) {
    static VECTORS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    let all = VECTORS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/placement-vectors.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    });
    let v = all
        .iter()
        .find(|v| v["slug"] == slug && v["contexts"] == serde_json::json!(contexts))
        .unwrap_or_else(|| {
            panic!(
                "no vector for `{slug}` over {contexts:?}: add it to scripts/placement_vectors.py"
            )
        });
    let scores = v["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (v["order"][0].as_str().unwrap().to_string(), scores)
}

/// What one bottle command did.
struct Run {
    args: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    ms: u128,
}

impl Run {
    fn of(args: &[&str], out: std::process::Output, started: Instant) -> Run {
        Run {
            args: args.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            ms: started.elapsed().as_millis(),
        }
    }

    #[track_caller]
    fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "`bottle {}`: stdout {}\nstderr {}",
            self.args,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The stderr lines that mention `needle`.
    fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains(needle)).collect()
    }

    /// The one stderr line naming `context` as dead with the engine's reason (`bottle: context
    /// `pod` did not answer: REASON`).
    #[track_caller]
    fn names_dead(&self, context: &str) -> String {
        let want = format!("context `{context}` did not answer: ");
        let lines = self.lines_with(&want);
        assert_eq!(
            lines.len(),
            1,
            "`bottle {}`: want one line with {want:?}: {}",
            self.args,
            self.stderr
        );
        assert!(lines[0].starts_with("bottle: "), "{}", lines[0]);
        lines[0].to_string()
    }
}

/// bottle with a fleet's environment: the test's prefix, the engine CLI and the private config.
struct Fleet<'a> {
    guard: &'a Bottles,
    env: Vec<(String, String)>,
}

impl Fleet<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.guard.command(args);
        cmd.env_remove("BOTTLE_CONTEXTS")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        Run::of(args, self.command(args).output().unwrap(), started)
    }

    /// Start it without waiting, with a lock directory of its own (as a process on another host).
    fn spawn(&self, args: &[&str], runtime: &Path) -> Child {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new().mode(0o700).create(runtime);
        self.command(args)
            .env("XDG_RUNTIME_DIR", runtime)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// This test's bundles and networks on one engine, by name (`PREFIX-sidecars-SLUG` and
/// `PREFIX-bundle-SLUG`), sorted.
fn objects(on: &Bottles) -> Vec<String> {
    let mut names = on.leftovers();
    names.sort();
    names
}

fn bundle(on: &Bottles, slug: &str) -> String {
    format!("{}-sidecars-{slug}", on.prefix)
}

/// `(slug, context)` of each bottle object, in the order given.
fn placed(bottles: &Value) -> Vec<(String, String)> {
    bottles
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {bottles}"))
        .iter()
        .map(|b| {
            let context = b["context"]
                .as_str()
                .unwrap_or_else(|| panic!("no `context`: {b}"));
            (b["slug"].as_str().unwrap().to_string(), context.to_string())
        })
        .collect()
}

/// The one stderr line saying that `slug` went to `to`, the next by score, because its first
/// choice did not answer.
#[track_caller]
fn moved(run: &Run, slug: &str, to: &str) -> String {
    let want = format!("`{slug}` goes to `{to}`, the next by placement score");
    let lines = run.lines_with(&want);
    assert_eq!(
        lines.len(),
        1,
        "want one line with {want:?}: {}",
        run.stderr
    );
    lines[0].to_string()
}

/// `ls --format table`: slug to context, from the CONTEXT column (right after SLUG).
fn table(stdout: &str) -> BTreeMap<String, String> {
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header.get(..2), Some(&["SLUG", "CONTEXT"][..]), "{stdout}");
    lines
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_string(), cols[1].to_string())
        })
        .collect()
}

/// `ls` piped: slug to context, the last of eight tab-separated fields (the seven of one engine
/// keep their places).
fn piped(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            assert_eq!(fields.len(), 8, "{l:?}");
            (fields[0].to_string(), fields[7].to_string())
        })
        .collect()
}

/// The steps of the run and what each did, printed as a table at the end.
#[derive(Default)]
struct Notes {
    rows: Vec<String>,
}

impl Notes {
    fn step(&mut self, what: &str, run: &Run, outcome: &str) {
        let code = run.code.map_or("signal".to_string(), |c| c.to_string());
        self.rows.push(format!(
            "  {what:<48} exit {code:<3} {:>6} ms  {outcome}",
            run.ms
        ));
    }

    fn line(&mut self, text: String) {
        self.rows.push(text);
    }

    fn print(&self, title: &str) {
        let text = format!("{title}\n{}\n", self.rows.join("\n"));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

/// The first stderr line that is not a dead context's, shortened, for the table.
fn said(run: &Run) -> String {
    let line = run
        .stderr
        .lines()
        .find(|l| !l.contains("did not answer:"))
        .or_else(|| run.stderr.lines().next())
        .unwrap_or("");
    line.chars().take(110).collect()
}

/// Issue 17: "a launcher that spreads bottles over three hosts must loop over contexts by hand
/// and invent its own placement; `bottle --contexts default,pod up f1 ... f8` is an unknown
/// option". Now the rule places the slugs (checked against the independent vectors), `ls`,
/// `status`, `port` and `env` find them on whichever engine holds them, one engine down is not
/// the fleet down (and all down exits 69), and two processes with the list in both orders bring
/// up one bottle.
#[test]
fn fleet_over_dockerd_and_a_podman_service_places_lists_and_survives_one_engine_down() {
    let Some(paths) = clis() else { return };
    let docker = paths
        .iter()
        .filter(|p| !p.podman && p.env.is_empty())
        .max_by_key(|p| Some(&p.program) == std::env::var("BOTTLE_TEST_DOCKER").ok().as_ref());
    let native = paths.iter().find(|p| p.podman && p.env.is_empty());
    let (Some(docker), Some(native)) = (docker, native) else {
        // Not listed is not unreachable: a run without podman (BOTTLE_SETUP_PODMAN=0) says so.
        let _ = writeln!(
            std::io::stderr(),
            "skipping {TEST}: it needs a `docker:` and a `podman:` engine path in BOTTLE_TEST_PATHS"
        );
        return;
    };
    if native.image != docker.image {
        // One `up` names one image for both engines.
        let _ = writeln!(
            std::io::stderr(),
            "skipping {TEST}: BOTTLE_TEST_IMAGE_PODMAN names another image than docker's"
        );
        return;
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    // What the docker CLI and podman read: `~/.config` as a whole is not this test's to watch
    // (fish, run by the completion test at the same time, keeps its variables there).
    let user_config = [
        Path::new(&home).join(".docker"),
        Path::new(&home).join(".config/containers"),
    ];
    let before: Vec<Vec<String>> = user_config.iter().map(|d| fingerprint(d)).collect();

    let dir = temp_dir("fleet");
    let mut service = PodmanService::start(&native.program, &dir.0, &docker.program);
    let nobody = format!("unix://{}/nobody.sock", dir.0.display());
    let contexts = DockerContexts::new(
        &docker.program,
        dir.0.join("docker"),
        &[("pod", &service.url), ("dead", &nobody)],
    );
    // Cleanup on both engines, failure too: through native podman (podman's one store), which
    // does not need the private service to be up.
    let on_docker = Bottles::new(docker, "fl");
    let on_podman = Bottles {
        path: native.clone(),
        cli: native.program.clone(),
        prefix: on_docker.prefix.clone(),
    };
    let fleet = Fleet {
        guard: &on_docker,
        env: vec![contexts.env()],
    };
    let pool = format!("10.{}.48.0/20", 100 + std::process::id() % 100);
    let img = docker.image.clone();
    let spec = ["--image", img.as_str(), "--pool", pool.as_str()];
    let two = ["default", "pod"];
    let mut notes = Notes::default();
    let mut placement = Notes::default();

    // Placement: eight slugs in one call, each where the rule's vectors say.
    let mut args = vec!["--contexts", "default,pod", "up"];
    args.extend(SLUGS);
    args.extend(spec);
    args.extend(["-p", "8080", "--json"]);
    let up = fleet.run(&args);
    up.expect(0);
    let bottles = schema::check("up", &up.stdout);
    let got = placed(&bottles);
    let mut want = BTreeMap::new();
    for (slug, context) in &got {
        let (first, scores) = vector(slug, &two);
        assert_eq!(context, &first, "`{slug}` over default,pod");
        placement.line(format!(
            "  {slug:<5} score(default) {}  score(pod) {}  rule: {first:<8} bottle: {context}",
            scores[0], scores[1]
        ));
        want.insert(slug.clone(), context.clone());
    }
    assert_eq!(got.len(), SLUGS.len(), "{}", up.stdout);
    let of = |context: &str| -> Vec<String> {
        want.iter()
            .filter(|(_, c)| c.as_str() == context)
            .map(|(s, _)| s.clone())
            .collect()
    };
    let (on_default_slugs, on_pod_slugs) = (of("default"), of("pod"));
    let on = |context: &str| match context {
        "default" => on_default_slugs.clone(),
        _ => on_pod_slugs.clone(),
    };
    assert!(
        !on("default").is_empty() && !on("pod").is_empty(),
        "{want:?}"
    );
    // Each bundle is on the engine of its context, and only there.
    let (d, p) = (objects(&on_docker), objects(&on_podman));
    for (slug, context) in &want {
        let name = bundle(&on_docker, slug);
        assert_eq!(d.contains(&name), context == "default", "{name}: {d:?}");
        assert_eq!(p.contains(&name), context == "pod", "{name}: {p:?}");
    }
    notes.step(
        "up f1..f8 (8 slugs, one call)",
        &up,
        &format!("default: {:?}, pod: {:?}", on("default"), on("pod")),
    );

    // Listing across the engines: the table's CONTEXT column, the piped lines' last field, the
    // objects' `context`.
    let ls = fleet.run(&["--contexts", "default,pod", "ls", "--format", "table"]);
    ls.expect(0);
    assert_eq!(table(&ls.stdout), want, "{}", ls.stdout);
    notes.step(
        "ls (table)",
        &ls,
        "CONTEXT column: every slug on its context",
    );
    let ls = fleet.run(&["--contexts", "default,pod", "ls"]);
    ls.expect(0);
    assert_eq!(piped(&ls.stdout), want, "{}", ls.stdout);
    let ls = fleet.run(&["--contexts", "default,pod", "ls", "--json"]);
    ls.expect(0);
    let listed = placed(&schema::check("ls", &ls.stdout));
    let sorted: Vec<(String, String)> = want.clone().into_iter().collect();
    assert_eq!(listed, sorted, "sorted by slug: {}", ls.stdout);
    notes.step("ls --json", &ls, "every object with its `context`");
    // The other docker CLIs of the run read the same fleet.
    for other in paths
        .iter()
        .filter(|p| !p.podman && p.env.is_empty() && p.program != docker.program)
    {
        let mut cmd = fleet.command(&["--contexts", "default,pod", "ls", "--json"]);
        let out = cmd.env("BOTTLE_ENGINE", &other.program).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{other}: {text}");
        assert_eq!(placed(&json(&text)), sorted, "{other}");
    }

    // Reads find a bottle on whichever context holds it.
    let (on_pod, on_default) = (on("pod")[0].to_string(), on("default")[0].to_string());
    for (slug, context) in [(&on_pod, "pod"), (&on_default, "default")] {
        let status = fleet.run(&["--contexts", "default,pod", "status", slug, "--json"]);
        status.expect(0);
        let object = schema::check("status", &status.stdout);
        assert_eq!(object["context"], context, "{object}");
        let host_port = object["ports"][0]["host_port"].to_string();
        let port = fleet.run(&["--contexts", "pod,default", "port", slug, "8080"]);
        port.expect(0);
        assert!(
            port.stdout.trim().ends_with(&format!(":{host_port}")),
            "{slug}: `port` {} vs `status` {host_port}",
            port.stdout
        );
        let env = fleet.run(&["--contexts", "default,pod", "env", slug, "--json"]);
        env.expect(0);
        assert_eq!(
            json(&env.stdout)["BOTTLE_CONTEXT"],
            context,
            "{}",
            env.stdout
        );
        notes.step(
            &format!("status / port / env {slug}"),
            &status,
            &format!("found on `{context}`, port {host_port}"),
        );
    }
    let pods = fleet.run(&[
        "--contexts",
        "default,pod",
        "ls",
        "--filter",
        "context=pod",
        "--format",
        "{{.Slug}} {{.Context}}",
    ]);
    pods.expect(0);
    let want_pods: Vec<String> = on("pod").iter().map(|s| format!("{s} pod")).collect();
    assert_eq!(
        pods.stdout.lines().collect::<Vec<_>>(),
        want_pods,
        "{}",
        pods.stdout
    );

    // Per slug, two processes, one on each order of the list, bring up one bottle between them:
    // `race` on `default` and `race2` on `pod` by the rule, all four processes at once.
    let runtime = tempfile::tempdir().unwrap();
    let orders = ["default,pod", "pod,default"];
    let race_args = |slug: &'static str, order: &'static str| {
        let mut a = vec!["--contexts", order, "up", slug];
        a.extend(spec);
        a.push("--json");
        a
    };
    let racing: Vec<(&str, &str)> = RACES
        .iter()
        .flat_map(|slug| orders.iter().map(move |order| (*slug, *order)))
        .collect();
    let started = Instant::now();
    let racers: Vec<Child> = racing
        .iter()
        .enumerate()
        .map(|(n, (slug, order))| {
            fleet.spawn(&race_args(slug, order), &runtime.path().join(n.to_string()))
        })
        .collect();
    let outs: Vec<Run> = racers
        .into_iter()
        .zip(&racing)
        .map(|(c, (slug, order))| {
            Run::of(
                &race_args(slug, order),
                c.wait_with_output().unwrap(),
                started,
            )
        })
        .collect();
    let mut raced = Vec::new();
    for slug in RACES {
        let (first, _) = vector(slug, &two);
        assert_eq!(vector(slug, &["pod", "default"]).0, first, "{slug}");
        let mut actions = Vec::new();
        for (out, _) in outs.iter().zip(&racing).filter(|(_, (s, _))| *s == slug) {
            out.expect(0);
            let object = schema::check("up", &out.stdout);
            assert_eq!(object["context"], first.as_str(), "{object}");
            actions.push(object["action"].as_str().unwrap().to_string());
        }
        let all: Vec<String> = objects(&on_docker)
            .into_iter()
            .chain(objects(&on_podman))
            .filter(|n| n.ends_with(&format!("-{slug}")))
            .collect();
        assert_eq!(
            all,
            [
                format!("{}-bundle-{slug}", on_docker.prefix),
                format!("{}-sidecars-{slug}", on_docker.prefix)
            ],
            "one network and one bundle of `{slug}` on both engines together"
        );
        want.insert(slug.to_string(), first.clone());
        raced.push(format!(
            "`{slug}` once, on `{first}` ({})",
            actions.join(" + ")
        ));
    }
    let slowest = outs.iter().max_by_key(|r| r.ms).unwrap();
    notes.step(
        "race: up race race2, each in two orders at once",
        slowest,
        &raced.join("; "),
    );

    // One engine down.
    service.stop();
    notes.line("  -- the podman service of `pod` stopped --".into());
    let ls = fleet.run(&["--contexts", "default,pod", "ls"]);
    ls.expect(1);
    let dead_line = ls.names_dead("pod");
    let served: Vec<String> = piped(&ls.stdout).into_keys().collect();
    let docker_side: Vec<String> = want
        .iter()
        .filter(|(_, c)| c.as_str() == "default")
        .map(|(s, _)| s.clone())
        .collect();
    assert_eq!(served, docker_side, "{}", ls.stdout);
    notes.step("ls", &ls, &format!("the docker side listed; {dead_line}"));

    let ls = fleet.run(&["--contexts", "default,pod", "ls", "--json"]);
    ls.expect(1);
    let error = schema::check("error", &ls.stdout);
    let body = &error["error"];
    assert_eq!(body["exit_code"], 1, "{error}");
    let dead = body["contexts"]
        .as_array()
        .unwrap_or_else(|| panic!("{error}"));
    assert_eq!(dead.len(), 1, "{error}");
    assert_eq!(dead[0]["context"], "pod", "{error}");
    assert_eq!(dead[0]["kind"], "engine_unavailable", "{error}");
    assert_eq!(dead[0]["exit_code"], 69, "{error}");
    let partial: Vec<String> = placed(&body["partial"])
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(partial, docker_side, "{error}");
    notes.step(
        "ls --json",
        &ls,
        "error object: contexts [pod: engine_unavailable, 69], partial: the docker side",
    );

    // Found where the engines answered: its status, in `partial`, and still exit 1.
    let status = fleet.run(&["--contexts", "default,pod", "status", &on_default, "--json"]);
    status.expect(1);
    status.names_dead("pod");
    let error = schema::check("error", &status.stdout);
    assert_eq!(error["error"]["partial"]["context"], "default", "{error}");
    notes.step(
        &format!("status {on_default} --json (on default)"),
        &status,
        "its status in `partial`; `pod` named",
    );
    // Not found where the engines answered, and the dead one may hold it: exit 1, never "gone".
    let status = fleet.run(&["--contexts", "default,pod", "status", &on_pod]);
    status.expect(1);
    status.names_dead("pod");
    let may = "context `pod` did not answer, and may hold it";
    assert!(status.stderr.contains(may), "{}", status.stderr);
    notes.step(
        &format!("status {on_pod} (on pod)"),
        &status,
        &format!("not found on `default`; \"{may}\""),
    );

    // A new slug whose first choice is the dead context goes to the next by score, and says so.
    let (g1_first, _) = vector("g1", &two);
    assert_eq!(g1_first, "pod");
    let mut args = vec!["--contexts", "default,pod", "up", "g1"];
    args.extend(spec);
    args.push("--json");
    let up = fleet.run(&args);
    up.expect(0);
    up.names_dead("pod");
    let moved = moved(&up, "g1", "default");
    assert_eq!(schema::check("up", &up.stdout)["context"], "default");
    assert!(objects(&on_docker).contains(&bundle(&on_docker, "g1")));
    want.insert("g1".into(), "default".into());
    notes.step("up g1 (rule: pod)", &up, &moved);

    let down = fleet.run(&["--contexts", "default,pod", "down", &on_default, "--json"]);
    down.expect(1);
    let line = down.names_dead("pod");
    assert!(!objects(&on_docker).contains(&bundle(&on_docker, &on_default)));
    let error = schema::check("error", &down.stdout);
    assert_eq!(error["error"]["contexts"][0]["context"], "pod", "{error}");
    let done: Vec<(String, String)> = placed(&error["error"]["partial"]);
    assert!(
        done.contains(&(on_default.clone(), "default".into())),
        "the docker side's part: {error}"
    );
    want.remove(&on_default);
    notes.step(
        &format!("down {on_default} --json (on default)"),
        &down,
        &format!("removed from default, in `partial`; {line}"),
    );

    // Every context dead: 69, and nothing done.
    let ls = fleet.run(&["--contexts", "pod,dead", "ls"]);
    ls.expect(69);
    ls.names_dead("pod");
    ls.names_dead("dead");
    notes.step(
        "ls --contexts pod,dead (all dead)",
        &ls,
        "both named on stderr",
    );
    let ls = fleet.run(&["--contexts", "pod,dead", "ls", "--json"]);
    ls.expect(69);
    let error = schema::check("error", &ls.stdout);
    assert_eq!(error["error"]["exit_code"], 69, "{error}");
    assert_eq!(
        error["error"]["contexts"].as_array().map(Vec::len),
        Some(2),
        "{error}"
    );
    let before_up = objects(&on_docker);
    let mut args = vec!["--contexts", "pod,dead", "up", "g2"];
    args.extend(spec);
    let up = fleet.run(&args);
    up.expect(69);
    assert_eq!(objects(&on_docker), before_up, "nothing made on default");
    assert!(!objects(&on_podman).contains(&bundle(&on_podman, "g2")));
    notes.step("up g2 --contexts pod,dead (all dead)", &up, &said(&up));

    // The engine back: everything where it was, then down --all.
    service.start_again();
    notes.line("  -- the podman service of `pod` started again --".into());
    let ls = fleet.run(&["--contexts", "default,pod", "ls", "--json"]);
    ls.expect(0);
    let listed: BTreeMap<String, String> = placed(&schema::check("ls", &ls.stdout))
        .into_iter()
        .collect();
    assert_eq!(listed, want, "{}", ls.stdout);
    notes.step("ls --json", &ls, "every bottle where it was");
    let down = fleet.run(&["--contexts", "default,pod", "down", "--all", "--json"]);
    down.expect(0);
    let removed = schema::check("down", &down.stdout);
    assert_eq!(
        removed.as_array().map(Vec::len),
        Some(want.len()),
        "{removed}"
    );
    let said = format!("down --all said: {}\n{}", down.stdout, down.stderr);
    assert_eq!(objects(&on_docker), Vec::<String>::new(), "{said}");
    assert_eq!(objects(&on_podman), Vec::<String>::new(), "{said}");
    notes.step(
        "down --all --json",
        &down,
        &format!("{} bottles removed, none left on either engine", want.len()),
    );

    drop(on_podman);
    drop(on_docker);
    drop(service);
    drop(contexts);
    drop(dir);
    let after: Vec<Vec<String>> = user_config.iter().map(|d| fingerprint(d)).collect();
    assert_eq!(
        before, after,
        "the user's ~/.docker or ~/.config/containers changed"
    );
    placement.print(&format!(
        "fleet placement over `default,pod` ({} -> dockerd, podman service):",
        docker.program
    ));
    notes.print("fleet steps (each command and what it did):");
}

/// Issue 17 with native podman: `--engine podman --contexts svc,dead`, each name a podman
/// connection (`--connection`); the one whose rule says `dead` goes to `svc` and says so, `ls`
/// shows the context and names the dead one, `down --all` removes everything it can reach.
#[test]
fn fleet_over_podman_connections_names_the_dead_one() {
    let Some(paths) = clis() else { return };
    let Some(native) = paths.iter().find(|p| p.podman && p.env.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipping the podman-connection fleet test: no `podman:` engine path in BOTTLE_TEST_PATHS"
        );
        return;
    };
    let Some(cli) = paths
        .iter()
        .find(|p| !p.podman)
        .map(|p| p.program.clone())
        .or_else(|| std::env::var("BOTTLE_TEST_DOCKER").ok())
    else {
        return skip(
            "the podman-connection fleet test",
            "no docker CLI to check the private podman service",
        );
    };
    let dir = temp_dir("pconn");
    let service = PodmanService::start(&native.program, &dir.0, &cli);
    let nobody = format!("unix://{}/nobody.sock", dir.0.display());
    let connections = PodmanConnections::new(
        dir.0.join("containers.conf"),
        &[("svc", &service.url), ("dead", &nobody)],
    );
    let guard = Bottles::new(native, "flp");
    let fleet = Fleet {
        guard: &guard,
        env: vec![connections.env()],
    };
    let conns = ["svc", "dead"];
    let pool = format!("10.{}.144.0/20", 100 + std::process::id() % 100);
    let mut notes = Notes::default();

    assert_eq!(vector("n1", &conns).0, "svc");
    assert_eq!(vector("p1", &conns).0, "dead");
    let up = fleet.run(&[
        "--engine",
        &native.program,
        "--contexts",
        "svc,dead",
        "up",
        "n1",
        "p1",
        "--image",
        &native.image,
        "--pool",
        &pool,
        "--json",
    ]);
    up.expect(0);
    up.names_dead("dead");
    let moved = moved(&up, "p1", "svc");
    assert_eq!(
        up.lines_with("goes to").len(),
        1,
        "only `p1` moved: {}",
        up.stderr
    );
    let got = placed(&schema::check("up", &up.stdout));
    assert_eq!(
        got,
        [("n1".into(), "svc".into()), ("p1".into(), "svc".into())]
    );
    notes.step("up n1 p1 (rules: svc, dead)", &up, &moved);

    let ls = fleet.run(&[
        "--engine",
        &native.program,
        "--contexts",
        "svc,dead",
        "ls",
        "--format",
        "table",
    ]);
    ls.expect(1);
    let line = ls.names_dead("dead");
    let rows: Vec<(String, String)> = table(&ls.stdout).into_iter().collect();
    assert_eq!(rows, got, "{}", ls.stdout);
    notes.step("ls", &ls, &line);

    let down = fleet.run(&[
        "--engine",
        &native.program,
        "--contexts",
        "svc,dead",
        "down",
        "--all",
    ]);
    down.expect(1);
    down.names_dead("dead");
    assert_eq!(objects(&guard), Vec::<String>::new());
    notes.step("down --all", &down, "both removed from svc; `dead` named");
    drop(guard);
    drop(service);
    drop(dir);
    notes.print("fleet over podman connections `svc,dead` (native podman):");
}

/// The fixtures hold a vector for every slug and context list the fleet tests place.
#[test]
fn the_fleet_tests_slugs_have_placement_vectors() {
    let two = ["default", "pod"];
    for slug in SLUGS.iter().chain(&["g1"]).chain(&RACES) {
        vector(slug, &two);
    }
    for slug in RACES {
        vector(slug, &["pod", "default"]);
    }
    for slug in ["n1", "p1"] {
        vector(slug, &["svc", "dead"]);
    }
}
