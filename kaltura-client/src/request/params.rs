//! The parameter map of a typed request ([`Params`]) and the [`kaltura_request!`] macro that
//! implements [`KalturaRequest`](crate::KalturaRequest) for a request struct with it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::types::Pager;

/// Collects the parameters of one action, adding `objectType` to objects and naming the
/// action in serialization errors.
#[derive(Debug)]
pub(crate) struct Params {
    service: &'static str,
    action: &'static str,
    map: Map<String, Value>,
}

impl Params {
    pub(crate) fn new(service: &'static str, action: &'static str) -> Self {
        Params {
            service,
            action,
            map: Map::new(),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Build {
            service: self.service.to_owned(),
            action: self.action.to_owned(),
            message,
        }
    }

    fn to_value<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<Value> {
        serde_json::to_value(value)
            .map_err(|e| self.error(format!("could not serialize {key}: {e}")))
    }

    /// A scalar (or an already typed object).
    pub(crate) fn value<T: Serialize + ?Sized>(mut self, key: &str, value: &T) -> Result<Self> {
        let v = self.to_value(key, value)?;
        self.map.insert(key.to_owned(), v);
        Ok(self)
    }

    /// An optional scalar, left out when `None`.
    pub(crate) fn opt_value<T: Serialize>(self, key: &str, value: Option<&T>) -> Result<Self> {
        match value {
            Some(v) => self.value(key, v),
            None => Ok(self),
        }
    }

    /// An object sent as `{…fields, "objectType": object_type}`.
    pub(crate) fn object<T: Serialize + ?Sized>(
        mut self,
        key: &str,
        object_type: &str,
        value: &T,
    ) -> Result<Self> {
        let mut v = self.to_value(key, value)?;
        match &mut v {
            Value::Object(map) => {
                map.insert("objectType".into(), Value::String(object_type.to_owned()));
            }
            Value::Null => {
                let mut map = Map::new();
                map.insert("objectType".into(), Value::String(object_type.to_owned()));
                v = Value::Object(map);
            }
            other => {
                let kind = super::json_kind(other);
                return Err(self.error(format!("{key} must be an object, got {kind}")));
            }
        }
        self.map.insert(key.to_owned(), v);
        Ok(self)
    }

    /// An optional object, left out when `None`.
    pub(crate) fn opt_object<T: Serialize>(
        self,
        key: &str,
        object_type: &str,
        value: Option<&T>,
    ) -> Result<Self> {
        match value {
            Some(v) => self.object(key, object_type, v),
            None => Ok(self),
        }
    }

    /// An optional pager, as `KalturaFilterPager`.
    pub(crate) fn filter_pager(self, pager: Option<&Pager>) -> Result<Self> {
        self.opt_object("pager", "KalturaFilterPager", pager)
    }

    pub(crate) fn build(self) -> Map<String, Value> {
        self.map
    }
}

/// Implements [`KalturaRequest`](crate::KalturaRequest) for a request struct:
/// `kaltura_request!(Type, SERVICE, "action" => Output, |self, params| params.value(…)?)`.
macro_rules! kaltura_request {
    ($ty:ty, $service:expr, $action:literal => $output:ty, |$this:ident, $p:ident| $body:expr) => {
        impl crate::request::KalturaRequest for $ty {
            type Output = $output;

            fn service(&self) -> &str {
                $service
            }

            fn action(&self) -> &str {
                $action
            }

            fn params(&self) -> crate::error::Result<serde_json::Map<String, serde_json::Value>> {
                let $this = self;
                let $p = crate::request::Params::new($service, $action);
                Ok(($body).build())
            }
        }
    };
}
pub(crate) use kaltura_request;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn params_add_object_type() {
        let params = Params::new("media", "list")
            .filter_pager(Some(&Pager::new(5)))
            .unwrap()
            .object("filter", "KalturaMediaEntryFilter", &Map::new())
            .unwrap()
            .build();
        assert_eq!(
            Value::Object(params),
            serde_json::json!({
                "pager": {"pageSize": 5, "pageIndex": 1, "objectType": "KalturaFilterPager"},
                "filter": {"objectType": "KalturaMediaEntryFilter"},
            })
        );
        let err = Params::new("media", "list")
            .object("x", "T", &5)
            .unwrap_err();
        assert!(matches!(err, Error::Build { .. }));
    }
}
