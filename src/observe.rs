//! Batched reads: the whole estate the desired state touches, in as few calls as
//! the APIs allow (ListServices 100 a page, DescribeServices 10 names a call,
//! DescribeScalableTargets 50 resource ids a call).

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::autoscaling::{DESCRIBE_TARGETS_BATCH, ScalingApi, resource_id};
use crate::aws::ecs::EcsApi;
use crate::aws::{Aws, ErrorKind};
use crate::desired::Desired;
use crate::observed::{Memory, Observed};

mod rollouts;
mod scoped;
mod task_definitions;
use jiff::Timestamp;
pub use scoped::observe_scoped;

use crate::aws::cloudwatch::{CloudWatchApi, DESCRIBE_ALARMS_BATCH};
use crate::aws::discovery::{DiscoveryApi, ECS_ATTRIBUTE};
use crate::aws::sns::SnsApi;
use crate::plan::INSTANCE_TAG;

/// DescribeServices takes at most 10 names.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;

/// Reads every cluster (owned services may live in clusters no document names
/// any more), every service in them, the task definitions documents name, and
/// the scalable targets of desired and owned services with the policies of
/// the ones Autoscalers manage. A failed read is recorded in
/// `Observed::errors`; it never stops the others.
pub async fn observe<A: Aws>(
    desired: &Desired,
    aws: &A,
    instance: &str,
    memory: &mut Memory,
    now: Timestamp,
) -> Observed {
    let mut observed = observe_ecs(desired, aws.ecs()).await;
    task_definitions::observe_task_definitions(desired, aws.ecs(), instance, memory, &mut observed)
        .await;
    rollouts::observe_rollouts(desired, aws.ecs(), memory, &mut observed, None).await;
    observe_scaling(desired, aws.scaling(), instance, &mut observed).await;
    observe_discovery(desired, aws, memory, now, &mut observed).await;
    observe_topics(desired, aws.sns(), &mut observed).await;
    observe_alarms(desired, aws.cloudwatch(), instance, memory, &mut observed).await;
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
        .filter_map(|s| s.spec.task_definition.as_deref())
        .collect();
    let mut resolved = BTreeMap::new();
    for td in wanted {
        resolved.insert(td.to_owned(), resolve(ecs, td).await);
    }
    observed.task_definitions = resolved;
    observed
}

/// A Service's `taskDefinition` as the ARN it names now, or why not.
async fn resolve<E: EcsApi>(ecs: &E, td: &str) -> Result<String, String> {
    ecs.resolve_task_definition(td)
        .await
        .map_err(|e| match e.kind {
            ErrorKind::NotFound => format!("task definition {td} not found"),
            _ => e.to_string(),
        })
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

/// Namespaces, every Cloud Map service with its tags, the instances of declared
/// ones, and the live tasks behind them for stale-instance cleanup.
async fn observe_discovery<A: Aws>(
    desired: &Desired,
    aws: &A,
    memory: &mut Memory,
    now: Timestamp,
    observed: &mut Observed,
) {
    let cm = aws.discovery();
    match cm.list_namespaces().await {
        Ok(n) => observed.namespaces = Some(n),
        Err(e) => {
            observed
                .errors
                .insert("cloud map namespaces".to_owned(), e.to_string());
        }
    }
    match cm.list_services().await {
        Ok(mut services) => {
            let mut complete = true;
            // A service's namespace never changes and its tags only when written:
            // both are remembered, so a steady loop makes no call per service.
            let ids: BTreeSet<&str> = services.iter().map(|s| s.id.as_str()).collect();
            let arns: BTreeSet<&str> = services.iter().map(|s| s.arn.as_str()).collect();
            memory
                .cm_namespaces
                .retain(|id, _| ids.contains(id.as_str()));
            memory.cm_tags.retain(|arn, _| arns.contains(arn.as_str()));
            for s in &mut services {
                match memory.cm_namespaces.get(&s.id) {
                    Some(ns) => s.namespace_id = ns.clone(),
                    None => match cm.service_namespace(&s.id).await {
                        Ok(ns) => {
                            memory.cm_namespaces.insert(s.id.clone(), ns.clone());
                            s.namespace_id = ns;
                        }
                        Err(e) => {
                            complete = false;
                            observed
                                .errors
                                .insert(format!("namespace of {}", s.arn), e.to_string());
                        }
                    },
                }
                match memory.cm_tags.get(&s.arn) {
                    Some(tags) => s.tags = tags.clone(),
                    None => match cm.list_tags(&s.arn).await {
                        Ok(tags) => {
                            memory.cm_tags.insert(s.arn.clone(), tags.clone());
                            s.tags = tags;
                        }
                        Err(e) => {
                            complete = false;
                            observed
                                .errors
                                .insert(format!("tags of {}", s.arn), e.to_string());
                        }
                    },
                }
            }
            if complete {
                services
                    .sort_by(|a, b| (&a.namespace_id, &a.name).cmp(&(&b.namespace_id, &b.name)));
                observed.cm_services = Some(services);
            }
        }
        Err(e) => {
            observed
                .errors
                .insert("cloud map services".to_owned(), e.to_string());
        }
    }
    let mut stale_now = BTreeSet::new();
    // One task listing per cluster serves every Cloud Map service of this observation.
    let mut tasks = TasksByCluster::new();
    for doc in desired.discovery.values() {
        let spec = &doc.doc.spec;
        let name = spec.service_name(&doc.doc.metadata.name);
        let Some(ns) = observed.namespace(&spec.namespace.name, spec.namespace.kind.as_str())
        else {
            continue;
        };
        let Some(service) = observed.cm_service(&ns.id, name).cloned() else {
            continue;
        };
        let instances = match cm.list_instances(&service.id).await {
            Ok(i) => i,
            Err(e) => {
                observed
                    .errors
                    .insert(format!("instances of {}", service.arn), e.to_string());
                continue;
            }
        };
        if spec.remove_stale_instances() {
            let backing = backing_tasks(&service.arn, aws, observed, &mut tasks).await;
            if let Ok(live) = &backing {
                let declared: BTreeSet<&str> =
                    spec.instances().iter().map(|i| i.id.as_str()).collect();
                for i in &instances {
                    let ecs_made = i.attributes.contains_key(ECS_ATTRIBUTE);
                    if ecs_made && !declared.contains(i.id.as_str()) && !live.contains(&i.id) {
                        stale_now.insert((service.id.clone(), i.id.clone()));
                    }
                }
            }
            observed.backing_tasks.insert(service.arn.clone(), backing);
        }
        observed.cm_instances.insert(service.id.clone(), instances);
    }
    // Remember when each instance was first seen stale; forget the ones that are not.
    memory.stale_since.retain(|k, _| stale_now.contains(k));
    for k in stale_now {
        memory.stale_since.entry(k).or_insert(now);
    }
    observed.stale_since = memory.stale_since.clone();
}

/// Cluster → its live tasks by service, or why they could not be listed.
type TasksByCluster = BTreeMap<String, Result<BTreeMap<String, BTreeSet<String>>, String>>;

/// Live task ids of every ECS service registered into the Cloud Map service
/// `arn`. Never complete when some cluster could not be listed: an unseen ECS
/// service might be registered there.
async fn backing_tasks<A: Aws>(
    arn: &str,
    aws: &A,
    observed: &Observed,
    tasks: &mut TasksByCluster,
) -> Result<BTreeSet<String>, String> {
    if let Some((scope, e)) = observed
        .errors
        .iter()
        .find(|(k, _)| k.starts_with("cluster"))
    {
        return Err(format!("{scope} could not be listed: {e}"));
    }
    let registered = observed
        .services
        .values()
        .filter(|s| s.service_registries.iter().any(|r| r.registry_arn == arn));
    let mut live = BTreeSet::new();
    for s in registered {
        if !tasks.contains_key(&s.cluster) {
            let listed = aws.ecs().live_tasks(&s.cluster).await;
            tasks.insert(
                s.cluster.clone(),
                listed.map_err(|e| {
                    format!("tasks of cluster {} could not be listed: {e}", s.cluster)
                }),
            );
        }
        match &tasks[&s.cluster] {
            Ok(by_service) => live.extend(by_service.get(&s.name).into_iter().flatten().cloned()),
            Err(e) => return Err(e.clone()),
        }
    }
    Ok(live)
}

/// Every topic with its tags, and the subscriptions of topics AlertChannels own.
async fn observe_topics<N: SnsApi>(desired: &Desired, sns: &N, observed: &mut Observed) {
    let arns = match sns.list_topics().await {
        Ok(a) => a,
        Err(e) => {
            observed
                .errors
                .insert("sns topics".to_owned(), e.to_string());
            return;
        }
    };
    let mut topics = BTreeMap::new();
    for arn in arns {
        match sns.topic_tags(&arn).await {
            Ok(tags) => {
                topics.insert(arn, tags);
            }
            Err(e) => {
                observed
                    .errors
                    .insert(format!("tags of {arn}"), e.to_string());
                return;
            }
        }
    }
    observed.topics = Some(topics);
    for channel in desired.channels.values() {
        let Some(name) = &channel.doc.spec.topic_name else {
            continue;
        };
        let Some(arn) = observed.topic_named(name).map(str::to_owned) else {
            continue;
        };
        match sns.list_subscriptions(&arn).await {
            Ok(subs) => {
                observed.subscriptions.insert(arn, subs);
            }
            Err(e) => {
                observed
                    .errors
                    .insert(format!("subscriptions of {arn}"), e.to_string());
            }
        }
    }
}

/// Declared alarms (100 names a call) and every other metric alarm with its
/// tags (cached in `memory`), skipping Application Auto Scaling's own. The
/// instance's heartbeat alarm is taken from the listing: never an orphan.
async fn observe_alarms<C: CloudWatchApi>(
    desired: &Desired,
    cw: &C,
    instance: &str,
    memory: &mut Memory,
    observed: &mut Observed,
) {
    let names: Vec<String> = desired
        .alarms
        .iter()
        .map(|(n, a)| a.doc.spec.alarm_name.clone().unwrap_or_else(|| n.clone()))
        .collect();
    let mut alarms = BTreeMap::new();
    for batch in names.chunks(DESCRIBE_ALARMS_BATCH) {
        match cw.describe_alarms(batch).await {
            Ok(found) => alarms.extend(found.into_iter().map(|a| (a.config.name.clone(), a))),
            Err(e) => {
                observed.errors.insert("alarms".to_owned(), e.to_string());
                return;
            }
        }
    }
    let all = match cw.list_alarms().await {
        Ok(all) => all,
        Err(e) => {
            observed.errors.insert("alarms".to_owned(), e.to_string());
            return;
        }
    };
    let mut others = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let heartbeat = crate::plan::heartbeat::alarm_name(instance);
    for alarm in all {
        let (name, arn) = (alarm.config.name.clone(), alarm.arn.clone());
        if let Some(state) = &alarm.state {
            observed.alarm_states.insert(name.clone(), state.clone());
        }
        if name.starts_with("TargetTracking-") {
            continue;
        }
        seen.insert(arn.clone());
        let tags = match remembered_alarm_tags(cw, memory, &arn).await {
            Ok(tags) => tags,
            Err(e) => {
                observed
                    .errors
                    .insert(format!("tags of {arn}"), e.to_string());
                return;
            }
        };
        if name == heartbeat {
            alarms.insert(name, alarm);
            observed.alarm_tags.insert(arn, tags);
        } else if alarms.contains_key(&name) {
            observed.alarm_tags.insert(arn, tags);
        } else {
            others.insert(name, (arn, tags));
        }
    }
    memory.alarm_tags.retain(|arn, _| seen.contains(arn));
    observed.alarms = Some(alarms);
    observed.other_alarms = Some(others);
}

/// An alarm's tags, read once and remembered in `memory` (cleared when the
/// operator tags it).
async fn remembered_alarm_tags<C: CloudWatchApi>(
    cw: &C,
    memory: &mut Memory,
    arn: &str,
) -> Result<BTreeMap<String, String>, crate::aws::AwsError> {
    if let Some(tags) = memory.alarm_tags.get(arn) {
        return Ok(tags.clone());
    }
    let tags = cw.alarm_tags(arn).await?;
    memory.alarm_tags.insert(arn.to_owned(), tags.clone());
    Ok(tags)
}
