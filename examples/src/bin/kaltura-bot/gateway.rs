//! `kaltura-bot gateway`: a serenity gateway connection whose interactions go through the
//! command layer. Intents: none (interactions arrive without any); the shard count and
//! this process's shard range come from `discord.shards` in the configuration, so several
//! replicas share one application through Discord's own sharding.

use std::sync::Arc;

use kaltura_discord::adapters::serenity::{interaction_from_serenity, response_to_serenity};
use kaltura_discord::commands::engine::CommandEngine;
use kaltura_discord::commands::{InteractionHandler as _, InteractionResponse, Reply};
use kaltura_discord::rest::DiscordRest;
use kaltura_discord::{ApplicationId, GuildId};
use secrecy::ExposeSecret as _;
use serenity::all as s;

use crate::setup::{self, Sources};

struct Handler {
    engine: Arc<CommandEngine>,
    rest: Arc<dyn DiscordRest>,
    register_in: Option<GuildId>,
}

#[serenity::async_trait]
impl s::EventHandler for Handler {
    async fn ready(&self, _ctx: s::Context, ready: s::Ready) {
        let shard = ready.shard.map(|s| s.id.0).unwrap_or(0);
        tracing::info!(user = %ready.user.name, shard, guilds = ready.guilds.len(), "connected to Discord");
        // One shard registers the commands; the others only answer.
        if shard != 0 {
            return;
        }
        let Some(app) = ApplicationId::new(ready.application.id.get()) else {
            return;
        };
        match setup::push_commands(self.rest.as_ref(), app, self.register_in).await {
            Ok(summary) => tracing::info!(summary = %summary.trim(), "commands registered"),
            Err(e) => tracing::error!(error = %e, "registering the commands failed"),
        }
    }

    async fn interaction_create(&self, ctx: s::Context, interaction: s::Interaction) {
        let (id, token) = match &interaction {
            s::Interaction::Command(c) | s::Interaction::Autocomplete(c) => (c.id, c.token.clone()),
            s::Interaction::Component(c) => (c.id, c.token.clone()),
            s::Interaction::Modal(m) => (m.id, m.token.clone()),
            _ => return,
        };
        let response = match interaction_from_serenity(&interaction) {
            Ok(ours) => self.engine.respond(ours).await,
            Err(e) => {
                tracing::warn!(error = %e, "an interaction the command layer cannot use");
                InteractionResponse::Message(
                    Reply::text("Sorry, this bot does not understand that interaction.")
                        .ephemeral(),
                )
            }
        };
        let body = response_to_serenity(&response);
        if let Err(e) = ctx
            .http
            .create_interaction_response(id, &token, &body, Vec::new())
            .await
        {
            tracing::warn!(error = %e, interaction = %id, "answering the interaction failed");
        }
    }
}

pub(crate) async fn run(sources: &Sources) -> Result<(), String> {
    let live = setup::live(sources).await?;
    let discord = &live.process.discord;
    let token = discord
        .token
        .clone()
        .ok_or("discord.token is not configured (KD__DISCORD__TOKEN)")?;
    let handler = Handler {
        engine: live.engine.clone(),
        rest: live.rest.clone(),
        register_in: discord.dev_guild_id,
    };
    let mut client = s::Client::builder(token.expose_secret(), s::GatewayIntents::empty())
        .event_handler(handler)
        .await
        .map_err(|e| format!("Discord client: {e}"))?;
    let shard_manager = client.shard_manager.clone();
    tokio::spawn(async move {
        setup::shutdown_signal().await;
        shard_manager.shutdown_all().await;
    });
    let started = match &discord.shards {
        Some(shards) => {
            tracing::info!(
                first = shards.first,
                last = shards.last,
                total = shards.total,
                "starting shards"
            );
            client
                .start_shard_range(shards.first..shards.last + 1, shards.total)
                .await
        }
        None => client.start_autosharded().await,
    };
    started.map_err(|e| format!("Discord gateway: {e}"))
}
