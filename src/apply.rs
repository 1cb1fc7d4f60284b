//! Sending a plan's writes: steps in plan order, ops of a step in sequence; a
//! failed step never stops the others, but defers the steps that depend on it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::aws::autoscaling::ScalingApi;
use crate::aws::ecs::{EcsApi, ServiceUpdate};
use crate::aws::{AwsError, Clients};
use crate::model::DocRef;
use crate::plan::{Op, Plan};

/// What happened to one step's writes.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub resource: DocRef,
    pub target: String,
    pub writes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub transient: bool,
}

/// The result of applying one plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub steps: Vec<StepOutcome>,
    /// Set when a stop was requested and steps were left for later.
    pub interrupted: bool,
}

impl Outcome {
    pub fn failures(&self) -> impl Iterator<Item = &StepOutcome> {
        self.steps.iter().filter(|s| s.error.is_some())
    }
    pub fn writes(&self) -> usize {
        self.steps.iter().map(|s| s.writes).sum()
    }
}

/// Sends every runnable op. `stop` is checked between writes, so a stop request
/// lets the write in flight finish and sends nothing after it.
pub async fn apply<E: EcsApi, S: ScalingApi>(
    plan: &Plan,
    aws: &Clients<E, S>,
    stop: &AtomicBool,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut failed: BTreeSet<DocRef> = BTreeSet::new();
    for step in &plan.steps {
        let ops = step.runnable_ops();
        if ops.is_empty() {
            continue;
        }
        let mut result = StepOutcome {
            resource: step.resource.clone(),
            target: step.target.clone(),
            writes: 0,
            error: None,
            transient: false,
        };
        if let Some(dep) = step.depends_on.as_ref().filter(|d| failed.contains(*d)) {
            // SPEC §3: a failed dependency defers its dependents.
            result.error = Some(format!("deferred: {dep} failed"));
            result.transient = true;
            failed.insert(step.resource.clone());
            outcome.steps.push(result);
            continue;
        }
        for op in ops {
            if stop.load(Ordering::SeqCst) {
                outcome.interrupted = true;
                break;
            }
            result.writes += 1;
            if let Err(e) = send(op, aws).await {
                tracing::warn!(resource = %step.resource, action = step.action.key(), error = %e, "write failed");
                result.transient = e.is_transient();
                result.error = Some(e.to_string());
                failed.insert(step.resource.clone());
                break;
            }
            tracing::info!(resource = %step.resource, action = step.action.key(), call = crate::plan::json::call_name(op), "write sent");
        }
        outcome.steps.push(result);
        if outcome.interrupted {
            break;
        }
    }
    outcome
}

async fn send<E: EcsApi, S: ScalingApi>(op: &Op, aws: &Clients<E, S>) -> Result<(), AwsError> {
    match op {
        Op::CreateService(input) => aws.ecs.create_service(input).await.map(|_| ()),
        Op::UpdateService(input) => aws.ecs.update_service(input).await,
        Op::TagService { arn, tags } => aws.ecs.tag_service(arn, tags).await,
        Op::ScaleToZero { cluster, name } => {
            let input = ServiceUpdate {
                cluster: cluster.clone(),
                name: name.clone(),
                desired_count: Some(0),
                ..ServiceUpdate::default()
            };
            aws.ecs.update_service(&input).await
        }
        Op::DeleteService { cluster, name } => aws.ecs.delete_service(cluster, name).await,
        Op::RegisterTarget {
            resource_id,
            min,
            max,
            tags,
        } => {
            aws.scaling
                .register_target(resource_id, *min, *max, tags)
                .await
        }
        Op::PutPolicy {
            resource_id,
            policy,
        } => aws.scaling.put_policy(resource_id, policy).await,
        Op::DeletePolicy { resource_id, name } => {
            aws.scaling.delete_policy(resource_id, name).await
        }
        Op::DeregisterTarget { resource_id } => aws.scaling.deregister_target(resource_id).await,
    }
}
