//! `TaskDefinition`: what a service runs (SPEC §2.8). The fields are
//! RegisterTaskDefinition's input, camelCase, plus the operator's `tags` and
//! `keepRevisions`.

pub mod container;
mod size;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use container::ContainerDefinition;
pub use size::{TaskSize, fargate_pair_ok};

use super::{Cx, Kind, Spec};

pub const DEFAULT_KEEP_REVISIONS: u32 = 5;

/// A task definition family whose latest ACTIVE revision the operator keeps
/// equal to this document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskDefinitionSpec {
    /// Task definition family; default `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// 1 to 10 containers, at least one essential.
    pub container_definitions: Vec<ContainerDefinition>,
    /// Task CPU: units (`256`) or vCPU (`"0.25 vCPU"`). Required on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<TaskSize>,
    /// Task memory: MiB (`512`) or GB (`"2 GB"`). Required on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<TaskSize>,
    /// `awsvpc`, `bridge` (ECS's default), `host` or `none`; Fargate needs `awsvpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `FARGATE`, `EC2`, `EXTERNAL` or `MANAGED_INSTANCES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// Role ECS uses to pull images, read secrets and write logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// Role the containers' code runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// `host` or `task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    /// `host`, `task` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// Tags of every revision, with the ownership tags. A change of tags alone
    /// re-tags the live revision; it never registers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Older ACTIVE revisions the operator registered, used by no deployment
    /// and no running task, are deregistered beyond this many; at least 2, default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_revisions: Option<u32>,
}

impl TaskDefinitionSpec {
    /// The family, defaulted from the document name.
    pub fn family_or<'a>(&'a self, name: &'a str) -> &'a str {
        self.family.as_deref().unwrap_or(name)
    }

    pub fn keep_revisions(&self) -> u32 {
        self.keep_revisions.unwrap_or(DEFAULT_KEEP_REVISIONS)
    }

    pub fn is_fargate(&self) -> bool {
        self.requires_compatibilities
            .iter()
            .flatten()
            .any(|c| c == "FARGATE")
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimePlatform {
    /// `X86_64` or `ARM64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<String>,
    /// e.g. `LINUX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
}

/// A task volume: a bind mount (no source), a host path, or EFS.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolume>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsVolume {
    pub file_system_id: String,
    /// Default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorization>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsAuthorization {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<String>,
}

/// Fargate ephemeral storage, 21 to 200 GiB.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EphemeralStorage {
    #[serde(rename = "sizeInGiB")]
    pub size_in_gib: u32,
}

impl Spec for TaskDefinitionSpec {
    const KIND: Kind = Kind::TaskDefinition;

    fn validate(&self, cx: &mut Cx<'_>) {
        validate::task(self, cx);
    }
}

/// Why an image reference may not roll out what was meant, if it may not:
/// a moved tag changes nothing in the task definition, so nothing would
/// deploy (SPEC §2.8). Digests and per-commit tags are the norm.
pub fn image_warning(image: &str) -> Option<String> {
    if image.contains("@sha256:") {
        return None;
    }
    // The tag is after the last `:` of the last path segment (a registry may have a port).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some(format!(
            "`{image}` has no tag: ECS runs `latest`, and a new push rolls nothing out; pin a per-commit tag or a digest (@sha256:…)"
        )),
        Some((_, "latest")) => Some(format!(
            "`{image}` uses `latest`: a new push rolls nothing out; pin a per-commit tag or a digest (@sha256:…)"
        )),
        Some(_) => None,
    }
}
