//! What bottle reports about a bottle's endpoints against a real engine (gated like `real.rs`):
//! a stopped bundle (issue 14, item 11) and `--publish-ip auto` beside foreign containers and host
//! sockets (issue 14, item 10).

use crate::real::{Bottles, clis, json};

/// Issue 14, item 11: after `docker stop` of the bundle, `status --json` gave `bundle.ip: null`
/// and `bottle env` exited 0 with `BOTTLE_HOST_IP=''` and no port line, while `bottle port`
/// exited 1. Now the address is the pinned one, `env` and `port` both fail saying the bundle is
/// stopped, and once it runs again they print the same endpoints. On every engine path.
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

/// Issue 14, item 10: a foreign container publishing on 127.0.4.32 and `up fa ... --publish-ip auto
/// --loopback-pool 127.0.4.32/30` gave `fa` 127.0.4.32 too: only bottles' bundles were looked at.
/// Now every container's bindings count (a running one, and one created but never started, whose
/// address is in its `PortBindings` only), and on a local engine so does a host socket bound to
/// one address of the pool. On every engine path; the host socket on the local ones.
#[test]
fn publish_ip_auto_skips_foreign_containers_and_host_listeners() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("fa{i}"));
        let local = path
            .env
            .iter()
            .all(|(k, v)| k != "DOCKER_HOST" || v.starts_with("unix://"));
        // Named with the test's prefix, so the guard removes them whatever happens.
        let running = format!("{}-foreign-run", b.prefix);
        let created = format!("{}-foreign-new", b.prefix);
        for (verb, name, ip) in [
            ("run", &running, "127.0.4.32"),
            ("create", &created, "127.0.4.33"),
        ] {
            let mut args = vec![verb];
            if verb == "run" {
                args.push("--detach");
            }
            let publish = format!("{ip}::80");
            args.extend(["--name", name, "--publish", &publish, &path.image]);
            let out = b.docker(&args);
            assert!(out.status.success(), "{path}: {args:?}: {out:?}");
        }
        // A host service on 127.0.4.34 (any port): the address is held.
        let held = std::net::TcpListener::bind("127.0.4.34:0").unwrap();
        let pool = format!("10.{}.112.0/20", 100 + std::process::id() % 100);
        let up = json(&b.ok(&[
            "up",
            "fa",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--publish-ip",
            "auto",
            "--loopback-pool",
            "127.0.4.32/30",
            "--json",
        ]));
        let want = if local { "127.0.4.35" } else { "127.0.4.34" };
        assert_eq!(up["host_ip"], want, "{path}: {up}");
        assert_eq!(up["ports"][0]["host_ip"], want, "{path}: {up}");
        drop(held);
    }
}
