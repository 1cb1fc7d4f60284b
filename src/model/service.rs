//! `Service`: one ECS service (SPEC §2.1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind, Reference, Spec};

/// An ECS service. Only the fields written here are managed; the rest are never compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// Cluster name or ARN.
    pub cluster: String,
    /// ECS service name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `family:revision`, `family` (the latest ACTIVE revision) or the ARN of
    /// a task definition registered by someone else; exclusive with `taskDefinitionRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Name of a `TaskDefinition` document: the service runs the revision the
    /// operator registered for it and rolls to each new one; exclusive with `taskDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_ref: Option<String>,
    /// Number of tasks; default 1. Owned by the Autoscaler or Schedule that targets the service, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<u32>,
    /// Launch type; exclusive with `capacityProviderStrategy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,
    /// Capacity providers, e.g. FARGATE_SPOT; exclusive with `launchType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderItem>>,
    /// Fargate platform version, e.g. `LATEST` or `1.4.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// awsvpc network configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Load balancer target groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    /// Cloud Map registrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_registries: Option<Vec<ServiceRegistry>>,
    /// Rolling deployment settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    /// Seconds ECS ignores failing load balancer health checks after a task starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
    /// Allow `ecs execute-command` into tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// Where tasks take their tags from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<PropagateTags>,
    /// Tags, merged with the operator's ownership tags. Keys not listed are left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LaunchType {
    Fargate,
    Ec2,
    External,
}

impl LaunchType {
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchType::Fargate => "FARGATE",
            LaunchType::Ec2 => "EC2",
            LaunchType::External => "EXTERNAL",
        }
    }
}

/// One entry of a capacity provider strategy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityProviderItem {
    /// e.g. `FARGATE`, `FARGATE_SPOT` or an Auto Scaling group capacity provider.
    pub capacity_provider: String,
    /// Relative share, 0 to 1000; default 0.
    #[serde(default)]
    pub weight: u32,
    /// Tasks placed here first, 0 to 100000; default 0.
    #[serde(default)]
    pub base: u32,
}

/// awsvpc networking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    /// 1 to 16 subnet ids.
    pub subnets: Vec<String>,
    /// 0 to 5 security group ids.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Give tasks a public IP (needed in public subnets without a NAT gateway); default false.
    #[serde(default)]
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancer {
    /// Target group ARN.
    pub target_group_arn: String,
    /// Container that receives the traffic.
    pub container_name: String,
    /// Port of that container.
    pub container_port: u16,
}

/// A Cloud Map registration: a `DiscoveryService` document or a registry ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceRegistry {
    /// Name of a `DiscoveryService` document; exclusive with `registryArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_service: Option<String>,
    /// Cloud Map service ARN; exclusive with `discoveryService`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Rolling deployment configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployment {
    /// Lower bound of running tasks during a deployment, percent of desiredCount (0 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<u32>,
    /// Upper bound of running tasks during a deployment, percent of desiredCount (100 to 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<u32>,
    /// Stop a failing deployment and optionally roll back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// CloudWatch alarms that make ECS stop (and roll back) a deployment while
    /// one of them is in ALARM: ECS `deploymentConfiguration.alarms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarmsSpec>,
}

/// Deployment alarms: Alarm documents by name and alarms owned by others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentAlarmsSpec {
    /// Names of `Alarm` documents; their CloudWatch alarm names are filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_refs: Option<Vec<String>>,
    /// CloudWatch alarm names the operator does not own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_names: Option<Vec<String>>,
    /// Roll back to the last completed deployment when an alarm fires; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagateTags {
    Service,
    TaskDefinition,
    None,
}

impl PropagateTags {
    pub fn as_str(self) -> &'static str {
        match self {
            PropagateTags::Service => "SERVICE",
            PropagateTags::TaskDefinition => "TASK_DEFINITION",
            PropagateTags::None => "NONE",
        }
    }
}

impl Spec for ServiceSpec {
    const KIND: Kind = Kind::Service;

    fn validate(&self, cx: &mut Cx<'_>) {
        if self.cluster.trim().is_empty() {
            cx.error("spec.cluster", "must not be empty");
        }
        if let Some(name) = &self.service_name
            && !valid_ecs_name(name)
        {
            cx.error(
                "spec.serviceName",
                format!("`{name}` is not a valid ECS service name: 1 to 255 letters, digits, `-` and `_`"),
            );
        }
        cx.exactly_one(
            "spec",
            ("taskDefinition", self.task_definition.is_some()),
            ("taskDefinitionRef", self.task_definition_ref.is_some()),
        );
        if let Some(td) = &self.task_definition
            && !valid_task_definition(td)
        {
            cx.error(
                "spec.taskDefinition",
                format!(
                    "`{td}` is not a task definition: expected `family`, `family:revision` or an ARN"
                ),
            );
        }
        if self.launch_type.is_some() && self.capacity_provider_strategy.is_some() {
            cx.error(
                "spec.capacityProviderStrategy",
                "set only one of `launchType` and `capacityProviderStrategy`",
            );
        }
        if let Some(strategy) = &self.capacity_provider_strategy {
            if strategy.is_empty() {
                cx.error(
                    "spec.capacityProviderStrategy",
                    "must list at least one capacity provider",
                );
            }
            for (i, item) in strategy.iter().enumerate() {
                let at = format!("spec.capacityProviderStrategy[{i}]");
                cx.range(&format!("{at}.weight"), item.weight, 0, 1000);
                cx.range(&format!("{at}.base"), item.base, 0, 100_000);
            }
            if strategy.iter().filter(|i| i.base > 0).count() > 1 {
                cx.error(
                    "spec.capacityProviderStrategy",
                    "only one capacity provider can have a `base`",
                );
            }
            if !strategy.is_empty() && strategy.iter().all(|i| i.weight == 0) {
                cx.error(
                    "spec.capacityProviderStrategy",
                    "at least one capacity provider needs a weight above 0",
                );
            }
        }
        if let Some(net) = &self.network {
            cx.range("spec.network.subnets", net.subnets.len(), 1, 16);
            cx.range(
                "spec.network.securityGroups",
                net.security_groups.len(),
                0,
                5,
            );
            for (i, s) in net.subnets.iter().enumerate() {
                if !s.starts_with("subnet-") {
                    cx.error(
                        &format!("spec.network.subnets[{i}]"),
                        format!("`{s}` is not a subnet id (subnet-…)"),
                    );
                }
            }
            for (i, s) in net.security_groups.iter().enumerate() {
                if !s.starts_with("sg-") {
                    cx.error(
                        &format!("spec.network.securityGroups[{i}]"),
                        format!("`{s}` is not a security group id (sg-…)"),
                    );
                }
            }
        }
        if let Some(lbs) = &self.load_balancers {
            for (i, lb) in lbs.iter().enumerate() {
                if !lb.target_group_arn.starts_with("arn:") {
                    cx.error(
                        &format!("spec.loadBalancers[{i}].targetGroupArn"),
                        "must be a target group ARN",
                    );
                }
            }
        }
        if let Some(regs) = &self.service_registries {
            for (i, r) in regs.iter().enumerate() {
                cx.exactly_one(
                    &format!("spec.serviceRegistries[{i}]"),
                    ("discoveryService", r.discovery_service.is_some()),
                    ("registryArn", r.registry_arn.is_some()),
                );
            }
        }
        if let Some(d) = &self.deployment {
            if let Some(min) = d.minimum_healthy_percent {
                cx.range("spec.deployment.minimumHealthyPercent", min, 0, 100);
            }
            if let Some(max) = d.maximum_percent {
                cx.range("spec.deployment.maximumPercent", max, 100, 200);
            }
            if let Some(a) = &d.alarms {
                let refs = a.alarm_refs.iter().flatten().count();
                let names = a.alarm_names.iter().flatten().count();
                if refs + names == 0 {
                    cx.error(
                        "spec.deployment.alarms",
                        "name at least one alarm in `alarmRefs` or `alarmNames`",
                    );
                }
                // ECS takes at most 10 deployment alarms.
                cx.range("spec.deployment.alarms", refs + names, 0, 10);
                for (i, n) in a.alarm_names.iter().flatten().enumerate() {
                    if n.trim().is_empty() || n.len() > 255 {
                        cx.error(
                            &format!("spec.deployment.alarms.alarmNames[{i}]"),
                            "must be a CloudWatch alarm name (1 to 255 characters)",
                        );
                    }
                }
            }
        }
        if let Some(g) = self.health_check_grace_period_seconds {
            cx.range("spec.healthCheckGracePeriodSeconds", g, 0, 2_147_483_647);
        }
        if let Some(tags) = &self.tags {
            for key in tags.keys() {
                if key.starts_with("aws:") || key.starts_with("ecs-operator/") {
                    cx.error(
                        &format!("spec.tags.{key}"),
                        "tag keys starting with `aws:` or `ecs-operator/` are reserved",
                    );
                }
            }
            cx.range("spec.tags", tags.len(), 0, 48);
        }
    }

    fn references(&self) -> Vec<Reference> {
        let regs = self.service_registries.iter().flatten().enumerate();
        let mut refs: Vec<Reference> = regs
            .filter_map(|(i, r)| {
                Some(Reference {
                    field: format!("spec.serviceRegistries[{i}].discoveryService"),
                    kind: Kind::DiscoveryService,
                    name: r.discovery_service.clone()?,
                })
            })
            .collect();
        if let Some(td) = &self.task_definition_ref {
            refs.push(Reference {
                field: "spec.taskDefinitionRef".to_owned(),
                kind: Kind::TaskDefinition,
                name: td.clone(),
            });
        }
        let alarms = self.deployment.as_ref().and_then(|d| d.alarms.as_ref());
        let alarm_refs = alarms.and_then(|a| a.alarm_refs.as_ref());
        refs.extend(
            alarm_refs
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, name)| Reference {
                    field: format!("spec.deployment.alarms.alarmRefs[{i}]"),
                    kind: Kind::Alarm,
                    name: name.clone(),
                }),
        );
        refs
    }
}

fn valid_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_task_definition(td: &str) -> bool {
    if td.starts_with("arn:") {
        return td.contains(":task-definition/");
    }
    let (family, revision) = match td.split_once(':') {
        Some((f, r)) => (f, Some(r)),
        None => (td, None),
    };
    valid_ecs_name(family) && revision.is_none_or(|r| r.parse::<u32>().is_ok_and(|n| n > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_forms_are_recognised() {
        for ok in [
            "web",
            "web:3",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        ] {
            assert!(valid_task_definition(ok), "{ok}");
        }
        for bad in [
            "",
            "web:",
            "web:0",
            "web:x",
            "we b",
            "arn:aws:ecs:us-east-1:1:service/x",
        ] {
            assert!(!valid_task_definition(bad), "{bad}");
        }
    }
}
