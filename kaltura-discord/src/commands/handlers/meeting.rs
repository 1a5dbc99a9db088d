//! `/kaltura meeting start|join|list|end`, the Join and End buttons, meeting autocomplete
//! and, through `services::events`, the Discord scheduled-event mirror
//! (`meetings.discord_events`).

use std::sync::Arc;

use kaltura_client::ScheduleEventId;

use super::{COLOR, COLOR_MUTED, Call, Options, inert, parse_meeting_id};
use crate::commands::custom_id::CustomId;
use crate::commands::engine::SuggestionKey;
use crate::commands::reply::{ActionRow, Button, ButtonStyle, Embed, Reply};
use crate::config::MeetingType;
use crate::context::Feature;
use crate::identity::DiscordMember;
use crate::meetings::{MeetingMember, StartMeeting};
use crate::rbac::Permission;
use crate::store::MeetingRecord;
use crate::{Error, Result};

/// Discord's limit on a link button's URL, in characters.
const MAX_BUTTON_URL_CHARS: usize = 512;

fn kind_name(kind: MeetingType) -> &'static str {
    match kind {
        MeetingType::Webinar => "Webinar",
        MeetingType::MeetingRoom => "Meeting room",
        MeetingType::VirtualClassroom => "Virtual classroom",
    }
}

/// The public card of a meeting: no link, a Join and an End button while it is open.
pub(crate) fn card(m: &MeetingRecord, ended: bool) -> Reply {
    let mut embed = Embed::titled(inert(&m.title, 250))
        .field("Type", kind_name(m.kind), true)
        .field("Starts", format!("<t:{}:F>", m.starts_at), true)
        .field("Ends", format!("<t:{}:t>", m.ends_at), true)
        .field("Host", format!("<@{}>", m.created_by), true)
        .field("Meeting id", m.event_id.to_string(), true);
    embed.description = m.description.as_deref().map(|d| inert(d, 1000));
    embed.color = Some(if ended { COLOR_MUTED } else { COLOR });
    embed.footer = Some(if ended {
        "This meeting has ended.".to_owned()
    } else {
        "Press Join to get your own link (only you see it).".to_owned()
    });
    let reply = Reply::default().embed(embed);
    if ended {
        return reply;
    }
    reply.row(ActionRow::Buttons(vec![
        Button::Action {
            label: "Join".into(),
            custom_id: CustomId::Join {
                meeting: m.event_id,
            }
            .to_string(),
            style: ButtonStyle::Primary,
            disabled: false,
        },
        Button::Action {
            label: "End".into(),
            custom_id: CustomId::End {
                meeting: m.event_id,
            }
            .to_string(),
            style: ButtonStyle::Danger,
            disabled: false,
        },
    ]))
}

/// `/kaltura meeting start title [type] [description] [duration]`.
pub(crate) async fn start(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["title", "type", "description", "duration"])?;
    let mut request = StartMeeting::new(opts.required_string("title")?);
    if let Some(kind) = opts.string("type")? {
        request.kind = Some(MeetingType::parse(kind.trim()).ok_or_else(|| {
            Error::invalid_input(
                "type",
                "the meeting type must be webinar, meeting_room or virtual_classroom",
            )
        })?);
    }
    request.description = opts.string("description")?.map(str::to_owned);
    if let Some(minutes) = opts.integer("duration")? {
        request.duration_minutes = Some(u32::try_from(minutes).map_err(|_| {
            Error::invalid_input(
                "duration_minutes",
                format!(
                    "a meeting lasts {} to {} minutes, got {minutes}",
                    crate::meetings::MIN_DURATION_MINUTES,
                    crate::meetings::MAX_DURATION_MINUTES
                ),
            )
        })?);
    }
    let engine = call.engine;
    let meeting = engine
        .meetings
        .start(&call.gctx(), &call.subject(), request)
        .await?;
    engine.forget_meetings(call.guild);
    engine
        .meetings
        .scheduled_events(&*engine.rest)
        .meeting_started(&call.gctx(), &meeting)
        .await;
    Ok(card(&meeting, false))
}

/// `/kaltura meeting join meeting`.
pub(crate) async fn join(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["meeting"])?;
    let meeting = parse_meeting_id(opts.required_string("meeting")?)?;
    join_reply(call, meeting).await
}

/// The member's own join link, ephemeral. Checks the feature and `join_meeting` before the
/// member's Kaltura identity is resolved (which may create the Kaltura user).
pub(crate) async fn join_reply(call: &Call<'_>, meeting: ScheduleEventId) -> Result<Reply> {
    let gctx = call.gctx();
    gctx.require(Feature::Meetings)?;
    call.require(Permission::JoinMeeting)?;
    let invoker = &call.ctx.invoker;
    let who = call
        .partner
        .identity
        .resolve(
            call.guild,
            &call.config().identity,
            &DiscordMember {
                user: invoker.user,
                display_name: invoker.display_name.clone(),
                email: None,
            },
        )
        .await?;
    let link = call
        .engine
        .meetings
        .join_url(
            &gctx,
            &call.subject(),
            &MeetingMember::new(who.kaltura_user, invoker.display_name.clone()),
            meeting,
        )
        .await?;
    let role = match link.role {
        kaltura_client::meetings_join::MeetingRole::Instructor => "a host",
        _ => "an attendee",
    };
    let url = link.url.expose_url();
    let text = format!(
        "Your personal link to meeting {meeting}: you join as {role}. It works until <t:{}:f>. It is yours alone; do not share it.",
        link.expires_at
    );
    if url.chars().count() <= MAX_BUTTON_URL_CHARS {
        Ok(Reply::text(text)
            .row(ActionRow::Buttons(vec![Button::Link {
                label: "Join meeting".into(),
                url: url.to_owned(),
            }]))
            .ephemeral())
    } else {
        Ok(Reply::text(format!("{text}\n<{url}>")).ephemeral())
    }
}

/// `/kaltura meeting list`.
pub(crate) async fn list(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    opts.only(&[])?;
    let meetings = call
        .engine
        .meetings
        .list(&call.gctx(), &call.subject())
        .await?;
    if meetings.is_empty() {
        return Ok(Reply::text(
            "No meetings are running or coming up in this server. Start one with `/kaltura meeting start`.",
        )
        .ephemeral());
    }
    let mut embed = Embed::titled("Meetings in this server");
    embed.color = Some(COLOR);
    for m in meetings.iter().take(10) {
        embed = embed.field(
            inert(&m.title, 200),
            format!(
                "{} · <t:{}:f> – <t:{}:t> · id {} · host <@{}>",
                kind_name(m.kind),
                m.starts_at,
                m.ends_at,
                m.event_id,
                m.created_by
            ),
            false,
        );
    }
    if meetings.len() > 10 {
        embed.footer = Some(format!("and {} more", meetings.len() - 10));
    }
    let buttons: Vec<Button> = meetings
        .iter()
        .take(5)
        .map(|m| Button::Action {
            label: format!("Join {}", crate::text::truncate_chars(&m.title, 60)),
            custom_id: CustomId::Join {
                meeting: m.event_id,
            }
            .to_string(),
            style: ButtonStyle::Primary,
            disabled: false,
        })
        .collect();
    Ok(Reply::default()
        .embed(embed)
        .row(ActionRow::Buttons(buttons))
        .ephemeral())
}

/// `/kaltura meeting end meeting`.
pub(crate) async fn end(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["meeting"])?;
    let meeting = parse_meeting_id(opts.required_string("meeting")?)?;
    let ended = end_meeting(call, meeting).await?;
    Ok(Reply::text(format!(
        "Meeting {} ({}) has been ended.",
        ended.event_id,
        inert(&ended.title, 200)
    ))
    .ephemeral())
}

/// The End button: the card, marked ended, replaces the message.
pub(crate) async fn end_from_card(call: &Call<'_>, meeting: ScheduleEventId) -> Result<Reply> {
    let ended = end_meeting(call, meeting).await?;
    Ok(card(&ended, true))
}

/// Ends a meeting for the member: allowed with `end_meeting`, or for the meeting's host
/// while the current policy still lets them start meetings (deny rules on `end_meeting`
/// still refuse them).
async fn end_meeting(call: &Call<'_>, meeting: ScheduleEventId) -> Result<MeetingRecord> {
    let engine = call.engine;
    let ended = engine
        .meetings
        .end_as_member(&call.gctx(), &call.subject(), meeting)
        .await?;
    engine.forget_meetings(call.guild);
    engine
        .meetings
        .scheduled_events(&*engine.rest)
        .meeting_ended(call.guild, &ended)
        .await;
    Ok(ended)
}

/// The guild's open meetings matching `partial`, as `(id, "title (id)")`.
pub(crate) async fn suggestions(call: &Call<'_>, partial: &str) -> Result<Vec<(String, String)>> {
    call.gctx().require(Feature::Meetings)?;
    call.require(Permission::ListMeetings)?;
    let engine = call.engine;
    let key = SuggestionKey::Meetings(call.guild, call.partner.account.partner_id());
    let all = match engine.suggestions.get(&key) {
        Some(all) => all,
        None => {
            let open = engine
                .meeting_store
                .list_open_meetings(call.guild, call.partner.account.partner_id(), engine.now())
                .await?;
            let all = Arc::new(
                open.iter()
                    .map(|m| {
                        (
                            m.event_id.to_string(),
                            format!(
                                "{} ({})",
                                crate::text::truncate_chars(&m.title, 80),
                                m.event_id
                            ),
                        )
                    })
                    .collect::<Vec<_>>(),
            );
            engine.suggestions.insert(key, all.clone());
            all
        }
    };
    let needle = partial.trim().to_lowercase();
    Ok(all
        .iter()
        .filter(|(id, name)| {
            needle.is_empty() || id.starts_with(&needle) || name.to_lowercase().contains(&needle)
        })
        .cloned()
        .collect())
}
