//! URL helpers: thumbnails, playback manifests and player embeds.
//!
//! Kaltura serves media from a CDN host (`https://cdnapisec.kaltura.com` by default) under
//! paths made of `/key/value` pairs: `/p/{partnerId}/thumbnail/entry_id/{entryId}/width/320`.
//! [`Urls`] builds them for one partner; every value is percent-encoded as a path segment
//! and a KS is always written in its URL-safe form (`-`/`_`), which Kaltura accepts for both
//! KS versions.
//!
//! [`MeetingJoin`] builds the Kaltura Meetings join link: a USER KS carrying the room
//! (`eventId` / `resourceId`), the role and the user's name, appended to the partner's KAF
//! launch URL (`https://{partnerId}.kaf.kaltura.com/virtualEvent/launch?ks=…`).
//!
//! ```
//! use kaltura_client::urls::{StreamFormat, Urls};
//! use kaltura_client::{EntryId, PartnerId, UiConfId};
//!
//! let urls = Urls::new(PartnerId::new(12345));
//! let entry = EntryId::new("0_abc123");
//! assert_eq!(
//!     urls.thumbnail(&entry).width(320).height(180).to_string(),
//!     "https://cdnapisec.kaltura.com/p/12345/thumbnail/entry_id/0_abc123/width/320/height/180"
//! );
//! assert_eq!(
//!     urls.play_manifest(&entry).format(StreamFormat::Hls).to_string(),
//!     "https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/0_abc123/format/applehttp/protocol/https/a.m3u8"
//! );
//! let embed = urls.player_embed(UiConfId::new(55555), &entry);
//! assert!(embed.iframe_url().ends_with("?iframeembed=true&entry_id=0_abc123"));
//! ```

use std::fmt;

use url::Url;

use std::time::Duration;

use secrecy::SecretString;

use crate::clock::Clock;
use crate::ids::{
    EntryId, FlavorAssetId, PartnerId, ScheduleEventId, ScheduleResourceId, UiConfId,
};
use crate::ks::{Ks, KsBuilder, KsVersion, Privilege, Privileges, RandomSource, SessionType};
use crate::{Error, Result};

/// The default CDN host that serves thumbnails, manifests and players over HTTPS.
pub const DEFAULT_CDN_URL: &str = "https://cdnapisec.kaltura.com";

/// Builds media URLs for one partner.
#[derive(Debug, Clone)]
pub struct Urls {
    base: Url,
    partner_id: PartnerId,
}

impl Urls {
    /// URLs on the default CDN ([`DEFAULT_CDN_URL`]).
    pub fn new(partner_id: PartnerId) -> Self {
        Urls {
            base: Url::parse(DEFAULT_CDN_URL).expect("DEFAULT_CDN_URL is a valid URL"),
            partner_id,
        }
    }

    /// URLs on another host, e.g. a self-hosted Kaltura or the fake server.
    ///
    /// The URL must be absolute `http` or `https`; a path prefix is kept.
    pub fn with_base(partner_id: PartnerId, base: &str) -> Result<Self> {
        let mut base = Url::parse(base)
            .map_err(|e| Error::Config(format!("invalid media base URL {base:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "media base URL must be an absolute http(s) URL, got {base}"
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        Ok(Urls { base, partner_id })
    }

    /// The partner these URLs are for.
    pub fn partner_id(&self) -> PartnerId {
        self.partner_id
    }

    /// A thumbnail of an entry (`/p/{pid}/thumbnail/entry_id/{id}`).
    pub fn thumbnail(&self, entry_id: &EntryId) -> ThumbnailUrl {
        ThumbnailUrl {
            urls: self.clone(),
            entry_id: entry_id.clone(),
            width: None,
            height: None,
            quality: None,
            vid_sec: None,
            crop_type: None,
            ks: None,
        }
    }

    /// A playback manifest of an entry (`/p/{pid}/sp/{pid}00/playManifest/entryId/{id}/…`).
    pub fn play_manifest(&self, entry_id: &EntryId) -> PlayManifestUrl {
        PlayManifestUrl {
            urls: self.clone(),
            entry_id: entry_id.clone(),
            format: StreamFormat::Hls,
            flavor_ids: Vec::new(),
            ks: None,
        }
    }

    /// A Kaltura Player (v7) embed of an entry with a player configuration.
    pub fn player_embed(&self, ui_conf_id: UiConfId, entry_id: &EntryId) -> PlayerEmbed {
        PlayerEmbed {
            urls: self.clone(),
            ui_conf_id,
            entry_id: entry_id.clone(),
            target_id: format!("kaltura_player_{}", sanitize_dom_id(entry_id.as_str())),
        }
    }

    /// A KS builder for restricted playback of one entry: a USER session with
    /// `sview:{entryId}`, valid for `expiry`. Sign it with the admin secret and pass the KS to
    /// [`PlayManifestUrl::ks`] or [`ThumbnailUrl::ks`].
    pub fn playback_ks(
        &self,
        entry_id: &EntryId,
        user_id: &str,
        expiry: Duration,
    ) -> Result<KsBuilder> {
        Ok(KsBuilder::new(self.partner_id)
            .session_type(SessionType::User)
            .user_id(user_id)
            .expiry(expiry)
            .privilege(Privilege::new("sview", Some(entry_id.as_str()))?))
    }

    fn url_with_segments<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }
}

/// A KS in the URL-safe alphabet Kaltura accepts in paths and query strings.
fn url_safe_ks(ks: &Ks) -> String {
    ks.expose_secret().replace('+', "-").replace('/', "_")
}

/// Keeps only characters that are valid in an HTML id.
fn sanitize_dom_id(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Escapes a value for an HTML attribute.
fn html_attr(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How a thumbnail is fitted into the requested size (`type` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThumbnailCrop {
    /// Resize keeping the aspect ratio (1).
    Resize,
    /// Resize and pad with a background colour (2).
    ResizeWithPadding,
    /// Crop to the requested size (3).
    Crop,
    /// Crop from the top (4).
    CropFromTop,
    /// Resize without keeping the aspect ratio (5).
    Stretch,
}

impl ThumbnailCrop {
    fn code(self) -> u8 {
        match self {
            ThumbnailCrop::Resize => 1,
            ThumbnailCrop::ResizeWithPadding => 2,
            ThumbnailCrop::Crop => 3,
            ThumbnailCrop::CropFromTop => 4,
            ThumbnailCrop::Stretch => 5,
        }
    }
}

/// A thumbnail URL being built; `to_string()` or [`ThumbnailUrl::url`] renders it.
#[derive(Debug, Clone)]
pub struct ThumbnailUrl {
    urls: Urls,
    entry_id: EntryId,
    width: Option<u32>,
    height: Option<u32>,
    quality: Option<u8>,
    vid_sec: Option<f64>,
    crop_type: Option<ThumbnailCrop>,
    ks: Option<Ks>,
}

impl ThumbnailUrl {
    /// Width in pixels.
    #[must_use]
    pub fn width(mut self, width: u32) -> Self {
        self.width = Some(width);
        self
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(mut self, height: u32) -> Self {
        self.height = Some(height);
        self
    }

    /// JPEG quality, 1–100 (values above 100 are clamped).
    #[must_use]
    pub fn quality(mut self, quality: u8) -> Self {
        self.quality = Some(quality.clamp(1, 100));
        self
    }

    /// Take the frame at this offset into the video, in seconds.
    #[must_use]
    pub fn vid_sec(mut self, seconds: f64) -> Self {
        if seconds.is_finite() && seconds >= 0.0 {
            self.vid_sec = Some(seconds);
        }
        self
    }

    /// How the image is fitted into width × height.
    #[must_use]
    pub fn crop(mut self, crop: ThumbnailCrop) -> Self {
        self.crop_type = Some(crop);
        self
    }

    /// A KS for entries that need one (access control, restricted categories).
    #[must_use]
    pub fn ks(mut self, ks: Ks) -> Self {
        self.ks = Some(ks);
        self
    }

    /// The rendered URL.
    pub fn url(&self) -> Url {
        let pid = self.urls.partner_id.to_string();
        let mut segments: Vec<String> = vec![
            "p".into(),
            pid,
            "thumbnail".into(),
            "entry_id".into(),
            self.entry_id.as_str().into(),
        ];
        let mut push = |k: &str, v: String| {
            segments.push(k.into());
            segments.push(v);
        };
        if let Some(w) = self.width {
            push("width", w.to_string());
        }
        if let Some(h) = self.height {
            push("height", h.to_string());
        }
        if let Some(t) = self.crop_type {
            push("type", t.code().to_string());
        }
        if let Some(s) = self.vid_sec {
            push("vid_sec", format_seconds(s));
        }
        if let Some(q) = self.quality {
            push("quality", q.to_string());
        }
        if let Some(ks) = &self.ks {
            push("ks", url_safe_ks(ks));
        }
        self.urls
            .url_with_segments(segments.iter().map(String::as_str))
    }
}

fn format_seconds(s: f64) -> String {
    if s.fract() == 0.0 && s < 1e15 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

/// Renders the URL. The KS, if any, is part of the URL: treat the string as a secret.
impl fmt::Display for ThumbnailUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url().as_str())
    }
}

/// The delivery format of a playback manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StreamFormat {
    /// HLS (`applehttp`, `.m3u8`).
    #[default]
    Hls,
    /// MPEG-DASH (`mpegdash`, `.mpd`).
    Dash,
    /// A progressive download of one flavor (`url`).
    ProgressiveUrl,
    /// A download of one flavor as a file (`download`).
    Download,
}

impl StreamFormat {
    fn wire(self) -> &'static str {
        match self {
            StreamFormat::Hls => "applehttp",
            StreamFormat::Dash => "mpegdash",
            StreamFormat::ProgressiveUrl => "url",
            StreamFormat::Download => "download",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            StreamFormat::Hls => "a.m3u8",
            StreamFormat::Dash => "manifest.mpd",
            StreamFormat::ProgressiveUrl | StreamFormat::Download => "a.mp4",
        }
    }
}

/// A playManifest URL being built.
#[derive(Debug, Clone)]
pub struct PlayManifestUrl {
    urls: Urls,
    entry_id: EntryId,
    format: StreamFormat,
    flavor_ids: Vec<FlavorAssetId>,
    ks: Option<Ks>,
}

impl PlayManifestUrl {
    /// The delivery format (default HLS).
    #[must_use]
    pub fn format(mut self, format: StreamFormat) -> Self {
        self.format = format;
        self
    }

    /// Restricts the manifest to these flavors (renditions).
    #[must_use]
    pub fn flavor_ids(mut self, ids: impl IntoIterator<Item = FlavorAssetId>) -> Self {
        self.flavor_ids = ids.into_iter().collect();
        self
    }

    /// A KS, required for entries with access control (e.g. a USER KS with `sview:{entryId}`).
    #[must_use]
    pub fn ks(mut self, ks: Ks) -> Self {
        self.ks = Some(ks);
        self
    }

    /// The rendered URL.
    pub fn url(&self) -> Url {
        let pid = self.urls.partner_id.to_string();
        let sub_partner = format!("{pid}00");
        let flavors = self
            .flavor_ids
            .iter()
            .map(FlavorAssetId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let ks = self.ks.as_ref().map(url_safe_ks);
        let mut segments: Vec<&str> = vec![
            "p",
            &pid,
            "sp",
            &sub_partner,
            "playManifest",
            "entryId",
            self.entry_id.as_str(),
            "format",
            self.format.wire(),
            "protocol",
            "https",
        ];
        if !self.flavor_ids.is_empty() {
            segments.extend(["flavorIds", flavors.as_str()]);
        }
        if let Some(ks) = &ks {
            segments.extend(["ks", ks.as_str()]);
        }
        segments.push(self.format.file_name());
        self.urls.url_with_segments(segments)
    }
}

/// Renders the URL. The KS, if any, is part of the URL: treat the string as a secret.
impl fmt::Display for PlayManifestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url().as_str())
    }
}

/// A Kaltura Player v7 embed of one entry.
#[derive(Debug, Clone)]
pub struct PlayerEmbed {
    urls: Urls,
    ui_conf_id: UiConfId,
    entry_id: EntryId,
    target_id: String,
}

impl PlayerEmbed {
    /// The id of the `<div>` the script embed renders into (default `kaltura_player_{entryId}`).
    #[must_use]
    pub fn target_id(mut self, id: &str) -> Self {
        self.target_id = sanitize_dom_id(id);
        self
    }

    fn base(&self) -> Url {
        let pid = self.urls.partner_id.to_string();
        let ui_conf = self.ui_conf_id.to_string();
        self.urls.url_with_segments([
            "p",
            pid.as_str(),
            "embedPlaykitJs",
            "uiconf_id",
            ui_conf.as_str(),
        ])
    }

    /// The script URL that auto-embeds the player into the target `<div>`.
    pub fn script_url(&self) -> String {
        let mut url = self.base();
        url.query_pairs_mut()
            .append_pair("autoembed", "true")
            .append_pair("targetId", &self.target_id)
            .append_pair("entry_id", self.entry_id.as_str());
        url.into()
    }

    /// The URL of a page that shows only the player, for an `<iframe>`.
    pub fn iframe_url(&self) -> String {
        let mut url = self.base();
        url.query_pairs_mut()
            .append_pair("iframeembed", "true")
            .append_pair("entry_id", self.entry_id.as_str());
        url.into()
    }

    /// HTML for the script embed: the target `<div>` and the `<script>` tag.
    pub fn script_html(&self) -> String {
        format!(
            "<div id=\"{id}\" style=\"width: 640px; height: 360px\"></div>\n<script type=\"text/javascript\" src=\"{src}\"></script>",
            id = html_attr(&self.target_id),
            src = html_attr(&self.script_url()),
        )
    }

    /// HTML for the iframe embed.
    pub fn iframe_html(&self) -> String {
        format!(
            "<iframe src=\"{src}\" width=\"640\" height=\"360\" allowfullscreen webkitallowfullscreen mozAllowFullScreen allow=\"autoplay *; fullscreen *; encrypted-media *\" frameborder=\"0\"></iframe>",
            src = html_attr(&self.iframe_url()),
        )
    }
}

/// Which Kaltura Meetings room a join link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingTarget {
    /// A scheduled session (`eventId` privilege): the usual case.
    Event(ScheduleEventId),
    /// A room resource (`resourceId` privilege): moderators may enter to prepare; attendees
    /// wait until a moderator is in.
    Resource(ScheduleResourceId),
}

/// The role a user has inside a Kaltura Meetings room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeetingRole {
    /// `role:viewerRole`, `userContextualRole:3`.
    #[default]
    Attendee,
    /// `role:adminRole`, `userContextualRole:0` (instructor / moderator).
    Instructor,
}

impl MeetingRole {
    /// The `role` privilege value.
    pub fn ks_role(self) -> &'static str {
        match self {
            MeetingRole::Attendee => "viewerRole",
            MeetingRole::Instructor => "adminRole",
        }
    }

    /// The `userContextualRole` privilege value.
    pub fn user_contextual_role(self) -> u8 {
        match self {
            MeetingRole::Attendee => crate::ks::CONTEXTUAL_ROLE_ATTENDEE,
            MeetingRole::Instructor => crate::ks::CONTEXTUAL_ROLE_INSTRUCTOR,
        }
    }
}

/// The default lifetime of a join link's KS.
pub const DEFAULT_JOIN_EXPIRY: Duration = Duration::from_secs(4 * 3600);

/// Builds a Kaltura Meetings join link for one user.
///
/// ```
/// use kaltura_client::urls::{MeetingJoin, MeetingRole, MeetingTarget};
/// use kaltura_client::{PartnerId, ScheduleEventId};
/// use secrecy::SecretString;
///
/// let join = MeetingJoin::new(PartnerId::new(12345), MeetingTarget::Event(ScheduleEventId::new(987)), "discord_42")
///     .role(MeetingRole::Instructor)
///     .first_name("Ada")
///     .last_name("Lovelace");
/// let link = join.build(&SecretString::from("admin-secret"))?;
/// assert!(link.expose_url().starts_with("https://12345.kaf.kaltura.com/virtualEvent/launch?ks=djJ8"));
/// # Ok::<(), kaltura_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MeetingJoin {
    partner_id: PartnerId,
    target: MeetingTarget,
    user_id: String,
    role: MeetingRole,
    first_name: Option<String>,
    last_name: Option<String>,
    expiry: Duration,
    kaf_url: Option<String>,
    version: KsVersion,
}

impl MeetingJoin {
    /// A join link to `target` for the Kaltura user `user_id`, as an attendee.
    pub fn new(partner_id: PartnerId, target: MeetingTarget, user_id: impl Into<String>) -> Self {
        MeetingJoin {
            partner_id,
            target,
            user_id: user_id.into(),
            role: MeetingRole::Attendee,
            first_name: None,
            last_name: None,
            expiry: DEFAULT_JOIN_EXPIRY,
            kaf_url: None,
            version: KsVersion::V2,
        }
    }

    /// The user's role in the room.
    #[must_use]
    pub fn role(mut self, role: MeetingRole) -> Self {
        self.role = role;
        self
    }

    /// The first name shown in the room. Commas (which would end the privilege) become
    /// spaces; at most 64 characters are kept.
    #[must_use]
    pub fn first_name(mut self, name: &str) -> Self {
        self.first_name = clean_name(name);
        self
    }

    /// The last name shown in the room (cleaned like [`MeetingJoin::first_name`]).
    #[must_use]
    pub fn last_name(mut self, name: &str) -> Self {
        self.last_name = clean_name(name);
        self
    }

    /// How long the link works (default [`DEFAULT_JOIN_EXPIRY`]).
    #[must_use]
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// The KAF base URL (default `https://{partnerId}.kaf.kaltura.com`).
    #[must_use]
    pub fn kaf_url(mut self, url: impl Into<String>) -> Self {
        self.kaf_url = Some(url.into());
        self
    }

    /// The KS version (default v2).
    #[must_use]
    pub fn ks_version(mut self, version: KsVersion) -> Self {
        self.version = version;
        self
    }

    /// The privileges the join KS carries.
    pub fn privileges(&self) -> Result<Privileges> {
        let mut p = Privileges::default();
        p.insert(match self.target {
            MeetingTarget::Event(id) => Privilege::new("eventId", Some(&id.to_string()))?,
            MeetingTarget::Resource(id) => Privilege::new("resourceId", Some(&id.to_string()))?,
        });
        p.insert(Privilege::new("role", Some(self.role.ks_role()))?);
        p.insert(Privilege::user_contextual_role(
            self.role.user_contextual_role(),
        ));
        if let Some(first) = &self.first_name {
            p.insert(Privilege::new("firstName", Some(first))?);
        }
        if let Some(last) = &self.last_name {
            p.insert(Privilege::new("lastName", Some(last))?);
        }
        Ok(p)
    }

    /// The unsigned KS: a USER session for the user with [`MeetingJoin::privileges`].
    pub fn ks_builder(&self) -> Result<KsBuilder> {
        Ok(KsBuilder::new(self.partner_id)
            .session_type(SessionType::User)
            .user_id(self.user_id.clone())
            .expiry(self.expiry)
            .version(self.version)
            .privileges(self.privileges()?))
    }

    /// Signs the KS with the partner's admin secret and renders the link.
    pub fn build(&self, admin_secret: &SecretString) -> Result<JoinUrl> {
        let ks = self.ks_builder()?.sign(admin_secret)?;
        self.render(ks)
    }

    /// Like [`MeetingJoin::build`] with an injected clock and random source (for tests).
    pub fn build_with(
        &self,
        admin_secret: &SecretString,
        clock: &dyn Clock,
        rng: &mut dyn RandomSource,
    ) -> Result<JoinUrl> {
        let ks = self.ks_builder()?.sign_with(admin_secret, clock, rng)?;
        self.render(ks)
    }

    /// Renders the link for an already signed KS.
    pub fn render(&self, ks: Ks) -> Result<JoinUrl> {
        let base = match &self.kaf_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}.kaf.kaltura.com", self.partner_id),
        };
        let mut url = Url::parse(&base)
            .map_err(|e| Error::Config(format!("invalid KAF URL {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "KAF URL must be an absolute http(s) URL, got {base}"
            )));
        }
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["virtualEvent", "launch"]);
        }
        url.query_pairs_mut().append_pair("ks", &url_safe_ks(&ks));
        Ok(JoinUrl {
            url: SecretString::from(String::from(url)),
            ks,
        })
    }
}

fn clean_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .map(|c| if c == ',' || c.is_control() { ' ' } else { c })
        .take(64)
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    (!cleaned.is_empty()).then_some(cleaned)
}

/// A signed join link. It grants entry to the room, so it is a secret: Debug redacts it.
#[derive(Clone)]
pub struct JoinUrl {
    url: SecretString,
    ks: Ks,
}

impl JoinUrl {
    /// The link, to hand to the user (privately: anyone holding it can join as them).
    pub fn expose_url(&self) -> &str {
        use secrecy::ExposeSecret as _;
        self.url.expose_secret()
    }

    /// The KS inside the link.
    pub fn ks(&self) -> &Ks {
        &self.ks
    }
}

impl fmt::Debug for JoinUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinUrl(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new(PartnerId::new(12345))
    }

    #[test]
    fn thumbnail_with_every_parameter() {
        let url = urls()
            .thumbnail(&EntryId::new("0_abc"))
            .width(640)
            .height(360)
            .crop(ThumbnailCrop::Crop)
            .vid_sec(12.5)
            .quality(85)
            .ks(Ks::new("djJ8MTIz+abc/def="))
            .to_string();
        assert_eq!(
            url,
            "https://cdnapisec.kaltura.com/p/12345/thumbnail/entry_id/0_abc/width/640/height/360/type/3/vid_sec/12.5/quality/85/ks/djJ8MTIz-abc_def="
        );
    }

    #[test]
    fn hostile_entry_ids_stay_one_path_segment() {
        let url = urls()
            .thumbnail(&EntryId::new("../../etc/passwd"))
            .to_string();
        assert_eq!(
            url,
            "https://cdnapisec.kaltura.com/p/12345/thumbnail/entry_id/..%2F..%2Fetc%2Fpasswd"
        );
    }

    #[test]
    fn play_manifest_dash_with_flavors_and_ks() {
        let url = urls()
            .play_manifest(&EntryId::new("0_abc"))
            .format(StreamFormat::Dash)
            .flavor_ids([FlavorAssetId::new("0_f1"), FlavorAssetId::new("0_f2")])
            .ks(Ks::new("djJ8"))
            .to_string();
        assert_eq!(
            url,
            "https://cdnapisec.kaltura.com/p/12345/sp/1234500/playManifest/entryId/0_abc/format/mpegdash/protocol/https/flavorIds/0_f1,0_f2/ks/djJ8/manifest.mpd"
        );
    }

    #[test]
    fn download_format() {
        let url = urls()
            .play_manifest(&EntryId::new("0_abc"))
            .format(StreamFormat::Download)
            .to_string();
        assert!(
            url.ends_with("/format/download/protocol/https/a.mp4"),
            "{url}"
        );
    }

    #[test]
    fn custom_base_keeps_its_path_prefix() {
        let urls = Urls::with_base(PartnerId::new(1), "http://127.0.0.1:8080/kaltura/").unwrap();
        assert_eq!(
            urls.thumbnail(&EntryId::new("0_x")).to_string(),
            "http://127.0.0.1:8080/kaltura/p/1/thumbnail/entry_id/0_x"
        );
        assert!(Urls::with_base(PartnerId::new(1), "ftp://x").is_err());
        assert!(Urls::with_base(PartnerId::new(1), "not a url").is_err());
    }

    #[test]
    fn meeting_join_link_carries_the_documented_privileges() {
        use crate::clock::FixedClock;
        use crate::ks::FixedRandom;
        let secret = SecretString::from("abcdef0123456789abcdef0123456789");
        let link = MeetingJoin::new(
            PartnerId::new(12345),
            MeetingTarget::Event(ScheduleEventId::new(4242)),
            "discord_42",
        )
        .role(MeetingRole::Instructor)
        .first_name("Ada, Countess")
        .last_name("  Lovelace ")
        .build_with(
            &secret,
            &FixedClock(1_700_000_000),
            &mut FixedRandom {
                bytes: [7; 16],
                v1: 1,
            },
        )
        .unwrap();
        let url = Url::parse(link.expose_url()).unwrap();
        assert_eq!(url.host_str(), Some("12345.kaf.kaltura.com"));
        assert_eq!(url.path(), "/virtualEvent/launch");
        let ks = url
            .query_pairs()
            .find(|(k, _)| k == "ks")
            .unwrap()
            .1
            .into_owned();
        let decoded = crate::ks::decode(&ks, &secret).unwrap();
        assert_eq!(decoded.session_type, SessionType::User);
        assert_eq!(decoded.user_id, "discord_42");
        assert_eq!(
            decoded.valid_until,
            1_700_000_000 + DEFAULT_JOIN_EXPIRY.as_secs() as i64
        );
        assert_eq!(
            decoded.privileges.to_string(),
            "eventId:4242,role:adminRole,userContextualRole:0,firstName:Ada Countess,lastName:Lovelace"
        );
        assert!(!format!("{link:?}").contains(&ks));
    }

    #[test]
    fn attendee_link_for_a_resource_on_a_custom_kaf_host() {
        let secret = SecretString::from("s");
        let join = MeetingJoin::new(
            PartnerId::new(1),
            MeetingTarget::Resource(ScheduleResourceId::new(77)),
            "u",
        )
        .kaf_url("https://mykaf.example.org/");
        assert_eq!(
            join.privileges().unwrap().to_string(),
            "resourceId:77,role:viewerRole,userContextualRole:3"
        );
        let link = join.build(&secret).unwrap();
        assert!(
            link.expose_url()
                .starts_with("https://mykaf.example.org/virtualEvent/launch?ks=")
        );
        assert!(
            join.clone()
                .kaf_url("javascript:alert(1)")
                .build(&secret)
                .is_err()
        );
    }

    #[test]
    fn restricted_playback_ks_has_sview() {
        let b = urls()
            .playback_ks(
                &EntryId::new("0_abc"),
                "discord_1",
                Duration::from_secs(600),
            )
            .unwrap();
        let ks = b.sign(&SecretString::from("s")).unwrap();
        let decoded = crate::ks::decode(ks.expose_secret(), &SecretString::from("s")).unwrap();
        assert_eq!(decoded.privileges.to_string(), "sview:0_abc");
        assert_eq!(decoded.session_type, SessionType::User);
    }

    #[test]
    fn player_embed_script_and_iframe() {
        let embed = urls()
            .player_embed(UiConfId::new(555), &EntryId::new("0_abc"))
            .target_id("my player\"><script>");
        assert_eq!(
            embed.script_url(),
            "https://cdnapisec.kaltura.com/p/12345/embedPlaykitJs/uiconf_id/555?autoembed=true&targetId=my_player___script_&entry_id=0_abc"
        );
        assert_eq!(
            embed.iframe_url(),
            "https://cdnapisec.kaltura.com/p/12345/embedPlaykitJs/uiconf_id/555?iframeembed=true&entry_id=0_abc"
        );
        assert!(embed.iframe_html().starts_with("<iframe src=\"https://cdnapisec.kaltura.com/p/12345/embedPlaykitJs/uiconf_id/555?iframeembed=true&amp;entry_id=0_abc\""));
        assert!(
            embed
                .script_html()
                .contains("<div id=\"my_player___script_\"")
        );
    }
}
