//! Conversions between Discord framework types and the command layer.
//!
//! * `serenity` (feature `serenity`): serenity 0.12's interaction models to
//!   [`crate::commands::Interaction`], and our replies, responses and command specs to
//!   serenity's builders, so a serenity (or poise) bot keeps its own client and framework
//!   and calls [`crate::commands::InteractionHandler::respond`].

#[cfg(feature = "serenity")]
pub mod serenity;
