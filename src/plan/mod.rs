//! The pure core: `plan(desired, observed, now, options) -> Plan`. No I/O, no
//! clock, no randomness; everything it needs is an argument.

pub mod alarm;
pub mod alert_channel;
pub mod autoscaler;
pub mod discovery;
pub mod ecs_index;
pub mod heartbeat;
pub mod json;
pub mod service;
mod step;
pub mod task_definition;
pub mod text;

pub use step::{Action, Change, Op, Ownership, Step, missing_tags, owned_by_other, ownership};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::capacity;
use crate::desired::Desired;
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
    /// `run` only: the loop interval in seconds; plans the heartbeat alarm.
    pub heartbeat: Option<u64>,
    /// `--heartbeat-topic`: more actions of the heartbeat alarm, besides the
    /// channels that page on `operator` events.
    pub heartbeat_topics: Vec<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            instance: "default".to_owned(),
            prune: false,
            allow_replace: false,
            max_deletions: 5,
            heartbeat: None,
            heartbeat_topics: Vec::new(),
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
    let registries = discovery::registry_arns(desired, observed);
    let topics = alert_channel::topic_arns(desired, observed);
    let ecs = ecs_index::EcsIndex::new(desired, observed);
    let mut steps = Vec::with_capacity(desired.count() + 16);
    steps.extend(alert_channel::plan_all(desired, observed, options));
    steps.extend(discovery::plan_all(desired, observed, now, options));
    let (td_steps, revisions) = task_definition::plan_all(desired, observed, options);
    steps.extend(td_steps);
    // Documents and their live services both in name order: walked side by side.
    let mut live = ecs.live.iter().peekable();
    for ds in desired.services.values() {
        let name = ds.name.as_str();
        while live.next_if(|(doc, _)| **doc < name).is_some() {}
        let live = live.next_if(|(doc, _)| **doc == name).map(|(_, l)| *l);
        let capacity = capacity::decide_with(desired, ds, &evaluations);
        steps.push(service::plan_service(
            ds,
            live,
            &capacity,
            &registries,
            &revisions,
            observed,
            options,
        ));
    }
    steps.extend(service::orphans(&ecs, options));
    for (name, a) in &desired.autoscalers {
        let service = a.doc.spec.service_ref.as_str();
        let capacity = desired
            .services
            .get(service)
            .map(|ds| capacity::decide_with(desired, ds, &evaluations));
        let live = ecs.live.get(service).copied();
        steps.push(autoscaler::plan_autoscaler(
            name,
            a,
            desired,
            capacity.as_ref(),
            live,
            observed,
            options,
        ));
    }
    steps.extend(autoscaler::orphans(desired, observed, options));
    steps.extend(alarm::plan_all(desired, observed, &topics, options));
    steps.extend(heartbeat::plan(desired, observed, &topics, options));
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
    // Most plans delete nothing: what is owned is counted only when it matters.
    if deletions <= 1 && deletions <= options.max_deletions {
        return None;
    }
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
