//! `/api/v1/auth/…`: signing in with Discord, the gateway's own tokens, and signing out.
//!
//! * `GET /api/v1/auth/discord/login?guild_id=G[&redirect=/path]` starts a Discord OAuth2
//!   login (authorization code with PKCE and a one-use `state`, see
//!   [`DiscordOAuth`]) and redirects the browser to
//!   Discord.
//! * `GET /api/v1/auth/discord/callback?code=…&state=…` is where Discord sends the browser
//!   back. The code is exchanged at Discord's token endpoint and the user, their guilds and
//!   their roles in the requested guild are read. The gateway then starts a session
//!   ([`Sessions`]), sets its cookies and redirects to
//!   the login's return path:
//!   - `kd_access`: the short-lived JWT, for the gateway's own pages (`HttpOnly`,
//!     `SameSite=Lax`, path `/`);
//!   - `kd_refresh`: the refresh token (`HttpOnly`, `SameSite=Strict`, path `/api/v1/auth`);
//!   - `kd_email`: a signed note of the verified Discord email, only for guilds that map
//!     members by email (`HttpOnly`, `SameSite=Lax`, 10 minutes).
//!
//!   Cookies are `Secure` when the configured redirect URI is `https`.
//! * `POST /api/v1/auth/refresh` exchanges a refresh token for a new JWT and a new refresh
//!   token (the presented one is consumed; a reused one revokes the whole login). The token
//!   comes from the JSON body (`{"refresh_token": "…"}`, answered in the body) or from the
//!   `kd_refresh` cookie (answered in the cookie), so that a browser application never sees
//!   it.
//! * `POST /api/v1/auth/logout` ends the session of a refresh token (body or cookie) and
//!   clears the cookies. With `{"everywhere": true}` and a bearer token, it ends every session
//!   of the member.
//! * `GET /api/v1/auth/me` (bearer token): who the token is for, and the member's role and
//!   permissions under the guild's *current* policy.
//!
//! A JWT stays valid until it expires (15 minutes by default) after a logout; the refresh
//! token does not. With the bot's REST client ([`GatewayBuilder::rest`](super::GatewayBuilder::rest))
//! a refresh reads the member's current roles from Discord, and ends the session of a member
//! who left the guild; without it, roles are those of the login until the session ends. Requests that carry cookies and an `Origin` header must come from the
//! gateway's own origin (that of the redirect URI).

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, Problem};
use super::{ApiJson, GatewayState, private_json};
use crate::auth::TokenSubject;
use crate::config::IdentityStrategy;
use crate::gateway::oauth::DiscordOAuth;
use crate::gateway::sessions::{IssuedSession, Sessions};
use crate::ids::{DiscordUserId, GuildId};
use crate::rbac::{Permission, authorize, effective_role};

/// The cookie holding the access JWT for the gateway's pages.
pub const ACCESS_COOKIE: &str = "kd_access";
/// The cookie holding the refresh token (sent to `/api/v1/auth` only).
pub const REFRESH_COOKIE: &str = "kd_refresh";
/// The cookie holding the signed note of the member's verified Discord email.
pub const EMAIL_COOKIE: &str = "kd_email";
/// The path of the refresh cookie.
pub const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";
/// Where a login returns when it names no return path.
pub const DEFAULT_RETURN: &str = "/";
/// The login endpoint.
pub const LOGIN_PATH: &str = "/api/v1/auth/discord/login";
/// The purpose of the verified-email note.
pub(crate) const EMAIL_NOTE: &str = "verified-email";
/// How long the verified-email note is accepted: 10 minutes.
pub(crate) const EMAIL_NOTE_TTL: std::time::Duration = std::time::Duration::from_secs(600);
/// Largest query string read by the login endpoints, in bytes.
const MAX_QUERY: usize = 2048;

/// Signing in with Discord: the OAuth2 client and the sessions it starts. Give it to
/// [`GatewayBuilder::discord_login`](super::GatewayBuilder::discord_login).
#[derive(Clone)]
pub struct DiscordSignIn {
    pub(crate) oauth: Arc<DiscordOAuth>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) secure_cookies: bool,
    pub(crate) origin: String,
}

impl std::fmt::Debug for DiscordSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordSignIn")
            .field("origin", &self.origin)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl DiscordSignIn {
    /// Sign-in with this OAuth2 client and these sessions. The gateway's public origin and
    /// whether cookies are `Secure` come from the client's redirect URI.
    pub fn new(oauth: DiscordOAuth, sessions: Sessions) -> Self {
        let uri = oauth.redirect_uri();
        let secure_cookies = uri.scheme() == "https";
        let origin = uri.origin().ascii_serialization();
        DiscordSignIn {
            oauth: Arc::new(oauth),
            sessions: Arc::new(sessions),
            secure_cookies,
            origin,
        }
    }

    /// The OAuth2 client.
    pub fn oauth(&self) -> &DiscordOAuth {
        &self.oauth
    }

    /// The sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

pub(crate) fn router() -> Router<GatewayState> {
    Router::new()
        .route(LOGIN_PATH, get(login))
        .route("/api/v1/auth/discord/callback", get(callback))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
}

/// The sign-in, or `503 login_unavailable` when the gateway was built without it.
pub(crate) fn sign_in(state: &GatewayState) -> Result<&DiscordSignIn, ApiError> {
    state.shared.sign_in.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "login_unavailable",
            "signing in with Discord is not configured on this gateway",
        )
    })
}

/// The pairs of a query string (bounded); a repeated name is refused.
pub(crate) fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let raw = raw.unwrap_or("");
    if raw.len() > MAX_QUERY {
        return Err(ApiError::invalid(
            "query",
            format!("the query is longer than {MAX_QUERY} bytes"),
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if pairs.iter().any(|(seen, _)| *seen == k) {
            return Err(ApiError::invalid(
                k.chars().take(32).collect::<String>(),
                "this parameter is given twice",
            ));
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Ok(pairs)
}

pub(crate) fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A `guild_id` parameter as a snowflake (never echoed).
pub(crate) fn guild_param(value: Option<&str>) -> Result<GuildId, ApiError> {
    value.unwrap_or("").parse().map_err(|_| {
        ApiError::invalid(
            "guild_id",
            "the guild id must be a Discord snowflake (1-20 digits)",
        )
    })
}

/// The value of cookie `name` (the only one of that name), if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(';') {
            if let Some((k, v)) = part.trim().split_once('=')
                && k.trim() == name
            {
                if found.is_some() {
                    // Two cookies of one name (one planted by a sibling site): use neither.
                    return None;
                }
                found = Some(v.trim());
            }
        }
    }
    found.filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value.
fn set_cookie(
    sign_in: &DiscordSignIn,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: i64,
) -> Option<HeaderValue> {
    let secure = if sign_in.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite={same_site}{secure}",
        max_age.max(0)
    ))
    .ok()
}

/// Sets the access and refresh cookies of a session.
fn set_session_cookies(
    state: &GatewayState,
    sign_in: &DiscordSignIn,
    issued: &IssuedSession,
    access: &str,
    headers: &mut HeaderMap,
) {
    let refresh_age = issued.session.expires_at - state.shared.clock.now_unix();
    for cookie in [
        set_cookie(
            sign_in,
            ACCESS_COOKIE,
            access,
            "/",
            "Lax",
            access_ttl(state),
        ),
        set_cookie(
            sign_in,
            REFRESH_COOKIE,
            issued.token.expose(),
            REFRESH_COOKIE_PATH,
            "Strict",
            refresh_age,
        ),
    ]
    .into_iter()
    .flatten()
    {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// The `Set-Cookie` values that clear the session's cookies.
fn clear_cookies(sign_in: &DiscordSignIn, headers: &mut HeaderMap) {
    for (name, path, same_site) in [
        (ACCESS_COOKIE, "/", "Lax"),
        (EMAIL_COOKIE, "/", "Lax"),
        (REFRESH_COOKIE, REFRESH_COOKIE_PATH, "Strict"),
    ] {
        if let Some(v) = set_cookie(sign_in, name, "", path, same_site, 0) {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

/// Refuses a request with cookies whose `Origin` is another site (CSRF, on top of the
/// cookies' `SameSite`).
pub(crate) fn check_origin(sign_in: &DiscordSignIn, headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::ORIGIN) {
        None => Ok(()),
        Some(origin) if origin.as_bytes() == sign_in.origin.as_bytes() => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this request must come from the gateway's own pages",
        )),
    }
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Starts signing in with Discord for one guild: a redirect to Discord's authorize page.
#[utoipa::path(get, path = "/api/v1/auth/discord/login", tag = "auth",
    params(
        ("guild_id" = String, Query, description = "The guild to sign in for (Discord snowflake)"),
        ("redirect" = Option<String>, Query, description = "A path on this site to return to after the login (default `/`)"),
    ),
    responses(
        (status = 302, description = "Redirect to Discord's authorize page"),
        (status = 400, description = "Bad guild id or return path", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Login not configured, or the store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn login(
    State(state): State<GatewayState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let sign_in = sign_in(&state)?;
    let pairs = query_pairs(query.as_deref())?;
    let guild = guild_param(pair(&pairs, "guild_id"))?;
    let redirect = pair(&pairs, "redirect").unwrap_or(DEFAULT_RETURN);
    let url = sign_in.oauth.begin(guild, redirect).await?;
    let location = HeaderValue::from_str(url.as_str())
        .map_err(|_| ApiError::internal("the authorize URL is not a header value"))?;
    let mut response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    no_store(&mut response);
    Ok(response)
}

/// Where Discord returns after the login: exchanges the code, starts a session, sets the
/// cookies and redirects to the login's return path.
#[utoipa::path(get, path = "/api/v1/auth/discord/callback", tag = "auth",
    params(
        ("code" = Option<String>, Query, description = "Discord's authorization code"),
        ("state" = Option<String>, Query, description = "The login's state"),
        ("error" = Option<String>, Query, description = "Discord's error when the user cancelled"),
    ),
    responses(
        (status = 303, description = "Signed in: cookies set, redirect to the return path"),
        (status = 400, description = "Malformed code or state", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, used or expired state; Discord refused the code; the login was cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a member of the guild", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Discord answered something unusable", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Discord unavailable, or login not configured", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn callback(
    State(state): State<GatewayState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let sign_in = sign_in(&state)?;
    let pairs = query_pairs(query.as_deref())?;
    if pair(&pairs, "error").is_some() {
        return Err(ApiError::unauthenticated(
            "the login was cancelled at Discord; start it again",
        ));
    }
    let (Some(oauth_state), Some(code)) = (pair(&pairs, "state"), pair(&pairs, "code")) else {
        return Err(ApiError::invalid(
            "code",
            "the callback needs `code` and `state` from Discord",
        ));
    };
    let login = sign_in.oauth.finish(oauth_state, code).await?;
    let issued = sign_in
        .sessions
        .issue(login.user, login.guild, login.roles.clone())
        .await?;
    let access = issue_access(&state, &issued)?;
    let mut response = (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(&login.redirect)
                .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_RETURN)),
        )],
    )
        .into_response();
    no_store(&mut response);
    set_session_cookies(&state, sign_in, &issued, &access, response.headers_mut());
    let headers = response.headers_mut();
    // The verified email, only where it can prove a link (guilds mapping members by email).
    if let Some(email) = &login.verified_email
        && let Ok((resolved, _)) = state.guild(login.guild).await
        && resolved.config().identity.strategy == IdentityStrategy::Email
        && let Ok(note) = state.shared.authority.seal(
            EMAIL_NOTE,
            &note_subject(login.user, login.guild),
            email,
            EMAIL_NOTE_TTL,
        )
        && let Some(cookie) = set_cookie(
            sign_in,
            EMAIL_COOKIE,
            &note,
            "/",
            "Lax",
            i64::try_from(EMAIL_NOTE_TTL.as_secs()).unwrap_or(600),
        )
    {
        headers.append(header::SET_COOKIE, cookie);
    }
    tracing::info!(user = %login.user, guild = %login.guild, family = %issued.session.family, "signed in with Discord");
    Ok(response)
}

/// The subject a verified-email note is sealed for.
pub(crate) fn note_subject(user: DiscordUserId, guild: GuildId) -> String {
    format!("{user}:{guild}")
}

fn access_ttl(state: &GatewayState) -> i64 {
    i64::try_from(state.shared.authority.ttl().as_secs()).unwrap_or(i64::MAX)
}

fn issue_access(state: &GatewayState, issued: &IssuedSession) -> Result<String, ApiError> {
    let token = state
        .shared
        .authority
        .issue(&TokenSubject {
            user: issued.session.user,
            guild: issued.session.guild,
            roles: issued.session.roles.clone(),
        })
        .map_err(|e| ApiError::internal(format!("issuing a token: {e}")))?;
    Ok(token.expose().to_owned())
}

/// A refresh or logout request body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token (omit it to use the `kd_refresh` cookie).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub refresh_token: Option<String>,
}

/// A logout request body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of the session to end (omit it to use the `kd_refresh` cookie).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub refresh_token: Option<String>,
    /// End every session of the member the bearer token names.
    #[serde(default)]
    pub everywhere: bool,
}

/// New tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenGrant {
    /// The JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the JWT expires.
    pub expires_in: i64,
    /// The next refresh token (only when the request sent one in its body; otherwise it is
    /// in the `kd_refresh` cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the login ends and the member must sign in again (unix seconds).
    pub session_expires_at: i64,
    /// The member (Discord user id).
    pub user_id: String,
    /// The guild.
    pub guild_id: String,
}

/// A JSON body when one is sent (`Content-Type: application/json`), else the default.
async fn optional_body<T: serde::de::DeserializeOwned + Default>(
    request: Request,
    state: &GatewayState,
) -> Result<(HeaderMap, T), ApiError> {
    let headers = request.headers().clone();
    let has_body = headers.contains_key(header::CONTENT_TYPE)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if !has_body {
        return Ok((headers, T::default()));
    }
    let ApiJson(body) =
        <ApiJson<T> as axum::extract::FromRequest<GatewayState>>::from_request(request, state)
            .await?;
    Ok((headers, body))
}

/// Where a refresh token came from.
enum Presented {
    Body(String),
    Cookie(String),
}

fn presented(
    sign_in: &DiscordSignIn,
    headers: &HeaderMap,
    body: Option<String>,
) -> Result<Option<Presented>, ApiError> {
    if let Some(token) = body {
        return Ok(Some(Presented::Body(token)));
    }
    match cookie(headers, REFRESH_COOKIE) {
        Some(token) => {
            check_origin(sign_in, headers)?;
            Ok(Some(Presented::Cookie(token.to_owned())))
        }
        None => Ok(None),
    }
}

/// Exchanges a refresh token for a new JWT and a new refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body(content = Option<RefreshRequest>, description = "The refresh token, or nothing to use the `kd_refresh` cookie", content_type = "application/json"),
    responses(
        (status = 200, description = "New tokens", body = TokenGrant),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie sent from another site", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Login not configured, or the store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn refresh(
    State(state): State<GatewayState>,
    request: Request,
) -> Result<Response, ApiError> {
    let sign_in = sign_in(&state)?;
    let (headers, body) = optional_body::<RefreshRequest>(request, &state).await?;
    let Some(presented) = presented(sign_in, &headers, body.refresh_token)? else {
        return Err(ApiError::unauthenticated(
            "send the refresh token in the body or the kd_refresh cookie",
        ));
    };
    let token = match &presented {
        Presented::Body(t) | Presented::Cookie(t) => t.as_str(),
    };
    let issued = match sign_in.sessions.rotate(token).await {
        Ok(issued) => issued,
        Err(e) => {
            let mut response = ApiError::from(e).into_response();
            if matches!(presented, Presented::Cookie(_)) {
                clear_cookies(sign_in, response.headers_mut());
            }
            return Ok(response);
        }
    };
    let mut issued = issued;
    if let Some(rest) = &state.shared.rest {
        // The member's roles now, not those of the login: a member who lost a role loses
        // its permissions at the next refresh, one who left loses the session.
        let session = &issued.session;
        match rest.guild_member_roles(session.guild, session.user).await {
            Ok(Some(roles)) => issued.session.roles = roles,
            Ok(None) => {
                sign_in.sessions.revoke_family(&session.family).await?;
                tracing::info!(user = %session.user, guild = %session.guild, "refresh refused: no longer a member");
                let mut response = ApiError::unauthenticated(
                    "you are no longer a member of this server; the session was ended",
                )
                .into_response();
                if matches!(presented, Presented::Cookie(_)) {
                    clear_cookies(sign_in, response.headers_mut());
                }
                return Ok(response);
            }
            Err(e) => {
                tracing::warn!(user = %session.user, guild = %session.guild, error = %e, "could not read the member's roles; keeping those of the login");
            }
        }
    }
    let access = issue_access(&state, &issued)?;
    let ttl = access_ttl(&state);
    let from_cookie = matches!(presented, Presented::Cookie(_));
    let grant = TokenGrant {
        access_token: access.clone(),
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: (!from_cookie).then(|| issued.token.expose().to_owned()),
        session_expires_at: issued.session.expires_at,
        user_id: issued.session.user.to_string(),
        guild_id: issued.session.guild.to_string(),
    };
    let mut response = private_json(StatusCode::OK, &grant);
    if from_cookie {
        set_session_cookies(&state, sign_in, &issued, &access, response.headers_mut());
    }
    Ok(response)
}

/// Ends a session (or, with `everywhere` and a bearer token, every session of the member)
/// and clears the cookies.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "The refresh token, or nothing to use the `kd_refresh` cookie", content_type = "application/json"),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Signed out (also when the session had already ended)"),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`everywhere` without a valid bearer token, or no token at all", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie sent from another site", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Login not configured, or the store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn logout(
    State(state): State<GatewayState>,
    request: Request,
) -> Result<Response, ApiError> {
    let sign_in = sign_in(&state)?;
    let (mut parts, body) = request.into_parts();
    let everywhere_caller = if parts.headers.contains_key(header::AUTHORIZATION) {
        Some(
            <Caller as axum::extract::FromRequestParts<GatewayState>>::from_request_parts(
                &mut parts, &state,
            )
            .await?,
        )
    } else {
        None
    };
    let request = Request::from_parts(parts, body);
    let (headers, body) = optional_body::<LogoutRequest>(request, &state).await?;
    if body.everywhere {
        let Some(caller) = everywhere_caller else {
            return Err(ApiError::unauthenticated(
                "signing out everywhere needs `Authorization: Bearer <token>`",
            ));
        };
        let ended = sign_in.sessions.revoke_user(caller.user).await?;
        tracing::info!(user = %caller.user, sessions = ended, "signed out everywhere");
    } else {
        match presented(sign_in, &headers, body.refresh_token)? {
            Some(Presented::Body(t) | Presented::Cookie(t)) => {
                sign_in.sessions.logout(&t).await?;
            }
            None if everywhere_caller.is_some() => {}
            None => {
                return Err(ApiError::unauthenticated(
                    "send the refresh token in the body or the kd_refresh cookie",
                ));
            }
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_cookies(sign_in, response.headers_mut());
    no_store(&mut response);
    Ok(response)
}

/// Who a token is for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    /// The member (Discord user id).
    pub user_id: String,
    /// The guild the token is for.
    pub guild_id: String,
    /// The member's role ids, as resolved at login.
    pub roles: Vec<String>,
    /// The member's role under the guild's current policy (`viewer`, `moderator`, `admin`…),
    /// if any.
    pub role: Option<String>,
    /// What the member may do under the guild's current policy.
    pub permissions: Vec<String>,
}

/// Who the bearer token is for, with the role and permissions the guild's current policy
/// grants.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member", body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn me(
    State(state): State<GatewayState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let (resolved, _) = state.guild(caller.guild).await?;
    let policy = &resolved.config().rbac;
    let subject = caller.subject();
    let me = Me {
        user_id: caller.user.to_string(),
        guild_id: caller.guild.to_string(),
        roles: caller.roles.iter().map(ToString::to_string).collect(),
        role: effective_role(policy, &subject).map(|(role, _)| role.to_string()),
        permissions: Permission::ALL
            .iter()
            .filter(|p| authorize(policy, &subject, **p).allowed)
            .map(|p| p.as_str().to_owned())
            .collect(),
    };
    Ok(private_json(StatusCode::OK, &me))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_once_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kd_refresh=tok; b=2"),
        );
        assert_eq!(cookie(&h, "kd_refresh"), Some("tok"));
        assert_eq!(cookie(&h, "kd"), None);
        h.append(header::COOKIE, HeaderValue::from_static("kd_refresh=other"));
        assert_eq!(cookie(&h, "kd_refresh"), None, "two of one name: neither");
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("kd_refresh="));
        assert_eq!(cookie(&h, "kd_refresh"), None);
    }

    #[test]
    fn query_pairs_refuse_repeats_and_long_queries() {
        let pairs = query_pairs(Some("guild_id=1&redirect=%2Fx")).unwrap();
        assert_eq!(pair(&pairs, "redirect"), Some("/x"));
        assert!(query_pairs(Some("a=1&a=2")).is_err());
        assert!(query_pairs(Some(&"a".repeat(MAX_QUERY + 1))).is_err());
        assert!(guild_param(Some("../../etc")).is_err());
        assert!(guild_param(None).is_err());
    }
}
