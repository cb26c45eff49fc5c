//! The command line: clap definitions, and `run`, which turns parsed arguments into library calls
//! and output.
//!
//! This is the only module that prints to stdout. `main.rs` only parses, calls [`run`] and maps
//! the error to an exit code with [`exit_code`].

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::argv;
use crate::display::Masker;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{self, Engine, OnInterrupt};
use crate::input::{Names, Prefix, Slug};
use crate::lifecycle::{self, Ctx};
use crate::spec::{Pull, RawSpec, Spec};
use crate::subnet::{DEFAULT_BLOCK, DEFAULT_POOL, Pool};

const AFTER_HELP: &str = "\
Each bottle is a bridge network `<prefix>-bundle-<slug>` on a subnet derived from the slug, and a
sidecar bundle container `<prefix>-sidecars-<slug>` pinned at the subnet's second address, with its
ports published on 127.0.0.1 at ports the engine picks.

Examples:
  bottle up demo --image bot-bottle-sidecars:latest -p 8080 -e API_TOKEN
  bottle port demo 8080          # 127.0.0.1:49153
  bottle plan demo -p 8080       # the engine commands `up` would run; runs nothing
  bottle down demo               # idempotent

Exit codes: 0 ok, 1 an engine command failed or a resource is not bottle's, 2 invalid input,
69 engine missing or unreachable, 130 interrupted.";

/// Launch the network side of sandboxed agent bottles with a docker-compatible engine.
#[derive(Debug, Parser)]
#[command(name = "bottle", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Args)]
pub struct Global {
    /// The docker-compatible CLI to run: a name on PATH or a path
    #[arg(long, global = true, env = "BOTTLE_ENGINE", value_name = "NAME|PATH")]
    pub engine: Option<OsString>,
    /// Passed to the engine as `--context NAME` (DOCKER_HOST is inherited as is)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Resource-name prefix: 1-20 of [a-z0-9-]
    #[arg(long, global = true, env = "BOTTLE_PREFIX", default_value = crate::input::DEFAULT_PREFIX)]
    pub prefix: String,
    /// The IPv4 pool bottle subnets are carved from
    #[arg(long, global = true, env = "BOTTLE_POOL", value_name = "CIDR", default_value = DEFAULT_POOL)]
    pub pool: String,
    /// Prefix length of each bottle's subnet, from the pool's up to 29
    #[arg(long, global = true, env = "BOTTLE_BLOCK", value_name = "N", default_value_t = DEFAULT_BLOCK)]
    pub block: u8,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Echo each engine command to stderr before it runs (quoted, secrets masked)
    #[arg(long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the bottle, or converge it to the spec; prints a summary or the bottle object
    #[command(
        after_help = "An unchanged bottle is kept as it is; a changed spec replaces the bundle.\nIf `up` fails or is interrupted, it removes what it created (exit 1, or 130)."
    )]
    Up(SpecArgs),
    /// Remove bottles: bundle first, then network; succeeds if already gone
    Down(DownArgs),
    /// Print the engine commands `up` would run on a clean engine; runs nothing
    #[command(
        after_help = "The env-file path is shown as `<env-file>`: `up` creates a private one per run.\nKEY=VALUE values never appear; they travel only through that file.\n`<run-id>` stands for the `bottle.run` label, new for every `up`."
    )]
    Plan(SpecArgs),
    /// Print the slug's preferred subnet (candidate 0); runs nothing
    Subnet(SlugArg),
    /// Print HOST_IP:HOST_PORT for the bundle's published container port
    Port(PortArgs),
    /// Print the bottle object with its state; exit 1 if the bottle does not exist
    Status(SlugArg),
    /// List every bottle with this prefix
    Ls,
    /// Remove leftovers: networks with no bundle, and bundles that are not running
    Gc(GcArgs),
}

#[derive(Debug, Args)]
pub struct SlugArg {
    /// The bottle's slug: 1-40 of [a-z0-9-], starting and ending with a letter or digit
    pub slug: String,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// The bottle's slug
    pub slug: String,
    /// The container port
    pub port: String,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// The bottles to remove
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub slugs: Vec<String>,
    /// Remove every bottle the engine has with this prefix
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only print what would be removed
    #[arg(long)]
    pub dry_run: bool,
}

/// The spec options of `up` and `plan`. The same keys can come from `--config FILE`; flags win.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The bottle's slug: 1-40 of [a-z0-9-], starting and ending with a letter or digit
    pub slug: String,
    /// TOML file with the spec keys (image, daemons, env, volumes, publish, publish_ip, pull, [build])
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The bundle image [default: bot-bottle-sidecars:latest]
    #[arg(long, value_name = "IMG")]
    pub image: Option<String>,
    /// Comma-separated daemons, passed as BOT_BOTTLE_SIDECAR_DAEMONS [default: egress,pipelock]
    #[arg(long, value_name = "CSV")]
    pub daemons: Option<String>,
    /// KEY=VALUE (sent through a private env-file) or KEY (value taken from this environment)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE|KEY")]
    pub env: Vec<String>,
    /// Bind mount HOST:CTR[:ro|rw], both paths absolute
    #[arg(short = 'v', long = "volume", value_name = "HOST:CTR[:ro]")]
    pub volumes: Vec<String>,
    /// Container TCP port to publish on the publish IP at a port the engine picks
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    pub publish: Vec<String>,
    /// Address to publish on; must be loopback unless --allow-nonloopback [default: 127.0.0.1]
    #[arg(long, value_name = "IP")]
    pub publish_ip: Option<String>,
    /// Allow a --publish-ip that is not a loopback address
    #[arg(long)]
    pub allow_nonloopback: bool,
    /// The engine's pull policy for the bundle image [default: missing]
    #[arg(long, value_enum)]
    pub pull: Option<Pull>,
}

impl SpecArgs {
    /// The effective spec: the file's keys, overridden by any flag given.
    fn spec(&self) -> Result<Spec> {
        let file = match &self.config {
            Some(path) => RawSpec::from_file(path)?,
            None => RawSpec::default(),
        };
        let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let flags = RawSpec {
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
        };
        file.overridden_by(flags).validate(self.allow_nonloopback)
    }
}

/// The exit code for an error from [`run`], per the contract.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<Error>().map_or(1, Error::exit_code)
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    let prefix = Prefix::parse(&g.prefix)?;
    let pool = Pool::parse(&g.pool, g.block)?;
    // `down` and `gc` finish a removal they began; everything else stops at once (and `up` rolls
    // back). `plan` and `subnet` run nothing, so they keep the default behaviour.
    match &cli.command {
        Command::Plan(_) | Command::Subnet(_) => {}
        Command::Down(_) | Command::Gc(_) => exec::handle_interrupts(OnInterrupt::Finish)?,
        _ => exec::handle_interrupts(OnInterrupt::Abort)?,
    }
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::Subnet(a) => {
            let slug = Slug::parse(&a.slug)?;
            let c = pool.candidate(slug.as_str(), 0);
            if g.json {
                let v = serde_json::json!({
                    "slug": slug.as_str(),
                    "slot": c.slot,
                    "subnet": c.subnet,
                    "gateway": c.gateway,
                    "bundle_ip": c.bundle_ip,
                    "ip_range": c.ip_range,
                });
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "{}", c.subnet)?;
            }
        }
        Command::Plan(a) => {
            let slug = Slug::parse(&a.slug)?;
            let spec = a.spec()?;
            let names = Names::new(&prefix, &slug)?;
            let cmds = plan(&slug, &names, &spec, &pool);
            let shown = g
                .engine
                .as_deref()
                .unwrap_or(OsStr::new("docker"))
                .to_string_lossy();
            let context = g.context.as_deref();
            if g.json {
                let arrays: Vec<Vec<String>> = cmds
                    .iter()
                    .map(|argv| {
                        exec::full_argv(&shown, context, argv)
                            .iter()
                            .map(|a| a.to_string_lossy().into_owned())
                            .collect()
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string(&arrays)?)?;
            } else {
                // Exactly the argv `--json` gives: it holds no secret, so nothing is masked.
                for argv in &cmds {
                    let line = crate::display::render(&exec::full_argv(&shown, context, argv));
                    writeln!(out, "{line}")?;
                }
            }
        }
        Command::Up(a) => {
            let slug = slug_for(&prefix, &a.slug)?;
            let spec = a.spec()?;
            let ctx = ctx(g, prefix, pool, secrets_of(&spec))?;
            let bottle = lifecycle::up(&ctx, &slug, &spec)?;
            if g.json {
                writeln!(out, "{}", serde_json::to_string(&bottle)?)?;
            } else {
                write!(out, "{}", bottle.summary())?;
            }
        }
        Command::Down(a) => {
            let slugs = a
                .slugs
                .iter()
                .map(|s| slug_for(&prefix, s))
                .collect::<Result<Vec<_>>>()?;
            let ctx = ctx(g, prefix, pool, Masker::default())?;
            let slugs = match a.all {
                true => lifecycle::list(&ctx)?.into_keys().collect(),
                false => slugs,
            };
            let mut failures = Vec::new();
            let mut report = Vec::new();
            for slug in &slugs {
                if exec::interrupted() {
                    failures.push((
                        slug,
                        Error::new(ErrorKind::Interrupted, "interrupted before its turn"),
                    ));
                    continue;
                }
                match lifecycle::down(&ctx, slug) {
                    Ok(removed) => {
                        if !g.json {
                            writeln!(out, "{}", down_line(slug, &removed))?;
                        }
                        report.push(serde_json::json!({"slug": slug.as_str(), "removed": removed}));
                    }
                    Err(e) => failures.push((slug, e)),
                }
            }
            if g.json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            }
            // One failure is the error; with several, name each and exit with the first's code.
            if failures.len() > 1 {
                for (slug, e) in &failures {
                    eprintln!("bottle: {slug}: {e}");
                }
            }
            if let Some((_, e)) = failures.into_iter().next() {
                return Err(e.into());
            }
            interrupted_after("the removal it had begun was finished")?;
        }
        Command::Port(a) => {
            let slug = slug_for(&prefix, &a.slug)?;
            let port = crate::input::parse_port(&a.port)?;
            let ctx = ctx(g, prefix, pool, Masker::default())?;
            let addr = lifecycle::port(&ctx, &slug, port)?;
            if g.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"container_port": port, "address": addr})
                )?;
            } else {
                writeln!(out, "{addr}")?;
            }
        }
        Command::Status(a) => {
            let slug = slug_for(&prefix, &a.slug)?;
            let ctx = ctx(g, prefix, pool, Masker::default())?;
            let bottle = lifecycle::status(&ctx, &slug)?;
            if g.json {
                writeln!(out, "{}", serde_json::to_string(&bottle)?)?;
            } else {
                write!(out, "{}", bottle.summary())?;
            }
        }
        Command::Ls => {
            let ctx = ctx(g, prefix, pool, Masker::default())?;
            let bottles = lifecycle::ls(&ctx)?;
            if g.json {
                writeln!(out, "{}", serde_json::to_string(&bottles)?)?;
            } else {
                for b in &bottles {
                    writeln!(out, "{}", b.ls_line())?;
                }
            }
        }
        Command::Gc(a) => {
            let ctx = ctx(g, prefix, pool, Masker::default())?;
            let removed = lifecycle::gc(&ctx, a.dry_run)?;
            interrupted_after("the removals it had begun were finished")?;
            if g.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"dry_run": a.dry_run, "removed": removed})
                )?;
            } else {
                let verb = if a.dry_run { "would remove" } else { "removed" };
                for c in &removed.containers {
                    writeln!(out, "{verb} container {c}")?;
                }
                for n in &removed.networks {
                    writeln!(out, "{verb} network {n}")?;
                }
            }
        }
    }
    Ok(())
}

/// What `plan` shows for the per-invocation `bottle.run` label, which `up` makes fresh each time.
const PLAN_RUN_ID: &str = "<run-id>";

/// The commands `up` runs on a clean engine with the image present: create the network on
/// candidate 0, run the bundle, read back its ports.
pub fn plan(slug: &Slug, names: &Names, spec: &Spec, pool: &Pool) -> Vec<Vec<OsString>> {
    let candidate = pool.candidate(slug.as_str(), 0);
    let net_labels = argv::network_labels(slug.as_str(), &candidate, PLAN_RUN_ID);
    let digest = spec.digest();
    let bundle_labels = argv::bundle_labels(slug.as_str(), &digest, PLAN_RUN_ID);
    let env_file = PathBuf::from("<env-file>");
    vec![
        argv::network_create(&argv::NetworkCreate {
            name: &names.network,
            candidate: &candidate,
            labels: &net_labels,
        }),
        argv::run(&argv::Run {
            name: &names.bundle,
            network: &names.network,
            ip: candidate.bundle_ip,
            spec,
            labels: &bundle_labels,
            env_file: spec.literal_env().next().map(|_| env_file.as_path()),
            pull: spec.run_pull(),
        }),
        argv::container_inspect(&names.bundle),
    ]
}

/// After a `Finish`-policy command: exit 130 if a signal arrived meanwhile.
fn interrupted_after(what: &str) -> Result<()> {
    match exec::interrupted() {
        true => Err(Error::new(
            ErrorKind::Interrupted,
            format!("interrupted; {what}"),
        )),
        false => Ok(()),
    }
}

fn down_line(slug: &Slug, removed: &lifecycle::Removed) -> String {
    let what: Vec<&str> = removed
        .containers
        .iter()
        .chain(&removed.networks)
        .map(String::as_str)
        .collect();
    match what.is_empty() {
        true => format!("bottle {slug}: already gone"),
        false => format!("bottle {slug}: removed {}", what.join(", ")),
    }
}

/// A slug whose resource names fit, checked before the engine is even resolved, so invalid input
/// is exit 2 whatever state the engine is in.
fn slug_for(prefix: &Prefix, slug: &str) -> Result<Slug> {
    let slug = Slug::parse(slug)?;
    Names::new(prefix, &slug)?;
    Ok(slug)
}

/// The masker for foreign text: the spec's `KEY=VALUE` values and the inherited values of its
/// bare `KEY`s.
fn secrets_of(spec: &Spec) -> Masker {
    Masker::new(spec.secret_values(|k| std::env::var(k).ok()))
}

fn ctx(g: &Global, prefix: Prefix, pool: Pool, masker: Masker) -> Result<Ctx> {
    let engine =
        Engine::resolve(g.engine.as_deref(), g.context.clone(), g.verbose)?.with_secrets(masker);
    Ok(Ctx {
        engine,
        prefix,
        pool,
        local: crate::host::engine_is_local(g.context.as_deref()),
    })
}
