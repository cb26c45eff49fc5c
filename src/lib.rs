//! `bottle` launches the network side of sandboxed AI-agent "bottles" by driving a
//! docker-compatible CLI (docker, podman) as a subprocess.
//!
//! For each bottle, identified by a [`Slug`], it creates a dedicated bridge network on a subnet
//! derived from the slug, runs a sidecar bundle container pinned at the subnet's second address
//! with its ports published on loopback, and reads those ports back.
//!
//! Launchers embed it through [`Bottles`]:
//!
//! ```no_run
//! use bottle::{Bottles, Engine, Slug, Spec};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let token = std::env::var("API_TOKEN").unwrap_or_default();
//! let bottles = Bottles::new(Engine::detect()?).prefix("bot-bottle".parse()?);
//! let spec = Spec::builder("bot-bottle-sidecars:latest").publish(8080).secret_env("API_TOKEN", token).build()?;
//! let slug: Slug = "demo".parse()?;
//! let up = bottles.up(&slug, &spec)?;                      // up.action: Created | Kept | Replaced | Started
//! let addr: std::net::SocketAddr = up.bottle.port(8080).expect("published");
//! bottles.down(&slug)?;
//! # let _ = addr; Ok(()) }
//! ```
//!
//! The library writes nothing to stdout or stderr (progress goes to [`Bottles::on_event`], each
//! [`Event`] naming its bottle), installs no signal handler and keeps no process-wide state (a
//! [`CancelToken`] stops the calls in flight, and never poisons the handle). Errors keep their
//! data behind accessors ([`Error::kind`], [`Error::command`], [`Error::deadline`],
//! [`Error::rolled_back`], [`Error::left`], [`Error::kept`], [`Error::removed`]).
//!
//! [`Bottles::events`] (an iterator) and [`Bottles::watch`] (a callback) stream each bottle's
//! changes as the engine reports them, each a [`BottleEvent`] with its [`Change`]: a state, a
//! health, the published ports.
//!
//! Over several engines (docker contexts, or podman connections), a [`Fleet`] places each new
//! bottle by the placement rule ([`placement_order`]), finds each existing one on whichever
//! context holds it, and says per context what answered ([`PerContext`], [`Placed`]).
//!
//! The API is typed: a [`Prefix`], a [`Pool`] of a [`Subnet`], a [`LoopbackPool`], ports as `u16`,
//! addresses as [`std::net::IpAddr`], waits as [`std::time::Duration`]; results carry a [`Slug`],
//! a [`State`] and a [`ReplaceReason`]. No third-party type appears in it. The environment that
//! bare env keys take their values from is the process's, read once by [`Bottles::new`], or the
//! one given to [`Bottles::environment`]; nothing reads the process environment later.
//!
//! The API is blocking: each call runs engine commands and waits for them, for seconds (minutes
//! for a pull). An async launcher calls it through its runtime's blocking pool (e.g. tokio's
//! `spawn_blocking`; a [`Bottles`] is `Send + Sync` and cheap to clone) and cancels from the async
//! side through [`Bottles::cancel_token`]. [`Bottles::up_guarded`] gives a [`BottleGuard`] that
//! takes the bottle down when dropped.
//!
//! The `bottle` binary is a client of this API and of nothing else: it builds with the `cli`
//! feature (on by default), which adds its command-line crates; an embedder that does not want
//! them depends on `bottle` with `default-features = false`.

#![deny(missing_docs)]

mod argv;
mod bottles;
mod cancel;
mod classify;
mod display;
mod doctor;
mod endpoints;
mod environment;
mod error;
mod exec;
mod fleet;
mod host;
mod input;
mod lifecycle;
mod limits;
mod lock;
mod model;
mod placement;
mod ready;
mod spec;
mod subnet;
mod versions;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod messages_tests;
#[cfg(test)]
mod props_tests;
#[cfg(test)]
mod ready_tests;

pub use bottles::{BottleGuard, Bottles, DownOptions, EventStream, Logs, SpecBuilder};
pub use cancel::CancelToken;
pub use display::{MASK, render as quote_argv};
pub use doctor::{Check, CheckStatus, Doctor, DoctorConfig, Fix, doctor};
pub use error::{
    CommandFailure, EngineCommand, Error, ErrorKind, Invalid, KeptNetwork, NotReady, Result,
};
pub use exec::{Engine, Event, Flavor, Stream, parse_timeout};
pub use fleet::{Fleet, PerContext, Placed};
pub use input::{DEFAULT_PREFIX, Prefix, Slug, Volume};
pub use lifecycle::events::{BottleEvent, Change};
pub use lifecycle::many::{DEFAULT_PARALLEL, MAX_PARALLEL};
pub use lifecycle::{Action, Removed, ReplaceReason, SpecField, UpOutcome};
pub use limits::Limits;
pub use model::{Bottle, BundleView, NetworkView, PortView, Protocol, State};
pub use placement::{placement_order, placement_score};
pub use spec::{
    Build, DEFAULT_IMAGE, DEFAULT_WAIT, Pull, RawSpec as SpecText, RawWait as WaitText, Spec,
    parse_ttl,
};
pub use subnet::{Candidate, DEFAULT_BLOCK, DEFAULT_POOL, LoopbackPool, Pool, Subnet};
pub use versions::{EngineVersions, VERSION};
