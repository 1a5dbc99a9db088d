//! `kaltura-bot dev`: the whole bot on this machine, no Discord account needed.
//!
//! It starts the fake Kaltura server (demo data), SQLite in a local data folder, the
//! interactions endpoint on loopback, a fake Discord REST API that receives the bot's
//! follow-ups, and a console where slash commands are typed as in Discord. The console
//! signs each interaction with its own Ed25519 key and sends it to the endpoint, so every
//! line goes through the same path a real Discord interaction takes.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer as _, SigningKey};
use kaltura_client::fake::FakeKaltura;
use kaltura_discord::config::{ConfigSources, DEFAULT_CONFIG_JSON};
use kaltura_discord::http::{DiscordPublicKey, InteractionsEndpoint};
use kaltura_discord::store::SqlStore;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;
use tower::ServiceExt as _;

use crate::cli_io;
use crate::console::{self, Input, Persona, Pressable, Session};
use crate::fake_discord::{self, Received};
use crate::setup::{self, Sources};

/// The guild, channel and application the console acts in.
const DEV_GUILD: u64 = 900_000_000_000_000_001;
const DEV_CHANNEL: u64 = 900_000_000_000_000_002;
const DEV_APPLICATION: u64 = 900_000_000_000_000_003;
/// The role the `moderator` persona has, mapped to our moderator role in dev mode.
const MODERATOR_ROLE: &str = "200000000000000002";

/// Options of `kaltura-bot dev`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DevArgs {
    /// Address of the interactions endpoint (port 0 for any free port).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Verify the endpoint's requests with this public key (hex) instead of a generated
    /// one, e.g. to point a real Discord application at it through a tunnel. The console
    /// then talks to an in-process copy of the endpoint with its own key.
    #[arg(long, env = "KD__DISCORD__PUBLIC_KEY")]
    discord_public_key: Option<String>,
    /// Folder for the SQLite database.
    #[arg(long, default_value = "kaltura-bot-data")]
    data_dir: PathBuf,
}

impl Default for DevArgs {
    fn default() -> Self {
        DevArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            discord_public_key: None,
            data_dir: PathBuf::from("kaltura-bot-data"),
        }
    }
}

/// The defaults document with dev settings on top: the moderator persona's role mapped,
/// Discord scheduled events mirrored.
fn dev_defaults() -> Result<String, String> {
    let mut defaults: Value =
        serde_json::from_str(DEFAULT_CONFIG_JSON).map_err(|e| format!("defaults: {e}"))?;
    if let Some(guild) = defaults.get_mut("guild_defaults") {
        if let Some(roles) = guild
            .pointer_mut("/rbac/roles")
            .and_then(Value::as_object_mut)
        {
            roles.insert(MODERATOR_ROLE.to_owned(), json!("moderator"));
        }
        if let Some(meetings) = guild.get_mut("meetings").and_then(Value::as_object_mut) {
            meetings.insert("discord_events".to_owned(), json!(true));
        }
    }
    serde_json::to_string(&defaults).map_err(|e| e.to_string())
}

fn random_key() -> SigningKey {
    let seed: [u8; 32] = rand::random();
    SigningKey::from_bytes(&seed)
}

/// How the console reaches the endpoint.
enum Transport {
    /// Over loopback, to the endpoint everyone sees.
    Loopback {
        client: reqwest::Client,
        url: String,
    },
    /// Through an in-process copy of the endpoint that trusts the console's key.
    InProcess(axum::Router),
}

struct Console {
    key: SigningKey,
    transport: Transport,
    registration: Value,
    session: Session,
    persona: Persona,
    pressables: Vec<Pressable>,
    discord: tokio::sync::mpsc::UnboundedReceiver<Received>,
    /// The fake Kaltura (`:upload` adds entries to it).
    fake: FakeKaltura,
}

pub(crate) async fn run(args: DevArgs, sources: &Sources) -> Result<(), String> {
    let mut config_sources: ConfigSources = sources.config_sources();
    config_sources.defaults = dev_defaults()?;
    let resolver = setup::load_resolver(&config_sources)?;

    let fake = FakeKaltura::builder()
        .seed_demo_data(true)
        .start()
        .await
        .map_err(|e| format!("cannot start the fake Kaltura server: {e}"))?;
    let account = setup::fake_account(&fake)?;

    let db_path = args.data_dir.join("kaltura-bot.db");
    let store = Arc::new(
        SqlStore::sqlite(&db_path)
            .await
            .map_err(|e| format!("database {}: {e}", db_path.display()))?,
    );
    let resolver = Arc::new(resolver.with_store(store.clone()));

    let discord = fake_discord::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("cannot start the fake Discord: {e}"))?;
    let rest = setup::rest(None, Some(&discord.url))?;
    let notifications = crate::notify_dev::start(
        &fake,
        account.clone(),
        store.clone(),
        resolver.clone(),
        rest.clone(),
        DEV_GUILD,
        DEV_CHANNEL,
    )
    .await?;
    let engine = setup::engine(resolver, account, store, rest)?;

    let console_key = random_key();
    let console_public = DiscordPublicKey::from_bytes(&console_key.verifying_key().to_bytes())
        .map_err(|e| e.to_string())?;
    let endpoint_key = match &args.discord_public_key {
        Some(hex) => {
            DiscordPublicKey::from_hex(hex).map_err(|e| format!("--discord-public-key: {e}"))?
        }
        None => console_public,
    };
    let external_key = args.discord_public_key.is_some();
    let router = InteractionsEndpoint::new(engine.clone(), endpoint_key).build();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (choose another address with --listen, e.g. 127.0.0.1:0)",
                args.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the interactions endpoint stopped");
        }
    });
    let endpoint_url = format!("http://{addr}/interactions");

    let transport = if external_key {
        Transport::InProcess(InteractionsEndpoint::new(engine.clone(), console_public).build())
    } else {
        Transport::Loopback {
            client: reqwest::Client::new(),
            url: endpoint_url.clone(),
        }
    };
    let registration: Value = serde_json::from_str(&setup::registration_pretty()?)
        .map_err(|e| format!("registration JSON: {e}"))?;

    let persona = Persona::named("admin").ok_or("no admin persona")?;
    cli_io::out(&format!(
        "kaltura-bot dev: everything runs on this machine.\n\
         \x20 fake Kaltura       {} (partner {}, demo data)\n\
         \x20 database           {} (SQLite)\n\
         \x20 endpoint           {endpoint_url}\n\
         \x20 public key         {}{}\n\
         \x20 fake Discord REST  {}\n\
         \x20 Kaltura webhooks   {} (the dev channel follows \"entry ready\")\n\
         You are \"{}\" in the dev server. Try:\n\
         \x20 /kaltura meeting start title:\"Weekly sync\" type:webinar\n\
         and press 1 to get your join link; :upload \"Intro lecture\" announces a new video.\n\
         :help lists more.\n",
        fake.url(),
        fake.partner_id(),
        db_path.display(),
        endpoint_key.to_hex(),
        if external_key {
            " (given)"
        } else {
            " (generated; the console signs with its private key)"
        },
        discord.url,
        notifications.receiver_url,
        persona.name,
    ))?;

    let mut console = Console {
        key: console_key,
        transport,
        registration,
        session: Session::new(DEV_APPLICATION, DEV_GUILD, DEV_CHANNEL),
        persona,
        pressables: Vec::new(),
        discord: discord.received,
        fake,
    };
    console.run().await;
    cli_io::out("stdin closed; serving until Ctrl-C\n")?;
    setup::shutdown_signal().await;
    drop(notifications);
    drop(console);
    Ok(())
}

impl Console {
    async fn run(&mut self) {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let interactive = std::io::stdin().is_terminal();
        loop {
            if interactive {
                let _ = cli_io::out("› ");
            }
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => {
                        if !self.line(&line).await {
                            return;
                        }
                    }
                    Ok(None) | Err(_) => return,
                },
                Some(event) = self.discord.recv() => {
                    let text = self.render_received(&event);
                    let _ = cli_io::out(&format!("{text}\n"));
                }
            }
        }
    }

    /// Handles one line; `false` to leave the console.
    async fn line(&mut self, line: &str) -> bool {
        let output = match console::parse_line(line) {
            Ok(Input::Empty) => return true,
            Ok(Input::Quit) => return false,
            Ok(Input::Help) => console::HELP.to_owned(),
            Ok(Input::Upload(name)) => {
                match self
                    .fake
                    .add_ready_entry(kaltura_client::fake::NewEntry::new(name.clone()))
                {
                    Ok(id) => format!(
                        "uploaded \"{name}\" as {id} (ready); Kaltura notifies the webhook receiver…"
                    ),
                    Err(e) => format!("the fake Kaltura refused the upload: {e}"),
                }
            }
            Ok(Input::As(name)) => match Persona::named(&name) {
                Some(p) => {
                    self.persona = p;
                    format!("you are now \"{name}\"")
                }
                None => format!("no persona `{name}`: use admin, moderator or member"),
            },
            Ok(Input::Command {
                command,
                words,
                options,
            }) => match self.session.command(
                &self.registration,
                &self.persona,
                &command,
                &words,
                &options,
            ) {
                Ok(interaction) => self.send(interaction).await,
                Err(e) => e,
            },
            Ok(Input::Press(n)) => match self.pressables.get(n.wrapping_sub(1)).cloned() {
                Some(Pressable::Button(custom_id)) => {
                    let interaction = self.session.component(&self.persona, &custom_id, 2, &[]);
                    self.send(interaction).await
                }
                Some(Pressable::Menu { .. }) => format!("{n} is a menu: use :pick {n} OPTION"),
                None => format!("there is no button {n} in the last reply"),
            },
            Ok(Input::Pick { menu, option }) => {
                match self.pressables.get(menu.wrapping_sub(1)).cloned() {
                    Some(Pressable::Menu { custom_id, values }) => {
                        match values.get(option.wrapping_sub(1)) {
                            Some(value) => {
                                let interaction = self.session.component(
                                    &self.persona,
                                    &custom_id,
                                    3,
                                    std::slice::from_ref(value),
                                );
                                self.send(interaction).await
                            }
                            None => format!("menu {menu} has no option {option}"),
                        }
                    }
                    _ => format!("there is no menu {menu} in the last reply"),
                }
            }
            Err(e) => e,
        };
        let _ = cli_io::out(&format!("{output}\n"));
        true
    }

    /// Signs and sends an interaction, renders the answer; after a deferral, waits for the
    /// edit the bot sends to (fake) Discord.
    async fn send(&mut self, interaction: Value) -> String {
        let body = interaction.to_string();
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        let mut signed = timestamp.clone().into_bytes();
        signed.extend_from_slice(body.as_bytes());
        let signature = hex::encode(self.key.sign(&signed).to_bytes());
        let answer = match &self.transport {
            Transport::Loopback { client, url } => {
                let sent = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-signature-ed25519", &signature)
                    .header("x-signature-timestamp", &timestamp)
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let text = resp.text().await.unwrap_or_default();
                        (status, text)
                    }
                    Err(e) => return format!("the endpoint could not be reached: {e}"),
                }
            }
            Transport::InProcess(router) => {
                let request = axum::http::Request::post("/interactions")
                    .header("content-type", "application/json")
                    .header("x-signature-ed25519", &signature)
                    .header("x-signature-timestamp", &timestamp)
                    .body(axum::body::Body::from(body));
                let request = match request {
                    Ok(r) => r,
                    Err(e) => return format!("cannot build the request: {e}"),
                };
                match router.clone().oneshot(request).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                            .await
                            .unwrap_or_default();
                        (status, String::from_utf8_lossy(&bytes).into_owned())
                    }
                    Err(e) => match e {},
                }
            }
        };
        let (status, text) = answer;
        if status != 200 {
            return format!("the endpoint answered HTTP {status}: {text}");
        }
        let response: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => return format!("the endpoint answered something that is not JSON: {e}"),
        };
        let mut pressables = Vec::new();
        let mut out = console::render_response(&response, &mut pressables);
        let kind = response.get("type").and_then(Value::as_u64);
        if matches!(kind, Some(4 | 7)) {
            self.pressables = pressables;
        }
        if matches!(kind, Some(5 | 6)) {
            out.push('\n');
            out.push_str(&self.await_edit().await);
        }
        out
    }

    /// Waits for the edit of the original reply, printing what else arrives meanwhile.
    async fn await_edit(&mut self) -> String {
        let mut out = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match tokio::time::timeout_at(deadline, self.discord.recv()).await {
                Ok(Some(event)) => {
                    let is_edit = event.what == "edit of the original reply";
                    out.push_str(&self.render_received(&event));
                    if is_edit {
                        return out;
                    }
                    out.push('\n');
                }
                Ok(None) => {
                    out.push_str("(the fake Discord stopped)");
                    return out;
                }
                Err(_) => {
                    out.push_str("(no reply within 60 s; see the log)");
                    return out;
                }
            }
        }
    }

    fn render_received(&mut self, event: &Received) -> String {
        match event.what {
            "edit of the original reply" | "follow-up message" | "channel message" => {
                let mut pressables = Vec::new();
                let text = console::render_message(&event.body, &mut pressables);
                if event.what == "edit of the original reply" {
                    self.pressables = pressables;
                    text
                } else {
                    format!("[Discord: {}]\n{text}", event.what)
                }
            }
            "scheduled event created" | "scheduled event updated" => {
                let b = &event.body;
                let field = |k: &str| {
                    b.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let status = match b.get("status").and_then(Value::as_u64) {
                    Some(3) => " (completed)",
                    Some(4) => " (canceled)",
                    _ => "",
                };
                format!(
                    "[Discord: {}{status}] {} {}",
                    event.what,
                    field("name"),
                    b.pointer("/entity_metadata/location")
                        .and_then(Value::as_str)
                        .map(|l| format!("at {l}"))
                        .unwrap_or_default()
                )
            }
            other => format!("[Discord: {other}]"),
        }
    }
}
