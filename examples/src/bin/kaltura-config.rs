//! `kaltura-config`: print the configuration schemas, validate configuration files, and
//! explain where a guild's resolved values come from.
//!
//! ```text
//! kaltura-config schema [--process] [--write]
//! kaltura-config validate [--process] FILE...
//! kaltura-config explain --guild ID [KEY] [--config FILE] [--guild-dir DIR]
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kaltura_discord::GuildId;
use kaltura_discord::config::{
    ConfigResolver, ConfigSources, DEFAULT_CONFIG_JSON, Layer, read_json_object, schema,
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
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show a guild's resolved values and the layer that set each.
    Explain {
        /// The guild id.
        #[arg(long)]
        guild: String,
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
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
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
                    println!("wrote {}", path.display());
                }
            } else if process {
                print!("{}", schema::render(&schema::process_config_schema()));
            } else {
                print!("{}", schema::render(&schema::guild_override_schema()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { process, files } => {
            let mut failed = false;
            for file in files {
                let outcome = if process {
                    let sources = ConfigSources {
                        global_file: Some(file.clone()),
                        ..ConfigSources::from_env(None, None)
                    };
                    ConfigResolver::load(&sources).map(|_| ())
                } else {
                    let layer = Layer::GuildFile(file.clone());
                    let resolver = ConfigResolver::load(&ConfigSources::defaults_only())
                        .map_err(|e| e.to_string())?;
                    read_json_object(&file, &layer)
                        .and_then(|doc| resolver.check_override(doc, &layer).map(|_| ()))
                };
                match outcome {
                    Ok(()) => println!("ok: {}", file.display()),
                    Err(e) => {
                        failed = true;
                        eprintln!("error: {e}");
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
            key,
            config,
            guild_dir,
        } => {
            let guild: GuildId = guild.parse().map_err(|e| format!("{e}"))?;
            let sources = ConfigSources {
                defaults: DEFAULT_CONFIG_JSON.to_owned(),
                ..ConfigSources::from_env(config, Some(guild_dir))
            };
            let resolver = ConfigResolver::load(&sources).map_err(|e| e.to_string())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            let resolved = runtime
                .block_on(resolver.guild(guild))
                .map_err(|e| e.to_string())?;
            let key = key.unwrap_or_default();
            let rows = resolved.explain(&key);
            if rows.is_empty() {
                return Err(format!("guild {guild} has no configuration key `{key}`"));
            }
            for row in rows {
                println!("{} = {}  ({})", row.key, row.value, row.layer);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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
