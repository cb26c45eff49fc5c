//! A fake engine: a POSIX shell script, written into a temp dir, that logs every argv and replays
//! scripted exit codes, stdout and stderr. Rules are matched in order against the argv joined with
//! spaces (a shell glob); a rule made with `once` is used up by its first match. Unmatched calls
//! exit 0 with no output.
//!
//! It also records what any `--env-file` path points to (`readlink`) and its content at the moment
//! the engine is called: bottle hands it over as an in-memory file at `/dev/fd/3`, which exists only
//! for the call. A rule can also run a shell snippet first (sleep, leave a child holding the pipes).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output};

use tempfile::TempDir;

const SCRIPT: &str = r#"#!/bin/sh
D="$(dirname "$0")/state"
n=$(cat "$D/count" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$D/count"
prev=""
rec=""
for a in "$@"; do
  rec="$rec$a
"
  if [ "$prev" = "--env-file" ]; then
    readlink "$a" > "$D/envfile.$n.link" 2>/dev/null || echo missing > "$D/envfile.$n.link"
    cat "$a" > "$D/envfile.$n.content" 2>/dev/null
  fi
  prev="$a"
done
# One write per call (the record and its separator in one string: dash writes a format's
# literal tail apart): calls made at once, as a fleet's contexts are, must not interleave.
rs=$(printf '\036')
printf '%s' "$rec$rs
" >> "$D/log"
line="$*"
i=0
while [ -e "$D/rule.$i.pat" ]; do
  if [ ! -e "$D/rule.$i.used" ]; then
    pat=$(cat "$D/rule.$i.pat")
    case "$line" in
      $pat)
        [ -e "$D/rule.$i.once" ] && : > "$D/rule.$i.used"
        [ -e "$D/rule.$i.sh" ] && . "$D/rule.$i.sh"
        cat "$D/rule.$i.out"
        cat "$D/rule.$i.err" >&2
        exit "$(cat "$D/rule.$i.code")"
        ;;
    esac
  fi
  i=$((i+1))
done
exit 0
"#;

pub struct Fake {
    dir: TempDir,
    rules: usize,
}

impl Fake {
    pub fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("state")).unwrap();
        let script = dir.path().join("docker");
        fs::write(&script, SCRIPT).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir, rules: 0 }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn rule(
        &mut self,
        pattern: &str,
        code: i32,
        stdout: &str,
        stderr: &str,
        once: bool,
    ) -> &mut Fake {
        let base = self.state().join(format!("rule.{}", self.rules));
        let file =
            |ext: &str, text: &str| fs::write(format!("{}.{ext}", base.display()), text).unwrap();
        file("pat", pattern);
        file("code", &code.to_string());
        file("out", stdout);
        file("err", stderr);
        if once {
            file("once", "");
        }
        self.rules += 1;
        self
    }

    /// Every call matching `pattern` first runs the shell snippet `sh` (in the engine's shell, so
    /// `sleep 30 &` leaves a child holding its stdout and stderr), then exits 0 with no output.
    pub fn on_sh(&mut self, pattern: &str, sh: &str) -> &mut Fake {
        let base = self.state().join(format!("rule.{}.sh", self.rules));
        fs::write(base, sh).unwrap();
        self.rule(pattern, 0, "", "", false)
    }

    /// The fake engine program itself, for tests that embed the library in-process.
    pub fn program(&self) -> PathBuf {
        self.dir.path().join("docker")
    }

    /// The directory of the fake's state files (for a test's own markers).
    pub fn state_dir(&self) -> PathBuf {
        self.state()
    }

    /// Every call matching `pattern` answers like this.
    pub fn on(&mut self, pattern: &str, code: i32, stdout: &str, stderr: &str) -> &mut Fake {
        self.rule(pattern, code, stdout, stderr, false)
    }

    /// The next call matching `pattern` answers like this.
    pub fn once(&mut self, pattern: &str, code: i32, stdout: &str, stderr: &str) -> &mut Fake {
        self.rule(pattern, code, stdout, stderr, true)
    }

    /// Run the bottle binary with this fake as its engine (as `docker` on PATH, so messages show
    /// `docker` and stay deterministic).
    pub fn bottle(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = bottle_cmd();
        // A remote-looking DOCKER_HOST: the fake ignores it, and bottle then leaves the host's
        // routes out of subnet choice, which keeps transcripts independent of this machine.
        cmd.args(args)
            .env("PATH", path)
            .env("BOTTLE_ENGINE", "docker")
            .env("DOCKER_HOST", "tcp://fake-engine.invalid:2375");
        cmd
    }

    /// Every call's argv (without the program).
    pub fn calls(&self) -> Vec<Vec<String>> {
        let log = fs::read_to_string(self.state().join("log")).unwrap_or_default();
        log.split("\u{1e}\n")
            .filter(|c| !c.is_empty())
            .map(|c| c.lines().map(str::to_string).collect())
            .collect()
    }

    /// The calls, one shell-quoted line each.
    pub fn transcript(&self) -> String {
        self.calls()
            .iter()
            .map(|argv| {
                let words: Vec<String> = argv
                    .iter()
                    .map(|a| shlex::try_quote(&redact_run_id(a)).unwrap().into_owned())
                    .collect();
                format!("docker {}\n", words.join(" "))
            })
            .collect()
    }

    /// What the env-file path pointed to during call `n` (1-based), if it had one, and its content.
    pub fn env_file_seen(&self, n: usize) -> Option<(String, String)> {
        let link = fs::read_to_string(self.state().join(format!("envfile.{n}.link"))).ok()?;
        let content = fs::read_to_string(self.state().join(format!("envfile.{n}.content")))
            .unwrap_or_default();
        Some((link.trim().to_string(), content))
    }
}

/// `text` with each `bottle.run=<16 hex>` label value (new for every `up`) shown as `<run-id>`.
pub fn redact_run_id(text: &str) -> String {
    let mut out = text.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find("bottle.run=") {
        let start = from + at + "bottle.run=".len();
        let end = (start + 16).min(out.len());
        if out[start..end].len() == 16 && out[start..end].bytes().all(|b| b.is_ascii_hexdigit()) {
            out.replace_range(start..end, "<run-id>");
        }
        from = start;
    }
    out
}

/// A child's piped stderr, read up to the line a test waits for.
pub struct Stderr {
    reader: std::io::BufReader<std::process::ChildStderr>,
    seen: String,
}

impl Stderr {
    /// Read `child`'s stderr (piped) until a line holds `needle`: a test that must act while the
    /// child is at a certain point (e.g. waiting for a lock, which bottle says on stderr) waits for
    /// the child to say so rather than sleeping and hoping. Fails if stderr ends first.
    pub fn until(child: &mut Child, needle: &str) -> Stderr {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut seen = String::new();
        loop {
            let from = seen.len();
            let read = reader.read_line(&mut seen).unwrap();
            assert!(
                read > 0,
                "stderr ended before a line with {needle:?}: {seen}"
            );
            if seen[from..].contains(needle) {
                return Stderr { reader, seen };
            }
        }
    }

    /// Everything the child wrote to stderr, once it has closed it.
    pub fn all(mut self) -> String {
        use std::io::Read;
        self.reader.read_to_string(&mut self.seen).unwrap();
        self.seen
    }
}

pub fn bottle_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bottle"));
    for var in [
        "BOTTLE_ENGINE",
        "BOTTLE_PREFIX",
        "BOTTLE_POOL",
        "BOTTLE_BLOCK",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `inspect --format '{{json .}}'` of a container, as the engine prints it.
pub fn container_json(
    name: &str,
    id: &str,
    state: &str,
    labels: &[(&str, &str)],
    network: &str,
    ip: &str,
    ports: &[(u16, u16)],
) -> String {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string().into()))
        .collect();
    let ports: serde_json::Map<String, serde_json::Value> = ports
        .iter()
        .map(|(c, h)| {
            (
                format!("{c}/tcp"),
                serde_json::json!([{"HostIp": "127.0.0.1", "HostPort": h.to_string()}]),
            )
        })
        .collect();
    serde_json::json!({
        "Id": id,
        "Name": format!("/{name}"),
        "State": {"Status": state},
        "Config": {"Image": "img", "Labels": labels},
        "NetworkSettings": {"Ports": ports, "Networks": {network: {"IPAddress": ip}}},
    })
    .to_string()
        + "\n"
}

/// `json` (one container) with `Config.Env` set to `env`.
pub fn with_env(json: &str, env: &[&str]) -> String {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["Config"]["Env"] = serde_json::json!(env);
    v.to_string() + "\n"
}

/// `inspect --format '{{json .}}'` of a network.
pub fn network_json(
    name: &str,
    id: &str,
    subnet: &str,
    labels: &[(&str, &str)],
    containers: &[(&str, &str)],
) -> String {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string().into()))
        .collect();
    let containers: serde_json::Map<String, serde_json::Value> = containers
        .iter()
        .map(|(id, n)| (id.to_string(), serde_json::json!({"Name": n})))
        .collect();
    serde_json::json!({
        "Name": name,
        "Id": id,
        "Driver": "bridge",
        "IPAM": {"Config": [{"Subnet": subnet}]},
        "Containers": containers,
        "Labels": labels,
    })
    .to_string()
        + "\n"
}
