//! KS generation and decoding.
//!
//! Generation uses a pinned clock ([`FixedClock`]) and [`FixedRandom`] (a 16-byte copy), so
//! the figures measure the KS work itself — field encoding, SHA-1, AES-128-CBC, base64 — and
//! not the operating system's random generator; `*_os_random` variants show the real-world
//! cost with [`OsRandom`] (rand's thread-local ChaCha CSPRNG) and the system clock.
//! `KsSigner` benches reuse the keys derived from the secret (what a long-lived client does);
//! the `KsBuilder` benches derive them on every call.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kaltura_client::PartnerId;
use kaltura_client::clock::{FixedClock, SystemClock};
use kaltura_client::ks::{
    self, FixedRandom, KsBuilder, KsSigner, KsVersion, OsRandom, SessionType,
};
use secrecy::SecretString;

const SECRET: &str = "abcdef0123456789abcdef0123456789";

fn builder(v: KsVersion) -> KsBuilder {
    KsBuilder::new(PartnerId::new(12345))
        .session_type(SessionType::User)
        .user_id("discord_42")
        .privileges(
            "privacycontext:abc,setrole:PLAYBACK_BASE_ROLE"
                .parse()
                .unwrap_or_default(),
        )
        .version(v)
}

fn bench(c: &mut Criterion) {
    let secret = SecretString::from(SECRET);
    let signer = KsSigner::new(&secret);
    let clock = FixedClock(1_700_000_000);
    let v1 = builder(KsVersion::V1);
    let v2 = builder(KsVersion::V2);
    let (Ok(v1_ks), Ok(v2_ks)) = (v1.sign(&secret), v2.sign(&secret)) else {
        return;
    };
    let v1_ks = v1_ks.expose_secret().to_owned();
    let v2_ks = v2_ks.expose_secret().to_owned();

    c.bench_function("ks_v2_generate", |b| {
        let mut rng = FixedRandom::VECTORS;
        b.iter(|| signer.sign_with(black_box(&v2), &clock, &mut rng));
    });
    c.bench_function("ks_v2_generate_os_random", |b| {
        b.iter(|| signer.sign_with(black_box(&v2), &SystemClock, &mut OsRandom));
    });
    c.bench_function("ks_v2_generate_builder", |b| {
        let mut rng = FixedRandom::VECTORS;
        b.iter(|| black_box(&v2).sign_with(&secret, &clock, &mut rng));
    });
    c.bench_function("ks_v2_decode", |b| {
        b.iter(|| signer.decode(black_box(&v2_ks)));
    });
    c.bench_function("ks_v2_decode_fn", |b| {
        b.iter(|| ks::decode(black_box(&v2_ks), &secret));
    });
    c.bench_function("ks_v1_generate", |b| {
        let mut rng = FixedRandom::VECTORS;
        b.iter(|| signer.sign_with(black_box(&v1), &clock, &mut rng));
    });
    c.bench_function("ks_v1_generate_builder", |b| {
        let mut rng = FixedRandom::VECTORS;
        b.iter(|| black_box(&v1).sign_with(&secret, &clock, &mut rng));
    });
    c.bench_function("ks_v1_decode", |b| {
        b.iter(|| signer.decode(black_box(&v1_ks)));
    });
    c.bench_function("ks_v1_decode_fn", |b| {
        b.iter(|| ks::decode(black_box(&v1_ks), &secret));
    });
    c.bench_function("ks_inspect_v2", |b| {
        b.iter(|| ks::inspect(black_box(&v2_ks)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
