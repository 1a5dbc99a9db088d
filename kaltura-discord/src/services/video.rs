//! Video: search the guild's Kaltura media, show an entry, share it into a channel and hand
//! out restricted playback links.
//!
//! Data flow: the member's input (a search text or an entry id) is validated here, before any
//! Kaltura call — entry ids must be 1 to 64 characters of `A-Z a-z 0-9 _` (Kaltura's own ids
//! look like `0_abcd1234`), so a hostile id such as `../../etc` never reaches a URL or a
//! request. Then the guild's feature switch and RBAC policy are checked, Kaltura is asked
//! with the guild's ADMIN client (`elasticsearch_esearch.searchEntry`, `media.get`), and the
//! answer is turned into plain data ([`SearchPage`], [`ShareCard`]) that a front end renders
//! into a Discord embed — no Discord types here.
//!
//! Entries that are not READY (still importing or converting, failed, in moderation …) are
//! shown with [`ShareCard::ready`] `false` and no player or playback URL; sharing them or
//! asking for their playback is [`Error::NotReady`], since nobody could watch them yet.
//!
//! Text from Kaltura (titles, descriptions, highlight snippets, which wrap matches in
//! `<em>…</em>`) is passed through as Kaltura sent it, only shortened: the front end must
//! escape it for its output (Discord markdown, HTML).
//!
//! ```no_run
//! use std::sync::Arc;
//! use kaltura_discord::context::GuildContext;
//! use kaltura_discord::rbac::Subject;
//! use kaltura_discord::store::SqlStore;
//! use kaltura_discord::video::VideoService;
//!
//! # async fn run(store: SqlStore, ctx: GuildContext<'_>, member: Subject) -> kaltura_discord::Result<()> {
//! let video = VideoService::new(Arc::new(store));
//! let page = video.search(&ctx, &member, "rust async", 1).await?;
//! if let Some(hit) = page.hits.first() {
//!     let card = video.share(&ctx, &member, hit.entry_id.as_str()).await?;
//!     let _ = (card.title, card.thumbnail_url, card.player_url);
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kaltura_client::clock::{Clock, SystemClock};
use kaltura_client::ks::OsRandom;
use kaltura_client::types::{EntryStatus, MediaEntry, MediaType};
use kaltura_client::urls::StreamFormat;
use kaltura_client::{EntryId, UiConfId, UserId};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

use crate::context::{Feature, GuildContext};
use crate::error::Resource;
use crate::identity::validate_kaltura_user_id;
use crate::rbac::{Permission, Subject};
use crate::store::{AuditAction, AuditLog, NewAuditEntry};
use crate::text::SingleLine;
use crate::{Error, Result};

/// Longest search text, in characters (after trimming).
pub const MAX_QUERY_CHARS: usize = 200;
/// Results per search page (a Discord message holds at most 10 embeds).
pub const SEARCH_PAGE_SIZE: u32 = 10;
/// Highest search page that may be asked for.
pub const MAX_SEARCH_PAGE: u32 = 100;
/// Longest entry id accepted, in characters.
pub const MAX_ENTRY_ID_CHARS: usize = EntryId::MAX_LEN;
/// Longest title on a card, in characters (Discord's embed title limit).
pub const MAX_CARD_TITLE_CHARS: usize = 256;
/// Longest description on a card, in characters (fits an embed description or field).
pub const MAX_CARD_DESCRIPTION_CHARS: usize = 1024;
/// Longest description of a search hit, in characters.
pub const MAX_HIT_DESCRIPTION_CHARS: usize = 200;
/// Lifetime of a restricted playback link.
pub const RESTRICTED_PLAYBACK_TTL: Duration = Duration::from_secs(3600);
/// Size of card thumbnails, in pixels.
pub const THUMBNAIL_SIZE: (u32, u32) = (640, 360);

/// Parses an entry id with [`EntryId::parse`] (1 to [`MAX_ENTRY_ID_CHARS`] characters of
/// `A-Z a-z 0-9 _` after trimming surrounding whitespace), as an input error of this crate.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `entry_id`) for anything else.
pub(crate) fn validate_entry_id(raw: &str) -> Result<EntryId> {
    EntryId::parse(raw).map_err(|e| Error::invalid_input("entry_id", e.to_string()))
}

/// The rule for search texts.
const QUERY: SingleLine = SingleLine {
    field: "query",
    noun: "a search text",
    max_chars: MAX_QUERY_CHARS,
    empty: "search for at least one character",
};

/// Checks a search text: trimmed, 1 to [`MAX_QUERY_CHARS`] characters, no control
/// characters. Returns the trimmed text.
///
/// # Errors
///
/// [`Error::InvalidInput`] (field `query`) for a blank, too long or control-character text.
pub(crate) fn validate_query(raw: &str) -> Result<String> {
    QUERY.check(raw)
}

pub(crate) use crate::text::truncate_chars;

/// A human name of an entry status, for messages.
pub fn status_name(status: &EntryStatus) -> &'static str {
    match status {
        EntryStatus::ErrorImporting => "import failed",
        EntryStatus::ErrorConverting => "conversion failed",
        EntryStatus::Import => "importing",
        EntryStatus::Preconvert => "converting",
        EntryStatus::Ready => "ready",
        EntryStatus::Deleted => "deleted",
        EntryStatus::Pending => "pending",
        EntryStatus::Moderate => "awaiting moderation",
        EntryStatus::Blocked => "blocked",
        EntryStatus::NoContent => "no content uploaded",
        _ => "not ready",
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The entry.
    pub entry_id: EntryId,
    /// Its name (shortened to [`MAX_CARD_TITLE_CHARS`]).
    pub title: String,
    /// Its description (shortened to [`MAX_HIT_DESCRIPTION_CHARS`]).
    pub description: Option<String>,
    /// Length in seconds, if known.
    pub duration_seconds: Option<i64>,
    /// Video, audio, image …
    pub media_type: Option<MediaType>,
    /// Thumbnail URL.
    pub thumbnail_url: String,
    /// Matching snippets as `(field, snippet)`, matches wrapped in `<em>…</em>`.
    pub highlights: Vec<(String, String)>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The (trimmed) search text.
    pub query: String,
    /// This page, from 1.
    pub page: u32,
    /// Results per page ([`SEARCH_PAGE_SIZE`]).
    pub page_size: u32,
    /// How many entries match in total.
    pub total_count: i64,
    /// The results of this page.
    pub hits: Vec<SearchHit>,
}

impl SearchPage {
    /// Whether a later page has more results.
    pub fn has_more(&self) -> bool {
        i64::from(self.page) * i64::from(self.page_size) < self.total_count
            && self.page < MAX_SEARCH_PAGE
    }
}

/// Everything a front end needs to show one entry, e.g. as a Discord embed.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareCard {
    /// The entry.
    pub entry_id: EntryId,
    /// Its name (shortened to [`MAX_CARD_TITLE_CHARS`]; the id when it has none).
    pub title: String,
    /// Its description (shortened to [`MAX_CARD_DESCRIPTION_CHARS`]).
    pub description: Option<String>,
    /// Length in seconds, if known.
    pub duration_seconds: Option<i64>,
    /// Video, audio, image …
    pub media_type: Option<MediaType>,
    /// The entry's state.
    pub status: EntryStatus,
    /// Whether it can be played (status READY). When `false`, the player and playback URLs
    /// are `None`.
    pub ready: bool,
    /// Thumbnail URL ([`THUMBNAIL_SIZE`]).
    pub thumbnail_url: String,
    /// A page showing only the player, for an iframe or a link — when the guild configures
    /// `kaltura.player_ui_conf_id`.
    pub player_url: Option<String>,
    /// The HLS manifest URL (without a KS: entries with access control need
    /// [`VideoService::restricted_playback`]).
    pub playback_url: Option<String>,
}

/// A short-lived playback URL carrying a USER KS for one entry (`sview:{entryId}`). It is a
/// credential: `Debug` hides it.
#[derive(Clone)]
pub struct RestrictedPlayback {
    /// The entry.
    pub entry_id: EntryId,
    url: SecretString,
    /// When the KS expires (unix seconds).
    pub expires_at: i64,
}

impl RestrictedPlayback {
    /// The HLS URL with the KS, to hand to the member privately.
    pub fn expose_url(&self) -> &str {
        self.url.expose_secret()
    }
}

impl fmt::Debug for RestrictedPlayback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestrictedPlayback")
            .field("entry_id", &self.entry_id)
            .field("url", &"**redacted**")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Searches, shows and shares media and signs restricted playback links, with RBAC and
/// audit.
#[derive(Clone)]
pub struct VideoService {
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for VideoService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VideoService")
    }
}

fn thumbnail_url(ctx: &GuildContext<'_>, entry: &MediaEntry) -> String {
    let (width, height) = THUMBNAIL_SIZE;
    ctx.account
        .urls()
        .thumbnail(&entry.id)
        .width(width)
        .height(height)
        .to_string()
}

fn non_blank(text: Option<&str>, max: usize) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| truncate_chars(t, max))
}

fn title_of(entry: &MediaEntry) -> String {
    non_blank(entry.name.as_deref(), MAX_CARD_TITLE_CHARS)
        .unwrap_or_else(|| entry.id.as_str().to_owned())
}

fn card(ctx: &GuildContext<'_>, entry: &MediaEntry) -> ShareCard {
    let status = entry.status.clone().unwrap_or(EntryStatus::Pending);
    let ready = status == EntryStatus::Ready;
    let urls = ctx.account.urls();
    let player_url = ctx
        .config
        .kaltura
        .player_ui_conf_id
        .filter(|_| ready)
        .map(|id| urls.player_embed(UiConfId::new(id), &entry.id).iframe_url());
    let playback_url = ready.then(|| {
        urls.play_manifest(&entry.id)
            .format(StreamFormat::Hls)
            .to_string()
    });
    ShareCard {
        entry_id: entry.id.clone(),
        title: title_of(entry),
        description: non_blank(entry.description.as_deref(), MAX_CARD_DESCRIPTION_CHARS),
        duration_seconds: entry.duration,
        media_type: entry.media_type,
        status,
        ready,
        thumbnail_url: thumbnail_url(ctx, entry),
        player_url,
        playback_url,
    }
}

fn not_ready(card: &ShareCard) -> Error {
    Error::NotReady {
        entry: card.entry_id.clone(),
        status: card.status.clone(),
    }
}

impl VideoService {
    /// A service writing shares to `audit`, using the system clock.
    pub fn new(audit: Arc<dyn AuditLog>) -> Self {
        VideoService {
            audit,
            clock: Arc::new(SystemClock),
        }
    }

    /// With another clock (restricted playback expiry follows it).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Searches the partner's media with eSearch: one unified, partial-match item over every
    /// text of an entry (name, description, tags, captions, metadata), with highlights,
    /// ranked by relevance. `page` starts at 1 and goes up to [`MAX_SEARCH_PAGE`].
    ///
    /// Needs [`Permission::SearchMedia`] and `features.search`.
    ///
    /// ```no_run
    /// # use kaltura_discord::context::GuildContext;
    /// # use kaltura_discord::rbac::Subject;
    /// # use kaltura_discord::video::VideoService;
    /// # async fn run(video: VideoService, ctx: GuildContext<'_>, member: Subject) -> kaltura_discord::Result<()> {
    /// let page = video.search(&ctx, &member, "onboarding", 1).await?;
    /// for hit in &page.hits {
    ///     println!("{} — {}", hit.entry_id, hit.title);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (query or page), [`Error::FeatureDisabled`],
    /// [`Error::Denied`], [`Error::Kaltura`].
    #[tracing::instrument(name = "video.search", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn search(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        query: &str,
        page: u32,
    ) -> Result<SearchPage> {
        let query = validate_query(query)?;
        if !(1..=MAX_SEARCH_PAGE).contains(&page) {
            return Err(Error::invalid_input(
                "page",
                format!("search pages go from 1 to {MAX_SEARCH_PAGE}, got {page}"),
            ));
        }
        ctx.require(Feature::Search)?;
        ctx.authorize(subject, Permission::SearchMedia)?;
        let found = ctx
            .account
            .client()
            .esearch()
            .search_entries()
            .unified(query.clone())
            .highlight(true)
            .page_size(SEARCH_PAGE_SIZE)
            .page_index(page)
            .send()
            .await?;
        let hits = found
            .objects
            .into_iter()
            .map(|result| {
                let entry = &result.object;
                SearchHit {
                    entry_id: entry.id.clone(),
                    title: title_of(entry),
                    description: non_blank(entry.description.as_deref(), MAX_HIT_DESCRIPTION_CHARS),
                    duration_seconds: entry.duration,
                    media_type: entry.media_type,
                    thumbnail_url: thumbnail_url(ctx, entry),
                    highlights: result
                        .highlight
                        .iter()
                        .flat_map(|h| {
                            h.hits.iter().map(|snippet| {
                                (
                                    h.field_name.clone(),
                                    truncate_chars(snippet, MAX_HIT_DESCRIPTION_CHARS),
                                )
                            })
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(SearchPage {
            query,
            page,
            page_size: SEARCH_PAGE_SIZE,
            total_count: found.total_count,
            hits,
        })
    }

    async fn fetch(&self, ctx: &GuildContext<'_>, entry_id: &EntryId) -> Result<MediaEntry> {
        match ctx.account.client().media().get(entry_id.clone()).await {
            Ok(entry) => Ok(entry),
            Err(e) if e.api_code() == Some(&kaltura_client::ErrorCode::EntryIdNotFound) => {
                Err(Error::not_found(Resource::MediaEntry, entry_id))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The card of one entry (`media.get`), READY or not (see [`ShareCard::ready`]).
    ///
    /// Needs [`Permission::ViewMedia`] and `features.media`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (entry id), [`Error::NotFound`], [`Error::FeatureDisabled`],
    /// [`Error::Denied`], [`Error::Kaltura`].
    #[tracing::instrument(name = "video.get", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn get(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        entry_id: &str,
    ) -> Result<ShareCard> {
        let entry_id = validate_entry_id(entry_id)?;
        ctx.require(Feature::Media)?;
        ctx.authorize(subject, Permission::ViewMedia)?;
        let entry = self.fetch(ctx, &entry_id).await?;
        Ok(card(ctx, &entry))
    }

    /// The card of a READY entry to post into a channel, audited as
    /// [`AuditAction::MediaShared`]. The share is refused if it cannot be audited.
    ///
    /// Needs [`Permission::ShareMedia`] and `features.media`.
    ///
    /// # Errors
    ///
    /// As [`VideoService::get`], plus [`Error::NotReady`] and [`Error::Store`].
    #[tracing::instrument(name = "video.share", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn share(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        entry_id: &str,
    ) -> Result<ShareCard> {
        let entry_id = validate_entry_id(entry_id)?;
        ctx.require(Feature::Media)?;
        ctx.authorize(subject, Permission::ShareMedia)?;
        let entry = self.fetch(ctx, &entry_id).await?;
        let card = card(ctx, &entry);
        if !card.ready {
            return Err(not_ready(&card));
        }
        self.audit
            .append(NewAuditEntry {
                guild: ctx.guild,
                actor: Some(subject.user),
                action: AuditAction::MediaShared,
                detail: json!({"entry_id": card.entry_id.as_str(), "title": card.title}),
            })
            .await?;
        Ok(card)
    }

    /// An HLS URL for one READY entry with a USER KS for `kaltura_user` carrying
    /// `sview:{entryId}`, valid for [`RESTRICTED_PLAYBACK_TTL`] — for entries whose access
    /// control requires a KS. The KS is signed locally; only `media.get` is called.
    ///
    /// Needs [`Permission::ViewMedia`] and `features.media`.
    ///
    /// # Errors
    ///
    /// As [`VideoService::get`], plus [`Error::NotReady`] and [`Error::InvalidInput`] for a
    /// malformed Kaltura user id.
    #[tracing::instrument(name = "video.restricted_playback", skip_all, fields(guild = %ctx.guild, user = %subject.user))]
    pub async fn restricted_playback(
        &self,
        ctx: &GuildContext<'_>,
        subject: &Subject,
        entry_id: &str,
        kaltura_user: &UserId,
    ) -> Result<RestrictedPlayback> {
        let entry_id = validate_entry_id(entry_id)?;
        let user = validate_kaltura_user_id(kaltura_user.as_str())?;
        ctx.require(Feature::Media)?;
        ctx.authorize(subject, Permission::ViewMedia)?;
        let entry = self.fetch(ctx, &entry_id).await?;
        if entry.status != Some(EntryStatus::Ready) {
            return Err(not_ready(&card(ctx, &entry)));
        }
        let urls = ctx.account.urls();
        let builder = urls.playback_ks(&entry.id, user.as_str(), RESTRICTED_PLAYBACK_TTL)?;
        let ks = ctx
            .account
            .signer()
            .sign_with(&builder, self.clock.as_ref(), &mut OsRandom)?;
        let url = urls
            .play_manifest(&entry.id)
            .format(StreamFormat::Hls)
            .ks(ks)
            .to_string();
        Ok(RestrictedPlayback {
            entry_id: entry.id,
            url: SecretString::from(url),
            expires_at: self.clock.now_unix() + RESTRICTED_PLAYBACK_TTL.as_secs() as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_restricted_to_safe_characters() {
        assert_eq!(
            validate_entry_id(" 0_abcd1234 ").unwrap().as_str(),
            "0_abcd1234"
        );
        assert!(validate_entry_id("1_X").is_ok());
        for bad in [
            "",
            "   ",
            "../../etc",
            "0_abc/def",
            "0_abc?x=1",
            "0_abc%2F",
            "0 abc",
            "é_1",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(validate_entry_id(bad), Err(Error::InvalidInput { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn queries_are_trimmed_and_bounded() {
        assert_eq!(validate_query("  cats ").unwrap(), "cats");
        assert!(validate_query(" ").is_err());
        assert!(validate_query(&"q".repeat(200)).is_ok());
        assert!(validate_query(&"q".repeat(201)).is_err());
        assert!(validate_query("a\u{0}b").is_err());
    }

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("ééééé", 5), "ééééé");
        assert_eq!(truncate_chars("éééééé", 5), "éééé…");
        assert_eq!(truncate_chars("ab   cd", 5), "ab…");
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn has_more_pages() {
        let page = |page, total| SearchPage {
            query: "q".into(),
            page,
            page_size: 10,
            total_count: total,
            hits: vec![],
        };
        assert!(page(1, 11).has_more());
        assert!(!page(2, 20).has_more());
        assert!(!page(MAX_SEARCH_PAGE, 100_000).has_more());
    }
}
