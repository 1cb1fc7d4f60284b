//! A targeted pass's observation (`--events-queue`): the last full
//! observation with the woken resources read again, and nothing else.
//!
//! What is taken from the last full observation is what the scope's plans
//! resolve against and what the pass does not act on: topic ARNs, Cloud Map
//! services, clusters listed, other services and alarms (their steps are
//! dropped). Whatever a targeted plan would write outside its scope means
//! that picture is stale: the controller runs a full pass instead.

use std::collections::BTreeMap;

use crate::aws::Aws;
use crate::aws::autoscaling::{DESCRIBE_TARGETS_BATCH, ScalingApi};
use crate::aws::cloudwatch::{CloudWatchApi, DESCRIBE_ALARMS_BATCH};
use crate::aws::ecs::EcsApi;
use crate::desired::Desired;
use crate::observed::{Memory, Observed};
use crate::watch::scope::Scope;

use super::DESCRIBE_SERVICES_BATCH;

/// `observed` (the last observation) with `scope` read again.
pub async fn observe_scoped<A: Aws>(
    desired: &Desired,
    aws: &A,
    memory: &mut Memory,
    scope: &Scope,
    mut observed: Observed,
) -> Observed {
    // Errors are this pass's own: what it did not read is not acted on.
    observed.errors.clear();
    services(aws.ecs(), scope, &mut observed).await;
    task_definitions(desired, aws.ecs(), scope, &mut observed).await;
    for key in &scope.deployments {
        // A deployment changed state: its history is read again now.
        memory.rollouts.remove(key);
    }
    super::rollouts::observe_rollouts(
        desired,
        aws.ecs(),
        memory,
        &mut observed,
        Some(&scope.services),
    )
    .await;
    scaling(aws.scaling(), scope, &mut observed).await;
    alarms(aws.cloudwatch(), scope, memory, &mut observed).await;
    observed
}

async fn services<E: EcsApi>(ecs: &E, scope: &Scope, observed: &mut Observed) {
    let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (cluster, name) in &scope.services {
        by_cluster.entry(cluster).or_default().push(name.clone());
    }
    for (cluster, names) in by_cluster {
        for batch in names.chunks(DESCRIBE_SERVICES_BATCH) {
            match ecs.describe_services(cluster, batch).await {
                Ok(found) => {
                    // Asked and not found (or INACTIVE): gone.
                    for name in batch {
                        observed
                            .services
                            .remove(&(cluster.to_owned(), name.clone()));
                    }
                    for s in found.into_iter().filter(|s| s.status != "INACTIVE") {
                        observed
                            .services
                            .insert((cluster.to_owned(), s.name.clone()), s);
                    }
                }
                Err(e) => {
                    observed
                        .errors
                        .insert(format!("cluster {cluster}"), e.to_string());
                }
            }
        }
    }
}

async fn task_definitions<E: EcsApi>(
    desired: &Desired,
    ecs: &E,
    scope: &Scope,
    observed: &mut Observed,
) {
    for td in &scope.resolve {
        let result = super::resolve(ecs, td).await;
        observed.task_definitions.insert(td.clone(), result);
    }
    for doc in &scope.task_definitions {
        let Some(td) = desired.task_definitions.get(doc) else {
            continue;
        };
        let latest = super::task_definitions::latest_active(ecs, td.doc.spec.family_or(doc)).await;
        observed.revisions.insert(doc.clone(), latest);
    }
}

async fn scaling<S: ScalingApi>(scaling: &S, scope: &Scope, observed: &mut Observed) {
    let ids: Vec<String> = scope.targets.iter().cloned().collect();
    for batch in ids.chunks(DESCRIBE_TARGETS_BATCH) {
        match scaling.describe_targets(batch).await {
            Ok(found) => {
                for id in batch {
                    observed.targets.remove(id);
                }
                observed.targets.extend(found);
            }
            Err(e) => {
                observed.targets_observed = false;
                observed
                    .errors
                    .insert("scalable targets".to_owned(), e.to_string());
            }
        }
    }
    for id in &scope.policies {
        if !observed.targets.contains_key(id) {
            observed.policies.remove(id);
            continue;
        }
        match scaling.describe_policies(id).await {
            Ok(policies) => {
                observed.policies.insert(id.clone(), policies);
            }
            Err(e) => {
                observed
                    .errors
                    .insert(format!("scaling policies of {id}"), e.to_string());
            }
        }
    }
}

async fn alarms<C: CloudWatchApi>(
    cw: &C,
    scope: &Scope,
    memory: &mut Memory,
    observed: &mut Observed,
) {
    let names: Vec<String> = scope.alarms.iter().cloned().collect();
    let Some(alarms) = observed.alarms.as_mut() else {
        return;
    };
    for batch in names.chunks(DESCRIBE_ALARMS_BATCH) {
        match cw.describe_alarms(batch).await {
            Ok(found) => {
                for name in batch {
                    alarms.remove(name);
                }
                for alarm in found {
                    let arn = alarm.arn.clone();
                    match super::remembered_alarm_tags(cw, memory, &arn).await {
                        Ok(tags) => {
                            observed.alarm_tags.insert(arn, tags);
                        }
                        Err(e) => {
                            observed
                                .errors
                                .insert(format!("tags of {arn}"), e.to_string());
                            observed.alarms = None;
                            return;
                        }
                    }
                    alarms.insert(alarm.config.name.clone(), alarm);
                }
            }
            Err(e) => {
                observed.errors.insert("alarms".to_owned(), e.to_string());
                observed.alarms = None;
                return;
            }
        }
    }
}
