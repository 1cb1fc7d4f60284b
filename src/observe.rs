//! Batched reads: the whole estate the desired state touches, in as few calls as
//! the APIs allow (ListServices 100 a page, DescribeServices 10 names a call).

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::ErrorKind;
use crate::aws::ecs::EcsApi;
use crate::desired::Desired;
use crate::observed::Observed;

/// DescribeServices takes at most 10 names.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;

/// Reads every cluster (owned services may live in clusters no document names
/// any more), every service in them, and the task definitions documents name.
/// A failed read is recorded in `Observed::errors`; it never stops the others.
pub async fn observe<E: EcsApi>(desired: &Desired, ecs: &E) -> Observed {
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
