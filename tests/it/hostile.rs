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
        (up(&["-e", "TOKEN=line1\nline2"]), "bare name"),
        (up(&["-e", "TOKEN=a\rb"]), "bare name"),
        (up(&["-e", "BOT_BOTTLE_SIDECAR_DAEMONS=x"]), "--daemons"),
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
        (up(&["-p", "8080/udp"]), "invalid port"),
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
            "bare name",
        ),
        (
            up(&["--config", &write("vol.toml", "volumes = [\"rel:/x\"]\n")]),
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
