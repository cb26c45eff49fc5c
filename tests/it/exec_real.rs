//! The executor's secret handling against the real engine (gated like `real.rs`): a `KEY=VALUE`
//! value reaches the bundle, and no file anywhere bottle could write holds it, even when bottle is
//! SIGKILLed at any moment of `up`.

use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::real::{Bottles, clis, image};

/// A value no file on this machine holds yet.
fn unique_secret(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sEcReT-{tag}-{}-{nanos}", std::process::id())
}

#[test]
fn a_literal_env_value_reaches_the_bundle() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("envin{i}"));
        let secret = unique_secret("in");
        ok(
            &b,
            &[
                "up",
                "x",
                "--image",
                &image(),
                "-e",
                &format!("TOK={secret}"),
            ],
        );
        let name = format!("{}-sidecars-x", b.prefix);
        let env = b.docker_out(&["exec", &name, "env"]);
        assert!(
            env.lines().any(|l| l == format!("TOK={secret}")),
            "TOK not in the bundle's env: {env}"
        );
    }
}

/// Files under these directories that contain `needle`.
fn files_holding(needle: &str, dirs: &[std::path::PathBuf]) -> Vec<String> {
    let out = std::process::Command::new("grep")
        .args(["-rlsF", "--", needle])
        .args(dirs)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A pool of our own, so concurrent real-engine runs on this machine never meet.
fn pool() -> String {
    let n = 100 + (std::process::id() % 100);
    format!("10.{n}.16.0/20")
}

/// `bottle ARGS` on our pool; insists on success.
#[track_caller]
fn ok(b: &Bottles, args: &[&str]) {
    let out = b.command(args).env("BOTTLE_POOL", pool()).output().unwrap();
    assert!(
        out.status.success(),
        "bottle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGKILL `up -e TOK=…` at 20 moments over its first second: afterwards the value is in no file
/// under $TMPDIR, /tmp, /dev/shm, $XDG_RUNTIME_DIR or bottle's working directory.
#[test]
fn a_sigkill_during_up_leaves_the_secret_on_no_disk() {
    let Some(clis) = clis() else { return };
    let cli = &clis[0];
    let b = Bottles::new(cli, "envkill");
    let secret = unique_secret("kill");
    let cwd = tempfile::tempdir().unwrap();
    let img = image();
    let env_arg = format!("TOK={secret}");
    for step in 0..20u64 {
        let mut child = b
            .command(&["up", "x", "--image", &img, "-e", &env_arg])
            .env("BOTTLE_POOL", pool())
            .current_dir(cwd.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(step * 50));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // The engine CLIs bottle started run on after it died; let them end.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let ps = std::process::Command::new("pgrep")
            .args(["-f", &b.prefix])
            .output()
            .unwrap();
        if ps.stdout.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut dirs = vec![
        std::env::temp_dir(),
        "/tmp".into(),
        "/dev/shm".into(),
        cwd.path().to_path_buf(),
    ];
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        dirs.push(d.into());
    }
    assert_eq!(files_holding(&secret, &dirs), Vec::<String>::new());
    // The grep itself finds a file that holds the value.
    let probe = cwd.path().join("probe");
    std::fs::write(&probe, &secret).unwrap();
    assert_eq!(files_holding(&secret, &dirs).len(), 1);
    ok(&b, &["down", "x"]);
    assert_eq!(b.leftovers(), Vec::<String>::new());
}
