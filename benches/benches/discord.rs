//! kaltura-discord hot paths: per-guild configuration resolution and `authorize`.
//!
//! Targets (issue 5): cached resolution under 1 µs, `authorize` under 200 ns.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kaltura_discord::GuildId;
use kaltura_discord::config::{ConfigResolver, ConfigSources, Layer, Layered};
use kaltura_discord::rbac::{
    DenyRule, DenySubject, DiscordPermissions, GuildPolicy, Permission, PermissionSet, Role,
    Subject, authorize,
};

fn config(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let resolver =
        ConfigResolver::load(&ConfigSources::defaults_only()).unwrap_or_else(|e| panic!("{e}"));
    let guild = GuildId::new(613_425_648_685_547_541).unwrap_or_else(|| panic!("guild id"));
    runtime
        .block_on(resolver.guild(guild))
        .unwrap_or_else(|e| panic!("{e}"));

    c.bench_function("config_resolve_cached", |b| {
        b.iter(|| {
            runtime
                .block_on(resolver.guild(black_box(guild)))
                .map(|c| c.config().meetings.default_duration_minutes)
        })
    });
    c.bench_function("config_cached_lookup_sync", |b| {
        b.iter(|| resolver.cached(black_box(guild)).is_some())
    });
    c.bench_function("config_resolve_uncached", |b| {
        b.iter(|| {
            runtime
                .block_on(resolver.resolve_uncached(black_box(guild)))
                .map(|c| c.config().locale.len())
        })
    });
}

/// A guild override with `n` user grants (`rbac.users`, 2 keys each), the shape that made the old merge
/// quadratic (issue 8 §4: 10k keys took 3 s, 40k about a minute).
fn user_grants(n: u64) -> serde_json::Map<String, serde_json::Value> {
    let users: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            (
                (100_000_000_000_000_000 + i).to_string(),
                serde_json::json!({"role": "moderator"}),
            )
        })
        .collect();
    let mut rbac = serde_json::Map::new();
    rbac.insert("users".into(), serde_json::Value::Object(users));
    let mut doc = serde_json::Map::new();
    doc.insert("rbac".into(), serde_json::Value::Object(rbac));
    doc
}

fn config_merge(c: &mut Criterion) {
    let defaults: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(kaltura_discord::config::DEFAULT_CONFIG_JSON)
            .unwrap_or_else(|e| panic!("defaults: {e}"));
    let mut base = Layered::new();
    base.merge(defaults, &Layer::Defaults);
    let mut group = c.benchmark_group("config_merge");
    group.sample_size(10);
    for n in [10_000u64, 40_000, 100_000] {
        let overlay = user_grants(n);
        let layer = Layer::GuildFile("config/guilds/1.json".into());
        group.bench_function(format!("{n}_keys"), |b| {
            b.iter_batched(
                || (base.clone(), overlay.clone()),
                |(mut l, o)| {
                    l.merge(o, &layer);
                    l.leaf_count()
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    // The whole resolution of a guild file with n grants: read, merge, deserialize, validate.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let dir = std::env::temp_dir().join(format!("kd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("config_resolve_guild_file");
    group.sample_size(10);
    for n in [10_000u64, 40_000, 100_000] {
        let text = serde_json::to_string(&user_grants(n)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("1.json"), text).unwrap_or_else(|e| panic!("{e}"));
        let resolver = ConfigResolver::load(&ConfigSources {
            guild_dir: Some(dir.clone()),
            ..ConfigSources::defaults_only()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let guild = GuildId::new(1).unwrap_or_else(|| panic!("guild id"));
        group.bench_function(format!("{n}_keys"), |b| {
            b.iter(|| {
                runtime
                    .block_on(resolver.resolve_uncached(black_box(guild)))
                    .map(|c| c.config().rbac.users.len())
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn rbac(c: &mut Criterion) {
    let mut policy = GuildPolicy::default();
    for i in 1..=20u64 {
        let role = kaltura_discord::RoleId::new(1000 + i).unwrap_or_else(|| panic!("role id"));
        policy.roles.insert(
            role,
            if i % 3 == 0 {
                Role::Moderator
            } else {
                Role::Viewer
            },
        );
    }
    policy.deny.push(DenyRule {
        subject: DenySubject::Role(
            kaltura_discord::RoleId::new(999).unwrap_or_else(|| panic!("role id")),
        ),
        permissions: PermissionSet::Only([Permission::ShareMedia].into()),
    });
    let subject = Subject::new(
        kaltura_discord::DiscordUserId::new(80_351_110_224_678_912)
            .unwrap_or_else(|| panic!("user id")),
    )
    .with_roles((1005..1012).filter_map(kaltura_discord::RoleId::new))
    .with_permissions(DiscordPermissions::from_bits(1 << 10 | 1 << 11));

    c.bench_function("authorize_role_grant", |b| {
        b.iter(|| {
            authorize(
                black_box(&policy),
                black_box(&subject),
                black_box(Permission::HostMeeting),
            )
        })
    });
    c.bench_function("authorize_default_deny", |b| {
        b.iter(|| {
            authorize(
                black_box(&policy),
                black_box(&subject),
                black_box(Permission::ManageConfig),
            )
        })
    });
}

criterion_group!(benches, config, config_merge, rbac);
criterion_main!(benches);
