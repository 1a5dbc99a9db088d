//! The `baseEntry` service: get and list entries of any type (media, playlists, live
//! streams, documents …), decoded as [`BaseEntry`].

use crate::client::Client;
use crate::error::Result;
use crate::ids::EntryId;
use crate::pagination::impl_paginated;
use crate::request::{RequestBuilder, kaltura_request};
use crate::types::{BaseEntry, BaseEntryFilter, ListResponse, Pager};

const SERVICE: &str = "baseEntry";

impl Client {
    /// The `baseEntry` service.
    ///
    /// ```no_run
    /// use kaltura_client::types::{BaseEntryFilter, EntryType};
    ///
    /// # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
    /// let playlists = client
    ///     .base_entry()
    ///     .list()
    ///     .filter(BaseEntryFilter::new().type_equal(EntryType::Playlist))
    ///     .send()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn base_entry(&self) -> BaseEntryHandler<'_> {
        BaseEntryHandler { client: self }
    }
}

/// Handler of the `baseEntry` service; see [`Client::base_entry`].
#[derive(Debug, Clone, Copy)]
pub struct BaseEntryHandler<'c> {
    client: &'c Client,
}

/// Builder of `baseEntry.list`.
pub type ListBaseEntriesBuilder<'c> = RequestBuilder<'c, ListBaseEntriesRequest>;

impl<'c> BaseEntryHandler<'c> {
    /// `baseEntry.get`: one entry of any type.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `ENTRY_ID_NOT_FOUND`; see [`Client::send`].
    pub async fn get(&self, entry_id: impl Into<EntryId>) -> Result<BaseEntry> {
        self.client.send(GetBaseEntryRequest::new(entry_id)).await
    }

    /// `baseEntry.list`: a page of entries matching a filter.
    pub fn list(&self) -> ListBaseEntriesBuilder<'c> {
        RequestBuilder::new(self.client, ListBaseEntriesRequest::default())
    }
}

impl RequestBuilder<'_, ListBaseEntriesRequest> {
    /// The filter (sent as `KalturaBaseEntryFilter`).
    pub fn filter(self, filter: BaseEntryFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

/// `baseEntry.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetBaseEntryRequest {
    /// The entry.
    pub entry_id: EntryId,
    /// A content version (Kaltura's default `-1` is the current one).
    pub version: Option<i64>,
}

impl GetBaseEntryRequest {
    /// Gets `entry_id`.
    pub fn new(entry_id: impl Into<EntryId>) -> Self {
        GetBaseEntryRequest {
            entry_id: entry_id.into(),
            version: None,
        }
    }
}

kaltura_request!(GetBaseEntryRequest, SERVICE, "get" => BaseEntry,
    |r, p| p
        .value("entryId", &r.entry_id)?
        .opt_value("version", r.version.as_ref())?);

/// `baseEntry.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListBaseEntriesRequest {
    /// The filter.
    pub filter: Option<BaseEntryFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

impl ListBaseEntriesRequest {
    /// A list with `filter`.
    pub fn new(filter: BaseEntryFilter) -> Self {
        ListBaseEntriesRequest {
            filter: Some(filter),
            pager: None,
        }
    }
}

kaltura_request!(ListBaseEntriesRequest, SERVICE, "list" => ListResponse<BaseEntry>,
    |r, p| p
        .opt_object("filter", "KalturaBaseEntryFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListBaseEntriesRequest);
