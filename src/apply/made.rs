//! What earlier ops of one apply created (namespaces, Cloud Map services,
//! topics, task definition revisions), and the self-check of a registration.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::aws::ecs::Registry;
use crate::aws::{AwsError, ErrorKind};
use crate::plan::discovery::CmRef;
use crate::plan::task_definition::pending_family;

/// What earlier ops of this apply created, for the ops that need its ids.
#[derive(Debug, Default)]
pub(super) struct Made {
    /// Namespace name → id.
    pub(super) namespaces: BTreeMap<String, String>,
    /// DiscoveryService document → (Cloud Map service id, ARN).
    pub(super) services: BTreeMap<String, (String, String)>,
    /// AlertChannel document → topic ARN.
    pub(super) topics: BTreeMap<String, String>,
    /// Task definition family → the revision this apply registered.
    pub(super) task_definitions: BTreeMap<String, String>,
}

impl Made {
    pub(super) fn namespace(&self, r: &CmRef) -> Result<String, AwsError> {
        match r {
            CmRef::Id(id) => Ok(id.clone()),
            CmRef::Pending(name) => self
                .namespaces
                .get(name)
                .cloned()
                .ok_or_else(|| unmade("namespace", name)),
        }
    }

    pub(super) fn service(&self, r: &CmRef) -> Result<String, AwsError> {
        match r {
            CmRef::Id(id) => Ok(id.clone()),
            CmRef::Pending(doc) => self
                .services
                .get(doc)
                .map(|s| s.0.clone())
                .ok_or_else(|| unmade("service of DiscoveryService", doc)),
        }
    }

    pub(super) fn topic(&self, r: &CmRef) -> Result<String, AwsError> {
        match r {
            CmRef::Id(arn) => Ok(arn.clone()),
            CmRef::Pending(doc) => self
                .topics
                .get(doc)
                .cloned()
                .ok_or_else(|| unmade("topic of AlertChannel", doc)),
        }
    }

    /// Alarm actions with the ARNs of topics made earlier in this apply.
    pub(super) fn actions(&self, arns: &[String]) -> Result<Vec<String>, AwsError> {
        let mut out: Vec<String> = arns
            .iter()
            .map(|a| match a.strip_prefix("alertchannel:") {
                None => Ok(a.clone()),
                Some(doc) => self.topic(&CmRef::Pending(doc.to_owned())),
            })
            .collect::<Result<_, _>>()?;
        out.sort();
        Ok(out)
    }

    /// A task definition, the placeholder of one this apply registers replaced by its ARN.
    pub(super) fn task_definition(&self, td: &str) -> Result<String, AwsError> {
        match pending_family(td) {
            None => Ok(td.to_owned()),
            Some(family) => self.task_definitions.get(family).cloned().ok_or_else(|| AwsError {
                service: "ecs",
                operation: "apply",
                kind: ErrorKind::Transient,
                code: None,
                message: format!(
                    "the new revision of task definition family {family} was not registered earlier in this apply"
                ),
            }),
        }
    }

    /// Registries with the ARNs of Cloud Map services made earlier in this apply.
    pub(super) fn registries(&self, regs: &[Registry]) -> Result<Vec<Registry>, AwsError> {
        regs.iter()
            .map(|r| match r.registry_arn.strip_prefix("discovery:") {
                None => Ok(r.clone()),
                Some(doc) => {
                    let (_, arn) = self
                        .services
                        .get(doc)
                        .ok_or_else(|| unmade("service of DiscoveryService", doc))?;
                    Ok(Registry {
                        registry_arn: arn.clone(),
                        ..r.clone()
                    })
                }
            })
            .collect()
    }
}

/// The error of an op that needs a Cloud Map resource no earlier op of this
/// apply created (its create failed or was held back).
pub(super) fn unmade(what: &str, name: &str) -> AwsError {
    AwsError {
        service: "servicediscovery",
        operation: "apply",
        kind: ErrorKind::Transient,
        code: None,
        message: format!("the Cloud Map {what} {name} was not created earlier in this apply"),
    }
}

/// The revision ECS stored must compare equal to the document it was
/// registered from: if not, the normaliser misses a rule, and the step fails
/// with the differing fields (the Services that wait for it keep their
/// revision; the next plan blocks the document on the content tag).
pub(super) fn self_check(
    content: &crate::model::task_definition::TaskDefinitionSpec,
    registered: &crate::aws::ecs::ObservedTaskDefinition,
) -> Result<(), AwsError> {
    use crate::plan::task_definition::{field_diff, normal_of, normalise};
    let want = normalise::of_document(content, &registered.family);
    let diffs = field_diff::diff(&normal_of(registered), &want);
    if diffs.is_empty() {
        return Ok(());
    }
    let fields: Vec<String> = diffs.iter().map(field_diff::describe).collect();
    Err(AwsError {
        service: "ecs",
        operation: "RegisterTaskDefinition",
        kind: ErrorKind::Invalid,
        code: None,
        message: format!(
            "self-check: {} as ECS stored it differs from its document ({}); nothing more is registered for it",
            crate::plan::service::short_td(&registered.arn),
            fields.join("; ")
        ),
    })
}

/// What was made, even if a panicking write poisoned the lock (plain data).
pub(super) fn lock(made: &Mutex<Made>) -> std::sync::MutexGuard<'_, Made> {
    match made.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    }
}
