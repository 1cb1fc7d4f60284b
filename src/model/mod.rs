//! The desired-state documents: a Kubernetes-style envelope around one spec per kind.
//!
//! Raw specs are serde + schemars types (`deny_unknown_fields`); each kind checks
//! its own fields in `validate`, and `desired.rs` checks what spans documents.

pub mod alarm;
pub mod alert_channel;
pub mod autoscaler;
pub mod discovery;
pub mod duration;
pub mod schedule;
pub mod service;
pub mod slo;
pub mod task_definition;
#[cfg(test)]
pub mod testing;

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::load::diagnostic::{Diagnostic, Diagnostics};
use crate::load::tree::PathIndex;

pub const API_VERSION: &str = "ecs-operator/v1alpha1";
pub const PAUSED_ANNOTATION: &str = "ecs-operator/paused";
pub const PAUSED_REASON_ANNOTATION: &str = "ecs-operator/paused-reason";
/// A new value releases a rollout ECS rolled back: the revision is sent once more.
pub const RETRY_ROLLOUT_ANNOTATION: &str = "ecs-operator/retry-rollout";

/// The eight document kinds, in reconcile order (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    AlertChannel,
    DiscoveryService,
    TaskDefinition,
    Service,
    Autoscaler,
    Schedule,
    Alarm,
    ServiceLevelObjective,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::AlertChannel,
        Kind::DiscoveryService,
        Kind::TaskDefinition,
        Kind::Service,
        Kind::Autoscaler,
        Kind::Schedule,
        Kind::Alarm,
        Kind::ServiceLevelObjective,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AlertChannel => "AlertChannel",
            Kind::DiscoveryService => "DiscoveryService",
            Kind::TaskDefinition => "TaskDefinition",
            Kind::Service => "Service",
            Kind::Autoscaler => "Autoscaler",
            Kind::Schedule => "Schedule",
            Kind::Alarm => "Alarm",
            Kind::ServiceLevelObjective => "ServiceLevelObjective",
        }
    }

    /// File stem of the kind's schema in `crds/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Kind::AlertChannel => "alert-channel.json",
            Kind::DiscoveryService => "discovery-service.json",
            Kind::TaskDefinition => "task-definition.json",
            Kind::Service => "service.json",
            Kind::Autoscaler => "autoscaler.json",
            Kind::Schedule => "schedule.json",
            Kind::Alarm => "alarm.json",
            Kind::ServiceLevelObjective => "service-level-objective.json",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Kind/name`: how a document is named everywhere (plans, tags, errors).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DocRef {
    pub kind: Kind,
    pub name: String,
}

impl DocRef {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        DocRef {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for DocRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Document metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Name, unique per kind: lowercase letters, digits and `-`, 1 to 63 characters.
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"))]
    pub name: String,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations; `ecs-operator/paused: "true"` observes and reports but never writes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Metadata {
    /// Why the document is paused, when it is.
    pub fn paused(&self) -> Option<String> {
        (self.annotations.get(PAUSED_ANNOTATION).map(String::as_str) == Some("true")).then(|| {
            self.annotations
                .get(PAUSED_REASON_ANNOTATION)
                .cloned()
                .unwrap_or_else(|| "paused by annotation".to_owned())
        })
    }
}

/// The envelope every document shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document<S> {
    /// Always `ecs-operator/v1alpha1`.
    pub api_version: String,
    /// The document kind.
    pub kind: String,
    pub metadata: Metadata,
    pub spec: S,
}

/// Where a document came from, for locating errors found after parsing.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub file: String,
    pub index: PathIndex,
}

/// Validation context of one document: collects located diagnostics.
pub struct Cx<'a> {
    pub origin: &'a Origin,
    pub doc: String,
    pub diags: &'a mut Diagnostics,
}

impl Cx<'_> {
    /// Report `message` at the value of `field` (a path from the document root).
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let pos = self.origin.index.value_pos(field);
        self.diags.push(
            Diagnostic::new(&self.origin.file, pos, message)
                .in_document(self.doc.clone())
                .at_field(field),
        );
    }

    /// Checks `value` against `min..=max`, naming the field.
    pub fn range<T: PartialOrd + fmt::Display>(&mut self, field: &str, value: T, min: T, max: T) {
        if value < min || value > max {
            self.error(
                field,
                format!("{value} is out of range: expected {min} to {max}"),
            );
        }
    }

    /// Exactly one of two optional fields must be set.
    pub fn exactly_one(&mut self, prefix: &str, a: (&str, bool), b: (&str, bool)) {
        match (a.1, b.1) {
            (true, true) => self.error(
                &crate::load::tree::join_key(prefix, b.0),
                format!("set only one of `{}` and `{}`", a.0, b.0),
            ),
            (false, false) => {
                self.error(prefix, format!("one of `{}` or `{}` is required", a.0, b.0))
            }
            _ => {}
        }
    }
}

/// What every kind's spec provides to the loader.
pub trait Spec: for<'de> Deserialize<'de> + JsonSchema + Sized {
    const KIND: Kind;
    /// Checks the spec's own fields (ranges, exclusive fields, formats), reporting
    /// with paths that start at `spec.`. Cross-document references are checked later.
    fn validate(&self, cx: &mut Cx<'_>);

    /// Other documents this one names, checked to exist once all are loaded.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}

/// A reference from one document's field to another document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Path of the referring field, e.g. `spec.serviceRef` or `spec.notify[1]`.
    pub field: String,
    pub kind: Kind,
    pub name: String,
}
