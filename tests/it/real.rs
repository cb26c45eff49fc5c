//! Real-engine tests. Each one uses its own prefix and cleans up through a drop guard, even when it
//! fails. When no engine answers they say why and skip; with `BOTTLE_REQUIRE_DOCKER=1` they fail.
//!
//! Each test runs once on every *engine path* of `BOTTLE_TEST_PATHS` (entries separated by spaces,
//! commas or newlines):
//!
//! - `docker:PROGRAM`: a docker CLI against the engine it finds itself, e.g. `docker:/usr/bin/docker`
//! - `remote:URL`: the docker CLI with `DOCKER_HOST=URL`, e.g. `remote:tcp://127.0.0.1:23760`; a
//!   `tcp://` URL is dockerd's TLS endpoint, reached with `DOCKER_TLS_VERIFY=1` and
//!   `DOCKER_CERT_PATH=$BOTTLE_TEST_CERT_PATH` (the client's `ca.pem`, `cert.pem`, `key.pem`, which
//!   `scripts/setup-engine.sh` makes), and is refused without them: an engine on TCP that answers
//!   without a client certificate is not a setup to test on
//! - `podman:PROGRAM`: native podman, e.g. `podman:podman`
//! - `podman-socket:URL`: the docker CLI against podman's docker-compatible socket, e.g.
//!   `podman-socket:unix:///run/bottle-podman.sock`
//!
//! The docker CLI of `remote` and `podman-socket` is `BOTTLE_TEST_DOCKER` (default `docker`). Every
//! command a test runs on a path, bottle's and the test's own checks, carries the path's `env`.
//! Without `BOTTLE_TEST_PATHS`, the colon-separated `BOTTLE_TEST_CLIS` (e.g.
//! `/usr/bin/docker:/usr/local/bin/docker`) lists `docker:` paths, and the default is `docker:docker`.
//! `BOTTLE_TEST_IMAGE` names the offline test image (`scripts/setup-engine.sh` imports it into
//! docker and podman); `BOTTLE_TEST_IMAGE_PODMAN` overrides it for the podman paths.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::fake::bottle_cmd;
use crate::schema;

pub fn image() -> String {
    std::env::var("BOTTLE_TEST_IMAGE").unwrap_or_else(|_| "bottle-test-bundle:latest".to_string())
}

fn required() -> bool {
    std::env::var("BOTTLE_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// One way of reaching an engine: the program bottle runs and the environment it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePath {
    /// The entry as written in `BOTTLE_TEST_PATHS`, for messages.
    pub spec: String,
    /// `BOTTLE_ENGINE`: the CLI bottle (and the test's own checks) run.
    pub program: String,
    /// Set for every command of this path (`DOCKER_HOST`, and for TLS `DOCKER_TLS_VERIFY` and
    /// `DOCKER_CERT_PATH`).
    pub env: Vec<(String, String)>,
    pub podman: bool,
    /// The test image's name on this path.
    pub image: String,
}

impl EnginePath {
    /// Parse one `KIND:VALUE` entry; `docker_cli` is the CLI of the `remote` and `podman-socket`
    /// kinds, `cert_path` the client certificates of a `remote:tcp://` path.
    pub fn parse(
        spec: &str,
        docker_cli: &str,
        cert_path: Option<&str>,
    ) -> Result<EnginePath, String> {
        let (kind, value) = spec
            .split_once(':')
            .filter(|(_, v)| !v.is_empty())
            .ok_or_else(|| format!("engine path `{spec}` is not KIND:VALUE"))?;
        let host = |program: &str, podman: bool| EnginePath {
            spec: spec.to_string(),
            program: program.to_string(),
            env: vec![("DOCKER_HOST".to_string(), value.to_string())],
            podman,
            image: image(),
        };
        let mut path = match kind {
            "docker" => EnginePath {
                env: Vec::new(),
                ..host(value, false)
            },
            "podman" => EnginePath {
                env: Vec::new(),
                ..host(value, true)
            },
            "remote" if value.starts_with("tcp://") => {
                let certs = cert_path.filter(|c| !c.is_empty()).ok_or_else(|| {
                    format!(
                        "engine path `{spec}` needs BOTTLE_TEST_CERT_PATH: a TCP engine is tested only \
                         through its TLS endpoint, with a client certificate"
                    )
                })?;
                let mut path = host(docker_cli, false);
                path.env
                    .push(("DOCKER_TLS_VERIFY".to_string(), "1".to_string()));
                path.env
                    .push(("DOCKER_CERT_PATH".to_string(), certs.to_string()));
                path
            }
            "remote" => host(docker_cli, false),
            "podman-socket" => host(docker_cli, true),
            _ => {
                return Err(format!(
                    "engine path `{spec}`: unknown kind `{kind}` (docker, remote, podman, podman-socket)"
                ));
            }
        };
        if path.podman
            && let Ok(img) = std::env::var("BOTTLE_TEST_IMAGE_PODMAN")
        {
            path.image = img;
        }
        Ok(path)
    }

    /// The engine CLI of this path, with its environment.
    pub fn engine(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Why this path cannot run the tests, if it cannot.
    fn problem(&self) -> Option<String> {
        let spec = &self.spec;
        match self
            .engine()
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
        {
            Err(e) => Some(format!(
                "`{spec}`: `{}` cannot be executed: {e}",
                self.program
            )),
            Ok(out) if !out.status.success() => Some(format!(
                "`{spec}` reaches no engine: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Ok(_) => match self
                .engine()
                .args(["image", "inspect", "--format", "{{.Id}}", &self.image])
                .output()
            {
                Ok(out) if out.status.success() => None,
                _ => Some(format!(
                    "`{spec}`: the test image `{}` is missing (run scripts/setup-engine.sh)",
                    self.image
                )),
            },
        }
    }
}

impl std::fmt::Display for EnginePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spec)
    }
}

/// The engine paths of `BOTTLE_TEST_PATHS` (or `BOTTLE_TEST_CLIS`), as written.
fn path_specs() -> Vec<String> {
    if let Ok(paths) = std::env::var("BOTTLE_TEST_PATHS") {
        return paths
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    std::env::var("BOTTLE_TEST_CLIS")
        .unwrap_or_else(|_| "docker".to_string())
        .split(':')
        .filter(|s| !s.is_empty())
        .map(|cli| format!("docker:{cli}"))
        .collect()
}

/// The engine paths to test on, if every one reaches an engine that has the test image. A path
/// that cannot be used skips the test, or fails it under `BOTTLE_REQUIRE_DOCKER=1`.
pub fn clis() -> Option<Vec<EnginePath>> {
    let docker_cli = std::env::var("BOTTLE_TEST_DOCKER").unwrap_or_else(|_| "docker".to_string());
    let cert_path = std::env::var("BOTTLE_TEST_CERT_PATH").ok();
    let mut paths = Vec::new();
    for spec in path_specs() {
        let problem = match EnginePath::parse(&spec, &docker_cli, cert_path.as_deref()) {
            Ok(path) => {
                let problem = path.problem();
                paths.push(path);
                problem
            }
            Err(e) => Some(e),
        };
        if let Some(problem) = problem {
            if required() {
                panic!("BOTTLE_REQUIRE_DOCKER=1, but {problem}");
            }
            // Straight to stderr, past the test harness's capture, so a skip is never silent.
            let _ = writeln!(
                std::io::stderr(),
                "skipping a real-engine test: {problem}; set BOTTLE_REQUIRE_DOCKER=1 to make this fail"
            );
            return None;
        }
    }
    Some(paths)
}

/// A test's own prefix and engine path. Dropping it takes down everything with that prefix.
pub struct Bottles {
    pub path: EnginePath,
    /// The engine CLI (`BOTTLE_ENGINE`); run it through [`Bottles::docker`] to get the path's
    /// environment too.
    pub cli: String,
    pub prefix: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Bottles {
    pub fn new(path: &EnginePath, tag: &str) -> Bottles {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("it{}{n}-{tag}", std::process::id() % 10000);
        assert!(prefix.len() <= 20, "{prefix}");
        Bottles {
            path: path.clone(),
            cli: path.program.clone(),
            prefix,
        }
    }

    /// bottle on this path: `BOTTLE_ENGINE`, the path's environment and the test's prefix.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = bottle_cmd();
        cmd.args(args)
            .envs(self.path.env.iter().map(|(k, v)| (k, v)))
            .env("BOTTLE_ENGINE", &self.cli)
            .env("BOTTLE_PREFIX", &self.prefix);
        cmd
    }

    pub fn bottle(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Run bottle and insist on success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.bottle(args);
        assert!(
            out.status.success(),
            "bottle {args:?} exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The engine CLI of this path, run directly.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.path.engine().args(args).output().unwrap()
    }

    pub fn docker_out(&self, args: &[&str]) -> String {
        String::from_utf8(self.docker(args).stdout)
            .unwrap()
            .trim()
            .to_string()
    }

    /// Containers and networks whose names start with this test's prefix.
    pub fn leftovers(&self) -> Vec<String> {
        let filter = format!("name=^{}-", self.prefix);
        let mut names = Vec::new();
        for args in [
            vec!["ps", "-a", "--format", "{{.Names}}", "--filter", &filter],
            vec![
                "network",
                "ls",
                "--format",
                "{{.Name}}",
                "--filter",
                &filter,
            ],
        ] {
            names.extend(self.docker_out(&args).lines().map(str::to_string));
        }
        names.retain(|n| !n.is_empty());
        names
    }
}

impl Drop for Bottles {
    fn drop(&mut self) {
        // `--volumes`: no volume bottle labelled for this prefix is left either.
        let _ = self.bottle(&["down", "--all", "--volumes"]);
        let filter = format!("label=bottle.prefix={}", self.prefix);
        let volumes = self.docker_out(&["volume", "ls", "-q", "--filter", &filter]);
        for name in volumes.lines().filter(|n| !n.is_empty()) {
            let _ = self.docker(&["volume", "rm", name]);
        }
        // If bottle itself is what failed, clean up by name.
        for name in self.leftovers() {
            // Podman's `rm -f` waits out the stop timeout; busybox ignores SIGTERM.
            if self.path.podman {
                let _ = self.docker(&["kill", &name]);
            }
            let _ = self.docker(&["rm", "-f", &name]);
            let _ = self.docker(&["network", "rm", &name]);
        }
    }
}

/// The `BOTTLE_TEST_PATHS` entries: each kind gives the program and environment it should; a TCP
/// remote carries its TLS settings, and is refused without a client certificate.
#[test]
fn engine_paths_parse() {
    let d = "/usr/local/bin/docker";
    let parse = |spec: &str| EnginePath::parse(spec, d, None);
    let p = parse("docker:/usr/bin/docker").unwrap();
    assert_eq!(
        (p.program.as_str(), p.env.len(), p.podman),
        ("/usr/bin/docker", 0, false)
    );
    let p = EnginePath::parse("remote:tcp://127.0.0.1:23760", d, Some("/certs")).unwrap();
    assert_eq!(p.program, d);
    assert_eq!(
        p.env,
        vec![
            ("DOCKER_HOST".into(), "tcp://127.0.0.1:23760".into()),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            ("DOCKER_CERT_PATH".into(), "/certs".into()),
        ]
    );
    for certs in [None, Some("")] {
        let e = EnginePath::parse("remote:tcp://127.0.0.1:23760", d, certs).unwrap_err();
        assert!(e.contains("BOTTLE_TEST_CERT_PATH"), "{e}");
    }
    let p = parse("remote:ssh://me@127.0.0.1").unwrap();
    assert_eq!(
        p.env,
        vec![("DOCKER_HOST".into(), "ssh://me@127.0.0.1".into())]
    );
    let p = parse("podman:podman").unwrap();
    assert_eq!(
        (p.program.as_str(), p.env.len(), p.podman),
        ("podman", 0, true)
    );
    let p = parse("podman-socket:unix:///run/bottle-podman.sock").unwrap();
    assert_eq!((p.program.as_str(), p.podman), (d, true));
    assert_eq!(p.env[0].1, "unix:///run/bottle-podman.sock");
    assert_eq!(
        p.to_string(),
        "podman-socket:unix:///run/bottle-podman.sock"
    );
    for bad in ["docker", "docker:", "nerdctl:x"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

/// GET / on 127.0.0.1:port, retrying while the bundle's server starts.
pub fn http_get(addr: &str) -> String {
    assert!(
        addr.starts_with("127."),
        "tests only talk to loopback, not {addr}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        })();
        match attempt {
            Ok(body) if body.contains("200") => return body,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("GET http://{addr}/ failed: {other:?}"),
        }
    }
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// up, the pinned IP by the engine's own inspect, the port answering, re-up keeping the container,
/// status, ls, port, env, version, down twice, nothing left: once through each CLI. Every `--json`
/// output on the way follows `docs/bottle.schema.json`.
#[test]
fn lifecycle_through_each_cli() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("life{i}"));
        let img = image();
        let up_args = [
            "up",
            "web",
            "--image",
            &img,
            "-p",
            "8080",
            "-e",
            "SECRET_VALUE=s3cr3t v@lue",
            "--json",
        ];
        let up = schema::check("up", &b.ok(&up_args));
        let net = format!("{}-bundle-web", b.prefix);
        let bundle = format!("{}-sidecars-web", b.prefix);
        assert_eq!(up["network"]["name"], net.as_str());
        assert_eq!(up["bundle"]["state"], "running");
        // The bundle's creation time (RFC 3339) and the `bottle.run` label of the `up` that made it.
        let created = up["created"]
            .as_str()
            .unwrap_or_else(|| panic!("{cli}: {up}"));
        assert!(
            created.len() >= 20 && created.as_bytes()[10] == b'T' && created.starts_with("20"),
            "{cli}: {created}"
        );
        let run = up["run"].as_str().unwrap_or_else(|| panic!("{cli}: {up}"));
        assert_eq!(
            b.docker_out(&[
                "inspect",
                "--format",
                "{{index .Config.Labels \"bottle.run\"}}",
                &bundle
            ]),
            run,
            "{cli}"
        );

        // The engine's own view: the pinned .2 on the recorded subnet, and our labels.
        let subnet: ipnetwork::Ipv4Network =
            up["network"]["subnet"].as_str().unwrap().parse().unwrap();
        let ip = b.docker_out(&[
            "inspect",
            "--format",
            &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
            &bundle,
        ]);
        assert_eq!(
            ip,
            std::net::Ipv4Addr::from(u32::from(subnet.network()) + 2).to_string(),
            "{cli}"
        );
        assert_eq!(up["bundle"]["ip"], ip.as_str());
        let label = b.docker_out(&[
            "network",
            "inspect",
            "--format",
            "{{index .Labels \"bottle.subnet\"}}",
            &net,
        ]);
        assert_eq!(label, subnet.to_string());
        let env = b.docker_out(&["exec", &bundle, "env"]);
        assert!(env.contains("SECRET_VALUE=s3cr3t v@lue"), "{cli}: {env}");

        // The published port answers on loopback.
        let addr = b.ok(&["port", "web", "8080"]).trim().to_string();
        let port = up["ports"][0]["host_port"].as_u64().unwrap();
        assert_eq!(addr, format!("127.0.0.1:{port}"));
        assert!(http_get(&addr).contains("bottle test bundle"));

        // Re-up with the same spec keeps the very same container.
        let id = b.docker_out(&["inspect", "--format", "{{.Id}}", &bundle]);
        let again = schema::check("up", &b.ok(&up_args));
        assert_eq!(
            b.docker_out(&["inspect", "--format", "{{.Id}}", &bundle]),
            id,
            "{cli}: re-up replaced the bundle"
        );
        assert_eq!(up["action"], "created", "{cli}");
        assert_eq!(again["action"], "kept", "{cli}");
        assert_eq!(up["host_ip"], "127.0.0.1", "{cli}");
        // `up --json` is the bottle object with `action`: the same object as `status` and `ls`.
        let mut up = up;
        up.as_object_mut().unwrap().remove("action");
        let mut again = again;
        again.as_object_mut().unwrap().remove("action");
        assert_eq!(again, up);

        let status = schema::check("status", &b.ok(&["status", "web", "--json"]));
        assert_eq!(status, up);
        let ls = schema::check("ls", &b.ok(&["ls", "--json"]));
        assert_eq!(ls, serde_json::json!([up]));
        let ports = schema::check("port", &b.ok(&["port", "web", "--json"]));
        assert_eq!(ports, up["ports"], "{cli}");
        schema::check("port", &b.ok(&["port", "web", "8080", "--json"]));
        let env = schema::check("env", &b.ok(&["env", "web", "--json"]));
        assert_eq!(env["BOTTLE_PORT_8080"], addr.as_str(), "{cli}");
        schema::check("version", &b.ok(&["version", "--json"]));
        schema::check(
            "doctor",
            &String::from_utf8_lossy(&b.bottle(&["doctor", "--json"]).stdout),
        );

        // A changed spec replaces it.
        b.ok(&["up", "web", "--image", &image(), "-p", "8080", "-p", "8081"]);
        assert_ne!(
            b.docker_out(&["inspect", "--format", "{{.Id}}", &bundle]),
            id
        );

        let down = schema::check("down", &b.ok(&["down", "web", "--json"]));
        assert_eq!(
            down["removed"]["containers"],
            serde_json::json!([bundle]),
            "{cli}"
        );
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{cli}");
        let again = schema::check("down", &b.ok(&["down", "web", "--json"]));
        assert_eq!(again["removed"]["networks"], serde_json::json!([]), "{cli}");
        let out = b.bottle(&["status", "web", "--json"]);
        assert_eq!(out.status.code(), Some(1));
        schema::check("error", &String::from_utf8_lossy(&out.stdout));
    }
}

/// Half-built bottles come down cleanly, and `gc` finds what killed runs leave (each CLI).
#[test]
fn half_built_bottles_and_gc() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("gc{i}"));
        for slug in ["a", "b", "c"] {
            b.ok(&["up", slug, "--image", &image()]);
        }
        // a: network only. b: bundle stopped (a stopped bottle: kept). c: healthy.
        b.docker(&["rm", "-f", &format!("{}-sidecars-a", b.prefix)]);
        b.docker(&["stop", "-t", "0", &format!("{}-sidecars-b", b.prefix)]);
        let status = json(&b.ok(&["status", "a", "--json"]));
        assert_eq!(status["bundle"]["state"], "missing");

        let dry = schema::check("gc", &b.ok(&["gc", "--dry-run", "--json"]));
        assert_eq!(b.leftovers().len(), 5, "dry run removed something: {dry}");
        assert_eq!(
            dry["would_remove"],
            serde_json::json!({
                "containers": [],
                "networks": [format!("{}-bundle-a", b.prefix)],
            }),
            "{cli}"
        );
        let gc = b.ok(&["gc"]);
        assert!(
            gc.contains(&format!("removed network {}-bundle-a", b.prefix)),
            "{gc}"
        );
        assert!(
            ["sidecars-b", "bundle-b", "sidecars-c", "bundle-c"]
                .iter()
                .all(|n| !gc.contains(n)),
            "gc touched the stopped or the healthy bottle: {gc}"
        );
        let mut left = b.leftovers();
        left.sort();
        assert_eq!(
            left,
            [
                format!("{}-bundle-b", b.prefix),
                format!("{}-bundle-c", b.prefix),
                format!("{}-sidecars-b", b.prefix),
                format!("{}-sidecars-c", b.prefix)
            ]
        );
        b.ok(&["down", "b"]);

        let nothing = schema::check("gc", &b.ok(&["gc", "--json"]));
        assert_eq!(
            nothing["removed"]["networks"],
            serde_json::json!([]),
            "{cli}"
        );

        // A half-built bottle (network only) comes down, twice.
        b.docker(&["rm", "-f", &format!("{}-sidecars-c", b.prefix)]);
        b.ok(&["down", "c"]);
        b.ok(&["down", "c"]);
        assert_eq!(b.leftovers(), Vec::<String>::new());
    }
}

/// bottle never removes or adopts an unlabelled resource of its naming scheme.
#[test]
fn foreign_resources_are_refused() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("foreign{i}"));
        let net = format!("{}-bundle-x", b.prefix);
        assert!(b.docker(&["network", "create", &net]).status.success());
        for args in [
            vec!["up", "x", "--image", image().as_str()],
            vec!["down", "x"],
        ] {
            let out = b.bottle(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("lacks bottle's labels"));
        }
        assert_eq!(
            b.leftovers(),
            std::slice::from_ref(&net),
            "the foreign network must survive"
        );
        b.docker(&["network", "rm", &net]);
    }
}

/// Slugs whose preferred slot in `pool` is the same, found by search.
fn colliding_slugs(pool: &bottle::Pool, count: usize) -> Vec<String> {
    let target = pool.start("c0");
    let mut slugs = vec!["c0".to_string()];
    for i in 1.. {
        let slug = format!("c{i}");
        if pool.start(&slug) == target {
            slugs.push(slug);
        }
        if slugs.len() == count {
            return slugs;
        }
    }
    unreachable!()
}

/// Start `bottle` processes at once and wait for all of them.
fn all_at_once(b: &Bottles, runs: Vec<Vec<String>>) -> Vec<Output> {
    let children: Vec<_> = runs
        .iter()
        .map(|args| {
            b.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// 12 bottles whose preferred subnets collide, brought up at the same time, all succeed on distinct
/// subnets; then 6 concurrent `up`s of one slug end with one network and one bundle.
#[test]
fn concurrent_ups() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("race{i}"));
        // A pool of its own, so the collisions are among these 12 only.
        let pool_cidr = format!("10.{}.0.0/20", 220 + i);
        let pool = bottle::Pool::parse(&pool_cidr, 24).unwrap();
        let slugs = colliding_slugs(&pool, 12);
        let runs = slugs
            .iter()
            .map(|s| {
                ["up", s, "--image", &image(), "--pool", &pool_cidr, "--json"]
                    .map(String::from)
                    .to_vec()
            })
            .collect();
        let outs = all_at_once(&b, runs);
        let mut subnets = std::collections::BTreeSet::new();
        for (slug, out) in slugs.iter().zip(&outs) {
            assert!(
                out.status.success(),
                "{cli} up {slug}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            subnets.insert(
                json(&String::from_utf8_lossy(&out.stdout))["network"]["subnet"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        assert_eq!(
            subnets.len(),
            12,
            "{cli}: subnets not distinct: {subnets:?}"
        );
        // The engine agrees: 12 networks, each on its own subnet.
        let engine_subnets: std::collections::BTreeSet<String> = slugs
            .iter()
            .map(|s| {
                // Podman's own network JSON is netavark-shaped.
                let format = match b.path.podman && b.path.env.is_empty() {
                    true => "{{range .Subnets}}{{.Subnet}}{{end}}",
                    false => "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
                };
                b.docker_out(&[
                    "network",
                    "inspect",
                    "--format",
                    format,
                    &format!("{}-bundle-{s}", b.prefix),
                ])
            })
            .collect();
        assert_eq!(engine_subnets, subnets, "{cli}");
        eprintln!(
            "{cli}: 12 colliding slugs -> {} distinct subnets",
            subnets.len()
        );

        let same = (0..6)
            .map(|_| {
                ["up", "same", "--image", &image(), "--json"]
                    .map(String::from)
                    .to_vec()
            })
            .collect();
        let outs = all_at_once(&b, same);
        for out in &outs {
            assert!(
                out.status.success(),
                "{cli}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let net_filter = format!("name=^{}-bundle-same$", b.prefix);
        let ctr_filter = format!("name=^{}-sidecars-same$", b.prefix);
        assert_eq!(
            b.docker_out(&["network", "ls", "-q", "--filter", &net_filter])
                .lines()
                .count(),
            1,
            "{cli}"
        );
        assert_eq!(
            b.docker_out(&["ps", "-aq", "--filter", &ctr_filter])
                .lines()
                .count(),
            1,
            "{cli}"
        );

        b.ok(&["down", "--all"]);
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{cli}");
    }
}

/// Concurrent `down` and `up` of one slug: never a half-built bottle left unreported.
#[test]
fn concurrent_down_and_up_of_one_slug() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("updown{i}"));
        for round in 0..3 {
            let runs = vec![
                ["up", "x", "--image", &image()].map(String::from).to_vec(),
                vec!["down".to_string(), "x".to_string()],
                ["up", "x", "--image", &image()].map(String::from).to_vec(),
                vec!["down".to_string(), "x".to_string()],
            ];
            for out in all_at_once(&b, runs) {
                assert!(
                    out.status.success(),
                    "round {round}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let status = b.bottle(&["status", "x", "--json"]);
            match status.status.code() {
                Some(1) => assert_eq!(b.leftovers(), Vec::<String>::new()),
                Some(0) => {
                    let s = json(&String::from_utf8_lossy(&status.stdout));
                    assert_eq!(
                        s["bundle"]["state"], "running",
                        "round {round}: half-built: {s}"
                    );
                }
                other => panic!("status exited {other:?}"),
            }
        }
    }
}

/// How `interrupt_during` runs bottle.
struct Interrupt<'a> {
    args: &'a [&'a str],
    /// A shell test on the engine's `$1 $2`: the command to linger after.
    when: &'a str,
    linger_secs: u32,
    /// A `docker` listing that must show the object before the signal is sent.
    appeared: Option<&'a [&'a str]>,
    signal: i32,
}

/// Run bottle through a wrapper around the real engine that lingers after the command `when`
/// selects has succeeded; once it has (and `appeared` shows the object), send the signal. Returns
/// bottle's exit code and stderr, and the argv the wrapper saw for the lingering command.
///
/// Only a success lingers: on the remote path bottle takes no locks, so a `network create` may be
/// refused because a bottle of another test on the same engine holds the subnet; bottle then tries
/// the next one, which must not wait out the linger (the test timed out that way under load).
fn interrupt_during(b: &Bottles, i: Interrupt<'_>) -> (Option<i32>, String, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("argv");
    let wrapper = dir.path().join("slow-docker");
    let script = format!(
        "#!/bin/sh\nif {when}; then '{cli}' \"$@\"; rc=$?; [ $rc -ne 0 ] && exit $rc; printf '%s\\n' \"$@\" > '{log}'; sleep {linger}; exit $rc; fi\nexec '{cli}' \"$@\"\n",
        when = i.when,
        linger = i.linger_secs,
        log = log.display(),
        cli = b.cli
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = b
        .command(i.args)
        .env("BOTTLE_ENGINE", &wrapper)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Generous: another test may be flooding the same engine (the race tests run ten `up`s at once).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log.exists() || i.appeared.is_some_and(|list| b.docker_out(list).is_empty()) {
        // A bottle that ended before the command lingered says why, rather than a timeout.
        if !log.exists() && child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "{}: bottle {:?} exited {:?} before the lingering command ran: {}",
                b.path,
                i.args,
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "{}: the lingering command never ran",
            b.path
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, i.signal) };
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the lingering wrapper was not killed"
    );
    let argv = std::fs::read_to_string(&log).unwrap_or_default();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        argv,
    )
}

/// SIGINT while the engine's `run` is in flight: exit 130, the wrapper's whole process group is
/// gone, nothing is left, and the env-file was in memory only. SIGHUP (a closed terminal) likewise.
#[test]
fn interrupt_during_run_rolls_back() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        for signal in [libc::SIGINT, libc::SIGHUP] {
            let b = Bottles::new(cli, &format!("intr{i}-{signal}"));
            let filter = format!("name=^{}-sidecars-x$", b.prefix);
            let img = image();
            let (code, err, argv) = interrupt_during(
                &b,
                Interrupt {
                    args: &["up", "x", "--image", &img, "-e", "SECRET=v"],
                    when: "[ \"$1\" = run ]",
                    linger_secs: 60,
                    appeared: Some(&["ps", "-aq", "--filter", &filter]),
                    signal,
                },
            );
            assert_eq!(code, Some(130), "signal {signal}: {err}");
            assert!(err.contains("rolled back"), "{err}");
            assert_eq!(b.leftovers(), Vec::<String>::new(), "signal {signal}");
            let env_file = argv
                .lines()
                .skip_while(|l| *l != "--env-file")
                .nth(1)
                .unwrap();
            assert_eq!(env_file, "/dev/fd/3", "the env-file is in memory only");
        }
    }
}

/// SIGINT while `run` of a bundle with a named volume is in flight: the rollback keeps the volume
/// on purpose (it holds data), and the message (exit 130) said nothing of it. It names the volume
/// and how to remove it, the volume is there with the bottle's labels, and `down --volumes`
/// removes it.
#[test]
fn interrupt_during_run_names_the_named_volume_it_kept() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("intrvol{i}"));
        let volume = format!("{}-data", b.prefix);
        let mount = format!("{volume}:/data");
        let filter = format!("name=^{}-sidecars-x$", b.prefix);
        let img = image();
        let (code, err, _) = interrupt_during(
            &b,
            Interrupt {
                args: &["up", "x", "--image", &img, "-v", &mount],
                when: "[ \"$1\" = run ]",
                linger_secs: 60,
                appeared: Some(&["ps", "-aq", "--filter", &filter]),
                signal: libc::SIGINT,
            },
        );
        assert_eq!(code, Some(130), "{cli}: {err}");
        let said = format!(
            "kept named volume `{volume}` (volumes hold data): a `down --volumes` of `x` removes it"
        );
        assert!(err.contains(&said), "{cli}: {err}");
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{cli}");
        let labels = b.docker_out(&["volume", "inspect", "--format", "{{json .Labels}}", &volume]);
        assert!(labels.contains(&b.prefix), "{cli}: {labels}");
        let out = b.bottle(&["down", "x", "--volumes"]);
        assert!(
            out.status.success(),
            "{cli}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left = b.docker_out(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{volume}$"),
        ]);
        assert_eq!(left.trim(), "", "{cli}");
    }
}

/// SIGTERM while `network create` is in flight: the network the engine made is found by its labels
/// and removed, though bottle never saw its ID.
#[test]
fn interrupt_during_network_create_rolls_back() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("intrnet{i}"));
        let filter = format!("name=^{}-bundle-x$", b.prefix);
        let img = image();
        let (code, err, _) = interrupt_during(
            &b,
            Interrupt {
                args: &["up", "x", "--image", &img],
                when: "[ \"$1\" = network ] && [ \"$2\" = create ]",
                linger_secs: 60,
                appeared: Some(&["network", "ls", "-q", "--filter", &filter]),
                signal: libc::SIGTERM,
            },
        );
        assert_eq!(code, Some(130), "{err}");
        assert_eq!(b.leftovers(), Vec::<String>::new());
    }
}

/// SIGINT while `down` removes the bundle: the removal it began runs to the end (the network too),
/// then bottle exits 130.
#[test]
fn interrupt_during_down_finishes_the_removal() {
    let Some(clis) = clis() else { return };
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("intrdown{i}"));
        b.ok(&["up", "x", "--image", &image()]);
        let (code, err, _) = interrupt_during(
            &b,
            Interrupt {
                args: &["down", "x"],
                when: "[ \"$1\" = rm ]",
                linger_secs: 2,
                appeared: None,
                signal: libc::SIGINT,
            },
        );
        assert_eq!(code, Some(130), "{err}");
        assert!(err.contains("finished"), "{err}");
        assert_eq!(
            b.leftovers(),
            Vec::<String>::new(),
            "{cli}: down stopped half-way: {err}"
        );
    }
}

/// `[build]` against the real engine: the image is missing, so `up` builds it (FROM scratch with
/// the static busybox, offline) and runs it; a second `up` finds it present and builds nothing.
#[test]
fn build_section_builds_a_missing_image() {
    let Some(clis) = clis() else { return };
    let busybox = std::path::Path::new("/usr/bin/busybox");
    if !busybox.exists() {
        if required() {
            panic!("BOTTLE_REQUIRE_DOCKER=1, but /usr/bin/busybox (busybox-static) is missing");
        }
        return;
    }
    for (i, cli) in clis.iter().enumerate() {
        let b = Bottles::new(cli, &format!("build{i}"));
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path().join("bundle");
        std::fs::create_dir(&ctx).unwrap();
        std::fs::copy(busybox, ctx.join("busybox")).unwrap();
        std::fs::write(
            ctx.join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n",
        )
        .unwrap();
        let tag = format!("{}-image:latest", b.prefix);
        let config = dir.path().join("bottle.toml");
        std::fs::write(
            &config,
            format!("image = \"{tag}\"\n[build]\ncontext = \"bundle\"\n"),
        )
        .unwrap();
        let config = config.to_str().unwrap();
        let out = b.bottle(&["up", "built", "--config", config, "--json"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let ok = out.status.success();
        let again = b.bottle(&["up", "built", "--config", config, "--verbose"]);
        // Clean up before asserting (the drop guard removes the bottle, not the image), so a
        // failure leaves no image behind either.
        let down = b.bottle(&["down", "built"]);
        let _ = b.docker(&["rmi", "-f", &tag]);
        assert!(
            down.status.success(),
            "{}",
            String::from_utf8_lossy(&down.stderr)
        );
        assert!(ok, "{cli}: {err}");
        assert_eq!(
            json(&String::from_utf8_lossy(&out.stdout))["bundle"]["state"],
            "running"
        );
        let again_err = String::from_utf8_lossy(&again.stderr);
        assert!(again.status.success(), "{again_err}");
        assert!(!again_err.contains(" build "), "built again: {again_err}");
    }
}

/// Processes with lock directories of their own (as on a remote engine).
pub fn unlocked(
    b: &Bottles,
    runtime: &tempfile::TempDir,
    n: usize,
    args: &[&str],
) -> std::process::Child {
    use std::os::unix::fs::DirBuilderExt;
    let dir = runtime.path().join(format!("{n}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    b.command(args)
        .env("XDG_RUNTIME_DIR", &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}
