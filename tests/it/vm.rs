//! A VM guest reaches its bottle's bundle, and nothing else on host loopback.
//!
//! The launcher's view, end to end: `bottle up --json`, then a QEMU guest (TCG, no KVM) whose
//! user-mode network is `restrict=on` with one `guestfwd` built from the JSON's `host_ip` and
//! `host_port`. The guest's `/init` (built by `scripts/setup-vm.sh`) fetches the bundle's page
//! through that forward, then tries the bundle's host port and a decoy service on host loopback
//! through the gateway, and prints one `BOTTLE-VM-CHECK` line per try on the serial console.
//!
//! Gates: the engine part is gated like `real.rs` (skip when no engine answers or the test image is
//! missing; fail under `BOTTLE_REQUIRE_DOCKER=1`). The VM part skips when QEMU, a static busybox
//! or the guest kernel and initramfs are missing, and fails instead under `BOTTLE_REQUIRE_VM=1`.
//! `BOTTLE_VM_DIR` says where `setup-vm.sh` put the guest (default `/var/cache/bottle-vm`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::real::Bottles;

/// How the test calls `up`, in one place: `up SLUG --image IMAGE` followed by these. The bottle
/// gets a loopback address of its own, and `up` returns once the bundle answers; the test's own
/// readiness check (the library's `Bottles::wait_ready`) then only confirms what `--wait` promised.
const UP_FLAGS: &[&str] = &["-p", "8080", "--publish-ip", "auto", "--wait", "--json"];

/// The guest's address for the bundle: the only way out of its restricted network.
const GUEST_FWD: &str = "10.0.2.100:8080";
/// QEMU's user-mode gateway, which stands for the host: with `restrict=on` it must lead nowhere.
const GATEWAY: &str = "10.0.2.2";
/// Boot, three checks and power-off take about 4 s under TCG here; this is the hard limit.
const VM_TIMEOUT: Duration = Duration::from_secs(45);

pub fn test_image() -> String {
    std::env::var("BOTTLE_TEST_IMAGE").unwrap_or_else(|_| "bottle-test-bundle:latest".to_string())
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Say why a gated test skips, past the harness's capture, or fail if `require` is set.
fn skip(require: &str, problem: &str) {
    if flag(require) {
        panic!("{require}=1, but {problem}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipping a VM-guest test: {problem}; set {require}=1 to make this fail"
    );
}

/// The first local docker engine path (see [`crate::real::clis`]): the VM guest and the
/// readiness probe reach the bundle through this host's loopback, so a remote engine would not do.
pub fn engine() -> Option<crate::real::EnginePath> {
    let path = crate::real::clis()?
        .into_iter()
        .find(|p| !p.podman && p.env.is_empty());
    if path.is_none() {
        skip(
            "BOTTLE_REQUIRE_DOCKER",
            "no local docker engine path is configured",
        );
    }
    path
}

/// What booting the guest needs.
struct Guest {
    qemu: PathBuf,
    busybox: PathBuf,
    kernel: PathBuf,
    initrd: PathBuf,
}

fn guest() -> Option<Guest> {
    let dir = PathBuf::from(
        std::env::var_os("BOTTLE_VM_DIR").unwrap_or_else(|| "/var/cache/bottle-vm".into()),
    );
    let found = (|| {
        let qemu = which::which("qemu-system-x86_64")
            .map_err(|_| "qemu-system-x86_64 is not installed".to_string())?;
        let busybox = which::which("busybox")
            .map_err(|_| "busybox (the host end of the forward) is not installed".to_string())?;
        let (kernel, initrd) = (dir.join("vmlinuz"), dir.join("initrd.gz"));
        for f in [&kernel, &initrd] {
            if !f.is_file() {
                return Err(format!("{} is missing", f.display()));
            }
        }
        Ok(Guest {
            qemu,
            busybox,
            kernel,
            initrd,
        })
    })();
    match found {
        Ok(g) => Some(g),
        Err(problem) => {
            skip(
                "BOTTLE_REQUIRE_VM",
                &format!("{problem} (run scripts/setup-vm.sh as root)"),
            );
            None
        }
    }
}

/// A QEMU process, killed if the test ends before it powers off.
struct Vm(Child);

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boot the guest with `forward` (the host address its only `guestfwd` dials) and these checks;
/// return the serial console's lines, cleaned of carriage returns.
fn boot(g: &Guest, forward: SocketAddr, checks: &[(&str, String)]) -> Vec<String> {
    let checks: Vec<String> = checks.iter().map(|(n, a)| format!("{n}={a}")).collect();
    let netdev = format!(
        "user,id=n0,restrict=on,guestfwd=tcp:{GUEST_FWD}-cmd:{} nc {} {}",
        g.busybox.display(),
        forward.ip(),
        forward.port()
    );
    let append = format!(
        "console=ttyS0 panic=-1 quiet bottle_checks={}",
        checks.join(",")
    );
    let mut child = Command::new(&g.qemu)
        .args(["-accel", "tcg", "-m", "128", "-smp", "1"])
        .args([
            "-nographic",
            "-nodefaults",
            "-no-reboot",
            "-serial",
            "stdio",
        ])
        .arg("-kernel")
        .arg(&g.kernel)
        .arg("-initrd")
        .arg(&g.initrd)
        .args(["-netdev", &netdev, "-device", "virtio-net-pci,netdev=n0"])
        .args(["-append", &append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", g.qemu.display()));
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let vm = Vm(child);

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).replace('\r', "");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + VM_TIMEOUT;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains("BOTTLE-VM-DONE");
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(e) => {
                drop(vm);
                let mut err = String::new();
                let _ = stderr.read_to_string(&mut err);
                panic!(
                    "the guest did not finish ({e:?}) within {VM_TIMEOUT:?}; serial:\n{}\nqemu stderr:\n{err}",
                    lines.join("\n")
                );
            }
        }
    }
    drop(vm);
    lines
}

/// The `BOTTLE-VM-CHECK NAME ...` line's remainder for `name`.
fn check_line<'a>(serial: &'a [String], name: &str) -> &'a str {
    let marker = format!("BOTTLE-VM-CHECK {name} ");
    serial
        .iter()
        .find_map(|l| l.find(&marker).map(|i| &l[i + marker.len()..]))
        .unwrap_or_else(|| {
            panic!(
                "no check {name} in the serial output:\n{}",
                serial.join("\n")
            )
        })
}

/// A service on host loopback that the guest must not reach: it answers HTTP with `DECOY` and
/// records any connection.
fn decoy() -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let touched = Arc::new(AtomicBool::new(false));
    let seen = touched.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            seen.store(true, Ordering::SeqCst);
            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\n\r\nDECOY\r\n");
        }
    });
    (addr, touched)
}

#[test]
fn vm_guest_reaches_only_its_bundle() {
    let Some(path) = engine() else { return };
    let cli = path.program.clone();
    let Some(guest) = guest() else { return };
    let start = Instant::now();

    let b = Bottles::new(&path, "vm");
    let pool = format!("10.{}.16.0/20", 100 + std::process::id() % 100);
    let image = test_image();
    // A loopback pool of this test's own, apart from other tests' bottles.
    let lo_pool = format!("127.{}.8.16/28", 100 + std::process::id() % 100);
    let mut args = vec![
        "up",
        "guest",
        "--image",
        &image,
        "--pool",
        &pool,
        "--loopback-pool",
        &lo_pool,
    ];
    args.extend_from_slice(UP_FLAGS);
    let up: serde_json::Value = serde_json::from_str(&b.ok(&args)).unwrap();
    let port = &up["ports"][0];
    let host_ip: IpAddr = port["host_ip"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no ports[0].host_ip in {up}"));
    let host_port = port["host_port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("no ports[0].host_port in {up}"));
    assert!(host_ip.is_loopback(), "{up}");
    // `--publish-ip auto`: the bottle's own address, reported at the top level too.
    assert_eq!(up["host_ip"], host_ip.to_string(), "{up}");
    let lo: ipnetwork::Ipv4Network = lo_pool.parse().unwrap();
    assert!(
        matches!(host_ip, IpAddr::V4(ip) if lo.contains(ip)),
        "{host_ip} is not in {lo}"
    );
    let bundle = SocketAddr::new(host_ip, host_port);
    let slug: bottle::Slug = "guest".parse().unwrap();

    // `--wait` promised this already: the library's wait for an existing bottle must agree at once.
    let launcher =
        bottle::Bottles::new(bottle::Engine::new(&cli).unwrap()).prefix(b.prefix.parse().unwrap());
    launcher
        .wait_ready(&slug, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("not ready after `up --wait`: {e}"));
    let ready = start.elapsed();

    let (decoy, touched) = decoy();
    let booted = Instant::now();
    let serial = boot(
        &guest,
        bundle,
        &[
            ("bundle", GUEST_FWD.to_string()),
            ("gw-bundle", format!("{GATEWAY}:{host_port}")),
            ("gw-decoy", format!("{GATEWAY}:{}", decoy.port())),
        ],
    );
    let vm_time = booted.elapsed();

    let all = serial.join("\n");
    assert_eq!(
        check_line(&serial, "bundle"),
        "rc=0 status=HTTP/1.1 200 OK body=bottle test bundle",
        "{all}"
    );
    // restrict=on: the gateway reaches neither the bundle's own host port nor the decoy.
    for name in ["gw-bundle", "gw-decoy"] {
        let line = check_line(&serial, name);
        assert!(
            !line.starts_with("rc=0") && !line.contains("DECOY"),
            "{name}: {line}\n{all}"
        );
    }
    assert!(
        !touched.load(Ordering::SeqCst),
        "the decoy on {decoy} was reached"
    );

    b.ok(&["down", "guest"]);
    assert_eq!(b.leftovers(), Vec::<String>::new());
    let _ = writeln!(
        std::io::stderr(),
        "vm guest: up and ready in {ready:.2?}, guest {vm_time:.2?}, total {:.2?}\n{}",
        start.elapsed(),
        serial
            .iter()
            .filter_map(|l| l.find("BOTTLE-VM").map(|i| &l[i..]))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
