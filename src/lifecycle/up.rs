//! `up`: bring a bottle up, or converge it to the spec.
//!
//! The fast path is optimistic and costs three commands: create the network, run the bundle, read
//! it back. Every objection sends `up` to look at the bottle and ask [`decide`] what to do next, in
//! a bounded loop, so that racing `up`s of one slug end the same way on every engine, with or
//! without locks: one network, one bundle, and every `up` that exits 0 reporting the bundle that
//! runs. A peer's bundle of the same spec is waited for and adopted, never removed.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use ipnetwork::Ipv4Network;

use super::decide::{
    self, Action, AfterRefusal, AfterRun, BundleStep, Made, ReplaceReason, Wanted,
};
use super::journal::Journal;
use super::{Ctx, Environment, claims, loopback, not_ours, ports};
use crate::argv;
use crate::classify::{Class, Verb};
use crate::endpoints::{self, HostPorts};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{self, Reply};
use crate::host;
use crate::input::{EnvValue, Names, Slug};
use crate::lock::Lock;
use crate::model::{Bottle, Container};
use crate::spec::{Pull, Spec};

/// How many observe-decide-act rounds `up` takes before it gives up. Each round either finishes
/// or answers one objection (a conflict, a duplicate network, a peer to wait for).
const MAX_ROUNDS: usize = 8;
/// How long `up` waits for a peer's bundle to leave `created` or `removing`.
const PEER_WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);
/// How long `up` waits, after an overlap that no listed network explains, before it looks the
/// name up again: a racer's network may be allocated but not yet listed.
const LOOK_AGAIN: Duration = Duration::from_millis(300);
/// How long `up --wait`, once the bundle it waits for is gone, looks for another bundle under its
/// name: a replacing `up` removes the old bundle first and runs its own after.
const SUCCESSOR_WAIT: Duration = Duration::from_secs(3);

/// What `up` did, and the bottle as it now runs.
#[derive(Debug, Clone)]
pub struct UpOutcome {
    /// The bottle as the engine shows it after `up`: its network, its running bundle and the
    /// host addresses of its published ports ([`Bottle::port`]).
    pub bottle: Bottle,
    /// What `up` had to do: create the bottle, keep it as it was, replace a bundle of another
    /// spec, or start a stopped one.
    pub action: Action,
    /// For [`Action::Replaced`]: which part of the spec changed, or what was wrong with the old
    /// bundle.
    pub reason: Option<ReplaceReason>,
    /// For [`Action::Replaced`]: the new bundle publishes on other endpoints (address or host
    /// ports) than the one it replaced, because the spec asked for another address or other
    /// ports. Otherwise the endpoints held still.
    pub ports_changed: bool,
}

/// Bring a bottle up, or converge it to `spec`.
///
/// On failure, and on cancel, what this run created is removed again: by the ID the engine
/// printed, or by name and this run's `bottle.run` label, and never anything else.
pub fn up(ctx: &Ctx, slug: &Slug, spec: &Spec) -> Result<UpOutcome> {
    let ctx = &ctx.for_slug(slug);
    let names = Names::new(&ctx.prefix, slug)?;
    // Refused before anything runs: a value the env-file cannot carry.
    let env = env_lines(spec, &ctx.environment)?;
    // The rollback after a panic (of the events callback, say) reports no events: the callback
    // that panicked once would cut the rollback short too.
    let quiet = Ctx {
        engine: ctx.engine.without_events(),
        ..ctx.clone()
    };
    let _lock = ctx.lock_slug(slug)?;
    let mut up = Up {
        ctx,
        slug,
        spec,
        digest: spec.digest(),
        env,
        journal: Journal::new(run_id()),
        names,
        replaced: None,
        replacing: false,
        started: false,
        keep_ip: None,
        lost_ips: BTreeSet::new(),
        recorded: None,
        before: None,
        ports_changed: false,
        reported: None,
        lease: None,
        parts: spec.part_digests(),
        volumes_made: false,
        own_volumes: Vec::new(),
        chose_ports_again: false,
        name_waited_in_vain: false,
    };
    // A panic inside (a launcher's events callback runs on this thread) rolls back what this
    // run created, as a failure does, and then goes on unwinding to the caller.
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match up.converge() {
        Ok(outcome) => up.await_ready(outcome),
        Err(err) => Err(err),
    }));
    match done {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(err)) => Err(up.fail(err)),
        Err(panic) => {
            up.ctx = &quiet;
            let _ = up.fail(Error::new(ErrorKind::EngineFailed, "a callback panicked"));
            std::panic::resume_unwind(panic)
        }
    }
}

/// A fresh value for the `bottle.run` label: this process, the time and a counter, so no two
/// runs share one, even two threads of one process. (The argv layer stays pure: this is an
/// input to it.)
fn run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mix = (nanos as u32).wrapping_add(seq.wrapping_mul(0x9e37_79b9));
    format!("{:08x}{mix:08x}", std::process::id())
}

/// One `up` run.
struct Up<'a> {
    ctx: &'a Ctx,
    slug: &'a Slug,
    spec: &'a Spec,
    names: Names,
    digest: String,
    /// Every env value the bundle gets, as `(key, value)`: through the env-file, all of them.
    env: Vec<(String, String)>,
    journal: Journal,
    /// Why an earlier bundle (another spec) was removed, once it was.
    replaced: Option<ReplaceReason>,
    /// The removal of an earlier bundle began and was not seen to end.
    replacing: bool,
    /// A stopped or paused bundle of the same spec was started.
    started: bool,
    /// `--publish-ip auto`: the address the replaced bundle had, which the new one keeps if free.
    keep_ip: Option<Ipv4Addr>,
    /// `--publish-ip auto`: addresses this run lost to a bundle of another bottle created first.
    lost_ips: BTreeSet<Ipv4Addr>,
    /// The endpoints the replaced bundle recorded: the new one publishes on them again.
    recorded: Option<(IpAddr, HostPorts)>,
    /// What the replaced bundle published on, to tell whether the new one publishes elsewhere.
    before: Option<ports::Published>,
    /// The new bundle publishes on other endpoints than the one it replaced (the user asked for
    /// another address or other ports).
    ports_changed: bool,
    /// The ID of the bundle `up` reports, which it created, started or kept: the one `--wait`
    /// judges (by ID, since another `up` may put its own bundle under the name meanwhile).
    reported: Option<String>,
    /// The lease of the bundle this run replaced: fixed at creation, so the new bundle keeps it.
    lease: Option<crate::argv::Lease>,
    /// The short digest of each part of the spec (the `bottle.parts` label).
    parts: std::collections::BTreeMap<String, String>,
    /// The spec's named volumes were made (or found) by this run, before its first `run`.
    volumes_made: bool,
    /// The named volumes that were this bottle's (by labels) when `run` mounted them.
    own_volumes: Vec<String>,
    /// This run already chose its host ports again after a racer took one (see
    /// [`Up::racer_took_a_chosen_port`]): it does so once.
    chose_ports_again: bool,
    /// This run waited its bound for a container to show under the bundle's name that the engine
    /// refused as in use, and none showed (see [`AfterRun::AwaitName`]).
    name_waited_in_vain: bool,
}

/// What `network create` led to.
enum NetStep {
    Created(Ipv4Network),
    Exists,
}

/// What one `run` led to.
enum Ran {
    /// The bundle runs; read it back by this ID (or name).
    Ok(String),
    /// Look at the bottle again: the name is taken, the network is ambiguous or gone.
    LookAgain(Class),
    /// The image was fetched, or a racer took a host port this run had chosen: run again.
    Again,
}

impl Up<'_> {
    fn converge(&mut self) -> Result<UpOutcome> {
        let (mut subnet, mut seen) = self.network()?;
        let mut waited = false;
        let mut fetched = false;
        for _ in 0..MAX_ROUNDS {
            self.ctx.engine.check_cancel()?;
            let ip = bundle_ip(subnet);
            let Some(found) = seen.take() else {
                match self.run_bundle(ip, &mut fetched)? {
                    Ran::Ok(target) => {
                        let b = self.read_back(&target)?;
                        if self.lost_loopback(&b)? {
                            continue;
                        }
                        return Ok(self.outcome(&b, subnet, Action::Created));
                    }
                    Ran::Again => {}
                    Ran::LookAgain(class) => {
                        (subnet, seen) = self.look(class)?;
                        let shown = seen.is_some();
                        match decide::after_run(class, shown, self.name_waited_in_vain) {
                            AfterRun::Decide => {}
                            AfterRun::AwaitName => match self.await_name()? {
                                // Shown at last: look again, so that the network kept (of
                                // duplicates) and the `--ip` are those of the network it is on.
                                Some(_) => (subnet, seen) = self.look(class)?,
                                None => self.name_waited_in_vain = true,
                            },
                            AfterRun::NameHeld => return Err(self.name_held()),
                        }
                    }
                }
                continue;
            };
            let environment = &self.ctx.environment;
            let env_matches = self.spec.env_matches(&found.env, |k| environment.get(k));
            // A `created` bundle of long ago is a dead run's leftover, not a peer to wait for.
            let stale = decide::stale_created(&found, super::now());
            let step = decide::bundle_step(&self.wanted(ip), &found, env_matches, waited || stale);
            if step != BundleStep::Refuse {
                if let Some(why) = decide::lease_expired(&found, super::now()) {
                    return Err(lease_refused(self.slug, &why));
                }
                let wanted = self.spec.ttl.map(|t| t.as_secs());
                let found_lease = decide::lease_of(&found);
                if let Some(why) = decide::lease_conflict(wanted, found_lease.as_ref()) {
                    return Err(lease_refused(self.slug, &why));
                }
            }
            match step {
                BundleStep::Refuse => return Err(not_ours(self.slug, &self.names)),
                BundleStep::Keep => {
                    // `auto`: a bundle left by a run that never made its check after start (killed
                    // between `run` and the check) may sit on an older bundle's address; keeping it
                    // would exit 0 serving on another bottle's address.
                    if self.lost_loopback(&found)? {
                        self.replaced = Some(ReplaceReason::LoopbackTaken);
                        continue;
                    }
                    return Ok(self.outcome(&found, subnet, Action::Kept));
                }
                BundleStep::Start | BundleStep::Unpause => {
                    let (verb, argv) = match step {
                        BundleStep::Start => (Verb::Start, argv::start(&found.id)),
                        _ => (Verb::Unpause, argv::unpause(&found.id)),
                    };
                    let reply = self.ctx.run(verb, argv)?;
                    let now = self.ctx.inspect_container(&found.id)?;
                    // A racer may have done it first; only an unchanged bundle makes this an error.
                    if !reply.success() && now.as_ref().is_some_and(|n| n.state == found.state) {
                        return Err(ports::why_not_started(
                            self.ctx,
                            self.slug.as_str(),
                            &found,
                            reply.into_error(),
                        ));
                    }
                    // Gone meanwhile (a racing `gc` or `down`): the bundle this run then makes
                    // is `created`, not `started`.
                    self.started |= now.is_some();
                    seen = now;
                }
                BundleStep::AwaitPeer | BundleStep::AwaitRemoval | BundleStep::AwaitStop => {
                    seen = self.await_change(&found)?;
                    waited = true;
                }
                BundleStep::Replace { reason } => {
                    self.lease = decide::lease_of(&found);
                    if let Some(pool) = self.spec.loopback_pool {
                        self.keep_ip = loopback::current(&found, pool);
                    }
                    self.recorded = ports::recorded(&found);
                    self.before = Some(ports::published(&found));
                    // A recorded endpoint held by something else fails the replace while the old
                    // bundle still runs on it: it is never moved silently.
                    self.check_recorded(&found)?;
                    // Only once the new bundle is known to be able to run does the old one go.
                    self.ensure_image(&mut fetched)?;
                    self.ensure_cpus()?;
                    // A first signal lets the removal finish (like `down`'s), so bottle knows the
                    // old bundle is gone and says so; if a second one cuts it, `replacing` says it
                    // may be.
                    self.replacing = true;
                    self.ctx.finishing().remove_container(&found.id)?;
                    self.replacing = false;
                    self.replaced = Some(reason);
                }
            }
        }
        Err(Error::new(
            ErrorKind::EngineFailed,
            format!(
                "bottle `{}` kept changing while `up` converged it ({MAX_ROUNDS} rounds); is another `up` or `down` of it running with another spec?",
                self.slug
            ),
        ))
    }

    fn wanted(&self, ip: Ipv4Addr) -> Wanted<'_> {
        Wanted {
            slug: self.slug.as_str(),
            digest: &self.digest,
            image: self.spec.image.as_str(),
            ports: &self.spec.publish,
            network: &self.names.network,
            ip,
            run: &self.journal.run,
            parts: &self.parts,
            limits: self.spec.limits,
        }
    }

    fn outcome(&mut self, b: &Container, subnet: Ipv4Network, action: Action) -> UpOutcome {
        self.reported = Some(b.id.clone());
        // What this run did to the bundle it reports decides, whatever the last step was.
        let action = match (&self.replaced, self.started) {
            (Some(_), _) => Action::Replaced,
            (None, true) => Action::Started,
            (None, false) => action,
        };
        UpOutcome {
            bottle: Bottle::from_observed(self.slug, &self.names, None, Some(b))
                .with_subnet(subnet),
            action,
            reason: self.replaced.clone(),
            ports_changed: self.replaced.is_some() && self.ports_changed,
        }
    }

    /// The network, created or found, its subnet, and the bundle if `up` had to look at the
    /// bottle anyway.
    fn network(&mut self) -> Result<(Ipv4Network, Option<Container>)> {
        for _ in 0..3 {
            match self.create_network()? {
                NetStep::Created(subnet) => return Ok((subnet, None)),
                NetStep::Exists => {
                    if let Some(found) = self.settle()? {
                        return Ok(found);
                    }
                }
            }
        }
        Err(Error::new(
            ErrorKind::EngineFailed,
            format!(
                "network `{}` vanished each time `up` found it; is a `down` of `{}` running?",
                self.names.network, self.slug
            ),
        ))
    }

    /// Look at the bottle after an objection: settle its networks, and re-create the network if
    /// a racer's rollback or `down` removed it.
    fn look(&mut self, class: Class) -> Result<(Ipv4Network, Option<Container>)> {
        let settled = match class {
            // The untyped inspect would only say "ambiguous" again: ask each kind by exact name.
            Class::Ambiguous => {
                let obs = super::Observed {
                    bundle: self.ctx.find_container(&self.names.bundle)?,
                    networks: self.ctx.find_networks(&self.names.network)?,
                    strays: Vec::new(),
                };
                self.settle_observed(obs)?
            }
            _ => self.settle()?,
        };
        match settled {
            Some(found) => Ok(found),
            None => self.network(),
        }
    }

    /// Observe the bottle; keep one of its networks (removing empty duplicates), and read the kept
    /// one's subnet, which is what `--ip` must use. `None` if it has no network.
    fn settle(&mut self) -> Result<Option<(Ipv4Network, Option<Container>)>> {
        let obs = self.ctx.observe(&self.names)?;
        self.settle_observed(obs)
    }

    fn settle_observed(
        &mut self,
        obs: super::Observed,
    ) -> Result<Option<(Ipv4Network, Option<Container>)>> {
        obs.check_ours(self.slug, &self.names)?;
        let bundle_id = obs.bundle.as_ref().map(|b| b.id.as_str());
        let Some(choice) = decide::choose_network(&obs.networks, bundle_id) else {
            return Ok(None);
        };
        for &i in &choice.remove {
            let dup = &obs.networks[i];
            // A racer may attach to it or remove it first; the next `run` tells.
            let _ = self.ctx.remove_network(&dup.name, &dup.id);
        }
        let kept = &obs.networks[choice.keep];
        let subnet = decide::network_subnet(kept).ok_or_else(|| {
            let msg = format!(
                "network `{}` has no IPv4 subnet; a `down` of `{}` removes it",
                self.names.network, self.slug
            );
            Error::new(ErrorKind::Refused, msg)
        })?;
        Ok(Some((subnet, obs.bundle)))
    }

    /// Create the network on the first free candidate (see [`decide::after_refusal`]).
    ///
    /// For a local engine this holds the subnet lock and reads the host's routes under it, so a
    /// bottle that another process has just created shows up as a route before we choose.
    fn create_network(&mut self) -> Result<NetStep> {
        let (ctx, slug) = (self.ctx, self.slug);
        let _lock = ctx.lock("subnets")?;
        let mut excluded = match ctx.local() {
            true => host::routes(),
            false => Vec::new(),
        };
        let mut from = 0;
        let mut looked_again = false;
        let mut last: Option<Reply> = None;
        loop {
            let candidate = match ctx.pool.pick(slug.as_str(), from, &excluded) {
                Ok(c) => c,
                Err(e) => {
                    // Locally the bottle's own bridge is a host route: a full pool may hold it.
                    if !ctx.find_networks(&self.names.network)?.is_empty() {
                        return Ok(NetStep::Exists);
                    }
                    let last = last.map_or_else(String::new, |r| {
                        format!(" (the engine's last refusal: {})", r.quote_stderr())
                    });
                    let msg = format!("{e}{last}");
                    return Err(e.with_message(msg));
                }
            };
            let labels = argv::network_labels(slug.as_str(), &candidate, &self.journal.run);
            let req = argv::NetworkCreate {
                name: &self.names.network,
                candidate: &candidate,
                labels: &labels,
            };
            self.journal.network = Made::Cut;
            let reply = ctx.run(Verb::NetworkCreate, argv::network_create(&req))?;
            let class = reply.class();
            self.journal.network = match class {
                Class::Ok => Made::from_stdout(&reply.stdout),
                _ => Made::Nothing,
            };
            ctx.engine.check_cancel()?;
            match class {
                Class::Ok => return Ok(NetStep::Created(candidate.subnet.net())),
                Class::Exists => return Ok(NetStep::Exists),
                Class::DaemonUnreachable | Class::PermissionDenied => {
                    return Err(reply.into_error());
                }
                _ => {}
            }
            let (taken, ours_listed) = ctx.taken_subnets(&self.names.network)?;
            match decide::after_refusal(
                class,
                candidate.subnet.net(),
                &taken,
                ours_listed,
                looked_again,
            ) {
                AfterRefusal::Exists => return Ok(NetStep::Exists),
                AfterRefusal::Fail => return Err(reply.into_error()),
                AfterRefusal::LookAgain => {
                    looked_again = true;
                    self.sleep(LOOK_AGAIN)?;
                    if !ctx.find_networks(&self.names.network)?.is_empty() {
                        return Ok(NetStep::Exists);
                    }
                }
                AfterRefusal::Retry => {
                    looked_again = true;
                    self.sleep(LOOK_AGAIN)?;
                    continue;
                }
                AfterRefusal::Next => {}
            }
            excluded.extend(taken);
            excluded.push(candidate.subnet.net());
            from = candidate.k + 1;
            last = Some(reply);
        }
    }

    /// Run the bundle at `ip`.
    fn run_bundle(&mut self, ip: Ipv4Addr, fetched: &mut bool) -> Result<Ran> {
        let ctx = self.ctx;
        // Before `run`, which would make a missing one without bottle's labels. Left by a
        // rollback: they hold data, and `down --volumes` removes them.
        if !self.volumes_made {
            self.own_volumes = super::volumes::ensure(ctx, self.slug, self.spec)?;
            self.volumes_made = true;
        }
        let (publish_ip, host_ports, claim, _lock) = self.choose_endpoints()?;
        let chosen = Spec {
            publish_ip,
            ..self.spec.clone()
        };
        let spec = &chosen;
        let ttl = self.spec.ttl.map(|t| t.as_secs());
        // Rounded up: a lease never ends before its ttl has passed.
        let lease = decide::lease_for(ttl, self.lease.clone(), super::now_ceil());
        let mut labels = argv::bundle_labels(
            self.slug.as_str(),
            &self.digest,
            spec,
            &self.journal.run,
            lease.as_ref(),
        );
        if !host_ports.is_empty() {
            labels.insert(
                argv::LABEL_ENDPOINTS.to_string(),
                endpoints::label(spec.publish_ip, &host_ports),
            );
        }
        let env = env_file(&self.env);
        let req = argv::Run {
            name: &self.names.bundle,
            network: &self.names.network,
            ip,
            spec,
            labels: &labels,
            env_file: (!env.is_empty()).then(|| Path::new(exec::ENV_FILE_PATH)),
            pull: spec.run_pull(),
            host_ports: &host_ports,
        };
        let argv: Vec<OsString> = argv::run(&req);
        self.journal.bundle = Made::Cut;
        let reply = ctx.engine.run_with_env(Verb::Run, argv, &env)?;
        // The bundle now holds what it published, or nothing does.
        drop(claim);
        // `run --detach` prints the new container's ID once it exists, even when the start then
        // fails (engines up to 24 leave it `Created`). Without an ID the rollback looks by name
        // and this run's label.
        self.journal.bundle = Made::from_stdout(&reply.stdout);
        ctx.engine.check_cancel()?;
        let class = reply.class();
        if class == Class::Ok {
            let target = match &self.journal.bundle {
                Made::Id(id) => id.clone(),
                _ => self.names.bundle.clone(),
            };
            self.check_volumes(&target)?;
            return Ok(Ran::Ok(target));
        }
        // A failed run that left a container of ours behind: take it back before looking again.
        if matches!(
            class,
            Class::Ambiguous | Class::NotFound | Class::ImageNotFound
        ) && let Made::Id(id) = &self.journal.bundle
        {
            ctx.remove_container(id)?;
        }
        match class {
            Class::NameConflict | Class::Ambiguous | Class::NotFound => {
                self.journal.bundle = Made::Nothing;
                Ok(Ran::LookAgain(class))
            }
            // `run` had `--pull never` (see `Spec::run_pull`): fetch the image as the spec says,
            // with the engine's progress shown, and run again.
            Class::ImageNotFound if !*fetched && spec.fetches_missing_image() => {
                self.journal.bundle = Made::Nothing;
                self.fetch_missing_image()?;
                *fetched = true;
                Ok(Ran::Again)
            }
            // `--pull never` and no `[build]`: say so, as a replace does, rather than the engine's
            // "No such image" (the same error `fetch_missing_image` gives under `never`).
            Class::ImageNotFound if spec.pull == Pull::Never && spec.build.is_none() => {
                self.journal.bundle = Made::Nothing;
                Err(not_pulled(spec.image.as_str()))
            }
            // A host port the rule chose for this run (never a recorded one) that a look now
            // shows held by something else: a racer without our lock (a remote engine, another
            // lock directory) took it between the look and `run`. Choose again, as the subnet
            // rule does after an overlap; the engine's words are not read. Only once: podman's
            // service keeps listening on a failed run's ports for seconds (12 s seen), whatever
            // the failure, so a second refusal on fresh ports that a look shows held is the
            // engine's own doing, and its error is the answer (retrying would hold one more port
            // a round and hide it).
            _ if !self.chose_ports_again
                && self.racer_took_a_chosen_port(spec.publish_ip, &host_ports)? =>
            {
                self.chose_ports_again = true;
                self.take_back_refused_run()?;
                Ok(Ran::Again)
            }
            _ => Err(reply.into_error()),
        }
    }

    /// `--publish-ip auto` and the host-port rule: the address and host ports to run the bundle
    /// with, chosen from one look (locally under the `loopback` lock: one look and one choice at
    /// a time) and claimed for this process's other `up`s until `run` has published on them (see
    /// `claims`). The lock comes back held for an address from `--publish-ip auto`, to be kept
    /// through `run`: every `up` wants the pool's lowest free address, and another process
    /// cannot see our claim.
    fn choose_endpoints(&mut self) -> Result<(IpAddr, HostPorts, claims::Claim, Option<Lock>)> {
        let ctx = self.ctx;
        let needs_look = self.spec.loopback_pool.is_some() || !self.spec.publish.is_empty();
        let lock = match needs_look {
            true => ctx.lock("loopback")?,
            false => None,
        };
        let scope = ctx.claim_scope();
        let name = &self.names.bundle.clone();
        loop {
            let before = claims::before_look(&scope);
            let looked = match needs_look {
                true => loopback::other_containers(ctx, name)?,
                false => Vec::new(),
            };
            let view = claims::view(before, &looked, &scope, name);
            let ip = self.publish_ip(&view.others)?;
            let host_ports = self.host_ports(ip, &view.others)?;
            let auto = self.spec.loopback_pool.is_some();
            if let Some(claim) = claims::claim(&view, &scope, name, ip, &host_ports, auto) {
                let lock = lock.filter(|_| auto);
                return Ok((ip, host_ports, claim, lock));
            }
        }
    }

    /// The address to publish on: the spec's, or with `--publish-ip auto` the pool's that
    /// [`loopback::choose`] picks with what `others` hold.
    fn publish_ip(&self, others: &[Container]) -> Result<IpAddr> {
        let Some(pool) = self.spec.loopback_pool else {
            return Ok(self.spec.publish_ip);
        };
        let ctx = self.ctx;
        let at = loopback::choose(ctx, others, pool, self.keep_ip, &self.lost_ips)?;
        // A replace keeps the bottle's address: taken since the check before the old bundle
        // went, it is refused, never silently exchanged for another.
        if let Some(keep) = self
            .keep_ip
            .filter(|k| *k != at && !self.lost_ips.contains(k))
        {
            let by = ports::address_holder(others, None, ctx.local(), keep)
                .unwrap_or(endpoints::Holder::HostSocket);
            return Err(ports::address_refused(self.slug.as_str(), keep, by));
        }
        loopback::check_alias(at)?;
        Ok(IpAddr::V4(at))
    }

    /// Remove the container a refused `run` left, before running again: by the ID it printed,
    /// or by this run's label when it printed none (native podman refuses a port it cannot bind
    /// that way, and leaves the container `Created` under the bundle's name).
    fn take_back_refused_run(&mut self) -> Result<()> {
        let left = match &self.journal.bundle {
            Made::Id(id) => Some(id.clone()),
            Made::Pending => self.ctx.find_run_bundle(&self.journal.run)?.map(|c| c.id),
            Made::Nothing | Made::Cut => None,
        };
        if let Some(id) = left {
            self.ctx.remove_container(&id)?;
        }
        self.journal.bundle = Made::Nothing;
        Ok(())
    }

    /// Whether a host port chosen by the rule for this run (not one the bottle had recorded at
    /// `ip`) is held by another container or, locally, a host socket, as a look shows now.
    fn racer_took_a_chosen_port(&self, ip: IpAddr, chosen: &HostPorts) -> Result<bool> {
        let recorded = match &self.recorded {
            Some((at, ports)) if *at == ip => ports.clone(),
            _ => HostPorts::new(),
        };
        let fresh: Vec<endpoints::Endpoint> = chosen
            .iter()
            .filter(|(key, port)| recorded.get(key) != Some(port))
            .map(|(key, port)| endpoints::Endpoint {
                ip,
                port: *port,
                protocol: key.1,
            })
            .collect();
        if fresh.is_empty() {
            return Ok(false);
        }
        let others = loopback::other_containers(self.ctx, &self.names.bundle)?;
        let held = ports::held(&others, None, self.ctx.local());
        Ok(fresh
            .iter()
            .any(|e| held.iter().any(|(h, _)| endpoints::collides(h, e))))
    }

    /// The host ports the bundle publishes on at `ip`: the replaced bundle's recorded ones where
    /// it published on the same address, the rule's first free candidates for the rest. Notes
    /// whether they differ from the replaced bundle's.
    fn host_ports(&mut self, ip: IpAddr, others: &[Container]) -> Result<HostPorts> {
        if self.spec.publish.is_empty() {
            self.ports_changed = self.before.as_ref().is_some_and(|b| !b.is_empty());
            return Ok(HostPorts::new());
        }
        let recorded = match &self.recorded {
            Some((at, ports)) if *at == ip => ports.clone(),
            _ => HostPorts::new(),
        };
        let wanted: Vec<_> = self.spec.publish.iter().copied().collect();
        let slug = self.slug.as_str();
        let chosen = ports::choose(slug, ip, &wanted, &recorded, others, self.ctx.local())
            .map_err(|r| ports::refused(slug, r))?;
        let now: ports::Published = chosen.iter().map(|(k, p)| (ip, *p, *k)).collect();
        self.ports_changed = self.before.as_ref().is_some_and(|b| *b != now);
        Ok(chosen)
    }

    /// Before a replace removes `found`: its recorded endpoints that the new bundle keeps (on
    /// the same address) must not be held by anything else.
    fn check_recorded(&self, found: &Container) -> Result<()> {
        let mut others = None;
        // `--publish-ip auto`: the bottle's own address is kept too.
        if let (Some(_), Some(keep)) = (self.spec.loopback_pool, self.keep_ip) {
            let list = loopback::other_containers(self.ctx, &self.names.bundle)?;
            if let Some(by) = ports::address_holder(&list, Some(found), self.ctx.local(), keep) {
                return Err(ports::address_refused(self.slug.as_str(), keep, by));
            }
            others = Some(list);
        }
        let Some((at, recorded)) = &self.recorded else {
            return Ok(());
        };
        let same_ip = match self.spec.loopback_pool {
            Some(_) => self.keep_ip.map(IpAddr::V4) == Some(*at),
            None => self.spec.publish_ip == *at,
        };
        let kept: HostPorts = recorded
            .iter()
            .filter(|(k, _)| self.spec.publish.contains(k))
            .map(|(k, p)| (*k, *p))
            .collect();
        if !same_ip || kept.is_empty() {
            return Ok(());
        }
        let others = match others {
            Some(list) => list,
            None => loopback::other_containers(self.ctx, &self.names.bundle)?,
        };
        let held = ports::held(&others, Some(found), self.ctx.local());
        let wanted: Vec<_> = kept.keys().copied().collect();
        endpoints::settle(self.slug.as_str(), *at, &wanted, &kept, &held)
            .map(|_| ())
            .map_err(|r| ports::refused(self.slug.as_str(), r))
    }

    /// Make a missing image present as the spec says: build it from `[build]`, or pull it under
    /// `--pull missing` (`always` pulls too), with the engine's progress as `Event::Output`.
    fn fetch_missing_image(&self) -> Result<()> {
        let image = self.spec.image.as_str();
        let argv = match (&self.spec.build, self.spec.pull) {
            (Some(build), _) => argv::build(&argv::Build {
                tag: image,
                context: &build.context,
                dockerfile: build.dockerfile.as_deref(),
            }),
            (None, Pull::Missing | Pull::Always) => argv::pull(image),
            (None, Pull::Never) => return Err(not_pulled(image)),
        };
        let verb = match self.spec.build {
            Some(_) => Verb::Build,
            None => Verb::Pull,
        };
        self.ctx.engine.run_streaming(verb, argv)
    }

    /// After `run`: every named volume that was this bottle's must still be (see
    /// [`super::volumes::lost`]). One that a racing `down --volumes` removed and the engine made
    /// again without labels fails the `up`: the bundle goes first (it mounts the volume), then
    /// the unlabelled volume, and the rest of the run is rolled back as for any failure.
    fn check_volumes(&mut self, bundle: &str) -> Result<()> {
        let lost = super::volumes::lost(self.ctx, self.slug, &self.own_volumes)?;
        if lost.is_empty() {
            return Ok(());
        }
        // No longer the bottle's: the failure must not say the rollback kept them.
        self.own_volumes.retain(|v| !lost.contains(v));
        let ctx = self.ctx.finishing();
        ctx.remove_container(bundle)?;
        self.journal.bundle = Made::Nothing;
        let mut removed = Vec::new();
        let mut left = Vec::new();
        for name in &lost {
            match super::volumes::remove_remade(&ctx, name)? {
                true => removed.push(format!("volume `{name}`")),
                false => left.push(format!("volume `{name}`")),
            }
        }
        let mut msg = format!(
            "named volume {} of bottle `{}` was removed while `up` ran (a racing `down --volumes`?), and the engine made it again without bottle's labels; the bundle was removed",
            lost.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            self.slug
        );
        if !removed.is_empty() {
            msg.push_str(&format!(", and so was {}", removed.join(", ")));
        }
        if !left.is_empty() {
            msg.push_str(&format!("; left (in use): {}", left.join(", ")));
        }
        msg.push_str(": run `up` again");
        Err(Error::new(ErrorKind::EngineFailed, msg))
    }

    /// Before a working bundle is replaced with a CPU limit, on docker: the engine's host must have
    /// that many CPUs, or the new `run` fails after the old bundle is gone. One `info`, only when
    /// `--cpus` is given (native podman takes any limit).
    fn ensure_cpus(&self) -> Result<()> {
        let Some(millicpus) = self.spec.limits.millicpus else {
            return Ok(());
        };
        if self.ctx.engine.flavor() == crate::exec::Flavor::Podman {
            return Ok(());
        }
        let reply = self.ctx.run(Verb::Info, argv::info_ncpu())?;
        // An answer bottle cannot read is no reason to refuse: the `run` judges then.
        if !reply.success() {
            return Ok(());
        }
        let Ok(ncpu) = reply.stdout.trim().parse::<u32>() else {
            return Ok(());
        };
        match crate::limits::cpus_over(millicpus, ncpu) {
            None => Ok(()),
            Some(why) => Err(Error::new(
                ErrorKind::Refused,
                format!(
                    "cannot replace the bundle of bottle `{}`: {why}; the running bundle was kept as it was",
                    self.slug
                ),
            )),
        }
    }

    /// Before a working bundle is replaced: make sure the image of the new one is present (pulled
    /// or built first, as the spec says), so a replace never leaves the bottle with no bundle
    /// because the new image cannot be had.
    fn ensure_image(&self, fetched: &mut bool) -> Result<()> {
        let kept = |e: Error| {
            let msg = format!(
                "{e}; the running bundle of bottle `{}` was kept as it was",
                self.slug
            );
            e.with_message(msg)
        };
        let missing = match (&self.spec.build, self.spec.pull) {
            // `always`: the engine's newest, whether or not one is here.
            (None, Pull::Always) => true,
            _ => {
                let image = self.spec.image.as_str();
                let reply = self
                    .ctx
                    .run(Verb::ImageInspect, argv::image_inspect(image))?;
                match reply.class() {
                    Class::Ok => false,
                    Class::ImageNotFound => true,
                    _ => return Err(kept(reply.into_error())),
                }
            }
        };
        if missing {
            self.fetch_missing_image().map_err(kept)?;
            *fetched = true;
        }
        Ok(())
    }

    /// `--publish-ip auto`, after start: if a bundle of another bottle created before ours
    /// publishes on the same address (a race no lock prevented), remove ours so the next round
    /// runs it on the next free address.
    fn lost_loopback(&mut self, b: &Container) -> Result<bool> {
        let Some(pool) = self.spec.loopback_pool else {
            return Ok(false);
        };
        let Some(ip) = loopback::current(b, pool) else {
            return Ok(false);
        };
        if !loopback::conflict(self.ctx, b, ip)? {
            return Ok(false);
        }
        // The bundle that replaces it keeps its lease, as any replace does.
        self.lease = self.lease.take().or_else(|| decide::lease_of(b));
        self.ctx.remove_container(&b.id)?;
        self.journal.bundle = Made::Nothing;
        self.lost_ips.insert(ip);
        Ok(true)
    }

    /// `--wait`: once the bundle runs, wait until it is ready (see [`crate::ready`]). Not ready in
    /// time, or exited: an error with its last output, so `up` rolls back what it created. Gone
    /// (removed, perhaps replaced by another `up`'s bundle): an error, and nothing rolled back,
    /// since the bottle is no longer this run's.
    ///
    /// The bundle judged is the one `up` reports, looked up by its ID, never by its name.
    ///
    /// For a remote engine the published addresses are on another host, out of this process's
    /// reach: only the state and the healthcheck are waited for there.
    fn await_ready(&mut self, outcome: UpOutcome) -> Result<UpOutcome> {
        let Some(deadline) = self.spec.wait else {
            return Ok(outcome);
        };
        let id = self
            .reported
            .clone()
            .unwrap_or_else(|| self.names.bundle.clone());
        let token = self.ctx.engine.cancel_token();
        let waited = {
            let mut inspect = || self.look_for(&id);
            crate::ready::wait_until(deadline, crate::ready::HOLD, &mut inspect, &|| {
                token.is_cancelled()
            })?
        };
        let name = &self.names.bundle;
        match waited {
            crate::ready::Waited::Ready { .. } => Ok(outcome),
            crate::ready::Waited::Cancelled => {
                self.ctx.engine.check_cancel()?;
                Err(Error::new(ErrorKind::Interrupted, "interrupted"))
            }
            crate::ready::Waited::Failed { why, kind } => {
                let tail = self.last_output(&id)?;
                let err = Error::new(
                    ErrorKind::NotReady(kind),
                    format!("bundle `{name}` is not ready: {why}; its last output:\n{tail}"),
                );
                Err(match kind {
                    crate::ready::NotReady::Deadline => err.with_deadline(deadline),
                    _ => err,
                })
            }
            crate::ready::Waited::Gone { why, kind } => {
                let err = Error::new(ErrorKind::NotReady(kind), format!("bundle `{name}` {why}"));
                // Whoever removed the bundle (another `up`, or `down`) owns the bottle now: its
                // network may already carry that run's bundle, so this run rolls back nothing.
                self.journal.bundle = Made::Nothing;
                self.journal.network = Made::Nothing;
                self.replaced = None;
                Err(err)
            }
        }
    }

    /// One look at the bundle `--wait` waits for, by its ID. Once that is gone, what holds its
    /// name: a replacing `up` removes the old bundle before it runs its own, so the name is looked
    /// up for [`SUCCESSOR_WAIT`] before it is called free.
    fn look_for(&self, id: &str) -> Result<crate::ready::Seen> {
        use crate::ready::{Seen, Successor};
        let ctx = self.ctx;
        if let Some(b) = ctx.inspect_container(id)? {
            return Ok(Seen::There(observed(&b, ctx.local())));
        }
        let until = Instant::now() + SUCCESSOR_WAIT;
        loop {
            if let Some(b) = ctx.inspect_container(&self.names.bundle)? {
                let by_bottle = b.is_bundle_of(self.slug.as_str());
                let successor = Successor {
                    id: b.id,
                    by_bottle,
                };
                return Ok(Seen::Gone {
                    successor: Some(successor),
                });
            }
            if Instant::now() >= until {
                return Ok(Seen::Gone { successor: None });
            }
            self.sleep(POLL)?;
        }
    }

    /// The bundle's last 20 lines of output, masked and cut like engine stderr.
    fn last_output(&self, target: &str) -> Result<String> {
        let logs = self.ctx.run(Verb::Logs, argv::logs(target, 20))?;
        // The bundle's output is foreign text: masked, and cut like engine stderr.
        let tail = self
            .ctx
            .engine
            .masker()
            .mask(&format!("{}{}", logs.stdout, logs.stderr));
        Ok(exec::quote(&tail).unwrap_or_else(|| "(no output)".to_string()))
    }

    /// Read the bundle back after it started: it must run, with every port it should publish.
    fn read_back(&self, target: &str) -> Result<Container> {
        let b = self.ctx.inspect_container(target)?.ok_or_else(|| {
            Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "bundle `{}` was gone right after it started; is another `up` or `down` of `{}` running?",
                    self.names.bundle, self.slug
                ),
            )
        })?;
        // Read back by ID, the bundle may carry another name by now: something other than bottle
        // renamed it. Reporting it under the bottle's name would be a false success (nothing runs
        // under that name); the rollback removes it by ID.
        if b.name != self.names.bundle {
            return Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "bundle `{}` was renamed to `{}` right after it started, by something other than bottle, so bottle `{}` has no bundle under its name; is something renaming containers?",
                    self.names.bundle, b.name, self.slug
                ),
            ));
        }
        // The env-file is a pipe: what another reader (a wrapper that reads `/dev/fd/3` first)
        // takes, the engine never sees, and the bundle runs without those values. Checked from
        // the bundle's own environment, as the next `up` would.
        let sent = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let unsent = decide::unsent_env(sent, &b.env);
        if !unsent.is_empty() {
            return Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "the engine did not receive the env-file's values: bundle `{}` lacks {}; does something read `{}` before the engine does (a wrapper script)?",
                    self.names.bundle,
                    unsent
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    exec::ENV_FILE_PATH
                ),
            ));
        }
        if b.state != "running" {
            let tail = self.last_output(&b.id)?;
            // A bundle that ran and stopped failed on its own; one that never ran (`created`,
            // left by a failed start on engines up to 24) is the engine's failure.
            let kind = match b.state.as_str() {
                "exited" | "dead" => ErrorKind::NotReady(crate::ready::NotReady::Exited),
                _ => ErrorKind::EngineFailed,
            };
            return Err(Error::new(
                kind,
                format!(
                    "bundle `{}` was `{}` right after start; its last output:\n{tail}",
                    self.names.bundle, b.state,
                ),
            ));
        }
        let unpublished = self
            .spec
            .publish
            .iter()
            .find(|p| b.ports.get(p).is_none_or(Vec::is_empty));
        if let Some((port, proto)) = unpublished {
            let port = format!("{port}/{proto}");
            return Err(Error::new(
                ErrorKind::EngineFailed,
                format!(
                    "the engine published no host port for container port {port} of `{}`",
                    self.names.bundle
                ),
            ));
        }
        Ok(b)
    }

    /// Wait until `b` leaves its state (or is gone), at most [`PEER_WAIT`]; then what it is.
    fn await_change(&self, b: &Container) -> Result<Option<Container>> {
        let deadline = Instant::now() + PEER_WAIT.min(self.ctx.engine.timeout());
        loop {
            self.sleep(POLL)?;
            let now = self.ctx.inspect_container(&b.id)?;
            let changed = now.as_ref().is_none_or(|n| n.state != b.state);
            if changed || Instant::now() >= deadline {
                return Ok(now);
            }
        }
    }

    /// Wait until a container shows under the bundle's name, at most [`PEER_WAIT`]: the engine
    /// refused the name as in use while no container showed by it, so another process's create
    /// holds it and has not finished (see [`AfterRun::AwaitName`]). `None` if none showed.
    fn await_name(&self) -> Result<Option<Container>> {
        let deadline = Instant::now() + PEER_WAIT.min(self.ctx.engine.timeout());
        loop {
            self.sleep(POLL)?;
            let now = self.ctx.inspect_container(&self.names.bundle)?;
            if now.is_some() || Instant::now() >= deadline {
                return Ok(now);
            }
        }
    }

    /// The engine still refuses the bundle's name with no container showing by it, after a wait
    /// for one and a `run` again: an honest error, never a `run` at someone else's name forever.
    fn name_held(&self) -> Error {
        let waited = PEER_WAIT.min(self.ctx.engine.timeout()).as_secs_f64();
        Error::new(
            ErrorKind::EngineFailed,
            format!(
                "the engine refuses the name `{}` as in use, yet shows no container by it (waited {waited:.1} s for one to show); is another `up` of `{}` stuck creating its bundle?",
                self.names.bundle, self.slug
            ),
        )
    }

    fn sleep(&self, d: Duration) -> Result<()> {
        self.ctx.engine.check_cancel()?;
        std::thread::sleep(d);
        self.ctx.engine.check_cancel()
    }

    /// Roll back, and say so in the error.
    fn fail(&self, err: Error) -> Error {
        let rollback = self
            .journal
            .roll_back(&self.ctx.finishing(), self.slug, &self.names);
        let mut msg = err.message().to_string();
        if self.replaced.is_some() {
            msg.push_str(&format!(
                "; its previous bundle (another spec) had already been removed, so bottle `{}` has none now",
                self.slug
            ));
        } else if self.replacing {
            msg.push_str(&format!(
                "; its previous bundle (another spec) was being removed and may be gone: a `status` of `{}` shows what is left",
                self.slug
            ));
        }
        if !rollback.left.is_empty() {
            msg.push_str(&format!(
                "; could not roll back: {}",
                rollback.left.join("; ")
            ));
        }
        if !rollback.unconfirmed.is_empty() {
            msg.push_str(&format!(
                "; the engine had not shown whether the cut-short create of {} had happened; if it did, `gc` removes it",
                rollback.unconfirmed.join(" and ")
            ));
        }
        // Only what was there to roll back is said to be: "rolled back" after a cancel that came
        // before anything was created contradicted "nothing was changed" (a lock wait).
        // A failure that had created something (a `--wait` that timed out) says what went too:
        // the message is all a person reads in text mode.
        // A named volume made before `run` is no "nothing": the note below names it.
        let kept = &self.own_volumes;
        if rollback.is_clean() {
            match (rollback.removed.is_empty(), err.kind()) {
                (true, ErrorKind::Interrupted) if kept.is_empty() => {
                    msg.push_str("; this run had created nothing")
                }
                (true, _) => {}
                (false, _) => msg.push_str(&format!(
                    "; rolled back what this run had created: {}",
                    rollback.removed.join(", ")
                )),
            }
        }
        // Named volumes outlive a rollback on purpose (they hold data): said, so that "rolled
        // back" is not read as "nothing of this `up` is left".
        msg.push_str(&kept_note(self.slug, kept));
        let left = rollback
            .left
            .iter()
            .cloned()
            .chain(rollback.unconfirmed.iter().map(|u| {
                format!("{u}: the engine had not shown whether its cut-short create had happened")
            }))
            .collect();
        let kept = kept.iter().map(|v| format!("volume `{v}`")).collect();
        err.with_message(msg)
            .with_rollback(rollback.removed, left)
            .with_kept(kept)
    }
}

/// What a failed `up`'s message adds about the bottle's named volumes its rollback kept: nothing
/// when there are none.
fn kept_note(slug: &Slug, volumes: &[String]) -> String {
    let names: Vec<String> = volumes.iter().map(|v| format!("`{v}`")).collect();
    match names.len() {
        0 => String::new(),
        1 => format!(
            "; kept named volume {} (volumes hold data): a `down --volumes` of `{slug}` removes it",
            names[0]
        ),
        _ => format!(
            "; kept named volumes {} (volumes hold data): a `down --volumes` of `{slug}` removes them",
            names.join(", ")
        ),
    }
}

/// `up` of a bottle whose lease differs from the one asked for, or has passed: refused, nothing
/// changed.
pub(crate) fn lease_refused(slug: &Slug, why: &str) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!(
            "bottle `{slug}` was left as it was: {why}; take it down and bring it up again to give it another lease"
        ),
    )
}

/// Wait until the bundle of an existing bottle is ready, as `up --wait` judges it (running,
/// healthy, every published port answered by the service), for at most `within`. The bundle is
/// judged by the ID it has now; one removed meanwhile is an error, and nothing is rolled back:
/// this call created nothing.
pub(crate) fn wait_ready(ctx: &Ctx, slug: &Slug, within: Duration) -> Result<()> {
    use crate::ready::{Seen, Waited};
    let b = super::bundle(ctx, slug)?;
    let name = Names::new(&ctx.prefix, slug)?.bundle;
    let token = ctx.engine.cancel_token();
    let mut inspect = || -> Result<Seen> {
        Ok(match ctx.inspect_container(&b.id)? {
            Some(b) => Seen::There(observed(&b, ctx.local())),
            None => Seen::Gone { successor: None },
        })
    };
    let waited = crate::ready::wait_until(within, crate::ready::HOLD, &mut inspect, &|| {
        token.is_cancelled()
    })?;
    match waited {
        Waited::Ready { .. } => Ok(()),
        Waited::Cancelled => Err(Error::new(ErrorKind::Interrupted, "interrupted")),
        Waited::Failed { why, kind } => {
            let err = Error::new(
                ErrorKind::NotReady(kind),
                format!("bundle `{name}` is not ready: {why}"),
            );
            Err(match kind {
                crate::ready::NotReady::Deadline => err.with_deadline(within),
                _ => err,
            })
        }
        Waited::Gone { why, kind } => Err(Error::new(
            ErrorKind::NotReady(kind),
            format!("bundle `{name}` {why}"),
        )),
    }
}

/// What `--wait` looks at in the bundle: its state, its health, and (for a local engine) the
/// address of each published port and whether anything listens on it in the bundle.
fn observed(b: &Container, local: bool) -> crate::ready::Observed {
    let bindings: Vec<(u16, std::net::SocketAddr)> = match local {
        true => b
            .ports
            .iter()
            // UDP has no connect to probe: only TCP ports are waited for.
            .filter(|((_, proto), _)| *proto == crate::model::Protocol::Tcp)
            .flat_map(|(&(port, _), bindings)| bindings.iter().map(move |p| (port, p)))
            .filter_map(|(port, p)| {
                let addr = crate::ready::probe_addr(p.host_ip.parse().ok()?, p.host_port);
                Some((port, addr))
            })
            .collect(),
        false => Vec::new(),
    };
    let listening = match (bindings.is_empty(), b.pid) {
        (false, Some(pid)) => crate::ready::listening_in(pid, &b.id),
        _ => None,
    };
    crate::ready::Observed {
        state: b.state.clone(),
        health: b.health.clone(),
        listens: bindings
            .iter()
            .map(|(port, _)| listening.as_ref().map(|l| l.contains(port)))
            .collect(),
        container_ports: bindings.iter().map(|(port, _)| *port).collect(),
        ports: bindings.into_iter().map(|(_, addr)| addr).collect(),
    }
}

/// The pinned bundle address: the block's second host address.
fn bundle_ip(subnet: Ipv4Network) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()).saturating_add(2))
}

/// Every env value the bundle gets: the `KEY=VALUE` entries, and each bare key's value in
/// `environment` (a key missing there is left out, as the engine leaves out an unset `-e KEY`).
/// All of them travel through the env-file, so the engine CLI's own environment is never the
/// bundle's; a value the env-file cannot carry is refused here, before anything runs.
pub(crate) fn env_lines(spec: &Spec, environment: &Environment) -> Result<Vec<(String, String)>> {
    let mut lines = Vec::new();
    for (key, value) in &spec.env {
        let value = match value {
            EnvValue::Literal(secret) => secret.expose().to_string(),
            EnvValue::Inherit => match environment.get(key.as_str()) {
                Some(v) => v,
                None => continue,
            },
        };
        crate::input::check_env_value(key.as_str(), value.as_bytes())?;
        lines.push((key.as_str().to_string(), value));
    }
    Ok(lines)
}

/// The `KEY=VALUE` lines the engine reads from [`exec::ENV_FILE_PATH`]; empty if there are none.
pub(crate) fn env_file(lines: &[(String, String)]) -> Vec<u8> {
    let mut text = String::new();
    for (key, value) in lines {
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    text.into_bytes()
}

/// A missing image under the pull policy `never`, with no `[build]` to make it.
fn not_pulled(image: &str) -> Error {
    let msg = format!("image `{image}` is not present and the pull policy is `never`");
    Error::new(ErrorKind::EngineFailed, msg)
}
