//! The read-only commands: `status`, `port`, `ls`. They change nothing.

use std::collections::BTreeMap;

use super::{Ctx, Observed, check_bundle_is_ours, decide};
use crate::argv::{self, Filter, LABEL_ROLE, LABEL_SLUG, ROLE_BUNDLE, ROLE_NETWORK};
use crate::classify::{Class, Verb};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::Flavor;
use crate::input::{Names, Prefix, Slug};
use crate::model::{Bottle, Container, Object, PortView, Protocol};

/// The bottle object of one slug, or [`ErrorKind::NotFound`].
pub fn status(ctx: &Ctx, slug: &Slug) -> Result<Bottle> {
    let ctx = &ctx.for_slug(slug);
    let names = Names::new(&ctx.prefix, slug)?;
    let obs = ctx.observe(&names)?;
    if obs.bundle.is_none() && obs.networks.is_empty() {
        return Err(missing(slug, &names));
    }
    obs.check_ours(slug, &names)?;
    let bundle_id = obs.bundle.as_ref().map(|b| b.id.as_str());
    let network = decide::choose_network(&obs.networks, bundle_id).map(|c| &obs.networks[c.keep]);
    Ok(Bottle::from_observed(
        slug,
        &names,
        network,
        obs.bundle.as_ref(),
    ))
}

/// A bottle with neither network nor bundle, in the words every command uses for it.
pub(crate) fn missing(slug: &Slug, names: &Names) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!(
            "no bottle `{slug}`: no network `{}` and no container `{}`",
            names.network, names.bundle
        ),
    )
}

/// A bottle whose network is there but whose bundle is not.
pub(crate) fn no_bundle(slug: &Slug, bundle: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("bottle `{slug}` has no bundle (container `{bundle}` does not exist)"),
    )
}

/// The bottle's bundle, as one `container inspect` shows it, checked to be bottle's.
pub(crate) fn bundle(ctx: &Ctx, slug: &Slug) -> Result<Container> {
    let names = Names::new(&ctx.prefix, slug)?;
    let b = ctx
        .inspect_container(&names.bundle)?
        .ok_or_else(|| no_bundle(slug, &names.bundle))?;
    check_bundle_is_ours(slug, &names, &b)?;
    Ok(b)
}

/// The mappings `port` prints: every one, or those of `port`. A stopped bundle, a missing one and
/// an unpublished port each get their own message. `env` prints the same endpoints (all of them),
/// or fails with the same message, so the two never disagree about a bottle.
pub(crate) fn published(b: &Bottle, port: Option<(u16, Protocol)>) -> Result<Vec<PortView>> {
    let slug = &b.slug;
    match b.bundle.state.as_str() {
        "missing" => return Err(no_bundle(slug, &b.bundle.name)),
        "running" | "paused" | "restarting" => {}
        state => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the bundle of bottle `{slug}` is stopped (state: {state}), so it publishes no port; start it again with `up` and the same spec"
                ),
            ));
        }
    }
    let Some((port, proto)) = port else {
        return Ok(b.ports.clone());
    };
    let found: Vec<PortView> = b
        .ports
        .iter()
        .filter(|p| p.container_port == port && p.protocol == proto)
        .cloned()
        .collect();
    if !found.is_empty() {
        return Ok(found);
    }
    let mut published: Vec<String> = b.ports.iter().map(port_name).collect();
    published.dedup();
    let port = match proto {
        Protocol::Tcp => port.to_string(),
        _ => format!("{port}/{proto}"),
    };
    Err(not_published(b.slug.as_str(), &port, &published))
}

/// `8080` for a TCP port, `53/udp` for a UDP one: how a spec names it.
fn port_name(p: &PortView) -> String {
    match p.protocol {
        Protocol::Tcp => p.container_port.to_string(),
        proto => format!("{}/{proto}", p.container_port),
    }
}

/// A container port the bundle does not publish, and how to publish it: `up` again with the
/// bottle's whole spec (a spec without its other options would replace the bundle without them).
fn not_published(slug: &str, port: &str, published: &[String]) -> Error {
    let published = match published {
        [] => "it publishes none".to_string(),
        ports => format!("published: {}", ports.join(", ")),
    };
    Error::new(
        ErrorKind::NotFound,
        format!(
            "container port {port} of bottle `{slug}` is not published ({published}); to publish it, run `up` again with its full spec (the same image, env, volumes and config) plus port {port}"
        ),
    )
}

/// Every bottle of this prefix, by slug, with what exists of it.
///
/// Bundles are listed by their labels alone, whatever their name: one renamed by something else
/// is still bottle's (a stray, see [`decide::is_stray`]), found as this prefix's by the network it
/// was run on. Networks cannot be renamed, so they are listed by name prefix too.
pub fn list(ctx: &Ctx) -> Result<BTreeMap<Slug, Observed>> {
    let prefix = ctx.prefix.as_str();
    let network_re = format!("{prefix}-bundle-");
    let ps = ctx
        .run(
            Verb::Ps,
            argv::ps(&[Filter::Label(LABEL_ROLE, ROLE_BUNDLE)]),
        )?
        .check()?;
    let nets = ctx
        .run(
            Verb::NetworkLs,
            argv::network_ls(&[
                Filter::Label(LABEL_ROLE, ROLE_NETWORK),
                Filter::NamePrefix(&network_re),
            ]),
        )?
        .check()?;
    let ids = |reply: &crate::exec::Reply| -> Result<Vec<String>> {
        Ok(ctx.id_names(reply)?.into_iter().map(|(id, _)| id).collect())
    };
    let objects = inspect_ids(ctx, &ids(&ps)?, &ids(&nets)?)?;
    let mut out: BTreeMap<Slug, Observed> = BTreeMap::new();
    for object in objects {
        match object {
            Object::Container(c) => {
                if let Some(slug) = owner(&ctx.prefix, &c.labels, |_, n| n.bundle == c.name)
                    && c.is_bundle_of(slug.as_str())
                {
                    out.entry(slug).or_default().bundle = Some(c);
                } else if let Some(slug) = owner(&ctx.prefix, &c.labels, |slug, n| {
                    decide::is_stray(&c, slug.as_str(), &n.bundle, &n.network)
                }) {
                    out.entry(slug).or_default().strays.push(c);
                }
            }
            Object::Network(n) => {
                if let Some(slug) = owner(&ctx.prefix, &n.labels, |_, ns| ns.network == n.name)
                    && n.is_network_of(slug.as_str())
                {
                    out.entry(slug).or_default().networks.push(n);
                }
            }
            Object::Other => {}
        }
    }
    Ok(out)
}

/// The objects behind listed IDs. One untyped `inspect` of them all where it works (docker); typed
/// `container inspect` and `network inspect` on podman, whose untyped inspect takes every ID for a
/// container, and where the untyped one fails (podman's docker socket refuses 64-hex IDs as image
/// names). Objects removed since the listing are simply not there.
fn inspect_ids(ctx: &Ctx, containers: &[String], networks: &[String]) -> Result<Vec<Object>> {
    if containers.is_empty() && networks.is_empty() {
        return Ok(Vec::new());
    }
    if ctx.engine.flavor() == Flavor::Docker {
        let all: Vec<&str> = containers
            .iter()
            .chain(networks)
            .map(String::as_str)
            .collect();
        let reply = ctx.run(Verb::Inspect, argv::inspect(&all))?;
        match reply.class() {
            Class::Ok | Class::NotFound => {
                let mut objects = ctx.objects(&reply)?;
                ctx.fill_attached_objects(&mut objects)?;
                return Ok(objects);
            }
            Class::DaemonUnreachable | Class::PermissionDenied => return Err(reply.into_error()),
            _ => {}
        }
    }
    let mut objects = Vec::new();
    objects.extend(
        ctx.inspect_containers(containers)?
            .into_iter()
            .map(Object::Container),
    );
    objects.extend(
        ctx.inspect_networks(networks)?
            .into_iter()
            .map(Object::Network),
    );
    Ok(objects)
}

/// The slug of a labelled object whose name is exactly what this prefix and slug give.
fn owner(
    prefix: &Prefix,
    labels: &BTreeMap<String, String>,
    is_named: impl Fn(&Slug, &Names) -> bool,
) -> Option<Slug> {
    let slug = Slug::parse(labels.get(LABEL_SLUG)?).ok()?;
    let names = Names::new(prefix, &slug).ok()?;
    is_named(&slug, &names).then_some(slug)
}

/// The bottle objects of [`list`]. A slug of which only strays are left is no bottle to show
/// (`gc` removes them).
pub fn ls(ctx: &Ctx) -> Result<Vec<Bottle>> {
    Ok(list(ctx)?
        .iter()
        .filter(|(_, obs)| obs.bundle.is_some() || !obs.networks.is_empty())
        .map(|(slug, obs)| {
            let names = Names::new(&ctx.prefix, slug).expect("listed names are valid");
            let network = super::decide::choose_network(
                &obs.networks,
                obs.bundle.as_ref().map(|b| b.id.as_str()),
            )
            .map(|c| &obs.networks[c.keep]);
            Bottle::from_observed(slug, &names, network, obs.bundle.as_ref())
        })
        .collect())
}
