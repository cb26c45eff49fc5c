//! The binary's command line: `plan`, `subnet`, `--help`, and refusal of bad input before any
//! engine command runs.

use crate::fake::{Fake, bottle_cmd};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    bottle::cli::Cli::command().debug_assert();
}

#[test]
fn plan_of_the_issue_example() {
    let fake = Fake::new();
    let args = [
        "plan", "demo", "--image", "img", "-p", "8080", "-e", "TOKEN=x", "-v", "/a:/b:ro",
    ];
    let first = fake.bottle(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    insta::assert_snapshot!(text, @"
    docker network create --driver bridge --subnet 10.213.150.0/24 --gateway 10.213.150.1 --ip-range 10.213.150.128/25 --label 'bottle.role=network' --label 'bottle.run=<run-id>' --label 'bottle.slug=demo' --label 'bottle.subnet=10.213.150.0/24' bot-bottle-bundle-demo
    docker run --detach --name bot-bottle-sidecars-demo --network bot-bottle-bundle-demo --ip 10.213.150.2 --label 'bottle.role=bundle' --label 'bottle.run=<run-id>' --label 'bottle.slug=demo' --label 'bottle.spec=9e6f867862bb30015fd29c900a194bba3b42972ab3e9d4c75c7a27b5bc1fd2ae' --env 'BOT_BOTTLE_SIDECAR_DAEMONS=egress,pipelock' --env-file /dev/fd/3 --volume /a:/b:ro --publish 127.0.0.1::8080 --pull missing img
    docker container inspect --format '{{json .}}' bot-bottle-sidecars-demo
    ");
    // Deterministic, secret-free, and it ran nothing.
    assert_eq!(stdout(&fake.bottle(&args)), text);
    assert!(!text.contains("TOKEN=x") && !text.contains("=x "));
    assert!(fake.calls().is_empty());
}

#[test]
fn plan_json_is_argv_arrays_with_context() {
    let fake = Fake::new();
    let out = fake.bottle(&[
        "--context",
        "remote",
        "plan",
        "demo",
        "--json",
        "--image",
        "img",
        "-e",
        "K=v",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let argvs: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(argvs.len(), 3);
    for argv in &argvs {
        assert_eq!(argv[..3], ["docker", "--context", "remote"]);
        assert!(argv.iter().all(|a| !a.contains("K=v")));
    }
}

#[test]
fn global_options_go_after_the_subcommand_too() {
    let out = bottle_cmd()
        .args([
            "subnet",
            "demo",
            "--pool",
            "10.9.0.0/16",
            "--block",
            "26",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["slug"], "demo");
    assert!(v["subnet"].as_str().unwrap().ends_with("/26"));
}

#[test]
fn help_teaches() {
    let out = bottle_cmd().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in [
        "up",
        "down",
        "plan",
        "subnet",
        "port",
        "status",
        "ls",
        "gc",
        "--engine",
        "--prefix",
        "--pool",
        "Exit codes",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}:\n{text}");
    }
    let out = bottle_cmd().args(["up", "--help"]).output().unwrap();
    let text = stdout(&out);
    for needle in [
        "--image",
        "--daemons",
        "--env",
        "--volume",
        "--publish",
        "--publish-ip",
        "--pull",
        "--config",
        "--allow-nonloopback",
    ] {
        assert!(text.contains(needle), "up --help lacks {needle}:\n{text}");
    }
}

/// Each class of invalid input: exit 2, one line on stderr, and no engine command.
#[test]
fn bad_input_is_refused_before_any_engine_command() {
    let dir = tempfile::tempdir().unwrap();
    let unknown_key = dir.path().join("unknown.toml");
    std::fs::write(&unknown_key, "image = \"x\"\nimagee = \"y\"\n").unwrap();
    let unknown_key = unknown_key.to_str().unwrap();
    let long_slug = "s".repeat(41);
    let cases: &[(&[&str], &str)] = &[
        (&["up", "Demo"], "invalid slug"),
        (&["up", "-demo"], "unexpected argument"),
        (&["up", "demo-"], "invalid slug"),
        (&["up", &long_slug], "invalid slug"),
        (&["up", "demo", "--prefix", "BAD"], "invalid prefix"),
        (
            &[
                "up",
                "ssssssssssssssssssssssssssssssssssssssss",
                "--prefix",
                "pppppppppppppppppppp",
            ],
            "over the limit of 63",
        ),
        (&["up", "demo", "--image=-x"], "invalid image reference"),
        (&["up", "demo", "--image", "a b"], "invalid image reference"),
        (&["up", "demo", "-e", "1BAD=x"], "invalid env key"),
        (&["up", "demo", "-e", "A=multi\nline"], "bare name"),
        (&["up", "demo", "-v", "rel:/b"], "invalid volume"),
        (&["up", "demo", "-v", "/a,b:/b"], "invalid volume"),
        (&["up", "demo", "-v", "/a:/b:rx"], "invalid volume mode"),
        (&["up", "demo", "-p", "0"], "invalid port"),
        (&["up", "demo", "-p", "65536"], "invalid port"),
        (&["up", "demo", "-p", "80", "-p", "80"], "published twice"),
        (
            &["up", "demo", "--publish-ip", "0.0.0.0"],
            "not a loopback address",
        ),
        (&["up", "demo", "--pool", "fd00::/64"], "invalid pool"),
        (
            &["up", "demo", "--pool", "10.0.0.0/25", "--block", "24"],
            "too small",
        ),
        (&["up", "demo", "--block", "30"], "invalid block"),
        (&["up", "demo", "--config", unknown_key], "unknown field"),
        (&["up", "demo", "--daemons", "a b"], "invalid daemon name"),
        (&["down", "Nope"], "invalid slug"),
        (&["port", "demo", "http"], "invalid port"),
        (&["status", "a_b"], "invalid slug"),
        (&["plan", "demo", "-e", "BAD-KEY"], "invalid env key"),
        (&["subnet", "UPPER"], "invalid slug"),
    ];
    for (args, needle) in cases {
        let fake = Fake::new();
        let out = fake.bottle(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(fake.calls().is_empty(), "{args:?} ran {:?}", fake.calls());
        if !needle.starts_with("unexpected") {
            assert_eq!(
                err.trim_end().lines().count(),
                1,
                "{args:?}: one line, got {err}"
            );
        }
    }
}

#[test]
fn a_missing_engine_is_exit_69() {
    let out = bottle_cmd()
        .args(["--engine", "/nonexistent/docker", "status", "demo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    assert!(stderr(&out).contains("was not found"));
}
