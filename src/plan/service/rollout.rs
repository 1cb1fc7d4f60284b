//! Rollouts (SPEC §3.1): a Service's health from ECS's `deployments`, and the
//! hold: a revision ECS rolled back is never sent again until the document
//! asks for another one or its `ecs-operator/retry-rollout` annotation changes.
//! Pure: decided from the document, the observed service and its deployment
//! history (`Observed::rollouts`).

use jiff::Timestamp;
use serde::Serialize;

use crate::aws::ecs::{DeploymentRecord, ObservedService};
use crate::desired::DesiredService;

/// The tag that remembers, on the service itself, which `retry-rollout`
/// value was acted on: a restart or a new leader does not retry again.
pub const RETRY_TAG: &str = crate::model::RETRY_ROLLOUT_ANNOTATION;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HealthState {
    /// The PRIMARY deployment is in progress.
    Progressing,
    /// The PRIMARY deployment completed and runs the desired count.
    Healthy,
    /// A deployment failed, ECS rolled it back, or tasks keep failing.
    Degraded,
}

impl HealthState {
    pub fn key(self) -> &'static str {
        match self {
            HealthState::Progressing => "progressing",
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
        }
    }

    pub const ALL: [HealthState; 3] = [
        HealthState::Progressing,
        HealthState::Healthy,
        HealthState::Degraded,
    ];
}

/// What ECS is doing with a service, for people and for `apply --wait`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub state: HealthState,
    /// The deployment it is about: ECS's `ecs-svc/…` id, or the service
    /// deployment ARN of a rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// `family:revision` of that deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// ECS's rolloutState of that deployment (IN_PROGRESS, COMPLETED, FAILED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
}

/// A revision ECS rolled back: held, not sent again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    /// The service deployment ECS rolled back (its ARN): one page per deployment.
    pub deployment: String,
    /// `family:revision` that failed.
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<String>,
    /// ECS's reason.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

impl Hold {
    /// `rollout of web:43 failed: 3 tasks failed to start; ECS rolled back to web:42`
    pub fn message(&self) -> String {
        let back = match &self.rolled_back_to {
            Some(to) => format!("; ECS rolled back to {to}"),
            None => "; ECS stopped it".to_owned(),
        };
        format!("rollout of {} failed: {}{back}", self.revision, self.reason)
    }
}

/// The rollout decision for one Service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollout {
    /// Held: the deployment-starting fields stay as ECS left them.
    pub hold: Option<Hold>,
    /// The history could not be read and nothing remembered says otherwise:
    /// the task definition is left as it is (never re-send blindly).
    pub unknown: Option<String>,
    /// A `retry-rollout` value to tag the service with (after the update
    /// that retries, or alone when nothing is held).
    pub retry_tag: Option<String>,
    /// Whether this plan sends the held revision again because of that value.
    pub retrying: bool,
}

impl Rollout {
    /// Whether the deployment-starting fields must not be written now.
    pub fn frozen(&self) -> bool {
        self.hold.is_some() || self.unknown.is_some()
    }
}

/// `…:task-definition/web:3` → `web:3`.
pub fn short_td(td: &str) -> &str {
    // Only an ARN has a `/` (`…:task-definition/family:rev`); a byte search is cheap.
    td.rsplit_once('/').map_or(td, |(_, t)| t)
}

/// Decides the hold. `history` is the service's deployment history when it
/// was asked for (`observe` asks only when the service runs another task
/// definition than `desired_td` and ECS may roll back).
pub fn decide(
    ds: &DesiredService,
    live: &ObservedService,
    desired_td: &str,
    history: Option<&Result<Vec<DeploymentRecord>, String>>,
) -> Rollout {
    let tagged = live.tags.get(RETRY_TAG);
    let retry = ds.retry_rollout.as_ref().filter(|v| tagged != Some(*v));
    let mut rollout = Rollout::default();
    if live.task_definition != desired_td {
        match history {
            Some(Err(e)) => rollout.unknown = Some(e.clone()),
            Some(Ok(records)) => rollout.hold = rolled_back(records, desired_td),
            None => {}
        }
    }
    if let Some(value) = retry {
        rollout.retry_tag = Some(value.clone());
        if rollout.hold.take().is_some() {
            rollout.retrying = true;
        }
    }
    rollout
}

/// The hold, when the newest deployment of `desired_td` is one ECS gave up on.
fn rolled_back(records: &[DeploymentRecord], desired_td: &str) -> Option<Hold> {
    // Newest first: only the latest attempt at this revision counts.
    let newest = records
        .iter()
        .find(|r| r.task_definition.as_deref() == Some(desired_td))?;
    if !newest.failed() {
        return None;
    }
    let reason = newest
        .status_reason
        .clone()
        .or_else(|| newest.rollback_reason.clone())
        .unwrap_or_else(|| format!("the deployment ended {}", newest.status));
    Some(Hold {
        deployment: newest.arn.clone(),
        revision: short_td(desired_td).to_owned(),
        rolled_back_to: newest
            .rolled_back_to
            .as_deref()
            .map(|t| short_td(t).to_owned()),
        reason,
        since: newest.finished_at.or(newest.created_at),
    })
}

/// The service's health from its PRIMARY deployment, or the hold.
pub fn health(live: &ObservedService, hold: Option<&Hold>) -> Option<Health> {
    if let Some(h) = hold {
        return Some(Health {
            state: HealthState::Degraded,
            deployment: Some(h.deployment.clone()),
            revision: Some(h.revision.clone()),
            since: h.since,
            reason: Some(h.message()),
            rollout_state: Some("FAILED".to_owned()),
        });
    }
    let primary = live.primary()?;
    // Formatted only for the services that are not healthy.
    let counts = || {
        format!(
            "{} of {} tasks running",
            primary.running_count, primary.desired_count
        )
    };
    let (state, reason) = match primary.rollout_state.as_deref() {
        Some("FAILED") => (HealthState::Degraded, primary.rollout_state_reason.clone()),
        Some("IN_PROGRESS") => (
            HealthState::Progressing,
            primary.rollout_state_reason.clone(),
        ),
        // COMPLETED, or no rollout state (a Classic Load Balancer): ECS's own
        // "stable" rule (one deployment, running = desired).
        _ if live.running_count >= live.desired_count
            && (primary.rollout_state.is_some() || live.deployments.len() == 1) =>
        {
            (HealthState::Healthy, None)
        }
        _ if primary.failed_tasks > 0 => (
            HealthState::Degraded,
            Some(format!(
                "{} tasks failed; {}",
                primary.failed_tasks,
                counts()
            )),
        ),
        _ => (HealthState::Progressing, Some(counts())),
    };
    Some(Health {
        state,
        deployment: Some(primary.id.clone()),
        revision: Some(short_td(&primary.task_definition).to_owned()),
        since: primary.updated_at.or(primary.created_at),
        reason,
        rollout_state: primary.rollout_state.clone(),
    })
}

#[cfg(test)]
mod tests;
