//! Integration tests of kaltura-discord: one binary, one module per area.
#![allow(clippy::print_stderr)]

#[macro_use]
mod support;

mod config;
mod identity;
mod meetings;
mod secrets;
mod store;
mod video;
