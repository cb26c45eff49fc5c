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
