//! Named volumes: made with bottle's labels before `run` mounts them, and removed only by
//! `down --volumes`, only when their labels name the bottle.
//!
//! A volume's name is the user's, so labels, not names, say whose it is: `bottle.role=volume`,
//! `bottle.prefix` and `bottle.slug`. An existing volume of the name is mounted as it is (the
//! user asked for it by name) and never relabelled; one that lacks this bottle's labels is never
//! removed. What a refused volume command means is decided by a look, never by its wording.

use super::Ctx;
use crate::argv::{self, Filter, LABEL_PREFIX, LABEL_ROLE, LABEL_SLUG, ROLE_VOLUME};
use crate::classify::{Class, Verb};
use crate::error::Result;
use crate::input::Slug;
use crate::model::{self, VolumeInfo};
use crate::spec::Spec;

/// Make each named volume the spec mounts, with this bottle's labels, unless it exists. One
/// `volume create` per named volume: docker answers 0 for one that exists (keeping its labels),
/// podman refuses it, and either way a refusal is judged by a `volume inspect`.
///
/// Returns the names of those that are this bottle's by their labels afterwards (one `volume
/// inspect` of them all): [`lost`] checks them again once `run` has mounted them.
pub(crate) fn ensure(ctx: &Ctx, slug: &Slug, spec: &Spec) -> Result<Vec<String>> {
    let labels = argv::volume_labels(ctx.prefix.as_str(), slug.as_str());
    let named: Vec<&str> = spec
        .volumes
        .iter()
        .filter(|v| v.is_named())
        .map(|v| v.host.as_str())
        .collect();
    for name in &named {
        let reply = ctx.run(Verb::VolumeCreate, argv::volume_create(name, &labels))?;
        if reply.success() || !inspect(ctx, &[name])?.is_empty() {
            continue;
        }
        return Err(reply.into_error());
    }
    if named.is_empty() {
        return Ok(Vec::new());
    }
    ours(ctx, slug, &named)
}

/// Of the volumes `names`, those the engine shows with this bottle's labels.
fn ours(ctx: &Ctx, slug: &Slug, names: &[&str]) -> Result<Vec<String>> {
    let prefix = ctx.prefix.as_str();
    Ok(inspect(ctx, names)?
        .into_iter()
        .filter(|v| v.is_volume_of(prefix, slug.as_str()))
        .map(|v| v.name)
        .collect())
}

/// After `run`: the volumes of `made` (this bottle's before `run`) that no longer carry its
/// labels. Without the local lock a racing `down --volumes` can remove one between its create and
/// `run`, and `run` then makes the engine create it again, unlabelled: a bundle on a volume that
/// `down --volumes` would never remove, with the data it was promised gone.
pub(crate) fn lost(ctx: &Ctx, slug: &Slug, made: &[String]) -> Result<Vec<String>> {
    if made.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = made.iter().map(String::as_str).collect();
    let still = ours(ctx, slug, &names)?;
    Ok(made
        .iter()
        .filter(|m| !still.contains(m))
        .cloned()
        .collect())
}

/// Remove a volume the engine made for this run's `run` without bottle's labels (see [`lost`]),
/// once the bundle that mounted it is gone. Not forced: one something else uses is left, and
/// said so by the caller.
pub(crate) fn remove_remade(ctx: &Ctx, name: &str) -> Result<bool> {
    let reply = ctx.run(Verb::VolumeRm, argv::volume_rm(name))?;
    Ok(reply.success() || inspect(ctx, &[name])?.is_empty())
}

/// Remove every volume whose labels say it was made for the bottle `slug` of this prefix, and
/// return their names. A volume that is gone by the time of its removal (a racing `down`) is
/// not an error; one the engine refuses to remove (a container uses it) is.
pub(crate) fn remove(ctx: &Ctx, slug: &Slug) -> Result<Vec<String>> {
    let prefix = ctx.prefix.as_str();
    let shown = labelled(ctx, Some(slug.as_str()))?;
    let mut removed = Vec::new();
    for v in shown
        .iter()
        .filter(|v| v.is_volume_of(prefix, slug.as_str()))
    {
        let reply = ctx.run(Verb::VolumeRm, argv::volume_rm(&v.name))?;
        if reply.success() || inspect(ctx, &[&v.name])?.is_empty() {
            removed.push(v.name.clone());
            continue;
        }
        return Err(reply.into_error());
    }
    Ok(removed)
}

/// The slugs of this prefix that bottle-made volumes name, sorted, each once: `down --all
/// --volumes` removes those of bottles that are gone too.
pub(crate) fn slugs(ctx: &Ctx) -> Result<Vec<Slug>> {
    let prefix = ctx.prefix.as_str();
    let mut slugs: Vec<Slug> = labelled(ctx, None)?
        .iter()
        .filter(|v| v.is_volume_of_prefix(prefix))
        .filter_map(|v| v.slug()?.parse().ok())
        .collect();
    slugs.sort();
    slugs.dedup();
    Ok(slugs)
}

/// The volumes the engine lists with bottle's volume labels (for one slug, or all of this
/// prefix), as `volume inspect` shows them. The filter narrows; the labels shown decide.
fn labelled(ctx: &Ctx, slug: Option<&str>) -> Result<Vec<VolumeInfo>> {
    let prefix = ctx.prefix.as_str();
    let mut filters = vec![
        Filter::Label(LABEL_ROLE, ROLE_VOLUME),
        Filter::Label(LABEL_PREFIX, prefix),
    ];
    filters.extend(slug.map(|s| Filter::Label(LABEL_SLUG, s)));
    let reply = ctx
        .run(Verb::VolumeLs, argv::volume_ls(&filters))?
        .check()?;
    let names: Vec<&str> = reply
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    inspect(ctx, &names)
}

/// What `volume inspect` shows of these names: a missing one is absent from the answer (the
/// command then fails as "not found", printing those it found). Any other failure, such as an
/// engine that does not answer, is an error: it shows nothing, which must not read as "gone".
fn inspect(ctx: &Ctx, names: &[&str]) -> Result<Vec<VolumeInfo>> {
    let reply = ctx.run(Verb::VolumeInspect, argv::volume_inspect(names))?;
    if !reply.success() && reply.class() != Class::NotFound {
        return Err(reply.into_error());
    }
    model::parse_volumes(&reply.line, &reply.stdout)
}
