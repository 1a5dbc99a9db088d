//! The `elasticsearch_esearch` service: full-text entry search (`searchEntry`).
//!
//! [`ESearchHandler::search_entries`] starts a builder whose top level is an AND of the
//! items added with [`unified`](RequestBuilder::unified), [`field`](RequestBuilder::field)
//! and [`item`](RequestBuilder::item); any tree of
//! [`ESearchOperator`]s can be given with [`search`](RequestBuilder::search).
//!
//! ```no_run
//! use kaltura_client::types::esearch::{
//!     ESearchEntryFieldName, ESearchEntryItem, ESearchEntryOrderByField, ESearchOperator,
//!     ESearchSortOrder,
//! };
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! let found = client
//!     .esearch()
//!     .search_entries()
//!     .unified("cats")
//!     .item(ESearchOperator::or([
//!         ESearchEntryItem::new(ESearchEntryFieldName::Tags, "funny").exact().into(),
//!         ESearchEntryItem::new(ESearchEntryFieldName::Tags, "cute").exact().into(),
//!     ]))
//!     .highlight(true)
//!     .order_by(ESearchEntryOrderByField::CreatedAt, ESearchSortOrder::Desc)
//!     .page_size(5)
//!     .send()
//!     .await?;
//! for result in &found.objects {
//!     let name = result.object.name.as_deref().unwrap_or_default();
//!     let snippets: Vec<&str> = result.highlight.iter().flat_map(|h| &h.hits).map(String::as_str).collect();
//!     let _ = (name, snippets);
//! }
//! # Ok(())
//! # }
//! ```

use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::Result;
use crate::ids::EntryId;
use crate::pagination::{ListItem, ListOutput, impl_paginated};
use crate::request::Params;
use crate::request::{KalturaRequest, RequestBuilder};
use crate::types::Pager;
use crate::types::esearch::{
    ESearchEntryFieldName, ESearchEntryItem, ESearchEntryOrderByField, ESearchEntryParams,
    ESearchEntryResponse, ESearchEntryResult, ESearchItem, ESearchOperator, ESearchOperatorType,
    ESearchOrderBy, ESearchOrderByItem, ESearchSortOrder, ESearchUnifiedItem,
};
use crate::types::media::EntryStatus;

const SERVICE: &str = "elasticsearch_esearch";

impl Client {
    /// The `elasticsearch_esearch` service; see the [module docs](crate::services::esearch).
    pub fn esearch(&self) -> ESearchHandler<'_> {
        ESearchHandler { client: self }
    }
}

impl ListItem for ESearchEntryResult {
    fn item_key(&self) -> String {
        self.object.id.to_string()
    }
}

impl ListOutput for ESearchEntryResponse {
    type Item = ESearchEntryResult;

    fn total_count(&self) -> i64 {
        self.total_count
    }

    fn into_items(self) -> Vec<ESearchEntryResult> {
        self.objects
    }
}

/// Handler of the `elasticsearch_esearch` service; see [`Client::esearch`].
#[derive(Debug, Clone, Copy)]
pub struct ESearchHandler<'c> {
    client: &'c Client,
}

/// Builder of `searchEntry`.
pub type SearchEntriesBuilder<'c> = RequestBuilder<'c, SearchEntriesRequest>;

impl<'c> ESearchHandler<'c> {
    /// `searchEntry`: starts with an empty AND (which matches every entry).
    pub fn search_entries(&self) -> SearchEntriesBuilder<'c> {
        RequestBuilder::new(self.client, SearchEntriesRequest::default())
    }
}

impl RequestBuilder<'_, SearchEntriesRequest> {
    /// Adds an item (or a nested operator) to the top-level operator.
    pub fn item(self, item: impl Into<ESearchItem>) -> Self {
        let item = item.into();
        self.map_request(|r| r.search_params.search_operator.search_items.push(item))
    }

    /// Adds a partial-match search for `term` over every text of an entry.
    pub fn unified(self, term: impl Into<String>) -> Self {
        self.item(ESearchUnifiedItem::new(term))
    }

    /// Adds a partial-match search of one field.
    pub fn field(self, field: ESearchEntryFieldName, term: impl Into<String>) -> Self {
        self.item(ESearchEntryItem::new(field, term))
    }

    /// How the top-level items combine (default AND).
    pub fn operator(self, operator: ESearchOperatorType) -> Self {
        self.map_request(|r| r.search_params.search_operator.operator = operator)
    }

    /// Replaces the whole search tree.
    pub fn search(self, tree: ESearchOperator) -> Self {
        self.map_request(|r| r.search_params.search_operator = tree)
    }

    /// Replaces all search parameters.
    pub fn params(self, params: ESearchEntryParams) -> Self {
        self.map_request(|r| r.search_params = params)
    }

    /// Adds a sort key (results are ranked by relevance without one).
    pub fn order_by(self, field: ESearchEntryOrderByField, order: ESearchSortOrder) -> Self {
        self.map_request(|r| {
            r.search_params
                .order_by
                .get_or_insert_with(ESearchOrderBy::default)
                .order_items
                .push(ESearchOrderByItem::new(field, order));
        })
    }

    /// Only entries in these states (Kaltura's default is READY).
    pub fn object_statuses<I: IntoIterator<Item = EntryStatus>>(self, statuses: I) -> Self {
        let statuses = statuses.into_iter().collect();
        self.map_request(|r| r.search_params.object_statuses = Some(statuses))
    }

    /// Only these entries.
    pub fn object_ids<I, V>(self, ids: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<EntryId>,
    {
        let ids = ids.into_iter().map(Into::into).collect();
        self.map_request(|r| r.search_params.object_ids = Some(ids))
    }

    /// Whether to skip synonyms.
    pub fn ignore_synonym(self, ignore: bool) -> Self {
        self.map_request(|r| r.search_params.ignore_synonym = Some(ignore))
    }

    /// Asks for (or against) highlights on every unified and entry item of the tree, when
    /// sent; overrides the items' own setting.
    pub fn highlight(self, highlight: bool) -> Self {
        self.map_request(|r| r.highlight = Some(highlight))
    }
}

/// `elasticsearch_esearch.searchEntry` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SearchEntriesRequest {
    /// What to search.
    pub search_params: ESearchEntryParams,
    /// The page (sent as `KalturaPager`).
    pub pager: Option<Pager>,
    /// If set, the `addHighlight` of every unified and entry item.
    pub highlight: Option<bool>,
}

impl SearchEntriesRequest {
    /// A search with `search_params`.
    pub fn new(search_params: ESearchEntryParams) -> Self {
        SearchEntriesRequest {
            search_params,
            pager: None,
            highlight: None,
        }
    }
}

/// Sets `addHighlight` on every unified and entry item under `operator`.
fn set_highlight(operator: &mut ESearchOperator, highlight: bool) {
    for item in &mut operator.search_items {
        match item {
            ESearchItem::Operator(op) => set_highlight(op, highlight),
            ESearchItem::Unified(u) => u.add_highlight = Some(highlight),
            ESearchItem::Entry(e) => e.add_highlight = Some(highlight),
            _ => {}
        }
    }
}

impl KalturaRequest for SearchEntriesRequest {
    type Output = ESearchEntryResponse;

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        "searchEntry"
    }

    fn params(&self) -> Result<Map<String, Value>> {
        let params = Params::new(SERVICE, "searchEntry");
        let params = match self.highlight {
            Some(highlight) => {
                let mut search_params = self.search_params.clone();
                set_highlight(&mut search_params.search_operator, highlight);
                params.value("searchParams", &search_params)?
            }
            None => params.value("searchParams", &self.search_params)?,
        };
        Ok(params
            .opt_object("pager", "KalturaPager", self.pager.as_ref())?
            .build())
    }
}

impl_paginated!(SearchEntriesRequest);
