//! Models of the `user` service: Kaltura users (`KalturaUser`), their enums, the list filter
//! and the writable fields of `add`/`update`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{NullableBoolean, UnixTime, int_enum, setters, string_enum};
use crate::ids::{PartnerId, UserId};

int_enum! {
    /// State of a user (`KalturaUserStatus`).
    pub enum UserStatus {
        /// Blocked.
        Blocked = 0,
        /// Active.
        Active = 1,
        /// Deleted.
        Deleted = 2,
    }
}

int_enum! {
    /// Kind of user (`KalturaUserType`).
    pub enum UserType {
        /// A person.
        User = 0,
        /// A group of users.
        Group = 1,
    }
}

string_enum! {
    /// Sort order of user lists (`KalturaUserOrderBy`).
    pub enum UserOrderBy {
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first.
        CreatedAtDesc = "-createdAt",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
        /// By id, ascending.
        IdAsc = "+id",
        /// By id, descending.
        IdDesc = "-id",
    }
}

/// A Kaltura user (`KalturaUser`). Map external users by a stable [`UserId`] such as
/// `discord_42`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The partner's own id of the user.
    pub id: UserId,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// Person or group (`type` on the wire).
    #[serde(default, rename = "type")]
    pub user_type: Option<UserType>,
    /// Display name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub screen_name: Option<String>,
    /// Full name (first + last).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub full_name: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub email: Option<String>,
    /// Picture URL.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub thumbnail_url: Option<String>,
    /// Description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub tags: Option<String>,
    /// Comma-separated admin tags.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub admin_tags: Option<String>,
    /// Free data of the partner.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub partner_data: Option<String>,
    /// State.
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// Whether the user may use the admin console.
    #[serde(default, deserialize_with = "super::common::opt_bool")]
    pub is_admin: Option<bool>,
    /// Whether the user may log in.
    #[serde(default, deserialize_with = "super::common::opt_bool")]
    pub login_enabled: Option<bool>,
    /// Comma-separated role ids.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub role_ids: Option<String>,
    /// Comma-separated role names.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub role_names: Option<String>,
    /// Whether this is the partner's account owner.
    #[serde(default, deserialize_with = "super::common::opt_bool")]
    pub is_account_owner: Option<bool>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// Last login (unix seconds).
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub last_login_time: Option<i64>,
    /// External id (insert-only alternative to `id`).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub external_id: Option<String>,
    /// The Kaltura class of the object.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub object_type: Option<String>,
    /// Properties this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The writable properties of a user, for `user.add` and `user.update` (sent as
/// `KalturaUser`). Only the fields that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserInput {
    /// The id (`add` only; must match Kaltura's id pattern, e.g. `discord_42`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<UserId>,
    /// Person or group (`add` only).
    #[serde(skip_serializing_if = "Option::is_none", rename = "type")]
    pub user_type: Option<UserType>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Picture URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Free data of the partner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_data: Option<String>,
    /// State.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// Admin console access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    /// Comma-separated role ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<String>,
    /// External id (`add` only; mutually exclusive with `id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl UserInput {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The fields of [`UserInput`] that its setters and the builders of the add and update
/// requests share, declared once: `user_input_fields!(callback!(head) { extra fields })` calls
/// `callback!(head { shared fields, extra fields })`.
macro_rules! user_input_fields {
    ($callback:ident ! ($($head:tt)*) { $($extra:tt)* }) => {
        $callback!($($head)* {
            screen_name: String,
            full_name: String,
            first_name: String,
            last_name: String,
            email: String,
            thumbnail_url: String,
            description: String,
            tags: String,
            partner_data: String,
            status: $crate::types::user::UserStatus,
            is_admin: bool,
            role_ids: String,
            $($extra)*
        });
    };
}
pub(crate) use user_input_fields;

user_input_fields!(setters!(UserInput) {
    id: crate::ids::UserId,
    user_type: crate::types::user::UserType,
    external_id: String,
});

/// Filter of `user.list` (`KalturaUserFilter`); every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserFilter {
    /// Only this user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_equal: Option<UserId>,
    /// Only these users.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub id_in: Option<Vec<UserId>>,
    /// Id or screen name starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_or_screen_name_starts_with: Option<String>,
    /// First or last name starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name_or_last_name_starts_with: Option<String>,
    /// Screen name contains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name_like: Option<String>,
    /// Screen name starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_name_starts_with: Option<String>,
    /// E-mail contains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_like: Option<String>,
    /// E-mail starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_starts_with: Option<String>,
    /// Has any of these comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_multi_like_or: Option<String>,
    /// In this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_equal: Option<UserStatus>,
    /// In any of these states.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub status_in: Option<Vec<UserStatus>>,
    /// Of this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_equal: Option<UserType>,
    /// Admins (or not); a `KalturaNullableBoolean` on the wire (`1`/`0`), set it from a
    /// `bool`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_admin_equal: Option<NullableBoolean>,
    /// Created at or after (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_greater_than_or_equal: Option<UnixTime>,
    /// Sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<UserOrderBy>,
}

impl UserFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(UserFilter {
    id_equal: UserId,
    id_in: [UserId],
    id_or_screen_name_starts_with: String,
    first_name_or_last_name_starts_with: String,
    screen_name_like: String,
    screen_name_starts_with: String,
    email_like: String,
    email_starts_with: String,
    tags_multi_like_or: String,
    status_equal: UserStatus,
    status_in: [UserStatus],
    type_equal: UserType,
    is_admin_equal: NullableBoolean,
    created_at_greater_than_or_equal: UnixTime,
    order_by: UserOrderBy,
});
