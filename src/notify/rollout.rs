//! `rollout` notifications (SPEC §3.1, §4): a page when a deployment failed or
//! ECS rolled it back, once per deployment; an `info` when a deployment this
//! operator started completed. A rollback is never reported as drift.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Notifier, message, report, sent_topic};
use crate::apply::Outcome;
use crate::aws::sns::Message;
use crate::desired::Desired;
use crate::model::Kind;
use crate::model::alert_channel::{Event, Format, Severity};
use crate::plan::service::rollout::{HealthState, short_td};
use crate::plan::{Op, Plan, Step};

pub const SCHEMA: &str = "ecs-operator/rollout/v1";

/// How long a paged deployment is remembered: longer than any hold lasts
/// unnoticed, short enough that the state file stays small.
const PAGED_SECONDS: i64 = 30 * 24 * 3600;

/// A deployment this operator started, until it completes or fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// `family:revision` it deploys.
    pub revision: String,
    /// ECS's PRIMARY deployment before it: a later one is this one.
    pub replaced: Option<String>,
}

/// What a loop's rollouts came to, for `ecs_operator_rollouts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutResult {
    Completed,
    Failed,
    RolledBack,
}

impl RolloutResult {
    pub fn key(self) -> &'static str {
        match self {
            RolloutResult::Completed => "completed",
            RolloutResult::Failed => "failed",
            RolloutResult::RolledBack => "rolled_back",
        }
    }
}

/// One rollout event about one service.
struct Happened {
    result: RolloutResult,
    summary: String,
    body: serde_json::Value,
}

impl Notifier {
    /// The rollout messages of one loop, and what happened, by result. `plan`
    /// holds what ECS reported at this loop's start; `outcome` what this loop
    /// started (followed from the next loop on).
    pub fn rollouts(
        &mut self,
        desired: &Desired,
        topics: &BTreeMap<String, String>,
        plan: &Plan,
        outcome: &Outcome,
        now: Timestamp,
    ) -> (Vec<Message>, Vec<RolloutResult>) {
        // Small (the deployments in flight): compared to know whether to save.
        let followed_before = self.memory.rollouts_started.clone();
        let mut events = Vec::new();
        for step in plan
            .steps
            .iter()
            .filter(|s| s.resource.kind == Kind::Service)
        {
            if let Some(e) = self.rollout_event(plan, step, now) {
                events.push(e);
            }
        }
        self.memory
            .rollouts_paged
            .retain(|_, at| now.as_second() - at.as_second() <= PAGED_SECONDS);
        // A Service whose document is gone has nothing left to follow.
        if !self.memory.rollouts_started.is_empty() {
            // From the documents, not the plan: a targeted pass plans a few.
            let services: std::collections::BTreeSet<String> = desired
                .services
                .keys()
                .map(|name| format!("{}/{name}", Kind::Service))
                .collect();
            self.memory
                .rollouts_started
                .retain(|r, _| services.contains(r));
        }
        self.record_started(plan, outcome);
        let changed = !events.is_empty() || self.memory.rollouts_started != followed_before;
        let mut messages = Vec::new();
        for e in &events {
            let severity = match e.result {
                RolloutResult::Completed => Severity::Info,
                _ => Severity::Page,
            };
            messages.extend(render(desired, topics, &plan.instance, e, severity));
        }
        if changed {
            self.save();
        }
        (messages, events.iter().map(|e| e.result).collect())
    }

    fn rollout_event(&mut self, plan: &Plan, step: &Step, now: Timestamp) -> Option<Happened> {
        let health = step.health.as_ref()?;
        let failed_key = match (&step.hold, health.rollout_state.as_deref()) {
            (Some(h), _) => Some(h.deployment.clone()),
            (None, Some("FAILED")) if health.state == HealthState::Degraded => {
                health.deployment.clone()
            }
            _ => None,
        };
        // Most services neither failed nor are followed: nothing is formatted for them.
        if failed_key.is_none() && self.memory.rollouts_started.is_empty() {
            return None;
        }
        let resource = step.resource.to_string();
        if let Some(key) = failed_key {
            // Followed no longer: the failure is its end.
            self.memory.rollouts_started.remove(&resource);
            if self.memory.rollouts_paged.contains_key(&key) {
                return None;
            }
            self.memory.rollouts_paged.insert(key.clone(), now);
            let (result, summary, rolled_back_to, reason, action) = match &step.hold {
                Some(h) => (
                    if h.rolled_back_to.is_some() {
                        RolloutResult::RolledBack
                    } else {
                        RolloutResult::Failed
                    },
                    format!("{}: {resource} {}", plan.instance, h.message()),
                    h.rolled_back_to.clone(),
                    h.reason.clone(),
                    format!(
                        "holding: {} is not sent again until the document asks for another revision or its {} annotation changes",
                        h.revision,
                        crate::model::RETRY_ROLLOUT_ANNOTATION
                    ),
                ),
                None => (
                    RolloutResult::Failed,
                    format!(
                        "{}: {resource} rollout of {} failed: {}",
                        plan.instance,
                        health.revision.as_deref().unwrap_or("?"),
                        health.reason.as_deref().unwrap_or("ECS reports FAILED")
                    ),
                    None,
                    health.reason.clone().unwrap_or_default(),
                    "nothing: ECS stopped the deployment without a rollback; fix the revision or roll it back in the document".to_owned(),
                ),
            };
            let revision = step
                .hold
                .as_ref()
                .map(|h| h.revision.clone())
                .or_else(|| health.revision.clone());
            return Some(Happened {
                result,
                summary: summary.clone(),
                body: serde_json::json!({
                    "summary": summary,
                    "schema": SCHEMA,
                    "event": "rollout",
                    "severity": "page",
                    "instance": plan.instance,
                    "revision": plan.revision,
                    "resource": resource,
                    "arn": step.arn,
                    "result": result.key(),
                    "deployment": key,
                    "taskDefinition": revision,
                    "rolledBackTo": rolled_back_to,
                    "reason": reason,
                    "action": action,
                    "at": now,
                }),
            });
        }
        let started = self.memory.rollouts_started.get(&resource)?;
        let done = health.state == HealthState::Healthy
            && health.revision.as_deref() == Some(started.revision.as_str())
            && health.deployment != started.replaced;
        if !done {
            return None;
        }
        self.memory.rollouts_started.remove(&resource);
        let revision = health.revision.clone().unwrap_or_default();
        let summary = format!(
            "{}: {resource} rollout of {revision} completed",
            plan.instance
        );
        Some(Happened {
            result: RolloutResult::Completed,
            summary: summary.clone(),
            body: serde_json::json!({
                "summary": summary,
                "schema": SCHEMA,
                "event": "rollout",
                "severity": "info",
                "instance": plan.instance,
                "revision": plan.revision,
                "resource": resource,
                "arn": step.arn,
                "result": "completed",
                "deployment": health.deployment,
                "taskDefinition": revision,
                "at": now,
            }),
        })
    }

    /// Deployments this loop's writes started: followed until they end.
    fn record_started(&mut self, plan: &Plan, outcome: &Outcome) {
        for step in &plan.steps {
            let ok = outcome
                .steps
                .iter()
                .any(|o| o.resource == step.resource && o.error.is_none() && o.writes > 0);
            let Some(revision) = ok.then(|| started_revision(step, outcome)).flatten() else {
                continue;
            };
            let replaced = step.health.as_ref().and_then(|h| h.deployment.clone());
            self.memory
                .rollouts_started
                .insert(step.resource.to_string(), Started { revision, replaced });
        }
    }
}

/// The revision a step's writes deploy, when they start an ECS deployment.
pub fn started_revision(step: &Step, outcome: &Outcome) -> Option<String> {
    step.runnable_ops().iter().find_map(|op| match op {
        Op::CreateService(c) => {
            Some(short_td(&outcome.task_definition(&c.task_definition)).to_owned())
        }
        Op::UpdateService(u) if u.starts_deployment() => match &u.task_definition {
            Some(td) => Some(short_td(&outcome.task_definition(td)).to_owned()),
            None => step.health.as_ref().and_then(|h| h.revision.clone()),
        },
        _ => None,
    })
}

fn render(
    desired: &Desired,
    topics: &BTreeMap<String, String>,
    instance: &str,
    e: &Happened,
    severity: Severity,
) -> Vec<Message> {
    let sev = match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
        Severity::Info => "info",
    };
    let mut out = Vec::new();
    for (name, channel) in &desired.channels {
        let spec = &channel.doc.spec;
        let Some(topic) = sent_topic(topics, name) else {
            continue;
        };
        if !spec.accepts(Event::Rollout, severity) {
            continue;
        }
        let body = match spec.format() {
            Format::Json => serde_json::to_string_pretty(&e.body).unwrap_or_default(),
            Format::Text => text(&e.summary, &e.body),
            Format::Chat => super::chat::rollout(&e.summary, sev, instance, &e.body).render(),
        };
        out.push(message(
            topic,
            report::subject("ROLLOUT", &e.summary),
            body,
            "rollout",
            sev,
            instance,
        ));
    }
    out
}

fn text(summary: &str, body: &serde_json::Value) -> String {
    let mut t = format!("{summary}\n\n");
    for (label, key) in [
        ("service", "resource"),
        ("deployment", "deployment"),
        ("revision", "taskDefinition"),
        ("rolled back to", "rolledBackTo"),
        ("ECS's reason", "reason"),
        ("the operator is", "action"),
    ] {
        if let Some(v) = body[key].as_str() {
            t.push_str(&format!("{label}: {v}\n"));
        }
    }
    t
}
