//! A live ECS service as the `Service` document that declares it as it is:
//! only the fields that differ from what the operator assumes when a field is
//! left out (a field left out is never compared, so it can never drift).

use std::collections::BTreeMap;

use crate::aws::ecs::ObservedService;
use crate::model::service::{
    CircuitBreaker, Deployment, DeploymentAlarmsSpec, LaunchType, PropagateTags, ServiceRegistry,
    ServiceSpec,
};

/// How the service names its task definition in the document.
pub enum TaskDefinitionName {
    /// A TaskDefinition document imported beside it.
    Ref(String),
    /// `family:revision`, registered by someone else.
    Pinned(String),
}

/// The document's spec. `autoscaled`: Application Auto Scaling owns the
/// desired count, so it is left out.
pub fn spec(
    live: &ObservedService,
    doc_name: &str,
    td: TaskDefinitionName,
    autoscaled: bool,
) -> ServiceSpec {
    let (task_definition, task_definition_ref) = match td {
        TaskDefinitionName::Ref(doc) => (None, Some(doc)),
        TaskDefinitionName::Pinned(td) => (Some(td), None),
    };
    let strategy = (!live.capacity_provider_strategy.is_empty())
        .then(|| live.capacity_provider_strategy.clone());
    let launch_type = match (&strategy, live.launch_type.as_deref()) {
        (None, Some("FARGATE")) => Some(LaunchType::Fargate),
        (None, Some("EC2")) => Some(LaunchType::Ec2),
        (None, Some("EXTERNAL")) => Some(LaunchType::External),
        _ => None,
    };
    let registries: Vec<ServiceRegistry> = live
        .service_registries
        .iter()
        .map(|r| ServiceRegistry {
            discovery_service: None,
            registry_arn: Some(r.registry_arn.clone()),
            container_name: r.container_name.clone(),
            container_port: r.container_port,
            port: r.port,
        })
        .collect();
    let tags: BTreeMap<String, String> = live
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with("ecs-operator/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ServiceSpec {
        cluster: live.cluster.clone(),
        service_name: (live.name != doc_name).then(|| live.name.clone()),
        task_definition,
        task_definition_ref,
        desired_count: (!autoscaled && live.desired_count != 1).then_some(live.desired_count),
        launch_type,
        capacity_provider_strategy: strategy,
        // LATEST is what ECS runs when none is named.
        platform_version: live.platform_version.clone().filter(|p| p != "LATEST"),
        network: live.network.clone(),
        load_balancers: (!live.load_balancers.is_empty()).then(|| live.load_balancers.clone()),
        service_registries: (!registries.is_empty()).then_some(registries),
        deployment: deployment(live),
        health_check_grace_period_seconds: live
            .health_check_grace_period_seconds
            .filter(|g| *g > 0),
        enable_execute_command: live.enable_execute_command.then_some(true),
        propagate_tags: match live.propagate_tags.as_deref() {
            Some("SERVICE") => Some(PropagateTags::Service),
            Some("TASK_DEFINITION") => Some(PropagateTags::TaskDefinition),
            _ => None,
        },
        tags: (!tags.is_empty()).then_some(tags),
    }
}

/// The deployment settings that are not ECS's defaults (100 %, 200 %, no
/// circuit breaker, no alarms).
fn deployment(live: &ObservedService) -> Option<Deployment> {
    let d = live.deployment.as_ref()?;
    let out = Deployment {
        minimum_healthy_percent: d.minimum_healthy_percent.filter(|p| *p != 100),
        maximum_percent: d.maximum_percent.filter(|p| *p != 200),
        circuit_breaker: d
            .circuit_breaker
            .filter(|c| c.enable || c.rollback)
            .map(|c| CircuitBreaker {
                enable: c.enable,
                rollback: c.rollback,
            }),
        alarms: d
            .alarms
            .as_ref()
            .filter(|a| a.enable && !a.alarm_names.is_empty())
            .map(|a| DeploymentAlarmsSpec {
                alarm_refs: None,
                alarm_names: Some(a.alarm_names.clone()),
                rollback: (!a.rollback).then_some(false),
            }),
    };
    let empty = out.minimum_healthy_percent.is_none()
        && out.maximum_percent.is_none()
        && out.circuit_breaker.is_none()
        && out.alarms.is_none();
    (!empty).then_some(out)
}
