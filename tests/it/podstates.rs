//! Podman's transitional states, which docker never shows: `stopping` (a stop waiting out its
//! grace period) and `stopped` (exited, not yet cleaned up). The verbs wait for a stop to end
//! before they act, and every view maps both onto the contract's states. Also what a local
//! engine's host shows in no socket table: a TCP socket bound but not listening.

use crate::fake::{Fake, container_json};
use crate::transcripts::{BUNDLE, NET, network};

const INSPECT: &str = "container inspect --format {{json .}} c1";

/// Our bundle in `state`.
fn bundle(state: &str) -> String {
    let labels = [("bottle.role", "bundle"), ("bottle.slug", "demo")];
    let ports: &[(u16, u16)] = match state {
        "running" | "paused" | "stopping" => &[(8080, 49153)],
        _ => &[],
    };
    container_json(BUNDLE, "c1", state, &labels, NET, "10.213.150.2", ports)
}

/// The engine commands besides the first look (the untyped inspect).
fn changes(fake: &Fake) -> Vec<String> {
    fake.calls()
        .iter()
        .filter(|c| c[0] != "inspect")
        .map(|c| c.join(" "))
        .collect()
}

/// Seen on podman 4.3: `bottle start demo` right after a `podman stop -t 30` of its bundle
/// failed with "the bundle is `stopping`, a state this version of bottle does not know", and
/// so did `restart`, `stop` said nothing was to be done while the bundle still ran. Now each
/// verb waits (looking at the bundle by ID) until the stop ends, then acts on what it finds:
/// podman's `stopped` is a stopped bundle, like docker's `exited`.
#[test]
fn a_verb_on_a_podman_bundle_that_is_stopping_waits_for_the_stop() {
    let table: &[(&[&str], &str, &str, &[&str])] = &[
        (
            &["start", "demo"],
            "running",
            "running",
            &["start c1", INSPECT],
        ),
        (
            &["restart", "demo"],
            "running",
            "running",
            &["restart c1", INSPECT],
        ),
        (&["stop", "demo"], "stopped", "exited", &[]),
        (&["unpause", "demo"], "stopped", "exited", &[]),
    ];
    for (args, after, shown, then) in table {
        let mut fake = Fake::new();
        fake.on(
            "inspect --format*",
            0,
            &(bundle("stopping") + &network(&[("c1", BUNDLE)])),
            "",
        );
        fake.once("container inspect*", 0, &bundle("stopping"), "");
        fake.once("container inspect*", 0, &bundle("stopped"), "");
        fake.on("container inspect*", 0, &bundle(after), "");
        let mut argv = args.to_vec();
        argv.push("--json");
        let out = fake.bottle(&argv);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let v = crate::schema::check(args[0], &stdout);
        assert_eq!(v["bundle"]["state"], *shown, "{args:?}: {v}");
        let mut want = vec![INSPECT, INSPECT];
        want.extend_from_slice(then);
        assert_eq!(changes(&fake), want, "{args:?}");
    }
}

/// `pause` of a bundle whose stop ends leaves it stopped: refused with the state it found, not
/// with "a state this version of bottle does not know".
#[test]
fn pause_of_a_podman_bundle_that_is_stopping_is_refused_once_it_stopped() {
    let mut fake = Fake::new();
    fake.on(
        "inspect --format*",
        0,
        &(bundle("stopping") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle("stopped"), "");
    let out = fake.bottle(&["pause", "demo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the bundle is `exited`; only a running bundle can be paused"),
        "{err}"
    );
    assert_eq!(changes(&fake), [INSPECT]);
}

/// A stop that does not end within the wait (bounded by `--timeout`) is not acted on: the verb
/// is refused saying the bundle is still stopping, and runs nothing.
#[test]
fn a_verb_on_a_bundle_still_stopping_at_the_deadline_is_refused() {
    let mut fake = Fake::new();
    fake.on(
        "inspect --format*",
        0,
        &(bundle("stopping") + &network(&[("c1", BUNDLE)])),
        "",
    );
    fake.on("container inspect*", 0, &bundle("stopping"), "");
    let out = fake.bottle(&["start", "demo", "--timeout", "1s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot start bottle `demo`: the bundle is still `stopping` after 1s"),
        "{err}"
    );
    assert!(
        changes(&fake).iter().all(|c| c == INSPECT),
        "{:?}",
        changes(&fake)
    );
}

/// Seen on podman 4.3: `status --json` of a bundle podman was stopping said `"state":
/// "stopping"`, a word the schema's state list does not have, and `ls --filter state=stopping`
/// was a usage error that did not say what to ask for. Each view shows the state docker shows
/// at the same moment: `stopping` is `running`, `stopped` is `exited`.
#[test]
fn podman_stopping_and_stopped_show_as_the_contracts_states() {
    for (podman, shown) in [("stopping", "running"), ("stopped", "exited")] {
        let mut fake = Fake::new();
        fake.on(
            "inspect --format*",
            0,
            &(bundle(podman) + &network(&[("c1", BUNDLE)])),
            "",
        );
        let out = fake.bottle(&["status", "demo", "--json"]);
        assert!(out.status.success(), "{out:?}");
        let v = crate::schema::check("status", &String::from_utf8(out.stdout).unwrap());
        assert_eq!(v["bundle"]["state"], shown, "{podman}: {v}");
    }
    let out = Fake::new().bottle(&["ls", "--filter", "state=stopping"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bottle shows podman's `stopping` as `running`"),
        "{err}"
    );
}

/// The real side of the tests above, on the podman paths: while the engine's own `stop -t 3`
/// waits out its grace period (the test image ignores SIGTERM), `status` shows the bundle
/// `running` (podman says `stopping`), and `bottle start` waits for the stop, then starts it.
#[test]
fn start_of_a_podman_bottle_that_is_stopping_on_podman() {
    let Some(paths) = crate::real::clis() else {
        return;
    };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| p.podman) {
        let b = crate::real::Bottles::new(path, &format!("ps{i}"));
        let pool = format!("10.{}.176.0/20", 100 + std::process::id() % 100);
        b.ok(&["up", "ps", "--image", &path.image, "--pool", &pool]);
        let bundle = format!("{}-sidecars-ps", b.prefix);
        let mut stop = b
            .path
            .engine()
            .args(["stop", "-t", "3", &bundle])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let state = || b.docker_out(&["inspect", "--format", "{{.State.Status}}", &bundle]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while state() != "stopping" {
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: never stopping: {}",
                state()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let status = crate::real::json(&b.ok(&["status", "ps", "--json"]));
        let start = b.bottle(&["start", "ps", "--json"]);
        let _ = stop.kill();
        let _ = stop.wait();
        let err = String::from_utf8_lossy(&start.stderr);
        assert!(start.status.success(), "{path}: {err}");
        assert_eq!(status["bundle"]["state"], "running", "{path}: {status}");
        let v = crate::real::json(&String::from_utf8_lossy(&start.stdout));
        assert_eq!(v["bundle"]["state"], "running", "{path}: {v}");
    }
}

/// A TCP socket bound to `127.0.0.1:port` that does not listen (no `SO_REUSEADDR`, as a client
/// bound before it connects): in no `/proc/net/tcp` table, yet it fails the engine's bind.
fn bound_not_listening(port: u16) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: a fresh socket is owned at once; `bind` reads the address for its length only.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        fd
    }
}

/// Seen on dockerd 20.10: a socket bound to the rule's first port for `bn/8080/tcp` but not
/// listening is in no socket table, so every `up` of `bn` chose that port and failed at `run`
/// ("address already in use") until the socket went away. Now `up` tries a bind of each port the
/// rule chooses on a local engine, and takes the next candidate. Local engine paths only.
#[test]
fn up_keeps_choosing_a_port_a_socket_bound_but_not_listening_holds() {
    let Some(paths) = crate::real::clis() else {
        return;
    };
    let local = |p: &crate::real::EnginePath| {
        p.env
            .iter()
            .all(|(k, v)| k != "DOCKER_HOST" || v.starts_with("unix://"))
    };
    for (i, path) in paths.iter().enumerate().filter(|(_, p)| local(p)) {
        let b = crate::real::Bottles::new(path, &format!("bn{i}"));
        let pool = format!("10.{}.176.0/20", 100 + std::process::id() % 100);
        let up = || {
            let out = b.bottle(&[
                "up",
                "bn",
                "--image",
                &path.image,
                "--pool",
                &pool,
                "-p",
                "8080",
                "--json",
            ]);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{path}: {err}");
            let v = crate::real::json(&String::from_utf8_lossy(&out.stdout));
            v["ports"][0]["host_port"].as_u64().unwrap() as u16
        };
        // The rule's first choice, free: the bottle takes it; `down` lets it go with the record.
        let first = up();
        let down = b.bottle(&["down", "bn"]);
        assert!(down.status.success(), "{path}: {down:?}");
        let _held = bound_not_listening(first);
        let next = up();
        assert_ne!(next, first, "{path}: chose the bound port again");
    }
}
