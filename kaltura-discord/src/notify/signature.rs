//! Kaltura's webhook signature: `X-KALTURA-SIGNATURE` = hex(hash(admin secret ‖ raw body)),
//! the hash named by `X-KALTURA-HASH-ALGO` (`sha1` when absent, `sha256`, `sha512`). A plain
//! hash, not an HMAC; compared in constant time.

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
