//! Multirequests: several calls in one round trip.
//!
//! [`Client::multirequest`](crate::Client::multirequest) returns a [`MultiRequest`]; each
//! [`MultiRequest::add`] returns a typed [`Handle`] to its result. Later calls can use earlier
//! results through back-references — strings such as `{1:result:objects:0:id}` that Kaltura
//! replaces before executing the call — built with [`Handle::result`] and [`Handle::field`].
//!
//! On the wire: `POST {service_url}/api_v3/service/multirequest` with
//! `{"format":1,"ks":…,"clientTag":…,"apiVersion":…,"0":{"service":…,"action":…,…params},"1":{…}}`
//! (keys from `"0"`, as both official clients send them). Kaltura answers a JSON array with
//! one element per call, each either its result or an inline `KalturaAPIException`.
//!
//! Errors come in two layers: [`MultiRequest::send`] fails as a whole (transport, HTTP, a
//! top-level API error, a response that is not an array of the right length), while
//! [`MultiResponse::get`] returns each call's own result or error. A multirequest is only
//! retried if every call in it is read-only.
//!
//! ```no_run
//! use serde_json::json;
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! let mut batch = client.multirequest();
//! let list = batch.add_raw("media", "list", json!({ "pager": { "pageSize": 1 } }));
//! // The id of the first entry of the list, resolved by Kaltura.
//! let entry = batch.add_raw("media", "get", json!({ "entryId": list.field("objects:0:id") }));
//! let response = batch.send().await?;
//!
//! let first = response.get(&list)?;
//! match response.get(&entry) {
//!     Ok(entry) => assert!(entry.get("id").is_some()),
//!     Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::EntryIdNotFound) => { /* the list was empty */ }
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::{Call, Client, api_error, decode_value, snippet};
use crate::error::{Error, Result};
use crate::request::{KalturaRequest, RawRequest, json_kind, validate_names};

/// One call inside a multirequest.
struct Item {
    service: String,
    action: String,
    params: Map<String, Value>,
    needs_ks: bool,
    read_only: bool,
}

/// A multirequest being assembled; see the [module docs](self).
#[must_use]
pub struct MultiRequest {
    client: Client,
    items: Vec<Item>,
    /// The first error met while adding calls, reported by [`MultiRequest::send`].
    build_error: Option<Error>,
}

impl fmt::Debug for MultiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let calls: Vec<String> = self
            .items
            .iter()
            .map(|i| format!("{}.{}", i.service, i.action))
            .collect();
        f.debug_struct("MultiRequest")
            .field("calls", &calls)
            .field("build_error", &self.build_error)
            .finish_non_exhaustive()
    }
}

impl MultiRequest {
    pub(crate) fn new(client: Client) -> Self {
        MultiRequest {
            client,
            items: Vec::new(),
            build_error: None,
        }
    }

    /// Adds a call; its result will be decoded as `R::Output`.
    ///
    /// A call that cannot be built (invalid name, parameters that are not an object) makes
    /// [`MultiRequest::send`] fail with that [`Error::Build`].
    pub fn add<R: KalturaRequest>(&mut self, request: R) -> Handle<R::Output> {
        let index = self.items.len();
        let service = request.service().to_owned();
        let action = request.action().to_owned();
        let params = validate_names(&service, &action).and_then(|()| request.params());
        let params = match params {
            Ok(params) => params,
            Err(error) => {
                self.build_error.get_or_insert(error);
                Map::new()
            }
        };
        self.items.push(Item {
            needs_ks: request.needs_ks(),
            read_only: request.is_read_only(),
            service,
            action,
            params,
        });
        Handle {
            index,
            _output: PhantomData,
        }
    }

    /// Adds an untyped call (see [`Client::call_raw`]).
    pub fn add_raw(&mut self, service: &str, action: &str, params: Value) -> Handle<Value> {
        self.add(RawRequest::new(service, action, params))
    }

    /// The number of calls added.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no call was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether every call is read-only, which makes the whole multirequest retryable.
    pub fn is_read_only(&self) -> bool {
        self.items.iter().all(|i| i.read_only)
    }

    /// The request parameters: one object per call under `"0"`, `"1"`, … (without the
    /// common parameters, which the client adds).
    fn params(&self) -> Map<String, Value> {
        self.items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut call = Map::new();
                call.insert("service".into(), Value::String(item.service.clone()));
                call.insert("action".into(), Value::String(item.action.clone()));
                for (key, value) in &item.params {
                    call.entry(key.clone()).or_insert_with(|| value.clone());
                }
                (index.to_string(), Value::Object(call))
            })
            .collect()
    }

    /// Sends all calls in one request.
    ///
    /// # Errors
    ///
    /// [`Error::Build`] if no call was added or one could not be built; the errors of
    /// [`Client::send`] for the request as a whole; [`Error::Api`] if Kaltura refused the
    /// whole multirequest; [`Error::Decode`] if the response is not an array with one
    /// element per call. Errors of single calls are returned by [`MultiResponse::get`].
    pub async fn send(self) -> Result<MultiResponse> {
        if let Some(error) = self.build_error {
            return Err(error);
        }
        if self.items.is_empty() {
            return Err(Error::Build {
                service: "multirequest".into(),
                action: String::new(),
                message: "the multirequest has no calls".into(),
            });
        }
        let call = Call {
            service: "multirequest".into(),
            action: String::new(),
            path: "/api_v3/service/multirequest".into(),
            params: self.params(),
            needs_ks: self.items.iter().any(|i| i.needs_ks),
            read_only: self.is_read_only(),
            multi: Some(self.items.len()),
        };
        let value = self.client.execute(&call).await?;
        let results = match value {
            Value::Array(results) if results.len() == self.items.len() => results,
            other => {
                let found = match &other {
                    Value::Array(results) => format!("{} results", results.len()),
                    other => json_kind(other).to_owned(),
                };
                return Err(Error::Decode {
                    service: "multirequest".into(),
                    action: String::new(),
                    path: ".".into(),
                    message: format!(
                        "expected an array of {} results, got {found}",
                        self.items.len()
                    ),
                    body_snippet: snippet(other.to_string().as_bytes(), &[]),
                });
            }
        };
        let calls = self
            .items
            .into_iter()
            .map(|i| (i.service, i.action))
            .collect();
        Ok(MultiResponse { results, calls })
    }
}

/// A typed reference to one call of a [`MultiRequest`], to fetch its result from the
/// [`MultiResponse`] or to refer to it from later calls.
pub struct Handle<T> {
    index: usize,
    _output: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// The 0-based index of the call (its key in the request body).
    pub fn index(&self) -> usize {
        self.index
    }

    /// A back-reference to the whole result of this call, `{N:result}`, where `N` is the
    /// call's 1-based position as Kaltura expects.
    ///
    /// ```
    /// # let client = kaltura_client::Client::builder().build().unwrap();
    /// let mut batch = client.multirequest();
    /// let first = batch.add_raw("session", "get", serde_json::Value::Null);
    /// assert_eq!(first.result(), "{1:result}");
    /// ```
    pub fn result(&self) -> String {
        format!("{{{}:result}}", self.index + 1)
    }

    /// A back-reference to a field of this call's result, `{N:result:path}`, with `path`
    /// in Kaltura's `:`-separated form, e.g. `objects:0:id`.
    ///
    /// ```
    /// # let client = kaltura_client::Client::builder().build().unwrap();
    /// let mut batch = client.multirequest();
    /// let _ = batch.add_raw("session", "get", serde_json::Value::Null);
    /// let list = batch.add_raw("media", "list", serde_json::Value::Null);
    /// assert_eq!(list.field("objects:0:id"), "{2:result:objects:0:id}");
    /// ```
    pub fn field(&self, path: &str) -> String {
        format!("{{{}:result:{}}}", self.index + 1, path.trim_matches(':'))
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Handle<T> {}

impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("index", &self.index)
            .field("output", &std::any::type_name::<T>())
            .finish()
    }
}

/// The results of a [`MultiRequest`], one per call.
#[derive(Debug, Clone)]
pub struct MultiResponse {
    results: Vec<Value>,
    calls: Vec<(String, String)>,
}

impl MultiResponse {
    /// The result of the call behind `handle`, decoded.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] if Kaltura answered this call with an error; [`Error::Decode`] if its
    /// result does not match `T` (or `handle` belongs to another, larger multirequest).
    pub fn get<T: DeserializeOwned>(&self, handle: &Handle<T>) -> Result<T> {
        let (service, action) = self
            .calls
            .get(handle.index)
            .map_or(("multirequest", ""), |(s, a)| (s.as_str(), a.as_str()));
        let Some(value) = self.results.get(handle.index) else {
            return Err(Error::Decode {
                service: service.to_owned(),
                action: action.to_owned(),
                path: ".".into(),
                message: format!(
                    "no result at index {} in a multirequest of {}",
                    handle.index,
                    self.results.len()
                ),
                body_snippet: Default::default(),
            });
        };
        if let Some(api) = api_error(value, &[]) {
            return Err(api
                .in_call(service, action)
                .at_item(handle.index + 1)
                .into());
        }
        decode_value(service, action, value)
    }

    /// The raw JSON result of the call at `index` (an inline `KalturaAPIException` object
    /// for a failed call).
    pub fn raw(&self, index: usize) -> Option<&Value> {
        self.results.get(index)
    }

    /// The number of results.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether there are no results.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}
