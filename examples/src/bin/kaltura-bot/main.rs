//! `kaltura-bot`: Kaltura media, search and meetings in Discord.
//!
//! ```text
//! kaltura-bot                      # dev mode unless Discord credentials are configured
//! kaltura-bot dev [--listen ADDR] [--discord-public-key HEX] [--data-dir DIR]
//! kaltura-bot http --listen ADDR   # the interactions endpoint behind a public HTTPS URL
//! kaltura-bot gateway              # a gateway connection (serenity), shards from config
//! kaltura-bot register [--guild ID]
//! kaltura-bot commands             # the registration JSON, without contacting Discord
//! ```
//!
//! Configuration: `--config FILE` (or `KD_CONFIG`), `KD__…` environment variables (e.g.
//! `KD__DISCORD__TOKEN`), see `config/README.md`. Without Kaltura credentials the bot runs
//! on the fake Kaltura server in process, with demo data.

#[path = "../../cli_io.rs"]
#[allow(dead_code)] // each binary uses a part of it
mod cli_io;
mod console;
mod dev;
mod fake_discord;
mod gateway;
mod notify_dev;
mod setup;
#[path = "../kaltura-webhooks/waking.rs"]
mod waking;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kaltura_discord::GuildId;

/// Kaltura media, search and meetings in Discord.
#[derive(Debug, Parser)]
#[command(name = "kaltura-bot", version, about)]
struct Cli {
    /// The process configuration file (JSON or TOML).
    #[arg(long, global = true, env = "KD_CONFIG")]
    config: Option<PathBuf>,
    /// The folder of guild override files (`{guild_id}.json`).
    #[arg(long, global = true, env = "KD_GUILD_DIR")]
    guild_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Everything on this machine: fake Kaltura, SQLite, the endpoint, a fake Discord and a
    /// console where you type slash commands.
    Dev(dev::DevArgs),
    /// Serve Discord's HTTP interactions endpoint.
    Http {
        /// Address to listen on.
        #[arg(long, env = "KD_LISTEN", default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
    },
    /// Connect to Discord's gateway and answer interactions.
    Gateway,
    /// Push the command definitions to Discord and print what changed.
    Register {
        /// Register in one guild (instant) instead of globally.
        #[arg(long)]
        guild: Option<GuildId>,
    },
    /// Print the registration JSON without contacting Discord.
    Commands,
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
            cli_io::err_line(&format!("kaltura-bot: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            cli_io::err_line(&format!("kaltura-bot: {e}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let sources = setup::Sources {
        config: cli.config,
        guild_dir: cli.guild_dir,
    };
    let command = match cli.command {
        Some(command) => command,
        None if setup::has_discord_token(&sources)? => Command::Gateway,
        None => Command::Dev(dev::DevArgs::default()),
    };
    match command {
        Command::Dev(args) => dev::run(args, &sources).await,
        Command::Http { listen } => setup::serve_http(&sources, listen).await,
        Command::Gateway => gateway::run(&sources).await,
        Command::Register { guild } => setup::register(&sources, guild).await,
        Command::Commands => {
            let json = setup::registration_pretty()?;
            cli_io::out(&format!("{json}\n"))
        }
    }
}
