//! What `/status` reports: per resource sync state, the revision, the last loop.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::apply::Outcome;
use crate::load::diagnostic::Diagnostics;
use crate::model::DocRef;
use crate::notify::Causes;
use crate::plan::{Action, Change, Plan};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Observed equal to desired at the last loop.
    pub synced: bool,
    pub action: Action,
    /// Last time the resource was observed equal to desired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<Timestamp>,
    /// First loop of the current drift.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drifted_since: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Consecutive failed attempts, while the resource backs off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u32>,
    /// When a resource backing off is written again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    pub revision: String,
    /// A Service's deployment health: state, deployment, revision, since, reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::plan::service::rollout::Health>,
    /// A revision ECS rolled back, held until the document changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<crate::plan::service::rollout::Hold>,
    /// Who last changed it by hand, from a CloudTrail event (`--events-queue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<crate::events::Actor>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub revision: String,
    pub at: Timestamp,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopReport {
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub ok: bool,
    pub writes: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The last targeted pass (`--events-queue`): what events woke, and its cost.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// `Kind/name` of every resource it planned.
    pub resources: Vec<String>,
    pub writes: usize,
    /// AWS calls, reads included (the queue's own left out).
    pub calls: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The lease: `leader` (writes) or `standby` (observes), and who holds it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleStatus {
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

impl RoleStatus {
    pub fn of(role: &crate::lease::Role) -> Self {
        RoleStatus {
            role: role.label(),
            holder: match role {
                crate::lease::Role::Standby { holder } => holder.clone(),
                crate::lease::Role::Leader { .. } => None,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub instance: String,
    pub dry_run: bool,
    /// With `--lease-table` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleStatus>,
    /// Revision being reconciled (the last valid one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// A newer revision that did not validate, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejected>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_loop: Option<LoopReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_targeted_pass: Option<PassReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    pub resources: BTreeMap<String, ResourceStatus>,
    /// Every Schedule: state, reason, next transition.
    pub schedules: Vec<crate::plan::ScheduleReport>,
    /// Every SLO at its last evaluation.
    pub slos: Vec<SloStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_evaluated_at: Option<Timestamp>,
    /// SLO evaluations since the controller started.
    pub slo_evaluations: u64,
}

/// One SLO: burn rates, budget, and whether its page and ticket are firing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloStatus {
    #[serde(flatten)]
    pub evaluation: crate::slo::Evaluation,
    /// `page` and `ticket` → `firing` or `ok`.
    pub alerts: BTreeMap<&'static str, AlertStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firing_since: Option<Timestamp>,
}

impl SloStatus {
    pub fn new(
        evaluation: crate::slo::Evaluation,
        states: &BTreeMap<String, crate::slo::alerting::AlertState>,
    ) -> Self {
        let alerts = ["page", "ticket"]
            .into_iter()
            .map(|sev| {
                let state = states.get(&format!("{}/{sev}", evaluation.name));
                let firing_since = state.and_then(|s| s.firing_since);
                let word = if firing_since.is_some() {
                    "firing"
                } else {
                    "ok"
                };
                (
                    sev,
                    AlertStatus {
                        state: word,
                        firing_since,
                    },
                )
            })
            .collect();
        SloStatus { evaluation, alerts }
    }
}

impl Status {
    pub fn reject(&mut self, revision: &str, diags: &Diagnostics, now: Timestamp) {
        self.rejected = Some(Rejected {
            revision: revision.to_owned(),
            at: now,
            errors: diags.iter().map(ToString::to_string).collect(),
        });
    }

    /// Folds one loop's plan and apply outcome into the per-resource state.
    pub fn record(&mut self, plan: &Plan, outcome: &Outcome, now: Timestamp) {
        self.record_with(plan, outcome, now, &Causes::default());
    }

    /// `record` of a pass that knows who changed what; a targeted pass
    /// (`causes.scope`) updates its resources and leaves the others.
    pub fn record_with(&mut self, plan: &Plan, outcome: &Outcome, now: Timestamp, causes: &Causes) {
        let mut next = BTreeMap::new();
        for step in &plan.steps {
            let key = step.resource.to_string();
            let before = self.resources.remove(&key);
            let synced = step.action == Action::InSync;
            let error = outcome
                .steps
                .iter()
                .find(|o| o.resource == step.resource)
                .and_then(|o| o.error.clone())
                .or_else(|| (step.action == Action::Blocked).then(|| step.notes.join("; ")));
            let drifted = step.action.is_change();
            let status = ResourceStatus {
                target: step.target.clone(),
                arn: step.arn.clone(),
                synced,
                action: step.action,
                verified_at: if synced {
                    Some(now)
                } else {
                    before.as_ref().and_then(|b| b.verified_at)
                },
                drifted_since: if drifted {
                    before.as_ref().and_then(|b| b.drifted_since).or(Some(now))
                } else {
                    None
                },
                drift: step.changes.clone(),
                notes: step.notes.clone(),
                last_error: error,
                failures: None,
                retry_at: None,
                paused: step.paused.clone(),
                revision: plan.revision.clone(),
                health: step.health.clone(),
                hold: step.hold.clone(),
                changed_by: causes
                    .changed_by
                    .get(&key)
                    .cloned()
                    .or_else(|| before.and_then(|b| b.changed_by)),
            };
            next.insert(key, status);
        }
        if causes.scope.is_some() {
            self.resources.extend(next);
            return;
        }
        self.resources = next;
        self.schedules = plan.schedules.clone();
        self.refused = plan.refused.clone();
        self.revision = Some(plan.revision.clone());
    }

    /// Marks the resources that are backing off: failures, next attempt, last error.
    pub fn held(&mut self, plan: &Plan, held: impl Fn(&DocRef) -> Option<super::backoff::Held>) {
        let now = Timestamp::now();
        for step in &plan.steps {
            let Some(status) = self.resources.get_mut(&step.resource.to_string()) else {
                continue;
            };
            if let Some(h) = held(&step.resource) {
                status.failures = Some(h.failures);
                status.retry_at = jiff::SignedDuration::try_from(h.retry_in)
                    .ok()
                    .and_then(|d| now.checked_add(d).ok());
                status.last_error.get_or_insert(h.error);
            }
        }
    }
}
