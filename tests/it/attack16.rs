//! attack16: adversarial regressions for issue 16 (endpoints that hold still, UDP, limits, named
//! volumes). Each test is named after the bug it shows, fails on the branch where it was written,
//! and runs on real engines (gated like `real.rs`).

use crate::real::{Bottles, clis, json};

fn local(path: &crate::real::EnginePath) -> bool {
    path.env
        .iter()
        .all(|(k, v)| k != "DOCKER_HOST" || v.starts_with("unix://"))
}

/// The TCP host port of container port 8080 in an `up --json`.
fn tcp_8080(up: &serde_json::Value) -> u16 {
    up["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["container_port"] == 8080 && p["protocol"] == "tcp")
        .and_then(|p| p["host_port"].as_u64())
        .unwrap() as u16
}

/// A bottle's bundle is stopped; a host socket takes its recorded TCP port; `up` with another
/// spec (a replace). Seen: the replace's check before the old bundle goes takes the socket as
/// "explained" by the stopped bundle's own port bindings, so it removes the old bundle, the `run`
/// then fails naming the host socket, and the bottle has no bundle and no record: the next `up`
/// (socket still there) is `created` on another host port (24224 -> 24225), without
/// `ports_changed`. The contract: a replace fails naming the holder *before* it removes the old
/// bundle, and an endpoint never moves. Local engine paths (a host socket is only seen there).
#[test]
fn replace_of_a_stopped_bundle_whose_port_a_host_socket_took_removes_it_and_moves_the_port() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| local(p)) {
        let b = Bottles::new(path, &format!("rs{i}"));
        let pool = format!("10.{}.160.0/20", 100 + std::process::id() % 100);
        let up = |daemons: &str| {
            b.bottle(&[
                "up",
                "rs",
                "--image",
                &path.image,
                "--pool",
                &pool,
                "-p",
                "8080",
                "--daemons",
                daemons,
                "--json",
            ])
        };
        let first = up("one");
        assert!(first.status.success(), "{path}: {first:?}");
        let port = tcp_8080(&json(&String::from_utf8_lossy(&first.stdout)));
        let bundle = format!("{}-sidecars-rs", b.prefix);
        let stop = b.docker(&["stop", "-t", "0", &bundle]);
        assert!(stop.status.success(), "{path}: {stop:?}");
        let _held = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();

        let replace = up("two");
        let stderr = String::from_utf8_lossy(&replace.stderr).into_owned();
        assert_eq!(replace.status.code(), Some(1), "{path}: {stderr}");
        assert!(stderr.contains("held by a host socket"), "{path}: {stderr}");
        let id = b.docker_out(&["ps", "-aq", "--filter", &format!("name=^{bundle}$")]);
        assert!(
            !id.is_empty(),
            "{path}: the replace removed the old bundle before failing: {stderr}"
        );
        // And the endpoint never moves: the next `up` fails the same way.
        let again = up("two");
        assert_eq!(
            again.status.code(),
            Some(1),
            "{path}: moved: {}",
            String::from_utf8_lossy(&again.stdout)
        );
    }
}

/// A bottle's bundle is stopped; a host socket takes its recorded TCP port; `up` with the same
/// spec (a `start`), `bottle start` and `bottle restart`. Seen: exit 1 with only the engine's words (`Error starting userland proxy:
/// listen tcp4 127.0.0.1:24224: bind: address already in use`); bottle's own naming of the holder
/// is missing because `ports::held` counts a host socket on a port that the stopped bundle itself
/// has in its bindings as the bundle's own port proxy. The contract: "A `start` ... the engine
/// refuses because a port is taken says what holds it the same way" (`a host socket`).
#[test]
fn start_refused_for_a_host_socket_on_the_recorded_port_does_not_name_it() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| local(p)) {
        let b = Bottles::new(path, &format!("sh{i}"));
        let pool = format!("10.{}.176.0/20", 100 + std::process::id() % 100);
        let args = [
            "up",
            "sh",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--json",
        ];
        let port = tcp_8080(&json(&b.ok(&args)));
        let bundle = format!("{}-sidecars-sh", b.prefix);
        let stop = b.docker(&["stop", "-t", "0", &bundle]);
        assert!(stop.status.success(), "{path}: {stop:?}");
        let _held = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        // `up` (a start), and the verbs `start` and `restart`: each must name the holder.
        for cmd in [&args[..], &["start", "sh"], &["restart", "sh"]] {
            let out = b.bottle(cmd);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "{path}: {cmd:?}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "127.0.0.1:{port}/tcp of bottle `sh` is held by a host socket"
                )),
                "{path}: {cmd:?}: {stderr}"
            );
        }
    }
}

/// A new bottle `ex`'s first rule candidate for 8080/tcp is P. A foreign container publishes
/// `127.0.0.2:P`, and a host socket listens on `127.0.0.1:P`. Seen: `up ex -p 8080` fails with the
/// engine's `bind: address already in use` on every try, forever: `ports::held` drops any host
/// socket whose port *some* container publishes, on whatever address, as "explained" by that
/// container's port proxy, so the socket on 127.0.0.1:P is never held and P is chosen again each
/// time. The contract: a host socket no container explains holds its endpoint, and "the next `up`
/// sees the port held and takes the next candidate". Local engine paths.
#[test]
fn host_socket_is_ignored_when_a_container_publishes_the_same_port_on_another_address() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| local(p)) {
        let b = Bottles::new(path, &format!("ex{i}"));
        let pool = format!("10.{}.192.0/20", 100 + std::process::id() % 100);
        let plan = b.ok(&[
            "plan",
            "ex",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
        ]);
        let port: u16 = plan
            .split("127.0.0.1:")
            .skip(1)
            .find_map(|s| s.strip_suffix_any())
            .expect("plan names the host port");
        let foreign = format!("{}-foreign", b.prefix);
        let publish = format!("127.0.0.2:{port}:80");
        let run = b.docker(&["run", "-d", "--name", &foreign, "-p", &publish, &path.image]);
        assert!(run.status.success(), "{path}: {run:?}");
        let _held = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let args = [
            "up",
            "ex",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--json",
        ];
        // The first `up` may lose to the socket; the one after it must not.
        let _ = b.bottle(&args);
        let out = b.bottle(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{path}: {stderr}");
        let up = json(&String::from_utf8_lossy(&out.stdout));
        assert_ne!(tcp_8080(&up), port, "{path}: {up}");
    }
}

/// `127.0.0.1:PORT:8080` in a plan's text → PORT.
trait HostPort {
    fn strip_suffix_any(&self) -> Option<u16>;
}

impl HostPort for str {
    fn strip_suffix_any(&self) -> Option<u16> {
        let (port, rest) = self.split_once(':')?;
        rest.starts_with("8080")
            .then(|| port.parse().ok())
            .flatten()
    }
}

/// `--memory 8589934592g` is 2^63 bytes, past what an engine's `Memory` (a signed 64-bit count)
/// holds. Seen: bottle takes it (`plan` prints `--memory 9223372036854775808`); docker 20.10 then
/// fails the `run` with a wrong reason ("Minimum memory limit allowed is 6MB", the value wrapped
/// negative), and native podman 4.3 runs the bundle with no memory limit at all (`Memory` 0,
/// `limits.memory: null` in `up --json`, then `kept` on every re-`up`): a limit asked for and
/// silently not applied. Expected: refused as invalid input (exit 2), like `--memory 5m`.
#[test]
fn memory_past_the_engines_signed_64_bit_bound_is_taken_and_podman_drops_it() {
    for memory in ["8589934592g", "18446744073709551615"] {
        let out = crate::fake::bottle_cmd()
            .args(["plan", "mx", "--image", "img", "--memory", memory])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "--memory {memory}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// A running bottle, replaced with `--cpus 1000` (more CPUs than the engine's host has). Seen on
/// docker (20.10 daemon): the replace removes the running bundle, then the new `run` fails
/// ("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"), leaving the bottle
/// with no bundle and no endpoint record. A replace is meant to remove the old bundle only once
/// the new one is known to be able to run (as it does for a missing image): `info`'s `NCPU`
/// says so beforehand. Docker paths (podman takes any `--cpus`).
#[test]
fn replace_with_more_cpus_than_the_engine_has_removes_the_running_bundle() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| !p.podman) {
        let b = Bottles::new(path, &format!("cp{i}"));
        let pool = format!("10.{}.208.0/20", 100 + std::process::id() % 100);
        let args = [
            "up",
            "cp",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
        ];
        b.ok(&args);
        let mut more = args.to_vec();
        more.extend(["--cpus", "1000"]);
        let out = b.bottle(&more);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{path}: {stderr}");
        let status = json(&b.ok(&["status", "cp", "--json"]));
        assert_eq!(
            status["bundle"]["state"], "running",
            "{path}: the failed replace left no bundle: {stderr}"
        );
    }
}

/// `bottle stop g` ("their networks, addresses and ports stay theirs"), then `bottle gc`. Seen:
/// `gc` removes the stopped bottle, bundle and network, and with the bundle its `bottle.endpoints`
/// record, so its next `up` may choose other ports. The same happens to every bottle after an
/// engine restart (the contract: dockerd's restart leaves every bundle `exited`) if any launcher
/// runs `gc` before each owner's `up`. A bundle stopped on purpose, or by an engine restart, is not
/// a leftover; `gc` is for networks without a bundle, expired leases and bundles a dead run left.
#[test]
fn gc_removes_a_bottle_that_bottle_stop_stopped_and_its_endpoints() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("gs{i}"));
        let pool = format!("10.{}.224.0/20", 100 + std::process::id() % 100);
        b.ok(&[
            "up",
            "gs",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-p",
            "8080",
        ]);
        b.ok(&["stop", "gs", "-t", "0"]);
        let gc = json(&b.ok(&["gc", "--dry-run", "--json"]));
        let bundle = format!("{}-sidecars-gs", b.prefix);
        assert!(
            !gc.to_string().contains(&bundle),
            "{path}: gc would remove the stopped bottle: {gc}"
        );
    }
}

/// `--ttl` is "at least a second, fractions rounded up" (docs/contract.md, Leases). Seen:
/// `--ttl 0.5s` is refused (exit 2) but `--ttl 1ms` (and `999ms`) is taken and recorded as
/// `bottle.ttl=1`: the same sub-second lease refused or silently stretched, by its spelling.
#[test]
fn ttl_below_a_second_is_refused_as_0_5s_but_taken_as_1ms() {
    for ttl in ["0.5s", "1ms", "999ms"] {
        let out = crate::fake::bottle_cmd()
            .args(["plan", "tl", "--image", "img", "--ttl", ttl])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "--ttl {ttl}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// `up --ttl 1s`, the lease passes, then `up` with the same spec (or a changed one). Seen: exit 0,
/// `kept` (or `replaced`: a fresh bundle that keeps the passed `bottle.expires`), with an
/// `expires` line in the past and no word about it; the next `gc` (anyone's) removes the bottle
/// the launcher was just told is up. An `up` that exits 0 should leave a bottle that `gc` does not
/// take, or say that its lease has passed. On every engine path.
#[test]
fn up_of_a_bottle_whose_lease_passed_exits_0_and_gc_then_removes_it() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("lp{i}"));
        let pool = format!("10.{}.240.0/20", 100 + std::process::id() % 100);
        let args = [
            "up",
            "lp",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "--json",
        ];
        let mut first = args.to_vec();
        first.extend(["--ttl", "1s"]);
        let up = json(&b.ok(&first));
        let expires = up["expires"].as_str().unwrap().to_string();
        // Poll the clock (no engine wait): until the lease has passed, to the second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while now_rfc3339() <= expires {
            assert!(std::time::Instant::now() < deadline, "{path}: clock");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let again = b.bottle(&args);
        if again.status.success() {
            let gc = json(&b.ok(&["gc", "--dry-run", "--json"]));
            assert!(
                !gc.to_string()
                    .contains(&format!("{}-sidecars-lp", b.prefix)),
                "{path}: `up` exited 0 ({}) but gc takes the bottle: {gc}",
                String::from_utf8_lossy(&again.stdout)
            );
        }
    }
}

/// Now as RFC 3339 UTC to the second (`2026-12-07T03:39:12Z`), as `bottle.expires` is written.
fn now_rfc3339() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Removes a volume by name on drop (the test's own, unlabelled ones included).
struct VolumeGuard<'a>(&'a Bottles, String);

impl Drop for VolumeGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.bottle(&["down", "--all", "--volumes"]);
        let _ = self.0.docker(&["volume", "rm", "-f", &self.1]);
    }
}

/// Without the local lock (a remote engine, or two users), `up rv -v NAME:/data` racing
/// `down rv --volumes`: `down` removes the labelled volume `up` just created, then `up`'s `run`
/// makes the engine create `NAME` again, without bottle's labels. Seen on the remote path, 8 tries
/// of 8: exit 0, the bundle runs on an unlabelled volume that bottle then treats as foreign, so
/// `down --volumes` never removes it (a leak), and the data `up` was promised is gone. A bundle
/// must not run on a named volume bottle made that lost its labels: `up` should see the volume
/// missing after `run` and fail, or label/recreate it before the `run` goes through. Remote path
/// only (locally the slug lock serializes the two).
#[test]
fn down_volumes_racing_up_leaves_an_unlabelled_volume_that_down_never_removes() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| !local(p)) {
        let b = Bottles::new(path, &format!("rv{i}"));
        let volume = format!("{}-data", b.prefix);
        let _guard = VolumeGuard(&b, volume.clone());
        let pool = format!("10.{}.80.0/20", 100 + std::process::id() % 100);
        let mount = format!("{volume}:/data");
        let args = [
            "up",
            "rv",
            "--image",
            &path.image,
            "--pool",
            &pool,
            "-v",
            &mount,
        ];
        for _ in 0..4 {
            std::thread::scope(|s| {
                let up = s.spawn(|| b.bottle(&args));
                for _ in 0..10 {
                    let _ = b.bottle(&["down", "rv", "--volumes"]);
                }
                let _ = up.join();
            });
            let _ = b.bottle(&["down", "rv", "--volumes"]);
            let left = b.docker_out(&[
                "volume",
                "ls",
                "-q",
                "--filter",
                &format!("name=^{volume}$"),
            ]);
            assert!(
                left.is_empty(),
                "{path}: `down rv --volumes` left volume {volume}: {:?}",
                b.docker_out(&["volume", "inspect", "--format", "{{json .Labels}}", &volume])
            );
        }
    }
}
