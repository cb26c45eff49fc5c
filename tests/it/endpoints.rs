//! What bottle reports about a bottle's endpoints against a real engine (gated like `real.rs`):
//! a stopped bundle (issue 14, item 11) and `--publish-ip auto` beside foreign containers and host
//! sockets (issue 14, item 10).

use crate::real::{Bottles, clis, json};

/// Issue 14, item 11: after `docker stop` of the bundle, `status --json` gave `bundle.ip: null`
/// and `bottle env` exited 0 with `BOTTLE_HOST_IP=''` and no port line, while `bottle port` exited
/// 1. Now the address is the pinned one, `env` and `port` both fail saying the bundle is stopped,
/// and once it runs again they print the same endpoints. On every engine path.
#[test]
fn a_stopped_bundle_keeps_its_facts_and_env_agrees_with_port() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("stop{i}"));
        let pool = format!("10.{}.96.0/20", 100 + std::process::id() % 100);
        let up_args = [
            "up",
            "st",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--json",
        ];
        let up = json(&b.ok(&up_args));
        let pinned = up["bundle"]["ip"].clone();
        assert!(pinned.is_string(), "{path}: {up}");
        let bundle = format!("{}-sidecars-st", b.prefix);
        let stop = b.docker(&["stop", "-t", "0", &bundle]);
        assert!(stop.status.success(), "{path}: {stop:?}");

        let status = json(&b.ok(&["status", "st", "--json"]));
        assert_eq!(status["bundle"]["state"], "exited", "{path}: {status}");
        assert_eq!(status["bundle"]["ip"], pinned, "{path}: {status}");
        let mut said = Vec::new();
        for args in [
            &["env", "st"][..],
            &["env", "st", "--json"],
            &["port", "st"],
            &["port", "st", "8080"],
        ] {
            let out = b.bottle(args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "{path}: {args:?}: {stderr}");
            assert!(
                stderr.contains("is stopped (state: exited)"),
                "{path}: {args:?}: {stderr}"
            );
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains("BOTTLE_"),
                "{path}: {args:?}"
            );
            said.push(stderr);
        }
        said.dedup();
        assert_eq!(said.len(), 1, "{path}: the same message: {said:?}");

        // Running again: `env` and `port` print the same endpoints.
        let again = json(&b.ok(&up_args));
        assert_eq!(again["bundle"]["ip"], pinned, "{path}: {again}");
        let port = b.ok(&["port", "st", "8080"]).trim().to_string();
        let env = json(&b.ok(&["env", "st", "--json"]));
        assert_eq!(env["BOTTLE_PORT_8080"], port.as_str(), "{path}: {env}");
        assert_eq!(env["BOTTLE_BUNDLE_IP"], pinned, "{path}: {env}");
        assert_eq!(
            env["BOTTLE_HOST_IP"],
            port.rsplit_once(':').unwrap().0,
            "{path}: {env}"
        );
    }
}
