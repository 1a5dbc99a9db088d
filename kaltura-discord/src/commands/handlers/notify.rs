//! `/kaltura-admin notify subscribe|unsubscribe|list|test|history|replay`: a guild's routes
//! of Kaltura events into its channels. Every reply is ephemeral, every leaf checks
//! `manage_notifications` under the guild's current policy, every change is audited, and a
//! webhook URL given to `subscribe` is never echoed.

use std::sync::Arc;

use kaltura_client::types::{EntryOrderBy, EntryStatus, MediaEntryFilter};
use serde_json::json;

use super::admin::listing;
use super::{COLOR, Call, Options, code, inert, unknown};
use crate::commands::InteractionError;
use crate::commands::interaction::OptionValue;
use crate::commands::reply::{Embed, Reply};
use crate::context::GuildContext;
use crate::ids::{ChannelId, RoleId};
use crate::notify::render::{Renderer, RouteSettings};
use crate::notify::{
    DeliveryId, DeliveryStatus, EventKind, InboundEvent, NotificationMeta, NotificationStore,
    RouteFilters, Subscription,
};
use crate::rbac::Permission;
use crate::rest::WebhookUrl;
use crate::store::{AuditAction, NewAuditEntry};
use crate::{Error, Result};

/// Default and largest `history` limit.
const HISTORY_DEFAULT: i64 = 10;
const HISTORY_MAX: i64 = 25;

/// The answer when the bot runs without a notification store.
pub(crate) const NOT_CONFIGURED: &str = "Kaltura event notifications are not configured for this bot (it has no notification store); ask the bot's operator.";

/// `/kaltura-admin notify …`.
pub(crate) async fn notify(call: &Call<'_>, leaf: &str, opts: Options<'_>) -> Result<Reply> {
    if !matches!(
        leaf,
        "subscribe" | "unsubscribe" | "list" | "test" | "history" | "replay"
    ) {
        return Err(unknown("this subcommand"));
    }
    call.require(Permission::ManageNotifications)?;
    let Some(store) = call.engine.notifications.clone() else {
        return Ok(Reply::text(NOT_CONFIGURED).ephemeral());
    };
    match leaf {
        "subscribe" => subscribe(call, opts, store).await,
        "unsubscribe" => unsubscribe(call, opts, store).await,
        "list" => list(call, opts, store).await,
        "test" => test(call, opts, store).await,
        "history" => history(call, opts, store).await,
        "replay" => replay(call, opts, store).await,
        _ => Err(unknown("this subcommand")),
    }
}

fn bad(name: &str, expected: &str) -> Error {
    Error::Interaction(InteractionError::new(format!(
        "the `{name}` option must be {expected}"
    )))
}

fn find<'a>(opts: Options<'a>, name: &str) -> Option<&'a OptionValue> {
    opts.0.iter().find(|o| o.name == name).map(|o| &o.value)
}

fn channel(opts: Options<'_>, name: &str) -> Result<ChannelId> {
    match find(opts, name) {
        Some(OptionValue::Channel(c)) => Ok(*c),
        Some(_) => Err(bad(name, "a channel")),
        None => Err(bad(name, "given")),
    }
}

fn role(opts: Options<'_>, name: &str) -> Result<Option<RoleId>> {
    match find(opts, name) {
        None => Ok(None),
        Some(OptionValue::Role(r)) => Ok(Some(*r)),
        Some(_) => Err(bad(name, "a role")),
    }
}

fn boolean(opts: Options<'_>, name: &str) -> Result<Option<bool>> {
    match find(opts, name) {
        None => Ok(None),
        Some(OptionValue::Boolean(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(name, "true or false")),
    }
}

fn event_kind(raw: &str) -> Result<EventKind> {
    EventKind::parse(raw.trim()).ok_or_else(|| {
        Error::invalid_input(
            "event",
            "that is not an event the bot announces; pick one from the list",
        )
    })
}

fn kind_name(kind: EventKind) -> String {
    let spaced = kind.as_str().replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A text option that must be a short single line (tags, owners, template names).
fn short_text(opts: Options<'_>, name: &'static str, max: usize) -> Result<Option<String>> {
    let Some(raw) = opts.string(name)? else {
        return Ok(None);
    };
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max || text.chars().any(char::is_control) || text.contains(',') {
        return Err(Error::invalid_input(
            name,
            format!(
                "the {name} is one value of at most {max} characters, without commas or line breaks"
            ),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// The filters in words, for replies and listings.
fn describe_filters(f: &RouteFilters) -> String {
    let mut parts = Vec::new();
    if !f.category_ids.is_empty() {
        let ids: Vec<String> = f.category_ids.iter().map(ToString::to_string).collect();
        parts.push(format!("category {}", ids.join(" or ")));
    }
    if !f.tags.is_empty() {
        parts.push(format!("tag `{}`", code(&f.tags.join("` or `"), 200)));
    }
    if let Some(o) = &f.owner {
        parts.push(format!("owner `{}`", code(o, 100)));
    }
    if !f.media_types.is_empty() {
        let names: Vec<&str> = f
            .media_types
            .iter()
            .map(|t| match t {
                1 => "video",
                2 => "image",
                5 => "audio",
                _ => "other",
            })
            .collect();
        parts.push(names.join(" or "));
    }
    if let Some(d) = f.min_duration_secs {
        parts.push(format!("at least {d} s"));
    }
    if f.include_restricted {
        parts.push("including unpublished or restricted entries".into());
    }
    if parts.is_empty() {
        "every entry".into()
    } else {
        parts.join(", ")
    }
}

fn roles_text(roles: &[RoleId]) -> String {
    if roles.is_empty() {
        "nobody".into()
    } else {
        roles
            .iter()
            .map(|r| format!("<@&{r}>"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

async fn audit(call: &Call<'_>, action: AuditAction, detail: serde_json::Value) -> Result<()> {
    call.engine
        .audit
        .append(NewAuditEntry {
            guild: call.guild,
            actor: Some(call.user()),
            action,
            detail,
        })
        .await?;
    Ok(())
}

/// `notify subscribe`.
async fn subscribe(
    call: &Call<'_>,
    opts: Options<'_>,
    store: Arc<dyn NotificationStore>,
) -> Result<Reply> {
    call.require(Permission::ManageNotifications)?;
    let opts = opts.only(&[
        "channel",
        "event",
        "role",
        "category",
        "tag",
        "owner",
        "media_type",
        "min_duration",
        "include_restricted",
        "template",
        "webhook_url",
    ])?;
    let channel = channel(opts, "channel")?;
    let kind = event_kind(opts.required_string("event")?)?;
    let mention_roles: Vec<RoleId> = role(opts, "role")?.into_iter().collect();
    let mut filters = RouteFilters::default();
    if let Some(c) = opts.integer("category")? {
        if c <= 0 {
            return Err(Error::invalid_input(
                "category",
                "a category id is a positive number",
            ));
        }
        filters.category_ids.push(c);
    }
    if let Some(tag) = short_text(opts, "tag", 100)? {
        filters.tags.push(tag);
    }
    filters.owner = short_text(opts, "owner", 100)?;
    if let Some(t) = opts.integer("media_type")? {
        if !matches!(t, 1 | 2 | 5) {
            return Err(Error::invalid_input(
                "media_type",
                "the media type is video, audio or image",
            ));
        }
        filters.media_types.push(t);
    }
    if let Some(d) = opts.integer("min_duration")? {
        filters.min_duration_secs = Some(
            u32::try_from(d)
                .ok()
                .filter(|d| *d <= 86_400)
                .ok_or_else(|| {
                    Error::invalid_input(
                        "min_duration",
                        "the minimum duration is 0 to 86400 seconds",
                    )
                })?,
        );
    }
    filters.include_restricted = boolean(opts, "include_restricted")?.unwrap_or(false);
    let template = short_text(opts, "template", 100)?;
    if let Some(name) = &template {
        let Some(source) = call.config().notifications.templates.get(name) else {
            return Err(Error::invalid_input(
                "template",
                format!(
                    "this server has no template named `{}` in `notifications.templates`",
                    code(name, 100)
                ),
            ));
        };
        Renderer::validate(Some(kind), source).map_err(|e| {
            Error::invalid_input(
                "template",
                format!(
                    "the template `{}` cannot be used for {kind}: {e}",
                    code(name, 100)
                ),
            )
        })?;
    }
    // The parse error never contains the URL.
    let webhook = match opts
        .string("webhook_url")?
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(raw) => Some(WebhookUrl::parse(raw)?),
        None => None,
    };
    let via_webhook = webhook.is_some();
    let subscription = Subscription {
        id: None,
        guild: call.guild,
        partner_id: call.partner.account.partner_id(),
        kind,
        channel,
        webhook,
        mention_roles: mention_roles.clone(),
        template: template.clone(),
        filters: filters.clone(),
        created_by: call.user(),
        created_at: call.engine.now(),
    };
    let id = store.subscribe(&subscription).await?;
    audit(
        call,
        AuditAction::NotifySubscribed,
        json!({
            "subscription": id.0,
            "channel": channel.to_string(),
            "event": kind.as_str(),
            "roles": mention_roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "filters": filters,
            "template": template,
            "via_webhook": via_webhook,
        }),
    )
    .await?;
    let mut text = format!(
        "<#{channel}> will announce **{}** (subscription `#{id}`): {}; pinging {}.",
        kind_name(kind),
        describe_filters(&filters),
        roles_text(&mention_roles)
    );
    if via_webhook {
        text.push_str(" Messages are posted through the channel webhook you gave.");
    }
    Ok(Reply::text(text).ephemeral())
}

/// `notify unsubscribe`.
async fn unsubscribe(
    call: &Call<'_>,
    opts: Options<'_>,
    store: Arc<dyn NotificationStore>,
) -> Result<Reply> {
    call.require(Permission::ManageNotifications)?;
    let opts = opts.only(&["channel", "event"])?;
    let channel = channel(opts, "channel")?;
    let kind = opts.string("event")?.map(event_kind).transpose()?;
    let removed = store.unsubscribe(call.guild, channel, kind).await?;
    if removed == 0 {
        return Ok(Reply::text(format!(
            "<#{channel}> had no {}subscription to remove.",
            kind.map(|k| format!("**{}** ", kind_name(k)))
                .unwrap_or_default()
        ))
        .ephemeral());
    }
    audit(
        call,
        AuditAction::NotifyUnsubscribed,
        json!({
            "channel": channel.to_string(),
            "event": kind.map(EventKind::as_str),
            "removed": removed,
        }),
    )
    .await?;
    Ok(Reply::text(format!(
        "Removed {removed} subscription{} of <#{channel}>.",
        if removed == 1 { "" } else { "s" }
    ))
    .ephemeral())
}

/// `notify list`: stored subscriptions, then the routes of the server's configuration.
async fn list(
    call: &Call<'_>,
    opts: Options<'_>,
    store: Arc<dyn NotificationStore>,
) -> Result<Reply> {
    call.require(Permission::ManageNotifications)?;
    opts.only(&[])?;
    let subs = store.guild_subscriptions(call.guild).await?;
    let mut lines: Vec<String> = subs
        .iter()
        .map(|s| {
            format!(
                "`#{}` <#{}> — **{}**: {}; pings {}{}",
                s.id.map(|i| i.0).unwrap_or_default(),
                s.channel,
                kind_name(s.kind),
                describe_filters(&s.filters),
                roles_text(&s.mention_roles),
                if s.webhook.is_some() {
                    "; via webhook"
                } else {
                    ""
                }
            )
        })
        .collect();
    for r in &call.config().notifications.routes {
        lines.push(format!(
            "(configuration) <#{}> — **{}**: {}; pings {}{}",
            r.channel,
            kind_name(r.event),
            describe_filters(&r.filters),
            roles_text(&r.mention_roles),
            if r.webhook_url.is_some() {
                "; via webhook"
            } else {
                ""
            }
        ));
    }
    let mut text = if lines.is_empty() {
        "This server posts no Kaltura events yet. Add a channel with `/kaltura-admin notify subscribe`.".to_owned()
    } else {
        listing(lines)
    };
    if !call.config().features.notifications {
        text.push_str("\nNotifications are turned off in this server (`features.notifications`): nothing is posted.");
    }
    let mut embed = Embed::titled("Kaltura event notifications");
    embed.color = Some(COLOR);
    embed.description = Some(text);
    Ok(Reply::default().embed(embed).ephemeral())
}

/// `notify test`: the newest READY entry of the server's partner, rendered as the channel's
/// route would render it, posted with no pings.
async fn test(
    call: &Call<'_>,
    opts: Options<'_>,
    store: Arc<dyn NotificationStore>,
) -> Result<Reply> {
    call.require(Permission::ManageNotifications)?;
    let opts = opts.only(&["channel"])?;
    let channel = channel(opts, "channel")?;
    let account = &call.partner.account;
    let entry = account
        .client()
        .media()
        .list()
        .filter(
            MediaEntryFilter::new()
                .status_equal(EntryStatus::Ready)
                .order_by(EntryOrderBy::CreatedAtDesc),
        )
        .page_size(1)
        .send()
        .await?
        .objects
        .into_iter()
        .next();
    let Some(entry) = entry else {
        return Ok(Reply::text(
            "There is no ready video in this server's Kaltura account to show in a test.",
        )
        .ephemeral());
    };
    // The template of the channel's entry-ready route, if it names one; never its pings.
    let template = store
        .guild_subscriptions(call.guild)
        .await?
        .into_iter()
        .find(|s| s.channel == channel && s.kind == EventKind::EntryReady)
        .and_then(|s| s.template)
        .or_else(|| {
            call.config()
                .notifications
                .routes
                .iter()
                .find(|r| r.channel == channel && r.event == EventKind::EntryReady)
                .and_then(|r| r.template.clone())
        });
    let event = InboundEvent {
        partner_id: account.partner_id(),
        dedup_key: format!("test:{}", entry.id.as_str()),
        kind: Some(EventKind::EntryReady),
        subject: Some(entry.id.as_str().to_owned()),
        object: serde_json::Value::Null,
        meta: NotificationMeta::default(),
        received_at: call.engine.now(),
    };
    let gctx = GuildContext::new(call.guild, call.config(), account);
    let settings = RouteSettings {
        mention_roles: Vec::new(),
        template,
    };
    let mut rendered = call.engine.renderer.render(
        EventKind::EntryReady,
        &event,
        Some(&entry),
        &settings,
        &gctx,
    )?;
    rendered.message.content = Some("Test notification (nobody is pinged).".to_owned());
    rendered.message.allowed_mentions = Default::default();
    call.engine
        .rest
        .create_message(channel, &rendered.message)
        .await?;
    audit(
        call,
        AuditAction::NotifyTested,
        json!({"channel": channel.to_string(), "entry": entry.id.as_str()}),
    )
    .await?;
    Ok(Reply::text(format!(
        "Posted a test notification of `{}` in <#{channel}>.",
        code(entry.id.as_str(), 50)
    ))
    .ephemeral())
}

fn status_word(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => "queued",
        DeliveryStatus::Delivered => "sent",
        DeliveryStatus::Skipped => "skipped",
        DeliveryStatus::Dead => "failed",
    }
}

/// `notify history [limit]`.
async fn history(
    call: &Call<'_>,
    opts: Options<'_>,
    store: Arc<dyn NotificationStore>,
) -> Result<Reply> {
    call.require(Permission::ManageNotifications)?;
    let limit = opts
        .only(&["limit"])?
        .integer("limit")?
        .unwrap_or(HISTORY_DEFAULT);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|l| (1..=HISTORY_MAX as u32).contains(l))
        .ok_or_else(|| {
            Error::invalid_input(
                "limit",
                format!("the limit is 1 to {HISTORY_MAX}, got {limit}"),
            )
        })?;
    let records = store.history(call.guild, limit).await?;
    if records.is_empty() {
        return Ok(
            Reply::text("No notification has been delivered in this server yet.").ephemeral(),
        );
    }
    let lines = records
        .iter()
        .map(|r| {
            let mut line = format!(
                "`#{}` <t:{}:f> <#{}> **{}** `{}` — {}",
                r.id,
                r.updated_at,
                r.channel,
                kind_name(r.kind),
                code(&r.subject_key, 80),
                status_word(r.status),
            );
            if r.attempts > 1 {
                line.push_str(&format!(" after {} attempts", r.attempts));
            }
            if let Some(reason) = &r.reason {
                line.push_str(": ");
                line.push_str(&inert(reason, 150));
            }
            if r.status == DeliveryStatus::Dead {
                line.push_str(&format!(
                    " (replay with `/kaltura-admin notify replay id:{}`)",
                    r.id
                ));
            }
            line
        })
        .collect();
    let mut embed = Embed::titled(format!("Notification history: the last {}", records.len()));
    embed.color = Some(COLOR);
    embed.description = Some(listing(lines));
    Ok(Reply::default().embed(embed).ephemeral())
}

/// `notify replay id`: re-queues a dead-lettered (or skipped) delivery of this server only.
async fn replay(
    call: &Call<'_>,
    opts: Options<'_>,
    store: Arc<dyn NotificationStore>,
) -> Result<Reply> {
    call.require(Permission::ManageNotifications)?;
    let id = opts
        .only(&["id"])?
        .integer("id")?
        .ok_or_else(|| bad("id", "given"))?;
    if id <= 0 {
        return Err(Error::invalid_input(
            "id",
            "a delivery id is a positive number (see `/kaltura-admin notify history`)",
        ));
    }
    let id = DeliveryId(id);
    if !store.replay(call.guild, id, call.engine.now()).await? {
        return Ok(Reply::text(format!(
            "This server has no failed or skipped delivery `#{id}`; see `/kaltura-admin notify history`."
        ))
        .ephemeral());
    }
    audit(call, AuditAction::NotifyReplayed, json!({"delivery": id.0})).await?;
    Ok(Reply::text(format!("Delivery `#{id}` is queued again.")).ephemeral())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_described() {
        assert_eq!(describe_filters(&RouteFilters::default()), "every entry");
        let f = RouteFilters {
            category_ids: vec![7],
            tags: vec!["rust".into()],
            owner: Some("alice".into()),
            media_types: vec![1, 5],
            min_duration_secs: Some(60),
            include_restricted: true,
        };
        assert_eq!(
            describe_filters(&f),
            "category 7, tag `rust`, owner `alice`, video or audio, at least 60 s, including unpublished or restricted entries"
        );
        assert_eq!(
            kind_name(EventKind::EntryAddedToCategory),
            "Entry added to category"
        );
        assert!(event_kind("nope").is_err());
    }
}
