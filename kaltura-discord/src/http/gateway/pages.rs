//! The identity-proof page at `/link`: where a member proves they own a Kaltura account, so
//! that `/kaltura link` can link it.
//!
//! `GET /link?guild_id=G` sends a member who is not signed in (no valid `kd_access` cookie for
//! that guild) through the Discord login first, then shows a form. The member signs in with
//! their Kaltura login (checked with `user.loginByLoginId` by
//! [`IdentityService::verify_kaltura_login`](crate::identity::IdentityService::verify_kaltura_login),
//! here, over the gateway's HTTPS page, never through Discord); on success the link is
//! recorded with [`LinkProof::KalturaLogin`]. The password is never stored or logged; every
//! refused sign-in is audited and a member gets a few attempts per window
//! ([`LoginAttemptLimit`](crate::identity::LoginAttemptLimit)), then `429`.
//!
//! In guilds that map members by email (`identity.strategy: email`), a member whose Discord
//! login returned a verified email may instead link the Kaltura user with that email
//! ([`LinkProof::VerifiedEmail`]).
//!
//! The form is protected against cross-site posts three ways: the session cookie is
//! `SameSite=Lax`, the form carries a token derived from that cookie, and an `Origin` header
//! other than the gateway's own is refused. Pages send no scripts and a strict
//! Content-Security-Policy.

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};

use super::error::ApiError;
use super::login::{
    ACCESS_COOKIE, EMAIL_COOKIE, EMAIL_NOTE, LOGIN_PATH, check_origin, cookie, guild_param,
    note_subject, pair, sign_in,
};
use super::openapi::{html_escape, html_page};
use super::{GatewayState, media_type, read_body};
use crate::Error;
use crate::auth::TokenSubject;
use crate::config::IdentityStrategy;
use crate::context::GuildContext;
use crate::identity::LinkProof;
use crate::ids::GuildId;
use crate::rbac::{Permission, Subject, authorize};

/// Where the page is served.
pub const LINK_PATH: &str = "/link";

/// Largest form accepted, in bytes.
const MAX_FORM: usize = 4096;

pub(crate) fn router() -> Router<GatewayState> {
    Router::new().route(LINK_PATH, get(link_page).post(link_submit))
}

/// The anti-forgery value of a form, derived from the session cookie it was shown with.
fn form_token(access: &str) -> String {
    let digest = Sha256::digest(format!("kd-link-form:{access}").as_bytes());
    crate::text::hex_lower(digest.get(..16).unwrap_or_default())
}

fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The member signed in for `guild` on this browser: the access cookie and who it names.
fn member(
    state: &GatewayState,
    headers: &HeaderMap,
    guild: GuildId,
) -> Option<(String, TokenSubject)> {
    let token = cookie(headers, ACCESS_COOKIE)?;
    let claims = state.shared.authority.verify(token).ok()?;
    let subject = claims.subject().ok()?;
    (subject.guild == guild).then(|| (token.to_owned(), subject))
}

/// An HTML page telling what went wrong.
fn error_page(error: &ApiError) -> Response {
    let problem = error.problem("");
    let mut response = html_page(
        error.status(),
        "Could not link your account",
        &format!("<p>{}</p>", html_escape(&problem.detail)),
    );
    if let Some(retry) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
    response
}

fn error_from(err: Error) -> Response {
    let api = ApiError::from(err);
    if api.status().is_server_error() {
        tracing::error!(code = api.code(), error = ?api.log_text(), "identity page failed");
    }
    error_page(&api)
}

fn login_redirect(guild: GuildId) -> Response {
    let back = format!("{LINK_PATH}?guild_id={guild}");
    let location: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("guild_id", &guild.to_string())
        .append_pair("redirect", &back)
        .finish();
    let location = format!("{LOGIN_PATH}?{location}");
    let mut response = (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(&location).unwrap_or_else(|_| HeaderValue::from_static("/")),
        )],
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The verified email of the member's Discord login, if the browser still has its note.
fn verified_email(
    state: &GatewayState,
    headers: &HeaderMap,
    subject: &TokenSubject,
) -> Option<String> {
    let note = cookie(headers, EMAIL_COOKIE)?;
    state
        .shared
        .authority
        .open(EMAIL_NOTE, &note_subject(subject.user, subject.guild), note)
        .ok()
}

fn subject_of(token: &TokenSubject) -> Subject {
    Subject::new(token.user).with_roles(token.roles.iter().copied())
}

/// `GET /link?guild_id=G`.
async fn link_page(
    State(state): State<GatewayState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = sign_in(&state) {
        return error_page(&e);
    }
    let guild = match super::login::query_pairs(query.as_deref())
        .and_then(|pairs| guild_param(pair(&pairs, "guild_id")))
    {
        Ok(guild) => guild,
        Err(e) => return error_page(&e),
    };
    let Some((access, subject)) = member(&state, &headers, guild) else {
        return login_redirect(guild);
    };
    let (resolved, partner) = match state.guild(guild).await {
        Ok(found) => found,
        Err(e) => return error_from(e),
    };
    let config = resolved.config();
    let actor = subject_of(&subject);
    if let Err(e) = authorize(&config.rbac, &actor, Permission::LinkOwnIdentity)
        .into_result(Permission::LinkOwnIdentity)
    {
        return error_from(e);
    }
    let current = match partner.identity.scope(guild, &config.identity) {
        Ok(scope) => match state
            .shared
            .identity_store
            .find_by_discord(scope, subject.user)
            .await
        {
            Ok(link) => link,
            Err(e) => return error_from(e),
        },
        Err(e) => return error_from(e),
    };
    let token = form_token(&access);
    let mut body = String::new();
    match &current {
        Some(link) => body.push_str(&format!(
            "<p>You are linked to Kaltura user <code>{}</code>. Signing in below replaces the link.</p>",
            html_escape(link.kaltura_user.as_str())
        )),
        None => body.push_str("<p>Prove that a Kaltura account is yours to link it to your Discord account in this server.</p>"),
    }
    body.push_str(&format!(
        "<h2>Sign in to Kaltura</h2>\
<form method=\"post\" action=\"{LINK_PATH}\" autocomplete=\"on\">\
<input type=\"hidden\" name=\"guild_id\" value=\"{guild}\">\
<input type=\"hidden\" name=\"form_token\" value=\"{token}\">\
<input type=\"hidden\" name=\"proof\" value=\"kaltura_login\">\
<p><label>Kaltura login (usually your email)<br><input name=\"login_id\" type=\"text\" autocomplete=\"username\" required maxlength=\"256\"></label></p>\
<p><label>Kaltura password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"512\"></label></p>\
<p><button type=\"submit\">Sign in and link</button></p></form>\
<p><small>Your password goes to Kaltura to check it and is never stored.</small></p>"
    ));
    if config.identity.strategy == IdentityStrategy::Email
        && let Some(email) = verified_email(&state, &headers, &subject)
    {
        body.push_str(&format!(
            "<h2>Or use your verified Discord email</h2>\
<form method=\"post\" action=\"{LINK_PATH}\">\
<input type=\"hidden\" name=\"guild_id\" value=\"{guild}\">\
<input type=\"hidden\" name=\"form_token\" value=\"{token}\">\
<input type=\"hidden\" name=\"proof\" value=\"verified_email\">\
<p>Discord says your email is <code>{}</code>. Link the Kaltura user with that email:</p>\
<p><label>Kaltura user id<br><input name=\"kaltura_user\" type=\"text\" required maxlength=\"100\" value=\"{}\"></label></p>\
<p><button type=\"submit\">Link</button></p></form>",
            html_escape(&email),
            html_escape(&email),
        ));
    }
    html_page(StatusCode::OK, "Link your Kaltura account", &body)
}

/// `POST /link`: checks the proof and records the link.
async fn link_submit(State(state): State<GatewayState>, request: Request) -> Response {
    let sign_in = match sign_in(&state) {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    if let Err(e) = check_origin(sign_in, request.headers()) {
        return error_page(&e);
    }
    let form =
        media_type(request.headers()).is_some_and(|v| v == "application/x-www-form-urlencoded");
    if !form {
        return error_page(&ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the form as application/x-www-form-urlencoded",
        ));
    }
    let headers = request.headers().clone();
    let bytes = match read_body(request, MAX_FORM, "form").await {
        Ok(bytes) => bytes,
        Err(e) => return error_page(&e),
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut password: Option<SecretString> = None;
    for (k, v) in url::form_urlencoded::parse(&bytes) {
        if k == "password" {
            if password.is_some() {
                return error_page(&ApiError::invalid("password", "the form has two passwords"));
            }
            password = Some(SecretString::from(v.into_owned()));
        } else if fields.iter().any(|(seen, _)| *seen == k) {
            return error_page(&ApiError::invalid(
                k.chars().take(32).collect::<String>(),
                "this field is given twice",
            ));
        } else {
            fields.push((k.into_owned(), v.into_owned()));
        }
    }
    drop(bytes);
    let guild = match guild_param(pair(&fields, "guild_id")) {
        Ok(guild) => guild,
        Err(e) => return error_page(&e),
    };
    let Some((access, subject)) = member(&state, &headers, guild) else {
        return error_page(&ApiError::unauthenticated(format!(
            "your sign-in for this server has expired; open {LINK_PATH}?guild_id={guild} again"
        )));
    };
    if !pair(&fields, "form_token").is_some_and(|t| same(t, &form_token(&access))) {
        return error_page(&ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "the form is stale or was not sent from this site; open the page again",
        ));
    }
    let (resolved, partner) = match state.guild(guild).await {
        Ok(found) => found,
        Err(e) => return error_from(e),
    };
    let config = resolved.config();
    let actor = subject_of(&subject);
    let identity = &partner.identity;
    let proof = match pair(&fields, "proof") {
        Some("kaltura_login") => {
            let Some(password) = password else {
                return error_page(&ApiError::invalid(
                    "password",
                    "enter your Kaltura password",
                ));
            };
            // Checked before Kaltura is asked, so that a member without the permission
            // cannot use the page to test passwords.
            if let Err(e) = authorize(&config.rbac, &actor, Permission::LinkOwnIdentity)
                .into_result(Permission::LinkOwnIdentity)
            {
                return error_from(e);
            }
            let ctx = GuildContext::new(guild, config, &partner.account);
            let login_id = pair(&fields, "login_id").unwrap_or("");
            match identity
                .verify_kaltura_login(&ctx, subject.user, login_id, &password)
                .await
            {
                Ok(proof) => LinkProof::KalturaLogin(proof),
                Err(e) => return error_from(e),
            }
        }
        Some("verified_email") => {
            let Some(email) = verified_email(&state, &headers, &subject) else {
                return error_page(&ApiError::unauthenticated(
                    "your verified Discord email is no longer known here; sign in with Discord again",
                ));
            };
            let kaltura_user = pair(&fields, "kaltura_user").unwrap_or("");
            match identity
                .verified_email_proof(config, subject.user, kaltura_user, &email, true)
                .await
            {
                Ok(proof) => proof,
                Err(e) => return error_from(e),
            }
        }
        _ => {
            return error_page(&ApiError::invalid(
                "proof",
                "the proof is `kaltura_login` or `verified_email`",
            ));
        }
    };
    let kaltura_user = match &proof {
        LinkProof::KalturaLogin(p) => p.kaltura_user().as_str().to_owned(),
        _ => pair(&fields, "kaltura_user")
            .unwrap_or("")
            .trim()
            .to_owned(),
    };
    match identity
        .link(
            guild,
            config,
            &actor,
            subject.user,
            &kaltura_user,
            Some(&proof),
        )
        .await
    {
        Ok(link) => html_page(
            StatusCode::OK,
            "Account linked",
            &format!(
                "<p>You are now linked to Kaltura user <code>{}</code> in this server. You can close this page and go back to Discord.</p>",
                html_escape(link.kaltura_user.as_str())
            ),
        ),
        Err(e) => error_from(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn form_tokens_follow_the_session() {
        let a = form_token("token-a");
        assert_eq!(a.len(), 32);
        assert_eq!(a, form_token("token-a"));
        assert_ne!(a, form_token("token-b"));
        assert!(same(&a, &form_token("token-a")));
        assert!(!same(&a, &form_token("token-b")));
        assert!(!same(&a, ""));
    }
}
