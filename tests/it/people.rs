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
    assert_eq!(spaced, plan(&["plan", "demo", "--wait=5s", "--image", "img"]));
    let bad = fake.bottle(&["up", "demo", "--wait-timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}
