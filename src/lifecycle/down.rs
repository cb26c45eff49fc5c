//! `down`: remove a bottle, the bundle first, then the network. Gone or half-built is success.

use super::{Ctx, check_bundle_is_ours, check_network_is_ours, check_no_foreign_containers};
use crate::error::{Error, Result};
use crate::input::{Names, Slug};

/// What `down` (or `gc`) removed: resource names, containers before networks.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// The names of the containers removed (at most one bundle per bottle).
    pub containers: Vec<String>,
    /// The names of the networks removed.
    pub networks: Vec<String>,
}

impl Removed {
    /// Nothing was removed: the bottle was already gone.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty()
    }
}

/// Take a bottle down. The whole removal runs on a [`Ctx::finishing`] context: a first signal lets
/// it finish, a second stops it (the error then says what is left). A failure after the bundle
/// was removed says so in [`crate::Error::removed`].
pub fn down(ctx: &Ctx, slug: &Slug) -> Result<Removed> {
    let names = Names::new(&ctx.prefix, slug)?;
    ctx.engine.check_cancel()?;
    let _lock = ctx.lock_slug(slug)?;
    let ctx = &ctx.finishing();
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
    let so_far = |e: Error, removed: &Removed| {
        let names = removed.containers.iter().chain(&removed.networks).cloned();
        e.with_removed(names.collect())
    };
    if let Some(b) = &obs.bundle {
        // By ID, so a container that took the name meanwhile is not the one removed.
        ctx.remove_container(&b.id)?;
        removed.containers.push(b.name.clone());
    }
    for n in &obs.networks {
        ctx.remove_network(&n.name, &n.id)
            .map_err(|e| so_far(e, &removed))?;
        removed.networks.push(n.name.clone());
    }
    Ok(removed)
}
