//! A `TaskDefinitionSpec` as a RegisterTaskDefinition request: every field our
//! types model, enum-like fields as ECS's own strings.

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types as sdk;
use aws_smithy_types::error::operation::BuildError;

use super::{ECS, each};
use crate::aws::ecs::sdk::to_i32;
use crate::aws::{AwsError, ErrorKind};
use crate::model::task_definition::{
    ContainerDefinition, TaskDefinitionSpec, TaskSize, Volume, container::Secret,
};

/// `req` with every field of `content` our types model, `family` required, and
/// `tags`. The operator's own fields (`tags`, `keepRevisions`) are not sent:
/// the caller passes the tags to send. `cpu`/`memory` go as written ("1 vCPU"):
/// ECS converts the units itself.
pub(super) fn register(
    req: RegisterTaskDefinitionFluentBuilder,
    content: &TaskDefinitionSpec,
    tags: &BTreeMap<String, String>,
) -> Result<RegisterTaskDefinitionFluentBuilder, AwsError> {
    let Some(family) = &content.family else {
        return Err(invalid(
            "a task definition to register needs its family".to_owned(),
        ));
    };
    let containers = content
        .container_definitions
        .iter()
        .map(container)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("family {family}: {e}")))?;
    let volumes = fallible(content.volumes.as_deref(), volume)
        .map_err(|e| invalid(format!("family {family}: {e}")))?;
    Ok(req
        .family(family)
        .set_container_definitions(Some(containers))
        .set_cpu(content.cpu.as_ref().map(TaskSize::to_string))
        .set_memory(content.memory.as_ref().map(TaskSize::to_string))
        .set_network_mode(content.network_mode.as_deref().map(sdk::NetworkMode::from))
        .set_requires_compatibilities(each(content.requires_compatibilities.as_deref(), |c| {
            sdk::Compatibility::from(c.as_str())
        }))
        .set_runtime_platform(content.runtime_platform.as_ref().map(|p| {
            sdk::RuntimePlatform::builder()
                .set_cpu_architecture(
                    p.cpu_architecture
                        .as_deref()
                        .map(sdk::CpuArchitecture::from),
                )
                .set_operating_system_family(
                    p.operating_system_family
                        .as_deref()
                        .map(sdk::OsFamily::from),
                )
                .build()
        }))
        .set_execution_role_arn(content.execution_role_arn.clone())
        .set_task_role_arn(content.task_role_arn.clone())
        .set_volumes(volumes)
        .set_ephemeral_storage(content.ephemeral_storage.as_ref().map(|e| {
            sdk::EphemeralStorage::builder()
                .size_in_gib(to_i32(e.size_in_gib))
                .build()
        }))
        .set_pid_mode(content.pid_mode.as_deref().map(sdk::PidMode::from))
        .set_ipc_mode(content.ipc_mode.as_deref().map(sdk::IpcMode::from))
        // ECS refuses `tags: []` ("Tags can not be empty"): no tags, no field.
        .set_tags((!tags.is_empty()).then(|| sdk_tags(tags))))
}

/// A build error of a type with required fields, as the Register call's error.
fn invalid(message: String) -> AwsError {
    AwsError {
        service: ECS,
        operation: "RegisterTaskDefinition",
        kind: ErrorKind::Invalid,
        code: None,
        message,
    }
}

/// [`each`] for items whose SDK builder checks required fields.
fn fallible<T, S>(
    items: Option<&[T]>,
    f: impl Fn(&T) -> Result<S, BuildError>,
) -> Result<Option<Vec<S>>, BuildError> {
    items.map(|items| items.iter().map(f).collect()).transpose()
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<sdk::Tag> {
    tags.iter()
        .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
        .collect()
}

fn container(c: &ContainerDefinition) -> Result<sdk::ContainerDefinition, BuildError> {
    let map = |m: &BTreeMap<String, String>| m.clone().into_iter().collect();
    Ok(sdk::ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .set_essential(c.essential)
        .set_cpu(c.cpu.map(to_i32))
        .set_memory(c.memory.map(to_i32))
        .set_memory_reservation(c.memory_reservation.map(to_i32))
        .set_port_mappings(each(c.port_mappings.as_deref(), |p| {
            sdk::PortMapping::builder()
                .container_port(i32::from(p.container_port))
                .set_host_port(p.host_port.map(i32::from))
                .set_protocol(p.protocol.as_deref().map(sdk::TransportProtocol::from))
                .set_name(p.name.clone())
                .set_app_protocol(
                    p.app_protocol
                        .as_deref()
                        .map(sdk::ApplicationProtocol::from),
                )
                .build()
        }))
        .set_environment(each(c.environment.as_deref(), |e| {
            sdk::KeyValuePair::builder()
                .name(&e.name)
                .value(&e.value)
                .build()
        }))
        .set_secrets(fallible(c.secrets.as_deref(), secret)?)
        .set_command(c.command.clone())
        .set_entry_point(c.entry_point.clone())
        .set_working_directory(c.working_directory.clone())
        .set_log_configuration(
            c.log_configuration
                .as_ref()
                .map(|l| {
                    sdk::LogConfiguration::builder()
                        .log_driver(sdk::LogDriver::from(l.log_driver.as_str()))
                        .set_options(l.options.as_ref().map(map))
                        .set_secret_options(fallible(l.secret_options.as_deref(), secret)?)
                        .build()
                })
                .transpose()?,
        )
        .set_health_check(
            c.health_check
                .as_ref()
                .map(|h| {
                    sdk::HealthCheck::builder()
                        .set_command(Some(h.command.clone()))
                        .set_interval(h.interval.map(to_i32))
                        .set_timeout(h.timeout.map(to_i32))
                        .set_retries(h.retries.map(to_i32))
                        .set_start_period(h.start_period.map(to_i32))
                        .build()
                })
                .transpose()?,
        )
        .set_depends_on(fallible(c.depends_on.as_deref(), |d| {
            sdk::ContainerDependency::builder()
                .container_name(&d.container_name)
                .condition(sdk::ContainerCondition::from(d.condition.as_str()))
                .build()
        })?)
        .set_start_timeout(c.start_timeout.map(to_i32))
        .set_stop_timeout(c.stop_timeout.map(to_i32))
        .set_readonly_root_filesystem(c.readonly_root_filesystem)
        .set_user(c.user.clone())
        .set_ulimits(fallible(c.ulimits.as_deref(), |u| {
            sdk::Ulimit::builder()
                .name(sdk::UlimitName::from(u.name.as_str()))
                .soft_limit(u.soft_limit)
                .hard_limit(u.hard_limit)
                .build()
        })?)
        .set_linux_parameters(c.linux_parameters.as_ref().map(|l| {
            sdk::LinuxParameters::builder()
                .set_capabilities(l.capabilities.as_ref().map(|c| {
                    sdk::KernelCapabilities::builder()
                        .set_add(c.add.clone())
                        .set_drop(c.drop.clone())
                        .build()
                }))
                .set_init_process_enabled(l.init_process_enabled)
                .set_shared_memory_size(l.shared_memory_size.map(to_i32))
                .build()
        }))
        .set_mount_points(each(c.mount_points.as_deref(), |m| {
            sdk::MountPoint::builder()
                .source_volume(&m.source_volume)
                .container_path(&m.container_path)
                .set_read_only(m.read_only)
                .build()
        }))
        .set_volumes_from(each(c.volumes_from.as_deref(), |v| {
            sdk::VolumeFrom::builder()
                .source_container(&v.source_container)
                .set_read_only(v.read_only)
                .build()
        }))
        .set_docker_labels(c.docker_labels.as_ref().map(map))
        .set_repository_credentials(
            c.repository_credentials
                .as_ref()
                .map(|r| {
                    sdk::RepositoryCredentials::builder()
                        .credentials_parameter(&r.credentials_parameter)
                        .build()
                })
                .transpose()?,
        )
        .set_version_consistency(
            c.version_consistency
                .as_deref()
                .map(sdk::VersionConsistency::from),
        )
        .build())
}

fn secret(s: &Secret) -> Result<sdk::Secret, BuildError> {
    sdk::Secret::builder()
        .name(&s.name)
        .value_from(&s.value_from)
        .build()
}

fn volume(v: &Volume) -> Result<sdk::Volume, BuildError> {
    let efs = v.efs_volume_configuration.as_ref().map(|e| {
        sdk::EfsVolumeConfiguration::builder()
            .file_system_id(&e.file_system_id)
            .set_root_directory(e.root_directory.clone())
            .set_transit_encryption(
                e.transit_encryption
                    .as_deref()
                    .map(sdk::EfsTransitEncryption::from),
            )
            .set_transit_encryption_port(e.transit_encryption_port.map(i32::from))
            .set_authorization_config(e.authorization_config.as_ref().map(|a| {
                sdk::EfsAuthorizationConfig::builder()
                    .set_access_point_id(a.access_point_id.clone())
                    .set_iam(a.iam.as_deref().map(sdk::EfsAuthorizationConfigIam::from))
                    .build()
            }))
            .build()
    });
    Ok(sdk::Volume::builder()
        .name(&v.name)
        .set_host(v.host.as_ref().map(|h| {
            sdk::HostVolumeProperties::builder()
                .set_source_path(h.source_path.clone())
                .build()
        }))
        .set_efs_volume_configuration(efs.transpose()?)
        .build())
}
