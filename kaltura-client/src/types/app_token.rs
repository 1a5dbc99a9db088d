//! Models of the `appToken` service.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The hash function an application token is configured with (`KalturaAppTokenHashType`),
/// used to compute `tokenHash = hex(hash(KS ‖ token))` for `appToken.startSession`.
///
/// Kaltura's default is [`AppTokenHashType::Sha1`]. There is no `Unknown` variant: a hash this
/// crate cannot compute is of no use to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AppTokenHashType {
    /// MD5 (`MD5`).
    #[serde(rename = "MD5")]
    Md5,
    /// SHA-1 (`SHA1`), Kaltura's default.
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    /// SHA-256 (`SHA256`).
    #[serde(rename = "SHA256")]
    Sha256,
    /// SHA-512 (`SHA512`).
    #[serde(rename = "SHA512")]
    Sha512,
}

impl AppTokenHashType {
    /// Kaltura's name of the hash type, e.g. `SHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppTokenHashType::Md5 => "MD5",
            AppTokenHashType::Sha1 => "SHA1",
            AppTokenHashType::Sha256 => "SHA256",
            AppTokenHashType::Sha512 => "SHA512",
        }
    }

    /// `hex(hash(ks ‖ token))` in lowercase: the `tokenHash` that proves knowledge of the
    /// token without sending it.
    ///
    /// ```
    /// use kaltura_client::types::AppTokenHashType;
    ///
    /// // sha1("ab")
    /// assert_eq!(
    ///     AppTokenHashType::Sha1.token_hash("a", "b"),
    ///     "da23614e02469a0d7c7bd1bdab5c9c474b1904dc"
    /// );
    /// ```
    pub fn token_hash(self, ks: &str, token: &str) -> String {
        fn digest<D: sha2::Digest>(ks: &str, token: &str) -> String {
            let mut hasher = D::new();
            hasher.update(ks.as_bytes());
            hasher.update(token.as_bytes());
            hex::encode(hasher.finalize())
        }
        match self {
            AppTokenHashType::Md5 => digest::<md5::Md5>(ks, token),
            AppTokenHashType::Sha1 => digest::<sha1::Sha1>(ks, token),
            AppTokenHashType::Sha256 => digest::<sha2::Sha256>(ks, token),
            AppTokenHashType::Sha512 => digest::<sha2::Sha512>(ks, token),
        }
    }
}

impl fmt::Display for AppTokenHashType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // Digests of "abc", split as KS "a" + token "bc".
        assert_eq!(
            AppTokenHashType::Md5.token_hash("a", "bc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            AppTokenHashType::Sha1.token_hash("a", "bc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            AppTokenHashType::Sha256.token_hash("a", "bc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(
            AppTokenHashType::Sha512
                .token_hash("a", "bc")
                .starts_with("ddaf35a193617aba")
        );
    }

    #[test]
    fn serde_names() {
        assert_eq!(
            serde_json::to_string(&AppTokenHashType::Sha256).unwrap(),
            "\"SHA256\""
        );
        let t: AppTokenHashType = serde_json::from_str("\"MD5\"").unwrap();
        assert_eq!(t, AppTokenHashType::Md5);
        assert_eq!(AppTokenHashType::default(), AppTokenHashType::Sha1);
    }
}
