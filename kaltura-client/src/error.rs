//! The one error type of this crate.
//!
//! Every fallible operation returns [`Error`]. Its variants are grouped by *where* the
//! failure happened, because that decides whether a retry is safe:
//!
//! | variant | was the request sent? |
//! |---|---|
//! | [`Error::Config`], [`Error::Build`], [`Error::Ks`], [`Error::Connect`] | no |
//! | [`Error::Timeout`], [`Error::Transport`] | maybe |
//! | [`Error::Http`], [`Error::NotJson`], [`Error::Decode`], [`Error::Api`] | yes, and the server answered |
//!
//! Kaltura answers API errors with HTTP 200 and a `KalturaAPIException` object; those become
//! [`Error::Api`] carrying an [`ApiError`] with the error code, message and arguments.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::time::Duration;

pub use crate::client::TransportError;

/// Result alias used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to Kaltura or handling a KS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured inconsistently (for example an unparsable service URL or
    /// missing credentials). Nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// The request could not be built (for example its parameters could not be serialized
    /// into a JSON object). Nothing was sent.
    #[error("could not build request for {service}.{action}: {message}")]
    Build {
        /// Kaltura service id, e.g. `media`.
        service: String,
        /// Action name, e.g. `get`.
        action: String,
        /// What was wrong.
        message: String,
    },

    /// A KS could not be generated, parsed or verified locally. Nothing was sent.
    #[error("KS error: {0}")]
    Ks(KsErrorKind),

    /// The connection to the Kaltura server could not be established. The request was
    /// **not** sent, so it is always safe to retry.
    #[error("could not connect to {url}: {source}")]
    Connect {
        /// The URL that was being called (never contains secrets).
        url: String,
        /// The underlying transport error.
        #[source]
        source: TransportError,
    },

    /// No complete response arrived within the configured timeout. The request **may have
    /// been** received and processed by the server.
    #[error("request to {url} timed out after {timeout:?}")]
    Timeout {
        /// The URL that was being called.
        url: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },

    /// The transport failed after the connection was made (connection reset, broken body…).
    /// The request **may have been** received and processed by the server.
    #[error("transport error calling {url}: {source}")]
    Transport {
        /// The URL that was being called.
        url: String,
        /// The underlying transport error.
        #[source]
        source: TransportError,
    },

    /// The server answered with a non-2xx HTTP status. The request was sent.
    #[error("HTTP {status} from {url}: {body_snippet}")]
    Http {
        /// The URL that was called.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` delay the server asked for, if any.
        retry_after: Option<Duration>,
        /// The start of the response body, for diagnostics (secrets redacted).
        body_snippet: BodySnippet,
    },

    /// The server answered 2xx but the body is not JSON — typically an HTML error page from a
    /// proxy or load balancer. The request was sent.
    #[error("expected a JSON response from {url} but got {content_type:?}: {body_snippet}")]
    NotJson {
        /// The URL that was called.
        url: String,
        /// The response `Content-Type`, if any.
        content_type: Option<String>,
        /// The start of the response body, for diagnostics (secrets redacted).
        body_snippet: BodySnippet,
    },

    /// The response was JSON but did not match the expected type. The request was sent and
    /// processed by the server.
    #[error("could not decode response of {service}.{action} at `{path}`: {message}")]
    Decode {
        /// Kaltura service id.
        service: String,
        /// Action name.
        action: String,
        /// JSON path of the field that failed, e.g. `objects[3].status` (`.` for the root).
        path: String,
        /// What was wrong with it.
        message: String,
        /// The start of the response body, for diagnostics (secrets redacted; empty for
        /// actions whose result is a secret, such as `session.start`).
        body_snippet: BodySnippet,
    },

    /// Kaltura processed the request and answered with a `KalturaAPIException`.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl Error {
    /// Whether the request is known **not** to have reached the server, so that retrying it
    /// cannot cause a duplicate side effect.
    pub fn is_not_sent(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::Build { .. } | Error::Ks(_) | Error::Connect { .. }
        )
    }

    /// Records which call failed on an [`Error::Api`] that does not say it yet; other
    /// errors are returned unchanged.
    pub(crate) fn in_call(self, service: &str, action: &str) -> Self {
        match self {
            Error::Api(api) if api.call.is_none() => Error::Api(api.in_call(service, action)),
            other => other,
        }
    }

    /// The API error, if this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The Kaltura error code ([`ErrorCode::EntryIdNotFound`], …) if this is an API error.
    ///
    /// ```
    /// use kaltura_client::{ApiError, Error, ErrorCode};
    /// let err = Error::from(ApiError::new(ErrorCode::EntryIdNotFound, "Entry id \"0_x\" not found"));
    /// assert_eq!(err.api_code(), Some(&ErrorCode::EntryIdNotFound));
    /// ```
    pub fn api_code(&self) -> Option<&ErrorCode> {
        self.as_api().map(|e| &e.code)
    }
}

/// The start of a response body kept in an error for diagnostics, redacted by
/// construction.
///
/// Every way to build one removes what looks like a Kaltura Session: runs of at least
/// [`BodySnippet::MIN_TOKEN_CHARS`] base64 characters mixing upper case, lower case and
/// digits (v1 and v2 KS, app token hashes), and any run starting with `djJ8` (a v2 KS,
/// `v2|` in base64), each replaced by `[REDACTED]`. The client also removes the exact secrets
/// it sent, and keeps no snippet at all of results that are secrets (`session.start`,
/// `appToken.startSession`, `user.loginByLoginId`, …). At most
/// [`BodySnippet::MAX_CHARS`] characters are kept.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BodySnippet(String);

impl BodySnippet {
    /// The most characters kept (a cut snippet ends with `…` beyond that).
    pub const MAX_CHARS: usize = 512;

    /// The shortest base64 run treated as a secret token.
    pub const MIN_TOKEN_CHARS: usize = 40;

    /// The `(service, action)` pairs whose result is a secret (a KS); their bodies are never
    /// kept. Compared ignoring ASCII case, as Kaltura does.
    pub const SECRET_RESULT_ACTIONS: &'static [(&'static str, &'static str)] = &[
        ("session", "start"),
        ("session", "impersonate"),
        ("session", "impersonateByKs"),
        ("session", "startWidgetSession"),
        ("appToken", "startSession"),
        ("user", "login"),
        ("user", "loginByLoginId"),
        ("user", "loginByKs"),
        ("adminUser", "login"),
    ];

    /// A snippet of `text`: trimmed, KS-like tokens redacted, cut to
    /// [`Self::MAX_CHARS`] characters.
    pub fn new(text: &str) -> Self {
        Self::redacted(text, &[])
    }

    /// Like [`BodySnippet::new`] for raw bytes (lossy UTF-8), also replacing each of the
    /// exact `sensitive` values (the secrets of the request).
    pub(crate) fn from_bytes(bytes: &[u8], sensitive: &[String]) -> Self {
        Self::redacted(&String::from_utf8_lossy(bytes), sensitive)
    }

    /// A snippet of the result of `service.action`; empty when that result is a secret.
    pub(crate) fn of_result(service: &str, action: &str, value: &serde_json::Value) -> Self {
        if Self::is_secret_result(service, action) {
            return Self::default();
        }
        Self::new(&value.to_string())
    }

    /// Whether the result of `service.action` is a secret (see
    /// [`Self::SECRET_RESULT_ACTIONS`]).
    pub fn is_secret_result(service: &str, action: &str) -> bool {
        Self::SECRET_RESULT_ACTIONS
            .iter()
            .any(|(s, a)| s.eq_ignore_ascii_case(service) && a.eq_ignore_ascii_case(action))
    }

    fn redacted(text: &str, sensitive: &[String]) -> Self {
        // Look a bounded distance past the cut, so a token straddling it is still seen whole.
        const MARGIN: usize = 4096;
        let text = text.trim();
        let window = match text.char_indices().nth(Self::MAX_CHARS + MARGIN) {
            Some((end, _)) => text.get(..end).unwrap_or(text),
            None => text,
        };
        let mut owned = window.to_owned();
        for secret in sensitive.iter().filter(|s| !s.is_empty()) {
            if owned.contains(secret.as_str()) {
                owned = owned.replace(secret.as_str(), REDACTED);
            }
        }
        let clean = redact_tokens(&owned);
        let mut out: String = clean.chars().take(Self::MAX_CHARS).collect();
        if clean.chars().nth(Self::MAX_CHARS).is_some() || window.len() < text.len() {
            out.push('…');
        }
        BodySnippet(out)
    }

    /// The (redacted) text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for BodySnippet {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for BodySnippet {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for BodySnippet {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<&str> for BodySnippet {
    fn from(text: &str) -> Self {
        BodySnippet::new(text)
    }
}

impl From<String> for BodySnippet {
    fn from(text: String) -> Self {
        BodySnippet::new(&text)
    }
}

impl fmt::Display for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// What replaces a secret in diagnostics.
const REDACTED: &str = "[REDACTED]";

/// Replaces what looks like a KS or another secret token in `text` (see [`BodySnippet`]).
/// Linear in `text`.
pub(crate) fn redact_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    // base64 (standard and URL-safe) without the `=` padding (so `ks=…` splits), plus `\`
    // for JSON's escaped `\/`.
    let is_token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '_' | '-' | '\\');
    let secret_like = |run: &str| {
        (run.starts_with("djJ8") && run.len() >= 8)
            || run.len() >= BodySnippet::MIN_TOKEN_CHARS
                && run.bytes().any(|b| b.is_ascii_uppercase())
                && run.bytes().any(|b| b.is_ascii_lowercase())
                && run.bytes().any(|b| b.is_ascii_digit())
    };
    let mut out = String::new();
    let mut copied = 0;
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find(is_token) {
        let (_, from_start) = rest.split_at_checked(start).unwrap_or(("", rest));
        let len = from_start
            .find(|c: char| !is_token(c))
            .unwrap_or(from_start.len());
        let (run, after) = from_start.split_at_checked(len).unwrap_or((from_start, ""));
        // A token starts at a run of token characters, ignoring leading escapes.
        let run_trimmed = run.trim_start_matches(['\\', '/', '-', '+']);
        if secret_like(run_trimmed) {
            let run_start = offset + start + (run.len() - run_trimmed.len());
            out.push_str(text.get(copied..run_start).unwrap_or_default());
            out.push_str(REDACTED);
            copied = offset + start + len;
        }
        offset += start + len;
        rest = after;
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    std::borrow::Cow::Owned(out)
}

/// An error returned by the Kaltura API (`"objectType": "KalturaAPIException"`).
///
/// Kaltura sends these with HTTP 200, both as a whole response and as individual items of
/// a multirequest response.
///
/// Errors returned by the client also say which call failed ([`ApiError::service`],
/// [`ApiError::action`]) and, inside a multirequest, which item ([`ApiError::item`]); the
/// message then reads `media.get: Kaltura API error ENTRY_ID_NOT_FOUND: …` or
/// `multirequest item 3 (media.get): Kaltura API error …`. Those fields are not part of the
/// wire format.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// The symbolic error code, e.g. [`ErrorCode::EntryIdNotFound`] or [`ErrorCode::InvalidKs`].
    pub code: ErrorCode,
    /// The human readable message, e.g. `Entry id "0_nope" not found`.
    pub message: String,
    /// The arguments substituted into the message, by name (e.g. `ENTRY_ID` → `0_nope`).
    #[serde(default, deserialize_with = "deserialize_args")]
    pub args: BTreeMap<String, String>,
    /// Which call failed, when known (boxed: errors stay small).
    #[serde(skip)]
    call: Option<Box<ApiCall>>,
}

/// The call an [`ApiError`] answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ApiCall {
    service: String,
    action: String,
    item: Option<usize>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = match (
            self.service().unwrap_or_default(),
            self.action().unwrap_or_default(),
        ) {
            ("", _) => None,
            (service, "") => Some(service.to_owned()),
            (service, action) => Some(format!("{service}.{action}")),
        };
        match (self.item(), call) {
            (Some(item), Some(call)) => write!(f, "multirequest item {item} ({call}): ")?,
            (Some(item), None) => write!(f, "multirequest item {item}: ")?,
            (None, Some(call)) => write!(f, "{call}: ")?,
            (None, None) => {}
        }
        write!(f, "Kaltura API error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Creates an API error; mostly useful for tests and fakes.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            args: BTreeMap::new(),
            call: None,
        }
    }

    /// Records which call failed (`service`, `action`).
    #[must_use]
    pub fn in_call(mut self, service: impl Into<String>, action: impl Into<String>) -> Self {
        let call = self.call.get_or_insert_with(Box::default);
        call.service = service.into();
        call.action = action.into();
        self
    }

    /// Records the 1-based position of the failed call inside a multirequest.
    #[must_use]
    pub fn at_item(mut self, item: usize) -> Self {
        self.call.get_or_insert_with(Box::default).item = Some(item);
        self
    }

    /// The Kaltura service of the failed call, e.g. `media`, when known.
    pub fn service(&self) -> Option<&str> {
        self.call
            .as_ref()
            .map(|c| c.service.as_str())
            .filter(|s| !s.is_empty())
    }

    /// The action of the failed call, e.g. `get`, when known.
    pub fn action(&self) -> Option<&str> {
        self.call
            .as_ref()
            .map(|c| c.action.as_str())
            .filter(|s| !s.is_empty())
    }

    /// Inside a multirequest, the 1-based position of the failed call (as in Kaltura's
    /// `{N:result}` back-references); `None` for a single call.
    pub fn item(&self) -> Option<usize> {
        self.call.as_ref().and_then(|c| c.item)
    }

    /// Adds a named argument.
    #[must_use]
    pub fn with_arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.insert(name.into(), value.into());
        self
    }

    /// If this is an `INVALID_KS` error, why the KS was refused.
    ///
    /// Kaltura reports every KS problem as `INVALID_KS` with the reason in the `ERR_CODE`
    /// and `ERR_DESC` arguments (`-5`/`EXPIRED`, `-1`/`INVALID_STR`, …).
    pub fn invalid_ks_reason(&self) -> Option<InvalidKsReason> {
        if self.code != ErrorCode::InvalidKs {
            return None;
        }
        let code = self.args.get("ERR_CODE").map(String::as_str);
        let desc = self.args.get("ERR_DESC").map(String::as_str);
        let ksid = self.args.get("KSID").map(String::as_str);
        Some(match (code, desc) {
            (_, Some("EXPIRED")) | (Some("-5"), _) => InvalidKsReason::Expired,
            _ if ksid == Some("EXPIRED") => InvalidKsReason::Expired,
            (_, Some("INVALID_STR")) | (Some("-1"), _) => InvalidKsReason::InvalidSignature,
            (_, Some("LOGOUT")) | (Some("-6"), _) => InvalidKsReason::LoggedOut,
            (_, Some("INVALID_PARTNER")) | (Some("-2"), _) => InvalidKsReason::WrongPartner,
            (_, Some("INVALID_USER")) | (Some("-3"), _) => InvalidKsReason::InvalidUser,
            (_, Some("INVALID_TYPE")) | (Some("-4"), _) => InvalidKsReason::InvalidType,
            (_, Some("EXCEEDED_RESTRICTED_IP")) | (Some("-9"), _) => InvalidKsReason::RestrictedIp,
            (_, Some("EXCEEDED_RESTRICTED_URI")) | (Some("-11"), _) => {
                InvalidKsReason::RestrictedUri
            }
            _ => InvalidKsReason::Other {
                err_code: code.unwrap_or_default().to_owned(),
                err_desc: desc.unwrap_or_default().to_owned(),
            },
        })
    }
}

/// Declares [`ErrorCode`]: one line per known code, the wire string next to the variant.
macro_rules! error_codes {
    ($( $(#[$m:meta])* $variant:ident = $wire:literal, )*) => {
        /// A Kaltura API error code (`KalturaAPIException.code`), e.g. `ENTRY_ID_NOT_FOUND`.
        ///
        /// The codes this crate, its fake server and its users act on are variants; any
        /// other code the server sends is kept verbatim in [`ErrorCode::Other`]. Build one
        /// from a wire string with [`ErrorCode::from`] (or [`str::parse`]), which always picks
        /// the named variant when there is one. Equality and hashing compare the wire
        /// strings, so `ErrorCode::Other("INVALID_KS".into()) == ErrorCode::InvalidKs`.
        /// It serializes as the wire string.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$m])* #[doc = concat!("\n\nOn the wire: `", $wire, "`.")] $variant, )*
            /// Any other code, verbatim.
            Other(String),
        }

        impl ErrorCode {
            /// The code as Kaltura sends it, e.g. `ENTRY_ID_NOT_FOUND`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $wire, )*
                    ErrorCode::Other(code) => code,
                }
            }

            /// The named variant for a wire string, if there is one.
            fn known(code: &str) -> Option<Self> {
                match code {
                    $( $wire => Some(ErrorCode::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// No `ks` parameter on an action that needs a session.
    MissingKs = "MISSING_KS",
    /// The KS was refused; [`ApiError::invalid_ks_reason`] says why.
    InvalidKs = "INVALID_KS",
    /// No service in the request.
    ServiceNotSpecified = "SERVICE_NOT_SPECIFIED",
    /// Unknown service (Kaltura's spelling).
    ServiceDoesNotExist = "SERVICE_DOES_NOT_EXISTS",
    /// No action in the request.
    ActionNotSpecified = "ACTION_NOT_SPECIFIED",
    /// Unknown action of a known service (Kaltura's spelling).
    ActionDoesNotExist = "ACTION_DOES_NOT_EXISTS",
    /// The session may not call this action.
    ServiceForbidden = "SERVICE_FORBIDDEN",
    /// Wrong secret or partner id in `session.start`.
    StartSessionError = "START_SESSION_ERROR",
    /// A mandatory parameter is missing.
    MissingMandatoryParameter = "MISSING_MANDATORY_PARAMETER",
    /// A mandatory object property is missing.
    PropertyValidationCannotBeNull = "PROPERTY_VALIDATION_CANNOT_BE_NULL",
    /// A value is not a member of the expected enum (for example a value only newer
    /// servers know).
    InvalidEnumValue = "INVALID_ENUM_VALUE",
    /// A field value is not valid (for example a user id outside Kaltura's rule).
    InvalidFieldValue = "INVALID_FIELD_VALUE",
    /// Unknown entry.
    EntryIdNotFound = "ENTRY_ID_NOT_FOUND",
    /// Unknown user.
    InvalidUserId = "INVALID_USER_ID",
    /// A USER session asked for another user.
    CannotRetrieveAnotherUserUsingNonAdminSession = "CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION",
    /// `user.add` with an id that already exists.
    DuplicateUserById = "DUPLICATE_USER_BY_ID",
    /// `user.loginByLoginId`: no such login id, or no user of the partner for it.
    UserNotFound = "USER_NOT_FOUND",
    /// `user.loginByLoginId`: the password is wrong (counts towards the lockout).
    UserWrongPassword = "USER_WRONG_PASSWORD",
    /// `user.loginByLoginId`: this failure reached the partner's maximum of login attempts;
    /// the login is locked for the partner's block period.
    LoginRetriesExceeded = "LOGIN_RETRIES_EXCEEDED",
    /// `user.loginByLoginId`: the login is locked after too many failures.
    LoginBlocked = "LOGIN_BLOCKED",
    /// `user.loginByLoginId`: the password is right but has expired.
    PasswordExpired = "PASSWORD_EXPIRED",
    /// `user.loginByLoginId`: the user or the partner is blocked.
    UserIsBlocked = "USER_IS_BLOCKED",
    /// The partner id is not valid here (e.g. a login to another partner than the KS's).
    InvalidPartnerId = "INVALID_PARTNER_ID",
    /// `user.loginByLoginId`: the partner only allows single sign-on.
    DirectLoginBlocked = "DIRECT_LOGIN_BLOCKED",
    /// `user.loginByLoginId`: the partner requires a one-time password and none was sent.
    MissingOtp = "MISSING_OTP",
    /// `user.loginByLoginId`: the one-time password is wrong.
    InvalidOtp = "INVALID_OTP",
    /// No login data for that login id (`user.getByLoginId`, `user.resetPassword`).
    LoginDataNotFound = "LOGIN_DATA_NOT_FOUND",
    /// Unknown category.
    CategoryNotFound = "CATEGORY_NOT_FOUND",
    /// Unknown application token.
    AppTokenIdNotFound = "APP_TOKEN_ID_NOT_FOUND",
    /// Application token disabled or deleted.
    AppTokenNotActive = "APP_TOKEN_NOT_ACTIVE",
    /// Application token past its expiry.
    AppTokenExpired = "APP_TOKEN_EXPIRED",
    /// `tokenHash` does not match the application token.
    InvalidAppTokenHash = "INVALID_APP_TOKEN_HASH",
    /// Unknown widget in `session.startWidgetSession`.
    InvalidWidgetId = "INVALID_WIDGET_ID",
    /// Unknown id of an integer-keyed object.
    InvalidObjectId = "INVALID_OBJECT_ID",
    /// Unknown schedule resource.
    ScheduleResourceIdNotFound = "SCHEDULE_RESOURCE_ID_NOT_FOUND",
    /// Unknown schedule event.
    ScheduleEventIdNotFound = "SCHEDULE_EVENT_ID_NOT_FOUND",
    /// The event is already linked to the resource.
    ScheduleEventResourceAlreadyExists = "SCHEDULE_EVENT_RESOURCE_ALREADY_EXISTS",
    /// Unknown virtual event.
    VirtualEventNotFound = "VIRTUAL_EVENT_NOT_FOUND",
    /// Unknown event notification template.
    EventNotificationTemplateNotFound = "EVENT_NOTIFICATION_TEMPLATE_NOT_FOUND",
}

impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorCode {}

impl Hash for ErrorCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::known(code).unwrap_or_else(|| ErrorCode::Other(code.to_owned()))
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::known(&code).unwrap_or(ErrorCode::Other(code))
    }
}

impl FromStr for ErrorCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(ErrorCode::from(s))
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(ErrorCode::from)
    }
}

/// Kaltura's `args` is an object of name → string, but an empty one is serialized by PHP as
/// `[]`, and XML-derived errors carry a list of `{name, value}` pairs.
fn deserialize_args<'de, D>(d: D) -> std::result::Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde_json::Value;
    let v = <Value as serde::Deserialize>::deserialize(d)?;
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = BTreeMap::new();
    match v {
        Value::Object(map) => {
            for (k, v) in &map {
                out.insert(k.clone(), scalar(v));
            }
        }
        Value::Array(items) => {
            for item in &items {
                if let (Some(name), Some(value)) = (item.get("name"), item.get("value")) {
                    out.insert(scalar(name), scalar(value));
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Why Kaltura refused a KS (`INVALID_KS`), decoded from the error arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidKsReason {
    /// The KS's expiry time has passed (`-5,EXPIRED`). Get a new KS.
    Expired,
    /// The KS could not be parsed or its signature did not match the partner's admin secret
    /// (`-1,INVALID_STR`). Check the partner id and admin secret.
    InvalidSignature,
    /// The KS was explicitly ended (`session.end`) (`-6,LOGOUT`).
    LoggedOut,
    /// The KS belongs to another partner (`-2`).
    WrongPartner,
    /// The KS's user is not valid (`-3`).
    InvalidUser,
    /// The KS's session type is not valid for the call (`-4`).
    InvalidType,
    /// The caller's IP is outside the KS's `iprestrict` privilege (`-9`).
    RestrictedIp,
    /// The called URI is outside the KS's `urirestrict` privilege (`-11`).
    RestrictedUri,
    /// Any other reason, verbatim.
    Other {
        /// The `ERR_CODE` argument.
        err_code: String,
        /// The `ERR_DESC` argument.
        err_desc: String,
    },
}

/// What was wrong with a KS handled locally (generation, decoding or verification).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KsErrorKind {
    /// The KS is empty.
    Empty,
    /// The KS is not valid (URL-safe or standard) base64.
    NotBase64,
    /// The decoded KS does not have the expected structure; the string says what is missing.
    Malformed(String),
    /// The KS names a version this crate does not know.
    UnsupportedVersion(String),
    /// The signature (v1) or embedded hash (v2) does not match: wrong admin secret or a
    /// tampered KS.
    SignatureMismatch,
    /// The KS is well-formed and signed but its expiry time has passed.
    Expired {
        /// When it expired (unix seconds).
        valid_until: i64,
    },
    /// The KS was issued for another partner than expected.
    WrongPartner {
        /// The partner the caller expected.
        expected: i64,
        /// The partner in the KS.
        found: i64,
    },
    /// A privilege string or value could not be parsed or encoded.
    InvalidPrivilege(String),
    /// A field value could not be used (for example a user id containing the v1 separator `;`).
    InvalidField(String),
}

impl fmt::Display for KsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KsErrorKind::Empty => f.write_str("the KS is empty"),
            KsErrorKind::NotBase64 => f.write_str("the KS is not valid base64"),
            KsErrorKind::Malformed(what) => write!(f, "the KS is malformed: {what}"),
            KsErrorKind::UnsupportedVersion(v) => write!(f, "unsupported KS version {v:?}"),
            KsErrorKind::SignatureMismatch => f.write_str(
                "the KS signature does not match (wrong admin secret, or the KS was altered)",
            ),
            KsErrorKind::Expired { valid_until } => {
                write!(f, "the KS expired at {valid_until} (unix seconds)")
            }
            KsErrorKind::WrongPartner { expected, found } => {
                write!(
                    f,
                    "the KS belongs to partner {found}, expected partner {expected}"
                )
            }
            KsErrorKind::InvalidPrivilege(what) => write!(f, "invalid privilege: {what}"),
            KsErrorKind::InvalidField(what) => write!(f, "invalid KS field: {what}"),
        }
    }
}

impl From<KsErrorKind> for Error {
    fn from(kind: KsErrorKind) -> Self {
        Error::Ks(kind)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn invalid_ks(code: &str, desc: &str) -> ApiError {
        ApiError::new("INVALID_KS", "Invalid KS")
            .with_arg("KSID", "djJ8")
            .with_arg("ERR_CODE", code)
            .with_arg("ERR_DESC", desc)
    }

    #[test]
    fn expired_ks_is_recognised() {
        assert_eq!(
            invalid_ks("-5", "EXPIRED").invalid_ks_reason(),
            Some(InvalidKsReason::Expired)
        );
    }

    #[test]
    fn bad_signature_is_recognised() {
        assert_eq!(
            invalid_ks("-1", "INVALID_STR").invalid_ks_reason(),
            Some(InvalidKsReason::InvalidSignature)
        );
    }

    #[test]
    fn unknown_reason_is_kept_verbatim() {
        assert_eq!(
            invalid_ks("-42", "SOMETHING").invalid_ks_reason(),
            Some(InvalidKsReason::Other {
                err_code: "-42".into(),
                err_desc: "SOMETHING".into()
            })
        );
    }

    #[test]
    fn other_codes_have_no_ks_reason() {
        assert_eq!(
            ApiError::new("ENTRY_ID_NOT_FOUND", "x").invalid_ks_reason(),
            None
        );
    }

    /// A v2 KS as `session.start` returns it.
    const FRESH_KS: &str = "djJ8MTIzNDV8Ab3dEf-_Gh9iJkLmNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ_AbCdEfGhIjKlMnOpQrStUvWx";

    #[test]
    fn snippets_redact_ks_shaped_tokens() {
        let s = BodySnippet::new(&format!("{{\"result\":\"{FRESH_KS}\",\"x\":1}}"));
        assert_eq!(s, "{\"result\":\"[REDACTED]\",\"x\":1}");
        // v1: standard base64 of `<sha1>|<fields>`, `/` escaped by PHP's json_encode.
        let v1 = "ZWNhNDg2ZTVlMzYzNjVlZDM4ZTg5Y2ZlY2Q0OGE5OTQ5ZTU1YjE2Y3wxMjM0NTsx\\/MjM0NTsxNzAwMDAwMDAwOzI7MTIzNDU7ZGlzY29yZF80Mjs7Ow==";
        let s = BodySnippet::new(&format!("bad: {v1} end"));
        assert_eq!(s, "bad: [REDACTED]== end");
        // A KS cut short is still recognised by its `djJ8` start.
        assert_eq!(BodySnippet::new("ks=djJ8MTIzNDV8"), "ks=[REDACTED]");
        // Ordinary text, paths and hex hashes stay.
        let plain = "/api_v3/service/multirequest/action/list 0_abcd1234 eca486e5e36365ed38e89cfecd48a9949e55b16c";
        assert_eq!(BodySnippet::new(plain), plain);
    }

    #[test]
    fn snippets_are_bounded_and_a_token_at_the_cut_is_redacted() {
        let text = format!("{}{FRESH_KS}", "x ".repeat(250));
        let s = BodySnippet::new(&text);
        assert!(s.chars().count() <= BodySnippet::MAX_CHARS + 1);
        assert!(!s.contains("djJ8"), "{s}");
        assert!(!s.contains(&FRESH_KS[..12]), "{s}");
        let huge = "é".repeat(100_000);
        let s = BodySnippet::new(&huge);
        assert_eq!(s.chars().count(), BodySnippet::MAX_CHARS + 1);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn decode_errors_of_secret_results_keep_no_body() {
        let value = serde_json::Value::String(FRESH_KS.to_owned());
        assert!(BodySnippet::is_secret_result("session", "start"));
        assert!(BodySnippet::is_secret_result("appToken", "startsession"));
        assert!(BodySnippet::of_result("session", "start", &value).is_empty());
        assert!(BodySnippet::of_result("user", "loginByLoginId", &value).is_empty());
        let other = BodySnippet::of_result("media", "get", &value);
        assert_eq!(other, "\"[REDACTED]\"");
        let err = Error::Decode {
            service: "session".into(),
            action: "start".into(),
            path: ".".into(),
            message: "m".into(),
            body_snippet: BodySnippet::of_result("session", "start", &value),
        };
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(FRESH_KS), "{shown}");
    }

    #[test]
    fn api_errors_say_which_call_and_item_failed() {
        let bare = ApiError::new(ErrorCode::EntryIdNotFound, "Entry id \"0_x\" not found");
        assert_eq!(
            bare.to_string(),
            "Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_x\" not found"
        );
        let single = bare.clone().in_call("media", "get");
        assert_eq!(
            single.to_string(),
            "media.get: Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_x\" not found"
        );
        let item = single.at_item(3);
        assert_eq!(
            Error::from(item).to_string(),
            "multirequest item 3 (media.get): Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_x\" not found"
        );
        let whole =
            Error::from(ApiError::new(ErrorCode::MissingKs, "m")).in_call("multirequest", "");
        assert_eq!(
            whole.to_string(),
            "multirequest: Kaltura API error MISSING_KS: m"
        );
        let kept = Error::from(bare.in_call("media", "get")).in_call("multirequest", "");
        assert_eq!(kept.as_api().and_then(ApiError::service), Some("media"));
    }

    #[test]
    fn error_codes_round_trip_through_the_wire_string() {
        assert_eq!(
            ErrorCode::from("ENTRY_ID_NOT_FOUND"),
            ErrorCode::EntryIdNotFound
        );
        assert_eq!(ErrorCode::EntryIdNotFound.as_str(), "ENTRY_ID_NOT_FOUND");
        assert_eq!(
            ErrorCode::DuplicateUserById.to_string(),
            "DUPLICATE_USER_BY_ID"
        );
        let other: ErrorCode = "SOMETHING_NEW".parse().unwrap();
        assert!(matches!(&other, ErrorCode::Other(c) if c == "SOMETHING_NEW"));
        assert_eq!(other.as_str(), "SOMETHING_NEW");
        assert_eq!(
            serde_json::to_string(&ErrorCode::InvalidEnumValue).unwrap(),
            "\"INVALID_ENUM_VALUE\""
        );
        let parsed: ErrorCode = serde_json::from_str("\"INVALID_KS\"").unwrap();
        assert!(matches!(parsed, ErrorCode::InvalidKs));
        assert_eq!(
            ErrorCode::from(String::from("MISSING_KS")),
            ErrorCode::MissingKs
        );
    }

    #[test]
    fn an_unnormalized_other_equals_the_named_code() {
        use std::collections::HashSet;
        let odd = ErrorCode::Other("INVALID_KS".into());
        assert_eq!(odd, ErrorCode::InvalidKs);
        let set: HashSet<ErrorCode> = [odd, ErrorCode::InvalidKs].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_ne!(ErrorCode::Other("X".into()), ErrorCode::InvalidKs);
    }

    #[test]
    fn args_accept_object_empty_array_and_pair_list() {
        let e: ApiError = serde_json::from_str(
            r#"{"code":"ENTRY_ID_NOT_FOUND","message":"m","objectType":"KalturaAPIException","args":{"ENTRY_ID":"0_nope"}}"#,
        )
        .unwrap();
        assert_eq!(e.args.get("ENTRY_ID").map(String::as_str), Some("0_nope"));
        let e: ApiError =
            serde_json::from_str(r#"{"code":"MISSING_KS","message":"m","args":[]}"#).unwrap();
        assert!(e.args.is_empty());
        let e: ApiError = serde_json::from_str(
            r#"{"code":"X","message":"m","args":[{"name":"PID","value":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(e.args.get("PID").map(String::as_str), Some("1"));
    }
}
