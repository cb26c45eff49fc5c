//! The one integration-test binary: the built `bottle` against a fake engine, the fixture corpora,
//! and (gated on a reachable engine) the real thing.

mod attack;
mod attack15;
mod attack16;
mod attack16b;
mod attack2;
mod attack3;
mod cli;
mod endpoints;
mod engine_restart;
mod engine_setup;
mod events;
mod exec;
mod exec_real;
mod fake;
mod fixtures;
mod fleet;
mod fleet_cli;
mod held;
mod hold;
mod hostile;
mod library;
mod many;
mod people;
mod private_engines;
mod races;
mod real;
mod round3;
mod schema;
mod secrets;
mod spec_grows;
mod strays;
mod transcripts;
mod verbs;
mod vm;
mod wait;
