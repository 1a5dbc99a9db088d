//! The guild-scoped services every front end calls: who a member is in Kaltura
//! ([`identity`]), their Kaltura Meetings ([`meetings`]) and the guild's video ([`video`]).
//!
//! Each takes the guild (a [`crate::context::GuildContext`] for meetings and video), the
//! asking member's [`crate::rbac::Subject`] and its input; checks the guild's feature switch
//! and RBAC policy; validates the input with [`crate::text`]; calls Kaltura; and writes the
//! audit log. Time is read through an injected [`kaltura_client::clock::Clock`]
//! (`with_clock`, the system clock by default).
//!
//! The modules are re-exported at the crate root (`kaltura_discord::meetings`, …), so
//! both paths name the same items.

pub mod identity;
pub mod meetings;
pub mod video;
