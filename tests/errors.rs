//! Errors flow from kaltura-client through kaltura-discord without losing what failed.

#[test]
fn api_error_code_survives_the_integration_error() {
    let api = kaltura_client::ApiError::new(kaltura_client::ErrorCode::InvalidKs, "Invalid KS")
        .with_arg("ERR_CODE", "-5")
        .with_arg("ERR_DESC", "EXPIRED");
    let err = kaltura_discord::Error::from(kaltura_client::Error::from(api));
    let kaltura_discord::Error::Kaltura(inner) = &err else {
        panic!("expected a Kaltura error, got {err:?}");
    };
    assert_eq!(
        inner.api_code(),
        Some(&kaltura_client::ErrorCode::InvalidKs)
    );
    assert_eq!(
        inner.as_api().and_then(|e| e.invalid_ks_reason()),
        Some(kaltura_client::InvalidKsReason::Expired)
    );
}
