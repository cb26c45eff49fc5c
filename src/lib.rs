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
//! The library writes nothing to stdout or stderr (progress goes to [`Bottles::on_event`]),
//! installs no signal handler and keeps no process-wide state (a [`CancelToken`] stops the calls
//! that use it). Errors keep their data behind accessors ([`Error::kind`], [`Error::command`],
//! [`Error::rolled_back`], [`Error::left`], [`Error::removed`]).
//!
//! The modules marked hidden are the CLI's and the test suite's; they are not part of the API.

#![deny(missing_docs)]

mod bottles;
mod cancel;
mod environment;
mod error;
mod exec;
mod host;
mod lifecycle;
mod lock;

#[doc(hidden)]
pub mod argv;
#[doc(hidden)]
pub mod classify;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod display;
#[doc(hidden)]
pub mod input;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod ready;
#[doc(hidden)]
pub mod spec;
#[doc(hidden)]
pub mod subnet;

pub use bottles::{BottleGuard, Bottles, SpecBuilder};
pub use cancel::CancelToken;
pub use error::{CommandFailure, Error, ErrorKind, Invalid, NotReady, Result};
pub use exec::{Engine, Event, Flavor};
pub use input::{Prefix, Slug, Volume};
pub use lifecycle::{Action, Removed, ReplaceReason, UpOutcome};
pub use model::{Bottle, BundleView, NetworkView, PortView, State};
pub use spec::{Pull, Spec};
pub use subnet::{LoopbackPool, Pool, Subnet};
