//! Models of the `media` and `baseEntry` services: entries (`KalturaMediaEntry` and its
//! parents), their enums, the list filters and the writable fields of `add`/`update`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{UnixTime, int_enum, setters, string_enum};
use crate::ids::{CategoryId, EntryId, PartnerId, UserId};

string_enum! {
    /// The lifecycle state of an entry (`KalturaEntryStatus`, a string enum on the wire).
    pub enum EntryStatus {
        /// `-2`: importing the source failed.
        ErrorImporting = "-2",
        /// `-1`: transcoding failed.
        ErrorConverting = "-1",
        /// `0`: the source is being imported.
        Import = "0",
        /// `1`: waiting for transcoding.
        Preconvert = "1",
        /// `2`: playable.
        Ready = "2",
        /// `3`: deleted.
        Deleted = "3",
        /// `4`: pending.
        Pending = "4",
        /// `5`: waiting for moderation.
        Moderate = "5",
        /// `6`: blocked.
        Blocked = "6",
        /// `7`: created without content (`media.add` before an upload).
        NoContent = "7",
    }
}

string_enum! {
    /// What an entry is (`KalturaEntryType`, a string enum on the wire).
    pub enum EntryType {
        /// `-1`: automatic (only when adding).
        Automatic = "-1",
        /// `1`: a video, audio or image clip.
        MediaClip = "1",
        /// `5`: a playlist.
        Playlist = "5",
        /// `6`: a data entry.
        Data = "6",
        /// `7`: a live stream.
        LiveStream = "7",
        /// `8`: a live channel.
        LiveChannel = "8",
        /// `10`: a document.
        Document = "10",
        /// `room.room`: a Kaltura room.
        Room = "room.room",
    }
}

string_enum! {
    /// Where an entry's content came from (`KalturaSourceType`, a string enum on the wire).
    pub enum SourceType {
        /// `1`: uploaded file.
        File = "1",
        /// `2`: webcam recording.
        Webcam = "2",
        /// `5`: imported from a URL.
        Url = "5",
        /// `6`: search provider.
        SearchProvider = "6",
        /// `29`: Akamai live.
        AkamaiLive = "29",
        /// `32`: Kaltura live stream.
        LiveStream = "32",
        /// `33`: Kaltura live stream, passthrough.
        LiveStreamOntextdataCaptions = "33",
    }
}

int_enum! {
    /// The kind of media of a media entry (`KalturaMediaType`).
    pub enum MediaType {
        /// Video.
        Video = 1,
        /// Image.
        Image = 2,
        /// Audio.
        Audio = 5,
        /// Live stream (Flash).
        LiveStreamFlash = 201,
        /// Live stream (Windows Media).
        LiveStreamWindowsMedia = 202,
        /// Live stream (Real Media).
        LiveStreamRealMedia = 203,
        /// Live stream (QuickTime).
        LiveStreamQuicktime = 204,
    }
}

int_enum! {
    /// Moderation state of an entry (`KalturaEntryModerationStatus`).
    pub enum ModerationStatus {
        /// Waiting for a moderator.
        PendingModeration = 1,
        /// Approved.
        Approved = 2,
        /// Rejected.
        Rejected = 3,
        /// Flagged for moderation.
        FlaggedForReview = 5,
        /// Approved automatically.
        AutoApproved = 6,
    }
}

string_enum! {
    /// Sort order of entry lists (`KalturaMediaEntryOrderBy` / `KalturaBaseEntryOrderBy`).
    pub enum EntryOrderBy {
        /// Oldest first.
        CreatedAtAsc = "+createdAt",
        /// Newest first (Kaltura's default).
        CreatedAtDesc = "-createdAt",
        /// Least recently updated first.
        UpdatedAtAsc = "+updatedAt",
        /// Most recently updated first.
        UpdatedAtDesc = "-updatedAt",
        /// By name, A→Z.
        NameAsc = "+name",
        /// By name, Z→A.
        NameDesc = "-name",
        /// Fewest plays first.
        PlaysAsc = "+plays",
        /// Most plays first.
        PlaysDesc = "-plays",
        /// Fewest views first.
        ViewsAsc = "+views",
        /// Most views first.
        ViewsDesc = "-views",
        /// Shortest first.
        DurationAsc = "+duration",
        /// Longest first.
        DurationDesc = "-duration",
        /// Lowest rank first.
        RankAsc = "+rank",
        /// Highest rank first.
        RankDesc = "-rank",
        /// Earliest start date first.
        StartDateAsc = "+startDate",
        /// Latest start date first.
        StartDateDesc = "-startDate",
        /// Least recently played first.
        LastPlayedAtAsc = "+lastPlayedAt",
        /// Most recently played first.
        LastPlayedAtDesc = "-lastPlayedAt",
        /// Most recent (Kaltura's "recent" ranking).
        RecentDesc = "-recent",
    }
}

/// An entry (`KalturaMediaEntry`, or any `KalturaBaseEntry` subclass for `baseEntry` and
/// eSearch results): every property is optional but the id, because Kaltura drops nulls and
/// subclasses lack the media properties.
///
/// Properties this model does not name (e.g. of a `KalturaLiveStreamEntry`) are kept in
/// [`MediaEntry::extra`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MediaEntry {
    /// The entry id, e.g. `0_abc123xy`.
    pub id: EntryId,
    /// The name (title).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub name: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub description: Option<String>,
    /// The owning partner.
    #[serde(default)]
    pub partner_id: Option<PartnerId>,
    /// The owner.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The creator.
    #[serde(default)]
    pub creator_id: Option<UserId>,
    /// Comma-separated tags.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub tags: Option<String>,
    /// Comma-separated admin tags.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub admin_tags: Option<String>,
    /// Comma-separated full names of the entry's categories.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub categories: Option<String>,
    /// Comma-separated ids of the entry's categories.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub categories_ids: Option<String>,
    /// Lifecycle state.
    #[serde(default)]
    pub status: Option<EntryStatus>,
    /// Moderation state.
    #[serde(default)]
    pub moderation_status: Option<ModerationStatus>,
    /// How often it was flagged.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub moderation_count: Option<i64>,
    /// Entry type (`type` on the wire).
    #[serde(default, rename = "type")]
    pub entry_type: Option<EntryType>,
    /// Media type (media entries only).
    #[serde(default)]
    pub media_type: Option<MediaType>,
    /// Where the content came from.
    #[serde(default)]
    pub source_type: Option<SourceType>,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created_at: Option<UnixTime>,
    /// Last update (unix seconds).
    #[serde(default)]
    pub updated_at: Option<UnixTime>,
    /// Thumbnail URL (`…/p/{pid}/sp/{pid}00/thumbnail/entry_id/{id}/version/{v}`).
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub thumbnail_url: Option<String>,
    /// Playback URL of the default flavor.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub data_url: Option<String>,
    /// Download URL.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub download_url: Option<String>,
    /// The partner's own reference id.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub reference_id: Option<String>,
    /// Free data of the partner.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub partner_data: Option<String>,
    /// Number of plays.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub plays: Option<i64>,
    /// Number of views.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub views: Option<i64>,
    /// Last play (unix seconds).
    #[serde(default)]
    pub last_played_at: Option<UnixTime>,
    /// Width in pixels.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub width: Option<i64>,
    /// Height in pixels.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub height: Option<i64>,
    /// Duration in seconds.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub duration: Option<i64>,
    /// Duration in milliseconds.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub ms_duration: Option<i64>,
    /// Average rank.
    #[serde(default, deserialize_with = "super::common::opt_f64")]
    pub rank: Option<f64>,
    /// Number of votes.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub votes: Option<i64>,
    /// Scheduling window start (unix seconds).
    #[serde(default)]
    pub start_date: Option<UnixTime>,
    /// Scheduling window end (unix seconds).
    #[serde(default)]
    pub end_date: Option<UnixTime>,
    /// Content version.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub version: Option<i64>,
    /// The entry this one was cloned or trimmed from (itself if none).
    #[serde(default)]
    pub root_entry_id: Option<EntryId>,
    /// The parent entry (for child entries such as multi-stream).
    #[serde(default)]
    pub parent_entry_id: Option<EntryId>,
    /// Comma-separated flavor params ids.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub flavor_params_ids: Option<String>,
    /// Access control profile id.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub access_control_id: Option<i64>,
    /// The Kaltura class of the object, e.g. `KalturaMediaEntry`.
    #[serde(default, deserialize_with = "super::de::opt_string")]
    pub object_type: Option<String>,
    /// Properties this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Any entry, as `baseEntry` returns it. The media-only properties are `None` for entries
/// that are not media.
pub type BaseEntry = MediaEntry;

/// Declares an entry filter struct with the `KalturaBaseEntryFilter` fields plus `$extra`.
macro_rules! entry_filter {
    (
        $(#[$meta:meta])* $name:ident, $object_type:literal,
        { $( $(#[$fmeta:meta])* $field:ident : $t:ty ),* $(,)? }
        setters { $($setters:tt)* }
    ) => {
        $(#[$meta])*
        #[doc = ""]
        #[doc = concat!("Sent as `", $object_type, "`; every field is optional and left out when `None`.")]
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        #[serde(rename_all = "camelCase")]
        #[non_exhaustive]
        pub struct $name {
            /// Only this entry.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub id_equal: Option<EntryId>,
            /// Only these entries.
            #[serde(skip_serializing_if = "Option::is_none", serialize_with = "super::common::csv")]
            pub id_in: Option<Vec<EntryId>>,
            /// Not these entries.
            #[serde(skip_serializing_if = "Option::is_none", serialize_with = "super::common::csv")]
            pub id_not_in: Option<Vec<EntryId>>,
            /// Name equals.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub name_equal: Option<String>,
            /// Name contains.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub name_like: Option<String>,
            /// Tags contain (as one string).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub tags_like: Option<String>,
            /// Has any of these comma-separated tags.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub tags_multi_like_or: Option<String>,
            /// Has all of these comma-separated tags.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub tags_multi_like_and: Option<String>,
            /// In any of these categories.
            #[serde(skip_serializing_if = "Option::is_none", serialize_with = "super::common::csv")]
            pub categories_ids_match_or: Option<Vec<CategoryId>>,
            /// In all of these categories.
            #[serde(skip_serializing_if = "Option::is_none", serialize_with = "super::common::csv")]
            pub categories_ids_match_and: Option<Vec<CategoryId>>,
            /// Owned by this user.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub user_id_equal: Option<UserId>,
            /// With this reference id.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub reference_id_equal: Option<String>,
            /// In this state.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub status_equal: Option<EntryStatus>,
            /// In any of these states (Kaltura's default is READY only).
            #[serde(skip_serializing_if = "Option::is_none", serialize_with = "super::common::csv")]
            pub status_in: Option<Vec<EntryStatus>>,
            /// In none of these states.
            #[serde(skip_serializing_if = "Option::is_none", serialize_with = "super::common::csv")]
            pub status_not_in: Option<Vec<EntryStatus>>,
            /// Of this entry type.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub type_equal: Option<EntryType>,
            /// Created at or after (unix seconds; values up to ten years are relative to now).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub created_at_greater_than_or_equal: Option<UnixTime>,
            /// Created at or before (unix seconds).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub created_at_less_than_or_equal: Option<UnixTime>,
            /// Updated at or after (unix seconds).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub updated_at_greater_than_or_equal: Option<UnixTime>,
            /// Free-text search over name, description and tags.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub free_text: Option<String>,
            /// Sort order.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub order_by: Option<EntryOrderBy>,
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$t>,
            )*
        }

        impl $name {
            /// An empty filter (everything Kaltura lists by default: READY entries).
            pub fn new() -> Self {
                Self::default()
            }
        }

        setters!($name {
            id_equal: EntryId,
            id_in: [EntryId],
            id_not_in: [EntryId],
            name_equal: String,
            name_like: String,
            tags_like: String,
            tags_multi_like_or: String,
            tags_multi_like_and: String,
            categories_ids_match_or: [CategoryId],
            categories_ids_match_and: [CategoryId],
            user_id_equal: UserId,
            reference_id_equal: String,
            status_equal: EntryStatus,
            status_in: [EntryStatus],
            status_not_in: [EntryStatus],
            type_equal: EntryType,
            created_at_greater_than_or_equal: UnixTime,
            created_at_less_than_or_equal: UnixTime,
            updated_at_greater_than_or_equal: UnixTime,
            free_text: String,
            order_by: EntryOrderBy,
            $($setters)*
        });
    };
}

entry_filter! {
    /// Filter of `media.list` (`KalturaMediaEntryFilter`).
    MediaEntryFilter, "KalturaMediaEntryFilter",
    {
        /// Of this media type.
        media_type_equal: MediaType,
    }
    setters { media_type_equal: MediaType }
}

entry_filter! {
    /// Filter of `baseEntry.list` (`KalturaBaseEntryFilter`).
    BaseEntryFilter, "KalturaBaseEntryFilter",
    {}
    setters {}
}

/// The writable properties of an entry, for `media.add` and `media.update`
/// (sent as `KalturaMediaEntry`).
///
/// Only the fields that are `Some` are sent, so an update changes exactly those.
///
/// ```
/// use kaltura_client::types::{MediaEntryInput, MediaType};
///
/// let changes = MediaEntryInput::new().name("New title").tags("cats,funny");
/// let json = serde_json::to_value(&changes).unwrap();
/// assert_eq!(json, serde_json::json!({"name": "New title", "tags": "cats,funny"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MediaEntryInput {
    /// The name (title).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Comma-separated admin tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_tags: Option<String>,
    /// Comma-separated category full names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<String>,
    /// Category ids (replaces the entry's categories).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::common::csv"
    )]
    pub categories_ids: Option<Vec<CategoryId>>,
    /// The partner's own reference id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// The owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Free data of the partner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_data: Option<String>,
    /// Scheduling window start (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<UnixTime>,
    /// Scheduling window end (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<UnixTime>,
    /// Media type (required by `media.add`, ignored by `update`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// Access control profile id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_control_id: Option<i64>,
    /// Conversion (transcoding) profile id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversion_profile_id: Option<i64>,
}

impl MediaEntryInput {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The fields of [`MediaEntryInput`] that its setters and the builders of the add and update
/// requests share, declared once: `media_entry_input_fields!(callback!(head) { extra fields })` calls
/// `callback!(head { shared fields, extra fields })`.
macro_rules! media_entry_input_fields {
    ($callback:ident ! ($($head:tt)*) { $($extra:tt)* }) => {
        $callback!($($head)* {
            name: String,
            description: String,
            tags: String,
            admin_tags: String,
            categories: String,
            categories_ids: [$crate::ids::CategoryId],
            reference_id: String,
            user_id: $crate::ids::UserId,
            partner_data: String,
            start_date: $crate::types::UnixTime,
            end_date: $crate::types::UnixTime,
            access_control_id: i64,
            conversion_profile_id: i64,
            $($extra)*
        });
    };
}
pub(crate) use media_entry_input_fields;

media_entry_input_fields!(setters!(MediaEntryInput) {
    media_type: crate::types::media::MediaType,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_decodes_real_fixture_with_mixed_types() {
        let entry: MediaEntry = serde_json::from_str(
            r#"{"id":"0_abc123","name":"Cats","partnerId":"12345","userId":42,"status":2,
                "type":"1","mediaType":1,"sourceType":"1","moderationStatus":6,"plays":"10",
                "rank":"3.5","createdAt":1700000000,"duration":12,"msDuration":12345,
                "someNewField":true,"objectType":"KalturaMediaEntry"}"#,
        )
        .unwrap();
        assert_eq!(entry.id.as_str(), "0_abc123");
        assert_eq!(entry.partner_id, Some(PartnerId::new(12345)));
        assert_eq!(entry.user_id, Some(UserId::new("42")));
        assert_eq!(entry.status, Some(EntryStatus::Ready));
        assert_eq!(entry.entry_type, Some(EntryType::MediaClip));
        assert_eq!(entry.media_type, Some(MediaType::Video));
        assert_eq!(entry.source_type, Some(SourceType::File));
        assert_eq!(
            entry.moderation_status,
            Some(ModerationStatus::AutoApproved)
        );
        assert_eq!(entry.plays, Some(10));
        assert_eq!(entry.rank, Some(3.5));
        assert_eq!(entry.extra["someNewField"], true);
        assert_eq!(entry.object_type.as_deref(), Some("KalturaMediaEntry"));
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let entry: MediaEntry = serde_json::from_str(
            r#"{"id":"0_x","status":"infra.FUTURE","mediaType":99,"type":"live.ish"}"#,
        )
        .unwrap();
        assert_eq!(
            entry.status,
            Some(EntryStatus::Unknown("infra.FUTURE".into()))
        );
        assert_eq!(entry.media_type, Some(MediaType::Unknown(99)));
        assert_eq!(
            entry.entry_type,
            Some(EntryType::Unknown("live.ish".into()))
        );
    }

    #[test]
    fn filter_sends_only_set_fields() {
        let filter = MediaEntryFilter::new()
            .id_in(["0_a", "0_b"])
            .status_in([EntryStatus::Ready, EntryStatus::Pending])
            .categories_ids_match_or([CategoryId::new(1), CategoryId::new(2)])
            .media_type_equal(MediaType::Video)
            .order_by(EntryOrderBy::CreatedAtDesc);
        assert_eq!(
            serde_json::to_value(&filter).unwrap(),
            serde_json::json!({
                "idIn": "0_a,0_b",
                "statusIn": "2,4",
                "categoriesIdsMatchOr": "1,2",
                "mediaTypeEqual": 1,
                "orderBy": "-createdAt",
            })
        );
        assert_eq!(
            serde_json::to_value(BaseEntryFilter::new()).unwrap(),
            serde_json::json!({})
        );
    }
}
