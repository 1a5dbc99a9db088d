//! `rest::TwilightRest` against a fake Discord (wiremock on loopback): every trait method's
//! method, path, headers and body; error mapping; rate limits; no token in any error.

use crate::support::Captured;
use std::time::Duration;

use kaltura_discord::commands::InteractionToken;
use kaltura_discord::commands::Reply;
use kaltura_discord::commands::definition::commands_json;
use kaltura_discord::commands::reply::{ActionRow, Button, Embed};
use kaltura_discord::rest::{
    DiscordError, DiscordErrorKind, DiscordRest, EventClosure, ScheduledEventSpec, TwilightRest,
    WebhookUrl,
};
use kaltura_discord::{
    ApplicationId, ChannelId, DiscordUserId, Error, GuildId, MessageId, RoleId, ScheduledEventId,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const BOT_TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.MARKER-BOT-TOKEN.x";
const INTERACTION_TOKEN: &str = "aW50ZXJhY3Rpb246MARKER-INTERACTION-TOKEN";
const WEBHOOK_TOKEN: &str =
    "MARKER-WEBHOOK-TOKEN_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRST";
const APP: u64 = 1_234_567_890_123_456_789;
const GUILD: u64 = 987_654_321_098_765_432;
const CHANNEL: u64 = 1_122_334_455_667_788_990;
const MESSAGE: u64 = 1_300_000_000_000_000_777;
const EVENT: u64 = 1_300_000_000_000_000_888;
const WEBHOOK: u64 = 1_300_000_000_000_000_999;

/// Matches requests WITHOUT an `Authorization` header.
struct NoAuthorization;

impl Match for NoAuthorization {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key("authorization")
    }
}

/// Matches Discord's required `User-Agent: DiscordBot ($url, $version)`, which twilight follows
/// with ` Twilight-rs` (wiremock's header
/// matchers split values at commas, so this one reads the raw header).
struct DiscordUserAgent;

impl Match for DiscordUserAgent {
    fn matches(&self, request: &Request) -> bool {
        request
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| {
                ua.starts_with("DiscordBot (") && ua.contains(", ") && ua.contains(')')
            })
    }
}

fn app() -> ApplicationId {
    ApplicationId::new(APP).unwrap_or_else(|| unreachable!())
}
fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap_or_else(|| unreachable!())
}
fn channel() -> ChannelId {
    ChannelId::new(CHANNEL).unwrap_or_else(|| unreachable!())
}
fn message() -> MessageId {
    MessageId::new(MESSAGE).unwrap_or_else(|| unreachable!())
}
fn token() -> InteractionToken {
    InteractionToken::new(INTERACTION_TOKEN)
}

async fn fake() -> (MockServer, TwilightRest) {
    let server = MockServer::start().await;
    let rest = client(
        &server.uri(),
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    (server, rest)
}

fn client(base: &str, timeout: Duration, budget: Duration) -> TwilightRest {
    TwilightRest::builder(SecretString::from(BOT_TOKEN.to_owned()))
        .base_url(base)
        .timeout(timeout)
        .budget(budget)
        .build()
        .unwrap_or_else(|e| panic!("building the client: {e}"))
}

/// A mock for a bot-token route: method, path, `Authorization: Bot …`, User-Agent,
/// Content-Type when there is a body.
fn bot(verb: &str, p: String, with_body: bool) -> wiremock::MockBuilder {
    let m = Mock::given(method(verb))
        .and(path(p))
        .and(header("authorization", format!("Bot {BOT_TOKEN}").as_str()))
        .and(DiscordUserAgent);
    if with_body {
        m.and(header("content-type", "application/json"))
    } else {
        m
    }
}

/// A mock for an interaction-token or webhook route: no `Authorization` at all.
fn tokened(verb: &str, p: String) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(p))
        .and(NoAuthorization)
        .and(DiscordUserAgent)
        .and(header("content-type", "application/json"))
}

fn message_json(id: u64) -> Value {
    json!({"id": id.to_string(), "channel_id": CHANNEL.to_string(), "content": "x"})
}

fn rich_reply() -> Reply {
    Reply::text("The recording is ready @everyone")
        .embed(Embed::titled("Quarterly all-hands").field("Duration", "42 min", true))
        .row(ActionRow::Buttons(vec![Button::Link {
            label: "Watch".to_owned(),
            url: "https://example.invalid/watch/0_abc".to_owned(),
        }]))
}

fn discord_error(e: &Error) -> &DiscordError {
    match e {
        Error::Discord(d) => d,
        other => panic!("expected Error::Discord, got {other:?}"),
    }
}

fn assert_no_secret(e: &Error) {
    let shown = format!("{e} {e:?}");
    for marker in [
        "MARKER-BOT-TOKEN",
        "MARKER-INTERACTION-TOKEN",
        "MARKER-WEBHOOK-TOKEN",
    ] {
        assert!(!shown.contains(marker), "{marker} leaked: {shown}");
    }
}

#[tokio::test]
async fn edit_original_patches_without_the_bot_token() {
    let (server, rest) = fake().await;
    let reply = rich_reply();
    tokened(
        "PATCH",
        format!("/api/v10/webhooks/{APP}/{INTERACTION_TOKEN}/messages/@original"),
    )
    .and(body_json(reply.to_edit_json()))
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json(MESSAGE)))
    .expect(1)
    .mount(&server)
    .await;
    rest.edit_original(app(), &token(), &reply)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn followups_post_to_the_interaction_webhook_and_return_the_message_id() {
    let (server, rest) = fake().await;
    let reply = Reply::text("only you see this").ephemeral();
    let expected = reply.to_message_json();
    assert_eq!(
        expected["flags"], 64,
        "a follow-up keeps the ephemeral flag"
    );
    tokened(
        "POST",
        format!("/api/v10/webhooks/{APP}/{INTERACTION_TOKEN}"),
    )
    .and(body_json(expected))
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json(MESSAGE)))
    .expect(1)
    .mount(&server)
    .await;
    let id = rest
        .create_followup(app(), &token(), &reply)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, message());
}

#[tokio::test]
async fn commands_are_listed_and_registered_globally_and_per_guild() {
    let (server, rest) = fake().await;
    let registration = commands_json().unwrap_or_else(|e| panic!("{e}"));
    let registered: Value =
        serde_json::from_str(registration.as_json()).unwrap_or_else(|e| panic!("{e}"));
    let answer = json!([
        {"id": "1300000000000000001", "name": "kaltura", "type": 1, "version": "1"},
        {"id": "1300000000000000002", "name": "kaltura-admin", "type": 1, "version": "1"}
    ]);
    bot(
        "GET",
        format!("/api/v10/applications/{APP}/commands"),
        false,
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
    .expect(1)
    .mount(&server)
    .await;
    bot(
        "GET",
        format!("/api/v10/applications/{APP}/guilds/{GUILD}/commands"),
        false,
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
    .expect(1)
    .mount(&server)
    .await;
    bot("PUT", format!("/api/v10/applications/{APP}/commands"), true)
        .and(body_json(registered.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
        .expect(1)
        .mount(&server)
        .await;
    bot(
        "PUT",
        format!("/api/v10/applications/{APP}/guilds/{GUILD}/commands"),
        true,
    )
    .and(body_json(registered))
    .respond_with(ResponseTemplate::new(200).set_body_json(answer))
    .expect(1)
    .mount(&server)
    .await;

    let global = rest
        .list_commands(app(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<(&str, &str)> = global
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("1300000000000000001", "kaltura"),
            ("1300000000000000002", "kaltura-admin")
        ]
    );
    let in_guild = rest
        .list_commands(app(), Some(guild()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(in_guild.is_empty());
    for scope in [None, Some(guild())] {
        let done = rest
            .register_commands(app(), scope, &registration)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done.len(), 2);
        assert_eq!(done[1].name, "kaltura-admin");
    }
}

#[tokio::test]
async fn scheduled_events_are_external_and_closed_by_status() {
    let (server, rest) = fake().await;
    let spec = ScheduledEventSpec {
        name: "Weekly sync".to_owned(),
        description: Some("Kaltura Meetings room".to_owned()),
        location: "https://example.invalid/meetings/42".to_owned(),
        start_unix: 1_796_043_600,
        end_unix: 1_796_047_200,
    };
    bot(
        "POST",
        format!("/api/v10/guilds/{GUILD}/scheduled-events"),
        true,
    )
    .respond_with(
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": EVENT.to_string(), "guild_id": GUILD.to_string()})),
    )
    .expect(1)
    .mount(&server)
    .await;
    for status in [3, 4] {
        bot(
            "PATCH",
            format!("/api/v10/guilds/{GUILD}/scheduled-events/{EVENT}"),
            true,
        )
        .and(body_json(json!({"status": status})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": EVENT.to_string()})))
        .expect(1)
        .mount(&server)
        .await;
    }
    let event = rest
        .create_scheduled_event(guild(), &spec)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        event,
        ScheduledEventId::new(EVENT).unwrap_or_else(|| unreachable!())
    );
    rest.close_scheduled_event(guild(), event, EventClosure::Completed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rest.close_scheduled_event(guild(), event, EventClosure::Canceled)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let requests = server.received_requests().await.unwrap_or_default();
    let created: Value =
        serde_json::from_slice(&requests[0].body).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_json_snapshot!("scheduled_event_body", created);
}

#[tokio::test]
async fn guild_members_roles_are_read_and_absent_members_are_none() {
    let (server, rest) = fake().await;
    let member = 80_351_110_224_678_912_u64;
    let gone = 80_351_110_224_678_913_u64;
    let broken = 80_351_110_224_678_914_u64;
    bot(
        "GET",
        format!("/api/v10/guilds/{GUILD}/members/{member}"),
        false,
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "user": {"id": member.to_string()}, "roles": ["41771983423143936"],
    })))
    .expect(1)
    .mount(&server)
    .await;
    bot(
        "GET",
        format!("/api/v10/guilds/{GUILD}/members/{gone}"),
        false,
    )
    .respond_with(
        ResponseTemplate::new(404)
            .set_body_json(json!({"code": 10007, "message": "Unknown Member"})),
    )
    .mount(&server)
    .await;
    bot(
        "GET",
        format!("/api/v10/guilds/{GUILD}/members/{broken}"),
        false,
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roles": ["x"]})))
    .mount(&server)
    .await;
    let user = |id| DiscordUserId::new(id).unwrap_or_else(|| unreachable!());
    let roles = rest
        .guild_member_roles(guild(), user(member))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        roles,
        Some(vec![
            RoleId::new(41_771_983_423_143_936).unwrap_or_else(|| unreachable!())
        ])
    );
    let roles = rest
        .guild_member_roles(guild(), user(gone))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roles, None);
    let err = rest
        .guild_member_roles(guild(), user(broken))
        .await
        .err()
        .unwrap_or_else(|| panic!("a malformed member is an error"));
    assert_eq!(discord_error(&err).kind, DiscordErrorKind::Unavailable);
}

#[tokio::test]
async fn channel_messages_are_posted_and_edited_with_the_bot_token() {
    let (server, rest) = fake().await;
    let reply = rich_reply().ephemeral();
    let mut posted = reply.to_message_json();
    posted
        .as_object_mut()
        .map(|o| o.remove("flags"))
        .unwrap_or_else(|| panic!("not an object"));
    bot(
        "POST",
        format!("/api/v10/channels/{CHANNEL}/messages"),
        true,
    )
    .and(body_json(posted))
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json(MESSAGE)))
    .expect(1)
    .mount(&server)
    .await;
    bot(
        "PATCH",
        format!("/api/v10/channels/{CHANNEL}/messages/{MESSAGE}"),
        true,
    )
    .and(body_json(reply.to_edit_json()))
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json(MESSAGE)))
    .expect(1)
    .mount(&server)
    .await;
    let id = rest
        .create_message(channel(), &reply)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, message());
    rest.edit_message(channel(), id, &reply)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn channel_webhooks_wait_for_the_message_and_send_no_bot_token() {
    let (server, rest) = fake().await;
    let webhook = WebhookUrl::parse(&format!(
        "https://discord.com/api/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let reply = rich_reply();
    tokened(
        "POST",
        format!("/api/v10/webhooks/{WEBHOOK}/{WEBHOOK_TOKEN}"),
    )
    .and(query_param("wait", "true"))
    .and(query_param("with_components", "true"))
    .and(body_json(reply.to_message_json()))
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json(MESSAGE)))
    .expect(1)
    .mount(&server)
    .await;
    let id = rest
        .execute_webhook(&webhook, &reply)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, message());
}

#[tokio::test]
async fn errors_are_classified_from_the_status_and_discords_body() {
    let (server, rest) = fake().await;
    let cases = [
        (
            404,
            json!({"message": "Unknown Channel", "code": 10003}),
            DiscordErrorKind::NotFound,
        ),
        (
            403,
            json!({"message": "Missing Access", "code": 50001}),
            DiscordErrorKind::Forbidden,
        ),
        (
            400,
            json!({"message": "Invalid Form Body", "code": 50035}),
            DiscordErrorKind::Rejected,
        ),
        (
            500,
            json!({"message": "500: Internal Server Error", "code": 0}),
            DiscordErrorKind::Unavailable,
        ),
    ];
    let mut shown = Vec::new();
    for (status, body, kind) in cases {
        let channel_id = 1_000 + u64::from(status);
        bot(
            "POST",
            format!("/api/v10/channels/{channel_id}/messages"),
            true,
        )
        .respond_with(ResponseTemplate::new(status).set_body_json(body.clone()))
        .expect(1)
        .mount(&server)
        .await;
        let channel = ChannelId::new(channel_id).unwrap_or_else(|| unreachable!());
        let err = rest
            .create_message(channel, &Reply::text("hi"))
            .await
            .err()
            .unwrap_or_else(|| panic!("{status} must fail"));
        let d = discord_error(&err);
        assert_eq!(d.kind, kind, "{status}");
        assert_eq!(d.status, Some(status));
        assert_eq!(
            d.code,
            body["code"].as_u64().and_then(|c| u32::try_from(c).ok())
        );
        assert_eq!(d.message.as_deref(), body["message"].as_str());
        assert_eq!(d.is_permanent(), status < 500, "{status}");
        assert_no_secret(&err);
        shown.push(err.to_string());
    }
    insta::assert_json_snapshot!("error_messages", shown);
}

#[tokio::test]
async fn an_expired_interaction_is_not_found_and_the_token_never_shows() {
    let (server, rest) = fake().await;
    // A hostile (or careless) server echoing the token in its message.
    tokened(
        "PATCH",
        format!("/api/v10/webhooks/{APP}/{INTERACTION_TOKEN}/messages/@original"),
    )
    .respond_with(ResponseTemplate::new(404).set_body_json(json!({
        "message": format!("Unknown Webhook {INTERACTION_TOKEN} {BOT_TOKEN}"),
        "code": 10015
    })))
    .expect(1)
    .mount(&server)
    .await;
    let err = rest
        .edit_original(app(), &token(), &Reply::text("late"))
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    let d = discord_error(&err);
    assert_eq!(d.kind, DiscordErrorKind::NotFound);
    assert_eq!(d.code, Some(10015));
    assert!(d.is_permanent());
    assert_no_secret(&err);
    assert!(format!("{rest:?}").contains("<redacted>"));
    assert!(!format!("{rest:?}").contains("MARKER"));
}

#[tokio::test]
async fn a_429_with_retry_after_zero_is_retried_and_the_call_succeeds() {
    let (server, rest) = fake().await;
    bot(
        "POST",
        format!("/api/v10/channels/{CHANNEL}/messages"),
        true,
    )
    .respond_with(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "0")
            .set_body_json(json!({
                "message": "You are being rate limited.",
                "retry_after": 0.0,
                "global": false
            })),
    )
    .up_to_n_times(1)
    .expect(1)
    .mount(&server)
    .await;
    bot(
        "POST",
        format!("/api/v10/channels/{CHANNEL}/messages"),
        true,
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json(MESSAGE)))
    .expect(1)
    .mount(&server)
    .await;
    let id = rest
        .create_message(channel(), &Reply::text("hi"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, message());
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_budget_fails_as_rate_limited() {
    let server = MockServer::start().await;
    let rest = client(
        &server.uri(),
        Duration::from_millis(500),
        Duration::from_millis(800),
    );
    // Discord's answer when a bucket is exhausted: twilight waits `reset-after` (30 s)
    // before the next attempt, longer than the call's budget.
    bot("POST", format!("/api/v10/channels/{CHANNEL}/messages"), true)
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .insert_header("x-ratelimit-scope", "user")
                .insert_header("x-ratelimit-bucket", "abcd1234")
                .insert_header("x-ratelimit-limit", "5")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset-after", "30.000")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 30.0, "global": false})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = rest
        .create_message(channel(), &Reply::text("hi"))
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    let d = discord_error(&err);
    assert_eq!(d.kind, DiscordErrorKind::RateLimited);
    assert!(!d.is_permanent());
    assert_eq!(err.kind(), kaltura_discord::ErrorKind::Unavailable);
}

#[tokio::test]
async fn unreachable_slow_and_garbled_discord_is_unavailable() {
    // Nothing listens on the port of a dropped server.
    let closed = {
        let server = MockServer::start().await;
        server.uri()
    };
    let rest = client(&closed, Duration::from_millis(500), Duration::from_secs(2));
    let err = rest
        .create_message(channel(), &Reply::text("hi"))
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(discord_error(&err).kind, DiscordErrorKind::Unavailable);
    assert_no_secret(&err);

    let server = MockServer::start().await;
    let rest = client(
        &server.uri(),
        Duration::from_millis(300),
        Duration::from_secs(2),
    );
    bot(
        "PATCH",
        format!("/api/v10/channels/{CHANNEL}/messages/{MESSAGE}"),
        true,
    )
    .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
    .expect(1)
    .mount(&server)
    .await;
    bot(
        "POST",
        format!("/api/v10/channels/{CHANNEL}/messages"),
        true,
    )
    .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
    .expect(1)
    .mount(&server)
    .await;
    bot(
        "GET",
        format!("/api/v10/applications/{APP}/commands"),
        false,
    )
    .respond_with(
        ResponseTemplate::new(200).set_body_json(json!([{"id": "../../etc", "name": "x"}])),
    )
    .expect(1)
    .mount(&server)
    .await;
    let slow = rest
        .edit_message(channel(), message(), &Reply::text("hi"))
        .await
        .err()
        .unwrap_or_else(|| panic!("must time out"));
    assert_eq!(discord_error(&slow).kind, DiscordErrorKind::Unavailable);
    let garbled = rest
        .create_message(channel(), &Reply::text("hi"))
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(discord_error(&garbled).kind, DiscordErrorKind::Unavailable);
    let hostile = rest
        .list_commands(app(), None)
        .await
        .err()
        .unwrap_or_else(|| panic!("a hostile id must be refused"));
    assert_eq!(discord_error(&hostile).kind, DiscordErrorKind::Unavailable);
}

#[tokio::test]
async fn a_success_without_a_message_id_is_an_error_not_a_panic() {
    let (server, rest) = fake().await;
    tokened(
        "POST",
        format!("/api/v10/webhooks/{APP}/{INTERACTION_TOKEN}"),
    )
    .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
    .expect(1)
    .mount(&server)
    .await;
    let err = rest
        .create_followup(app(), &token(), &Reply::text("hi"))
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(discord_error(&err).kind, DiscordErrorKind::Unavailable);
}

#[tokio::test]
async fn a_refused_bot_token_is_forbidden_and_remembered() {
    let (server, rest) = fake().await;
    bot(
        "GET",
        format!("/api/v10/applications/{APP}/commands"),
        false,
    )
    .respond_with(
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": "401: Unauthorized", "code": 0})),
    )
    .expect(1)
    .mount(&server)
    .await;
    for _ in 0..2 {
        let err = rest
            .list_commands(app(), None)
            .await
            .err()
            .unwrap_or_else(|| panic!("must fail"));
        assert_eq!(discord_error(&err).kind, DiscordErrorKind::Forbidden);
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn bad_base_urls_are_setup_errors() {
    for bad in [
        "ftp://127.0.0.1",
        "http://127.0.0.1/api",
        "http://user:pw@127.0.0.1",
    ] {
        let built = TwilightRest::builder(SecretString::from(BOT_TOKEN.to_owned()))
            .base_url(bad)
            .build();
        match built {
            Err(e @ Error::Setup(_)) => assert_no_secret(&e),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_name_the_operation_and_route_but_never_a_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The filter the module documentation recommends: twilight-http's own `request` span
    // holds the token in its path, so its target is kept at `error`.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,twilight_http=error",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, rest) = fake().await;
    tokened(
        "PATCH",
        format!("/api/v10/webhooks/{APP}/{INTERACTION_TOKEN}/messages/@original"),
    )
    .respond_with(
        ResponseTemplate::new(404)
            .set_body_json(json!({"message": "Unknown Webhook", "code": 10015})),
    )
    .expect(1)
    .mount(&server)
    .await;
    let failed = rest
        .edit_original(app(), &token(), &Reply::text("late"))
        .await;
    assert!(failed.is_err());

    let logs = captured
        .0
        .lock()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default();
    assert!(logs.contains("discord.rest"), "{logs}");
    assert!(logs.contains("editing the original response"), "{logs}");
    assert!(
        logs.contains("PATCH /webhooks/{application}/{token}/messages/@original"),
        "{logs}"
    );
    assert!(logs.contains("status=404"), "{logs}");
    for marker in ["MARKER-BOT-TOKEN", "MARKER-INTERACTION-TOKEN"] {
        assert!(!logs.contains(marker), "{marker} leaked: {logs}");
    }
}
