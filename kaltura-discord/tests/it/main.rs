//! Integration tests of kaltura-discord: one binary, one module per area.
#![allow(clippy::print_stderr)]

#[macro_use]
mod support;

// The configuration and secret-canary tests drive hot reload, so they need `watch` (the
// workspace test command enables it through the cross-crate tests package).
#[cfg(feature = "watch")]
mod config;
// The command layer's core (parsing, registration, reply JSON) needs no feature.
mod commands_core;
// The service tests run on SqlStore; the store tests run on every store this build has.
#[cfg(feature = "sqlite")]
mod commands;
// The whole front end over HTTP: endpoint, engine, SQLite and the twilight REST client.
#[cfg(all(feature = "sqlite", feature = "http", feature = "rest"))]
mod front_end;
// The gateway's sessions on every store; its Discord OAuth2 client against wiremock.
#[cfg(feature = "gateway")]
mod gateway_oauth;
mod gateway_sessions;
// The API gateway's router (oneshot and one socket) on the fake Kaltura and SQLite.
#[cfg(all(feature = "gateway", feature = "sqlite"))]
mod gateway_api;
// Signing in with a fake Discord, tokens, cookies and the identity-proof page.
#[cfg(all(feature = "gateway", feature = "sqlite"))]
mod gateway_login;
#[cfg(feature = "sqlite")]
mod identity;
#[cfg(feature = "sqlite")]
mod identity_login;
#[cfg(feature = "http")]
mod interactions_endpoint;
#[cfg(feature = "sqlite")]
mod meetings;
// The notification store on SQLite (and PostgreSQL with the `postgres` feature).
#[cfg(all(feature = "rest", feature = "sqlite"))]
mod notify_deliver;
// A meeting's living message end to end: fake Kaltura, receiver, router, lifecycle, worker.
#[cfg(all(feature = "http", feature = "rest", feature = "sqlite"))]
mod notify_lifecycle;
#[cfg(feature = "sqlite")]
mod notify_route;
#[cfg(feature = "sqlite")]
mod notify_store;
// Webhook templates in Kaltura (setup, drift) and backfill, against the fake Kaltura.
#[cfg(feature = "sqlite")]
mod notify_setup;
#[cfg(feature = "rest")]
mod rest;
#[cfg(feature = "watch")]
mod secrets;
#[cfg(feature = "serenity")]
mod serenity_adapter;
mod store;
#[cfg(feature = "sqlite")]
mod video;
// The Kaltura webhook receiver over loopback, on the SQL notification store.
#[cfg(all(feature = "http", feature = "sqlite"))]
mod webhooks;
