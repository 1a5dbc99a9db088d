//! `/api/v1/guilds/{guild_id}/meetings`: list, create, get, end and join, through
//! [`MeetingService`](crate::meetings::MeetingService) with the same permissions as
//! `/kaltura meeting …` (`list_meetings`, `start_meeting`, `end_meeting` or the host,
//! `join_meeting`) and the same audit entries. With a Discord REST client
//! ([`GatewayBuilder::rest`](super::GatewayBuilder::rest)), started and ended meetings are
//! mirrored as Discord scheduled events like the bot does (`meetings.discord_events`, best
//! effort: Discord failing never fails the answer).

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kaltura_client::ScheduleEventId;
use kaltura_client::meetings_join::MeetingRole;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::GuildCall;
use super::error::{ApiError, Problem};
use super::{ApiJson, GatewayState, private_json};
use crate::config::MeetingType;
use crate::context::Feature;
use crate::identity::DiscordMember;
use crate::meetings::{MeetingMember, StartMeeting};
use crate::rbac::Permission;
use crate::store::MeetingRecord;

pub(crate) fn router() -> Router<GatewayState> {
    Router::new()
        .route(
            "/api/v1/guilds/{guild_id}/meetings",
            get(list_meetings).post(create_meeting),
        )
        .route(
            "/api/v1/guilds/{guild_id}/meetings/{meeting_id}",
            get(get_meeting),
        )
        .route(
            "/api/v1/guilds/{guild_id}/meetings/{meeting_id}/end",
            post(end_meeting),
        )
        .route(
            "/api/v1/guilds/{guild_id}/meetings/{meeting_id}/join",
            post(join_meeting),
        )
}

/// A meeting started from the guild.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meeting {
    /// The Kaltura schedule event id.
    pub id: i64,
    /// The title.
    pub title: String,
    /// The description.
    pub description: Option<String>,
    /// `webinar`, `meeting_room` or `virtual_classroom`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start (unix seconds).
    pub starts_at: i64,
    /// End (unix seconds).
    pub ends_at: i64,
    /// The Discord member who started it.
    pub host: String,
    /// `scheduled` or `ended`.
    pub status: String,
    /// When it was ended (unix seconds).
    pub ended_at: Option<i64>,
    /// Who ended it.
    pub ended_by: Option<String>,
}

impl From<&MeetingRecord> for Meeting {
    fn from(m: &MeetingRecord) -> Self {
        Meeting {
            id: m.event_id.get(),
            title: m.title.clone(),
            description: m.description.clone(),
            kind: m.kind.as_str().to_owned(),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            host: m.created_by.to_string(),
            status: m.status.as_str().to_owned(),
            ended_at: m.ended_at,
            ended_by: m.ended_by.map(|u| u.to_string()),
        }
    }
}

/// The guild's open meetings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingList {
    /// Running or coming up.
    pub meetings: Vec<Meeting>,
}

/// A meeting to start.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMeeting {
    /// 1-256 characters (after trimming; no control characters).
    #[schema(min_length = 1, max_length = 256)]
    pub title: String,
    /// Up to 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `webinar`, `meeting_room` or `virtual_classroom` (default: the guild's).
    #[serde(default, rename = "type")]
    #[schema(pattern = "^(webinar|meeting_room|virtual_classroom)$")]
    pub kind: Option<String>,
    /// 5-1440 minutes (default: the guild's).
    #[serde(default)]
    #[schema(minimum = 5, maximum = 1440)]
    pub duration_minutes: Option<u32>,
    /// Start (unix seconds; default now).
    #[serde(default)]
    pub starts_at: Option<i64>,
}

/// The caller's own join link: a secret, never logged; answered with `Cache-Control:
/// no-store`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JoinLink {
    /// The meeting.
    pub meeting_id: i64,
    /// The personal join URL (do not share it).
    pub url: String,
    /// `host` or `attendee`.
    pub role: String,
    /// Until when the link works (unix seconds).
    pub expires_at: i64,
}

/// Parses a meeting id in the path: 1-19 digits, not zero.
pub(crate) fn meeting_id(call: &GuildCall) -> Result<ScheduleEventId, ApiError> {
    let raw = call.param("meeting_id").unwrap_or("");
    let bad = || ApiError::invalid("meeting_id", "the meeting id must be a positive number");
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => Ok(ScheduleEventId::new(v)),
        _ => Err(bad()),
    }
}

/// List the guild's open meetings.
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/meetings", tag = "meetings",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open meetings", body = MeetingList),
        (status = 400, description = "Bad guild id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied, another guild or feature off", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn list_meetings(call: GuildCall) -> Result<Response, ApiError> {
    let meetings = call
        .state
        .shared
        .meetings
        .list(&call.gctx(), &call.subject())
        .await?;
    Ok(axum::Json(MeetingList {
        meetings: meetings.iter().map(Meeting::from).collect(),
    })
    .into_response())
}

/// Start a meeting (`start_meeting`).
#[utoipa::path(post, path = "/api/v1/guilds/{guild_id}/meetings", tag = "meetings",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)")),
    request_body = CreateMeeting,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Started", body = Meeting),
        (status = 400, description = "Invalid input (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_meeting(
    call: GuildCall,
    ApiJson(body): ApiJson<CreateMeeting>,
) -> Result<Response, ApiError> {
    let mut request = StartMeeting::new(body.title);
    if let Some(kind) = body.kind {
        request.kind = Some(MeetingType::parse(kind.trim()).ok_or_else(|| {
            ApiError::invalid(
                "type",
                "the meeting type must be webinar, meeting_room or virtual_classroom",
            )
        })?);
    }
    request.description = body.description;
    request.duration_minutes = body.duration_minutes;
    request.starts_at = body.starts_at;
    let shared = &call.state.shared;
    let meeting = shared
        .meetings
        .start(&call.gctx(), &call.subject(), request)
        .await?;
    if let Some(rest) = &shared.rest {
        shared
            .meetings
            .scheduled_events(&**rest)
            .meeting_started(&call.gctx(), &meeting)
            .await;
    }
    Ok((StatusCode::CREATED, axum::Json(Meeting::from(&meeting))).into_response())
}

/// One meeting of the guild (`list_meetings`).
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/meetings/{meeting_id}", tag = "meetings",
    params(
        ("guild_id" = String, Path, description = "The guild (Discord snowflake)"),
        ("meeting_id" = String, Path, description = "The meeting (Kaltura schedule event id)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The meeting", body = Meeting),
        (status = 400, description = "Bad id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting in this guild", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_meeting(call: GuildCall) -> Result<Response, ApiError> {
    let id = meeting_id(&call)?;
    let meeting = call
        .state
        .shared
        .meetings
        .get(&call.gctx(), &call.subject(), id)
        .await?;
    Ok(axum::Json(Meeting::from(&meeting)).into_response())
}

/// End a meeting: with `end_meeting`, or as its host while the policy still lets them start
/// meetings (deny rules on `end_meeting` still refuse), like the End button.
#[utoipa::path(post, path = "/api/v1/guilds/{guild_id}/meetings/{meeting_id}/end", tag = "meetings",
    params(
        ("guild_id" = String, Path, description = "The guild (Discord snowflake)"),
        ("meeting_id" = String, Path, description = "The meeting (Kaltura schedule event id)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ended", body = Meeting),
        (status = 400, description = "Bad id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting in this guild", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already ended", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn end_meeting(call: GuildCall) -> Result<Response, ApiError> {
    let id = meeting_id(&call)?;
    let shared = &call.state.shared;
    let ended = shared
        .meetings
        .end_as_member(&call.gctx(), &call.subject(), id)
        .await?;
    if let Some(rest) = &shared.rest {
        shared
            .meetings
            .scheduled_events(&**rest)
            .meeting_ended(call.guild, &ended)
            .await;
    }
    Ok(axum::Json(Meeting::from(&ended)).into_response())
}

/// The caller's own join link (`join_meeting`), minted for the caller's Kaltura identity
/// (linked, or derived and provisioned like `/kaltura meeting join`).
#[utoipa::path(post, path = "/api/v1/guilds/{guild_id}/meetings/{meeting_id}/join", tag = "meetings",
    params(
        ("guild_id" = String, Path, description = "The guild (Discord snowflake)"),
        ("meeting_id" = String, Path, description = "The meeting (Kaltura schedule event id)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's personal link (Cache-Control: no-store)", body = JoinLink),
        (status = 400, description = "Bad id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied or no Kaltura identity", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting in this guild", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Ended or over", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn join_meeting(call: GuildCall) -> Result<Response, ApiError> {
    let id = meeting_id(&call)?;
    let gctx = call.gctx();
    gctx.require(Feature::Meetings)?;
    call.require(Permission::JoinMeeting)?;
    let display_name = format!("Discord member {}", call.caller.user);
    let who = call
        .partner
        .identity
        .resolve(
            call.guild,
            &call.config().identity,
            &DiscordMember {
                user: call.caller.user,
                display_name: display_name.clone(),
                email: None,
            },
        )
        .await?;
    let link = call
        .state
        .shared
        .meetings
        .join_url(
            &gctx,
            &call.subject(),
            &MeetingMember::new(who.kaltura_user, display_name),
            id,
        )
        .await?;
    let role = match link.role {
        MeetingRole::Instructor => "host",
        _ => "attendee",
    };
    Ok(private_json(
        StatusCode::OK,
        &JoinLink {
            meeting_id: id.get(),
            url: link.url.expose_url().to_owned(),
            role: role.to_owned(),
            expires_at: link.expires_at,
        },
    ))
}
