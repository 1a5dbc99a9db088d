//! What every mode shares: configuration, the Kaltura account (real, or the fake in
//! process), the store, the Discord REST client and the command engine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use kaltura_client::Client;
use kaltura_client::fake::FakeKaltura;
use kaltura_discord::commands::definition;
use kaltura_discord::commands::engine::CommandEngine;
use kaltura_discord::config::{ConfigResolver, ConfigSources, ProcessConfig};
use kaltura_discord::context::KalturaAccount;
use kaltura_discord::http::{DiscordPublicKey, InteractionsEndpoint};
use kaltura_discord::rest::DiscordRest;
use kaltura_discord::rest::twilight::TwilightRest;
use kaltura_discord::store::SqlStore;
use kaltura_discord::{ApplicationId, GuildId};
use secrecy::SecretString;

/// Where the configuration comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    pub(crate) config: Option<PathBuf>,
    pub(crate) guild_dir: Option<PathBuf>,
}

impl Sources {
    pub(crate) fn config_sources(&self) -> ConfigSources {
        ConfigSources::from_env(self.config.clone(), self.guild_dir.clone())
    }
}

/// Logs to standard error; `RUST_LOG` picks the level (default `info`, `warn` for
/// dependencies' chatter). twilight-http records interaction and webhook tokens in its
/// request paths at DEBUG (and INFO on retries), so its targets are always held at `error`,
/// whatever `RUST_LOG` says.
pub(crate) fn init_tracing() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,hyper=warn"));
    for directive in ["twilight_http=error", "twilight_http_ratelimiting=error"] {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}

pub(crate) fn load_resolver(sources: &ConfigSources) -> Result<ConfigResolver, String> {
    ConfigResolver::load(sources).map_err(|e| format!("configuration: {e}"))
}

/// Whether a bot token is configured (the default mode is then the gateway).
pub(crate) fn has_discord_token(sources: &Sources) -> Result<bool, String> {
    let resolver = load_resolver(&sources.config_sources())?;
    Ok(resolver.process().config().discord.token.is_some())
}

/// The Kaltura account: the configured partner, or the fake Kaltura server in process
/// (kept alive by the returned handle) when no credentials are configured.
pub(crate) async fn kaltura_account(
    process: &ProcessConfig,
) -> Result<(KalturaAccount, Option<FakeKaltura>), String> {
    match (&process.kaltura.partner_id, &process.kaltura.admin_secret) {
        (Some(partner_id), Some(secret)) => {
            let client = Client::builder()
                .service_url(process.kaltura.service_url.as_str())
                .partner_id(*partner_id)
                .admin_secret(secret.clone())
                .build()
                .map_err(|e| format!("Kaltura client: {e}"))?;
            let account =
                KalturaAccount::new(client, secret).map_err(|e| format!("Kaltura account: {e}"))?;
            Ok((account, None))
        }
        _ => {
            let fake = FakeKaltura::builder()
                .seed_demo_data(true)
                .start()
                .await
                .map_err(|e| format!("cannot start the fake Kaltura server: {e}"))?;
            let account = fake_account(&fake)?;
            Ok((account, Some(fake)))
        }
    }
}

/// An account on a running fake Kaltura server.
pub(crate) fn fake_account(fake: &FakeKaltura) -> Result<KalturaAccount, String> {
    let secret: SecretString = fake.admin_secret().clone();
    let client = Client::builder()
        .service_url(fake.url())
        .partner_id(fake.partner_id())
        .admin_secret(secret.clone())
        .build()
        .map_err(|e| format!("Kaltura client: {e}"))?;
    KalturaAccount::new(client, &secret)
        .and_then(|a| a.with_media_base(fake.url()))
        .map_err(|e| format!("Kaltura account: {e}"))
}

/// The store at `url`.
pub(crate) async fn store(url: &str) -> Result<Arc<SqlStore>, String> {
    SqlStore::connect(url)
        .await
        .map(Arc::new)
        .map_err(|e| format!("database: {e}"))
}

/// The Discord REST client: Discord itself, or `base_url` (a fake) when given.
pub(crate) fn rest(
    token: Option<&SecretString>,
    base_url: Option<&str>,
) -> Result<Arc<dyn DiscordRest>, String> {
    let token = token
        .cloned()
        .unwrap_or_else(|| SecretString::from("no-bot-token".to_owned()));
    let mut builder = TwilightRest::builder(token);
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    let rest = builder
        .build()
        .map_err(|e| format!("Discord REST client: {e}"))?;
    Ok(Arc::new(rest))
}

/// The engine over a resolver, account, store and REST client.
pub(crate) fn engine(
    resolver: Arc<ConfigResolver>,
    account: KalturaAccount,
    store: Arc<SqlStore>,
    rest: Arc<dyn DiscordRest>,
) -> Result<Arc<CommandEngine>, String> {
    let public_url = resolver.process().config().http.gateway_public_url.clone();
    let mut builder = CommandEngine::builder()
        .resolver(resolver)
        .account(account)
        .stores(store.clone())
        .notifications(store)
        .rest(rest);
    // `/kaltura link` sends members to the gateway's identity-proof page when it runs.
    if let Some(url) = public_url {
        builder = builder
            .identity_page_base(&url)
            .map_err(|e| format!("http.gateway_public_url: {e}"))?;
    }
    builder
        .build()
        .map(Arc::new)
        .map_err(|e| format!("command engine: {e}"))
}

/// The registration JSON, pretty-printed.
pub(crate) fn registration_pretty() -> Result<String, String> {
    let registration = definition::commands_json().map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(registration.as_json())
        .map_err(|e| format!("registration JSON: {e}"))?;
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

fn application_id(process: &ProcessConfig) -> Result<ApplicationId, String> {
    let raw = process.discord.application_id.as_deref().ok_or(
        "discord.application_id is not configured (KD__DISCORD__APPLICATION_ID or the config file)",
    )?;
    raw.parse::<ApplicationId>()
        .map_err(|e| format!("discord.application_id: {e}"))
}

/// Everything a Discord-facing mode needs.
pub(crate) struct Live {
    pub(crate) process: ProcessConfig,
    pub(crate) engine: Arc<CommandEngine>,
    pub(crate) rest: Arc<dyn DiscordRest>,
    /// Keeps the in-process fake Kaltura alive, when one is used.
    pub(crate) _fake: Option<FakeKaltura>,
}

/// Builds the engine from the configuration, for the `http` and `gateway` modes.
pub(crate) async fn live(sources: &Sources) -> Result<Live, String> {
    let config_sources = sources.config_sources();
    let resolver = load_resolver(&config_sources)?;
    let process = resolver.process().config().clone();
    let token = process.discord.token.clone().ok_or(
        "discord.token is not configured (KD__DISCORD__TOKEN); without it, run `kaltura-bot dev`",
    )?;
    let store = store(process.database.url.expose_secret()).await?;
    let resolver = Arc::new(resolver.with_store(store.clone()));
    let (account, fake) = kaltura_account(&process).await?;
    if let Some(fake) = &fake {
        tracing::warn!(
            url = fake.url(),
            "no Kaltura credentials configured: using the fake Kaltura server with demo data"
        );
    }
    let rest = rest(
        Some(&token),
        std::env::var("KD_DISCORD_API_URL").ok().as_deref(),
    )?;
    let engine = engine(resolver, account, store, rest.clone())?;
    Ok(Live {
        process,
        engine,
        rest,
        _fake: fake,
    })
}

/// `kaltura-bot http`: the interactions endpoint until Ctrl-C or SIGTERM.
pub(crate) async fn serve_http(sources: &Sources, listen: SocketAddr) -> Result<(), String> {
    let live = live(sources).await?;
    let key_hex = live.process.discord.public_key.as_deref().ok_or(
        "discord.public_key is not configured (KD__DISCORD__PUBLIC_KEY): the application's public key from the Developer Portal",
    )?;
    let key =
        DiscordPublicKey::from_hex(key_hex).map_err(|e| format!("discord.public_key: {e}"))?;
    let router = InteractionsEndpoint::new(live.engine.clone(), key).build();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, "interactions endpoint listening at http://{addr}/interactions");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server: {e}"))
}

/// `kaltura-bot register`: pushes the definitions and prints what changed.
pub(crate) async fn register(sources: &Sources, guild: Option<GuildId>) -> Result<(), String> {
    let resolver = load_resolver(&sources.config_sources())?;
    let process = resolver.process().config().clone();
    let token = process
        .discord
        .token
        .clone()
        .ok_or("discord.token is not configured (KD__DISCORD__TOKEN)")?;
    let app = application_id(&process)?;
    let rest = rest(
        Some(&token),
        std::env::var("KD_DISCORD_API_URL").ok().as_deref(),
    )?;
    let text = push_commands(rest.as_ref(), app, guild).await?;
    crate::cli_io::out(&text)
}

/// Registers the commands and describes the change, e.g. `added: kaltura-admin`.
pub(crate) async fn push_commands(
    rest: &dyn DiscordRest,
    app: ApplicationId,
    guild: Option<GuildId>,
) -> Result<String, String> {
    let registration = definition::commands_json().map_err(|e| e.to_string())?;
    let before = rest
        .list_commands(app, guild)
        .await
        .map_err(|e| format!("listing the registered commands: {e}"))?;
    let after = rest
        .register_commands(app, guild, &registration)
        .await
        .map_err(|e| format!("registering the commands: {e}"))?;
    let names = |list: &[kaltura_discord::rest::RegisteredCommand]| -> Vec<String> {
        let mut names: Vec<String> = list.iter().map(|c| c.name.clone()).collect();
        names.sort();
        names
    };
    let (before, after) = (names(&before), names(&after));
    let added: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
    let removed: Vec<&String> = before.iter().filter(|n| !after.contains(n)).collect();
    let kept: Vec<&String> = after.iter().filter(|n| before.contains(n)).collect();
    let scope = match guild {
        Some(g) => format!("in guild {g}"),
        None => "globally".to_owned(),
    };
    let list = |v: &[&String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.iter()
                .map(|s| format!("/{s}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    Ok(format!(
        "registered {} command(s) {scope}\n  added:   {}\n  updated: {}\n  removed: {}\n",
        after.len(),
        list(&added),
        list(&kept),
        list(&removed)
    ))
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
