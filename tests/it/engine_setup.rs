//! What `scripts/setup-engine.sh` and `scripts/demo.sh` leave open on this machine: the remote
//! path answers only a client with a certificate, no TCP listener the setup started serves the
//! Docker API to a stranger, podman's socket is root's alone, and the demo asks the setup for
//! neither podman nor the remote path.
//!
//! The listener check reads the setup's state dir (`BOTTLE_ENGINE_STATE`, default
//! `/tmp/bottle-engine`) for the daemons it started, and `/proc` for their sockets.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::real::{EnginePath, clis};

fn text(out: &Output) -> String {
    format!(
        "exit {:?}, stdout {:?}, stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn state_dir() -> PathBuf {
    std::env::var_os("BOTTLE_ENGINE_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/bottle-engine"))
}

fn var<'a>(path: &'a EnginePath, key: &str) -> Option<&'a str> {
    path.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The engine paths that reach an engine over TLS (`remote:tcp://…` with its certificates).
fn tls_paths() -> Option<Vec<EnginePath>> {
    let paths: Vec<_> = clis()?
        .into_iter()
        .filter(|p| var(p, "DOCKER_CERT_PATH").is_some())
        .collect();
    if paths.is_empty() {
        eprintln!("skipping a TLS check: no `remote:tcp://` path in BOTTLE_TEST_PATHS");
    }
    Some(paths)
}

/// The docker CLI against `host` as a stranger would run it: none of the caller's TLS settings or
/// `~/.docker` certificates, and, with `ca_only`, TLS that trusts the server but has no
/// certificate of its own.
fn stranger(program: &str, host: &str, home: &Path, ca_only: Option<&Path>) -> Output {
    let mut cmd = Command::new(program);
    for k in [
        "DOCKER_CONTEXT",
        "DOCKER_TLS",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("DOCKER_CONFIG", home).env("DOCKER_HOST", host);
    if let Some(dir) = ca_only {
        cmd.env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", dir);
    }
    cmd.args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .unwrap()
}

/// A cert dir with the CA only: the client checks the server, and has nothing to show.
fn ca_only_dir(ca: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(ca, dir.path().join("ca.pem")).unwrap();
    dir
}

/// Issue 14 item 4: the remote path is dockerd's TLS endpoint, which answers with the path's
/// client certificate and refuses the same CLI without it, in clear or over TLS; and bottle takes
/// a TLS `tcp://` engine for a remote one (no locks, no host checks).
#[test]
fn remote_path_refuses_a_client_without_certificate() {
    let Some(paths) = tls_paths() else { return };
    for path in &paths {
        let host = var(path, "DOCKER_HOST").unwrap();
        let certs = Path::new(var(path, "DOCKER_CERT_PATH").unwrap());
        let out = path
            .engine()
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{path} with its certificate: {}",
            text(&out)
        );

        let home = tempfile::tempdir().unwrap();
        let plain = stranger(&path.program, host, home.path(), None);
        assert!(
            !plain.status.success(),
            "{path} without TLS answered: {}",
            text(&plain)
        );

        let ca = ca_only_dir(&certs.join("ca.pem"));
        let tls = stranger(&path.program, host, home.path(), Some(ca.path()));
        assert!(
            !tls.status.success(),
            "{path} without a client certificate answered: {}",
            text(&tls)
        );
        // Refused by the server's handshake ("bad certificate", "certificate required"), not for
        // want of a file on the client's side.
        let err = String::from_utf8_lossy(&tls.stderr);
        assert!(
            err.contains("certificate") && !err.contains("no such file"),
            "{path} without a client certificate: {}",
            text(&tls)
        );

        let doctor = crate::fake::bottle_cmd()
            .envs(path.env.iter().map(|(k, v)| (k, v)))
            .env("BOTTLE_ENGINE", &path.program)
            .args(["doctor"])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&doctor.stdout);
        assert!(
            report.contains("the engine is remote: bottle takes no locks"),
            "{path}: bottle takes a TLS tcp:// engine for a local one: {}",
            text(&doctor)
        );
    }
}

/// A TCP socket in the LISTEN state: its address, port and socket inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listener {
    addr: IpAddr,
    port: u16,
    inode: u64,
}

/// The LISTEN sockets of `/proc/net/tcp` or `/proc/net/tcp6`: addresses are hex words in host
/// byte order (little-endian here), ports hex, state `0A` is LISTEN.
fn parse_proc_net_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(3) != Some(&"0A") {
                return None;
            }
            let (hex, port) = f.get(1)?.split_once(':')?;
            let addr = match hex.len() {
                8 => IpAddr::V4(Ipv4Addr::from(
                    u32::from_str_radix(hex, 16).ok()?.swap_bytes(),
                )),
                32 => {
                    let mut bits = 0u128;
                    for i in 0..4 {
                        let word = u32::from_str_radix(&hex[8 * i..8 * i + 8], 16).ok()?;
                        bits = (bits << 32) | u128::from(word.swap_bytes());
                    }
                    IpAddr::V6(Ipv6Addr::from(bits))
                }
                _ => return None,
            };
            Some(Listener {
                addr,
                port: u16::from_str_radix(port, 16).ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

#[test]
fn proc_net_tcp_listeners_parse() {
    let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:5CD0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0000000000000000 100 0 0 10 0
   2: 0100007F:5CD0 0100007F:A3B2 01 00000000:00000000 00:00000000 00000000     0        0 41299 1 0000000000000000 20 4 30 10 -1
";
    assert_eq!(
        parse_proc_net_tcp(v4),
        vec![
            Listener {
                addr: "127.0.0.1".parse().unwrap(),
                port: 23760,
                inode: 41234
            },
            Listener {
                addr: "0.0.0.0".parse().unwrap(),
                port: 2024,
                inode: 17
            },
        ]
    );
    let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 98 1 0000000000000000 100 0 0 10 0
";
    assert_eq!(
        parse_proc_net_tcp(v6),
        vec![
            Listener {
                addr: "::1".parse().unwrap(),
                port: 8080,
                inode: 99
            },
            Listener {
                addr: "::ffff:127.0.0.1".parse().unwrap(),
                port: 8081,
                inode: 98
            },
        ]
    );
}

/// Where a listener is reached from this host within 127.0.0.0/8: its own loopback address, or
/// 127.0.0.1 for a wildcard. `Err` for an address the tests must not (IPv6 `::1`) or cannot probe.
fn probe_address(l: &Listener) -> Result<Option<SocketAddr>, String> {
    let v4 = match l.addr {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) if a.is_unspecified() => Ipv4Addr::UNSPECIFIED,
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(a) => a,
            None if a.is_loopback() => {
                return Err(format!(
                    "listens on [::1]:{}, which this test does not probe",
                    l.port
                ));
            }
            // Not reachable through loopback: not what this test is about.
            None => return Ok(None),
        },
    };
    Ok(match v4 {
        a if a.is_unspecified() => Some(SocketAddr::from((Ipv4Addr::LOCALHOST, l.port))),
        a if a.is_loopback() => Some(SocketAddr::from((a, l.port))),
        _ => None,
    })
}

#[test]
fn probe_addresses_stay_on_loopback() {
    let l = |addr: &str| Listener {
        addr: addr.parse().unwrap(),
        port: 7,
        inode: 1,
    };
    let check = |addr: &str, want: Option<&str>| {
        assert_eq!(
            probe_address(&l(addr)).unwrap(),
            want.map(|w| w.parse().unwrap()),
            "{addr}"
        );
    };
    check("127.0.0.1", Some("127.0.0.1:7"));
    check("127.3.4.5", Some("127.3.4.5:7"));
    check("0.0.0.0", Some("127.0.0.1:7"));
    check("::", Some("127.0.0.1:7"));
    check("::ffff:127.0.0.2", Some("127.0.0.2:7"));
    check("10.1.2.3", None);
    check("fd00::1", None);
    assert!(probe_address(&l("::1")).is_err());
}

/// The first line of what `GET /_ping` in clear gets from `addr`, or why nothing came.
fn plain_ping(addr: SocketAddr) -> Result<String, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = s.take(4096).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    Ok(answer.lines().next().unwrap_or("").to_string())
}

/// Whether a clear `GET /_ping` was served: an HTTP 2xx status line.
fn served(status_line: &str) -> bool {
    let mut words = status_line.split_whitespace();
    words.next().is_some_and(|w| w.starts_with("HTTP/"))
        && words.next().is_some_and(|c| c.starts_with('2'))
}

/// The probe is not blind: an engine-like listener that answers `/_ping` in clear is caught, and
/// dockerd's TLS endpoint's answer to plain HTTP is not taken for service.
#[test]
fn plain_probe_catches_an_open_api() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        s.write_all(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
            .unwrap();
    });
    let line = plain_ping(addr).unwrap();
    server.join().unwrap();
    assert!(served(&line), "{line}");
    assert!(!served("HTTP/1.0 400 Bad Request"));
    assert!(!served(""));
    assert!(!served("\u{15}\u{3}\u{1}"));
}

/// The pids of the daemons the setup started: one per `*.started-by-bottle` marker, from its
/// pidfile (`dockerd.pid` for `started-by-bottle`, `NAME.pid` for `NAME.started-by-bottle`) and the
/// marker's own `pid=` line, those that are alive.
fn setup_daemons(state: &Path) -> Vec<(String, u32)> {
    let mut out = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(state) else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix("started-by-bottle") else {
            continue;
        };
        let stem = stem.strip_suffix('.').unwrap_or("dockerd").to_string();
        let marker = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let from_marker = marker
            .lines()
            .filter_map(|l| l.strip_prefix("pid="))
            .map(str::to_string);
        let from_pidfile = std::fs::read_to_string(state.join(format!("{stem}.pid"))).ok();
        for pid in from_marker.chain(from_pidfile) {
            if let Ok(pid) = pid.trim().parse::<u32>()
                && Path::new(&format!("/proc/{pid}")).exists()
            {
                out.insert((stem.clone(), pid));
            }
        }
    }
    out.into_iter().collect()
}

/// The socket inodes a process holds open.
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// Issue 14 item 4: no TCP listener that a daemon of the setup holds (dockerd, podman's service, a
/// forward an older setup left) serves the Docker API to a client without a certificate: neither
/// in clear nor over TLS without a client certificate. The remote path's port must be among them,
/// so the check is not blind.
#[test]
fn setup_listeners_refuse_unauthenticated_api_calls() {
    let state = state_dir();
    let daemons = setup_daemons(&state);
    if daemons.is_empty() {
        eprintln!(
            "skipping the listener check: no daemon that scripts/setup-engine.sh started is running (state dir {})",
            state.display()
        );
        return;
    }
    let mut all = parse_proc_net_tcp(&std::fs::read_to_string("/proc/net/tcp").unwrap());
    all.extend(parse_proc_net_tcp(
        &std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default(),
    ));
    let ca = state.join("tls/ca.pem");
    let ca_only = ca.exists().then(|| ca_only_dir(&ca));
    let docker = std::env::var("BOTTLE_TEST_DOCKER").unwrap_or_else(|_| "docker".to_string());
    let home = tempfile::tempdir().unwrap();

    let mut probed = BTreeSet::new();
    let mut problems = Vec::new();
    for (name, pid) in &daemons {
        let inodes = socket_inodes(*pid);
        for l in all.iter().filter(|l| inodes.contains(&l.inode)) {
            let addr = match probe_address(l) {
                Ok(Some(addr)) => addr,
                Ok(None) => continue,
                Err(e) => {
                    problems.push(format!("{name} (pid {pid}) {e}"));
                    continue;
                }
            };
            probed.insert(addr.port());
            match plain_ping(addr) {
                Ok(line) if served(&line) => {
                    problems.push(format!(
                        "{name} (pid {pid}) serves `GET /_ping` in clear on {addr}: {line}"
                    ));
                }
                _ => {}
            }
            if let Some(dir) = &ca_only {
                let out = stranger(
                    &docker,
                    &format!("tcp://{addr}"),
                    home.path(),
                    Some(dir.path()),
                );
                if out.status.success() {
                    problems.push(format!(
                        "{name} (pid {pid}) on {addr} answers a TLS client without a certificate: {}",
                        text(&out)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The remote path of this run is one of the listeners checked.
    if let Some(paths) = clis() {
        for path in paths
            .iter()
            .filter(|p| var(p, "DOCKER_CERT_PATH").is_some())
        {
            let host = var(path, "DOCKER_HOST").unwrap();
            let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
            if daemons.iter().any(|(n, _)| n == "dockerd") {
                assert!(
                    probed.contains(&port),
                    "{path}: dockerd's TLS endpoint was not among the listeners: {probed:?}"
                );
            }
        }
    }
}

/// Issue 14 item 4: podman's docker-compatible socket (the `podman-socket` path) drives the engine
/// as its owner: it must be this user's alone (0600, or 0660 with this user's group), in a
/// directory no one else can write to.
#[test]
fn podman_socket_is_private() {
    let Some(paths) = clis() else { return };
    let me = std::fs::metadata("/proc/self").unwrap();
    for path in paths
        .iter()
        .filter(|p| p.spec.starts_with("podman-socket:"))
    {
        let Some(socket) = var(path, "DOCKER_HOST").and_then(|h| h.strip_prefix("unix://")) else {
            continue;
        };
        let meta = std::fs::metadata(socket).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        assert_eq!(
            meta.uid(),
            me.uid(),
            "{path}: {socket} belongs to uid {}",
            meta.uid()
        );
        assert!(
            mode == 0o600 || (mode == 0o660 && meta.gid() == me.gid()),
            "{path}: {socket} has mode {mode:o}, gid {}",
            meta.gid()
        );
        let dir = Path::new(socket).parent().unwrap();
        let dir_mode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(
            dir_mode & 0o002,
            0,
            "{path}: {} is world-writable ({dir_mode:o})",
            dir.display()
        );
    }
}

/// A stand-in docker CLI: `version` and `image inspect` exit with the codes given.
fn fake_docker(dir: &Path, version: i32, image: i32) -> PathBuf {
    let path = dir.join(format!("docker-{version}-{image}"));
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  version) echo 20.10.0; exit {version} ;;\n  image) exit {image} ;;\nesac\nexit 1\n"
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `SCRIPT --plan` with this docker CLI, and the setup switches turned on as a caller might have
/// them: the parts the script would set up.
fn plan(script: &str, docker: &Path) -> String {
    let out = Command::new("bash")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scripts")
                .join(script),
        )
        .arg("--plan")
        .env("DOCKER", docker)
        .env("BOTTLE_SETUP_PODMAN", "1")
        .env("BOTTLE_SETUP_REMOTE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{script} --plan: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Issue 14 item 4: the demo sets up only what it uses. With docker answering and the image
/// there, nothing; otherwise dockerd and the image, and never podman or the remote path, whatever
/// the caller's environment says. The full setup, asked the same, plans all four (so the demo's
/// answer is its own choice, not the setup's default).
#[test]
fn demo_sets_up_neither_podman_nor_the_remote_path() {
    let dir = tempfile::tempdir().unwrap();
    let up = fake_docker(dir.path(), 0, 0);
    let no_engine = fake_docker(dir.path(), 1, 1);
    let no_image = fake_docker(dir.path(), 0, 1);
    assert_eq!(plan("demo.sh", &up), "");
    assert_eq!(plan("demo.sh", &no_engine), "engine\nimage\n");
    assert_eq!(plan("demo.sh", &no_image), "engine\nimage\n");
    assert_eq!(
        plan("setup-engine.sh", &up),
        "engine\nimage\nremote\npodman\n"
    );
}

/// Issue 14 item 4: `stop-engine.sh` stops exactly what the setup started, by marker: the daemon
/// behind `started-by-bottle` (dockerd, with its TLS endpoint) goes; a process whose marker names
/// another program (a reused pid) and one without a marker stay. Stand-ins named apart from any
/// real daemon, in a state dir of the test's own, so no engine is touched.
#[test]
fn stop_engine_stops_only_what_setup_started() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let spawn = |name: &str| {
        let program = dir.path().join(name);
        std::fs::copy("/bin/sleep", &program).unwrap();
        Command::new(&program).arg("600").spawn().unwrap()
    };
    let mut ours = spawn("bottle-fake-d");
    let mut reused = spawn("bottle-fake-p");
    let mut unmarked = spawn("bottle-fake-u");
    let marker = |file: &str, pid: u32| {
        std::fs::write(
            state.join(file),
            format!("pid={pid}\ndaemon=/usr/sbin/bottle-fake-d\n"),
        )
        .unwrap();
    };
    marker("started-by-bottle", ours.id());
    std::fs::write(state.join("dockerd.pid"), ours.id().to_string()).unwrap();
    marker("podman-service.started-by-bottle", reused.id());

    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stop-engine.sh"))
        .env("BOTTLE_ENGINE_STATE", &state)
        .env("BOTTLE_ENGINE_STOP_WAIT", "10")
        .output()
        .unwrap();
    let stopped = ours.try_wait().unwrap();
    let (reused_alive, unmarked_alive) = (
        reused.try_wait().unwrap().is_none(),
        unmarked.try_wait().unwrap().is_none(),
    );
    for child in [&mut ours, &mut reused, &mut unmarked] {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stopped.is_some(),
        "the marked daemon still runs: {}",
        text(&out)
    );
    assert!(reused_alive && unmarked_alive, "{}", text(&out));
    assert!(!state.join("started-by-bottle").exists());
    assert!(!state.join("podman-service.started-by-bottle").exists());
}
