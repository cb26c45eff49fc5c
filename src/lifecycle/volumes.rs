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
pub(crate) fn ensure(ctx: &Ctx, slug: &Slug, spec: &Spec) -> Result<()> {
    let labels = argv::volume_labels(ctx.prefix.as_str(), slug.as_str());
    for v in spec.volumes.iter().filter(|v| v.is_named()) {
        let reply = ctx.run(Verb::VolumeCreate, argv::volume_create(&v.host, &labels))?;
        if reply.success() || !inspect(ctx, &[&v.host])?.is_empty() {
            continue;
        }
        return Err(reply.into_error());
    }
    Ok(())
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
