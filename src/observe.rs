//! Batched reads: the whole estate the desired state touches, in as few calls as
//! the APIs allow (ListServices 100 a page, DescribeServices 10 names a call,
//! DescribeScalableTargets 50 resource ids a call).

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::autoscaling::{DESCRIBE_TARGETS_BATCH, ScalingApi, resource_id};
use crate::aws::ecs::EcsApi;
use crate::aws::{Clients, ErrorKind};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::plan::INSTANCE_TAG;

/// DescribeServices takes at most 10 names.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;

/// Reads every cluster (owned services may live in clusters no document names
/// any more), every service in them, the task definitions documents name, and
/// the scalable targets of desired and owned services with the policies of
/// the ones Autoscalers manage. A failed read is recorded in
/// `Observed::errors`; it never stops the others.
pub async fn observe<E: EcsApi, S: ScalingApi>(
    desired: &Desired,
    aws: &Clients<E, S>,
    instance: &str,
) -> Observed {
    let mut observed = observe_ecs(desired, &aws.ecs).await;
    observe_scaling(desired, &aws.scaling, instance, &mut observed).await;
    observed
}

async fn observe_ecs<E: EcsApi>(desired: &Desired, ecs: &E) -> Observed {
    let mut observed = Observed::default();
    let mut clusters: BTreeSet<String> = desired
        .services
        .values()
        .map(|s| s.cluster.clone())
        .collect();
    match ecs.list_clusters().await {
        Ok(all) => clusters.extend(all),
        Err(e) => {
            observed.errors.insert("clusters".to_owned(), e.to_string());
        }
    }
    for cluster in &clusters {
        let names = match ecs.list_services(cluster).await {
            Ok(names) => names,
            Err(e) if e.kind == ErrorKind::NotFound => {
                observed.missing_clusters.insert(cluster.clone());
                observed.listed_clusters.insert(cluster.clone());
                continue;
            }
            Err(e) => {
                observed
                    .errors
                    .insert(format!("cluster {cluster}"), e.to_string());
                continue;
            }
        };
        let mut complete = true;
        for batch in names.chunks(DESCRIBE_SERVICES_BATCH) {
            match ecs.describe_services(cluster, batch).await {
                Ok(found) => {
                    for s in found.into_iter().filter(|s| s.status != "INACTIVE") {
                        observed
                            .services
                            .insert((cluster.clone(), s.name.clone()), s);
                    }
                }
                Err(e) => {
                    complete = false;
                    observed
                        .errors
                        .insert(format!("cluster {cluster}"), e.to_string());
                }
            }
        }
        if complete {
            observed.listed_clusters.insert(cluster.clone());
        }
    }
    let wanted: BTreeSet<&str> = desired
        .services
        .values()
        .map(|s| s.spec.task_definition.as_str())
        .collect();
    let mut resolved = BTreeMap::new();
    for td in wanted {
        let result = ecs
            .resolve_task_definition(td)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::NotFound => format!("task definition {td} not found"),
                _ => e.to_string(),
            });
        resolved.insert(td.to_owned(), result);
    }
    observed.task_definitions = resolved;
    observed
}

async fn observe_scaling<S: ScalingApi>(
    desired: &Desired,
    scaling: &S,
    instance: &str,
    observed: &mut Observed,
) {
    // Targets of desired services (Autoscalers may manage them) and of every
    // service this instance owns (a target there whose Autoscaler is gone is orphaned).
    let mut ids: BTreeSet<String> = desired
        .services
        .values()
        .map(|s| resource_id(&s.cluster, &s.service_name))
        .collect();
    ids.extend(
        observed
            .services
            .values()
            .filter(|s| s.tags.get(INSTANCE_TAG).map(String::as_str) == Some(instance))
            .map(|s| resource_id(&s.cluster, &s.name)),
    );
    let ids: Vec<String> = ids.into_iter().collect();
    observed.targets_observed = true;
    for batch in ids.chunks(DESCRIBE_TARGETS_BATCH) {
        match scaling.describe_targets(batch).await {
            Ok(found) => observed.targets.extend(found),
            Err(e) => {
                observed.targets_observed = false;
                observed
                    .errors
                    .insert("scalable targets".to_owned(), e.to_string());
            }
        }
    }
    for autoscaler in desired.autoscalers.values() {
        let Some(service) = desired.services.get(&autoscaler.doc.spec.service_ref) else {
            continue;
        };
        let id = resource_id(&service.cluster, &service.service_name);
        if !observed.targets.contains_key(&id) {
            continue;
        }
        match scaling.describe_policies(&id).await {
            Ok(policies) => {
                observed.policies.insert(id, policies);
            }
            Err(e) => {
                observed
                    .errors
                    .insert(format!("scaling policies of {id}"), e.to_string());
            }
        }
    }
}
