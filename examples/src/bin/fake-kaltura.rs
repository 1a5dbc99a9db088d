//! `fake-kaltura`: runs the fake Kaltura API v3 server of `kaltura-client` standalone, so any
//! client (the official Python/Node clients, curl, this workspace's bot) can work offline.
//!
//! ```text
//! fake-kaltura --listen 127.0.0.1:8765 --partner-id 12345 --admin-secret s3cr3t --seed-demo-data
//! ```
//!
//! With `--seed-demo-data` the demo users can sign in with `user.loginByLoginId` (see
//! `--help` for their login ids and passwords, fake credentials for development only).
//!
//! It prints its URL, partner id and secrets on stdout on start (that is its job: it is a
//! dev tool and the secrets are fake), logs to stderr, and stops on Ctrl-C. A closed or full
//! stdout is logged and the server keeps serving.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;
use kaltura_client::fake::{DEFAULT_PARTNER_ID, DEMO_USERS, FakeKaltura};
use secrecy::ExposeSecret;

/// The demo users' logins, shown by `--help` (kept equal to `DEMO_USERS` by a test).
const DEMO_LOGINS_HELP: &str = "\
Demo logins (with --seed-demo-data), for user.loginByLoginId(loginId, password):
  user id      login id             password
  admin        admin@example.com    Ada#Demo1     (admin: ADMIN session)
  discord_42   dee@example.com      Dee#Demo1
  alice        alice@example.com    Alice#Demo1
  bob          bob@example.com      Bob#Demo1
  carol        carol@example.com    Carol#Demo1
A wrong password answers USER_WRONG_PASSWORD, an unknown login id USER_NOT_FOUND.
These are fake credentials: never use them anywhere else.";

/// A fake Kaltura API v3 server for offline development.
#[derive(Debug, Parser)]
#[command(name = "fake-kaltura", version, about, after_help = DEMO_LOGINS_HELP)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FAKE_KALTURA_LISTEN", default_value = "127.0.0.1:8765")]
    listen: SocketAddr,
    /// Partner id.
    #[arg(long, env = "FAKE_KALTURA_PARTNER_ID", default_value_t = DEFAULT_PARTNER_ID)]
    partner_id: i64,
    /// Admin secret (random if not given).
    #[arg(long, env = "FAKE_KALTURA_ADMIN_SECRET")]
    admin_secret: Option<String>,
    /// User secret (random if not given).
    #[arg(long, env = "FAKE_KALTURA_USER_SECRET")]
    user_secret: Option<String>,
    /// Load the deterministic demo catalog (entries, categories, users with logins).
    #[arg(long, env = "FAKE_KALTURA_SEED_DEMO_DATA")]
    seed_demo_data: bool,
    /// Base URL used in generated URLs (thumbnailUrl…) when the server is reached through
    /// another address than --listen.
    #[arg(long, env = "FAKE_KALTURA_PUBLIC_URL")]
    public_url: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();

    let mut builder = FakeKaltura::builder()
        .listen(args.listen)
        .partner_id(args.partner_id)
        .seed_demo_data(args.seed_demo_data);
    if let Some(s) = args.admin_secret {
        builder = builder.admin_secret(s);
    }
    if let Some(s) = args.user_secret {
        builder = builder.user_secret(s);
    }
    if let Some(u) = args.public_url {
        builder = builder.public_url(u);
    }
    let fake = builder.start().await?;

    let logins = if args.seed_demo_data {
        DEMO_USERS
            .iter()
            .map(|u| format!("{} / {}", u.email, u.password))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        "none (no --seed-demo-data)".to_owned()
    };
    let banner = format!(
        "fake-kaltura listening on {url}\n  service url:  {url}\n  partner id:   {pid}\n  admin secret: {admin}\n  user secret:  {user}\n  demo entries: {entries}\n  demo logins:  {logins}\npress Ctrl-C to stop\n",
        url = fake.url(),
        pid = fake.partner_id(),
        admin = fake.admin_secret().expose_secret(),
        user = fake.user_secret().expose_secret(),
        entries = fake.entry_count(),
    );
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(error = %e, "cannot write to stdout; serving anyway");
    }
    drop(stdout);
    tracing::info!(url = %fake.url(), "fake-kaltura ready");

    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping");
    fake.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_every_demo_login() {
        for user in DEMO_USERS {
            let line = DEMO_LOGINS_HELP
                .lines()
                .find(|l| l.split_whitespace().next() == Some(user.id));
            let words: Vec<&str> = line
                .map(|l| l.split_whitespace().collect())
                .unwrap_or_default();
            assert_eq!(
                words.get(1..3),
                Some(&[user.email, user.password][..]),
                "{}",
                user.id
            );
        }
    }
}
