//! `stop`, `start`, `restart`, `pause`, `unpause`, and `up` of an existing bottle with no spec:
//! the bundle's state changed as asked, decided from the state the engine shows
//! ([`decide::change_ops`]), never from an error's wording.
//!
//! Each is idempotent: a bundle already where the change leaves it costs one look and nothing
//! else. A command the engine refuses is judged by a look at the bundle by ID
//! ([`decide::change_reached`]): a racer may have done the same first.
//!
//! Podman shows two states docker does not: `stopping` (a stop waiting out its grace period) is
//! waited for, as `up` waits for it, and `stopped` (exited, not yet cleaned up) is decided as
//! `exited` ([`decided_state`]).

use std::time::{Duration, Instant};

use super::decide::{self, Action, Change, ChangeOp};
use super::{Ctx, Observed, UpOutcome};
use crate::argv;
use crate::classify::Verb;
use crate::error::{Error, ErrorKind, Result};
use crate::input::{Names, Slug};
use crate::model::{Bottle, Container};

/// How long a verb waits for podman to end a stop already under way: longer than podman's default
/// grace period (10 s), as `up` waits for a peer.
const STOP_WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// Change the state of `slug`'s bundle; the bottle as the engine shows it afterwards. `grace` is
/// the seconds `stop` and `restart` give the bundle before the engine kills it (`None`: the
/// engine's default).
pub fn change(ctx: &Ctx, slug: &Slug, change: Change, grace: Option<u32>) -> Result<Bottle> {
    let ctx = &ctx.for_slug(slug);
    let names = Names::new(&ctx.prefix, slug)?;
    let _lock = ctx.lock_slug(slug)?;
    let (obs, found) = existing(ctx, slug, &names)?;
    let (found, state) = await_stop(ctx, slug, change, found)?;
    let ops =
        decide::change_ops(change, &state).map_err(|why| refused(slug, change.as_str(), &why))?;
    let now = apply(ctx, slug, &found, change, &ops, grace)?;
    Ok(bottle(slug, &names, &obs, &now))
}

/// `up` of an existing bottle with no spec: keep it as it is, starting (or unpausing) its bundle
/// when it is stopped (or paused), and never replacing it. A missing bottle, or one without a
/// bundle, is [`ErrorKind::NotFound`]: without a spec there is no image to run.
pub fn resume(ctx: &Ctx, slug: &Slug, ttl: Option<u64>) -> Result<UpOutcome> {
    let ctx = &ctx.for_slug(slug);
    let names = Names::new(&ctx.prefix, slug)?;
    let _lock = ctx.lock_slug(slug)?;
    let (obs, found) = existing(ctx, slug, &names).map_err(|e| match e.kind() {
        ErrorKind::NotFound => {
            let msg = format!(
                "{}, and no spec was given: a new bundle needs an image",
                e.message()
            );
            e.with_message(msg)
        }
        _ => e,
    })?;
    if let Some(why) = decide::lease_expired(&found, super::now()) {
        return Err(super::up::lease_refused(slug, &why));
    }
    if let Some(why) = decide::lease_conflict(ttl, decide::lease_of(&found).as_ref()) {
        return Err(super::up::lease_refused(slug, &why));
    }
    let (found, state) = await_stop(ctx, slug, Change::Start, found)?;
    let ops = decide::change_ops(Change::Start, &state)
        .map_err(|why| refused(slug, Change::Start.as_str(), &why))?;
    let now = apply(ctx, slug, &found, Change::Start, &ops, None)?;
    // As for any `up`: exit 0 only with a bundle just seen running.
    if !ops.is_empty() && now.state != "running" {
        let kind = match decided_state(&now.state) {
            Some("exited" | "dead") => ErrorKind::NotReady(crate::ready::NotReady::Exited),
            _ => ErrorKind::EngineFailed,
        };
        return Err(Error::new(
            kind,
            format!(
                "bundle `{}` was `{}` right after start",
                names.bundle, now.state
            ),
        ));
    }
    let action = match ops.is_empty() {
        true => Action::Kept,
        false => Action::Started,
    };
    Ok(UpOutcome {
        bottle: bottle(slug, &names, &obs, &now),
        action,
        reason: None,
        // Nothing was replaced: the engine keeps the bundle's publish arguments.
        ports_changed: false,
    })
}

/// The bottle as observed, with its bundle (checked to be bottle's), or [`ErrorKind::NotFound`]
/// with `status`'s words for a missing bottle.
fn existing(ctx: &Ctx, slug: &Slug, names: &Names) -> Result<(Observed, Container)> {
    let obs = ctx.observe(names)?;
    obs.check_ours(slug, names)?;
    let Some(found) = obs.bundle.clone() else {
        return Err(match obs.networks.is_empty() {
            true => super::read::missing(slug, names),
            false => super::read::no_bundle(slug, &names.bundle),
        });
    };
    Ok((obs, found))
}

/// Run `ops` on the bundle `found`, and look at it again (by ID) when any ran. A command the
/// engine refused is an error only if the look shows the change not reached.
fn apply(
    ctx: &Ctx,
    slug: &Slug,
    found: &Container,
    change: Change,
    ops: &[ChangeOp],
    grace: Option<u32>,
) -> Result<Container> {
    if ops.is_empty() {
        return Ok(found.clone());
    }
    let id = found.id.as_str();
    let mut refused = None;
    for op in ops {
        let (verb, argv) = match op {
            ChangeOp::Stop => (Verb::Stop, argv::stop(id, grace)),
            ChangeOp::Start => (Verb::Start, argv::start(id)),
            ChangeOp::Restart => (Verb::Restart, argv::restart(id, grace)),
            ChangeOp::Pause => (Verb::Pause, argv::pause(id)),
            ChangeOp::Unpause => (Verb::Unpause, argv::unpause(id)),
        };
        let reply = ctx.run(verb, argv)?;
        if !reply.success() {
            refused = Some(reply);
            break;
        }
    }
    let now = ctx
        .inspect_container(id)?
        .ok_or_else(|| removed(slug, change))?;
    let reached = decided_state(&now.state).is_some_and(|s| decide::change_reached(change, s));
    match refused {
        Some(reply) if !reached => Err(super::ports::why_not_started(
            ctx,
            slug.as_str(),
            found,
            reply.into_error(),
        )),
        _ => Ok(now),
    }
}

/// The state a change is decided from, for a bundle the engine shows in `state`: `None` while
/// podman is stopping it (its processes still run out their grace period, so neither "running"
/// nor "stopped" is true yet: the change waits), podman's `stopped` as the `exited` it becomes
/// once cleaned up, any other state as it is.
fn decided_state(state: &str) -> Option<&str> {
    match state {
        "stopping" => None,
        "stopped" => Some("exited"),
        other => Some(other),
    }
}

/// `found` once podman has ended a stop under way (looked at by ID every [`POLL`], at most
/// [`STOP_WAIT`]), with the state the change is decided from. A bundle not `stopping` costs
/// nothing; one removed meanwhile, or still stopping at the deadline, is an error saying so.
fn await_stop(
    ctx: &Ctx,
    slug: &Slug,
    change: Change,
    found: Container,
) -> Result<(Container, String)> {
    let deadline = Instant::now() + STOP_WAIT.min(ctx.engine.timeout());
    let mut now = found;
    loop {
        if let Some(state) = decided_state(&now.state) {
            let state = state.to_string();
            return Ok((now, state));
        }
        if Instant::now() >= deadline {
            return Err(refused(
                slug,
                change.as_str(),
                &format!(
                    "the bundle is still `stopping` after {}s (a stop waiting out its grace period); run it again once the stop has ended",
                    STOP_WAIT.min(ctx.engine.timeout()).as_secs()
                ),
            ));
        }
        ctx.engine.check_cancel()?;
        std::thread::sleep(POLL);
        ctx.engine.check_cancel()?;
        now = ctx
            .inspect_container(&now.id)?
            .ok_or_else(|| removed(slug, change))?;
    }
}

/// The bottle object: the network as first observed (a state change does not touch it), the
/// bundle as it is now.
fn bottle(slug: &Slug, names: &Names, obs: &Observed, bundle: &Container) -> Bottle {
    let bundle_id = Some(bundle.id.as_str());
    let network = decide::choose_network(&obs.networks, bundle_id).map(|c| &obs.networks[c.keep]);
    Bottle::from_observed(slug, names, network, Some(bundle))
}

/// The bundle of `slug` was gone at a look by ID while `change` ran.
fn removed(slug: &Slug, change: Change) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!(
            "the bundle of bottle `{slug}` was removed while `{}` ran; is a `down` of it running?",
            change.as_str()
        ),
    )
}

fn refused(slug: &Slug, command: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!("cannot {command} bottle `{slug}`: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// podman_bundle_that_is_stopping: a verb waits; `stopped` is decided as `exited`.
    #[test]
    fn decided_state_by_engine_state() {
        #[track_caller]
        fn check(engine: &str, want: Option<&str>) {
            assert_eq!(decided_state(engine), want, "{engine}");
        }
        check("stopping", None);
        check("stopped", Some("exited"));
        for same in [
            "running",
            "created",
            "paused",
            "exited",
            "dead",
            "removing",
            "configured",
        ] {
            check(same, Some(same));
        }
    }
}
