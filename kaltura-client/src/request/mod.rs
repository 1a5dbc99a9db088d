//! Requests as data: the [`KalturaRequest`] trait and the wire-format constants.
//!
//! Every Kaltura call is a value describing *what* to call — service, action, parameters and
//! the type of the result — independent of the [`Client`](crate::Client) that executes it. This
//! keeps calls snapshot-testable without a server and lets the same request run alone
//! ([`Client::send`](crate::Client::send)) or inside a
//! [multirequest](crate::multirequest::MultiRequest::add).
//!
//! On the wire a request becomes `POST {service_url}/api_v3/service/{service}/action/{action}`
//! with a JSON body holding [`KalturaRequest::params`] plus the common parameters `ks` (when
//! [`KalturaRequest::needs_ks`]), `format: 1`, `clientTag` and `apiVersion` ([`API_VERSION`]).
//!
//! * [`RequestBuilder`] binds a request to a client; every typed service action returns one.
//! * [`RawRequest`] is the untyped request behind [`Client::call_raw`](crate::Client::call_raw).
//! * Inside the crate, `Params` and `kaltura_request!` build the parameter maps of the typed
//!   request structs, and `builder_setters!` gives builders setters for their fields.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

mod builder;
mod params;

pub use builder::RequestBuilder;
pub(crate) use builder::builder_setters;
pub(crate) use params::{Params, kaltura_request};

/// The Kaltura API schema version this crate targets, sent as `apiVersion` with every call.
///
/// The server does not act on it (it is logged), but it documents which generation of the
/// API the request and response models were written against — the same version the official
/// Node.js client 21.20.0 sends.
pub const API_VERSION: &str = "21.20.0";

/// `format` value asking Kaltura for a JSON response (the server default, `2`, is XML).
pub const FORMAT_JSON: u8 = 1;

/// One Kaltura API call, as data.
///
/// Implement it for a small struct per action; [`Client::send`](crate::Client::send) executes
/// it and decodes the result into [`KalturaRequest::Output`].
///
/// ```
/// use kaltura_client::KalturaRequest;
/// use serde_json::{json, Map, Value};
///
/// /// `media.get`, decoded loosely.
/// struct GetEntry {
///     entry_id: String,
/// }
///
/// impl KalturaRequest for GetEntry {
///     type Output = Value;
///     fn service(&self) -> &str {
///         "media"
///     }
///     fn action(&self) -> &str {
///         "get"
///     }
///     fn params(&self) -> kaltura_client::Result<Map<String, Value>> {
///         let mut params = Map::new();
///         params.insert("entryId".into(), json!(self.entry_id));
///         Ok(params)
///     }
/// }
///
/// let request = GetEntry { entry_id: "0_abc123".into() };
/// assert!(request.is_read_only());
/// assert!(request.needs_ks());
/// ```
pub trait KalturaRequest {
    /// The decoded result. Use `()` for void actions (Kaltura answers `null`) and
    /// [`serde_json::Value`] to keep the result untyped.
    type Output: DeserializeOwned;

    /// The Kaltura service id, e.g. `media` or `elasticsearch_esearch`. Must match
    /// `[A-Za-z0-9_]+`; anything else is rejected with [`Error::Build`] before sending.
    fn service(&self) -> &str;

    /// The action name, e.g. `get`. Same character rules as [`KalturaRequest::service`].
    fn action(&self) -> &str;

    /// The action's parameters as a JSON object (without the common parameters).
    ///
    /// If the parameters contain a `ks` entry it is sent as is and the client's KS is not
    /// added — this is how a call is made with a different KS than the client's.
    ///
    /// # Errors
    ///
    /// [`Error::Build`] if the parameters cannot be represented as a JSON object.
    fn params(&self) -> Result<Map<String, Value>>;

    /// Whether the client's KS must be sent with this call. `true` by default; `false` for
    /// calls that authenticate otherwise (`session.start` with the secret,
    /// `session.startWidgetSession`).
    fn needs_ks(&self) -> bool {
        true
    }

    /// Whether the call has no side effect, which makes it safe to retry after a failure
    /// that may have reached the server. By default derived from the action name with
    /// [`is_read_only_action`].
    fn is_read_only(&self) -> bool {
        is_read_only_action(self.action())
    }
}

/// The default read-only rule: `get`, `list`, `count`, `search…`, `listTemplates` and
/// `serve…` actions are read-only (case-insensitively); everything else — including `add`,
/// `update`, `delete` and `session.start` — is assumed to have side effects.
///
/// ```
/// use kaltura_client::request::is_read_only_action;
///
/// assert!(is_read_only_action("list"));
/// assert!(is_read_only_action("searchEntry"));
/// assert!(!is_read_only_action("add"));
/// assert!(!is_read_only_action("start"));
/// ```
pub fn is_read_only_action(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    matches!(lower.as_str(), "get" | "list" | "count" | "listtemplates")
        || lower.starts_with("search")
        || lower.starts_with("serve")
}

/// Whether `name` is a valid service or action name (`[A-Za-z0-9_]+`), so that it cannot
/// change the request path (`../x`, `a/b`, `?q`).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks service and action names, returning [`Error::Build`] for invalid ones.
pub(crate) fn validate_names(service: &str, action: &str) -> Result<()> {
    for (what, name) in [("service", service), ("action", action)] {
        if !is_valid_name(name) {
            return Err(Error::Build {
                service: service.to_owned(),
                action: action.to_owned(),
                message: format!("invalid {what} name {name:?}: only [A-Za-z0-9_] is allowed"),
            });
        }
    }
    Ok(())
}

/// Serializes `value` into a parameter map, for requests whose parameters are a
/// `#[derive(Serialize)]` struct.
///
/// # Errors
///
/// [`Error::Build`] (naming `service` and `action`) if `value` does not serialize to a JSON
/// object.
///
/// ```
/// use kaltura_client::request::params_from;
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Get {
///     entry_id: String,
/// }
///
/// let params = params_from("media", "get", &Get { entry_id: "0_x".into() }).unwrap();
/// assert_eq!(params["entryId"], "0_x");
/// ```
pub fn params_from<T: Serialize + ?Sized>(
    service: &str,
    action: &str,
    value: &T,
) -> Result<Map<String, Value>> {
    let build = |message: String| Error::Build {
        service: service.to_owned(),
        action: action.to_owned(),
        message,
    };
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(build(format!(
            "parameters must be a JSON object, got {}",
            json_kind(&other)
        ))),
        Err(e) => Err(build(format!("could not serialize parameters: {e}"))),
    }
}

/// A short name of a JSON value's kind, for error messages ("a string", "an object", …);
/// never the value itself, which may be a secret.
///
/// ```
/// assert_eq!(kaltura_client::request::json_kind(&serde_json::json!([1])), "an array");
/// ```
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An untyped request: any service and action with JSON parameters, decoded as
/// [`serde_json::Value`].
///
/// This is what [`Client::call_raw`](crate::Client::call_raw) and
/// [`MultiRequest::add_raw`](crate::multirequest::MultiRequest::add_raw) send; use it
/// directly to send it [without the KS](RawRequest::without_ks) or to
/// [override the read-only rule](RawRequest::read_only).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRequest {
    service: String,
    action: String,
    params: Value,
    needs_ks: bool,
    read_only: Option<bool>,
}

impl RawRequest {
    /// A request for `service.action` with `params`, which must be a JSON object or `null`.
    pub fn new(service: impl Into<String>, action: impl Into<String>, params: Value) -> Self {
        RawRequest {
            service: service.into(),
            action: action.into(),
            params,
            needs_ks: true,
            read_only: None,
        }
    }

    /// Sends the call without the client's KS (for anonymous actions).
    #[must_use]
    pub fn without_ks(mut self) -> Self {
        self.needs_ks = false;
        self
    }

    /// Overrides the read-only rule ([`is_read_only_action`]) used to decide retries.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = Some(read_only);
        self
    }
}

impl KalturaRequest for RawRequest {
    type Output = Value;

    fn service(&self) -> &str {
        &self.service
    }

    fn action(&self) -> &str {
        &self.action
    }

    fn params(&self) -> Result<Map<String, Value>> {
        params_from(&self.service, &self.action, &self.params)
    }

    fn needs_ks(&self) -> bool {
        self.needs_ks
    }

    fn is_read_only(&self) -> bool {
        self.read_only
            .unwrap_or_else(|| is_read_only_action(&self.action))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_rule() {
        for action in [
            "get",
            "GET",
            "list",
            "count",
            "search",
            "searchEntry",
            "listTemplates",
            "serve",
            "serveByFlavorParamsId",
        ] {
            assert!(is_read_only_action(action), "{action}");
        }
        for action in [
            "add",
            "update",
            "delete",
            "start",
            "startWidgetSession",
            "startSession",
            "end",
            "clone",
            "updateStatus",
            "getAndDelete",
            "",
        ] {
            assert!(!is_read_only_action(action), "{action}");
        }
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_names("elasticsearch_esearch", "searchEntry").is_ok());
        for (service, action) in [
            ("../x", "get"),
            ("media", "get/../../x"),
            ("", "get"),
            ("media", ""),
            ("media", "get?x=1"),
            ("média", "get"),
        ] {
            let err = validate_names(service, action).unwrap_err();
            assert!(matches!(err, Error::Build { .. }), "{service}.{action}");
        }
    }

    #[test]
    fn raw_params_must_be_an_object() {
        let ok = RawRequest::new("media", "get", json!({"entryId": "0_x"}));
        assert_eq!(ok.params().unwrap()["entryId"], "0_x");
        assert!(
            RawRequest::new("media", "get", Value::Null)
                .params()
                .unwrap()
                .is_empty()
        );
        let err = RawRequest::new("media", "get", json!([1]))
            .params()
            .unwrap_err();
        assert!(err.to_string().contains("an array"), "{err}");
    }

    #[test]
    fn raw_without_ks() {
        assert!(RawRequest::new("session", "startWidgetSession", Value::Null).needs_ks());
        assert!(
            !RawRequest::new("session", "startWidgetSession", Value::Null)
                .without_ks()
                .needs_ks()
        );
    }

    #[test]
    fn raw_read_only_override() {
        assert!(!RawRequest::new("media", "add", Value::Null).is_read_only());
        assert!(
            RawRequest::new("media", "add", Value::Null)
                .read_only(true)
                .is_read_only()
        );
        assert!(
            !RawRequest::new("media", "list", Value::Null)
                .read_only(false)
                .is_read_only()
        );
    }
}
