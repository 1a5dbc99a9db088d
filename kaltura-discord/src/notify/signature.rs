//! Kaltura's webhook signature: `X-KALTURA-SIGNATURE` = hex(hash(admin secret ‖ raw body)),
//! the hash named by `X-KALTURA-HASH-ALGO` (`sha1` when absent, `sha256`, `sha512`). A plain
//! hash, not an HMAC; compared in constant time.

use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;

/// A hash Kaltura signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (the default, and the only one older servers use).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-KALTURA-SIGNATURE` header (HTTP 401).
    #[error("the request has no X-KALTURA-SIGNATURE header")]
    Missing,
    /// The signature does not match (HTTP 401).
    #[error("the signature does not match")]
    Mismatch,
    /// `X-KALTURA-HASH-ALGO` names a hash we do not know (HTTP 400).
    #[error("unknown hash algorithm {0:?}")]
    UnknownAlgorithm(String),
}

impl HashAlgorithm {
    /// Reads `X-KALTURA-HASH-ALGO`: absent → [`HashAlgorithm::Sha1`] (older servers send no
    /// header); `sha1`, `sha256`, `sha512` in any case, surrounding whitespace ignored.
    ///
    /// # Errors
    ///
    /// [`SignatureError::UnknownAlgorithm`] for any other value (at most 32 characters of it
    /// are kept in the error).
    ///
    /// ```
    /// use kaltura_discord::notify::HashAlgorithm;
    ///
    /// assert_eq!(HashAlgorithm::from_header(None)?, HashAlgorithm::Sha1);
    /// assert_eq!(HashAlgorithm::from_header(Some("SHA256"))?, HashAlgorithm::Sha256);
    /// assert!(HashAlgorithm::from_header(Some("md5")).is_err());
    /// # Ok::<(), kaltura_discord::notify::SignatureError>(())
    /// ```
    pub fn from_header(value: Option<&str>) -> Result<HashAlgorithm, SignatureError> {
        let Some(value) = value else {
            return Ok(HashAlgorithm::Sha1);
        };
        let trimmed = value.trim();
        if trimmed.eq_ignore_ascii_case("sha1") {
            Ok(HashAlgorithm::Sha1)
        } else if trimmed.eq_ignore_ascii_case("sha256") {
            Ok(HashAlgorithm::Sha256)
        } else if trimmed.eq_ignore_ascii_case("sha512") {
            Ok(HashAlgorithm::Sha512)
        } else {
            Err(SignatureError::UnknownAlgorithm(
                trimmed.chars().take(32).collect(),
            ))
        }
    }

    /// The header value (`sha1`, `sha256`, `sha512`).
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// Length of the digest in bytes (20, 32, 64).
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha512 => 64,
        }
    }

    fn digest(self, secret: &[u8], body: &[u8]) -> Vec<u8> {
        fn run<D: sha2::Digest>(secret: &[u8], body: &[u8]) -> Vec<u8> {
            let mut hasher = D::new();
            hasher.update(secret);
            hasher.update(body);
            hasher.finalize().to_vec()
        }
        match self {
            HashAlgorithm::Sha1 => run::<sha1::Sha1>(secret, body),
            HashAlgorithm::Sha256 => run::<sha2::Sha256>(secret, body),
            HashAlgorithm::Sha512 => run::<sha2::Sha512>(secret, body),
        }
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "x-kaltura-signature";

/// The header naming the hash.
pub const HASH_ALGO_HEADER: &str = "x-kaltura-hash-algo";

/// Kaltura's signature of `body`: lower-case hex of `algo(secret ‖ body)`. The fake Kaltura
/// and tests sign with it; the receiver checks with [`verify`].
///
/// ```
/// use kaltura_discord::notify::HashAlgorithm;
/// use kaltura_discord::notify::signature::{sign, verify};
/// use secrecy::SecretString;
///
/// let secret = SecretString::from("0123456789abcdef0123456789abcdef");
/// let sig = sign(&secret, b"{}", HashAlgorithm::Sha256);
/// assert_eq!(verify(&secret, b"{}", Some(&sig), Some("sha256")), Ok(HashAlgorithm::Sha256));
/// ```
pub fn sign(secret: &SecretString, body: &[u8], algo: HashAlgorithm) -> String {
    crate::text::hex_lower(&algo.digest(secret.expose_secret().as_bytes(), body))
}

/// Checks `X-KALTURA-SIGNATURE` (`signature`, hex in either case, surrounding whitespace
/// ignored) against `body` signed with `secret`, the hash named by `X-KALTURA-HASH-ALGO`
/// (`algo`). The comparison runs in constant time over the digest bytes.
///
/// # Errors
///
/// - [`SignatureError::UnknownAlgorithm`] when `algo` names no known hash (checked first);
/// - [`SignatureError::Missing`] when there is no (or an empty) signature;
/// - [`SignatureError::Mismatch`] when it is not hex, has the length of another algorithm's
///   digest, or does not match.
pub fn verify(
    secret: &SecretString,
    body: &[u8],
    signature: Option<&str>,
    algo: Option<&str>,
) -> Result<HashAlgorithm, SignatureError> {
    let algo = HashAlgorithm::from_header(algo)?;
    let signature = signature.map(str::trim).unwrap_or_default();
    if signature.is_empty() {
        return Err(SignatureError::Missing);
    }
    let given = decode_hex(signature).ok_or(SignatureError::Mismatch)?;
    if given.len() != algo.digest_len() {
        return Err(SignatureError::Mismatch);
    }
    let expected = algo.digest(secret.expose_secret().as_bytes(), body);
    if bool::from(expected.as_slice().ct_eq(given.as_slice())) {
        Ok(algo)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Decodes hex of either case; `None` when it is not (an odd length, another character).
/// Refuses anything longer than a SHA-512 digest before allocating.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) || bytes.len() > 128 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    crate::text::hex_lower(&sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = br#"{"object":{"id":"0_abc"}}"#;
    // python3: hashlib.new(a, SECRET.encode() + BODY).hexdigest()
    const SHA1: &str = "cf917b3110bd64cbfa5870877c84739a462b3f0d";
    const SHA256: &str = "2371763be17f3683bfa806d5b632678ad430dae762e329589fe485aa8b2eadb1";
    const SHA512: &str = "bcd21812c2ce63a6ddf7694d9ba568662061827708b2ddee7d28cc04d5f5120ad09a8036a1fbd7115b57a4ad2ac41c20faa3c2bc4373cd3032b252a95ab6a041";

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    #[test]
    fn algorithm_from_header() {
        assert_eq!(HashAlgorithm::from_header(None), Ok(HashAlgorithm::Sha1));
        assert_eq!(
            HashAlgorithm::from_header(Some("sha1")),
            Ok(HashAlgorithm::Sha1)
        );
        assert_eq!(
            HashAlgorithm::from_header(Some("Sha256")),
            Ok(HashAlgorithm::Sha256)
        );
        assert_eq!(
            HashAlgorithm::from_header(Some(" SHA512 ")),
            Ok(HashAlgorithm::Sha512)
        );
        for bad in ["md5", "", "sha-256", "sha2561", "hmac-sha256"] {
            assert!(
                matches!(
                    HashAlgorithm::from_header(Some(bad)),
                    Err(SignatureError::UnknownAlgorithm(_))
                ),
                "{bad}"
            );
        }
        let long = "x".repeat(1000);
        match HashAlgorithm::from_header(Some(&long)) {
            Err(SignatureError::UnknownAlgorithm(kept)) => assert_eq!(kept.len(), 32),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signs_like_python_hashlib() {
        assert_eq!(sign(&secret(), BODY, HashAlgorithm::Sha1), SHA1);
        assert_eq!(sign(&secret(), BODY, HashAlgorithm::Sha256), SHA256);
        assert_eq!(sign(&secret(), BODY, HashAlgorithm::Sha512), SHA512);
        // python3: hashlib.sha1(SECRET.encode()).hexdigest()
        assert_eq!(
            sign(&secret(), b"", HashAlgorithm::Sha1),
            "b1775a785f09a6ebaf2dc33d6eaeb98974d9cdb8"
        );
    }

    #[test]
    fn verifies_each_algorithm_in_either_case() {
        let s = secret();
        assert_eq!(verify(&s, BODY, Some(SHA1), None), Ok(HashAlgorithm::Sha1));
        assert_eq!(
            verify(&s, BODY, Some(SHA1), Some("sha1")),
            Ok(HashAlgorithm::Sha1)
        );
        assert_eq!(
            verify(&s, BODY, Some(&SHA256.to_uppercase()), Some("SHA256")),
            Ok(HashAlgorithm::Sha256)
        );
        assert_eq!(
            verify(&s, BODY, Some(&format!(" {SHA512}\t")), Some("sha512")),
            Ok(HashAlgorithm::Sha512)
        );
    }

    #[test]
    fn refuses_what_does_not_match() {
        let s = secret();
        assert_eq!(verify(&s, BODY, None, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(&s, BODY, Some("  "), Some("sha256")),
            Err(SignatureError::Missing)
        );
        // Algorithm mismatch: a SHA-256 signature announced as SHA-1 (or as nothing).
        assert_eq!(
            verify(&s, BODY, Some(SHA256), None),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&s, BODY, Some(SHA1), Some("sha512")),
            Err(SignatureError::Mismatch)
        );
        // Another body, another secret, one changed digit, not hex, odd length, too long.
        assert_eq!(
            verify(&s, b"{}", Some(SHA1), None),
            Err(SignatureError::Mismatch)
        );
        let other = SecretString::from("another-secret");
        assert_eq!(
            verify(&other, BODY, Some(SHA1), None),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = SHA1.to_owned();
        flipped.replace_range(0..1, "d");
        assert_eq!(
            verify(&s, BODY, Some(&flipped), None),
            Err(SignatureError::Mismatch)
        );
        let not_hex = format!("zz{}", &SHA1[2..]);
        assert_eq!(
            verify(&s, BODY, Some(&not_hex), None),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&s, BODY, Some(&SHA1[1..]), None),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&s, BODY, Some(&"a".repeat(100_000)), None),
            Err(SignatureError::Mismatch)
        );
        // Unknown algorithm is reported before the signature is looked at.
        assert!(matches!(
            verify(&s, BODY, None, Some("md5")),
            Err(SignatureError::UnknownAlgorithm(_))
        ));
    }

    #[test]
    fn errors_do_not_show_the_secret() {
        let s = secret();
        for err in [
            verify(&s, BODY, None, None),
            verify(&s, BODY, Some(SHA256), None),
            verify(&s, BODY, None, Some("md5")),
        ] {
            let err = err.unwrap_err();
            assert!(!format!("{err} {err:?}").contains(SECRET));
        }
    }

    #[test]
    fn sha256_of_the_body() {
        // python3: hashlib.sha256(b"abc").hexdigest()
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
