//! `session` service and the KS check every other action goes through.
//!
//! KS refusals are all `INVALID_KS` with `KSID` = the KS as sent and:
//!
//! | case | `ERR_CODE` | `ERR_DESC` |
//! |---|---|---|
//! | not a KS, bad signature / hash (wrong admin secret), tampered | `-1` | `INVALID_STR` |
//! | well-formed KS of another partner id | `-2` | `INVALID_PARTNER` |
//! | `valid_until <= now` (server clock) | `-5` | `EXPIRED` |
//! | ended with `session.end` | `-6` | `LOGOUT` |
//!
//! # What USER sessions may see
//!
//! The fake enforces the KS privileges this workspace relies on, as Kaltura and KAF read them:
//!
//! * `eventId:<id>` / `resourceId:<id>` (the Kaltura Meetings join KS) scope a USER session
//!   to that schedule event / resource and what is linked to it: `scheduleEvent.get` of any
//!   other event answers `SCHEDULE_EVENT_ID_NOT_FOUND` (out-of-scope objects are invisible,
//!   as Kaltura's partner/entitlement filters make them), `scheduleResource.get` likewise
//!   `SCHEDULE_RESOURCE_ID_NOT_FOUND`, and the `list` actions of events, resources and
//!   event-resource links only return what is in scope. With both privileges, either grants.
//! * `virtualeventid:<id>` scopes `virtualEvent.get`/`list` the same way.
//! * `setrole:<role>` is validated when a session is created (`session.start`,
//!   `appToken.startSession`): an unknown role answers `UNKNOWN_ROLE_ID`, as
//!   `ks::validatePrivileges` does. The fake knows the roles in [`KNOWN_ROLES`]; it does not
//!   narrow what the role may call.
//!
//! Not enforced (not modelled): `sview`/`download` (playback is not served, so there is no
//! access-control profile to satisfy), `limitentry`, `privacycontext`, `actionslimit`, IP and
//! URI restrictions. USER sessions without a scoping privilege read every schedule object
//! of the partner, as they do on Kaltura.

use std::str::FromStr;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Ctx, required};
use crate::ApiError;
use crate::fake::errors;
use crate::fake::params::{self, Params};
use crate::fake::store::Store;
use crate::fake::{Shared, expose};
use crate::ks::{self, KsBuilder, Privilege, Privileges, SessionType, ct_eq};

/// Roles a `setrole` privilege may name on the fake partner (Kaltura system role names).
pub(crate) const KNOWN_ROLES: &[&str] = &["PLAYBACK_BASE_ROLE", "WIDGET_SESSION_ROLE"];

/// A verified session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) ks: String,
    pub(crate) session_type: SessionType,
    pub(crate) user_id: String,
    pub(crate) valid_until: i64,
    pub(crate) privileges: Privileges,
}

impl Session {
    pub(crate) fn is_admin(&self) -> bool {
        self.session_type.is_admin()
    }

    /// The value of a privilege that limits a USER session (`None` for ADMIN sessions,
    /// which privileges never limit here, and when absent). A value that is not an id
    /// matches nothing.
    pub(crate) fn scope(&self, name: &str) -> Option<Scope> {
        if self.is_admin() {
            return None;
        }
        let p = self.privileges.get(name)?;
        Some(Scope(p.value().and_then(|v| v.trim().parse::<i64>().ok())))
    }
}

/// The one id a scoping privilege allows (`None`: a malformed value, allowing nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope(pub(crate) Option<i64>);

/// Verifies a KS like the server: signature, partner, expiry, logout.
pub(crate) fn authenticate(
    shared: &Shared,
    store: &Store,
    ks: &str,
    now: i64,
) -> Result<Session, ApiError> {
    let invalid = |code: &str, desc: &str| errors::invalid_ks(ks, code, desc);
    if let Ok(unverified) = ks::inspect(ks)
        && unverified.partner_id != shared.partner_id
    {
        return Err(invalid("-2", "INVALID_PARTNER"));
    }
    let decoded = shared
        .signer
        .decode(ks)
        .map_err(|_| invalid("-1", "INVALID_STR"))?;
    if decoded.partner_id != shared.partner_id {
        return Err(invalid("-2", "INVALID_PARTNER"));
    }
    if decoded.is_expired_at(now) {
        return Err(invalid("-5", "EXPIRED"));
    }
    if store.ended_sessions.contains_key(ks) {
        return Err(invalid("-6", "LOGOUT"));
    }
    Ok(Session {
        ks: ks.to_owned(),
        session_type: decoded.session_type,
        user_id: decoded.user_id,
        valid_until: decoded.valid_until,
        privileges: decoded.privileges,
    })
}

/// Signs a KS for this partner with the server clock.
pub(crate) fn sign(
    shared: &Shared,
    session_type: SessionType,
    user_id: &str,
    expiry_secs: i64,
    privileges: &str,
) -> Result<String, ApiError> {
    let privileges =
        Privileges::from_str(privileges).map_err(|_| errors::invalid_field_value("privileges"))?;
    if let Some(role) = privileges.get("setrole").map(Privilege::value)
        && !role.is_some_and(|r| KNOWN_ROLES.contains(&r))
    {
        return Err(errors::unknown_role_id());
    }
    let builder = KsBuilder::new(shared.partner_id)
        .session_type(session_type)
        .user_id(user_id)
        .expiry(Duration::from_secs(u64::try_from(expiry_secs).unwrap_or(0)))
        .privileges(privileges)
        .version(shared.ks_version);
    shared
        .signer
        .sign_with(&builder, shared.clock.as_ref(), &mut ks::OsRandom)
        .map(|k| k.expose_secret().to_owned())
        .map_err(|e| {
            tracing::debug!(error = %e, "fake kaltura: cannot sign KS");
            errors::invalid_field_value("userId")
        })
}

/// The effective expiry: default 86400, capped by the partner maximum.
pub(crate) fn effective_expiry(shared: &Shared, requested: Option<i64>) -> i64 {
    let e = requested.filter(|e| *e > 0).unwrap_or(86_400);
    e.min(shared.max_ks_expiry)
}

/// Parses a `KalturaSessionType` parameter (default USER).
pub(crate) fn session_type_param(params: &Params, name: &str) -> Result<SessionType, ApiError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(SessionType::User),
        Some(v) => match params::int(Some(v)) {
            Some(0) => Ok(SessionType::User),
            Some(2) => Ok(SessionType::Admin),
            _ => Err(errors::invalid_enum_value(
                &params::string(Some(v)).unwrap_or_default(),
                name,
                "KalturaSessionType",
            )),
        },
    }
}

/// `session.start(secret, userId, type, partnerId, expiry, privileges)` → KS string.
pub(crate) fn start(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let secret = required(p, "secret")?;
    let pid_param = params::string(p.get("partnerId")).unwrap_or_default();
    let session_type = session_type_param(p, "type")?;
    if params::int(p.get("partnerId")) != Some(ctx.pid()) {
        return Err(errors::start_session_error(&pid_param));
    }
    let is_admin_secret = ct_eq(
        secret.as_bytes(),
        expose(&ctx.shared.admin_secret).as_bytes(),
    );
    let is_user_secret = ct_eq(
        secret.as_bytes(),
        expose(&ctx.shared.user_secret).as_bytes(),
    );
    if !(is_admin_secret || (is_user_secret && !session_type.is_admin())) {
        return Err(errors::start_session_error(&pid_param));
    }
    let user_id = params::string(p.get("userId")).unwrap_or_default();
    let expiry = effective_expiry(ctx.shared, params::int(p.get("expiry")));
    let privileges = params::string(p.get("privileges")).unwrap_or_default();
    sign(ctx.shared, session_type, &user_id, expiry, &privileges).map(Value::String)
}

/// `session.startWidgetSession(widgetId, expiry)` → `KalturaStartWidgetSessionResponse`.
pub(crate) fn start_widget_session(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let widget_id = required(p, "widgetId")?;
    if widget_id != format!("_{}", ctx.pid()) {
        return Err(errors::invalid_widget_id(&widget_id));
    }
    let expiry = effective_expiry(ctx.shared, params::int(p.get("expiry")));
    let ks = sign(ctx.shared, SessionType::User, "", expiry, "view:*,widget:1")?;
    Ok(json!({
        "partnerId": ctx.pid(),
        "ks": ks,
        "userId": "0",
        "objectType": "KalturaStartWidgetSessionResponse"
    }))
}

/// `KalturaSessionInfo` for a session.
pub(crate) fn session_info(ctx: &Ctx<'_>, s: &Session) -> Value {
    json!({
        "ks": s.ks,
        "sessionType": s.session_type.as_i64(),
        "partnerId": ctx.pid(),
        "userId": s.user_id,
        "expiry": s.valid_until,
        "privileges": s.privileges.to_string(),
        "objectType": "KalturaSessionInfo"
    })
}

/// `session.get(session = current KS)` → `KalturaSessionInfo`.
pub(crate) fn get(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let session = match params::non_empty(p.get("session")) {
        Some(other) => authenticate(ctx.shared, ctx.store, &other, ctx.now)?,
        None => ctx.session.clone().ok_or_else(errors::missing_ks)?,
    };
    Ok(session_info(ctx, &session))
}

/// `session.end()` → null; the KS is refused afterwards (`-6,LOGOUT`).
pub(crate) fn end(ctx: &mut Ctx<'_>, _p: &Params) -> Result<Value, ApiError> {
    if let Some(s) = &ctx.session {
        ctx.store.ended_sessions.insert(s.ks.clone(), s.valid_until);
    }
    Ok(Value::Null)
}
