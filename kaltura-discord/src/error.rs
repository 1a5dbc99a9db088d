//! The one error type of this crate.

/// Result alias used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the integration library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call to Kaltura failed; the inner error says where and whether it may be retried.
    #[error("Kaltura call failed: {0}")]
    Kaltura(#[from] kaltura_client::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaltura_errors_convert_and_keep_their_message() {
        let api = kaltura_client::ApiError::new("ENTRY_ID_NOT_FOUND", "Entry id \"0_x\" not found");
        let err: Error = kaltura_client::Error::from(api).into();
        assert_eq!(
            err.to_string(),
            "Kaltura call failed: Kaltura API error ENTRY_ID_NOT_FOUND: Entry id \"0_x\" not found"
        );
    }
}
