//! `user` service: `KalturaUser` CRUD keyed by the partner's own user id (`discord_42`),
//! validated against Kaltura's `kuser::PUSER_ID_REGEXP`, and `user.loginByLoginId`.
//!
//! # Logins
//!
//! A user can sign in when it has a login ([`LoginData`], Kaltura's `UserLoginData`): a login
//! id (an email, compared without case), a password (kept as its SHA-256 digest) and the
//! failed-attempt counter. `user.loginByLoginId` follows `UserLoginDataPeer::userLogin` and
//! `loginAttemptsLogic`:
//!
//! 1. unknown login id → `USER_NOT_FOUND`;
//! 2. wrong password → while locked `LOGIN_BLOCKED`; else if this failure is the
//!    [`LoginLockout::max_attempts`]-th in a row, the login is locked for
//!    [`LoginLockout::block_period`] and the answer is `LOGIN_RETRIES_EXCEEDED`; else
//!    `USER_WRONG_PASSWORD`;
//! 3. right password while locked → `LOGIN_BLOCKED`; otherwise the counter is reset;
//! 4. another `partnerId` than the fake's, or a deleted user → `USER_NOT_FOUND`; a user with
//!    status BLOCKED (0) → `USER_IS_BLOCKED`;
//! 5. the KS: ADMIN for an admin user (`isAdmin`), USER otherwise, for the user's id, with
//!    the requested expiry (default 24 h, capped) and privileges (default `*`).
//!
//! Not modelled: password expiry, two-factor authentication (`otp` is ignored), single
//! sign-on only partners.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::{
    Ctx, Kind, apply, contains_ci, csv, list_response, page, pager, prop, prop_int, required,
    required_object, sort_by_order,
};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::params::{self, Params};
use crate::fake::store::Object;
use crate::ks::{SessionType, ct_eq};

/// Kaltura's lockout of a login after repeated wrong passwords (the partner's
/// `max_login_attempts` and `login_blocked_period`); see [`FakeKalturaBuilder::login_lockout`](crate::fake::FakeKalturaBuilder::login_lockout).
///
/// The default is Kaltura's own configuration default (`configurations/base.ini`:
/// `user_login_max_wrong_attempts = 5000`, `user_login_block_period = 0`), under which the
/// 5000th wrong password in a row answers `LOGIN_RETRIES_EXCEEDED` and locks nothing.
/// Hosted partners usually have a stricter setting; use e.g. [`LoginLockout::new`]`(5,
/// 24 h)` to test a lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLockout {
    /// Wrong passwords in a row that lock the login (at least 1).
    pub max_attempts: u32,
    /// How long a locked login stays locked.
    pub block_period: Duration,
}

impl LoginLockout {
    /// A lockout after `max_attempts` wrong passwords in a row (at least 1), for
    /// `block_period`.
    pub fn new(max_attempts: u32, block_period: Duration) -> Self {
        LoginLockout {
            max_attempts: max_attempts.max(1),
            block_period,
        }
    }
}

impl Default for LoginLockout {
    fn default() -> Self {
        LoginLockout::new(5000, Duration::ZERO)
    }
}

/// A user's login (`UserLoginData`). `Debug` shows neither the password nor its digest.
#[derive(Clone)]
pub(crate) struct LoginData {
    /// The user it signs in as.
    pub(crate) user_id: String,
    password_sha256: [u8; 32],
    /// Wrong passwords in a row.
    attempts: u32,
    /// Locked until this time (unix seconds).
    blocked_until: i64,
}

impl fmt::Debug for LoginData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginData")
            .field("user_id", &self.user_id)
            .field("attempts", &self.attempts)
            .field("blocked_until", &self.blocked_until)
            .finish_non_exhaustive()
    }
}

impl LoginData {
    /// A login of `user_id` with `password`.
    pub(crate) fn new(user_id: &str, password: &str) -> Self {
        LoginData {
            user_id: user_id.to_owned(),
            password_sha256: Sha256::digest(password.as_bytes()).into(),
            attempts: 0,
            blocked_until: 0,
        }
    }

    fn password_matches(&self, password: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        ct_eq(&given, &self.password_sha256)
    }

    /// A wrong password (`loginAttemptsLogic`): the error to answer.
    fn failed(&mut self, now: i64, lockout: LoginLockout) -> ApiError {
        if now < self.blocked_until {
            return errors::login_blocked();
        }
        if self.attempts.saturating_add(1) >= lockout.max_attempts {
            let period = i64::try_from(lockout.block_period.as_secs()).unwrap_or(i64::MAX);
            self.blocked_until = now.saturating_add(period);
            self.attempts = 0;
            return errors::login_retries_exceeded();
        }
        self.attempts += 1;
        errors::user_wrong_password()
    }
}

/// The key of a login id in the store (Kaltura compares them without case).
pub(crate) fn login_key(login_id: &str) -> String {
    login_id.trim().to_lowercase()
}

const WRITABLE: &[(&str, Kind)] = &[
    ("screenName", Kind::Str),
    ("fullName", Kind::Str),
    ("email", Kind::Str),
    ("firstName", Kind::Str),
    ("lastName", Kind::Str),
    ("status", Kind::Int),
    ("isAdmin", Kind::Bool),
    ("roleIds", Kind::Str),
    ("partnerData", Kind::Str),
    ("tags", Kind::Str),
    ("language", Kind::Str),
    ("company", Kind::Str),
    ("title", Kind::Str),
    ("thumbnailUrl", Kind::Str),
    ("description", Kind::Str),
    ("type", Kind::Int),
];

/// `^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$`
pub(crate) fn is_valid_user_id(id: &str) -> bool {
    (1..=320).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b",!#$%&'*+?^_`{|}~.@-".contains(&b))
}

/// A new user with its read-only properties.
pub(crate) fn new_user(pid: i64, id: &str, now: i64) -> Object {
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    o.insert("partnerId".into(), json!(pid));
    o.insert("type".into(), json!(0));
    o.insert("screenName".into(), json!(id));
    o.insert("status".into(), json!(1));
    o.insert("isAdmin".into(), json!(false));
    o.insert("createdAt".into(), json!(now));
    o.insert("updatedAt".into(), json!(now));
    o.insert("objectType".into(), json!("KalturaUser"));
    o
}

/// Derives `fullName` from first/last name when it was not given.
fn fill_full_name(o: &mut Object, explicit: bool) {
    if explicit {
        return;
    }
    let full = format!("{} {}", prop(o, "firstName"), prop(o, "lastName"))
        .trim()
        .to_owned();
    if !full.is_empty() {
        o.insert("fullName".into(), json!(full));
    }
}

/// `user.get(userId)`; an empty id means the session's user. A USER session may only read
/// its own user.
pub(crate) fn get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = params::non_empty(p.get("userId")).unwrap_or_else(|| ctx.session_user().to_owned());
    if !ctx.is_admin() && id != ctx.session_user() {
        return Err(errors::cannot_retrieve_another_user(&id));
    }
    ctx.store
        .users
        .get(&id)
        .map(|u| Value::Object(u.clone()))
        .ok_or_else(errors::invalid_user_id)
}

/// `user.add(user)`.
pub(crate) fn add(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let src = required_object(p, "user")?;
    let id =
        params::non_empty(src.get("id")).ok_or_else(|| errors::property_cannot_be_null("id"))?;
    if !is_valid_user_id(&id) {
        return Err(errors::invalid_field_value("id"));
    }
    if ctx.store.users.contains_key(&id) {
        return Err(errors::duplicate_user(&id));
    }
    let mut user = new_user(ctx.pid(), &id, ctx.now);
    apply(&mut user, src, WRITABLE);
    fill_full_name(&mut user, src.contains_key("fullName"));
    ctx.store.users.insert(id, user.clone());
    Ok(Value::Object(user))
}

/// `user.update(userId, user)`.
pub(crate) fn update(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "userId")?;
    let src = required_object(p, "user")?;
    let mut user = ctx
        .store
        .users
        .get(&id)
        .cloned()
        .ok_or_else(errors::invalid_user_id)?;
    apply(&mut user, src, WRITABLE);
    fill_full_name(&mut user, src.contains_key("fullName"));
    user.insert("updatedAt".into(), json!(ctx.now));
    ctx.store.users.insert(id, user.clone());
    Ok(Value::Object(user))
}

/// `user.delete(userId)` → the deleted user (status 2).
pub(crate) fn delete(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let id = required(p, "userId")?;
    let mut user = ctx
        .store
        .users
        .remove(&id)
        .ok_or_else(errors::invalid_user_id)?;
    user.insert("status".into(), json!(2));
    user.insert("updatedAt".into(), json!(ctx.now));
    Ok(Value::Object(user))
}

/// `user.list(filter, pager)` (filter: `idEqual`, `idIn`, `statusEqual`, `isAdminEqual`,
/// `screenNameLike`, `emailLike`, `firstNameOrLastNameStartsWith`, `orderBy`).
pub(crate) fn list(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let filter = params::object(p.get("filter"));
    let s = |name: &str| filter.and_then(|f| params::non_empty(f.get(name)));
    let id_equal = s("idEqual");
    let id_in = s("idIn");
    let screen_name_like = s("screenNameLike");
    let email_like = s("emailLike");
    let name_starts = s("firstNameOrLastNameStartsWith").map(|v| v.to_lowercase());
    let status = filter.and_then(|f| params::int(f.get("statusEqual")));
    let is_admin = filter.and_then(|f| params::boolean(f.get("isAdminEqual")));
    let mut matching: Vec<&Object> = ctx
        .store
        .users
        .values()
        .filter(|u| id_equal.as_deref().is_none_or(|v| prop(u, "id") == v))
        .filter(|u| {
            id_in
                .as_deref()
                .is_none_or(|l| csv(l).contains(&prop(u, "id")))
        })
        .filter(|u| {
            screen_name_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(u, "screenName"), v))
        })
        .filter(|u| {
            email_like
                .as_deref()
                .is_none_or(|v| contains_ci(prop(u, "email"), v))
        })
        .filter(|u| {
            name_starts.as_deref().is_none_or(|v| {
                prop(u, "firstName").to_lowercase().starts_with(v)
                    || prop(u, "lastName").to_lowercase().starts_with(v)
            })
        })
        .filter(|u| status.is_none_or(|v| prop_int(u, "status") == Some(v)))
        .filter(|u| {
            is_admin.is_none_or(|v| u.get("isAdmin").and_then(Value::as_bool).unwrap_or(false) == v)
        })
        .collect();
    if let Some(order) = s("orderBy") {
        sort_by_order(&mut matching, &order);
    }
    let total = matching.len();
    let objects = page(matching, pager(p, "pager"))
        .into_iter()
        .map(|u| Value::Object(u.clone()))
        .collect();
    Ok(list_response("KalturaUserListResponse", objects, total))
}

/// `user.loginByLoginId(loginId, password, partnerId, expiry, privileges, otp)` → the
/// user's KS; see the [module docs](self#logins).
pub(crate) fn login_by_login_id(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let login_id = required(p, "loginId")?;
    let password =
        params::string(p.get("password")).ok_or_else(|| errors::missing_parameter("password"))?;
    let requested_partner = params::int(p.get("partnerId")).filter(|pid| *pid != 0);
    let lockout = ctx.shared.login_lockout;
    let now = ctx.now;
    let login = ctx
        .store
        .logins
        .get_mut(&login_key(&login_id))
        .ok_or_else(errors::user_not_found)?;
    if !login.password_matches(&password) {
        return Err(login.failed(now, lockout));
    }
    if now < login.blocked_until {
        return Err(errors::login_blocked());
    }
    login.attempts = 0;
    let user_id = login.user_id.clone();
    if requested_partner.is_some_and(|pid| pid != ctx.pid()) {
        return Err(errors::user_not_found());
    }
    let user = ctx
        .store
        .users
        .get(&user_id)
        .ok_or_else(errors::user_not_found)?;
    match prop_int(user, "status") {
        Some(1) => {}
        Some(0) => return Err(errors::user_is_blocked()),
        _ => return Err(errors::user_not_found()),
    }
    let session_type = if user.get("isAdmin").and_then(Value::as_bool) == Some(true) {
        SessionType::Admin
    } else {
        SessionType::User
    };
    let expiry = super::session::effective_expiry(ctx.shared, params::int(p.get("expiry")));
    let privileges = params::non_empty(p.get("privileges")).unwrap_or_else(|| "*".to_owned());
    super::session::sign(ctx.shared, session_type, &user_id, expiry, &privileges).map(Value::String)
}
