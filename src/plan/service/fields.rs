//! Field-level comparison of one ECS service: normalised projections of the
//! managed fields, the single UpdateService they add up to, and creation input.

use std::collections::BTreeMap;

use serde_json::json;

use crate::aws::ecs::{DeploymentConfig, ObservedService, Registry, ServiceCreate, ServiceUpdate};
use crate::desired::DesiredService;
use crate::model::service::{CapacityProviderItem, Network};
use crate::plan::Change;

/// Accumulates drifted fields into one UpdateService (its cluster and name
/// are filled in when it is sent, so an in-sync service allocates nothing here).
#[derive(Default)]
pub(super) struct Diff {
    pub changes: Vec<Change>,
    pub update: ServiceUpdate,
    pub touched: bool,
}

impl Diff {
    /// Records a drifted field; equal typed values cost no JSON.
    pub fn field<T: serde::Serialize + PartialEq>(
        &mut self,
        name: &str,
        actual: T,
        desired: T,
        set: impl FnOnce(&mut ServiceUpdate),
    ) {
        if actual != desired {
            self.changes.push(Change {
                field: name.to_owned(),
                actual: json!(actual),
                desired: json!(desired),
                decided_by: None,
            });
            set(&mut self.update);
            self.touched = true;
        }
    }
}

/// Launch type and capacity provider strategy (SPEC §2.1): a strategy is set in
/// place; an empty strategy returns to the launch type; a different launch type
/// needs a new service. Returns the replacement reason, if any.
pub(super) fn launch_and_capacity(
    ds: &DesiredService,
    live: &ObservedService,
    diff: &mut Diff,
) -> Option<String> {
    if let Some(want) = &ds.spec.capacity_provider_strategy {
        let want = normal_strategy(want);
        let have = normal_strategy(&live.capacity_provider_strategy);
        diff.field("capacityProviderStrategy", &have, &want, |u| {
            u.capacity_provider_strategy = Some(want.clone())
        });
        return None;
    }
    let want = ds.spec.launch_type?.as_str();
    if !live.capacity_provider_strategy.is_empty() {
        diff.field(
            "capacityProviderStrategy",
            normal_strategy(&live.capacity_provider_strategy),
            Vec::new(),
            |u| u.capacity_provider_strategy = Some(Vec::new()),
        );
    }
    match live.launch_type.as_deref() {
        Some(have) if have != want => {
            diff.changes.push(Change {
                field: "launchType".to_owned(),
                actual: json!(have),
                desired: json!(want),
                decided_by: None,
            });
            Some(format!(
                "launchType cannot change from {have} to {want} in place"
            ))
        }
        _ => None,
    }
}

pub(super) fn normal_strategy(items: &[CapacityProviderItem]) -> Vec<CapacityProviderItem> {
    let mut v = items.to_vec();
    v.sort();
    v
}

/// Whether two networks are equal as sets of subnets and security groups.
pub(super) fn same_network(a: &Network, b: &Network) -> bool {
    fn set(v: &[String]) -> Vec<&str> {
        let mut s: Vec<&str> = v.iter().map(String::as_str).collect();
        s.sort_unstable();
        s.dedup();
        s
    }
    a.assign_public_ip == b.assign_public_ip
        && (a.subnets == b.subnets || set(&a.subnets) == set(&b.subnets))
        && (a.security_groups == b.security_groups
            || set(&a.security_groups) == set(&b.security_groups))
}

pub(super) fn normal_network(n: &Network) -> Network {
    let mut n = n.clone();
    n.subnets.sort();
    n.subnets.dedup();
    n.security_groups.sort();
    n.security_groups.dedup();
    n
}

/// Registries with ARNs: a `discoveryService` document resolves to its Cloud
/// Map service's ARN, or to a placeholder when that service is created in the
/// same apply (`apply` fills the ARN in).
pub(super) fn resolve_registries(
    ds: &DesiredService,
    registry_arns: &BTreeMap<String, String>,
) -> Option<Vec<Registry>> {
    let regs = ds.spec.service_registries.as_ref()?;
    let mut out: Vec<Registry> = regs
        .iter()
        .filter_map(|r| {
            let arn = match (&r.registry_arn, &r.discovery_service) {
                (Some(arn), _) => arn.clone(),
                (None, Some(name)) => registry_arns.get(name)?.clone(),
                (None, None) => return None,
            };
            Some(Registry {
                registry_arn: arn,
                container_name: r.container_name.clone(),
                container_port: r.container_port,
                port: r.port,
            })
        })
        .collect();
    out.sort();
    Some(out)
}

pub(super) fn creation(
    ds: &DesiredService,
    task_definition: String,
    desired_count: u32,
    service_registries: Vec<Registry>,
    tags: BTreeMap<String, String>,
) -> ServiceCreate {
    let s = &ds.spec;
    ServiceCreate {
        cluster: ds.cluster.clone(),
        name: ds.service_name.clone(),
        task_definition,
        desired_count,
        launch_type: s.launch_type.map(|l| l.as_str().to_owned()),
        capacity_provider_strategy: s.capacity_provider_strategy.clone().unwrap_or_default(),
        platform_version: s.platform_version.clone(),
        network: s.network.clone(),
        load_balancers: s.load_balancers.clone().unwrap_or_default(),
        service_registries,
        deployment: s.deployment.as_ref().map(|d| DeploymentConfig {
            minimum_healthy_percent: d.minimum_healthy_percent,
            maximum_percent: d.maximum_percent,
            circuit_breaker: d.circuit_breaker,
            alarms: ds.deployment_alarms.clone(),
        }),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds,
        enable_execute_command: s.enable_execute_command,
        propagate_tags: s.propagate_tags.map(|p| p.as_str().to_owned()),
        tags,
    }
}
