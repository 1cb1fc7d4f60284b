//! Planning Application Auto Scaling: the scalable target's bounds (from the
//! Autoscaler, or pinned by an inactive Schedule), its declared target tracking
//! policies, and orphaned targets of owned services.

use serde_json::{Value, json};

use super::{Action, Change, INSTANCE_TAG, OWNER_TAG, Op, PlanOptions, Step};
use crate::aws::autoscaling::{TrackingPolicy, resource_id};
use crate::aws::ecs::ObservedService;
use crate::capacity::Capacity;
use crate::desired::Desired;
use crate::load::Loaded;
use crate::model::autoscaler::AutoscalerSpec;
use crate::model::{DocRef, Kind};
use crate::observed::Observed;

fn target(id: &str) -> String {
    format!("scalable target {id}")
}

/// The step of one Autoscaler; `live_service` is the ECS service it targets, if it exists.
pub fn plan_autoscaler(
    name: &str,
    autoscaler: &Loaded<AutoscalerSpec>,
    desired: &Desired,
    capacity: Option<&Capacity>,
    live_service: Option<&ObservedService>,
    observed: &Observed,
    options: &PlanOptions,
) -> Step {
    let spec = &autoscaler.doc.spec;
    let paused = autoscaler.doc.metadata.paused();
    let me = DocRef::new(Kind::Autoscaler, name);
    let service_doc = DocRef::new(Kind::Service, &spec.service_ref);
    let Some(ds) = desired.services.get(&spec.service_ref) else {
        let mut step = Step::new(
            me,
            format!("scalable target of {service_doc}"),
            Action::Blocked,
        );
        step.notes
            .push(format!("{service_doc} is not in the desired state"));
        return step;
    };
    let id = resource_id(&ds.cluster, &ds.service_name);
    let mut step = Step::new(me.clone(), target(&id), Action::InSync);
    step.paused = paused;
    step.depends_on.push(service_doc.clone());
    let blocked = |mut step: Step, why: String| {
        step.action = Action::Blocked;
        step.notes.push(why);
        step
    };
    let Some(bounds) = capacity.and_then(|c| c.bounds.clone()) else {
        return blocked(step, format!("no capacity decided for {service_doc}"));
    };
    if !observed.targets_observed {
        let e = observed
            .errors
            .get("scalable targets")
            .cloned()
            .unwrap_or_default();
        return blocked(step, format!("could not read scalable targets: {e}"));
    }
    match live_service {
        Some(live) => match live.tags.get(INSTANCE_TAG) {
            Some(other) if other != &options.instance => {
                return blocked(
                    step,
                    format!("the service is owned by operator instance `{other}`"),
                );
            }
            _ => {}
        },
        None if observed.listed_clusters.contains(&ds.cluster)
            && !observed.missing_clusters.contains(&ds.cluster) =>
        {
            step.notes
                .push(format!("registered once {service_doc} is created"));
        }
        None => return blocked(step, format!("waits for {service_doc}")),
    }
    let (min, max) = bounds.value;
    let tags = super::service::ownership_tags(&options.instance, &me);
    let decided_by = (bounds.by != me).then(|| bounds.by.to_string());
    let declared: Vec<TrackingPolicy> = spec
        .policies()
        .iter()
        .map(|t| TrackingPolicy::declared(name, t))
        .collect();

    let Some(live) = observed.targets.get(&id) else {
        step.action = Action::Create;
        step.changes.push(Change {
            field: "minCapacity..maxCapacity".to_owned(),
            actual: Value::Null,
            desired: json!(format!("{min}..{max}")),
            decided_by,
        });
        step.ops.push(Op::RegisterTarget {
            resource_id: id.clone(),
            min,
            max,
            tags: tags.clone(),
        });
        for p in declared {
            step.changes
                .push(policy_change(&p.name, Value::Null, json!(p)));
            step.ops.push(Op::PutPolicy {
                resource_id: id.clone(),
                policy: p,
            });
        }
        return step;
    };
    if (live.min, live.max) != (min, max) {
        for (field, have, want) in [
            ("minCapacity", live.min, min),
            ("maxCapacity", live.max, max),
        ] {
            if have != want {
                step.changes.push(Change {
                    field: field.to_owned(),
                    actual: json!(have),
                    desired: json!(want),
                    decided_by: decided_by.clone(),
                });
            }
        }
        step.ops.push(Op::RegisterTarget {
            resource_id: id.clone(),
            min,
            max,
            tags: tags.clone(),
        });
    }
    if spec.target_tracking.is_some() {
        match observed.policies.get(&id) {
            Some(live_policies) => {
                for p in &declared {
                    let have = live_policies.iter().find(|l| l.name == p.name);
                    if have.and_then(|h| h.tracking.as_ref()) != Some(p) {
                        let actual = have.map_or(Value::Null, |h| json!(h.tracking));
                        step.changes.push(policy_change(&p.name, actual, json!(p)));
                        step.ops.push(Op::PutPolicy {
                            resource_id: id.clone(),
                            policy: p.clone(),
                        });
                    }
                }
                for l in live_policies
                    .iter()
                    .filter(|l| declared.iter().all(|p| p.name != l.name))
                {
                    step.changes
                        .push(policy_change(&l.name, json!(l.tracking), Value::Null));
                    step.ops.push(Op::DeletePolicy {
                        resource_id: id.clone(),
                        name: l.name.clone(),
                    });
                }
            }
            None => step.notes.push(
                "its scaling policies could not be read; they are left as they are".to_owned(),
            ),
        }
    }
    step.action = if step.ops.is_empty() {
        Action::InSync
    } else {
        Action::Update
    };
    step
}

fn policy_change(name: &str, actual: Value, desired: Value) -> Change {
    Change {
        field: format!("policies.{name}"),
        actual,
        desired,
        decided_by: None,
    }
}

/// Targets of owned services that no Autoscaler declares: orphaned, or
/// deregistered with `--prune`. A target belongs to the operator when its
/// ECS service does.
pub fn orphans(desired: &Desired, observed: &Observed, options: &PlanOptions) -> Vec<Step> {
    if !observed.targets_observed {
        return Vec::new();
    }
    let mut steps = Vec::new();
    // From the targets, not the services: a tenth of them, or fewer, have one.
    for id in observed.targets.keys() {
        let Some((cluster, name)) = id.strip_prefix("service/").and_then(|r| r.split_once('/'))
        else {
            continue;
        };
        let Some(live) = observed.service(cluster, name) else {
            continue;
        };
        if live.tags.get(INSTANCE_TAG) != Some(&options.instance) || live.status != "ACTIVE" {
            continue;
        }
        // Declared: the document that declares this ECS service has an Autoscaler.
        let declared = desired
            .ecs_services
            .get(&(cluster.to_owned(), name.to_owned()))
            .is_some_and(|doc| desired.autoscaler_for.contains_key(doc));
        if declared {
            continue;
        }
        let doc = live
            .tags
            .get(OWNER_TAG)
            .and_then(|o| o.strip_prefix("Service/"))
            .unwrap_or(&live.name);
        let id = id.clone();
        let mut step = Step::new(
            DocRef::new(Kind::Autoscaler, doc),
            target(&id),
            Action::Orphaned,
        );
        step.notes.push(format!(
            "no Autoscaler declares the scalable target of Service/{doc}"
        ));
        if options.prune {
            step.action = Action::Delete;
            step.ops.push(Op::DeregisterTarget { resource_id: id });
        } else {
            step.notes.push("deregister it with --prune".to_owned());
        }
        steps.push(step);
    }
    steps
}
