//! `stop`, `start`, `restart`, `pause`, `unpause`, and `up` of an existing bottle with no spec:
//! the bundle's state changed as asked, decided from the state the engine shows
//! ([`decide::change_ops`]), never from an error's wording.
//!
//! Each is idempotent: a bundle already where the change leaves it costs one look and nothing
//! else. A command the engine refuses is judged by a look at the bundle by ID
//! ([`decide::change_reached`]): a racer may have done the same first.

use super::decide::{self, Action, Change, ChangeOp};
use super::{Ctx, Observed, UpOutcome};
use crate::argv;
use crate::classify::Verb;
use crate::error::{Error, ErrorKind, Result};
use crate::input::{Names, Slug};
use crate::model::{Bottle, Container};

/// Change the state of `slug`'s bundle; the bottle as the engine shows it afterwards. `grace` is
/// the seconds `stop` and `restart` give the bundle before the engine kills it (`None`: the
/// engine's default).
pub fn change(ctx: &Ctx, slug: &Slug, change: Change, grace: Option<u32>) -> Result<Bottle> {
    let ctx = &ctx.for_slug(slug);
    let names = Names::new(&ctx.prefix, slug)?;
    let _lock = ctx.lock_slug(slug)?;
    let (obs, found) = existing(ctx, slug, &names)?;
    let ops = decide::change_ops(change, &found.state)
        .map_err(|why| refused(slug, change.as_str(), &why))?;
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
    let ops = decide::change_ops(Change::Start, &found.state)
        .map_err(|why| refused(slug, Change::Start.as_str(), &why))?;
    let now = apply(ctx, slug, &found, Change::Start, &ops, None)?;
    // As for any `up`: exit 0 only with a bundle just seen running.
    if !ops.is_empty() && now.state != "running" {
        let kind = match now.state.as_str() {
            "exited" | "dead" => ErrorKind::NotReady(crate::ready::NotReady::Exited),
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
    let now = ctx.inspect_container(id)?.ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("the bundle of bottle `{slug}` was removed while `{}` ran; is a `down` of it running?", change.as_str()),
        )
    })?;
    match refused {
        Some(reply) if !decide::change_reached(change, &now.state) => Err(
            super::ports::why_not_started(ctx, slug.as_str(), found, reply.into_error()),
        ),
        _ => Ok(now),
    }
}

/// The bottle object: the network as first observed (a state change does not touch it), the
/// bundle as it is now.
fn bottle(slug: &Slug, names: &Names, obs: &Observed, bundle: &Container) -> Bottle {
    let bundle_id = Some(bundle.id.as_str());
    let network = decide::choose_network(&obs.networks, bundle_id).map(|c| &obs.networks[c.keep]);
    Bottle::from_observed(slug, names, network, Some(bundle))
}

fn refused(slug: &Slug, command: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!("cannot {command} bottle `{slug}`: {why}"),
    )
}
