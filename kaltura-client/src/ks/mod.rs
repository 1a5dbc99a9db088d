//! Kaltura Sessions (KS): local generation, verification and inspection.
//!
//! A KS is the credential of every Kaltura API call. It can be generated locally from the
//! partner's **admin secret** (always the admin secret, even for USER sessions), which saves a
//! `session.start` round trip, and a KS can be decoded and verified with the same secret.
//! Both formats the server accepts are implemented byte for byte:
//!
//! * **v1**: `base64(sha1hex(secret ‖ info) "|" info)` with a readable `;`-separated `info`;
//! * **v2** (the default): an AES-128-CBC encrypted, SHA-1 protected field list, prefixed by
//!   `v2|<partnerId>|` and URL-safe base64 encoded.
//!
//! The output reproduces the official Python client's test vectors exactly when the clock and
//! the random source are pinned ([`crate::clock::FixedClock`], [`FixedRandom`]).
//!
//! * [`KsBuilder`] describes a session and signs it; [`KsSigner`] holds the keys derived from
//!   an admin secret so that repeated signing/verification does not re-derive them.
//! * [`decode`] verifies a KS (signature or embedded hash) and returns its fields;
//!   [`inspect`] reads what can be read without the secret.
//! * [`Ks`] wraps a KS string so it is never printed by accident.
//!
//! None of these functions panic on malformed input; every failure is an
//! [`crate::Error::Ks`] with a [`crate::KsErrorKind`].

mod privileges;
mod random;
mod v1;
mod v2;

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use aes::cipher::KeyInit;
use aes::{Aes128Dec, Aes128Enc};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha1::{Digest, Sha1};

pub use random::{FixedRandom, OsRandom, RandomSource};

use crate::clock::{Clock, SystemClock};
pub use privileges::{CONTEXTUAL_ROLE_ATTENDEE, CONTEXTUAL_ROLE_INSTRUCTOR, Privilege, Privileges};

use crate::error::{Error, KsErrorKind, Result};
use crate::ids::PartnerId;

/// A Kaltura Session string.
///
/// The KS is a bearer credential, so it is kept in a [`SecretString`]: `Debug` prints
/// `Ks(**redacted**)`, and there is no `Display` or `Serialize`. Use
/// [`Ks::expose_secret`] where the string must be sent.
#[derive(Clone)]
pub struct Ks(SecretString);

impl Ks {
    /// Wraps a KS string (no validation; see [`decode`] / [`inspect`]).
    pub fn new(ks: impl Into<String>) -> Ks {
        Ks(SecretString::from(ks.into()))
    }

    /// The KS string, for sending it to Kaltura.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// [`inspect`]s this KS (no secret needed, nothing verified).
    ///
    /// # Errors
    /// As [`inspect`].
    pub fn inspect(&self) -> Result<UnverifiedKs> {
        inspect(self.expose_secret())
    }

    /// [`decode`]s and verifies this KS with the partner's admin secret.
    ///
    /// # Errors
    /// As [`decode`].
    pub fn decode(&self, admin_secret: &SecretString) -> Result<DecodedKs> {
        decode(self.expose_secret(), admin_secret)
    }
}

impl fmt::Debug for Ks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ks(**redacted**)")
    }
}

/// A KS arrives as a JSON string (e.g. the result of `session.start`).
impl<'de> Deserialize<'de> for Ks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Ks::new)
    }
}

impl From<String> for Ks {
    fn from(ks: String) -> Self {
        Ks::new(ks)
    }
}

impl From<&str> for Ks {
    fn from(ks: &str) -> Self {
        Ks::new(ks)
    }
}

impl FromStr for Ks {
    type Err = Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Ks::new(s))
    }
}

/// The type of a session (`KalturaSessionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionType {
    /// `0`: a user session, limited to what the user (and its privileges) may do.
    User,
    /// `2`: an admin session, full access to the partner.
    Admin,
    /// Any other number found in a KS, kept verbatim. Build values with
    /// [`SessionType::from_i64`], which never produces `Unknown(0)` or `Unknown(2)`.
    Unknown(i64),
}

impl SessionType {
    /// The wire value (`0` user, `2` admin).
    pub const fn as_i64(self) -> i64 {
        match self {
            SessionType::User => 0,
            SessionType::Admin => 2,
            SessionType::Unknown(n) => n,
        }
    }

    /// The session type for a wire value.
    pub const fn from_i64(n: i64) -> Self {
        match n {
            0 => SessionType::User,
            2 => SessionType::Admin,
            n => SessionType::Unknown(n),
        }
    }

    /// Whether the server treats this session as an admin session (type ≥ 1, as
    /// `ks::isAdmin()`).
    pub const fn is_admin(self) -> bool {
        self.as_i64() >= 1
    }
}

impl fmt::Display for SessionType {
    /// `user`, `admin` or the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionType::User => f.write_str("user"),
            SessionType::Admin => f.write_str("admin"),
            SessionType::Unknown(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for SessionType {
    type Err = Error;

    /// Parses `user`/`admin` (any case) or a number.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("user") {
            Ok(SessionType::User)
        } else if s.eq_ignore_ascii_case("admin") {
            Ok(SessionType::Admin)
        } else {
            s.parse().map(SessionType::from_i64).map_err(|_| {
                Error::Ks(KsErrorKind::InvalidField(format!(
                    "session type {s:?} is not user, admin or a number"
                )))
            })
        }
    }
}

impl Serialize for SessionType {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_i64(self.as_i64())
    }
}

impl<'de> Deserialize<'de> for SessionType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        crate::ids::int_or_string(d).map(SessionType::from_i64)
    }
}

/// The KS format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KsVersion {
    /// Signed, readable `;`-separated fields.
    V1,
    /// Encrypted field list (the default, and what current partners use).
    #[default]
    V2,
}

impl KsVersion {
    /// `1` or `2`.
    pub const fn number(self) -> u8 {
        match self {
            KsVersion::V1 => 1,
            KsVersion::V2 => 2,
        }
    }
}

impl FromStr for KsVersion {
    type Err = Error;

    /// Parses `1`, `2`, `v1` or `v2`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "1" | "v1" | "V1" => Ok(KsVersion::V1),
            "2" | "v2" | "V2" => Ok(KsVersion::V2),
            other => Err(Error::Ks(KsErrorKind::UnsupportedVersion(other.to_owned()))),
        }
    }
}

/// Describes a session to sign.
///
/// ```
/// use std::time::Duration;
/// use kaltura_client::ks::{self, KsBuilder, Privilege, SessionType};
/// use kaltura_client::PartnerId;
/// use secrecy::SecretString;
///
/// let secret = SecretString::from("abcdef0123456789abcdef0123456789");
/// let ks = KsBuilder::new(PartnerId::new(12345))
///     .session_type(SessionType::User)
///     .user_id("discord_42")
///     .expiry(Duration::from_secs(3600))
///     .privilege(Privilege::PrivacyContext("abc".into()))
///     .sign(&secret)?;
///
/// let decoded = ks::decode(ks.expose_secret(), &secret)?;
/// assert_eq!(decoded.user_id, "discord_42");
/// assert_eq!(decoded.privileges.to_string(), "privacycontext:abc");
/// # Ok::<(), kaltura_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KsBuilder {
    partner_id: PartnerId,
    session_type: SessionType,
    user_id: String,
    expiry: Duration,
    privileges: Privileges,
    version: KsVersion,
    master_partner_id: Option<PartnerId>,
    additional_data: Option<String>,
}

impl KsBuilder {
    /// The default session lifetime, 24 hours (the server's default `ksMaxExpiryInSeconds`).
    pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(86_400);

    /// A USER session for `partner_id` with no user id, no privileges, a 24 hour lifetime, in
    /// the v2 format.
    pub fn new(partner_id: PartnerId) -> Self {
        KsBuilder {
            partner_id,
            session_type: SessionType::User,
            user_id: String::new(),
            expiry: Self::DEFAULT_EXPIRY,
            privileges: Privileges::new(),
            version: KsVersion::V2,
            master_partner_id: None,
            additional_data: None,
        }
    }

    /// Sets the session type.
    #[must_use]
    pub fn session_type(mut self, t: SessionType) -> Self {
        self.session_type = t;
        self
    }

    /// Sets the user id.
    #[must_use]
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = id.into();
        self
    }

    /// Sets the lifetime, counted from the time of signing (whole seconds; the server caps it
    /// at the partner's `ksMaxExpiryInSeconds` only for `session.start`).
    #[must_use]
    pub fn expiry(mut self, d: Duration) -> Self {
        self.expiry = d;
        self
    }

    /// Replaces all privileges.
    #[must_use]
    pub fn privileges(mut self, p: Privileges) -> Self {
        self.privileges = p;
        self
    }

    /// Adds one privilege; a privilege with the same name is replaced in place.
    #[must_use]
    pub fn privilege(mut self, p: Privilege) -> Self {
        self.privileges.insert(p);
        self
    }

    /// Sets the KS format (default [`KsVersion::V2`]).
    #[must_use]
    pub fn version(mut self, v: KsVersion) -> Self {
        self.version = v;
        self
    }

    /// Sets the master partner id (multi-account setups).
    #[must_use]
    pub fn master_partner_id(mut self, id: PartnerId) -> Self {
        self.master_partner_id = Some(id);
        self
    }

    /// Sets the additional data field.
    #[must_use]
    pub fn additional_data(mut self, d: impl Into<String>) -> Self {
        self.additional_data = Some(d.into());
        self
    }

    /// The privileges set so far.
    pub fn privileges_ref(&self) -> &Privileges {
        &self.privileges
    }

    /// Signs the session with the partner's admin secret, using the system clock and the OS
    /// random generator.
    ///
    /// # Errors
    /// [`KsErrorKind::InvalidPrivilege`] / [`KsErrorKind::InvalidField`] when a value cannot
    /// be encoded (see [`Privilege::validate`]; v1 also refuses `;` in the user id,
    /// privileges and additional data), or an empty admin secret.
    pub fn sign(&self, admin_secret: &SecretString) -> Result<Ks> {
        self.sign_with(admin_secret, &SystemClock, &mut OsRandom)
    }

    /// Signs with an explicit clock and random source (tests, reproducible vectors).
    ///
    /// # Errors
    /// As [`KsBuilder::sign`].
    pub fn sign_with(
        &self,
        admin_secret: &SecretString,
        clock: &dyn Clock,
        rng: &mut dyn RandomSource,
    ) -> Result<Ks> {
        let secret = admin_secret.expose_secret().as_bytes();
        check_secret(secret)?;
        // Derive only the key this version needs.
        match self.version {
            KsVersion::V1 => v1::encode(&v1_mac(secret), self, clock, rng),
            KsVersion::V2 => v2::encode(&Aes128Enc::new(&v2_key(secret)), self, clock, rng),
        }
    }

    /// The expiry time for a session signed at `now`.
    fn valid_until(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.expiry.as_secs()).unwrap_or(i64::MAX))
    }

    /// Checks that the session can be encoded in its version.
    fn validate(&self) -> Result<()> {
        self.privileges.validate()?;
        if self.version == KsVersion::V2
            && let Some(p) = self
                .privileges
                .iter()
                .find(|p| privileges::is_v2_reserved(p.v2_name()))
        {
            return Err(Error::Ks(KsErrorKind::InvalidPrivilege(format!(
                "privilege name {:?} is reserved by KS v2",
                p.name()
            ))));
        }
        Ok(())
    }
}

fn check_secret(secret: &[u8]) -> Result<()> {
    if secret.is_empty() {
        return Err(Error::Ks(KsErrorKind::InvalidField(
            "the admin secret is empty".to_owned(),
        )));
    }
    Ok(())
}

/// SHA-1 state that has absorbed the secret (v1 signs `sha1(secret ‖ info)`).
fn v1_mac(secret: &[u8]) -> Sha1 {
    let mut h = Sha1::new();
    h.update(secret);
    h
}

/// The v2 AES-128 key: the first 16 bytes of `sha1(secret)`.
fn v2_key(secret: &[u8]) -> aes::cipher::Key<Aes128Enc> {
    let digest = Sha1::digest(secret);
    let mut key = aes::cipher::Key::<Aes128Enc>::default();
    for (k, d) in key.iter_mut().zip(digest.iter()) {
        *k = *d;
    }
    key
}

/// Keys derived once from an admin secret, for signing and verifying many sessions.
///
/// Deriving the v2 AES key (a SHA-1 and two AES key schedules) is a noticeable part of signing
/// one KS; a long-lived client keeps a `KsSigner` per partner instead of the raw secret.
/// `Debug` does not print key material.
///
/// ```
/// use kaltura_client::ks::{KsBuilder, KsSigner, SessionType};
/// use kaltura_client::PartnerId;
/// use secrecy::SecretString;
///
/// let signer = KsSigner::new(&SecretString::from("abcdef0123456789abcdef0123456789"));
/// let ks = signer.sign(&KsBuilder::new(PartnerId::new(12345)).session_type(SessionType::Admin))?;
/// assert!(signer.decode(ks.expose_secret())?.session_type.is_admin());
/// # Ok::<(), kaltura_client::Error>(())
/// ```
#[derive(Clone)]
pub struct KsSigner {
    v1: Sha1,
    enc: Aes128Enc,
    dec: Aes128Dec,
    empty: bool,
}

impl KsSigner {
    /// Derives the signing and verification keys from the partner's admin secret.
    pub fn new(admin_secret: &SecretString) -> Self {
        let secret = admin_secret.expose_secret().as_bytes();
        let key = v2_key(secret);
        KsSigner {
            v1: v1_mac(secret),
            enc: Aes128Enc::new(&key),
            dec: Aes128Dec::new(&key),
            empty: secret.is_empty(),
        }
    }

    /// Signs `builder` with the system clock and the OS random generator.
    ///
    /// # Errors
    /// As [`KsBuilder::sign`].
    pub fn sign(&self, builder: &KsBuilder) -> Result<Ks> {
        self.sign_with(builder, &SystemClock, &mut OsRandom)
    }

    /// Signs `builder` with an explicit clock and random source.
    ///
    /// # Errors
    /// As [`KsBuilder::sign`].
    pub fn sign_with(
        &self,
        builder: &KsBuilder,
        clock: &dyn Clock,
        rng: &mut dyn RandomSource,
    ) -> Result<Ks> {
        if self.empty {
            check_secret(&[])?;
        }
        match builder.version {
            KsVersion::V1 => v1::encode(&self.v1, builder, clock, rng),
            KsVersion::V2 => v2::encode(&self.enc, builder, clock, rng),
        }
    }

    /// Decodes and verifies a KS; see [`decode`].
    ///
    /// # Errors
    /// As [`decode`].
    pub fn decode(&self, ks: &str) -> Result<DecodedKs> {
        let raw = unbase64(ks)?;
        match Raw::split(&raw)? {
            Raw::V1 { sig, info } => v1::decode(&self.v1, sig, info),
            Raw::V2 {
                partner_id,
                ciphertext,
            } => v2::decrypt(&self.dec, partner_id, ciphertext),
        }
    }
}

impl fmt::Debug for KsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KsSigner(**redacted**)")
    }
}

/// The fields of a verified KS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodedKs {
    /// The format.
    pub version: KsVersion,
    /// The partner the KS belongs to.
    pub partner_id: PartnerId,
    /// The session type.
    pub session_type: SessionType,
    /// The user id (`""` when none).
    pub user_id: String,
    /// The expiry time (unix seconds).
    pub valid_until: i64,
    /// The privileges, in order (`all=*` in v2 becomes [`Privilege::All`]).
    pub privileges: Privileges,
    /// The master partner id, if set.
    pub master_partner_id: Option<PartnerId>,
    /// The additional data, if set.
    pub additional_data: Option<String>,
}

impl DecodedKs {
    /// Whether the KS is expired at `now_unix` (`valid_until <= now`, as the server checks).
    pub fn is_expired_at(&self, now_unix: i64) -> bool {
        self.valid_until <= now_unix
    }

    /// Whether the KS is expired now (system clock).
    pub fn is_expired(&self) -> bool {
        self.is_expired_at(SystemClock.now_unix())
    }

    /// Checks that the KS belongs to `expected`.
    ///
    /// In a v2 KS the partner id is outside the encrypted part, so a KS verified with a
    /// partner's secret should also be checked to name that partner.
    ///
    /// # Errors
    /// [`KsErrorKind::WrongPartner`].
    pub fn check_partner(&self, expected: PartnerId) -> Result<()> {
        if self.partner_id != expected {
            return Err(Error::Ks(KsErrorKind::WrongPartner {
                expected: expected.get(),
                found: self.partner_id.get(),
            }));
        }
        Ok(())
    }

    /// Checks that the KS is not expired at `now_unix`.
    ///
    /// # Errors
    /// [`KsErrorKind::Expired`].
    pub fn check_not_expired_at(&self, now_unix: i64) -> Result<()> {
        if self.is_expired_at(now_unix) {
            return Err(Error::Ks(KsErrorKind::Expired {
                valid_until: self.valid_until,
            }));
        }
        Ok(())
    }
}

/// What can be read from a KS without the admin secret. Nothing in it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnverifiedKs {
    /// The format.
    pub version: KsVersion,
    /// The partner id the KS claims.
    pub partner_id: PartnerId,
    /// v1: every field, **signature not checked**. v2: `None` (the fields are encrypted).
    pub fields: Option<DecodedKs>,
}

/// Decodes a KS (v1 or v2) and verifies it with the partner's admin secret.
///
/// The v1 signature or the v2 embedded hash is checked; the expiry is **not** (see
/// [`DecodedKs::is_expired_at`]). The v2 partner id is written in clear next to the encrypted
/// fields and is not covered by the hash (as in Kaltura's format, where the server picks the
/// secret by that id): use [`DecodedKs::check_partner`] when the secret belongs to a known
/// partner. Standard and URL-safe base64, with or without `=` padding,
/// are accepted, as the server does.
///
/// ```
/// use kaltura_client::ks::{self, KsVersion, SessionType};
/// use kaltura_client::{Error, KsErrorKind, PartnerId};
/// use secrecy::SecretString;
///
/// // Official vector (Python client, pinned clock and randomness).
/// let vector = "djJ8MTIzNDV8IoFQYmL4SKMkab76clDKCvpwa3gMHplVhRTbRMbAOMa9JTRnY8IlANK8Vey7jm_cfvBeda2ScNRNd9F8YsgaRNnkoQ3StbBiIrEcXpzF_CBQzVG9W8wAn6yRu_K-O9VkB-TMfYUPKEAMBNr53RhTmV-CD5cwyTS0CSwQ76Fp7O8=";
/// let secret = SecretString::from("abcdef0123456789abcdef0123456789");
/// let d = ks::decode(vector, &secret)?;
/// assert_eq!(d.version, KsVersion::V2);
/// assert_eq!(d.partner_id, PartnerId::new(12345));
/// assert_eq!(d.session_type, SessionType::User);
/// assert_eq!(d.user_id, "discord_42");
/// assert_eq!(d.valid_until, 1_700_086_400);
/// assert_eq!(d.privileges.to_string(), "privacycontext:abc,setrole:PLAYBACK_BASE_ROLE");
///
/// let wrong = SecretString::from("not-the-secret");
/// assert!(matches!(
///     ks::decode(vector, &wrong),
///     Err(Error::Ks(KsErrorKind::SignatureMismatch))
/// ));
/// # Ok::<(), kaltura_client::Error>(())
/// ```
///
/// # Errors
/// [`Error::Ks`] with [`KsErrorKind::Empty`], [`KsErrorKind::NotBase64`],
/// [`KsErrorKind::Malformed`], [`KsErrorKind::UnsupportedVersion`] or
/// [`KsErrorKind::SignatureMismatch`] (wrong secret or altered KS).
pub fn decode(ks: &str, admin_secret: &SecretString) -> Result<DecodedKs> {
    let secret = admin_secret.expose_secret().as_bytes();
    let raw = unbase64(ks)?;
    match Raw::split(&raw)? {
        Raw::V1 { sig, info } => v1::decode(&v1_mac(secret), sig, info),
        Raw::V2 {
            partner_id,
            ciphertext,
        } => v2::decrypt(&Aes128Dec::new(&v2_key(secret)), partner_id, ciphertext),
    }
}

/// Reads a KS without the admin secret. Nothing is verified.
///
/// v1 KS carry their fields in clear, so all of them are returned (in
/// [`UnverifiedKs::fields`]); a v2 KS only reveals its version and partner id.
///
/// # Errors
/// [`Error::Ks`] with [`KsErrorKind::Empty`], [`KsErrorKind::NotBase64`],
/// [`KsErrorKind::Malformed`] or [`KsErrorKind::UnsupportedVersion`].
pub fn inspect(ks: &str) -> Result<UnverifiedKs> {
    let raw = unbase64(ks)?;
    match Raw::split(&raw)? {
        Raw::V1 { info, .. } => {
            let fields = v1::fields(info)?;
            Ok(UnverifiedKs {
                version: KsVersion::V1,
                partner_id: fields.partner_id,
                fields: Some(fields),
            })
        }
        Raw::V2 {
            partner_id,
            ciphertext,
        } => {
            v2::check_ciphertext_len(ciphertext)?;
            Ok(UnverifiedKs {
                version: KsVersion::V2,
                partner_id,
                fields: None,
            })
        }
    }
}

/// Lenient base64: standard alphabet after mapping the URL-safe characters, padding optional.
const LENIENT_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A base64-decoded KS split into its parts, before any verification.
enum Raw<'a> {
    V1 {
        sig: &'a [u8],
        info: &'a [u8],
    },
    V2 {
        partner_id: PartnerId,
        ciphertext: &'a [u8],
    },
}

/// Decodes the base64 layer the way the server does (`-`→`+`, `_`→`/`).
fn unbase64(ks: &str) -> Result<Vec<u8>> {
    let ks = ks.trim();
    if ks.is_empty() {
        return Err(Error::Ks(KsErrorKind::Empty));
    }
    let mapped: Vec<u8> = ks
        .bytes()
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        })
        .collect();
    let raw = LENIENT_B64
        .decode(mapped)
        .map_err(|_| Error::Ks(KsErrorKind::NotBase64))?;
    if raw.is_empty() {
        return Err(Error::Ks(KsErrorKind::Empty));
    }
    Ok(raw)
}

impl<'a> Raw<'a> {
    /// Splits decoded KS bytes: `v2|pid|ciphertext`, or v1 `sig|info`.
    fn split(raw: &'a [u8]) -> Result<Raw<'a>> {
        if let Some(rest) = raw.strip_prefix(b"v2|") {
            let (pid, ciphertext) = split_once(rest, b'|')
                .ok_or_else(|| malformed("a v2 KS needs a second '|' after the partner id"))?;
            let partner_id = std::str::from_utf8(pid)
                .ok()
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(|| malformed("the v2 partner id is not a number"))?;
            return Ok(Raw::V2 {
                partner_id: PartnerId::new(partner_id),
                ciphertext,
            });
        }
        let (sig, info) = split_once(raw, b'|')
            .ok_or_else(|| malformed("missing the '|' after the signature"))?;
        // `v3|…`: a version prefix we do not know (a v1 signature is hex, never `v…`).
        if let [b'v', digits @ ..] = sig
            && !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
        {
            return Err(Error::Ks(KsErrorKind::UnsupportedVersion(
                String::from_utf8_lossy(sig).into_owned(),
            )));
        }
        if sig.len() != 40 || !sig.iter().all(u8::is_ascii_hexdigit) {
            return Err(malformed("the v1 signature is not 40 hex digits"));
        }
        Ok(Raw::V1 { sig, info })
    }
}

fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    let (head, tail) = s.split_at_checked(i)?;
    Some((head, tail.get(1..)?))
}

pub(crate) fn malformed(what: &str) -> Error {
    Error::Ks(KsErrorKind::Malformed(what.to_owned()))
}

// KS encoding uses the `base64` crate and `core::fmt` integer formatting. A hand-written
// base64 encoder (12-bit pair tables) and integer formatter (2-digit table) were dropped
// (issue 9): measured in a release micro-benchmark of exactly those routines on a v2-sized
// KS (176 bytes, four integers), on the shared 2-core machine under load (load average
// ~14, so absolute figures are inflated), they saved 120–360 ns of base64 (hand 368–412 ns
// vs crate 492–768 ns) and 240–320 ns for the four integers (hand 193–214 ns vs `write!`
// 450–513 ns). Scaled to the unloaded `ks_v2_generate` figure (408 ns) that is of the
// order of 100 ns per KS, once per join link or per managed-KS renewal, next to a network
// round trip of ~100 ms: not worth 110 lines of table-driven, index-heavy code. The
// criterion `ks` bench should be re-run on an idle machine to record the after-figure.

/// Appends the decimal form of `n`.
pub(crate) fn push_int(out: &mut Vec<u8>, n: i64) {
    // Writing into a `Vec` cannot fail.
    let _ = std::io::Write::write_fmt(out, format_args!("{n}"));
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    const SECRET: &str = "abcdef0123456789abcdef0123456789";
    const V1_USER: &str = "NmEzZmEwNWU5Mzc0ZDY4Y2RmMWU2MTAyZDY2OGUyMTA2N2VmN2M2ZXwxMjM0NTsxMjM0NTsxNzAwMDg2NDAwOzA7NDI0MjtkaXNjb3JkXzQyO3ByaXZhY3ljb250ZXh0OmFiYyxzZXRyb2xlOlBMQVlCQUNLX0JBU0VfUk9MRQ==";
    const V2_USER: &str = "djJ8MTIzNDV8IoFQYmL4SKMkab76clDKCvpwa3gMHplVhRTbRMbAOMa9JTRnY8IlANK8Vey7jm_cfvBeda2ScNRNd9F8YsgaRNnkoQ3StbBiIrEcXpzF_CBQzVG9W8wAn6yRu_K-O9VkB-TMfYUPKEAMBNr53RhTmV-CD5cwyTS0CSwQ76Fp7O8=";
    const V2_ADMIN: &str = "djJ8MTIzNDV8Jhu2KoJdZhvI3u4reSLf2dqjR3ZZVpKUvkqBRKAEPY866gOL0SOHcANlDWjqGUhrokCpZRzmvxWJyxrS_UTkRbaFU_sJ1C32N0UKYD9AOlqRukx2llZKVF3osEv7Riq9C7e7YCkoBZcsZTy5cVUiOoxiJUImRkdPb2OHXhKc9gg=";

    #[test]
    fn session_types_and_versions_print_and_parse() {
        assert_eq!(SessionType::User.to_string(), "user");
        assert_eq!(SessionType::Admin.to_string(), "admin");
        assert_eq!(SessionType::from_i64(7).to_string(), "7");
        assert_eq!(KsVersion::V1.number(), 1);
        assert_eq!(KsVersion::V2.number(), 2);
        for (raw, v) in [
            ("1", KsVersion::V1),
            ("v1", KsVersion::V1),
            ("V2", KsVersion::V2),
            (" 2 ", KsVersion::V2),
        ] {
            assert_eq!(raw.parse::<KsVersion>().unwrap(), v, "{raw}");
        }
        for raw in ["3", "v3", "", "one"] {
            assert!(
                matches!(
                    raw.parse::<KsVersion>(),
                    Err(Error::Ks(KsErrorKind::UnsupportedVersion(_)))
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn v1_signatures_must_be_exactly_40_hex_digits() {
        use base64::Engine as _;
        let info = "|12345;12345;1700086400;0;4242;discord_42;";
        for sig in [
            "0".repeat(39),
            "0".repeat(41),
            "g".repeat(40),
            format!("{}z", "0".repeat(39)),
        ] {
            let ks = base64::engine::general_purpose::STANDARD.encode(format!("{sig}{info}"));
            assert!(
                matches!(inspect(&ks), Err(Error::Ks(KsErrorKind::Malformed(_)))),
                "{sig}: {:?}",
                inspect(&ks)
            );
        }
        let ks =
            base64::engine::general_purpose::STANDARD.encode(format!("{}{info}", "0".repeat(40)));
        assert!(inspect(&ks).is_ok(), "{:?}", inspect(&ks));
    }

    fn builder(t: SessionType, v: KsVersion) -> KsBuilder {
        KsBuilder::new(PartnerId::new(12345))
            .session_type(t)
            .user_id("discord_42")
            .privileges(
                "privacycontext:abc,setrole:PLAYBACK_BASE_ROLE"
                    .parse()
                    .unwrap(),
            )
            .version(v)
    }

    fn sign(b: &KsBuilder) -> String {
        let mut rng = FixedRandom::VECTORS;
        b.sign_with(
            &SecretString::from(SECRET),
            &FixedClock(1_700_000_000),
            &mut rng,
        )
        .unwrap()
        .expose_secret()
        .to_owned()
    }

    #[test]
    fn official_vectors() {
        assert_eq!(sign(&builder(SessionType::User, KsVersion::V1)), V1_USER);
        assert_eq!(sign(&builder(SessionType::User, KsVersion::V2)), V2_USER);
        assert_eq!(sign(&builder(SessionType::Admin, KsVersion::V2)), V2_ADMIN);
    }

    #[test]
    fn signer_matches_builder() {
        let signer = KsSigner::new(&SecretString::from(SECRET));
        for v in [KsVersion::V1, KsVersion::V2] {
            let b = builder(SessionType::Admin, v);
            let mut rng = FixedRandom::VECTORS;
            let ks = signer
                .sign_with(&b, &FixedClock(1_700_000_000), &mut rng)
                .unwrap();
            assert_eq!(ks.expose_secret(), sign(&b));
            assert_eq!(
                signer.decode(ks.expose_secret()).unwrap().session_type,
                SessionType::Admin
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let ks = Ks::new(V2_USER);
        assert_eq!(format!("{ks:?}"), "Ks(**redacted**)");
        let signer = KsSigner::new(&SecretString::from(SECRET));
        assert_eq!(format!("{signer:?}"), "KsSigner(**redacted**)");
    }

    #[test]
    fn session_type_numbers() {
        assert_eq!(SessionType::from_i64(0), SessionType::User);
        assert_eq!(SessionType::from_i64(2), SessionType::Admin);
        assert_eq!(SessionType::from_i64(1), SessionType::Unknown(1));
        assert!(SessionType::Unknown(1).is_admin());
        assert!(!SessionType::User.is_admin());
        assert_eq!(serde_json::to_string(&SessionType::Admin).unwrap(), "2");
        assert_eq!(
            serde_json::from_str::<SessionType>("\"0\"").unwrap(),
            SessionType::User
        );
        assert_eq!("admin".parse::<SessionType>().unwrap(), SessionType::Admin);
        assert!("root".parse::<SessionType>().is_err());
    }

    #[test]
    fn unknown_version_prefix() {
        let ks = base64::engine::general_purpose::STANDARD.encode("v3|1|abc");
        assert!(matches!(
            inspect(&ks),
            Err(Error::Ks(KsErrorKind::UnsupportedVersion(v))) if v == "v3"
        ));
    }

    #[test]
    fn ints() {
        for n in [0, 7, -7, 10, 99, 100, 1_700_086_400, i64::MIN, i64::MAX] {
            let mut out = b"x".to_vec();
            push_int(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn empty_secret_is_refused() {
        let r = KsBuilder::new(PartnerId::new(1)).sign(&SecretString::from(""));
        assert!(matches!(r, Err(Error::Ks(KsErrorKind::InvalidField(_)))));
    }
}
