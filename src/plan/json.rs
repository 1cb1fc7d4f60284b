//! The stable JSON form of a plan (`plan --output json`), documented in the README.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Action, Change, Op, Plan};

pub const SCHEMA: &str = "ecs-operator/plan/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonPlan<'a> {
    schema: &'static str,
    revision: &'a str,
    instance: &'a str,
    at: String,
    has_changes: bool,
    summary: BTreeMap<&'static str, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<&'a str>,
    resources: Vec<JsonStep<'a>>,
    schedules: &'a [super::ScheduleReport],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonStep<'a> {
    resource: String,
    kind: &'static str,
    name: &'a str,
    target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    action: Action,
    changes: &'a [Change],
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    paused: Option<&'a str>,
    /// A Service's deployment health (progressing, healthy, degraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<&'a super::service::rollout::Health>,
    /// A revision ECS rolled back, held until the document changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    hold: Option<&'a super::service::rollout::Hold>,
    /// The AWS write calls apply would make, e.g. `ecs:UpdateService`.
    calls: Vec<&'static str>,
}

pub fn call_name(op: &Op) -> &'static str {
    match op {
        Op::RegisterTaskDefinition { .. } => "ecs:RegisterTaskDefinition",
        Op::TagTaskDefinition { .. } => "ecs:TagResource",
        Op::DeregisterTaskDefinition { .. } => "ecs:DeregisterTaskDefinition",
        Op::CreateService(_) => "ecs:CreateService",
        Op::UpdateService(_) | Op::ScaleToZero { .. } => "ecs:UpdateService",
        Op::TagService { .. } => "ecs:TagResource",
        Op::DeleteService { .. } => "ecs:DeleteService",
        Op::RegisterTarget { .. } => "application-autoscaling:RegisterScalableTarget",
        Op::PutPolicy { .. } => "application-autoscaling:PutScalingPolicy",
        Op::DeletePolicy { .. } => "application-autoscaling:DeleteScalingPolicy",
        Op::DeregisterTarget { .. } => "application-autoscaling:DeregisterScalableTarget",
        Op::CreateNamespace { kind, .. } => match kind.as_str() {
            "HTTP" => "servicediscovery:CreateHttpNamespace",
            "DNS_PRIVATE" => "servicediscovery:CreatePrivateDnsNamespace",
            _ => "servicediscovery:CreatePublicDnsNamespace",
        },
        Op::CreateCmService { .. } => "servicediscovery:CreateService",
        Op::UpdateCmDns { .. } => "servicediscovery:UpdateService",
        Op::TagCmService { .. } => "servicediscovery:TagResource",
        Op::RegisterInstance { .. } => "servicediscovery:RegisterInstance",
        Op::DeregisterInstance { .. } => "servicediscovery:DeregisterInstance",
        Op::DeleteCmService { .. } => "servicediscovery:DeleteService",
        Op::CreateTopic { .. } => "sns:CreateTopic",
        Op::TagTopic { .. } => "sns:TagResource",
        Op::Subscribe { .. } => "sns:Subscribe",
        Op::Unsubscribe { .. } => "sns:Unsubscribe",
        Op::DeleteTopic { .. } => "sns:DeleteTopic",
        Op::PutAlarm { .. } => "cloudwatch:PutMetricAlarm",
        Op::TagAlarm { .. } => "cloudwatch:TagResource",
        Op::DeleteAlarms { .. } => "cloudwatch:DeleteAlarms",
    }
}

pub fn render(plan: &Plan) -> String {
    let mut summary = BTreeMap::new();
    for s in &plan.steps {
        *summary.entry(s.action.key()).or_insert(0) += 1;
    }
    let doc = JsonPlan {
        schema: SCHEMA,
        revision: &plan.revision,
        instance: &plan.instance,
        at: plan.at.to_string(),
        has_changes: plan.has_changes(),
        summary,
        refused: plan.refused.as_deref(),
        schedules: &plan.schedules,
        resources: plan
            .steps
            .iter()
            .map(|s| JsonStep {
                resource: s.resource.to_string(),
                kind: s.resource.kind.as_str(),
                name: &s.resource.name,
                target: &s.target,
                arn: s.arn.as_deref(),
                action: s.action,
                changes: &s.changes,
                notes: &s.notes,
                paused: s.paused.as_deref(),
                health: s.health.as_ref(),
                hold: s.hold.as_ref(),
                calls: s.runnable_ops().iter().map(call_name).collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
