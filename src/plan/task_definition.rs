//! Planning TaskDefinition documents (SPEC §2.8): compare the document with
//! the family's latest ACTIVE revision through one normaliser, register when
//! they differ, tag when only tags do, retire old revisions; and tell each
//! Service that references a document which revision it runs.

pub mod field_diff;
pub mod normalise;
mod retention;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{
    Action, Change, Op, Ownership, PlanOptions, Step, missing_tags, owned_by_other, ownership,
};
use crate::aws::ecs::ObservedTaskDefinition;
use crate::desired::Desired;
use crate::load::Loaded;
use crate::model::task_definition::TaskDefinitionSpec;
use crate::model::{DocRef, Kind};
use crate::observed::Observed;
use crate::plan::service::ownership_tags;
pub use retention::in_use;

/// The hash of the normalised content a revision was registered from. A
/// revision that carries the hash of the document yet differs from it is a
/// normaliser gap, never a reason to register again (the self-check).
pub const CONTENT_TAG: &str = "ecs-operator/content";

/// Until the apply registers it, a new revision is named by this placeholder
/// (`pending:task-definition/web:next`); the apply puts the new ARN in its place.
const PENDING_PREFIX: &str = "pending:task-definition/";

/// Which revision the Services that reference a TaskDefinition document run.
#[derive(Debug, Clone, PartialEq)]
pub enum Revision {
    /// The family's latest revision, equal to the document: its ARN.
    Live(String),
    /// Registered by this apply: the placeholder the apply fills in.
    Pending(String),
    /// Why no revision can be named now (unreadable, blocked, paused).
    Blocked(String),
}

/// The placeholder of the revision this apply registers in `family`.
pub fn pending_arn(family: &str) -> String {
    format!("{PENDING_PREFIX}{family}:next")
}

/// The family of a placeholder made by `pending_arn`.
pub fn pending_family(task_definition: &str) -> Option<&str> {
    task_definition
        .strip_prefix(PENDING_PREFIX)?
        .strip_suffix(":next")
}

/// What RegisterTaskDefinition is given for a document: its content with the
/// family set and without the operator's own fields.
pub fn register_content(spec: &TaskDefinitionSpec, family: &str) -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        family: Some(family.to_owned()),
        tags: None,
        keep_revisions: None,
        ..spec.clone()
    }
}

/// The normalised content of a described revision.
pub fn normal_of(td: &ObservedTaskDefinition) -> serde_json::Value {
    let content = serde_json::to_value(&td.content).unwrap_or_default();
    normalise::of_described(&content)
}

/// The steps of every TaskDefinition document and of the families this
/// instance owns that no document declares any more, with the revision each
/// document's Services run.
pub fn plan_all(
    desired: &Desired,
    observed: &Observed,
    options: &PlanOptions,
) -> (Vec<Step>, BTreeMap<String, Revision>) {
    // What services and tasks use matters only to retention and prune, which
    // need listed revisions: a steady plan at 10,000 services builds no set.
    let used = if observed.active_revisions.is_empty() {
        BTreeSet::new()
    } else {
        in_use(observed)
    };
    let mut steps = Vec::with_capacity(desired.task_definitions.len());
    let mut revisions = BTreeMap::new();
    for (name, td) in &desired.task_definitions {
        let (step, revision) = plan_one(name, td, observed, &used, options);
        steps.push(step);
        revisions.insert(name.clone(), revision);
    }
    steps.extend(retention::orphans(desired, observed, &used, options));
    (steps, revisions)
}

fn plan_one(
    name: &str,
    loaded: &Loaded<TaskDefinitionSpec>,
    observed: &Observed,
    used: &BTreeSet<&str>,
    options: &PlanOptions,
) -> (Step, Revision) {
    let spec = &loaded.doc.spec;
    let family = spec.family_or(name);
    let me = DocRef::new(Kind::TaskDefinition, name);
    let mut step = Step::new(
        me.clone(),
        format!("ecs task definition family {family}"),
        Action::InSync,
    );
    step.paused = loaded.doc.metadata.paused();
    let latest = match observed.revisions.get(name) {
        Some(Ok(latest)) => latest.as_ref(),
        Some(Err(e)) => return blocked(step, format!("could not read family {family}: {e}")),
        None => return blocked(step, format!("family {family} was not observed")),
    };
    let want = normalise::of_document(spec, family);
    let hash = normalise::content_hash(&want);
    let tags = || {
        let mut tags = spec.tags.clone().unwrap_or_default();
        tags.extend(ownership_tags(&options.instance, &me));
        tags.insert(CONTENT_TAG.to_owned(), hash.clone());
        tags
    };
    // Built only when a revision is registered: most loops register none.
    let register = || Op::RegisterTaskDefinition {
        content: Box::new(register_content(spec, family)),
        tags: tags(),
    };
    let Some(latest) = latest else {
        step.action = Action::Create;
        step.changes.push(Change {
            field: "revision".to_owned(),
            actual: serde_json::Value::Null,
            desired: json!(format!("{family}:1")),
            decided_by: None,
        });
        step.ops.push(register());
        return pending(step, family);
    };
    step.arn = Some(latest.arn.clone());
    let adopting = match ownership(&latest.tags, &options.instance) {
        Ownership::Other(other) => return blocked(step, owned_by_other(&other)),
        Ownership::Untagged => true,
        Ownership::Ours => false,
    };
    let have = normal_of(latest);
    let short = format!("{family}:{}", latest.revision);
    if have == want {
        let missing = missing_tags(&mut step, tags(), &latest.tags);
        if !missing.is_empty() {
            step.ops.push(Op::TagTaskDefinition {
                arn: latest.arn.clone(),
                tags: missing,
            });
        }
        step.action = match (adopting, step.ops.is_empty()) {
            (true, _) => Action::Adopt,
            (false, true) => Action::InSync,
            (false, false) => Action::Update,
        };
        if step.ops.is_empty() {
            retention::retire(spec, latest, observed, used, &me, &mut step);
        }
        return (step, Revision::Live(latest.arn.clone()));
    }
    let diffs = field_diff::diff(&have, &want);
    if !adopting && latest.tags.get(CONTENT_TAG) == Some(&hash) {
        let fields: Vec<String> = diffs.iter().map(field_diff::describe).collect();
        return blocked(
            step,
            format!(
                "self-check: {short} was registered from this document but ECS stores it otherwise ({}): the normaliser does not know this difference, so nothing more is registered for the document until it changes; the Services that reference it keep their revision",
                fields.join("; ")
            ),
        );
    }
    step.changes = diffs
        .into_iter()
        .map(|d| Change {
            field: d.path,
            actual: d.actual,
            desired: d.desired,
            decided_by: None,
        })
        .collect();
    if adopting {
        step.notes.push(format!(
            "{short} was not registered by this operator{}: the document's content is registered as a new revision",
            if observed.foreign_latest.contains(name) {
                " (registered over the operator's revisions by someone else)"
            } else {
                ""
            }
        ));
    }
    step.action = if adopting && !observed.foreign_latest.contains(name) {
        Action::Adopt
    } else {
        Action::Update
    };
    step.ops.push(register());
    pending(step, family)
}

fn pending(step: Step, family: &str) -> (Step, Revision) {
    if let Some(why) = &step.paused {
        let why = format!("TaskDefinition/{} is paused ({why})", step.resource.name);
        return (step, Revision::Blocked(why));
    }
    (step, Revision::Pending(pending_arn(family)))
}

fn blocked(mut step: Step, why: String) -> (Step, Revision) {
    step.action = Action::Blocked;
    let revision = Revision::Blocked(format!(
        "TaskDefinition/{} is blocked: {why}",
        step.resource.name
    ));
    step.notes.push(why);
    (step, revision)
}
