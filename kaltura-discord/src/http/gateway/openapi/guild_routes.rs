//! What every `/api/v1/guilds/{guild_id}/…` operation shares, written into the document once
//! instead of in each handler's annotation: the format of the path ids (parsed before use by
//! the guild extractor and the handlers) and the problems that the token check, the guild id
//! check, the rate limits and the JSON body reader answer on any of these routes. An
//! operation's own description of a status is kept; only missing ones are added.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};

use super::super::PROBLEM_CONTENT_TYPE;

/// The prefix of the routes of one guild.
const GUILD_ROUTES: &str = "/api/v1/guilds/{guild_id}";

/// The pattern of each path id: ids that match are always parsed (the parsers also take a
/// few more, like leading zeros, which clients have no reason to send).
const PATH_IDS: [(&str, &str); 3] = [
    // A Discord snowflake (`GuildId`: not zero, fits in 64 bits).
    ("guild_id", "^[1-9][0-9]{0,18}$"),
    // A Kaltura schedule event id (positive, fits in 63 bits).
    ("meeting_id", "^[1-9][0-9]{0,17}$"),
    // A Kaltura entry id (`EntryId::MAX_LEN` = 64).
    ("entry_id", "^[A-Za-z0-9_]{1,64}$"),
];

/// Adds the shared path id formats and problem responses to every guild operation.
pub(super) struct GuildRoutes;

/// The prefix of the sign-in routes.
const AUTH_ROUTES: &str = "/api/v1/auth/";

/// The pattern of each query parameter of the sign-in routes, as the handlers check them.
const AUTH_PARAMS: [(&str, &str); 4] = [
    ("guild_id", "^[1-9][0-9]{0,18}$"),
    // A local path: one leading `/`, no backslash, no spaces (at most 512 bytes).
    ("redirect", r"^/([^/\\\s][^\\\s]{0,510})?$"),
    // Visible ASCII, at most 512 bytes.
    ("code", "^[!-~]{1,512}$"),
    // What the gateway issues: 256 random bits as unpadded base64url.
    ("state", "^[A-Za-z0-9_-]{43}$"),
];

impl Modify for GuildRoutes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            if path.starts_with(AUTH_ROUTES) {
                for operation in operations(item) {
                    document_params(operation, &AUTH_PARAMS);
                    document_rate_limit(operation);
                }
                continue;
            }
            if !path.starts_with(GUILD_ROUTES) {
                continue;
            }
            for operation in operations(item) {
                document_path_ids(operation);
                document_problems(operation);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn document_path_ids(operation: &mut Operation) {
    document_params(operation, &PATH_IDS);
}

/// The per-IP rate limit answers on every route.
fn document_rate_limit(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    responses.entry("429".to_owned()).or_insert_with(|| {
        RefOr::T(
            ResponseBuilder::new()
                .description("Rate limited (per client IP)")
                .header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some("Seconds to wait before retrying"))
                        .build(),
                )
                .content(
                    PROBLEM_CONTENT_TYPE,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    });
}

fn document_params(operation: &mut Operation, patterns: &[(&str, &str)]) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let Some((_, pattern)) = patterns.iter().find(|(name, _)| *name == parameter.name) else {
            continue;
        };
        parameter.schema = Some(RefOr::T(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(*pattern))
                .into(),
        ));
    }
}

fn document_problems(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let mut shared = vec![
        (
            "400",
            "Invalid input: the guild id (or another path id) is malformed",
            None,
        ),
        (
            "401",
            "No valid token",
            Some((
                "WWW-Authenticate",
                "`Bearer realm=\"kaltura-discord\", error=\"invalid_token\"`",
            )),
        ),
        ("403", "Denied, or the token is for another guild", None),
        (
            "429",
            "Rate limited (per client IP or per token)",
            Some(("Retry-After", "Seconds to wait before retrying")),
        ),
    ];
    if has_body {
        shared.push(("413", "Body too large", None));
        shared.push(("415", "The body is not JSON", None));
    }
    let responses = &mut operation.responses.responses;
    for (status, description, header) in shared {
        let entry = responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_CONTENT_TYPE,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        });
        if let (RefOr::T(response), Some((name, text))) = (entry, header) {
            response.headers.entry(name.to_owned()).or_insert_with(|| {
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some(text))
                        .build(),
                )
            });
        }
    }
}
