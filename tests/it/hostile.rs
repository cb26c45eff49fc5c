//! Hostile input through the binary: argument injection, shell metacharacters, control characters
//! and unicode in every position. Each must be refused with exit 2, one line, and no engine command.

use crate::fake::Fake;

/// (args, what the one line must mention)
fn cases(config_dir: &std::path::Path) -> Vec<(Vec<String>, &'static str)> {
    let write = |name: &str, text: &str| {
        let path = config_dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let s = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let up = |extra: &[&str]| {
        let mut v = s(&["up", "demo"]);
        v.extend(s(extra));
        v
    };
    vec![
        // Slugs: flags, metacharacters, control characters, unicode, length.
        (s(&["up", "--", "-rf"]), "invalid slug"),
        (s(&["up", "a;rm -rf /"]), "invalid slug"),
        (s(&["up", "$(id)"]), "invalid slug"),
        (s(&["up", "`id`"]), "invalid slug"),
        (s(&["up", "a\nb"]), "invalid slug"),
        (s(&["up", "a\u{1b}[31mb"]), "invalid slug"), // an ANSI escape
        (s(&["up", "dеmo"]), "invalid slug"),         // Cyrillic е
        (s(&["up", "demo\u{202e}"]), "invalid slug"),
        (s(&["up", "../etc"]), "invalid slug"),
        (s(&["up", "a b"]), "invalid slug"),
        (s(&["up", "UPPER"]), "invalid slug"),
        (s(&["down", "ok", "--", "--all"]), "invalid slug"),
        (s(&["status", "x*"]), "invalid slug"),
        (s(&["port", "a|b", "80"]), "invalid slug"),
        // Prefixes.
        (s(&["up", "demo", "--prefix=-x"]), "invalid prefix"),
        (s(&["up", "demo", "--prefix", "a/b"]), "invalid prefix"),
        (s(&["up", "demo", "--prefix", "a\tb"]), "invalid prefix"),
        // Images.
        (up(&["--image=--privileged"]), "invalid image reference"),
        (up(&["--image", "img latest"]), "invalid image reference"),
        (
            up(&["--image", "img\n--privileged"]),
            "invalid image reference",
        ),
        (up(&["--image", "img\u{7f}"]), "invalid image reference"),
        (up(&["--image", ""]), "invalid image reference"),
        // Env.
        (up(&["--env=--privileged"]), "invalid env key"),
        (up(&["-e", "A B=1"]), "invalid env key"),
        (up(&["-e", "$(id)=1"]), "invalid env key"),
        (up(&["-e", "ÄKEY=1"]), "invalid env key"),
        (up(&["-e", "KEY\n=1"]), "invalid env key"),
        (up(&["-e", "TOKEN=line1\nline2"]), "env-file cannot carry"),
        (up(&["-e", "TOKEN=a\rb"]), "env-file cannot carry"),
        (
            up(&["-e", "BOT_BOTTLE_SIDECAR_DAEMONS=x"]),
            "list them as daemons instead",
        ),
        // Volumes.
        (up(&["--volume=-v:/x"]), "invalid volume"),
        (up(&["-v", "/a:/b,readonly"]), "invalid volume"),
        (up(&["-v", "/a\n:/b"]), "invalid volume"),
        (up(&["-v", "/a:b"]), "invalid volume"),
        (up(&["-v", "~/x:/b"]), "invalid volume"),
        (up(&["-v", "/a:/b:z"]), "invalid volume mode"),
        (up(&["-v", "/a:/b:ro,z"]), "invalid volume mode"),
        (up(&["-v", "/a:/b:ro:x"]), "invalid volume"),
        // Ports and the publish IP.
        (up(&["-p=-1"]), "invalid port"),
        (up(&["-p", "80;id"]), "invalid port"),
        (up(&["-p", "8080/sctp"]), "invalid port"),
        (up(&["-p", "0x50"]), "invalid port"),
        (up(&["-p", "٨٠"]), "invalid port"), // Arabic-Indic digits
        (up(&["-p", "99999999999999999999"]), "invalid port"),
        (up(&["-p", "443", "-p", "443"]), "published twice"),
        (up(&["--publish-ip", "10.0.0.1"]), "not a loopback address"),
        (up(&["--publish-ip", "127.0.0.1;id"]), "invalid publish IP"),
        (up(&["--publish-ip", "::"]), "not a loopback address"),
        // Pools and blocks.
        (up(&["--pool", "10.0.0.0/8;id"]), "invalid pool"),
        (up(&["--pool", "::/0"]), "invalid pool"),
        (up(&["--pool", "10.213.0.1/16"]), "host bits"),
        (up(&["--block", "31"]), "invalid block"),
        // Daemons.
        (up(&["--daemons", "egress,$(id)"]), "invalid daemon name"),
        (up(&["--daemons", "a,,b"]), "invalid daemon name"),
        // TOML files.
        (
            up(&[
                "--config",
                &write("unknown.toml", "image = \"x\"\nprivileged = true\n"),
            ]),
            "unknown field",
        ),
        (
            up(&[
                "--config",
                &write("bad-build.toml", "[build]\ncontext = \".\"\nargs = []\n"),
            ]),
            "unknown field",
        ),
        (
            up(&["--config", &write("syntax.toml", "image = \n")]),
            "invalid config",
        ),
        (
            up(&["--config", &write("types.toml", "publish = 8080\n")]),
            "invalid config",
        ),
        (
            up(&["--config", &write("env.toml", "env = [\"A=x\\ny\"]\n")]),
            "env-file cannot carry",
        ),
        (
            up(&["--config", &write("vol.toml", "volumes = [\"r$l:/x\"]\n")]),
            "invalid volume",
        ),
        (
            up(&["--config", "/nonexistent/spec.toml"]),
            "cannot read config",
        ),
    ]
}

#[test]
fn hostile_inputs_are_refused_with_exit_2_and_no_engine_command() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (args, needle) in &cases {
        let fake = Fake::new();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = fake.bottle(&refs);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(fake.calls().is_empty(), "{args:?} ran {:?}", fake.calls());
    }
    eprintln!("{} hostile inputs refused", cases.len());
}

// ---------------------------------------------------------------------------------------------
// A hostile machine: other users' files where bottle keeps its locks, devices and huge files as
// config, values an env-file cannot carry, pools that would wrap. Each case: the expected exit
// code, exactly one line on stderr, within a time bound, and (where it is refused) no engine
// command.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

struct Outcome {
    code: Option<i32>,
    stderr: String,
    took: Duration,
    calls: usize,
}

/// Run bottle with `args` against a fresh fake engine. `local` makes the engine look local (no
/// DOCKER_HOST), so bottle takes its locks. `env` is set, `XDG_RUNTIME_DIR` and `TMPDIR` are
/// removed unless `env` sets them.
fn outcome(
    args: &[&str],
    local: bool,
    env: &[(&str, &str)],
    shell_prefix: Option<&str>,
) -> Outcome {
    let mut fake = Fake::new();
    // `down demo` on an engine without the bottle, as docker 20.10 answers it.
    fake.on(
        "inspect *",
        1,
        "[]\n",
        "Error: No such object: bot-bottle-sidecars-demo\nError: No such object: bot-bottle-bundle-demo\n",
    );
    let mut cmd = match shell_prefix {
        // `sh -c '<prefix>; exec bottle "$@"'`, for umask.
        Some(prefix) => {
            let bottle = fake.command(&[]);
            let mut sh = std::process::Command::new("sh");
            sh.arg("-c")
                .arg(format!("{prefix}; exec \"$0\" \"$@\""))
                .arg(bottle.get_program())
                .args(args);
            for (k, v) in bottle.get_envs() {
                match v {
                    Some(v) => sh.env(k, v),
                    None => sh.env_remove(k),
                };
            }
            sh
        }
        None => fake.command(args),
    };
    cmd.env_remove("XDG_RUNTIME_DIR").env_remove("TMPDIR");
    if local {
        cmd.env_remove("DOCKER_HOST");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    Outcome {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
        calls: fake.calls().len(),
    }
}

#[track_caller]
fn check(what: &str, o: &Outcome, code: i32, needle: &str, bound: Duration) {
    assert_eq!(o.code, Some(code), "{what}: {}", o.stderr);
    assert_eq!(
        o.stderr.trim_end().lines().count(),
        1,
        "{what}: not one line: {}",
        o.stderr
    );
    assert!(
        o.stderr.contains(needle),
        "{what}: expected {needle:?} in {}",
        o.stderr
    );
    assert!(o.took < bound, "{what}: took {:?}", o.took);
    if code == 2 {
        assert_eq!(o.calls, 0, "{what}: ran an engine command");
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

const SEC: Duration = Duration::from_secs(1);
const DOWN: &[&str] = &["down", "demo"];

/// Issue 8: another user could pre-create `/tmp/bottle-<uid>`, point it somewhere with a symlink,
/// or plant a FIFO that blocked bottle in `open()` beyond SIGINT. Issue 14 (item 9): refusing them
/// (exit 1) let anyone stop bottle, so now none of them is used: bottle runs without locks, says
/// why in one line, and makes nothing through them.
#[test]
fn a_lock_directory_someone_else_controls_is_not_used() {
    let rt = tempfile::tempdir().unwrap();
    let xdg = rt.path().to_str().unwrap();
    let dir = rt.path().join("bottle");

    // A symlink to a directory of ours: not used, and nothing is made through it.
    let elsewhere = rt.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    let o = outcome(DOWN, true, &[("XDG_RUNTIME_DIR", xdg)], None);
    check("symlink dir", &o, 0, "is a symlink, not a directory", SEC);
    assert!(o.stderr.contains("running without locks"), "{}", o.stderr);
    assert!(o.calls > 0, "`down` still ran");
    assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none());
    std::fs::remove_file(&dir).unwrap();

    // A FIFO as the lock file: not used, never waited on.
    std::fs::create_dir(&dir).unwrap();
    mkfifo(&dir.join("bot-bottle-demo.lock"));
    let o = outcome(DOWN, true, &[("XDG_RUNTIME_DIR", xdg)], None);
    check(
        "FIFO lock file",
        &o,
        0,
        "is a FIFO, not a regular file",
        SEC,
    );
    std::fs::remove_file(dir.join("bot-bottle-demo.lock")).unwrap();

    // A symlink as the lock file: its target is never created.
    std::os::unix::fs::symlink(elsewhere.join("t"), dir.join("bot-bottle-demo.lock")).unwrap();
    let o = outcome(DOWN, true, &[("XDG_RUNTIME_DIR", xdg)], None);
    check("symlink lock file", &o, 0, "is a symlink: remove it", SEC);
    assert!(!elsewhere.join("t").exists());
    std::fs::remove_file(dir.join("bot-bottle-demo.lock")).unwrap();

    // Our own directory, left world-writable: tightened to 0700, and `down` works.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = outcome(DOWN, true, &[("XDG_RUNTIME_DIR", xdg)], None);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stderr, "", "nothing to say");
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);

    // Another user's directory (the `/tmp/bottle-<uid>` attack), through TMPDIR this time.
    if !is_root() {
        eprintln!("skipped: a lock directory owned by another uid needs root to chown");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("bottle-0");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let o = outcome(
        DOWN,
        true,
        &[("TMPDIR", tmp.path().to_str().unwrap())],
        None,
    );
    check(
        "dir owned by 65534",
        &o,
        0,
        "belongs to uid 65534, not to you",
        SEC,
    );
    assert!(
        std::fs::read_dir(&theirs).unwrap().next().is_none(),
        "wrote into it"
    );
    assert_eq!(
        std::fs::metadata(&theirs).unwrap().mode() & 0o777,
        0o777,
        "left alone"
    );
}

/// Issue 8: a missing `XDG_RUNTIME_DIR` or `TMPDIR` was created with `mkdir -p`, and a read-only
/// one made `up` fail. Now bottle creates neither, and runs without locks, saying so once.
#[test]
fn without_a_usable_runtime_directory_bottle_runs_without_locks() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no/such/dir");
    let missing = missing.to_str().unwrap();
    for (what, var) in [("XDG_RUNTIME_DIR", "XDG_RUNTIME_DIR"), ("TMPDIR", "TMPDIR")] {
        let o = outcome(DOWN, true, &[(var, missing)], None);
        check(what, &o, 0, "running without locks", SEC);
        assert!(o.stderr.contains("does not exist"), "{}", o.stderr);
        assert!(!tmp.path().join("no").exists(), "{what}: created");
        assert!(o.calls > 0, "{what}: `down` still ran");
    }
    // Unwritable: sysfs refuses a mkdir even to root.
    if Path::new("/sys/kernel").is_dir() {
        let o = outcome(DOWN, true, &[("XDG_RUNTIME_DIR", "/sys")], None);
        check("XDG_RUNTIME_DIR=/sys", &o, 0, "running without locks", SEC);
    } else {
        eprintln!("skipped: no /sys for the unwritable runtime directory case");
    }
    if !is_root() {
        let ro = tmp.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        let o = outcome(
            DOWN,
            true,
            &[("XDG_RUNTIME_DIR", ro.to_str().unwrap())],
            None,
        );
        check(
            "a 0500 XDG_RUNTIME_DIR",
            &o,
            0,
            "running without locks",
            SEC,
        );
    }
}

/// Issue 8: under `umask 000` the lock directory was 0777.
#[test]
fn umask_000_still_makes_a_private_lock_directory() {
    let rt = tempfile::tempdir().unwrap();
    let xdg = rt.path().to_str().unwrap();
    let o = outcome(DOWN, true, &[("XDG_RUNTIME_DIR", xdg)], Some("umask 000"));
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.stderr, "", "nothing to say");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&rt.path().join("bottle")), 0o700);
    assert_eq!(mode(&rt.path().join("bottle/bot-bottle-demo.lock")), 0o600);
}

/// Issue 8: `--config /dev/zero` grew to 9 GB and never ended; a 200 MB TOML took 980 MB.
#[test]
fn config_files_are_bounded_and_never_block() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    // Valid TOML all the way, so only the size can be the reason.
    std::fs::write(&big, "# padding\n".repeat(2 * 1024 * 1024 / 10)).unwrap();
    let just_fits = dir.path().join("fits.toml");
    std::fs::write(
        &just_fits,
        format!("image = \"img\"\n{}", "#".repeat(1024 * 1024 - 15) + "\n"),
    )
    .unwrap();
    assert_eq!(std::fs::metadata(&just_fits).unwrap().len(), 1024 * 1024);
    let fifo = dir.path().join("fifo.toml");
    mkfifo(&fifo);
    let path = |p: &Path| p.to_str().unwrap().to_string();
    for (what, config, needle) in [
        ("/dev/zero", "/dev/zero".to_string(), "it is a device"),
        ("2 MiB", path(&big), "larger than the limit of 1 MiB"),
        ("FIFO", path(&fifo), "it is a FIFO"),
        ("directory", path(dir.path()), "it is a directory"),
    ] {
        let o = outcome(&["plan", "demo", "--config", &config], false, &[], None);
        check(what, &o, 2, needle, SEC);
    }
    let o = outcome(
        &["plan", "demo", "--config", &path(&just_fits)],
        false,
        &[],
        None,
    );
    assert_eq!(o.code, Some(0), "exactly 1 MiB is fine: {}", o.stderr);
}

/// Issue 8: an env value over 64 KiB was not refused up front: the network was created, then the
/// engine failed with `bufio.Scanner: token too long`.
#[test]
fn an_env_value_an_env_file_cannot_carry_is_refused_before_any_command() {
    let value = format!("hunter2{}", "x".repeat(70 * 1024));
    let entry = format!("TOK={value}");
    for args in [
        vec!["up", "demo", "-e", &entry],
        vec!["plan", "demo", "-e", &entry],
    ] {
        let o = outcome(&args, false, &[], None);
        check(
            "70 KiB env value",
            &o,
            2,
            "longer than an env-file line can carry",
            SEC,
        );
        assert!(!o.stderr.contains("hunter2"), "{}", o.stderr);
    }
}

/// Issue 8: `--pool 0.0.0.0/0 --block 0` gave `--ip-range 0.0.0.0/1`; `--pool 10.77.0.0`
/// suggested a block "of /32 or longer"; loopback and multicast pools were accepted.
#[test]
fn pool_edge_cases_are_refused_with_an_accepted_suggestion() {
    let mut suggested = 0;
    for (pool, block, needle) in [
        ("0.0.0.0/0", "0", "overlaps"),
        ("0.0.0.0/0", "24", "overlaps"),
        ("10.77.0.0", "24", "a bare address is not a pool"),
        ("10.77.0.0/30", "30", "is too small"),
        ("127.0.0.0/8", "24", "loopback"),
        ("169.254.0.0/16", "24", "link-local"),
        ("224.0.0.0/4", "24", "multicast"),
        ("240.0.0.0/4", "24", "reserved"),
        ("0.0.0.0/8", "24", "\"this network\""),
        ("10.0.0.0/8", "4", "too small for /4 blocks"),
        ("10.213.0.0/16", "30", "invalid block"),
    ] {
        for cmd in ["plan", "subnet"] {
            let o = outcome(
                &[cmd, "demo", "--pool", pool, "--block", block],
                false,
                &[],
                None,
            );
            let what = format!("{cmd} --pool {pool} --block {block}");
            check(&what, &o, 2, needle, SEC);
            // Every suggestion is itself accepted: a backticked pool (`CIDR`) or block (`/N`)
            // after the message's first `: `, both for `P` in `/N` blocks.
            for (p, b) in suggestions(&o.stderr, pool, block) {
                let args = ["subnet", "demo", "--pool", &p, "--block", &b];
                let again = outcome(&args, false, &[], None);
                assert_eq!(
                    again.code,
                    Some(0),
                    "{what}: suggestion {p} /{b}: {}",
                    again.stderr
                );
                suggested += 1;
            }
        }
    }
    assert!(suggested >= 11, "only {suggested} suggestions checked");
}

/// The pool and block each suggestion in `message` leads to, from `pool` and `block` as given.
fn suggestions(message: &str, pool: &str, block: &str) -> Vec<(String, String)> {
    let message = message.trim_start_matches("bottle: ");
    let advice = message.split_once(": ").map_or("", |(_, a)| a);
    let parts: Vec<&str> = advice.split('`').collect();
    let as_block = |t: &str| {
        t.strip_prefix('/')
            .filter(|n| n.parse::<u8>().is_ok())
            .map(str::to_string)
    };
    let is_cidr = |t: &str| {
        t.contains('/')
            && t.split('/')
                .next()
                .unwrap()
                .parse::<std::net::Ipv4Addr>()
                .is_ok()
    };
    let mut out = Vec::new();
    let mut i = 1;
    while i < parts.len() {
        let q = parts[i];
        if let Some(b) = as_block(q) {
            out.push((pool.to_string(), b));
        } else if is_cidr(q) {
            let mut b = block.to_string();
            if parts.get(i + 1) == Some(&" in ") {
                b = parts.get(i + 2).and_then(|t| as_block(t)).expect(message);
                i += 2;
            }
            out.push((q.to_string(), b));
        }
        i += 2;
    }
    out
}

/// Issue 8: `env = "TOK=hunter2-secret"` printed `invalid type: string "TOK=hunter2-secret"`.
#[test]
fn a_config_error_never_quotes_the_value() {
    let dir = tempfile::tempdir().unwrap();
    for (text, needle) in [
        (
            "env = \"TOK=hunter2-secret\"\n",
            "line 1, column 7: `env` must be an array, not a string",
        ),
        (
            "image = \"img\"\nenv = [\"TOK=hunter2-secret",
            "line 2, column",
        ),
        ("env = [\"TOK=hunter2-secret\\nx\"]\n", "env `TOK`"),
        ("TOK = \"hunter2-secret\"\n", "unknown field `TOK`"),
    ] {
        let path = dir.path().join("spec.toml");
        std::fs::write(&path, text).unwrap();
        for cmd in ["up", "plan"] {
            let o = outcome(
                &[cmd, "demo", "--config", path.to_str().unwrap()],
                false,
                &[],
                None,
            );
            check(text, &o, 2, needle, SEC);
            assert!(!o.stderr.contains("hunter2"), "{text:?}: {}", o.stderr);
        }
    }
}

/// Issue 11: ports as integers or strings, and a volume relative to the file.
#[test]
fn toml_takes_integer_ports_and_relative_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.toml");
    std::fs::write(
        &path,
        "publish = [8080, \"9000\"]\nvolumes = [\"./data:/data:ro\"]\n",
    )
    .unwrap();
    let fake = Fake::new();
    let out = fake.bottle(&["plan", "demo", "--config", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let argvs: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let run = &argvs[1];
    let want_volume = format!("{}/data:/data:ro", dir.path().display());
    assert!(run.contains(&want_volume), "{run:?}");
    // Each at the host-port rule's candidate 0 (see fixtures/port-vectors.json).
    assert!(run.contains(&"127.0.0.1:26435:8080".to_string()), "{run:?}");
    assert!(run.contains(&"127.0.0.1:25450:9000".to_string()), "{run:?}");
}

/// Issue 8: masking garbled `plan` (`-e TOKEN=1` printed `--subnet '***0.2***3.***50.0/24'`,
/// `-e A=docker` printed `'***' network create`), so it disagreed with `plan --json`. Each `plan`
/// line now splits back into exactly the `plan --json` argv, and `--verbose` shows what runs.
#[test]
fn plan_lines_and_plan_json_agree_argument_for_argument() {
    let fake = Fake::new();
    let spec = [
        "plan",
        "demo",
        "-e",
        "ONE=1",
        "-e",
        "WORD=docker",
        "-e",
        "PREFIXY=bot",
        "-e",
        "BARE",
        "-p",
        "8080",
        "-p",
        "1",
    ];
    let mut cmd = fake.command(&spec);
    cmd.env("BARE", "bot");
    let text = cmd.output().unwrap();
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let mut cmd = fake.command(&spec);
    cmd.env("BARE", "bot").arg("--json");
    let json = cmd.output().unwrap();
    let argvs: Vec<Vec<String>> = serde_json::from_slice(&json.stdout).unwrap();
    let lines: Vec<Vec<String>> = String::from_utf8(text.stdout)
        .unwrap()
        .lines()
        .map(|l| shlex::split(l).unwrap())
        .collect();
    assert_eq!(lines, argvs);
    assert_eq!(argvs.len(), 3);
    assert_eq!(argvs[0][0], "docker", "{argvs:?}");
    assert!(
        argvs[0]
            .iter()
            .any(|a| a.starts_with("--subnet") || a.starts_with("10.")),
        "{argvs:?}"
    );
}

#[test]
fn verbose_lines_are_the_argv_as_run() {
    let fake = Fake::new();
    let mut cmd = fake.command(&[
        "up",
        "demo",
        "-e",
        "ONE=1",
        "-e",
        "WORD=docker",
        "-e",
        "PREFIXY=bot",
        "-p",
        "8080",
        "--verbose",
    ]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let shown: Vec<Vec<String>> = err
        .lines()
        .filter_map(|l| l.strip_prefix("+ "))
        .map(|l| shlex::split(l).unwrap())
        .collect();
    let calls = fake.calls();
    assert!(!calls.is_empty(), "{err}");
    assert_eq!(shown.len(), calls.len(), "{err}");
    for (line, call) in shown.iter().zip(&calls) {
        assert_eq!(line[0], "docker");
        assert_eq!(&line[1..], &call[..], "{err}");
    }
    assert!(!err.contains("***"), "nothing in an argv is masked: {err}");
}

/// The inherited value of a bare `KEY` is masked in engine stderr, like a `KEY=VALUE` value
/// (issue 8: it was not).
#[test]
fn engine_stderr_is_masked_for_literal_and_inherited_values() {
    let mut fake = Fake::new();
    fake.on(
        "network create*",
        1,
        "",
        "Error response from daemon: echo hunter2-literal and inherited-secret-xyz\n",
    );
    let mut cmd = fake.command(&["up", "demo", "-e", "LIT=hunter2-literal", "-e", "INH"]);
    cmd.env("INH", "inherited-secret-xyz");
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("echo *** and ***"), "{err}");
    assert!(
        !err.contains("hunter2") && !err.contains("inherited-secret"),
        "{err}"
    );
}

/// Issue 14, item 9: without `XDG_RUNTIME_DIR`, in a 1777 temp directory, another user ran `mkdir
/// -m 777 $TMPDIR/bottle-0` (or planted a symlink there) and `up`, `down` and `gc` exited 1 for
/// root. Locks only spare work: bottle goes on without them, says so once, and writes nothing
/// there. The directory and the symlink are made by a real other uid (`setpriv`).
#[test]
fn another_users_lock_directory_in_tmp_does_not_stop_bottle() {
    if !is_root() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: acting as another uid needs root and setpriv");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let ours = tmp
        .path()
        .join(format!("bottle-{}", unsafe { libc::geteuid() }));
    let as_nobody = |args: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    // Where the symlink points: a directory the other user owns and could read back.
    let theirs = tmp.path().join("theirs");
    as_nobody(&["mkdir", "-m", "777", theirs.to_str().unwrap()]);

    let mut fake = Fake::new();
    fake.on("network create *", 0, "net1\n", "")
        .on("run *", 0, "c1\n", "")
        .on(
            "container inspect *",
            0,
            &crate::fake::container_json(
                "bot-bottle-sidecars-demo",
                "c1",
                "running",
                &[("bottle.role", "bundle"), ("bottle.slug", "demo")],
                "bot-bottle-bundle-demo",
                "10.213.150.2",
                &[],
            ),
            "",
        )
        // `gc`: one dead bundle to remove (so it takes that bottle's lock).
        .on("ps *", 0, "c1\tbot-bottle-sidecars-demo\n", "")
        .on(
            "inspect --format * c1",
            0,
            &crate::fake::container_json(
                "bot-bottle-sidecars-demo",
                "c1",
                "dead",
                &[("bottle.role", "bundle"), ("bottle.slug", "demo")],
                "bot-bottle-bundle-demo",
                "",
                &[],
            ),
            "",
        )
        .on(
            "inspect *",
            1,
            "[]\n",
            "Error: No such object: bot-bottle-sidecars-demo\nError: No such object: bot-bottle-bundle-demo\n",
        );
    let run = |args: &[&str]| {
        let out = fake
            .command(args)
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("DOCKER_HOST")
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };
    for (what, plant) in [
        (
            "mkdir -m 777",
            vec!["mkdir", "-m", "777", ours.to_str().unwrap()],
        ),
        (
            "symlink",
            vec!["ln", "-s", theirs.to_str().unwrap(), ours.to_str().unwrap()],
        ),
    ] {
        as_nobody(&plant);
        for args in [
            &["up", "demo", "--image", "img"][..],
            &["down", "demo"],
            &["gc"],
        ] {
            let (code, stderr) = run(args);
            assert_eq!(code, Some(0), "{what}: {args:?}: {stderr}");
            let warned = stderr
                .lines()
                .filter(|l| l.contains("running without locks"))
                .count();
            assert_eq!(warned, 1, "{what}: {args:?}: warned once: {stderr}");
            assert!(
                stderr.contains("bottle does not use it"),
                "{what}: {args:?}: {stderr}"
            );
        }
        let meta = std::fs::symlink_metadata(&ours).unwrap();
        assert_eq!(meta.uid(), 65534, "{what}: left as it was");
        for dir in [&ours, &theirs] {
            if dir.is_dir() {
                assert!(
                    std::fs::read_dir(dir).unwrap().next().is_none(),
                    "{what}: bottle wrote into {}",
                    dir.display()
                );
            }
        }
        as_nobody(&["rm", "-r", ours.to_str().unwrap()]);
    }
}
