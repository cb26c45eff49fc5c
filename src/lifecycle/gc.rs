//! `gc`: remove leftovers that carry bottle's labels: bundles that are not live, and networks with
//! no live bundle. What is live is [`decide::LIVE_STATES`]; a bundle `created` by an `up` still in
//! progress counts as live, so `gc` never breaks a running `up` (one `created` for longer than
//! [`decide::STALE_CREATED`] is a dead run's leftover).

use super::decide::{self, GcStep};
use super::{Ctx, Removed, read};
use crate::error::Result;
use crate::input::Names;

/// Remove leftovers, or with `dry_run` only say what would go. A first signal lets the bottle in
/// hand finish; no further bottle is started after it.
pub fn gc(ctx: &Ctx, dry_run: bool) -> Result<Removed> {
    let mut removed = Removed::default();
    for (slug, listed) in read::list(ctx)? {
        if ctx.engine.cancel_token().is_cancelled() {
            break;
        }
        // Under the slug's lock, look again: an `up` may have finished since the listing.
        let _lock = ctx.lock_slug(&slug)?;
        let finishing = ctx.finishing();
        let obs = match ctx.local {
            true => finishing.observe(&Names::new(&ctx.prefix, &slug)?)?,
            false => listed,
        };
        let GcStep::Remove { bundle, networks } = decide::gc_step(
            slug.as_str(),
            obs.bundle.as_ref(),
            &obs.networks,
            super::now(),
        ) else {
            continue;
        };
        // Without locks (a remote engine, or another user's lock directory) an `up` may start the
        // bundle or run one on the network after the look above: the engine's refusals tell, and
        // the bottle is then live, not a leftover.
        let names = Names::new(&ctx.prefix, &slug)?;
        if let Some(b) = bundle.and(obs.bundle.as_ref()) {
            if !dry_run && !finishing.remove_stopped_container(&b.id)? {
                continue;
            }
            removed.containers.push(b.name.clone());
        }
        for n in networks.iter().map(|&i| &obs.networks[i]) {
            if !dry_run && !finishing.remove_leftover_network(n, &names.bundle)? {
                break;
            }
            removed.networks.push(n.name.clone());
        }
    }
    Ok(removed)
}
