//! `/kaltura-admin config|identity|audit` (`notify` is in `notify.rs`). Every reply is ephemeral and every leaf
//! checks its permission first (`manage_config`, `manage_identities`, `view_audit_log`,
//! `manage_notifications`).

use serde_json::{Map, Value};

use super::{COLOR, Call, Options, code, inert, unknown};
use crate::commands::reply::{Embed, Reply};
use crate::config::Layer;
use crate::identity::{DiscordMember, IdentityService, LinkProof};
use crate::rbac::Permission;
use crate::{Error, Result};

/// Longest configuration key, in characters.
const MAX_KEY_CHARS: usize = 100;
/// Most segments of a configuration key.
const MAX_KEY_SEGMENTS: usize = 4;
/// Longest value given to `config set`, in characters.
const MAX_VALUE_CHARS: usize = 2000;
/// Room for the lines of a listing in one embed description.
const MAX_LISTING_CHARS: usize = 3800;
/// Default and largest `audit recent` limit.
const AUDIT_DEFAULT: i64 = 10;
const AUDIT_MAX: i64 = 25;

/// Checks a dotted configuration key: 1-4 segments of `a-z 0-9 _`, at most 100 characters.
/// Returns the segments.
fn key_segments(raw: &str, field: &'static str) -> Result<Vec<String>> {
    let raw = raw.trim();
    let ok = !raw.is_empty()
        && raw.chars().count() <= MAX_KEY_CHARS
        && raw.split('.').count() <= MAX_KEY_SEGMENTS
        && raw.split('.').all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if ok {
        Ok(raw.split('.').map(str::to_owned).collect())
    } else {
        Err(Error::invalid_input(
            field,
            "a setting is named like `meetings.default_type`: up to 4 parts of a-z, 0-9 and _",
        ))
    }
}

/// Lines joined until the room runs out; a last line says how many were left out.
/// Joins lines for an embed description, cut with "… and N more" past the embed budget.
pub(super) fn listing(lines: Vec<String>) -> String {
    let mut out = String::new();
    let total = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if out.chars().count() + line.chars().count() + 1 > MAX_LISTING_CHARS {
            out.push_str(&format!("… and {} more", total - i));
            return out;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn compact(value: &Value, max: usize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    crate::text::truncate_chars(&text, max)
}

/// `/kaltura-admin config show|set|reset|explain`.
pub(crate) async fn config(call: &Call<'_>, leaf: &str, opts: Options<'_>) -> Result<Reply> {
    call.require(Permission::ManageConfig)?;
    match leaf {
        "show" => show(call, opts.only(&["section"])?.string("section")?, false),
        "explain" => show(call, opts.only(&["key"])?.string("key")?, true),
        "set" => {
            let opts = opts.only(&["key", "value"])?;
            set(
                call,
                opts.required_string("key")?,
                opts.required_string("value")?,
            )
            .await
        }
        "reset" => reset(call, opts.only(&["key"])?.required_string("key")?).await,
        _ => Err(unknown("this subcommand")),
    }
}

/// The resolved values under a key (redacted by the resolver), with their layer when
/// `explain`.
fn show(call: &Call<'_>, prefix: Option<&str>, explain: bool) -> Result<Reply> {
    let prefix = match prefix.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => key_segments(p, if explain { "key" } else { "section" })?.join("."),
        None => String::new(),
    };
    let entries = call.resolved.explain(&prefix);
    if entries.is_empty() {
        return Err(Error::invalid_input(
            if explain { "key" } else { "section" },
            format!("no setting is named `{prefix}`"),
        ));
    }
    let lines = entries
        .iter()
        .map(|e| {
            let value = compact(&e.value, 200);
            if explain {
                format!(
                    "`{}` = `{}` — from {}",
                    e.key,
                    value.replace('`', "'"),
                    layer_name(&e.layer)
                )
            } else {
                format!("`{}` = `{}`", e.key, value.replace('`', "'"))
            }
        })
        .collect();
    let title = match (explain, prefix.is_empty()) {
        (false, true) => "Settings of this server".to_owned(),
        (false, false) => format!("Settings under `{prefix}`"),
        (true, true) => "Where each setting comes from".to_owned(),
        (true, false) => format!("Where `{prefix}` comes from"),
    };
    let mut embed = Embed::titled(title);
    embed.color = Some(COLOR);
    embed.description = Some(listing(lines));
    if explain {
        embed.footer = Some(
            "Later layers win: built-in defaults, the bot's file, its environment, this server's file, this server's settings (/kaltura-admin config set).".into(),
        );
    }
    Ok(Reply::default().embed(embed).ephemeral())
}

/// A layer's name for admins, without file paths or variable names of the operator.
fn layer_name(layer: &Layer) -> &'static str {
    match layer {
        Layer::Defaults => "the built-in defaults",
        Layer::GlobalFile(_) => "the bot's configuration file",
        Layer::Env(_) => "the bot's environment",
        Layer::GuildFile(_) => "this server's configuration file",
        Layer::GuildStore => "this server's settings",
        #[allow(unreachable_patterns)]
        _ => "another source",
    }
}

fn set_path(doc: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = doc;
    for segment in parents {
        let entry = node
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        node = next;
    }
    node.insert(last.clone(), value);
}

/// Removes `path`, then parents left empty; whether it was there.
fn remove_path(doc: &mut Map<String, Value>, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => doc.remove(last).is_some(),
        [first, rest @ ..] => {
            let Some(Value::Object(child)) = doc.get_mut(first) else {
                return false;
            };
            let removed = remove_path(child, rest);
            if child.is_empty() {
                doc.remove(first);
            }
            removed
        }
    }
}

fn has_path(doc: &Map<String, Value>, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => doc.contains_key(last),
        [first, rest @ ..] => match doc.get(first) {
            Some(Value::Object(child)) => has_path(child, rest),
            _ => false,
        },
    }
}

/// `config set key value`: the value is JSON when it parses as JSON, text otherwise. The
/// whole override is validated like the resolver does, in the store's transaction.
async fn set(call: &Call<'_>, key: &str, value: &str) -> Result<Reply> {
    let path = key_segments(key, "key")?;
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(Error::invalid_input(
            "value",
            format!("a value has at most {MAX_VALUE_CHARS} characters"),
        ));
    }
    let value: Value =
        serde_json::from_str(value.trim()).unwrap_or_else(|_| Value::String(value.to_owned()));
    let new_value = value.clone();
    let edit_path = path.clone();
    let version = edit_override(call, "value", move |doc| {
        set_path(doc, &edit_path, new_value.clone());
    })
    .await?;
    Ok(Reply::text(format!(
        "`{}` is now `{}` in this server (settings version {}).",
        path.join("."),
        code(&compact(&value, 500), 600),
        version
    ))
    .ephemeral())
}

/// Applies `change` to the guild's stored override in one store transaction, refusing the
/// result unless it validates as a guild layer (`field` names the option blamed), then drops
/// the cached configuration. Returns the new settings version.
async fn edit_override(
    call: &Call<'_>,
    field: &'static str,
    change: impl Fn(&mut Map<String, Value>) + Send + Sync,
) -> Result<i64> {
    let engine = call.engine;
    let resolver = engine.resolver.clone();
    let edit = move |doc: &mut Map<String, Value>| -> Result<()> {
        change(doc);
        resolver
            .check_override(doc.clone(), &Layer::GuildStore)
            .map(|_| ())
            .map_err(|e| Error::invalid_input(field, e.to_string()))
    };
    let stored = engine
        .overrides
        .update_override(call.guild, call.user(), &edit)
        .await?;
    engine.resolver.invalidate(call.guild);
    engine.forget_meetings(call.guild);
    Ok(stored.version)
}

/// `config reset key`: removes the server's own value, so the bot's default applies again.
async fn reset(call: &Call<'_>, key: &str) -> Result<Reply> {
    let path = key_segments(key, "key")?;
    let engine = call.engine;
    let present = engine
        .overrides
        .get_override(call.guild)
        .await?
        .is_some_and(|o| has_path(&o.document, &path));
    if !present {
        return Ok(Reply::text(format!(
            "This server does not set `{}`; it already uses the bot's value.",
            path.join(".")
        ))
        .ephemeral());
    }
    let edit_path = path.clone();
    let version = edit_override(call, "key", move |doc| {
        remove_path(doc, &edit_path);
    })
    .await?;
    Ok(Reply::text(format!(
        "`{}` is reset to the bot's value (settings version {}).",
        path.join("."),
        version
    ))
    .ephemeral())
}

/// `/kaltura-admin identity link|unlink|show`.
pub(crate) async fn identity(call: &Call<'_>, leaf: &str, opts: Options<'_>) -> Result<Reply> {
    call.require(Permission::ManageIdentities)?;
    let identity = &call.partner.identity;
    let subject = call.subject();
    match leaf {
        "link" => {
            let opts = opts.only(&["member", "kaltura_user"])?;
            let member = opts.user("member")?;
            let kaltura_user = opts.required_string("kaltura_user")?;
            let link = identity
                .link(
                    call.guild,
                    call.config(),
                    &subject,
                    member,
                    kaltura_user,
                    Some(&LinkProof::AssignedBy(subject.clone())),
                )
                .await?;
            Ok(Reply::text(format!(
                "<@{member}> is now linked to Kaltura user `{}`.",
                code(link.kaltura_user.as_str(), 100)
            ))
            .ephemeral())
        }
        "unlink" => {
            let member = opts.only(&["member"])?.user("member")?;
            let removed = identity
                .unlink(call.guild, call.config(), &subject, member)
                .await?;
            Ok(Reply::text(if removed {
                format!("<@{member}>'s link to a Kaltura user has been removed.")
            } else {
                format!("<@{member}> was not linked to a Kaltura user.")
            })
            .ephemeral())
        }
        "show" => {
            let member = opts.only(&["member"])?.user("member")?;
            let scope = identity.scope(call.guild, &call.config().identity)?;
            let text = match call
                .engine
                .identity_store
                .find_by_discord(scope, member)
                .await?
            {
                Some(link) => format!(
                    "<@{member}> is linked to Kaltura user `{}` (since <t:{}:f>, by <@{}>).",
                    code(link.kaltura_user.as_str(), 100),
                    link.linked_at,
                    link.linked_by
                ),
                None => {
                    let derived = IdentityService::strategy_user_id(
                        &call.config().identity,
                        &DiscordMember {
                            user: member,
                            display_name: String::new(),
                            email: None,
                        },
                    );
                    match derived {
                        Ok((id, _)) => format!(
                            "<@{member}> has no link; they act as `{}` (derived from their Discord id).",
                            code(id.as_str(), 100)
                        ),
                        Err(_) => format!("<@{member}> has no link and no Kaltura user yet."),
                    }
                }
            };
            Ok(Reply::text(text).ephemeral())
        }
        _ => Err(unknown("this subcommand")),
    }
}

/// `/kaltura-admin audit recent [limit]`: the newest entries, newest first.
pub(crate) async fn audit_recent(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    call.require(Permission::ViewAuditLog)?;
    let limit = opts
        .only(&["limit"])?
        .integer("limit")?
        .unwrap_or(AUDIT_DEFAULT);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|l| (1..=AUDIT_MAX as u32).contains(l))
        .ok_or_else(|| {
            Error::invalid_input(
                "limit",
                format!("the limit is 1 to {AUDIT_MAX}, got {limit}"),
            )
        })?;
    let entries = call.engine.audit.recent(call.guild, limit).await?;
    if entries.is_empty() {
        return Ok(Reply::text("The audit log of this server is empty.").ephemeral());
    }
    let lines = entries
        .iter()
        .map(|e| {
            let actor = e
                .actor
                .map(|a| format!("<@{a}>"))
                .unwrap_or_else(|| "the system".into());
            format!(
                "`#{}` <t:{}:f> **{}** by {actor} — {}",
                e.id,
                e.at,
                e.action,
                inert(&compact(&e.detail, 150), 200)
            )
        })
        .collect();
    let mut embed = Embed::titled(format!("Audit log: the last {}", entries.len()));
    embed.color = Some(COLOR);
    embed.description = Some(listing(lines));
    Ok(Reply::default().embed(embed).ephemeral())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_strict() {
        assert_eq!(
            key_segments(" meetings.default_type ", "key").unwrap(),
            ["meetings", "default_type"]
        );
        for bad in [
            "",
            ".",
            "a..b",
            "A.b",
            "a.b.c.d.e",
            "../../etc",
            "a b",
            "a-b",
            &"a".repeat(101),
        ] {
            assert!(key_segments(bad, "key").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_set_and_removed_with_their_empty_parents() {
        let mut doc = Map::new();
        set_path(&mut doc, &["a".into(), "b".into()], Value::from(1));
        set_path(&mut doc, &["c".into()], Value::from(2));
        assert!(has_path(&doc, &["a".into(), "b".into()]));
        assert!(!has_path(&doc, &["a".into(), "x".into()]));
        assert!(remove_path(&mut doc, &["a".into(), "b".into()]));
        assert!(!doc.contains_key("a"));
        assert!(!remove_path(&mut doc, &["a".into(), "b".into()]));
        assert_eq!(Value::Object(doc), serde_json::json!({"c": 2}));
    }

    #[test]
    fn listings_stay_within_an_embed() {
        let lines = (0..1000)
            .map(|i| format!("line {i} {}", "x".repeat(50)))
            .collect();
        let text = listing(lines);
        assert!(text.chars().count() <= MAX_LISTING_CHARS + 40);
        assert!(text.ends_with("more"), "{}", &text[text.len() - 30..]);
    }
}
