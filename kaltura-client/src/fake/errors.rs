//! Kaltura API errors with the real codes, argument names and messages.
//!
//! Kaltura declares its errors as `"CODE;ARG1,ARG2;message with @ARG1@"` constants
//! (`api_v3/lib/KalturaErrors.php`, `alpha/apps/kaltura/lib/webservices/APIErrors.class.php`);
//! [`from_template`] expands such a constant, so the messages here are copied verbatim.

use crate::ApiError;

/// Expands a Kaltura error constant `CODE;ARG1,ARG2;message @ARG1@` with the given argument
/// values (in the declared order).
pub(crate) fn from_template(template: &str, values: &[&str]) -> ApiError {
    let mut parts = template.splitn(3, ';');
    let code = parts.next().unwrap_or_default();
    let names = parts.next().unwrap_or_default();
    let mut message = parts.next().unwrap_or_default().to_owned();
    let mut err = ApiError::new(code, "");
    for (name, value) in names.split(',').filter(|n| !n.is_empty()).zip(values) {
        message = message.replace(&format!("@{name}@"), value);
        err = err.with_arg(name, *value);
    }
    err.message = message;
    err
}

macro_rules! errors {
    ($( $(#[$m:meta])* $fn:ident ( $($arg:ident),* ) = $tpl:literal; )*) => {
        $(
            $(#[$m])*
            pub(crate) fn $fn($($arg: &str),*) -> ApiError {
                from_template($tpl, &[$($arg),*])
            }
        )*
    };
}

errors! {
    /// No `ks` parameter on an action that needs a session.
    missing_ks() = "MISSING_KS;;Missing KS, session not established";
    /// A KS was refused; `code`/`desc` are e.g. `-1`/`INVALID_STR`, `-5`/`EXPIRED`.
    invalid_ks(ksid, code, desc) = "INVALID_KS;KSID,ERR_CODE,ERR_DESC;Invalid KS \"@KSID@\", Error \"@ERR_CODE@,@ERR_DESC@\"";
    /// No service in the request.
    service_not_specified() = "SERVICE_NOT_SPECIFIED;;Service name was not specified, please specify one";
    /// Unknown service.
    service_does_not_exist(srv) = "SERVICE_DOES_NOT_EXISTS;SRV_NAME;Service \"@SRV_NAME@\" does not exists";
    /// No action in the request.
    action_not_specified() = "ACTION_NOT_SPECIFIED;;Action name was not specified, please specify one";
    /// Unknown action of a known service.
    action_does_not_exist(action, service) = "ACTION_DOES_NOT_EXISTS;ACTION_NAME,SERVICE_NAME;Action \"@ACTION_NAME@\" does not exists for service \"@SERVICE_NAME@\"";
    /// The session may not call this action (`service` is `media->add`).
    service_forbidden(service) = "SERVICE_FORBIDDEN;SERVICE;The access to service [@SERVICE@] is forbidden";
    /// Wrong secret or partner id in `session.start`.
    start_session_error(pid) = "START_SESSION_ERROR;PID;Error while starting session for partner [@PID@]";
    /// A mandatory parameter is missing.
    missing_parameter(name) = "MISSING_MANDATORY_PARAMETER;PARAM_NAME;Missing parameter \"@PARAM_NAME@\"";
    /// A mandatory object property is missing.
    property_cannot_be_null(prop) = "PROPERTY_VALIDATION_CANNOT_BE_NULL;PROP_NAME;The property \"@PROP_NAME@\" cannot be null";
    /// A value is not a member of the expected enum.
    invalid_enum_value(val, param, enum_type) = "INVALID_ENUM_VALUE;ENUM_VAL,PARAM_NAME,ENUM_TYPE;Invalid enumeration value \"@ENUM_VAL@\" for parameter \"@PARAM_NAME@\", expecting enumeration type \"@ENUM_TYPE@\"";
    /// A field value is not valid (user ids that do not match `PUSER_ID_REGEXP`).
    invalid_field_value(field) = "INVALID_FIELD_VALUE;FIELD_NAME;value in field [@FIELD_NAME@] is not valid";
    /// `media.get` & co on an unknown entry.
    entry_id_not_found(id) = "ENTRY_ID_NOT_FOUND;ENTRY_ID;Entry id \"@ENTRY_ID@\" not found";
    /// `user.get` & co on an unknown user.
    invalid_user_id() = "INVALID_USER_ID;;Invalid user id";
    /// A USER session asking for another user.
    cannot_retrieve_another_user(user) = "CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION;USER_ID;cannot retrieve another user \"@USER_ID@\" using non-admin session";
    /// `user.add` with an existing id.
    duplicate_user(uid) = "DUPLICATE_USER_BY_ID;UID;User with id [@UID@] already exists in system";
    /// `user.loginByLoginId`: unknown login id, or no user of the partner for it.
    user_not_found() = "USER_NOT_FOUND;;User was not found";
    /// `user.loginByLoginId`: wrong password.
    user_wrong_password() = "USER_WRONG_PASSWORD;;Wrong password supplied";
    /// `user.loginByLoginId`: this wrong password locked the login.
    login_retries_exceeded() = "LOGIN_RETRIES_EXCEEDED;;Maximum login retries exceeded. Your account has been locked and will not be available for 24 hours";
    /// `user.loginByLoginId`: the login is locked (Kaltura's typo kept).
    login_blocked() = "LOGIN_BLOCKED;;You account is locked";
    /// `user.loginByLoginId`: the user is blocked.
    user_is_blocked() = "USER_IS_BLOCKED;;User is blocked";
    /// Unknown category.
    category_not_found(id) = "CATEGORY_NOT_FOUND;ID;Category id \"@ID@\" not found";
    /// Unknown app token.
    app_token_not_found(id) = "APP_TOKEN_ID_NOT_FOUND;ID;Application token id \"@ID@\" not found";
    /// App token disabled or deleted.
    app_token_not_active(id) = "APP_TOKEN_NOT_ACTIVE;ID;Application token id \"@ID@\" not active";
    /// App token past its expiry.
    app_token_expired(id) = "APP_TOKEN_EXPIRED;ID;Application token id \"@ID@\" expired";
    /// `tokenHash` does not match.
    invalid_app_token_hash() = "INVALID_APP_TOKEN_HASH;;Invalid application token hash";
    /// Unknown widget in `session.startWidgetSession`.
    invalid_widget_id(id) = "INVALID_WIDGET_ID;WID;Invalid widget id [@WID@]";
    /// Unknown id of an integer-keyed object (generic).
    invalid_object_id(id) = "INVALID_OBJECT_ID;ID;Invalid object id [@ID@]";
    /// Unknown schedule resource.
    schedule_resource_not_found(id) = "SCHEDULE_RESOURCE_ID_NOT_FOUND;ID;Schedule Resource id [@ID@] not found";
    /// Unknown schedule event.
    schedule_event_not_found(id) = "SCHEDULE_EVENT_ID_NOT_FOUND;ID;Schedule Event id [@ID@] not found";
    /// Duplicate event/resource link.
    schedule_event_resource_exists(event, resource) = "SCHEDULE_EVENT_RESOURCE_ALREADY_EXISTS;EVENT_ID,RESOURCE_ID;Schedule event resource already exists with eventId[@EVENT_ID@] and resourceId (@RESOURCE_ID@)";
    /// Unknown virtual event.
    virtual_event_not_found(id) = "VIRTUAL_EVENT_NOT_FOUND;ID;Virtual event id [@ID@] not found";
    /// Back-reference substitution of a multirequest passed its bound (fake-only code: the
    /// real server has no such bound and runs out of memory instead).
    multirequest_expansion_too_large(max) = "MULTIREQUEST_EXPANSION_TOO_LARGE;MAX_BYTES;Multirequest back-references expand to more than @MAX_BYTES@ bytes";
    /// A catalog count limit was reached (fake-only code, worded like Kaltura's
    /// `MAX_NUMBER_OF_ACCESS_CONTROLS_REACHED`).
    max_objects_reached(kind, max) = "MAX_OBJECTS_REACHED;OBJECT_TYPE,MAX_NUM;Max number of \"@MAX_NUM@\" @OBJECT_TYPE@ objects was reached";
    /// The catalog's byte limit was reached (fake-only code).
    store_size_limit_reached(max) = "STORE_SIZE_LIMIT_REACHED;MAX_BYTES;The catalog is full (limit @MAX_BYTES@ bytes)";
    /// `setrole` names a role the partner does not have.
    unknown_role_id() = "UNKNOWN_ROLE_ID;;Unknown role id";
    /// Unknown event notification template.
    event_notification_template_not_found(id) = "EVENT_NOTIFICATION_TEMPLATE_NOT_FOUND;ID;Event notification template id [@ID@] not found";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_messages_and_args() {
        let e = entry_id_not_found("0_nope");
        assert_eq!(e.code, crate::ErrorCode::EntryIdNotFound);
        assert_eq!(e.message, "Entry id \"0_nope\" not found");
        assert_eq!(e.args.get("ENTRY_ID").map(String::as_str), Some("0_nope"));

        let e = invalid_ks("abc", "-1", "INVALID_STR");
        assert_eq!(e.message, "Invalid KS \"abc\", Error \"-1,INVALID_STR\"");
        assert_eq!(e.args.len(), 3);

        let e = missing_ks();
        assert!(e.args.is_empty());
        assert_eq!(e.message, "Missing KS, session not established");

        let e = action_does_not_exist("nope", "media");
        assert_eq!(
            e.message,
            "Action \"nope\" does not exists for service \"media\""
        );
    }
}
