//! KS v2: an encrypted, hash-protected field list.
//!
//! 1. fields: each privilege `name=value` (`*` as `all=*`), then `_e` (expiry), `_t` (type),
//!    `_u` (user id), `_m` (master partner id), `_d` (additional data), URL-encoded like
//!    Python's `urlencode` (space as `+`, `A-Za-z0-9_.-~` kept, the rest `%XX`);
//! 2. `body = 16 random bytes ‖ fields`, `plain = sha1(body) ‖ body`, zero-padded to 16;
//! 3. AES-128-CBC, key `sha1(adminSecret)[..16]`, zero IV;
//! 4. `base64url("v2|" pid "|" ciphertext)` with `=` padding.

use std::fmt;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::consts::U16;
use aes::cipher::{
    Block, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockModeDecrypt,
    BlockSizeUser, InnerIvInit,
};
use aes::{Aes128Dec, Aes128Enc};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use sha1::{Digest, Sha1};

use super::privileges::{self, Privilege, Privileges};
use super::{
    Clock, DecodedKs, Ks, KsBuilder, KsVersion, RandomSource, SessionType, ct_eq, malformed,
};
use crate::error::{Error, KsErrorKind, Result};
use crate::ids::PartnerId;

const HASH_LEN: usize = 20;
const RAND_LEN: usize = 16;
const BLOCK: usize = 16;
/// Smallest ciphertext that can hold the hash, the random prefix and any field.
const MIN_CIPHERTEXT: usize = 3 * BLOCK;

/// Whether Python's `quote_plus` keeps `b` as it is: `A-Za-z0-9_.-~`.
fn is_unreserved(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~')
}

/// The upper-case hex digit of the low four bits of `n`.
fn hex_upper(n: u8) -> u8 {
    match n & 0x0f {
        d @ 0..=9 => b'0' + d,
        d => b'A' + (d - 10),
    }
}

/// The plaintext of a KS v2 (`"v2|" pid "|" hash ‖ random ‖ fields ‖ padding`), built on the
/// stack when it fits (almost always), on the heap otherwise.
struct PlainBuf {
    stack: [u8; PlainBuf::STACK],
    len: usize,
    /// Everything written so far once it no longer fits on the stack (then never empty).
    heap: Vec<u8>,
}

impl fmt::Write for PlainBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }
}

impl PlainBuf {
    const STACK: usize = 512;

    fn new() -> Self {
        PlainBuf {
            stack: [0; PlainBuf::STACK],
            len: 0,
            heap: Vec::new(),
        }
    }

    #[inline]
    fn put(&mut self, s: &[u8]) {
        if self.heap.is_empty()
            && let Some(dst) = self.stack.get_mut(self.len..self.len + s.len())
        {
            dst.copy_from_slice(s);
            self.len += s.len();
        } else {
            self.put_heap(s);
        }
    }

    #[cold]
    #[inline(never)]
    fn put_heap(&mut self, s: &[u8]) {
        if self.heap.is_empty() {
            self.heap.reserve(2 * (self.len + s.len()));
            let filled = self.stack.get(..self.len).unwrap_or_default();
            self.heap.extend_from_slice(filled);
        }
        self.heap.extend_from_slice(s);
    }

    #[inline]
    fn put_byte(&mut self, b: u8) {
        self.put(&[b]);
    }

    /// Appends the decimal form of `n`.
    fn put_int(&mut self, n: i64) {
        // Writing into this buffer cannot fail.
        let _ = fmt::Write::write_fmt(self, format_args!("{n}"));
    }

    /// Appends `s` encoded like Python's `quote_plus` (what `urlencode` uses): unreserved bytes
    /// as they are, space as `+`, everything else `%XX` (upper-case hex). Returns whether every
    /// byte was unreserved (nothing needed encoding).
    fn put_encoded(&mut self, s: &str) -> bool {
        let bytes = s.as_bytes();
        let Some(first) = bytes.iter().position(|&b| !is_unreserved(b)) else {
            self.put(bytes);
            return true;
        };
        self.put(bytes.get(..first).unwrap_or_default());
        let mut run = first;
        for (i, &b) in bytes.iter().enumerate().skip(first) {
            if is_unreserved(b) {
                continue;
            }
            self.put(bytes.get(run..i).unwrap_or_default());
            if b == b' ' {
                self.put_byte(b'+');
            } else {
                self.put(&[b'%', hex_upper(b >> 4), hex_upper(b)]);
            }
            run = i + 1;
        }
        self.put(bytes.get(run..).unwrap_or_default());
        false
    }

    fn as_slice(&self) -> &[u8] {
        if self.heap.is_empty() {
            self.stack.get(..self.len).unwrap_or_default()
        } else {
            &self.heap
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.heap.is_empty() {
            self.stack.get_mut(..self.len).unwrap_or_default()
        } else {
            &mut self.heap
        }
    }
}

/// Appends `s` encoded like Python's `quote_plus` (see [`PlainBuf::put_encoded`]).
#[cfg(test)]
fn push_encoded(out: &mut Vec<u8>, s: &str) {
    let mut buf = PlainBuf::new();
    buf.put_encoded(s);
    out.extend_from_slice(buf.as_slice());
}

/// Writes the privileges part of the field list (`name=value&…`). Returns whether they are
/// certainly valid (every byte unreserved, names non-empty and not reserved by v2); when not,
/// the caller runs the full validation.
fn put_privileges(out: &mut PlainBuf, privs: &[Privilege]) -> bool {
    let mut clean = true;
    for (i, p) in privs.iter().enumerate() {
        let name = p.v2_name();
        let mut value = p.v2_value();
        // Names are unique in `Privileges`, but `*` and an `all:…` privilege both become the
        // key `all`: PHP array semantics, first position, last value.
        if name == "all" {
            if privs.iter().take(i).any(|q| q.v2_name() == "all") {
                clean = false;
                continue;
            }
            if let Some(last) = privs
                .iter()
                .skip(i + 1)
                .rev()
                .find(|q| q.v2_name() == "all")
            {
                clean = false;
                value = last.v2_value();
            }
        }
        let name_clean = out.put_encoded(name);
        out.put_byte(b'=');
        let value_clean = out.put_encoded(value);
        out.put_byte(b'&');
        // `All` is valid; its v2 form `all=*` is what was written.
        clean &= matches!(p, Privilege::All)
            || (name_clean && value_clean && !name.is_empty() && !privileges::is_v2_reserved(name));
    }
    clean
}

pub(super) fn encode(
    enc: &Aes128Enc,
    b: &KsBuilder,
    clock: &dyn Clock,
    rng: &mut dyn RandomSource,
) -> Result<Ks> {
    let mut raw = PlainBuf::new();
    raw.put(b"v2|");
    raw.put_int(b.partner_id.get());
    raw.put_byte(b'|');
    let start = raw.len;
    // Hash and random prefix, filled in below.
    raw.put(&[0u8; HASH_LEN + RAND_LEN]);
    if !put_privileges(&mut raw, b.privileges.as_slice()) {
        b.validate()?;
    }
    let valid_until = b.valid_until(clock.now_unix());
    raw.put(b"_e=");
    raw.put_int(valid_until);
    raw.put(b"&_t=");
    raw.put_int(b.session_type.as_i64());
    raw.put(b"&_u=");
    raw.put_encoded(&b.user_id);
    if let Some(m) = b.master_partner_id {
        raw.put(b"&_m=");
        raw.put_int(m.get());
    }
    if let Some(d) = &b.additional_data {
        raw.put(b"&_d=");
        raw.put_encoded(d);
    }
    // Zero padding, none when already aligned (not PKCS#7).
    let plain_len = raw.as_slice().len() - start;
    let padded = plain_len.div_ceil(BLOCK) * BLOCK;
    for _ in plain_len..padded {
        raw.put_byte(0);
    }

    let plain = raw
        .as_mut_slice()
        .get_mut(start..)
        .ok_or_else(|| malformed("internal: KS v2 plaintext is too short"))?;
    let too_short = || malformed("internal: KS v2 plaintext is too short");
    let (hash, body) = plain.split_at_mut_checked(HASH_LEN).ok_or_else(too_short)?;
    rng.fill_bytes(body.get_mut(..RAND_LEN).ok_or_else(too_short)?);
    let hashed = body
        .get(..plain_len.saturating_sub(HASH_LEN))
        .ok_or_else(too_short)?;
    let digest = Sha1::digest(hashed);
    hash.copy_from_slice(&digest);
    cbc_encrypt(enc, plain);
    Ok(Ks::new(URL_SAFE.encode(raw.as_slice())))
}

/// AES-128-CBC encryption in place with a zero IV, without padding (`data` is whole blocks;
/// a trailing partial block is left as it is, which `encode` never produces).
fn cbc_encrypt(enc: &Aes128Enc, data: &mut [u8]) {
    struct Cbc<'a>(&'a mut [u8]);
    impl BlockSizeUser for Cbc<'_> {
        type BlockSize = U16;
    }
    impl BlockCipherEncClosure for Cbc<'_> {
        #[inline(always)]
        fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
            let mut state = Block::<B>::default();
            for chunk in self.0.chunks_exact_mut(BLOCK) {
                for (s, p) in state.iter_mut().zip(chunk.iter()) {
                    *s ^= *p;
                }
                backend.encrypt_block((&mut state).into());
                chunk.copy_from_slice(&state);
            }
        }
    }
    enc.encrypt_with_backend(Cbc(data));
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
    let plain = plain.get(..end).unwrap_or_default();
    if plain.len() < HASH_LEN + RAND_LEN {
        // Only a wrong key produces that much trailing zero garbage.
        return Err(Error::Ks(KsErrorKind::SignatureMismatch));
    }
    let (hash, body) = plain.split_at(HASH_LEN);
    if !ct_eq(&Sha1::digest(body), hash) {
        return Err(Error::Ks(KsErrorKind::SignatureMismatch));
    }
    parse_fields(body.get(RAND_LEN..).unwrap_or_default(), partner_id)
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
        let (name, value) = super::split_once(pair, b'=').unwrap_or((pair, &[]));
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
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// `plain` (zero-padded to whole blocks) encrypted with the key of `b"secret"`.
    fn seal(plain: &[u8]) -> (Aes128Dec, Vec<u8>) {
        use aes::cipher::KeyInit;
        let key = super::super::v2_key(b"secret");
        let mut data = plain.to_vec();
        data.resize(plain.len().div_ceil(BLOCK).max(3) * BLOCK, 0);
        cbc_encrypt(&Aes128Enc::new(&key), &mut data);
        (Aes128Dec::new(&key), data)
    }

    #[test]
    fn short_or_unsigned_plaintexts_are_refused_without_panicking() {
        // After the trailing zeros are trimmed, 1, 19, 20 and 35 bytes are left: too short
        // for the hash and the random prefix.
        for len in [1usize, 19, 20, 35] {
            let (dec, ciphertext) = seal(&vec![7u8; len]);
            assert!(
                matches!(
                    decrypt(&dec, PartnerId::new(1), &ciphertext),
                    Err(Error::Ks(KsErrorKind::SignatureMismatch))
                ),
                "{len}"
            );
        }
        // Exactly a valid hash and random prefix and no fields: signed, but no `_e`/`_t`.
        let random = [9u8; RAND_LEN];
        let mut plain = Sha1::digest(random).to_vec();
        plain.extend_from_slice(&random);
        let (dec, ciphertext) = seal(&plain);
        assert!(matches!(
            decrypt(&dec, PartnerId::new(1), &ciphertext),
            Err(Error::Ks(KsErrorKind::Malformed(_)))
        ));
        // The same with fields decodes, percent-escapes and an empty `_m` included.
        let mut body = random.to_vec();
        body.extend_from_slice(b"_e=5&_t=2&_u=a%20b%2Fc&_m=&sview=0_x");
        let mut plain = Sha1::digest(&body).to_vec();
        plain.extend_from_slice(&body);
        let (dec, ciphertext) = seal(&plain);
        let d = decrypt(&dec, PartnerId::new(1), &ciphertext).unwrap();
        assert_eq!(d.user_id, "a b/c");
        assert_eq!(d.master_partner_id, None);
        assert_eq!(d.privileges.to_string(), "sview:0_x");
    }

    #[test]
    fn only_all_star_is_the_all_privilege() {
        let d = parse_fields(b"_e=5&_t=2&_u=u&all=x", PartnerId::new(1)).unwrap();
        assert!(!d.privileges.contains("*"));
        assert_eq!(
            d.privileges.get("all").and_then(Privilege::value),
            Some("x")
        );
        let d = parse_fields(b"_e=5&_t=2&_u=u&all=*", PartnerId::new(1)).unwrap();
        assert!(d.privileges.contains("*"));
    }

    #[test]
    fn percent_escapes_decode_anywhere_in_a_field() {
        assert_eq!(url_decode(b"ab%41%42cd%7e").unwrap(), "abABcd~");
        assert_eq!(url_decode(b"x%F0%9F%98%80y").unwrap(), "x\u{1F600}y");
    }

    #[test]
    fn ciphertexts_need_three_whole_blocks() {
        for len in [0, 16, 19, 32, 47, 49, 63] {
            assert!(
                matches!(
                    check_ciphertext_len(&vec![0u8; len]),
                    Err(Error::Ks(KsErrorKind::Malformed(_)))
                ),
                "{len}"
            );
        }
        for len in [48, 64, 160] {
            assert!(check_ciphertext_len(&vec![0u8; len]).is_ok(), "{len}");
        }
    }

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
        for n in [0, 7, -7, 9, 10, 99, 100, 1_700_086_400, i64::MIN, i64::MAX] {
            let mut buf = PlainBuf::new();
            buf.put_int(n);
            assert_eq!(buf.as_slice(), n.to_string().as_bytes());
        }
    }

    /// The decrypted field list of a KS signed by `encode` (hash checked).
    fn fields_of(b: &KsBuilder) -> Result<String> {
        use aes::cipher::KeyInit;
        use base64::Engine as _;
        let key = super::super::v2_key(b"secret");
        let mut rng = super::super::FixedRandom::VECTORS;
        let ks = encode(
            &Aes128Enc::new(&key),
            b,
            &crate::clock::FixedClock(1_700_000_000),
            &mut rng,
        )?;
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(ks.expose_secret())
            .unwrap();
        let ciphertext = raw.splitn(3, |&c| c == b'|').nth(2).unwrap();
        let mut buf = ciphertext.to_vec();
        let plain =
            cbc::Decryptor::<Aes128Dec>::inner_iv_init(Aes128Dec::new(&key), &Default::default())
                .decrypt_padded::<NoPadding>(&mut buf)
                .unwrap();
        let end = plain.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        let (hash, body) = plain[..end].split_at(HASH_LEN);
        assert_eq!(&Sha1::digest(body)[..], hash);
        assert_eq!(&body[..RAND_LEN], &super::super::FixedRandom::VECTORS.bytes);
        Ok(String::from_utf8(body[RAND_LEN..].to_vec()).unwrap())
    }

    #[test]
    fn field_list_layout() {
        let b = KsBuilder::new(PartnerId::new(7))
            .user_id("a b")
            .privilege(Privilege::All)
            .privilege(Privilege::Other {
                name: "x y".into(),
                value: Some("1+1".into()),
            })
            .privilege(Privilege::Other {
                name: "all".into(),
                value: Some("last".into()),
            })
            .privilege(Privilege::DisableEntitlement)
            .master_partner_id(PartnerId::new(-3))
            .additional_data("d&d");
        assert_eq!(
            fields_of(&b).unwrap(),
            "all=last&x+y=1%2B1&disableentitlement=&_e=1700086400&_t=0&_u=a+b&_m=-3&_d=d%26d"
        );
        assert_eq!(
            fields_of(&KsBuilder::new(PartnerId::new(7))).unwrap(),
            "_e=1700086400&_t=0&_u="
        );
    }

    #[test]
    fn long_fields_spill_to_the_heap() {
        let user = "é".repeat(400);
        let b = KsBuilder::new(PartnerId::new(7))
            .user_id(user.clone())
            .privilege(Privilege::Sview("s".repeat(300)));
        let fields = fields_of(&b).unwrap();
        assert!(fields.len() > PlainBuf::STACK);
        assert_eq!(
            fields,
            format!(
                "sview={}&_e=1700086400&_t=0&_u={}",
                "s".repeat(300),
                "%C3%A9".repeat(400)
            )
        );
    }

    #[test]
    fn validation_errors_match_the_full_validation() {
        let reserved = Privilege::Other {
            name: "_u".into(),
            value: None,
        };
        let cases = [
            vec![reserved.clone()],
            vec![reserved.clone(), Privilege::EventId("a,b".into())],
            vec![Privilege::All, Privilege::EventId("a ".into())],
            vec![Privilege::Other {
                name: String::new(),
                value: None,
            }],
            vec![Privilege::Other {
                name: " a".into(),
                value: None,
            }],
            vec![Privilege::Other {
                name: "a\u{2003}".into(),
                value: None,
            }],
            vec![Privilege::Role("r\u{2003}".into())],
        ];
        for privs in cases {
            let b = KsBuilder::new(PartnerId::new(7)).privileges(privs.into_iter().collect());
            let expected = b.validate().unwrap_err().to_string();
            assert_eq!(fields_of(&b).unwrap_err().to_string(), expected);
        }
        // Valid, but not plain: the full validation runs and accepts them.
        for p in [
            Privilege::Role("a b".into()),
            Privilege::Other {
                name: "a\u{2003}b".into(),
                value: Some("é".into()),
            },
        ] {
            let b = KsBuilder::new(PartnerId::new(7)).privilege(p);
            assert!(b.validate().is_ok());
            assert!(fields_of(&b).is_ok());
        }
    }

    #[test]
    fn plain_buf_spills_to_the_heap() {
        let mut buf = PlainBuf::new();
        let mut expected = Vec::new();
        for i in 0..200u8 {
            let chunk = vec![i; usize::from(i % 7)];
            buf.put(&chunk);
            expected.extend_from_slice(&chunk);
            assert_eq!(buf.as_slice(), &expected[..]);
        }
        assert!(expected.len() > PlainBuf::STACK);
        buf.as_mut_slice()[0] = 42;
        assert_eq!(buf.as_slice()[0], 42);
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
