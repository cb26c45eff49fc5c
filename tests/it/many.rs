//! Many bottles in one call (`up A B C`, `down A B C`, `--parallel N`): each reported in the order
//! given, one failure not stopping the others, the exit code the first failure's. Against the fake
//! engine, then (gated) the real one.

use std::process::Output;

use crate::fake::{Fake, container_json};
use crate::real::{Bottles, clis, image, json};

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rules on `fake` under which `up` of each of `slugs` (default prefix, spec [`UP_SPEC`])
/// succeeds: `network create` prints an ID, and `container inspect` of each bundle shows it
/// running. Rules match in order, so any added before these win.
fn up_succeeds(fake: &mut Fake, slugs: &[&str]) {
    fake.on("network create*", 0, "net1\n", "");
    for slug in slugs {
        let sub = fake.bottle(&["subnet", slug, "--json"]);
        let sub: serde_json::Value = serde_json::from_slice(&sub.stdout).unwrap();
        let name = format!("bot-bottle-sidecars-{slug}");
        let bundle = container_json(
            &name,
            &format!("id-{slug}"),
            "running",
            &[("bottle.role", "bundle"), ("bottle.slug", slug)],
            &format!("bot-bottle-bundle-{slug}"),
            sub["bundle_ip"].as_str().unwrap(),
            &[(8080, 49153)],
        );
        fake.on(&format!("container inspect *{name}"), 0, &bundle, "");
    }
}

const UP_SPEC: &[&str] = &["--image", "img", "-p", "8080"];

fn args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

/// `up` of several slugs reports them in the order given, whatever order they finish in: the
/// first slug's `run` is the slowest.
#[test]
fn up_of_several_slugs_reports_in_the_order_given() {
    let slugs = ["c", "a", "b"];
    let mut fake = Fake::new();
    fake.on_sh("run *--name bot-bottle-sidecars-c *", "sleep 0.5");
    up_succeeds(&mut fake, &slugs);
    let out = fake.bottle(&args(&["up", "c", "a", "b", "--parallel", "3"], UP_SPEC));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (line, slug) in lines.iter().zip(slugs) {
        assert!(
            line.starts_with(&format!("bottle {slug}: running, created, 10.213.")),
            "{lines:?}"
        );
        assert!(line.ends_with(", 8080/tcp -> 127.0.0.1:49153"), "{line}");
    }
}

/// `up` of several slugs that publish ports runs their bundles at once on a local engine (with
/// its locks): each `run` notes how many others are in flight as it begins. The `loopback` lock
/// used to be held through `run`, so every bundle's `run` waited for the one before it (`up` of
/// 32 slugs took as long as 32 one after another; `scripts/bench.sh` measured 0.95 of the raw
/// CLI's time against its target of 0.6). `c39` and `c394` get the same first candidate from
/// the host-port rule (127.0.0.1:23931 for 8080): neither bundle exists when the other chooses,
/// so only the first one's claim keeps the second off its port.
#[test]
fn bundles_that_publish_ports_run_at_once_on_ports_of_their_own() {
    let slugs = ["c39", "c394", "a", "b"];
    let mut fake = Fake::new();
    let d = fake.state_dir().display().to_string();
    fake.on_sh(
        "run *",
        &format!(
            "ls {d} | grep -c '^inflight' >> {d}/seen; : > {d}/inflight.$$; sleep 1; rm {d}/inflight.$$"
        ),
    );
    up_succeeds(&mut fake, &slugs);
    let runtime = tempfile::tempdir().unwrap();
    let mut up = args(&["up", "--parallel", "4"], UP_SPEC);
    up.extend(slugs);
    let mut cmd = fake.command(&up);
    // A local engine (the fake ignores DOCKER_HOST), so bottle takes its locks.
    cmd.env_remove("DOCKER_HOST")
        .env("XDG_RUNTIME_DIR", runtime.path());
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let seen = std::fs::read_to_string(fake.state_dir().join("seen")).unwrap();
    let most: u32 = seen
        .lines()
        .map(|l| l.trim().parse::<u32>().unwrap())
        .max()
        .unwrap();
    assert!(
        most >= 1,
        "no `run` began while another was in flight: {seen:?}"
    );
    let published: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.first().is_some_and(|v| v == "run"))
        .filter_map(|c| c.iter().find(|a| a.starts_with("127.0.0.1:")).cloned())
        .collect();
    let distinct: std::collections::BTreeSet<&String> = published.iter().collect();
    assert_eq!(distinct.len(), slugs.len(), "{published:?}");
    assert!(
        published.contains(&"127.0.0.1:23931:8080".to_string()),
        "{published:?}"
    );
}

/// One slug keeps today's single object; several give an array of bottle objects with `action`,
/// in the order given.
#[test]
fn up_json_is_one_object_for_one_slug_and_an_array_for_several() {
    let mut fake = Fake::new();
    up_succeeds(&mut fake, &["a", "b"]);
    let out = fake.bottle(&args(&["up", "a", "--json"], UP_SPEC));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let one = json(&text(&out.stdout));
    assert_eq!(one["slug"], "a");
    assert_eq!(one["action"], "created");

    let out = fake.bottle(&args(&["up", "b", "a", "--json"], UP_SPEC));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let many = json(&text(&out.stdout));
    let many = many.as_array().expect("an array");
    let slugs: Vec<&str> = many.iter().map(|b| b["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["b", "a"]);
    assert!(many.iter().all(|b| b["action"] == "created"), "{many:?}");
    assert_eq!(many[1]["network"], one["network"]);
}

/// A bottle whose `run` fails is rolled back and reported alone; the others come up. Its error is
/// printed once, and the exit code is its.
#[test]
fn a_failed_up_does_not_stop_the_others() {
    let mut fake = Fake::new();
    fake.on(
        "run *--name bot-bottle-sidecars-b *",
        125,
        "",
        "docker: Error response from daemon: boom.\nSee 'docker run --help'.\n",
    );
    // The rest as for a good `up`; rules match in order, so `b`'s `run` fails.
    up_succeeds(&mut fake, &["a", "c"]);
    // One at a time, so `c` starts only after `b` failed.
    let out = fake.bottle(&args(
        &["up", "a", "b", "c", "--json", "--parallel", "1"],
        UP_SPEC,
    ));
    let err = text(&out.stderr);
    assert_eq!(code(&out), 1, "{err}");
    let report = json(&text(&out.stdout));
    let report = report.as_array().expect("an array");
    assert_eq!(report.len(), 3, "{report:?}");
    assert_eq!(report[0]["action"], "created");
    assert_eq!(report[1]["slug"], "b");
    assert_eq!(report[1]["error"]["exit_code"], 1);
    assert!(
        report[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("boom"),
        "{report:?}"
    );
    assert_eq!(report[2]["action"], "created");
    assert_eq!(err.matches("boom").count(), 1, "printed once: {err}");
    assert!(err.starts_with("bottle: b: "), "{err}");
}

/// `down` of several slugs works them at once (each `inspect` waits until all three have begun)
/// and reports in the order given.
#[test]
fn down_of_several_slugs_runs_them_at_once_and_reports_in_order() {
    let mut fake = Fake::new();
    for slug in ["c", "a", "b"] {
        // Each look notes that it began, then waits (at most 5 s) for the other two.
        let sh = format!(
            r#": > "$D/began.{slug}"
for i in $(seq 50); do [ -e "$D/began.a" ] && [ -e "$D/began.b" ] && [ -e "$D/began.c" ] && break; sleep 0.1; done
[ -e "$D/began.a" ] && [ -e "$D/began.b" ] && [ -e "$D/began.c" ] && : > "$D/together.{slug}"
"#
        );
        std::fs::write(fake.state_dir().join(format!("look.{slug}.sh")), sh).unwrap();
    }
    for slug in ["c", "a", "b"] {
        let missing = format!(
            "Error: No such object: bot-bottle-sidecars-{slug}\nError: No such object: bot-bottle-bundle-{slug}\n"
        );
        fake.on_sh(
            &format!("inspect *bot-bottle-sidecars-{slug} *"),
            &format!(r#". "$D/look.{slug}.sh"; printf '\n'; printf '{missing}' >&2; exit 1"#),
        );
    }
    let out = fake.bottle(&["down", "c", "a", "b", "--parallel", "3"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "bottle c: already gone\nbottle a: already gone\nbottle b: already gone\n"
    );
    for slug in ["a", "b", "c"] {
        assert!(
            fake.state_dir().join(format!("together.{slug}")).exists(),
            "the look at `{slug}` never ran beside the other two"
        );
    }
}

/// With `--parallel 1` no two bottles are worked on at once: each look notes whether another is
/// running. (That several are, with `--parallel 3`, is the test above.)
#[test]
fn parallel_one_works_one_bottle_at_a_time() {
    let mut fake = Fake::new();
    for slug in ["a", "b", "c"] {
        let missing = format!(
            "Error: No such object: bot-bottle-sidecars-{slug}\nError: No such object: bot-bottle-bundle-{slug}\n"
        );
        fake.on_sh(
            &format!("inspect *bot-bottle-sidecars-{slug} *"),
            &format!(
                r#"ls "$D" | grep -q '^busy' && : > "$D/overlap"; : > "$D/busy.{slug}"; sleep 0.2; rm "$D/busy.{slug}"; printf '\n'; printf '{missing}' >&2; exit 1"#
            ),
        );
    }
    let out = fake.bottle(&["down", "a", "b", "c", "--parallel", "1"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!fake.state_dir().join("overlap").exists());
}

/// `--parallel` outside 1..=64 (flag or environment) is one usage line, exit 2, nothing run.
#[test]
fn parallel_out_of_range_is_a_usage_error() {
    let fake = Fake::new();
    for (args, env) in [
        (vec!["down", "a", "--parallel", "0"], None),
        (vec!["down", "a", "--parallel", "65"], None),
        (vec!["down", "a"], Some("x")),
    ] {
        let mut cmd = fake.command(&args);
        if let Some(v) = env {
            cmd.env("BOTTLE_PARALLEL", v);
        }
        let out = cmd.output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("--parallel") && err.contains("1 to 64"),
            "{err}"
        );
    }
    assert!(fake.calls().is_empty());
}

/// The real engine: `up` of four slugs with `--parallel 3` (every one reported, all running, on
/// distinct subnets, each lock wait said once); then a slug whose bundle name a foreign container
/// holds fails alone with exit 1 while a new slug comes up and an old one is kept; then `down` of
/// them all: all gone, the foreign container untouched.
#[test]
fn up_and_down_of_several_slugs() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("many{i}"));
        // A pool of its own, so this test collides with no other.
        let pool = format!("10.{}.0.0/20", 170 + i);
        let img = image();
        let slugs = ["m1", "m2", "m3", "m4"];
        let mut up = vec!["up"];
        up.extend(slugs);
        up.extend(["--image", &img, "-p", "8080", "--parallel", "3", "--json"]);
        up.extend(["--pool", &pool]);
        let out = b.bottle(&up);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 0, "{cli}: {err}");
        // Threads of one process wait on the same locks: each wait is said once.
        let mut said: Vec<&str> = err.lines().collect();
        said.sort();
        let before = said.len();
        said.dedup();
        assert_eq!(said.len(), before, "{cli}: {err}");
        let report = json(&text(&out.stdout));
        let report = report.as_array().expect("an array");
        let got: Vec<&str> = report.iter().map(|o| o["slug"].as_str().unwrap()).collect();
        assert_eq!(got, slugs, "{cli}");
        let mut subnets: Vec<&str> = report
            .iter()
            .map(|o| o["network"]["subnet"].as_str().unwrap())
            .collect();
        subnets.sort();
        subnets.dedup();
        assert_eq!(subnets.len(), slugs.len(), "{cli}: {report:?}");
        for (o, slug) in report.iter().zip(slugs) {
            assert_eq!(o["action"], "created", "{cli}: {o}");
            let state = b.docker_out(&[
                "inspect",
                "--format",
                "{{.State.Status}}",
                &format!("{}-sidecars-{slug}", b.prefix),
            ]);
            assert_eq!(state, "running", "{cli}: {slug}");
        }

        // A foreign container holds the bundle name of `bad`: it alone fails.
        let foreign = format!("{}-sidecars-bad", b.prefix);
        let made = b.docker(&["create", "--name", &foreign, &img, "sleep", "60"]);
        assert!(made.status.success(), "{}", text(&made.stderr));
        let mut up = vec!["up", "m5", "bad", "m1"];
        up.extend(["--image", &img, "-p", "8080", "--parallel", "3"]);
        up.extend(["--pool", &pool]);
        let out = b.bottle(&up);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 1, "{cli}: {err}");
        // The one failure, once; at most a lock-wait line besides (said once per process).
        let failed: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("bottle: waiting for another bottle process"))
            .collect();
        assert_eq!(failed.len(), 1, "{cli}: {err}");
        assert!(failed[0].starts_with("bottle: bad: "), "{cli}: {err}");
        assert!(failed[0].contains("lacks bottle's labels"), "{cli}: {err}");
        let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 2, "{cli}: {lines:?}");
        assert!(
            lines[0].starts_with("bottle m5: running, created"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("bottle m1: running, kept"),
            "{lines:?}"
        );

        let slugs = ["m1", "m2", "m3", "m4", "m5"];
        let mut down = vec!["down"];
        down.extend(slugs);
        down.extend(["--parallel", "3"]);
        let out = b.ok(&down);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), slugs.len(), "{out}");
        for (line, slug) in lines.iter().zip(slugs) {
            assert!(
                line.starts_with(&format!("bottle {slug}: removed ")),
                "{out}"
            );
        }
        assert_eq!(
            b.leftovers(),
            std::slice::from_ref(&foreign),
            "{cli}: only the foreign one is left"
        );
        b.docker(&["rm", "-f", &foreign]);
    }
}

/// A signal while the first of several `down`s runs: that removal finishes, no further bottle
/// starts (each is reported as interrupted, once), and the exit code is 130.
#[test]
fn a_signal_starts_no_further_bottle() {
    let mut fake = Fake::new();
    let missing = "Error: No such object: bot-bottle-sidecars-a\nError: No such object: bot-bottle-bundle-a\n";
    // The engine's parent is bottle: the look at `a` interrupts it, then answers.
    fake.on_sh(
        "inspect *bot-bottle-sidecars-a *",
        &format!(r#"kill -INT $PPID; sleep 0.3; printf '\n'; printf '{missing}' >&2; exit 1"#),
    );
    let out = fake.bottle(&["down", "a", "b", "c", "--parallel", "1"]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 130, "{err}");
    assert_eq!(text(&out.stdout), "bottle a: already gone\n");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "bottle: b: interrupted before it started; nothing was removed",
            "bottle: c: interrupted before it started; nothing was removed",
        ],
        "{err}"
    );
    assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
}
