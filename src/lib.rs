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
//! let bottles = Bottles::new(Engine::detect()?).prefix("bot-bottle")?;
//! let spec = Spec::builder("bot-bottle-sidecars:latest").publish(8080).secret_env("API_TOKEN", token).build()?;
//! let slug: Slug = "demo".parse()?;
//! let up = bottles.up(&slug, &spec)?;                      // up.action: Created | Kept | Replaced | Started
//! let addr: std::net::SocketAddr = up.bottle.port(8080).expect("published");
//! bottles.down(&slug)?;
//! # let _ = addr; Ok(()) }
//! ```
//!
//! The library writes nothing to stdout or stderr (progress goes to [`Bottles::on_event`]),
//! installs no signal handler and keeps no process-wide state (a [`CancelToken`] stops the calls
//! that use it). Errors keep their data behind accessors ([`Error::kind`], [`Error::command`],
//! [`Error::rolled_back`], [`Error::left`], [`Error::removed`]).
//!
//! The `bottle` binary is a client of this API and of nothing else: it builds with the `cli`
//! feature (on by default), which adds its command-line crates; an embedder that does not want
//! them depends on `bottle` with `default-features = false`.
//!
//! The API is blocking: each call runs engine commands to completion on the calling thread (and,
//! for several bottles, on scoped threads of its own). An async launcher calls it from
//! `spawn_blocking` and cancels it through a [`CancelToken`].

#![deny(missing_docs)]

mod argv;
mod bottles;
mod cancel;
mod classify;
mod display;
mod doctor;
mod error;
mod exec;
mod host;
mod input;
mod lifecycle;
mod lock;
mod model;
mod ready;
mod spec;
mod subnet;
mod versions;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod props_tests;
#[cfg(test)]
mod ready_tests;

pub use bottles::{Bottles, Logs, SpecBuilder};
pub use cancel::CancelToken;
pub use display::{MASK, render as quote_argv, strip_help_advice};
pub use doctor::{Check, CheckStatus, Doctor, DoctorConfig, Fix, doctor};
pub use error::{CommandFailure, Error, ErrorKind, Invalid, Result};
pub use exec::{Engine, Event, Flavor, Stream, parse_timeout};
pub use input::{DEFAULT_PREFIX, Prefix, Slug, Volume};
/// The IPv4 network type of [`Pool`], [`Candidate`] and [`NetworkView::subnet`], re-exported so
/// that an embedder can name it without depending on `ipnetwork` itself.
pub use ipnetwork::Ipv4Network;
pub use lifecycle::many::{DEFAULT_PARALLEL, MAX_PARALLEL};
pub use lifecycle::{Action, Removed, UpOutcome};
pub use model::{Bottle, BundleView, NetworkView, PortView, Protocol};
pub use spec::{Build, DEFAULT_WAIT, Pull, RawSpec as SpecText, RawWait as WaitText, Spec};
pub use subnet::{Candidate, DEFAULT_BLOCK, DEFAULT_POOL, Pool};
pub use versions::{EngineVersions, VERSION};
