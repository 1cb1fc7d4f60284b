//! The vocabulary of a plan: what to do about a resource (`Action`), a field
//! that differs (`Change`), the AWS writes (`Op`), the plan of one resource
//! (`Step`), and who owns a live resource.

use std::collections::BTreeMap;

use serde::Serialize;

use super::INSTANCE_TAG;
use super::discovery;
use crate::aws::autoscaling::TrackingPolicy;
use crate::aws::ecs::{ServiceCreate, ServiceUpdate};
use crate::model::DocRef;

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
}

impl Action {
    /// Whether the plan differs from AWS because of this step.
    pub fn is_change(self) -> bool {
        !matches!(self, Action::InSync | Action::Blocked)
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
    /// One new revision of a TaskDefinition document's family; the apply
    /// checks what ECS stored against the document (the self-check).
    RegisterTaskDefinition {
        content: Box<crate::model::task_definition::TaskDefinitionSpec>,
        tags: BTreeMap<String, String>,
    },
    TagTaskDefinition {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    DeregisterTaskDefinition {
        arn: String,
    },
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
    /// Steps of the same plan this one waits for; a failure of any defers it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DocRef>,
    /// A Service's deployment health, as ECS reports it (SPEC §3.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::plan::service::rollout::Health>,
    /// A revision ECS rolled back, held: not sent again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<crate::plan::service::rollout::Hold>,
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
            depends_on: Vec::new(),
            health: None,
            hold: None,
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
