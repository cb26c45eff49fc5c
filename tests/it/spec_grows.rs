//! Issue 16, item 4 on every engine path: limits read back from the engine, named volumes made
//! with bottle's labels and kept across a replace, `down` and `gc`, removed by `down --volumes`
//! (never a foreign one), and networks IPv4-only by their own setting. One bottle per path.

use crate::real::{Bottles, EnginePath, clis, image};
use crate::schema;

/// The engine's view of one object, through a Go template.
fn shown(b: &Bottles, args: &[&str]) -> String {
    let out = b.docker(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The names of the volumes this test's prefix labelled, as the engine lists them.
fn labelled_volumes(b: &Bottles) -> Vec<String> {
    let filter = format!("label=bottle.prefix={}", b.prefix);
    let list = shown(
        b,
        &["volume", "ls", "--format", "{{.Name}}", "--filter", &filter],
    );
    list.lines().map(str::to_string).collect()
}

fn volume_exists(b: &Bottles, name: &str) -> bool {
    b.docker(&["volume", "inspect", name]).status.success()
}

/// Removes the test's volumes whatever happens: the foreign one (bottle must never have) and
/// the data one (should bottle have failed to label it). Made before the test's [`Bottles`], so
/// it is dropped after them, once the bundle that mounts them is gone.
struct Volumes(EnginePath, Vec<String>);

impl Drop for Volumes {
    fn drop(&mut self) {
        for name in &self.1 {
            let _ = self.0.engine().args(["volume", "rm", name]).output();
        }
    }
}

#[test]
fn limits_named_volumes_and_ipv4_only_networks_on_every_engine() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let img = image();
        // Before `b`, so dropped after it.
        let mut volumes = Volumes(path.clone(), Vec::new());
        let b = Bottles::new(path, &format!("grow{i}"));
        let foreign = format!("{}-foreign", b.prefix);
        let data = format!("{}-data", b.prefix);
        volumes.1 = vec![foreign.clone(), data.clone()];
        // A volume of the name that bottle did not make: mounted as it is, never removed.
        shown(&b, &["volume", "create", &foreign]);
        let up = |cpus: &str| {
            let v1 = format!("{data}:/data");
            let v2 = format!("{}:/foreign:ro", foreign);
            let args = [
                "up",
                "web",
                "--image",
                &img,
                "-p",
                "8080",
                "--memory",
                "64m",
                "--cpus",
                cpus,
                "--pids-limit",
                "50",
                "-v",
                &v1,
                "-v",
                &v2,
                "--json",
            ];
            schema::check("up", &b.ok(&args))
        };
        let bundle = format!("{}-sidecars-web", b.prefix);
        let net = format!("{}-bundle-web", b.prefix);

        let first = up("0.5");
        assert_eq!(first["action"], "created", "{path}: {first}");
        // Limits: as the engine applies them, in bottle's JSON and in HostConfig.
        let limits = &first["bundle"]["limits"];
        assert_eq!(limits["memory"], 64 << 20, "{path}: {first}");
        assert_eq!(limits["cpus"], "0.5", "{path}: {first}");
        assert_eq!(limits["pids_limit"], 50, "{path}: {first}");
        let host = "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}";
        let fmt = ["container", "inspect", "--format", host, &bundle];
        assert_eq!(shown(&b, &fmt), "67108864 500000000 50", "{path}");
        // The network is IPv4-only by its own setting, on every path.
        let ipv6 = match path.podman && path.env.is_empty() {
            true => "{{.IPv6Enabled}}",
            false => "{{.EnableIPv6}}",
        };
        let fmt = ["network", "inspect", "--format", ipv6, &net];
        assert_eq!(shown(&b, &fmt), "false", "{path}");
        // The named volume carries the bottle's labels; the foreign one was left unlabelled.
        assert_eq!(labelled_volumes(&b), std::slice::from_ref(&data), "{path}");
        let labels = shown(
            &b,
            &["volume", "inspect", "--format", "{{json .Labels}}", &data],
        );
        assert!(
            labels.contains("\"bottle.slug\":\"web\""),
            "{path}: {labels}"
        );
        let write = ["exec", &bundle, "sh", "-c", "echo kept > /data/f"];
        shown(&b, &write);

        // A change of limits replaces the bundle and says which; the data survives.
        let replaced = up("1");
        assert_eq!(replaced["action"], "replaced", "{path}: {replaced}");
        assert_eq!(replaced["reason"], "limits (cpus)", "{path}: {replaced}");
        let fmt = [
            "container",
            "inspect",
            "--format",
            "{{.HostConfig.NanoCpus}}",
            &bundle,
        ];
        assert_eq!(shown(&b, &fmt), "1000000000", "{path}");
        let read = ["exec", &bundle, "cat", "/data/f"];
        assert_eq!(shown(&b, &read), "kept", "{path}");

        // `down` and `gc` keep volumes.
        let down = schema::check("down", &b.ok(&["down", "web", "--json"]));
        assert!(down["removed"].get("volumes").is_none(), "{path}: {down}");
        b.ok(&["gc"]);
        assert!(
            volume_exists(&b, &data),
            "{path}: `down` or `gc` removed the volume"
        );
        // `down --all --volumes` removes the volume bottle made for a bottle already down, and not
        // the other one.
        let all = schema::check("down", &b.ok(&["down", "--all", "--volumes", "--json"]));
        assert_eq!(
            all[0]["removed"]["volumes"],
            serde_json::json!([data]),
            "{path}: {all}"
        );
        assert!(!volume_exists(&b, &data), "{path}");
        assert!(
            volume_exists(&b, &foreign),
            "{path}: a foreign volume was removed"
        );
        assert!(labelled_volumes(&b).is_empty(), "{path}");
        // Idempotent: nothing of the bottle is left, and `--volumes` finds nothing more.
        let again = schema::check("down", &b.ok(&["down", "web", "--volumes", "--json"]));
        assert_eq!(
            again["removed"]["containers"],
            serde_json::json!([]),
            "{path}"
        );
    }
}
