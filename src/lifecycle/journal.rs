//! The rollback journal: what one `up` created, and how to take exactly that back.
//!
//! A create whose answer `up` saw is recorded by the ID the engine printed. One cut short by a
//! signal or a timeout is [`Cut`](Made::Cut): the killed CLI does not cancel the daemon's work, so
//! the object may appear after the CLI is gone. The rollback then looks it up by name until the
//! engine has settled (bounded), and removes it only if it carries this run's `bottle.run` label.
//! What it cannot confirm it reports as such, never as rolled back.

use std::time::{Duration, Instant};

use super::Ctx;
use super::decide::{self, Made, NetworkRollback};
use crate::error::{ErrorKind, Result};
use crate::input::{Names, Slug};
use crate::model::Network;

/// How long the rollback waits for the engine to settle a create that was cut short.
const CUT_SETTLE: Duration = Duration::from_secs(3);
const CUT_POLL: Duration = Duration::from_millis(150);

/// What one `up` may have created.
#[derive(Debug, Default)]
pub struct Journal {
    /// This run's `bottle.run` label.
    pub run: String,
    pub network: Made,
    pub bundle: Made,
}

/// What a rollback did, for the error message and the error's data.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rollback {
    /// Objects removed, as `container NAME` / `network NAME`.
    pub removed: Vec<String>,
    /// Objects that could not be removed, each with the reason.
    pub left: Vec<String>,
    /// Creates cut short whose result the engine had not shown when the rollback gave up waiting.
    pub unconfirmed: Vec<String>,
}

impl Rollback {
    pub fn is_clean(&self) -> bool {
        self.left.is_empty() && self.unconfirmed.is_empty()
    }
}

impl Journal {
    pub fn new(run: String) -> Journal {
        Journal {
            run,
            ..Journal::default()
        }
    }

    /// Remove what this run made. `ctx` should be a [`Ctx::finishing`] one: the rollback runs to
    /// the end after a first signal, and a second one stops it (what is left is then reported).
    pub fn roll_back(&self, ctx: &Ctx, slug: &Slug, names: &Names) -> Rollback {
        let mut out = Rollback::default();
        let bundle = format!("container `{}`", names.bundle);
        let removed_bundle = match self.bundle_target(ctx, names) {
            Ok(Settled::Found(id)) => match ctx.remove_container(&id) {
                Ok(()) => {
                    out.removed.push(bundle);
                    Some(id)
                }
                Err(e) => {
                    out.left.push(format!("{bundle}: {e}"));
                    None
                }
            },
            Ok(Settled::Nothing | Settled::Steps(_)) => None,
            Ok(Settled::Unconfirmed) => {
                out.unconfirmed.push(bundle);
                None
            }
            Err(e) => {
                out.left.push(format!("{bundle}: {e}"));
                None
            }
        };
        let network = format!("network `{}`", names.network);
        match self.network_steps(ctx, slug, names, removed_bundle.as_deref()) {
            Ok(None) => out.unconfirmed.push(network),
            Ok(Some(steps)) => {
                for step in steps {
                    // `Leave`: a peer's bundle is on it, so it is the bottle now, not a leftover.
                    if let NetworkRollback::Remove(id) = step {
                        self.remove_network(
                            ctx,
                            slug,
                            names,
                            &id,
                            removed_bundle.as_deref(),
                            &mut out,
                        );
                    }
                }
            }
            Err(e) => out.left.push(format!("{network}: {e}")),
        }
        out
    }

    /// Remove one network this run made, by ID. If the engine refuses because containers are
    /// attached, look: a peer's bundle on it means a peer adopted it, and it stays.
    fn remove_network(
        &self,
        ctx: &Ctx,
        slug: &Slug,
        names: &Names,
        id: &str,
        removed_bundle: Option<&str>,
        out: &mut Rollback,
    ) {
        let network = format!("network `{}`", names.network);
        let err = match ctx.remove_network(&names.network, id) {
            Ok(()) => return out.removed.push(network),
            Err(e) => e,
        };
        if *err.kind() == ErrorKind::Refused {
            let now = ctx.inspect_networks(&[id.to_string()]);
            let made = Made::Id(id.to_string());
            let steps = now.map(|found| {
                decide::network_rollback(&made, &found, slug.as_str(), &self.run, removed_bundle)
            });
            if steps.is_ok_and(|s| s.contains(&NetworkRollback::Leave)) {
                return;
            }
        }
        out.left.push(format!("{network}: {err}"));
    }

    /// The bundle to remove, if this run made one. One whose ID `run` did not print is found by
    /// this run's label, not by name: something else may have renamed it meanwhile, and it is
    /// still this run's to take back.
    fn bundle_target(&self, ctx: &Ctx, names: &Names) -> Result<Settled> {
        match &self.bundle {
            Made::Nothing => Ok(Settled::Nothing),
            Made::Id(id) => Ok(Settled::Found(id.clone())),
            Made::Pending => {
                let found = ctx.find_run_bundle(&self.run)?;
                Ok(found.map_or(Settled::Nothing, |c| Settled::Found(c.id)))
            }
            Made::Cut => settle(ctx, || {
                if let Some(c) = ctx.find_run_bundle(&self.run)? {
                    return Ok(Some(Settled::Found(c.id)));
                }
                // Another run's bundle holds the name: ours could not have been made.
                let found = ctx.find_container(&names.bundle)?;
                let other = found.as_ref().is_some_and(|c| !c.created_by(&self.run));
                Ok(other.then_some(Settled::Nothing))
            }),
        }
    }

    /// What to do with each network of our name that this run may have made; `None` if a create
    /// cut short never showed up within the bound.
    fn network_steps(
        &self,
        ctx: &Ctx,
        slug: &Slug,
        names: &Names,
        removed_bundle: Option<&str>,
    ) -> Result<Option<Vec<NetworkRollback>>> {
        let steps = |found: &[Network], made: &Made| {
            decide::network_rollback(made, found, slug.as_str(), &self.run, removed_bundle)
        };
        match &self.network {
            Made::Nothing => Ok(Some(Vec::new())),
            Made::Id(id) => Ok(Some(vec![NetworkRollback::Remove(id.clone())])),
            Made::Pending => {
                let found = ctx.find_networks(&names.network)?;
                Ok(Some(steps(&found, &self.network)))
            }
            Made::Cut => {
                let settled = settle(ctx, || {
                    let found = ctx.find_networks(&names.network)?;
                    let s = steps(&found, &Made::Pending);
                    Ok((!s.is_empty()).then_some(Settled::Steps(s)))
                })?;
                Ok(match settled {
                    Settled::Steps(s) => Some(s),
                    _ => None,
                })
            }
        }
    }
}

enum Settled {
    Found(String),
    Steps(Vec<NetworkRollback>),
    Nothing,
    Unconfirmed,
}

/// Ask `look` until it has an answer or [`CUT_SETTLE`] has passed.
fn settle(ctx: &Ctx, mut look: impl FnMut() -> Result<Option<Settled>>) -> Result<Settled> {
    let deadline = Instant::now() + CUT_SETTLE;
    loop {
        if let Some(answer) = look()? {
            return Ok(answer);
        }
        if Instant::now() >= deadline {
            return Ok(Settled::Unconfirmed);
        }
        ctx.engine.check_cancel()?;
        std::thread::sleep(CUT_POLL);
    }
}
