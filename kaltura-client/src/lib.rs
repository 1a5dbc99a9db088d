//! # kaltura-client
//!
//! A typed async client for the [Kaltura](https://www.kaltura.com) API v3.
//!
//! * **Correct on the wire**: requests are `POST {service_url}/api_v3/service/{service}/action/{action}`
//!   with a JSON body (`Content-Type: application/json` exactly) carrying the parameters plus
//!   `ks`, `format: 1` and `clientTag`.
//! * **Typed errors**: Kaltura answers API errors with HTTP 200; they become [`Error::Api`]
//!   with the code, message and arguments, checked before the result is decoded. Transport
//!   failures, timeouts, HTML error pages and decode failures (with the JSON path of the
//!   failing field) are distinct variants of [`Error`], documented with whether the request
//!   may have been sent.
//! * **KS done locally**: [`ks`] generates and parses Kaltura Sessions (v1 and v2) without a
//!   round trip, reproducing the official test vectors byte for byte.
//! * **Safe retries**: [`retry`] only retries what cannot cause a duplicate side effect.
//!
//! This crate knows nothing about Discord.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod error;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
pub mod ids;
pub mod ks;
pub mod multirequest;
pub mod request;
pub mod retry;
pub mod services;
pub mod types;

pub use error::{ApiError, Error, InvalidKsReason, KsErrorKind, Result};
pub use ids::PartnerId;
