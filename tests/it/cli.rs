//! The binary's command line: `plan`, `subnet`, `--help`, refusal of bad input before any engine
//! command runs, and the commands for people (`ls`, `port`, `logs`, `version`, `doctor`,
//! completions). Terminal cases run under `script`, which gives the binary a pty.

use std::process::{Command, Stdio};

use crate::fake::{Fake, bottle_cmd, container_json, network_json, with_env};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
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
    docker network create --driver bridge '--ipv6=false' --subnet 10.213.150.0/24 --gateway 10.213.150.1 --ip-range 10.213.150.128/25 --label 'bottle.role=network' --label 'bottle.run=<run-id>' --label 'bottle.slug=demo' --label 'bottle.subnet=10.213.150.0/24' bot-bottle-bundle-demo
    docker run --detach --name bot-bottle-sidecars-demo --network bot-bottle-bundle-demo --ip 10.213.150.2 --label 'bottle.endpoints=127.0.0.1:26435->8080/tcp' --label 'bottle.env=TOKEN' --label 'bottle.parts=daemons=46aa07bc,env=2e00b4f2,image=2081a406,publish=977b0426,publish_ip=88270499,volumes=bdd465ab' --label 'bottle.role=bundle' --label 'bottle.run=<run-id>' --label 'bottle.slug=demo' --label 'bottle.spec=9e6f867862bb30015fd29c900a194bba3b42972ab3e9d4c75c7a27b5bc1fd2ae' --env 'BOT_BOTTLE_SIDECAR_DAEMONS=egress,pipelock' --env-file /dev/fd/3 --volume /a:/b:ro --publish 127.0.0.1:26435:8080 --pull never img
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
        (&["up", "-demo"], "unknown option '-d' for `bottle up`"),
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
        (
            &["up", "demo", "-e", "A=multi\nline"],
            "env-file cannot carry",
        ),
        (&["up", "demo", "-v", "./rel:/b"], "invalid volume"),
        (&["up", "demo", "-v", "r$l:/b"], "invalid volume"),
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
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {err}"
        );
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

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Run `cmd` with a pty as its stdin, stdout and stderr (`script -qec`); stdout and stderr come
/// back merged, with `\r\n` made `\n`.
pub fn in_pty(cmd: Command) -> (i32, String) {
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| shlex::try_quote(a.to_str().unwrap()).unwrap().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let out = script.stdin(Stdio::null()).output().unwrap();
    (code(&out), stdout(&out).replace("\r\n", "\n"))
}

const NET: &str = "bot-bottle-bundle-demo";
const BUNDLE: &str = "bot-bottle-sidecars-demo";

fn bundle(state: &str, ports: &[(u16, u16)]) -> String {
    container_json(
        BUNDLE,
        "c1",
        state,
        &[
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
            ("bottle.expires", "2026-12-07T03:00:00Z"),
            ("bottle.ttl", "3600"),
        ],
        NET,
        "10.213.150.2",
        ports,
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

/// An engine with one running bottle `demo` publishing 8080 and 9000, and one network-only `gone`.
pub fn engine_with_bottles() -> Fake {
    let mut fake = Fake::new();
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
    fake.on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "");
    fake.on(
        "network ls *",
        0,
        "net1\tbot-bottle-bundle-demo\nnet2\tbot-bottle-bundle-gone\n",
        "",
    );
    fake.on(
        "inspect*",
        0,
        &(bundle("running", &[(8080, 49153), (9000, 49154)]) + &network() + &gone),
        "",
    );
    fake
}

#[test]
fn ls_is_a_table_on_a_terminal_and_tab_separated_when_piped() {
    let fake = engine_with_bottles();
    let (c, text) = in_pty(fake.command(&["ls"]));
    assert_eq!(c, 0, "{text}");
    insta::assert_snapshot!(text, @r"
    SLUG   STATE     SUBNET            AGE   EXPIRES   PORTS
    demo   running   10.213.150.0/24   -     expired   127.0.0.1:49153->8080/tcp,127.0.0.1:49154->9000/tcp
    gone   missing   10.213.7.0/24     -     -         -
    ");
    let out = fake.bottle(&["ls"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text,
        "demo\trunning\t10.213.150.0/24\t10.213.150.2\timg\t127.0.0.1:49153->8080/tcp,127.0.0.1:49154->9000/tcp\t2026-12-07T03:00:00Z\n\
         gone\tmissing\t10.213.7.0/24\t10.213.7.2\t-\t-\t-\n"
    );
    assert!(text.lines().all(|l| !l.ends_with('\t')));
    assert_eq!(stdout(&fake.bottle(&["ls", "-q"])), "demo\ngone\n");
    let json: serde_json::Value =
        serde_json::from_slice(&fake.bottle(&["ls", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["ports"][1]["host_port"], 49154);
}

#[test]
fn commands_that_find_nothing_say_so_on_a_terminal_only() {
    for (args, note) in [
        (&["ls"][..], "no bottles with prefix `bot-bottle`"),
        (
            &["down", "--all"][..],
            "no bottles with prefix `bot-bottle`",
        ),
        (&["gc"][..], "nothing to remove"),
    ] {
        let fake = Fake::new();
        let (c, text) = in_pty(fake.command(args));
        assert_eq!((c, text.trim_end()), (0, note), "{args:?}");
        let out = fake.bottle(args);
        assert_eq!(code(&out), 0);
        assert_eq!(
            (stdout(&out), stderr(&out)),
            (String::new(), String::new()),
            "{args:?}"
        );
    }
}

/// The binary's subcommands, in `--help` order, read from its `--help`: the clap definition is the
/// one list (the suite kept a copy of it, and a unit test checking the copy). `man` is hidden from
/// `--help` (it is for packagers), so it is added; `help` is clap's own.
fn subcommands() -> Vec<String> {
    let help = stdout(&bottle_cmd().arg("--help").output().unwrap());
    let listed = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string);
    let mut names: Vec<String> = listed.collect();
    assert!(names.len() > 10 && names[0] == "up", "{help}");
    assert!(!names.iter().any(|n| n == "man"), "`man` is hidden: {help}");
    names.push("man".to_string());
    names
}

#[test]
fn help_of_every_subcommand() {
    let snap = |name: &str, text: String| {
        insta::with_settings!({snapshot_suffix => name.to_string()}, {
            insta::assert_snapshot!(text);
        });
    };
    let out = bottle_cmd().arg("--help").output().unwrap();
    snap("bottle", stdout(&out));
    // Every subcommand, `man` (hidden) included.
    for name in subcommands() {
        // Set values must not show in help (nor change it).
        let out = bottle_cmd()
            .args([name.as_str(), "--help"])
            .env("BOTTLE_ENGINE", "/secret/path/docker")
            .env("BOTTLE_POOL", "10.99.0.0/16")
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{name}");
        let text = stdout(&out);
        assert!(
            !text.contains("/secret/path") && !text.contains("10.99."),
            "{text}"
        );
        assert!(!text.contains("BOTTLE_ENGINE=]"), "{text}");
        snap(&name, text);
    }
}

#[test]
fn help_hides_options_that_do_nothing_there_and_groups_the_rest() {
    let help = |args: &[&str]| stdout(&bottle_cmd().args(args).output().unwrap());
    let subnet = help(&["subnet", "--help"]);
    for absent in ["--engine", "--context", "--verbose", "--prefix"] {
        assert!(
            !subnet.contains(absent),
            "subnet --help shows {absent}:\n{subnet}"
        );
    }
    let plan = help(&["plan", "--help"]);
    assert!(plan.contains("--engine") && plan.contains("--context") && !plan.contains("--verbose"));
    // The globals are described once, in `bottle --help`; a command's help names those that act.
    let up = help(&["up", "--help"]);
    let spec = up.find("Spec options:").expect("a spec heading");
    let global = up.find("Global options (").expect("a global line");
    assert!(spec < up.find("--publish").unwrap() && up.find("--publish").unwrap() < global);
    assert!(global < up.find("--pool").unwrap() && !up.contains("--pool <CIDR>"));
    assert!(up.contains("Examples:"));
    // Hidden, yet still accepted where a script passes it everywhere.
    let out = bottle_cmd()
        .args(["subnet", "demo", "--verbose", "--engine", "x"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// Usage errors: one line naming the flag and what would be right, exit 2, nothing run.
#[test]
fn usage_errors_are_one_line() {
    /// Arguments, extra environment, the one line expected.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["up", "demo", "--pull", "bogus"],
            &[],
            "bottle: invalid value 'bogus' for --pull: expected missing, never or always",
        ),
        (
            &["up", "demo", "--block", "abc"],
            &[],
            "bottle: invalid value 'abc' for --block: not a whole number; expected a prefix length, from the pool's up to 29 (e.g. 24)",
        ),
        (
            &["subnet", "demo"],
            &[("BOTTLE_BLOCK", "")],
            "bottle: empty value for --block; expected a prefix length, from the pool's up to 29 (e.g. 24)",
        ),
        (
            &["up"],
            &[],
            "bottle: `bottle up` needs SLUG..., e.g. `bottle up demo`",
        ),
        (
            &["down"],
            &[],
            "bottle: `bottle down` needs SLUGS... (or --all), e.g. `bottle down demo` or `bottle down --all`",
        ),
        (
            &["up", "demo", "--imagee", "x"],
            &[],
            "bottle: unknown option '--imagee' for `bottle up`; did you mean '--image'? see `bottle up --help`",
        ),
        (
            &["frobnicate"],
            &[],
            "bottle: unknown command 'frobnicate'; see `bottle --help`",
        ),
        (
            &["up", "demo", "-p", "8080:80"],
            &[],
            "bottle: invalid port `8080:80` for -p: bottle takes a container port only (e.g. `-p 80`); bottle chooses the host port once (the host-port rule) and keeps it, and `bottle port SLUG 80` prints it",
        ),
        (
            &["port", "demo", "53/sctp"],
            &[],
            "bottle: invalid port `53/sctp`: bottle publishes TCP and UDP ports, not sctp; e.g. `8080`, `8080/tcp` or `53/udp`",
        ),
    ];
    for (args, env, want) in cases {
        let fake = Fake::new();
        let mut cmd = fake.command(args);
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(code(&out), 2, "{args:?}");
        assert_eq!(stderr(&out), format!("{want}\n"), "{args:?}");
        assert!(fake.calls().is_empty());
    }
}

#[test]
fn port_lists_every_mapping_like_docker_port() {
    let fake = engine_with_bottles();
    let out = fake.bottle(&["port", "demo"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "8080/tcp -> 127.0.0.1:49153\n9000/tcp -> 127.0.0.1:49154\n"
    );
    assert_eq!(
        stdout(&fake.bottle(&["port", "demo", "9000/tcp"])),
        "127.0.0.1:49154\n"
    );
    let one: serde_json::Value =
        serde_json::from_slice(&fake.bottle(&["port", "demo", "8080", "--json"]).stdout).unwrap();
    assert_eq!(
        one,
        serde_json::json!({"container_port": 8080, "host_ip": "127.0.0.1", "host_port": 49153, "protocol": "tcp"})
    );
    let all: serde_json::Value =
        serde_json::from_slice(&fake.bottle(&["port", "demo", "--json"]).stdout).unwrap();
    assert_eq!(all[1]["container_port"], 9000);
    let out = fake.bottle(&["port", "demo", "1234"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("run `up` again with its full spec (the same image, env, volumes and config) plus port 1234; `bottle up SLUG` with the bottle's spec (flags, `--config`, or a `bottle.toml` in the working directory) brings it up"),
        "{}",
        stderr(&out)
    );
}

/// `bottle env`: shell-evaluable lines (a value with a space is quoted), and one JSON object.
#[test]
fn env_prints_the_bottles_addresses_for_the_agent() {
    let fake = engine_with_bottles();
    let out = fake.bottle(&["env", "demo"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "export BOTTLE_SLUG=demo\nexport BOTTLE_HOST_IP=127.0.0.1\nexport BOTTLE_BUNDLE_IP=10.213.150.2\nexport BOTTLE_SUBNET=10.213.150.0/24\nexport BOTTLE_PORT_8080=127.0.0.1:49153\nexport BOTTLE_PORT_9000=127.0.0.1:49154\n"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&fake.bottle(&["env", "demo", "--json"]).stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "BOTTLE_SLUG": "demo",
            "BOTTLE_HOST_IP": "127.0.0.1",
            "BOTTLE_BUNDLE_IP": "10.213.150.2",
            "BOTTLE_SUBNET": "10.213.150.0/24",
            "BOTTLE_PORT_8080": "127.0.0.1:49153",
            "BOTTLE_PORT_9000": "127.0.0.1:49154",
        })
    );
    // A bottle with only its network: `env` fails as `port` does (issue 14), never empty values.
    for args in [
        &["env", "gone"][..],
        &["env", "gone", "--json"],
        &["port", "gone"],
    ] {
        let out = fake.bottle(args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(stderr(&out).contains("has no bundle"), "{}", stderr(&out));
        assert!(
            !stdout(&out).contains("BOTTLE_"),
            "{args:?}: {}",
            stdout(&out)
        );
    }
    assert_eq!(code(&fake.bottle(&["env", "nothing-here"])), 1);
}

/// Issue 14, item 11: with the bundle stopped, `status --json` gave `bundle.ip: null` and `env`
/// exited 0 with empty values while `port` exited 1. The address is the pinned one, and `env` and
/// `port` both fail saying the bundle is stopped.
#[test]
fn a_stopped_bundle_keeps_its_address_and_env_fails_like_port() {
    let mut fake = Fake::new();
    // A stopped bundle shows no address on its network.
    let stopped = container_json(
        BUNDLE,
        "c1",
        "exited",
        &[("bottle.role", "bundle"), ("bottle.slug", "demo")],
        NET,
        "",
        &[],
    );
    fake.on("inspect*", 0, &(stopped + &network()), "");
    let status: serde_json::Value =
        serde_json::from_slice(&fake.bottle(&["status", "demo", "--json"]).stdout).unwrap();
    assert_eq!(status["bundle"]["ip"], "10.213.150.2", "{status}");
    assert_eq!(status["bundle"]["state"], "exited", "{status}");
    let want = "bottle: the bundle of bottle `demo` is stopped (state: exited), so it publishes no port; start it again with `up` and the same spec; `bottle up SLUG` with the bottle's spec (flags, `--config`, or a `bottle.toml` in the working directory) brings it up\n";
    for args in [
        &["env", "demo"][..],
        &["env", "demo", "--json"],
        &["port", "demo"],
        &["port", "demo", "8080"],
    ] {
        let out = fake.bottle(args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stdout(&out));
        assert_eq!(stderr(&out), want, "{args:?}");
    }
}

#[test]
fn port_of_a_stopped_bundle_says_it_is_stopped() {
    let mut fake = Fake::new();
    fake.on("inspect*", 0, &(bundle("exited", &[]) + &network()), "");
    let out = fake.bottle(&["port", "demo", "8080"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        "bottle: the bundle of bottle `demo` is stopped (state: exited), so it publishes no port; start it again with `up` and the same spec; `bottle up SLUG` with the bottle's spec (flags, `--config`, or a `bottle.toml` in the working directory) brings it up\n"
    );
}

#[test]
fn a_failed_engine_command_is_quoted_by_its_verb_without_the_engines_help_advice() {
    let mut fake = Fake::new();
    fake.on(
        "run *",
        125,
        "",
        "docker: Error response from daemon: boom.\nSee 'docker run --help'.\n",
    );
    let out = fake.bottle(&["up", "demo", "--image", "img", "-p", "8080"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "`docker run` failed (exit status: 125): docker: Error response from daemon: boom."
        ),
        "{err}"
    );
    assert!(
        !err.contains("--help") && !err.contains("--detach"),
        "{err}"
    );
    assert_eq!(err.matches("boom").count(), 1, "{err}");
    // --verbose shows the whole line.
    let out = fake.bottle(&["up", "demo", "--image", "img", "--verbose"]);
    let err = stderr(&out);
    assert!(
        err.contains("`docker run --detach --name bot-bottle-sidecars-demo"),
        "{err}"
    );
}

#[test]
fn several_failed_downs_print_each_error_once() {
    let mut fake = Fake::new();
    fake.on("inspect *", 1, "", "boom-inspect\n");
    fake.on("ps *", 1, "", "boom-ps\n");
    fake.on("network ls *", 1, "", "boom-ls\n");
    let out = fake.bottle(&["down", "one", "two"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.lines().next().unwrap().starts_with("bottle: one: "),
        "{err}"
    );
    assert!(
        err.lines().nth(1).unwrap().starts_with("bottle: two: "),
        "{err}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let fake = Fake::new();
    let mut child = fake
        .command(&["plan", "demo", "--image", "img", "-p", "8080"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn bash_loads_the_completion_script() {
    let bin = env!("CARGO_BIN_EXE_bottle");
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("source <('{bin}' completions bash) && complete -p bottle"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("-F _clap_complete_bottle"),
        "{}",
        stdout(&out)
    );
    for (shell, check) in [
        (
            "zsh",
            "autoload -U compinit; compinit -u; source <(\"$0\" completions zsh) && whence -w _clap_dynamic_completer_bottle",
        ),
        (
            "fish",
            "\"$argv[1]\" completions fish | source; and complete -C 'bottle do'",
        ),
    ] {
        if Command::new(shell).arg("--version").output().is_err() {
            eprintln!("skipped: {shell} is not installed");
            continue;
        }
        let out = match shell {
            "zsh" => Command::new("zsh")
                .args(["-c", check, bin])
                .output()
                .unwrap(),
            _ => Command::new("fish")
                .args(["-c", check, bin])
                .output()
                .unwrap(),
        };
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        let want = if shell == "zsh" {
            "_clap_dynamic_completer_bottle: function"
        } else {
            "doctor\t"
        };
        assert!(text.contains(want), "{shell}: {text}");
    }
}

#[test]
fn man_page_comes_from_the_same_definitions() {
    let out = bottle_cmd().arg("man").output().unwrap();
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(".ie") || text.contains(".TH bottle 1"),
        "{text}"
    );
    for sub in ["up", "down", "doctor", "completions"] {
        assert!(
            text.contains(&format!("bottle\\-{sub}")) || text.contains(sub),
            "{sub}"
        );
    }
}

const VERSION_JSON: &str = r#"{"Client":{"Version":"20.10.24"},"Server":{"Version":"20.10.25"}}"#;

#[test]
fn version_shows_bottle_and_engine_versions() {
    let mut fake = Fake::new();
    fake.on("version --format*", 0, &format!("{VERSION_JSON}\n"), "");
    let out = fake.bottle(&["version"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "bottle   {}\nengine   docker (remote)\nclient   20.10.24\nserver   20.10.25\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let v: serde_json::Value =
        serde_json::from_slice(&fake.bottle(&["version", "--json"]).stdout).unwrap();
    assert_eq!(v["engine"]["server"], "20.10.25");
    assert_eq!(v["engine"]["local"], false);
    assert_eq!(fake.calls()[0], ["version", "--format", "{{json .}}"]);

    let mut down = Fake::new();
    down.on(
        "version*",
        1,
        "{\"Client\":{\"Version\":\"20.10.24\"},\"Server\":null}\n",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
    );
    let out = down.bottle(&["version"]);
    assert_eq!(code(&out), 69, "{}", stderr(&out));
    assert!(stdout(&out).contains("server   unreachable"));
}

/// Issue 14, item 10: a socket on `0.0.0.0:PORT` answers on every loopback address, so a VM
/// allowed one bottle's address reaches it too. `doctor` (local engine) names such listeners as a
/// warning, and still exits 0.
#[test]
fn doctor_warns_about_wildcard_listeners() {
    let mut fake = Fake::new();
    fake.on("version --format*", 0, &format!("{VERSION_JSON}\n"), "");
    // Bound, never connected to: no traffic leaves the host.
    let wild = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = wild.local_addr().unwrap().port();
    let out = fake
        .command(&["doctor", "--json"])
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sockets")
        .unwrap_or_else(|| panic!("no sockets check: {v}"))
        .clone();
    assert_eq!(check["status"], "warn", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("0.0.0.0:{port}")), "{detail}");
    assert!(detail.contains("every loopback address"), "{detail}");
    drop(wild);
}

/// `doctor --json` of the fake engine, with `DOCKER_HOST` set or not: its check `name`, the
/// output checked against the schema.
fn doctor_check(fake: &Fake, docker_host: Option<&str>, name: &str) -> serde_json::Value {
    let mut cmd = fake.command(&["doctor", "--json"]);
    match docker_host {
        Some(host) => cmd.env("DOCKER_HOST", host),
        None => cmd.env_remove("DOCKER_HOST"),
    };
    let out = cmd.output().unwrap();
    let v = crate::schema::check("doctor", &stdout(&out));
    let checks = v["checks"].as_array().unwrap();
    let found = checks.iter().find(|c| c["name"] == name);
    found
        .unwrap_or_else(|| panic!("no {name} check: {v}"))
        .clone()
}

/// The host-port rule's range (20000-32767) assumes Linux's default ephemeral range, and
/// `doctor` did not look: it now holds the kernel's `ip_local_port_range` (less its reserved
/// ports) against the rule's range, a `ports` check of a local engine (the table of outcomes is
/// `doctor.rs`'s unit test).
#[test]
fn doctor_checks_the_kernels_ephemeral_ports() {
    let mut fake = Fake::new();
    fake.on("version --format*", 0, &format!("{VERSION_JSON}\n"), "");
    let check = doctor_check(&fake, None, "ports");
    let detail = check["detail"].as_str().unwrap();
    let rule = "host-port rule's range (20000-32767)";
    assert!(detail.contains(rule), "{detail}");
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let range = range.split_whitespace().collect::<Vec<_>>().join("-");
    assert!(detail.contains(&range), "{detail}");
    let fix = check.get("fix").and_then(|f| f.as_str());
    match check["status"].as_str().unwrap() {
        "ok" => assert_eq!(fix, None, "{check}"),
        "warn" => assert!(fix.unwrap().contains("ip_local_reserved_ports"), "{check}"),
        _ => panic!("{check}"),
    }
    // A remote engine publishes on its own host's ports, whose kernel is not readable here.
    let check = doctor_check(&fake, Some("tcp://127.0.0.1:9"), "ports");
    assert_eq!(check["status"], "skip", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("remote"), "{detail}");
}

#[test]
fn doctor_exit_codes() {
    let mut fake = Fake::new();
    fake.on("version --format*", 0, &format!("{VERSION_JSON}\n"), "");
    let out = fake.bottle(&["doctor"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("256 of 256 /24 slots"),
        "{}",
        stdout(&out)
    );
    let out = fake.bottle(&["doctor", "-q"]);
    assert_eq!(
        (code(&out), stdout(&out), stderr(&out)),
        (0, String::new(), String::new())
    );

    // A pool whose every slot an engine network overlaps.
    fake.on("network ls*", 0, "n9\tbig\n", "");
    fake.on(
        "network inspect*",
        0,
        &network_json("big", "n9", "10.213.0.0/16", &[], &[]),
        "",
    );
    let out = fake.bottle(&["doctor"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("FAIL  pool"), "{}", stdout(&out));
    assert_eq!(code(&fake.bottle(&["doctor", "-q"])), 1);

    let mut down = Fake::new();
    down.on(
        "version*",
        1,
        "",
        "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?\n",
    );
    let out = down.bottle(&["doctor", "-q"]);
    assert_eq!(
        (code(&out), stdout(&out), stderr(&out)),
        (69, String::new(), String::new())
    );
    let out = bottle_cmd()
        .args(["--engine", "/nonexistent/docker", "doctor"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 69);
    assert!(stdout(&out).contains("FAIL  engine"));
}

/// logs_mask_only_the_values_up_passed_not_the_engines_own_env (attack round 4): a bundle with the `bottle.env`
/// label has the values of exactly those keys masked, not the entries the engine added (podman's
/// `TERM`, `container`, `HOME`, `HOSTNAME`), and costs no `image inspect`.
#[test]
fn logs_mask_only_the_keys_in_the_env_label() {
    let mut fake = Fake::new();
    let json = container_json(
        BUNDLE,
        "c1",
        "running",
        &[
            ("bottle.env", "TOKEN"),
            ("bottle.role", "bundle"),
            ("bottle.slug", "demo"),
        ],
        NET,
        "10.213.150.2",
        &[],
    );
    let env = [
        "TERM=xterm",
        "container=podman",
        "HOME=/",
        "HOSTNAME=abc123",
        "TOKEN=hunter2",
    ];
    fake.on("container inspect*", 0, &with_env(&json, &env), "");
    fake.on(
        "logs --tail 5 c1",
        0,
        "podman xterm abc123 home=/ tok=hunter2\n",
        "",
    );
    let out = fake.bottle(&["logs", "demo", "--tail", "5"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "podman xterm abc123 home=/ tok=***\n");
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.first().map(String::as_str) != Some("image")),
        "{:?}",
        fake.calls()
    );
}

#[test]
fn logs_mask_the_values_up_gave() {
    let mut fake = Fake::new();
    fake.on(
        "container inspect*",
        0,
        &with_env(&bundle("running", &[]), &["PATH=/bin", "TOKEN=hunter2"]),
        "",
    );
    fake.on("image inspect*", 0, "[\"PATH=/bin\"]\n", "");
    fake.on(
        "logs --tail 5 c1",
        0,
        "token is hunter2 on /bin\n",
        "err hunter2\n",
    );
    let out = fake.bottle(&["logs", "demo", "--tail", "5"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "token is *** on /bin\n");
    assert_eq!(stderr(&out), "err ***\n");
    // -f streams it (masked too: see `secrets::logs_follow_printed_secrets_in_clear`).
    fake.on("logs --follow c1", 0, "streamed\n", "");
    let out = fake.bottle(&["logs", "demo", "-f"]);
    assert_eq!((code(&out), stdout(&out)), (0, "streamed\n".to_string()));
}

/// env_flags_dropped_the_files_env (attack round 4): `-e` with `--config` replaced the file's
/// whole `env` list; now they merge per key, a flag overriding the file's entry of its key.
#[test]
fn env_flags_merge_with_the_config_files_env() {
    let fake = Fake::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bottle.toml");
    std::fs::write(
        &config,
        "image = \"img\"\nenv = [\"A=file1\", \"B=file2\"]\n",
    )
    .unwrap();
    let out = fake.bottle(&[
        "plan",
        "demo",
        "--config",
        config.to_str().unwrap(),
        "-e",
        "B",
        "-e",
        "C",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("--label 'bottle.env=A,B,C'"), "{text}");
    // A stays a `KEY=VALUE`; B, given bare, overrides the file's `B=file2`. Every value travels
    // through the env-file: a bare key is never `--env KEY`, which the engine CLI would read from
    // its own environment (a_bare_env_key_changed_the_engine_clis_own_environment_for_run).
    assert!(text.contains("--env-file /dev/fd/3 "), "{text}");
    assert!(
        !text.contains("--env B") && !text.contains("--env C"),
        "{text}"
    );
}

/// The CLI shortened every quoted text in an error that looked like a failed command line, by
/// reading the library's English (issue 15), so the engine's own words were cut too. It renders
/// the error from its data: the command the error is about is shortened to its verb (in full
/// with `--verbose`, and in the JSON's `command`), and a command line the engine quotes in its
/// stderr stays as the engine wrote it.
#[test]
fn an_error_is_rendered_from_its_data_not_from_words_that_look_like_a_command() {
    let quoted = "`docker network create --driver bridge --subnet 10.9.0.0/24 other` failed (exit status: 1)";
    let mut fake = Fake::new();
    fake.on("ps *", 1, "", &format!("wrapper: {quoted}\n"));
    let out = fake.bottle(&["ls"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stderr(&out),
        format!("bottle: `docker ps` failed (exit status: 1): wrapper: {quoted}\n")
    );
    let out = fake.bottle(&["ls", "--verbose", "--json"]);
    let err = stderr(&out);
    let line = err.lines().last().unwrap();
    assert!(
        line.starts_with("bottle: `docker ps --all --no-trunc --format") && line.contains(quoted),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        v["error"]["command"]
            .as_str()
            .unwrap()
            .starts_with("docker ps --all"),
        "{v}"
    );
}

/// `--pool 10.0.0.0` was read as a /32 and refused as "too small": a bare address is refused as
/// such, with the form wanted, exit 2, before any engine runs.
#[test]
fn a_bare_address_pool_is_refused_as_not_a_subnet() {
    let out = bottle_cmd()
        .args(["subnet", "demo", "--pool", "10.0.0.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "invalid pool `10.0.0.0`: a bare address is not a pool; add its prefix length"
        ),
        "{err}"
    );
}
