//! Models of `elasticsearch_esearch.searchEntry`: the search tree (operators and items),
//! the order, and the results with their highlights.
//!
//! A search is a tree: an [`ESearchOperator`] (AND / OR / NOT) holds [`ESearchItem`]s, each
//! either another operator, a [`ESearchUnifiedItem`] (searches names, descriptions, tags,
//! captions, metadata and cue points at once) or a [`ESearchEntryItem`] (one entry field).
//! Every node is sent with its `objectType`.
//!
//! ```
//! use kaltura_client::types::esearch::{
//!     ESearchEntryFieldName, ESearchEntryItem, ESearchOperator, ESearchRange, ESearchUnifiedItem,
//! };
//!
//! // "cats" anywhere, AND (tag "funny" OR created since 2023), AND NOT named "draft".
//! let tree = ESearchOperator::and([
//!     ESearchUnifiedItem::new("cats").highlight(true).into(),
//!     ESearchOperator::or([
//!         ESearchEntryItem::new(ESearchEntryFieldName::Tags, "funny").exact().into(),
//!         ESearchEntryItem::range(
//!             ESearchEntryFieldName::CreatedAt,
//!             ESearchRange::new().greater_than_or_equal(1_672_531_200),
//!         )
//!         .into(),
//!     ])
//!     .into(),
//!     ESearchOperator::not([ESearchEntryItem::new(ESearchEntryFieldName::Name, "draft").into()])
//!         .into(),
//! ]);
//! let json = serde_json::to_value(&tree).unwrap();
//! assert_eq!(json["objectType"], "KalturaESearchEntryOperator");
//! assert_eq!(json["searchItems"][0]["objectType"], "KalturaESearchUnifiedItem");
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::common::{int_enum, setters, string_enum};
use super::media::{EntryStatus, MediaEntry};
use crate::ids::EntryId;

int_enum! {
    /// How an operator combines its items (`KalturaESearchOperatorType`).
    pub enum ESearchOperatorType {
        /// All items must match.
        And = 1,
        /// Any item must match.
        Or = 2,
        /// No item may match.
        Not = 3,
    }
}

int_enum! {
    /// How an item matches (`KalturaESearchItemType`).
    pub enum ESearchItemType {
        /// The whole value (or one tag) equals the term.
        ExactMatch = 1,
        /// The value contains the term's words.
        Partial = 2,
        /// The value starts with the term.
        StartsWith = 3,
        /// The field has a value.
        Exists = 4,
        /// The value is within [`ESearchRange`].
        Range = 5,
    }
}

string_enum! {
    /// An entry field to search (`KalturaESearchEntryFieldName`).
    pub enum ESearchEntryFieldName {
        /// The entry id.
        Id = "id",
        /// The name.
        Name = "name",
        /// The description.
        Description = "description",
        /// The tags.
        Tags = "tags",
        /// The admin tags.
        AdminTags = "admin_tags",
        /// The owner (`kuser_id`: Kaltura's user id field in eSearch).
        UserId = "kuser_id",
        /// The creator.
        CreatorId = "creator_kuser_id",
        /// The partner's reference id.
        ReferenceId = "reference_id",
        /// Creation time (unix seconds), for ranges.
        CreatedAt = "created_at",
        /// Last update (unix seconds), for ranges.
        UpdatedAt = "updated_at",
        /// Scheduling start (unix seconds).
        StartDate = "start_date",
        /// Scheduling end (unix seconds).
        EndDate = "end_date",
        /// Entry type.
        EntryType = "entry_type",
        /// Media type.
        MediaType = "media_type",
        /// Duration in milliseconds.
        LengthInMsecs = "length_in_msecs",
        /// Number of plays.
        Plays = "plays",
        /// Number of views.
        ///
        /// Newer servers only: not in the official client's `KalturaESearchEntryFieldName`;
        /// a server that lacks it answers `INVALID_ENUM_VALUE`
        /// ([`ErrorCode::InvalidEnumValue`](crate::ErrorCode::InvalidEnumValue)).
        Views = "views",
        /// Last play (unix seconds).
        LastPlayedAt = "last_played_at",
        /// Parent entry id.
        ParentEntryId = "parent_id",
        /// Root entry id.
        RootId = "root_id",
        /// Moderation status.
        ModerationStatus = "moderation_status",
        /// Source type.
        SourceType = "source_type",
    }
}

string_enum! {
    /// A field to sort eSearch results by (`KalturaESearchEntryOrderByFieldName`).
    pub enum ESearchEntryOrderByField {
        /// Creation time.
        CreatedAt = "created_at",
        /// Last update.
        UpdatedAt = "updated_at",
        /// Scheduling start.
        StartDate = "start_date",
        /// Scheduling end.
        EndDate = "end_date",
        /// Name.
        Name = "name",
        /// Number of views.
        Views = "views",
        /// Number of votes.
        Votes = "votes",
        /// Number of plays.
        Plays = "plays",
        /// Last play.
        LastPlayedAt = "last_played_at",
        /// Rank.
        Rank = "rank",
    }
}

string_enum! {
    /// Sort direction of eSearch results (`KalturaESearchSortOrder`).
    pub enum ESearchSortOrder {
        /// Ascending.
        Asc = "asc",
        /// Descending.
        Desc = "desc",
    }
}

/// Bounds of a range search (`KalturaESearchRange`); unset bounds are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchRange"
)]
#[non_exhaustive]
pub struct ESearchRange {
    /// `>=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greater_than_or_equal: Option<i64>,
    /// `<=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_than_or_equal: Option<i64>,
    /// `>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<i64>,
    /// `<`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_than: Option<i64>,
}

impl ESearchRange {
    /// An unbounded range.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ESearchRange {
    greater_than_or_equal: i64,
    less_than_or_equal: i64,
    greater_than: i64,
    less_than: i64,
});

/// A node of the search tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ESearchItem {
    /// A nested operator.
    Operator(ESearchOperator),
    /// A search over every text of an entry.
    Unified(ESearchUnifiedItem),
    /// A search over one entry field.
    Entry(ESearchEntryItem),
    /// Any other item (caption, metadata, cue point, user or category items), sent as is;
    /// it must carry its own `objectType`.
    Raw(Value),
}

impl From<ESearchOperator> for ESearchItem {
    fn from(item: ESearchOperator) -> Self {
        ESearchItem::Operator(item)
    }
}

impl From<ESearchUnifiedItem> for ESearchItem {
    fn from(item: ESearchUnifiedItem) -> Self {
        ESearchItem::Unified(item)
    }
}

impl From<ESearchEntryItem> for ESearchItem {
    fn from(item: ESearchEntryItem) -> Self {
        ESearchItem::Entry(item)
    }
}

/// An operator combining items (`KalturaESearchEntryOperator`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchEntryOperator"
)]
#[non_exhaustive]
pub struct ESearchOperator {
    /// AND, OR or NOT.
    pub operator: ESearchOperatorType,
    /// The combined items.
    pub search_items: Vec<ESearchItem>,
}

impl ESearchOperator {
    /// An operator of `operator` over `items`.
    pub fn new<I: IntoIterator<Item = ESearchItem>>(
        operator: ESearchOperatorType,
        items: I,
    ) -> Self {
        ESearchOperator {
            operator,
            search_items: items.into_iter().collect(),
        }
    }

    /// All items must match.
    pub fn and<I: IntoIterator<Item = ESearchItem>>(items: I) -> Self {
        Self::new(ESearchOperatorType::And, items)
    }

    /// Any item must match.
    pub fn or<I: IntoIterator<Item = ESearchItem>>(items: I) -> Self {
        Self::new(ESearchOperatorType::Or, items)
    }

    /// No item may match.
    pub fn not<I: IntoIterator<Item = ESearchItem>>(items: I) -> Self {
        Self::new(ESearchOperatorType::Not, items)
    }

    /// Adds an item.
    #[must_use]
    pub fn item(mut self, item: impl Into<ESearchItem>) -> Self {
        self.search_items.push(item.into());
        self
    }
}

/// Sets the item type of a search item.
macro_rules! item_type_setters {
    ($ty:ident) => {
        impl $ty {
            /// Matches the whole value (or one tag) exactly.
            #[must_use]
            pub fn exact(mut self) -> Self {
                self.item_type = ESearchItemType::ExactMatch;
                self
            }

            /// Matches values containing the term's words (the default).
            #[must_use]
            pub fn partial(mut self) -> Self {
                self.item_type = ESearchItemType::Partial;
                self
            }

            /// Matches values starting with the term.
            #[must_use]
            pub fn starts_with(mut self) -> Self {
                self.item_type = ESearchItemType::StartsWith;
                self
            }

            /// Sets the item type.
            #[must_use]
            pub fn item_type(mut self, item_type: ESearchItemType) -> Self {
                self.item_type = item_type;
                self
            }

            /// Asks for highlights of the matches (`addHighlight`).
            #[must_use]
            pub fn highlight(mut self, highlight: bool) -> Self {
                self.add_highlight = Some(highlight);
                self
            }
        }
    };
}

/// A search over every text of an entry: name, description, tags, captions, metadata and
/// cue points (`KalturaESearchUnifiedItem`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchUnifiedItem"
)]
#[non_exhaustive]
pub struct ESearchUnifiedItem {
    /// The searched term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
    /// How it matches.
    pub item_type: ESearchItemType,
    /// Bounds, for [`ESearchItemType::Range`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<ESearchRange>,
    /// Whether to return highlights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_highlight: Option<bool>,
}

impl ESearchUnifiedItem {
    /// A partial-match search for `term`.
    pub fn new(term: impl Into<String>) -> Self {
        ESearchUnifiedItem {
            search_term: Some(term.into()),
            item_type: ESearchItemType::Partial,
            range: None,
            add_highlight: None,
        }
    }
}

item_type_setters!(ESearchUnifiedItem);

/// A search over one entry field (`KalturaESearchEntryItem`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchEntryItem"
)]
#[non_exhaustive]
pub struct ESearchEntryItem {
    /// The field.
    pub field_name: ESearchEntryFieldName,
    /// The searched term (none for exists and range items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
    /// How it matches.
    pub item_type: ESearchItemType,
    /// Bounds, for [`ESearchItemType::Range`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<ESearchRange>,
    /// Whether to return highlights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_highlight: Option<bool>,
}

impl ESearchEntryItem {
    /// A partial-match search of `field` for `term`.
    pub fn new(field: ESearchEntryFieldName, term: impl Into<String>) -> Self {
        ESearchEntryItem {
            field_name: field,
            search_term: Some(term.into()),
            item_type: ESearchItemType::Partial,
            range: None,
            add_highlight: None,
        }
    }

    /// Entries where `field` has a value.
    pub fn exists(field: ESearchEntryFieldName) -> Self {
        ESearchEntryItem {
            field_name: field,
            search_term: None,
            item_type: ESearchItemType::Exists,
            range: None,
            add_highlight: None,
        }
    }

    /// Entries where `field` is within `range`.
    pub fn range(field: ESearchEntryFieldName, range: ESearchRange) -> Self {
        ESearchEntryItem {
            field_name: field,
            search_term: None,
            item_type: ESearchItemType::Range,
            range: Some(range),
            add_highlight: None,
        }
    }
}

item_type_setters!(ESearchEntryItem);

/// One sort key (`KalturaESearchEntryOrderByItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchEntryOrderByItem"
)]
#[non_exhaustive]
pub struct ESearchOrderByItem {
    /// The field.
    pub sort_field: ESearchEntryOrderByField,
    /// The direction.
    pub sort_order: ESearchSortOrder,
}

impl ESearchOrderByItem {
    /// Sort by `field` in `order`.
    pub fn new(field: ESearchEntryOrderByField, order: ESearchSortOrder) -> Self {
        ESearchOrderByItem {
            sort_field: field,
            sort_order: order,
        }
    }
}

/// The sort order of a search (`KalturaESearchOrderBy`); without one, results are ranked
/// by relevance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchOrderBy"
)]
#[non_exhaustive]
pub struct ESearchOrderBy {
    /// The sort keys, most significant first.
    pub order_items: Vec<ESearchOrderByItem>,
}

/// The parameters of `searchEntry` (`KalturaESearchEntryParams`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "objectType",
    rename = "KalturaESearchEntryParams"
)]
#[non_exhaustive]
pub struct ESearchEntryParams {
    /// The search tree.
    pub search_operator: ESearchOperator,
    /// The sort order (relevance if `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<ESearchOrderBy>,
    /// Only entries in these states (Kaltura's default is READY).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub object_statuses: Option<Vec<EntryStatus>>,
    /// Only these entries.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub object_ids: Option<Vec<EntryId>>,
    /// Whether to skip synonyms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_synonym: Option<bool>,
}

impl ESearchEntryParams {
    /// Parameters searching with `search_operator`.
    pub fn new(search_operator: ESearchOperator) -> Self {
        ESearchEntryParams {
            search_operator,
            order_by: None,
            object_statuses: None,
            object_ids: None,
            ignore_synonym: None,
        }
    }
}

impl Default for ESearchEntryParams {
    /// An empty AND (matches every entry).
    fn default() -> Self {
        Self::new(ESearchOperator::and([]))
    }
}

/// The result of `searchEntry` (`KalturaESearchEntryResponse`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ESearchEntryResponse {
    /// The results of this page.
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub objects: Vec<ESearchEntryResult>,
    /// How many entries match in total.
    #[serde(default, deserialize_with = "super::common::int_or_zero")]
    pub total_count: i64,
    /// Aggregations, if asked for (untyped).
    #[serde(default)]
    pub aggregations: Option<Value>,
}

/// One matching entry (`KalturaESearchEntryResult`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ESearchEntryResult {
    /// The entry (any `KalturaBaseEntry` subclass).
    pub object: MediaEntry,
    /// Highlighted matches per field (if asked for with `addHighlight`).
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub highlight: Vec<ESearchHighlight>,
    /// Matches inside the entry's sub-objects (captions, metadata, cue points …).
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub items_data: Vec<ESearchItemsData>,
}

/// Highlighted matches in one field (`KalturaESearchHighlight`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ESearchHighlight {
    /// The field, e.g. `name` or `tags`.
    #[serde(default)]
    pub field_name: String,
    /// The matching snippets, matches wrapped in `<em>…</em>`.
    #[serde(default, deserialize_with = "hits")]
    pub hits: Vec<String>,
}

/// Matches inside an entry's sub-objects (`KalturaESearchItemsData`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ESearchItemsData {
    /// How many sub-objects match.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub total_count: Option<i64>,
    /// The matching sub-objects (untyped: captions, metadata, cue points …).
    #[serde(default, deserialize_with = "super::common::vec_or_null")]
    pub items: Vec<Value>,
    /// Their kind, e.g. `caption`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub items_type: Option<String>,
}

/// Highlight hits: `KalturaString` objects (`{"value": …}`) or plain strings.
fn hits<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values: Option<Vec<Value>> = Option::deserialize(d)?;
    Ok(values
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            Value::Object(mut o) => match o.remove("value") {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_serializes_with_object_types() {
        let params = ESearchEntryParams::new(ESearchOperator::and([
            ESearchUnifiedItem::new("cats").into(),
            ESearchEntryItem::exists(ESearchEntryFieldName::ReferenceId).into(),
            ESearchItem::Raw(serde_json::json!({"objectType": "KalturaESearchCaptionItem"})),
        ]));
        assert_eq!(
            serde_json::to_value(&params).unwrap(),
            serde_json::json!({
                "objectType": "KalturaESearchEntryParams",
                "searchOperator": {
                    "objectType": "KalturaESearchEntryOperator",
                    "operator": 1,
                    "searchItems": [
                        {"objectType": "KalturaESearchUnifiedItem", "searchTerm": "cats", "itemType": 2},
                        {"objectType": "KalturaESearchEntryItem", "fieldName": "reference_id", "itemType": 4},
                        {"objectType": "KalturaESearchCaptionItem"},
                    ],
                },
            })
        );
    }

    #[test]
    fn response_decodes_hits_in_both_forms() {
        let r: ESearchEntryResponse = serde_json::from_str(
            r#"{"totalCount":"1","objects":[{"object":{"id":"0_a","objectType":"KalturaMediaEntry"},
                "highlight":[{"fieldName":"name","hits":[{"value":"<em>cats</em>","objectType":"KalturaString"},"x"]}],
                "itemsData":[{"totalCount":1,"items":[{"line":"meow"}],"itemsType":"caption"}],
                "objectType":"KalturaESearchEntryResult"}],"objectType":"KalturaESearchEntryResponse"}"#,
        )
        .unwrap();
        assert_eq!(r.total_count, 1);
        assert_eq!(r.objects[0].highlight[0].hits, ["<em>cats</em>", "x"]);
        assert_eq!(
            r.objects[0].items_data[0].items_type.as_deref(),
            Some("caption")
        );
    }
}
