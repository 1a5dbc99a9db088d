//! Integration tests of kaltura-discord: one binary, one module per area.
#![allow(clippy::print_stderr)]

#[macro_use]
mod support;

mod identity;
mod meetings;
mod store;
mod video;
