//! Endpoints that hold still (issue 16, item 1) and UDP ports (item 4), against a real engine
//! (gated like `real.rs`): one bottle per engine path, taken through stop/start, restart,
//! pause/unpause and replaces with the engine's own commands and `bottle up`, and with bottle's
//! own verbs, its endpoints read
//! before and after each. The table of what was seen is printed (the closing note).

use std::io::Write;

use crate::real::{Bottles, clis, json};

/// A bottle's endpoints as `status --json` gives them: `PORT/PROTO -> HOST_IP:HOST_PORT`, sorted.
pub fn endpoints(b: &Bottles, slug: &str) -> Vec<String> {
    let status = json(&b.ok(&["status", slug, "--json"]));
    let mut out: Vec<String> = status["ports"]
        .as_array()
        .unwrap_or_else(|| panic!("{status}"))
        .iter()
        .map(|p| {
            format!(
                "{}/{} -> {}:{}",
                p["container_port"],
                p["protocol"].as_str().unwrap(),
                p["host_ip"].as_str().unwrap(),
                p["host_port"]
            )
        })
        .collect();
    out.sort();
    out
}

/// Poll `status` until the bundle shows `state`, at most 20 s (an outside restart returns before
/// the port proxy is up on some engines).
pub fn await_state(b: &Bottles, slug: &str, state: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let out = b.bottle(&["status", slug, "--json"]);
        let seen = json(&String::from_utf8_lossy(&out.stdout))["bundle"]["state"].clone();
        if seen == state {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}: bundle of `{slug}` never became {state}: {seen}",
            b.path
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Print the table of endpoints before and after each step, past the harness's capture.
pub fn print_table(path: &str, rows: &[(String, Vec<String>, Vec<String>)]) {
    let mut text = format!("endpoints on {path}:\n");
    for (step, before, after) in rows {
        let same = match (
            before.iter().all(|e| after.contains(e)),
            after.len() - before.len(),
        ) {
            (false, _) => "MOVED".to_string(),
            (true, 0) => "same".to_string(),
            (true, n) => format!("same, {n} added"),
        };
        text.push_str(&format!(
            "  {step:<46} {:<58} -> {} ({same})\n",
            before.join(", "),
            after.join(", ")
        ));
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Issue 16: host ports moved on every start (33064 → 33065 → 33067 → 33068). Now they are the
/// host-port rule's, published explicitly, and stay through the engine's stop, restart and pause
/// with `bottle up` starting or unpausing the bundle, and through a replace (`ports_changed:
/// false`; asking for other ports is in `held.rs`); a recorded endpoint held by another container
/// makes `up` fail naming it, and nothing moves. UDP ports are published and read back like TCP.
#[test]
fn endpoints_hold_still_through_start_restart_pause_and_replace() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("hold{i}"));
        let pool = format!("10.{}.112.0/20", 100 + std::process::id() % 100);
        let img = path.image.clone();
        let spec = |extra: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = ["up", "h", "--image", &img, "--pool", &pool, "--json"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let up = |extra: &[&str]| {
            let args = spec(extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::schema::check("up", &b.ok(&args))
        };
        let ports = ["-p", "8080", "-p", "5353/udp"];
        let first = up(&ports);
        assert_eq!(first["action"], "created", "{path}: {first}");
        let e0 = endpoints(&b, "h");
        assert_eq!(e0.len(), 2, "{path}: {e0:?}");
        // The rule's range, below the ephemeral one.
        for p in first["ports"].as_array().unwrap() {
            let port = p["host_port"].as_u64().unwrap();
            assert!((20000..=32767).contains(&port), "{path}: {p}");
        }
        assert!(
            e0[1].starts_with("8080/tcp -> 127.0.0.1:"),
            "{path}: {e0:?}"
        );
        assert!(
            e0[0].starts_with("5353/udp -> 127.0.0.1:"),
            "{path}: {e0:?}"
        );
        // UDP reads back like TCP: `port SLUG 53/udp`, `env`'s BOTTLE_PORT_5353_UDP.
        let udp = b.ok(&["port", "h", "5353/udp"]).trim().to_string();
        assert!(e0[0].ends_with(&udp), "{path}: {udp} vs {e0:?}");
        let env = json(&b.ok(&["env", "h", "--json"]));
        assert_eq!(env["BOTTLE_PORT_5353_UDP"], udp.as_str(), "{path}: {env}");
        let bundle = format!("{}-sidecars-h", b.prefix);
        let label = b.docker_out(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"bottle.endpoints\"}}",
            &bundle,
        ]);
        assert!(
            label.contains("->8080/tcp") && label.contains("->5353/udp"),
            "{path}: {label}"
        );

        let mut rows = Vec::new();
        // Each step starts from what the last one ended with: nothing changes between them.
        let mut last = e0.clone();
        let mut step = |name: &str, act: &mut dyn FnMut()| {
            let started = std::time::Instant::now();
            let before = last.clone();
            act();
            let after = endpoints(&b, "h");
            last = after.clone();
            let name = format!("{name} [{} ms]", started.elapsed().as_millis());
            rows.push((name, before.clone(), after.clone()));
            (before, after)
        };
        let docker_ok = |args: &[&str]| {
            let out = b.docker(args);
            assert!(
                out.status.success(),
                "{path}: {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (before, after) = step("engine stop, `bottle up` (started)", &mut || {
            docker_ok(&["stop", "-t", "0", &bundle]);
            let again = up(&ports);
            assert_eq!(again["action"], "started", "{path}: {again}");
        });
        assert_eq!(before, after, "{path}");
        let (before, after) = step("outside `restart`", &mut || {
            docker_ok(&["restart", "-t", "0", &bundle]);
            await_state(&b, "h", "running");
        });
        assert_eq!(before, after, "{path}");
        let (before, after) = step("engine pause, `bottle up` (started)", &mut || {
            docker_ok(&["pause", &bundle]);
            let again = up(&ports);
            assert_eq!(again["action"], "started", "{path}: {again}");
        });
        assert_eq!(before, after, "{path}");
        // bottle's own verbs: a stop and a start, a restart, a pause and an unpause.
        for (name, verbs) in [
            (
                "`bottle stop`, `bottle start`",
                &[&["stop", "h", "-t", "0"][..], &["start", "h"]][..],
            ),
            ("`bottle restart`", &[&["restart", "h", "-t", "0"][..]]),
            (
                "`bottle pause`, `bottle unpause`",
                &[&["pause", "h"][..], &["unpause", "h"]],
            ),
        ] {
            let (before, after) = step(name, &mut || {
                for verb in verbs {
                    b.ok(verb);
                }
                await_state(&b, "h", "running");
            });
            assert_eq!(before, after, "{path}: {name}");
        }
        let (before, after) = step("replace (env changed)", &mut || {
            let again = up(&["-p", "8080", "-p", "5353/udp", "-e", "X=1"]);
            assert_eq!(again["action"], "replaced", "{path}: {again}");
            assert_eq!(again["ports_changed"], false, "{path}: {again}");
        });
        assert_eq!(before, after, "{path}");
        // A recorded endpoint held by something else: `up` fails naming it, and never moves.
        let tcp = after[1].rsplit(' ').next().unwrap().to_string();
        docker_ok(&["stop", "-t", "0", &bundle]);
        let thief = format!("{}-thief", b.prefix);
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &thief,
            "-p",
            &format!("{tcp}:8080"),
            &img,
        ]);
        let args = spec(&["-p", "8080", "-p", "5353/udp", "-e", "X=1"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = b.bottle(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {stderr}");
        assert!(
            stderr.contains(&format!("held by container `{thief}`")),
            "{path}: {stderr}"
        );
        if path.podman {
            let _ = b.docker(&["kill", &thief]);
        }
        docker_ok(&["rm", "-f", &thief]);
        let again = up(&["-p", "8080", "-p", "5353/udp", "-e", "X=1"]);
        assert_eq!(again["action"], "started", "{path}: {again}");
        assert_eq!(endpoints(&b, "h"), after, "{path}");
        print_table(&path.spec, &rows);
    }
}
