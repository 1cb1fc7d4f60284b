//! Sending a plan's writes: steps in plan order, ops of a step in sequence; a
//! failed step never stops the others, but defers the steps that depend on it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use crate::aws::autoscaling::ScalingApi;
use crate::aws::cloudwatch::CloudWatchApi;
use crate::aws::discovery::{DiscoveryApi, OPERATION_DEADLINE, wait_for};
use crate::aws::ecs::{EcsApi, ServiceUpdate};
use crate::aws::sns::SnsApi;
use crate::aws::{Aws, AwsError};
use crate::model::DocRef;
use crate::plan::task_definition::pending_family;
use crate::plan::{Action, Op, Plan, Step};

mod made;

use made::{Made, lock, self_check, unmade};

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
    /// Task definition family → the revision this apply registered in it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub registered: BTreeMap<String, String>,
    /// AlertChannel → the ARN of the topic this apply created for it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, String>,
}

impl Outcome {
    pub fn failures(&self) -> impl Iterator<Item = &StepOutcome> {
        self.steps.iter().filter(|s| s.error.is_some())
    }
    pub fn writes(&self) -> usize {
        self.steps.iter().map(|s| s.writes).sum()
    }

    /// A task definition of the plan with the placeholder of a revision this
    /// apply registered replaced by its ARN.
    pub fn task_definition(&self, td: &str) -> String {
        pending_family(td)
            .and_then(|f| self.registered.get(f))
            .map_or_else(|| td.to_owned(), Clone::clone)
    }
}

/// Whether writes must stop now: a stop was requested, or the lease was lost.
pub trait Halt: Sync {
    fn halted(&self) -> bool;
}

impl Halt for AtomicBool {
    fn halted(&self) -> bool {
        self.load(Ordering::SeqCst)
    }
}

impl<F: Fn() -> bool + Sync> Halt for F {
    fn halted(&self) -> bool {
        self()
    }
}

/// Writes in flight at once per AWS service. Resources are independent, but
/// AWS throttles an account's writes to a service as a whole.
pub const WRITES_PER_SERVICE: usize = 4;

/// Sends every runnable op of the steps `ready` lets through. Each resource's
/// ops go in sequence; resources go concurrently, at most
/// `WRITES_PER_SERVICE` writes per AWS service at a time, and a step waits for
/// the step it depends on. `stop` is checked before every write: a stop lets
/// the writes in flight finish and starts none after them.
pub async fn apply<A: Aws>(
    plan: &Plan,
    aws: &A,
    stop: &impl Halt,
    ready: impl Fn(&DocRef) -> bool,
) -> Outcome {
    let made = Mutex::new(Made::default());
    let permits: BTreeMap<&'static str, Semaphore> = SERVICES
        .iter()
        .map(|s| (*s, Semaphore::new(WRITES_PER_SERVICE)))
        .collect();
    // A step whose dependency is held back waits with it: sent alone it would
    // write against something not there yet (found by the fault proxy: a
    // RegisterScalableTarget for a service whose creation was backing off).
    // Dependencies come earlier in plan order, so one pass sees them first.
    // A blocked dependency (unreadable, waiting) counts as held too: an
    // Autoscaler must not register a target for a service not created.
    let mut held: BTreeSet<&DocRef> = plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Blocked)
        .map(|s| &s.resource)
        .collect();
    let mut steps: Vec<&Step> = Vec::new();
    for s in plan.steps.iter().filter(|s| !s.runnable_ops().is_empty()) {
        if !ready(&s.resource) || s.depends_on.iter().any(|d| held.contains(d)) {
            held.insert(&s.resource);
        } else {
            steps.push(s);
        }
    }
    // Each step says here whether it succeeded; its dependents wait for that.
    let mut done: BTreeMap<&DocRef, watch::Sender<Option<bool>>> = BTreeMap::new();
    for step in &steps {
        done.insert(&step.resource, watch::channel(None).0);
    }
    let runs = steps.iter().map(|step| {
        let done = &done;
        let made = &made;
        let permits = &permits;
        async move {
            let result = run_step(step, aws, stop, made, permits, done).await;
            let ok = result.as_ref().is_some_and(|(r, _)| r.error.is_none());
            if let Some(tx) = done.get(&step.resource) {
                tx.send_replace(Some(ok));
            }
            result
        }
    });
    let mut outcome = Outcome::default();
    for result in join_all(runs).await {
        match result {
            Some((step, interrupted)) => {
                outcome.interrupted |= interrupted;
                outcome.steps.push(step);
            }
            None => outcome.interrupted = true,
        }
    }
    outcome.registered = std::mem::take(&mut lock(&made).task_definitions);
    outcome.topics = std::mem::take(&mut lock(&made).topics);
    outcome
}

/// One resource's ops in order. `None` when a stop came before its first write.
async fn run_step<A: Aws>(
    step: &Step,
    aws: &A,
    stop: &impl Halt,
    made: &Mutex<Made>,
    permits: &BTreeMap<&'static str, Semaphore>,
    done: &BTreeMap<&DocRef, watch::Sender<Option<bool>>>,
) -> Option<(StepOutcome, bool)> {
    let mut result = StepOutcome {
        resource: step.resource.clone(),
        target: step.target.clone(),
        writes: 0,
        error: None,
        transient: false,
    };
    for (dep, tx) in step
        .depends_on
        .iter()
        .filter_map(|d| done.get(d).map(|tx| (d, tx)))
    {
        let mut rx = tx.subscribe();
        let ok = rx.wait_for(Option::is_some).await.map(|v| *v == Some(true));
        if !matches!(ok, Ok(true)) {
            if stop.halted() {
                return None;
            }
            // SPEC §3: a failed dependency defers its dependents.
            result.error = Some(format!("deferred: {dep} failed"));
            result.transient = true;
            return Some((result, false));
        }
    }
    for op in step.runnable_ops() {
        if stop.halted() {
            return (result.writes > 0).then_some((result, true));
        }
        let permit = permits.get(service_of(op)).map(Semaphore::acquire);
        let _permit = match permit {
            Some(p) => p.await.ok(),
            None => None,
        };
        // The wait for a permit can be long: ask again before sending.
        if stop.halted() {
            return (result.writes > 0).then_some((result, true));
        }
        result.writes += 1;
        if let Err(e) = send(op, aws, made).await {
            tracing::warn!(resource = %step.resource, action = step.action.key(), error = %e, "write failed");
            result.transient = e.is_transient();
            result.error = Some(e.to_string());
            break;
        }
        tracing::info!(resource = %step.resource, action = step.action.key(), call = crate::plan::json::call_name(op), "write sent");
    }
    Some((result, false))
}

const SERVICES: [&str; 5] = [
    "ecs",
    "application-autoscaling",
    "servicediscovery",
    "sns",
    "cloudwatch",
];

/// The AWS service an op writes to, for its concurrency limit.
fn service_of(op: &Op) -> &'static str {
    match op {
        Op::RegisterTaskDefinition { .. }
        | Op::TagTaskDefinition { .. }
        | Op::DeregisterTaskDefinition { .. }
        | Op::CreateService(_)
        | Op::UpdateService(_)
        | Op::TagService { .. }
        | Op::ScaleToZero { .. }
        | Op::DeleteService { .. } => "ecs",
        Op::RegisterTarget { .. }
        | Op::PutPolicy { .. }
        | Op::DeletePolicy { .. }
        | Op::DeregisterTarget { .. } => "application-autoscaling",
        Op::CreateNamespace { .. }
        | Op::CreateCmService { .. }
        | Op::UpdateCmDns { .. }
        | Op::TagCmService { .. }
        | Op::RegisterInstance { .. }
        | Op::DeregisterInstance { .. }
        | Op::DeleteCmService { .. } => "servicediscovery",
        Op::CreateTopic { .. }
        | Op::TagTopic { .. }
        | Op::Subscribe { .. }
        | Op::Unsubscribe { .. }
        | Op::DeleteTopic { .. } => "sns",
        Op::PutAlarm { .. } | Op::TagAlarm { .. } | Op::DeleteAlarms { .. } => "cloudwatch",
    }
}

async fn send<A: Aws>(op: &Op, aws: &A, made: &Mutex<Made>) -> Result<(), AwsError> {
    let cm = aws.discovery();
    match op {
        Op::RegisterTaskDefinition { content, tags } => {
            let registered = aws.ecs().register_task_definition(content, tags).await?;
            lock(made)
                .task_definitions
                .insert(registered.family.clone(), registered.arn.clone());
            self_check(content, &registered)
        }
        Op::TagTaskDefinition { arn, tags } => aws.ecs().tag_service(arn, tags).await,
        Op::DeregisterTaskDefinition { arn } => aws.ecs().deregister_task_definition(arn).await,
        Op::CreateService(input) => {
            let mut input = input.clone();
            input.service_registries = lock(made).registries(&input.service_registries)?;
            input.task_definition = lock(made).task_definition(&input.task_definition)?;
            aws.ecs().create_service(&input).await.map(|_| ())
        }
        Op::UpdateService(input) => {
            let mut input = input.clone();
            if let Some(regs) = &input.service_registries {
                input.service_registries = Some(lock(made).registries(regs)?);
            }
            if let Some(td) = &input.task_definition {
                input.task_definition = Some(lock(made).task_definition(td)?);
            }
            aws.ecs().update_service(&input).await
        }
        Op::TagService { arn, tags } => aws.ecs().tag_service(arn, tags).await,
        Op::ScaleToZero { cluster, name } => {
            let input = ServiceUpdate {
                cluster: cluster.clone(),
                name: name.clone(),
                desired_count: Some(0),
                ..ServiceUpdate::default()
            };
            aws.ecs().update_service(&input).await
        }
        Op::DeleteService { cluster, name } => aws.ecs().delete_service(cluster, name).await,
        Op::RegisterTarget {
            resource_id,
            min,
            max,
            tags,
        } => {
            aws.scaling()
                .register_target(resource_id, *min, *max, tags)
                .await
        }
        Op::PutPolicy {
            resource_id,
            policy,
        } => aws.scaling().put_policy(resource_id, policy).await,
        Op::DeletePolicy { resource_id, name } => {
            aws.scaling().delete_policy(resource_id, name).await
        }
        Op::DeregisterTarget { resource_id } => aws.scaling().deregister_target(resource_id).await,
        Op::CreateNamespace {
            name,
            kind,
            vpc,
            tags,
        } => {
            let operation = cm
                .create_namespace(name, kind, vpc.as_deref(), tags)
                .await?;
            let id = match wait_for(cm, &operation, OPERATION_DEADLINE).await? {
                Some(id) => id,
                None => cm
                    .list_namespaces()
                    .await?
                    .into_iter()
                    .find(|n| &n.name == name && &n.kind == kind)
                    .map(|n| n.id)
                    .ok_or_else(|| unmade("namespace", name))?,
            };
            lock(made).namespaces.insert(name.clone(), id);
            Ok(())
        }
        Op::CreateCmService {
            doc,
            namespace,
            input,
        } => {
            let namespace_id = lock(made).namespace(namespace)?;
            let created = cm.create_service(&namespace_id, input).await?;
            lock(made).services.insert(doc.clone(), created);
            Ok(())
        }
        Op::UpdateCmDns { service_id, dns } => {
            let operation = cm.update_dns(service_id, dns).await?;
            wait_for(cm, &operation, OPERATION_DEADLINE)
                .await
                .map(|_| ())
        }
        Op::TagCmService { arn, tags } => cm.tag(arn, tags).await,
        Op::RegisterInstance { service, instance } => {
            let service_id = lock(made).service(service)?;
            let operation = cm.register_instance(&service_id, instance).await?;
            wait_for(cm, &operation, OPERATION_DEADLINE)
                .await
                .map(|_| ())
        }
        Op::DeregisterInstance {
            service_id,
            instance_id,
        } => {
            let operation = cm.deregister_instance(service_id, instance_id).await?;
            wait_for(cm, &operation, OPERATION_DEADLINE)
                .await
                .map(|_| ())
        }
        Op::DeleteCmService { service_id } => cm.delete_service(service_id).await,
        Op::CreateTopic { doc, name, tags } => {
            let arn = aws.sns().create_topic(name, tags).await?;
            lock(made).topics.insert(doc.clone(), arn);
            Ok(())
        }
        Op::TagTopic { arn, tags } => aws.sns().tag_topic(arn, tags).await,
        Op::Subscribe {
            topic,
            protocol,
            endpoint,
        } => {
            let arn = lock(made).topic(topic)?;
            aws.sns().subscribe(&arn, protocol, endpoint).await
        }
        Op::Unsubscribe { arn } => aws.sns().unsubscribe(arn).await,
        Op::DeleteTopic { arn } => aws.sns().delete_topic(arn).await,
        Op::PutAlarm { config, keep, tags } => {
            let mut config = config.clone();
            config.alarm_actions = lock(made).actions(&config.alarm_actions)?;
            config.ok_actions = lock(made).actions(&config.ok_actions)?;
            aws.cloudwatch()
                .put_alarm(&config, keep.as_deref(), tags)
                .await
        }
        Op::TagAlarm { arn, tags } => aws.cloudwatch().tag_alarm(arn, tags).await,
        Op::DeleteAlarms { names } => aws.cloudwatch().delete_alarms(names).await,
    }
}
