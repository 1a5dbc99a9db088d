//! Models of the `category` service: categories (`KalturaCategory`) and the list filter used
//! for lookups and autocomplete.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{UnixTime, int_enum, setters, string_enum};
use crate::ids::{CategoryId, PartnerId};

int_enum! {
    /// State of a category (`KalturaCategoryStatus`).
    pub enum CategoryStatus {
        /// Being changed.
        Updating = 1,
        /// Active.
        Active = 2,
        /// Deleted.
        Deleted = 3,
        /// Purged.
        Purged = 4,
    }
}

int_enum! {
    /// Who may see a category's entries (`KalturaPrivacyType`).
    pub enum PrivacyType {
        /// Everyone.
        All = 1,
        /// Authenticated users.
        AuthenticatedUsers = 2,
        /// Members only.
        MembersOnly = 3,
    }
}

string_enum! {
    /// Sort order of category lists (`KalturaCategoryOrderBy`).
    pub enum CategoryOrderBy {
        /// By name, A→Z.
        NameAsc = "+name",
        /// By name, Z→A.
        NameDesc = "-name",
        /// By full name, A→Z.
        FullNameAsc = "+fullName",
        /// By full name, Z→A.
        FullNameDesc = "-fullName",
        /// Shallowest first.
        DepthAsc = "+depth",
        /// Deepest first.
        DepthDesc = "-depth",
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// Fewest entries first.
        EntriesCountAsc = "+entriesCount",
        /// Most entries first.
        EntriesCountDesc = "-entriesCount",
        /// Partner's sort value, ascending.
        PartnerSortValueAsc = "+partnerSortValue",
        /// Partner's sort value, descending.
        PartnerSortValueDesc = "-partnerSortValue",
    }
}

/// A category (`KalturaCategory`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Category {
    /// The id.
    pub id: CategoryId,
    /// The parent category (0 for a root category).
    #[serde(default)]
    pub parent_id: Option<CategoryId>,
    /// Depth in the tree (0 for a root category).
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub depth: Option<i64>,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// The name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub name: Option<String>,
    /// The full path of names, `Parent>Child`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub full_name: Option<String>,
    /// The full path of ids, `1>2`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub full_ids: Option<String>,
    /// Entries in the category and its sub-categories.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub entries_count: Option<i64>,
    /// Entries directly in the category.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub direct_entries_count: Option<i64>,
    /// Direct sub-categories.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub direct_sub_categories_count: Option<i64>,
    /// Members.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub members_count: Option<i64>,
    /// Description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub tags: Option<String>,
    /// The partner's own reference id.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub reference_id: Option<String>,
    /// Privacy.
    #[serde(default)]
    pub privacy: Option<PrivacyType>,
    /// Privacy context (entitlements).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub privacy_context: Option<String>,
    /// State.
    #[serde(default)]
    pub status: Option<CategoryStatus>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// Properties this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Filter of `category.list` (`KalturaCategoryFilter`); every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CategoryFilter {
    /// Only this category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_equal: Option<CategoryId>,
    /// Only these categories.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub id_in: Option<Vec<CategoryId>>,
    /// Children of this category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id_equal: Option<CategoryId>,
    /// Children of these categories.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub parent_id_in: Option<Vec<CategoryId>>,
    /// At this depth (0 = root categories).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_equal: Option<i64>,
    /// Full name equals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name_equal: Option<String>,
    /// Full name starts with (sub-trees, autocomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name_starts_with: Option<String>,
    /// Name or reference id starts with (autocomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_or_reference_id_starts_with: Option<String>,
    /// With this reference id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id_equal: Option<String>,
    /// Descendants of any of these categories.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub ancestor_id_in: Option<Vec<CategoryId>>,
    /// Free-text search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_text: Option<String>,
    /// Tags contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_like: Option<String>,
    /// In this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_equal: Option<CategoryStatus>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<CategoryOrderBy>,
}

impl CategoryFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(CategoryFilter {
    id_equal: CategoryId,
    id_in: [CategoryId],
    parent_id_equal: CategoryId,
    parent_id_in: [CategoryId],
    depth_equal: i64,
    full_name_equal: String,
    full_name_starts_with: String,
    name_or_reference_id_starts_with: String,
    reference_id_equal: String,
    ancestor_id_in: [CategoryId],
    free_text: String,
    tags_like: String,
    status_equal: CategoryStatus,
    order_by: CategoryOrderBy,
});
