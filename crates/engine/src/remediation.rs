//! Remediation activities: created from a recommendation for chosen device groups, their progress
//! computed live from the fleet (fixed devices / target devices), completed by a user or by the system
//! when every target device is remediated, and purged after the retention period. Also the audit trail
//! reads (`audit`, `verify_audit`).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::DeviceId;
use bulwark_core::audit::{AuditEntry, ChainBreak, verify};
use bulwark_core::group::UNGROUPED;
use bulwark_core::identity::{Action, User};
use bulwark_core::recommendation::EXPOSURE_WINDOW_DAYS;
use bulwark_core::remediation::{
    CompletionMethod, DEFAULT_RETENTION_DAYS, NewTask, Priority, RemediationTask, TaskStatus,
    progress,
};
use bulwark_core::webhook::EventKind;
use bulwark_store::AuditFilter;

use crate::exceptions::{SYSTEM_ACTOR, require};
use crate::views::Fleet;
use crate::{Engine, EngineError, EngineResult};

/// The settings key of the retention of completed activities, in days.
pub const RETENTION_SETTING: &str = "remediationRetentionDays";

/// The longest notes, in characters.
const MAX_NOTES: usize = 4000;

/// A remediation activity as requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskRequest {
    /// The recommendation to remediate.
    pub recommendation_id: String,
    /// Target device groups (empty or absent: every group with exposed devices).
    #[serde(default)]
    pub device_groups: Vec<String>,
    /// `High`, `Medium` or `Low`.
    pub priority: String,
    /// Due date; absent means "attention required".
    #[serde(default)]
    pub due_on: Option<DateTime<Utc>>,
    /// Notes for whoever remediates.
    #[serde(default)]
    pub notes: String,
}

/// An activity as the API shows it (MDVM's `remediationTasks` field names), with its live progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// Store id.
    pub id: i64,
    /// Title ("Update django to 4.2.16").
    pub title: String,
    /// What it is about.
    pub description: String,
    /// `Software` (activities created from software recommendations).
    pub category: String,
    /// `Update` when a version to move to is known, else `Uninstall`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The recommendation it remediates.
    pub recommendation_id: String,
    /// The component.
    pub related_component: String,
    /// The version to move to.
    pub recommended_version: Option<String>,
    /// When created.
    pub created_on: DateTime<Utc>,
    /// Due date (`None`: attention required).
    pub due_on: Option<DateTime<Utc>>,
    /// `High`, `Medium` or `Low`.
    pub priority: Priority,
    /// Who asked.
    pub requester_email: String,
    /// The requester's notes.
    pub requester_notes: String,
    /// `Active` or `Completed`.
    pub status: TaskStatus,
    /// When the status last changed.
    pub status_last_modified_on: DateTime<Utc>,
    /// `Automatic` ("System confirmation") or `Manual`.
    pub completion_method: Option<CompletionMethod>,
    /// Who completed it (`system` for automatic completion).
    pub completer_email: Option<String>,
    /// Target device groups.
    pub rbac_group_names: Vec<String>,
    /// Target devices.
    pub target_devices: u64,
    /// Target devices that no longer carry the recommendation's weaknesses.
    pub fixed_devices: u64,
    /// No due date: attention required, no progress expected.
    pub attention_required: bool,
    /// Past its due date and still active.
    pub overdue: bool,
}

/// A target device of an activity, with whether it is fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskMachine {
    /// Store id.
    pub id: i64,
    /// Device name (`None` when it left the fleet).
    pub computer_dns_name: Option<String>,
    /// Its group now.
    pub rbac_group_name: Option<String>,
    /// It no longer carries the recommendation's weaknesses.
    pub fixed: bool,
}

impl Fleet {
    /// Devices with an open weakness of this recommendation.
    fn exposed_by(&self, recommendation: &str) -> BTreeSet<DeviceId> {
        self.weaknesses_of(recommendation)
            .into_iter()
            .map(|w| w.device_id)
            .collect()
    }

    fn task_view(&self, task: RemediationTask, exposed: &BTreeSet<DeviceId>) -> TaskView {
        let (fixed, target) = progress(&task.request.target_device_ids, |d| {
            exposed.contains(&DeviceId(d))
        });
        let attention_required = task.attention_required();
        let overdue = task.overdue(self.now);
        let r = task.request;
        TaskView {
            id: task.id,
            title: r.title,
            description: r.description,
            category: "Software".to_string(),
            kind: if r.recommended_version.is_some() {
                "Update".to_string()
            } else {
                "Uninstall".to_string()
            },
            recommendation_id: r.recommendation_id,
            related_component: r.related_component,
            recommended_version: r.recommended_version,
            created_on: r.created_on,
            due_on: r.due_on,
            priority: r.priority,
            requester_email: r.requester_email,
            requester_notes: r.requester_notes,
            status: task.status,
            status_last_modified_on: task.status_last_modified_on,
            completion_method: task.completion_method,
            completer_email: task.completer_email,
            rbac_group_names: r.rbac_group_names,
            target_devices: target,
            fixed_devices: fixed,
            attention_required,
            overdue,
        }
    }
}

impl Engine {
    /// Creates a remediation activity (analysts and admins).
    pub async fn create_task(&self, actor: &User, request: TaskRequest) -> EngineResult<TaskView> {
        require(actor, Action::ManageActivities)?;
        let priority = Priority::parse(&request.priority).ok_or_else(|| {
            EngineError::Invalid(format!(
                "priority: {:?} is not one of High, Medium, Low",
                request.priority
            ))
        })?;
        if request.notes.chars().count() > MAX_NOTES {
            return Err(EngineError::Invalid(format!(
                "notes: at most {MAX_NOTES} characters"
            )));
        }
        let fleet = self.fleet().await?;
        if let Some(due) = request.due_on
            && due <= fleet.now
        {
            return Err(EngineError::Invalid("dueOn: must be in the future".into()));
        }
        let recommendation = fleet
            .recommendations(&self.index(), &self.threat())
            .into_iter()
            .find(|r| r.id == request.recommendation_id)
            .ok_or_else(|| {
                EngineError::NotFound(format!("recommendation {}", request.recommendation_id))
            })?;
        let groups_of = fleet.device_group_names();
        let cutoff = fleet.now - Duration::days(EXPOSURE_WINDOW_DAYS);
        let active: BTreeSet<DeviceId> = fleet
            .devices
            .iter()
            .filter(|d| d.last_seen >= cutoff)
            .map(|d| d.id)
            .collect();
        let exposed: BTreeSet<DeviceId> = fleet
            .exposed_by(&recommendation.id)
            .into_iter()
            .filter(|d| active.contains(d))
            .collect();
        let exposed_groups: BTreeSet<&str> = exposed
            .iter()
            .map(|d| groups_of.get(d).copied().unwrap_or(UNGROUPED))
            .collect();
        let groups: BTreeSet<String> = if request.device_groups.is_empty() {
            exposed_groups.iter().map(|g| g.to_string()).collect()
        } else {
            let mut set = BTreeSet::new();
            for g in &request.device_groups {
                if !exposed_groups.contains(g.as_str()) {
                    return Err(EngineError::Invalid(format!(
                        "deviceGroups: group {g:?} has no device exposed by {}",
                        recommendation.id
                    )));
                }
                set.insert(g.clone());
            }
            set
        };
        let targets: Vec<i64> = exposed
            .iter()
            .filter(|d| groups.contains(groups_of.get(d).copied().unwrap_or(UNGROUPED)))
            .map(|d| d.0)
            .collect();
        if targets.is_empty() {
            return Err(EngineError::Invalid(format!(
                "recommendationId: {} has no exposed device to remediate",
                recommendation.id
            )));
        }
        let new = NewTask {
            recommendation_id: recommendation.id.clone(),
            title: recommendation.recommendation_name.clone(),
            description: format!(
                "{} weaknesses in {} ({}); {} exposed devices",
                recommendation.weaknesses,
                recommendation.product_name,
                recommendation.vendor,
                targets.len()
            ),
            related_component: recommendation.product_name.clone(),
            recommended_version: recommendation.recommended_version.clone(),
            priority,
            due_on: request.due_on,
            notes: request.notes.trim().to_string(),
            groups: groups.into_iter().collect(),
            target_devices: targets,
            created_by: actor.email.clone(),
            created_at: fleet.now,
        };
        let task = self.store.create_task(&new, &actor.email).await?;
        let exposed_now = fleet.exposed_by(&task.request.recommendation_id);
        Ok(fleet.task_view(task, &exposed_now))
    }

    /// Every remediation activity with its live progress.
    pub async fn tasks(&self) -> EngineResult<Vec<TaskView>> {
        let fleet = self.fleet().await?;
        let tasks = self.store.tasks().await?;
        let mut exposed: HashMap<String, BTreeSet<DeviceId>> = HashMap::new();
        Ok(tasks
            .into_iter()
            .map(|t| {
                let e = exposed
                    .entry(t.request.recommendation_id.clone())
                    .or_insert_with(|| fleet.exposed_by(&t.request.recommendation_id))
                    .clone();
                fleet.task_view(t, &e)
            })
            .collect())
    }

    /// One activity; `NotFound` when unknown.
    pub async fn task(&self, id: i64) -> EngineResult<TaskView> {
        let fleet = self.fleet().await?;
        let task = self
            .store
            .task(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("remediation activity {id}")))?;
        let exposed = fleet.exposed_by(&task.request.recommendation_id);
        Ok(fleet.task_view(task, &exposed))
    }

    /// An activity's target devices and whether each is fixed.
    pub async fn task_machines(&self, id: i64) -> EngineResult<Vec<TaskMachine>> {
        let fleet = self.fleet().await?;
        let task = self
            .store
            .task(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("remediation activity {id}")))?;
        let exposed = fleet.exposed_by(&task.request.recommendation_id);
        let groups = fleet.device_group_names();
        Ok(task
            .request
            .target_device_ids
            .iter()
            .map(|&id| {
                let device = fleet.devices.iter().find(|d| d.id.0 == id);
                TaskMachine {
                    id,
                    computer_dns_name: device.map(|d| d.name.clone()),
                    rbac_group_name: groups.get(&DeviceId(id)).map(|g| g.to_string()),
                    fixed: !exposed.contains(&DeviceId(id)),
                }
            })
            .collect())
    }

    /// Completes an activity by hand (analysts and admins).
    pub async fn complete_task(&self, actor: &User, id: i64) -> EngineResult<TaskView> {
        require(actor, Action::ManageActivities)?;
        self.store
            .complete_task(id, CompletionMethod::Manual, &actor.email, self.now())
            .await?;
        let view = self.task(id).await?;
        self.notify(
            EventKind::ActivityCompleted,
            &view,
            Some(format!("completed:{id}")),
        )
        .await?;
        Ok(view)
    }

    /// The activity job: completes every active activity whose target devices are all fixed
    /// ("System confirmation"), and purges completed ones older than the retention period. Returns the
    /// ids completed and the number purged.
    pub async fn run_task_job(&self) -> EngineResult<(Vec<i64>, u64)> {
        let now = self.now();
        let mut completed = Vec::new();
        for view in self.tasks().await? {
            if view.status == TaskStatus::Active
                && view.target_devices > 0
                && view.fixed_devices == view.target_devices
            {
                match self
                    .store
                    .complete_task(view.id, CompletionMethod::Automatic, SYSTEM_ACTOR, now)
                    .await
                {
                    Ok(_) => {}
                    // Another replica completed it first.
                    Err(bulwark_store::StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
                let view = self.task(view.id).await?;
                self.notify(
                    EventKind::ActivityCompleted,
                    &view,
                    Some(format!("completed:{}", view.id)),
                )
                .await?;
                completed.push(view.id);
            }
        }
        let retention = match self.store.setting(RETENTION_SETTING).await? {
            Some(v) => v.as_u64().map_or(DEFAULT_RETENTION_DAYS, |d| d as u32),
            None => DEFAULT_RETENTION_DAYS,
        };
        let purged = self
            .store
            .purge_tasks(
                now - Duration::days(i64::from(retention)),
                SYSTEM_ACTOR,
                now,
            )
            .await?;
        Ok((completed, purged))
    }

    /// Audit entries matching the filter, oldest first (readers may see the trail).
    pub async fn audit(&self, filter: &AuditFilter) -> EngineResult<Vec<AuditEntry>> {
        Ok(self.store.audit(filter).await?)
    }

    /// Checks the whole audit chain: the number of entries, or the first entry that does not verify.
    pub async fn verify_audit(&self) -> EngineResult<Result<usize, ChainBreak>> {
        let entries = self.store.audit(&AuditFilter::default()).await?;
        Ok(verify(&entries))
    }
}
