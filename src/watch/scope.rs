//! Which resources a targeted pass reconciles, from the keys events named.
//! Pure: a function of the desired state and the pending keys.
//!
//! A Service wakes with what depends on it: its Autoscaler, the Alarms on it
//! (`serviceRef`, or its `ClusterName` and `ServiceName` dimensions); its Schedule is evaluated by the plan of the Service
//! itself. Keys the targeted observation cannot read alone (a task
//! definition family, a Cloud Map service, an SNS topic: rare, and what other
//! documents resolve against) ask for a full pass, as does a flood.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::autoscaling::resource_id;
use crate::desired::Desired;
use crate::events::{Actor, ResourceKey};
use crate::model::{DocRef, Kind};

use super::{FLOOD_KEYS, Pending};

/// What a targeted pass reads and which steps of its plan it keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The documents whose steps are kept.
    pub docs: BTreeSet<DocRef>,
    /// ECS services to describe: (cluster, service name).
    pub services: BTreeSet<(String, String)>,
    /// Scalable target resource ids to describe.
    pub targets: BTreeSet<String>,
    /// Resource ids whose scaling policies are read (an Autoscaler manages them).
    pub policies: BTreeSet<String>,
    /// CloudWatch alarm names to describe.
    pub alarms: BTreeSet<String>,
    /// TaskDefinition documents whose latest revision is read (scoped
    /// Services run it).
    pub task_definitions: BTreeSet<String>,
    /// `taskDefinition` values of scoped Services, resolved again.
    pub resolve: BTreeSet<String>,
    /// Services whose deployment history is read again (a deployment event).
    pub deployments: BTreeSet<(String, String)>,
    /// `Kind/name` → who changed it, for the drift report.
    pub changed_by: BTreeMap<String, Actor>,
}

/// What the pending events ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing the operator reconciles: only delete the messages.
    Nothing,
    Targeted(Box<Scope>),
    /// A full pass, and why; the actors still name who changed what.
    Full {
        why: String,
        changed_by: BTreeMap<String, Actor>,
    },
}

/// The CloudWatch name of an Alarm document.
fn alarm_name<'a>(desired: &'a Desired, doc: &'a str) -> Option<&'a str> {
    let a = desired.alarms.get(doc)?;
    Some(a.doc.spec.alarm_name.as_deref().unwrap_or(doc))
}

/// The people's actor of a wakeup: the latest, unless Application Auto
/// Scaling made the change (scaling within its bounds is not drift).
fn actor(actors: &[Actor]) -> Option<&Actor> {
    actors.last().filter(|a| !a.is_autoscaling())
}

pub fn decide(desired: &Desired, pending: &Pending) -> Decision {
    let mut scope = Scope::default();
    let mut full: Option<String> = None;
    if pending.overflow || pending.keys.len() > FLOOD_KEYS {
        full = Some(format!(
            "{} resources named by events (more than {FLOOD_KEYS})",
            pending.keys.len()
        ));
    }
    let by_alarm_name: BTreeMap<&str, &str> = desired
        .alarms
        .keys()
        .filter_map(|doc| Some((alarm_name(desired, doc)?, doc.as_str())))
        .collect();
    for (key, wakeup) in &pending.keys {
        let who = actor(&wakeup.actors);
        match key {
            ResourceKey::Service { cluster, name } => {
                let Some(doc) = desired.ecs_services.get(&(cluster.clone(), name.clone())) else {
                    continue;
                };
                let autoscaled = desired.autoscaler_for.contains_key(doc);
                if autoscaled
                    && !wakeup.actors.is_empty()
                    && wakeup.actors.iter().all(Actor::is_autoscaling)
                {
                    // Application Auto Scaling scaled it: nothing to reconcile.
                    continue;
                }
                add_service(desired, doc, &mut scope);
                if wakeup.deployment {
                    scope.deployments.insert((cluster.clone(), name.clone()));
                }
                if let Some(a) = who {
                    scope
                        .changed_by
                        .insert(DocRef::new(Kind::Service, doc).to_string(), a.clone());
                }
            }
            ResourceKey::ScalableTarget { resource_id: id } => {
                let service = id
                    .strip_prefix("service/")
                    .and_then(|rest| rest.split_once('/'))
                    .and_then(|(c, s)| desired.ecs_services.get(&(c.to_owned(), s.to_owned())));
                let Some(doc) = service else {
                    continue;
                };
                add_service(desired, doc, &mut scope);
                if let (Some(a), Some(autoscaler)) = (who, desired.autoscaler_for.get(doc)) {
                    scope.changed_by.insert(
                        DocRef::new(Kind::Autoscaler, autoscaler).to_string(),
                        a.clone(),
                    );
                }
            }
            ResourceKey::Alarm { name } => {
                let Some(doc) = by_alarm_name.get(name.as_str()) else {
                    continue;
                };
                scope.docs.insert(DocRef::new(Kind::Alarm, *doc));
                scope.alarms.insert(name.clone());
                if let Some(a) = who {
                    scope
                        .changed_by
                        .insert(DocRef::new(Kind::Alarm, *doc).to_string(), a.clone());
                }
            }
            ResourceKey::TaskDefinition { family } => {
                let declared = desired
                    .task_definitions
                    .iter()
                    .find(|(n, td)| td.doc.spec.family_or(n) == family);
                if let Some((doc, _)) = declared {
                    full.get_or_insert_with(|| format!("task definition family {family} changed"));
                    if let Some(a) = who {
                        scope.changed_by.insert(
                            DocRef::new(Kind::TaskDefinition, doc).to_string(),
                            a.clone(),
                        );
                    }
                }
            }
            ResourceKey::CloudMapService { id_or_name } => {
                full.get_or_insert_with(|| format!("Cloud Map service {id_or_name} changed"));
            }
            ResourceKey::Topic { arn_or_name } => {
                let name = arn_or_name.rsplit(':').next().unwrap_or(arn_or_name);
                let ours = desired
                    .channels
                    .values()
                    .any(|c| c.doc.spec.topic_name.as_deref() == Some(name));
                if ours {
                    full.get_or_insert_with(|| format!("SNS topic {name} changed"));
                }
            }
        }
    }
    match full {
        Some(why) => Decision::Full {
            why,
            changed_by: scope.changed_by,
        },
        None if scope.docs.is_empty() => Decision::Nothing,
        None => Decision::Targeted(Box::new(scope)),
    }
}

/// Who changed what, for a full pass that covers these events.
pub fn changed_by(desired: &Desired, pending: &Pending) -> BTreeMap<String, Actor> {
    if pending.keys.is_empty() {
        return BTreeMap::new();
    }
    match decide(desired, pending) {
        Decision::Nothing => BTreeMap::new(),
        Decision::Targeted(scope) => scope.changed_by,
        Decision::Full { changed_by, .. } => changed_by,
    }
}

/// A Service document with what its plan and its dependants' plans read.
fn add_service(desired: &Desired, doc: &str, scope: &mut Scope) {
    let Some(ds) = desired.services.get(doc) else {
        return;
    };
    scope.docs.insert(DocRef::new(Kind::Service, doc));
    scope
        .services
        .insert((ds.cluster.clone(), ds.service_name.clone()));
    let id = resource_id(&ds.cluster, &ds.service_name);
    scope.targets.insert(id.clone());
    if let Some(td) = &ds.spec.task_definition {
        scope.resolve.insert(td.clone());
    }
    if let Some(td) = &ds.spec.task_definition_ref {
        scope.task_definitions.insert(td.clone());
    }
    if let Some(autoscaler) = desired.autoscaler_for.get(doc) {
        scope.docs.insert(DocRef::new(Kind::Autoscaler, autoscaler));
        scope.policies.insert(id);
    }
    for (name, alarm) in &desired.alarms {
        let spec = &alarm.doc.spec;
        // On it: by `serviceRef`, or by its ECS dimensions written out.
        let dims = spec.metric.as_ref().map(|m| &m.dimensions);
        let by_dimensions = dims.is_some_and(|d| {
            d.get("ClusterName") == Some(&ds.cluster)
                && d.get("ServiceName") == Some(&ds.service_name)
        });
        if (spec.service_ref.as_deref() == Some(doc) || by_dimensions)
            && let Some(cw) = alarm_name(desired, name)
        {
            scope.docs.insert(DocRef::new(Kind::Alarm, name));
            scope.alarms.insert(cw.to_owned());
        }
    }
}
