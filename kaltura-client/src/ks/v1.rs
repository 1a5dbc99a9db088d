//! KS v1: `base64( sha1hex(adminSecret ‖ info) "|" info )`.
//!
//! `info = pid;pid;validUntil;type;rand;userId;privileges[;masterPartnerId;additionalData]`.
//! The official Python client writes the first 7 fields; the server writes all 9. This
//! encoder writes 7, and 9 when a master partner id or additional data is set.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::privileges::Privileges;
use super::{
    Clock, DecodedKs, Ks, KsBuilder, KsVersion, RandomSource, SessionType, ct_eq, malformed,
    push_int,
};
use crate::error::{Error, KsErrorKind, Result};
use crate::ids::PartnerId;

/// Lower-case hex SHA-1 of `secret ‖ info`, `mac` having absorbed the secret already.
fn signature(mac: &Sha1, info: &[u8]) -> [u8; 40] {
    let mut h = mac.clone();
    h.update(info);
    let digest = h.finalize();
    let mut out = [0u8; 40];
    // `hex` writes exactly 40 lower-case digits for the 20-byte digest.
    let _ = hex::encode_to_slice(digest, &mut out);
    out
}

fn reject_semicolon(what: &str, value: &str) -> Result<()> {
    if value.contains(';') {
        return Err(Error::Ks(KsErrorKind::InvalidField(format!(
            "{what} contains ';', the KS v1 field separator"
        ))));
    }
    Ok(())
}

pub(super) fn encode(
    mac: &Sha1,
    b: &KsBuilder,
    clock: &dyn Clock,
    rng: &mut dyn RandomSource,
) -> Result<Ks> {
    b.validate()?;
    reject_semicolon("the user id", &b.user_id)?;
    if let Some(d) = &b.additional_data {
        reject_semicolon("the additional data", d)?;
    }
    let valid_until = b.valid_until(clock.now_unix());
    let rand = rng.v1_rand();

    let pid = b.partner_id.get();
    let mut raw = Vec::with_capacity(
        128 + b.user_id.len()
            + b.additional_data.as_ref().map_or(0, String::len)
            + 32 * b.privileges.len(),
    );
    raw.extend_from_slice(&[b'0'; 40]); // signature placeholder
    raw.push(b'|');
    push_int(&mut raw, pid);
    raw.push(b';');
    push_int(&mut raw, pid);
    raw.push(b';');
    push_int(&mut raw, valid_until);
    raw.push(b';');
    push_int(&mut raw, b.session_type.as_i64());
    raw.push(b';');
    push_int(&mut raw, i64::from(rand));
    raw.push(b';');
    raw.extend_from_slice(b.user_id.as_bytes());
    raw.push(b';');
    // The privileges string, as `Privileges`' Display renders it.
    let privileges_start = raw.len();
    for (i, p) in b.privileges.iter().enumerate() {
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(p.name().as_bytes());
        if let Some(v) = p.value() {
            raw.push(b':');
            raw.extend_from_slice(v.as_bytes());
        }
    }
    if raw
        .get(privileges_start..)
        .is_some_and(|p| p.contains(&b';'))
    {
        return Err(Error::Ks(KsErrorKind::InvalidField(
            "the privileges contain ';', the KS v1 field separator".to_owned(),
        )));
    }
    if b.master_partner_id.is_some() || b.additional_data.is_some() {
        raw.push(b';');
        if let Some(m) = b.master_partner_id {
            push_int(&mut raw, m.get());
        }
        raw.push(b';');
        raw.extend_from_slice(b.additional_data.as_deref().unwrap_or("").as_bytes());
    }
    let (sig_slot, rest) = raw
        .split_at_mut_checked(40)
        .ok_or_else(|| malformed("internal: KS v1 too short"))?;
    let info = rest.get(1..).unwrap_or_default();
    sig_slot.copy_from_slice(&signature(mac, info));
    Ok(Ks::new(
        base64::engine::general_purpose::STANDARD.encode(&raw),
    ))
}

/// Parses the fields, then checks that `sig` is the signature of `info`.
pub(super) fn decode(mac: &Sha1, sig: &[u8], info: &[u8]) -> Result<DecodedKs> {
    let fields = fields(info)?;
    if !ct_eq(&signature(mac, info), sig) {
        return Err(Error::Ks(KsErrorKind::SignatureMismatch));
    }
    Ok(fields)
}

/// Parses the `;`-separated fields (at least 3, as the server requires).
pub(super) fn fields(info: &[u8]) -> Result<DecodedKs> {
    let info = std::str::from_utf8(info).map_err(|_| malformed("the v1 fields are not UTF-8"))?;
    let parts: Vec<&str> = info.split(';').collect();
    let [pid, _pattern, valid_until, rest @ ..] = parts.as_slice() else {
        return Err(malformed("a v1 KS needs at least 3 ';'-separated fields"));
    };
    let int = |s: &str, what: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| malformed(&format!("the v1 {what} is not a number")))
    };
    let opt = |i: usize| rest.get(i).copied().filter(|s| !s.is_empty());
    Ok(DecodedKs {
        version: KsVersion::V1,
        partner_id: PartnerId::new(int(pid, "partner id")?),
        valid_until: int(valid_until, "expiry")?,
        session_type: match opt(0) {
            Some(t) => SessionType::from_i64(int(t, "session type")?),
            None => SessionType::User,
        },
        // rest[1] is the random number.
        user_id: rest.get(2).copied().unwrap_or("").to_owned(),
        privileges: Privileges::parse_lenient(rest.get(3).copied().unwrap_or("")),
        master_partner_id: opt(4)
            .map(|m| int(m, "master partner id").map(PartnerId::new))
            .transpose()?,
        additional_data: opt(5).map(str::to_owned),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn fields_need_three_parts() {
        assert!(fields(b"1;1").is_err());
        let d = fields(b"1;1;5").unwrap();
        assert_eq!(d.partner_id, PartnerId::new(1));
        assert_eq!(d.valid_until, 5);
        assert_eq!(d.session_type, SessionType::User);
        assert_eq!(d.user_id, "");
        assert!(d.privileges.is_empty());
    }

    #[test]
    fn server_style_nine_fields() {
        let d = fields(b"1;1;5;2;123.456;u;a:b;99;extra").unwrap();
        assert_eq!(d.session_type, SessionType::Admin);
        assert_eq!(d.master_partner_id, Some(PartnerId::new(99)));
        assert_eq!(d.additional_data.as_deref(), Some("extra"));
        let d = fields(b"1;1;5;2;123.456;u;a:b;;").unwrap();
        assert_eq!(d.master_partner_id, None);
        assert_eq!(d.additional_data, None);
    }

    #[test]
    fn non_numbers_are_malformed() {
        for bad in [
            &b"x;1;5"[..],
            b"1;1;x",
            b"1;1;5;x",
            b"1;1;5;0;0;u;p;x",
            b"1;1;\xff",
        ] {
            assert!(matches!(
                fields(bad),
                Err(Error::Ks(KsErrorKind::Malformed(_)))
            ));
        }
    }
}
