//! Sending a plan's writes: steps in plan order, ops of a step in sequence; a
//! failed step never stops the others, but defers the steps that depend on it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use std::collections::BTreeMap;

use crate::aws::autoscaling::ScalingApi;
use crate::aws::cloudwatch::CloudWatchApi;
use crate::aws::discovery::{DiscoveryApi, OPERATION_DEADLINE, wait_for};
use crate::aws::ecs::{EcsApi, Registry, ServiceUpdate};
use crate::aws::sns::SnsApi;
use crate::aws::{Aws, AwsError, ErrorKind};
use crate::model::DocRef;
use crate::plan::discovery::CmRef;
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
pub async fn apply<A: Aws>(plan: &Plan, aws: &A, stop: &AtomicBool) -> Outcome {
    let mut outcome = Outcome::default();
    let mut made = Made::default();
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
            if let Err(e) = send(op, aws, &mut made).await {
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

/// What earlier ops of this apply created, for the ops that need its ids.
#[derive(Debug, Default)]
struct Made {
    /// Namespace name → id.
    namespaces: BTreeMap<String, String>,
    /// DiscoveryService document → (Cloud Map service id, ARN).
    services: BTreeMap<String, (String, String)>,
    /// AlertChannel document → topic ARN.
    topics: BTreeMap<String, String>,
}

impl Made {
    fn namespace(&self, r: &CmRef) -> Result<String, AwsError> {
        match r {
            CmRef::Id(id) => Ok(id.clone()),
            CmRef::Pending(name) => self
                .namespaces
                .get(name)
                .cloned()
                .ok_or_else(|| unmade("namespace", name)),
        }
    }

    fn service(&self, r: &CmRef) -> Result<String, AwsError> {
        match r {
            CmRef::Id(id) => Ok(id.clone()),
            CmRef::Pending(doc) => self
                .services
                .get(doc)
                .map(|s| s.0.clone())
                .ok_or_else(|| unmade("service of DiscoveryService", doc)),
        }
    }

    fn topic(&self, r: &CmRef) -> Result<String, AwsError> {
        match r {
            CmRef::Id(arn) => Ok(arn.clone()),
            CmRef::Pending(doc) => self
                .topics
                .get(doc)
                .cloned()
                .ok_or_else(|| unmade("topic of AlertChannel", doc)),
        }
    }

    /// Alarm actions with the ARNs of topics made earlier in this apply.
    fn actions(&self, arns: &[String]) -> Result<Vec<String>, AwsError> {
        let mut out: Vec<String> = arns
            .iter()
            .map(|a| match a.strip_prefix("alertchannel:") {
                None => Ok(a.clone()),
                Some(doc) => self.topic(&CmRef::Pending(doc.to_owned())),
            })
            .collect::<Result<_, _>>()?;
        out.sort();
        Ok(out)
    }

    /// Registries with the ARNs of Cloud Map services made earlier in this apply.
    fn registries(&self, regs: &[Registry]) -> Result<Vec<Registry>, AwsError> {
        regs.iter()
            .map(|r| match r.registry_arn.strip_prefix("discovery:") {
                None => Ok(r.clone()),
                Some(doc) => {
                    let (_, arn) = self
                        .services
                        .get(doc)
                        .ok_or_else(|| unmade("service of DiscoveryService", doc))?;
                    Ok(Registry {
                        registry_arn: arn.clone(),
                        ..r.clone()
                    })
                }
            })
            .collect()
    }
}

fn unmade(what: &str, name: &str) -> AwsError {
    AwsError {
        service: "servicediscovery",
        operation: "apply",
        kind: ErrorKind::Transient,
        code: None,
        message: format!("the Cloud Map {what} {name} was not created earlier in this apply"),
    }
}

async fn send<A: Aws>(op: &Op, aws: &A, made: &mut Made) -> Result<(), AwsError> {
    let cm = aws.discovery();
    match op {
        Op::CreateService(input) => {
            let mut input = input.clone();
            input.service_registries = made.registries(&input.service_registries)?;
            aws.ecs().create_service(&input).await.map(|_| ())
        }
        Op::UpdateService(input) => {
            let mut input = input.clone();
            if let Some(regs) = &input.service_registries {
                input.service_registries = Some(made.registries(regs)?);
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
            made.namespaces.insert(name.clone(), id);
            Ok(())
        }
        Op::CreateCmService {
            doc,
            namespace,
            input,
        } => {
            let namespace_id = made.namespace(namespace)?;
            let created = cm.create_service(&namespace_id, input).await?;
            made.services.insert(doc.clone(), created);
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
            let service_id = made.service(service)?;
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
            made.topics.insert(doc.clone(), arn);
            Ok(())
        }
        Op::TagTopic { arn, tags } => aws.sns().tag_topic(arn, tags).await,
        Op::Subscribe {
            topic,
            protocol,
            endpoint,
        } => {
            let arn = made.topic(topic)?;
            aws.sns().subscribe(&arn, protocol, endpoint).await
        }
        Op::Unsubscribe { arn } => aws.sns().unsubscribe(arn).await,
        Op::DeleteTopic { arn } => aws.sns().delete_topic(arn).await,
        Op::PutAlarm { config, keep, tags } => {
            let mut config = config.clone();
            config.alarm_actions = made.actions(&config.alarm_actions)?;
            config.ok_actions = made.actions(&config.ok_actions)?;
            aws.cloudwatch()
                .put_alarm(&config, keep.as_deref(), tags)
                .await
        }
        Op::TagAlarm { arn, tags } => aws.cloudwatch().tag_alarm(arn, tags).await,
        Op::DeleteAlarms { names } => aws.cloudwatch().delete_alarms(names).await,
    }
}
