//! `/kaltura video search|share|info`, the search page and share buttons and video
//! autocomplete.

use std::sync::Arc;

use super::{COLOR, COLOR_MUTED, Call, Options, format_duration, inert};
use crate::commands::InteractionError;
use crate::commands::custom_id::{CustomId, SearchToken};
use crate::commands::engine::{CachedSearch, SuggestionKey};
use crate::commands::reply::{ActionRow, Button, ButtonStyle, Embed, Reply, Select, SelectOption};
use crate::context::Feature;
use crate::rbac::Permission;
use crate::video::{MAX_SEARCH_PAGE, SearchPage, ShareCard, status_name};
use crate::{Error, Result};

/// Discord's limit on a link button's URL, in characters.
const MAX_BUTTON_URL_CHARS: usize = 512;

/// `/kaltura video search query [page]`.
pub(crate) async fn search(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["query", "page"])?;
    let query = opts.required_string("query")?;
    let page = match opts.integer("page")? {
        None => 1,
        Some(p) => u32::try_from(p).map_err(|_| {
            Error::invalid_input(
                "page",
                format!("search pages go from 1 to {MAX_SEARCH_PAGE}, got {p}"),
            )
        })?,
    };
    let result = call
        .engine
        .video
        .search(&call.gctx(), &call.subject(), query, page)
        .await?;
    let token = SearchToken::random();
    call.engine.searches.insert(
        token.clone(),
        CachedSearch {
            guild: call.guild,
            searcher: call.user(),
            query: result.query.clone(),
        },
    );
    Ok(search_reply(&result, &token))
}

/// A page button: runs the cached search again for the clicker (authorized anew).
pub(crate) async fn page(call: &Call<'_>, token: &SearchToken, page: u32) -> Result<Reply> {
    let cached = call
        .engine
        .searches
        .get(token)
        .filter(|s| s.guild == call.guild)
        .ok_or_else(|| {
            Error::Interaction(InteractionError::new(
                "these search buttons are outdated; search again with `/kaltura video search`",
            ))
        })?;
    let result = call
        .engine
        .video
        .search(&call.gctx(), &call.subject(), &cached.query, page)
        .await?;
    Ok(search_reply(&result, token))
}

/// The results message: one embed listing the hits, a select to share one, page buttons.
pub(crate) fn search_reply(page: &SearchPage, token: &SearchToken) -> Reply {
    if page.hits.is_empty() {
        return Reply::text(format!(
            "No videos match \u{201c}{}\u{201d}{}.",
            inert(&page.query, 200),
            if page.page > 1 { " on this page" } else { "" }
        ));
    }
    let pages = u32::try_from(
        (page.total_count.max(0) + i64::from(page.page_size) - 1)
            / i64::from(page.page_size.max(1)),
    )
    .unwrap_or(u32::MAX)
    .clamp(1, MAX_SEARCH_PAGE);
    let mut embed = Embed::titled(format!(
        "Videos matching \u{201c}{}\u{201d}",
        inert(&page.query, 200)
    ));
    embed.color = Some(COLOR);
    embed.description = Some(format!(
        "{} result{} · page {} of {}",
        page.total_count,
        if page.total_count == 1 { "" } else { "s" },
        page.page,
        pages
    ));
    for hit in &page.hits {
        let mut value = format!("`{}`", hit.entry_id);
        if let Some(d) = hit.duration_seconds.filter(|d| *d > 0) {
            value.push_str(&format!(" · {}", format_duration(d)));
        }
        if let Some(desc) = hit.description.as_deref().filter(|d| !d.trim().is_empty()) {
            value.push_str(&format!("\n{}", inert(desc, 200)));
        }
        embed = embed.field(inert(&hit.title, 200), value, false);
    }
    let select = Select {
        custom_id: CustomId::ShareMenu.to_string(),
        placeholder: Some("Share one of these videos in this channel".into()),
        options: page
            .hits
            .iter()
            .map(|hit| SelectOption {
                label: crate::text::truncate_chars(&hit.title, 100),
                value: hit.entry_id.to_string(),
                description: hit.duration_seconds.filter(|d| *d > 0).map(format_duration),
            })
            .collect(),
    };
    let button = |label: &str, target: u32, disabled: bool| Button::Action {
        label: label.into(),
        custom_id: CustomId::SearchPage {
            token: token.clone(),
            page: target.clamp(1, MAX_SEARCH_PAGE),
        }
        .to_string(),
        style: ButtonStyle::Secondary,
        disabled,
    };
    Reply::default()
        .embed(embed)
        .row(ActionRow::Select(select))
        .row(ActionRow::Buttons(vec![
            button("Previous", page.page.saturating_sub(1), page.page <= 1),
            button(
                "Next",
                page.page.saturating_add(1),
                !page.has_more() || page.page >= MAX_SEARCH_PAGE,
            ),
        ]))
}

/// An entry's card as a message.
pub(crate) fn card_reply(card: &ShareCard, shared_by: Option<crate::ids::DiscordUserId>) -> Reply {
    let mut embed = Embed::titled(inert(&card.title, 250));
    embed.color = Some(if card.ready { COLOR } else { COLOR_MUTED });
    embed.description = card
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| inert(d, 1000));
    embed.thumbnail = Some(card.thumbnail_url.clone());
    if let Some(d) = card.duration_seconds.filter(|d| *d > 0) {
        embed = embed.field("Duration", format_duration(d), true);
    }
    embed = embed
        .field("Status", status_name(&card.status), true)
        .field("Entry id", format!("`{}`", card.entry_id), true);
    let mut reply = Reply::default();
    if let Some(user) = shared_by {
        reply.content = Some(format!("<@{user}> shared a video."));
    }
    reply = reply.embed(embed);
    if let Some(url) = card
        .player_url
        .as_deref()
        .filter(|u| u.chars().count() <= MAX_BUTTON_URL_CHARS)
    {
        reply = reply.row(ActionRow::Buttons(vec![Button::Link {
            label: "Play".into(),
            url: url.to_owned(),
        }]));
    }
    reply
}

/// `/kaltura video info video`.
pub(crate) async fn info(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["video"])?;
    info_entry(call, opts.required_string("video")?).await
}

/// An entry's card for the member.
pub(crate) async fn info_entry(call: &Call<'_>, entry: &str) -> Result<Reply> {
    let card = call
        .engine
        .video
        .get(&call.gctx(), &call.subject(), entry)
        .await?;
    Ok(card_reply(&card, None))
}

/// `/kaltura video share video`.
pub(crate) async fn share(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["video"])?;
    share_entry(call, opts.required_string("video")?).await
}

/// Shares an entry into the channel (audited by the service).
pub(crate) async fn share_entry(call: &Call<'_>, entry: &str) -> Result<Reply> {
    let card = call
        .engine
        .video
        .share(&call.gctx(), &call.subject(), entry)
        .await?;
    Ok(card_reply(&card, Some(call.user())))
}

/// Entries for the `video` option: the newest entries for an empty text, search hits
/// otherwise, as `(entry id, title)`.
pub(crate) async fn suggestions(call: &Call<'_>, partial: &str) -> Result<Vec<(String, String)>> {
    let gctx = call.gctx();
    gctx.require(Feature::Media)?;
    call.require(Permission::ViewMedia)?;
    let engine = call.engine;
    let text = crate::text::truncate_chars(partial.trim(), 100).to_lowercase();
    let key = SuggestionKey::Videos(call.guild, call.partner.account.partner_id(), text.clone());
    if let Some(hit) = engine.suggestions.get(&key) {
        return Ok(hit.as_ref().clone());
    }
    let pairs: Vec<(String, String)> = if text.is_empty() {
        call.partner
            .account
            .client()
            .media()
            .list()
            .page_size(crate::commands::engine::MAX_CHOICES as u32)
            .send()
            .await?
            .objects
            .into_iter()
            .map(|e| {
                let name = e.name.clone().unwrap_or_else(|| e.id.to_string());
                (e.id.to_string(), format!("{name} ({})", e.id))
            })
            .collect()
    } else {
        engine
            .video
            .search(&gctx, &call.subject(), &text, 1)
            .await?
            .hits
            .into_iter()
            .map(|h| {
                let name = format!("{} ({})", h.title, h.entry_id);
                (h.entry_id.to_string(), name)
            })
            .collect()
    };
    engine.suggestions.insert(key, Arc::new(pairs.clone()));
    Ok(pairs)
}
