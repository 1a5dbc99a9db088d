//! KS v2: an encrypted, hash-protected field list.
//!
//! 1. fields: each privilege `name=value` (`*` as `all=*`), then `_e` (expiry), `_t` (type),
//!    `_u` (user id), `_m` (master partner id), `_d` (additional data), URL-encoded like
//!    Python's `urlencode` (space as `+`, `A-Za-z0-9_.-~` kept, the rest `%XX`);
//! 2. `body = 16 random bytes ‖ fields`, `plain = sha1(body) ‖ body`, zero-padded to 16;
//! 3. AES-128-CBC, key `sha1(adminSecret)[..16]`, zero IV;
//! 4. `base64url("v2|" pid "|" ciphertext)` with `=` padding.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit};
use aes::{Aes128Dec, Aes128Enc};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use sha1::{Digest, Sha1};

use super::privileges::{Privilege, Privileges};
use super::{
    Clock, DecodedKs, Ks, KsBuilder, KsVersion, RandomSource, SessionType, ct_eq, malformed,
    push_int,
};
use crate::error::{Error, KsErrorKind, Result};
use crate::ids::PartnerId;

const HASH_LEN: usize = 20;
const RAND_LEN: usize = 16;
const BLOCK: usize = 16;
/// Smallest ciphertext that can hold the hash, the random prefix and any field.
const MIN_CIPHERTEXT: usize = 3 * BLOCK;

/// Bytes Python's `quote_plus` keeps as they are: `A-Za-z0-9_.-~`.
const UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] =
            matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~');
        b += 1;
    }
    t
};

/// Appends `s` encoded like Python's `quote_plus` (what `urlencode` uses): unreserved bytes
/// as they are, space as `+`, everything else `%XX` (upper-case hex).
fn push_encoded(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if UNRESERVED[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        if b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// Writes the `&`-joined field list.
fn push_fields(out: &mut Vec<u8>, b: &KsBuilder, valid_until: i64) {
    let privs = b.privileges.as_slice();
    for (i, p) in privs.iter().enumerate() {
        let name = p.v2_name();
        let mut value = p.v2_value();
        // Names are unique in `Privileges`, but `*` and an `all:…` privilege both become the
        // key `all`: PHP array semantics, first position, last value.
        if name == "all" {
            if privs[..i].iter().any(|q| q.v2_name() == "all") {
                continue;
            }
            if let Some(last) = privs[i + 1..].iter().rev().find(|q| q.v2_name() == "all") {
                value = last.v2_value();
            }
        }
        push_encoded(out, name);
        out.push(b'=');
        push_encoded(out, value);
        out.push(b'&');
    }
    out.extend_from_slice(b"_e=");
    push_int(out, valid_until);
    out.extend_from_slice(b"&_t=");
    push_int(out, b.session_type.as_i64());
    out.extend_from_slice(b"&_u=");
    push_encoded(out, &b.user_id);
    if let Some(m) = b.master_partner_id {
        out.extend_from_slice(b"&_m=");
        push_int(out, m.get());
    }
    if let Some(d) = &b.additional_data {
        out.extend_from_slice(b"&_d=");
        push_encoded(out, d);
    }
}

pub(super) fn encode(
    enc: &Aes128Enc,
    b: &KsBuilder,
    clock: &dyn Clock,
    rng: &mut dyn RandomSource,
) -> Result<Ks> {
    b.validate()?;
    let valid_until = b.valid_until(clock.now_unix());
    let mut rand = [0u8; RAND_LEN];
    rng.fill_bytes(&mut rand);

    // Room for the usual case (percent-encoding can triple user data); grows if needed.
    let estimate = 160
        + 3 * (b.user_id.len() + b.additional_data.as_ref().map_or(0, String::len))
        + 32 * b.privileges.len();
    let mut raw = Vec::with_capacity(estimate);
    raw.extend_from_slice(b"v2|");
    push_int(&mut raw, b.partner_id.get());
    raw.push(b'|');
    let start = raw.len();
    raw.extend_from_slice(&[0u8; HASH_LEN]);
    raw.extend_from_slice(&rand);
    push_fields(&mut raw, b, valid_until);

    let digest = Sha1::digest(&raw[start + HASH_LEN..]);
    raw[start..start + HASH_LEN].copy_from_slice(&digest);
    // Zero padding, none when already aligned (not PKCS#7).
    let padded = (raw.len() - start).div_ceil(BLOCK) * BLOCK;
    raw.resize(start + padded, 0);
    cbc::Encryptor::<Aes128Enc>::inner_iv_init(enc.clone(), &Default::default())
        .encrypt_padded::<NoPadding>(&mut raw[start..], padded)
        .map_err(|_| malformed("internal: KS v2 plaintext is not block aligned"))?;
    Ok(Ks::new(URL_SAFE.encode(&raw)))
}

/// The ciphertext must be whole AES blocks, enough for the hash and random prefix.
pub(super) fn check_ciphertext_len(ciphertext: &[u8]) -> Result<()> {
    if ciphertext.len() < MIN_CIPHERTEXT || !ciphertext.len().is_multiple_of(BLOCK) {
        return Err(malformed(
            "the v2 ciphertext is not a whole number of AES blocks (at least 3)",
        ));
    }
    Ok(())
}

pub(super) fn decrypt(
    dec: &Aes128Dec,
    partner_id: PartnerId,
    ciphertext: &[u8],
) -> Result<DecodedKs> {
    check_ciphertext_len(ciphertext)?;
    let mut buf = ciphertext.to_vec();
    let plain = cbc::Decryptor::<Aes128Dec>::inner_iv_init(dec.clone(), &Default::default())
        .decrypt_padded::<NoPadding>(&mut buf)
        .map_err(|_| malformed("the v2 ciphertext is not a whole number of AES blocks"))?;
    // rtrim("\0"), as the server does.
    let end = plain.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let plain = &plain[..end];
    if plain.len() < HASH_LEN + RAND_LEN {
        // Only a wrong key produces that much trailing zero garbage.
        return Err(Error::Ks(KsErrorKind::SignatureMismatch));
    }
    let (hash, body) = plain.split_at(HASH_LEN);
    if !ct_eq(&Sha1::digest(body), hash) {
        return Err(Error::Ks(KsErrorKind::SignatureMismatch));
    }
    parse_fields(&body[RAND_LEN..], partner_id)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; an invalid
/// `%` sequence is kept literally (as PHP does).
fn url_decode(s: &[u8]) -> Result<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let decoded = s
                    .get(i + 1)
                    .and_then(|&h| hex(h))
                    .zip(s.get(i + 2).and_then(|&l| hex(l)));
                if let Some((h, l)) = decoded {
                    out.push(h << 4 | l);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("a v2 field is not UTF-8"))
}

fn parse_fields(fields: &[u8], partner_id: PartnerId) -> Result<DecodedKs> {
    let int = |s: &str, what: &str| {
        s.parse::<i64>()
            .map_err(|_| malformed(&format!("the v2 {what} is not a number")))
    };
    let mut privileges = Privileges::new();
    let (mut valid_until, mut session_type, mut user_id) = (None, None, None);
    let (mut master_partner_id, mut additional_data) = (None, None);
    for pair in fields.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = url_decode(name)?;
        let value = url_decode(value)?;
        match name.as_str() {
            "_e" => valid_until = Some(int(&value, "expiry (_e)")?),
            "_t" => session_type = Some(SessionType::from_i64(int(&value, "session type (_t)")?)),
            "_u" => user_id = Some(value),
            "_m" if value.is_empty() => master_partner_id = None,
            "_m" => {
                master_partner_id = Some(PartnerId::new(int(&value, "master partner id (_m)")?))
            }
            "_d" => additional_data = Some(value),
            "all" if value == "*" => privileges.insert(Privilege::All),
            _ => privileges.insert(Privilege::from_parts(
                &name,
                Some(value.as_str()).filter(|v| !v.is_empty()),
            )),
        }
    }
    Ok(DecodedKs {
        version: KsVersion::V2,
        partner_id,
        session_type: session_type
            .ok_or_else(|| malformed("the v2 session type (_t) is missing"))?,
        user_id: user_id.unwrap_or_default(),
        valid_until: valid_until.ok_or_else(|| malformed("the v2 expiry (_e) is missing"))?,
        privileges,
        master_partner_id,
        additional_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_python_urlencode() {
        let mut out = Vec::new();
        push_encoded(&mut out, "a b+c/d~e_f.g-h=&é%");
        assert_eq!(out, b"a+b%2Bc%2Fd~e_f.g-h%3D%26%C3%A9%25");
    }

    #[test]
    fn decodes_form_encoding_leniently() {
        assert_eq!(url_decode(b"a+b%2Bc%2fd%zz%4").unwrap(), "a b+c/d%zz%4");
        assert_eq!(url_decode(b"%C3%A9").unwrap(), "é");
        assert!(url_decode(b"%FF").is_err());
    }

    #[test]
    fn ints() {
        for n in [0, 7, -7, 1_700_086_400, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn parses_fields() {
        let d = parse_fields(
            b"a=1&all=*&flag=&a=2&_e=5&_t=2&_u=x+y&_m=7&_d=z",
            PartnerId::new(1),
        )
        .unwrap();
        assert_eq!(d.privileges.to_string(), "a:2,*,flag");
        assert_eq!(d.user_id, "x y");
        assert_eq!(d.master_partner_id, Some(PartnerId::new(7)));
        assert_eq!(d.additional_data.as_deref(), Some("z"));
        assert!(parse_fields(b"_t=0", PartnerId::new(1)).is_err());
        assert!(parse_fields(b"_e=1", PartnerId::new(1)).is_err());
        assert!(parse_fields(b"_e=x&_t=0", PartnerId::new(1)).is_err());
    }
}
