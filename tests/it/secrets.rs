//! Secret values (issue 14): off bottle's own argv, masked in followed logs, masked in messages
//! without garbling them, and handed to the engine alone.

use std::process::Output;

use crate::fake::Fake;

const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fake whose `run` fails with the engine's words and its `--help` advice.
fn failing_run() -> Fake {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.on(
        "run *",
        125,
        "",
        "docker: Error response from daemon: Address already in use.\nSee 'docker run --help'.\n",
    );
    fake
}

/// Issue 14: with `-e X=o`, every message read "d***cker: Err***r resp***nse". A value of one or
/// two characters is masked only where it stands as a whole word.
#[test]
fn a_one_character_secret_garbled_every_message() {
    let fake = failing_run();
    let out = fake.bottle(&["up", "demo", "--image", "img", "-e", "X=o"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Error response from daemon: Address already in use"),
        "{err}"
    );
}

/// Issue 14: masking ran before the engine's "See 'docker run --help'." was stripped, so a value
/// inside it (`help`) kept it from being recognised, and it reached the user as
/// "See 'docker run --***'.". It is stripped first now.
#[test]
fn masking_kept_the_engines_help_advice() {
    let fake = failing_run();
    let out = fake.bottle(&["up", "demo", "--image", "img", "-e", "X=help", "--verbose"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Address already in use"), "{err}");
    assert!(!err.contains("See '") && !err.contains("--***"), "{err}");
}

/// Issue 14: with `DOCKER_HOST=ssh://…` the engine CLI's `ssh` child inherited the env-file at
/// fd 3, an in-memory file it could read from the start for as long as it lived. Now fd 3 is a
/// pipe the engine drains: a process the engine starts after reading it finds nothing there.
#[test]
fn the_engines_children_inherited_the_env_file() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    // The fake engine has read /dev/fd/3 (as the docker CLI does); its child, like ssh, then
    // tries to read it too.
    fake.on_sh(
        "run *",
        "sh -c 'ls -l /proc/self/fd/3; cat /dev/fd/3' > \"$D/grandchild\" 2>&1",
    );
    let out = fake.bottle(&["up", "demo", "--image", "img", "-e", "TOK=inherited-secret"]);
    let seen = std::fs::read_to_string(fake.state_dir().join("grandchild"))
        .unwrap_or_else(|e| panic!("the engine's child ran: {e}; {}", stderr(&out)));
    assert!(!seen.contains("inherited-secret"), "{seen}");
    // The engine itself read it.
    let run = fake
        .calls()
        .iter()
        .position(|c| c.first().is_some_and(|w| w == "run"))
        .expect("a run");
    let (_, content) = fake.env_file_seen(run + 1).expect("run had an env-file");
    assert_eq!(content, "TOK=inherited-secret\n");
}

/// A fake whose bundle `c1` got `TOK=hunter2secret` from `up` (its image sets only PATH), and
/// whose followed log prints `follow_sh`'s output.
fn bundle_with_secret(follow_sh: &str) -> Fake {
    use crate::fake::{container_json, with_env};
    let mut fake = Fake::new();
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "lg")];
    let json = container_json(
        "bot-bottle-sidecars-lg",
        "c1",
        "running",
        &labels,
        "bot-bottle-bundle-lg",
        "10.213.7.2",
        &[],
    );
    let json = with_env(&json, &["PATH=/bin", "TOK=hunter2secret"]);
    fake.on("container inspect*", 0, &json, "");
    fake.on("image inspect*", 0, "[\"PATH=/bin\"]\n", "");
    fake.on_sh("logs --follow c1", follow_sh);
    fake
}

/// Issue 14, item 2: `bottle logs lg --tail 1` showed `tok=***` but `bottle logs lg -f` showed
/// `tok=hunter2secret`: `-f` passed the engine's output through. Followed logs are masked like
/// captured ones, on stdout and stderr alike.
#[test]
fn logs_follow_printed_secrets_in_clear() {
    let fake = bundle_with_secret(
        "echo 'tok=hunter2secret on /bin'; echo 'err hunter2secret' >&2; printf 'no newline hunter2secret'",
    );
    let out = fake.bottle(&["logs", "lg", "-f"]);
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(stdout, "tok=*** on /bin\nno newline ***");
    assert_eq!(err, "err ***\n");
}

/// The masking does not hold a followed log back: each line shows as soon as it ends, while
/// the engine goes on streaming.
#[test]
fn a_followed_log_is_masked_line_by_line_as_it_streams() {
    use std::io::BufRead;
    let fake = bundle_with_secret("echo 'first hunter2secret'; sleep 20; echo late");
    let mut child = fake
        .command(&["logs", "lg", "-f"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(10));
    // SIGINT ends `-f`, as Ctrl-C does; the fake's sleep goes with its process group.
    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(line.as_deref(), Ok("first ***\n"));
    assert_eq!(status.code(), Some(130));
}

/// Issue 14, item 1: `bottle up s … -e TOK=VisibleInPs123 --wait=30s` kept the value in bottle's
/// argv for the whole run, where another user reads it in `/proc/PID/cmdline`. bottle overwrites
/// it there before any engine command, in each form `-e` takes, and warns once naming the safe
/// forms.
#[test]
fn a_value_on_bottles_command_line_stayed_in_its_argv() {
    let mut fake = Fake::new();
    fake.on_sh("network create*", ": > \"$D/started\"; sleep 5");
    let mut child = fake
        .command(&[
            "up",
            "s",
            "--image",
            "img",
            "-e",
            "TOK=VisibleInPs123",
            "--env=TOK2=AlsoVisible456",
            "-eTOK3=Attached789",
            "-e",
            "HOME",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = fake.state_dir().join("started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !started.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(started.exists(), "the engine was called: {}", stderr(&out));
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    for value in ["VisibleInPs123", "AlsoVisible456", "Attached789"] {
        assert!(!cmdline.contains(value), "{cmdline}");
    }
    for shown in ["-e TOK=*** ", "--env=TOK2=*** ", "-eTOK3=*** ", "-e HOME"] {
        assert!(cmdline.contains(shown), "{shown}: {cmdline}");
    }
    let err = stderr(&out);
    assert_eq!(err.matches("warning: `-e KEY=VALUE`").count(), 1, "{err}");
    assert!(
        err.contains("`-e KEY`") && err.contains("--config"),
        "{err}"
    );
}

/// Bare `-e KEY` and the config file put no value on the command line: no warning.
#[test]
fn bare_keys_get_no_warning() {
    let fake = Fake::new();
    let out = fake.bottle(&["plan", "s", "-e", "HOME"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
}

/// A followed log whose engine command fails: the error quotes the end of its stderr, masked,
/// as for any other command.
#[test]
fn a_failed_follow_quotes_its_stderr_masked() {
    let fake = bundle_with_secret("echo 'Error: no such container hunter2secret' >&2; exit 1");
    let out = fake.bottle(&["logs", "lg", "-f"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("hunter2secret"), "{err}");
    assert!(
        err.contains("failed (exit status: 1): Error: no such container ***"),
        "{err}"
    );
}
