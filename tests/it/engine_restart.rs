//! An engine restart is survived (issue 16, item 6), on engines of the test's own: the shared
//! dockerd and podman service are never restarted (other tests run on them all the time).
//!
//! - docker: a private dockerd (its own `--data-root`, `--exec-root`, `--pidfile`, a unix socket
//!   in a temp dir, `--iptables=false` so it leaves the shared dockerd's chains alone; the userland
//!   proxy still publishes on 127.0.0.1, and `vfs` storage, so nothing stays mounted), the test
//!   image loaded offline (`save` from the shared engine, `load` into it). The test stops it
//!   (SIGTERM, as a service manager or a reboot does) and starts it again. Its default bridge is
//!   one the test makes and removes (`--bridge=bitPID`), never `--bridge=none`: dockerd 20.10
//!   started with `none` deletes the host's `docker0`, the shared dockerd's default bridge.
//! - podman: a private `podman system service` on its own socket, over podman's one store. A
//!   restart of the service does not stop podman's containers (conmon keeps each one), which the
//!   test asserts rather than assumes, for the socket's bottle and a native one.
//!
//! Each bottle must come back on its own endpoints with at most one `bottle up SLUG` each (the
//! `start` of its bundle, whose explicit `-p IP:HOSTPORT:PORT` the engine keeps), and nothing may
//! be duplicated. Everything is removed at the end, on failure too (drop guards, in order:
//! bottles, then the engine).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::hold::{endpoints, print_table};
use crate::private_engines::{Daemon, answers, poll, skip, temp_dir, which};
use crate::real::{Bottles, EnginePath, clis};

const TEST: &str = "the engine-restart test";

/// The private dockerd's default bridge: made by the test, removed on drop (after the daemon,
/// which is declared after it).
struct Bridge {
    name: String,
}

impl Bridge {
    fn new() -> Bridge {
        let pid = std::process::id();
        let name = format!("bit{}", pid % 1_000_000);
        let addr = format!("10.254.{}.1/24", pid % 250);
        let ip = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let _ = Command::new("ip").args(["link", "del", &name]).output();
        ip(&["link", "add", &name, "type", "bridge"]);
        let bridge = Bridge { name };
        ip(&["addr", "add", &addr, "dev", &bridge.name]);
        ip(&["link", "set", &bridge.name, "up"]);
        bridge
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .output();
    }
}

struct Case {
    bottles: Bottles,
    slug: String,
    args: Vec<String>,
}

impl Case {
    fn new(path: &EnginePath, tag: &str, pool: &str, udp: bool) -> Case {
        let bottles = Bottles::new(path, tag);
        let slug = "r".to_string();
        let mut args: Vec<String> = ["up", &slug, "--image", &path.image, "--pool", pool]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["-p", "8080"].map(String::from));
        if udp {
            args.extend(["-p", "5353/udp"].map(String::from));
        }
        args.push("--json".into());
        Case {
            bottles,
            slug,
            args,
        }
    }

    fn up(&self) -> serde_json::Value {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        crate::schema::check("up", &self.bottles.ok(&args))
    }

    fn bundle(&self) -> String {
        format!("{}-sidecars-{}", self.bottles.prefix, self.slug)
    }

    /// The state and ID of the bundle, as the engine shows it.
    fn state_and_id(&self) -> (String, String) {
        let b = &self.bottles;
        let out = b.docker_out(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.Id}}",
            &self.bundle(),
        ]);
        let (state, id) = out
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}: {out}", b.path));
        (state.to_string(), id.to_string())
    }

    /// Exactly one bundle and one network of this bottle (by label), nothing duplicated.
    fn assert_single(&self) {
        let b = &self.bottles;
        let label = format!("label=bottle.slug={}", self.slug);
        let ctr = b.docker_out(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]);
        let net = b.docker_out(&["network", "ls", "--filter", &label, "--format", "{{.Name}}"]);
        let mine = |text: &str| text.lines().filter(|l| l.starts_with(&b.prefix)).count();
        assert_eq!(mine(&ctr), 1, "{}: containers {ctr:?}", b.path);
        assert_eq!(mine(&net), 1, "{}: networks {net:?}", b.path);
    }
}

/// The docker paths of the run (`docker:PROGRAM`), pointed at a private dockerd's socket.
fn private_docker_paths(host: &str) -> Vec<EnginePath> {
    let paths = clis().unwrap_or_default();
    paths
        .iter()
        .filter(|p| !p.podman && p.env.is_empty())
        .map(|p| EnginePath {
            spec: format!("{} (private dockerd)", p.spec),
            env: vec![("DOCKER_HOST".into(), host.into())],
            ..p.clone()
        })
        .collect()
}

/// The remote path of the run (`remote:tcp://`, TLS), pointed at a private dockerd's own TLS
/// endpoint, with the server certificate the shared engine's setup made beside the client's
/// (`scripts/setup-engine.sh`: `tls/` holds the CA and the server's, `tls/client` the client's).
/// The TCP listener is the TLS one only: an engine is never left unauthenticated on TCP.
fn private_remote_path(paths: &[EnginePath]) -> Option<(EnginePath, Vec<String>)> {
    let remote = paths.iter().find(|p| {
        p.env
            .iter()
            .any(|(k, v)| k == "DOCKER_HOST" && v.starts_with("tcp://"))
    })?;
    let certs = remote
        .env
        .iter()
        .find(|(k, _)| k == "DOCKER_CERT_PATH")
        .map(|(_, v)| Path::new(v).to_path_buf())?;
    let server = certs.parent()?;
    let files = ["ca.pem", "server-cert.pem", "server-key.pem"].map(|f| server.join(f));
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        // Like any skip: a failure under BOTTLE_REQUIRE_DOCKER=1.
        skip(
            &format!("{TEST} on {}", remote.spec),
            &format!("no {} beside its client certificates", missing.display()),
        );
        return None;
    }
    // A free port: bound, read and released (nothing else on this machine races for it here).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let host = format!("tcp://127.0.0.1:{port}");
    let [ca, cert, key] = files.map(|f| f.display().to_string());
    let args = [
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        &ca,
        "--tlscert",
        &cert,
        "--tlskey",
        &key,
    ]
    .map(String::from)
    .to_vec();
    let mut path = remote.clone();
    path.spec = format!("remote:{host} (private dockerd, TLS)");
    for (k, v) in &mut path.env {
        if k == "DOCKER_HOST" {
            *v = host.clone();
        }
    }
    Some((path, args))
}

/// Issue 16: "after an engine restart every bundle is stopped and comes back, if at all, on new
/// ports". Now: docker stops every bundle (bottle sets no restart policy, see docs/contract.md),
/// and one `bottle up SLUG` each starts it on the very same endpoints; podman's service restart
/// leaves them running, and `up` keeps them. Nothing is duplicated.
#[test]
fn engine_restart_is_survived_on_a_private_dockerd_and_podman_service() {
    let Some(paths) = clis() else { return };
    if !Path::new("/usr/sbin/dockerd").exists() && which("dockerd").is_none() {
        return skip(TEST, "no `dockerd` on this machine to run a private engine");
    }
    if which("ip").is_none() {
        return skip(TEST, "no `ip` command to make the private dockerd's bridge");
    }
    // The shared dockerd's default bridge must outlive the private one (see the module's doc).
    let docker0 = Path::new("/sys/class/net/docker0");
    let had_docker0 = docker0.exists();
    let pool = format!("10.{}.128.0/20", 100 + std::process::id() % 100);
    let shared_cli = std::env::var("BOTTLE_TEST_DOCKER").unwrap_or_else(|_| "docker".into());

    // docker: one private dockerd for every docker CLI of the run.
    if paths.iter().any(|p| !p.podman && p.env.is_empty()) {
        let dir = temp_dir("dockerd");
        let bridge = Bridge::new();
        let d = &dir.0;
        let sock = format!("unix://{}/docker.sock", d.display());
        let s = |p: &str| d.join(p).display().to_string();
        let remote = private_remote_path(&paths);
        let mut args: Vec<String> = [
            "dockerd",
            "--data-root",
            &s("data"),
            "--exec-root",
            &s("exec"),
            "--pidfile",
            &s("dockerd.pid"),
            "-H",
            &sock,
            &format!("--bridge={}", bridge.name),
            "--iptables=false",
            "--ip-masq=false",
            "--storage-driver=vfs",
            "--log-level=error",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        if let Some((_, tls)) = &remote {
            args.extend(tls.iter().cloned());
        }
        let mut daemon = Daemon::start(args, d.join("dockerd.log"));
        let up_within = Duration::from_secs(60);
        poll(up_within, "the private dockerd answering", || {
            answers(&shared_cli, &sock)
        });
        // The test image, offline: from the shared engine into the private one.
        let image = crate::real::image();
        let save = Command::new(&shared_cli)
            .args(["save", &image])
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        assert!(
            save.status.success(),
            "docker save: {}",
            String::from_utf8_lossy(&save.stderr)
        );
        let mut load = Command::new(&shared_cli)
            .args(["load", "--quiet"])
            .env("DOCKER_HOST", &sock)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            load.stdin.take().unwrap().write_all(&save.stdout).unwrap();
        }
        assert!(
            load.wait().unwrap().success(),
            "docker load into the private dockerd"
        );

        let mut private = private_docker_paths(&sock);
        private.extend(remote.map(|(path, _)| path));
        let cases: Vec<Case> = private
            .iter()
            .enumerate()
            .map(|(i, p)| Case::new(p, &format!("rsd{i}"), &pool, true))
            .collect();
        let before: Vec<Vec<String>> = cases
            .iter()
            .map(|c| {
                assert_eq!(c.up()["action"], "created", "{}", c.bottles.path);
                endpoints(&c.bottles, &c.slug)
            })
            .collect();
        let ids: Vec<String> = cases.iter().map(|c| c.state_and_id().1).collect();

        daemon.restart();
        poll(up_within, "the private dockerd answering again", || {
            answers(&shared_cli, &sock)
        });
        // After a reboot, other containers come up too, and those whose ports the engine picks
        // take the first ones it hands out: the ports a bundle had would be gone if the engine
        // picked those too.
        for c in &cases {
            let b = &c.bottles;
            let early = format!("{}-early", b.prefix);
            let out = b.docker(&[
                "run",
                "-d",
                "--name",
                &early,
                "-p",
                "127.0.0.1::8080",
                "-p",
                "127.0.0.1::5353/udp",
                &b.path.image,
            ]);
            assert!(
                out.status.success(),
                "{}: {}",
                b.path,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for ((c, before), id) in cases.iter().zip(&before).zip(&ids) {
            let path = &c.bottles.path;
            // What the engine does by itself: dockerd stopped the bundle and left it stopped.
            let (state, seen) = c.state_and_id();
            assert_eq!(&seen, id, "{path}: the bundle was replaced by the restart");
            assert_eq!(state, "exited", "{path}: after a dockerd restart");
            // One `up SLUG` with the same spec: started, the same bundle, the same endpoints.
            let again = c.up();
            assert_eq!(again["action"], "started", "{path}: {again}");
            assert_eq!(
                &c.state_and_id(),
                &("running".to_string(), id.clone()),
                "{path}"
            );
            let after = endpoints(&c.bottles, &c.slug);
            assert_eq!(&after, before, "{path}");
            c.assert_single();
            let answer = crate::real::http_get(after[1].rsplit(' ').next().unwrap());
            assert!(answer.contains("bottle test bundle"), "{path}: {answer}");
            print_table(
                &path.spec,
                &[(
                    "dockerd restart, `bottle up` (started)".into(),
                    before.clone(),
                    after,
                )],
            );
        }
        // The bottles come down on the private engine before it stops (drop order).
        drop(cases);
        drop(daemon);
        drop(bridge);
        drop(dir);
        assert_eq!(
            docker0.exists(),
            had_docker0,
            "the private dockerd touched `docker0`"
        );
    }

    // podman: a private service over podman's one store; and a native bottle beside it.
    if let Some(native) = paths.iter().find(|p| p.podman && p.env.is_empty()) {
        let dir = temp_dir("podman");
        let sock = format!("unix://{}/podman.sock", dir.0.display());
        let args = ["podman", "system", "service", "--time=0", &sock].map(String::from);
        let mut daemon = Daemon::start(args.to_vec(), dir.0.join("podman.log"));
        poll(
            Duration::from_secs(30),
            "the private podman service answering",
            || answers(&shared_cli, &sock),
        );
        let socket_path = EnginePath {
            spec: "podman-socket (private service)".into(),
            program: shared_cli.clone(),
            env: vec![("DOCKER_HOST".into(), sock.clone())],
            podman: false,
            image: native.image.clone(),
        };
        let cases = [
            Case::new(&socket_path, "rps", &pool, true),
            Case::new(native, "rpn", &pool, true),
        ];
        let before: Vec<Vec<String>> = cases
            .iter()
            .map(|c| {
                assert_eq!(c.up()["action"], "created", "{}", c.bottles.path);
                endpoints(&c.bottles, &c.slug)
            })
            .collect();
        let ids: Vec<String> = cases.iter().map(|c| c.state_and_id().1).collect();
        daemon.restart();
        poll(
            Duration::from_secs(30),
            "the private podman service answering again",
            || answers(&shared_cli, &sock),
        );
        for ((c, before), id) in cases.iter().zip(&before).zip(&ids) {
            let path = &c.bottles.path;
            // conmon kept the bundle running through the service's restart.
            assert_eq!(
                &c.state_and_id(),
                &("running".to_string(), id.clone()),
                "{path}"
            );
            let again = c.up();
            assert_eq!(again["action"], "kept", "{path}: {again}");
            let after = endpoints(&c.bottles, &c.slug);
            assert_eq!(&after, before, "{path}");
            c.assert_single();
            print_table(
                &path.spec,
                &[(
                    "podman service restart, `bottle up` (kept)".into(),
                    before.clone(),
                    after,
                )],
            );
        }
        drop(cases);
        drop(daemon);
        drop(dir);
    }
}
