//! Discord OAuth2 login: the authorization-code grant with PKCE (`S256`) and a one-use
//! `state` (feature `http`).
//!
//! [`DiscordOAuth::begin`] draws a random `state` and PKCE verifier, records a
//! [`PendingLogin`] (the state's hash, the verifier, the guild and where to return) in a
//! [`PendingLoginStore`], and returns Discord's authorize URL to redirect the browser to.
//! Discord sends the browser back to the configured `redirect_uri` with `code` and `state`;
//! [`DiscordOAuth::finish`] takes the pending login (a state works once, for
//! [`STATE_TTL`]), exchanges the code at the token endpoint (form-encoded, with the client
//! secret and the verifier), then reads `/users/@me`, `/users/@me/guilds` and
//! `/users/@me/guilds/{guild}/member` into a [`DiscordLogin`].
//!
//! Endpoints are configurable ([`DiscordEndpoints`]) so that tests point the client at a
//! fake Discord. The client secret, the verifier and Discord's access token are secrets:
//! never logged, never in errors or `Debug` output. Discord's access token is used for the
//! three reads and then dropped; the gateway issues its own tokens
//! ([`super::sessions::Sessions`], `auth`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use kaltura_client::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::sessions::{PendingLogin, PendingLoginStore};
use super::{GatewayError, StateRefusal, TokenHash, bounded_text, is_token_shaped, random_token};
use crate::error::SetupError;
use crate::ids::{ApplicationId, DiscordUserId, GuildId, RoleId};
use crate::{Error, Result};

/// The scopes every login asks for: the user, their guilds, their membership in the guild
/// and their email.
pub const SCOPES: &str = "identify guilds guilds.members.read email";

/// How long a `state` (a pending login) is accepted: 10 minutes.
pub const STATE_TTL: Duration = Duration::from_secs(600);

/// Longest `redirect` path accepted by [`DiscordOAuth::begin`], in bytes.
pub const MAX_REDIRECT_LEN: usize = 512;

/// Longest authorization `code` accepted by [`DiscordOAuth::finish`], in bytes.
pub const MAX_CODE_LEN: usize = 512;

/// Largest answer read from Discord, in bytes.
const MAX_BODY: usize = 1024 * 1024;

/// Guilds asked for per page of `/users/@me/guilds` (Discord's maximum).
const GUILD_PAGE: usize = 200;

/// Most pages of guilds read (a user is in at most 200 guilds today).
const MAX_GUILD_PAGES: usize = 5;

/// Timeout of each call to Discord.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Where Discord's OAuth2 and API endpoints are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordEndpoints {
    /// The authorize page the browser is sent to.
    pub authorize: Url,
    /// The token endpoint.
    pub token: Url,
    /// The API base (`/users/@me` is appended).
    pub api_base: Url,
}

impl Default for DiscordEndpoints {
    /// Discord's own: `https://discord.com/oauth2/authorize`,
    /// `https://discord.com/api/oauth2/token` and `https://discord.com/api/v10`.
    fn default() -> Self {
        let parse = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!("constant URL"));
        DiscordEndpoints {
            authorize: parse("https://discord.com/oauth2/authorize"),
            token: parse("https://discord.com/api/oauth2/token"),
            api_base: parse("https://discord.com/api/v10"),
        }
    }
}

impl DiscordEndpoints {
    /// All three under one base URL, as a fake Discord serves them: `{base}/oauth2/authorize`,
    /// `{base}/api/oauth2/token` and `{base}/api/v10`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `base` is not an absolute `http(s)` URL.
    pub fn under(base: &str) -> Result<Self> {
        let base = base.trim_end_matches('/');
        let parse = |path: &str| {
            Url::parse(&format!("{base}{path}"))
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    Error::invalid_input("discord_base_url", "not an absolute http(s) URL")
                })
        };
        Ok(DiscordEndpoints {
            authorize: parse("/oauth2/authorize")?,
            token: parse("/api/oauth2/token")?,
            api_base: parse("/api/v10")?,
        })
    }
}

/// The application's OAuth2 settings (Developer Portal → OAuth2).
#[derive(Clone)]
pub struct OAuthConfig {
    /// The application's client id.
    pub client_id: ApplicationId,
    /// The client secret.
    pub client_secret: SecretString,
    /// The gateway's callback URL, registered as a redirect in the portal.
    pub redirect_uri: Url,
    /// Discord's endpoints.
    pub endpoints: DiscordEndpoints,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

/// Who signed in, as Discord told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordLogin {
    /// The user.
    pub user: DiscordUserId,
    /// Their username.
    pub username: String,
    /// Their display name, if they set one.
    pub global_name: Option<String>,
    /// Their email, only when Discord says it is verified.
    pub verified_email: Option<String>,
    /// The guilds they are in.
    pub guilds: Vec<GuildId>,
    /// The guild the login was for (one of `guilds`).
    pub guild: GuildId,
    /// Their role ids in that guild.
    pub roles: Vec<RoleId>,
    /// Where the login asked to return (the path given to [`DiscordOAuth::begin`]).
    pub redirect: String,
}

/// The Discord OAuth2 client.
#[derive(Clone)]
pub struct DiscordOAuth {
    config: Arc<OAuthConfig>,
    http: reqwest::Client,
    pending: Arc<dyn PendingLoginStore>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DiscordOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordOAuth")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The PKCE `S256` challenge of a verifier: base64url(SHA-256(verifier)), unpadded.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks the return path of a login: a local absolute path (`/…`), never another site
/// (`//host`, `/\host`, a scheme), no control characters or spaces, at most
/// [`MAX_REDIRECT_LEN`] bytes.
fn check_redirect(redirect: &str) -> Result<()> {
    let refuse = |why: &str| Err(Error::invalid_input("redirect", why.to_owned()));
    if redirect.is_empty() || redirect.len() > MAX_REDIRECT_LEN {
        return refuse("the return path must be 1 to 512 bytes");
    }
    if !redirect.starts_with('/') || redirect.starts_with("//") || redirect.contains('\\') {
        return refuse("the return path must be a path on this site, starting with a single /");
    }
    if redirect
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return refuse("the return path may not contain spaces or control characters");
    }
    Ok(())
}

/// Checks an authorization code's shape before it is sent anywhere.
fn check_code(code: &str) -> Result<()> {
    if code.is_empty() || code.len() > MAX_CODE_LEN || !code.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_input(
            "code",
            "the authorization code is missing or malformed",
        ));
    }
    Ok(())
}

impl DiscordOAuth {
    /// A client for `config`, recording pending logins in `pending`.
    ///
    /// # Errors
    ///
    /// [`SetupError::DiscordClient`] when the HTTP client cannot be built.
    pub fn new(config: OAuthConfig, pending: Arc<dyn PendingLoginStore>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| {
                Error::Setup(SetupError::DiscordClient {
                    reason: format!("the OAuth2 HTTP client: {e}"),
                })
            })?;
        Ok(DiscordOAuth {
            config: Arc::new(config),
            http,
            pending,
            clock: Arc::new(SystemClock),
        })
    }

    /// The redirect URI Discord returns the browser to (the gateway's callback).
    pub fn redirect_uri(&self) -> &Url {
        &self.config.redirect_uri
    }

    /// Uses `clock` for state expiry.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses this `reqwest::Client` (a proxy, custom TLS) instead of the default one.
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Starts a login for `guild` that returns to `redirect` (a path on the gateway's site)
    /// and returns Discord's authorize URL to send the browser to.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a `redirect` that is not a local path; the errors of
    /// [`PendingLoginStore::put_pending_login`].
    pub async fn begin(&self, guild: GuildId, redirect: &str) -> Result<Url> {
        check_redirect(redirect)?;
        let state = random_token();
        let verifier = random_token();
        let now = self.clock.now_unix();
        let ttl = i64::try_from(STATE_TTL.as_secs()).unwrap_or(i64::MAX);
        self.pending
            .put_pending_login(&PendingLogin {
                state: TokenHash::of(&state),
                verifier: SecretString::from(verifier.clone()),
                guild,
                redirect: redirect.to_owned(),
                created_at: now,
                expires_at: now.saturating_add(ttl),
            })
            .await?;
        let mut url = self.config.endpoints.authorize.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id.to_string())
            .append_pair("scope", SCOPES)
            .append_pair("redirect_uri", self.config.redirect_uri.as_str())
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        tracing::debug!(guild = %guild, "Discord login started");
        Ok(url)
    }

    /// Deletes pending logins whose state expired (logins that were started and never
    /// finished); returns how many. Call it now and then, e.g. every few minutes.
    ///
    /// # Errors
    ///
    /// The errors of [`PendingLoginStore::purge_pending_logins`].
    pub async fn purge_expired(&self) -> Result<u64> {
        self.pending
            .purge_pending_logins(self.clock.now_unix())
            .await
    }

    /// Completes a login from Discord's callback: checks and consumes `state`, exchanges
    /// `code` and reads who signed in.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a malformed `code`; inside [`Error::Gateway`]:
    /// [`GatewayError::InvalidState`] for a malformed, unknown, used or expired state,
    /// [`GatewayError::DiscordRefused`] when Discord refuses the code (`invalid_grant` for a
    /// wrong, expired or replayed one), [`GatewayError::DiscordUnavailable`] for network
    /// failures, timeouts, rate limits and server errors, [`GatewayError::DiscordStatus`]
    /// and [`GatewayError::Malformed`] for answers we cannot use,
    /// [`GatewayError::NotAMember`] when the user is not in the login's guild; the errors of
    /// [`PendingLoginStore::take_pending_login`].
    pub async fn finish(&self, state: &str, code: &str) -> Result<DiscordLogin> {
        if !is_token_shaped(state) {
            return Err(invalid_state(StateRefusal::Malformed));
        }
        check_code(code)?;
        let Some(pending) = self
            .pending
            .take_pending_login(&TokenHash::of(state))
            .await?
        else {
            return Err(invalid_state(StateRefusal::UnknownOrUsed));
        };
        if pending.expires_at <= self.clock.now_unix() {
            return Err(invalid_state(StateRefusal::Expired));
        }
        let access = self.exchange(code, &pending.verifier).await?;
        let me: ApiUser = self.get("reading the user", "/users/@me", &access).await?;
        let user: DiscordUserId = me
            .id
            .parse()
            .map_err(|_| malformed_id("reading the user", "id"))?;
        let guilds = self.guilds(&access).await?;
        if !guilds.contains(&pending.guild) {
            return Err(Error::Gateway(GatewayError::NotAMember {
                guild: pending.guild,
            }));
        }
        let member: ApiMember = self
            .get(
                "reading the member",
                &format!("/users/@me/guilds/{}/member", pending.guild),
                &access,
            )
            .await
            .map_err(|e| match e {
                Error::Gateway(GatewayError::DiscordStatus { status: 404, .. }) => {
                    Error::Gateway(GatewayError::NotAMember {
                        guild: pending.guild,
                    })
                }
                other => other,
            })?;
        let roles = member
            .roles
            .iter()
            .map(|r| r.parse::<RoleId>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| malformed_id("reading the member", "roles"))?;
        tracing::debug!(user = %user, guild = %pending.guild, "Discord login finished");
        Ok(DiscordLogin {
            user,
            username: bounded_text(&me.username),
            global_name: me.global_name.as_deref().map(bounded_text),
            verified_email: me.email.filter(|_| me.verified == Some(true)),
            guilds,
            guild: pending.guild,
            roles,
            redirect: pending.redirect,
        })
    }

    /// The token exchange: Discord's access token for `code`.
    async fn exchange(&self, code: &str, verifier: &SecretString) -> Result<SecretString> {
        const STEP: &str = "the token exchange";
        let client_id = self.config.client_id.to_string();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("code_verifier", verifier.expose_secret()),
        ];
        let response = self
            .http
            .post(self.config.endpoints.token.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(STEP, &e))?;
        let status = response.status();
        let body = read_limited(STEP, response).await?;
        if status.is_success() {
            let token: TokenResponse = parse(STEP, &body)?;
            if !token.token_type.eq_ignore_ascii_case("bearer") {
                return Err(Error::Gateway(GatewayError::Malformed {
                    step: STEP,
                    reason: "the token type is not Bearer".to_owned(),
                }));
            }
            return Ok(SecretString::from(token.access_token));
        }
        if let Some(e) = status_unavailable(STEP, status) {
            return Err(e);
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(refusal) if status.is_client_error() => {
                tracing::info!(error = %bounded_text(&refusal.error), "Discord refused a login code");
                Err(Error::Gateway(GatewayError::DiscordRefused {
                    error: bounded_text(&refusal.error),
                    description: refusal.error_description.as_deref().map(bounded_text),
                }))
            }
            _ => Err(Error::Gateway(GatewayError::DiscordStatus {
                step: STEP,
                status: status.as_u16(),
            })),
        }
    }

    /// Every guild the user is in, page by page.
    async fn guilds(&self, access: &SecretString) -> Result<Vec<GuildId>> {
        const STEP: &str = "reading the user's guilds";
        let mut guilds = Vec::new();
        let mut after: Option<GuildId> = None;
        for _ in 0..MAX_GUILD_PAGES {
            let path = match after {
                Some(last) => format!("/users/@me/guilds?limit={GUILD_PAGE}&after={last}"),
                None => format!("/users/@me/guilds?limit={GUILD_PAGE}"),
            };
            let page: Vec<ApiGuild> = self.get(STEP, &path, access).await?;
            let full = page.len() >= GUILD_PAGE;
            for g in page {
                guilds.push(
                    g.id.parse::<GuildId>()
                        .map_err(|_| malformed_id(STEP, "id"))?,
                );
            }
            after = guilds.iter().max().copied();
            if !full {
                break;
            }
        }
        guilds.sort_unstable();
        guilds.dedup();
        Ok(guilds)
    }

    /// A GET on the API with the user's access token, answered with JSON.
    async fn get<T: DeserializeOwned>(
        &self,
        step: &'static str,
        path: &str,
        access: &SecretString,
    ) -> Result<T> {
        let url = format!(
            "{}{path}",
            self.config
                .endpoints
                .api_base
                .as_str()
                .trim_end_matches('/')
        );
        let response = self
            .http
            .get(url)
            .bearer_auth(access.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(step, &e))?;
        let status = response.status();
        if let Some(e) = status_unavailable(step, status) {
            return Err(e);
        }
        if !status.is_success() {
            return Err(Error::Gateway(GatewayError::DiscordStatus {
                step,
                status: status.as_u16(),
            }));
        }
        let body = read_limited(step, response).await?;
        parse(step, &body)
    }
}

fn invalid_state(reason: StateRefusal) -> Error {
    Error::Gateway(GatewayError::InvalidState { reason })
}

fn malformed_id(step: &'static str, field: &str) -> Error {
    Error::Gateway(GatewayError::Malformed {
        step,
        reason: format!("`{field}` is not a Discord id"),
    })
}

/// A network failure or timeout (the error names the endpoint's URL, which holds no secret:
/// codes and tokens travel in bodies and headers).
fn unavailable(step: &'static str, e: &reqwest::Error) -> Error {
    let reason = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    Error::Gateway(GatewayError::DiscordUnavailable { step, reason })
}

/// Rate limits and server errors: worth retrying later.
fn status_unavailable(step: &'static str, status: StatusCode) -> Option<Error> {
    (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()).then(|| {
        Error::Gateway(GatewayError::DiscordUnavailable {
            step,
            reason: if status == StatusCode::TOO_MANY_REQUESTS {
                "rate limited (HTTP 429)".to_owned()
            } else {
                format!("HTTP status {}", status.as_u16())
            },
        })
    })
}

/// Reads at most [`MAX_BODY`] bytes of an answer.
async fn read_limited(step: &'static str, mut response: reqwest::Response) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(step, &e))? {
        if body.len().saturating_add(chunk.len()) > MAX_BODY {
            return Err(Error::Gateway(GatewayError::Malformed {
                step,
                reason: format!("the answer is larger than {MAX_BODY} bytes"),
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON; the error names the path of the bad field and what kind of problem it is,
/// never the values (which may be tokens).
fn parse<T: DeserializeOwned>(step: &'static str, body: &[u8]) -> Result<T> {
    let malformed = |reason: String| Error::Gateway(GatewayError::Malformed { step, reason });
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: std::result::Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        malformed(match e.inner().classify() {
            serde_json::error::Category::Data => {
                format!("`{}` is missing or has the wrong type", e.path())
            }
            _ => "the answer is not JSON".to_owned(),
        })
    })?;
    de.end()
        .map_err(|_| malformed("the answer is not JSON".to_owned()))?;
    Ok(value)
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct ApiUser {
    id: String,
    username: String,
    #[serde(default)]
    global_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    verified: Option<bool>,
}

#[derive(Deserialize)]
struct ApiGuild {
    id: String,
}

#[derive(Deserialize)]
struct ApiMember {
    roles: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn redirects_must_stay_on_this_site() {
        for ok in ["/", "/dashboard", "/guilds/1/meetings?tab=open#top"] {
            assert!(check_redirect(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "dashboard",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a b",
            "/a\nb",
            &format!("/{}", "a".repeat(MAX_REDIRECT_LEN)),
        ] {
            assert!(
                matches!(
                    check_redirect(bad),
                    Err(Error::InvalidInput {
                        field: "redirect",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn codes_are_checked_before_use() {
        assert!(check_code("NhhvTDYsFcdgNLnnLijcl7Ku7bEEeee").is_ok());
        assert!(check_code("").is_err());
        assert!(check_code("a b").is_err());
        assert!(check_code(&"a".repeat(MAX_CODE_LEN + 1)).is_err());
    }

    #[test]
    fn parse_errors_never_show_values() {
        let secret = "s3cr3t-access-token";
        let body = format!(r#"{{"access_token": 5, "token_type": "{secret}x"}}"#);
        let err = parse::<TokenResponse>("the token exchange", body.as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("access_token"), "{err}");
        assert!(!err.contains(secret), "{err}");
        let body = format!(r#"{{"access_token": "{secret}", "token_type": 1}}"#);
        let err = parse::<TokenResponse>("x", body.as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.contains(secret), "{err}");
        assert!(
            parse::<TokenResponse>("x", b"<html>")
                .err()
                .is_some_and(|e| e.to_string().contains("not JSON"))
        );
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let config = OAuthConfig {
            client_id: ApplicationId::new(1).unwrap_or_else(|| unreachable!()),
            client_secret: SecretString::from("hunter2-client-secret"),
            redirect_uri: Url::parse("https://gw.example/cb").unwrap_or_else(|_| unreachable!()),
            endpoints: DiscordEndpoints::default(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
