//! `/api/v1/guilds/{guild_id}/videos`: search, get (thumbnail, player and playback links)
//! and restricted playback (an HLS URL with an `sview` KS bound to the caller's Kaltura
//! identity), through [`VideoService`](crate::video::VideoService) with the permissions of
//! `/kaltura video …` (`view_media`).

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::GuildCall;
use super::error::{ApiError, Problem};
use super::{GatewayState, private_json};
use crate::context::Feature;
use crate::identity::DiscordMember;
use crate::rbac::Permission;
use crate::video::{SearchPage, ShareCard, status_name};

pub(crate) fn router() -> Router<GatewayState> {
    Router::new()
        .route("/api/v1/guilds/{guild_id}/videos", get(search_videos))
        .route(
            "/api/v1/guilds/{guild_id}/videos/{entry_id}",
            get(get_video),
        )
        .route(
            "/api/v1/guilds/{guild_id}/videos/{entry_id}/playback",
            post(restricted_playback),
        )
}

/// Search parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The search text (1-200 characters).
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// The page, 1-100 (default 1).
    #[serde(default)]
    #[param(minimum = 1, maximum = 100)]
    pub page: Option<u32>,
}

/// A highlighted match.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Highlight {
    /// The field that matched.
    pub field: String,
    /// The matching text.
    pub text: String,
}

/// One search hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoHit {
    /// The Kaltura entry id.
    pub entry_id: String,
    /// The title.
    pub title: String,
    /// A short description.
    pub description: Option<String>,
    /// Length in seconds.
    pub duration_seconds: Option<i64>,
    /// A thumbnail URL.
    pub thumbnail_url: String,
    /// Matches.
    pub highlights: Vec<Highlight>,
}

/// One page of search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoSearch {
    /// The search text as used.
    pub query: String,
    /// The page.
    pub page: u32,
    /// Hits per page.
    pub page_size: u32,
    /// All hits.
    pub total_count: i64,
    /// Whether a next page exists.
    pub has_more: bool,
    /// This page's hits.
    pub hits: Vec<VideoHit>,
}

impl From<&SearchPage> for VideoSearch {
    fn from(p: &SearchPage) -> Self {
        VideoSearch {
            query: p.query.clone(),
            page: p.page,
            page_size: p.page_size,
            total_count: p.total_count,
            has_more: p.has_more(),
            hits: p
                .hits
                .iter()
                .map(|h| VideoHit {
                    entry_id: h.entry_id.to_string(),
                    title: h.title.clone(),
                    description: h.description.clone(),
                    duration_seconds: h.duration_seconds,
                    thumbnail_url: h.thumbnail_url.clone(),
                    highlights: h
                        .highlights
                        .iter()
                        .map(|(field, text)| Highlight {
                            field: field.clone(),
                            text: text.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// One entry with its links.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Video {
    /// The Kaltura entry id.
    pub entry_id: String,
    /// The title.
    pub title: String,
    /// The description.
    pub description: Option<String>,
    /// Length in seconds.
    pub duration_seconds: Option<i64>,
    /// The Kaltura status, in words.
    pub status: String,
    /// Whether it can be played.
    pub ready: bool,
    /// A thumbnail URL.
    pub thumbnail_url: String,
    /// The player page, when ready.
    pub player_url: Option<String>,
    /// A direct playback (HLS) URL, when ready.
    pub playback_url: Option<String>,
}

impl From<&ShareCard> for Video {
    fn from(c: &ShareCard) -> Self {
        Video {
            entry_id: c.entry_id.to_string(),
            title: c.title.clone(),
            description: c.description.clone(),
            duration_seconds: c.duration_seconds,
            status: status_name(&c.status).to_owned(),
            ready: c.ready,
            thumbnail_url: c.thumbnail_url.clone(),
            player_url: c.player_url.clone(),
            playback_url: c.playback_url.clone(),
        }
    }
}

/// A playback URL bound to the caller (answered with `Cache-Control: no-store`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Playback {
    /// The entry.
    pub entry_id: String,
    /// The HLS URL with the caller's `sview` KS (do not share it).
    pub url: String,
    /// Until when it works (unix seconds).
    pub expires_at: i64,
}

fn entry_id(call: &GuildCall) -> &str {
    call.param("entry_id").unwrap_or("")
}

/// Search the guild's Kaltura catalog.
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/videos", tag = "videos",
    params(("guild_id" = String, Path, description = "The guild (Discord snowflake)"), SearchParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of hits", body = VideoSearch),
        (status = 400, description = "Invalid query or page", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied or feature off", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn search_videos(
    call: GuildCall,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|_| {
        ApiError::invalid(
            "q",
            "give the search text as `q` and an optional `page` (1-100)",
        )
    })?;
    let page = call
        .state
        .shared
        .video
        .search(
            &call.gctx(),
            &call.subject(),
            &params.q,
            params.page.unwrap_or(1),
        )
        .await?;
    Ok(axum::Json(VideoSearch::from(&page)).into_response())
}

/// One entry with its thumbnail, player and playback links.
#[utoipa::path(get, path = "/api/v1/guilds/{guild_id}/videos/{entry_id}", tag = "videos",
    params(
        ("guild_id" = String, Path, description = "The guild (Discord snowflake)"),
        ("entry_id" = String, Path, description = "The Kaltura entry id, e.g. 0_abc123"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The entry", body = Video),
        (status = 400, description = "Bad entry id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied or feature off", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_video(call: GuildCall) -> Result<Response, ApiError> {
    let card = call
        .state
        .shared
        .video
        .get(&call.gctx(), &call.subject(), entry_id(&call))
        .await?;
    Ok(axum::Json(Video::from(&card)).into_response())
}

/// A playback URL for the caller: a USER KS for the caller's Kaltura identity with
/// `sview:{entryId}` (for entries whose access control needs a KS).
#[utoipa::path(post, path = "/api/v1/guilds/{guild_id}/videos/{entry_id}/playback", tag = "videos",
    params(
        ("guild_id" = String, Path, description = "The guild (Discord snowflake)"),
        ("entry_id" = String, Path, description = "The Kaltura entry id, e.g. 0_abc123"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's playback URL (Cache-Control: no-store)", body = Playback),
        (status = 400, description = "Bad entry id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Denied, feature off or no Kaltura identity", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not playable yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn restricted_playback(call: GuildCall) -> Result<Response, ApiError> {
    let gctx = call.gctx();
    // Refuse before the identity is resolved (which may create the Kaltura user).
    crate::video::validate_entry_id(entry_id(&call))?;
    gctx.require(Feature::Media)?;
    call.require(Permission::ViewMedia)?;
    let who = call
        .partner
        .identity
        .resolve(
            call.guild,
            &call.config().identity,
            &DiscordMember {
                user: call.caller.user,
                display_name: format!("Discord member {}", call.caller.user),
                email: None,
            },
        )
        .await?;
    let playback = call
        .state
        .shared
        .video
        .restricted_playback(&gctx, &call.subject(), entry_id(&call), &who.kaltura_user)
        .await?;
    Ok(private_json(
        StatusCode::OK,
        &Playback {
            entry_id: playback.entry_id.to_string(),
            url: playback.expose_url().to_owned(),
            expires_at: playback.expires_at,
        },
    ))
}
