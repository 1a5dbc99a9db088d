//! `kaltura-ks`: generate, decode and verify Kaltura Sessions (KS) locally.
//!
//! ```text
//! kaltura-ks decode --secret SECRET KS        # verify and print the fields as JSON
//! kaltura-ks decode KS                        # no secret: what can be read unverified
//! kaltura-ks generate --partner-id 12345 --secret SECRET --user-id bob --type admin
//! ```
//!
//! The admin secret can also come from `KALTURA_ADMIN_SECRET`; it is never printed. A KS given
//! as `-` (or omitted) is read from standard input, which keeps it out of the process list.

#[path = "../cli_io.rs"]
mod cli_io;

use std::io::Read as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use kaltura_client::ks::{self, DecodedKs, KsBuilder, KsVersion, Privileges, SessionType};
use kaltura_client::{Error, PartnerId};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

/// Generate, decode and verify Kaltura Sessions (KS) locally.
#[derive(Debug, Parser)]
#[command(name = "kaltura-ks", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a KS (v1 or v2) and print its fields as one JSON object.
    ///
    /// With the admin secret the signature (v1) or embedded hash (v2) is verified and a
    /// mismatch is an error. Without it, v1 fields are shown unverified and a v2 KS only
    /// reveals its version and partner id.
    Decode {
        /// The partner's admin secret.
        #[arg(long, env = "KALTURA_ADMIN_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// The KS; `-` or nothing reads it from standard input.
        ks: Option<String>,
    },
    /// Generate (sign) a KS and print it.
    Generate {
        /// The partner id.
        #[arg(long)]
        partner_id: i64,
        /// The partner's admin secret (sessions are always signed with it, even USER ones).
        #[arg(long, env = "KALTURA_ADMIN_SECRET", hide_env_values = true)]
        secret: String,
        /// The user id.
        #[arg(long, default_value = "")]
        user_id: String,
        /// The session type.
        #[arg(long = "type", value_enum, default_value_t = TypeArg::User)]
        session_type: TypeArg,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        expiry: u64,
        /// Privileges, e.g. `privacycontext:abc,setrole:PLAYBACK_BASE_ROLE`.
        #[arg(long, default_value = "")]
        privileges: String,
        /// KS format.
        #[arg(long = "version", value_enum, default_value_t = VersionArg::V2)]
        ks_version: VersionArg,
        /// Master partner id.
        #[arg(long)]
        master_partner_id: Option<i64>,
        /// Additional data.
        #[arg(long)]
        additional_data: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TypeArg {
    /// USER session (0).
    #[value(alias = "0")]
    User,
    /// ADMIN session (2).
    #[value(alias = "2")]
    Admin,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VersionArg {
    /// KS v1 (signed, readable).
    #[value(name = "1", alias = "v1")]
    V1,
    /// KS v2 (encrypted).
    #[value(name = "2", alias = "v2")]
    V2,
}

fn main() -> ExitCode {
    match cli_io::parse::<Cli>() {
        Ok(cli) => cli_io::finish(run(cli.command).map(|()| ExitCode::SUCCESS)),
        Err(code) => code,
    }
}

/// The one-line message for an error (the KS kind alone, without the `KS error:` prefix).
fn message(e: &Error) -> String {
    match e {
        Error::Ks(kind) => kind.to_string(),
        other => other.to_string(),
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Decode { secret, ks } => {
            let ks = read_ks(ks)?;
            let out = match secret.filter(|s| !s.is_empty()) {
                Some(secret) => {
                    let d =
                        ks::decode(&ks, &SecretString::from(secret)).map_err(|e| message(&e))?;
                    let mut obj = fields_json(&d);
                    obj.insert("signature_valid".into(), Value::Bool(true));
                    obj.insert("signature".into(), json!("valid"));
                    obj
                }
                None => {
                    let u = ks::inspect(&ks).map_err(|e| message(&e))?;
                    cli_io::err_line(
                        "warning: no admin secret given (--secret or KALTURA_ADMIN_SECRET): the signature was not checked",
                    );
                    let mut obj = match &u.fields {
                        Some(d) => fields_json(d),
                        None => {
                            let mut obj = Map::new();
                            obj.insert("version".into(), json!(u.version.number()));
                            obj.insert("partner_id".into(), json!(u.partner_id.get()));
                            obj
                        }
                    };
                    obj.insert("signature_valid".into(), Value::Null);
                    obj.insert("signature".into(), json!("unchecked"));
                    obj
                }
            };
            cli_io::out(&format!("{}\n", Value::Object(out)))
        }
        Command::Generate {
            partner_id,
            secret,
            user_id,
            session_type,
            expiry,
            privileges,
            ks_version,
            master_partner_id,
            additional_data,
        } => {
            let privileges: Privileges = privileges.parse().map_err(|e| message(&e))?;
            let mut b = KsBuilder::new(PartnerId::new(partner_id))
                .user_id(user_id)
                .session_type(match session_type {
                    TypeArg::User => SessionType::User,
                    TypeArg::Admin => SessionType::Admin,
                })
                .expiry(Duration::from_secs(expiry))
                .privileges(privileges)
                .version(match ks_version {
                    VersionArg::V1 => KsVersion::V1,
                    VersionArg::V2 => KsVersion::V2,
                });
            if let Some(m) = master_partner_id {
                b = b.master_partner_id(PartnerId::new(m));
            }
            if let Some(d) = additional_data {
                b = b.additional_data(d);
            }
            let ks = b
                .sign(&SecretString::from(secret))
                .map_err(|e| message(&e))?;
            cli_io::out(&format!("{}\n", ks.expose_secret()))
        }
    }
}

fn read_ks(arg: Option<String>) -> Result<String, String> {
    match arg {
        Some(ks) if ks != "-" => Ok(ks),
        _ => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .map_err(|e| format!("could not read the KS from standard input: {e}"))?;
            Ok(buf.trim().to_owned())
        }
    }
}

/// The JSON fields of a decoded KS (without the signature status).
fn fields_json(d: &DecodedKs) -> Map<String, Value> {
    let privileges: Map<String, Value> = d
        .privileges
        .iter()
        .map(|p| match p {
            ks::Privilege::All => ("all".to_owned(), json!("*")),
            p => (p.name().to_owned(), json!(p.value().unwrap_or(""))),
        })
        .collect();
    let mut obj = Map::new();
    obj.insert("version".into(), json!(d.version.number()));
    obj.insert("partner_id".into(), json!(d.partner_id.get()));
    obj.insert("session_type".into(), json!(d.session_type.as_i64()));
    obj.insert("user_id".into(), json!(d.user_id));
    obj.insert("valid_until".into(), json!(d.valid_until));
    obj.insert("expired".into(), json!(d.is_expired()));
    obj.insert("privileges".into(), Value::Object(privileges));
    if let Some(m) = d.master_partner_id {
        obj.insert("master_partner_id".into(), json!(m.get()));
    }
    if let Some(a) = &d.additional_data {
        obj.insert("additional_data".into(), json!(a));
    }
    obj
}
