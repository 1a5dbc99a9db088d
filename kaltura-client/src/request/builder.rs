//! [`RequestBuilder`]: a typed request bound to a client, the value every typed service
//! action returns, and the `builder_setters!` macro that gives it setters for the request's
//! filter or object fields.

use std::fmt;

use crate::client::Client;
use crate::error::Result;
use crate::request::KalturaRequest;

/// A typed request bound to a client, ready to [`send`](RequestBuilder::send).
///
/// Every typed action of [`crate::services`] returns one; the setters available depend on
/// the request type `R` (see the `impl RequestBuilder<'_, …>` blocks, e.g. on
/// [`ListMediaRequest`](crate::services::media::ListMediaRequest)).
#[must_use = "a request builder does nothing until `.send()` is awaited"]
pub struct RequestBuilder<'c, R> {
    client: &'c Client,
    request: R,
}

impl<R: fmt::Debug> fmt::Debug for RequestBuilder<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<'c, R> RequestBuilder<'c, R> {
    /// Binds `request` to `client`.
    pub fn new(client: &'c Client, request: R) -> Self {
        RequestBuilder { client, request }
    }

    /// The request as built so far.
    pub fn request(&self) -> &R {
        &self.request
    }

    /// Changes the request in place (for parameters without a dedicated setter).
    pub fn map_request(mut self, f: impl FnOnce(&mut R)) -> Self {
        f(&mut self.request);
        self
    }

    /// The request, e.g. to [add](crate::multirequest::MultiRequest::add) it to a
    /// multirequest.
    pub fn into_request(self) -> R {
        self.request
    }

    /// The client and the request, for extensions such as
    /// [`RequestBuilder::paginate`].
    pub(crate) fn into_parts(self) -> (&'c Client, R) {
        (self.client, self.request)
    }
}

impl<R: KalturaRequest> RequestBuilder<'_, R> {
    /// Sends the call.
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn send(self) -> Result<R::Output> {
        self.client.send(self.request).await
    }
}

/// Setters on `RequestBuilder<'_, $req>` that fill the `Option` fields of the request's
/// `$field` struct (same syntax as `types::common::setters!`):
/// `builder_setters!(ListUsersRequest => filter { id_equal: String, ids: [UserId] })`.
macro_rules! builder_setters {
    ($req:ty => $part:ident { $($rest:tt)* }) => {
        impl crate::request::RequestBuilder<'_, $req> {
            crate::request::builder_setters!(@munch $part $($rest)*);
        }
    };
    (@munch $part:ident) => {};
    (@munch $part:ident $field:ident : [$item:ty] $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets `", stringify!($field), "` of the request's `", stringify!($part), "`.")]
        pub fn $field<I, V>(self, values: I) -> Self
        where
            I: IntoIterator<Item = V>,
            V: Into<$item>,
        {
            self.map_request(|r| r.$part.$field = Some(values.into_iter().map(Into::into).collect()))
        }
        crate::request::builder_setters!(@munch $part $($($rest)*)?);
    };
    (@munch $part:ident $field:ident : $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets `", stringify!($field), "` of the request's `", stringify!($part), "`.")]
        pub fn $field(self, value: impl Into<$t>) -> Self {
            self.map_request(|r| r.$part.$field = Some(value.into()))
        }
        crate::request::builder_setters!(@munch $part $($($rest)*)?);
    };
}
pub(crate) use builder_setters;
