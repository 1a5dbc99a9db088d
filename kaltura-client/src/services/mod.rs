//! Handlers for the Kaltura services this crate models.
//!
//! Each service is a handler borrowed from the [`Client`](crate::Client) (`client.session()`,
//! `client.app_token()`); simple actions are `async fn`s, actions with optional parameters
//! return a builder finished with `.send()`. Every action is also available as a request
//! struct implementing [`KalturaRequest`](crate::KalturaRequest), so it can be put into a
//! [multirequest](crate::multirequest) or snapshot-tested without a server.

pub mod app_token;
pub mod media;
pub mod session;

pub use app_token::AppTokenHandler;
pub use media::MediaHandler;
pub use session::SessionHandler;
