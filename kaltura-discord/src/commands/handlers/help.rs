//! `/kaltura help`.

use super::COLOR;
use crate::commands::reply::{Embed, Reply};

/// What the bot can do, for the member (ephemeral).
pub(crate) fn help() -> Reply {
    let mut embed = Embed::titled("Kaltura in Discord")
        .field(
            "Meetings",
            "`/kaltura meeting start` schedules a Kaltura meeting and posts a card with Join and End buttons.\n\
             `/kaltura meeting join` gives you your own link (only you see it).\n\
             `/kaltura meeting list` shows running and upcoming meetings; `/kaltura meeting end` ends one.",
            false,
        )
        .field(
            "Videos",
            "`/kaltura video search` finds videos; `/kaltura video info` shows one; `/kaltura video share` posts it in the channel.",
            false,
        )
        .field(
            "You",
            "`/kaltura whoami` shows the Kaltura user you act as and what you may do here.\n\
             `/kaltura link` links your Kaltura account; `/kaltura unlink` removes the link.",
            false,
        )
        .field(
            "Admins",
            "`/kaltura-admin config` shows and changes this server's settings, `identity` manages members' links, `audit recent` shows the audit log.",
            false,
        );
    embed.color = Some(COLOR);
    Reply::default().embed(embed).ephemeral()
}
