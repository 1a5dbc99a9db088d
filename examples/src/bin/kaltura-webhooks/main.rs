//! `kaltura-webhooks`: Kaltura event notifications → a durable outbox → Discord.
//!
//! ```text
//! kaltura-webhooks serve [--listen ADDR] [--workers N] [--no-deliver | --deliver-only]
//! kaltura-webhooks setup --public-url URL [--check]
//! kaltura-webhooks backfill --since 24h|UNIX|RFC3339
//! kaltura-webhooks replay --guild ID --delivery ID
//! ```
//!
//! Configuration as for `kaltura-bot`: `--config FILE` (or `KD_CONFIG`), `KD__…` environment
//! variables, see `config/README.md`. `serve` listens on `http.webhooks_listen`, keeps the
//! outbox in `database.url` (SQLite in WAL mode by default; a `postgres://` URL to run
//! several processes on one database) and posts as the bot (`discord.token`;
//! `KD_DISCORD_API_URL` points it at another base URL, e.g. a local fake).

#[path = "../../cli_io.rs"]
#[allow(dead_code)] // each binary uses a part of it
mod cli_io;
#[path = "../kaltura-bot/setup.rs"]
#[allow(dead_code)] // the bot's modes are not all used here
mod setup;

mod serve;
mod since;
mod waking;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kaltura_discord::GuildId;

/// Kaltura event notifications delivered to Discord.
#[derive(Debug, Parser)]
#[command(name = "kaltura-webhooks", version, about)]
struct Cli {
    /// The process configuration file (JSON or TOML).
    #[arg(long, global = true, env = "KD_CONFIG")]
    config: Option<PathBuf>,
    /// The folder of guild override files (`{guild_id}.json`).
    #[arg(long, global = true, env = "KD_GUILD_DIR")]
    guild_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive notifications, route them and deliver them until Ctrl-C or SIGTERM.
    Serve(serve::ServeArgs),
    /// Create (or repair) the HTTP notification templates in Kaltura.
    Setup {
        /// The public base URL of this server (`https://hooks.example.org`); Kaltura posts to
        /// `{URL}/webhooks/kaltura/{partner_id}`.
        #[arg(long)]
        public_url: String,
        /// Only report drift; exit status 1 when there is any.
        #[arg(long)]
        check: bool,
    },
    /// Queue what changed in Kaltura since a time (missed while the server was down).
    Backfill {
        /// `24h`, `90m`, `7d`, unix seconds or an RFC 3339 time (`2026-01-01T00:00:00Z`).
        #[arg(long)]
        since: String,
    },
    /// Re-queue a dead-lettered delivery of a guild.
    Replay {
        /// The guild.
        #[arg(long)]
        guild: GuildId,
        /// The delivery id (`/kaltura-admin notify history` shows it).
        #[arg(long)]
        delivery: i64,
    },
}

fn main() -> ExitCode {
    let cli = match cli_io::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    setup::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            cli_io::err_line(&format!(
                "kaltura-webhooks: cannot start the async runtime: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            cli_io::err_line(&format!("kaltura-webhooks: {e}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let sources = setup::Sources {
        config: cli.config,
        guild_dir: cli.guild_dir,
    };
    match cli.command {
        Command::Serve(args) => serve::serve(&sources, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Setup { public_url, check } => {
            serve::setup_templates(&sources, &public_url, check).await
        }
        Command::Backfill { since } => {
            let now = since::now();
            let since = since::parse(&since, now)?;
            serve::backfill_once(&sources, since, now)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Replay { guild, delivery } => serve::replay(&sources, guild, delivery).await,
    }
}
