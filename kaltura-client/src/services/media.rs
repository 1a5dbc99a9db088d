//! The `media` service: get, list, add, update and delete media entries (video, audio,
//! image).
//!
//! Content upload is not modelled: `add` creates an entry without content (status
//! `NO_CONTENT`), which is what an integration needs to reference or schedule media.

use crate::client::Client;
use crate::error::Result;
use crate::ids::EntryId;
use crate::pagination::{ListItem, impl_paginated};
use crate::request::{RequestBuilder, builder_setters, kaltura_request};
use crate::types::media::media_entry_input_fields;
use crate::types::{ListResponse, MediaEntry, MediaEntryFilter, MediaEntryInput, MediaType, Pager};

const SERVICE: &str = "media";

impl Client {
    /// The `media` service.
    ///
    /// ```no_run
    /// use kaltura_client::types::{EntryOrderBy, MediaEntryFilter};
    ///
    /// # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
    /// let page = client
    ///     .media()
    ///     .list()
    ///     .filter(
    ///         MediaEntryFilter::new()
    ///             .tags_multi_like_or("cats,dogs")
    ///             .order_by(EntryOrderBy::CreatedAtDesc),
    ///     )
    ///     .page_size(10)
    ///     .send()
    ///     .await?;
    /// for entry in &page.objects {
    ///     let _ = (&entry.id, &entry.name, entry.duration);
    /// }
    /// assert!(page.total_count >= page.objects.len() as i64);
    /// # Ok(())
    /// # }
    /// ```
    pub fn media(&self) -> MediaHandler<'_> {
        MediaHandler { client: self }
    }
}

impl ListItem for MediaEntry {
    fn item_key(&self) -> String {
        self.id.to_string()
    }
}

/// Handler of the `media` service; see [`Client::media`].
#[derive(Debug, Clone, Copy)]
pub struct MediaHandler<'c> {
    client: &'c Client,
}

/// Builder of `media.list`.
pub type ListMediaBuilder<'c> = RequestBuilder<'c, ListMediaRequest>;
/// Builder of `media.add`.
pub type AddMediaBuilder<'c> = RequestBuilder<'c, AddMediaRequest>;
/// Builder of `media.update`.
pub type UpdateMediaBuilder<'c> = RequestBuilder<'c, UpdateMediaRequest>;

impl<'c> MediaHandler<'c> {
    /// `media.get`: one entry.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `ENTRY_ID_NOT_FOUND`; see [`Client::send`].
    pub async fn get(&self, entry_id: impl Into<EntryId>) -> Result<MediaEntry> {
        self.client.send(GetMediaRequest::new(entry_id)).await
    }

    /// `media.list`: a page of entries matching a filter (by default: READY entries, newest
    /// first, 30 per page). Use [`RequestBuilder::paginate`] to walk every page.
    pub fn list(&self) -> ListMediaBuilder<'c> {
        RequestBuilder::new(self.client, ListMediaRequest::default())
    }

    /// `media.add`: a new entry without content.
    pub fn add(&self, name: impl Into<String>, media_type: MediaType) -> AddMediaBuilder<'c> {
        RequestBuilder::new(
            self.client,
            AddMediaRequest::new(MediaEntryInput::new().name(name).media_type(media_type)),
        )
    }

    /// `media.update`: changes the fields set on the builder, and only those.
    pub fn update(&self, entry_id: impl Into<EntryId>) -> UpdateMediaBuilder<'c> {
        RequestBuilder::new(
            self.client,
            UpdateMediaRequest::new(entry_id, MediaEntryInput::new()),
        )
    }

    /// `media.delete`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `ENTRY_ID_NOT_FOUND`; see [`Client::send`].
    pub async fn delete(&self, entry_id: impl Into<EntryId>) -> Result<()> {
        self.client.send(DeleteMediaRequest::new(entry_id)).await
    }
}

impl RequestBuilder<'_, ListMediaRequest> {
    /// The filter (sent as `KalturaMediaEntryFilter`).
    pub fn filter(self, filter: MediaEntryFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

impl RequestBuilder<'_, AddMediaRequest> {
    /// Replaces every field of the new entry.
    pub fn entry(self, entry: MediaEntryInput) -> Self {
        self.map_request(|r| r.entry = entry)
    }
}

impl RequestBuilder<'_, UpdateMediaRequest> {
    /// Replaces every change.
    pub fn changes(self, changes: MediaEntryInput) -> Self {
        self.map_request(|r| r.changes = changes)
    }
}

media_entry_input_fields!(builder_setters!(AddMediaRequest => entry) {});

media_entry_input_fields!(builder_setters!(UpdateMediaRequest => changes) {});

/// `media.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetMediaRequest {
    /// The entry.
    pub entry_id: EntryId,
    /// A content version (Kaltura's default `-1` is the current one).
    pub version: Option<i64>,
}

impl GetMediaRequest {
    /// Gets `entry_id`.
    pub fn new(entry_id: impl Into<EntryId>) -> Self {
        GetMediaRequest {
            entry_id: entry_id.into(),
            version: None,
        }
    }
}

kaltura_request!(GetMediaRequest, SERVICE, "get" => MediaEntry,
    |r, p| p
        .value("entryId", &r.entry_id)?
        .opt_value("version", r.version.as_ref())?);

/// `media.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListMediaRequest {
    /// The filter; `None` lists what Kaltura lists by default.
    pub filter: Option<MediaEntryFilter>,
    /// The page; `None` is Kaltura's default (page 1 of 30).
    pub pager: Option<Pager>,
}

impl ListMediaRequest {
    /// A list with `filter`.
    pub fn new(filter: MediaEntryFilter) -> Self {
        ListMediaRequest {
            filter: Some(filter),
            pager: None,
        }
    }
}

kaltura_request!(ListMediaRequest, SERVICE, "list" => ListResponse<MediaEntry>,
    |r, p| p
        .opt_object("filter", "KalturaMediaEntryFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListMediaRequest);

/// `media.add` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddMediaRequest {
    /// The new entry (sent as `KalturaMediaEntry`; `media_type` is required by Kaltura).
    pub entry: MediaEntryInput,
}

impl AddMediaRequest {
    /// Adds `entry`.
    pub fn new(entry: MediaEntryInput) -> Self {
        AddMediaRequest { entry }
    }
}

kaltura_request!(AddMediaRequest, SERVICE, "add" => MediaEntry,
    |r, p| p
        .object("entry", "KalturaMediaEntry", &r.entry)?);

/// `media.update` as data: only the fields set in `changes` are sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateMediaRequest {
    /// The entry to change.
    pub entry_id: EntryId,
    /// The changes (sent as `mediaEntry`, a `KalturaMediaEntry`).
    pub changes: MediaEntryInput,
}

impl UpdateMediaRequest {
    /// Applies `changes` to `entry_id`.
    pub fn new(entry_id: impl Into<EntryId>, changes: MediaEntryInput) -> Self {
        UpdateMediaRequest {
            entry_id: entry_id.into(),
            changes,
        }
    }
}

kaltura_request!(UpdateMediaRequest, SERVICE, "update" => MediaEntry,
    |r, p| p
        .value("entryId", &r.entry_id)?
        .object("mediaEntry", "KalturaMediaEntry", &r.changes)?);

/// `media.delete` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteMediaRequest {
    /// The entry to delete.
    pub entry_id: EntryId,
}

impl DeleteMediaRequest {
    /// Deletes `entry_id`.
    pub fn new(entry_id: impl Into<EntryId>) -> Self {
        DeleteMediaRequest {
            entry_id: entry_id.into(),
        }
    }
}

kaltura_request!(DeleteMediaRequest, SERVICE, "delete" => (),
    |r, p| p
        .value("entryId", &r.entry_id)?);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagination::Paginated as _;
    use crate::request::KalturaRequest as _;
    use serde_json::Value;

    #[test]
    fn update_sends_only_changes() {
        let request = UpdateMediaRequest::new("0_x", MediaEntryInput::new().name("n"));
        assert_eq!(
            Value::Object(request.params().unwrap()),
            serde_json::json!({
                "entryId": "0_x",
                "mediaEntry": {"name": "n", "objectType": "KalturaMediaEntry"},
            })
        );
        assert!(!request.is_read_only());
    }

    #[test]
    fn list_pager_defaults() {
        let mut request = ListMediaRequest::default();
        assert_eq!(request.pager(), Pager::default());
        assert!(request.params().unwrap().is_empty());
        request.set_pager(Pager::new(5).page(2));
        assert_eq!(request.params().unwrap()["pager"]["pageIndex"], 2);
        assert!(request.is_read_only());
    }
}
