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
        /// The start of the response body, for diagnostics.
        body_snippet: String,
    },

    /// The server answered 2xx but the body is not JSON — typically an HTML error page from a
    /// proxy or load balancer. The request was sent.
    #[error("expected a JSON response from {url} but got {content_type:?}: {body_snippet}")]
    NotJson {
        /// The URL that was called.
        url: String,
        /// The response `Content-Type`, if any.
        content_type: Option<String>,
        /// The start of the response body, for diagnostics.
        body_snippet: String,
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
        /// The start of the response body, for diagnostics.
        body_snippet: String,
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

    /// The API error, if this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The Kaltura error code (`ENTRY_ID_NOT_FOUND`, …) if this is an API error.
    pub fn api_code(&self) -> Option<&str> {
        self.as_api().map(|e| e.code.as_str())
    }
}

/// An error returned by the Kaltura API (`"objectType": "KalturaAPIException"`).
///
/// Kaltura sends these with HTTP 200, both as a whole response and as individual items of
/// a multirequest response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("Kaltura API error {code}: {message}")]
#[non_exhaustive]
pub struct ApiError {
    /// The symbolic error code, e.g. `ENTRY_ID_NOT_FOUND` or `INVALID_KS`.
    pub code: String,
    /// The human readable message, e.g. `Entry id "0_nope" not found`.
    pub message: String,
    /// The arguments substituted into the message, by name (e.g. `ENTRY_ID` → `0_nope`).
    #[serde(default, deserialize_with = "deserialize_args")]
    pub args: BTreeMap<String, String>,
}

impl ApiError {
    /// Creates an API error; mostly useful for tests and fakes.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            args: BTreeMap::new(),
        }
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
        if self.code != "INVALID_KS" {
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
