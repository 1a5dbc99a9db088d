//! The command engine as the benchmarks and the load-test server run it: an in-process
//! fake Kaltura (demo data), a `MemoryStore`, the default configuration and a Discord REST
//! stand-in that only counts what it is asked to send. Shared (through `#[path]`) by
//! `benches/benches/commands.rs` and `benches/examples/commands_server.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use kaltura_client::Client;
use kaltura_client::fake::FakeKaltura;
use kaltura_discord::commands::definition::Registration;
use kaltura_discord::commands::{CommandEngine, InteractionToken, Reply};
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::rest::{
    DiscordRest, EventClosure, RegisteredCommand, ScheduledEventSpec, WebhookUrl,
};
use kaltura_discord::store::MemoryStore;
use kaltura_discord::{ApplicationId, ChannelId, GuildId, MessageId, ScheduledEventId};

/// A Discord REST that sends nothing and counts the calls (a deferred reply's edit is one).
#[derive(Debug, Default)]
pub(crate) struct CountingRest {
    calls: AtomicU64,
}

impl CountingRest {
    /// Calls so far (edits of deferred replies, follow-ups, anything else).
    #[allow(dead_code)]
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

fn some<T>(id: Option<T>) -> T {
    id.unwrap_or_else(|| panic!("a fixed non-zero id"))
}

#[async_trait]
impl DiscordRest for CountingRest {
    async fn edit_original(
        &self,
        _: ApplicationId,
        _: &InteractionToken,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        self.count();
        Ok(())
    }
    async fn create_followup(
        &self,
        _: ApplicationId,
        _: &InteractionToken,
        _: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        self.count();
        Ok(some(MessageId::new(1)))
    }
    async fn list_commands(
        &self,
        _: ApplicationId,
        _: Option<GuildId>,
    ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
        self.count();
        Ok(Vec::new())
    }
    async fn register_commands(
        &self,
        _: ApplicationId,
        _: Option<GuildId>,
        _: &Registration,
    ) -> kaltura_discord::Result<Vec<RegisteredCommand>> {
        self.count();
        Ok(Vec::new())
    }
    async fn create_scheduled_event(
        &self,
        _: GuildId,
        _: &ScheduledEventSpec,
    ) -> kaltura_discord::Result<ScheduledEventId> {
        self.count();
        Ok(some(ScheduledEventId::new(1)))
    }
    async fn close_scheduled_event(
        &self,
        _: GuildId,
        _: ScheduledEventId,
        _: EventClosure,
    ) -> kaltura_discord::Result<()> {
        self.count();
        Ok(())
    }
    async fn create_message(&self, _: ChannelId, _: &Reply) -> kaltura_discord::Result<MessageId> {
        self.count();
        Ok(some(MessageId::new(1)))
    }
    async fn edit_message(
        &self,
        _: ChannelId,
        _: MessageId,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        self.count();
        Ok(())
    }
    async fn execute_webhook(
        &self,
        _: &WebhookUrl,
        _: &Reply,
    ) -> kaltura_discord::Result<MessageId> {
        self.count();
        Ok(some(MessageId::new(1)))
    }
    async fn edit_webhook_message(
        &self,
        _: &WebhookUrl,
        _: MessageId,
        _: &Reply,
    ) -> kaltura_discord::Result<()> {
        self.count();
        Ok(())
    }
}

/// The engine and what it runs on; keep it alive as long as the engine is used.
pub(crate) struct Fixture {
    /// The fake Kaltura server (stops when dropped).
    #[allow(dead_code)]
    pub(crate) fake: FakeKaltura,
    /// The engine.
    pub(crate) engine: Arc<CommandEngine>,
    /// The REST stand-in the engine sends deferred replies to.
    #[allow(dead_code)]
    pub(crate) rest: Arc<CountingRest>,
}

/// Starts the fake Kaltura on the current runtime and builds the engine over it.
pub(crate) async fn fixture() -> Fixture {
    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .unwrap_or_else(|e| panic!("fake Kaltura: {e}"));
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(fake.admin_secret().clone())
        .build()
        .unwrap_or_else(|e| panic!("Kaltura client: {e}"));
    let account = KalturaAccount::new(client, fake.admin_secret())
        .and_then(|a| a.with_media_base(fake.url()))
        .unwrap_or_else(|e| panic!("Kaltura account: {e}"));
    let store = Arc::new(MemoryStore::new());
    let resolver = Arc::new(
        ConfigResolver::load(&ConfigSources::defaults_only())
            .unwrap_or_else(|e| panic!("configuration: {e}"))
            .with_store(store.clone()),
    );
    let rest = Arc::new(CountingRest::default());
    let engine = CommandEngine::builder()
        .resolver(resolver)
        .account(account)
        .stores(store)
        .rest(rest.clone())
        .build()
        .unwrap_or_else(|e| panic!("engine: {e}"));
    Fixture {
        fake,
        engine: Arc::new(engine),
        rest,
    }
}

/// The §1.7 interaction of the Discord reference notes (`/kaltura search`, a member with
/// two roles), with `options` as the options of its `kaltura` command.
pub(crate) fn interaction_body(options: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "app_permissions": "2147601408",
        "application_id": "1234567890123456789",
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": { "0": "987654321098765432" },
        "channel": {
            "flags": 0, "guild_id": "987654321098765432", "id": "1122334455667788990",
            "last_message_id": null, "name": "media-announcements", "nsfw": false, "parent_id": null,
            "permissions": "2147601440", "position": 3, "rate_limit_per_user": 0, "topic": null, "type": 0
        },
        "channel_id": "1122334455667788990",
        "context": 0,
        "data": { "id": "1300000000000000001", "name": "kaltura", "type": 1, "options": options },
        "entitlements": [],
        "guild": { "features": [], "id": "987654321098765432", "locale": "en-US" },
        "guild_id": "987654321098765432",
        "guild_locale": "en-US",
        "id": "1311111111111111111",
        "locale": "en-GB",
        "member": {
            "avatar": null, "banner": null, "communication_disabled_until": null, "deaf": false,
            "flags": 0, "joined_at": "2023-04-12T09:30:15.123000+00:00", "mute": false,
            "nick": "Dana (Media Team)", "pending": false,
            "permissions": "2147601440",
            "premium_since": null,
            "roles": ["1200000000000000010", "1200000000000000011"],
            "unusual_dm_activity_until": null,
            "user": {
                "avatar": null, "avatar_decoration_data": null, "clan": null, "collectibles": null,
                "discriminator": "0", "global_name": "Dana", "id": "555555555555555555",
                "primary_guild": null, "public_flags": 0, "username": "dana.m"
            }
        },
        "token": "aW50ZXJhY3Rpb246MTMxMTExMTExMTExMTExMTExMTpSRURBQ1RFRA",
        "type": 2,
        "version": 1
    })
}

/// The options of `/kaltura video search query:<query>`.
pub(crate) fn video_search_options(query: &str) -> serde_json::Value {
    serde_json::json!([{
        "name": "video", "type": 2,
        "options": [{"name": "search", "type": 1, "options": [
            {"name": "query", "type": 3, "value": query}
        ]}]
    }])
}
