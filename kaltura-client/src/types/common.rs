//! Building blocks shared by the typed services: list results ([`ListResponse`]), the list
//! pager ([`Pager`]), and the helpers that give every Kaltura enum an `Unknown` fallback and
//! send every object with its `objectType`.
//!
//! Kaltura adds enum values over time and sends enums sometimes as numbers, sometimes as
//! strings (`"status":2` next to `"sourceType":"1"`), so every enum of this crate
//!
//! * deserializes from a number or a string,
//! * keeps values it does not know in an `Unknown(…)` variant instead of failing,
//! * serializes the way the official clients send it (integer enums as numbers, Kaltura's
//!   string ("dynamic") enums as strings).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The largest page Kaltura returns (`KalturaFilterPager.pageSize` is capped at 500).
pub const MAX_PAGE_SIZE: u32 = 500;

/// Kaltura's default page size (30).
pub const DEFAULT_PAGE_SIZE: u32 = 30;

/// Declares a Kaltura integer enum: known variants with their values plus `Unknown(i64)`.
/// Serializes as a number, deserializes from a number or a numeric string.
macro_rules! int_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know (yet), kept as sent.
            Unknown(i64),
        }

        impl $name {
            /// The wire value.
            pub const fn as_i64(self) -> i64 {
                match self {
                    $( $name::$variant => $value, )*
                    $name::Unknown(v) => v,
                }
            }

            /// The variant of a wire value (`Unknown` if not known).
            pub const fn from_i64(value: i64) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self::from_i64(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.as_i64()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.as_i64(), f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.as_i64())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::ids::int_or_string(d).map(Self::from_i64)
            }
        }
    };
}
pub(crate) use int_enum;

/// Declares a Kaltura string enum: known variants with their values plus `Unknown(String)`.
/// Serializes as a string, deserializes from a string or a number (kept as its decimal text).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know (yet), kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $value, )*
                    $name::Unknown(v) => v.as_str(),
                }
            }

            /// The variant of a wire value (`Unknown` if not known). Never fails.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::from_wire(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::ids::string_or_number(d).map(|s| Self::from_wire(&s))
            }
        }
    };
}
pub(crate) use string_enum;

/// Chainable setters for the `Option` fields of a parameter struct:
/// `name: Type` takes `impl Into<Type>`, `name: [Type]` takes any iterator of `impl Into<Type>`.
macro_rules! setters {
    ($ty:ident { $($rest:tt)* }) => {
        impl $ty {
            crate::types::common::setters!(@munch $($rest)*);
        }
    };
    (@munch) => {};
    (@munch $field:ident : [$item:ty] $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        #[must_use]
        pub fn $field<I, V>(mut self, values: I) -> Self
        where
            I: IntoIterator<Item = V>,
            V: Into<$item>,
        {
            self.$field = Some(values.into_iter().map(Into::into).collect());
            self
        }
        crate::types::common::setters!(@munch $($($rest)*)?);
    };
    (@munch $field:ident : $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        #[must_use]
        pub fn $field(mut self, value: impl Into<$t>) -> Self {
            self.$field = Some(value.into());
            self
        }
        crate::types::common::setters!(@munch $($($rest)*)?);
    };
}
pub(crate) use setters;

int_enum! {
    /// Kaltura's three-valued boolean for filters (`KalturaNullableBoolean`), sent as an
    /// integer, not as a JSON boolean. Build it from a `bool` with `From`.
    pub enum NullableBoolean {
        /// No condition (`-1`, `NULL_VALUE`).
        Null = -1,
        /// False (`0`).
        False = 0,
        /// True (`1`).
        True = 1,
    }
}

impl From<bool> for NullableBoolean {
    fn from(value: bool) -> Self {
        if value {
            NullableBoolean::True
        } else {
            NullableBoolean::False
        }
    }
}

impl NullableBoolean {
    /// The boolean, or `None` for [`NullableBoolean::Null`] and unknown values.
    pub const fn as_bool(self) -> Option<bool> {
        match self {
            NullableBoolean::True => Some(true),
            NullableBoolean::False => Some(false),
            NullableBoolean::Null | NullableBoolean::Unknown(_) => None,
        }
    }
}

/// A point in time as Kaltura sends it: whole seconds since the unix epoch (`createdAt`,
/// `startDate`, …). Serializes as the integer; deserializes from a number or a numeric
/// string.
///
/// In requests, Kaltura reads values below ten years (315 360 000) as relative to the
/// server's "now" (`-3600` is an hour ago); this type keeps whatever is given.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use kaltura_client::types::UnixTime;
///
/// let t = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000");
/// let system = t.to_system_time().unwrap();
/// assert_eq!(system, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// assert_eq!(UnixTime::from(system), t);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The given number of seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// The current time of this machine (whole seconds).
    pub fn now() -> Self {
        Self::from(std::time::SystemTime::now())
    }

    /// As a [`SystemTime`](std::time::SystemTime); `None` if the platform cannot represent it.
    pub fn to_system_time(self) -> Option<std::time::SystemTime> {
        let offset = std::time::Duration::from_secs(self.0.unsigned_abs());
        if self.0 >= 0 {
            std::time::UNIX_EPOCH.checked_add(offset)
        } else {
            std::time::UNIX_EPOCH.checked_sub(offset)
        }
    }
}

impl From<i64> for UnixTime {
    fn from(secs: i64) -> Self {
        UnixTime(secs)
    }
}

impl From<UnixTime> for i64 {
    fn from(t: UnixTime) -> i64 {
        t.0
    }
}

impl From<std::time::SystemTime> for UnixTime {
    /// Whole seconds, rounded towards the epoch; saturates far outside `i64` seconds.
    fn from(t: std::time::SystemTime) -> Self {
        let saturate = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX);
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => UnixTime(saturate(after.as_secs())),
            Err(before) => UnixTime(-saturate(before.duration().as_secs())),
        }
    }
}

impl std::fmt::Display for UnixTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for UnixTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for UnixTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::ids::int_or_string(d).map(UnixTime)
    }
}

/// A page of a `list` action (`Kaltura…ListResponse`): the objects of this page and the
/// number of objects matching the filter on all pages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
#[non_exhaustive]
pub struct ListResponse<T> {
    /// The objects of this page (empty past the last page). Required, so that a response
    /// that is not a list fails to decode instead of looking like an empty page; `null` is
    /// an empty page.
    #[serde(deserialize_with = "vec_or_null")]
    pub objects: Vec<T>,
    /// How many objects match the filter in total (0 if the server did not say).
    #[serde(default, deserialize_with = "int_or_zero")]
    pub total_count: i64,
}

impl<T> ListResponse<T> {
    /// A list response (for tests and fakes).
    pub fn new(objects: Vec<T>, total_count: i64) -> Self {
        ListResponse {
            objects,
            total_count,
        }
    }
}

impl<T> IntoIterator for ListResponse<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.objects.into_iter()
    }
}

/// Which page of a list to return (`KalturaFilterPager`, or `KalturaPager` for eSearch).
///
/// Pages are 1-based; the page size is kept within `1..=`[`MAX_PAGE_SIZE`], because Kaltura
/// silently caps larger sizes (which would make a paginator think a full page was the last).
///
/// ```
/// use kaltura_client::types::Pager;
///
/// let pager = Pager::new(1000).page(3);
/// assert_eq!(pager.page_size(), 500);
/// assert_eq!(pager.page_index(), 3);
/// assert_eq!(Pager::default().page_size(), 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pager {
    page_size: u32,
    page_index: u32,
}

impl Default for Pager {
    fn default() -> Self {
        Pager {
            page_size: DEFAULT_PAGE_SIZE,
            page_index: 1,
        }
    }
}

impl Pager {
    /// The first page of `page_size` objects (clamped to `1..=500`).
    pub fn new(page_size: u32) -> Self {
        Pager {
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            page_index: 1,
        }
    }

    /// The same page size, page `index` (1-based; 0 becomes 1).
    #[must_use]
    pub fn page(mut self, index: u32) -> Self {
        self.page_index = index.max(1);
        self
    }

    /// The page size.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The page index (1-based).
    pub fn page_index(&self) -> u32 {
        self.page_index
    }
}

/// Kaltura's sort direction prefix for `orderBy` strings (`+name`, `-createdAt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// Ascending (`+`).
    Asc,
    /// Descending (`-`).
    Desc,
}

/// A `{key, value}` pair (`KalturaKeyValue`), e.g. a custom HTTP header of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaKeyValue"
)]
#[non_exhaustive]
pub struct KeyValue {
    /// The key.
    #[serde(default, deserialize_with = "crate::types::de::opt_string")]
    pub key: Option<String>,
    /// The value.
    #[serde(default, deserialize_with = "crate::types::de::opt_string")]
    pub value: Option<String>,
}

impl KeyValue {
    /// A key-value pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue {
            key: Some(key.into()),
            value: Some(value.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for the request structs.

/// Serializes an optional list as Kaltura's comma-separated string (`"0_a,0_b"`).
pub(crate) fn csv<T: fmt::Display, S: Serializer>(
    value: &Option<Vec<T>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(items) => {
            let joined = items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            s.serialize_str(&joined)
        }
        None => s.serialize_none(),
    }
}

// ---------------------------------------------------------------------------------------
// Tolerant deserializers (in addition to `crate::types::de`).

/// A list that may be absent or `null`.
pub(crate) fn vec_or_null<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// An integer as number or string; `null` is 0.
pub(crate) fn int_or_zero<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    Ok(crate::types::de::opt_int(d)?.unwrap_or_default())
}

/// An optional float sent as a number or a numeric string.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<f64>, D::Error> {
    use serde::de::Error as _;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected a number, got {s:?}"))),
        Some(other) => Err(D::Error::custom(format!(
            "expected a number, got {}",
            crate::request::json_kind(&other)
        ))),
    }
}

/// An optional boolean sent as `true`/`false`, `1`/`0` or their strings (XML-ish clients).
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<bool>, D::Error> {
    use serde::de::Error as _;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::Number(n)) => Ok(Some(n.as_f64().is_some_and(|f| f != 0.0))),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" => Ok(Some(true)),
            "0" | "false" => Ok(Some(false)),
            other => Err(D::Error::custom(format!(
                "expected a boolean, got {other:?}"
            ))),
        },
        Some(other) => Err(D::Error::custom(format!(
            "expected a boolean, got {}",
            crate::request::json_kind(&other)
        ))),
    }
}

#[cfg(test)]
#[allow(unreachable_pub)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::error::Result;

    #[test]
    fn unix_time_round_trips_through_json_and_system_time() {
        let t: UnixTime = serde_json::from_str("\"1700000000\"").unwrap();
        assert_eq!(t, UnixTime::from_secs(1_700_000_000));
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000");
        let before = UnixTime::from_secs(-90);
        assert_eq!(UnixTime::from(before.to_system_time().unwrap()), before);
        assert_eq!(t.to_string(), "1700000000");
        let none: Option<UnixTime> = serde_json::from_str("null").unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn nullable_boolean_is_an_integer_on_the_wire() {
        let wire = |b: NullableBoolean| serde_json::to_string(&b).unwrap();
        assert_eq!(wire(true.into()), "1");
        assert_eq!(wire(false.into()), "0");
        assert_eq!(wire(NullableBoolean::Null), "-1");
        let back: NullableBoolean = serde_json::from_str("\"1\"").unwrap();
        assert_eq!(back.as_bool(), Some(true));
        assert_eq!(NullableBoolean::Null.as_bool(), None);
    }

    int_enum! {
        /// Test enum.
        pub enum Colour {
            /// Red.
            Red = 1,
            /// Minus.
            Minus = -2,
        }
    }

    string_enum! {
        /// Test string enum.
        pub enum Kind {
            /// One.
            One = "1",
            /// Plugin.
            Plugin = "plugin.Thing",
        }
    }

    #[test]
    fn int_enum_is_tolerant() {
        assert_eq!(serde_json::from_str::<Colour>("1").unwrap(), Colour::Red);
        assert_eq!(
            serde_json::from_str::<Colour>("\"-2\"").unwrap(),
            Colour::Minus
        );
        assert_eq!(
            serde_json::from_str::<Colour>("77").unwrap(),
            Colour::Unknown(77)
        );
        assert_eq!(Colour::from_i64(1), Colour::Red);
        assert_eq!(serde_json::to_string(&Colour::Unknown(9)).unwrap(), "9");
        assert!(serde_json::from_str::<Colour>("\"red\"").is_err());
    }

    #[test]
    fn string_enum_is_tolerant() {
        assert_eq!(serde_json::from_str::<Kind>("1").unwrap(), Kind::One);
        assert_eq!(serde_json::from_str::<Kind>("\"1\"").unwrap(), Kind::One);
        assert_eq!(
            serde_json::from_str::<Kind>("\"x.Y\"").unwrap(),
            Kind::Unknown("x.Y".into())
        );
        assert_eq!(
            serde_json::to_string(&Kind::Plugin).unwrap(),
            "\"plugin.Thing\""
        );
    }

    #[test]
    fn list_response_tolerates_null_and_string_fields() {
        let r: ListResponse<i64> =
            serde_json::from_str(r#"{"objects":[1,2],"totalCount":"7","objectType":"X"}"#).unwrap();
        assert_eq!(r.objects, vec![1, 2]);
        assert_eq!(r.total_count, 7);
        let empty: ListResponse<i64> =
            serde_json::from_str(r#"{"objects":null,"totalCount":0,"objectType":"X"}"#).unwrap();
        assert!(empty.objects.is_empty());
        let no_total: ListResponse<i64> = serde_json::from_str(r#"{"objects":[]}"#).unwrap();
        assert_eq!(no_total.total_count, 0);
        assert!(serde_json::from_str::<ListResponse<i64>>(r#"{"id":"0_x"}"#).is_err());
    }

    #[test]
    fn pager_is_clamped() {
        assert_eq!(Pager::new(0).page_size(), 1);
        assert_eq!(Pager::new(9999).page_size(), MAX_PAGE_SIZE);
        assert_eq!(Pager::new(5).page(0).page_index(), 1);
    }

    #[test]
    fn tolerant_scalars() {
        #[derive(Deserialize)]
        struct S {
            #[serde(default, deserialize_with = "opt_f64")]
            f: Option<f64>,
            #[serde(default, deserialize_with = "opt_bool")]
            b: Option<bool>,
        }
        let s: S = serde_json::from_str(r#"{"f":"1.5","b":"1"}"#).unwrap();
        assert_eq!((s.f, s.b), (Some(1.5), Some(true)));
        let s: S = serde_json::from_str(r#"{"f":2,"b":false}"#).unwrap();
        assert_eq!((s.f, s.b), (Some(2.0), Some(false)));
        let s: S = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!((s.f, s.b), (None, None));
    }
}
