//! Persistence for Bulwark: the `Store` trait that the engine needs, and its SQLite and PostgreSQL
//! implementations.
//!
//! The backend is chosen in exactly one place, [`open`], by the URL scheme. Each backend has its own
//! module and its own embedded migrations (`migrations/sqlite/`, `migrations/postgres/`), and every
//! backend passes the same contract test suite (`tests/contract.rs`). [`testing`] gives tests a fresh
//! database of the backend the test run chose.
//!
//! What does not depend on the backend is written once and used by both: `codec` converts between
//! domain values and column values (the two schemas have the same columns and units), `batch`
//! decides what a write changes (the newest record per advisory id, the diff of a software set or of a
//! device's weaknesses), and `audited` does both for the audited entities (users, tokens, exceptions,
//! activities, webhooks, settings) and builds the audit entry that follows the chain's head. The
//! backend modules keep only what is theirs: SQL text, binding, connections, transactions and locking.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::audit::{AuditDraft, AuditEntry};
use bulwark_core::exception::{Exception, NewException};
use bulwark_core::group::{DeviceGroup, GroupRule};
use bulwark_core::identity::{ApiToken, ConsoleSession, User};
use bulwark_core::remediation::{CompletionMethod, NewTask, RemediationTask};
use bulwark_core::score::DeviceValue;
use bulwark_core::threat::{EpssScore, EpssSet, KevCatalog, NvdRecord};
use bulwark_core::webhook::{Delivery, EventKind, Webhook};
use bulwark_core::{
    Advisory, Device, DeviceId, DeviceInfo, InstalledPackage, SoftwareKey, Weakness,
};
pub use remediation::{
    AuditFilter, DeliveryOutcome, ExceptionTracking, NewToken, NewUser, NewWebhook,
};

mod audited;
pub mod backup;
mod batch;
mod changes;
mod codec;
pub mod copy;
#[cfg(test)]
mod fixtures;
pub mod postgres;
pub mod remediation;
pub mod sqlite;
pub mod testing;

/// Errors a store reports; callers act on the variant.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The requested row does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The change conflicts with what is stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The data given is invalid (for example an advisory time that is not RFC 3339).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid.
        what: String,
        /// Why.
        reason: String,
    },
    /// The URL names no supported backend or is malformed.
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it is not accepted.
        reason: String,
    },
    /// Stored data could not be decoded (a bug or a corrupted database).
    #[error("corrupt stored data in {table}: {reason}")]
    Corrupt {
        /// Where.
        table: &'static str,
        /// What.
        reason: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// What an advisory import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryUpsertStats {
    /// Records not stored before.
    pub inserted: u64,
    /// Records replaced by a newer `modified`.
    pub updated: u64,
    /// Records whose `modified` was not newer: nothing changed.
    pub unchanged: u64,
    /// Ids of inserted or updated records (the ones whose matches may have changed).
    pub changed_ids: Vec<String>,
}

/// What replacing a device's software set changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryDiff {
    /// Packages present now and not before.
    pub appeared: Vec<InstalledPackage>,
    /// Packages present before and not now.
    pub disappeared: Vec<InstalledPackage>,
}

/// One recorded change of a device's software set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryChange {
    /// When the ingest happened.
    pub at: DateTime<Utc>,
    /// `appeared` or `disappeared`.
    pub change: String,
    /// The package.
    pub package: InstalledPackage,
}

/// What replacing a device's open weaknesses changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeaknessDiff {
    /// Newly detected (device, software, vulnerability) rows.
    pub opened: u64,
    /// Rows no longer detected, now marked resolved.
    pub resolved: u64,
    /// Rows still open.
    pub kept: u64,
}

/// The open weaknesses of one device as the engine computed them (no times: the store assigns them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectedWeakness {
    /// The vulnerable software.
    pub software: SoftwareKey,
    /// Vulnerability id (CVE when known).
    pub vulnerability_id: String,
    /// Advisory ids that report it for this software, sorted.
    pub advisory_ids: Vec<String>,
}

/// What replacing the KEV catalog changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevDiff {
    /// CVEs listed now and not before, in catalog order.
    pub added: Vec<String>,
    /// CVEs listed before and not now.
    pub removed: Vec<String>,
    /// CVEs listed before and now.
    pub kept: u64,
}

/// What an EPSS import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpssStats {
    /// Scores written (new CVEs, or a score of the same or a later date).
    pub written: u64,
    /// Scores not written because a score of a later date is stored.
    pub older: u64,
}

/// The stored EPSS scores, with the model and date of the last import that named them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredEpss {
    /// The model version of the last import, if it named one.
    pub model_version: Option<String>,
    /// The score date of the last import, if it named one.
    pub score_date: Option<String>,
    /// Every stored score, by CVE id.
    pub scores: Vec<EpssScore>,
}

/// How often each kind of state that engines keep in memory has changed: one counter per kind, bumped
/// in the same transaction as every write that changes that state (store table `state_changes`). A
/// process whose copy was built at another sequence rebuilds it; so every process on one database can
/// tell with one small read whether what it holds is what is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSequence {
    /// Bumped by every advisory batch that inserts or updates a record (the advisory index).
    pub advisories: i64,
    /// Bumped by every NVD batch that inserts or updates a record, every KEV catalog and every EPSS set
    /// that writes a score (the threat context).
    pub threat: i64,
    /// Bumped by every write that changes a device, its software set, its open weaknesses, a device
    /// group or an exception (the fleet snapshot); each bump is also logged with the device it touched
    /// (see [`FleetChanges`]), so a process can reload only what changed.
    pub fleet: i64,
}

/// The fleet changes between two values of [`ChangeSequence::fleet`], from the store's change log
/// (table `fleet_changes`): which devices to reload, and whether the shared tables changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetChanges {
    /// The sequence these changes lead up to (the `upto` asked for).
    pub seq: i64,
    /// `false` when the log no longer holds every change of the range (older ones are pruned, or the
    /// range is longer than a log read is allowed to be): the reader must reload the whole fleet.
    pub complete: bool,
    /// Devices whose row, software set or open weaknesses changed.
    pub devices: BTreeSet<DeviceId>,
    /// Whether exceptions or device groups changed (a group change can also move devices between
    /// groups: the device rows are reloaded with them).
    pub shared: bool,
}

/// One database connection pool's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// The pool's role: `writer` and `reader` for SQLite (an in-memory database's two roles share one
    /// connection), `main` for PostgreSQL.
    pub pool: &'static str,
    /// Connections open, idle or in use.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// Changes to a device's attributes that are not part of an ingest; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePatch {
    /// The device value.
    pub value: Option<DeviceValue>,
    /// The whole tag list.
    pub tags: Option<Vec<String>>,
    /// The explicit group assignment: `Some(None)` removes it (rules decide again).
    pub group: Option<Option<String>>,
}

/// A device group to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeviceGroup {
    /// Unique name.
    pub name: String,
    /// What the group is for.
    pub description: String,
    /// Rank among rule groups (lowest first).
    pub rank: i64,
    /// Rules; empty for explicit assignment only.
    pub rules: Vec<GroupRule>,
}

/// Changes to a device group; `None` keeps the stored value. A rename moves the devices explicitly
/// assigned to the group with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGroupPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New rank.
    pub rank: Option<i64>,
    /// New rules.
    pub rules: Option<Vec<GroupRule>>,
}

/// What a score snapshot is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScoreScope {
    /// The whole organisation (the name is empty).
    Organization,
    /// One device group (by name).
    Group,
    /// One device (by name).
    Device,
}

impl ScoreScope {
    /// The stored `scope` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreScope::Organization => "organization",
            ScoreScope::Group => "group",
            ScoreScope::Device => "device",
        }
    }
}

/// The scores of one scope at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreSnapshot {
    /// When the scores were computed.
    pub at: DateTime<Utc>,
    /// What they are of.
    pub scope: ScoreScope,
    /// The group's or device's name; empty for the organisation.
    pub name: String,
    /// The exposure score (0–100).
    pub exposure: f64,
    /// The secure score for devices (0–100), when anything was assessed.
    pub configuration: Option<f64>,
}

/// Persistence operations Bulwark needs. Implementations are safe to share across tasks.
///
/// Every write that changes what engines hold in memory (advisories, NVD records, the KEV catalog, EPSS
/// scores) bumps its kind's [`ChangeSequence`] counter in its own transaction; a write that changes
/// nothing does not.
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores advisories. A record replaces the stored one with the same id only when its `modified` is
    /// later; the same or an older `modified` changes nothing. Atomic: all of the batch or none.
    async fn upsert_advisories(&self, advisories: &[Advisory]) -> StoreResult<AdvisoryUpsertStats>;

    /// Every stored advisory (withdrawn ones included; the matcher skips them).
    async fn advisories(&self) -> StoreResult<Vec<Advisory>>;

    /// One advisory by id.
    async fn advisory(&self, id: &str) -> StoreResult<Option<Advisory>>;

    /// Creates the device or updates its OS, group and tags (fields given as `None`/empty keep their
    /// stored value), setting `last_seen` (and `first_seen` on creation) to `at`.
    async fn upsert_device(&self, info: &DeviceInfo, at: DateTime<Utc>) -> StoreResult<Device>;

    /// All devices, ordered by name.
    async fn devices(&self) -> StoreResult<Vec<Device>>;

    /// One device by id.
    async fn device(&self, id: DeviceId) -> StoreResult<Option<Device>>;

    /// One device by its unique name.
    async fn device_by_name(&self, name: &str) -> StoreResult<Option<Device>>;

    /// Replaces the device's software set atomically and records what appeared and disappeared at `at`.
    async fn replace_inventory(
        &self,
        device: DeviceId,
        packages: &[InstalledPackage],
        at: DateTime<Utc>,
    ) -> StoreResult<InventoryDiff>;

    /// The device's current software set.
    async fn device_software(&self, device: DeviceId) -> StoreResult<Vec<InstalledPackage>>;

    /// The device's recorded software changes, newest first.
    async fn inventory_history(&self, device: DeviceId) -> StoreResult<Vec<InventoryChange>>;

    /// Every device's current software set, as (device, package) pairs (for a full re-match).
    async fn all_software(&self) -> StoreResult<Vec<(DeviceId, InstalledPackage)>>;

    /// Replaces the device's open weaknesses atomically: rows not open before are opened at `at`
    /// (first detected), open rows missing from `detected` are resolved at `at`, the rest stay as they are.
    async fn replace_weaknesses(
        &self,
        device: DeviceId,
        detected: &[DetectedWeakness],
        at: DateTime<Utc>,
    ) -> StoreResult<WeaknessDiff>;

    /// Open weaknesses of every device.
    async fn open_weaknesses(&self) -> StoreResult<Vec<Weakness>>;

    /// One device's open weaknesses, in the order [`Store::open_weaknesses`] lists them.
    async fn open_weaknesses_of(&self, device: DeviceId) -> StoreResult<Vec<Weakness>>;

    /// Every weakness of one device, open and resolved.
    async fn device_weaknesses(&self, device: DeviceId) -> StoreResult<Vec<Weakness>>;

    /// Stores NVD records. A record replaces the stored one of the same CVE only when its
    /// `lastModified` is later. Atomic: all of the batch or none.
    async fn upsert_nvd(&self, records: &[NvdRecord]) -> StoreResult<AdvisoryUpsertStats>;

    /// Every stored NVD record, by CVE id.
    async fn nvd_records(&self) -> StoreResult<Vec<NvdRecord>>;

    /// Replaces the stored KEV catalog with `catalog` (atomically), recording its version and `at`.
    async fn replace_kev(&self, catalog: &KevCatalog, at: DateTime<Utc>) -> StoreResult<KevDiff>;

    /// The stored KEV catalog (entries by CVE id).
    async fn kev(&self) -> StoreResult<KevCatalog>;

    /// Stores EPSS scores: a CVE's stored score is replaced unless it has a later score date than the
    /// set's. Atomic; records the set's model and date and `at`.
    async fn upsert_epss(&self, set: &EpssSet, at: DateTime<Utc>) -> StoreResult<EpssStats>;

    /// Every stored EPSS score.
    async fn epss(&self) -> StoreResult<StoredEpss>;

    /// Changes a device's value, tags or explicit group; `NotFound` when it does not exist.
    async fn update_device(&self, id: DeviceId, patch: &DevicePatch) -> StoreResult<Device>;

    /// Every device group, by rank then id.
    async fn device_groups(&self) -> StoreResult<Vec<DeviceGroup>>;

    /// Creates a device group; `Conflict` when the name is taken.
    async fn create_device_group(
        &self,
        group: &NewDeviceGroup,
        at: DateTime<Utc>,
    ) -> StoreResult<DeviceGroup>;

    /// Changes a device group (a rename carries its explicitly assigned devices along); `NotFound`,
    /// or `Conflict` when the new name is taken.
    async fn update_device_group(
        &self,
        id: i64,
        patch: &DeviceGroupPatch,
    ) -> StoreResult<DeviceGroup>;

    /// Deletes a device group; its explicitly assigned devices lose the assignment. `NotFound` when
    /// it does not exist.
    async fn delete_device_group(&self, id: i64) -> StoreResult<()>;

    /// Appends score snapshots.
    async fn record_scores(&self, snapshots: &[ScoreSnapshot]) -> StoreResult<()>;

    /// The snapshots of one scope and name with `from <= at <= to`, oldest first.
    async fn score_history(
        &self,
        scope: ScoreScope,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ScoreSnapshot>>;

    /// The time of the newest organisation snapshot, if any.
    async fn latest_score_time(&self) -> StoreResult<Option<DateTime<Utc>>>;

    /// Checks that the database answers (for health checks).
    async fn ping(&self) -> StoreResult<()>;

    /// The change sequence as committed (one small read; engines call it before serving reads).
    async fn change_sequence(&self) -> StoreResult<ChangeSequence>;

    /// The fleet changes after sequence `after` up to and including `upto` (a `fleet` value that
    /// [`Store::change_sequence`] returned): one read of the change log, or none when the range is too
    /// long to be worth reading (then `complete` is false).
    async fn fleet_changes(&self, after: i64, upto: i64) -> StoreResult<FleetChanges>;

    /// The state of the store's connection pools, without touching the database.
    fn pool_status(&self) -> Vec<PoolStatus>;

    /// Replaces the device's configuration check results from `source` atomically with `results`
    /// (results from other sources stay), recording `at` as their assessment time. Every result must be
    /// from `source` (`Invalid` otherwise); a check given twice keeps its last result. `NotFound` when the
    /// device does not exist.
    async fn replace_config_results(
        &self,
        device: DeviceId,
        source: bulwark_core::config::CheckSource,
        results: &[bulwark_core::config::CheckResult],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every device's configuration check results, by device, then source, then check id.
    async fn config_results(
        &self,
    ) -> StoreResult<Vec<(DeviceId, bulwark_core::config::CheckResult)>>;

    /// One device's configuration check results, by source, then check id.
    async fn device_config_results(
        &self,
        device: DeviceId,
    ) -> StoreResult<Vec<bulwark_core::config::CheckResult>>;

    /// Stores checks that are not Bulwark's own (OpenSCAP rules), replacing a stored check with the same
    /// id; a check given twice keeps its last definition.
    async fn upsert_config_checks(
        &self,
        checks: &[bulwark_core::config::ConfigCheck],
    ) -> StoreResult<()>;

    /// Every stored check, by id.
    async fn config_checks(&self) -> StoreResult<Vec<bulwark_core::config::ConfigCheck>>;

    // --- Identity, exceptions, remediation activities, audit, webhooks, settings (remediation.rs). ---
    // Every method that changes something takes the acting user's e-mail (`actor`) and the time, and
    // appends the audit entry in the same transaction (action names in parentheses).

    /// Creates a user (`user.create`); `Conflict` when the e-mail is taken.
    async fn create_user(
        &self,
        user: &NewUser,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Replaces a user's password hash (`user.password`; the entry holds the user, never the hash) and
    /// ends the user's console sessions. `NotFound` for an unknown user.
    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Every user, by id.
    async fn users(&self) -> StoreResult<Vec<User>>;

    /// A user by normalised e-mail, with the password hash.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>>;

    /// Stores a token (`token.create`; the audit entry holds the token's metadata, never its digest).
    /// `NotFound` for an unknown user; `Conflict` when a token with the digest exists.
    async fn create_token(
        &self,
        token: &NewToken,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ApiToken>;

    /// The token with this digest and its user.
    async fn token_by_digest(&self, digest: &str) -> StoreResult<Option<(ApiToken, User)>>;

    /// Records that a token was used (no audit entry: it is not a change of state anyone decided);
    /// `NotFound` when it does not exist.
    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;

    /// A user's tokens, by id.
    async fn tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>>;

    /// Revokes a token (`token.revoke`); `NotFound` when it does not exist, `Conflict` when it is
    /// revoked already.
    async fn revoke_token(&self, id: i64, actor: &str, at: DateTime<Utc>) -> StoreResult<ApiToken>;

    /// Stores a console session (no audit entry: signing in changes nothing anyone reviews; the
    /// server logs it). `NotFound` for an unknown user; `Conflict` when the digest exists.
    async fn create_session(
        &self,
        user_id: i64,
        digest: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<ConsoleSession>;

    /// The console session with this digest and its user.
    async fn session_by_digest(&self, digest: &str) -> StoreResult<Option<(ConsoleSession, User)>>;

    /// Records a request made with a session; `NotFound` when it does not exist.
    async fn touch_session(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;

    /// Ends a session (sign-out); ending an ended session keeps its first end. `NotFound` when it does
    /// not exist.
    async fn end_session(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;

    /// Stores an exception (`exception.create`). In the same transaction, under a lock that serialises
    /// creations on one target, it checks `bulwark_core::exception::conflicting` against the stored
    /// exceptions at `exception.created_at`: `Conflict` naming the exception (and group) it collides with.
    /// `Invalid` when the scope is neither global nor a non-empty list of groups. Audited at `created_at`.
    async fn create_exception(
        &self,
        exception: &NewException,
        actor: &str,
    ) -> StoreResult<Exception>;

    /// Every exception, by id.
    async fn exceptions(&self) -> StoreResult<Vec<Exception>>;

    /// One exception.
    async fn exception(&self, id: i64) -> StoreResult<Option<Exception>>;

    /// Cancels the whole exception (`groups` = `None`) or some of its device groups
    /// (`exception.cancel`). `NotFound` for an unknown exception or group; `Conflict` when the exception
    /// is not in effect at `at` (canceled or expired) or a named group is already canceled; `Invalid` for
    /// groups of a global exception or an empty list.
    async fn cancel_exception(
        &self,
        id: i64,
        groups: Option<&[String]>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Exception>;

    /// Updates an exception's bookkeeping. With `action` (`exception.resurface`, `exception.expire`)
    /// the change is audited under that name; without, it is coverage tracking and is not audited.
    /// `void_at` cancels the exception by `system` unless it is canceled already. `NotFound`.
    async fn track_exception(
        &self,
        id: i64,
        tracking: &ExceptionTracking,
        action: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Exception>;

    /// Stores a remediation activity, status Active (`remediation.create`, audited at `created_at`).
    async fn create_task(&self, task: &NewTask, actor: &str) -> StoreResult<RemediationTask>;

    /// Every remediation activity, by id.
    async fn tasks(&self) -> StoreResult<Vec<RemediationTask>>;

    /// One remediation activity.
    async fn task(&self, id: i64) -> StoreResult<Option<RemediationTask>>;

    /// Completes an activity (`remediation.complete`); `NotFound`, or `Conflict` when it is already
    /// completed.
    async fn complete_task(
        &self,
        id: i64,
        method: CompletionMethod,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<RemediationTask>;

    /// Deletes completed activities whose status changed before `before` (`remediation.purge`, one
    /// entry per activity). Returns how many.
    async fn purge_tasks(
        &self,
        before: DateTime<Utc>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Appends an audit entry for a change recorded elsewhere (settings, imports of exceptions).
    async fn append_audit(
        &self,
        draft: &AuditDraft,
        before: Option<&str>,
        after: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<AuditEntry>;

    /// Audit entries matching the filter, oldest first; `Invalid` for a negative limit.
    async fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;

    /// Registers a webhook (`webhook.create`; the entry never holds the secret).
    async fn create_webhook(
        &self,
        webhook: &NewWebhook,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Webhook>;

    /// Every webhook, by id, with its secret.
    async fn webhooks(&self) -> StoreResult<Vec<(Webhook, String)>>;

    /// Removes a webhook and all its deliveries, pending or done (`webhook.delete`); `NotFound`.
    async fn delete_webhook(&self, id: i64, actor: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// Queues one delivery of `payload` per webhook subscribed to `event`, due at `at`; `dedup_key`
    /// (when given) makes the enqueue idempotent per webhook (an event already queued with that key is
    /// not queued again). Returns how many were queued.
    async fn enqueue_event(
        &self,
        event: EventKind,
        payload: &str,
        dedup_key: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Deliveries due at `now` (not delivered, not given up, next attempt ≤ now), oldest first, with
    /// their webhook's URL and secret; at most `limit` (`Invalid` when negative). Oldest is the order
    /// they were queued in.
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<(Delivery, String, String)>>;

    /// Every delivery of a webhook, by id (for the API and tests).
    async fn deliveries(&self, webhook_id: i64) -> StoreResult<Vec<Delivery>>;

    /// Records the outcome of an attempt (increments `attempts`): delivered clears the next attempt, a
    /// failure records the error and the next attempt (`None`: given up). `NotFound`, or `Conflict` when
    /// the delivery was delivered already.
    async fn record_delivery(
        &self,
        id: i64,
        outcome: &DeliveryOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Takes or renews the lease of background job `job` for `holder` until `until`: granted when no
    /// one holds it, when `holder` already does, or when the holder's lease ran out before `at` (it
    /// stopped renewing: it died). Returns whether `holder` holds it now. One statement, so two
    /// processes asking at once cannot both be granted.
    async fn try_lease(
        &self,
        job: &str,
        holder: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// A setting's JSON value.
    async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>>;

    /// Sets a setting (`settings.update`, before and after in the entry).
    async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Opens the store a URL names, applying migrations: `sqlite://PATH` or `sqlite::memory:` (see
/// [`sqlite::SqliteStore::open`]), `postgres://…` or `postgresql://…` (see [`postgres::PostgresStore::open`]).
pub async fn open(url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    Ok(match open_backend(url).await? {
        Opened::Sqlite(store) => std::sync::Arc::new(store),
        Opened::Postgres(store) => std::sync::Arc::new(store),
    })
}

/// A store by its backend, for the work below the [`Store`] trait that needs the backend's own
/// connections ([`copy`]: whole tables between databases).
pub(crate) enum Opened {
    /// A SQLite database.
    Sqlite(sqlite::SqliteStore),
    /// A PostgreSQL database.
    Postgres(postgres::PostgresStore),
}

/// Opens the store a URL names, as [`open`] does, keeping its backend's type: the one place where
/// the URL scheme chooses the backend.
pub(crate) async fn open_backend(url: &str) -> StoreResult<Opened> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Opened::Sqlite(sqlite::SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => {
            Ok(Opened::Postgres(postgres::PostgresStore::open(url).await?))
        }
        _ => Err(StoreError::InvalidUrl {
            url: url.to_string(),
            reason: "expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE".into(),
        }),
    }
}
