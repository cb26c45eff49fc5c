//! `up --wait`, `--publish-ip auto` and `bottle env` against a real engine (gated like `real.rs`).
//! They run on each *local* engine path: the readiness probe and the loopback addresses are this
//! host's, which a remote engine's are not.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::real::{Bottles, EnginePath, json};

/// The local engine paths among the configured ones (or `None`: skipped, with the reason said).
fn local_paths() -> Option<Vec<EnginePath>> {
    Some(
        crate::real::clis()?
            .into_iter()
            .filter(|p| p.env.is_empty())
            .collect(),
    )
}

/// Images built for one test, from the test image with another command, removed on drop.
struct Images<'a> {
    path: &'a EnginePath,
    tags: Vec<String>,
}

impl Images<'_> {
    /// Build `FROM <test image>` with `CMD <cmd>` (exec form), offline, from a Dockerfile on stdin.
    fn build(&mut self, name: &str, cmd: &[&str]) -> String {
        self.build_with(name, "", cmd)
    }

    /// [`Images::build`] with more Dockerfile lines (`lines`, each ending in a newline).
    fn build_with(&mut self, name: &str, lines: &str, cmd: &[&str]) -> String {
        // One tag per build: tests of one process build the same names at once, and each
        // removes its own images when done.
        static BUILT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("bottle-itwait-{name}:{}-{n}", std::process::id());
        let dockerfile = format!(
            "FROM {}\n{lines}CMD {}\n",
            self.path.image,
            serde_json::to_string(cmd).unwrap()
        );
        let mut args = vec!["build", "-q", "-t", &tag];
        // Podman builds OCI images by default, which have no HEALTHCHECK.
        if self.path.podman {
            args.extend(["--format", "docker"]);
        }
        args.push("-");
        let mut child = self
            .path
            .engine()
            // The classic builder uses the local base image as is; no registry is asked.
            .env("DOCKER_BUILDKIT", "0")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dockerfile.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "build {tag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.tags.push(tag.clone());
        tag
    }
}

impl Drop for Images<'_> {
    fn drop(&mut self) {
        for tag in &self.tags {
            let _ = self.path.engine().args(["rmi", "-f", tag]).output();
        }
    }
}

/// One GET, no retry: what a launcher does right after `up --wait` returned.
fn get_once(addr: SocketAddr) -> std::io::Result<String> {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

fn first_port(up: &serde_json::Value) -> SocketAddr {
    let p = &up["ports"][0];
    let ip: IpAddr = p["host_ip"].as_str().unwrap().parse().unwrap();
    let port = p["host_port"].as_u64().unwrap() as u16;
    SocketAddr::new(ip, port)
}

/// A server that starts 3 s late: `up --wait` returns only once it answers. One that never
/// listens: exit 1 at the deadline, nothing left. One that exits: exit 1 at once, with its output.
#[test]
fn up_wait_returns_when_the_service_answers() {
    let Some(paths) = local_paths() else { return };
    for path in &paths {
        let mut images = Images {
            path,
            tags: Vec::new(),
        };
        let late = images.build(
            "late",
            &["sh", "-c", "sleep 3; exec httpd -f -p 8080 -h /www"],
        );
        let never = images.build("never", &["sleep", "3600"]);
        let exits = images.build(
            "exits",
            &["sh", "-c", "echo goodbye-from-the-bundle; sleep 1; exit 3"],
        );
        let b = Bottles::new(path, "wait");
        let pool = format!("10.{}.32.0/20", 100 + std::process::id() % 100);
        let up = |slug: &str, image: &str, wait: &str| {
            let start = Instant::now();
            let out = b.bottle(&[
                "up", slug, "--image", image, "--pool", &pool, "-p", "8080", wait, "--json",
            ]);
            (out, start.elapsed())
        };
        let ((late_out, late_t), (never_out, never_t), (exits_out, exits_t)) =
            std::thread::scope(|s| {
                let a = s.spawn(|| {
                    let r = up("late", &late, "--wait");
                    // Right after `up` returns, with no retry.
                    let got = r.0.status.success().then(|| {
                        get_once(first_port(&json(&String::from_utf8_lossy(&r.0.stdout))))
                    });
                    (r, got)
                });
                let n = s.spawn(|| up("never", &never, "--wait=4s"));
                let e = s.spawn(|| up("exits", &exits, "--wait"));
                let (a, got) = a.join().unwrap();
                let body = got.expect("late: up failed").expect("late: GET failed");
                assert!(body.contains("200"), "{path}: {body}");
                (a, n.join().unwrap(), e.join().unwrap())
            });
        let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(late_out.status.success(), "{path}: {}", err(&late_out));
        assert!(
            late_t >= Duration::from_secs(3),
            "{path}: ready after {late_t:?}"
        );

        assert_eq!(
            never_out.status.code(),
            Some(1),
            "{path}: {}",
            err(&never_out)
        );
        assert!(
            err(&never_out).contains("not ready within 4s"),
            "{path}: {}",
            err(&never_out)
        );
        // Whether the engine's proxy accepted (docker) or the connect was refused (podman's
        // DNAT), bottle read the bundle's own sockets and says that nothing listens there.
        assert!(
            err(&never_out).contains("nothing listens on the port in the bundle"),
            "{path}: {}",
            err(&never_out)
        );
        // The 4 s deadline plus `up`'s own commands and rollback, which take seconds on a loaded
        // machine (a `run` of 3 s, and 14 s in all, were seen here); far below the bare `--wait`'s 60 s.
        assert!(never_t < Duration::from_secs(25), "{path}: {never_t:?}");

        assert_eq!(
            exits_out.status.code(),
            Some(1),
            "{path}: {}",
            err(&exits_out)
        );
        let msg = err(&exits_out);
        assert!(
            msg.contains("goodbye-from-the-bundle") && msg.contains("exited"),
            "{path}: {msg}"
        );
        assert!(exits_t < Duration::from_secs(25), "{path}: {exits_t:?}");

        // The two failures rolled back what they created; only `late` is left.
        let left = b.leftovers();
        assert!(
            left.iter().all(|n| n.ends_with("-late")),
            "{path}: {left:?}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "{path}: up --wait: late ready in {late_t:.2?}, never failed in {never_t:.2?}, exits failed in {exits_t:.2?}"
        );
    }
}

/// 16 bottles with `--publish-ip auto` on a /28 get 16 addresses; each serves its port on its own
/// address and not on another's; a re-`up` keeps the address (a replace too); the 17th fails.
#[test]
fn publish_ip_auto_gives_each_bottle_its_own_address() {
    let Some(paths) = local_paths() else { return };
    for path in &paths {
        let b = Bottles::new(path, "auto");
        let unique = 100 + std::process::id() % 100;
        let pool = format!("10.{unique}.64.0/19");
        let lo_pool = format!("127.{unique}.0.16/28");
        let flags = |slug: &str| -> Vec<String> {
            [
                "up",
                slug,
                "--image",
                &path.image,
                "--pool",
                &pool,
                "-p",
                "8080",
                "--publish-ip",
                "auto",
                "--loopback-pool",
                &lo_pool,
                "--wait",
                "--json",
            ]
            .map(str::to_string)
            .into()
        };
        let start = Instant::now();
        let children: Vec<_> = (0..16)
            .map(|i| {
                let args = flags(&format!("a{i}"));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                b.command(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let ups: Vec<serde_json::Value> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{path}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                json(&String::from_utf8_lossy(&out.stdout))
            })
            .collect();
        let took = start.elapsed();
        let addrs: Vec<SocketAddr> = ups.iter().map(first_port).collect();
        let ips: std::collections::BTreeSet<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
        assert_eq!(ips.len(), 16, "{path}: {addrs:?}");
        let lo: ipnetwork::Ipv4Network = lo_pool.parse().unwrap();
        for (up, addr) in ups.iter().zip(&addrs) {
            let IpAddr::V4(ip) = addr.ip() else { panic!() };
            assert!(lo.contains(ip), "{path}: {addr}");
            assert_eq!(up["host_ip"], addr.ip().to_string(), "{up}");
        }
        for addr in &addrs {
            assert!(get_once(*addr).unwrap().contains("200"), "{path}: {addr}");
        }
        // Re-up: kept, same address; a changed spec replaces the bundle on the same address.
        let args = flags("a5");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let again = json(&b.ok(&args));
        assert_eq!(again["action"], "kept", "{again}");
        assert_eq!(again["host_ip"], addrs[5].ip().to_string());
        let mut changed = args.clone();
        changed.extend(["-e", "CHANGED=1"]);
        let replaced = json(&b.ok(&changed));
        assert_eq!(replaced["action"], "replaced", "{replaced}");
        assert_eq!(replaced["host_ip"], addrs[5].ip().to_string());

        // `eval "$(bottle env a5)"` in a shell.
        let bin = crate::fake::bottle_cmd().get_program().to_owned();
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                r#"eval "$("$BOTTLE_BIN" env a5)" && printf '%s %s %s\n' "$BOTTLE_SLUG" "$BOTTLE_HOST_IP" "$BOTTLE_PORT_8080""#,
            ])
            .env("BOTTLE_BIN", &bin)
            .env("BOTTLE_ENGINE", &b.cli)
            .env("BOTTLE_PREFIX", &b.prefix)
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let port = replaced["ports"][0]["host_port"].as_u64().unwrap();
        assert_eq!(
            line,
            format!("a5 {} {}:{port}", addrs[5].ip(), addrs[5].ip()),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // The 17th: no address left, and nothing of it left behind.
        let args = flags("a16");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = b.bottle(&args);
        let msg = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {msg}");
        assert!(
            msg.contains("loopback pool") && msg.contains("exhausted"),
            "{msg}"
        );
        assert!(
            !b.leftovers().iter().any(|n| n.ends_with("-a16")),
            "{path}: {:?}",
            b.leftovers()
        );
        // Its port on another bottle's address: refused. The engine gives bottles on different
        // addresses the same port number, so the other bottle is taken down first (else its own
        // server answers there).
        let odd: Vec<String> = (1..16).step_by(2).map(|i| format!("a{i}")).collect();
        let mut down = vec!["down"];
        down.extend(odd.iter().map(String::as_str));
        b.ok(&down);
        let mut refused = 0;
        for addr in addrs.iter().step_by(2) {
            let elsewhere = addrs.iter().skip(1).step_by(2).map(|o| o.ip());
            let outside: IpAddr = format!("127.{unique}.1.1").parse().unwrap();
            for ip in elsewhere.chain([outside]) {
                let other = SocketAddr::new(ip, addr.port());
                let e = TcpStream::connect_timeout(&other, Duration::from_secs(2)).unwrap_err();
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused,
                    "{path}: {other}"
                );
                refused += 1;
            }
            assert!(get_once(*addr).unwrap().contains("200"), "{path}: {addr}");
        }
        let _ = writeln!(
            std::io::stderr(),
            "{path}: 16 bottles with --publish-ip auto up and ready in {took:.2?}; {refused} cross-address connects refused"
        );
    }
}

/// Issue 14, item 5: `up --wait` of a bundle that never gets ready; meanwhile another `up` (its
/// own lock directory, so nothing orders the two) replaces it with a good bundle. The waiting `up`
/// must not judge that run's bundle by the shared name and exit 0: it exits 1 saying another `up`
/// replaced its bundle, and leaves the other run's bottle as it is.
#[test]
fn up_wait_does_not_report_a_bundle_another_up_replaced() {
    let Some(paths) = local_paths() else { return };
    for path in &paths {
        let mut images = Images {
            path,
            tags: Vec::new(),
        };
        let never = images.build("never", &["sleep", "3600"]);
        let b = Bottles::new(path, "repl");
        let pool = format!("10.{}.96.0/20", 100 + std::process::id() % 100);
        let runtime = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let a = crate::real::unlocked(
            &b,
            &runtime,
            0,
            &[
                "up",
                "w",
                "--image",
                &never,
                "--pool",
                &pool,
                "-p",
                "8080",
                "--wait=25s",
                "--json",
            ],
        );
        std::thread::sleep(Duration::from_millis(2500));
        let good = crate::real::unlocked(
            &b,
            &runtime,
            1,
            &[
                "up",
                "w",
                "--image",
                &path.image,
                "--pool",
                &pool,
                "-p",
                "8080",
                "--json",
            ],
        )
        .wait_with_output()
        .unwrap();
        let a = a.wait_with_output().unwrap();
        let took = start.elapsed();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(good.status.success(), "{path}: B: {}", text(&good.stderr));
        let good_up = json(&text(&good.stdout));
        assert_eq!(good_up["action"], "replaced", "{path}: {good_up}");
        assert_eq!(
            a.status.code(),
            Some(1),
            "{path}: A: {}{}",
            text(&a.stdout),
            text(&a.stderr)
        );
        assert!(
            text(&a.stderr).contains("was replaced by another `up`"),
            "{path}: A: {}",
            text(&a.stderr)
        );
        assert!(took < Duration::from_secs(20), "{path}: {took:?}");
        // B's bottle is whole: its bundle runs its image, serves, and A rolled none of it back.
        let status = json(&b.ok(&["status", "w", "--json"]));
        assert_eq!(status["bundle"]["state"], "running", "{path}: {status}");
        // Podman shows the image as `localhost/NAME`.
        let image = status["bundle"]["image"].as_str().unwrap_or_default();
        assert!(image.ends_with(&path.image), "{path}: {status}");
        assert_eq!(status["ports"], good_up["ports"], "{path}: {status}");
        let body = get_once(first_port(&good_up)).unwrap();
        assert!(body.contains("200"), "{path}: {body}");
        let _ = writeln!(
            std::io::stderr(),
            "{path}: up --wait saw its bundle replaced and exited 1 after {took:.2?}"
        );
    }
}

/// Issue 14, item 8: a bundle whose healthcheck fails for its first 5 s (`--interval=1s
/// --retries=2`, so docker marks it `unhealthy` after about 2 s) and then passes is ready, not a
/// failure. Podman runs healthchecks from systemd timers; where it has no systemd (as in this
/// suite's containers) a healthcheck never runs and stays `starting`, so podman paths are left out.
#[test]
fn up_wait_outlasts_an_unhealthy_start() {
    let Some(paths) = local_paths() else { return };
    for path in &paths {
        if path.podman {
            let _ = writeln!(
                std::io::stderr(),
                "{path}: skipped: podman runs healthchecks from systemd timers"
            );
            continue;
        }
        let mut images = Images {
            path,
            tags: Vec::new(),
        };
        let slow = images.build_with(
            "unhealthy-first",
            "HEALTHCHECK --interval=1s --retries=2 CMD test -f /tmp/ok\n",
            &[
                "sh",
                "-c",
                "(sleep 5; touch /tmp/ok) & exec httpd -f -p 8080 -h /www",
            ],
        );
        let b = Bottles::new(path, "hc");
        let pool = format!("10.{}.112.0/20", 100 + std::process::id() % 100);
        let start = Instant::now();
        let out = b.bottle(&[
            "up",
            "h",
            "--image",
            &slow,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--wait=40s",
            "--json",
        ]);
        let took = start.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{path}: after {took:?}: {err}");
        assert!(
            took >= Duration::from_secs(5),
            "{path}: ready after {took:?}"
        );
        let health = b.docker_out(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            &format!("{}-sidecars-h", b.prefix),
        ]);
        assert_eq!(health, "healthy", "{path}");
        let _ = writeln!(
            std::io::stderr(),
            "{path}: up --wait outlasted an unhealthy start: ready after {took:.2?}"
        );
    }
}

/// Issue 14, item 8: a service that accepts each connection and closes it without a byte is not
/// called ready, and the failure says so, rather than blaming the engine's port proxy.
#[test]
fn up_wait_says_the_service_closed_the_connection() {
    let Some(paths) = local_paths() else { return };
    for path in &paths {
        let mut images = Images {
            path,
            tags: Vec::new(),
        };
        let closer = images.build("closer", &["nc", "-ll", "-p", "8080", "-e", "true"]);
        let b = Bottles::new(path, "close");
        let pool = format!("10.{}.128.0/20", 100 + std::process::id() % 100);
        let out = b.bottle(&[
            "up",
            "c",
            "--image",
            &closer,
            "--pool",
            &pool,
            "-p",
            "8080",
            "--wait=3s",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(
            err.contains("the service accepted the connection and closed it without a reply"),
            "{path}: {err}"
        );
        assert!(b.leftovers().is_empty(), "{path}: {:?}", b.leftovers());
    }
}
