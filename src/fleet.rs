//! A fleet: one prefix's bottles over several engines (docker contexts, or podman connections),
//! each bottle on one of them, a new one placed by the placement rule (`placement.rs`).
//!
//! A [`Fleet`] is a layer over [`Bottles`]: each member is the configured handle on one context,
//! and every engine command still runs through a member. What to do from what the contexts
//! showed is decided by `placement::locate`, a pure function; this module looks, asks it, and
//! applies the answer. Work is flattened to (context, bottle) items on one bounded pool
//! (`lifecycle::many::bounded`), so at most [`Bottles::parallel`] engine commands are in flight
//! across all contexts. A context whose engine does not answer
//! ([`ErrorKind::EngineUnavailable`]) does not stop the others: each result says which did not.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::bottles::{Bottles, DownOptions, Logs};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::Flavor;
use crate::input::Slug;
use crate::lifecycle::events::BottleEvent;
use crate::lifecycle::many::bounded;
use crate::lifecycle::{Removed, UpOutcome};
use crate::model::Bottle;
use crate::placement::{Look, Where, check_contexts, locate};
use crate::spec::Spec;

/// One prefix's bottles over several contexts (docker contexts, or, when the engine is podman,
/// podman connections).
///
/// ```no_run
/// use bottle::{Bottles, Engine, Fleet, Slug, Spec};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fleet = Fleet::new(&Bottles::new(Engine::detect()?), &["default", "pod"])?;
/// let slug: Slug = "f1".parse()?;
/// let up = fleet.up(&slug, &Spec::builder("bot-bottle-sidecars:latest").build()?)?;
/// println!("{} is on {}", slug, up.context);
/// for (context, bottles) in fleet.ls().iter() {
///     println!("{context}: {:?}", bottles.as_ref().map(Vec::len));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fleet {
    members: Vec<(String, Bottles)>,
    parallel: usize,
    token: CancelToken,
}

/// One result per context, in the fleet's order.
#[derive(Debug)]
pub struct PerContext<T> {
    results: Vec<(String, Result<T>)>,
}

/// What a fleet call did to one bottle, and where.
#[derive(Debug, Clone)]
pub struct Placed<T> {
    /// The context that holds the bottle (or that a new one went to).
    pub context: String,
    /// Other contexts that hold a bottle of this slug too, best-scoring first: a copy made while
    /// the better one did not answer. The call acted on [`Placed::context`]'s alone.
    pub also: Vec<String>,
    /// `up` of a new bottle: the contexts the rule preferred that did not answer, best first.
    pub skipped: Vec<String>,
    /// Every context whose engine did not answer the look, with why.
    pub dead: Vec<(String, Error)>,
    /// Every context whose look failed otherwise (an engine error), with why: it answered, but
    /// not whether it holds the bottle, so it may hold a copy the call did not act on.
    pub failed: Vec<(String, Error)>,
    /// What the call gave.
    pub outcome: T,
}

impl<T> PerContext<T> {
    /// Each context's result, in the fleet's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Result<T>)> {
        self.results.iter().map(|(c, r)| (c.as_str(), r))
    }

    /// The results, by value.
    pub fn into_vec(self) -> Vec<(String, Result<T>)> {
        self.results
    }

    /// The contexts that answered, with what they gave.
    pub fn answered(&self) -> impl Iterator<Item = (&str, &T)> {
        self.iter().filter_map(|(c, r)| Some((c, r.as_ref().ok()?)))
    }

    /// The contexts whose engine did not answer ([`ErrorKind::EngineUnavailable`]), with why.
    pub fn dead(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.iter()
            .filter_map(|(c, r)| Some((c, r.as_ref().err()?)))
            .filter(|(_, e)| is_dead(e))
    }

    /// The contexts whose call failed otherwise: an engine error, or a cancel that cut it short
    /// ([`ErrorKind::Interrupted`]).
    pub fn failed(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.iter()
            .filter_map(|(c, r)| Some((c, r.as_ref().err()?)))
            .filter(|(_, e)| !is_dead(e))
    }

    /// No context answered.
    pub fn all_dead(&self) -> bool {
        self.results
            .iter()
            .all(|(_, r)| r.as_ref().is_err_and(is_dead))
    }
}

/// Whether an error says the engine did not answer.
fn is_dead(e: &Error) -> bool {
    *e.kind() == ErrorKind::EngineUnavailable
}

impl Fleet {
    /// The bottles of `bottles` (its prefix, pool, timeout, parallelism, token, events callback
    /// and environment) on each of `contexts`: docker contexts, or podman connections when the
    /// engine is podman (learning which may run the engine's `version` once, see
    /// [`crate::Engine::flavor`]). One cancel token and events callback serve them all. Refused
    /// ([`crate::Invalid::Context`]) when the list is empty, or names one twice or a name a context
    /// cannot have.
    pub fn new(bottles: &Bottles, contexts: &[impl AsRef<str>]) -> Result<Fleet> {
        let names: Vec<&str> = contexts.iter().map(AsRef::as_ref).collect();
        check_contexts(&names)?;
        let engine = bottles.engine();
        let podman = engine.flavor() == Flavor::Podman;
        let members = names
            .iter()
            .map(|&name| {
                let on = match podman {
                    true => engine.clone().with_connection(name),
                    false => engine.clone().with_context(name),
                };
                (name.to_string(), bottles.on(on))
            })
            .collect();
        Ok(Fleet {
            members,
            parallel: bottles.parallel_limit(),
            token: bottles.cancel_token(),
        })
    }

    /// Check a context list as [`Fleet::new`] does, without making anything: one name at least,
    /// none empty or repeated, each `[a-zA-Z0-9][a-zA-Z0-9_.+-]*` ([`crate::Invalid::Context`]).
    pub fn check(contexts: &[&str]) -> Result<()> {
        check_contexts(contexts)
    }

    /// The contexts, in the order given.
    pub fn contexts(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(c, _)| c.as_str())
    }

    /// The member on `context`: the fleet's handle on that engine alone.
    pub fn member(&self, context: &str) -> Option<&Bottles> {
        self.members
            .iter()
            .find(|(c, _)| c == context)
            .map(|(_, b)| b)
    }

    /// The view of the token one fleet call watches, through all its steps (the looks, then the
    /// work): a cancel that reached a member's call is spent when that call ends, and must
    /// still keep this call's later steps from starting (see [`CancelToken`]). When the view is
    /// dropped, the cancels made so far are spent, as a [`Bottles`] call spends them: one that
    /// kept every step from starting never poisons the fleet.
    fn call(&self) -> FleetCall {
        FleetCall(self.token.for_call())
    }

    /// Run `work` on each item, at most [`Bottles::parallel`] at once; an item a cancel of
    /// `call` kept from starting is `Interrupted`.
    fn each<T: Sync, R: Send>(
        &self,
        call: &CancelToken,
        items: &[T],
        work: impl Fn(&T) -> Result<R> + Sync,
    ) -> Vec<Result<R>> {
        bounded(items, self.parallel, call, work)
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::Interrupted,
                        "interrupted before it started",
                    ))
                })
            })
            .collect()
    }

    /// One call per context, at once (each member's own work bounded by its share of
    /// [`Bottles::parallel`]), gathered per context.
    fn per_context<R: Send>(&self, work: impl Fn(&Bottles) -> Result<R> + Sync) -> PerContext<R> {
        let share = (self.parallel / self.members.len().max(1)).max(1);
        let members: Vec<(String, Bottles)> = self
            .members
            .iter()
            .map(|(c, b)| (c.clone(), b.clone().parallel(share)))
            .collect();
        let results = self.each(&self.call(), &members, |(_, b)| work(b));
        PerContext {
            results: self.contexts().map(str::to_string).zip(results).collect(),
        }
    }

    /// Each slug's look on every context, at once: `looks[s][c]` is slug `s` on context `c`.
    fn looks(&self, call: &CancelToken, slugs: &[Slug]) -> Vec<Vec<Result<Bottle>>> {
        let n = self.members.len();
        let items: Vec<(usize, usize)> = (0..slugs.len())
            .flat_map(|s| (0..n).map(move |c| (s, c)))
            .collect();
        let mut flat = self
            .each(call, &items, |&(s, c)| self.members[c].1.status(&slugs[s]))
            .into_iter();
        slugs
            .iter()
            .map(|_| flat.by_ref().take(n).collect())
            .collect()
    }

    /// Where a slug is (or goes), from its looks: the context, with the bottle when it is found,
    /// or the error that stands for it (no context answered; a look that failed otherwise).
    fn place(&self, slug: &Slug, looks: Vec<Result<Bottle>>) -> Result<Placed<Option<Bottle>>> {
        let names: Vec<&str> = self.contexts().collect();
        // A look a signal cut short saw nothing, and that context may hold the bottle (its
        // best-scoring copy, even): the call is interrupted, whatever the others showed.
        if let Some(i) = looks.iter().position(is_interrupted) {
            let e = looks
                .into_iter()
                .nth(i)
                .expect("a look")
                .expect_err("cut short");
            return Err(named(names[i], e));
        }
        let seen: Vec<Look> = looks.iter().map(look_of).collect();
        let name = |i: &usize| names[*i].to_string();
        let dead: Vec<(String, Error)> = looks
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((names[i].to_string(), r.as_ref().err()?.clone())))
            .filter(|(_, e)| is_dead(e))
            .collect();
        let failed: Vec<(String, Error)> = looks
            .iter()
            .enumerate()
            .filter(|(_, r)| look_of(r) == Look::Failed)
            .filter_map(|(i, r)| Some((names[i].to_string(), r.as_ref().err()?.clone())))
            .collect();
        let mut looks: Vec<Option<Result<Bottle>>> = looks.into_iter().map(Some).collect();
        let mut take = |i: usize| looks[i].take().expect("each look is taken once");
        let placed = |at: usize, also: &[usize], skipped: &[usize], outcome| Placed {
            context: names[at].to_string(),
            also: also.iter().map(name).collect(),
            skipped: skipped.iter().map(name).collect(),
            dead: dead.clone(),
            failed: failed.clone(),
            outcome,
        };
        match locate(slug, &names, &seen) {
            Where::Found { at, also } => {
                let mut b = take(at)?;
                b.context = Some(names[at].to_string());
                Ok(placed(at, &also, &[], Some(b)))
            }
            Where::Absent { at, skipped } => Ok(placed(at, &[], &skipped, None)),
            Where::Failed { at } => Err(named(names[at], take(at).expect_err("a failed look"))),
            Where::Unanswered => Err(unanswered(slug, &dead)),
        }
    }

    /// Each context's look at `slug`, at once: its bottle object, or why not (not found there,
    /// did not answer, failed). [`Fleet::locate_from`] decides from it.
    pub fn look(&self, slug: &Slug) -> PerContext<Bottle> {
        let looks = self
            .looks(&self.call(), std::slice::from_ref(slug))
            .remove(0);
        PerContext {
            results: self.contexts().map(str::to_string).zip(looks).collect(),
        }
    }

    /// Where `slug` is: the best-scoring context that holds it, its bottle object (with its
    /// `context`), and the contexts that did not answer. A bottle on no context that answered is
    /// [`ErrorKind::NotFound`], as [`Bottles::status`] says it, naming the contexts that did not
    /// answer; no context answering is [`ErrorKind::EngineUnavailable`]; a look a cancel cut
    /// short is [`ErrorKind::Interrupted`], whatever the others showed (that context may hold it).
    pub fn locate(&self, slug: &Slug) -> Result<Placed<Bottle>> {
        self.locate_from(slug, self.look(slug))
    }

    /// [`Fleet::locate`] from looks already taken ([`Fleet::look`]), for a caller that also
    /// wants to say which contexts did not answer when the bottle is not found.
    pub fn locate_from(&self, slug: &Slug, looks: PerContext<Bottle>) -> Result<Placed<Bottle>> {
        let looks: Vec<Result<Bottle>> = looks.results.into_iter().map(|(_, r)| r).collect();
        let absent = looks.iter().find_map(|r| match r {
            Err(e) if *e.kind() == ErrorKind::NotFound => Some(e.clone()),
            _ => None,
        });
        let mut placed = self.place(slug, looks)?;
        match placed.outcome.take() {
            Some(b) => Ok(with_outcome(placed, b)),
            None => Err(not_found(
                absent.expect("absent on a context that answered"),
                &placed.dead,
            )),
        }
    }

    /// [`Fleet::locate`]: the bottle as the engine holding it shows it now.
    pub fn status(&self, slug: &Slug) -> Result<Placed<Bottle>> {
        self.locate(slug)
    }

    /// The host address of the bundle's published `container_port`, on the host of the
    /// context that holds the bottle.
    pub fn port(&self, slug: &Slug, container_port: u16) -> Result<Placed<SocketAddr>> {
        let placed = self.locate(slug)?;
        let found = placed
            .outcome
            .published(Some((container_port, crate::Protocol::Tcp)))?;
        let addr = SocketAddr::new(found[0].host_ip, found[0].host_port);
        Ok(with_outcome(placed, addr))
    }

    /// Bring `slug` up: converged where it is, if any context holds it (never made twice), or
    /// made on the best-scoring context that answered (see [`crate::placement_order`]).
    pub fn up(&self, slug: &Slug, spec: &Spec) -> Result<Placed<UpOutcome>> {
        self.up_many(std::slice::from_ref(slug), spec).remove(0)
    }

    /// [`Fleet::up`] of each slug: the looks at once, then the `up`s, at most
    /// [`Bottles::parallel`] at once. Results in the slugs' order.
    pub fn up_many(&self, slugs: &[Slug], spec: &Spec) -> Vec<Result<Placed<UpOutcome>>> {
        self.up_many_reporting(slugs, spec, &|_, _| {})
    }

    /// [`Fleet::up_many`], handing each bottle's result to `on_done` as soon as that bottle is
    /// done (from the thread that worked on it), as [`Bottles::up_many_reporting`] does.
    pub fn up_many_reporting(
        &self,
        slugs: &[Slug],
        spec: &Spec,
        on_done: &(dyn Fn(&Slug, &Result<Placed<UpOutcome>>) + Sync),
    ) -> Vec<Result<Placed<UpOutcome>>> {
        let call = self.call();
        let looks = self.looks(&call, slugs);
        let placed: Vec<Result<Placed<Option<Bottle>>>> = slugs
            .iter()
            .zip(looks)
            .map(|(s, l)| self.place(s, l))
            .collect();
        let items: Vec<(&Slug, &Result<Placed<Option<Bottle>>>)> =
            slugs.iter().zip(&placed).collect();
        self.each(&call, &items, |(slug, placed)| {
            let result = placed.as_ref().map_err(Clone::clone).and_then(|placed| {
                let member = self.member(&placed.context).expect("a member");
                let mut up = member
                    .up(slug, spec)
                    .map_err(|e| after_look(&placed.context, e))?;
                up.bottle.context = Some(placed.context.clone());
                Ok(with_outcome(placed.clone(), up))
            });
            on_done(slug, &result);
            result
        })
    }

    /// Take `slug` down on every context (idempotent on each: one that holds nothing says so).
    pub fn down(&self, slug: &Slug) -> PerContext<Removed> {
        self.down_with(std::slice::from_ref(slug), DownOptions::default())
            .remove(0)
    }

    /// [`Fleet::down`] of each slug, every (context, slug) pair on one pool.
    pub fn down_many(&self, slugs: &[Slug]) -> Vec<PerContext<Removed>> {
        self.down_with(slugs, DownOptions::default())
    }

    /// Every bottle of this prefix taken down, on every context (as [`Bottles::down_all`]).
    pub fn down_all(&self) -> PerContext<Vec<(Slug, Result<Removed>)>> {
        self.down_all_with(DownOptions::default())
    }

    /// [`Fleet::down`] of each slug, with options, every (context, slug) pair on one pool.
    pub fn down_with(&self, slugs: &[Slug], options: DownOptions) -> Vec<PerContext<Removed>> {
        let n = self.members.len();
        let items: Vec<(usize, usize)> = (0..slugs.len())
            .flat_map(|s| (0..n).map(move |c| (s, c)))
            .collect();
        let mut flat = self
            .each(&self.call(), &items, |&(s, c)| {
                let member = &self.members[c].1;
                let one = std::slice::from_ref(&slugs[s]);
                member.down_with(one, options).remove(0)
            })
            .into_iter();
        slugs
            .iter()
            .map(|_| PerContext {
                results: self
                    .contexts()
                    .map(str::to_string)
                    .zip(flat.by_ref())
                    .collect(),
            })
            .collect()
    }

    /// Every bottle of this prefix taken down, on every context (as [`Bottles::down_all_with`]).
    pub fn down_all_with(&self, options: DownOptions) -> PerContext<Vec<(Slug, Result<Removed>)>> {
        self.per_context(|b| b.down_all_with(options))
    }

    /// Every bottle of this prefix on every context, each with its `context`.
    pub fn ls(&self) -> PerContext<Vec<Bottle>> {
        let mut all = self.per_context(Bottles::ls);
        for (context, listed) in &mut all.results {
            for b in listed.iter_mut().flatten() {
                b.context = Some(context.clone());
            }
        }
        all
    }

    /// [`Bottles::gc`] on every context.
    pub fn gc(&self, dry_run: bool) -> PerContext<Removed> {
        self.per_context(|b| b.gc(dry_run))
    }

    /// `act` on each slug, on the context that holds it (the best-scoring one, when several
    /// do); a slug no context that answered holds is [`ErrorKind::NotFound`].
    fn on_holder<R: Send>(
        &self,
        slugs: &[Slug],
        act: impl Fn(&Bottles, &Slug, &str) -> Result<R> + Sync,
    ) -> Vec<Result<Placed<R>>> {
        let call = self.call();
        let looks = self.looks(&call, slugs);
        let items: Vec<(&Slug, Vec<Result<Bottle>>)> = slugs.iter().zip(looks).collect();
        self.each(&call, &items, |(slug, looks)| {
            let placed = self.place(slug, looks.to_vec())?;
            if placed.outcome.is_none() {
                return Err(not_found(first_absent(looks), &placed.dead));
            }
            let member = self.member(&placed.context).expect("a member");
            let r =
                act(member, slug, &placed.context).map_err(|e| after_look(&placed.context, e))?;
            Ok(with_outcome(placed, r))
        })
    }

    /// A state change of each slug (`Bottles::stop_many` and its siblings), on every context
    /// that holds it: the outcome is the best-scoring copy's, and a copy elsewhere that could not
    /// be changed fails the slug, naming its context.
    fn change(
        &self,
        slugs: &[Slug],
        change: fn(&Bottles, &[Slug]) -> Vec<Result<Bottle>>,
    ) -> Vec<Result<Placed<Bottle>>> {
        let once =
            |member: &Bottles, slug: &Slug| change(member, std::slice::from_ref(slug)).remove(0);
        let results = self.on_holder(slugs, |member, slug, context| {
            let mut b = once(member, slug)?;
            b.context = Some(context.to_string());
            Ok(b)
        });
        // Copies elsewhere (made while the best context did not answer): rare, so one by one.
        results
            .into_iter()
            .zip(slugs)
            .map(|(r, slug)| {
                let placed = r?;
                for other in &placed.also {
                    let member = self.member(other).expect("a member");
                    once(member, slug).map_err(|e| after_look(other, e))?;
                }
                Ok(placed)
            })
            .collect()
    }

    /// [`Bottles::resume`] of each slug (`up` with no spec: kept, started or unpaused, never
    /// made), on the context that holds it.
    pub fn resume_many(
        &self,
        slugs: &[Slug],
        ttl: Option<std::time::Duration>,
    ) -> Vec<Result<Placed<UpOutcome>>> {
        self.on_holder(slugs, |member, slug, context| {
            let mut up = member.resume(slug, ttl)?;
            up.bottle.context = Some(context.to_string());
            Ok(up)
        })
    }

    /// [`Bottles::stop_many`] over the fleet.
    pub fn stop_many(&self, slugs: &[Slug]) -> Vec<Result<Placed<Bottle>>> {
        self.change(slugs, Bottles::stop_many)
    }

    /// [`Bottles::start_many`] over the fleet.
    pub fn start_many(&self, slugs: &[Slug]) -> Vec<Result<Placed<Bottle>>> {
        self.change(slugs, Bottles::start_many)
    }

    /// [`Bottles::restart_many`] over the fleet.
    pub fn restart_many(&self, slugs: &[Slug]) -> Vec<Result<Placed<Bottle>>> {
        self.change(slugs, Bottles::restart_many)
    }

    /// [`Bottles::pause_many`] over the fleet.
    pub fn pause_many(&self, slugs: &[Slug]) -> Vec<Result<Placed<Bottle>>> {
        self.change(slugs, Bottles::pause_many)
    }

    /// [`Bottles::unpause_many`] over the fleet.
    pub fn unpause_many(&self, slugs: &[Slug]) -> Vec<Result<Placed<Bottle>>> {
        self.change(slugs, Bottles::unpause_many)
    }

    /// The bundle's logs, from the context that holds the bottle.
    pub fn logs(&self, slug: &Slug, tail: Option<u32>) -> Result<Placed<Logs>> {
        let placed = self.locate(slug)?;
        let member = self.member(&placed.context).expect("a member");
        let logs = member
            .logs(slug, tail)
            .map_err(|e| after_look(&placed.context, e))?;
        Ok(with_outcome(placed, logs))
    }

    /// The changes of the bottles `slugs` (every bottle when empty) on every context, merged:
    /// each handed to `each` with its context as soon as it comes. A context whose stream ends
    /// (its engine did not answer, or went away) is handed to `ended` with why, and the others go
    /// on; the call returns when every stream has ended, each context's end in its result.
    pub fn watch(
        &self,
        slugs: &[Slug],
        each: impl Fn(&str, BottleEvent) -> ControlFlow<()> + Send + Sync + 'static,
        ended: impl Fn(&str, &Error) + Send + Sync,
    ) -> PerContext<()> {
        let each = Arc::new(each);
        let results = std::thread::scope(|scope| {
            let threads: Vec<_> = self
                .members
                .iter()
                .map(|(context, member)| {
                    let each = each.clone();
                    let ended = &ended;
                    scope.spawn(move || {
                        let name = context.clone();
                        let r = member.watch(slugs, move |e| each(&name, e));
                        if let Err(e) = &r {
                            ended(context, e);
                        }
                        r
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Vec<_>>()
        });
        PerContext {
            results: self.contexts().map(str::to_string).zip(results).collect(),
        }
    }
}

/// One fleet call's view of the token (see `Fleet::call`), spent when the call ends.
struct FleetCall(CancelToken);

impl std::ops::Deref for FleetCall {
    type Target = CancelToken;
    fn deref(&self) -> &CancelToken {
        &self.0
    }
}

impl Drop for FleetCall {
    fn drop(&mut self) {
        self.0.spend();
    }
}

/// A look a signal cut short.
fn is_interrupted(r: &Result<Bottle>) -> bool {
    r.as_ref()
        .is_err_and(|e| *e.kind() == ErrorKind::Interrupted)
}

/// A look's meaning for the placement rule.
fn look_of(r: &Result<Bottle>) -> Look {
    match r {
        Ok(_) => Look::Found,
        Err(e) if *e.kind() == ErrorKind::NotFound => Look::Absent,
        Err(e) if is_dead(e) => Look::Dead,
        Err(_) => Look::Failed,
    }
}

/// The not-found error of the first context that answered "absent".
fn first_absent(looks: &[Result<Bottle>]) -> Error {
    looks
        .iter()
        .find_map(|r| {
            r.as_ref()
                .err()
                .filter(|e| *e.kind() == ErrorKind::NotFound)
        })
        .cloned()
        .expect("absent on a context that answered")
}

/// A bottle no context that answered holds: `absent`'s error, naming the contexts that did not
/// answer (a bottle there is invisible).
fn not_found(absent: Error, dead: &[(String, Error)]) -> Error {
    match unseen(dead) {
        Some(names) => absent.suffixed(&format!(
            " on the contexts that answered; {names} did not answer, and may hold it"
        )),
        None => absent,
    }
}

/// The contexts that did not answer, named for a message (`` `pod` ``, `` `pod`, `edge` ``).
fn unseen(dead: &[(String, Error)]) -> Option<String> {
    let names: Vec<String> = dead.iter().map(|(c, _)| format!("`{c}`")).collect();
    (!names.is_empty()).then(|| format!("context {}", names.join(", ")))
}

fn with_outcome<T, U>(placed: Placed<T>, outcome: U) -> Placed<U> {
    Placed {
        context: placed.context,
        also: placed.also,
        skipped: placed.skipped,
        dead: placed.dead,
        failed: placed.failed,
        outcome,
    }
}

/// `e`, its message naming the context it came from.
fn named(context: &str, e: Error) -> Error {
    e.prefixed(&format!("context `{context}`: "))
}

/// A member's failure at the work that follows the look, on `context`, which answered that look:
/// named, and an engine that stopped answering since is that context failing
/// ([`ErrorKind::EngineFailed`]), not the fleet unanswered: [`ErrorKind::EngineUnavailable`] (the
/// contract's exit 69) is kept for a call no context answered. There is no fallback to another
/// context: the dead one may hold a half-made bottle.
fn after_look(context: &str, e: Error) -> Error {
    let kind = match e.kind() {
        ErrorKind::EngineUnavailable => ErrorKind::EngineFailed,
        other => other.clone(),
    };
    named(context, e).with_kind(kind)
}

/// No context answered the look at `slug`: each one named, with the first line of why.
fn unanswered(slug: &Slug, dead: &[(String, Error)]) -> Error {
    let each: Vec<String> = dead
        .iter()
        .map(|(c, e)| format!("`{c}` ({})", e.message().lines().next().unwrap_or("")))
        .collect();
    Error::new(
        ErrorKind::EngineUnavailable,
        format!(
            "no context answered the look at bottle `{slug}`: {}",
            each.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_after_the_look_is_the_context_failing_not_the_fleet_unanswered() {
        let cases = [
            (ErrorKind::EngineUnavailable, ErrorKind::EngineFailed),
            (ErrorKind::EngineFailed, ErrorKind::EngineFailed),
            (ErrorKind::Interrupted, ErrorKind::Interrupted),
            (ErrorKind::NotFound, ErrorKind::NotFound),
            (ErrorKind::Refused, ErrorKind::Refused),
            (ErrorKind::Timeout, ErrorKind::Timeout),
        ];
        for (kind, want) in cases {
            let e = after_look("pod", Error::new(kind.clone(), "why"));
            assert_eq!(
                (e.kind(), e.message()),
                (&want, "context `pod`: why"),
                "{kind:?}"
            );
        }
    }
}
