//! One call on the wire: the JSON body, the HTTP round trip, the classification of the
//! response (HTTP status, JSON, `KalturaAPIException`, decoding), retries, and the scrubbing
//! of secrets from everything that comes back.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tracing::Instrument as _;

use super::Client;
use super::session::KsUse;
use crate::error::{ApiError, BodySnippet, Error, InvalidKsReason, Result, redact_tokens};
use crate::ks::Ks;
use crate::request::{API_VERSION, FORMAT_JSON};
use crate::retry::{RetryDecision, decide};

/// A prepared call: what [`Client::execute`] sends.
pub(crate) struct Call {
    /// Service id, or `multirequest`.
    pub(crate) service: String,
    /// Action name; empty for a multirequest.
    pub(crate) action: String,
    /// Path below the service URL.
    pub(crate) path: String,
    /// Parameters, without the common ones.
    pub(crate) params: Map<String, Value>,
    /// Whether the client's KS is added (unless `params` has a `ks`).
    pub(crate) needs_ks: bool,
    /// Whether the call may be retried after it may have reached the server.
    pub(crate) read_only: bool,
    /// For a multirequest: the number of calls in it.
    pub(crate) multi: Option<usize>,
}

impl Client {
    /// Sends a prepared call with retries and returns the checked JSON result (for a
    /// multirequest: the array, with inline errors scrubbed of secrets).
    pub(crate) async fn execute(&self, call: &Call) -> Result<Value> {
        let span = tracing::debug_span!(
            "kaltura_call",
            service = %call.service,
            action = %call.action,
            attempt = tracing::field::Empty,
        );
        self.execute_inner(call, &span)
            .instrument(span.clone())
            .await
    }

    async fn execute_inner(&self, call: &Call, span: &tracing::Span) -> Result<Value> {
        let url = format!("{}{}", self.inner.service_url, call.path);
        let mut attempt: u32 = 0;
        let mut renewed_expired_ks = false;
        loop {
            span.record("attempt", attempt);
            let ks_use = if call.needs_ks && !call.params.contains_key("ks") {
                self.ks_for_call().await?
            } else {
                KsUse::None
            };
            let body = self.body(&call.params, ks_use.ks());
            let sensitive = sensitive_values(&body);
            let result = self
                .attempt(&url, &body, &sensitive, call.multi)
                .await
                .map_err(|e| e.in_call(&call.service, &call.action));
            let api_refusal = match &result {
                Err(Error::Api(api)) => api.invalid_ks_reason().map(|reason| (reason, true)),
                Ok(value) if call.multi.is_some() => multi_ks_refusal(value),
                Ok(_) | Err(_) => None,
            };
            if let (KsUse::Managed(used), Some((reason, all_refused))) = (&ks_use, api_refusal) {
                self.invalidate_managed_ks(used).await;
                if reason == InvalidKsReason::Expired && all_refused && !renewed_expired_ks {
                    tracing::debug!("kaltura: managed KS expired, retrying once with a new one");
                    renewed_expired_ks = true;
                    continue;
                }
            }
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match decide(&self.inner.retry, attempt, &error, call.read_only) {
                RetryDecision::Retry { after } => {
                    tracing::debug!(%error, ?after, "kaltura: retrying");
                    tokio::time::sleep(after).await;
                    attempt += 1;
                }
                RetryDecision::GiveUp => return Err(error),
            }
        }
    }

    /// The JSON body: the parameters plus `ks` (unless the request brings its own),
    /// `format`, `clientTag` and `apiVersion`.
    fn body(&self, params: &Map<String, Value>, ks: Option<&Ks>) -> Map<String, Value> {
        let mut body = params.clone();
        if let Some(ks) = ks {
            body.entry("ks")
                .or_insert_with(|| Value::String(ks.expose_secret().to_owned()));
        }
        body.insert("format".into(), Value::from(FORMAT_JSON));
        body.insert(
            "clientTag".into(),
            Value::String(self.inner.client_tag.clone()),
        );
        body.insert("apiVersion".into(), Value::String(API_VERSION.to_owned()));
        body
    }

    /// One HTTP round trip: status, JSON and API-error checks.
    async fn attempt(
        &self,
        url: &str,
        body: &Map<String, Value>,
        sensitive: &[String],
        multi: Option<usize>,
    ) -> Result<Value> {
        let inner = &self.inner;
        let started = Instant::now();
        let transport = |e: reqwest::Error| map_reqwest_error(e, url, inner.timeout);
        let response = inner
            .http
            .post(url)
            .timeout(inner.timeout)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, &inner.user_agent)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = parse_retry_after(response.headers());
        let bytes = response.bytes().await.map_err(transport)?;
        tracing::debug!(
            status = status.as_u16(),
            bytes = bytes.len(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "kaltura: response"
        );
        if !status.is_success() {
            return Err(Error::Http {
                url: url.to_owned(),
                status: status.as_u16(),
                retry_after,
                body_snippet: snippet(&bytes, sensitive),
            });
        }
        let mut value = parse_json(&bytes).ok_or_else(|| Error::NotJson {
            url: url.to_owned(),
            content_type,
            body_snippet: snippet(&bytes, sensitive),
        })?;
        if let Some(api) = api_error(&value, sensitive) {
            return Err(api.into());
        }
        if multi.is_some()
            && let Value::Array(items) = &mut value
        {
            for item in items.iter_mut() {
                if let Some(api) = api_error(item, sensitive) {
                    scrub_api_error_value(item, &api);
                }
            }
        }
        Ok(value)
    }
}

/// A failure of the HTTP transport (connection refused, TLS handshake, connection reset,
/// broken response body…), the `source` of [`Error::Connect`] and [`Error::Transport`].
///
/// Opaque on purpose: the HTTP library is not part of this crate's API. `Display` says what
/// failed in a few words; [`source`](std::error::Error::source) leads to the underlying
/// error and its own causes (e.g. the operating system's "connection refused").
pub struct TransportError(reqwest::Error);

impl TransportError {
    pub(crate) fn new(error: reqwest::Error) -> Self {
        TransportError(error)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TransportError").field(&self.0).finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        f.write_str(if e.is_connect() {
            "the connection could not be established"
        } else if e.is_timeout() {
            "the transport timed out"
        } else if e.is_body() || e.is_decode() {
            "the response body could not be read"
        } else if e.is_request() {
            "the request could not be sent"
        } else {
            "the HTTP transport failed"
        })
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Maps a reqwest error to the variant saying whether the request may have been sent.
fn map_reqwest_error(e: reqwest::Error, url: &str, timeout: Duration) -> Error {
    let url = url.to_owned();
    if e.is_connect() {
        Error::Connect {
            url,
            source: TransportError::new(e),
        }
    } else if e.is_timeout() {
        Error::Timeout { url, timeout }
    } else {
        Error::Transport {
            url,
            source: TransportError::new(e),
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not supported and ignored).
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Parses a 2xx body as JSON. An empty body counts as `null` (a void action); a body that
/// starts with `<` (HTML, XML) or does not parse is not JSON.
fn parse_json(bytes: &[u8]) -> Option<Value> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Some(Value::Null),
        Some(b'<') => None,
        Some(_) => serde_json::from_slice(bytes).ok(),
    }
}

/// The secret values in a request body (`ks`, `secret`, `session`, `password`, `otp`, also
/// inside multirequest items), which must not come back in errors.
fn sensitive_values(body: &Map<String, Value>) -> Vec<String> {
    const KEYS: [&str; 5] = ["ks", "secret", "session", "password", "otp"];
    let mut out = Vec::new();
    let mut collect = |map: &Map<String, Value>| {
        for key in KEYS {
            if let Some(Value::String(s)) = map.get(key)
                && s.len() >= 4
                && !out.contains(s)
            {
                out.push(s.clone());
            }
        }
    };
    collect(body);
    for value in body.values() {
        if let Value::Object(item) = value {
            collect(item);
        }
    }
    out
}

/// Replaces every sensitive value in `text`.
pub(crate) fn redact<'a>(text: &'a str, sensitive: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in sensitive {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "[REDACTED]"));
        }
    }
    out
}

/// The start of a body for error messages: lossy UTF-8, secrets redacted, at most
/// [`BodySnippet::MAX_CHARS`] characters.
pub(crate) fn snippet(bytes: &[u8], sensitive: &[String]) -> BodySnippet {
    BodySnippet::from_bytes(bytes, sensitive)
}

/// If `value` is a `KalturaAPIException`, the error it describes (secrets redacted).
pub(crate) fn api_error(value: &Value, sensitive: &[String]) -> Option<ApiError> {
    let object = value.as_object()?;
    if object.get("objectType").and_then(Value::as_str) != Some("KalturaAPIException") {
        return None;
    }
    let mut api = serde_json::from_value::<ApiError>(value.clone()).unwrap_or_else(|_| {
        let text = |key: &str| match object.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        ApiError::new(text("code"), text("message"))
    });
    api.message = redact(&api.message, sensitive).into_owned();
    for arg in api.args.values_mut() {
        if let Cow::Owned(redacted) = redact(arg, sensitive) {
            *arg = redacted;
        }
    }
    Some(api)
}

/// Writes the redacted message and arguments of `api` back into the exception object.
fn scrub_api_error_value(item: &mut Value, api: &ApiError) {
    if let Value::Object(object) = item {
        object.insert("message".into(), Value::String(api.message.clone()));
        if !api.args.is_empty() {
            let args = api
                .args
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            object.insert("args".into(), Value::Object(args));
        }
    }
}

/// For a multirequest result: if some items are `INVALID_KS`, the reason of the first one and
/// whether *every* item was refused for that reason (then nothing was executed).
fn multi_ks_refusal(value: &Value) -> Option<(InvalidKsReason, bool)> {
    let items = value.as_array()?;
    let reasons: Vec<Option<InvalidKsReason>> = items
        .iter()
        .map(|item| api_error(item, &[]).and_then(|api| api.invalid_ks_reason()))
        .collect();
    let first = reasons.iter().flatten().next()?.clone();
    let all = reasons.iter().all(|r| r.as_ref() == Some(&first));
    Some((first, all))
}

/// Decodes a checked result into `T`, reporting the JSON path of a mismatch.
pub(crate) fn decode_value<T: DeserializeOwned>(
    service: &str,
    action: &str,
    value: &Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Error::Decode {
            service: service.to_owned(),
            action: action.to_owned(),
            path,
            message: redact_tokens(&e.into_inner().to_string()).into_owned(),
            body_snippet: BodySnippet::of_result(service, action, value),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ids::PartnerId;
    use serde_json::json;

    #[test]
    fn json_detection() {
        assert_eq!(parse_json(b""), Some(Value::Null));
        assert_eq!(parse_json(b"  \n"), Some(Value::Null));
        assert_eq!(parse_json(b"null"), Some(Value::Null));
        assert_eq!(parse_json(b"\"djJ8\""), Some(json!("djJ8")));
        assert_eq!(parse_json(b" <html>502</html>"), None);
        assert_eq!(parse_json(b"<?xml version=\"1.0\"?><xml/>"), None);
        assert_eq!(parse_json(b"{not json"), None);
    }

    #[test]
    fn snippets_are_truncated_and_redacted() {
        let secret = vec!["djJ8U0VDUkVU".to_owned()];
        let s = snippet(b"Invalid KS \"djJ8U0VDUkVU\"", &secret);
        assert_eq!(s, "Invalid KS \"[REDACTED]\"");
        let long = "é".repeat(600);
        let s = snippet(long.as_bytes(), &[]);
        assert_eq!(s.chars().count(), BodySnippet::MAX_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(&[0xff, b'a'], &[]), "\u{fffd}a");
    }

    #[test]
    fn sensitive_values_include_multirequest_items() {
        let body = json!({
            "ks": "top-level-ks",
            "0": {"service": "session", "action": "start", "secret": "the-secret"},
            "1": {"service": "session", "action": "get", "session": "item-ks"},
            "2": {"service": "x", "action": "y", "ks": "abc"},
        });
        let Value::Object(body) = body else {
            unreachable!()
        };
        let mut values = sensitive_values(&body);
        values.sort();
        assert_eq!(values, ["item-ks", "the-secret", "top-level-ks"]);
    }

    #[test]
    fn api_errors_are_detected_and_scrubbed() {
        let ks = vec!["djJ8U0VDUkVU".to_owned()];
        let value = json!({
            "code": "INVALID_KS",
            "message": "Invalid KS \"djJ8U0VDUkVU\", Error \"-1,INVALID_STR\"",
            "objectType": "KalturaAPIException",
            "args": {"KSID": "djJ8U0VDUkVU", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}
        });
        let api = api_error(&value, &ks).unwrap();
        assert_eq!(api.code, crate::ErrorCode::InvalidKs);
        assert!(!api.message.contains("djJ8U0VDUkVU"));
        assert_eq!(api.args["KSID"], "[REDACTED]");
        assert_eq!(
            api.invalid_ks_reason(),
            Some(InvalidKsReason::InvalidSignature)
        );
        assert!(api_error(&json!({"objectType": "KalturaMediaEntry"}), &ks).is_none());
        assert!(api_error(&json!("KalturaAPIException"), &ks).is_none());
        let odd = api_error(
            &json!({"objectType": "KalturaAPIException", "code": 5}),
            &ks,
        )
        .unwrap();
        assert_eq!(odd.code.as_str(), "5");
        assert_eq!(odd.message, "");
    }

    #[test]
    fn multirequest_refusals() {
        let expired = json!({"code":"INVALID_KS","message":"m","objectType":"KalturaAPIException",
            "args":{"KSID":"EXPIRED","ERR_CODE":"-1","ERR_DESC":"INVALID_STR"}});
        assert_eq!(
            multi_ks_refusal(&json!([expired.clone(), expired.clone()])),
            Some((InvalidKsReason::Expired, true))
        );
        assert_eq!(
            multi_ks_refusal(&json!(["ok", expired])),
            Some((InvalidKsReason::Expired, false))
        );
        assert_eq!(multi_ks_refusal(&json!(["ok"])), None);
        assert_eq!(multi_ks_refusal(&json!({"a": 1})), None);
    }

    #[test]
    fn decode_reports_the_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Entry {
            id: String,
            #[serde(rename = "partnerId")]
            partner_id: PartnerId,
        }
        let err = decode_value::<Entry>("media", "get", &json!({"id": "0_x", "partnerId": {}}))
            .unwrap_err();
        let Error::Decode { path, service, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "partnerId");
        assert_eq!(service, "media");
        decode_value::<()>("media", "delete", &Value::Null).unwrap();
    }

    #[tokio::test]
    async fn transport_errors_are_opaque_but_keep_the_source_chain() {
        use std::error::Error as _;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/api_v3/service/media/action/list");
        let reqwest_error = reqwest::Client::new().post(&url).send().await.unwrap_err();
        let detail = reqwest_error.to_string();
        let err = map_reqwest_error(reqwest_error, &url, Duration::from_secs(1));
        let Error::Connect { source, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            source.to_string(),
            "the connection could not be established"
        );
        let inner = source.source().unwrap();
        assert_eq!(inner.to_string(), detail);
        assert_eq!(
            err.to_string(),
            format!("could not connect to {url}: the connection could not be established")
        );
        assert!(err.source().is_some_and(|s| s.source().is_some()));
    }
}
