//! Integration tests of kaltura-discord: one binary, one module per area.
#![allow(clippy::print_stderr)]

#[macro_use]
mod support;

mod config;
// The service tests run on SqlStore; the store tests run on every store this build has.
#[cfg(feature = "sqlite")]
mod identity;
#[cfg(feature = "sqlite")]
mod meetings;
mod secrets;
mod store;
#[cfg(feature = "sqlite")]
mod video;
