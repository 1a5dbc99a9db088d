//! URL helpers: thumbnails, playback manifests and player embeds.
//!
//! Kaltura serves media from a CDN host (`https://cdnapisec.kaltura.com` by default) under
//! paths made of `/key/value` pairs: `/p/{partnerId}/thumbnail/entry_id/{entryId}/width/320`.
//! [`Urls`] builds them for one partner; every value is percent-encoded as a path segment
//! and a KS is always written in its URL-safe form (`-`/`_`), which Kaltura accepts for both
//! KS versions.
//!
//! Kaltura Meetings join links are built by [`crate::meetings_join`] (re-exported here).
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
use std::time::Duration;

use url::Url;

use crate::ids::{EntryId, FlavorAssetId, PartnerId, UiConfId};
use crate::ks::{Ks, KsBuilder, Privilege, SessionType};
use crate::{Error, Result};

pub use crate::meetings_join::{
    DEFAULT_JOIN_EXPIRY, JoinUrl, MeetingJoin, MeetingRole, MeetingTarget,
};

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
    #[expect(
        clippy::expect_used,
        reason = "a constant URL; the unit tests build it on every run"
    )]
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
pub(crate) fn url_safe_ks(ks: &Ks) -> String {
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

    /// The rendered URL (as `to_string()`).
    pub fn url(&self) -> String {
        self.build().into()
    }

    fn build(&self) -> Url {
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
        f.write_str(self.build().as_str())
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

    /// The rendered URL (as `to_string()`).
    pub fn url(&self) -> String {
        self.build().into()
    }

    fn build(&self) -> Url {
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
        f.write_str(self.build().as_str())
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use secrecy::SecretString;

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
