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
//! * **Secrets stay secret**: the KS, secrets and passwords (e.g. of
//!   [`user.loginByLoginId`](services::user#signing-a-user-in-userloginbyloginid)) are secret
//!   types, hidden by `Debug` and scrubbed from every error.
//!
//! This crate knows nothing about Discord.
//!
//! ## Quick start
//!
//! ```no_run
//! use kaltura_client::{Client, ks::SessionType};
//! use serde_json::json;
//!
//! # async fn run() -> kaltura_client::Result<()> {
//! // The client signs its own ADMIN KS with the admin secret and renews it before expiry.
//! let client = Client::builder()
//!     .partner_id(12345)
//!     .admin_secret(std::env::var("KALTURA_ADMIN_SECRET").unwrap_or_default())
//!     .build()?;
//!
//! // Any service, untyped:
//! let entries = client
//!     .call_raw("media", "list", json!({ "pager": { "pageSize": 5 } }))
//!     .await?;
//!
//! // A modelled service: a USER KS for a Discord member, signed by Kaltura.
//! let user_ks = client
//!     .session()
//!     .start()
//!     .user_id("discord_42")
//!     .session_type(SessionType::User)
//!     .send()
//!     .await?;
//!
//! // Act as that user; API errors are typed.
//! match client.with_ks(user_ks).call_raw("media", "get", json!({ "entryId": "0_nope" })).await {
//!     Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::EntryIdNotFound) => { /* not there */ }
//!     other => { other?; }
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
// Library code outside tests may not panic on input.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod clock;
pub mod error;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
pub mod ids;
pub mod ks;
pub mod meetings_join;
pub mod multirequest;
pub mod pagination;
pub mod request;
pub mod retry;
pub mod services;
pub mod types;
pub mod urls;

pub use error::{ApiError, Error, ErrorCode, InvalidKsReason, KsErrorKind, Result};
pub use ids::{
    AppTokenId, CategoryId, EntryId, EventNotificationTemplateId, FlavorAssetId, IdKind,
    IdParseError, IdParseReason, PartnerId, ScheduleEventId, ScheduleResourceId, UiConfId, UserId,
    VirtualEventId,
};
pub use ks::{DecodedKs, Ks, KsBuilder, KsSigner, KsVersion, Privilege, Privileges, SessionType};

pub use client::{Client, ClientBuilder, Credentials};
pub use multirequest::{Handle, MultiRequest, MultiResponse};
pub use pagination::{Paginated, Paginator};
pub use request::{KalturaRequest, RawRequest, RequestBuilder};
pub use retry::{RetryDecision, RetryPolicy};
