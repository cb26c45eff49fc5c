//! The embeddable library: [`Bottles`], the one handle a launcher needs.
//!
//! A [`Bottles`] is an engine plus the options every command shares (prefix, subnet pool, timeout,
//! an optional events callback and a cancel token). Its methods are the CLI's commands. Inputs are
//! validated when they are built ([`Spec::builder`], `"demo".parse::<Slug>()`), with the same
//! errors as the CLI, so a method never sees an invalid value.
//!
//! The library writes nothing to stdout or stderr, installs no signal handler and keeps no
//! process-wide state: what a caller wants to show arrives through [`Bottles::on_event`], and a
//! [`CancelToken`] stops the calls in flight. A `Bottles` is `Send + Sync` and cheap to clone,
//! so several threads can bring up different bottles at once. Its calls block; from async code,
//! run them on a blocking pool (`spawn_blocking`).
//!
//! ```no_run
//! use bottle::{Bottles, Engine, Slug, Spec};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let token = "t";
//! let bottles = Bottles::new(Engine::detect()?).prefix("bot-bottle".parse()?);
//! let spec = Spec::builder("bot-bottle-sidecars:latest").publish(8080).secret_env("API_TOKEN", token).build()?;
//! let slug: Slug = "demo".parse()?;
//! let up = bottles.up(&slug, &spec)?;
//! let addr: std::net::SocketAddr = up.bottle.port(8080).expect("published");
//! bottles.down(&slug)?;
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::argv;
use crate::cancel::CancelToken;
use crate::classify::Verb;
use crate::display::Masker;
use crate::error::{Error, Result};
use crate::exec::{self, Engine, Event, Stream};
use crate::input::{self, EnvEntry, ImageRef, Names, Prefix, Slug, Volume};
use crate::lifecycle::events::BottleEvent;
use crate::lifecycle::many::{DEFAULT_PARALLEL, MAX_PARALLEL};
use crate::lifecycle::{self, Change, Ctx, Environment, Removed, UpOutcome};
use crate::model::Bottle;
use crate::spec::{Build, DAEMONS_ENV, Parts, PublishIp, Pull, Spec};
use crate::subnet::{LoopbackPool, Pool};
use crate::versions::EngineVersions;

/// Bottles on one engine, under one name prefix and one subnet pool.
///
/// Made with [`Bottles::new`] and configured by its builder methods; each command method
/// (`up`, `down`, `stop`, `start`, `restart`, `pause`, `unpause`, `status`, `ls`, `gc`, `plan`) runs the engine commands the CLI would, and
/// returns what the CLI prints as data. Clones share the cancel token and the events callback;
/// give a clone its own token with [`Bottles::with_cancel_token`] to cancel it alone.
#[derive(Debug, Clone)]
pub struct Bottles {
    ctx: Ctx,
    /// How many bottles `up_many`, `down_many`, `down_all` and `gc` work on at once.
    parallel: usize,
    /// `stop` and `restart`: the seconds the engine waits before it kills the bundle.
    stop_grace: Option<u32>,
    /// Whether a cancel reached the last call of this handle (and its clones) to end: what
    /// [`Bottles::interrupted`] reports.
    last_cut: Arc<AtomicBool>,
}

/// One call of a [`Bottles`]: its context, which watches the token as the call's view (see
/// [`CancelToken`]). When it ends (dropped, on every path, a panic's included) it records
/// whether a cancel reached it and spends the cancels made so far.
struct Call<'a> {
    ctx: Ctx,
    last_cut: &'a AtomicBool,
}

impl std::ops::Deref for Call<'_> {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        let token = self.ctx.engine.cancel_token();
        self.last_cut.store(token.is_cancelled(), Ordering::SeqCst);
        token.spend();
    }
}

/// A bottle's logs as the engine printed them, with the values `up` was given masked.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Logs {
    /// What the bundle wrote to its stdout.
    pub stdout: String,
    /// What the bundle wrote to its stderr.
    pub stderr: String,
}

/// The changes of bottles as the engine reports them: see [`Bottles::events`].
#[derive(Debug)]
pub struct EventStream {
    rx: std::sync::mpsc::Receiver<BottleEvent>,
    /// This stream's own token: dropping the stream cancels it, and the engine's `events` ends.
    stop: CancelToken,
    worker: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Iterator for EventStream {
    type Item = Result<BottleEvent>;

    fn next(&mut self) -> Option<Result<BottleEvent>> {
        if let Ok(event) = self.rx.recv() {
            return Some(Ok(event));
        }
        // The reader is done: say why, once.
        match self.worker.take()?.join() {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => Some(Err(Error::new(
                crate::ErrorKind::EngineFailed,
                "the thread that read the event stream panicked",
            ))),
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Checked at compile time: a `Bottles` can be shared between threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Bottles>();
    shared::<Spec>();
    shared::<Error>();
    // A launcher keys maps by prefix and keeps what `versions` said (attack15, also noticed).
    fn key<T: std::hash::Hash + Ord + Clone>() {}
    key::<Prefix>();
    fn value<T: Clone>() {}
    value::<EngineVersions>();
};

impl Bottles {
    /// Bottles on `engine`, with the CLI's defaults: prefix `bot-bottle`, pool `10.213.0.0/16`
    /// in `/24` blocks, a 10-minute timeout per engine command, no events, a fresh cancel
    /// token, and the process's environment as it is now for bare env keys (see
    /// [`Bottles::environment`]). Nothing is run: whether the engine is local (which decides
    /// locking and the host-route check) is worked out by the first call that needs it.
    pub fn new(engine: Engine) -> Bottles {
        let locality = engine.locality();
        let engine = engine.with_cancel(CancelToken::new());
        Bottles {
            ctx: Ctx {
                engine,
                prefix: Prefix::default(),
                pool: Pool::default(),
                environment: Environment::of_process(),
                locality,
                locks: crate::lock::Location::from_env(),
            },
            parallel: DEFAULT_PARALLEL,
            last_cut: Arc::default(),
            stop_grace: None,
        }
    }

    /// This handle, configured as it is (prefix, pool, timeout, token, events, environment), on
    /// `engine` (the same program on another context: [`crate::Fleet`]'s members). Whether it is
    /// local is worked out again, for that context.
    pub(crate) fn on(&self, engine: Engine) -> Bottles {
        let mut b = self.clone();
        b.ctx.locality = engine.locality();
        b.ctx.engine = engine;
        b.last_cut = Arc::default();
        b
    }

    /// How many bottles this handle works on at once ([`Bottles::parallel`]).
    pub(crate) fn parallel_limit(&self) -> usize {
        self.parallel
    }

    /// The lifecycle's context, for the library's own modules.
    pub(crate) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Work on at most `n` bottles at once in [`Bottles::up_many`], [`Bottles::down_many`],
    /// [`Bottles::down_all`] and [`Bottles::gc`] (default [`DEFAULT_PARALLEL`]; clamped to
    /// 1..=[`MAX_PARALLEL`]).
    pub fn parallel(mut self, n: usize) -> Bottles {
        self.parallel = n.clamp(1, MAX_PARALLEL);
        self
    }

    /// Name resources `<prefix>-bundle-<slug>` and `<prefix>-sidecars-<slug>` (e.g.
    /// `"bot-bottle".parse()?`).
    pub fn prefix(mut self, prefix: Prefix) -> Bottles {
        self.ctx.prefix = prefix;
        self
    }

    /// Carve each bottle's subnet from `pool` (e.g. `Pool::new("10.90.0.0/16".parse()?, 24)?`).
    pub fn pool(mut self, pool: Pool) -> Bottles {
        self.ctx.pool = pool;
        self
    }

    /// The environment that a spec's bare env keys ([`SpecBuilder::env`]) take their values from,
    /// instead of the process's as it was when this handle was made. `up` reads only this: the
    /// bundle gets exactly these values for those keys, through the env-file (a key missing here
    /// is not set in the bundle), and they are masked in messages like secret values. The engine
    /// CLI itself always runs with the process's environment, whatever this holds. So a launcher
    /// never needs `std::env::set_var` (unsafe, and racy with threads) to hand a bottle a value.
    pub fn environment<I, K, V>(mut self, vars: I) -> Bottles
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let vars = vars.into_iter().map(|(k, v)| (k.into(), v.into()));
        self.ctx.environment = Environment::from_vars(vars);
        self
    }

    /// Kill any engine command that runs longer than `timeout` (default 10 minutes); the call then
    /// fails with [`crate::ErrorKind::Timeout`], and `up` rolls back. A zero timeout is refused:
    /// every call then fails with [`crate::Invalid::Timeout`] before it runs anything.
    pub fn timeout(mut self, timeout: Duration) -> Bottles {
        self.ctx.engine = self.ctx.engine.with_timeout(timeout);
        self
    }

    /// Send progress to `callback`: each engine command line before it runs, build and pull
    /// output, and waits for another process's lock. It may be called from several threads. This
    /// is the only way the library reports anything as it goes.
    pub fn on_event(mut self, callback: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Bottles {
        self.ctx.engine = self.ctx.engine.with_events(Arc::new(callback));
        self
    }

    /// The token this handle's calls watch. Cancelling it (from any thread) stops the calls in
    /// flight: `up` stops its engine command (a creating one gets 2 s so its ID is learnt), rolls
    /// back what it had created and fails with [`crate::ErrorKind::Interrupted`]; `down` and `gc`
    /// finish the removal they began, and a second cancel stops them too.
    ///
    /// A cancel made before a call starts (a `spawn_blocking` task still queued) reaches it too:
    /// the call fails with `Interrupted` at once, having run nothing. A cancel never poisons the
    /// handle: once a call it reached has ended it is spent, so a `down` after a cancelled `up`
    /// tears the bottle down with the same handle and token (see [`CancelToken`]).
    pub fn cancel_token(&self) -> CancelToken {
        self.ctx.engine.cancel_token().clone()
    }

    /// The same handle, watching `token` instead (see [`Bottles::cancel_token`]). Clones made
    /// after this share it; the handle it was made from keeps its own.
    pub fn with_cancel_token(mut self, token: CancelToken) -> Bottles {
        self.ctx.engine = self.ctx.engine.with_cancel(token);
        self
    }

    /// The engine these bottles run on.
    pub fn engine(&self) -> &Engine {
        &self.ctx.engine
    }

    /// Bring the bottle `slug` up, or converge it to `spec`: create its network and run its
    /// bundle, keep it if it already runs as asked, start it if stopped, or replace a bundle of
    /// another spec. On failure or cancel, what this call created is removed again, and the
    /// error says what was rolled back ([`Error::rolled_back`]) and what was left
    /// ([`Error::left`]).
    pub fn up(&self, slug: &Slug, spec: &Spec) -> Result<UpOutcome> {
        lifecycle::up(&*self.masking(spec)?, slug, spec)
    }

    /// [`Bottles::up`] of each of `slugs` with one spec, at most [`Bottles::parallel`] at once.
    /// One bottle's failure does not stop the others. The results are in the order of `slugs`;
    /// a bottle that a cancel kept from starting is [`crate::ErrorKind::Interrupted`].
    pub fn up_many(&self, slugs: &[Slug], spec: &Spec) -> Vec<Result<UpOutcome>> {
        self.up_many_reporting(slugs, spec, &|_, _| {})
    }

    /// [`Bottles::up_many`], handing each bottle's result to `on_done` as soon as that bottle is
    /// done (from the thread that worked on it), for a display that shows bottles as they come.
    /// A bottle that a cancel kept from starting is not handed over; every result is returned.
    pub fn up_many_reporting(
        &self,
        slugs: &[Slug],
        spec: &Spec,
        on_done: &(dyn Fn(&Slug, &Result<UpOutcome>) + Sync),
    ) -> Vec<Result<UpOutcome>> {
        let ctx = match self.masking(spec) {
            Ok(ctx) => ctx,
            Err(e) => return slugs.iter().map(|_| Err(e.clone())).collect(),
        };
        let token = ctx.engine.cancel_token();
        let results = lifecycle::many::bounded(slugs, self.parallel, token, |slug| {
            let result = lifecycle::up(&ctx, slug, spec);
            on_done(slug, &result);
            result
        });
        not_started(results, "nothing was created")
    }

    /// The context of one call ([`Bottles::call`]), with the spec's secret values (and the
    /// values its bare keys take from this handle's environment) masked in whatever engine text
    /// it reports.
    fn masking(&self, spec: &Spec) -> Result<Call<'_>> {
        let environment = &self.ctx.environment;
        let masker = Masker::new(spec.secret_values(|k| environment.get(k)));
        let mut call = self.call()?;
        call.ctx.engine = call.ctx.engine.clone().with_secrets(masker);
        Ok(call)
    }

    /// One call: it watches every cancel its token has not spent (see [`CancelToken`]), and
    /// fails at once, having run nothing, when one was made before it started.
    fn call(&self) -> Result<Call<'_>> {
        if self.ctx.engine.timeout().is_zero() {
            return Err(Error::invalid(
                crate::Invalid::Timeout,
                "the timeout must be longer than 0s: a zero timeout would kill every engine command at once",
            ));
        }
        let call = self.call_watching(self.ctx.engine.cancel_token().for_call());
        match call.engine.cancel_token().is_cancelled() {
            true => Err(Error::new(
                crate::ErrorKind::Interrupted,
                "interrupted before it started; nothing was run",
            )),
            false => Ok(call),
        }
    }

    /// One call watching `token`, a view of this handle's token.
    fn call_watching(&self, token: CancelToken) -> Call<'_> {
        Call {
            ctx: Ctx {
                engine: self.ctx.engine.clone().with_cancel(token),
                ..self.ctx.clone()
            },
            last_cut: &self.last_cut,
        }
    }

    /// [`Bottles::up`], and a guard that takes the bottle down again when it is dropped (as a
    /// testcontainers container does): for tests, and for launchers whose bottle lives exactly as
    /// long as one value. As a testcontainers container takes down only what it started, a drop
    /// takes the bottle down only when this `up` created it ([`crate::Action::Created`]): a
    /// bottle that was already there (kept, started or replaced: another launcher may share it)
    /// is left up. A drop ignores a failed `down`; call [`BottleGuard::down`] to see it (it takes
    /// the bottle down whatever `up` did), or [`BottleGuard::keep`] to leave the bottle up. A
    /// cancel of this handle's token does not stop the drop's `down` (see
    /// [`Bottles::cancel_token`]).
    pub fn up_guarded(&self, slug: &Slug, spec: &Spec) -> Result<BottleGuard> {
        let outcome = self.up(slug, spec)?;
        Ok(BottleGuard {
            bottles: self.clone(),
            slug: slug.clone(),
            outcome: Some(outcome),
        })
    }

    /// Take the bottle `slug` down: its bundle, then its network. A bottle that is already gone
    /// (or half-built) is success; [`Removed`] says what was there. A failure part-way says what
    /// was already removed ([`Error::removed`]). A cancel lets the removal finish, then the call
    /// fails with [`crate::ErrorKind::Interrupted`], the removal in [`Error::removed`] (as the
    /// CLI exits 130).
    pub fn down(&self, slug: &Slug) -> Result<Removed> {
        self.down_in(self.call()?, slug)
    }

    /// [`Bottles::down`] as `call`.
    fn down_in(&self, ctx: Call<'_>, slug: &Slug) -> Result<Removed> {
        let removed = lifecycle::down(&ctx, slug)?;
        match interrupted(&ctx) {
            Err(e) => {
                let gone = removed.containers.iter().chain(&removed.networks).cloned();
                Err(e.with_removed(gone.collect()))
            }
            Ok(()) => Ok(removed),
        }
    }

    /// [`Bottles::down`] of each of `slugs`, at most [`Bottles::parallel`] at once, in the order
    /// given. Each removal that began finishes through a first cancel and is reported as it came
    /// out; a bottle that a cancel kept from starting is [`crate::ErrorKind::Interrupted`]. After a
    /// cancel, [`Bottles::interrupted`] says so.
    pub fn down_many(&self, slugs: &[Slug]) -> Vec<Result<Removed>> {
        self.down_with(slugs, DownOptions::default())
    }

    /// [`Bottles::down_many`] with options: [`DownOptions::volumes`] removes the named volumes
    /// bottle made for each bottle too ([`Removed::volumes`]), even when its bundle and network
    /// are gone. A volume without the bottle's labels is never removed.
    pub fn down_with(&self, slugs: &[Slug], options: DownOptions) -> Vec<Result<Removed>> {
        let ctx = match self.call() {
            Ok(ctx) => ctx,
            Err(e) => return slugs.iter().map(|_| Err(e.clone())).collect(),
        };
        let token = ctx.engine.cancel_token();
        let results = lifecycle::many::bounded(slugs, self.parallel, token, |slug| {
            lifecycle::down_with(&ctx, slug, None, options.volumes)
        });
        not_started(results, "nothing was removed")
    }

    /// Every bottle of this prefix taken down, as [`Bottles::down_many`] does, in slug order. The
    /// listing is each bottle's first look.
    pub fn down_all(&self) -> Result<Vec<(Slug, Result<Removed>)>> {
        self.down_all_with(DownOptions::default())
    }

    /// [`Bottles::down_all`] with options: with [`DownOptions::volumes`], also every named volume
    /// bottle made for a bottle of this prefix, that bottle's bundle and network gone or not
    /// (such a slug is listed with what was removed of it: its volumes).
    pub fn down_all_with(&self, options: DownOptions) -> Result<Vec<(Slug, Result<Removed>)>> {
        let ctx = self.call()?;
        let mut listed: Vec<_> = lifecycle::list(&ctx)?.into_iter().collect();
        if options.volumes {
            // A bottle already taken down without `--volumes` shows only its volumes: an empty
            // look is what the listing would have shown of it.
            for slug in lifecycle::volumes::slugs(&ctx)? {
                if !listed.iter().any(|(s, _)| *s == slug) {
                    listed.push((slug, Default::default()));
                }
            }
            listed.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let token = ctx.engine.cancel_token();
        let results = lifecycle::many::bounded(&listed, self.parallel, token, |(slug, seen)| {
            lifecycle::down_with(&ctx, slug, Some(seen.clone()), options.volumes)
        });
        let results = not_started(results, "nothing was removed");
        Ok(listed.into_iter().map(|(s, _)| s).zip(results).collect())
    }

    /// `Err(`[`crate::ErrorKind::Interrupted`]`)` when a cancel reached the last call of this
    /// handle (and its clones) to end: after [`Bottles::down_many`] or [`Bottles::down_all`],
    /// which finish the removals they began and report each bottle as it came out, this says
    /// that they stopped early. A cancel of an earlier call is not reported here (see
    /// [`CancelToken`]).
    pub fn interrupted(&self) -> Result<()> {
        match self.last_cut.load(Ordering::SeqCst) {
            true => Err(Error::new(
                crate::ErrorKind::Interrupted,
                "interrupted; the removals it had begun were finished",
            )),
            false => Ok(()),
        }
    }

    /// Stop the bundle of `slug` (its network, address and ports stay its own); the bottle as it
    /// is then. Already stopped is success; a paused bundle is unpaused first. A missing bottle is
    /// [`crate::ErrorKind::NotFound`], as [`Bottles::status`] has it. The engine gives the bundle
    /// [`Bottles::stop_grace`] to exit before it kills it.
    pub fn stop(&self, slug: &Slug) -> Result<Bottle> {
        self.change(slug, Change::Stop)
    }

    /// Start the stopped bundle of `slug` (a paused one is unpaused); already running is
    /// success. A `dead` bundle is refused ([`crate::ErrorKind::Refused`]): `up` with its spec
    /// replaces it.
    pub fn start(&self, slug: &Slug) -> Result<Bottle> {
        self.change(slug, Change::Start)
    }

    /// Restart the bundle of `slug`, whatever its state (a stopped one is started, a paused one
    /// unpaused and restarted), with [`Bottles::stop_grace`].
    pub fn restart(&self, slug: &Slug) -> Result<Bottle> {
        self.change(slug, Change::Restart)
    }

    /// Pause the running bundle of `slug`; already paused is success, a stopped one is refused
    /// ([`crate::ErrorKind::Refused`]).
    pub fn pause(&self, slug: &Slug) -> Result<Bottle> {
        self.change(slug, Change::Pause)
    }

    /// Unpause the bundle of `slug`; a bundle that is not paused (running or stopped) is left as
    /// it is, and that is success.
    pub fn unpause(&self, slug: &Slug) -> Result<Bottle> {
        self.change(slug, Change::Unpause)
    }

    /// [`Bottles::stop`] of each of `slugs`, at most [`Bottles::parallel`] at once, in the order
    /// given; a bottle that a cancel kept from starting is [`crate::ErrorKind::Interrupted`].
    pub fn stop_many(&self, slugs: &[Slug]) -> Vec<Result<Bottle>> {
        self.change_many(slugs, Change::Stop)
    }

    /// [`Bottles::start`] of each of `slugs`, as [`Bottles::stop_many`] runs them.
    pub fn start_many(&self, slugs: &[Slug]) -> Vec<Result<Bottle>> {
        self.change_many(slugs, Change::Start)
    }

    /// [`Bottles::restart`] of each of `slugs`, as [`Bottles::stop_many`] runs them.
    pub fn restart_many(&self, slugs: &[Slug]) -> Vec<Result<Bottle>> {
        self.change_many(slugs, Change::Restart)
    }

    /// [`Bottles::pause`] of each of `slugs`, as [`Bottles::stop_many`] runs them.
    pub fn pause_many(&self, slugs: &[Slug]) -> Vec<Result<Bottle>> {
        self.change_many(slugs, Change::Pause)
    }

    /// [`Bottles::unpause`] of each of `slugs`, as [`Bottles::stop_many`] runs them.
    pub fn unpause_many(&self, slugs: &[Slug]) -> Vec<Result<Bottle>> {
        self.change_many(slugs, Change::Unpause)
    }

    /// How long `stop` and `restart` let the bundle exit before the engine kills it, in whole
    /// seconds (rounded up); by default the engine's own (10 s for docker and podman).
    pub fn stop_grace(mut self, grace: Duration) -> Bottles {
        let secs = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
        self.stop_grace = Some(u32::try_from(secs).unwrap_or(u32::MAX));
        self
    }

    /// Bring the existing bottle `slug` up as it is, with no spec: keep it if it runs
    /// ([`Action::Kept`]), start or unpause its bundle if not ([`Action::Started`]); never
    /// replace it. A missing bottle (or bundle) is [`crate::ErrorKind::NotFound`]: a new bundle
    /// needs a spec ([`Bottles::up`]). With `ttl`, the bottle's lease must be that one (a lease
    /// is fixed at creation; see [`SpecBuilder::ttl`]), or the call is refused
    /// ([`crate::ErrorKind::Refused`]) and changes nothing.
    ///
    /// [`Action::Kept`]: crate::Action::Kept
    /// [`Action::Started`]: crate::Action::Started
    pub fn resume(&self, slug: &Slug, ttl: Option<Duration>) -> Result<UpOutcome> {
        lifecycle::resume(&*self.call()?, slug, lease_secs(ttl))
    }

    /// [`Bottles::resume`] of each of `slugs`, as [`Bottles::up_many`] runs them.
    pub fn resume_many(&self, slugs: &[Slug], ttl: Option<Duration>) -> Vec<Result<UpOutcome>> {
        let ctx = match self.call() {
            Ok(ctx) => ctx,
            Err(e) => return slugs.iter().map(|_| Err(e.clone())).collect(),
        };
        let token = ctx.engine.cancel_token();
        let ttl = lease_secs(ttl);
        let results = lifecycle::many::bounded(slugs, self.parallel, token, |slug| {
            lifecycle::resume(&ctx, slug, ttl)
        });
        not_started(results, "nothing was changed")
    }

    fn change(&self, slug: &Slug, change: Change) -> Result<Bottle> {
        lifecycle::change(&*self.call()?, slug, change, self.stop_grace)
    }

    fn change_many(&self, slugs: &[Slug], change: Change) -> Vec<Result<Bottle>> {
        let ctx = match self.call() {
            Ok(ctx) => ctx,
            Err(e) => return slugs.iter().map(|_| Err(e.clone())).collect(),
        };
        let token = ctx.engine.cancel_token();
        let results = lifecycle::many::bounded(slugs, self.parallel, token, |slug| {
            lifecycle::change(&ctx, slug, change, self.stop_grace)
        });
        not_started(results, "nothing was changed")
    }

    /// The bottle `slug` as the engine shows it now, or [`crate::ErrorKind::NotFound`].
    pub fn status(&self, slug: &Slug) -> Result<Bottle> {
        lifecycle::status(&*self.call()?, slug)
    }

    /// The host address of the bundle's published `container_port`, with the CLI's errors when
    /// the bottle, its bundle or that port is missing ([`crate::ErrorKind::NotFound`]).
    pub fn port(&self, slug: &Slug, container_port: u16) -> Result<SocketAddr> {
        let bottle = self.status(slug)?;
        // `published` fails unless the port has a binding, and a binding's address is typed.
        let found = lifecycle::published(&bottle, Some((container_port, crate::Protocol::Tcp)))?;
        Ok(SocketAddr::new(found[0].host_ip, found[0].host_port))
    }

    /// Every bottle of this prefix, by slug.
    pub fn ls(&self) -> Result<Vec<Bottle>> {
        lifecycle::ls(&*self.call()?)
    }

    /// Remove the leftovers that carry bottle's labels: bundles that are neither live nor stopped
    /// (a stopped bottle's `exited` bundle is kept), bottles whose lease passed, and networks
    /// with no live bundle, at most [`Bottles::parallel`] bottles at once. With `dry_run`, only
    /// say what would go. A cancel lets the removals in hand finish and starts no further one;
    /// then the call fails with [`crate::ErrorKind::Interrupted`].
    pub fn gc(&self, dry_run: bool) -> Result<Removed> {
        let ctx = self.call()?;
        let removed = lifecycle::gc_parallel(&ctx, dry_run, self.parallel)?;
        match ctx.engine.cancel_token().is_cancelled() {
            true => Err(gc_interrupted(&removed)),
            false => Ok(removed),
        }
    }

    /// The bundle's logs (the last `tail` lines, or all), with every env value `up` gave it
    /// masked.
    pub fn logs(&self, slug: &Slug, tail: Option<u32>) -> Result<Logs> {
        let call = self.call()?;
        let ctx = call.for_slug(slug);
        let (bundle, masker) = bundle_and_secrets(&ctx, slug)?;
        let reply = ctx
            .engine
            .run(Verb::Logs, argv::logs_of(&bundle.id, false, tail))?
            .check()?;
        Ok(Logs {
            stdout: masker.mask(&reply.stdout),
            stderr: masker.mask(&reply.stderr),
        })
    }

    /// Follow the bundle's logs: `sink` gets the engine's output as it comes, from the threads
    /// that read it, each line masked as soon as it ends, until the bundle stops or the token is
    /// cancelled ([`crate::ErrorKind::Interrupted`]). An error from `sink` (its reader went away)
    /// stops reading that stream.
    pub fn follow_logs(
        &self,
        slug: &Slug,
        tail: Option<u32>,
        sink: impl Fn(Stream, &[u8]) -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        let call = self.call()?;
        let ctx = call.for_slug(slug);
        let (bundle, masker) = bundle_and_secrets(&ctx, slug)?;
        let engine = ctx.engine.clone().with_secrets(masker);
        let argv = argv::logs_of(&bundle.id, true, tail);
        engine.run_follow(Verb::Logs, argv, Arc::new(sink))
    }

    /// Call `each` with every change of the bottles `slugs` (every bottle of this prefix when
    /// empty) as the engine reports it, from now on: a bundle's state (`running`, `paused`,
    /// `exited` with its exit code, `created`, `missing`), its health, and its published ports
    /// after a start when they are not those last reported. Read from the engine's own event
    /// stream (`events`), with no poll loop, on the thread that reads the engine's output.
    ///
    /// Runs until `each` returns [`ControlFlow::Break`] (`Ok`), the token is cancelled
    /// ([`crate::ErrorKind::Interrupted`]), or the engine ends its stream, which has no end of its
    /// own: then the engine's error ([`crate::ErrorKind::EngineUnavailable`] when the daemon went
    /// away), or [`crate::ErrorKind::EngineFailed`] for a stream closed without one. Unbounded
    /// like [`Bottles::follow_logs`]: no timeout applies.
    ///
    /// ```no_run
    /// use std::ops::ControlFlow;
    /// use bottle::{Bottles, Change, Engine, State};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bottles = Bottles::new(Engine::detect()?);
    /// // Wait until the bundle of `demo` stops, however it is stopped.
    /// bottles.watch(&["demo".parse()?], |e| match e.change {
    ///     Change::State { state: State::Exited, .. } => ControlFlow::Break(()),
    ///     _ => ControlFlow::Continue(()),
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn watch(
        &self,
        slugs: &[Slug],
        each: impl FnMut(BottleEvent) -> ControlFlow<()> + Send + 'static,
    ) -> Result<()> {
        let since = std::time::SystemTime::now();
        lifecycle::watch::watch(&*self.call()?, slugs, since, each)
    }

    /// [`Bottles::watch`] as an iterator: the changes of the bottles `slugs` (every bottle of
    /// this prefix when empty) from now on, each `Ok`; a stream that ended (cancelled, or closed
    /// by the engine) gives its error once, then `None`. The stream is read by a thread of its
    /// own; dropping the iterator stops it (and the engine's `events` with it), and so does a
    /// cancel of this handle's token.
    ///
    /// ```no_run
    /// use bottle::{Bottles, Engine};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bottles = Bottles::new(Engine::detect()?);
    /// for event in bottles.events(&[])? {
    ///     let event = event?;
    ///     println!("{}: {:?}", event.slug, event.change);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self, slugs: &[Slug]) -> Result<EventStream> {
        let since = std::time::SystemTime::now();
        // The stream outlives this call: it watches the call's view through its own child token.
        let mut ctx = self.call()?.ctx.clone();
        let stop = ctx.engine.cancel_token().child();
        ctx.engine = ctx.engine.clone().with_cancel(stop.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let slugs = slugs.to_vec();
        let worker = std::thread::Builder::new()
            .name("bottle-events".into())
            .spawn(move || {
                let ended =
                    lifecycle::watch::watch(&ctx, &slugs, since, move |e| match tx.send(e) {
                        Ok(()) => ControlFlow::Continue(()),
                        // The iterator was dropped.
                        Err(_) => ControlFlow::Break(()),
                    });
                // The stream is a call that ends here: the cancels that reached it are spent
                // (before `next` can report its end), so the next call runs.
                ctx.engine.cancel_token().spend();
                ended
            })
            .map_err(|e| Error::io("cannot start the thread that reads the event stream", e))?;
        Ok(EventStream {
            rx,
            stop,
            worker: Some(worker),
        })
    }

    /// The engine's client and daemon versions. `Err` only when the engine could not be run;
    /// an unreachable daemon is [`EngineVersions::unreachable`].
    pub fn versions(&self) -> Result<EngineVersions> {
        crate::versions::engine_versions(&self.call()?.engine)
    }

    /// Wait until the bundle of the existing bottle `slug` is ready, as [`SpecBuilder::wait`]
    /// makes `up` wait (running, healthy if its image has a healthcheck, every published port
    /// answered by the service itself), for at most `within`. Not ready in time, exited or
    /// removed meanwhile is [`crate::ErrorKind::NotReady`] (with [`Error::deadline`] for a wait
    /// that ran out); nothing is removed.
    pub fn wait_ready(&self, slug: &Slug, within: Duration) -> Result<()> {
        lifecycle::up::wait_ready(&self.call()?.for_slug(slug), slug, within)
    }

    /// The engine commands `up` would run for `slug` on a clean engine with the image present,
    /// each a full argv (the engine program first). Runs nothing.
    pub fn plan(&self, slug: &Slug, spec: &Spec) -> Result<Vec<Vec<OsString>>> {
        let names = Names::new(&self.ctx.prefix, slug)?;
        let engine = &self.ctx.engine;
        let has_env = !lifecycle::up::env_lines(spec, &self.ctx.environment)?.is_empty();
        let prefix = &self.ctx.prefix;
        Ok(
            lifecycle::plan(prefix, slug, &names, spec, &self.ctx.pool, has_env)
                .iter()
                .map(|argv| exec::full_argv(engine.shown(), engine.scope(), argv))
                .collect(),
        )
    }
}

/// The bundle of `slug`, and a masker for what it logs. The image's env is read only for a
/// bundle without the `bottle.env` label.
fn bundle_and_secrets(ctx: &Ctx, slug: &Slug) -> Result<(crate::model::Container, Masker)> {
    let bundle = lifecycle::bundle(ctx, slug)?;
    let passed = bundle.labels.get(argv::LABEL_ENV).map(String::as_str);
    let image_env: Vec<String> = match passed {
        Some(_) => Vec::new(),
        None => ctx
            .engine
            .run(Verb::Inspect, argv::image_env(&bundle.image))
            .ok()
            .filter(|r| r.success())
            .and_then(|r| serde_json::from_str(r.stdout.trim()).ok())
            .unwrap_or_default(),
    };
    let masker = log_secrets(&bundle.env, passed, &image_env);
    Ok((bundle, masker))
}

/// A lease in whole seconds, a fraction rounded up, as `up` records it.
fn lease_secs(ttl: Option<Duration>) -> Option<u64> {
    ttl.map(|t| t.as_secs() + u64::from(t.subsec_nanos() > 0))
}

/// `Err(`[`crate::ErrorKind::Interrupted`]`)` once the token `ctx` watches was cancelled.
fn interrupted(ctx: &Ctx) -> Result<()> {
    match ctx.engine.cancel_token().is_cancelled() {
        true => Err(Error::new(
            crate::ErrorKind::Interrupted,
            "interrupted; the removals it had begun were finished",
        )),
        false => Ok(()),
    }
}

/// Env keys the engines add to every container themselves, which a bundle made before the
/// `bottle.env` label must not take for values given to `up`: podman (native or through its docker
/// socket, where the CLI is docker's) adds `TERM`, `container`, `HOME` and `HOSTNAME`; docker adds
/// `HOSTNAME`, `PATH` and `HOME`. One list for both, since the CLI does not tell a socket's engine.
const ENGINE_ENV_KEYS: [&str; 5] = ["TERM", "container", "HOME", "HOSTNAME", "PATH"];

/// The values to mask in the bundle's logs. With the `bottle.env` label (`passed`): the values of
/// exactly the keys `up` passed. Without it (a bundle of an older bottle): every env value the
/// bundle has that its image does not set itself, except the entries engines add themselves and
/// bottle's own daemon list.
fn log_secrets(container_env: &[String], passed: Option<&str>, image_env: &[String]) -> Masker {
    let entries = container_env.iter().filter_map(|e| e.split_once('='));
    match passed {
        Some(keys) => {
            let keys: Vec<&str> = keys.split(',').filter(|k| !k.is_empty()).collect();
            Masker::new(
                entries
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(_, v)| v.to_string()),
            )
        }
        None => Masker::new(
            container_env
                .iter()
                .filter(|e| !image_env.contains(e))
                .filter_map(|e| e.split_once('='))
                .filter(|(k, _)| *k != DAEMONS_ENV && !ENGINE_ENV_KEYS.contains(k))
                .map(|(_, v)| v.to_string()),
        ),
    }
}

/// The error of a `gc` that a cancel interrupted: it names what it had removed, and carries it.
fn gc_interrupted(removed: &Removed) -> Error {
    let all: Vec<String> = removed
        .containers
        .iter()
        .chain(&removed.networks)
        .cloned()
        .collect();
    let what = match all.is_empty() {
        true => "nothing was removed".to_string(),
        false => format!(
            "the removals it had begun were finished: removed {}",
            all.join(", ")
        ),
    };
    Error::new(
        crate::ErrorKind::Interrupted,
        format!("interrupted; {what}"),
    )
    .with_removed_by_kind(removed.clone())
}

/// A bottle the queue never started, because a cancel came first, is a failure of its own.
fn not_started<R>(results: Vec<Option<Result<R>>>, what: &str) -> Vec<Result<R>> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Error::new(
                    crate::ErrorKind::Interrupted,
                    format!("interrupted before it started; {what}"),
                ))
            })
        })
        .collect()
}

/// A bottle that [`Bottles::up_guarded`] brought up, taken down when this value is dropped.
///
/// ```no_run
/// # fn main() -> bottle::Result<()> {
/// let bottles = bottle::Bottles::new(bottle::Engine::detect()?);
/// let spec = bottle::Spec::builder("bot-bottle-sidecars:latest").publish(8080).build()?;
/// {
///     let guard = bottles.up_guarded(&"demo".parse()?, &spec)?;
///     let addr = guard.bottle().port(8080);
///     // ... use the bottle ...
/// } // taken down here
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "dropping a BottleGuard takes the bottle down at once"]
pub struct BottleGuard {
    bottles: Bottles,
    slug: Slug,
    /// `None` once taken down or kept: the drop then does nothing.
    outcome: Option<UpOutcome>,
}

impl BottleGuard {
    /// What `up` did, and the bottle as it ran then.
    pub fn outcome(&self) -> &UpOutcome {
        self.outcome
            .as_ref()
            .expect("a live guard holds its outcome")
    }

    /// The bottle as `up` left it ([`UpOutcome::bottle`]).
    pub fn bottle(&self) -> &Bottle {
        &self.outcome().bottle
    }

    /// Take the bottle down now, and say how that went.
    pub fn down(mut self) -> Result<Removed> {
        self.outcome = None;
        self.bottles.down(&self.slug)
    }

    /// Leave the bottle up: the guard lets go of it, and returns what `up` did.
    pub fn keep(mut self) -> UpOutcome {
        self.outcome.take().expect("a live guard holds its outcome")
    }
}

impl Drop for BottleGuard {
    fn drop(&mut self) {
        // Only a bottle this guard's `up` created is its own to take down.
        let created = |o: &UpOutcome| o.action == crate::Action::Created;
        if self.outcome.take().is_some_and(|o| created(&o)) {
            // Nowhere to report a failure from a drop; `BottleGuard::down` returns it. A cancel
            // made before the drop does not stop it (the guard is how a launcher cleans up
            // after one): it watches only the cancels made from now on.
            let b = &self.bottles;
            let _ = b.down_in(
                b.call_watching(b.ctx.engine.cancel_token().since_now()),
                &self.slug,
            );
        }
    }
}

impl FromStr for Slug {
    type Err = Error;

    /// A slug: 1-40 of `[a-z0-9-]`, starting and ending with a letter or digit. Fails with
    /// [`crate::Invalid::Slug`], as the CLI does.
    fn from_str(s: &str) -> Result<Slug> {
        Slug::parse(s)
    }
}

impl Bottle {
    /// The mappings `bottle port` prints: every published port (`None`), or those of
    /// `container_port`. A missing bundle, a stopped one and an unpublished port are each
    /// [`crate::ErrorKind::NotFound`] with their own message.
    pub fn published(
        &self,
        container_port: Option<(u16, crate::Protocol)>,
    ) -> Result<Vec<crate::PortView>> {
        lifecycle::published(self, container_port)
    }

    /// The host address the engine published TCP `container_port` on, if it did (the first
    /// binding when there are several).
    pub fn port(&self, container_port: u16) -> Option<SocketAddr> {
        self.port_of(container_port, crate::Protocol::Tcp)
    }

    /// The host address the engine published UDP `container_port` on, if it did.
    pub fn udp_port(&self, container_port: u16) -> Option<SocketAddr> {
        self.port_of(container_port, crate::Protocol::Udp)
    }

    fn port_of(&self, container_port: u16, protocol: crate::Protocol) -> Option<SocketAddr> {
        self.ports
            .iter()
            .filter(|p| p.container_port == container_port && p.protocol == protocol)
            .map(|p| SocketAddr::new(p.host_ip, p.host_port))
            .next()
    }
}

/// How `down` removes a bottle: [`Bottles::down_with`] and [`Bottles::down_all_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownOptions {
    /// Also remove the named volumes bottle made for the bottle (the CLI's `down --volumes`).
    pub volumes: bool,
}

impl DownOptions {
    /// Remove the bottle's named volumes too (those carrying its labels), or keep them (the
    /// default: a volume holds data that outlives bundles).
    pub fn volumes(mut self, remove: bool) -> DownOptions {
        self.volumes = remove;
        self
    }
}

/// Builds a [`Spec`]: start with [`Spec::builder`], add what the bundle needs, and
/// [`SpecBuilder::build`] validates it all with the CLI's rules and errors.
///
/// Each method takes its value typed (a port is a `u16`, an address an [`IpAddr`], a pool a
/// [`LoopbackPool`], a wait a [`Duration`]) and nothing goes through text. A value refused on its
/// own (an env key holding `=`, a relative volume path) is remembered, and `build` returns the
/// first such refusal.
#[derive(Debug, Clone)]
#[must_use = "a SpecBuilder does nothing until `build` is called"]
pub struct SpecBuilder {
    parts: Parts,
    /// The first value refused on its own, returned by `build`.
    refused: Option<Error>,
    allow_nonloopback: bool,
}

impl Spec {
    /// A spec that runs `image`, publishes nothing and starts the default daemons; add to it with
    /// the [`SpecBuilder`] methods.
    pub fn builder(image: impl AsRef<str>) -> SpecBuilder {
        let (image, refused) = match ImageRef::parse(image.as_ref()) {
            Ok(image) => (image, None),
            Err(e) => (ImageRef::default(), Some(e)),
        };
        SpecBuilder {
            parts: Parts::new(image),
            refused,
            allow_nonloopback: false,
        }
    }
}

impl SpecBuilder {
    /// Keep `value`, or remember its refusal (the first one wins).
    fn take<T>(&mut self, value: Result<T>) -> Option<T> {
        match value {
            Ok(v) => Some(v),
            Err(e) => {
                self.refused.get_or_insert(e);
                None
            }
        }
    }

    /// Publish this container TCP port on the publish IP (loopback by default), at the host port
    /// the host-port rule gives it, which stays the bottle's for its life ([`Bottle::port`] tells
    /// which). Port 0 is refused ([`crate::Invalid::Port`]).
    pub fn publish(mut self, container_port: u16) -> SpecBuilder {
        self.parts
            .publish
            .push((container_port, crate::Protocol::Tcp));
        self
    }

    /// Publish this container UDP port, like [`SpecBuilder::publish`] does a TCP one.
    pub fn publish_udp(mut self, container_port: u16) -> SpecBuilder {
        self.parts
            .publish
            .push((container_port, crate::Protocol::Udp));
        self
    }

    /// Pass the env variable `key` with the value it has in the environment of the [`Bottles`]
    /// that runs `up` ([`Bottles::environment`]; by default the process's, read when the
    /// `Bottles` was made); a key missing there is not set in the bundle. `up` hands the value to
    /// the engine through the same in-memory env-file as [`SpecBuilder::secret_env`] (never an
    /// argv, never the engine CLI's own environment), so a value that file cannot carry is
    /// refused by `up` before it runs anything ([`crate::Invalid::EnvValue`]). A key that is not
    /// a shell-style name, such as `HOME=/tmp`, is refused ([`crate::Invalid::EnvKey`]).
    pub fn env(mut self, key: impl AsRef<str>) -> SpecBuilder {
        if let Some(entry) = self.take(EnvEntry::inherit(key.as_ref())) {
            self.parts.env.push(entry);
        }
        self
    }

    /// Pass the env variable `key` with `value`. The value travels through an in-memory env-file,
    /// never an argv, and is masked in every message and error. A key that is not a shell-style
    /// name (`A=B` included) is refused ([`crate::Invalid::EnvKey`]), as is a value an env-file
    /// cannot carry ([`crate::Invalid::EnvValue`]).
    pub fn secret_env(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> SpecBuilder {
        if let Some(entry) = self.take(EnvEntry::literal(key.as_ref(), value.as_ref())) {
            self.parts.env.push(entry);
        }
        self
    }

    /// Bind-mount the absolute host path `host` at the absolute container path `container`,
    /// read-only if `read_only`. Refused ([`crate::Invalid::Volume`]) unless both are absolute,
    /// UTF-8, and free of `:`, `,` and control characters.
    pub fn volume(
        mut self,
        host: impl AsRef<Path>,
        container: impl AsRef<Path>,
        read_only: bool,
    ) -> SpecBuilder {
        let volume = Volume::new(host.as_ref(), container.as_ref(), read_only);
        if let Some(v) = self.take(volume) {
            self.parts.volumes.push(v);
        }
        self
    }

    /// Mount the named volume `name` at the absolute container path `container`, read-only if
    /// `read_only`. `up` creates it with this bottle's labels when it is missing (an existing one
    /// is mounted as it is); `down` keeps it, [`DownOptions::volumes`] removes it if bottle made it
    /// for this bottle; a replace keeps it, so its data survives. Refused
    /// ([`crate::Invalid::Volume`]) unless `name` is `[A-Za-z0-9][A-Za-z0-9_.-]+`.
    pub fn named_volume(
        mut self,
        name: impl AsRef<str>,
        container: impl AsRef<Path>,
        read_only: bool,
    ) -> SpecBuilder {
        let volume = Volume::named(name.as_ref(), container.as_ref(), read_only);
        if let Some(v) = self.take(volume) {
            self.parts.volumes.push(v);
        }
        self
    }

    /// The daemons the bundle starts (`BOT_BOTTLE_SIDECAR_DAEMONS`), instead of the default
    /// `egress` and `pipelock`; none at all with an empty list. Each is `[a-z0-9_-]+`
    /// ([`crate::Invalid::Daemons`]).
    pub fn daemons<I, S>(mut self, daemons: I) -> SpecBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let parsed: Result<Vec<String>> = daemons
            .into_iter()
            .map(|d| input::parse_daemon(d.as_ref()))
            .collect();
        if let Some(ds) = self.take(parsed) {
            self.parts.daemons = Some(ds);
        }
        self
    }

    /// Publish on this host address instead of `127.0.0.1`. A non-loopback address is refused
    /// unless [`SpecBuilder::allow_nonloopback`] is set.
    pub fn publish_ip(mut self, ip: IpAddr) -> SpecBuilder {
        self.parts.publish_ip = Some(PublishIp::Addr(ip));
        self.parts.loopback_pool = None;
        self
    }

    /// Publish on a loopback address of the bottle's own, the lowest one of `pool` (e.g.
    /// `"127.0.0.16/28".parse()?`, or [`LoopbackPool::default`]) that no other bottle publishes
    /// on; kept across `up`s. The CLI's `--publish-ip auto --loopback-pool POOL`. The address is
    /// in the result's [`Bottle::host_ip`](crate::Bottle::host_ip).
    pub fn publish_ip_auto(mut self, pool: LoopbackPool) -> SpecBuilder {
        self.parts.publish_ip = Some(PublishIp::Auto);
        self.parts.loopback_pool = Some(pool);
        self
    }

    /// `up` returns only once the bundle is ready (running, healthy if its image has a
    /// healthcheck, every published port answered by the service itself), or fails after `within`
    /// and rolls back what it created. Any duration is taken as it is; a zero one looks once. The
    /// CLI's `--wait=DURATION`.
    pub fn wait(mut self, within: Duration) -> SpecBuilder {
        self.parts.wait = Some(within);
        self
    }

    /// Give the bottle a lease: `up` records its expiry (now plus `ttl`, in whole seconds, a
    /// fraction rounded up) when it creates the bottle, and [`Bottles::gc`] removes the bottle
    /// once it has passed, running or not. The lease is fixed at creation: an `up` of an existing
    /// bottle with another lease (or none recorded) is refused ([`crate::ErrorKind::Refused`]).
    /// The CLI's `--ttl`. Under a second is refused ([`crate::Invalid::Ttl`]).
    pub fn ttl(mut self, ttl: Duration) -> SpecBuilder {
        self.parts.ttl = Some(ttl);
        self
    }

    /// Allow a non-loopback publish IP, which exposes the bundle beyond this host (the CLI's
    /// `--allow-nonloopback`).
    pub fn allow_nonloopback(mut self, allow: bool) -> SpecBuilder {
        self.allow_nonloopback = allow;
        self
    }

    /// Limit the bundle's memory to `bytes` (the CLI's `--memory 512m` is `512 << 20`). Below
    /// 6 MiB, the engines' minimum, it is refused ([`crate::Invalid::Memory`]).
    pub fn memory(mut self, bytes: u64) -> SpecBuilder {
        self.parts.limits.memory = Some(bytes);
        self
    }

    /// Limit the bundle to `millicpus` thousandths of a CPU (`1500` is the CLI's `--cpus 1.5`).
    /// Below 10 (0.01 CPU), the engines' minimum, it is refused ([`crate::Invalid::Cpus`]).
    pub fn millicpus(mut self, millicpus: u32) -> SpecBuilder {
        self.parts.limits.millicpus = Some(millicpus);
        self
    }

    /// Limit the bundle to `max` processes (the CLI's `--pids-limit`); 0 is refused
    /// ([`crate::Invalid::PidsLimit`]).
    pub fn pids_limit(mut self, max: u32) -> SpecBuilder {
        self.parts.limits.pids = Some(max);
        self
    }

    /// The engine's pull policy for the image (default [`Pull::Missing`]).
    pub fn pull(mut self, pull: Pull) -> SpecBuilder {
        self.parts.pull = Some(pull);
        self
    }

    /// Build the image from this directory (its `Dockerfile`) when the engine does not have it,
    /// instead of pulling it.
    pub fn build_context(mut self, context: impl Into<PathBuf>) -> SpecBuilder {
        self.parts.build = Some(Build {
            context: context.into(),
            dockerfile: None,
        });
        self
    }

    /// The first value refused on its own, or else the checks across values, with the CLI's
    /// rules and error kinds ([`crate::Invalid`]).
    pub fn build(self) -> Result<Spec> {
        match self.refused {
            Some(e) => Err(e),
            None => self.parts.validate(self.allow_nonloopback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, Invalid};

    #[track_caller]
    fn check(builder: SpecBuilder, want: std::result::Result<(), Invalid>) {
        match (builder.build(), want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(w)) => assert_eq!(e.kind(), &ErrorKind::Invalid(w), "{e}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn builder_validates_like_the_cli() {
        let b = || Spec::builder("bundle:1");
        check(b().publish(8080).env("HOME").secret_env("T", "v"), Ok(()));
        check(b().publish(0), Err(Invalid::Port));
        check(
            b().publish_ip_auto("127.0.0.16/28".parse().unwrap())
                .wait(Duration::from_secs(5)),
            Ok(()),
        );
        check(b().publish(80).publish(80), Err(Invalid::DuplicatePort));
        check(
            b().memory(512 << 20).millicpus(1500).pids_limit(100),
            Ok(()),
        );
        check(b().memory(1 << 20), Err(Invalid::Memory));
        check(b().millicpus(5), Err(Invalid::Cpus));
        check(b().pids_limit(0), Err(Invalid::PidsLimit));
        check(Spec::builder("a b"), Err(Invalid::Image));
        check(b().env("1X"), Err(Invalid::EnvKey));
        check(b().secret_env("K", "a\nb"), Err(Invalid::EnvValue));
        check(b().volume("rel", "/c", true), Err(Invalid::Volume));
        check(
            b().volume("/h", "/c", false).volume("/g", "/c", true),
            Err(Invalid::Volume),
        );
        check(b().daemons(["ok", "Bad"]), Err(Invalid::Daemons));
        check(
            b().publish_ip("10.0.0.1".parse().unwrap()),
            Err(Invalid::PublishIp),
        );
        check(
            b().publish_ip("10.0.0.1".parse().unwrap())
                .allow_nonloopback(true),
            Ok(()),
        );
    }

    // Regression (issue 15): the builder went through the CLI's text, so `secret_env("A=B", "c")`
    // set `A` to `B=c`, `env("HOME=/tmp")` became a literal value, and a wait under a millisecond
    // failed as "invalid --wait duration".
    #[test]
    fn builder_takes_typed_values_and_refuses_keys_with_equals() {
        let b = || Spec::builder("bundle:1");
        check(b().secret_env("A=B", "c"), Err(Invalid::EnvKey));
        check(b().env("HOME=/tmp"), Err(Invalid::EnvKey));
        check(b().env(""), Err(Invalid::EnvKey));
        // The first refusal is the one `build` returns, whatever follows it.
        check(b().env("A=B").publish(80).publish(80), Err(Invalid::EnvKey));
        for within in [
            Duration::from_micros(500),
            Duration::ZERO,
            Duration::from_nanos(1),
        ] {
            let spec = b().wait(within).build().unwrap();
            assert_eq!(spec.wait, Some(within));
        }
        // A path with `:` cannot be carried by `-v`: refused, not split.
        check(b().volume("/a:b", "/c", true), Err(Invalid::Volume));
        let spec = b().volume("/h", "/c", false).build().unwrap();
        assert_eq!(spec.volumes()[0].to_arg(), "/h:/c:rw");
    }

    #[test]
    fn a_bad_loopback_pool_is_its_own_kind() {
        for bad in ["10.0.0.0/28", "x", "127.0.0.0/7"] {
            let e = bad.parse::<LoopbackPool>().unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::LoopbackPool), "{e}");
        }
        let subnet: crate::Subnet = "10.0.0.0/28".parse().unwrap();
        let e = LoopbackPool::new(subnet).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::LoopbackPool), "{e}");
        let spec = Spec::builder("bundle:1")
            .publish_ip_auto(LoopbackPool::default())
            .build()
            .unwrap();
        assert_eq!(spec.publish_ip().to_string(), "127.0.0.16");
    }

    #[test]
    fn built_spec_reads_back() {
        let spec = Spec::builder("bundle:1")
            .publish(9000)
            .publish(80)
            .env("HOME")
            .secret_env("TOKEN", "s3cret")
            .volume("/h", "/c", true)
            .daemons(Vec::<String>::new())
            .pull(Pull::Never)
            .build()
            .unwrap();
        assert_eq!(spec.image(), "bundle:1");
        assert_eq!(
            spec.publish().iter().map(|k| k.0).collect::<Vec<_>>(),
            [80, 9000]
        );
        assert_eq!(spec.env_keys().collect::<Vec<_>>(), ["HOME", "TOKEN"]);
        assert_eq!(spec.inherited_env().collect::<Vec<_>>(), ["HOME"]);
        assert!(spec.daemons().is_empty());
        assert_eq!(spec.pull(), Pull::Never);
        assert!(spec.volumes()[0].read_only);
        // The secret value is nowhere in the spec's Debug output.
        assert!(!format!("{spec:?}").contains("s3cret"));
    }

    #[test]
    fn slug_parses_with_the_cli_errors() {
        assert_eq!("agent-1".parse::<Slug>().unwrap().as_str(), "agent-1");
        let e = "-x".parse::<Slug>().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Slug));
    }

    #[test]
    fn port_is_a_socket_address() {
        use crate::model::{BundleView, NetworkView, PortView, Protocol, State};
        let bottle = Bottle {
            slug: "s".parse().unwrap(),
            network: NetworkView {
                name: "n".into(),
                subnet: None,
                gateway: None,
            },
            bundle: BundleView {
                name: "b".into(),
                ip: None,
                image: None,
                state: State::Running,
                limits: Default::default(),
            },
            ports: vec![
                PortView {
                    container_port: 8080,
                    host_ip: "127.0.0.1".parse().unwrap(),
                    host_port: 49153,
                    protocol: Protocol::Tcp,
                },
                PortView {
                    container_port: 9090,
                    host_ip: "::1".parse().unwrap(),
                    host_port: 49154,
                    protocol: Protocol::Tcp,
                },
            ],
            host_ip: Some("127.0.0.1".parse().unwrap()),
            created: None,
            run: None,
            expires: None,
            context: None,
        };
        assert_eq!(bottle.port(8080), Some("127.0.0.1:49153".parse().unwrap()));
        assert_eq!(bottle.port(9090), Some("[::1]:49154".parse().unwrap()));
        assert_eq!(bottle.port(1), None);
    }

    #[test]
    fn log_secrets_are_the_values_up_gave() {
        #[track_caller]
        fn check(env: &[&str], passed: Option<&str>, image: &[&str], text: &str, want: &str) {
            let env: Vec<String> = env.iter().map(|e| e.to_string()).collect();
            let image: Vec<String> = image.iter().map(|e| e.to_string()).collect();
            assert_eq!(log_secrets(&env, passed, &image).mask(text), want);
        }
        let daemons = format!("{DAEMONS_ENV}=egress");
        // logs_on_podman_mask_the_engines_own_env_entries (attack round 4): with the label, only
        // the keys `up` passed, whatever else the engine added.
        let podman = [
            "PATH=/usr/bin",
            "TERM=xterm",
            "container=podman",
            "HOME=/",
            "HOSTNAME=abc123",
            "TOKEN=hunter2",
            daemons.as_str(),
        ];
        let text = "token hunter2 podman xterm abc123 home / daemons egress";
        let want = "token *** podman xterm abc123 home / daemons egress";
        check(&podman, Some("TOKEN"), &["PATH=/usr/bin"], text, want);
        // A passed key the image also sets holds the passed value.
        check(
            &["PATH=/opt/secretpath"],
            Some("PATH"),
            &["PATH=/usr/bin"],
            "/opt/secretpath",
            "***",
        );
        // No keys passed: nothing is masked.
        check(&podman, Some(""), &[], text, text);
        // Without the label (an older bottle's bundle): what the image does not set, except what
        // engines add and the daemon list.
        check(&podman, None, &["PATH=/usr/bin"], text, want);
        check(
            &["PATH=/x", "HOSTNAME=h1", "HOME=/root", "T=hunter2"],
            None,
            &[],
            "hunter2 /x h1",
            "*** /x h1",
        );
    }
}
