//! `kaltura-config`: print the configuration schemas, validate configuration files, and
//! explain where resolved values come from.
//!
//! ```text
//! kaltura-config schema [--process] [--write]
//! kaltura-config validate [--process] [--config FILE] FILE...
//! kaltura-config explain --guild ID [KEY] [--config FILE] [--guild-dir DIR]
//! kaltura-config explain --process [KEY] [--config FILE]
//! ```
//!
//! `validate` runs the code the bot runs: the same file reading (regular files only, size
//! capped), placeholder expansion, schema ranges and rules. Guild files are checked on top of
//! the operator's configuration (`--config`, `KD_CONFIG` and `KD__…` variables), so its
//! `kaltura.allowed_guild_hosts` applies. Secrets are never printed.

#[path = "../cli_io.rs"]
mod cli_io;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kaltura_discord::GuildId;
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, Explanation, Layer, read_guild_file, schema,
};

#[derive(Parser)]
#[command(
    name = "kaltura-config",
    version,
    about = "Inspect and check kaltura-discord configuration"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the JSON Schema of guild override files (or of the process configuration).
    Schema {
        /// The process configuration schema instead of the guild one.
        #[arg(long)]
        process: bool,
        /// Write both schemas into config/schema/ instead of printing.
        #[arg(long)]
        write: bool,
        /// The folder to write into.
        #[arg(long, default_value = "config/schema")]
        dir: PathBuf,
    },
    /// Check configuration files: guild override files by default (`{}` is valid).
    Validate {
        /// The files are process configuration files.
        #[arg(long)]
        process: bool,
        /// The global configuration guild files are checked against.
        #[arg(long, env = "KD_CONFIG", conflicts_with = "process")]
        config: Option<PathBuf>,
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show resolved values and the layer that set each (secrets redacted).
    Explain {
        /// The guild id.
        #[arg(long, required_unless_present = "process", conflicts_with = "process")]
        guild: Option<String>,
        /// Explain the process configuration instead of a guild's.
        #[arg(long)]
        process: bool,
        /// A key or section (`meetings.default_duration_minutes`, `meetings`); all keys when absent.
        key: Option<String>,
        /// The global configuration file.
        #[arg(long, env = "KD_CONFIG")]
        config: Option<PathBuf>,
        /// The folder of guild override files.
        #[arg(long, default_value = "config/guilds")]
        guild_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    match cli_io::parse::<Cli>() {
        Ok(cli) => cli_io::finish(run(cli.command)),
        Err(code) => code,
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Schema {
            process,
            write,
            dir,
        } => {
            if write {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                for (name, value) in [
                    (schema::GUILD_SCHEMA_FILE, schema::guild_override_schema()),
                    (schema::PROCESS_SCHEMA_FILE, schema::process_config_schema()),
                ] {
                    let path = dir.join(name);
                    write_atomically(&path, &schema::render(&value))?;
                    cli_io::out(&format!("wrote {}\n", path.display()))?;
                }
            } else if process {
                cli_io::out(&schema::render(&schema::process_config_schema()))?;
            } else {
                cli_io::out(&schema::render(&schema::guild_override_schema()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            process,
            config,
            files,
        } => {
            let mut failed = false;
            let operator = if process {
                None
            } else {
                Some(
                    ConfigResolver::load(&ConfigSources::from_env(config, None))
                        .map_err(|e| format!("the operator configuration is invalid: {e}"))?,
                )
            };
            for file in files {
                let outcome = match &operator {
                    None => ConfigResolver::load(&ConfigSources {
                        global_file: Some(file.clone()),
                        ..ConfigSources::from_env(None, None)
                    })
                    .map(|_| ()),
                    Some(resolver) => read_guild_file(&file).and_then(|doc| {
                        resolver
                            .check_override(doc, &Layer::GuildFile(file.clone()))
                            .map(|_| ())
                    }),
                };
                match outcome {
                    Ok(()) => cli_io::out(&format!("ok: {}\n", file.display()))?,
                    Err(e) => {
                        failed = true;
                        cli_io::err_line(&format!("error: {e}"));
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Explain {
            guild,
            process,
            key,
            config,
            guild_dir,
        } => {
            let key = key.unwrap_or_default();
            let (rows, whose) = match guild {
                Some(guild) if !process => {
                    let guild: GuildId = guild.parse().map_err(|e| format!("{e}"))?;
                    let sources = ConfigSources::from_env(config, Some(guild_dir));
                    let resolver = ConfigResolver::load(&sources).map_err(|e| e.to_string())?;
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .map_err(|e| format!("cannot start the runtime: {e}"))?;
                    let resolved = runtime
                        .block_on(resolver.guild(guild))
                        .map_err(|e| e.to_string())?;
                    (resolved.explain(&key), format!("guild {guild}"))
                }
                _ => {
                    let resolver = ConfigResolver::load(&ConfigSources::from_env(config, None))
                        .map_err(|e| e.to_string())?;
                    (
                        resolver.process().explain(&key),
                        "the process configuration".to_owned(),
                    )
                }
            };
            if rows.is_empty() {
                return Err(format!("{whose} has no configuration key `{key}`"));
            }
            cli_io::out(&render_rows(&rows))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn render_rows(rows: &[Explanation]) -> String {
    rows.iter()
        .map(|row| format!("{} = {}  ({})\n", row.key, row.value, row.layer))
        .collect()
}

/// Writes a file through a temporary file, fsync and rename, so a reader never sees half of it.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("schema")
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}
