//! Engines and engine configuration of a test's own, for the tests that stop an engine or name
//! engines by context: the shared dockerd and podman service are never stopped (other tests run
//! on them all the time), and nothing in the user's `~/.docker` or `~/.config` changes.
//!
//! - [`Daemon`]: a daemon the test started, stopped by SIGTERM and started again (a service
//!   manager's stop, or a host going away), and stopped on drop.
//! - [`PodmanService`]: a private `podman system service` on a socket in a temp dir, over podman's
//!   one store (so native podman sees its containers, which the cleanup relies on).
//! - [`DockerContexts`]: a private `DOCKER_CONFIG` dir holding docker contexts; `default` stays the
//!   implicit one (the local dockerd).
//! - [`PodmanConnections`]: a private `CONTAINERS_CONF` holding podman connections. Podman 4.3 keeps
//!   connections in containers.conf (`[engine.service_destinations.NAME]`); as root it reads and
//!   writes `/etc/containers/containers.conf` and never `$XDG_CONFIG_HOME`, and `CONTAINERS_CONF`
//!   replaces every other containers.conf. The file holds only the connections: a podman command
//!   that ran locally instead of on its connection would miss the machine's runtime settings and
//!   fail, rather than pass on podman's one store by chance.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn required() -> bool {
    std::env::var("BOTTLE_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// Skip `test` with the reason, or fail under `BOTTLE_REQUIRE_DOCKER=1`.
pub fn skip(test: &str, why: &str) {
    assert!(!required(), "BOTTLE_REQUIRE_DOCKER=1, but {why}");
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: {why}; set BOTTLE_REQUIRE_DOCKER=1 to make this fail"
    );
}

/// Poll `ok` until it holds, at most `within`.
pub fn poll(within: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A daemon the test started: stopped by SIGTERM (and awaited) on restart and on drop.
pub struct Daemon {
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    pub fn start(args: Vec<String>, log: PathBuf) -> Daemon {
        let mut d = Daemon {
            args,
            log,
            child: None,
        };
        d.spawn();
        d
    }

    /// Start it (again); a no-op while it runs.
    pub fn spawn(&mut self) {
        if self.child.is_some() {
            return;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.args[0])
            .args(&self.args[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{:?}: {e}", self.args));
        self.child = Some(child);
    }

    /// SIGTERM, then wait for it to exit (a service manager's stop), at most 60 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A temp dir removed on drop (after the daemons that use it, which are declared after it).
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir(tag: &str) -> TempDir {
    // Short: a unix socket path must stay under 108 bytes.
    let dir = PathBuf::from(format!("/tmp/bit-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Whether the docker CLI `cli` reaches an engine at `host` (a `DOCKER_HOST` URL).
pub fn answers(cli: &str, host: &str) -> bool {
    Command::new(cli)
        .args(["version", "--format", "{{.Server.Version}}"])
        .env("DOCKER_HOST", host)
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())
}

/// A private `podman system service` on `DIR/podman.sock`, which the test stops and starts again.
/// Podman's containers outlive it (conmon keeps each one).
pub struct PodmanService {
    daemon: Daemon,
    /// `unix:///…/podman.sock`, for `DOCKER_HOST`, a docker context or a podman connection.
    pub url: String,
    /// The docker CLI that checks it answers.
    cli: String,
}

impl PodmanService {
    /// Start it and wait until it answers (at most 30 s).
    pub fn start(podman: &str, dir: &Path, cli: &str) -> PodmanService {
        let url = format!("unix://{}/podman.sock", dir.display());
        let args = [podman, "system", "service", "--time=0", &url].map(String::from);
        let daemon = Daemon::start(args.to_vec(), dir.join("podman.log"));
        let service = PodmanService {
            daemon,
            url,
            cli: cli.to_string(),
        };
        service.await_answer();
        service
    }

    fn await_answer(&self) {
        poll(
            Duration::from_secs(30),
            "the private podman service answering",
            || answers(&self.cli, &self.url),
        );
    }

    /// SIGTERM, and wait until it is gone.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    /// Start it again, and wait until it answers.
    pub fn start_again(&mut self) {
        self.daemon.spawn();
        self.await_answer();
    }
}

/// A private `DOCKER_CONFIG` dir with the given docker contexts, made by the docker CLI itself
/// (`docker context create NAME --docker host=URL`). The implicit `default` context stays the
/// local dockerd.
pub struct DockerContexts {
    pub dir: PathBuf,
}

impl DockerContexts {
    pub fn new(cli: &str, dir: PathBuf, contexts: &[(&str, &str)]) -> DockerContexts {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, url) in contexts {
            let out = Command::new(cli)
                .args([
                    "context",
                    "create",
                    name,
                    "--docker",
                    &format!("host={url}"),
                ])
                .env("DOCKER_CONFIG", &dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{cli} context create {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        DockerContexts { dir }
    }

    /// The environment every command of the fleet carries.
    pub fn env(&self) -> (String, String) {
        ("DOCKER_CONFIG".into(), self.dir.display().to_string())
    }
}

/// A private containers.conf (`CONTAINERS_CONF`) holding podman connections and nothing else.
pub struct PodmanConnections {
    pub file: PathBuf,
}

impl PodmanConnections {
    pub fn new(file: PathBuf, connections: &[(&str, &str)]) -> PodmanConnections {
        let text: String = connections
            .iter()
            .map(|(name, url)| format!("[engine.service_destinations.{name}]\nuri = \"{url}\"\n\n"))
            .collect();
        std::fs::write(&file, text).unwrap();
        PodmanConnections { file }
    }

    /// The environment every command of the fleet carries.
    pub fn env(&self) -> (String, String) {
        ("CONTAINERS_CONF".into(), self.file.display().to_string())
    }
}

/// A fingerprint of a directory tree (each entry's path, size and modification time), to check
/// that a test left the user's configuration alone.
pub fn fingerprint(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        out.push(format!(
            "{} {} {:?}",
            path.display(),
            meta.len(),
            meta.modified().ok()
        ));
        if meta.is_dir() {
            out.extend(fingerprint(&path));
        }
    }
    out.sort();
    out
}
