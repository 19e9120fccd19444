//! `bulwark webhooks`: registering, listing and removing the receivers of Bulwark's events, as the
//! local administrator — whoever can open the database has that power. The server delivers.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use bulwark_engine::local_admin;

use crate::open_engine;

/// `bulwark webhooks …`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Register a webhook: events are POSTed to URL, signed with the secret (X-Bulwark-Signature).
    Add {
        /// Where events are POSTed (http or https).
        url: String,
        /// The HMAC secret, at least 16 characters (visible to other local users; prefer
        /// --secret-stdin).
        #[arg(
            long,
            conflicts_with = "secret_stdin",
            required_unless_present = "secret_stdin"
        )]
        secret: Option<String>,
        /// Read the HMAC secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// An event to receive (repeatable): exception.created, exception.expiring, exception.expired,
        /// exception.resurfaced, remediation.completed; none: every event.
        #[arg(long = "event", value_name = "EVENT")]
        events: Vec<String>,
    },
    /// List webhooks (never their secrets).
    List,
    /// Remove a webhook and its deliveries.
    Remove {
        /// Its id.
        id: i64,
    },
}

/// Runs `bulwark webhooks …`.
pub async fn run(command: &WebhooksCommand, db: &str) -> Result<ExitCode> {
    let engine = open_engine(db).await?;
    let admin = local_admin();
    match command {
        WebhooksCommand::Add {
            url,
            secret,
            secret_stdin,
            events,
        } => {
            let secret = match (secret, secret_stdin) {
                (Some(s), false) => s.clone(),
                (None, true) => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .context("reading the secret from standard input")?;
                    text.trim_end_matches(['\r', '\n']).to_string()
                }
                _ => bail!("give --secret or --secret-stdin"),
            };
            let webhook = engine.add_webhook(&admin, url, &secret, events).await?;
            println!("added webhook {} for {}", webhook.id, webhook.url);
        }
        WebhooksCommand::List => {
            println!("{:<5} {:<50} {:<20} EVENTS", "ID", "URL", "CREATED");
            for w in engine.webhooks(&admin).await? {
                let events = if w.events.is_empty() {
                    "all".to_string()
                } else {
                    let names: Vec<&str> = w.events.iter().map(|e| e.as_str()).collect();
                    names.join(",")
                };
                println!(
                    "{:<5} {:<50} {:<20} {}",
                    w.id,
                    w.url,
                    w.created_at.format("%Y-%m-%d %H:%M"),
                    events
                );
            }
        }
        WebhooksCommand::Remove { id } => {
            engine.remove_webhook(&admin, *id).await?;
            println!("removed webhook {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
