//! Webhook notifications: the events Bulwark announces, the signature receivers verify, and the retry
//! schedule of failed deliveries. Sending is the engine's job.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Something a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// An exception was created.
    #[serde(rename = "exception.created")]
    ExceptionCreated,
    /// An exception expires within the configured number of days.
    #[serde(rename = "exception.expiring")]
    ExceptionExpiring,
    /// An exception expired.
    #[serde(rename = "exception.expired")]
    ExceptionExpired,
    /// A resurfacing trigger fired on an exception.
    #[serde(rename = "exception.resurfaced")]
    ExceptionResurfaced,
    /// A remediation activity was completed.
    #[serde(rename = "remediation.completed")]
    ActivityCompleted,
}

/// Every event kind.
pub const ALL_EVENTS: [EventKind; 5] = [
    EventKind::ExceptionCreated,
    EventKind::ExceptionExpiring,
    EventKind::ExceptionExpired,
    EventKind::ExceptionResurfaced,
    EventKind::ActivityCompleted,
];

impl EventKind {
    /// The wire name (`exception.created`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ExceptionCreated => "exception.created",
            EventKind::ExceptionExpiring => "exception.expiring",
            EventKind::ExceptionExpired => "exception.expired",
            EventKind::ExceptionResurfaced => "exception.resurfaced",
            EventKind::ActivityCompleted => "remediation.completed",
        }
    }

    /// The event a wire name stands for.
    pub fn parse(s: &str) -> Option<EventKind> {
        ALL_EVENTS.into_iter().find(|e| e.as_str() == s)
    }
}

/// A registered webhook (its secret stays in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Store id.
    pub id: i64,
    /// Where events are posted.
    pub url: String,
    /// The events it receives.
    pub events: Vec<EventKind>,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// One event to deliver to one webhook (the outbox row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Store id.
    pub id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// The event.
    pub event: EventKind,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (`None` once delivered or given up).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Attempts after which a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// When to try again after `attempts` failed attempts: 30 s doubled each time (30 s, 1 min, 2 min, …),
/// `None` when the delivery is given up.
pub fn next_attempt(attempts: u32, failed_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let delay = 30i64 << attempts.saturating_sub(1).min(20);
    Some(failed_at + Duration::seconds(delay))
}

/// The header receivers check: `sha256=` and the hex HMAC-SHA256 of the body under the webhook's secret.
pub const SIGNATURE_HEADER: &str = "X-Bulwark-Signature";

/// The signature of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_then_gives_up() {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        assert_eq!(next_attempt(1, t), Some(t + Duration::seconds(30)));
        assert_eq!(next_attempt(2, t), Some(t + Duration::seconds(60)));
        assert_eq!(next_attempt(3, t), Some(t + Duration::seconds(120)));
        assert_eq!(next_attempt(MAX_ATTEMPTS, t), None);
        for e in ALL_EVENTS {
            assert_eq!(EventKind::parse(e.as_str()), Some(e));
        }
    }
}
