//! Integration tests of kaltura-client: one binary, one module per area.
mod app_token;
mod client_support;
mod errors;
mod fake;
mod fake_access;
mod fake_limits;
mod fake_notify;
mod fake_support;
mod ks;
mod ks_fuzz;
mod multirequest;
mod retry;
mod services;
mod services_meetings;
mod services_search;
mod session;
mod wire;
