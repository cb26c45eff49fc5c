//! The lifecycle: `up`, `down`, `status`, `port`, `ls` and `gc` against a real engine.
//!
//! Deciding is apart from doing. [`decide`] maps what the engine showed (plus this run's identity
//! and spec) to the next step, as pure functions; the other modules observe, ask it, and apply:
//! [`up`] and its rollback [`journal`], [`down`], [`read`] (`status`, `port`, `ls`) and [`gc`];
//! [`many`] works on several bottles at once. This
//! module holds what they share: the context, and the few primitives that look at or remove one
//! object. Every objection that could make bottle remove, adopt or skip something is confirmed by
//! looking at the objects themselves, by exact name and labels, never by an error's wording alone.

pub mod change;
mod claims;
pub mod decide;
pub mod down;
pub mod events;
pub mod gc;
pub mod journal;
mod loopback;
pub mod many;
mod ports;
pub mod read;
pub mod up;
pub mod volumes;
pub mod watch;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use ipnetwork::Ipv4Network;

pub(crate) use crate::environment::Environment;

use crate::argv::{self, Filter, LABEL_ROLE, LABEL_RUN, LABEL_SLUG, ROLE_BUNDLE, ROLE_NETWORK};
use crate::classify::{Class, Verb};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{self, Engine, Flavor, Reply};
use crate::input::{Names, Prefix, Slug};
use crate::lock::{self, Lock};
use crate::model::{self, Container, Network, Object};
use crate::spec::Spec;
use crate::subnet::Pool;

pub use crate::model::Removed;
pub use change::{change, resume};
pub use decide::{Action, Change, ReplaceReason, SpecField};
pub use down::{down, down_with};
pub use gc::gc_parallel;
pub(crate) use read::{bundle, published};
pub use read::{list, ls, status};
pub use up::{UpOutcome, up};

/// The longest `up`, `down` or `gc` waits for another bottle process's lock before it goes on
/// without it.
const LOCK_PATIENCE: Duration = Duration::from_secs(10);

/// How long removing a container waits for a removal that another process began.
const REMOVAL_WAIT: Duration = Duration::from_secs(20);
const REMOVAL_POLL: Duration = Duration::from_millis(100);

/// How many times `network rm` is run on a network that was refused as in use but showed nothing
/// attached when looked at (its last endpoint left in between).
const NETWORK_RM_TRIES: usize = 3;

/// Seconds since the Unix epoch, for [`decide::stale_created`] (the decision stays pure: the time
/// is an input).
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Seconds since the epoch, rounded up: a lease's expiry (written to the second) is never before
/// `now + ttl`.
fn now_ceil() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64 + i64::from(d.subsec_nanos() > 0))
}

/// Everything the lifecycle needs besides the bottle itself.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub engine: Engine,
    pub prefix: Prefix,
    pub pool: Pool,
    /// Where bare env keys take their values from (see [`crate::Bottles::environment`]).
    pub environment: Environment,
    /// Whether the engine is local as either flavor, read when the handle was made (see
    /// [`Ctx::local`]).
    pub locality: crate::exec::Locality,
    /// Where the lock files go, found when the context was made.
    pub locks: lock::Location,
}

impl Ctx {
    /// The engine runs on this host: its networks share our routing table, and other bottle
    /// processes that use it share our lock directory. The environment and files that say so
    /// were read when the handle was made; the flavor is learnt when a call first needs it (it
    /// may run `version`, bounded and cancellable: see [`Engine::flavor`]), never when the
    /// handle is made, and kept by the engine.
    pub fn local(&self) -> bool {
        self.locality.of(self.engine.flavor())
    }

    /// The host whose ports this engine publishes on, for [`claims`]: this one for every local
    /// engine (empty), else the engine itself (its program and context).
    fn claim_scope(&self) -> String {
        match self.local() {
            true => String::new(),
            false => self.engine.identity(),
        }
    }
}

/// A bottle as the engine shows it: at most one bundle, and the networks with its network name
/// (more than one only on engines before 25, which allow duplicate names).
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub bundle: Option<Container>,
    pub networks: Vec<Network>,
    /// Containers carrying the bottle's bundle labels under another name (see
    /// [`decide::is_stray`]). Only a listing (`ls`, `gc`, `down --all`) finds them this way;
    /// `down` of one slug finds those on the network by their labels.
    pub strays: Vec<Container>,
}

impl Observed {
    /// What was seen, as `container `NAME`` / `network `NAME``, for a message about what is left.
    pub(crate) fn names(&self) -> Vec<String> {
        let bundle = self
            .bundle
            .iter()
            .map(|b| format!("container `{}`", b.name));
        let strays = self
            .strays
            .iter()
            .map(|s| format!("container `{}`", s.name));
        let networks = self
            .networks
            .iter()
            .map(|n| format!("network `{}`", n.name));
        bundle.chain(strays).chain(networks).collect()
    }

    /// Refuse, before anything is touched, a bottle whose bundle or any of whose networks lacks
    /// bottle's labels for `slug`: bottle never removes or adopts what is not its own. Every
    /// command that works on an observed bottle (`up`, `down`, `status`) checks through here.
    fn check_ours(&self, slug: &Slug, names: &Names) -> Result<()> {
        if let Some(b) = &self.bundle {
            check_bundle_is_ours(slug, names, b)?;
        }
        for n in &self.networks {
            check_network_is_ours(slug, n)?;
        }
        Ok(())
    }
}

impl Ctx {
    /// The same context, for work on the bottle `slug`: its events name it.
    pub fn for_slug(&self, slug: &Slug) -> Ctx {
        Ctx {
            engine: self.engine.clone().with_slug(slug),
            ..self.clone()
        }
    }

    /// The same context, for work that must run to the end: its commands ignore the first
    /// cancel, and a second one stops them (rollback, `down`, `gc`).
    pub fn finishing(&self) -> Ctx {
        Ctx {
            engine: self.engine.finishing(),
            ..self.clone()
        }
    }

    /// The per-slug lock, for a local engine. Locks only spare the engine some work: every race
    /// they prevent is also handled from what the engine shows.
    fn lock_slug(&self, slug: &Slug) -> Result<Option<Lock>> {
        // `up`, `down` and `gc` take it before they change anything, so a wait for it that a
        // signal ends has changed nothing (a later lock's caller says what it had done).
        self.lock(&format!("{}-{slug}", self.prefix.as_str()))
            .map_err(|e| match e.kind() {
                ErrorKind::Interrupted => {
                    let msg = format!("{}; nothing was changed", e.message());
                    e.with_message(msg)
                }
                _ => e,
            })
    }

    fn lock(&self, name: &str) -> Result<Option<Lock>> {
        if !self.local() {
            return Ok(None);
        }
        let token = self.engine.cancel_token();
        let cancelled = || token.is_cancelled();
        let on_wait = |what: &str| {
            self.engine.emit(&crate::exec::Event::Waiting {
                what,
                slug: self.engine.slug(),
            });
        };
        // `--timeout` bounds a wait for a lock as it bounds a command, and so does
        // [`LOCK_PATIENCE`]: the lock only spares the engine some work.
        let patience = LOCK_PATIENCE.min(self.engine.timeout());
        lock::acquire_at(&self.locks, name, patience, &cancelled, &on_wait)
    }

    fn run(&self, verb: Verb, argv: Vec<OsString>) -> Result<Reply> {
        self.engine.run(verb, argv)
    }

    /// Parse an inspect's JSON, or fail naming the command: output bottle cannot read is an
    /// error, never an empty success. An inspect that exited 0 found every name it was given, so
    /// it must have printed at least one object; one that failed may have printed none.
    fn objects(&self, reply: &Reply) -> Result<Vec<Object>> {
        let empty = match reply.success() {
            true => model::Empty::Error,
            false => model::Empty::Allowed,
        };
        model::parse_json_objects(&reply.line, &reply.stdout, empty)
    }

    /// The `ID<TAB>NAME` lines of a `ps` or `network ls`, or fail naming the command: a line
    /// bottle cannot read is an error, never an empty listing.
    fn id_names(&self, reply: &Reply) -> Result<Vec<(String, String)>> {
        model::parse_id_names_of(&reply.line, &reply.stdout)
    }

    /// Look at one bottle with a single untyped `inspect` of both names.
    ///
    /// An untyped inspect answers a name with the first object of any kind that has it (container,
    /// image, volume, network, …). If anything other than our exact container and network comes
    /// back, or the engine's answer is not a plain "not found", ask each kind by exact name instead.
    pub fn observe(&self, names: &Names) -> Result<Observed> {
        // Podman's untyped inspect resolves every name after the first as a container, so it
        // never finds the network: ask each kind (podman refuses duplicate network names).
        if self.engine.flavor() == Flavor::Podman {
            return Ok(Observed {
                bundle: self.inspect_container(&names.bundle)?,
                networks: self.inspect_networks(std::slice::from_ref(&names.network))?,
                strays: Vec::new(),
            });
        }
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
        for object in self.objects(&reply)? {
            match object {
                Object::Container(c) if c.name == names.bundle => obs.bundle = Some(c),
                Object::Network(n) if n.name == names.network => obs.networks.push(n),
                _ => unclear = true,
            }
        }
        self.fill_attached(&mut obs.networks)?;
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

    /// The container with this exact name or ID, by a typed inspect; `None` if there is none.
    fn inspect_container(&self, name_or_id: &str) -> Result<Option<Container>> {
        let reply = self.run(Verb::ContainerInspect, argv::container_inspect(name_or_id))?;
        if reply.class() == Class::NotFound {
            return Ok(None);
        }
        let reply = reply.check()?;
        let found = self
            .objects(&reply)?
            .into_iter()
            .find_map(Object::into_container);
        found.map(Some).ok_or_else(|| {
            let msg = format!("`{}` printed an object that is not a container", reply.line);
            Error::new(ErrorKind::EngineFailed, msg)
        })
    }

    /// The container with exactly this name, if any.
    fn find_container(&self, name: &str) -> Result<Option<Container>> {
        let reply = self
            .run(Verb::Ps, argv::ps(&[Filter::Name(name)]))?
            .check()?;
        let id = self
            .id_names(&reply)?
            .into_iter()
            .find(|(_, n)| n.split(',').any(|n| n == name))
            .map(|(id, _)| id);
        match id {
            // Removed between the two commands: simply not there.
            Some(id) => self.inspect_container(&id),
            None => Ok(None),
        }
    }

    /// The containers on the bottle's networks besides its bundle, sorted by their labels (see
    /// [`decide::sort_attached`]). Costs one `container inspect`, and only when there are any.
    fn attached(&self, slug: &Slug, obs: &Observed) -> Result<decide::Attached> {
        let bundle_id = obs.bundle.as_ref().map(|b| b.id.as_str());
        let on: std::collections::BTreeMap<String, String> = obs
            .networks
            .iter()
            .flat_map(|n| n.containers.clone())
            .filter(|(id, _)| Some(id.as_str()) != bundle_id)
            .collect();
        if on.is_empty() {
            return Ok(decide::Attached::default());
        }
        let ids: Vec<String> = on.keys().cloned().collect();
        let inspected = self.inspect_containers(&ids)?;
        Ok(decide::sort_attached(
            slug.as_str(),
            bundle_id,
            &on,
            &inspected,
        ))
    }

    /// The bundle that the `up` with this `bottle.run` label made, whatever its name now; `None`
    /// if there is none.
    fn find_run_bundle(&self, run: &str) -> Result<Option<Container>> {
        let reply = self
            .run(Verb::Ps, argv::ps(&[Filter::Label(LABEL_RUN, run)]))?
            .check()?;
        for (id, _) in self.id_names(&reply)? {
            // Removed between the two commands: simply not there.
            if let Some(c) = self.inspect_container(&id)?
                && c.created_by(run)
                && c.labels.get(LABEL_ROLE).is_some_and(|r| r == ROLE_BUNDLE)
            {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Every network with exactly this name (engines before 25 allow several).
    fn find_networks(&self, name: &str) -> Result<Vec<Network>> {
        let reply = self
            .run(Verb::NetworkLs, argv::network_ls(&[Filter::Name(name)]))?
            .check()?;
        let ids: Vec<String> = self
            .id_names(&reply)?
            .into_iter()
            .filter(|(_, n)| n == name)
            .map(|(id, _)| id)
            .collect();
        self.inspect_networks(&ids)
    }

    /// The networks with these IDs (or names), with their attached containers.
    fn inspect_networks(&self, ids: &[String]) -> Result<Vec<Network>> {
        let mut networks = self.inspect_networks_only(ids)?;
        self.fill_attached(&mut networks)?;
        Ok(networks)
    }

    /// The networks with these IDs (or names) as `network inspect` shows them: on native podman
    /// without their attached containers, which cost a command each (see [`Ctx::fill_attached`]).
    fn inspect_networks_only(&self, ids: &[String]) -> Result<Vec<Network>> {
        let objects = self.inspect_listed(Verb::NetworkInspect, ids, argv::network_inspect)?;
        Ok(objects
            .into_iter()
            .filter_map(Object::into_network)
            .collect())
    }

    /// The containers with these IDs (or names), by one typed `container inspect`.
    fn inspect_containers(&self, ids: &[String]) -> Result<Vec<Container>> {
        let objects = self.inspect_listed(Verb::ContainerInspect, ids, argv::containers_inspect)?;
        Ok(objects
            .into_iter()
            .filter_map(Object::into_container)
            .collect())
    }

    /// The objects behind IDs (or names) that a listing gave, by one inspect: no command when
    /// there are none. One removed since it was listed is simply not there: the engine prints the
    /// others and fails with "not found", which is no error here; any other failure is.
    fn inspect_listed(
        &self,
        verb: Verb,
        ids: &[String],
        argv: fn(&[&str]) -> Vec<OsString>,
    ) -> Result<Vec<Object>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let reply = self.run(verb, argv(&ids))?;
        if !reply.success() && reply.class() != Class::NotFound {
            return Err(reply.into_error());
        }
        self.objects(&reply)
    }

    /// [`Ctx::fill_attached`] for the networks among `objects`.
    fn fill_attached_objects(&self, objects: &mut [Object]) -> Result<()> {
        for o in objects.iter_mut() {
            if let Object::Network(n) = o {
                self.fill_attached(std::slice::from_mut(n))?;
            }
        }
        Ok(())
    }

    /// Podman's own network JSON does not list attached containers: ask `ps --filter network=`,
    /// one command per such network (docker's, and podman's through its socket, list them).
    fn fill_attached(&self, networks: &mut [Network]) -> Result<()> {
        for n in networks.iter_mut().filter(|n| !n.containers_listed) {
            let reply = self
                .run(Verb::Ps, argv::ps(&[Filter::Network(&n.name)]))?
                .check()?;
            n.containers = self.id_names(&reply)?.into_iter().collect();
            n.containers_listed = true;
        }
        Ok(())
    }

    /// Every subnet the engine's networks use, and whether a network named `ours` is among them.
    pub(crate) fn taken_subnets(&self, ours: &str) -> Result<(Vec<Ipv4Network>, bool)> {
        let reply = self.run(Verb::NetworkLs, argv::network_ls(&[]))?.check()?;
        let listed = self.id_names(&reply)?;
        let exists = listed.iter().any(|(_, n)| n == ours);
        let ids: Vec<String> = listed.into_iter().map(|(id, _)| id).collect();
        let subnets = self
            .inspect_networks_only(&ids)?
            .into_iter()
            .flat_map(|n| n.subnets)
            .collect();
        Ok((subnets, exists))
    }

    /// Remove a container by ID. Already gone counts as removed, and so does a removal that
    /// another process began first (two `down`s, `gc` and `down`, or two `up`s replacing one
    /// bundle race like this without locks): the engine refuses the second `rm` ("removal … is
    /// already in progress"), so look at the container and wait, bounded, until it is gone. What
    /// it is decides, never the refusal's wording.
    fn remove_container(&self, id: &str) -> Result<()> {
        self.remove_container_by(id, true).map(drop)
    }

    /// For `gc`: remove a bundle only while it is stopped (no `--force`). The engine refuses to
    /// remove a running or paused container then, so a bundle that an `up` started after `gc`
    /// looked stays: `false` (the bottle is live again).
    fn remove_stopped_container(&self, id: &str) -> Result<bool> {
        self.remove_container_by(id, false)
    }

    /// Run one `rm` (with `--force`, or without for `gc`) and judge a refusal by what the
    /// container is now ([`decide::after_rm`]): gone is removed (`true`), one being removed (its
    /// state says so, or the refusal said so and it still exists) is waited for, a live one that
    /// `rm` without `--force` refused stays (`false`); anything else is the engine's error.
    fn remove_container_by(&self, id: &str, force: bool) -> Result<bool> {
        let rm = match force {
            true => argv::rm(id, self.engine.flavor()),
            false => argv::rm_stopped(id),
        };
        let reply = self.run(Verb::Rm, rm)?;
        match reply.class() {
            Class::Ok | Class::NotFound => return Ok(true),
            Class::DaemonUnreachable | Class::PermissionDenied => return Err(reply.into_error()),
            _ => {}
        }
        let class = reply.class();
        let deadline = Instant::now() + REMOVAL_WAIT.min(self.engine.timeout());
        loop {
            let now = self.inspect_container(id)?;
            let state = now.as_ref().map(|c| c.state.as_str());
            match decide::after_rm(class, force, state, Instant::now() < deadline) {
                decide::AfterRm::Gone => return Ok(true),
                decide::AfterRm::Wait => {
                    self.engine.check_cancel()?;
                    std::thread::sleep(REMOVAL_POLL);
                }
                decide::AfterRm::Kept => return Ok(false),
                decide::AfterRm::Fail => return Err(reply.into_error()),
            }
        }
    }

    /// For `gc`: remove a leftover network, unless the bottle's bundle is on it by now (an `up`
    /// ran it after `gc` looked): `false` then. Other containers on it are an error, as for `down`.
    fn remove_leftover_network(&self, n: &Network, bundle: &str) -> Result<bool> {
        match self.remove_network(&n.name, &n.id) {
            Ok(()) => Ok(true),
            Err(e) if *e.kind() == ErrorKind::Refused => {
                let now = self.inspect_networks(std::slice::from_ref(&n.id))?;
                let live = now
                    .iter()
                    .any(|n| n.containers.values().any(|name| name == bundle));
                match live {
                    true => Ok(false),
                    false => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Remove a network by ID. A refusal is judged by a look by ID ([`decide::after_network_rm`]):
    /// "not found" or "in use" of a network the look no longer shows is removed (a racing `down`
    /// removed it; the classifier alone never decides that); "in use" of one that nothing is
    /// attached to any more is tried again (the last endpoint left meanwhile); "in use" names the
    /// containers still attached.
    fn remove_network(&self, name: &str, id: &str) -> Result<()> {
        let mut tries = 1;
        loop {
            let reply = self.run(Verb::NetworkRm, argv::network_rm(&[id]))?;
            let class = reply.class();
            match class {
                Class::Ok => return Ok(()),
                Class::NotFound | Class::InUse => {}
                _ => return Err(reply.into_error()),
            }
            let now = self.inspect_networks(&[id.to_string()])?;
            let attached: Vec<&str> = now
                .iter()
                .flat_map(|n| n.containers.values())
                .map(String::as_str)
                .collect();
            let shown = now.first().map(|_| attached.len());
            match decide::after_network_rm(class, shown, tries < NETWORK_RM_TRIES) {
                decide::AfterNetworkRm::Gone => return Ok(()),
                decide::AfterNetworkRm::Again => tries += 1,
                decide::AfterNetworkRm::Attached => {
                    return Err(attached_error(
                        self.engine.flavor(),
                        name,
                        &attached,
                        "down",
                    ));
                }
                decide::AfterNetworkRm::Fail => return Err(reply.into_error()),
            }
        }
    }
}

/// What `plan` shows for the per-invocation `bottle.run` label, which `up` makes fresh each time.
const PLAN_RUN_ID: &str = "<run-id>";

/// The commands `up` runs on a clean engine with the image present: create the network on
/// candidate 0, make the spec's named volumes (labelled for the bottle), run the bundle, read back
/// its ports. `has_env`: whether the env-file has any line (see `up::env_lines`).
pub(crate) fn plan(
    prefix: &Prefix,
    slug: &Slug,
    names: &Names,
    spec: &Spec,
    pool: &Pool,
    has_env: bool,
) -> Vec<Vec<OsString>> {
    let candidate = pool.candidate(slug.as_str(), 0);
    let net_labels = argv::network_labels(slug.as_str(), &candidate, PLAN_RUN_ID);
    let digest = spec.digest();
    // The expiry is `up`'s clock plus the lease; `plan` runs nothing and shows it so.
    let lease = spec.ttl.map(|ttl| argv::Lease {
        expires: format!("<now+{}s>", ttl.as_secs()),
        ttl: ttl.as_secs(),
    });
    let mut bundle_labels =
        argv::bundle_labels(slug.as_str(), &digest, spec, PLAN_RUN_ID, lease.as_ref());
    // On a clean engine nothing holds an endpoint: each port's candidate 0.
    let wanted: Vec<_> = spec.publish.iter().copied().collect();
    let host_ports = crate::endpoints::settle(
        slug.as_str(),
        spec.publish_ip,
        &wanted,
        &Default::default(),
        &[],
    )
    .unwrap_or_default();
    if !host_ports.is_empty() {
        bundle_labels.insert(
            argv::LABEL_ENDPOINTS.to_string(),
            crate::endpoints::label(spec.publish_ip, &host_ports),
        );
    }
    let volume_labels = argv::volume_labels(prefix.as_str(), slug.as_str());
    let volumes = spec
        .volumes
        .iter()
        .filter(|v| v.is_named())
        .map(|v| argv::volume_create(&v.host, &volume_labels));
    let network = argv::network_create(&argv::NetworkCreate {
        name: &names.network,
        candidate: &candidate,
        labels: &net_labels,
    });
    let run = argv::run(&argv::Run {
        name: &names.bundle,
        network: &names.network,
        ip: candidate.bundle_ip,
        spec,
        labels: &bundle_labels,
        env_file: has_env.then(|| std::path::Path::new(exec::ENV_FILE_PATH)),
        pull: spec.run_pull(),
        host_ports: &host_ports,
    });
    std::iter::once(network)
        .chain(volumes)
        .chain([run, argv::container_inspect(&names.bundle)])
        .collect()
}

fn check_bundle_is_ours(slug: &Slug, names: &Names, b: &Container) -> Result<()> {
    match b.is_bundle_of(slug.as_str()) {
        true => Ok(()),
        false => Err(not_ours(slug, names)),
    }
}

/// The container with the bundle's name is not bottle's.
fn not_ours(slug: &Slug, names: &Names) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!(
            "container `{}` exists but lacks bottle's labels ({LABEL_SLUG}={slug}, {LABEL_ROLE}={ROLE_BUNDLE}); bottle will not touch it: remove or rename it yourself, or use another prefix",
            names.bundle
        ),
    )
}

fn check_network_is_ours(slug: &Slug, n: &Network) -> Result<()> {
    if n.is_network_of(slug.as_str()) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Refused,
        format!(
            "network `{}` exists but lacks bottle's labels ({LABEL_SLUG}={slug}, {LABEL_ROLE}={ROLE_NETWORK}); bottle will not touch it: remove or rename it yourself, or use another prefix",
            n.name
        ),
    ))
}

/// Containers bottle did not start are on the network. (The rollback never gets here for a
/// peer's bundle: it leaves a network that another run's bundle is on, see
/// [`decide::network_rollback`].)
fn attached_error(flavor: Flavor, network: &str, containers: &[&str], again: &str) -> Error {
    let first = containers.first().copied().unwrap_or("CONTAINER");
    let cli = match flavor {
        Flavor::Docker => "docker",
        Flavor::Podman => "podman",
    };
    let listed = containers
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Error::new(
        ErrorKind::Refused,
        format!(
            "network `{network}` still has containers that bottle did not start: {listed}; detach them (e.g. `{cli} network disconnect {network} {first}`) and run `{again}` again"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14, item 7: on podman the advice named `docker network disconnect`.
    #[test]
    fn the_detach_advice_names_the_engines_own_cli() {
        let check = |flavor: Flavor, want: &str| {
            let e = attached_error(flavor, "net", &["web", "db"], "down");
            assert!(e.message().contains(want), "{e}");
            assert!(e.message().contains("`web`, `db`"), "{e}");
        };
        check(Flavor::Docker, "`docker network disconnect net web`");
        check(Flavor::Podman, "`podman network disconnect net web`");
    }
}
