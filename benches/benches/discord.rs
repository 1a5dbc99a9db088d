//! kaltura-discord hot paths: per-guild configuration resolution and `authorize`.
//!
//! Targets (issue 5): cached resolution under 1 µs, `authorize` under 200 ns.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kaltura_discord::GuildId;
use kaltura_discord::config::{ConfigResolver, ConfigSources};
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

criterion_group!(benches, config, rbac);
criterion_main!(benches);
