//! `bottle` launches the network side of sandboxed AI-agent "bottles" by driving a
//! docker-compatible CLI as a subprocess.
//!
//! For each bottle, identified by a slug, it creates a dedicated bridge network on a subnet derived
//! from the slug ([`subnet`]), runs a sidecar bundle container pinned at the subnet's second
//! address with its ports published on loopback, and reads those ports back ([`lifecycle`]).
//!
//! Layers, from pure to effectful: [`input`] and [`spec`] validate; [`subnet`] derives; [`argv`]
//! builds every engine command as a plain argv list; [`display`] renders them for people;
//! [`classify`] reads engine failures; [`exec`] is the only code that spawns a process;
//! [`lifecycle`] decides what to run from what the engine shows; [`cli`] is the command line.
//!
//! ```
//! use bottle::subnet::Pool;
//! let pool = Pool::parse("10.213.0.0/16", 24).unwrap();
//! assert_eq!(pool.candidate("demo", 0).subnet.to_string(), "10.213.150.0/24");
//! ```

pub mod argv;
pub mod cancel;
pub mod classify;
pub mod cli;
pub mod display;
pub mod error;
pub mod exec;
pub mod host;
pub mod input;
pub mod lifecycle;
pub mod lock;
pub mod model;
pub mod ready;
pub mod spec;
pub mod subnet;

pub use error::{Error, ErrorKind, Invalid, Result};
