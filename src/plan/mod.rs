//! The pure core: `plan(desired, observed, now, options) -> Plan`. No I/O, no
//! clock, no randomness; everything it needs is an argument.

pub mod alarm;
pub mod alert_channel;
pub mod autoscaler;
pub mod discovery;
pub mod json;
pub mod service;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::autoscaling::TrackingPolicy;
use crate::aws::ecs::{ServiceCreate, ServiceUpdate};
use crate::capacity::{self, Capacity};
use crate::desired::Desired;
use crate::model::DocRef;
use crate::observed::Observed;

pub const INSTANCE_TAG: &str = "ecs-operator/instance";
pub const OWNER_TAG: &str = "ecs-operator/owner";

/// Choices of the caller that change what a plan may do.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// `--instance`: which operator's resources these are.
    pub instance: String,
    /// `--prune`: delete orphaned resources.
    pub prune: bool,
    /// `--allow-replace`: delete and re-create what cannot change in place.
    pub allow_replace: bool,
    /// `--max-deletions`: refuse every deletion when a plan would delete more.
    pub max_deletions: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            instance: "default".to_owned(),
            prune: false,
            allow_replace: false,
            max_deletions: 5,
        }
    }
}

/// What to do about one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Observed equal to desired.
    InSync,
    Create,
    Update,
    /// Exists untagged: take ownership (tag), and update drifted fields.
    Adopt,
    /// Owned, no document any more; deleted only with `--prune`.
    Orphaned,
    Delete,
    /// A change ECS cannot make in place; acted on only with `--allow-replace`.
    RequiresReplacement,
    Replace,
    /// Cannot be decided or acted on now (read failed, dependency missing, owned by another instance).
    Blocked,
    /// A document of a kind this version loads and validates but does not reconcile.
    NotReconciled,
}

impl Action {
    /// Whether the plan differs from AWS because of this step.
    pub fn is_change(self) -> bool {
        !matches!(
            self,
            Action::InSync | Action::Blocked | Action::NotReconciled
        )
    }

    pub fn marker(self) -> &'static str {
        match self {
            Action::InSync => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Adopt => "=",
            Action::Orphaned => "!",
            Action::Delete => "-",
            Action::RequiresReplacement | Action::Replace => "-/+",
            Action::Blocked => "x",
            Action::NotReconciled => "?",
        }
    }

    /// The JSON spelling.
    pub fn key(self) -> &'static str {
        match self {
            Action::InSync => "inSync",
            Action::Create => "create",
            Action::Update => "update",
            Action::Adopt => "adopt",
            Action::Orphaned => "orphaned",
            Action::Delete => "delete",
            Action::RequiresReplacement => "requiresReplacement",
            Action::Replace => "replace",
            Action::Blocked => "blocked",
            Action::NotReconciled => "notReconciled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::InSync => "in sync",
            Action::Create => "create",
            Action::Update => "update",
            Action::Adopt => "adopt",
            Action::Orphaned => "orphaned",
            Action::Delete => "delete",
            Action::RequiresReplacement => "requires replacement",
            Action::Replace => "replace",
            Action::Blocked => "blocked",
            Action::NotReconciled => "not reconciled yet",
        }
    }
}

/// One field that differs: `field: actual → desired`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub actual: serde_json::Value,
    pub desired: serde_json::Value,
    /// The document that decided the desired value, when it is not the resource's own.
    #[serde(skip_serializing_if = "Option::is_none", rename = "decidedBy")]
    pub decided_by: Option<String>,
}

/// One AWS write. Steps carry them; `apply` sends them in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "call", rename_all = "camelCase")]
pub enum Op {
    CreateService(ServiceCreate),
    UpdateService(ServiceUpdate),
    TagService {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    ScaleToZero {
        cluster: String,
        name: String,
    },
    DeleteService {
        cluster: String,
        name: String,
    },
    RegisterTarget {
        resource_id: String,
        min: u32,
        max: u32,
        tags: BTreeMap<String, String>,
    },
    PutPolicy {
        resource_id: String,
        policy: TrackingPolicy,
    },
    DeletePolicy {
        resource_id: String,
        name: String,
    },
    DeregisterTarget {
        resource_id: String,
    },
    CreateNamespace {
        name: String,
        kind: String,
        vpc: Option<String>,
        tags: BTreeMap<String, String>,
    },
    CreateCmService {
        /// The DiscoveryService document, so later ops of the run can find the new service.
        doc: String,
        namespace: discovery::CmRef,
        input: crate::aws::discovery::CmServiceCreate,
    },
    UpdateCmDns {
        service_id: String,
        dns: crate::aws::discovery::DnsSpec,
    },
    TagCmService {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    RegisterInstance {
        service: discovery::CmRef,
        instance: crate::aws::discovery::ObservedInstance,
    },
    DeregisterInstance {
        service_id: String,
        instance_id: String,
    },
    DeleteCmService {
        service_id: String,
    },
    CreateTopic {
        /// The AlertChannel document, so later ops of the run can find the new topic.
        doc: String,
        name: String,
        tags: BTreeMap<String, String>,
    },
    TagTopic {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    Subscribe {
        topic: discovery::CmRef,
        protocol: String,
        endpoint: String,
    },
    Unsubscribe {
        arn: String,
    },
    DeleteTopic {
        arn: String,
    },
    PutAlarm {
        config: Box<crate::aws::cloudwatch::AlarmConfig>,
        keep: Option<Box<crate::aws::cloudwatch::ObservedAlarm>>,
        tags: BTreeMap<String, String>,
    },
    TagAlarm {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    DeleteAlarms {
        names: Vec<String>,
    },
}

/// Who owns a live resource, by its `ecs-operator/instance` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// No owner: a document names it, so it is adopted.
    Untagged,
    Ours,
    /// Another operator instance's: never touched.
    Other(String),
}

pub fn ownership(tags: &BTreeMap<String, String>, instance: &str) -> Ownership {
    match tags.get(INSTANCE_TAG) {
        None => Ownership::Untagged,
        Some(owner) if owner == instance => Ownership::Ours,
        Some(other) => Ownership::Other(other.clone()),
    }
}

/// The note of a resource another instance owns.
pub fn owned_by_other(other: &str) -> String {
    format!("owned by operator instance `{other}`; this instance does not touch it")
}

/// The tags of `want` that the live resource lacks or has with another value,
/// each recorded on `step` as a change. Tags are upserted: others are left alone.
pub fn missing_tags(
    step: &mut Step,
    want: BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let missing: BTreeMap<String, String> = want
        .into_iter()
        .filter(|(k, v)| have.get(k) != Some(v))
        .collect();
    for (k, v) in &missing {
        step.changes.push(Change {
            field: format!("tags.{k}"),
            actual: serde_json::json!(have.get(k)),
            desired: serde_json::json!(v),
            decided_by: None,
        });
    }
    missing
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub resource: DocRef,
    /// The AWS object, e.g. `ecs service prod/web`.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Why, for person readers: blocked cause, replacement cause, field owners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Set when the document is paused: observed and reported, never written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<Op>,
    /// A step of the same plan whose failure defers this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<DocRef>,
}

impl Step {
    pub fn new(resource: DocRef, target: String, action: Action) -> Self {
        Step {
            resource,
            target,
            arn: None,
            action,
            changes: Vec::new(),
            notes: Vec::new(),
            paused: None,
            ops: Vec::new(),
            depends_on: None,
        }
    }

    /// Ops to send now: none when paused.
    pub fn runnable_ops(&self) -> &[Op] {
        if self.paused.is_some() {
            &[]
        } else {
            &self.ops
        }
    }
}

/// A Schedule's state at the plan's instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleReport {
    pub name: String,
    pub services: Vec<String>,
    pub state: crate::model::schedule::ScheduleState,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_transition: Option<jiff::Timestamp>,
    /// The next transition in the Schedule's zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_transition_local: Option<String>,
}

/// The whole plan of one loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub revision: String,
    pub instance: String,
    pub at: jiff::Timestamp,
    pub steps: Vec<Step>,
    /// Every Schedule's state and next transition.
    pub schedules: Vec<ScheduleReport>,
    /// Set when the blast-radius guard refused the plan's deletions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.action.is_change())
    }

    pub fn has_blocked(&self) -> bool {
        self.steps.iter().any(|s| s.action == Action::Blocked) || self.refused.is_some()
    }

    /// Whether apply would send anything.
    pub fn has_ops(&self) -> bool {
        self.steps.iter().any(|s| !s.runnable_ops().is_empty())
    }

    pub fn count(&self, action: Action) -> usize {
        self.steps.iter().filter(|s| s.action == action).count()
    }

    /// The earliest upcoming Schedule transition: the controller wakes up then.
    pub fn next_transition(&self) -> Option<jiff::Timestamp> {
        self.schedules
            .iter()
            .filter_map(|s| s.next_transition)
            .min()
    }
}

/// Decides what to do. Pure: the same inputs give the same plan.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    now: jiff::Timestamp,
    options: &PlanOptions,
) -> Plan {
    let evaluations = capacity::evaluate_schedules(desired, now);
    let capacities: BTreeMap<&str, Capacity> = desired
        .services
        .values()
        .map(|ds| {
            (
                ds.name.as_str(),
                capacity::decide_with(desired, ds, &evaluations),
            )
        })
        .collect();
    let registries = discovery::registry_arns(desired, observed);
    let topics = alert_channel::topic_arns(desired, observed);
    let mut steps = alert_channel::plan_all(desired, observed, options);
    steps.extend(discovery::plan_all(desired, observed, now, options));
    for ds in desired.services.values() {
        let capacity = &capacities[ds.name.as_str()];
        steps.push(service::plan_service(
            ds,
            capacity,
            &registries,
            observed,
            options,
        ));
    }
    steps.extend(service::orphans(desired, observed, options));
    for (name, a) in &desired.autoscalers {
        let spec = &a.doc.spec;
        let capacity = capacities.get(spec.service_ref.as_str());
        let paused = a.doc.metadata.paused();
        steps.push(autoscaler::plan_autoscaler(
            name, spec, paused, desired, capacity, observed, options,
        ));
    }
    steps.extend(autoscaler::orphans(desired, observed, options));
    steps.extend(alarm::plan_all(desired, observed, &topics, options));
    for r in &desired.others {
        steps.push(not_reconciled(r.clone()));
    }
    let refused = guard_deletions(&mut steps, observed, options);
    // Dependency order (SPEC §3), deletions last.
    steps.sort_by(|a, b| {
        let deleting = |s: &Step| matches!(s.action, Action::Delete | Action::Orphaned);
        (deleting(a), a.resource.kind, &a.resource.name).cmp(&(
            deleting(b),
            b.resource.kind,
            &b.resource.name,
        ))
    });
    Plan {
        revision: desired.revision.clone(),
        instance: options.instance.clone(),
        at: now,
        steps,
        schedules: schedules(desired, &evaluations),
        refused,
    }
}

fn schedules(
    desired: &Desired,
    evaluations: &BTreeMap<String, capacity::schedule::Evaluation>,
) -> Vec<ScheduleReport> {
    desired
        .schedules
        .iter()
        .filter_map(|(name, s)| {
            let eval = evaluations.get(name)?.clone();
            Some(ScheduleReport {
                name: name.clone(),
                services: s.doc.spec.service_refs.clone(),
                state: eval.state,
                reason: eval.reason,
                next_transition: eval.next_transition,
                next_transition_local: eval.next_local,
            })
        })
        .collect()
}

fn not_reconciled(r: DocRef) -> Step {
    let mut step = Step::new(r.clone(), r.to_string(), Action::NotReconciled);
    step.notes.push(format!(
        "{} documents are validated but not reconciled by this version",
        r.kind
    ));
    step
}

/// The blast-radius guard: more than `max_deletions` deletions, or more than half
/// of what this instance owns, refuses every deletion of the plan.
fn guard_deletions(
    steps: &mut [Step],
    observed: &Observed,
    options: &PlanOptions,
) -> Option<String> {
    let deletions = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Delete | Action::Replace) && s.paused.is_none())
        .count();
    let owned_services: Vec<_> = observed
        .services
        .values()
        .filter(|s| s.tags.get(INSTANCE_TAG) == Some(&options.instance))
        .collect();
    let owned_targets = owned_services
        .iter()
        .filter(|s| {
            let id = crate::aws::autoscaling::resource_id(&s.cluster, &s.name);
            observed.targets.contains_key(&id)
        })
        .count();
    let owned = owned_services.len() + owned_targets;
    let too_many = deletions > options.max_deletions;
    let most = deletions > 1 && deletions * 2 > owned;
    if !too_many && !most {
        return None;
    }
    let why = format!(
        "refused: the plan would delete {deletions} of the {owned} resources instance `{}` owns (--max-deletions {}, and never more than half)",
        options.instance, options.max_deletions
    );
    for s in steps.iter_mut() {
        let demoted = match s.action {
            Action::Delete => Action::Orphaned,
            Action::Replace => Action::RequiresReplacement,
            _ => continue,
        };
        s.action = demoted;
        s.ops.clear();
        s.notes.push(why.clone());
    }
    Some(why)
}
