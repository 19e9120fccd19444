//! Webhook notifications: registering receivers (admins only; a URL, an HMAC secret, the events they
//! want) and delivering the events the engine queues — each POSTed as stored with its signature,
//! retried on core's schedule after a failure, given up after `MAX_ATTEMPTS`. Time comes from the
//! engine's clock, so the retry schedule is tested by moving a clock, never by sleeping.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use bulwark_core::identity::{Action, User};
use bulwark_core::webhook::{
    ALL_EVENTS, Delivery, EventKind, SIGNATURE_HEADER, Webhook, next_attempt, signature,
};
use bulwark_store::{DeliveryOutcome, NewWebhook, StoreError};

use crate::exceptions::require;
use crate::{Engine, EngineError, EngineResult};

/// The header naming the event of a delivery (`exception.created`, …).
pub const EVENT_HEADER: &str = "X-Bulwark-Event";

/// The header carrying the delivery's id: the same on every attempt, so receivers can drop repeats.
pub const DELIVERY_HEADER: &str = "X-Bulwark-Delivery";

/// How long one attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries attempted per run (concurrently, so one run takes at most about one timeout).
const DELIVERY_BATCH: i64 = 100;

/// The shortest secret, in characters: a receiver's guarantee rests on it being hard to guess.
const MIN_SECRET: usize = 16;

/// The longest secret, in characters.
const MAX_SECRET: usize = 512;

/// The longest URL, in characters.
const MAX_URL: usize = 2000;

/// What one [`Engine::deliver_due`] run did, by delivery id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReport {
    /// Answered 2xx.
    pub delivered: Vec<i64>,
    /// Failed, with another attempt scheduled.
    pub retrying: Vec<i64>,
    /// Failed for the last time ([`bulwark_core::webhook::MAX_ATTEMPTS`] attempts).
    pub given_up: Vec<i64>,
}

impl DeliveryReport {
    /// Whether nothing was attempted.
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty() && self.retrying.is_empty() && self.given_up.is_empty()
    }
}

impl Engine {
    /// Registers a webhook (admins only): an `http` or `https` URL with a host, a secret of at least
    /// 16 characters, and the wire names of the events it receives (none: every event).
    pub async fn add_webhook(
        &self,
        actor: &User,
        url: &str,
        secret: &str,
        events: &[String],
    ) -> EngineResult<Webhook> {
        require(actor, Action::ManageSettings)?;
        let webhook = NewWebhook {
            url: parse_url(url)?,
            secret: parse_secret(secret)?,
            events: parse_events(events)?,
        };
        Ok(self
            .store
            .create_webhook(&webhook, &actor.email, self.now())
            .await?)
    }

    /// Every webhook, without its secret (admins only: a receiver's URL may carry a credential of its
    /// own, as chat services' incoming-webhook URLs do).
    pub async fn webhooks(&self, actor: &User) -> EngineResult<Vec<Webhook>> {
        require(actor, Action::ManageSettings)?;
        Ok(self
            .store
            .webhooks()
            .await?
            .into_iter()
            .map(|(webhook, _secret)| webhook)
            .collect())
    }

    /// Removes a webhook with its deliveries (admins only); `NotFound`.
    pub async fn remove_webhook(&self, actor: &User, id: i64) -> EngineResult<()> {
        require(actor, Action::ManageSettings)?;
        Ok(self
            .store
            .delete_webhook(id, &actor.email, self.now())
            .await?)
    }

    /// Every delivery of a webhook, oldest first (admins only); `NotFound` for an unknown webhook.
    pub async fn webhook_deliveries(&self, actor: &User, id: i64) -> EngineResult<Vec<Delivery>> {
        if !self.webhooks(actor).await?.iter().any(|w| w.id == id) {
            return Err(EngineError::NotFound(format!("webhook {id}")));
        }
        Ok(self.store.deliveries(id).await?)
    }

    /// Attempts the deliveries due now (up to 100, concurrently): POSTs each payload exactly as stored,
    /// signed; a 2xx answer delivers it, anything else (another status, a redirect, a timeout, a
    /// connection error) schedules the next attempt on core's backoff or gives it up.
    pub async fn deliver_due(&self) -> EngineResult<DeliveryReport> {
        let due = self
            .store
            .due_deliveries(self.now(), DELIVERY_BATCH)
            .await?;
        let mut report = DeliveryReport::default();
        if due.is_empty() {
            return Ok(report);
        }
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // A redirect could send the signed body to a host nobody registered.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bulwark/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Internal(format!("webhook client: {e}")))?;
        let mut attempts = tokio::task::JoinSet::new();
        for (delivery, url, secret) in due {
            let client = client.clone();
            attempts.spawn(async move {
                let result = attempt(&client, &delivery, &url, &secret).await;
                (delivery, result)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = attempts.join_next().await {
            outcomes.push(joined.map_err(|e| EngineError::Internal(e.to_string()))?);
        }
        outcomes.sort_by_key(|(delivery, _)| delivery.id);
        for (delivery, result) in outcomes {
            let now = self.now();
            let outcome = match result {
                Ok(()) => DeliveryOutcome::Delivered,
                Err(error) => DeliveryOutcome::Failed {
                    error,
                    retry_at: next_attempt(delivery.attempts + 1, now),
                },
            };
            match self.store.record_delivery(delivery.id, &outcome, now).await {
                Ok(()) => {}
                // Another replica delivered it meanwhile; the receiver drops the repeat by its id.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            match outcome {
                DeliveryOutcome::Delivered => report.delivered.push(delivery.id),
                DeliveryOutcome::Failed {
                    retry_at: Some(_), ..
                } => report.retrying.push(delivery.id),
                DeliveryOutcome::Failed { retry_at: None, .. } => report.given_up.push(delivery.id),
            }
        }
        Ok(report)
    }
}

/// One attempt: `Err` holds what went wrong, for the delivery's `lastError`.
async fn attempt(
    client: &reqwest::Client,
    delivery: &Delivery,
    url: &str,
    secret: &str,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, delivery.event.as_str())
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .header(
            SIGNATURE_HEADER,
            signature(secret, delivery.payload.as_bytes()),
        )
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(describe)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered HTTP {status}"))
    }
}

/// A request error with its causes, without the URL (which may carry a credential).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn parse_url(text: &str) -> EngineResult<String> {
    let text = text.trim();
    if text.chars().count() > MAX_URL {
        return Err(EngineError::Invalid(format!(
            "url: at most {MAX_URL} characters"
        )));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| EngineError::Invalid(format!("url: {text:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EngineError::Invalid(format!(
            "url: the scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(EngineError::Invalid(format!("url: {text:?} has no host")));
    }
    Ok(url.to_string())
}

fn parse_secret(secret: &str) -> EngineResult<String> {
    let chars = secret.chars().count();
    if chars < MIN_SECRET {
        return Err(EngineError::Invalid(format!(
            "secret: at least {MIN_SECRET} characters"
        )));
    }
    if chars > MAX_SECRET {
        return Err(EngineError::Invalid(format!(
            "secret: at most {MAX_SECRET} characters"
        )));
    }
    Ok(secret.to_string())
}

/// The events named, each once, in the order core lists them (none: every event).
fn parse_events(names: &[String]) -> EngineResult<Vec<EventKind>> {
    let mut events = Vec::new();
    for name in names {
        let event = EventKind::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = ALL_EVENTS.iter().map(|e| e.as_str()).collect();
            EngineError::Invalid(format!(
                "events: unknown event {name:?} (known: {})",
                known.join(", ")
            ))
        })?;
        events.push(event);
    }
    events.sort();
    events.dedup();
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_url(input: &str, expected: Result<&str, &str>) {
        match (parse_url(input), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
            (Err(EngineError::Invalid(got)), Err(fragment)) => {
                assert!(got.starts_with("url: ") && got.contains(fragment), "{got}")
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn urls_need_http_and_a_host() {
        check_url(
            " https://hooks.example.org/bulwark ",
            Ok("https://hooks.example.org/bulwark"),
        );
        check_url("http://127.0.0.1:9000", Ok("http://127.0.0.1:9000/"));
        check_url("ftp://example.org/x", Err("http or https"));
        check_url("file:///etc/passwd", Err("http or https"));
        check_url("hooks.example.org", Err("is not a URL"));
        check_url("http://", Err("is not a URL"));
    }

    #[test]
    fn secrets_and_events_are_checked() {
        assert!(parse_secret("short").is_err());
        assert!(parse_secret("0123456789abcdef").is_ok());
        let names = ["exception.expired".to_string(), "exception.created".into()];
        assert_eq!(
            parse_events(&names).unwrap(),
            vec![EventKind::ExceptionCreated, EventKind::ExceptionExpired]
        );
        assert_eq!(parse_events(&[]).unwrap(), vec![]);
        let err = parse_events(&["exception.deleted".into()]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("events: unknown event \"exception.deleted\""),
            "{err}"
        );
    }
}
