//! Remediation activities: a request to fix one recommendation on chosen device groups, with a
//! priority and a due date (or "attention required"), whose progress is computed from the fleet and which
//! completes itself when every target device is remediated.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How soon an activity should be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Priority {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Medium => "Medium",
            Priority::High => "High",
        }
    }

    /// The priority an API name stands for (case-insensitive).
    pub fn parse(s: &str) -> Option<Priority> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Priority::Low),
            "medium" => Some(Priority::Medium),
            "high" => Some(Priority::High),
            _ => None,
        }
    }
}

/// An activity's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskStatus {
    /// Open.
    Active,
    /// Done.
    Completed,
}

impl TaskStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Active => "Active",
            TaskStatus::Completed => "Completed",
        }
    }

    /// The status an API name stands for.
    pub fn parse(s: &str) -> Option<TaskStatus> {
        match s {
            "Active" => Some(TaskStatus::Active),
            "Completed" => Some(TaskStatus::Completed),
            _ => None,
        }
    }
}

/// How an activity was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompletionMethod {
    /// "System confirmation": every target device was remediated.
    Automatic,
    /// A user completed it.
    Manual,
}

impl CompletionMethod {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            CompletionMethod::Automatic => "Automatic",
            CompletionMethod::Manual => "Manual",
        }
    }

    /// The method an API name stands for.
    pub fn parse(s: &str) -> Option<CompletionMethod> {
        match s {
            "Automatic" => Some(CompletionMethod::Automatic),
            "Manual" => Some(CompletionMethod::Manual),
            _ => None,
        }
    }
}

/// How long completed activities are kept, by default (MDVM keeps them 180 days).
pub const DEFAULT_RETENTION_DAYS: u32 = 180;

/// A validated activity, ready to be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    /// The recommendation it remediates.
    pub recommendation_id: String,
    /// Its title ("Update django to 4.2.16").
    pub title: String,
    /// What the recommendation is about.
    pub description: String,
    /// The component (product name).
    pub related_component: String,
    /// The version to move to, when known.
    pub recommended_version: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Due date; `None` is "attention required" (no due date, no progress tracked).
    pub due_on: Option<DateTime<Utc>>,
    /// The requester's notes.
    pub notes: String,
    /// The device groups it targets (sorted, distinct).
    pub groups: Vec<String>,
    /// The devices exposed in those groups when it was created (store ids, sorted).
    pub target_devices: Vec<i64>,
    /// Who asked.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A remediation activity as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationTask {
    /// Store id.
    pub id: i64,
    /// What was requested.
    #[serde(flatten)]
    pub request: TaskFields,
    /// Active or Completed.
    pub status: TaskStatus,
    /// When the status last changed.
    pub status_last_modified_on: DateTime<Utc>,
    /// How it was completed.
    pub completion_method: Option<CompletionMethod>,
    /// Who completed it (`system` for automatic completion).
    pub completer_email: Option<String>,
}

/// The requested part of an activity (the same fields as [`NewTask`], camelCase for the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFields {
    /// The recommendation it remediates.
    pub recommendation_id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The component.
    pub related_component: String,
    /// The version to move to.
    pub recommended_version: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Due date (`None`: attention required).
    pub due_on: Option<DateTime<Utc>>,
    /// The requester's notes.
    pub requester_notes: String,
    /// Target device groups.
    pub rbac_group_names: Vec<String>,
    /// Target devices (store ids).
    pub target_device_ids: Vec<i64>,
    /// Who asked.
    pub requester_email: String,
    /// When.
    pub created_on: DateTime<Utc>,
}

impl From<NewTask> for TaskFields {
    fn from(t: NewTask) -> TaskFields {
        TaskFields {
            recommendation_id: t.recommendation_id,
            title: t.title,
            description: t.description,
            related_component: t.related_component,
            recommended_version: t.recommended_version,
            priority: t.priority,
            due_on: t.due_on,
            requester_notes: t.notes,
            rbac_group_names: t.groups,
            target_device_ids: t.target_devices,
            requester_email: t.created_by,
            created_on: t.created_at,
        }
    }
}

impl RemediationTask {
    /// Whether "attention required": no due date.
    pub fn attention_required(&self) -> bool {
        self.request.due_on.is_none()
    }

    /// Whether it is past its due date at `now` and still active.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == TaskStatus::Active && self.request.due_on.is_some_and(|d| d < now)
    }

    /// Whether a completed activity has outlived the retention period at `now`.
    pub fn expired_retention(&self, now: DateTime<Utc>, retention_days: u32) -> bool {
        self.status == TaskStatus::Completed
            && now - self.status_last_modified_on >= Duration::days(i64::from(retention_days))
    }
}

/// Progress of an activity: how many of its target devices no longer carry the recommendation's
/// weaknesses. A target device that left the fleet counts as fixed (nothing vulnerable remains on it).
pub fn progress(targets: &[i64], still_exposed: impl Fn(i64) -> bool) -> (u64, u64) {
    let fixed = targets.iter().filter(|d| !still_exposed(**d)).count() as u64;
    (fixed, targets.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_fixed_targets() {
        assert_eq!(progress(&[1, 2, 3], |d| d == 2), (2, 3));
        assert_eq!(progress(&[], |_| true), (0, 0));
    }

    #[test]
    fn names_round_trip() {
        for p in [Priority::Low, Priority::Medium, Priority::High] {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert_eq!(Priority::parse("urgent"), None);
        assert_eq!(TaskStatus::parse("Completed"), Some(TaskStatus::Completed));
        assert_eq!(
            CompletionMethod::parse("Automatic"),
            Some(CompletionMethod::Automatic)
        );
    }
}
