//! Handlers for the Kaltura services this crate models.
//!
//! Each service is a handler borrowed from the [`Client`](crate::Client) (`client.session()`,
//! `client.app_token()`); simple actions are `async fn`s, actions with optional parameters
//! return a builder finished with `.send()`. Every action is also available as a request
//! struct implementing [`KalturaRequest`](crate::KalturaRequest), so it can be put into a
//! [multirequest](crate::multirequest) or snapshot-tested without a server.

pub mod app_token;
pub mod base_entry;
pub mod category;
pub mod esearch;
pub mod event_notification;
pub mod media;
pub mod schedule;
pub mod session;
pub mod user;
pub mod virtual_event;

pub use app_token::AppTokenHandler;
pub use base_entry::BaseEntryHandler;
pub use category::CategoryHandler;
pub use esearch::ESearchHandler;
pub use event_notification::EventNotificationTemplateHandler;
pub use media::MediaHandler;
pub use schedule::{ScheduleEventHandler, ScheduleEventResourceHandler, ScheduleResourceHandler};
pub use session::SessionHandler;
pub use user::UserHandler;
pub use virtual_event::VirtualEventHandler;
