//! The values the store takes and gives for identity, exceptions, remediation activities, the audit
//! trail, webhooks and settings (the domain types themselves live in core).
//!
//! Every change these methods make is written together with its audit entry, in one transaction: the
//! entity before and after as JSON (the entity's serde form), chained to the previous entry's hash
//! (`bulwark_core::audit::seal`). A change that fails leaves neither the change nor an entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::exception::{CoverageFacts, ReviewMark};
use bulwark_core::identity::Role;
use bulwark_core::webhook::EventKind;

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// E-mail address, already normalised (`bulwark_core::identity::normalize_email`).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string, when the user may log in with a password.
    pub password_hash: Option<String>,
}

/// A token to create (the token itself is never given to the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The user it acts for.
    pub user_id: i64,
    /// Its first characters, shown in lists.
    pub prefix: String,
    /// `bulwark_core::identity::token_digest` of the token.
    pub digest: String,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A change to an exception's bookkeeping, made by the system (resurfacing, expiry, coverage tracking).
/// Fields left `None` are kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceptionTracking {
    /// New baseline of what it covers.
    pub baseline: Option<CoverageFacts>,
    /// New last time it covered a finding.
    pub last_covered_at: Option<DateTime<Utc>>,
    /// A review mark to set (replacing any earlier one).
    pub review: Option<ReviewMark>,
    /// The instant the expiry job recorded the transition to Expired.
    pub expiry_recorded_at: Option<DateTime<Utc>>,
    /// Cancel the whole exception at this instant (a voiding resurfacing policy).
    pub void_at: Option<DateTime<Utc>>,
}

/// A webhook to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where events are posted.
    pub url: String,
    /// The HMAC secret.
    pub secret: String,
    /// The events it receives (empty: every event).
    pub events: Vec<EventKind>,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; try again at `retry_at`, or give up when `None`.
    Failed {
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// A filter on the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this entity kind.
    pub entity: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Entries after this position.
    pub after_seq: Option<i64>,
    /// At most this many (oldest first).
    pub limit: Option<i64>,
}
