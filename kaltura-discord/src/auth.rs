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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::ids::{DiscordUserId, GuildId, RoleId};

/// The one algorithm tokens are signed and verified with.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// The `iss` claim of tokens issued here.
pub const ISSUER: &str = "kaltura-discord";
/// The shortest secret accepted, in bytes (HS256 wants at least the hash size).
pub const MIN_SECRET_LEN: usize = 32;

/// Why a token was not issued or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No signing key was configured.
    #[error("no JWT signing key is configured")]
    NoKeys,
    /// A key is unusable.
    #[error("JWT key {kid:?} is invalid: {reason}")]
    InvalidKey {
        /// The key id.
        kid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token is not a well-formed JWT.
    #[error("the token is malformed")]
    Malformed,
    /// The token's header names another algorithm than the pinned one.
    #[error("the token uses algorithm {found}, only HS256 is accepted")]
    WrongAlgorithm {
        /// The algorithm named in the header.
        found: String,
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
    /// The token was issued for another audience or by another issuer.
    #[error("the token was not issued for this service")]
    WrongAudience,
    /// A claim is missing or not what this service issues.
    #[error("the token's claims are invalid: {0}")]
    InvalidClaims(String),
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
    /// A key; the id must be non-empty and the secret at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(kid: impl Into<String>, secret: impl Into<SecretString>) -> Result<Self, AuthError> {
        let kid = kid.into();
        let secret = secret.into();
        if kid.is_empty() || kid.len() > 64 || !kid.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AuthError::InvalidKey {
                kid,
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
    /// The audience.
    pub aud: String,
    /// The issuer.
    pub iss: String,
}

impl Claims {
    /// The typed subject; ids that are not snowflakes make the claims invalid.
    pub fn subject(&self) -> Result<TokenSubject, AuthError> {
        let bad = |what: &str, e: crate::ids::InvalidSnowflake| {
            AuthError::InvalidClaims(format!("{what}: {e}"))
        };
        Ok(TokenSubject {
            user: self.sub.parse().map_err(|e| bad("sub", e))?,
            guild: self.guild.parse().map_err(|e| bad("guild", e))?,
            roles: self
                .roles
                .iter()
                .map(|r| r.parse().map_err(|e| bad("roles", e)))
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
    keys: Vec<KeyPair>,
    audience: String,
    ttl: Duration,
}

impl fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthority")
            .field(
                "kids",
                &self.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            )
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl JwtAuthority {
    /// An authority signing with the first key and verifying with all of them.
    pub fn new(
        keys: Vec<JwtKey>,
        audience: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, AuthError> {
        if keys.is_empty() {
            return Err(AuthError::NoKeys);
        }
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
        Ok(JwtAuthority {
            keys: pairs,
            audience: audience.into(),
            ttl,
        })
    }

    /// The signing key's id.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Issues a token valid for the configured lifetime from now.
    pub fn issue(&self, subject: &TokenSubject) -> Result<Token, AuthError> {
        self.issue_at(subject, now_unix())
    }

    /// Issues a token as if it were `now` (unix seconds); for tests and clock control.
    pub fn issue_at(&self, subject: &TokenSubject, now: u64) -> Result<Token, AuthError> {
        let key = &self.keys[0];
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(key.kid.clone());
        let claims = Claims {
            sub: subject.user.to_string(),
            guild: subject.guild.to_string(),
            roles: subject.roles.iter().map(ToString::to_string).collect(),
            iat: now,
            exp: now.saturating_add(self.ttl.as_secs()),
            aud: self.audience.clone(),
            iss: ISSUER.to_owned(),
        };
        jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map(|t| Token(SecretString::from(t)))
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// Verifies a token: pinned algorithm, known `kid`, signature, expiry, audience, issuer.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = decode_header_strict(token)?;
        if header.alg != "HS256" {
            return Err(AuthError::WrongAlgorithm { found: header.alg });
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(AuthError::UnknownKey)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 5;
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::InvalidSignature => AuthError::BadSignature,
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => {
                        AuthError::WrongAudience
                    }
                    ErrorKind::InvalidAlgorithm => AuthError::WrongAlgorithm { found: "?".into() },
                    ErrorKind::MissingRequiredClaim(c) => {
                        AuthError::InvalidClaims(format!("missing `{c}`"))
                    }
                    ErrorKind::Json(_) => {
                        AuthError::InvalidClaims("not the claims this service issues".into())
                    }
                    _ => AuthError::Malformed,
                }
            })?;
        data.claims.subject()?;
        Ok(data.claims)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn authority() -> JwtAuthority {
        JwtAuthority::new(
            vec![JwtKey::new("k1", SECRET).unwrap()],
            "kd",
            Duration::from_secs(900),
        )
        .unwrap()
    }

    fn subject() -> TokenSubject {
        TokenSubject {
            user: "80351110224678912".parse().unwrap(),
            guild: "613425648685547541".parse().unwrap(),
            roles: vec!["123".parse().unwrap()],
        }
    }

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn round_trip() {
        let a = authority();
        let token = a.issue(&subject()).unwrap();
        let claims = a.verify(token.expose()).unwrap();
        assert_eq!(claims.subject().unwrap(), subject());
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.aud, "kd");
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn alg_none_is_rejected() {
        let a = authority();
        let token = a.issue(&subject()).unwrap();
        let payload = token.expose().split('.').nth(1).unwrap().to_owned();
        let forged = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            payload
        );
        assert_eq!(
            a.verify(&forged),
            Err(AuthError::WrongAlgorithm {
                found: "none".into()
            })
        );
    }

    #[test]
    fn other_algorithms_are_rejected_even_with_the_right_secret() {
        let a = authority();
        let mut header = Header::new(Algorithm::HS512);
        header.kid = Some("k1".into());
        let claims = a.verify(a.issue(&subject()).unwrap().expose()).unwrap();
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            a.verify(&token),
            Err(AuthError::WrongAlgorithm {
                found: "HS512".into()
            })
        );
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let a = authority();
        let token = a.issue_at(&subject(), now_unix() - 3600).unwrap();
        assert_eq!(a.verify(token.expose()), Err(AuthError::Expired));
    }

    #[test]
    fn tampered_payload_fails_the_signature() {
        let a = authority();
        let token = a.issue(&subject()).unwrap();
        let mut parts: Vec<String> = token.expose().split('.').map(str::to_owned).collect();
        let claims = a.verify(token.expose()).unwrap();
        let forged = Claims {
            guild: "1".into(),
            ..claims
        };
        parts[1] = b64(&serde_json::to_string(&forged).unwrap());
        assert_eq!(a.verify(&parts.join(".")), Err(AuthError::BadSignature));
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
        .unwrap();
        assert!(rotated.verify(old_token.expose()).is_ok());
        assert_eq!(rotated.signing_kid(), "k2");
        let new_token = rotated.issue(&subject()).unwrap();
        assert_eq!(old.verify(new_token.expose()), Err(AuthError::UnknownKey));
    }

    #[test]
    fn wrong_audience_and_garbage_are_rejected() {
        let other = JwtAuthority::new(
            vec![JwtKey::new("k1", SECRET).unwrap()],
            "other",
            Duration::from_secs(60),
        )
        .unwrap();
        let token = other.issue(&subject()).unwrap();
        assert_eq!(
            authority().verify(token.expose()),
            Err(AuthError::WrongAudience)
        );
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
}
