//! The lifecycle: `up`, `down`, `status`, `port`, `ls` and `gc` against a real engine.
//!
//! Decisions come from observed state. The fast paths are optimistic (create, then look only if
//! the engine objects), and every objection that could make bottle remove, adopt or skip something
//! is confirmed by looking at the objects themselves: their exact names and their labels.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use crate::argv::{self, Filter, LABEL_ROLE, LABEL_SLUG, ROLE_BUNDLE, ROLE_NETWORK};
use crate::classify::{Class, Verb};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{self, Engine};
use crate::host;
use crate::input::{Names, Prefix, Slug};
use crate::lock::{self, Lock};
use crate::model::{self, Bottle, Container, Network, Object};
use crate::spec::Spec;
use crate::subnet::{self, Candidate, Pool};

/// Everything the lifecycle needs besides the bottle itself.
#[derive(Debug)]
pub struct Ctx {
    pub engine: Engine,
    pub prefix: Prefix,
    pub pool: Pool,
    /// The engine runs on this host: its networks share our routing table, and other bottle
    /// processes that use it share our lock directory.
    pub local: bool,
}

/// A bottle as the engine shows it: at most one bundle, and the networks with its network name
/// (more than one only on engines before 25, which allow duplicate names).
#[derive(Debug, Default)]
pub struct Observed {
    pub bundle: Option<Container>,
    pub networks: Vec<Network>,
}

impl Ctx {
    /// The per-slug lock, for a local engine.
    fn lock_slug(&self, slug: &Slug) -> Result<Option<Lock>> {
        self.lock(&format!("{}-{slug}", self.prefix.as_str()))
    }

    fn lock(&self, name: &str) -> Result<Option<Lock>> {
        if self.local {
            lock::acquire(name, &exec::interrupted, &|msg| eprintln!("bottle: {msg}"))
        } else {
            Ok(None)
        }
    }

    fn run(&self, verb: Verb, argv: Vec<OsString>) -> Result<crate::exec::Reply> {
        self.engine.run(verb, argv)
    }

    /// Look at one bottle with a single untyped `inspect` of both names.
    ///
    /// An untyped inspect answers a name with the first object of any kind that has it (container,
    /// image, volume, network, …). If anything other than our exact container and network comes
    /// back, or the engine's answer is not a plain "not found", ask each kind by exact name instead.
    pub fn observe(&self, names: &Names) -> Result<Observed> {
        let reply = self.run(
            Verb::Inspect,
            argv::inspect(&[&names.bundle, &names.network]),
        )?;
        let class = reply.class();
        if matches!(class, Class::DaemonUnreachable | Class::PermissionDenied) {
            return Err(reply.into_error());
        }
        let mut obs = Observed::default();
        let mut unclear = !matches!(class, Class::Ok | Class::NotFound);
        for object in model::parse_objects(&reply.stdout)? {
            match object {
                Object::Container(c) if c.name == names.bundle => obs.bundle = Some(c),
                Object::Network(n) if n.name == names.network => obs.networks.push(n),
                _ => unclear = true,
            }
        }
        if unclear {
            if obs.bundle.is_none() {
                obs.bundle = self.find_container(&names.bundle)?;
            }
            if obs.networks.is_empty() {
                obs.networks = self.find_networks(&names.network)?;
            }
        }
        Ok(obs)
    }

    /// The container with exactly this name, if any.
    fn find_container(&self, name: &str) -> Result<Option<Container>> {
        let reply = self
            .run(Verb::Ps, argv::ps(&[Filter::Name(name)]))?
            .check()?;
        let ids: Vec<String> = model::parse_id_names(&reply.stdout)
            .into_iter()
            .filter(|(_, n)| n.split(',').any(|n| n == name))
            .map(|(id, _)| id)
            .collect();
        let Some(id) = ids.first() else {
            return Ok(None);
        };
        let reply = self.run(Verb::ContainerInspect, argv::container_inspect(id))?;
        if reply.class() == Class::NotFound {
            return Ok(None); // removed between the two commands
        }
        let reply = reply.check()?;
        Ok(model::parse_objects(&reply.stdout)?
            .into_iter()
            .find_map(Object::into_container))
    }

    /// Every network with exactly this name (engines before 25 allow several).
    fn find_networks(&self, name: &str) -> Result<Vec<Network>> {
        let reply = self
            .run(Verb::NetworkLs, argv::network_ls(&[Filter::Name(name)]))?
            .check()?;
        let ids: Vec<String> = model::parse_id_names(&reply.stdout)
            .into_iter()
            .filter(|(_, n)| n == name)
            .map(|(id, _)| id)
            .collect();
        self.inspect_networks(&ids)
    }

    fn inspect_networks(&self, ids: &[String]) -> Result<Vec<Network>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let reply = self.run(Verb::NetworkInspect, argv::network_inspect(&ids))?;
        // A network removed between listing and inspecting is simply not there.
        if !reply.success() && reply.class() != Class::NotFound {
            return Err(reply.into_error());
        }
        Ok(model::parse_objects(&reply.stdout)?
            .into_iter()
            .filter_map(Object::into_network)
            .collect())
    }

    /// Every subnet the engine's networks use, and whether a network named `ours` is among them.
    fn taken_subnets(&self, ours: &str) -> Result<(Vec<Ipv4Network>, bool)> {
        let reply = self.run(Verb::NetworkLs, argv::network_ls(&[]))?.check()?;
        let listed = model::parse_id_names(&reply.stdout);
        let exists = listed.iter().any(|(_, n)| n == ours);
        let ids: Vec<String> = listed.into_iter().map(|(id, _)| id).collect();
        let subnets = self
            .inspect_networks(&ids)?
            .into_iter()
            .flat_map(|n| n.subnets)
            .collect();
        Ok((subnets, exists))
    }
}

/// What `up` did to the network.
enum NetworkStep {
    /// This invocation created it.
    Created(Candidate),
    Exists,
}

/// What this invocation may have created, so a failure or an interrupt can take it back.
///
/// `Pending` means a create did not tell us its result (a signal cut it short, or the engine printed
/// no ID): the engine may or may not have made the object, so the rollback looks for it by name and
/// removes it only if it carries this invocation's `bottle.run` label.
#[derive(Debug, Default, PartialEq, Eq)]
enum Made {
    #[default]
    Nothing,
    Pending,
    Id(String),
}

impl Made {
    /// From what a create printed on stdout: the last 64-hex-digit word, if any.
    fn from_stdout(stdout: &str) -> Made {
        let id = stdout
            .split_whitespace()
            .rev()
            .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()));
        id.map_or(Made::Pending, |id| Made::Id(id.to_string()))
    }
}

/// One `up` invocation.
struct Up<'a> {
    ctx: &'a Ctx,
    slug: &'a Slug,
    names: Names,
    spec: &'a Spec,
    digest: String,
    /// This invocation's `bottle.run` label value.
    run: String,
    network: Made,
    bundle: Made,
    /// An earlier bundle with another spec was removed to make room for this one.
    replaced: bool,
}

/// Bring a bottle up, or converge it to `spec`.
///
/// On failure, and on interrupt, what this invocation created is removed again: by the ID the engine
/// printed, or by name and this invocation's `bottle.run` label, and never anything else.
pub fn up(ctx: &Ctx, slug: &Slug, spec: &Spec) -> Result<Bottle> {
    let mut up = Up {
        ctx,
        slug,
        names: Names::new(&ctx.prefix, slug)?,
        spec,
        digest: spec.digest(),
        run: run_id(),
        network: Made::Nothing,
        bundle: Made::Nothing,
        replaced: false,
    };
    let _lock = ctx.lock_slug(slug)?;
    let err = match up.converge() {
        Ok(bottle) => return Ok(bottle),
        Err(err) => err,
    };
    // Never cut short: the rollback runs to the end even after a signal.
    let left = exec::finishing(|| up.roll_back());
    let mut msg = err.message().to_string();
    if up.replaced {
        msg.push_str(&format!(
            "; its previous bundle (another spec) had already been removed, so bottle `{slug}` has none now"
        ));
    }
    match (err.kind(), left.is_empty()) {
        (ErrorKind::Interrupted, true) => msg.push_str("; rolled back what this run had created"),
        (_, true) => {}
        (_, false) => msg.push_str(&format!("; could not roll back: {}", left.join("; "))),
    }
    Err(Error::new(err.kind().clone(), msg))
}

/// A fresh value for the `bottle.run` label: this process and the time, so no two invocations share
/// one. (The argv layer stays pure: this is an input to it.)
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:08x}{:08x}", std::process::id(), nanos as u32)
}

impl Up<'_> {
    fn converge(&mut self) -> Result<Bottle> {
        let (ctx, slug) = (self.ctx, self.slug);
        let mut bundle = None;
        let subnet = match self.create_network()? {
            NetworkStep::Created(c) => c.subnet,
            NetworkStep::Exists => {
                let obs = ctx.observe(&self.names)?;
                let network = settle_network(ctx, slug, &self.names, &obs)?;
                let subnet = network
                    .recorded_subnet()
                    .or_else(|| network.subnets.first().copied());
                let subnet = subnet.ok_or_else(|| {
                    let msg = format!(
                        "network `{}` has no IPv4 subnet; remove it with `bottle down {slug}`",
                        self.names.network
                    );
                    Error::new(ErrorKind::Refused, msg)
                })?;
                bundle = obs.bundle;
                subnet
            }
        };
        let ip = Ipv4Addr::from(u32::from(subnet.network()) + 2);
        if let Some(b) = bundle {
            check_bundle_is_ours(slug, &self.names, &b)?;
            if self.is_current(&b, ip) {
                return Ok(self.bottle(&b, subnet));
            }
            remove_container(ctx, &b.id)?;
            self.replaced = true;
        }
        if let Some(kept) = self.run_bundle(ip)? {
            return Ok(self.bottle(&kept, subnet));
        }
        // Read back by the ID `run` printed, if it did.
        let target = match &self.bundle {
            Made::Id(id) => id.clone(),
            _ => self.names.bundle.clone(),
        };
        let reply = ctx
            .run(Verb::ContainerInspect, argv::container_inspect(&target))?
            .check()?;
        let b = model::parse_objects(&reply.stdout)?
            .into_iter()
            .find_map(Object::into_container)
            .ok_or_else(|| {
                let msg = format!("`{}` returned no container", reply.line);
                Error::new(ErrorKind::EngineFailed, msg)
            })?;
        if b.state != "running" {
            let logs = ctx.run(Verb::Logs, argv::logs(&b.id, 20))?;
            let tail = format!("{}{}", logs.stdout, logs.stderr);
            return Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "bundle `{}` was `{}` right after start; its last output:\n{}",
                    self.names.bundle,
                    b.state,
                    ctx.engine.masker().mask(tail.trim_end())
                ),
            ));
        }
        let unpublished = self
            .spec
            .publish
            .iter()
            .find(|p| b.ports.get(p).is_none_or(Vec::is_empty));
        if let Some(port) = unpublished {
            return Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "the engine published no host port for container port {port} of `{}`",
                    self.names.bundle
                ),
            ));
        }
        Ok(self.bottle(&b, subnet))
    }

    fn bottle(&self, b: &Container, subnet: Ipv4Network) -> Bottle {
        Bottle::from_observed(self.slug.as_str(), &self.names, None, Some(b)).with_subnet(subnet)
    }

    /// Create the network on the first free candidate.
    ///
    /// When the engine refuses a candidate for any reason but "exists", look at the engine's
    /// networks once: if a racer made ours meanwhile, use it; if the engine said "overlap" or the
    /// candidate overlaps one of them, move on to the first candidate that overlaps none (kind does
    /// the same); otherwise the refusal is a real error. Engines word overlaps in several ways
    /// (with `--ip-range`, Engine 20.10 may say "networks have overlapping IPv4" or "failed to
    /// allocate gateway"), so an unknown wording is judged by the subnets.
    ///
    /// For a local engine this holds the subnet lock and reads the host's routes under it, so a
    /// bottle that another process has just created shows up as a route before we choose.
    fn create_network(&mut self) -> Result<NetworkStep> {
        let (ctx, slug) = (self.ctx, self.slug);
        let _lock = ctx.lock("subnets")?;
        let host_routes = if ctx.local {
            host::routes()
        } else {
            Vec::new()
        };
        let mut candidate = ctx.pool.pick(slug.as_str(), 0, &host_routes)?;
        loop {
            let labels = argv::network_labels(slug.as_str(), &candidate, &self.run);
            let req = argv::NetworkCreate {
                name: &self.names.network,
                candidate: &candidate,
                labels: &labels,
            };
            self.network = Made::Pending;
            let reply = ctx.run(Verb::NetworkCreate, argv::network_create(&req))?;
            let class = reply.class();
            self.network = match class {
                Class::Ok => Made::from_stdout(&reply.stdout),
                _ => Made::Nothing,
            };
            match class {
                Class::Ok => return Ok(NetworkStep::Created(candidate)),
                Class::Exists => return Ok(NetworkStep::Exists),
                Class::DaemonUnreachable | Class::PermissionDenied => {
                    return Err(reply.into_error());
                }
                _ => {
                    let (mut taken, ours_exists) = ctx.taken_subnets(&self.names.network)?;
                    if ours_exists {
                        return Ok(NetworkStep::Exists);
                    }
                    let overlap = class == Class::SubnetOverlap
                        || taken.iter().any(|t| subnet::overlaps(*t, candidate.subnet));
                    if !overlap {
                        return Err(reply.into_error());
                    }
                    taken.extend(&host_routes);
                    taken.push(candidate.subnet);
                    candidate = ctx
                        .pool
                        .pick(slug.as_str(), candidate.k + 1, &taken)
                        .map_err(|e| {
                            let msg = format!(
                                "{e} (the engine's last refusal: {})",
                                reply.quote_stderr()
                            );
                            Error::new(e.kind().clone(), msg)
                        })?;
                }
            }
        }
    }

    /// Run the bundle. A name conflict is looked at, not guessed at: a current bundle of ours is
    /// kept (and returned), a stale one replaced, a foreign one refused.
    fn run_bundle(&mut self, ip: Ipv4Addr) -> Result<Option<Container>> {
        let (ctx, slug, spec) = (self.ctx, self.slug, self.spec);
        let labels = argv::bundle_labels(slug.as_str(), &self.digest, &self.run);
        let mut built = false;
        let mut last = None;
        for _ in 0..3 {
            // Written just before each `run` and removed as soon as it returns.
            let env_file = EnvFile::write(spec)?;
            let req = argv::Run {
                name: &self.names.bundle,
                network: &self.names.network,
                ip,
                spec,
                labels: &labels,
                env_file: env_file.as_ref().map(|f| f.path()),
                pull: spec.run_pull(),
            };
            self.bundle = Made::Pending;
            let reply = ctx.run(Verb::Run, argv::run(&req))?;
            drop(env_file);
            // `run --detach` prints the new container's ID once it exists, even when the start then
            // fails (engines up to 24 leave it `Created`). Without an ID the rollback looks by name
            // and this run's label, which also covers engines that print the ID only on success.
            self.bundle = Made::from_stdout(&reply.stdout);
            match reply.class() {
                Class::Ok => return Ok(None),
                Class::NameConflict => {
                    let obs = ctx.observe(&self.names)?;
                    if let Some(b) = obs.bundle {
                        check_bundle_is_ours(slug, &self.names, &b)?;
                        if self.is_current(&b, ip) {
                            return Ok(Some(b));
                        }
                        remove_container(ctx, &b.id)?;
                        self.replaced = true;
                    }
                }
                Class::Ambiguous => {
                    // Two networks with our name (a racer on an engine before 25): keep one, retry.
                    let networks = ctx.find_networks(&self.names.network)?;
                    settle_network(
                        ctx,
                        slug,
                        &self.names,
                        &Observed {
                            bundle: None,
                            networks,
                        },
                    )?;
                    if let Made::Id(id) = &self.bundle {
                        remove_container(ctx, id)?;
                    }
                }
                Class::ImageNotFound if !built && spec.build.is_some() => {
                    let build = spec.build.as_ref().expect("checked above");
                    let req = argv::Build {
                        tag: spec.image.as_str(),
                        context: &build.context,
                        dockerfile: build.dockerfile.as_deref(),
                    };
                    ctx.engine.run_streaming(Verb::Build, argv::build(&req))?;
                    built = true;
                }
                _ => return Err(reply.into_error()),
            }
            last = Some(reply);
        }
        let last = last.map_or_else(String::new, |r| format!(": {}", r.quote_stderr()));
        Err(Error::new(
            ErrorKind::EngineFailed,
            format!(
                "gave up running `{}` after 3 attempts; is another `bottle up {slug}` running? The engine's last answer{last}",
                self.names.bundle
            ),
        ))
    }

    /// Running, on our network at the pinned IP, with the same spec digest, and with the env values
    /// the spec asks for. Env values are compared against the engine's own record instead of being
    /// hashed into the label, so no function of a secret ever enters an argv.
    fn is_current(&self, b: &Container, ip: Ipv4Addr) -> bool {
        b.state == "running"
            && b.spec_digest() == Some(self.digest.as_str())
            && b.networks
                .get(&self.names.network)
                .is_some_and(|a| *a == ip.to_string())
            && self.spec.env_matches(&b.env, |k| std::env::var(k).ok())
    }

    /// Remove what this invocation made. Returns what could not be removed, for the error message.
    fn roll_back(&self) -> Vec<String> {
        let (ctx, slug) = (self.ctx, self.slug);
        let mut left = Vec::new();
        let mut note = |what: &str, r: Result<()>| {
            if let Err(e) = r {
                left.push(format!("{what}: {e}"));
            }
        };
        match &self.bundle {
            Made::Nothing => {}
            Made::Id(id) => note(
                &format!("container `{}`", self.names.bundle),
                remove_container(ctx, id),
            ),
            Made::Pending => {
                let found = ctx.find_container(&self.names.bundle);
                let r = found.and_then(|b| match b {
                    Some(b) if b.is_bundle_of(slug.as_str()) && b.created_by(&self.run) => {
                        remove_container(ctx, &b.id)
                    }
                    _ => Ok(()),
                });
                note(&format!("container `{}`", self.names.bundle), r);
            }
        }
        let network = &self.names.network;
        match &self.network {
            Made::Nothing => {}
            Made::Id(id) => note(
                &format!("network `{network}`"),
                remove_network(ctx, network, id),
            ),
            Made::Pending => {
                let found = ctx.find_networks(network);
                let r = found.and_then(|ns| {
                    ns.iter()
                        .filter(|n| n.is_network_of(slug.as_str()) && n.created_by(&self.run))
                        .try_for_each(|n| remove_network(ctx, network, &n.id))
                });
                note(&format!("network `{network}`"), r);
            }
        }
        left
    }
}

/// Remove a container by ID. Already gone counts as removed.
fn remove_container(ctx: &Ctx, id: &str) -> Result<()> {
    let reply = ctx.run(Verb::Rm, argv::rm(id))?;
    match reply.class() {
        Class::Ok | Class::NotFound => Ok(()),
        _ => Err(reply.into_error()),
    }
}

fn check_bundle_is_ours(slug: &Slug, names: &Names, b: &Container) -> Result<()> {
    if b.is_bundle_of(slug.as_str()) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Refused,
        format!(
            "container `{}` exists but lacks bottle's labels ({LABEL_SLUG}={slug}, {LABEL_ROLE}={ROLE_BUNDLE}); bottle will not touch it: remove or rename it yourself, or use another --prefix",
            names.bundle
        ),
    ))
}

fn check_network_is_ours(slug: &Slug, n: &Network) -> Result<()> {
    if n.is_network_of(slug.as_str()) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Refused,
        format!(
            "network `{}` exists but lacks bottle's labels ({LABEL_SLUG}={slug}, {LABEL_ROLE}={ROLE_NETWORK}); bottle will not touch it: remove or rename it yourself, or use another --prefix",
            n.name
        ),
    ))
}

/// The network of this bottle among `obs.networks`, all of which must be ours. With duplicates
/// (engines before 25), the one the bundle is on, else the lowest ID, so racers agree.
fn our_network<'a>(slug: &Slug, names: &Names, obs: &'a Observed) -> Result<&'a Network> {
    for n in &obs.networks {
        check_network_is_ours(slug, n)?;
    }
    let on_bundle = |n: &&Network| {
        obs.bundle
            .as_ref()
            .is_some_and(|b| n.containers.contains_key(&b.id))
    };
    let lowest_id = || obs.networks.iter().min_by(|a, b| a.id.cmp(&b.id));
    obs.networks
        .iter()
        .find(on_bundle)
        .or_else(lowest_id)
        .ok_or_else(|| {
            let msg = format!(
                "network `{}` vanished while `up` was using it; was `bottle down {slug}` running?",
                names.network
            );
            Error::new(ErrorKind::EngineFailed, msg)
        })
}

/// [`our_network`], after removing its empty duplicates.
fn settle_network<'a>(
    ctx: &Ctx,
    slug: &Slug,
    names: &Names,
    obs: &'a Observed,
) -> Result<&'a Network> {
    let keep = our_network(slug, names, obs)?;
    for dup in obs
        .networks
        .iter()
        .filter(|n| n.id != keep.id && n.containers.is_empty())
    {
        remove_network(ctx, &dup.name, &dup.id)?;
    }
    Ok(keep)
}

/// The private env-file for `KEY=VALUE` entries: mode 0600 in a fresh 0700 directory, removed
/// when dropped, which `up` does as soon as the engine has read it.
struct EnvFile {
    path: std::path::PathBuf,
    // Removes the directory, and the file in it, on drop.
    _dir: tempfile::TempDir,
}

impl EnvFile {
    fn write(spec: &Spec) -> Result<Option<EnvFile>> {
        use std::os::unix::fs::OpenOptionsExt;
        if spec.literal_env().next().is_none() {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("bottle-")
            .tempdir()
            .map_err(|e| Error::io("cannot create a private directory for the env-file", e))?;
        let env_file = EnvFile {
            path: dir.path().join("env"),
            _dir: dir,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(env_file.path())
            .map_err(|e| Error::io("cannot create the env-file", e))?;
        let mut text = String::new();
        for (key, value) in spec.literal_env() {
            text.push_str(&format!("{}={}\n", key.as_str(), value.expose()));
        }
        file.write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write the env-file", e))?;
        Ok(Some(env_file))
    }

    fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// What `down` removed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

/// Take a bottle down: the bundle first, then the network. A bottle that is gone, or half-built,
/// is a success.
pub fn down(ctx: &Ctx, slug: &Slug) -> Result<Removed> {
    let names = Names::new(&ctx.prefix, slug)?;
    let _lock = ctx.lock_slug(slug)?;
    let obs = ctx.observe(&names)?;
    if let Some(b) = &obs.bundle {
        check_bundle_is_ours(slug, &names, b)?;
    }
    for n in &obs.networks {
        check_network_is_ours(slug, n)?;
    }
    // Refuse before touching anything, so a refusal never leaves a half-built bottle.
    let bundle_id = obs.bundle.as_ref().map(|b| b.id.as_str());
    for n in &obs.networks {
        check_no_foreign_containers(n, bundle_id)?;
    }
    let mut removed = Removed::default();
    if let Some(b) = &obs.bundle {
        // By ID, so a container that took the name meanwhile is not the one removed.
        remove_container(ctx, &b.id)?;
        removed.containers.push(b.name.clone());
    }
    for n in &obs.networks {
        remove_network(ctx, &n.name, &n.id)?;
        removed.networks.push(n.name.clone());
    }
    Ok(removed)
}

/// Remove a network by ID. "Not found" counts as removed only once a look by ID confirms it is gone
/// (the classifier alone never decides that); "in use" names the containers still attached.
fn remove_network(ctx: &Ctx, name: &str, id: &str) -> Result<()> {
    let reply = ctx.run(Verb::NetworkRm, argv::network_rm(&[id]))?;
    match reply.class() {
        Class::Ok => Ok(()),
        Class::NotFound if ctx.inspect_networks(&[id.to_string()])?.is_empty() => Ok(()),
        Class::InUse => {
            let now = ctx.inspect_networks(&[id.to_string()])?;
            let attached: Vec<&str> = now
                .iter()
                .flat_map(|n| n.containers.values())
                .map(String::as_str)
                .collect();
            match attached.is_empty() {
                true => Err(reply.into_error()),
                false => Err(attached_error(name, &attached)),
            }
        }
        _ => Err(reply.into_error()),
    }
}

/// Refuse while containers other than our bundle are on `n`.
fn check_no_foreign_containers(n: &Network, our_bundle: Option<&str>) -> Result<()> {
    let foreign: Vec<&str> = n
        .containers
        .iter()
        .filter(|(id, _)| Some(id.as_str()) != our_bundle)
        .map(|(_, name)| name.as_str())
        .collect();
    match foreign.is_empty() {
        true => Ok(()),
        false => Err(attached_error(&n.name, &foreign)),
    }
}

fn attached_error(network: &str, containers: &[&str]) -> Error {
    let first = containers.first().copied().unwrap_or("CONTAINER");
    Error::new(
        ErrorKind::Refused,
        format!(
            "network `{network}` still has containers that bottle did not start: {}; detach them (e.g. `docker network disconnect {network} {first}`) and run `bottle down` again",
            containers
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// The bottle object of one slug, or [`ErrorKind::NotFound`].
pub fn status(ctx: &Ctx, slug: &Slug) -> Result<Bottle> {
    let names = Names::new(&ctx.prefix, slug)?;
    let obs = ctx.observe(&names)?;
    if obs.bundle.is_none() && obs.networks.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "bottle `{slug}` does not exist: no network `{}` and no container `{}`",
                names.network, names.bundle
            ),
        ));
    }
    if let Some(b) = &obs.bundle {
        check_bundle_is_ours(slug, &names, b)?;
    }
    let network = match obs.networks.is_empty() {
        true => None,
        false => Some(our_network(slug, &names, &obs)?),
    };
    Ok(Bottle::from_observed(
        slug.as_str(),
        &names,
        network,
        obs.bundle.as_ref(),
    ))
}

/// `HOST_IP:HOST_PORT` of the bundle's published container port.
pub fn port(ctx: &Ctx, slug: &Slug, port: u16) -> Result<String> {
    let names = Names::new(&ctx.prefix, slug)?;
    let reply = ctx.run(
        Verb::ContainerInspect,
        argv::container_inspect(&names.bundle),
    )?;
    if reply.class() == Class::NotFound {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "bottle `{slug}` has no bundle (container `{}` does not exist); run `bottle up {slug}`",
                names.bundle
            ),
        ));
    }
    let reply = reply.check()?;
    let b = model::parse_objects(&reply.stdout)?
        .into_iter()
        .find_map(|o| match o {
            Object::Container(c) if c.name == names.bundle => Some(c),
            _ => None,
        })
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no container `{}`", names.bundle),
            )
        })?;
    check_bundle_is_ours(slug, &names, &b)?;
    match b.ports.get(&port).and_then(|bs| bs.first()) {
        Some(bd) => Ok(model::host_port(&bd.host_ip, bd.host_port)),
        None => {
            let published: Vec<String> = b
                .ports
                .iter()
                .filter(|(_, bs)| !bs.is_empty())
                .map(|(p, _)| p.to_string())
                .collect();
            Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "container port {port} of bottle `{slug}` is not published{}; publish it with `bottle up {slug} -p {port}`",
                    if published.is_empty() {
                        " (the bundle publishes none, or is not running)".to_string()
                    } else {
                        format!(" (published: {})", published.join(", "))
                    }
                ),
            ))
        }
    }
}

/// Every bottle of this prefix, by slug, with what exists of it.
pub fn list(ctx: &Ctx) -> Result<BTreeMap<Slug, Observed>> {
    let prefix = ctx.prefix.as_str();
    let bundle_re = format!("{prefix}-sidecars-");
    let network_re = format!("{prefix}-bundle-");
    let ps = ctx
        .run(
            Verb::Ps,
            argv::ps(&[
                Filter::Label(LABEL_ROLE, ROLE_BUNDLE),
                Filter::NamePrefix(&bundle_re),
            ]),
        )?
        .check()?;
    let nets = ctx
        .run(
            Verb::NetworkLs,
            argv::network_ls(&[
                Filter::Label(LABEL_ROLE, ROLE_NETWORK),
                Filter::NamePrefix(&network_re),
            ]),
        )?
        .check()?;
    let ids: Vec<String> = model::parse_id_names(&ps.stdout)
        .into_iter()
        .chain(model::parse_id_names(&nets.stdout))
        .map(|(id, _)| id)
        .collect();
    let mut out: BTreeMap<Slug, Observed> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let reply = ctx.run(Verb::Inspect, argv::inspect(&id_refs))?;
    if !reply.success() && reply.class() != Class::NotFound {
        return Err(reply.into_error());
    }
    for object in model::parse_objects(&reply.stdout)? {
        match object {
            Object::Container(c) => {
                if let Some(slug) = owner(&ctx.prefix, &c.labels, |n| n.bundle == c.name)
                    && c.is_bundle_of(slug.as_str())
                {
                    out.entry(slug).or_default().bundle = Some(c);
                }
            }
            Object::Network(n) => {
                if let Some(slug) = owner(&ctx.prefix, &n.labels, |ns| ns.network == n.name)
                    && n.is_network_of(slug.as_str())
                {
                    out.entry(slug).or_default().networks.push(n);
                }
            }
            Object::Other => {}
        }
    }
    Ok(out)
}

/// The slug of a labelled object whose name is exactly what this prefix and slug give.
fn owner(
    prefix: &Prefix,
    labels: &BTreeMap<String, String>,
    is_named: impl Fn(&Names) -> bool,
) -> Option<Slug> {
    let slug = Slug::parse(labels.get(LABEL_SLUG)?).ok()?;
    let names = Names::new(prefix, &slug).ok()?;
    is_named(&names).then_some(slug)
}

/// The bottle objects of [`list`].
pub fn ls(ctx: &Ctx) -> Result<Vec<Bottle>> {
    Ok(list(ctx)?
        .iter()
        .map(|(slug, obs)| {
            let names = Names::new(&ctx.prefix, slug).expect("listed names are valid");
            Bottle::from_observed(
                slug.as_str(),
                &names,
                obs.networks.first(),
                obs.bundle.as_ref(),
            )
        })
        .collect())
}

/// Bundle states `gc` leaves alone: a paused or restarting bundle is somebody's, not a leftover.
const LIVE_STATES: &[&str] = &["running", "paused", "restarting"];

/// Remove leftovers: bundles that are not running, and networks with no bundle (including those
/// whose bundle this run removes). Returns what was (or, with `dry_run`, would be) removed.
pub fn gc(ctx: &Ctx, dry_run: bool) -> Result<Removed> {
    let mut removed = Removed::default();
    for (slug, listed) in list(ctx)? {
        if exec::interrupted() {
            break;
        }
        // Under the slug's lock, look again: an `up` may have finished since the listing.
        let _lock = ctx.lock_slug(&slug)?;
        let obs = match ctx.local {
            true => ctx.observe(&Names::new(&ctx.prefix, &slug)?)?,
            false => listed,
        };
        if obs
            .bundle
            .as_ref()
            .is_some_and(|b| !b.is_bundle_of(slug.as_str()))
            || obs.networks.iter().any(|n| !n.is_network_of(slug.as_str()))
        {
            continue;
        }
        let bundle_id = obs.bundle.as_ref().map(|b| b.id.as_str());
        if let Some(b) = &obs.bundle {
            if LIVE_STATES.contains(&b.state.as_str()) {
                continue;
            }
            if !dry_run {
                remove_container(ctx, &b.id)?;
            }
            removed.containers.push(b.name.clone());
        }
        for n in &obs.networks {
            check_no_foreign_containers(n, bundle_id)?;
            if !dry_run {
                remove_network(ctx, &n.name, &n.id)?;
            }
            removed.networks.push(n.name.clone());
        }
    }
    Ok(removed)
}
