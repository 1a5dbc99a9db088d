//! JWT issue and verification for the API gateway.
//!
//! Tokens are short-lived HS256 JWTs naming a Discord member, the guild they act in and their
//! role ids. The algorithm is pinned: a token whose header says `none`, `HS512`, `RS256` or
//! anything else is refused before its signature is looked at, and so is a token without a
//! known `kid`. Several keys can be configured for rotation: the first one signs, every one
//! verifies the tokens carrying its `kid`.
//!
//! ```
//! use kaltura_discord::auth::{JwtAuthority, JwtKey, TokenSubject};
//! use std::time::Duration;
//!
//! let authority = JwtAuthority::new(
//!     vec![JwtKey::new("2026-11", "a-secret-of-at-least-32-bytes-long!!")?],
//!     "kaltura-discord",
//!     Duration::from_secs(900),
//! )?;
//! let subject = TokenSubject {
//!     user: "80351110224678912".parse()?,
//!     guild: "613425648685547541".parse()?,
//!     roles: vec![],
//! };
//! let token = authority.issue(&subject)?;
//! let claims = authority.verify(token.expose())?;
//! assert_eq!(claims.subject()?, subject);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kaltura_client::clock::{Clock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::ids::{DiscordUserId, GuildId, RoleId};

/// The one algorithm tokens are signed and verified with.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// The `iss` claim of tokens issued here.
pub const ISSUER: &str = "kaltura-discord";
/// The shortest secret accepted, in bytes (HS256 wants at least the hash size).
pub const MIN_SECRET_LEN: usize = 32;
/// The longest token looked at, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated between issuer and verifier, in seconds (`iat`, `nbf`, `exp`).
pub const LEEWAY_SECS: u64 = 5;

/// The algorithm a refused token named in its header. Only names from this list are
/// reported; anything else is [`ForeignAlgorithm::Unknown`], so the attacker's text never
/// reaches an error message or a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForeignAlgorithm {
    /// `none` (an unsigned token).
    None,
    /// `HS384`.
    Hs384,
    /// `HS512`.
    Hs512,
    /// `RS256`, `RS384` or `RS512`.
    Rsa,
    /// `PS256`, `PS384` or `PS512`.
    RsaPss,
    /// `ES256` or `ES384`.
    Ecdsa,
    /// `EdDSA`.
    EdDsa,
    /// Any other text.
    Unknown,
}

impl ForeignAlgorithm {
    fn from_header(alg: &str) -> Self {
        match alg {
            "none" | "None" | "NONE" => ForeignAlgorithm::None,
            "HS384" => ForeignAlgorithm::Hs384,
            "HS512" => ForeignAlgorithm::Hs512,
            "RS256" | "RS384" | "RS512" => ForeignAlgorithm::Rsa,
            "PS256" | "PS384" | "PS512" => ForeignAlgorithm::RsaPss,
            "ES256" | "ES384" => ForeignAlgorithm::Ecdsa,
            "EdDSA" => ForeignAlgorithm::EdDsa,
            _ => ForeignAlgorithm::Unknown,
        }
    }

    /// A fixed name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ForeignAlgorithm::None => "none",
            ForeignAlgorithm::Hs384 => "HS384",
            ForeignAlgorithm::Hs512 => "HS512",
            ForeignAlgorithm::Rsa => "RSA (RS*)",
            ForeignAlgorithm::RsaPss => "RSA-PSS (PS*)",
            ForeignAlgorithm::Ecdsa => "ECDSA (ES*)",
            ForeignAlgorithm::EdDsa => "EdDSA",
            ForeignAlgorithm::Unknown => "an unknown algorithm",
        }
    }
}

impl fmt::Display for ForeignAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a claim ([`AuthError::InvalidClaim`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimProblem {
    /// The claim is missing.
    Missing,
    /// The claim is not a Discord snowflake (`sub`, `guild`, `roles`).
    NotASnowflake,
    /// The claims are not the JSON object this service issues (wrong types, not an object).
    WrongShape,
}

impl fmt::Display for ClaimProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClaimProblem::Missing => "is missing",
            ClaimProblem::NotASnowflake => "is not a Discord id",
            ClaimProblem::WrongShape => "has the wrong shape",
        })
    }
}

/// Why a token was not issued or not accepted. No variant carries text taken from the
/// token, so errors can be logged as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No signing key was configured.
    #[error("no JWT signing key is configured")]
    NoKeys,
    /// A key is unusable.
    #[error("JWT key {kid:?} is invalid: {reason}")]
    InvalidKey {
        /// The key id (from the operator's configuration).
        kid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token is not a well-formed JWT.
    #[error("the token is malformed")]
    Malformed,
    /// The token is longer than [`MAX_TOKEN_LEN`] bytes.
    #[error("the token is {len} bytes long, at most {max} are accepted")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token's header names another algorithm than the pinned one.
    #[error("the token uses {found}, only HS256 is accepted")]
    WrongAlgorithm {
        /// The algorithm named in the header, from a fixed list.
        found: ForeignAlgorithm,
    },
    /// The token names no key, or a key that is not configured.
    #[error("the token's key id is missing or unknown")]
    UnknownKey,
    /// The signature does not match.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token's `nbf` lies in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The token's `iat` lies in the future.
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// `exp − iat` is longer than the configured lifetime (or negative).
    #[error("the token's lifetime is longer than the configured {ttl_secs} s")]
    LifetimeTooLong {
        /// The configured lifetime in seconds.
        ttl_secs: u64,
    },
    /// The token was issued for another audience.
    #[error("the token was not issued for this service")]
    WrongAudience,
    /// The token was issued by another issuer.
    #[error("the token was not issued by kaltura-discord")]
    WrongIssuer,
    /// A claim is missing or not what this service issues.
    #[error("the token's `{claim}` claim {problem}")]
    InvalidClaim {
        /// The claim, e.g. `sub` (`claims` when the whole object is wrong).
        claim: &'static str,
        /// What is wrong with it.
        problem: ClaimProblem,
    },
    /// Signing failed.
    #[error("could not sign the token: {0}")]
    Signing(String),
}

/// One HMAC key with its id.
#[derive(Clone)]
pub struct JwtKey {
    kid: String,
    secret: SecretString,
}

impl JwtKey {
    /// A key; the id must be 1–64 visible ASCII characters and the secret at least
    /// [`MIN_SECRET_LEN`] bytes.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidKey`] for a bad id or a short secret.
    pub fn new(kid: impl Into<String>, secret: impl Into<SecretString>) -> Result<Self, AuthError> {
        let kid = kid.into();
        let secret = secret.into();
        if kid.is_empty() || kid.len() > 64 || !kid.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AuthError::InvalidKey {
                kid: kid.chars().take(64).collect(),
                reason: "the key id must be 1-64 visible ASCII characters".into(),
            });
        }
        if secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(AuthError::InvalidKey {
                kid,
                reason: format!("the secret must be at least {MIN_SECRET_LEN} bytes"),
            });
        }
        Ok(JwtKey { kid, secret })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("secret", &"**redacted**")
            .finish()
    }
}

/// Who a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    /// The Discord member.
    pub user: DiscordUserId,
    /// The guild they act in.
    pub guild: GuildId,
    /// Their Discord role ids in that guild.
    pub roles: Vec<RoleId>,
}

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The Discord user id.
    pub sub: String,
    /// The guild id.
    pub guild: String,
    /// The Discord role ids.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Expires at (unix seconds).
    pub exp: u64,
    /// Not valid before (unix seconds), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The audience.
    pub aud: String,
    /// The issuer.
    pub iss: String,
}

impl Claims {
    /// The typed subject.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidClaim`] ([`ClaimProblem::NotASnowflake`]) if `sub`, `guild` or a
    /// role is not a Discord id.
    pub fn subject(&self) -> Result<TokenSubject, AuthError> {
        let bad = |claim: &'static str| {
            move |_| AuthError::InvalidClaim {
                claim,
                problem: ClaimProblem::NotASnowflake,
            }
        };
        Ok(TokenSubject {
            user: self.sub.parse().map_err(bad("sub"))?,
            guild: self.guild.parse().map_err(bad("guild"))?,
            roles: self
                .roles
                .iter()
                .map(|r| r.parse().map_err(bad("roles")))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// An issued token. It is a credential: Debug redacts it.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    /// The token text, for an `Authorization: Bearer` header.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(**redacted**)")
    }
}

struct KeyPair {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Issues and verifies tokens with a set of keys.
pub struct JwtAuthority {
    /// The signing key first, then the ones that only verify.
    signing: KeyPair,
    verifying: Vec<KeyPair>,
    audience: String,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthority")
            .field(
                "kids",
                &self.keys().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            )
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn unix(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0)
}

impl JwtAuthority {
    /// An authority signing with the first key and verifying with all of them, on the system
    /// clock. `ttl` is the lifetime of issued tokens and the longest `exp − iat` accepted.
    ///
    /// # Errors
    ///
    /// [`AuthError::NoKeys`] without keys, [`AuthError::InvalidKey`] if two keys share an id.
    pub fn new(
        keys: Vec<JwtKey>,
        audience: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, AuthError> {
        let mut pairs: Vec<KeyPair> = Vec::with_capacity(keys.len());
        for key in keys {
            if pairs.iter().any(|p| p.kid == key.kid) {
                return Err(AuthError::InvalidKey {
                    kid: key.kid,
                    reason: "the key id is used twice".into(),
                });
            }
            let secret = key.secret.expose_secret().as_bytes();
            pairs.push(KeyPair {
                kid: key.kid.clone(),
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
            });
        }
        let mut pairs = pairs.into_iter();
        let signing = pairs.next().ok_or(AuthError::NoKeys)?;
        Ok(JwtAuthority {
            signing,
            verifying: pairs.collect(),
            audience: audience.into(),
            ttl,
            clock: Arc::new(SystemClock),
        })
    }

    /// With another clock (issue times and every time check follow it).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn keys(&self) -> impl Iterator<Item = &KeyPair> {
        std::iter::once(&self.signing).chain(&self.verifying)
    }

    /// The lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The signing key's id.
    pub fn signing_kid(&self) -> &str {
        &self.signing.kid
    }

    /// Issues a token valid for the configured lifetime from now (the authority's clock).
    ///
    /// # Errors
    ///
    /// [`AuthError::Signing`] if the token cannot be encoded.
    pub fn issue(&self, subject: &TokenSubject) -> Result<Token, AuthError> {
        self.issue_at(subject, unix(self.clock.now_unix()))
    }

    /// Issues a token as if it were `now` (unix seconds).
    ///
    /// # Errors
    ///
    /// [`AuthError::Signing`] if the token cannot be encoded.
    pub fn issue_at(&self, subject: &TokenSubject, now: u64) -> Result<Token, AuthError> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.signing.kid.clone());
        let claims = Claims {
            sub: subject.user.to_string(),
            guild: subject.guild.to_string(),
            roles: subject.roles.iter().map(ToString::to_string).collect(),
            iat: now,
            exp: now.saturating_add(self.ttl.as_secs()),
            nbf: None,
            aud: self.audience.clone(),
            iss: ISSUER.to_owned(),
        };
        jsonwebtoken::encode(&header, &claims, &self.signing.encoding)
            .map(|t| Token(SecretString::from(t)))
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Verifies a token: size, pinned algorithm, known `kid`, signature, audience, issuer,
    /// then the times against the authority's clock (with [`LEEWAY_SECS`]): not expired,
    /// `nbf` and `iat` not in the future, `exp − iat` at most the configured lifetime; and
    /// snowflake ids.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] naming the first check that failed.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let key = self.key_for(token)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[ISSUER]);
        // Presence (and type) of every claim is checked by `claims_from_map`, which names
        // the missing one; `aud` and `iss` are still validated here when present.
        validation.set_required_spec_claims::<&str>(&[]);
        // Times are checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        // Decoded as a JSON object first, so that a missing claim is reported by name
        // rather than as a shape error of the whole claim set.
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.decoding,
            &validation,
        )
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::Json(_) => AuthError::InvalidClaim {
                    claim: "claims",
                    problem: ClaimProblem::WrongShape,
                },
                _ => AuthError::Malformed,
            }
        })?;
        let claims = claims_from_map(data.claims)?;
        self.check_times(&claims)?;
        claims.subject()?;
        Ok(claims)
    }

    /// Seals `value` for `subject` under `purpose` with the signing key, for `ttl`: a short
    /// signed note (a JWT whose audience is `kd-note:{purpose}`, so it is never accepted as
    /// an access token, and an access token never opens as a note). Used for values a web
    /// page keeps in a cookie between requests (the verified email of a Discord login).
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn seal(
        &self,
        purpose: &str,
        subject: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let now = unix(self.clock.now_unix());
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.signing.kid.clone());
        let note = Note {
            aud: format!("kd-note:{purpose}"),
            iss: ISSUER.to_owned(),
            sub: subject.to_owned(),
            val: value.to_owned(),
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
        };
        jsonwebtoken::encode(&header, &note, &self.signing.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Opens a note made by [`JwtAuthority::seal`] for `purpose` and `subject`; its value.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn open(
        &self,
        purpose: &str,
        subject: &str,
        note: &str,
    ) -> Result<String, AuthError> {
        let key = self.key_for(note)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_audience(&[format!("kd-note:{purpose}")]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Note>(note, &key.decoding, &validation)
            .map_err(|_| AuthError::Malformed)?;
        let now = unix(self.clock.now_unix());
        if data.claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(AuthError::Expired);
        }
        if data.claims.iat > now.saturating_add(LEEWAY_SECS) {
            return Err(AuthError::IssuedInFuture);
        }
        if data.claims.sub != subject {
            return Err(AuthError::Malformed);
        }
        Ok(data.claims.val)
    }

    /// The key a token names, after the size and pinned-algorithm checks (before any
    /// signature is looked at).
    fn key_for(&self, token: &str) -> Result<&KeyPair, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::TooLarge {
                len: token.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        let header = decode_header_strict(token)?;
        if header.alg != "HS256" {
            return Err(AuthError::WrongAlgorithm {
                found: ForeignAlgorithm::from_header(&header.alg),
            });
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        self.keys()
            .find(|k| k.kid == kid)
            .ok_or(AuthError::UnknownKey)
    }

    fn check_times(&self, claims: &Claims) -> Result<(), AuthError> {
        let now = unix(self.clock.now_unix());
        let horizon = now.saturating_add(LEEWAY_SECS);
        if claims.iat > horizon {
            return Err(AuthError::IssuedInFuture);
        }
        if claims.nbf.is_some_and(|nbf| nbf > horizon) {
            return Err(AuthError::NotYetValid);
        }
        match claims.exp.checked_sub(claims.iat) {
            Some(lifetime) if lifetime <= self.ttl.as_secs() => {}
            _ => {
                return Err(AuthError::LifetimeTooLong {
                    ttl_secs: self.ttl.as_secs(),
                });
            }
        }
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(AuthError::Expired);
        }
        Ok(())
    }
}

/// The claims of a sealed note ([`JwtAuthority::seal`]).
#[derive(Serialize, Deserialize)]
struct Note {
    aud: String,
    iss: String,
    sub: String,
    val: String,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Reads the header ourselves, so that algorithms jsonwebtoken does not know (`none`) are
/// reported as a wrong algorithm rather than a parse failure.
fn decode_header_strict(token: &str) -> Result<RawHeader, AuthError> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

/// The claims this service issues, from a verified claim set; a missing claim is named.
fn claims_from_map(map: serde_json::Map<String, serde_json::Value>) -> Result<Claims, AuthError> {
    for claim in ["sub", "guild", "iat", "exp", "aud", "iss"] {
        if !map.contains_key(claim) {
            return Err(AuthError::InvalidClaim {
                claim,
                problem: ClaimProblem::Missing,
            });
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|_| AuthError::InvalidClaim {
        claim: "claims",
        problem: ClaimProblem::WrongShape,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use kaltura_client::clock::{FixedClock, ManualClock};
    use serde_json::{Value, json};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_800_000_000;

    fn authority() -> JwtAuthority {
        JwtAuthority::new(
            vec![JwtKey::new("k1", SECRET).unwrap()],
            "kd",
            Duration::from_secs(900),
        )
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW as i64)))
    }

    fn subject() -> TokenSubject {
        TokenSubject {
            user: "80351110224678912".parse().unwrap(),
            guild: "613425648685547541".parse().unwrap(),
            roles: vec!["123".parse().unwrap()],
        }
    }

    #[test]
    fn notes_open_only_for_their_purpose_subject_and_time() {
        let a = authority();
        let note = a
            .seal("email", "1:2", "nelly@example.com", Duration::from_secs(60))
            .unwrap();
        assert_eq!(a.open("email", "1:2", &note).unwrap(), "nelly@example.com");
        assert!(a.open("other", "1:2", &note).is_err());
        assert!(a.open("email", "1:3", &note).is_err());
        // A note is not an access token, and an access token is not a note.
        assert!(a.verify(&note).is_err());
        let token = a.issue(&subject()).unwrap();
        assert!(a.open("email", "1:2", token.expose()).is_err());
        // Tampered or expired notes are refused.
        let mut tampered = note.clone();
        tampered.push('x');
        assert!(a.open("email", "1:2", &tampered).is_err());
        let later = JwtAuthority::new(
            vec![JwtKey::new("k1", SECRET).unwrap()],
            "kd",
            Duration::from_secs(900),
        )
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW as i64 + 61 + LEEWAY_SECS as i64)));
        assert!(matches!(
            later.open("email", "1:2", &note),
            Err(AuthError::Expired)
        ));
    }

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn good_claims() -> Value {
        json!({
            "sub": "80351110224678912",
            "guild": "613425648685547541",
            "roles": ["123"],
            "iat": NOW,
            "exp": NOW + 900,
            "aud": "kd",
            "iss": ISSUER,
        })
    }

    fn with(claims: &[(&str, Value)]) -> Value {
        let mut c = good_claims();
        for (k, v) in claims {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(*k);
            } else {
                c[*k] = v.clone();
            }
        }
        c
    }

    /// A token signed with `secret` and algorithm `alg`, with header `kid`.
    fn signed(alg: Algorithm, kid: Option<&str>, claims: &Value, secret: &str) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn hs256(claims: &Value) -> String {
        signed(ALGORITHM, Some("k1"), claims, SECRET)
    }

    #[test]
    fn keys_tokens_and_claim_problems_print_without_secrets() {
        let key = JwtKey::new("k-2026", SECRET).unwrap();
        assert_eq!(key.kid(), "k-2026");
        assert_eq!(
            format!("{key:?}"),
            "JwtKey { kid: \"k-2026\", secret: \"**redacted**\" }"
        );
        let token = authority().issue(&subject()).unwrap();
        assert_eq!(format!("{token:?}"), "Token(**redacted**)");
        for (problem, text) in [
            (ClaimProblem::Missing, "the token's `exp` claim is missing"),
            (
                ClaimProblem::NotASnowflake,
                "the token's `exp` claim is not a Discord id",
            ),
            (
                ClaimProblem::WrongShape,
                "the token's `exp` claim has the wrong shape",
            ),
        ] {
            let err = AuthError::InvalidClaim {
                claim: "exp",
                problem,
            };
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn round_trip() {
        let a = authority();
        let token = a.issue(&subject()).unwrap();
        let claims = a.verify(token.expose()).unwrap();
        assert_eq!(claims.subject().unwrap(), subject());
        assert_eq!(claims.iat, NOW);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.aud, "kd");
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_eq!(a.verify(&hs256(&good_claims())), Ok(claims));
    }

    #[test]
    fn adversarial_tokens_are_refused_with_typed_errors() {
        let a = authority();
        let payload = b64(&good_claims().to_string());
        let valid = hs256(&good_claims());
        let signature = valid.rsplit('.').next().unwrap().to_owned();
        let mut tampered_sig = signature.clone();
        tampered_sig.replace_range(0..1, if signature.starts_with('A') { "B" } else { "A" });
        let other_secret = "ffffffffffffffffffffffffffffffff";
        let oversized = format!(
            "{}.{}.x",
            b64(r#"{"alg":"HS256","kid":"k1"}"#),
            "A".repeat(MAX_TOKEN_LEN)
        );
        let oversized_len = oversized.len();
        let cases: Vec<(&str, String, AuthError)> = vec![
            (
                "alg none",
                format!(
                    "{}.{payload}.",
                    b64(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#)
                ),
                AuthError::WrongAlgorithm {
                    found: ForeignAlgorithm::None,
                },
            ),
            (
                "HS512 with the right secret",
                signed(Algorithm::HS512, Some("k1"), &good_claims(), SECRET),
                AuthError::WrongAlgorithm {
                    found: ForeignAlgorithm::Hs512,
                },
            ),
            (
                "an injected algorithm name",
                format!(
                    "{}.{payload}.{signature}",
                    b64(r#"{"alg":"HS256\n2026-11-30 ERROR forged log line","kid":"k1"}"#)
                ),
                AuthError::WrongAlgorithm {
                    found: ForeignAlgorithm::Unknown,
                },
            ),
            (
                "missing kid",
                signed(ALGORITHM, None, &good_claims(), SECRET),
                AuthError::UnknownKey,
            ),
            (
                "unknown kid",
                signed(ALGORITHM, Some("k9"), &good_claims(), SECRET),
                AuthError::UnknownKey,
            ),
            (
                "tampered signature",
                format!("{}.{tampered_sig}", valid.rsplit_once('.').unwrap().0),
                AuthError::BadSignature,
            ),
            (
                "signed with another secret",
                signed(ALGORITHM, Some("k1"), &good_claims(), other_secret),
                AuthError::BadSignature,
            ),
            (
                "wrong issuer",
                hs256(&with(&[("iss", json!("someone-else"))])),
                AuthError::WrongIssuer,
            ),
            (
                "wrong audience",
                hs256(&with(&[("aud", json!("other"))])),
                AuthError::WrongAudience,
            ),
            (
                "expired",
                hs256(&with(&[
                    ("iat", json!(NOW - 1000)),
                    ("exp", json!(NOW - 100)),
                ])),
                AuthError::Expired,
            ),
            (
                "nbf in the future",
                hs256(&with(&[("nbf", json!(NOW + 60))])),
                AuthError::NotYetValid,
            ),
            (
                "iat in the future",
                hs256(&with(&[
                    ("iat", json!(NOW + 60)),
                    ("exp", json!(NOW + 900)),
                ])),
                AuthError::IssuedInFuture,
            ),
            (
                "lifetime longer than the TTL",
                hs256(&with(&[("exp", json!(NOW + 901))])),
                AuthError::LifetimeTooLong { ttl_secs: 900 },
            ),
            (
                "exp before iat",
                hs256(&with(&[("exp", json!(NOW - 1))])),
                AuthError::LifetimeTooLong { ttl_secs: 900 },
            ),
            (
                "non-snowflake sub",
                hs256(&with(&[("sub", json!("../admin"))])),
                AuthError::InvalidClaim {
                    claim: "sub",
                    problem: ClaimProblem::NotASnowflake,
                },
            ),
            (
                "non-snowflake role",
                hs256(&with(&[("roles", json!(["0"]))])),
                AuthError::InvalidClaim {
                    claim: "roles",
                    problem: ClaimProblem::NotASnowflake,
                },
            ),
            (
                "missing sub",
                hs256(&with(&[("sub", Value::Null)])),
                AuthError::InvalidClaim {
                    claim: "sub",
                    problem: ClaimProblem::Missing,
                },
            ),
            (
                "missing exp",
                hs256(&with(&[("exp", Value::Null)])),
                AuthError::InvalidClaim {
                    claim: "exp",
                    problem: ClaimProblem::Missing,
                },
            ),
            (
                "missing aud",
                hs256(&with(&[("aud", Value::Null)])),
                AuthError::InvalidClaim {
                    claim: "aud",
                    problem: ClaimProblem::Missing,
                },
            ),
            (
                "missing iss",
                hs256(&with(&[("iss", Value::Null)])),
                AuthError::InvalidClaim {
                    claim: "iss",
                    problem: ClaimProblem::Missing,
                },
            ),
            (
                "missing iat",
                hs256(&with(&[("iat", Value::Null)])),
                AuthError::InvalidClaim {
                    claim: "iat",
                    problem: ClaimProblem::Missing,
                },
            ),
            (
                "missing guild",
                hs256(&with(&[("guild", Value::Null)])),
                AuthError::InvalidClaim {
                    claim: "guild",
                    problem: ClaimProblem::Missing,
                },
            ),
            (
                "exp of the wrong type",
                hs256(&with(&[("exp", json!("tomorrow"))])),
                AuthError::InvalidClaim {
                    claim: "claims",
                    problem: ClaimProblem::WrongShape,
                },
            ),
            (
                "oversized",
                oversized,
                AuthError::TooLarge {
                    len: oversized_len,
                    max: MAX_TOKEN_LEN,
                },
            ),
        ];
        for (name, token, expected) in cases {
            let got = a.verify(&token);
            assert_eq!(got, Err(expected), "{name}");
            let message = got.unwrap_err().to_string();
            assert!(
                !message.contains('\n') && !message.contains("forged"),
                "{name}: the message carries no token text: {message}"
            );
        }
    }

    #[test]
    fn times_follow_the_clock_with_a_small_leeway() {
        let clock = ManualClock::new(NOW as i64);
        let a = authority().with_clock(Arc::new(clock.clone()));
        let token = a.issue(&subject()).unwrap();
        clock.advance(900 + LEEWAY_SECS as i64);
        assert!(a.verify(token.expose()).is_ok(), "exp plus leeway is fine");
        clock.advance(1);
        assert_eq!(a.verify(token.expose()), Err(AuthError::Expired));
        clock.set(NOW as i64 - LEEWAY_SECS as i64);
        assert!(a.verify(token.expose()).is_ok(), "iat within the leeway");
        clock.advance(-1);
        assert_eq!(a.verify(token.expose()), Err(AuthError::IssuedInFuture));
        let at_edge = hs256(&with(&[("nbf", json!(NOW + LEEWAY_SECS))]));
        assert!(authority().verify(&at_edge).is_ok());
        let exactly_ttl = hs256(&with(&[("exp", json!(NOW + 900))]));
        assert!(authority().verify(&exactly_ttl).is_ok());
        let header = b64(r#"{"alg":"HS256","kid":"k1"}"#);
        let filler = "A".repeat(MAX_TOKEN_LEN - header.len() - 3);
        let at_limit = format!("{header}.{filler}.x");
        assert_eq!(at_limit.len(), MAX_TOKEN_LEN);
        assert_ne!(
            authority().verify(&at_limit),
            Err(AuthError::TooLarge {
                len: MAX_TOKEN_LEN,
                max: MAX_TOKEN_LEN
            }),
            "a token of exactly the limit is decoded"
        );
    }

    #[test]
    fn rotation_verifies_old_keys_and_signs_with_the_new_one() {
        let old = authority();
        let old_token = old.issue(&subject()).unwrap();
        let rotated = JwtAuthority::new(
            vec![
                JwtKey::new("k2", "ffffffffffffffffffffffffffffffff").unwrap(),
                JwtKey::new("k1", SECRET).unwrap(),
            ],
            "kd",
            Duration::from_secs(900),
        )
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW as i64)));
        assert_eq!(
            rotated.verify(old_token.expose()).map(|c| c.sub),
            Ok("80351110224678912".to_owned())
        );
        assert_eq!(rotated.signing_kid(), "k2");
        let new_token = rotated.issue(&subject()).unwrap();
        assert_eq!(old.verify(new_token.expose()), Err(AuthError::UnknownKey));
        assert!(format!("{rotated:?}").contains("k2"));
    }

    #[test]
    fn garbage_is_malformed() {
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!!.x.y",
            &format!("{}.x.y", b64("[]")),
        ] {
            assert_eq!(
                authority().verify(junk),
                Err(AuthError::Malformed),
                "{junk}"
            );
        }
    }

    #[test]
    fn weak_or_duplicate_keys_are_refused() {
        assert!(matches!(
            JwtKey::new("k", "short"),
            Err(AuthError::InvalidKey { .. })
        ));
        assert!(matches!(
            JwtKey::new("", SECRET),
            Err(AuthError::InvalidKey { .. })
        ));
        assert!(JwtKey::new("k", "x".repeat(MIN_SECRET_LEN)).is_ok());
        assert!(JwtKey::new("k", "x".repeat(MIN_SECRET_LEN - 1)).is_err());
        assert!(JwtKey::new("k".repeat(64), SECRET).is_ok());
        assert!(JwtKey::new("k".repeat(65), SECRET).is_err());
        assert!(JwtKey::new("a b", SECRET).is_err());
        let dup = JwtAuthority::new(
            vec![
                JwtKey::new("k", SECRET).unwrap(),
                JwtKey::new("k", SECRET).unwrap(),
            ],
            "kd",
            Duration::from_secs(1),
        );
        assert!(matches!(dup, Err(AuthError::InvalidKey { .. })));
        assert_eq!(
            JwtAuthority::new(vec![], "kd", Duration::from_secs(1)).err(),
            Some(AuthError::NoKeys)
        );
        assert!(!format!("{:?}", JwtKey::new("k", SECRET).unwrap()).contains(SECRET));
    }

    #[test]
    fn algorithm_names_come_from_a_fixed_list() {
        for (alg, expected) in [
            ("none", ForeignAlgorithm::None),
            ("HS384", ForeignAlgorithm::Hs384),
            ("HS512", ForeignAlgorithm::Hs512),
            ("RS256", ForeignAlgorithm::Rsa),
            ("PS512", ForeignAlgorithm::RsaPss),
            ("ES256", ForeignAlgorithm::Ecdsa),
            ("EdDSA", ForeignAlgorithm::EdDsa),
            ("hs256", ForeignAlgorithm::Unknown),
        ] {
            assert_eq!(ForeignAlgorithm::from_header(alg), expected, "{alg}");
        }
        assert_eq!(
            AuthError::WrongAlgorithm {
                found: ForeignAlgorithm::Unknown
            }
            .to_string(),
            "the token uses an unknown algorithm, only HS256 is accepted"
        );
    }
}
