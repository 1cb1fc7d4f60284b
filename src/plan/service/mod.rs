//! Planning ECS services: create, update drifted managed fields, adopt, orphan, replace.

use std::collections::BTreeMap;

mod compare;
mod fields;
pub mod rollout;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use super::{Action, Change, INSTANCE_TAG, OWNER_TAG, Op, PlanOptions, Step, owned_by_other};
use crate::aws::ecs::ObservedService;
use crate::capacity::schedule::Evaluation;
use crate::capacity::{Capacity, Decided};
use crate::desired::DesiredService;
use crate::model::{DocRef, Kind};
use crate::observed::Observed;
use crate::plan::ecs_index::EcsIndex;
use crate::plan::task_definition::Revision;
use fields::{Diff, creation, resolve_registries};
pub use rollout::short_td;

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

/// The step of one Service document; `live` is its ECS service, if it exists.
/// Read top to bottom: what blocks it, creation, ownership, the rollout
/// decision, the fields, the tags, then the writes.
pub fn plan_service(
    ds: &DesiredService,
    live: Option<&ObservedService>,
    capacity: &Capacity,
    registry_arns: &BTreeMap<String, String>,
    revisions: &BTreeMap<String, Revision>,
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
    let task_definition = match preconditions(ds, revisions, observed) {
        Ok(td) => td,
        Err(why) => return blocked(step, why),
    };
    if let (Some(doc), Some(Revision::Pending(_))) = (
        &ds.spec.task_definition_ref,
        ds.spec
            .task_definition_ref
            .as_ref()
            .and_then(|d| revisions.get(d)),
    ) {
        // Registered by an earlier step of the same apply; its ARN is filled in then.
        step.depends_on.push(DocRef::new(Kind::TaskDefinition, doc));
    }
    if let Some((name, eval)) = &capacity.schedule {
        step.notes.push(schedule_note(name, eval));
    }
    let registries = resolve_registries(ds, registry_arns);
    for r in registries
        .iter()
        .flatten()
        .filter_map(|r| r.registry_arn.strip_prefix("discovery:"))
    {
        // Created by an earlier step of the same apply; its ARN is filled in then.
        step.depends_on.push(DocRef::new(Kind::DiscoveryService, r));
        step.notes.push(format!(
            "registers into DiscoveryService/{r}, created first"
        ));
    }
    deployment_alarm_dependencies(ds, observed, &mut step);
    // Built only when written (create, replace, a missing tag): most services have them all.
    let tags = || {
        let mut tags = ds.spec.tags.clone().unwrap_or_default();
        tags.extend(ownership_tags(&options.instance, &me));
        tags
    };

    let Some(live) = live else {
        return create(step, ds, capacity, task_definition, registries, tags());
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
        Some(other) => return blocked(step, owned_by_other(other)),
    };

    // Histories are rare: no key is built for the common case.
    let history = (!observed.rollouts.is_empty())
        .then(|| {
            observed
                .rollouts
                .get(&(ds.cluster.clone(), ds.service_name.clone()))
        })
        .flatten();
    let rollout = rollout::decide(ds, live, task_definition, history);
    step.health = rollout::health(live, rollout.hold.as_ref());
    rollout_notes(&rollout, task_definition, &mut step);
    alarm_warnings(ds, observed, &mut step);

    let mut diff = Diff::default();
    capacity_field(live, capacity, &me, &mut diff, &mut step);
    let replacement = compare::fields(
        ds,
        live,
        task_definition,
        registries,
        rollout.frozen(),
        &mut diff,
    );
    let missing_tags = compare::missing_tags(ds, live, options, tags, &mut diff);
    step.changes = diff.changes;
    step.hold = rollout.hold;

    if let Some(why) = replacement {
        step.notes.push(why);
        if options.allow_replace {
            step.action = Action::Replace;
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
                    live.desired_count,
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
    // After the update that retries: a failed update must not use the value up.
    if let Some(value) = rollout.retry_tag {
        step.changes.push(Change {
            field: format!("tags.{}", rollout::RETRY_TAG),
            actual: json!(live.tags.get(rollout::RETRY_TAG)),
            desired: json!(value),
            decided_by: None,
        });
        step.ops.push(Op::TagService {
            arn: live.arn.clone(),
            tags: BTreeMap::from([(rollout::RETRY_TAG.to_owned(), value)]),
        });
    }
    step.action = match (adopting, step.ops.is_empty()) {
        (true, _) => Action::Adopt,
        (false, true) => Action::InSync,
        (false, false) => Action::Update,
    };
    step
}

fn blocked(mut step: Step, why: String) -> Step {
    step.action = Action::Blocked;
    step.notes.push(why);
    step
}

/// The task definition ARN to run, or why nothing can be decided about the service.
fn preconditions<'o>(
    ds: &DesiredService,
    revisions: &'o BTreeMap<String, Revision>,
    observed: &'o Observed,
) -> Result<&'o str, String> {
    // Errors are rare: no key is formatted for the common case.
    if let Some(e) = (!observed.errors.is_empty())
        .then(|| observed.errors.get(&format!("cluster {}", ds.cluster)))
        .flatten()
    {
        return Err(format!("could not observe cluster {}: {e}", ds.cluster));
    }
    if observed.missing_clusters.contains(&ds.cluster) {
        return Err(format!(
            "cluster {} does not exist (the operator does not create clusters)",
            ds.cluster
        ));
    }
    if !observed.listed_clusters.contains(&ds.cluster) {
        return Err(format!("cluster {} was not observed", ds.cluster));
    }
    let task_definition = match (&ds.spec.task_definition, &ds.spec.task_definition_ref) {
        (Some(td), _) => match observed.task_definitions.get(td) {
            Some(Ok(arn)) => arn.as_str(),
            Some(Err(e)) => return Err(e.clone()),
            None => return Err(format!("task definition {td} was not observed")),
        },
        (None, Some(doc)) => match revisions.get(doc) {
            Some(Revision::Live(arn) | Revision::Pending(arn)) => arn.as_str(),
            Some(Revision::Blocked(why)) => return Err(why.clone()),
            None => return Err(format!("TaskDefinition/{doc} was not planned")),
        },
        (None, None) => return Err("the document names no task definition".to_owned()),
    };
    // Its registry ARNs come from Cloud Map: unread, they would look pending
    // and an in-sync service drifted (found by the fault proxy).
    let uses_discovery = ds
        .spec
        .service_registries
        .iter()
        .flatten()
        .any(|r| r.registry_arn.is_none() && r.discovery_service.is_some());
    if uses_discovery && (observed.namespaces.is_none() || observed.cm_services.is_none()) {
        return Err("Cloud Map could not be read: its registries are unknown".to_owned());
    }
    Ok(task_definition)
}

/// A deployment alarm this apply creates is created before the service names it (SPEC §3).
fn deployment_alarm_dependencies(ds: &DesiredService, observed: &Observed, step: &mut Step) {
    let Some(live_alarms) = &observed.alarms else {
        return;
    };
    for (doc, name) in &ds.deployment_alarm_refs {
        if !live_alarms.contains_key(name) {
            step.depends_on.push(DocRef::new(Kind::Alarm, doc));
        }
    }
}

/// ECS ignores a deployment alarm that is in ALARM when the deployment starts.
fn alarm_warnings(ds: &DesiredService, observed: &Observed, step: &mut Step) {
    let names = ds.deployment_alarms.iter().flat_map(|a| &a.alarm_names);
    for name in names.filter(|n| observed.alarm_states.get(*n).is_some_and(|s| s == "ALARM")) {
        step.notes.push(format!(
            "warning: deployment alarm {name} is in ALARM: ECS ignores it for a deployment that starts now"
        ));
    }
}

fn rollout_notes(rollout: &rollout::Rollout, task_definition: &str, step: &mut Step) {
    if let Some(h) = &rollout.hold {
        step.notes.push(format!(
            "held: {}; {} is not sent again until the document asks for another revision or its {} annotation changes",
            h.message(),
            h.revision,
            crate::model::RETRY_ROLLOUT_ANNOTATION
        ));
    }
    if let Some(e) = &rollout.unknown {
        step.notes.push(format!(
            "the deployment history could not be read ({e}): the task definition is left as it is until it can"
        ));
    }
    if rollout.retrying {
        step.notes.push(format!(
            "{} changed: {} is sent once more",
            crate::model::RETRY_ROLLOUT_ANNOTATION,
            short_td(task_definition)
        ));
    }
}

fn create(
    mut step: Step,
    ds: &DesiredService,
    capacity: &Capacity,
    task_definition: &str,
    registries: Option<Vec<crate::aws::ecs::Registry>>,
    tags: BTreeMap<String, String>,
) -> Step {
    let desired_count = capacity.initial_count(ds);
    let create = creation(
        ds,
        task_definition.to_owned(),
        desired_count,
        registries.unwrap_or_default(),
        tags,
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
            .filter(|by| *by != step.resource.to_string()),
    });
    step.ops.push(Op::CreateService(create));
    step
}

/// desiredCount: the document's, a Schedule's, or Application Auto Scaling's (then not compared).
fn capacity_field(
    live: &ObservedService,
    capacity: &Capacity,
    me: &DocRef,
    diff: &mut Diff,
    step: &mut Step,
) {
    match (&capacity.desired_count, &capacity.bounds) {
        (Some(count), _) => {
            let n = count.value;
            diff.field("desiredCount", live.desired_count, n, |u| {
                u.desired_count = Some(n)
            });
            if count.by != *me
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
