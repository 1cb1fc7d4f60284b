//! Planning ECS services: create, update drifted managed fields, adopt, orphan, replace.

use std::collections::BTreeMap;

mod fields;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use super::{Action, Change, INSTANCE_TAG, OWNER_TAG, Op, PlanOptions, Step};
use crate::aws::ecs::{DeploymentConfig, ObservedService};
use crate::capacity::schedule::Evaluation;
use crate::capacity::{Capacity, Decided};
use crate::desired::DesiredService;
use crate::model::{DocRef, Kind};
use crate::observed::Observed;
use crate::plan::ecs_index::EcsIndex;
use fields::{
    Diff, creation, launch_and_capacity, normal_network, resolve_registries, same_network,
};

/// The tags every owned service carries.
pub fn ownership_tags(instance: &str, owner: &DocRef) -> BTreeMap<String, String> {
    BTreeMap::from([
        (INSTANCE_TAG.to_owned(), instance.to_owned()),
        (OWNER_TAG.to_owned(), owner.to_string()),
    ])
}

fn target(cluster: &str, name: &str) -> String {
    // Once per service per plan: pushing is a fifth of what format! costs.
    let mut t = String::with_capacity(13 + cluster.len() + name.len());
    t.push_str("ecs service ");
    t.push_str(cluster);
    t.push('/');
    t.push_str(name);
    t
}

/// `…:task-definition/web:3` → `web:3`, for people.
fn short_td(td: &str) -> &str {
    // Only an ARN has a `/` (`…:task-definition/family:rev`); a byte search is cheap.
    td.rsplit_once('/').map_or(td, |(_, t)| t)
}

/// The step of one Service document; `live` is its ECS service, if it exists.
pub fn plan_service(
    ds: &DesiredService,
    live: Option<&ObservedService>,
    capacity: &Capacity,
    registry_arns: &BTreeMap<String, String>,
    observed: &Observed,
    options: &PlanOptions,
) -> Step {
    let me = DocRef::new(Kind::Service, &ds.name);
    let mut step = Step::new(
        me.clone(),
        target(&ds.cluster, &ds.service_name),
        Action::InSync,
    );
    step.paused = ds.paused.clone();
    let blocked = |mut step: Step, why: String| {
        step.action = Action::Blocked;
        step.notes.push(why);
        step
    };
    // Errors are rare: no key is formatted for the common case.
    if let Some(e) = (!observed.errors.is_empty())
        .then(|| observed.errors.get(&format!("cluster {}", ds.cluster)))
        .flatten()
    {
        return blocked(
            step,
            format!("could not observe cluster {}: {e}", ds.cluster),
        );
    }
    if observed.missing_clusters.contains(&ds.cluster) {
        return blocked(
            step,
            format!(
                "cluster {} does not exist (the operator does not create clusters)",
                ds.cluster
            ),
        );
    }
    if !observed.listed_clusters.contains(&ds.cluster) {
        return blocked(step, format!("cluster {} was not observed", ds.cluster));
    }
    let task_definition: &str = match observed.task_definitions.get(&ds.spec.task_definition) {
        Some(Ok(arn)) => arn,
        Some(Err(e)) => return blocked(step, e.clone()),
        None => {
            return blocked(
                step,
                format!(
                    "task definition {} was not observed",
                    ds.spec.task_definition
                ),
            );
        }
    };
    if let Some((name, eval)) = &capacity.schedule {
        step.notes.push(schedule_note(name, eval));
    }
    // Its registry ARNs come from Cloud Map: unread, they would look pending
    // and an in-sync service drifted (found by the fault proxy).
    let uses_discovery = ds
        .spec
        .service_registries
        .iter()
        .flatten()
        .any(|r| r.registry_arn.is_none() && r.discovery_service.is_some());
    if uses_discovery && (observed.namespaces.is_none() || observed.cm_services.is_none()) {
        return blocked(
            step,
            "Cloud Map could not be read: its registries are unknown".to_owned(),
        );
    }
    let registries = resolve_registries(ds, registry_arns);
    if let Some(regs) = &registries {
        for r in regs
            .iter()
            .filter_map(|r| r.registry_arn.strip_prefix("discovery:"))
        {
            // Created by an earlier step of the same apply; its ARN is filled in then.
            step.depends_on.push(DocRef::new(Kind::DiscoveryService, r));
            step.notes.push(format!(
                "registers into DiscoveryService/{r}, created first"
            ));
        }
    }
    // Built only when written (create, replace, a missing tag): most services have them all.
    let tags = || {
        let mut tags = ds.spec.tags.clone().unwrap_or_default();
        tags.extend(ownership_tags(&options.instance, &me));
        tags
    };

    let Some(live) = live else {
        let desired_count = capacity.initial_count(ds);
        let create = creation(
            ds,
            task_definition.to_owned(),
            desired_count,
            registries.unwrap_or_default(),
            tags(),
        );
        step.action = Action::Create;
        step.changes.push(Change {
            field: "service".to_owned(),
            actual: Value::Null,
            desired: json!(format!(
                "{} tasks of {}",
                desired_count,
                short_td(&create.task_definition).to_owned()
            )),
            decided_by: capacity
                .desired_count
                .as_ref()
                .map(|d| d.by.to_string())
                .filter(|by| *by != me.to_string()),
        });
        step.ops.push(Op::CreateService(create));
        return step;
    };
    step.arn = Some(live.arn.clone());
    if live.status == "DRAINING" {
        return blocked(
            step,
            "the service is draining after a deletion; it is created again once it is gone"
                .to_owned(),
        );
    }
    let adopting = match live.tags.get(INSTANCE_TAG) {
        None => true,
        Some(owner) if owner == &options.instance => false,
        Some(other) => {
            return blocked(
                step,
                format!("owned by operator instance `{other}`; this instance does not touch it"),
            );
        }
    };

    let mut diff = Diff::default();
    match (&capacity.desired_count, &capacity.bounds) {
        (Some(count), _) => {
            let n = count.value;
            diff.field("desiredCount", live.desired_count, n, |u| {
                u.desired_count = Some(n)
            });
            if count.by != me
                && let Some(c) = diff
                    .changes
                    .last_mut()
                    .filter(|c| c.field == "desiredCount")
            {
                c.decided_by = Some(count.by.to_string());
            }
        }
        (None, Some(bounds)) => step.notes.push(autoscaled_note(live.desired_count, bounds)),
        (None, None) => {}
    }
    // Both are ARNs: equal ones need no shortening.
    if live.task_definition != task_definition {
        diff.field(
            "taskDefinition",
            short_td(&live.task_definition),
            short_td(task_definition),
            |u| u.task_definition = Some(task_definition.to_owned()),
        );
    }
    let replacement = launch_and_capacity(ds, live, &mut diff);
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
    if let Some(d) = &ds.spec.deployment {
        let have = live.deployment.unwrap_or_default();
        // Only the sub-fields the document sets are managed; the others keep their live value.
        let want = DeploymentConfig {
            minimum_healthy_percent: d.minimum_healthy_percent.or(have.minimum_healthy_percent),
            maximum_percent: d.maximum_percent.or(have.maximum_percent),
            circuit_breaker: d.circuit_breaker.or(have.circuit_breaker),
        };
        diff.field("deployment", have, want, |u| u.deployment = Some(want));
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
    let missing_tags: BTreeMap<String, String> = if owned_as_me && user_tags_present {
        BTreeMap::new()
    } else {
        tags()
            .into_iter()
            .filter(|(k, v)| live.tags.get(k) != Some(v))
            .collect()
    };
    for (k, v) in &missing_tags {
        diff.changes.push(Change {
            field: format!("tags.{k}"),
            actual: json!(live.tags.get(k)),
            desired: json!(v),
            decided_by: None,
        });
    }

    step.changes = diff.changes;
    if let Some(why) = replacement {
        step.notes.push(why);
        if options.allow_replace {
            step.action = Action::Replace;
            let desired_count = live.desired_count;
            step.ops = vec![
                Op::ScaleToZero {
                    cluster: ds.cluster.clone(),
                    name: ds.service_name.clone(),
                },
                Op::DeleteService {
                    cluster: ds.cluster.clone(),
                    name: ds.service_name.clone(),
                },
                Op::CreateService(creation(
                    ds,
                    task_definition.to_owned(),
                    desired_count,
                    Vec::new(),
                    tags(),
                )),
            ];
        } else {
            step.action = Action::RequiresReplacement;
        }
        return step;
    }
    // Tags first: the task role may update only services tagged with its
    // instance (deploy/iam-policy.json), so an adopted one is tagged, then updated.
    if !missing_tags.is_empty() {
        step.ops.push(Op::TagService {
            arn: live.arn.clone(),
            tags: missing_tags,
        });
    }
    if diff.touched {
        let mut update = diff.update;
        update.cluster = ds.cluster.clone();
        update.name = ds.service_name.clone();
        step.ops.push(Op::UpdateService(update));
    }
    step.action = match (adopting, step.ops.is_empty()) {
        (true, _) => Action::Adopt,
        (false, true) => Action::InSync,
        (false, false) => Action::Update,
    };
    step
}

/// `Schedule/hours inactive (outside the active windows) until Mon 2026-11-30 08:00 America/New_York`
pub fn schedule_note(name: &str, eval: &Evaluation) -> String {
    let state = if eval.is_active() {
        "active"
    } else {
        "inactive"
    };
    let until = match (&eval.next_transition, &eval.next_local) {
        (Some(t), Some(local)) => format!(" until {local} ({t})"),
        _ => String::new(),
    };
    format!("Schedule/{name} {state} ({}){until}", eval.reason)
}

/// The live desiredCount belongs to Application Auto Scaling: say so, and say
/// what it will do when the count is outside the bounds.
fn autoscaled_note(live: u32, bounds: &Decided<(u32, u32)>) -> String {
    let (min, max) = bounds.value;
    if live < min || live > max {
        format!(
            "desiredCount {live} is outside [{min}, {max}] of {}: Application Auto Scaling moves it to {}",
            bounds.by,
            live.clamp(min, max.max(min))
        )
    } else {
        format!(
            "desiredCount {live} is owned by Application Auto Scaling within [{min}, {max}] of {}",
            bounds.by
        )
    }
}

/// Owned services with no document: orphaned, or deleted with `--prune`.
pub fn orphans(ecs: &EcsIndex<'_>, options: &PlanOptions) -> Vec<Step> {
    let mut steps = Vec::new();
    for (live, doc) in &ecs.all {
        let ours = live.tags.get(INSTANCE_TAG) == Some(&options.instance);
        if !ours || live.status != "ACTIVE" || doc.is_some() {
            continue;
        }
        let (cluster, name) = (&live.cluster, &live.name);
        let doc = live
            .tags
            .get(OWNER_TAG)
            .and_then(|o| o.strip_prefix("Service/"))
            .unwrap_or(name);
        let mut step = Step::new(
            DocRef::new(Kind::Service, doc),
            target(cluster, name),
            Action::Orphaned,
        );
        step.arn = Some(live.arn.clone());
        step.notes
            .push("no document declares it any more".to_owned());
        if options.prune {
            step.action = Action::Delete;
            if live.desired_count > 0 {
                step.ops.push(Op::ScaleToZero {
                    cluster: cluster.clone(),
                    name: name.clone(),
                });
            }
            step.ops.push(Op::DeleteService {
                cluster: cluster.clone(),
                name: name.clone(),
            });
        } else {
            step.notes.push("delete it with --prune".to_owned());
        }
        steps.push(step);
    }
    steps
}
