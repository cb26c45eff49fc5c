//! The command line: clap definitions, and `run`, which turns parsed arguments into library calls
//! and output.
//!
//! This is the only module that prints to stdout. `main.rs` only calls [`parse`],
//! [`scrub::hide_env_values`], [`run`] and [`report`]. It is a client of the `bottle` library's public API and of nothing else: it parses,
//! calls a [`Bottles`] method, and renders. Pure formatting lives in [`render`]; `version`,
//! `doctor` and `logs` output in [`tools`]; several bottles at once in [`many`]; what the CLI adds
//! to a library error (its flags and commands) in [`advice`].

mod advice;
mod fleet;
mod json;
mod lsview;
mod many;
mod progress;
mod render;
pub mod scrub;
mod signals;
mod tools;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use bottle::{
    Bottles, CancelToken, DEFAULT_BLOCK, DEFAULT_PARALLEL, DEFAULT_POOL, DownOptions, Engine,
    Error, Event, Fleet, Invalid, MAX_PARALLEL, Pool, Prefix, Pull, Result, Slug, Spec, SpecText,
    WaitText,
};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use render::{ls_table, ls_tsv, port_line, summary, usage_line};

const AFTER_HELP: &str = "\
Each bottle is a bridge network `<prefix>-bundle-<slug>` on a subnet derived
from the slug, and a sidecar bundle container `<prefix>-sidecars-<slug>` pinned
at the subnet's second address, with its ports published on 127.0.0.1 at host
ports chosen once (from the slug and port) and kept for the bottle's life,
through every start, restart, replace and engine restart.

Examples:
  bottle up demo --image bot-bottle-sidecars:latest -p 8080 -e API_TOKEN
  bottle port demo 8080       # 127.0.0.1:26435
  bottle plan demo -p 8080    # the engine commands `up` would run; runs none
  bottle down demo            # idempotent

Fleets (docker contexts, or podman connections with `--engine podman`):
  bottle --contexts default,pod up f1 f2 -p 8080   # placed by the rule
  bottle --contexts default,pod ls                 # with a CONTEXT column
  bottle --contexts default,pod down --all         # on every context
A context that does not answer is named on stderr; the others still do their
work (exit 1, or 69 when none answered). `up` places a new bottle around it
(exit 0, with a warning).

Exit codes: 0 ok, 1 an engine command failed or a resource is not bottle's,
2 invalid input, 69 engine missing or unreachable, 130 interrupted.
The contract: docs/contract.md in bottle's repository.";

/// Launch the network side of sandboxed agent bottles with a docker-compatible engine.
#[derive(Debug, Parser)]
#[command(
    name = "bottle",
    version,
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand. Environment values are not shown in `--help`
/// (`hide_env_values`), so help reads the same whatever the environment holds.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The docker-compatible CLI to run: a name on PATH or a path [default: docker]
    #[arg(
        long,
        global = true,
        env = "BOTTLE_ENGINE",
        hide_env_values = true,
        value_name = "NAME|PATH"
    )]
    pub engine: Option<OsString>,
    /// Passed to the engine as `--context NAME` (DOCKER_HOST is inherited as is)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// A fleet over several engines: docker contexts (podman connections with a podman engine),
    /// comma-separated. A new bottle goes to the context the placement rule picks; every command
    /// finds a bottle on whichever context holds it
    #[arg(
        long,
        global = true,
        env = "BOTTLE_CONTEXTS",
        hide_env_values = true,
        value_name = "A,B,...",
        conflicts_with = "context"
    )]
    pub contexts: Option<String>,
    /// Resource-name prefix: 1-20 of [a-z0-9-]
    #[arg(long, global = true, env = "BOTTLE_PREFIX", hide_env_values = true, default_value = bottle::DEFAULT_PREFIX)]
    pub prefix: String,
    /// The IPv4 pool bottle subnets are carved from
    #[arg(long, global = true, env = "BOTTLE_POOL", hide_env_values = true, value_name = "CIDR", default_value = DEFAULT_POOL)]
    pub pool: String,
    /// Prefix length of each bottle's subnet, from the pool's up to 29
    #[arg(long, global = true, env = "BOTTLE_BLOCK", hide_env_values = true, value_name = "N", default_value_t = DEFAULT_BLOCK)]
    pub block: u8,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Echo each engine command to stderr before it runs (quoted, exactly as run)
    #[arg(long, global = true)]
    pub verbose: bool,
    /// Kill any engine command that runs longer than this: 90s, 10m, 1h, 500ms, or plain seconds
    #[arg(
        long,
        global = true,
        env = "BOTTLE_TIMEOUT",
        hide_env_values = true,
        value_name = "DURATION",
        default_value = "10m"
    )]
    pub timeout: String,
    /// How many bottles to work on at once: `up` and `down` of several slugs, `down --all`, `gc`;
    /// with --contexts, the engine commands in flight across all contexts
    #[arg(
        long,
        global = true,
        env = "BOTTLE_PARALLEL",
        hide_env_values = true,
        value_name = "N",
        default_value_t = DEFAULT_PARALLEL as u8,
        value_parser = clap::value_parser!(u8).range(1..=MAX_PARALLEL as i64)
    )]
    pub parallel: u8,
}

impl Command {
    /// The subcommand's name, as typed.
    /// The slug the command was given, when it was given exactly one.
    pub fn one_slug(&self) -> Option<String> {
        match self {
            Command::Down(a) if a.slugs.len() == 1 => a.slugs.first().cloned(),
            Command::Logs(a) => Some(a.slug.clone()),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::Up(_) => "up",
            Command::Down(_) => "down",
            Command::Stop(_) => "stop",
            Command::Start(_) => "start",
            Command::Restart(_) => "restart",
            Command::Pause(_) => "pause",
            Command::Unpause(_) => "unpause",
            Command::Plan(_) => "plan",
            Command::Subnet(_) => "subnet",
            Command::Port(_) => "port",
            Command::Status(_) => "status",
            Command::Env(_) => "env",
            Command::Ls(_) => "ls",
            Command::Gc(_) => "gc",
            Command::Logs(_) => "logs",
            Command::Events(_) => "events",
            Command::Version => "version",
            Command::Doctor(_) => "doctor",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the bottle, or converge it to the spec; prints a summary or the bottle object
    #[command(after_help = "\
An unchanged bottle is kept as it is; a changed spec replaces the bundle (the
reason names the parts that changed). The spec is the flags over `--config
FILE`, or over `bottle.toml` in the working directory when no `--config` is
given. With no spec at all (no spec flags, no file), an existing bottle is
kept as it is, started if it was stopped, and never replaced; a missing one is
exit 1, since a new bundle needs an image. If `up` fails or is interrupted, it
removes what it created (exit 1, or 130).

Examples:
  bottle up demo -p 8080 -e API_TOKEN    # API_TOKEN's value from here
  bottle up demo --config bottle.toml --pull never
  bottle up a b c --parallel 3 -p 8080    # several bottles, one spec
  bottle up demo                          # start it again as it was
  bottle up demo --image img:1 --ttl 2h   # `bottle gc` removes it in 2 h")]
    Up(UpSlugsArgs),
    /// Remove bottles: bundle first, then network; succeeds if already gone
    #[command(after_help = "\
Examples:
  bottle down demo
  bottle down --all        # every bottle with this prefix")]
    Down(DownArgs),
    /// Stop bottles' bundles; their networks, addresses and ports stay theirs
    #[command(after_help = "\
Already stopped is success; a paused bundle is unpaused, then stopped. A
missing bottle is exit 1, as for `status`. `bottle start` (or `up SLUG` with
no spec) starts it again.

Examples:
  bottle stop demo
  bottle stop --all -t 2   # every bottle of this prefix, 2 s before a kill")]
    Stop(StopArgs),
    /// Start bottles' stopped bundles (a paused one is unpaused)
    #[command(after_help = "\
Already running is success. A missing bottle is exit 1, as for `status`; a
`dead` bundle is refused (exit 1): `up` with its spec replaces it.

Examples:
  bottle start demo
  bottle start --all --json")]
    Start(ChangeArgs),
    /// Restart bottles' bundles, whatever their state
    #[command(after_help = "\
A stopped bundle is started, a paused one unpaused and restarted.

Examples:
  bottle restart demo -t 1")]
    Restart(StopArgs),
    /// Pause bottles' running bundles
    #[command(after_help = "\
Already paused is success; a stopped bundle is refused (exit 1): only a
running one can be paused.

Examples:
  bottle pause demo")]
    Pause(ChangeArgs),
    /// Unpause bottles' paused bundles
    #[command(after_help = "\
A bundle that is not paused (running or stopped) is left as it is: success.

Examples:
  bottle unpause --all")]
    Unpause(ChangeArgs),
    /// Print the engine commands `up` would run on a clean engine; runs nothing
    #[command(after_help = "\
KEY=VALUE values never appear: `up` hands them to the engine in a pipe at
`--env-file /dev/fd/3`, which the engine drains. `<run-id>` stands for the
`bottle.run` label, new for every `up`.

Examples:
  bottle plan demo -p 8080
  bottle plan demo --config bottle.toml --json")]
    Plan(UpArgs),
    /// Print the slug's preferred subnet (candidate 0); runs nothing
    #[command(after_help = "\
Examples:
  bottle subnet demo                    # 10.213.150.0/24
  bottle subnet demo --pool 10.9.0.0/16 --block 26 --json")]
    Subnet(SlugArg),
    /// List the bundle's published ports, or print HOST_IP:HOST_PORT for one
    #[command(after_help = "\
Examples:
  bottle port demo               # 8080/tcp -> 127.0.0.1:26435
  bottle port demo 8080          # 127.0.0.1:26435
  bottle port demo 53/udp        # 127.0.0.1:23735")]
    Port(PortArgs),
    /// Print the bottle object with its state; exit 1 if the bottle does not exist
    #[command(after_help = "\
Examples:
  bottle status demo
  bottle status demo --json | jq -r .bundle.state")]
    Status(SlugArg),
    /// Print the bottle's addresses for the agent side, as shell-evaluable `export` lines
    #[command(after_help = "\
Prints BOTTLE_SLUG, BOTTLE_HOST_IP (the address the ports are published on),
BOTTLE_BUNDLE_IP, BOTTLE_SUBNET, and BOTTLE_PORT_<container port>=<host
ip>:<host port> for each published TCP port (BOTTLE_PORT_<container port>_UDP
for a UDP one). Values are POSIX-quoted; --json prints one object. The same
endpoints as `bottle port`, or the same failure: exit 1 if the bottle does not
exist or its bundle is missing or stopped.

Examples:
  eval \"$(bottle env demo)\" && curl \"http://$BOTTLE_PORT_8080/\"
  bottle env demo --json")]
    Env(SlugArg),
    /// List every bottle with this prefix
    #[command(after_help = "\
A table on a terminal; tab-separated lines without a header when piped.

Examples:
  bottle ls
  bottle ls -q | xargs bottle down
  bottle ls -q -f state=exited -f state=missing
  bottle ls -f expired=false \\
    --format 'table {{.Slug}}\\t{{.Age}}\\t{{.Expires}}'")]
    Ls(LsArgs),
    /// Remove leftovers: networks with no bundle, dead or renamed bundles, expired leases
    #[command(after_help = "\
A bundle that something other than bottle renamed still carries bottle's
labels, but no bottle command reports it any more: gc removes it whatever its
state.

Examples:
  bottle gc --dry-run
  bottle gc")]
    Gc(GcArgs),
    /// Print the bundle's logs, through the engine
    #[command(after_help = "\
Values given with `-e KEY=VALUE` (or a bare KEY) are masked in the logs, with
-f too (each line as soon as it ends).

Examples:
  bottle logs demo --tail 20
  bottle logs demo -f")]
    Logs(LogsArgs),
    /// Stream the bottles' changes (state, health, ports) as JSON lines, until interrupted
    #[command(after_help = "\
Each line is one JSON object (`event` in docs/bottle.schema.json), with or
without --json: slug, time (RFC 3339, UTC), action (the engine's own word:
start, die, died, ...) and change: `state` with `state` (running, paused,
exited with `exit_code`, created, missing once removed), `health` with
`health` (healthy, unhealthy, starting), or `ports` with `ports` (after a
start, when they are not those last printed).
Read from the engine's own event stream: a bundle stopped by anything, bottle
or not, shows up at once. Without SLUG, every bottle of the prefix. Runs until
interrupted: Ctrl-C exits 130, quietly; an engine that ends its stream (the
daemon went away) is an error (exit 69 when the engine is unreachable, 1
otherwise).

Examples:
  bottle events
  bottle events demo | jq -c 'select(.change == \"state\")'")]
    Events(EventsArgs),
    /// Print bottle's version and the engine's client and server versions
    #[command(after_help = "\
Examples:
  bottle version
  bottle version --json")]
    Version,
    /// Check what bottle needs, and say how to fix each failure
    #[command(after_help = "\
Checks: the engine answers (and its versions), free subnet slots in the pool
(not taken by engine networks or host routes), the lock directory, the default
publish address (127.0.0.1), and (a warning) host TCP sockets on every address
(0.0.0.0:PORT), which answer on each bottle's loopback address too, so a VM
allowed one bottle's address reaches them, and (a warning) a kernel ephemeral
port range that takes in the host-port rule's ports (20000-32767).
Exit codes: 0 bottle can work, 69 the engine is missing or unreachable,
1 anything else.

Examples:
  bottle doctor
  bottle doctor -q || echo 'skipping: no engine'")]
    Doctor(DoctorArgs),
    /// Print a completion script for bash, zsh, fish, elvish or powershell
    #[command(after_help = "\
Examples:
  source <(bottle completions bash)
  bottle completions zsh > ~/.zfunc/_bottle
  bottle completions fish > ~/.config/fish/completions/bottle.fish")]
    Completions(CompletionsArgs),
    /// Print bottle's man page (roff)
    #[command(
        hide = true,
        after_help = "\
Examples:
  bottle man | man -l -
  bottle man up | man -l -"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`bottle-up(1)`); without it, `bottle(1)`
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct SlugArg {
    /// The bottle's slug: 1-40 of [a-z0-9-], starting and ending with a letter or digit
    pub slug: String,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// The bottle's slug: 1-40 of [a-z0-9-], starting and ending with a letter or digit
    pub slug: String,
    #[command(flatten)]
    pub spec: SpecArgs,
}

/// `up`'s arguments: one slug or several, and one spec for all of them.
#[derive(Debug, Args)]
pub struct UpSlugsArgs {
    /// The bottles' slugs: 1-40 of [a-z0-9-], starting and ending with a letter or digit
    #[arg(required = true, value_name = "SLUG")]
    pub slugs: Vec<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// The bottle's slug
    pub slug: String,
    /// The container port, e.g. 8080, 8080/tcp or 53/udp; without it, every published port
    #[arg(value_name = "PORT[/PROTO]")]
    pub port: Option<String>,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// The bottles to remove (or --all)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub slugs: Vec<String>,
    /// Remove every bottle the engine has with this prefix
    #[arg(long)]
    pub all: bool,
    /// Also remove the named volumes bottle created for these bottles (only those carrying their
    /// labels; with --all, those of bottles already down too)
    #[arg(long)]
    pub volumes: bool,
}

/// `start`, `pause`, `unpause`: the bottles to change.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// The bottles' slugs (or --all)
    #[arg(
        required_unless_present = "all",
        conflicts_with = "all",
        value_name = "SLUG"
    )]
    pub slugs: Vec<String>,
    /// Every bottle the engine has with this prefix
    #[arg(long)]
    pub all: bool,
}

/// `stop`, `restart`: the bottles, and how long the bundle gets to exit.
#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub bottles: ChangeArgs,
    /// Seconds the bundle gets to exit before the engine kills it [default: the engine's, 10]
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u32>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print slugs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Only bottles that match: state=WORD, slug=SLUG, expired=true|false, context=NAME (with
    /// --contexts); repeat it (one key's values OR, different keys AND, as `docker ps`)
    #[arg(long = "filter", short = 'f', value_name = "KEY=VALUE", value_parser = lsview::parse_filter)]
    pub filters: Vec<lsview::Filter>,
    /// Print each bottle by a template: {{.Slug}} {{.State}} {{.Subnet}} {{.BundleIP}} {{.Image}}
    /// {{.Ports}} {{.Expires}} {{.Age}} {{.HostIP}} {{.Context}}, with \t and \n; `table TEMPLATE` adds a
    /// header; `json` prints a bottle object per line
    #[arg(long, value_name = "TEMPLATE", value_parser = lsview::parse_format, conflicts_with = "quiet")]
    pub format: Option<lsview::Format>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only print what would be removed
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The bottle's slug
    pub slug: String,
    /// Follow the logs as they come (masked too)
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines
    #[arg(long, short = 'n', value_name = "N")]
    pub tail: Option<u32>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The bottles to watch; every bottle of the prefix when none is given
    #[arg(value_name = "SLUG")]
    pub slugs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print nothing; only the exit code tells
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    pub shell: clap_complete::Shell,
}

/// The spec options of `up` and `plan`. The same keys can come from `--config FILE`; flags win
/// (`-e` per env key: it is merged with the file's `env`).
/// `Debug` shows `-e` entries by key only (`KEY=***`).
#[derive(Args)]
#[command(next_help_heading = "Spec options")]
pub struct SpecArgs {
    /// TOML file with the spec keys (image, daemons, env, volumes, publish, publish_ip, loopback_pool, wait, wait_timeout, ttl, pull, memory, cpus, pids_limit, [build]) [default: ./bottle.toml if there is one]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The bundle image [default: bot-bottle-sidecars:latest]
    #[arg(long, value_name = "IMG")]
    pub image: Option<String>,
    /// Comma-separated daemons, passed as BOT_BOTTLE_SIDECAR_DAEMONS [default: egress,pipelock]
    #[arg(long, value_name = "CSV")]
    pub daemons: Option<String>,
    /// KEY takes its value from bottle's environment; KEY=VALUE is in bottle's argv, which other
    /// local users can read: prefer --config's `env`. A flag overrides the file's entry per key
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE|KEY")]
    pub env: Vec<String>,
    /// Bind mount HOST:CTR[:ro|rw], both paths absolute; or a named volume NAME:CTR[:ro|rw], which
    /// `up` creates with the bottle's labels when missing and only `down --volumes` removes
    #[arg(short = 'v', long = "volume", value_name = "HOST|NAME:CTR[:ro]")]
    pub volumes: Vec<String>,
    /// Container port to publish, PORT or PORT/udp; the host port is chosen once and kept for the
    /// bottle's life (see `bottle port`)
    #[arg(short = 'p', long = "publish", value_name = "PORT[/udp]")]
    pub publish: Vec<String>,
    /// Address to publish on; must be loopback unless --allow-nonloopback. `auto`: an address of
    /// the bottle's own from --loopback-pool [default: 127.0.0.1]
    #[arg(long, value_name = "IP|auto")]
    pub publish_ip: Option<String>,
    /// Where `--publish-ip auto` takes addresses from (inside 127.0.0.0/8): the lowest one free
    /// [default: 127.0.0.16/28]
    #[arg(long, value_name = "CIDR")]
    pub loopback_pool: Option<String>,
    /// `up` returns once the bundle is ready (running, healthy, every port answered), or fails
    /// after --wait-timeout (`--wait=DURATION` is short for both)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true)]
    pub wait: Option<Option<String>>,
    /// How long --wait waits before `up` fails and rolls back: 60s, 2m, 500ms or plain seconds;
    /// implies --wait [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
    /// Allow a --publish-ip that is not a loopback address
    #[arg(long)]
    pub allow_nonloopback: bool,
    /// The bottle's lease (90s, 30m, 2h): recorded when it is created, and `bottle gc` removes it
    /// once passed, running or not. Fixed at creation: another lease for an existing bottle is
    /// refused
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// When to pull the bundle image (progress shown) [default: missing]
    #[arg(long, value_parser = pull_policy())]
    pub pull: Option<Pull>,
    /// Memory limit of the bundle: bytes, or a size such as 512m or 1g (powers of 1024; at least 6m)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// CPU limit of the bundle: a number of CPUs, at most three decimal places (e.g. 0.5, 2)
    #[arg(long, value_name = "N")]
    pub cpus: Option<String>,
    /// Most processes the bundle may run at once (a positive number)
    #[arg(long, value_name = "N")]
    pub pids_limit: Option<String>,
}

impl Global {
    /// `--engine` / `BOTTLE_ENGINE`; an empty value means unset, as `Engine::detect` reads it.
    fn engine(&self) -> Option<&std::ffi::OsStr> {
        self.engine.as_deref().filter(|e| !e.is_empty())
    }
}

impl std::fmt::Debug for SpecArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<String> = self
            .env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((key, _)) => format!("{key}={}", bottle::MASK),
                None => e.clone(),
            })
            .collect();
        f.debug_struct("SpecArgs")
            .field("config", &self.config)
            .field("image", &self.image)
            .field("daemons", &self.daemons)
            .field("env", &env)
            .field("volumes", &self.volumes)
            .field("publish", &self.publish)
            .field("publish_ip", &self.publish_ip)
            .field("loopback_pool", &self.loopback_pool)
            .field("wait", &self.wait)
            .field("wait_timeout", &self.wait_timeout)
            .field("allow_nonloopback", &self.allow_nonloopback)
            .field("pull", &self.pull)
            .field("ttl", &self.ttl)
            .field("memory", &self.memory)
            .field("cpus", &self.cpus)
            .field("pids_limit", &self.pids_limit)
            .finish()
    }
}

/// `--pull`'s values, from the library's [`Pull`] (which has no command-line derive of its own).
fn pull_policy() -> impl clap::builder::TypedValueParser<Value = Pull> {
    use clap::builder::TypedValueParser;
    let names = Pull::ALL.map(Pull::as_str);
    clap::builder::PossibleValuesParser::new(names).map(|s| {
        Pull::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .expect("clap offers only these names")
    })
}

/// Global options that do nothing for a subcommand, hidden from its `--help` (still accepted, so a
/// script that sets them everywhere keeps working).
fn unused_globals(sub: &str) -> &'static [&'static str] {
    const ALL: &[&str] = &[
        "engine", "context", "contexts", "prefix", "pool", "block", "json", "verbose", "timeout",
        "parallel",
    ];
    match sub {
        // `plan` shows the engine and `--context` in its lines, and derives names and subnets.
        "plan" => &["contexts", "verbose", "timeout", "parallel"],
        "subnet" => &[
            "engine", "context", "contexts", "prefix", "verbose", "timeout", "parallel",
        ],
        "down" | "gc" | "stop" | "start" | "restart" | "pause" | "unpause" => &["pool", "block"],
        "port" | "status" | "env" | "ls" => &["pool", "block", "parallel"],
        "logs" => &["pool", "block", "json", "parallel"],
        // Its output is JSON lines either way; `--json` adds the error object on failure.
        "events" => &["pool", "block", "parallel"],
        "version" => &["contexts", "prefix", "pool", "block", "parallel"],
        "doctor" => &["contexts", "prefix", "parallel"],
        "completions" | "man" => ALL,
        _ => &[],
    }
}

/// The full command definition: what parsing, `--help`, completions and the man page all use.
///
/// Global options are described once, in `bottle --help`: a subcommand's help names the ones that
/// act there in one line, so `up --help` is about `up`. A command added to [`Command`] gets this
/// (and completions, and its man page) with no code of its own.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    // A subcommand that already has an argument is not given the global one, so a hidden copy
    // hides it there; being an exact copy otherwise, it parses and propagates the same.
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |mut sub| {
            let unused = unused_globals(&name);
            let used: Vec<String> = globals
                .iter()
                .filter(|a| !unused.contains(&a.get_id().as_str()))
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            for a in &globals {
                sub = sub.arg(a.clone().hide(true));
            }
            sub = complete_slugs(sub);
            if used.is_empty() {
                return sub;
            }
            let note = format!(
                "Global options (`bottle --help` describes them):\n  {}",
                used.join(", ")
            );
            let after = match sub.get_after_help() {
                Some(text) => format!("{note}\n\n{text}"),
                None => note,
            };
            sub.after_help(after)
        });
    }
    cmd
}

/// The variable that asks the binary to complete a command line instead of running it (set by the
/// script `bottle completions SHELL` prints).
const COMPLETE_VAR: &str = "BOTTLE_COMPLETE";

/// If the shell asks for completions (`BOTTLE_COMPLETE=SHELL bottle -- WORDS`), print them and
/// exit; otherwise return. Called first thing in `main`.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(COMPLETE_VAR)
        .complete();
}

/// Every slug argument of `sub` (an argument named `slug` or `slugs`) completes to the bottles the
/// engine has: a new command with a slug gets this without code of its own.
fn complete_slugs(sub: clap::Command) -> clap::Command {
    // `mut_args` changes each in place: `mut_arg` would move the slug after the other positionals.
    sub.mut_args(|a| match a.get_id().as_str() {
        "slug" | "slugs" if a.is_positional() => a.add(
            clap_complete::engine::ArgValueCandidates::new(slug_candidates),
        ),
        _ => a,
    })
}

/// The slugs of the bottles the engine has, for completion: the engine and prefix from
/// `BOTTLE_ENGINE` and `BOTTLE_PREFIX` (or the defaults), a short timeout, and nothing at all when
/// the engine does not answer (a completion never prints an error).
fn slug_candidates() -> Vec<clap_complete::engine::CompletionCandidate> {
    let engine = match std::env::var_os("BOTTLE_ENGINE").filter(|e| !e.is_empty()) {
        Some(program) => Engine::new(program),
        None => Engine::detect(),
    };
    let prefix = std::env::var("BOTTLE_PREFIX").unwrap_or_else(|_| bottle::DEFAULT_PREFIX.into());
    let (Ok(engine), Ok(prefix)) = (engine, Prefix::parse(&prefix)) else {
        return Vec::new();
    };
    let bottles = Bottles::new(engine)
        .prefix(prefix)
        .timeout(std::time::Duration::from_secs(3))
        .ls()
        .unwrap_or_default();
    bottles
        .iter()
        .map(|b| {
            clap_complete::engine::CompletionCandidate::new(b.slug.as_str())
                .help(Some(b.bundle.state.to_string().into()))
        })
        .collect()
}

/// The script that `bottle completions SHELL` prints: it asks the binary itself for completions at
/// each TAB (clap's dynamic completion), so slugs come from the engine. The binary is called as
/// it was called here: by name from PATH, or by its absolute path.
fn completion_script(shell: clap_complete::Shell, out: &mut impl Write) -> anyhow::Result<()> {
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let Some(completer) = shells.completer(&name) else {
        anyhow::bail!("no completion script for `{name}`");
    };
    let argv0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| "bottle".into());
    let path = std::path::PathBuf::from(&argv0);
    let path = match path.components().count() > 1 {
        true => std::path::absolute(&path).unwrap_or(path),
        false => path,
    };
    let mut buf = Vec::new();
    completer.write_registration(
        COMPLETE_VAR,
        "bottle",
        "bottle",
        &path.to_string_lossy(),
        &mut buf,
    )?;
    out.write_all(&buf)?;
    Ok(())
}

/// The man page of `bottle`, or with `name` of one command (`bottle-up(1)`, which the main
/// page's list of commands points at).
fn man_page(name: Option<&str>) -> anyhow::Result<clap_mangen::Man> {
    let mut cmd = command();
    // Built, each subcommand has its display name (`bottle-up`) and the globals it accepts.
    cmd.build();
    let Some(name) = name else {
        return Ok(clap_mangen::Man::new(cmd));
    };
    let Some(sub) = cmd.find_subcommand(name).cloned() else {
        // A usage error, exit 2, like any other word that names no command.
        eprintln!("bottle: unknown command '{name}' for `bottle man`; see `bottle --help`");
        return Err(Reported(2).into());
    };
    Ok(clap_mangen::Man::new(sub))
}

/// Parse a command line. A usage error is returned as clap's error; [`usage_error`] renders it.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Print a clap error the contract's way and return the exit code: `--help` and `--version` as
/// clap prints them; every usage error as ONE line on stderr, exit 2, and with `json` (`--json`
/// anywhere on the command line) the error object on stdout too, naming the input at fault.
pub fn usage_error(err: &clap::Error, json: bool) -> u8 {
    use clap::error::ErrorKind as K;
    match err.kind() {
        K::DisplayHelp | K::DisplayVersion => {
            let _ = err.print();
            err.exit_code() as u8
        }
        // Bare `bottle`: the usage, as `docker` with no arguments prints it, and nothing failed.
        K::DisplayHelpOnMissingArgumentOrSubcommand => {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{}", err.render()).and_then(|()| out.flush());
            0
        }
        _ => {
            let message = usage_line(err);
            eprintln!("bottle: {message}");
            if json {
                let input = render::usage_input(err);
                let failure = json::Failure {
                    error: None,
                    message: &message,
                    exit_code: 2,
                    input: input.as_deref(),
                };
                let mut v = json::error(&failure);
                // Clap's errors are invalid input, whatever clap calls them.
                v["error"]["kind"] = "invalid".into();
                print_json(&v);
            }
            2
        }
    }
}

/// Whether `--json` is on a command line clap refused: the usage error is then reported as JSON
/// too. Only what precedes `--` counts.
pub fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// One JSON document on stdout, for an error being reported (a closed stdout is not a second
/// error).
fn print_json(v: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    if let Ok(text) = json::document(v) {
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    }
}

/// An error that was already printed (each of several failed `down`s); only its exit code is left.
#[derive(Debug)]
pub struct Reported(pub u8);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "already reported (exit code {})", self.0)
    }
}

impl std::error::Error for Reported {}

/// Print an error from [`run`] once and return its exit code. A closed stdout (`bottle plan |
/// head -c0`) is not an error: exit 0, quietly. With `--json`, the error object also goes to
/// stdout, with the same message as the line on stderr.
pub fn report(err: &anyhow::Error, cli: &Reporting) -> u8 {
    if is_broken_pipe(err) {
        return 0;
    }
    if let Some(Reported(code)) = err.downcast_ref::<Reported>() {
        return *code;
    }
    let asked = advice::Asked {
        command: cli.command,
        slug: cli.slug.as_deref(),
        fleet: cli.fleet,
    };
    let ours = err.downcast_ref::<Error>();
    let message = render::error_message(&format!("{err:#}"), ours, asked, cli.verbose);
    // A JSON reader may never see stderr, where a pull's output went: its message keeps the
    // engine's words.
    let message = match ours.and_then(Error::command) {
        Some(failed) if !cli.json => {
            render::streamed_once(&message, failed.line(), failed.stderr())
        }
        _ => message,
    };
    eprintln!("bottle: {message}");
    if cli.json {
        print_json(&error_json(err, &message, cli.command));
    }
    exit_code(err)
}

/// What [`report`] needs of the command line that [`run`] consumed.
#[derive(Debug, Clone)]
pub struct Reporting {
    pub verbose: bool,
    pub json: bool,
    /// The subcommand's name, which tells what an invalid input was (`port`'s PORT or `-p`).
    pub command: &'static str,
    /// The one slug the subcommand was given, if it was given exactly one (advice names it).
    pub slug: Option<String>,
    /// Whether `--contexts` (or `BOTTLE_CONTEXTS`) named a fleet (advice names its option).
    pub fleet: bool,
}

impl Reporting {
    pub fn of(cli: &Cli) -> Reporting {
        Reporting {
            verbose: cli.global.verbose,
            json: cli.global.json,
            command: cli.command.name(),
            slug: cli.command.one_slug(),
            fleet: cli.global.contexts.is_some(),
        }
    }
}

/// The contract's `--json` error object (`error` in `docs/bottle.schema.json`), with `message`,
/// the line the text mode prints.
fn error_json(err: &anyhow::Error, message: &str, command: &str) -> serde_json::Value {
    let ours = err.downcast_ref::<Error>();
    json::error(&json::Failure {
        error: ours,
        message,
        exit_code: exit_code(err),
        input: ours.and_then(|e| json::invalid_input(e.kind(), command)),
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The spec file `up` and `plan` read when no `--config` is given, from the working directory (as
/// compose finds `compose.yaml`).
const SPEC_FILE: &str = "bottle.toml";

impl SpecArgs {
    /// The effective spec: the file's keys, overridden by any flag given.
    fn spec(&self) -> Result<Spec> {
        let (text, _) = self.text()?;
        text.validate(self.allow_nonloopback)
    }

    /// The spec, or `None` when none was given: no `--config`, no `bottle.toml` here, and no
    /// flag that says what the bundle is (`--wait` and `--ttl` alone do not). The lease, if any,
    /// comes with it either way.
    fn spec_if_given(&self) -> Result<(Option<Spec>, Option<std::time::Duration>)> {
        let (text, file) = self.text()?;
        if file || text.names_bundle() || self.allow_nonloopback {
            let spec = text.validate(self.allow_nonloopback)?;
            let ttl = spec.ttl();
            return Ok((Some(spec), ttl));
        }
        let ttl = text.ttl.as_deref().map(bottle::parse_ttl).transpose()?;
        Ok((None, ttl))
    }

    /// The spec as text (the file's keys, overridden by any flag given), and whether a file was
    /// read.
    fn text(&self) -> Result<(SpecText, bool)> {
        for p in &self.publish {
            check_publish_flag(p)?;
        }
        let found = std::path::Path::new(SPEC_FILE);
        let path = match &self.config {
            Some(path) => Some(path.as_path()),
            None => found.is_file().then_some(found),
        };
        let file = match path {
            Some(path) => SpecText::from_file(path)?,
            None => SpecText::default(),
        };
        let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let flags = SpecText {
            image: self.image.clone(),
            daemons: self.daemons.as_ref().map(|csv| match csv.as_str() {
                "" => Vec::new(),
                csv => csv.split(',').map(str::to_string).collect(),
            }),
            env: nonempty(&self.env),
            volumes: nonempty(&self.volumes),
            publish: nonempty(&self.publish),
            publish_ip: self.publish_ip.clone(),
            pull: self.pull,
            build: None,
            wait: self.wait_text(),
            loopback_pool: self.loopback_pool.clone(),
            ttl: self.ttl.clone(),
            memory: self.memory.clone(),
            cpus: self.cpus.clone(),
            pids_limit: self.pids_limit.clone(),
            contexts: None,
        };
        Ok((file.overridden_by(flags), path.is_some()))
    }
}

impl SpecArgs {
    /// `--wait`, `--wait=DURATION` and `--wait-timeout DURATION` as one wait.
    fn wait_text(&self) -> Option<WaitText> {
        // Bare `--wait`: the one default, `spec::DEFAULT_WAIT`.
        let wait = self.wait.clone().map(|w| match w {
            None => WaitText::Default,
            Some(text) => WaitText::Within(text),
        });
        match &self.wait_timeout {
            Some(limit) => Some(wait.unwrap_or(WaitText::Default).within(limit.clone())),
            None => wait,
        }
    }
}

/// Refuse `--wait 5s`: `--wait` is a switch, so the duration after the space would be taken as a
/// second slug and `up` would make a bottle named `5s` (compose spells the limit
/// `--wait-timeout`). Only what precedes `--` counts.
pub fn refuse_spaced_wait(args: &[OsString]) -> Result<()> {
    let before_dashes = args.iter().take_while(|a| *a != "--");
    let mut after_wait = false;
    for arg in before_dashes {
        let text = arg.to_string_lossy();
        if after_wait && bottle::parse_timeout(&text).is_ok() {
            return Err(Error::invalid(
                Invalid::Wait,
                format!(
                    "`--wait` takes no value after a space, and `{text}` is no slug: use `--wait-timeout {text}` (or `--wait={text}`)"
                ),
            ));
        }
        after_wait = arg == "--wait";
    }
    Ok(())
}

/// docker's `-p HOST:CTR` does not apply: bottle takes the container port and bottle chooses
/// the host port. Say so, rather than "invalid port".
fn check_publish_flag(p: &str) -> Result<()> {
    let Some((_, ctr)) = p.rsplit_once(':') else {
        return Ok(());
    };
    let ctr = ctr.trim_end_matches("/tcp");
    // `HOST:CTR/udp` names the UDP port; say `-p CTR/udp`.
    Err(Error::invalid(
        Invalid::Port,
        format!(
            "invalid port `{p}` for -p: bottle takes a container port only (e.g. `-p {ctr}`); bottle chooses the host port once (the host-port rule) and keeps it, and `bottle port SLUG {ctr}` prints it"
        ),
    ))
}

/// The exit code for an error from [`run`], per the contract.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(Reported(code)) = err.downcast_ref::<Reported>() {
        return *code;
    }
    err.downcast_ref::<Error>().map_or(1, Error::exit_code)
}

/// A state change of several bottles on one engine (`Bottles::stop_many` and its siblings).
type ManyFn = fn(&Bottles, &[Slug]) -> Vec<Result<bottle::Bottle>>;
/// The same over a fleet (`Fleet::stop_many` and its siblings).
type FleetFn = fn(&Fleet, &[Slug]) -> Vec<Result<bottle::Placed<bottle::Bottle>>>;

/// Whether stdout and stderr are terminals: tables and "nothing found" notes are for people.
#[derive(Debug, Clone, Copy)]
struct Tty {
    stdout: bool,
    stderr: bool,
}

/// Say on stderr, when a person is watching it, that a command found nothing.
fn note_nothing(tty: Tty, text: &str) {
    if tty.stderr {
        eprintln!("{text}");
    }
}

/// What every command shares: the global options, checked, and where output goes.
struct Run<'a, W: Write> {
    g: &'a Global,
    /// From [`scrub::hide_env_values`]: said once the spec of `up` or `plan` is known to be valid,
    /// before any engine command.
    argv_warning: Option<&'a str>,
    prefix: Prefix,
    pool: Pool,
    timeout: std::time::Duration,
    token: CancelToken,
    tty: Tty,
    /// `up`'s live lines, when a person watches stderr.
    progress: Option<std::sync::Arc<progress::Progress>>,
    out: W,
}

/// Run a parsed command line. `argv_warning` (from [`scrub::hide_env_values`]) is printed once
/// the spec of `up` or `plan` is known to be valid, before any engine command.
pub fn run(cli: Cli, argv_warning: Option<&str>) -> anyhow::Result<()> {
    let g = &cli.global;
    // Not locked for the whole run: `logs -f` writes from the engine's reader threads.
    let mut out = std::io::stdout();
    // Commands that need no prefix, pool or engine.
    match &cli.command {
        Command::Completions(a) => {
            completion_script(a.shell, &mut out)?;
            return Ok(out.flush()?);
        }
        Command::Man(a) => {
            man_page(a.command.as_deref())?.render(&mut out)?;
            return Ok(out.flush()?);
        }
        _ => {}
    }
    let mut r = Run {
        g,
        argv_warning,
        prefix: Prefix::parse(&g.prefix)?,
        pool: Pool::parse(&g.pool, g.block)?,
        timeout: bottle::parse_timeout(&g.timeout)?,
        token: CancelToken::new(),
        tty: Tty {
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
        },
        progress: None,
        out,
    };
    // A signal cancels the token: `up` stops and rolls back, `down` and `gc` finish the removal they
    // began, a second signal stops everything. `plan` and `subnet` run nothing, so they keep the
    // default behaviour.
    if !matches!(cli.command, Command::Plan(_) | Command::Subnet(_)) {
        signals::cancel_on_signals(&r.token)?;
    }
    // A bad `--contexts` list is invalid input: exit 2 before any engine is resolved. The
    // commands that take no fleet accept the option and ignore it (the contract), so a broken
    // `BOTTLE_CONTEXTS` in a session never keeps `doctor` or `subnet` from answering.
    let fleetless = matches!(
        cli.command,
        Command::Plan(_) | Command::Subnet(_) | Command::Version | Command::Doctor(_)
    );
    if !fleetless {
        r.check_contexts()?;
    }
    match &cli.command {
        Command::Completions(_) | Command::Man(_) => Ok(()),
        Command::Subnet(a) => r.subnet(a),
        Command::Plan(a) => r.plan(a),
        Command::Up(a) => r.up(a),
        Command::Down(a) => r.down(a),
        Command::Stop(a) => r.stop(a),
        Command::Start(a) => r.start(a),
        Command::Restart(a) => r.restart(a),
        Command::Pause(a) => r.pause(a),
        Command::Unpause(a) => r.unpause(a),
        Command::Port(a) => r.port(a),
        Command::Status(a) => r.status(a),
        Command::Env(a) => r.env(a),
        Command::Ls(a) => r.ls(a),
        Command::Gc(a) => r.gc(a),
        Command::Logs(a) => r.logs(a),
        Command::Events(a) => r.events(a),
        Command::Version => r.version(),
        Command::Doctor(a) => r.doctor(a),
    }?;
    Ok(r.out.flush()?)
}

impl<W: Write> Run<'_, W> {
    fn subnet(&mut self, a: &SlugArg) -> anyhow::Result<()> {
        let slug = Slug::parse(&a.slug)?;
        let c = self.pool.candidate(slug.as_str(), 0);
        if self.g.json {
            let v = serde_json::json!({
                "slug": slug.as_str(),
                "slot": c.slot,
                "subnet": c.subnet,
                "gateway": c.gateway,
                "bundle_ip": c.bundle_ip,
                "ip_range": c.ip_range,
            });
            writeln!(self.out, "{}", json::document(&v)?)?;
        } else {
            writeln!(self.out, "{}", c.subnet)?;
        }
        Ok(())
    }

    /// `plan` runs nothing, so it needs no engine installed: the engine is only named.
    fn plan(&mut self, a: &UpArgs) -> anyhow::Result<()> {
        let slug = self.slug(&a.slug)?;
        let spec = a.spec.spec()?;
        self.warn_argv();
        let mut engine = Engine::named(self.g.engine().unwrap_or("docker".as_ref()));
        if let Some(c) = &self.g.context {
            engine = engine.with_context(c);
        }
        let cmds = self.bottles_on(engine).plan(&slug, &spec)?;
        if self.g.json {
            let arrays: Vec<Vec<String>> = cmds
                .iter()
                .map(|argv| {
                    argv.iter()
                        .map(|a| a.to_string_lossy().into_owned())
                        .collect()
                })
                .collect();
            writeln!(self.out, "{}", json::document(&arrays)?)?;
        } else {
            // Exactly the argv `--json` gives: it holds no secret, so nothing is masked.
            for argv in &cmds {
                writeln!(self.out, "{}", bottle::quote_argv(argv))?;
            }
        }
        Ok(())
    }

    fn up(&mut self, a: &UpSlugsArgs) -> anyhow::Result<()> {
        let slugs = self.slugs(&a.slugs)?;
        let (spec, ttl) = a.spec.spec_if_given()?;
        self.warn_argv();
        let bottles = self.bottles()?;
        let file_contexts = a.spec.text()?.0.contexts;
        let fleet = self.fleet_or_file(&bottles, file_contexts.as_deref())?;
        // No spec: each bottle is kept as it is (started if stopped), never replaced.
        let Some(spec) = spec else {
            let wait = a.spec.text()?.0.validate(false)?.wait();
            if let Some(fleet) = fleet {
                return self.fleet_up(&fleet, &slugs, None, (ttl, wait));
            }
            return self.resume(&bottles, &slugs, ttl, wait);
        };
        // The live lines need the events callback, which the handle is made with.
        let bottles = match self.tty.stderr && !self.g.json {
            true => {
                let waits = spec.wait().is_some();
                let lines = progress::Progress::new(&slugs, waits);
                self.progress = Some(std::sync::Arc::new(lines));
                self.bottles()?
            }
            false => bottles,
        };
        if fleet.is_some() {
            // Made again on the handle whose events callback draws the live lines.
            let fleet = self.fleet_or_file(&bottles, file_contexts.as_deref())?;
            let fleet = fleet.expect("the same contexts");
            return self.fleet_up(&fleet, &slugs, Some(&spec), (ttl, None));
        }
        let progress = self.progress.clone();
        let done = |slug: &Slug, result: &Result<bottle::UpOutcome>| {
            if let Some(p) = &progress {
                p.done(slug, result);
            }
        };
        let [slug] = slugs.as_slice() else {
            let results = bottles.up_many_reporting(&slugs, &spec, &done);
            if let Some(p) = &progress {
                p.clear();
            }
            return many::up_each(&slugs, results, self.g, &mut self.out);
        };
        let up = bottles.up(slug, &spec);
        if let Some(p) = &progress {
            done(slug, &up);
            p.clear();
        }
        self.print_up(&up?)
    }

    /// `up` with no spec: [`Bottles::resume`] of each slug, then `--wait` as `up` waits.
    fn resume(
        &mut self,
        bottles: &Bottles,
        slugs: &[Slug],
        ttl: Option<std::time::Duration>,
        wait: Option<std::time::Duration>,
    ) -> anyhow::Result<()> {
        let waited = |slug: &Slug, up: Result<bottle::UpOutcome>| match (up, wait) {
            (Ok(up), Some(within)) => bottles.wait_ready(slug, within).map(|()| up),
            (up, _) => up,
        };
        let [slug] = slugs else {
            let results = bottles.resume_many(slugs, ttl);
            let results = slugs
                .iter()
                .zip(results)
                .map(|(s, r)| waited(s, r))
                .collect();
            return many::up_each(slugs, results, self.g, &mut self.out);
        };
        let up = waited(slug, bottles.resume(slug, ttl))?;
        self.print_up(&up)
    }

    fn print_up(&mut self, up: &bottle::UpOutcome) -> anyhow::Result<()> {
        if self.g.json {
            writeln!(self.out, "{}", json::document(&json::up(up)?)?)?;
        } else {
            let text = summary(&up.bottle);
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            write!(self.out, "{first}, {}\n{rest}", many::up_how(up))?;
        }
        Ok(())
    }

    fn down(&mut self, a: &DownArgs) -> anyhow::Result<()> {
        let slugs = self.slugs(&a.slugs)?;
        let bottles = self.bottles()?;
        if let Some(fleet) = self.fleet_of(&bottles)? {
            return self.fleet_down(&fleet, a, &slugs);
        }
        let options = DownOptions::default().volumes(a.volumes);
        let (slugs, results) = match a.all {
            true => bottles.down_all_with(options)?.into_iter().unzip(),
            false => {
                let results = bottles.down_with(&slugs, options);
                (slugs, results)
            }
        };
        if a.all && slugs.is_empty() {
            let prefix = self.prefix.as_str();
            note_nothing(self.tty, &format!("no bottles with prefix `{prefix}`"));
        }
        // One slug gives one object, several (or `--all`, a listing) an array.
        let one = !a.all && slugs.len() == 1;
        many::down_each(&slugs, results, one, &bottles, self.g, &mut self.out)?;
        Ok(bottles.interrupted()?)
    }

    fn stop(&mut self, a: &StopArgs) -> anyhow::Result<()> {
        let verbs = (Bottles::stop_many as ManyFn, Fleet::stop_many as FleetFn);
        self.change(&a.bottles, a.time, verbs)
    }

    fn start(&mut self, a: &ChangeArgs) -> anyhow::Result<()> {
        self.change(a, None, (Bottles::start_many, Fleet::start_many))
    }

    fn restart(&mut self, a: &StopArgs) -> anyhow::Result<()> {
        let verbs = (
            Bottles::restart_many as ManyFn,
            Fleet::restart_many as FleetFn,
        );
        self.change(&a.bottles, a.time, verbs)
    }

    fn pause(&mut self, a: &ChangeArgs) -> anyhow::Result<()> {
        self.change(a, None, (Bottles::pause_many, Fleet::pause_many))
    }

    fn unpause(&mut self, a: &ChangeArgs) -> anyhow::Result<()> {
        self.change(a, None, (Bottles::unpause_many, Fleet::unpause_many))
    }

    /// `stop`, `start`, `restart`, `pause`, `unpause`: `many` of the slugs given, or of every
    /// bottle `ls` lists (`--all`), each reported as `down` reports its bottles.
    fn change(
        &mut self,
        a: &ChangeArgs,
        grace: Option<u32>,
        (many, fleet_many): (ManyFn, FleetFn),
    ) -> anyhow::Result<()> {
        let slugs = self.slugs(&a.slugs)?;
        let mut bottles = self.bottles()?;
        if let Some(secs) = grace {
            bottles = bottles.stop_grace(std::time::Duration::from_secs(secs.into()));
        }
        if let Some(fleet) = self.fleet_of(&bottles)? {
            return self.fleet_change(&fleet, a, slugs, fleet_many);
        }
        let slugs = match a.all {
            // A bottle with no bundle has no state to change (`gc` or `up` is for it).
            true => bottles
                .ls()?
                .into_iter()
                .filter(|b| b.bundle.state != bottle::State::Missing)
                .map(|b| b.slug)
                .collect(),
            false => slugs,
        };
        if a.all && slugs.is_empty() {
            let prefix = self.prefix.as_str();
            note_nothing(self.tty, &format!("no bottles with prefix `{prefix}`"));
        }
        let results = many(&bottles, &slugs);
        let one = !a.all && slugs.len() == 1;
        many::change_each(&slugs, results, one, self.g, &mut self.out)
    }

    /// The bottle `slug` names: its status on the one engine, or, over a fleet, located on the
    /// context that holds it, with what the other contexts did not answer.
    fn locate_one(
        &mut self,
        bottles: &Bottles,
        slug: &Slug,
    ) -> anyhow::Result<(bottle::Bottle, Option<fleet::Trouble>)> {
        Ok(match self.fleet_of(bottles)? {
            Some(fleet) => self.fleet_locate(&fleet, slug).map(|(b, t)| (b, Some(t)))?,
            None => (bottles.status(slug)?, None),
        })
    }

    fn port(&mut self, a: &PortArgs) -> anyhow::Result<()> {
        let slug = self.slug(&a.slug)?;
        let port = a.port.as_deref().map(render::parse_port_arg).transpose()?;
        let bottles = self.bottles()?;
        let (bottle, trouble) = self.locate_one(&bottles, &slug)?;
        let ports = bottle.published(port)?;
        if let Some(t) = trouble {
            let doc = match port {
                Some(_) => serde_json::to_value(&ports[0])?,
                None => serde_json::to_value(&ports)?,
            };
            let text: String = match port {
                Some(_) => ports.iter().map(|p| p.host_address() + "\n").collect(),
                None => ports.iter().map(|p| port_line(p) + "\n").collect(),
            };
            return self.fleet_answer(&t, doc, &text);
        }
        match (self.g.json, port) {
            (true, Some(_)) => writeln!(self.out, "{}", json::document(&ports[0])?)?,
            (true, None) => writeln!(self.out, "{}", json::document(&ports)?)?,
            (false, Some(_)) => {
                for p in &ports {
                    writeln!(self.out, "{}", p.host_address())?;
                }
            }
            (false, None) => {
                for p in &ports {
                    writeln!(self.out, "{}", port_line(p))?;
                }
            }
        }
        Ok(())
    }

    fn status(&mut self, a: &SlugArg) -> anyhow::Result<()> {
        let slug = self.slug(&a.slug)?;
        let bottles = self.bottles()?;
        if let Some(fleet) = self.fleet_of(&bottles)? {
            let (bottle, t) = self.fleet_locate(&fleet, &slug)?;
            let doc = serde_json::to_value(&bottle)?;
            return self.fleet_answer(&t, doc, &summary(&bottle));
        }
        let bottle = bottles.status(&slug)?;
        match self.g.json {
            true => writeln!(self.out, "{}", json::document(&bottle)?)?,
            false => write!(self.out, "{}", summary(&bottle))?,
        }
        Ok(())
    }

    fn env(&mut self, a: &SlugArg) -> anyhow::Result<()> {
        let slug = self.slug(&a.slug)?;
        let bottles = self.bottles()?;
        let (bottle, trouble) = self.locate_one(&bottles, &slug)?;
        // The endpoints `port` prints, or its error: a stopped or missing bundle publishes
        // nothing, and empty values would look like an answer.
        bottle.published(None)?;
        if let Some(t) = trouble {
            let doc = render::env_json(&bottle);
            return self.fleet_answer(&t, doc, &render::env_lines(&bottle));
        }
        match self.g.json {
            true => writeln!(self.out, "{}", json::document(&render::env_json(&bottle))?)?,
            false => write!(self.out, "{}", render::env_lines(&bottle))?,
        }
        Ok(())
    }

    fn ls(&mut self, a: &LsArgs) -> anyhow::Result<()> {
        if self.g.json && a.format.is_some() {
            eprintln!(
                "bottle: `--format` and `--json` both say how to print: use one (`--format json` prints a bottle object per line)"
            );
            return Err(Reported(2).into());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let handle = self.bottles()?;
        if let Some(fleet) = self.fleet_of(&handle)? {
            return self.fleet_ls(&fleet, a, now);
        }
        let mut bottles = handle.ls()?;
        bottles.retain(|b| lsview::keeps(&a.filters, b, now));
        self.ls_print(a, &bottles, now)
    }

    /// `ls`'s output of the bottles kept: a template, `--json`, `-q`, the table or piped lines.
    fn ls_print(&mut self, a: &LsArgs, bottles: &[bottle::Bottle], now: i64) -> anyhow::Result<()> {
        if let Some(format) = &a.format {
            return self.ls_format(format, bottles, now);
        }
        if bottles.is_empty() && !self.g.json {
            let prefix = self.prefix.as_str();
            let matching = match a.filters.is_empty() {
                true => "",
                false => " match the filters",
            };
            note_nothing(
                self.tty,
                &format!("no bottles with prefix `{prefix}`{matching}"),
            );
        } else if self.g.json && a.quiet {
            let slugs = lsview::quiet_slugs(bottles);
            writeln!(self.out, "{}", json::document(&slugs)?)?;
        } else if self.g.json {
            writeln!(self.out, "{}", json::document(&bottles)?)?;
        } else if a.quiet {
            for slug in lsview::quiet_slugs(bottles) {
                writeln!(self.out, "{slug}")?;
            }
        } else if self.tty.stdout {
            write!(self.out, "{}", ls_table(bottles, now))?;
        } else {
            write!(self.out, "{}", ls_tsv(bottles))?;
        }
        Ok(())
    }

    /// `ls --format`: a template's lines, `table`'s, or a compact bottle object per line.
    fn ls_format(
        &mut self,
        format: &lsview::Format,
        bottles: &[bottle::Bottle],
        now: i64,
    ) -> anyhow::Result<()> {
        match (format, lsview::render(format, bottles, now)) {
            (_, Some(text)) => write!(self.out, "{text}")?,
            (lsview::Format::Json, None) => {
                for b in bottles {
                    writeln!(self.out, "{}", json::line(b)?)?;
                }
            }
            (_, None) => write!(self.out, "{}", ls_table(bottles, now))?,
        }
        Ok(())
    }

    fn gc(&mut self, a: &GcArgs) -> anyhow::Result<()> {
        let bottles = self.bottles()?;
        if let Some(fleet) = self.fleet_of(&bottles)? {
            return self.fleet_gc(&fleet, a.dry_run);
        }
        let result = bottles.gc(a.dry_run);
        // The engine's own CLI detaches a container (its flavor is known by now: `gc` asked).
        let cli = match bottles.engine().flavor() {
            bottle::Flavor::Podman => "podman",
            _ => "docker",
        };
        let removed = match result {
            Ok(removed) => removed,
            // What it had removed before it failed (or a signal stopped it) is said too
            // (`--json`: in the error).
            Err(e) => {
                for kept in e.removed_by_kind().map_or(&[][..], |r| &r.kept) {
                    eprintln!("bottle: {}", render::kept_line(kept, cli));
                }
                if !self.g.json {
                    match e.removed_by_kind() {
                        Some(removed) => self.gc_lines(removed, a.dry_run)?,
                        None => {
                            for name in e.removed() {
                                writeln!(self.out, "removed {name}")?;
                            }
                        }
                    }
                    self.out.flush()?;
                }
                return Err(e.into());
            }
        };
        // A network kept for a foreign container is said, not kept silently (dry run too).
        for kept in &removed.kept {
            eprintln!("bottle: {}", render::kept_line(kept, cli));
        }
        if self.g.json {
            writeln!(
                self.out,
                "{}",
                json::document(&json::gc(a.dry_run, &removed))?
            )?;
            return Ok(());
        }
        self.gc_lines(&removed, a.dry_run)?;
        if removed.is_empty() {
            note_nothing(self.tty, "nothing to remove");
        }
        Ok(())
    }

    /// `gc`'s text: one line per container, then per network.
    fn gc_lines(&mut self, removed: &bottle::Removed, dry_run: bool) -> anyhow::Result<()> {
        let verb = if dry_run { "would remove" } else { "removed" };
        for c in &removed.containers {
            writeln!(self.out, "{verb} container {c}")?;
        }
        for n in &removed.networks {
            writeln!(self.out, "{verb} network {n}")?;
        }
        Ok(())
    }

    fn logs(&mut self, a: &LogsArgs) -> anyhow::Result<()> {
        let slug = self.slug(&a.slug)?;
        // The bundle's own lines have no fields to give: refused rather than silently ignored.
        if self.g.json {
            eprintln!(
                "bottle: `bottle logs` has no JSON output: it prints the bundle's own log lines; run it without --json"
            );
            return Err(Reported(2).into());
        }
        let bottles = self.bottles()?;
        if let Some(fleet) = self.fleet_of(&bottles)? {
            return self.fleet_logs(&fleet, &slug, a.tail, a.follow);
        }
        if a.follow {
            // The followed log is written by the threads that read the engine's output, which
            // need stdout's lock: this command writes nothing else.
            self.out.flush()?;
            return tools::follow_logs(&bottles, &slug, a.tail);
        }
        tools::logs(&bottles, &slug, a.tail, &mut self.out)
    }

    fn events(&mut self, a: &EventsArgs) -> anyhow::Result<()> {
        let slugs = self.slugs(&a.slugs)?;
        let bottles = self.bottles()?;
        if let Some(fleet) = self.fleet_of(&bottles)? {
            return self.fleet_events(&fleet, &slugs);
        }
        // The events are written by the thread that reads the engine's output.
        self.out.flush()?;
        tools::events(&bottles, &slugs)
    }

    fn version(&mut self) -> anyhow::Result<()> {
        let bottles = self.engine().map(|e| self.bottles_on(e));
        tools::version(bottles, &self.shown_engine(), self.g.json, &mut self.out)
    }

    fn doctor(&mut self, a: &DoctorArgs) -> anyhow::Result<()> {
        let config = bottle::DoctorConfig {
            bottles: self.engine().map(|e| self.bottles_on(e)),
            shown: self.shown_engine(),
            pool: self.pool,
        };
        tools::doctor(config, a.quiet, self.g.json, &mut self.out)
    }

    fn warn_argv(&self) {
        if let Some(w) = self.argv_warning {
            eprintln!("bottle: {w}");
        }
    }

    /// A slug whose resource names fit, checked before the engine is even resolved, so invalid
    /// input is exit 2 whatever state the engine is in.
    fn slug(&self, slug: &str) -> Result<Slug> {
        let slug = Slug::parse(slug)?;
        self.prefix.check(&slug)?;
        Ok(slug)
    }

    /// The slugs given, each checked as [`Run::slug`] does, a repeated one dropped (each bottle
    /// is worked on and reported once).
    fn slugs(&self, given: &[String]) -> Result<Vec<Slug>> {
        let mut slugs: Vec<Slug> = Vec::with_capacity(given.len());
        for s in given {
            let slug = self.slug(s)?;
            if !slugs.contains(&slug) {
                slugs.push(slug);
            }
        }
        Ok(slugs)
    }

    /// The engine: `--engine` / `BOTTLE_ENGINE` as given, else the library's detection (docker,
    /// then podman), with `--context`.
    fn engine(&self) -> Result<Engine> {
        let engine = match self.g.engine() {
            Some(program) => Engine::new(program)?,
            None => Engine::detect()?,
        };
        Ok(match &self.g.context {
            Some(c) => engine.with_context(c),
            None => engine,
        })
    }

    fn bottles(&self) -> Result<Bottles> {
        Ok(self.bottles_on(self.engine()?))
    }

    /// The options every engine-facing command shares: prefix, pool, timeout, parallelism, the
    /// cancel token the signals feed, and the events callback.
    fn bottles_on(&self, engine: Engine) -> Bottles {
        Bottles::new(engine)
            .prefix(self.prefix.clone())
            .pool(self.pool)
            .timeout(self.timeout)
            .parallel(self.g.parallel.into())
            .with_cancel_token(self.token.clone())
            .on_event(events(self.g.verbose, self.progress.clone()))
    }

    /// The engine as the user named it, for `version` and `doctor`: what was detected, or
    /// `docker` when nothing was.
    fn shown_engine(&self) -> String {
        match (self.g.engine(), self.engine()) {
            (Some(given), _) => given.to_string_lossy().into_owned(),
            (None, Ok(e)) => e.shown().to_string(),
            (None, Err(_)) => "docker".to_string(),
        }
    }
}

/// `--verbose` prints each command as `+ LINE`; pull and build progress goes to stderr (a failed
/// build's error points at it); a wait for another bottle process is said once per process, not
/// once per bottle: with several bottles at once, their threads wait on the same locks.
/// With `progress` (`up` on a terminal), each command also moves its bottle's live line, and
/// these lines are printed above the live ones.
fn events(
    verbose: bool,
    progress: Option<std::sync::Arc<progress::Progress>>,
) -> impl Fn(&Event<'_>) + Send + Sync + 'static {
    let said = std::sync::Mutex::new(std::collections::BTreeSet::<String>::new());
    let progress_of = progress.clone();
    let say = move |text: &str| match &progress {
        Some(p) => p.println(text),
        None => eprintln!("{text}"),
    };
    move |e: &Event<'_>| {
        if let Some(p) = &progress_of {
            p.on_event(e);
        }
        match e {
            Event::Command { line, .. } if verbose => say(&format!("+ {line}")),
            Event::Output { text, .. } => say(text),
            Event::Waiting { what, .. } => {
                let mut said = said.lock().unwrap_or_else(|e| e.into_inner());
                if said.insert(what.to_string()) {
                    say(&format!("bottle: {what}"));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    /// Each name people bring from docker or kubectl leads to a command bottle has.
    #[test]
    fn familiar_names_lead_to_real_commands() {
        for word in ["ps", "rm", "inspect", "prune", "run", "log", "delete"] {
            let name = render::familiar_command(word).unwrap();
            assert!(Cli::command().find_subcommand(name).is_some(), "{word}");
            assert!(Cli::command().find_subcommand(word).is_none(), "{word}");
        }
    }

    /// The spec `up ARGS` asks for.
    fn up_spec(args: &[&str]) -> Spec {
        let cli = Cli::try_parse_from(["bottle", "up", "demo"].iter().chain(args)).unwrap();
        let Command::Up(up) = cli.command else {
            unreachable!("parsed `up`")
        };
        up.spec.spec().unwrap()
    }

    /// The wait of a bare `--wait` (and of `wait = true`, see `spec`'s tests) is the one
    /// `spec::DEFAULT_WAIT`, which `--help` names; it was written out as "60s" in three places.
    #[test]
    fn a_bare_wait_is_the_default_wait() {
        use bottle::DEFAULT_WAIT;
        assert_eq!(up_spec(&["--wait"]).wait(), Some(DEFAULT_WAIT));
        assert_eq!(
            up_spec(&["--wait=5s"]).wait(),
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(up_spec(&[]).wait(), None);
        // compose's spelling: the limit on its own flag, which implies the wait.
        let five = Some(std::time::Duration::from_secs(5));
        assert_eq!(up_spec(&["--wait-timeout", "5s"]).wait(), five);
        assert_eq!(up_spec(&["--wait", "--wait-timeout", "5s"]).wait(), five);
        assert_eq!(up_spec(&["--wait=9s", "--wait-timeout", "5s"]).wait(), five);
        let help = Cli::command()
            .find_subcommand_mut("up")
            .unwrap()
            .render_help()
            .to_string();
        let bare = format!("[default: {}s]", DEFAULT_WAIT.as_secs());
        assert!(help.contains(&bare), "{help}");
    }
}
