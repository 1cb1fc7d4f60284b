//! ECS responses mapped to our types: a described service with its
//! deployments, and the service-deployments history.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as sdk;

use crate::aws::ecs::{
    Deployment, DeploymentAlarms, DeploymentConfig, DeploymentRecord, ObservedService, Registry,
    cluster_name,
};
use crate::model::service::{CapacityProviderItem, CircuitBreaker, LoadBalancer, Network};

/// Our records of described service deployments; `task_definitions` maps
/// service revision ARNs to the task definitions they ran.
pub(super) fn records(
    deployments: &[sdk::ServiceDeployment],
    task_definitions: &BTreeMap<String, String>,
) -> Vec<DeploymentRecord> {
    let td_of = |arn: Option<&str>| arn.and_then(|a| task_definitions.get(a)).cloned();
    deployments
        .iter()
        .map(|d| DeploymentRecord {
            arn: d.service_deployment_arn().unwrap_or_default().to_owned(),
            status: d
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: d.status_reason().map(str::to_owned),
            task_definition: td_of(d.target_service_revision().and_then(|r| r.arn())),
            rolled_back_to: td_of(d.rollback().and_then(|r| r.service_revision_arn())),
            rollback_reason: d.rollback().and_then(|r| r.reason()).map(str::to_owned),
            created_at: d.created_at().map(timestamp),
            finished_at: d.finished_at().map(timestamp),
        })
        .collect()
}

fn timestamp(t: &aws_smithy_types::DateTime) -> jiff::Timestamp {
    jiff::Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).unwrap_or(0)).unwrap_or_default()
}

fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn port(n: Option<i32>) -> Option<u16> {
    n.and_then(|p| u16::try_from(p).ok())
}

pub(super) fn observed(cluster: &str, s: &sdk::Service) -> ObservedService {
    let network = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|v| Network {
            subnets: v.subnets().to_vec(),
            security_groups: v.security_groups().to_vec(),
            assign_public_ip: v.assign_public_ip() == Some(&sdk::AssignPublicIp::Enabled),
        });
    let deployment = s.deployment_configuration().map(|d| DeploymentConfig {
        minimum_healthy_percent: d.minimum_healthy_percent().map(to_u32),
        maximum_percent: d.maximum_percent().map(to_u32),
        circuit_breaker: d.deployment_circuit_breaker().map(|c| CircuitBreaker {
            enable: c.enable(),
            rollback: c.rollback(),
        }),
        alarms: d.alarms().map(|a| {
            let mut alarm_names = a.alarm_names().to_vec();
            alarm_names.sort();
            DeploymentAlarms {
                alarm_names,
                enable: a.enable(),
                rollback: a.rollback(),
            }
        }),
    });
    ObservedService {
        arn: s.service_arn().unwrap_or_default().to_owned(),
        cluster: s
            .cluster_arn()
            .map(cluster_name)
            .unwrap_or(cluster_name(cluster))
            .to_owned(),
        name: s.service_name().unwrap_or_default().to_owned(),
        status: s.status().unwrap_or_default().to_owned(),
        desired_count: to_u32(s.desired_count()),
        running_count: to_u32(s.running_count()),
        task_definition: s.task_definition().unwrap_or_default().to_owned(),
        launch_type: s.launch_type().map(|l| l.as_str().to_owned()),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|i| CapacityProviderItem {
                capacity_provider: i.capacity_provider().to_owned(),
                weight: to_u32(i.weight()),
                base: to_u32(i.base()),
            })
            .collect(),
        platform_version: s.platform_version().map(str::to_owned),
        network,
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|lb| LoadBalancer {
                target_group_arn: lb.target_group_arn().unwrap_or_default().to_owned(),
                container_name: lb.container_name().unwrap_or_default().to_owned(),
                container_port: port(lb.container_port()).unwrap_or(0),
            })
            .collect(),
        service_registries: s
            .service_registries()
            .iter()
            .map(|r| Registry {
                registry_arn: r.registry_arn().unwrap_or_default().to_owned(),
                container_name: r.container_name().map(str::to_owned),
                container_port: port(r.container_port()),
                port: port(r.port()),
            })
            .collect(),
        deployment,
        health_check_grace_period_seconds: s.health_check_grace_period_seconds().map(to_u32),
        enable_execute_command: s.enable_execute_command(),
        propagate_tags: s.propagate_tags().map(|p| p.as_str().to_owned()),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        deployments: s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                desired_count: to_u32(d.desired_count()),
                running_count: to_u32(d.running_count()),
                failed_tasks: to_u32(d.failed_tasks()),
                created_at: d.created_at().map(timestamp),
                updated_at: d.updated_at().map(timestamp),
            })
            .collect(),
    }
}
