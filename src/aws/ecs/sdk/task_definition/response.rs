//! A revision ECS returns as an `ObservedTaskDefinition`: lists ECS returns
//! empty stay empty, enum-like fields stay ECS's own strings.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as sdk;

use super::each;
use crate::aws::ecs::{ObservedTaskDefinition, family_of_arn};
use crate::model::task_definition::container::{
    Capabilities, ContainerDependency, HealthCheck, KeyValue, LinuxParameters, LogConfiguration,
    MountPoint, PortMapping, RepositoryCredentials, Secret, Ulimit, VolumeFrom,
};
use crate::model::task_definition::{
    ContainerDefinition, EfsAuthorization, EfsVolume, EphemeralStorage, HostVolume,
    RuntimePlatform, TaskDefinitionSpec, TaskSize, Volume,
};

/// The revision `td` as the operator sees it, with `tags` (DescribeTaskDefinition
/// returns them next to it). Lists ECS returns empty stay `Some([])`: the
/// normaliser decides what an empty list means. Container `cpu` is always a
/// number in the SDK (`0` when ECS has none).
pub(super) fn observed(
    td: &sdk::TaskDefinition,
    tags: BTreeMap<String, String>,
) -> ObservedTaskDefinition {
    let arn = td.task_definition_arn().unwrap_or_default().to_owned();
    let family = td.family().unwrap_or(family_of_arn(&arn)).to_owned();
    let string = |s: &str| s.to_owned();
    let content = TaskDefinitionSpec {
        family: Some(family.clone()),
        container_definitions: td
            .container_definitions()
            .iter()
            .map(observed_container)
            .collect(),
        cpu: td.cpu().map(|c| TaskSize::Text(c.to_owned())),
        memory: td.memory().map(|m| TaskSize::Text(m.to_owned())),
        network_mode: td.network_mode().map(|m| m.as_str().to_owned()),
        requires_compatibilities: each(td.requires_compatibilities.as_deref(), |c| {
            c.as_str().to_owned()
        }),
        runtime_platform: td.runtime_platform().map(|p| RuntimePlatform {
            cpu_architecture: p.cpu_architecture().map(|a| a.as_str().to_owned()),
            operating_system_family: p.operating_system_family().map(|o| o.as_str().to_owned()),
        }),
        execution_role_arn: td.execution_role_arn().map(string),
        task_role_arn: td.task_role_arn().map(string),
        volumes: each(td.volumes.as_deref(), observed_volume),
        ephemeral_storage: td.ephemeral_storage().map(|e| EphemeralStorage {
            size_in_gib: to_u32(e.size_in_gib()),
        }),
        pid_mode: td.pid_mode().map(|m| m.as_str().to_owned()),
        ipc_mode: td.ipc_mode().map(|m| m.as_str().to_owned()),
        tags: None,
        keep_revisions: None,
    };
    ObservedTaskDefinition {
        arn,
        family,
        revision: to_u32(td.revision()),
        status: td
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        content,
        tags,
    }
}

/// SDK tags as a map (a tag without a key is dropped).
pub(super) fn tag_map(tags: &[sdk::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn observed_container(c: &sdk::ContainerDefinition) -> ContainerDefinition {
    let string = |s: &str| s.to_owned();
    let map = |m: &std::collections::HashMap<String, String>| {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let observed_secret = |s: &sdk::Secret| Secret {
        name: s.name().to_owned(),
        value_from: s.value_from().to_owned(),
    };
    ContainerDefinition {
        name: c.name().unwrap_or_default().to_owned(),
        image: c.image().unwrap_or_default().to_owned(),
        essential: c.essential(),
        cpu: Some(to_u32(c.cpu())),
        memory: c.memory().map(to_u32),
        memory_reservation: c.memory_reservation().map(to_u32),
        port_mappings: each(c.port_mappings.as_deref(), |p| PortMapping {
            // A mapping with only a `containerPortRange` has no port: 0.
            container_port: port(p.container_port()).unwrap_or(0),
            host_port: port(p.host_port()),
            protocol: p.protocol().map(|t| t.as_str().to_owned()),
            name: p.name().map(string),
            app_protocol: p.app_protocol().map(|a| a.as_str().to_owned()),
        }),
        environment: each(c.environment.as_deref(), |e| KeyValue {
            name: e.name().unwrap_or_default().to_owned(),
            value: e.value().unwrap_or_default().to_owned(),
        }),
        secrets: each(c.secrets.as_deref(), observed_secret),
        command: c.command.clone(),
        entry_point: c.entry_point.clone(),
        working_directory: c.working_directory().map(string),
        log_configuration: c.log_configuration().map(|l| LogConfiguration {
            log_driver: l.log_driver().as_str().to_owned(),
            options: l.options.as_ref().map(map),
            secret_options: each(l.secret_options.as_deref(), observed_secret),
        }),
        health_check: c.health_check().map(|h| HealthCheck {
            command: h.command().to_vec(),
            interval: h.interval().map(to_u32),
            timeout: h.timeout().map(to_u32),
            retries: h.retries().map(to_u32),
            start_period: h.start_period().map(to_u32),
        }),
        depends_on: each(c.depends_on.as_deref(), |d| ContainerDependency {
            container_name: d.container_name().to_owned(),
            condition: d.condition().as_str().to_owned(),
        }),
        start_timeout: c.start_timeout().map(to_u32),
        stop_timeout: c.stop_timeout().map(to_u32),
        readonly_root_filesystem: c.readonly_root_filesystem(),
        user: c.user().map(string),
        ulimits: each(c.ulimits.as_deref(), |u| Ulimit {
            name: u.name().as_str().to_owned(),
            soft_limit: u.soft_limit(),
            hard_limit: u.hard_limit(),
        }),
        linux_parameters: c.linux_parameters().map(|l| LinuxParameters {
            capabilities: l.capabilities().map(|k| Capabilities {
                add: k.add.clone(),
                drop: k.drop.clone(),
            }),
            init_process_enabled: l.init_process_enabled(),
            shared_memory_size: l.shared_memory_size().map(to_u32),
        }),
        mount_points: each(c.mount_points.as_deref(), |m| MountPoint {
            source_volume: m.source_volume().unwrap_or_default().to_owned(),
            container_path: m.container_path().unwrap_or_default().to_owned(),
            read_only: m.read_only(),
        }),
        volumes_from: each(c.volumes_from.as_deref(), |v| VolumeFrom {
            source_container: v.source_container().unwrap_or_default().to_owned(),
            read_only: v.read_only(),
        }),
        docker_labels: c.docker_labels.as_ref().map(map),
        repository_credentials: c.repository_credentials().map(|r| RepositoryCredentials {
            credentials_parameter: r.credentials_parameter().to_owned(),
        }),
        version_consistency: c.version_consistency().map(|v| v.as_str().to_owned()),
    }
}

fn port(n: Option<i32>) -> Option<u16> {
    n.and_then(|p| u16::try_from(p).ok())
}

fn observed_volume(v: &sdk::Volume) -> Volume {
    Volume {
        name: v.name().unwrap_or_default().to_owned(),
        host: v.host().map(|h| HostVolume {
            source_path: h.source_path().map(str::to_owned),
        }),
        efs_volume_configuration: v.efs_volume_configuration().map(|e| EfsVolume {
            file_system_id: e.file_system_id().to_owned(),
            root_directory: e.root_directory().map(str::to_owned),
            transit_encryption: e.transit_encryption().map(|t| t.as_str().to_owned()),
            transit_encryption_port: port(e.transit_encryption_port()),
            authorization_config: e.authorization_config().map(|a| EfsAuthorization {
                access_point_id: a.access_point_id().map(str::to_owned),
                iam: a.iam().map(|i| i.as_str().to_owned()),
            }),
        }),
    }
}
