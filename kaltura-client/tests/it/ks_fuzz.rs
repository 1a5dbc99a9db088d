//! Property ("fuzz") tests of the public KS API: `ks::inspect` and `ks::decode` take any
//! string without panicking, and what `KsSigner` signs decodes back to the same fields.
//!
//! Small default budget; a longer bounded run sets `PROPTEST_CASES`
//! (`PROPTEST_CASES=20000 cargo test -p kaltura-client --test it ks_fuzz`).

use kaltura_client::PartnerId;
use kaltura_client::ks::{self, KsBuilder, KsVersion, Privileges, SessionType};
use proptest::prelude::*;
use secrecy::SecretString;

fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = None;
    c
}

/// Base64 text that often decodes to something KS-shaped (`v2|pid|…`, `hex|fields`).
fn ks_like() -> impl Strategy<Value = String> {
    use base64::Engine as _;
    prop_oneof![
        "[A-Za-z0-9+/_=-]{0,200}",
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| { base64::engine::general_purpose::URL_SAFE.encode(b) }),
        (
            0i64..100_000,
            proptest::collection::vec(any::<u8>(), 0..120)
        )
            .prop_map(|(pid, ct)| {
                let mut raw = format!("v2|{pid}|").into_bytes();
                raw.extend(ct);
                base64::engine::general_purpose::URL_SAFE.encode(raw)
            }),
        ("[0-9a-f]{40}", "[0-9;a-z:,_*|]{0,80}").prop_map(|(sig, info)| {
            base64::engine::general_purpose::STANDARD.encode(format!("{sig}|{info}"))
        }),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn inspect_and_decode_never_panic(ks in ks_like()) {
        let secret = SecretString::from("abcdef0123456789abcdef0123456789");
        let inspected = ks::inspect(&ks);
        let decoded = ks::decode(&ks, &secret);
        // A KS that verifies can also be inspected, with the same partner.
        if let Ok(d) = &decoded {
            let i = inspected.as_ref().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(i.partner_id, d.partner_id);
        }
    }

    #[test]
    fn signed_fields_decode_back(
        pid in 1i64..10_000_000,
        user in "[A-Za-z0-9_@.-]{0,40}",
        admin in any::<bool>(),
        v1 in any::<bool>(),
        privileges in proptest::collection::vec(("[a-z]{1,10}", "[A-Za-z0-9_]{1,10}"), 0..4),
    ) {
        let secret = SecretString::from("abcdef0123456789abcdef0123456789");
        let privileges: Privileges = privileges
            .iter()
            .map(|(n, v)| format!("{n}:{v}"))
            .collect::<Vec<_>>()
            .join(",")
            .parse()
            .map_err(|e: kaltura_client::Error| TestCaseError::reject(e.to_string()))?;
        let builder = KsBuilder::new(PartnerId::new(pid))
            .session_type(if admin { SessionType::Admin } else { SessionType::User })
            .user_id(user.clone())
            .privileges(privileges.clone())
            .version(if v1 { KsVersion::V1 } else { KsVersion::V2 });
        let signed = builder.sign(&secret).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = signed.decode(&secret).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.partner_id, PartnerId::new(pid));
        prop_assert_eq!(decoded.user_id, user);
        prop_assert_eq!(decoded.session_type.is_admin(), admin);
        // Duplicate names overwrite in v2 (as on Kaltura); compare by name.
        for p in privileges.iter() {
            prop_assert!(decoded.privileges.contains(p.name()), "{} lost", p.name());
        }
        let wrong = SecretString::from("not-the-secret");
        prop_assert!(signed.decode(&wrong).is_err());
    }
}
