//! `gc`: remove leftovers that carry bottle's labels: bundles that are neither live nor stopped
//! (`exited`, and podman's `stopping` and `stopped`, a stopped bottle's, are kept; see
//! `decide::is_live`), bundles renamed by
//! something else (strays, whatever their state), and networks with no live bundle. What is live
//! is [`decide::LIVE_STATES`]; a bundle `created` by an `up` still in progress counts as live, so
//! `gc` never breaks a running `up` (one `created` for longer than [`decide::STALE_CREATED`] is a
//! dead run's leftover).

use super::decide::{self, GcStep};
use super::{Ctx, Observed, Removed, many, read};
use crate::error::{Error, KeptNetwork, Result};
use crate::input::{Names, Slug};

/// Remove leftovers, working on at most `parallel` bottles at once. A first signal lets the
/// bottles in hand finish; no further bottle is started after it. One bottle's failure does not
/// stop the others; the error is then the first failure's, in slug order.
pub fn gc_parallel(ctx: &Ctx, dry_run: bool, parallel: usize) -> Result<Removed> {
    // Look once; only what the listing shows may go is looked at again, one by one.
    let now = super::now();
    let listed: Vec<(Slug, Observed)> = read::list(ctx)?
        .into_iter()
        .filter(|(slug, obs)| {
            decide::gc_may_remove(
                slug.as_str(),
                obs.bundle.as_ref(),
                &obs.strays,
                &obs.networks,
                now,
            )
        })
        .collect();
    let token = ctx.engine.cancel_token().clone();
    let results = many::bounded(&listed, parallel, &token, |(slug, obs)| {
        gc_one(ctx, slug, obs, dry_run)
    });
    let mut removed = Removed::default();
    let mut failed = None;
    for result in results.into_iter().flatten() {
        match result {
            Ok(r) => {
                removed.containers.extend(r.containers);
                removed.networks.extend(r.networks);
                removed.kept.extend(r.kept);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    match failed {
        // What the other bottles had removed stays known: the error carries it.
        Some(e) => Err(keep_removed(e, &removed)),
        None => Ok(removed),
    }
}

/// `e`, with `removed` added to what it says was removed ([`Error::removed`]).
fn keep_removed(e: Error, removed: &Removed) -> Error {
    let mut all = e.removed().to_vec();
    all.extend(removed.containers.iter().chain(&removed.networks).cloned());
    e.with_removed(all)
}

/// One bottle of `gc`: what it removed (or would remove).
fn gc_one(ctx: &Ctx, slug: &Slug, listed: &Observed, dry_run: bool) -> Result<Removed> {
    // A second signal stops it at once: the error names what is left of this bottle.
    let mut left = None;
    gc_one_noting(ctx, slug, listed, dry_run, &mut left)
        .map_err(|e| super::down::name_what_is_left(e, slug, left.as_deref()))
}

/// [`gc_one`], noting in `left` what of the bottle it still meant to remove.
fn gc_one_noting(
    ctx: &Ctx,
    slug: &Slug,
    listed: &Observed,
    dry_run: bool,
    left: &mut Option<Vec<String>>,
) -> Result<Removed> {
    // Under the slug's lock, look again: an `up` may have finished since the listing.
    let _lock = ctx.lock_slug(slug)?;
    let finishing = ctx.finishing();
    let names = Names::new(&ctx.prefix, slug)?;
    let mut obs = match ctx.local() {
        true => finishing.observe(&names)?,
        false => listed.clone(),
    };
    // Only the listing finds strays (by their labels); removing one is by ID, and one gone
    // meanwhile counts as removed.
    obs.strays = listed.strays.clone();
    *left = Some(obs.names());
    let mut removed = Removed::default();
    // One clock reading for every decision about this bottle.
    let now = super::now();
    let foreign = decide::gc_foreign(
        slug.as_str(),
        obs.bundle.as_ref(),
        &obs.strays,
        &obs.networks,
        now,
    );
    for (i, containers) in foreign {
        removed.kept.push(KeptNetwork {
            network: obs.networks[i].name.clone(),
            containers,
        });
    }
    let GcStep::Remove {
        bundle,
        strays,
        networks,
    } = decide::gc_step(
        slug.as_str(),
        obs.bundle.as_ref(),
        &obs.strays,
        &obs.networks,
        now,
    )
    else {
        return Ok(removed);
    };
    // A stray is no bottle's bundle any more: removed whatever its state.
    for s in strays.iter().map(|&i| &obs.strays[i]) {
        if !dry_run {
            finishing.remove_container(&s.id)?;
        }
        removed.containers.push(s.name.clone());
    }
    // Without locks (a remote engine, or another user's lock directory) an `up` may start the
    // bundle or run one on the network after the look above: the engine's refusals tell, and
    // the bottle is then live, not a leftover.
    if let Some(b) = bundle.and(obs.bundle.as_ref()) {
        // A bundle whose lease has passed goes whatever its state (its launcher may have died and
        // left it running): by the ID judged expired, forced. An `up` cannot have renewed it,
        // since a replace keeps the lease.
        let expired = decide::lease_passed(b, now);
        let gone = match (dry_run, expired) {
            (true, _) => true,
            (false, true) => finishing.remove_container(&b.id).map(|()| true)?,
            (false, false) => finishing.remove_stopped_container(&b.id)?,
        };
        if !gone {
            return Ok(removed);
        }
        removed.containers.push(b.name.clone());
        forget(left, &format!("container `{}`", b.name));
    }
    for n in networks.iter().map(|&i| &obs.networks[i]) {
        let kept = match dry_run {
            true => false,
            false => !finishing
                .remove_leftover_network(n, &names.bundle)
                .map_err(|e| keep_removed(e, &removed))?,
        };
        if kept {
            break;
        }
        removed.networks.push(n.name.clone());
        forget(left, &format!("network `{}`", n.name));
    }
    Ok(removed)
}

/// `what` is gone: no longer left.
fn forget(left: &mut Option<Vec<String>>, what: &str) {
    if let Some(left) = left {
        left.retain(|l| l != what);
    }
}
