//! Retiring revisions: beyond `keepRevisions`, the oldest ACTIVE revision this
//! instance registered that nothing uses is deregistered, one a loop (the
//! register/deregister bucket is 1/s per account); the families of removed
//! documents are orphaned, and with `--prune` their unused revisions go.

use std::collections::BTreeSet;

use super::super::{Action, INSTANCE_TAG, OWNER_TAG, Op, PlanOptions, Step};
use crate::aws::ecs::ObservedTaskDefinition;
use crate::desired::Desired;
use crate::model::task_definition::TaskDefinitionSpec;
use crate::model::{DocRef, Kind};
use crate::observed::{ActiveRevision, Observed};

/// Revisions a prune deregisters in one loop: a fifth of ECS's burst of 20.
const PRUNE_PER_LOOP: usize = 4;

/// Task definitions that a service runs, a PRIMARY or ACTIVE deployment
/// rolls to or from, or a task (of a service or standalone) runs: never
/// deregistered.
pub fn in_use(observed: &Observed) -> BTreeSet<&str> {
    let mut used: BTreeSet<&str> = observed
        .running_task_definitions
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    for s in observed.services.values() {
        used.insert(s.task_definition.as_str());
        for d in s.deployments.iter().filter(|d| d.status != "INACTIVE") {
            used.insert(d.task_definition.as_str());
        }
    }
    used
}

fn ours(r: &ActiveRevision, instance: &str, owner: &DocRef) -> bool {
    r.tags.as_ref().is_some_and(|t| {
        t.get(INSTANCE_TAG).map(String::as_str) == Some(instance)
            && t.get(OWNER_TAG).is_some_and(|o| *o == owner.to_string())
    })
}

/// Adds the deregistration of the oldest revision past `keepRevisions` that
/// this instance registered for `owner` and nothing uses, if there is one.
pub(super) fn retire(
    spec: &TaskDefinitionSpec,
    latest: &ObservedTaskDefinition,
    observed: &Observed,
    used: &BTreeSet<&str>,
    owner: &DocRef,
    step: &mut Step,
) {
    let Some(revisions) = observed.active_revisions.get(&latest.family) else {
        return;
    };
    let instance = latest.tags.get(INSTANCE_TAG).map_or("", String::as_str);
    let older = revisions
        .len()
        .saturating_sub(spec.keep_revisions() as usize);
    let retired = revisions.iter().take(older).find(|r| {
        r.arn != latest.arn && !used.contains(r.arn.as_str()) && ours(r, instance, owner)
    });
    if let Some(r) = retired {
        if observed.running_task_definitions.is_none() {
            step.notes.push(format!(
                "{}:{} is past keepRevisions but the running tasks could not be listed: kept for now",
                latest.family, r.revision
            ));
            return;
        }
        step.notes.push(format!(
            "deregisters {}:{} ({} ACTIVE revisions, keepRevisions {}; one a loop)",
            latest.family,
            r.revision,
            revisions.len(),
            spec.keep_revisions()
        ));
        step.ops
            .push(Op::DeregisterTaskDefinition { arn: r.arn.clone() });
    }
}

/// Families this instance owns whose document is gone.
pub(super) fn orphans(
    desired: &Desired,
    observed: &Observed,
    used: &BTreeSet<&str>,
    options: &PlanOptions,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for (family, latest) in observed.undeclared_families.iter().flatten() {
        if latest.tags.get(INSTANCE_TAG) != Some(&options.instance) {
            continue;
        }
        let owner = latest
            .tags
            .get(OWNER_TAG)
            .map_or(family.as_str(), String::as_str);
        let name = owner.strip_prefix("TaskDefinition/").unwrap_or(family);
        // A family a document still declares (renamed document) is not orphaned.
        if desired.task_definitions.contains_key(name) {
            continue;
        }
        let owner = DocRef::new(Kind::TaskDefinition, name);
        let revisions = observed.active_revisions.get(family);
        if revisions.is_some_and(Vec::is_empty) {
            continue;
        }
        let mut step = Step::new(
            owner.clone(),
            format!("ecs task definition family {family}"),
            Action::Orphaned,
        );
        step.arn = Some(latest.arn.clone());
        step.notes
            .push("no document declares it any more".to_owned());
        if !options.prune {
            step.notes
                .push("deregister its revisions with --prune".to_owned());
            steps.push(step);
            continue;
        }
        let unused: Vec<&ActiveRevision> = revisions
            .into_iter()
            .flatten()
            .filter(|r| !used.contains(r.arn.as_str()) && ours(r, &options.instance, &owner))
            .collect();
        if observed.running_task_definitions.is_none() && !unused.is_empty() {
            step.notes.push(
                "the running tasks could not be listed: its revisions are kept for now".to_owned(),
            );
        } else if unused.is_empty() {
            step.notes.push(
                "its revisions are still used by services: deregistered once they are not"
                    .to_owned(),
            );
        } else {
            step.action = Action::Delete;
            for r in unused.iter().take(PRUNE_PER_LOOP) {
                step.ops
                    .push(Op::DeregisterTaskDefinition { arn: r.arn.clone() });
            }
        }
        steps.push(step);
    }
    steps
}
