//! Issue 18, for people: the traps a first day hits. `--wait 5s`, `env`'s exports, suggestions for
//! the names people try, help at 80 columns, messages, the `ls` table, completions that know the
//! engine's bottles, and progress while `up` works. Terminal cases run under `script`, which gives
//! the binary a pty.

use crate::fake::Fake;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// `bottle up demo --wait 5s` made two bottles, `demo` and `5s`: a duration after `--wait` and a
/// space is refused in one line, before any engine command, and the limit has its own flag.
#[test]
fn wait_5s_made_a_bottle_named_5s() {
    let fake = Fake::new();
    for args in [
        &["up", "demo", "--image", "img", "--wait", "5s"][..],
        &["up", "--wait", "90", "demo", "--image", "img"],
        &["up", "demo", "--wait", "500ms", "--json"],
    ] {
        let out = fake.bottle(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--wait-timeout"), "{err}");
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    // A slug after `--wait` that is no duration is a slug; `--wait-timeout` plans the same argv.
    let plan = |args: &[&str]| {
        let out = fake.bottle(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let spaced = plan(&["plan", "demo", "--wait-timeout", "5s", "--image", "img"]);
    assert_eq!(
        spaced,
        plan(&["plan", "demo", "--wait=5s", "--image", "img"])
    );
    let bad = fake.bottle(&["up", "demo", "--wait-timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// `eval "$(bottle env demo)"` set shell variables that no child process saw: the lines export.
#[test]
fn env_lines_reached_no_child_process() {
    let fake = crate::cli::engine_with_bottles();
    let lines = fake.bottle(&["env", "demo"]);
    assert!(lines.status.success(), "{}", stderr(&lines));
    let script = "eval \"$1\" && sh -c 'echo \"$BOTTLE_SLUG $BOTTLE_PORT_8080\"'";
    let out = std::process::Command::new("sh")
        .args(["-c", script, "sh", &stdout(&lines)])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "demo 127.0.0.1:49153\n", "{}", stderr(&out));
}

/// `bottle ps`, `rm` and `inspect` said "unknown command" with no way on: each names bottle's own.
#[test]
fn ps_rm_inspect_got_no_suggestion() {
    for (typed, meant) in [("ps", "ls"), ("rm", "down"), ("inspect", "status")] {
        let out = crate::fake::bottle_cmd()
            .args([typed, "demo"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains(&format!("did you mean '{meant}'?")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Bare `bottle` was a usage error: it prints the usage and the commands, exit 0, as `docker` does.
#[test]
fn bare_bottle_was_an_error() {
    let out = crate::fake::bottle_cmd().output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Usage: bottle"), "{text}");
    assert!(
        text.contains("Commands:") && text.contains("  up "),
        "{text}"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// Run `args` on a pty of `cols` columns (`script` gives the binary a terminal) and return what it
/// printed, colours and carriage returns removed.
fn on_terminal(cols: u16, args: &str, env: &[(&str, &str)]) -> String {
    let bottle = env!("CARGO_BIN_EXE_bottle");
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-qec",
        &format!("stty rows 40 cols {cols}; exec '{bottle}' {args}"),
        "/dev/null",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.env_remove("COLUMNS").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params letter
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '\r' => {}
            c => plain.push(c),
        }
    }
    plain
}

/// Help at 80 columns broke words mid-line ("bottle ob / ject") and each command repeated the nine
/// global options: it wraps to the terminal at word boundaries, and names the globals in one line.
#[test]
fn help_broke_words_at_80_columns() {
    for args in ["--help", "up --help", "down --help", "ls --help"] {
        let text = on_terminal(80, args, &[]);
        assert!(text.contains("Usage: bottle"), "{args}: {text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{args}: {line:?}");
        }
    }
    let up = on_terminal(80, "up --help", &[]);
    assert!(up.contains("--wait-timeout"), "{up}");
    assert!(
        up.contains("Global options (`bottle --help` describes them):\n  --engine,"),
        "{up}"
    );
    assert!(!up.contains("--pool <CIDR>"), "{up}");
    // The closing text (what a bottle is, examples, exit codes) is written at 78 columns, so
    // it reads the same on every terminal: written at 100, it came out ragged at 80 ("derived
    // from the slug, and a" / "sidecar bundle ...").
    for (args, from) in [
        ("--help", "Each bottle is a bridge network"),
        ("up --help", "An unchanged bottle is kept"),
        ("events --help", "Each line is one JSON object"),
        ("doctor --help", "Checks: the engine answers"),
        ("env --help", "Prints BOTTLE_SLUG"),
    ] {
        let tail = |cols| {
            let text = on_terminal(cols, args, &[]);
            let at = text.find(from).unwrap_or_else(|| panic!("{args}: {text}"));
            text[at..].to_string()
        };
        assert_eq!(tail(80), tail(200), "{args}");
    }
    // Wider terminals get longer lines, up to 100.
    let wide = on_terminal(200, "up --help", &[]);
    let longest = wide.lines().map(|l| l.chars().count()).max().unwrap();
    assert!((81..=100).contains(&longest), "{longest}");
}

/// The man page pointed at `bottle-up(1)` pages that did not exist, and `bottle man up` was refused.
#[test]
fn man_up_was_refused() {
    let out = crate::fake::bottle_cmd()
        .args(["man", "up"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(".TH bottle-up 1"), "{text}");
    assert!(text.contains("wait\\-timeout"), "{text}");
    let main = stdout(&crate::fake::bottle_cmd().arg("man").output().unwrap());
    assert!(main.contains("bottle\\-up(1)"), "{main}");
    let out = crate::fake::bottle_cmd()
        .args(["man", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Messages with rough edges (issue 18, item 8), each as one line on stderr.
#[test]
fn messages_had_rough_edges() {
    let mut fake = Fake::new();
    let err = |fake: &Fake, args: &[&str]| {
        let out = fake.bottle(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let text = stderr(&out);
        (out.status.code(), text.trim_end().to_string())
    };
    // "needs a value: expected " was cut off.
    let (code, text) = err(&fake, &["up", "demo", "--image"]);
    assert_eq!(
        (code, text.as_str()),
        (Some(2), "bottle: --image needs a value: --image <IMG>")
    );
    // An extra word was called an option.
    let (_, text) = err(&fake, &["ls", "demo"]);
    assert!(
        text.starts_with("bottle: `bottle ls` takes no argument 'demo'"),
        "{text}"
    );
    // "invalid digit found in string".
    let (_, text) = err(&fake, &["logs", "demo", "--tail", "abc"]);
    assert!(!text.contains("digit"), "{text}");
    assert!(
        text.contains("expected how many of the last lines"),
        "{text}"
    );
    // "bottle: bottle `first` does not exist".
    fake.on(
        "inspect*",
        1,
        "",
        "Error: No such object: bot-bottle-sidecars-first\n",
    );
    let (_, text) = err(&fake, &["status", "first"]);
    assert!(text.starts_with("bottle: no bottle `first`"), "{text}");
    // `--context nope`: no Go file path.
    fake.on(
        "--context nope *",
        1,
        "",
        "Failed to initialize: unable to resolve docker endpoint: context \"nope\": context not found: open /root/.docker/contexts/meta/ca37/meta.json: no such file or directory\n",
    );
    let (_, text) = err(&fake, &["--context", "nope", "status", "first"]);
    assert!(
        text.contains("context not found") && !text.contains("meta.json"),
        "{text}"
    );
    // `doctor` with an unreachable daemon shows the engine's own error.
    let mut down = Fake::new();
    down.on(
        "version*",
        1,
        "{\"Client\":{\"Version\":\"20.10.24\"},\"Server\":null}\n",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
    );
    let out = down.bottle(&["doctor"]);
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Cannot connect to the Docker daemon at unix:///var/run/docker.sock"),
        "{text}"
    );
    assert!(!text.contains("bottle version"), "{text}");
}

/// `--pull never` and a missing image said "`docker run` failed ... No such image" on a new slug;
/// only a replace said the image is not present and the pull policy is `never`.
#[test]
fn pull_never_on_a_new_slug_said_no_such_image() {
    let mut fake = Fake::new();
    fake.on(
        "run *",
        125,
        "",
        "docker: Error response from daemon: No such image: img:latest.\n",
    );
    let out = fake.bottle(&["up", "demo", "--image", "img", "--pull", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("image `img` is not present and the pull policy is `never`"),
        "{text}"
    );
    assert!(!text.contains("No such image"), "{text}");
}

/// Output conventions (issue 18, item 9): `ls` at 80 columns with docker's PORTS and an AGE,
/// `logs --json` refused instead of ignored, and JSON indented on a terminal, one line piped.
#[test]
fn ls_was_88_columns_and_json_was_one_line_on_a_terminal() {
    let fake = crate::cli::engine_with_bottles();
    let engine = fake.program();
    let env = [
        ("BOTTLE_ENGINE", engine.to_str().unwrap()),
        ("DOCKER_HOST", "tcp://fake-engine.invalid:2375"),
    ];
    let table = on_terminal(80, "ls", &env);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("SLUG") && header.contains("AGE") && header.ends_with("PORTS"),
        "{table}"
    );
    let demo = table.lines().find(|l| l.starts_with("demo")).unwrap();
    assert!(
        demo.ends_with("127.0.0.1:49153->8080/tcp,127.0.0.1:49154->9000/tcp"),
        "{table}"
    );
    let status = on_terminal(80, "status demo --json", &env);
    assert!(status.starts_with("{\n  \""), "{status}");
    let piped = fake.bottle(&["status", "demo", "--json"]);
    assert_eq!(stdout(&piped).lines().count(), 1);
    let logs = fake.bottle(&["logs", "demo", "--json"]);
    assert_eq!(logs.status.code(), Some(2), "{}", stderr(&logs));
    assert!(
        stderr(&logs).contains("no JSON output"),
        "{}",
        stderr(&logs)
    );
}

/// A shell, if this machine has it; a completion test says so and skips the shell when it is
/// missing, unless `BOTTLE_REQUIRE_SHELLS=1` (CI installs bash, zsh and fish).
fn shell(name: &str) -> Option<std::path::PathBuf> {
    let found = which_shell(name);
    if found.is_none() {
        assert!(
            std::env::var_os("BOTTLE_REQUIRE_SHELLS").is_none_or(|v| v != "1"),
            "{name} is required (BOTTLE_REQUIRE_SHELLS=1) but not installed"
        );
        eprintln!("skipping {name}: not installed");
    }
    found
}

fn which_shell(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// After `source <(bottle completions bash)`, `bottle down <TAB>` offered only `-`: the slugs of
/// the engine's bottles are offered now, in bash, zsh and fish, for every command that takes one.
/// bash and fish complete through their own machinery (`complete -F`'s function, `complete -C`);
/// zsh's function runs with `compdef` and `_describe` stubbed (its completion widget needs a
/// line editor), so what it would offer is printed.
#[test]
fn completion_knew_no_bottles() {
    let fake = crate::cli::engine_with_bottles();
    let script = |sh: &str| {
        let out = crate::fake::bottle_cmd()
            .args(["completions", sh])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let run = |program: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .env("BOTTLE_ENGINE", fake.program())
            .env("DOCKER_HOST", "tcp://fake-engine.invalid:2375")
            .output()
            .unwrap();
        stdout(&out)
    };
    let dir = tempfile::tempdir().unwrap();
    for verb in ["down", "port", "logs", "status"] {
        if let Some(bash) = shell("bash") {
            let file = dir.path().join("bottle.bash");
            std::fs::write(&file, script("bash")).unwrap();
            let line = format!(
                "source '{}'; COMP_WORDS=(bottle {verb} ''); COMP_CWORD=2; COMP_TYPE=9; _clap_complete_bottle bottle '' {verb}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                file.display()
            );
            let got = run(&bash, &["-c", &line]);
            assert!(
                got.lines().any(|l| l.trim() == "demo"),
                "bash {verb}: {got:?}"
            );
        }
        if let Some(fish) = shell("fish") {
            let file = dir.path().join("bottle.fish");
            std::fs::write(&file, script("fish")).unwrap();
            let line = format!("source '{}'; complete -C 'bottle {verb} '", file.display());
            let got = run(&fish, &["--no-config", "-c", &line]);
            assert!(
                got.lines().any(|l| l.starts_with("demo")),
                "fish {verb}: {got:?}"
            );
        }
        if let Some(zsh) = shell("zsh") {
            let file = dir.path().join("_bottle");
            std::fs::write(&file, script("zsh")).unwrap();
            let line = format!(
                "compdef() {{ }}; _describe() {{ print -l -- ${{(P)${{@[-1]}}}} }}; source '{}'; words=(bottle {verb} ''); CURRENT=3; _clap_dynamic_completer_bottle",
                file.display()
            );
            let got = run(&zsh, &["-f", "-c", &line]);
            assert!(
                got.lines().any(|l| l.starts_with("demo")),
                "zsh {verb}: {got:?}"
            );
        }
    }
}

/// `up` of several slugs showed nothing while it worked, then every result at once: on a
/// terminal, each bottle's step is drawn as it happens (here, while the engine takes a second to
/// create a network), then the results are printed as before.
#[test]
fn up_was_silent_while_it_worked() {
    use std::io::Read;
    let mut fake = Fake::new();
    fake.on_sh("network create *", "sleep 1");
    let bottle = env!("CARGO_BIN_EXE_bottle");
    let mut child = std::process::Command::new("script")
        .args([
            "-qfec",
            &format!("stty rows 40 cols 80; exec '{bottle}' up a b --image img"),
            "/dev/null",
        ])
        .env(
            "PATH",
            format!(
                "{}:{}",
                fake.program().parent().unwrap().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("BOTTLE_ENGINE", "docker")
        .env("DOCKER_HOST", "tcp://fake-engine.invalid:2375")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            let _ = tx.send((std::time::Instant::now(), buf[..n].to_vec()));
        }
    });
    let mut seen = Vec::new();
    let mut drawn_at = None;
    let mut ended_at = std::time::Instant::now();
    while let Ok((at, bytes)) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
        seen.extend(bytes);
        if drawn_at.is_none() && String::from_utf8_lossy(&seen).contains("creating network") {
            drawn_at = Some(at);
        }
        ended_at = at;
    }
    let _ = child.wait();
    let text = String::from_utf8_lossy(&seen);
    let drawn_at = drawn_at.unwrap_or_else(|| panic!("no progress drawn: {text}"));
    // Drawn while the network was being created, well before the end.
    assert!(
        ended_at - drawn_at >= std::time::Duration::from_millis(500),
        "{text}"
    );
    // Then each bottle's result, as without a terminal (here a failure: the fake has no bundle).
    assert!(
        text.contains("bottle: a: ") && text.contains("bottle: b: "),
        "{text}"
    );
}

/// Leaving out `--image` on a fresh machine printed the pull error twice (as the pull's output,
/// then in the message) and never said the image was a default: once, with `--image` named.
#[test]
fn default_image_pull_error_printed_twice() {
    let mut fake = Fake::new();
    fake.on(
        "run *",
        125,
        "",
        "docker: Error response from daemon: No such image: bot-bottle-sidecars:latest.\n",
    );
    let denied = "Error response from daemon: pull access denied for bot-bottle-sidecars, repository does not exist";
    fake.on("pull *", 1, "", &format!("{denied}\n"));
    // `-p`: a spec, so `up` makes the bottle (with no spec at all it keeps an existing one).
    let out = fake.bottle(&["up", "demo", "-p", "8080"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert_eq!(text.matches(denied).count(), 1, "{text}");
    assert!(
        text.contains("(its output is above)") && text.contains("`--image IMG`"),
        "{text}"
    );
}

/// `ls --filter` and `ls --format` (issue 18, item 9), as `docker ps` takes them: filters apply to
/// the table, `-q`, piped lines and `--json` alike; a bad filter or template is exit 2, naming it,
/// before the engine is asked.
#[test]
fn ls_had_no_format_or_filter() {
    let fake = crate::cli::engine_with_bottles();
    let ok = |args: &[&str]| {
        let out = fake.bottle(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(ok(&["ls", "-q", "--filter", "state=running"]), "demo\n");
    assert_eq!(
        ok(&["ls", "-q", "-f", "state=running", "-f", "state=missing"]),
        "demo\ngone\n"
    );
    assert_eq!(
        ok(&["ls", "-q", "-f", "state=running", "-f", "slug=gone"]),
        ""
    );
    assert!(ok(&["ls", "-f", "slug=gone"]).starts_with("gone\tmissing\t"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["ls", "--json", "-f", "state=missing"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["slug"], "gone");
    assert_eq!(
        ok(&["ls", "--format", "{{.Slug}}: {{.State}}\\t{{.Ports}}"]),
        "demo: running\t127.0.0.1:49153->8080/tcp,127.0.0.1:49154->9000/tcp\ngone: missing\t-\n"
    );
    assert_eq!(
        ok(&[
            "ls",
            "--format",
            "table {{.Slug}}\\t{{.BundleIP}}",
            "-f",
            "state=running"
        ]),
        "SLUG   BUNDLE IP\ndemo   10.213.150.2\n"
    );
    let lines = ok(&["ls", "--format", "json"]);
    let slugs: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["slug"].to_string())
        .collect();
    assert_eq!(slugs, ["\"demo\"", "\"gone\""]);
    // Nothing left by the filters is said so on a terminal, naming the filters.
    let (c, text) = crate::cli::in_pty(fake.command(&["ls", "-f", "state=paused"]));
    assert_eq!(
        (c, text.trim_end()),
        (0, "no bottles with prefix `bot-bottle` match the filters")
    );
    let before = fake.calls().len();
    for (args, says) in [
        (
            &["ls", "--filter", "label=team"][..],
            "unknown filter key `label`",
        ),
        (&["ls", "--format", "{{.Names}}"], "unknown field `.Names`"),
        (
            &["ls", "--format", "json", "--json"],
            "`--format` and `--json`",
        ),
    ] {
        let out = fake.bottle(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        fake.calls().len(),
        before,
        "a usage error asks the engine nothing"
    );
}
