//! The managed fields of a live service against its document: each drifted
//! field becomes a change and a part of one UpdateService (SPEC §2.1).

use std::collections::BTreeMap;

use serde_json::json;

use super::fields::{Diff, launch_and_capacity, normal_network, same_network};
use super::{OWNER_TAG, short_td};
use crate::aws::ecs::{DeploymentConfig, ObservedService, Registry};
use crate::desired::DesiredService;
use crate::plan::{Change, INSTANCE_TAG, PlanOptions};

/// Compares every managed field but desiredCount and tags. `frozen` (a held
/// rollback, or a history that could not be read) leaves the fields that start
/// a deployment as ECS left them. Returns why the service must be replaced, if it must.
pub(super) fn fields(
    ds: &DesiredService,
    live: &ObservedService,
    task_definition: &str,
    registries: Option<Vec<Registry>>,
    frozen: bool,
    diff: &mut Diff,
) -> Option<String> {
    if !frozen {
        deployment_starting(ds, live, task_definition, registries, diff);
    }
    let replacement = launch_and_capacity(ds, live, diff);
    if let Some(d) = &ds.spec.deployment {
        let have = live.deployment.clone().unwrap_or_default();
        // Only the sub-fields the document sets are managed; the others keep their live value.
        let want = DeploymentConfig {
            minimum_healthy_percent: d.minimum_healthy_percent.or(have.minimum_healthy_percent),
            maximum_percent: d.maximum_percent.or(have.maximum_percent),
            circuit_breaker: d.circuit_breaker.or(have.circuit_breaker),
            alarms: ds.deployment_alarms.clone().or(have.alarms.clone()),
        };
        if have != want {
            let sent = want.clone();
            diff.field("deployment", have, want, |u| u.deployment = Some(sent));
        }
    }
    if let Some(g) = ds.spec.health_check_grace_period_seconds {
        diff.field(
            "healthCheckGracePeriodSeconds",
            live.health_check_grace_period_seconds,
            Some(g),
            |u| u.health_check_grace_period_seconds = Some(g),
        );
    }
    if let Some(e) = ds.spec.enable_execute_command {
        diff.field(
            "enableExecuteCommand",
            live.enable_execute_command,
            e,
            |u| u.enable_execute_command = Some(e),
        );
    }
    if let Some(p) = ds.spec.propagate_tags {
        let have = live
            .propagate_tags
            .clone()
            .unwrap_or_else(|| "NONE".to_owned());
        diff.field("propagateTags", have.as_str(), p.as_str(), |u| {
            u.propagate_tags = Some(p.as_str().to_owned())
        });
    }
    replacement
}

/// Task definition, platform version, network, load balancers, registries:
/// ECS starts a deployment when one of them changes.
fn deployment_starting(
    ds: &DesiredService,
    live: &ObservedService,
    task_definition: &str,
    registries: Option<Vec<Registry>>,
    diff: &mut Diff,
) {
    // Both are ARNs: equal ones need no shortening.
    if live.task_definition != task_definition {
        diff.field(
            "taskDefinition",
            short_td(&live.task_definition),
            short_td(task_definition),
            |u| u.task_definition = Some(task_definition.to_owned()),
        );
    }
    if let Some(pv) = &ds.spec.platform_version {
        diff.field(
            "platformVersion",
            live.platform_version.clone(),
            Some(pv.clone()),
            |u| u.platform_version = Some(pv.clone()),
        );
    }
    if let Some(net) = &ds.spec.network {
        // Compared as sets without copying; the normalised copies only for drift.
        if !live
            .network
            .as_ref()
            .is_some_and(|have| same_network(have, net))
        {
            let want = normal_network(net);
            let have = live.network.as_ref().map(normal_network);
            diff.field("network", have, Some(want.clone()), |u| {
                u.network = Some(want.clone())
            });
        }
    }
    if let Some(lbs) = &ds.spec.load_balancers {
        let mut want = lbs.clone();
        want.sort();
        let mut have = live.load_balancers.clone();
        have.sort();
        diff.field("loadBalancers", &have, &want, |u| {
            u.load_balancers = Some(want.clone())
        });
    }
    if let Some(want) = registries {
        let mut have = live.service_registries.clone();
        have.sort();
        diff.field("serviceRegistries", &have, &want, |u| {
            u.service_registries = Some(want.clone())
        });
    }
}

/// The tags of the document and of ownership that the live service lacks,
/// each recorded as a change.
pub(super) fn missing_tags(
    ds: &DesiredService,
    live: &ObservedService,
    options: &PlanOptions,
    tags: impl Fn() -> BTreeMap<String, String>,
    diff: &mut Diff,
) -> BTreeMap<String, String> {
    let owned_as_me = live.tags.get(INSTANCE_TAG) == Some(&options.instance)
        && live
            .tags
            .get(OWNER_TAG)
            .and_then(|o| o.strip_prefix("Service/"))
            == Some(ds.name.as_str());
    let user_tags_present = ds
        .spec
        .tags
        .iter()
        .flatten()
        .all(|(k, v)| live.tags.get(k) == Some(v));
    // The common case allocates nothing.
    if owned_as_me && user_tags_present {
        return BTreeMap::new();
    }
    let missing: BTreeMap<String, String> = tags()
        .into_iter()
        .filter(|(k, v)| live.tags.get(k) != Some(v))
        .collect();
    for (k, v) in &missing {
        diff.changes.push(Change {
            field: format!("tags.{k}"),
            actual: json!(live.tags.get(k)),
            desired: json!(v),
            decided_by: None,
        });
    }
    missing
}
