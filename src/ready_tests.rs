//! [`crate::ready`] against the real engine's port publishing: the engine's proxy accepting a
//! connection is not the service answering. A unit test, since it drives the readiness internals
//! directly; gated like the integration suite's real-engine tests: it runs on the local docker CLI
//! of `BOTTLE_TEST_DOCKER` (default `docker`), skips when that engine or the test image is not
//! there, and fails instead under `BOTTLE_REQUIRE_DOCKER=1`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::ready::{self, Observed, Probe, Waited};

fn test_image() -> String {
    std::env::var("BOTTLE_TEST_IMAGE").unwrap_or_else(|_| "bottle-test-bundle:latest".to_string())
}

/// The local docker CLI to test with, if it answers and has the test image.
fn engine() -> Option<String> {
    let cli = std::env::var("BOTTLE_TEST_DOCKER").unwrap_or_else(|_| "docker".to_string());
    let answers = Command::new(&cli)
        .args(["image", "inspect", "--format", "{{.Id}}", &test_image()])
        .output()
        .is_ok_and(|o| o.status.success());
    if answers {
        return Some(cli);
    }
    let problem = format!(
        "`{cli}` does not answer or lacks the image `{}`",
        test_image()
    );
    if std::env::var("BOTTLE_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("BOTTLE_REQUIRE_DOCKER=1, but {problem}");
    }
    eprintln!(
        "skipping a real-engine test: {problem}; set BOTTLE_REQUIRE_DOCKER=1 to make this fail"
    );
    None
}

/// Containers this test started, removed however it ends.
struct Containers {
    cli: String,
    names: Vec<String>,
}

impl Containers {
    /// `run -d -p 127.0.0.1::8080 IMAGE CMD...` under a name of this test's own; the host address.
    fn run(&mut self, tag: &str, cmd: &[&str]) -> (String, SocketAddr) {
        let name = format!("itready{}-{tag}", std::process::id());
        self.names.push(name.clone());
        let image = test_image();
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            "127.0.0.1::8080",
            &image,
        ];
        args.extend_from_slice(cmd);
        let out = Command::new(&self.cli).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(&self.cli)
            .args(["port", &name, "8080/tcp"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let addr = text
            .lines()
            .find_map(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no 127.0.0.1 port for {name}: {text}"));
        (name, addr)
    }

    fn observe(&self, name: &str, addr: SocketAddr) -> Observed {
        let out = Command::new(&self.cli)
            .args([
                "container",
                "inspect",
                "--format",
                "{{.State.Status}}",
                name,
            ])
            .output()
            .unwrap();
        Observed {
            state: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            health: None,
            ports: vec![addr],
            container_ports: Vec::new(),
            listens: Vec::new(),
        }
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new(&self.cli).args(["rm", "-f", name]).output();
        }
    }
}

/// A server that starts listening after 6 s is not answered before, and is ready after; one that
/// never listens is never answered (the proxy accepts and closes); one that exits fails at once.
#[test]
fn probe_tells_the_service_from_the_engines_proxy() {
    let Some(cli) = engine() else { return };
    let mut c = Containers {
        cli,
        names: Vec::new(),
    };
    let (never, never_addr) = c.run("never", &["sleep", "3600"]);
    let (exits, exits_addr) = c.run("exits", &["sh", "-c", "sleep 1; exit 3"]);
    // The late server runs last and is probed at once, so that a loaded machine's slow `run`s of
    // the other two cannot use up its head start (it failed "too slow to test" under load).
    let started = Instant::now();
    let (late, late_addr) = c.run("late", &["sh", "-c", "sleep 6; httpd -f -p 8080 -h /www"]);

    // Before the server listens, a plain connect succeeds (docker-proxy accepts) but the probe
    // does not call it answered.
    let early = ready::probe(late_addr, ready::HOLD);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "too slow to test"
    );
    assert_ne!(early, Probe::Answered);
    assert_ne!(ready::probe(never_addr, ready::HOLD), Probe::Answered);

    let wait = |name: &str, addr, deadline| {
        let c = &c;
        let name = name.to_string();
        move || {
            let mut inspect = || Ok::<_, ()>(c.observe(&name, addr));
            let got = ready::wait_until(deadline, ready::HOLD, &mut inspect, &|| false).unwrap();
            (got, started.elapsed())
        }
    };
    let secs = Duration::from_secs;
    // The three waits run side by side; each notes when it ended, counted from the first `run`.
    let ((late_w, late_at), (never_w, never_at), (exits_w, exits_at)) = std::thread::scope(|s| {
        let a = s.spawn(wait(&late, late_addr, secs(20)));
        let b = s.spawn(wait(&never, never_addr, secs(4)));
        let e = s.spawn(wait(&exits, exits_addr, secs(15)));
        (a.join().unwrap(), b.join().unwrap(), e.join().unwrap())
    });

    let Waited::Ready { .. } = late_w else {
        panic!("late: {late_w:?}")
    };
    assert!(
        late_at >= secs(6),
        "ready after {late_at:?}, before it listened"
    );
    assert!(
        matches!(&never_w, Waited::Failed { why, kind: crate::NotReady::Deadline } if why.starts_with("not ready within 4s: port 1 of 1: ")),
        "never: {never_w:?}"
    );
    assert_eq!(
        exits_w,
        Waited::Failed {
            why: "the bundle is exited".to_string(),
            kind: crate::NotReady::Exited,
        }
    );
    assert_eq!(ready::probe(late_addr, ready::HOLD), Probe::Answered);
    eprintln!(
        "ready: early probe {early:?}; late: ready at {late_at:.2?}; never: {never_w:?} at {never_at:.2?}; exits: {exits_w:?} at {exits_at:.2?}"
    );
}
