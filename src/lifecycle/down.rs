//! `down`: remove a bottle, the bundle first, then the network. Gone or half-built is success.

use super::{Ctx, Observed, attached_error};
use crate::error::{Error, ErrorKind, Result};
use crate::input::{Names, Slug};
use crate::model::Removed;

/// How many times `down` looks again when an `up` ran the bundle on the network after `down`
/// looked (there are no locks on a remote engine).
const ROUNDS: usize = 3;

/// Take a bottle down. The whole removal runs on a [`Ctx::finishing`] context: a first signal lets
/// it finish, a second stops it (the error then says what is left). A failure after the bundle
/// was removed says so in [`crate::Error::removed`].
pub fn down(ctx: &Ctx, slug: &Slug) -> Result<Removed> {
    down_seen(ctx, slug, None)
}

/// [`down`], starting from what a listing already showed of the bottle (`down --all`), which saves
/// one inspect per bottle. A stale listing is safe: removals are by ID, and when the engine refuses
/// to remove the network because a bundle is on it now, `down` looks again; a listing that shows
/// a bundle without its network is confirmed by name.
pub fn down_seen(ctx: &Ctx, slug: &Slug, seen: Option<Observed>) -> Result<Removed> {
    down_with(ctx, slug, seen, false)
}

/// [`down_seen`], and with `volumes` then the named volumes bottle made for this bottle
/// (`down --volumes`), under the same lock: `bottle.role=volume` with this prefix and slug, by
/// what `volume inspect` shows. With `volumes` a bottle whose bundle and network are gone still
/// has its volumes looked for.
pub fn down_with(ctx: &Ctx, slug: &Slug, seen: Option<Observed>, volumes: bool) -> Result<Removed> {
    let ctx = &ctx.for_slug(slug);
    let names = Names::new(&ctx.prefix, slug)?;
    ctx.engine.check_cancel()?;
    let _lock = ctx.lock_slug(slug)?;
    let ctx = &ctx.finishing();
    let mut removed = Removed::default();
    let mut left = None;
    let result = remove(ctx, slug, &names, seen, &mut removed, &mut left).and_then(|()| {
        if volumes {
            removed.volumes = super::volumes::remove(ctx, slug)?;
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(removed),
        Err(e) => {
            let e = name_what_is_left(e, slug, left.as_deref());
            // Keep what was already gone in the error, for a caller that must know.
            let gone: Vec<String> = removed
                .containers
                .iter()
                .chain(&removed.networks)
                .cloned()
                .collect();
            match gone.is_empty() {
                true => Err(e),
                false => Err(e.with_removed(gone)),
            }
        }
    }
}

/// A second signal stops a removal at once; the error then names what is left (`left`: what the
/// last look showed and was not yet removed; `None`: the look itself was stopped), in its message
/// and in [`crate::Error::left`]. Other errors are returned as they are.
pub(super) fn name_what_is_left(e: Error, slug: &Slug, left: Option<&[String]>) -> Error {
    if *e.kind() != ErrorKind::Interrupted {
        return e;
    }
    // The removal that was killed may still finish in the daemon: "not seen removed", not "left".
    let (what, list) = match left {
        None => (
            format!("; bottle `{slug}` was not looked at: a `status` of it shows what is left"),
            Vec::new(),
        ),
        Some([]) => (format!("; nothing of bottle `{slug}` is left"), Vec::new()),
        // What removes the rest is the caller's to say (another `down`, or `gc`).
        Some(left) => (
            format!("; not seen removed: {}", left.join(", ")),
            left.to_vec(),
        ),
    };
    let msg = format!("{}{what}", e.message());
    let rolled_back = e.rolled_back().to_vec();
    e.with_message(msg).with_rollback(rolled_back, list)
}

/// The removal itself, noting in `removed` what is gone.
fn remove(
    ctx: &Ctx,
    slug: &Slug,
    names: &Names,
    mut seen: Option<Observed>,
    removed: &mut Removed,
    left: &mut Option<Vec<String>>,
) -> Result<()> {
    for _ in 0..ROUNDS {
        let obs = match seen.take() {
            // A bundle's network outlives it, so a listing that shows the bundle without its
            // network missed it (seen on podman's service just restarted): look by name, as a
            // `down` of this slug does, keeping the strays only a listing finds.
            Some(obs) if obs.bundle.is_some() && obs.networks.is_empty() => {
                // What a second signal during that look leaves: what the listing showed.
                *left = Some(obs.names());
                Observed {
                    strays: obs.strays,
                    ..ctx.observe(names)?
                }
            }
            Some(obs) => obs,
            None => ctx.observe(names)?,
        };
        *left = Some(obs.names());
        obs.check_ours(slug, names)?;
        // Refuse before touching anything, so a refusal never leaves a half-built bottle. What is
        // on the network is judged by its labels: a bundle of this slug that `down` did not see
        // when it looked (a racing `up` ran it since), or one renamed by something else, is
        // bottle's, never foreign; it goes too.
        let attached = ctx.attached(slug, &obs)?;
        if !attached.foreign.is_empty() {
            let foreign: Vec<&str> = attached.foreign.iter().map(String::as_str).collect();
            let network = obs.networks.first().map_or("", |n| n.name.as_str());
            return Err(attached_error(
                ctx.engine.flavor(),
                network,
                &foreign,
                "down",
            ));
        }
        if let Some(b) = &obs.bundle {
            // By ID, so a container that took the name meanwhile is not the one removed.
            ctx.remove_container(&b.id)?;
            push_once(&mut removed.containers, &b.name);
            forget(left, &format!("container `{}`", b.name));
        }
        // The strays a listing found (`down --all`), and those on the network, each once.
        let mut ours: Vec<(&str, &str)> = Vec::new();
        let listed = obs.strays.iter().map(|c| (c.id.as_str(), c.name.as_str()));
        let on_network = attached
            .ours
            .iter()
            .map(|(id, n)| (id.as_str(), n.as_str()));
        for (id, name) in listed.chain(on_network) {
            if !ours.iter().any(|(seen, _)| *seen == id) {
                ours.push((id, name));
            }
        }
        for (id, name) in ours {
            ctx.remove_container(id)?;
            push_once(&mut removed.containers, name);
        }
        let mut again = false;
        for n in &obs.networks {
            match ctx.remove_network(&n.name, &n.id) {
                Ok(()) => {
                    push_once(&mut removed.networks, &n.name);
                    forget(left, &format!("network `{}`", n.name));
                }
                // Something is on it that the look above did not show: a concurrent `up` ran the
                // bundle on it since, or a racing `down`'s removal of a container had not let go
                // of it yet (gone by now). Look again: the next round sorts what is there by its
                // labels, removes what is ours and refuses what is not.
                Err(e) if *e.kind() == ErrorKind::Refused => {
                    again = true;
                }
                Err(e) => return Err(e),
            }
        }
        if !again {
            return Ok(());
        }
    }
    Err(Error::new(
        ErrorKind::EngineFailed,
        format!(
            "bottle `{slug}` came back {ROUNDS} times while `down` removed it; is an `up` of it running in a loop?"
        ),
    ))
}

/// `what` is gone: no longer left.
fn forget(left: &mut Option<Vec<String>>, what: &str) {
    if let Some(left) = left {
        left.retain(|l| l != what);
    }
}

fn push_once(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_string());
    }
}
