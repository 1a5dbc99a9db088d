//! Sending typed calls and paging through list results.
//!
//! * [`RequestBuilder`] (in [`crate::request`]) is what the typed service handlers return
//!   (`client.media().list()`); for list requests it gets the pager setters defined here and
//!   [`RequestBuilder::paginate`].
//! * [`Paginator`] walks the pages of a list action (`media.list`, `baseEntry.list`,
//!   `user.list`, `category.list`, `scheduleEvent.list`, eSearch …; anything implementing
//!   [`Paginated`]), as [`Paginator::next_page`] calls or as a [`Stream`] of items
//!   ([`Paginator::into_stream`]).
//!
//! The paginator sends the **same filter on every page** — only the pager's `pageIndex`
//! changes — and stops as soon as one of these holds:
//!
//! 1. a page is empty;
//! 2. a page has fewer objects than the page size (the last page);
//! 3. the number of objects seen reaches the `totalCount` the server reported;
//! 4. a page has exactly the ids of the previous page — a server (or proxy) that ignores
//!    `pageIndex` would otherwise be paged forever; the repeated page is not yielded.
//!
//! ```no_run
//! use futures_util::TryStreamExt as _;
//! use kaltura_client::types::{EntryOrderBy, MediaEntryFilter};
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! // Page by page …
//! let mut pages = client
//!     .media()
//!     .list()
//!     .filter(MediaEntryFilter::new().tags_like("cats").order_by(EntryOrderBy::CreatedAtDesc))
//!     .page_size(100)
//!     .paginate();
//! while let Some(page) = pages.next_page().await? {
//!     for entry in page {
//!         let _ = entry.name;
//!     }
//! }
//!
//! // … or as a stream of entries.
//! let names: Vec<String> = client
//!     .media()
//!     .list()
//!     .page_size(500)
//!     .paginate()
//!     .into_stream()
//!     .map_ok(|entry| entry.name.unwrap_or_default())
//!     .try_collect()
//!     .await?;
//! # Ok(())
//! # }
//! ```

use std::fmt;

use futures_util::stream::{self, Stream, TryStreamExt as _};
use serde_json::Value;

use crate::client::Client;
use crate::error::Result;
use crate::request::{KalturaRequest, RequestBuilder};
use crate::types::{ListResponse, Pager};

impl<'c, R: Paginated> RequestBuilder<'c, R> {
    /// The pager (default: page 1 of 30).
    pub fn pager(self, pager: Pager) -> Self {
        self.map_request(|r| r.set_pager(pager))
    }

    /// The page size (clamped to `1..=500`), keeping the page index.
    pub fn page_size(self, page_size: u32) -> Self {
        self.map_request(|r| {
            let index = r.pager().page_index();
            r.set_pager(Pager::new(page_size).page(index));
        })
    }

    /// The page to return (1-based), keeping the page size.
    pub fn page_index(self, page_index: u32) -> Self {
        self.map_request(|r| {
            let pager = r.pager().page(page_index);
            r.set_pager(pager);
        })
    }

    /// A [`Paginator`] starting at this request's page.
    pub fn paginate(self) -> Paginator<'c, R> {
        let (client, request) = self.into_parts();
        Paginator::new(client, request)
    }
}

/// The result of a list action: a page of items and the total count.
pub trait ListOutput {
    /// The type of one item.
    type Item: ListItem;

    /// How many items match in total, as the server reported (0 if unknown).
    fn total_count(&self) -> i64;

    /// The items of this page.
    fn into_items(self) -> Vec<Self::Item>;
}

impl<T: ListItem> ListOutput for ListResponse<T> {
    type Item = T;

    fn total_count(&self) -> i64 {
        self.total_count
    }

    fn into_items(self) -> Vec<T> {
        self.objects
    }
}

/// An item of a list with a stable identity, so that a [`Paginator`] can tell a repeated
/// page from a new one.
pub trait ListItem {
    /// The identity of the item (its id).
    fn item_key(&self) -> String;
}

impl ListItem for Value {
    /// The `id` property if there is one, else the whole JSON text.
    fn item_key(&self) -> String {
        match self.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => self.to_string(),
        }
    }
}

/// A list request that can be paged: its output is a [`ListOutput`] and its pager can be
/// read and replaced.
pub trait Paginated: KalturaRequest<Output: ListOutput> + Clone {
    /// The pager the request will send (the default pager if none is set).
    fn pager(&self) -> Pager;

    /// Replaces the pager.
    fn set_pager(&mut self, pager: Pager);
}

/// Implements [`Paginated`] for a request struct with a `pager: Option<Pager>` field.
macro_rules! impl_paginated {
    ($($ty:ty),* $(,)?) => {
        $(
            impl crate::pagination::Paginated for $ty {
                fn pager(&self) -> crate::types::Pager {
                    self.pager.unwrap_or_default()
                }

                fn set_pager(&mut self, pager: crate::types::Pager) {
                    self.pager = Some(pager);
                }
            }
        )*
    };
}
pub(crate) use impl_paginated;

/// The item type of a paginated request.
pub type ItemOf<R> = <<R as KalturaRequest>::Output as ListOutput>::Item;

/// Walks the pages of a list request; see the [module docs](self) for when it stops.
pub struct Paginator<'c, R: Paginated> {
    client: &'c Client,
    request: R,
    page_size: u32,
    next_index: u32,
    seen: u64,
    total_count: Option<i64>,
    previous_keys: Option<Vec<String>>,
    done: bool,
}

impl<R: Paginated + fmt::Debug> fmt::Debug for Paginator<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("request", &self.request)
            .field("next_index", &self.next_index)
            .field("seen", &self.seen)
            .field("total_count", &self.total_count)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'c, R: Paginated> Paginator<'c, R> {
    /// Pages through `request` with `client`, starting at the request's page.
    pub fn new(client: &'c Client, request: R) -> Self {
        let pager = request.pager();
        Paginator {
            client,
            request,
            page_size: pager.page_size(),
            next_index: pager.page_index(),
            seen: 0,
            total_count: None,
            previous_keys: None,
            done: false,
        }
    }

    /// The total the server reported with the last page (`None` before the first page).
    pub fn total_count(&self) -> Option<i64> {
        self.total_count
    }

    /// How many items the pages returned so far held.
    pub fn items_seen(&self) -> u64 {
        self.seen
    }

    /// Whether the last page was reached (no more calls will be made).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The index of the page the next call asks for.
    pub fn next_page_index(&self) -> u32 {
        self.next_index
    }

    /// Fetches the next page: `Ok(None)` once there are no more.
    ///
    /// # Errors
    ///
    /// The error of the call (see [`Client::send`]); the paginator can be asked again, and
    /// then retries the same page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<ItemOf<R>>>> {
        if self.done {
            return Ok(None);
        }
        let mut request = self.request.clone();
        request.set_pager(Pager::new(self.page_size).page(self.next_index));
        let output = self.client.send(request).await?;
        let total = output.total_count();
        let items = output.into_items();
        self.total_count = Some(total);

        if items.is_empty() {
            self.done = true;
            return Ok(None);
        }
        let keys: Vec<String> = items.iter().map(ListItem::item_key).collect();
        if self.previous_keys.as_ref() == Some(&keys) {
            tracing::warn!(
                page_index = self.next_index,
                "the server returned the previous page again (pageIndex ignored?); stopping"
            );
            self.done = true;
            return Ok(None);
        }
        self.previous_keys = Some(keys);
        self.seen = self.seen.saturating_add(items.len() as u64);
        let short_page = items.len() < self.page_size as usize;
        let reached_total = u64::try_from(total).is_ok_and(|t| t > 0 && self.seen >= t);
        match self.next_index.checked_add(1) {
            Some(next) if !short_page && !reached_total => self.next_index = next,
            _ => self.done = true,
        }
        Ok(Some(items))
    }

    /// Every remaining item, fetched page by page.
    ///
    /// # Errors
    ///
    /// The first failing call.
    pub async fn collect_all(mut self) -> Result<Vec<ItemOf<R>>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// The remaining pages as a stream; it ends after the last page or the first error.
    pub fn into_page_stream(self) -> impl Stream<Item = Result<Vec<ItemOf<R>>>> + 'c
    where
        R: 'c,
    {
        stream::try_unfold(self, |mut paginator| async move {
            Ok(paginator.next_page().await?.map(|page| (page, paginator)))
        })
    }

    /// The remaining items as a stream; it ends after the last page or the first error.
    pub fn into_stream(self) -> impl Stream<Item = Result<ItemOf<R>>> + 'c
    where
        R: 'c,
    {
        self.into_page_stream()
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }
}
