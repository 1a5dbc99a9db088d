//! The `user` service: Kaltura users, e.g. one per Discord member (`discord_42`).
//!
//! ```no_run
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! // Create the user once; a second add fails with DUPLICATE_USER_BY_ID.
//! match client.user().add("discord_42").screen_name("Ada").email("ada@example.org").send().await {
//!     Ok(_) => {}
//!     Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::DuplicateUserById) => {}
//!     Err(e) => return Err(e),
//! }
//! let user = client.user().get("discord_42").await?;
//! # Ok(())
//! # }
//! ```

use crate::client::Client;
use crate::error::Result;
use crate::ids::UserId;
use crate::pagination::{ListItem, impl_paginated};
use crate::request::{RequestBuilder, builder_setters, kaltura_request};
use crate::types::user::user_input_fields;
use crate::types::user::{User, UserFilter, UserInput};
use crate::types::{ListResponse, Pager};

const SERVICE: &str = "user";

impl Client {
    /// The `user` service; see the [module docs](crate::services::user).
    pub fn user(&self) -> UserHandler<'_> {
        UserHandler { client: self }
    }
}

impl ListItem for User {
    fn item_key(&self) -> String {
        self.id.to_string()
    }
}

/// Handler of the `user` service; see [`Client::user`].
#[derive(Debug, Clone, Copy)]
pub struct UserHandler<'c> {
    client: &'c Client,
}

/// Builder of `user.add`.
pub type AddUserBuilder<'c> = RequestBuilder<'c, AddUserRequest>;
/// Builder of `user.update`.
pub type UpdateUserBuilder<'c> = RequestBuilder<'c, UpdateUserRequest>;
/// Builder of `user.list`.
pub type ListUsersBuilder<'c> = RequestBuilder<'c, ListUsersRequest>;

impl<'c> UserHandler<'c> {
    /// `user.get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `INVALID_USER_ID` if there is no such user;
    /// see [`Client::send`].
    pub async fn get(&self, user_id: impl Into<UserId>) -> Result<User> {
        self.client.send(GetUserRequest::new(user_id)).await
    }

    /// `user.add`: a new user with the id `user_id`.
    pub fn add(&self, user_id: impl Into<UserId>) -> AddUserBuilder<'c> {
        RequestBuilder::new(
            self.client,
            AddUserRequest::new(UserInput::new().id(user_id)),
        )
    }

    /// `user.update`: changes the fields set on the builder, and only those.
    pub fn update(&self, user_id: impl Into<UserId>) -> UpdateUserBuilder<'c> {
        RequestBuilder::new(
            self.client,
            UpdateUserRequest::new(user_id, UserInput::new()),
        )
    }

    /// `user.delete`: returns the deleted user (status DELETED).
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with `INVALID_USER_ID`; see [`Client::send`].
    pub async fn delete(&self, user_id: impl Into<UserId>) -> Result<User> {
        self.client.send(DeleteUserRequest::new(user_id)).await
    }

    /// `user.list`.
    pub fn list(&self) -> ListUsersBuilder<'c> {
        RequestBuilder::new(self.client, ListUsersRequest::default())
    }
}

impl RequestBuilder<'_, ListUsersRequest> {
    /// The filter (sent as `KalturaUserFilter`).
    pub fn filter(self, filter: UserFilter) -> Self {
        self.map_request(|r| r.filter = Some(filter))
    }
}

impl RequestBuilder<'_, AddUserRequest> {
    /// Replaces every field of the new user (keep `id` set).
    pub fn user(self, user: UserInput) -> Self {
        self.map_request(|r| r.user = user)
    }
}

impl RequestBuilder<'_, UpdateUserRequest> {
    /// Replaces every change.
    pub fn changes(self, changes: UserInput) -> Self {
        self.map_request(|r| r.changes = changes)
    }
}

user_input_fields!(builder_setters!(AddUserRequest => user) {
    user_type: crate::types::user::UserType,
});

user_input_fields!(builder_setters!(UpdateUserRequest => changes) {});

/// `user.get` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetUserRequest {
    /// The user.
    pub user_id: UserId,
}

impl GetUserRequest {
    /// Gets `user_id`.
    pub fn new(user_id: impl Into<UserId>) -> Self {
        GetUserRequest {
            user_id: user_id.into(),
        }
    }
}

kaltura_request!(GetUserRequest, SERVICE, "get" => User, |r, p| p.value("userId", &r.user_id)?);

/// `user.add` as data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddUserRequest {
    /// The new user (sent as `KalturaUser`).
    pub user: UserInput,
}

impl AddUserRequest {
    /// Adds `user`.
    pub fn new(user: UserInput) -> Self {
        AddUserRequest { user }
    }
}

kaltura_request!(AddUserRequest, SERVICE, "add" => User,
    |r, p| p.object("user", "KalturaUser", &r.user)?);

/// `user.update` as data: only the fields set in `changes` are sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateUserRequest {
    /// The user to change.
    pub user_id: UserId,
    /// The changes (sent as `user`, a `KalturaUser`).
    pub changes: UserInput,
}

impl UpdateUserRequest {
    /// Applies `changes` to `user_id`.
    pub fn new(user_id: impl Into<UserId>, changes: UserInput) -> Self {
        UpdateUserRequest {
            user_id: user_id.into(),
            changes,
        }
    }
}

kaltura_request!(UpdateUserRequest, SERVICE, "update" => User,
    |r, p| p.value("userId", &r.user_id)?.object("user", "KalturaUser", &r.changes)?);

/// `user.delete` as data; the result is the deleted user.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteUserRequest {
    /// The user to delete.
    pub user_id: UserId,
}

impl DeleteUserRequest {
    /// Deletes `user_id`.
    pub fn new(user_id: impl Into<UserId>) -> Self {
        DeleteUserRequest {
            user_id: user_id.into(),
        }
    }
}

kaltura_request!(DeleteUserRequest, SERVICE, "delete" => User,
    |r, p| p.value("userId", &r.user_id)?);

/// `user.list` as data.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListUsersRequest {
    /// The filter.
    pub filter: Option<UserFilter>,
    /// The page.
    pub pager: Option<Pager>,
}

impl ListUsersRequest {
    /// A list with `filter`.
    pub fn new(filter: UserFilter) -> Self {
        ListUsersRequest {
            filter: Some(filter),
            pager: None,
        }
    }
}

kaltura_request!(ListUsersRequest, SERVICE, "list" => ListResponse<User>,
    |r, p| p
        .opt_object("filter", "KalturaUserFilter", r.filter.as_ref())?
        .filter_pager(r.pager.as_ref())?);

impl_paginated!(ListUsersRequest);
