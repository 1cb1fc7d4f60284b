//! Planning Cloud Map: the namespace (created when missing and allowed), the
//! service (DNS records, ownership), static instances, stale instances, orphans.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{
    Action, Change, INSTANCE_TAG, OWNER_TAG, Op, Ownership, PlanOptions, Step, missing_tags,
    owned_by_other, ownership,
};
use crate::aws::discovery::{CmServiceCreate, DnsSpec, OWNER_ATTRIBUTE, ObservedInstance};
use crate::desired::Desired;
use crate::model::discovery::DiscoveryServiceSpec;
use crate::model::{DocRef, Kind};
use crate::observed::Observed;

/// A Cloud Map object known by id, or made earlier in the same apply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CmRef {
    Id(String),
    /// Created by an earlier op of the same apply: a namespace by name, a service by document name.
    Pending(String),
}

/// The ARN placeholder a Service's registry carries until its Cloud Map service
/// exists; `apply` swaps in the ARN made earlier in the same run.
pub fn pending_arn(doc: &str) -> String {
    format!("discovery:{doc}")
}

/// The registry ARN of each DiscoveryService document: observed, or pending.
pub fn registry_arns(desired: &Desired, observed: &Observed) -> BTreeMap<String, String> {
    desired
        .discovery
        .iter()
        .map(|(name, d)| {
            let spec = &d.doc.spec;
            let arn = observed
                .namespace(&spec.namespace.name, spec.namespace.kind.as_str())
                .and_then(|ns| observed.cm_service(&ns.id, spec.service_name(name)))
                .map_or_else(|| pending_arn(name), |s| s.arn.clone());
            (name.clone(), arn)
        })
        .collect()
}

fn desired_dns(spec: &DiscoveryServiceSpec) -> Option<DnsSpec> {
    if !spec.namespace.kind.is_dns() {
        return None;
    }
    let mut record_types: Vec<String> = spec.dns.as_ref().map_or_else(
        || vec!["A".to_owned()],
        |d| {
            d.record_types()
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect()
        },
    );
    record_types.sort();
    Some(DnsSpec {
        ttl: spec
            .dns
            .as_ref()
            .map_or(crate::model::discovery::DEFAULT_TTL, |d| d.ttl()),
        record_types,
        routing_policy: spec
            .dns
            .as_ref()
            .and_then(|d| d.routing_policy)
            .map_or("MULTIVALUE", |p| p.as_str())
            .to_owned(),
    })
}

/// Plans every DiscoveryService document; a namespace several documents need is created once.
pub fn plan_all(
    desired: &Desired,
    observed: &Observed,
    now: jiff::Timestamp,
    options: &PlanOptions,
) -> Vec<Step> {
    // Namespace (name, type) → the step that creates it; the others wait for it.
    let mut creating: BTreeMap<(String, String), DocRef> = BTreeMap::new();
    let mut steps: Vec<Step> = desired
        .discovery
        .iter()
        .map(|(name, d)| {
            plan_one(
                name,
                &d.doc.spec,
                d.doc.metadata.paused(),
                observed,
                now,
                options,
                &mut creating,
            )
        })
        .collect();
    steps.extend(orphans(desired, observed, options));
    steps
}

fn plan_one(
    name: &str,
    spec: &DiscoveryServiceSpec,
    paused: Option<String>,
    observed: &Observed,
    now: jiff::Timestamp,
    options: &PlanOptions,
    creating: &mut BTreeMap<(String, String), DocRef>,
) -> Step {
    let me = DocRef::new(Kind::DiscoveryService, name);
    let ns_name = &spec.namespace.name;
    let kind = spec.namespace.kind.as_str();
    let service_name = spec.service_name(name);
    let mut step = Step::new(
        me.clone(),
        format!("cloud map service {ns_name}/{service_name}"),
        Action::InSync,
    );
    step.paused = paused;
    let blocked = |mut step: Step, why: String| {
        step.action = Action::Blocked;
        step.notes.push(why);
        step
    };
    if observed.namespaces.is_none() || observed.cm_services.is_none() {
        return blocked(step, "Cloud Map could not be read".to_owned());
    }
    let mut tags = BTreeMap::from([
        (INSTANCE_TAG.to_owned(), options.instance.clone()),
        (OWNER_TAG.to_owned(), me.to_string()),
    ]);
    let declared: Vec<ObservedInstance> = spec
        .instances()
        .iter()
        .map(|i| {
            let mut attributes = i.attributes.clone();
            attributes.insert(OWNER_ATTRIBUTE.to_owned(), options.instance.clone());
            ObservedInstance {
                id: i.id.clone(),
                attributes,
            }
        })
        .collect();
    let dns = desired_dns(spec);

    let namespace = match observed.namespace(ns_name, kind) {
        Some(ns) => CmRef::Id(ns.id.clone()),
        None if !spec.namespace.create() => {
            return blocked(
                step,
                format!("namespace {ns_name} ({kind}) does not exist and `create` is false"),
            );
        }
        None => {
            let key = (ns_name.clone(), kind.to_owned());
            if let Some(creator) = creating.get(&key) {
                // Writes run concurrently: the namespace's id exists only once
                // the step that creates it is done.
                step.depends_on.push(creator.clone());
            } else {
                creating.insert(key, me.clone());
                step.changes.push(Change {
                    field: "namespace".to_owned(),
                    actual: Value::Null,
                    desired: json!(format!("{ns_name} ({kind})")),
                    decided_by: None,
                });
                step.ops.push(Op::CreateNamespace {
                    name: ns_name.clone(),
                    kind: kind.to_owned(),
                    vpc: spec.namespace.vpc.clone(),
                    tags: tags.clone(),
                });
            }
            CmRef::Pending(ns_name.clone())
        }
    };
    let live = match &namespace {
        CmRef::Id(id) => observed.cm_service(id, service_name),
        CmRef::Pending(_) => None,
    };
    let Some(live) = live else {
        step.action = Action::Create;
        step.changes.push(Change {
            field: "service".to_owned(),
            actual: Value::Null,
            desired: json!({"dns": dns, "healthCheckCustom": spec.health_check_custom()}),
            decided_by: None,
        });
        step.ops.push(Op::CreateCmService {
            doc: name.to_owned(),
            namespace,
            input: CmServiceCreate {
                name: service_name.to_owned(),
                dns,
                health_check_custom: spec.health_check_custom(),
                tags,
            },
        });
        for i in declared {
            step.changes
                .push(instance_change(&i.id, Value::Null, json!(i.attributes)));
            step.ops.push(Op::RegisterInstance {
                service: CmRef::Pending(name.to_owned()),
                instance: i,
            });
        }
        return step;
    };
    step.arn = Some(live.arn.clone());
    let adopting = match ownership(&live.tags, &options.instance) {
        Ownership::Untagged => true,
        Ownership::Ours => false,
        Ownership::Other(other) => return blocked(step, owned_by_other(&other)),
    };
    let missing_tags = missing_tags(&mut step, std::mem::take(&mut tags), &live.tags);
    if !missing_tags.is_empty() {
        step.ops.push(Op::TagCmService {
            arn: live.arn.clone(),
            tags: missing_tags,
        });
    }
    let mut replace = Vec::new();
    if live.health_check_custom != spec.health_check_custom() {
        replace.push("healthCheckCustom cannot change after creation".to_owned());
    }
    if let (Some(want), Some(have)) = (&dns, &live.dns) {
        if want.routing_policy != have.routing_policy {
            replace.push(format!(
                "dns.routingPolicy cannot change from {} to {} in place",
                have.routing_policy, want.routing_policy
            ));
        } else if want != have {
            step.changes.push(Change {
                field: "dns".to_owned(),
                actual: json!(have),
                desired: json!(want),
                decided_by: None,
            });
            step.ops.push(Op::UpdateCmDns {
                service_id: live.id.clone(),
                dns: want.clone(),
            });
        }
    }
    let service = CmRef::Id(live.id.clone());
    match observed.cm_instances.get(&live.id) {
        Some(instances) => {
            plan_instances(
                &mut step, spec, &service, &live.id, &live.arn, &declared, instances, observed,
                now, options,
            );
        }
        None => step
            .notes
            .push("its instances could not be read; they are left as they are".to_owned()),
    }
    if !replace.is_empty() {
        step.notes.extend(replace);
        step.action = Action::RequiresReplacement;
        return step;
    }
    step.action = match (adopting, step.ops.is_empty()) {
        (true, _) => Action::Adopt,
        (false, true) => Action::InSync,
        (false, false) => Action::Update,
    };
    step
}

#[allow(clippy::too_many_arguments)]
fn plan_instances(
    step: &mut Step,
    spec: &DiscoveryServiceSpec,
    service: &CmRef,
    service_id: &str,
    arn: &str,
    declared: &[ObservedInstance],
    instances: &[ObservedInstance],
    observed: &Observed,
    now: jiff::Timestamp,
    options: &PlanOptions,
) {
    for want in declared {
        let have = instances.iter().find(|i| i.id == want.id);
        if have.map(|h| &h.attributes) != Some(&want.attributes) {
            step.changes.push(instance_change(
                &want.id,
                json!(have.map(|h| &h.attributes)),
                json!(want.attributes),
            ));
            step.ops.push(Op::RegisterInstance {
                service: service.clone(),
                instance: want.clone(),
            });
        }
    }
    let is_declared = |id: &str| declared.iter().any(|d| d.id == id);
    for have in instances.iter().filter(|i| !is_declared(&i.id)) {
        let ours = have.attributes.get(OWNER_ATTRIBUTE) == Some(&options.instance);
        if ours {
            // A static instance this operator registered and no document declares any more.
            step.changes.push(instance_change(
                &have.id,
                json!(have.attributes),
                Value::Null,
            ));
            step.ops.push(Op::DeregisterInstance {
                service_id: service_id.to_owned(),
                instance_id: have.id.clone(),
            });
            continue;
        }
        let Some(since) = observed
            .stale_since
            .get(&(service_id.to_owned(), have.id.clone()))
        else {
            continue;
        };
        let after = spec.stale_after();
        let waited = now.duration_since(*since).as_secs();
        if waited >= i64::try_from(after.as_secs()).unwrap_or(i64::MAX) {
            step.changes.push(Change {
                field: format!("instances.{}", have.id),
                actual: json!(format!(
                    "stale since {since}: no live task of a registered ECS service"
                )),
                desired: Value::Null,
                decided_by: None,
            });
            step.ops.push(Op::DeregisterInstance {
                service_id: service_id.to_owned(),
                instance_id: have.id.clone(),
            });
        } else {
            step.notes.push(format!(
                "instance {} has looked stale since {since}; it is removed once still stale {after} after that",
                have.id
            ));
        }
    }
    if spec.remove_stale_instances()
        && let Some(Err(why)) = observed.backing_tasks.get(arn)
    {
        step.notes
            .push(format!("stale instances are not removed this time: {why}"));
    }
}

fn instance_change(id: &str, actual: Value, desired: Value) -> Change {
    Change {
        field: format!("instances.{id}"),
        actual,
        desired,
        decided_by: None,
    }
}

/// Cloud Map services tagged with this instance that no document declares.
fn orphans(desired: &Desired, observed: &Observed, options: &PlanOptions) -> Vec<Step> {
    let Some(services) = &observed.cm_services else {
        return Vec::new();
    };
    // Without the namespaces no declared service can be found: every owned one
    // would look orphaned (and be deleted with --prune).
    if observed.namespaces.is_none() {
        return Vec::new();
    }
    let declared: BTreeSet<String> = desired
        .discovery
        .iter()
        .filter_map(|(name, d)| {
            let spec = &d.doc.spec;
            let ns = observed.namespace(&spec.namespace.name, spec.namespace.kind.as_str())?;
            observed
                .cm_service(&ns.id, spec.service_name(name))
                .map(|s| s.id.clone())
        })
        .collect();
    let mut steps = Vec::new();
    for s in services {
        if s.tags.get(INSTANCE_TAG) != Some(&options.instance) || declared.contains(&s.id) {
            continue;
        }
        let doc = s
            .tags
            .get(OWNER_TAG)
            .and_then(|o| o.strip_prefix("DiscoveryService/"))
            .unwrap_or(&s.name);
        let mut step = Step::new(
            DocRef::new(Kind::DiscoveryService, doc),
            format!("cloud map service {}", s.name),
            Action::Orphaned,
        );
        step.arn = Some(s.arn.clone());
        step.notes
            .push("no document declares it any more".to_owned());
        if options.prune {
            step.action = Action::Delete;
            // Cloud Map refuses to delete a service that still has instances.
            for i in observed.cm_instances.get(&s.id).into_iter().flatten() {
                step.ops.push(Op::DeregisterInstance {
                    service_id: s.id.clone(),
                    instance_id: i.id.clone(),
                });
            }
            step.ops.push(Op::DeleteCmService {
                service_id: s.id.clone(),
            });
        } else {
            step.notes.push("delete it with --prune".to_owned());
        }
        steps.push(step);
    }
    steps
}
