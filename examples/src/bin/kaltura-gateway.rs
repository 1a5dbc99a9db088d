//! `kaltura-gateway`: the REST API gateway (meetings, videos, configuration, audit log).
//!
//! ```text
//! kaltura-gateway [--listen ADDR] [--config FILE]    # serve (SQLite by default)
//! kaltura-gateway --print-openapi                    # the OpenAPI document, to stdout
//! kaltura-gateway --issue-token USER_ID GUILD_ID [--role ROLE_ID]…   # a dev token, to stdout
//! ```
//!
//! Configuration comes from the process configuration file (`--config` or `KD_CONFIG`) and
//! `KD__…` environment variables, like `kaltura-bot`; without Kaltura credentials the gateway
//! runs on the fake Kaltura server in process, with demo data. The JWT signing key is a
//! secret from the environment: `KD_GATEWAY_JWT_SECRET` (at least 32 bytes; key id
//! `KD_GATEWAY_JWT_KID`, default `gateway-1`); keys from the configuration's `jwt.keys`
//! verify too. CORS: `KD_GATEWAY_CORS_ORIGINS` (comma-separated origins) and
//! `KD_GATEWAY_CORS_CREDENTIALS=true`.
//!
//! Signing in with Discord (`/api/v1/auth/…`) and the identity-proof page (`/link`) work when
//! `http.gateway_public_url`, `discord.application_id` and `discord.client_secret` are set
//! (`KD__HTTP__GATEWAY_PUBLIC_URL`, `KD__DISCORD__APPLICATION_ID`,
//! `KD__DISCORD__CLIENT_SECRET`); register `{public url}/api/v1/auth/discord/callback` as a
//! redirect in the Discord developer portal. `KD_DISCORD_OAUTH_URL` points the login at
//! another Discord (a fake one, for tests).
//!
//! With a bot token (`discord.token`, `KD__DISCORD__TOKEN`), meetings started and ended
//! through the API are mirrored as Discord scheduled events like the bot's, for guilds that
//! set `meetings.discord_events`; `KD_DISCORD_API_URL` points the REST client at another
//! Discord (a fake one, for tests).

#[path = "../cli_io.rs"]
#[allow(dead_code)] // each binary uses a part of it
mod cli_io;
#[path = "kaltura-bot/setup.rs"]
#[allow(dead_code)] // the bot's modes are not used here
mod setup;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use kaltura_discord::auth::{JwtAuthority, JwtKey, TokenSubject};
use kaltura_discord::config::{ConfigResolver, ConfigSources, ProcessConfig};
use kaltura_discord::gateway::oauth::{DiscordEndpoints, DiscordOAuth, OAuthConfig};
use kaltura_discord::gateway::sessions::Sessions;
use kaltura_discord::http::gateway::openapi::openapi_json;
use kaltura_discord::http::gateway::{
    CorsOptions, DiscordSignIn, Gateway, GatewayOptions, RateLimits,
};
use kaltura_discord::store::SqlStore;
use kaltura_discord::{ApplicationId, DiscordUserId, GuildId, RoleId};
use secrecy::SecretString;

/// The REST API gateway of kaltura-discord.
#[derive(Debug, Parser)]
#[command(name = "kaltura-gateway", version, about)]
struct Cli {
    /// Address to listen on (default: the configuration's `http.gateway_listen`).
    #[arg(long, env = "KD_GATEWAY_LISTEN")]
    listen: Option<SocketAddr>,
    /// The process configuration file (JSON or TOML).
    #[arg(long, env = "KD_CONFIG")]
    config: Option<PathBuf>,
    /// The folder of guild override files (`{guild_id}.json`).
    #[arg(long, env = "KD_GUILD_DIR")]
    guild_dir: Option<PathBuf>,
    /// Requests per minute per client IP and per token (0: no limit).
    #[arg(long, env = "KD_GATEWAY_RATE_PER_MINUTE", default_value_t = 600)]
    rate_per_minute: u32,
    /// Print the OpenAPI document and exit.
    #[arg(long)]
    print_openapi: bool,
    /// Print a token for USER_ID in GUILD_ID (with the `--role`s) and exit (development).
    #[arg(long, num_args = 2, value_names = ["USER_ID", "GUILD_ID"])]
    issue_token: Option<Vec<String>>,
    /// A role id for `--issue-token` (repeatable).
    #[arg(long = "role")]
    roles: Vec<RoleId>,
}

fn main() -> ExitCode {
    let cli = match cli_io::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if cli.print_openapi {
        return cli_io::finish(cli_io::out(&openapi_json()).map(|()| ExitCode::SUCCESS));
    }
    setup::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            cli_io::err_line(&format!(
                "kaltura-gateway: cannot start the async runtime: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    cli_io::finish(runtime.block_on(run(cli)).map(|()| ExitCode::SUCCESS))
}

/// The token authority: the environment's key signs, configured keys verify too.
fn authority(process: &ProcessConfig) -> Result<JwtAuthority, String> {
    let mut keys = Vec::new();
    if let Ok(secret) = std::env::var("KD_GATEWAY_JWT_SECRET") {
        let kid = std::env::var("KD_GATEWAY_JWT_KID").unwrap_or_else(|_| "gateway-1".into());
        keys.push(
            JwtKey::new(kid, SecretString::from(secret))
                .map_err(|e| format!("KD_GATEWAY_JWT_SECRET: {e}"))?,
        );
    }
    for key in &process.jwt.keys {
        keys.push(
            JwtKey::new(key.kid.clone(), key.secret.clone())
                .map_err(|e| format!("jwt.keys: {e}"))?,
        );
    }
    if keys.is_empty() {
        return Err(
            "no JWT key: set KD_GATEWAY_JWT_SECRET (at least 32 bytes) or jwt.keys in the configuration"
                .into(),
        );
    }
    JwtAuthority::new(
        keys,
        process.jwt.audience.clone(),
        Duration::from_secs(u64::from(process.jwt.ttl_seconds)),
    )
    .map_err(|e| format!("JWT: {e}"))
}

fn issue(authority: &JwtAuthority, ids: &[String], roles: Vec<RoleId>) -> Result<(), String> {
    let [user, guild] = ids else {
        return Err("--issue-token takes USER_ID GUILD_ID".into());
    };
    let user: DiscordUserId = user.parse().map_err(|e| format!("USER_ID: {e}"))?;
    let guild: GuildId = guild.parse().map_err(|e| format!("GUILD_ID: {e}"))?;
    let token = authority
        .issue(&TokenSubject { user, guild, roles })
        .map_err(|e| format!("cannot issue the token: {e}"))?;
    cli_io::out(&format!("{}\n", token.expose()))
}

/// How often expired logins and sessions are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(300);

/// Signing in with Discord, when the configuration has what it needs; an error when it has
/// only part of it.
fn discord_sign_in(
    process: &ProcessConfig,
    store: &Arc<SqlStore>,
) -> Result<Option<DiscordSignIn>, String> {
    let public = process.http.gateway_public_url.as_deref();
    let id = process.discord.application_id.as_deref();
    let secret = process.discord.client_secret.clone();
    let (public, id, secret) = match (public, id, secret) {
        (None, _, None) => return Ok(None),
        (Some(public), Some(id), Some(secret)) => (public, id, secret),
        _ => {
            return Err("the Discord login needs http.gateway_public_url, discord.application_id and discord.client_secret together".into());
        }
    };
    let client_id: ApplicationId = id
        .parse()
        .map_err(|e| format!("discord.application_id: {e}"))?;
    let redirect_uri = url::Url::parse(public)
        .and_then(|u| u.join("/api/v1/auth/discord/callback"))
        .map_err(|e| format!("http.gateway_public_url: {e}"))?;
    let endpoints = match std::env::var("KD_DISCORD_OAUTH_URL") {
        Ok(base) => {
            DiscordEndpoints::under(&base).map_err(|e| format!("KD_DISCORD_OAUTH_URL: {e}"))?
        }
        Err(_) => DiscordEndpoints::default(),
    };
    let oauth = DiscordOAuth::new(
        OAuthConfig {
            client_id,
            client_secret: secret,
            redirect_uri,
            endpoints,
        },
        store.clone(),
    )
    .map_err(|e| format!("Discord login: {e}"))?;
    let sessions = Sessions::new(store.clone());
    Ok(Some(DiscordSignIn::new(oauth, sessions)))
}

/// Deletes expired pending logins and sessions now and then.
fn spawn_purge(sign_in: DiscordSignIn) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            match sign_in.oauth().purge_expired().await {
                Ok(n) if n > 0 => tracing::debug!(purged = n, "expired logins deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not delete expired logins"),
            }
            match sign_in.sessions().purge().await {
                Ok(n) if n > 0 => tracing::debug!(purged = n, "ended sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not delete ended sessions"),
            }
        }
    });
}

fn options(rate_per_minute: u32) -> Result<GatewayOptions, String> {
    let mut options = GatewayOptions::default();
    let rate = (rate_per_minute > 0).then_some(rate_per_minute);
    options.rate_limits = RateLimits::new(rate, rate, (rate_per_minute / 10).max(1));
    if let Ok(origins) = std::env::var("KD_GATEWAY_CORS_ORIGINS") {
        let list: Vec<String> = origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        let credentials = std::env::var("KD_GATEWAY_CORS_CREDENTIALS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        options.cors = CorsOptions::origins(list).credentials(credentials);
    }
    Ok(options)
}

async fn run(cli: Cli) -> Result<(), String> {
    let sources = ConfigSources::from_env(cli.config.clone(), cli.guild_dir.clone());
    let resolver = ConfigResolver::load(&sources).map_err(|e| format!("configuration: {e}"))?;
    let process = resolver.process();
    let process = process.config();
    let authority = authority(process)?;
    if let Some(ids) = &cli.issue_token {
        return issue(&authority, ids, cli.roles);
    }
    let store = Arc::new(
        SqlStore::connect(process.database.url.expose_secret())
            .await
            .map_err(|e| format!("database: {e}"))?,
    );
    let (account, fake) = setup::kaltura_account(process).await?;
    if let Some(fake) = &fake {
        tracing::info!(url = %fake.url(), "no Kaltura credentials configured: using the fake Kaltura server with demo data");
    }
    let listen = cli.listen.unwrap_or(process.http.gateway_listen);
    let sign_in = discord_sign_in(process, &store)?;
    let resolver = Arc::new(resolver.with_store(store.clone()));
    let mut builder = Gateway::builder()
        .resolver(resolver)
        .account(account)
        .stores(store.clone())
        .authority(Arc::new(authority))
        .options(options(cli.rate_per_minute)?);
    match sign_in {
        Some(sign_in) => {
            spawn_purge(sign_in.clone());
            builder = builder.discord_login(sign_in);
        }
        None => tracing::info!(
            "no Discord login (set http.gateway_public_url, discord.application_id and discord.client_secret)"
        ),
    }
    match &process.discord.token {
        Some(token) => {
            let rest = setup::rest(
                Some(token),
                std::env::var("KD_DISCORD_API_URL").ok().as_deref(),
            )?;
            builder = builder.rest(rest);
        }
        None => tracing::info!(
            "no discord.token: meetings are not mirrored as Discord scheduled events"
        ),
    }
    let gateway = builder.build().map_err(|e| format!("gateway: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!(%local, "kaltura-gateway listening; OpenAPI at /api/v1/openapi.json");
    cli_io::out(&format!("kaltura-gateway listening on http://{local}\n"))?;
    axum::serve(
        listener,
        gateway
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server: {e}"))?;
    store.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
