//! The `category` service: find categories, e.g. to autocomplete a category name.
//!
//! ```no_run
//! use kaltura_client::types::category::{CategoryFilter, CategoryOrderBy};
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! let suggestions = client
//!     .category()
//!     .list()
//!     .filter(
//!         CategoryFilter::new()
//!             .name_or_reference_id_starts_with("Ca")
//!             .order_by(CategoryOrderBy::FullNameAsc),
//!     )
//!     .page_size(25)
//!     .send()
//!     .await?;
//! let names: Vec<&str> = suggestions.objects.iter().filter_map(|c| c.full_name.as_deref()).collect();
//! # Ok(())
//! # }
//! ```

use crate::client::Client;
use crate::error::Result;
use crate::ids::CategoryId;
use crate::pagination::{ListItem, impl_paginated};
use crate::request::RequestBuilder;
use crate::request::kaltura_request;
use crate::types::category::{Category, CategoryFilter};
use crate::types::{ListResponse, Pager};

const SERVICE: &str = "category";

impl Client {
    /// The `category` service; see the [module docs](crate::services::category).
    pub fn category(&self) -> CategoryHandler<'_> {
        CategoryHandler { client: self }
    }
}

impl ListItem for Category {
    fn item_key(&self) -> String {
        self.id.to_string()
    }
}

/// Handler of the `category` service; see [`Client::category`].
#[derive(Debug, Clone, Copy)]
pub struct CategoryHandler<'c> {
    client: &'c Client,
}

/// Builder of `category.list`.
pub type ListCategoriesBuilder<'c> = RequestBuilder<'c, ListCategoriesRequest>;

impl<'c> CategoryHandler<'c> {
    /// `category.get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `CATEGORY_NOT_FOUND`; see [`Client::send`].
    pub async fn get(&self, id: impl Into<CategoryId>) -> Result<Category> {
        self.client.send(GetCategoryRequest::new(id)).await
    }

    /// `category.list`.
    pub fn list(&self) -> ListCategoriesBuilder<'c> {
        RequestBuilder::new(self.client, ListCategoriesRequest::default())
    }
}

impl RequestBuilder<'_, ListCategoriesRequest> {
    /// The filter (sent as `KalturaCategoryFilter`).
    pub fn filter(self, filter: CategoryFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

/// `category.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetCategoryRequest {
    /// The category.
    pub id: CategoryId,
}

impl GetCategoryRequest {
    /// Gets category `id`.
    pub fn new(id: impl Into<CategoryId>) -> Self {
        GetCategoryRequest { id: id.into() }
    }
}

kaltura_request!(GetCategoryRequest, SERVICE, "get" => Category, |r, p| p.value("id", &r.id)?);

/// `category.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListCategoriesRequest {
    /// The filter.
    pub filter: Option<CategoryFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

impl ListCategoriesRequest {
    /// A list with `filter`.
    pub fn new(filter: CategoryFilter) -> Self {
        ListCategoriesRequest {
            filter: Some(filter),
            pager: None,
        }
    }
}

kaltura_request!(ListCategoriesRequest, SERVICE, "list" => ListResponse<Category>,
    |r, p| p
        .opt_object("filter", "KalturaCategoryFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListCategoriesRequest);
