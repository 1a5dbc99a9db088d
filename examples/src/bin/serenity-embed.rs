//! `serenity-embed`: an existing serenity bot with one command of its own (`/ping`) that adds
//! the Kaltura commands beside it. The Kaltura part is the few lines marked `// Kaltura:`.
//!
//! ```text
//! DISCORD_TOKEN=… serenity-embed [--guild ID]
//! ```
//!
//! Kaltura credentials come from the same configuration as `kaltura-bot` (`KD_CONFIG`,
//! `KD__KALTURA__PARTNER_ID`, `KD__KALTURA__ADMIN_SECRET`); without them the fake Kaltura
//! server runs in process with demo data. Data goes to `sqlite://data/serenity-embed.db`.

#[path = "../cli_io.rs"]
#[allow(dead_code)] // each binary uses a part of it
mod cli_io;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kaltura_client::Client as KalturaClient;
use kaltura_client::fake::FakeKaltura;
use kaltura_discord::adapters::serenity::{
    interaction_from_serenity, registration_to_serenity, response_to_serenity,
};
use kaltura_discord::commands::InteractionHandler as _;
use kaltura_discord::commands::definition;
use kaltura_discord::commands::engine::CommandEngine;
use kaltura_discord::config::{ConfigResolver, ConfigSources};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::store::SqlStore;
use secrecy::SecretString;
use serenity::all as s;

/// A serenity bot with its own `/ping` and the Kaltura commands.
#[derive(Debug, Parser)]
#[command(name = "serenity-embed", version, about)]
struct Args {
    /// The bot token.
    #[arg(long, env = "DISCORD_TOKEN", hide_env_values = true)]
    token: String,
    /// Register the commands in this guild (instant) instead of globally.
    #[arg(long)]
    guild: Option<kaltura_discord::GuildId>,
}

/// The host bot's own state, plus the Kaltura engine.
struct Bot {
    guild: Option<s::GuildId>,
    // Kaltura: the command engine answers the Kaltura commands.
    kaltura: Arc<CommandEngine>,
}

#[serenity::async_trait]
impl s::EventHandler for Bot {
    async fn ready(&self, ctx: s::Context, ready: s::Ready) {
        let mut commands = vec![s::CreateCommand::new("ping").description("Is the bot alive?")];
        // Kaltura: add our commands to the bot's own.
        match registration_to_serenity(&definition::commands()) {
            Ok(kaltura) => commands.extend(kaltura),
            Err(e) => tracing::error!(error = %e, "the Kaltura commands are invalid"),
        }
        let registered = match self.guild {
            Some(guild) => guild.set_commands(&ctx.http, commands).await,
            None => s::Command::set_global_commands(&ctx.http, commands).await,
        };
        match registered {
            Ok(list) => tracing::info!(user = %ready.user.name, commands = list.len(), "ready"),
            Err(e) => tracing::error!(error = %e, "registering commands failed"),
        }
    }

    async fn interaction_create(&self, ctx: s::Context, interaction: s::Interaction) {
        if let s::Interaction::Command(command) = &interaction
            && command.data.name == "ping"
        {
            let pong = s::CreateInteractionResponse::Message(
                s::CreateInteractionResponseMessage::new().content("pong"),
            );
            if let Err(e) = command.create_response(&ctx.http, pong).await {
                tracing::warn!(error = %e, "answering /ping failed");
            }
            return;
        }
        // Kaltura: everything else goes to the command engine.
        let (id, token) = match &interaction {
            s::Interaction::Command(c) | s::Interaction::Autocomplete(c) => (c.id, c.token.clone()),
            s::Interaction::Component(c) => (c.id, c.token.clone()),
            s::Interaction::Modal(m) => (m.id, m.token.clone()),
            _ => return,
        };
        let Ok(ours) = interaction_from_serenity(&interaction) else {
            return;
        };
        let response = response_to_serenity(&self.kaltura.respond(ours).await);
        if let Err(e) = ctx
            .http
            .create_interaction_response(id, &token, &response, Vec::new())
            .await
        {
            tracing::warn!(error = %e, "answering a Kaltura interaction failed");
        }
    }
}

/// Kaltura: the engine, from the configuration (or the fake Kaltura when none is set).
async fn kaltura_engine(token: &str) -> Result<(Arc<CommandEngine>, Option<FakeKaltura>), String> {
    let resolver = ConfigResolver::load(&ConfigSources::from_env(
        std::env::var_os("KD_CONFIG").map(Into::into),
        None,
    ))
    .map_err(|e| e.to_string())?;
    let process = resolver.process().config().clone();
    let (account, fake) = match (&process.kaltura.partner_id, &process.kaltura.admin_secret) {
        (Some(partner), Some(secret)) => {
            let client = KalturaClient::builder()
                .service_url(process.kaltura.service_url.as_str())
                .partner_id(*partner)
                .admin_secret(secret.clone())
                .build()
                .map_err(|e| e.to_string())?;
            (
                KalturaAccount::new(client, secret).map_err(|e| e.to_string())?,
                None,
            )
        }
        _ => {
            let fake = FakeKaltura::builder()
                .seed_demo_data(true)
                .start()
                .await
                .map_err(|e| e.to_string())?;
            let secret = fake.admin_secret().clone();
            let client = KalturaClient::builder()
                .service_url(fake.url())
                .partner_id(fake.partner_id())
                .admin_secret(secret.clone())
                .build()
                .map_err(|e| e.to_string())?;
            let account = KalturaAccount::new(client, &secret)
                .and_then(|a| a.with_media_base(fake.url()))
                .map_err(|e| e.to_string())?;
            (account, Some(fake))
        }
    };
    let store = Arc::new(
        SqlStore::sqlite(std::path::Path::new("data/serenity-embed.db"))
            .await
            .map_err(|e| e.to_string())?,
    );
    let rest =
        kaltura_discord::rest::twilight::TwilightRest::new(SecretString::from(token.to_owned()))
            .map_err(|e| e.to_string())?;
    let engine = CommandEngine::builder()
        .resolver(Arc::new(resolver.with_store(store.clone())))
        .account(account)
        .stores(store)
        .rest(Arc::new(rest))
        .build()
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(engine), fake))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match cli_io::parse::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    // twilight-http records interaction tokens in its request paths below `error`.
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for directive in ["twilight_http=error", "twilight_http_ratelimiting=error"] {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
    let (kaltura, _fake) = match kaltura_engine(&args.token).await {
        Ok(k) => k,
        Err(e) => {
            cli_io::err_line(&format!("serenity-embed: Kaltura: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let bot = Bot {
        guild: args.guild.map(|g| s::GuildId::new(g.get())),
        kaltura,
    };
    let client = s::Client::builder(&args.token, s::GatewayIntents::empty())
        .event_handler(bot)
        .await;
    match client {
        Ok(mut client) => match client.start().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                cli_io::err_line(&format!("serenity-embed: {e}"));
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            cli_io::err_line(&format!("serenity-embed: {e}"));
            ExitCode::FAILURE
        }
    }
}
