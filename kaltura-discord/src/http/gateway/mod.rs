//! The REST API gateway (feature `gateway`): meetings, videos, configuration and the audit
//! log of a guild over HTTP, for clients that are not Discord (dashboards, LMS pages,
//! scripts, the web pages a member opens from a Discord button).
//!
//! One [`GatewayState`], one router per resource (merged once by [`Gateway::router`]), one
//! error type ([`ApiError`], rendered as `application/problem+json` with the request id).
//! Every `/api/v1/guilds/{guild_id}/…` request carries `Authorization: Bearer <JWT>` issued by
//! [`JwtAuthority`]; a token names one member, one guild and the member's role ids. The
//! guild in the path must be the token's guild (`403 wrong_guild` otherwise). Permissions are
//! evaluated on every request against the guild's *current* policy through the same services
//! and RBAC checks as `/kaltura` and `/kaltura-admin`, and write the same audit entries.
//!
//! Middleware: request ids (`x-request-id`, set when missing or malformed and returned),
//! tracing spans, a body size limit (`413`), a timeout (`504`), CORS from
//! [`GatewayOptions::cors`] (a wildcard origin with credentials is refused at build time),
//! per-IP and per-token rate limits (`429` with `Retry-After`), Prometheus metrics at
//! `/metrics`; `/healthz`, `/readyz`, the OpenAPI 3.1 document at `/api/v1/openapi.json`
//! and a small HTML page at `/`.
//!
//! Other resources (the Discord login, the identity-proof page) slot in with
//! [`GatewayBuilder::merge`], which mounts a `Router<GatewayState>` behind the same
//! middleware, and [`GatewayBuilder::extension`], which adds their own state.
//!
//! ```no_run
//! # async fn run(
//! #     resolver: std::sync::Arc<kaltura_discord::config::ConfigResolver>,
//! #     account: kaltura_discord::context::KalturaAccount,
//! #     store: std::sync::Arc<kaltura_discord::store::MemoryStore>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use kaltura_discord::auth::{JwtAuthority, JwtKey};
//! use kaltura_discord::http::gateway::Gateway;
//!
//! let authority = JwtAuthority::new(
//!     vec![JwtKey::new("k1", std::env::var("KD_GATEWAY_JWT_SECRET")?)?],
//!     "kaltura-discord",
//!     Duration::from_secs(900),
//! )?;
//! let gateway = Gateway::builder()
//!     .resolver(resolver)
//!     .account(account)
//!     .stores(store)
//!     .authority(Arc::new(authority))
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(
//!     listener,
//!     gateway
//!         .router()
//!         .into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod health;
pub mod limits;
pub mod login;
pub mod meetings;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod videos;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use kaltura_client::clock::{Clock, SystemClock};
use serde::de::DeserializeOwned;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use self::auth::Caller;
pub use self::error::{ApiError, PROBLEM_CONTENT_TYPE, Problem};
pub use self::limits::RateLimits;
pub use self::login::DiscordSignIn;
pub use self::metrics::GatewayMetrics;

use self::error::PendingProblem;
use self::limits::Limiters;
use crate::auth::JwtAuthority;
use crate::config::{ConfigResolver, ResolvedGuildConfig};
use crate::context::KalturaAccount;
use crate::error::SetupError;
use crate::ids::GuildId;
use crate::meetings::MeetingService;
use crate::rest::DiscordRest;
use crate::store::{AuditLog, GuildOverrideStore, IdentityStore, MeetingStore};
use crate::video::VideoService;
use crate::{Error, Result};

/// The request id header, set when missing and returned on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Default largest request body, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// Default time a request may take before it is answered `504`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest request id accepted from a client; longer or non-`[A-Za-z0-9._-]` ids are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// CORS: which browser origins may call the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorsOptions {
    /// Allowed origins (`https://dash.example.org`), or `*` for any (only without
    /// credentials). Empty: no CORS headers (same-origin only).
    pub allowed_origins: Vec<String>,
    /// Whether browsers may send credentials (`Access-Control-Allow-Credentials: true`).
    pub allow_credentials: bool,
}

impl CorsOptions {
    /// These origins, without credentials.
    pub fn origins(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        CorsOptions {
            allowed_origins: origins.into_iter().map(Into::into).collect(),
            allow_credentials: false,
        }
    }

    /// With or without credentials.
    #[must_use]
    pub fn credentials(mut self, allow: bool) -> Self {
        self.allow_credentials = allow;
        self
    }

    /// The layer, or `None` when no origin is allowed.
    fn layer(&self) -> Result<Option<CorsLayer>> {
        let bad = |reason: String| Error::Setup(SetupError::InvalidGatewayConfig { reason });
        if self.allowed_origins.is_empty() {
            return Ok(None);
        }
        let wildcard = self.allowed_origins.iter().any(|o| o.trim() == "*");
        if wildcard && self.allow_credentials {
            return Err(bad(
                "CORS allows credentials with the wildcard origin `*`; list the allowed origins instead"
                    .into(),
            ));
        }
        let origin = if wildcard {
            AllowOrigin::any()
        } else {
            let mut values = Vec::with_capacity(self.allowed_origins.len());
            for o in &self.allowed_origins {
                let o = o.trim();
                let parsed = url::Url::parse(o).ok().filter(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.path() == "/"
                        && u.query().is_none()
                        && !o.ends_with('/')
                });
                if parsed.is_none() {
                    return Err(bad(format!(
                        "CORS origin {:?} is not an origin like https://dash.example.org",
                        crate::text::truncate_chars(o, 100)
                    )));
                }
                values.push(
                    HeaderValue::from_str(o)
                        .map_err(|_| bad("a CORS origin is not a valid header value".into()))?,
                );
            }
            AllowOrigin::list(values)
        };
        let mut layer = CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::PATCH,
                axum::http::Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([
                HeaderName::from_static(REQUEST_ID_HEADER),
                header::RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(600));
        if self.allow_credentials {
            layer = layer.allow_credentials(true);
        }
        Ok(Some(layer))
    }
}

/// Tunables of the gateway.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayOptions {
    /// Largest request body in bytes (default [`DEFAULT_BODY_LIMIT`]); larger → `413`.
    pub body_limit: usize,
    /// Time a request may take (default [`DEFAULT_TIMEOUT`]); longer → `504`.
    pub timeout: Duration,
    /// CORS (default: none).
    pub cors: CorsOptions,
    /// Rate limits per client IP and per token.
    pub rate_limits: RateLimits,
    /// Where the Discord login starts, linked from the page at `/` (default
    /// [`login::LOGIN_PATH`]).
    pub login_path: String,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            cors: CorsOptions::default(),
            rate_limits: RateLimits::default(),
            login_path: login::LOGIN_PATH.into(),
        }
    }
}

pub(crate) use crate::services::{Partner, Partners};

pub(crate) struct Shared {
    pub(crate) resolver: Arc<ConfigResolver>,
    pub(crate) partners: Partners,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) identity_store: Arc<dyn IdentityStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sign_in: Option<DiscordSignIn>,
    pub(crate) rest: Option<Arc<dyn DiscordRest>>,
    pub(crate) overrides: Arc<dyn GuildOverrideStore>,
    pub(crate) meetings: MeetingService,
    pub(crate) video: VideoService,
    pub(crate) authority: Arc<JwtAuthority>,
    pub(crate) limiters: Limiters,
    pub(crate) metrics: GatewayMetrics,
    pub(crate) options: GatewayOptions,
    pub(crate) extensions: axum::http::Extensions,
}

/// The state every gateway handler shares (cheap to clone).
#[derive(Clone)]
pub struct GatewayState {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for GatewayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayState")
            .field(
                "default_partner",
                &self.shared.partners.default_partner().account,
            )
            .field("partners", &self.shared.partners.extra_ids())
            .field("authority", &self.shared.authority)
            .finish_non_exhaustive()
    }
}

impl GatewayState {
    /// The token authority (to issue tokens from a login resource).
    pub fn authority(&self) -> &Arc<JwtAuthority> {
        &self.shared.authority
    }

    /// The configuration resolver.
    pub fn resolver(&self) -> &Arc<ConfigResolver> {
        &self.shared.resolver
    }

    /// The audit log.
    pub fn audit_log(&self) -> &Arc<dyn AuditLog> {
        &self.shared.audit
    }

    /// The metrics.
    pub fn metrics(&self) -> &GatewayMetrics {
        &self.shared.metrics
    }

    /// The options.
    pub fn options(&self) -> &GatewayOptions {
        &self.shared.options
    }

    /// A value added with [`GatewayBuilder::extension`].
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<&T> {
        self.shared.extensions.get::<T>()
    }

    /// How many keys the per-IP and per-token rate limiters hold (bounded; see [`limits`]).
    pub fn rate_limit_keys(&self) -> (usize, usize) {
        self.shared.limiters.key_counts()
    }

    /// The guild's resolved configuration and the partner it uses, chosen like the command
    /// engine does.
    pub(crate) async fn guild(
        &self,
        guild: GuildId,
    ) -> Result<(Arc<ResolvedGuildConfig>, Arc<Partner>)> {
        let shared = &self.shared;
        let resolved = shared.resolver.guild(guild).await?;
        let partner = shared.partners.for_config(resolved.config())?.clone();
        Ok((resolved, partner))
    }
}

/// Builds a [`Gateway`]; start with [`Gateway::builder`].
#[must_use]
pub struct GatewayBuilder {
    resolver: Option<Arc<ConfigResolver>>,
    account: Option<KalturaAccount>,
    extra_accounts: Vec<KalturaAccount>,
    identity_store: Option<Arc<dyn IdentityStore>>,
    meeting_store: Option<Arc<dyn MeetingStore>>,
    audit: Option<Arc<dyn AuditLog>>,
    overrides: Option<Arc<dyn GuildOverrideStore>>,
    authority: Option<Arc<JwtAuthority>>,
    clock: Arc<dyn Clock>,
    options: GatewayOptions,
    metrics: GatewayMetrics,
    extensions: axum::http::Extensions,
    routers: Vec<Router<GatewayState>>,
    sign_in: Option<DiscordSignIn>,
    rest: Option<Arc<dyn DiscordRest>>,
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("account", &self.account)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    /// The configuration resolver (required); give it the same override store.
    pub fn resolver(mut self, resolver: Arc<ConfigResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The default Kaltura account (required).
    pub fn account(mut self, account: KalturaAccount) -> Self {
        self.account = Some(account);
        self
    }

    /// Another Kaltura account, for guilds whose `kaltura.partner_id` names its partner.
    pub fn extra_account(mut self, account: KalturaAccount) -> Self {
        self.extra_accounts.push(account);
        self
    }

    /// One store for identities, meetings, the audit log and guild overrides.
    pub fn stores<S>(mut self, store: Arc<S>) -> Self
    where
        S: IdentityStore + MeetingStore + AuditLog + GuildOverrideStore + 'static,
    {
        self.identity_store = Some(store.clone());
        self.meeting_store = Some(store.clone());
        self.audit = Some(store.clone());
        self.overrides = Some(store);
        self
    }

    /// The JWT authority that verifies bearer tokens (required).
    pub fn authority(mut self, authority: Arc<JwtAuthority>) -> Self {
        self.authority = Some(authority);
        self
    }

    /// The clock of the services (meeting times, link expiry).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The options.
    pub fn options(mut self, options: GatewayOptions) -> Self {
        self.options = options;
        self
    }

    /// The metrics to count into (share them to read them elsewhere).
    pub fn metrics(mut self, metrics: GatewayMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// A value other resources read with [`GatewayState::extension`].
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// Signing in with Discord: mounts nothing new (the `/api/v1/auth/…` endpoints and the
    /// identity-proof page at `/link` are always there) but makes them work; without it they
    /// answer `503 login_unavailable`.
    pub fn discord_login(mut self, sign_in: DiscordSignIn) -> Self {
        self.sign_in = Some(sign_in);
        self
    }

    /// The bot's Discord REST client (optional): with it, meetings started and ended through
    /// the API get their guild scheduled events like those of `/kaltura meeting start`
    /// (when the guild turns `meetings.discord_events` on), and a refresh reads the member's
    /// current roles from Discord.
    pub fn rest(mut self, rest: Arc<dyn DiscordRest>) -> Self {
        self.rest = Some(rest);
        self
    }

    /// One more resource router, mounted behind the same middleware.
    pub fn merge(mut self, router: Router<GatewayState>) -> Self {
        self.routers.push(router);
        self
    }

    /// The gateway.
    ///
    /// # Errors
    ///
    /// [`Error::Setup`]: [`SetupError::GatewayIncomplete`] naming the first required part
    /// not given, [`SetupError::InvalidGatewayConfig`] for inconsistent options (a CORS
    /// wildcard with credentials, a malformed origin, a zero rate limit).
    pub fn build(self) -> Result<Gateway> {
        let missing = |part| Error::Setup(SetupError::GatewayIncomplete { part });
        let resolver = self.resolver.ok_or_else(|| missing("resolver"))?;
        let account = self.account.ok_or_else(|| missing("account"))?;
        let identity_store = self
            .identity_store
            .ok_or_else(|| missing("identity_store"))?;
        let meeting_store = self.meeting_store.ok_or_else(|| missing("meeting_store"))?;
        let audit = self.audit.ok_or_else(|| missing("audit_log"))?;
        let overrides = self.overrides.ok_or_else(|| missing("override_store"))?;
        let authority = self.authority.ok_or_else(|| missing("authority"))?;
        let cors = self.options.cors.layer()?;
        let limiters = Limiters::new(&self.options.rate_limits)?;
        let clock = self.clock;
        let partners = Partners::new(
            account,
            self.extra_accounts,
            &identity_store,
            &audit,
            &clock,
        );
        let sign_in = self.sign_in;
        let rest = self.rest;
        let shared = Shared {
            partners,
            meetings: MeetingService::new(meeting_store, audit.clone()).with_clock(clock.clone()),
            video: VideoService::new(audit.clone()).with_clock(clock.clone()),
            resolver,
            audit,
            identity_store,
            clock,
            sign_in,
            rest,
            overrides,
            authority,
            limiters,
            metrics: self.metrics,
            options: self.options,
            extensions: self.extensions,
        };
        Ok(Gateway {
            state: GatewayState {
                shared: Arc::new(shared),
            },
            cors,
            routers: self.routers,
        })
    }
}

/// The API gateway: build it with [`Gateway::builder`], serve [`Gateway::router`].
pub struct Gateway {
    state: GatewayState,
    cors: Option<CorsLayer>,
    routers: Vec<Router<GatewayState>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A builder with the system clock and default options.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            resolver: None,
            account: None,
            extra_accounts: Vec::new(),
            identity_store: None,
            meeting_store: None,
            audit: None,
            overrides: None,
            authority: None,
            clock: Arc::new(SystemClock),
            options: GatewayOptions::default(),
            metrics: GatewayMetrics::new(),
            extensions: axum::http::Extensions::new(),
            routers: Vec::new(),
            sign_in: None,
            rest: None,
        }
    }

    /// The shared state.
    pub fn state(&self) -> &GatewayState {
        &self.state
    }

    /// The whole router with its middleware. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so per-IP limits see the
    /// client's address (without it every client shares one per-IP budget).
    pub fn router(self) -> Router {
        let state = self.state;
        let mut router = Router::new()
            .merge(meetings::router())
            .merge(videos::router())
            .merge(config::router())
            .merge(audit::router())
            .merge(health::router())
            .merge(login::router())
            .merge(pages::router())
            .merge(openapi::router());
        for extra in self.routers {
            router = router.merge(extra);
        }
        let mut router = router
            .fallback(|| async { ApiError::no_route() })
            .method_not_allowed_fallback(|| async {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "this resource does not answer this method",
                )
            })
            .layer(middleware::from_fn_with_state(
                state.clone(),
                limits::per_ip,
            ));
        if let Some(cors) = self.cors {
            router = router.layer(cors);
        }
        router
            .layer(middleware::from_fn_with_state(state.clone(), core))
            .layer(
                TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let id = request_id(request);
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str)
                        .to_owned();
                    tracing::info_span!("gateway.request", method = %request.method(), %route, request_id = %id)
                }),
            )
            .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
                REQUEST_ID_HEADER,
            )))
            .layer(SetRequestIdLayer::new(
                HeaderName::from_static(REQUEST_ID_HEADER),
                RandomRequestId,
            ))
            .layer(middleware::from_fn(sanitize_request_id))
            .with_state(state)
    }
}

/// Makes random 16-hex-digit request ids.
#[derive(Debug, Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::text::random_hex(8))
            .ok()
            .map(RequestId::new)
    }
}

fn valid_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Drops a client's request id that is too long or has other characters than
/// `[A-Za-z0-9._-]`, so a fresh one is made (log lines stay clean).
async fn sanitize_request_id(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    let ok = {
        let mut values = headers.get_all(REQUEST_ID_HEADER).iter();
        match (values.next(), values.next()) {
            (None, _) => true,
            (Some(v), None) => valid_request_id(v),
            (Some(_), Some(_)) => false,
        }
    };
    if !ok {
        headers.remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Timeout, problem rendering, security headers and metrics.
async fn core(State(state): State<GatewayState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let method = request.method().clone();
    let timeout = state.shared.options.timeout;
    let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the request took too long; try again later",
        )
        .into_response(),
    };
    if let Some(PendingProblem(problem)) = response.extensions_mut().remove::<PendingProblem>() {
        let mut rendered = problem.render(&id);
        // Keep headers set by layers inside (CORS), unless the problem sets them.
        let own: Vec<HeaderName> = rendered.headers().keys().cloned().collect();
        for (name, value) in response.headers() {
            if !own.contains(name) && name != header::CONTENT_LENGTH {
                rendered.headers_mut().append(name.clone(), value.clone());
            }
        }
        response = rendered;
    }
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    state.shared.metrics.observe(
        route.as_deref().unwrap_or("unmatched"),
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A JSON request body: `application/json` (or `application/merge-patch+json`), at most
/// [`GatewayOptions::body_limit`] bytes, parsed strictly; errors name the field path.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<GatewayState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(
        request: Request,
        state: &GatewayState,
    ) -> std::result::Result<Self, ApiError> {
        let json = media_type(request.headers())
            .is_some_and(|v| v == "application/json" || v == "application/merge-patch+json");
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = read_body(request, state.shared.options.body_limit, "body").await?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(value) => Ok(ApiJson(value)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                // serde_json's messages name types and positions, not the input.
                let mut err = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    format!("the body is not valid: {inner}"),
                );
                if path != "." && !path.is_empty() {
                    err = err.with_field(path);
                }
                Err(err)
            }
        }
    }
}

/// The media type of a request's `Content-Type`, lowercase, without parameters.
pub(crate) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// A request's body, at most `limit` bytes (`413` naming `what`, checked against
/// `Content-Length` first); `400 invalid_body` when the connection breaks.
pub(crate) async fn read_body(
    request: Request,
    limit: usize,
    what: &str,
) -> std::result::Result<Vec<u8>, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the {what} is larger than {limit} bytes"),
        )
    };
    if declared.is_some_and(|d| d > limit as u64) {
        return Err(too_large());
    }
    match super::read_limited(request.into_body(), limit, declared).await {
        Ok(bytes) => Ok(bytes),
        Err(super::ReadError::TooLarge(_)) => Err(too_large()),
        Err(super::ReadError::Broken) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the {what} could not be read"),
        )),
    }
}

/// A JSON response with `Cache-Control: no-store` (for bodies holding a personal link).
pub(crate) fn private_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    let mut response = (status, axum::Json(value)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
