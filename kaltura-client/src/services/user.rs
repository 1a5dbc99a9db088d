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
//!
//! # Signing a user in: `user.loginByLoginId`
//!
//! [`UserHandler::login_by_login_id`] checks a user's Kaltura login (their login id, usually
//! their email, and their password) and returns a KS for them: a USER session, or ADMIN for
//! an admin user, named after the user's id (not the login id). It needs no KS; the partner
//! defaults to the client's. The password is a [`SecretString`]: the request's `Debug` hides
//! it, it is scrubbed from every error the call can return, and a result that is a KS keeps
//! no body snippet. The call is never retried once it may have reached the server (every
//! wrong password counts towards Kaltura's lockout).
//!
//! Kaltura's refusals, as [`ErrorCode`](crate::ErrorCode)s (from
//! `KalturaBaseUserService::loginImpl`):
//!
//! | code | when |
//! |---|---|
//! | `USER_NOT_FOUND` | no such login id, or no user of the partner for it (Kaltura tells this apart from a wrong password) |
//! | `USER_WRONG_PASSWORD` | the password is wrong |
//! | `LOGIN_RETRIES_EXCEEDED` | this wrong password reached the partner's `max_login_attempts`: the login is now locked for the partner's block period |
//! | `LOGIN_BLOCKED` | the login is locked (right or wrong password) |
//! | `PASSWORD_EXPIRED` | the password is right but has expired |
//! | `USER_IS_BLOCKED` | the user (or the partner) is blocked |
//! | `INVALID_PARTNER_ID` | the KS sent names another partner than `partnerId` |
//! | `DIRECT_LOGIN_BLOCKED` | the partner only allows single sign-on |
//! | `MISSING_OTP` / `INVALID_OTP` | the partner requires a one-time password ([`otp`](RequestBuilder::otp)) |
//!
//! ```no_run
//! use secrecy::SecretString;
//! use kaltura_client::ErrorCode;
//!
//! # async fn run(client: kaltura_client::Client) -> kaltura_client::Result<()> {
//! let password = SecretString::from("Alice#Demo1");
//! match client.user().login_by_login_id("alice@example.com", password).send().await {
//!     Ok(ks) => { /* a KS for user `alice`; never log it */ let _ = ks; }
//!     Err(e) if e.api_code() == Some(&ErrorCode::UserWrongPassword) => { /* try again */ }
//!     Err(e) if e.api_code() == Some(&ErrorCode::LoginBlocked) => { /* locked out */ }
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, Value};

use crate::client::{Client, duration_secs};
use crate::error::Error;
use crate::error::Result;
use crate::ids::PartnerId;
use crate::ids::UserId;
use crate::ks::Ks;
use crate::pagination::{ListItem, impl_paginated};
use crate::request::KalturaRequest;
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
/// Builder of `user.loginByLoginId`.
pub type LoginByLoginIdBuilder<'c> = RequestBuilder<'c, LoginByLoginIdRequest>;

impl<'c> UserHandler<'c> {
    /// `user.get`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with `INVALID_USER_ID` if there is no such user;
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
    /// [`Error::Api`] with `INVALID_USER_ID`; see [`Client::send`].
    pub async fn delete(&self, user_id: impl Into<UserId>) -> Result<User> {
        self.client.send(DeleteUserRequest::new(user_id)).await
    }

    /// `user.list`.
    pub fn list(&self) -> ListUsersBuilder<'c> {
        RequestBuilder::new(self.client, ListUsersRequest::default())
    }

    /// `user.loginByLoginId`: signs the user with `login_id` (usually their email) in with
    /// `password` and returns their KS; see the [module docs](crate::services::user#signing-a-user-in-userloginbyloginid)
    /// for the error codes. The partner is the client's unless
    /// [`partner_id`](RequestBuilder::partner_id) names another; Kaltura's defaults are a
    /// 24-hour KS with privileges `*`.
    pub fn login_by_login_id(
        &self,
        login_id: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> LoginByLoginIdBuilder<'c> {
        let mut request = LoginByLoginIdRequest::new(login_id, password);
        request.partner_id = self.client.partner_id();
        RequestBuilder::new(self.client, request)
    }
}

impl RequestBuilder<'_, LoginByLoginIdRequest> {
    /// The partner to sign in to (default: the client's).
    pub fn partner_id(self, partner_id: impl Into<PartnerId>) -> Self {
        let partner_id = partner_id.into();
        self.map_request(|r| r.partner_id = Some(partner_id))
    }

    /// Requested lifetime of the KS (Kaltura's default is 24 h, capped by the partner).
    pub fn expiry(self, expiry: Duration) -> Self {
        self.map_request(|r| r.expiry = Some(expiry))
    }

    /// Privileges of the KS, as Kaltura's string or a [`Privileges`](crate::ks::Privileges)
    /// value (Kaltura's default is `*`; a user's own KS privileges, when the partner set
    /// some, win).
    pub fn privileges(self, privileges: impl fmt::Display) -> Self {
        let privileges = privileges.to_string();
        self.map_request(|r| r.privileges = Some(privileges))
    }

    /// The user's one-time password, for partners with two-factor authentication.
    pub fn otp(self, otp: impl Into<SecretString>) -> Self {
        let otp = otp.into();
        self.map_request(|r| r.otp = Some(otp))
    }
}

/// `user.loginByLoginId` as data; the result is the user's KS.
///
/// `Debug` shows neither the password nor the one-time password.
#[derive(Clone)]
#[non_exhaustive]
pub struct LoginByLoginIdRequest {
    /// The login id (the email the user signs in with).
    pub login_id: String,
    /// The password; sent in the body, never shown.
    pub password: SecretString,
    /// The partner (optional for Kaltura, which then uses the partner the user last signed
    /// in to).
    pub partner_id: Option<PartnerId>,
    /// Requested lifetime of the KS.
    pub expiry: Option<Duration>,
    /// Privileges of the KS.
    pub privileges: Option<String>,
    /// One-time password (two-factor authentication).
    pub otp: Option<SecretString>,
}

impl LoginByLoginIdRequest {
    /// Signs `login_id` in with `password`, all else default (no partner id).
    pub fn new(login_id: impl Into<String>, password: impl Into<SecretString>) -> Self {
        LoginByLoginIdRequest {
            login_id: login_id.into(),
            password: password.into(),
            partner_id: None,
            expiry: None,
            privileges: None,
            otp: None,
        }
    }
}

impl fmt::Debug for LoginByLoginIdRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginByLoginIdRequest")
            .field("login_id", &self.login_id)
            .field("password", &"[REDACTED]")
            .field("partner_id", &self.partner_id)
            .field("expiry", &self.expiry)
            .field("privileges", &self.privileges)
            .field("otp", &self.otp.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl KalturaRequest for LoginByLoginIdRequest {
    type Output = Ks;

    fn service(&self) -> &str {
        SERVICE
    }

    fn action(&self) -> &str {
        "loginByLoginId"
    }

    /// # Errors
    ///
    /// [`Error::Build`] for an empty login id or password (Kaltura would answer
    /// `MISSING_MANDATORY_PARAMETER`; nothing is sent).
    fn params(&self) -> Result<Map<String, Value>> {
        let missing = |what: &str| Error::Build {
            service: SERVICE.into(),
            action: "loginByLoginId".into(),
            message: format!("the {what} is empty"),
        };
        if self.login_id.trim().is_empty() {
            return Err(missing("login id"));
        }
        if self.password.expose_secret().is_empty() {
            return Err(missing("password"));
        }
        let mut params = Map::new();
        params.insert("loginId".into(), Value::String(self.login_id.clone()));
        params.insert(
            "password".into(),
            Value::String(self.password.expose_secret().to_owned()),
        );
        if let Some(partner_id) = self.partner_id {
            params.insert("partnerId".into(), Value::from(partner_id.get()));
        }
        if let Some(expiry) = self.expiry {
            params.insert("expiry".into(), Value::from(duration_secs(expiry)));
        }
        if let Some(privileges) = &self.privileges {
            params.insert("privileges".into(), Value::String(privileges.clone()));
        }
        if let Some(otp) = &self.otp {
            params.insert("otp".into(), Value::String(otp.expose_secret().to_owned()));
        }
        Ok(params)
    }

    /// Kaltura ignores the KS of this action (`@ksIgnored`); none is sent.
    fn needs_ks(&self) -> bool {
        false
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn login_by_login_id_params_and_debug() {
        let mut request = LoginByLoginIdRequest::new("alice@example.com", "Sup3r-Secret!");
        request.partner_id = Some(PartnerId::new(12345));
        request.expiry = Some(Duration::from_secs(60));
        request.otp = Some(SecretString::from("123456"));
        let params = Value::Object(request.params().unwrap());
        assert_eq!(
            params,
            serde_json::json!({
                "loginId": "alice@example.com",
                "password": "Sup3r-Secret!",
                "partnerId": 12345,
                "expiry": 60,
                "otp": "123456",
            })
        );
        assert!(!request.needs_ks());
        assert!(!request.is_read_only(), "a login is never retried");
        let debug = format!("{request:?}");
        assert!(!debug.contains("Sup3r-Secret!"), "{debug}");
        assert!(!debug.contains("123456"), "{debug}");
        assert!(debug.contains("alice@example.com"), "{debug}");
        let minimal = LoginByLoginIdRequest::new("a@b.c", "pw");
        assert_eq!(
            Value::Object(minimal.params().unwrap()),
            serde_json::json!({"loginId": "a@b.c", "password": "pw"})
        );
    }

    #[test]
    fn login_by_login_id_refuses_empty_credentials_before_sending() {
        for (login, password, what) in [(" ", "pw", "login id"), ("a@b.c", "", "password")] {
            let err = LoginByLoginIdRequest::new(login, password)
                .params()
                .unwrap_err();
            assert!(
                matches!(&err, Error::Build { message, .. } if message.contains(what)),
                "{err:?}"
            );
            assert!(err.is_not_sent());
        }
    }
}
