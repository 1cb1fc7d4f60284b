//! Task definitions through the SDK: a `TaskDefinitionSpec` as a
//! RegisterTaskDefinition request, and a revision ECS returns as an
//! `ObservedTaskDefinition`. Enum-like fields stay ECS's own strings both ways.

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types as sdk;
use aws_smithy_types::error::operation::BuildError;

use super::{ECS, to_i32};
use crate::aws::ecs::{ObservedTaskDefinition, family_of_arn};
use crate::aws::{AwsError, ErrorKind};
use crate::model::task_definition::container::{
    Capabilities, ContainerDependency, HealthCheck, KeyValue, LinuxParameters, LogConfiguration,
    MountPoint, PortMapping, RepositoryCredentials, Secret, Ulimit, VolumeFrom,
};
use crate::model::task_definition::{
    ContainerDefinition, EfsAuthorization, EfsVolume, EphemeralStorage, HostVolume,
    RuntimePlatform, TaskDefinitionSpec, TaskSize, Volume,
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

/// An optional list, item by item: `None` stays `None`, `[]` stays `[]`.
fn each<T, S>(items: Option<&[T]>, f: impl Fn(&T) -> S) -> Option<Vec<S>> {
    items.map(|items| items.iter().map(f).collect())
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

/// Whether DescribeTaskDefinition failed because the family or revision does
/// not exist: ECS and moto answer a ClientException "Unable to describe task
/// definition." (`classify` makes it NotFound; Invalid with that message is the
/// same answer).
pub(super) fn missing(e: &AwsError) -> bool {
    e.kind == ErrorKind::NotFound
        || (e.kind == ErrorKind::Invalid
            && e.message.contains("Unable to describe task definition"))
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

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

    /// A client that is never sent anything: the fluent builder needs one.
    fn client() -> aws_sdk_ecs::Client {
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A container with every field our types model set.
    fn every_container_field() -> ContainerDefinition {
        let secret = |name: &str| Secret {
            name: name.to_owned(),
            value_from: format!("arn:aws:ssm:us-east-1:123456789012:parameter/{name}"),
        };
        ContainerDefinition {
            name: "app".to_owned(),
            image: "repo/app@sha256:abc".to_owned(),
            essential: Some(true),
            cpu: Some(256),
            memory: Some(512),
            memory_reservation: Some(256),
            port_mappings: Some(vec![PortMapping {
                container_port: 8080,
                host_port: Some(8080),
                protocol: Some("tcp".to_owned()),
                name: Some("http".to_owned()),
                app_protocol: Some("http2".to_owned()),
            }]),
            environment: Some(vec![KeyValue {
                name: "MODE".to_owned(),
                value: "prod".to_owned(),
            }]),
            secrets: Some(vec![secret("DB_PASSWORD")]),
            command: Some(strings(&["serve", "--port", "8080"])),
            entry_point: Some(strings(&["/app"])),
            working_directory: Some("/srv".to_owned()),
            log_configuration: Some(LogConfiguration {
                log_driver: "awslogs".to_owned(),
                options: Some(labels(&[("awslogs-group", "/ecs/web")])),
                secret_options: Some(vec![secret("LOG_TOKEN")]),
            }),
            health_check: Some(HealthCheck {
                command: strings(&["CMD-SHELL", "curl -f localhost:8080/ || exit 1"]),
                interval: Some(10),
                timeout: Some(3),
                retries: Some(2),
                start_period: Some(15),
            }),
            depends_on: Some(vec![ContainerDependency {
                container_name: "init".to_owned(),
                condition: "SUCCESS".to_owned(),
            }]),
            start_timeout: Some(60),
            stop_timeout: Some(30),
            readonly_root_filesystem: Some(true),
            user: Some("1000:1000".to_owned()),
            ulimits: Some(vec![Ulimit {
                name: "nofile".to_owned(),
                soft_limit: 1024,
                hard_limit: 4096,
            }]),
            linux_parameters: Some(LinuxParameters {
                capabilities: Some(Capabilities {
                    add: Some(strings(&["SYS_PTRACE"])),
                    drop: Some(strings(&["ALL"])),
                }),
                init_process_enabled: Some(true),
                shared_memory_size: Some(64),
            }),
            mount_points: Some(vec![MountPoint {
                source_volume: "data".to_owned(),
                container_path: "/data".to_owned(),
                read_only: Some(false),
            }]),
            volumes_from: Some(vec![VolumeFrom {
                source_container: "init".to_owned(),
                read_only: Some(true),
            }]),
            docker_labels: Some(labels(&[("team", "web")])),
            repository_credentials: Some(RepositoryCredentials {
                credentials_parameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg"
                    .to_owned(),
            }),
            version_consistency: Some("disabled".to_owned()),
        }
    }

    /// A task definition with every field our types model set.
    fn every_field() -> TaskDefinitionSpec {
        TaskDefinitionSpec {
            family: Some("web".to_owned()),
            container_definitions: vec![
                every_container_field(),
                ContainerDefinition {
                    name: "init".to_owned(),
                    image: "repo/init:1".to_owned(),
                    essential: Some(false),
                    cpu: Some(0),
                    ..ContainerDefinition::default()
                },
            ],
            cpu: Some(TaskSize::Text("1 vCPU".to_owned())),
            memory: Some(TaskSize::Number(2048)),
            network_mode: Some("awsvpc".to_owned()),
            requires_compatibilities: Some(strings(&["FARGATE"])),
            runtime_platform: Some(RuntimePlatform {
                cpu_architecture: Some("ARM64".to_owned()),
                operating_system_family: Some("LINUX".to_owned()),
            }),
            execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".to_owned()),
            task_role_arn: Some("arn:aws:iam::123456789012:role/task".to_owned()),
            volumes: Some(vec![
                Volume {
                    name: "data".to_owned(),
                    host: None,
                    efs_volume_configuration: Some(EfsVolume {
                        file_system_id: "fs-12345678".to_owned(),
                        root_directory: Some("/web".to_owned()),
                        transit_encryption: Some("ENABLED".to_owned()),
                        transit_encryption_port: Some(2999),
                        authorization_config: Some(EfsAuthorization {
                            access_point_id: Some("fsap-1234".to_owned()),
                            iam: Some("ENABLED".to_owned()),
                        }),
                    }),
                },
                Volume {
                    name: "scratch".to_owned(),
                    host: Some(HostVolume { source_path: None }),
                    efs_volume_configuration: None,
                },
            ]),
            ephemeral_storage: Some(EphemeralStorage { size_in_gib: 40 }),
            pid_mode: Some("task".to_owned()),
            ipc_mode: Some("none".to_owned()),
            tags: Some(labels(&[("from", "the document")])),
            keep_revisions: Some(3),
        }
    }

    /// The revision ECS would store for `req`'s input, as DescribeTaskDefinition returns it.
    fn stored(req: &RegisterTaskDefinitionFluentBuilder) -> sdk::TaskDefinition {
        let input = req.as_input();
        sdk::TaskDefinition::builder()
            .task_definition_arn(ARN)
            .revision(7)
            .status(sdk::TaskDefinitionStatus::Active)
            .set_family(input.get_family().clone())
            .set_container_definitions(input.get_container_definitions().clone())
            .set_cpu(input.get_cpu().clone())
            .set_memory(input.get_memory().clone())
            .set_network_mode(input.get_network_mode().clone())
            .set_requires_compatibilities(input.get_requires_compatibilities().clone())
            .set_runtime_platform(input.get_runtime_platform().clone())
            .set_execution_role_arn(input.get_execution_role_arn().clone())
            .set_task_role_arn(input.get_task_role_arn().clone())
            .set_volumes(input.get_volumes().clone())
            .set_ephemeral_storage(input.get_ephemeral_storage().clone())
            .set_pid_mode(input.get_pid_mode().clone())
            .set_ipc_mode(input.get_ipc_mode().clone())
            .build()
    }

    #[test]
    fn every_field_survives_the_round_trip_through_the_sdk_types() {
        let spec = every_field();
        let tags = labels(&[("ecs-operator/instance", "prod")]);
        let req = register(client().register_task_definition(), &spec, &tags).expect("request");
        let live = observed(&stored(&req), tags.clone());
        assert_eq!(live.arn, ARN);
        assert_eq!((live.family.as_str(), live.revision), ("web", 7));
        assert_eq!(live.status, "ACTIVE");
        assert_eq!(live.tags, tags);
        // Sizes come back as ECS's strings; the document's own fields were never sent.
        let want = TaskDefinitionSpec {
            cpu: Some(TaskSize::Text("1 vCPU".to_owned())),
            memory: Some(TaskSize::Text("2048".to_owned())),
            tags: None,
            keep_revisions: None,
            ..spec
        };
        assert_eq!(live.content, want);
    }

    #[test]
    fn the_request_carries_the_given_tags_and_leaves_out_an_empty_set() {
        let spec = every_field();
        let tags = labels(&[("ecs-operator/instance", "prod"), ("team", "web")]);
        let req = register(client().register_task_definition(), &spec, &tags).expect("request");
        let sent = req.as_input().get_tags().clone().expect("tags");
        assert_eq!(tag_map(&sent), tags);
        let req = register(client().register_task_definition(), &spec, &BTreeMap::new())
            .expect("request");
        assert_eq!(req.as_input().get_tags(), &None);
        // As written: ECS converts "1 vCPU" itself.
        assert_eq!(req.as_input().get_cpu().as_deref(), Some("1 vCPU"));
        assert_eq!(req.as_input().get_memory().as_deref(), Some("2048"));
    }

    #[test]
    fn registering_without_a_family_is_refused_before_any_call() {
        let spec = TaskDefinitionSpec {
            family: None,
            ..every_field()
        };
        let e = register(client().register_task_definition(), &spec, &BTreeMap::new())
            .expect_err("no family");
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.operation, "RegisterTaskDefinition");
    }

    #[test]
    fn a_revision_as_ecs_returns_it_keeps_its_defaults_and_empty_lists() {
        let container = sdk::ContainerDefinition::builder()
            .name("app")
            .image("repo/app:1")
            .cpu(0)
            .essential(true)
            .port_mappings(
                sdk::PortMapping::builder()
                    .container_port(8080)
                    .host_port(8080)
                    .protocol(sdk::TransportProtocol::Tcp)
                    .build(),
            )
            .set_environment(Some(vec![]))
            .set_mount_points(Some(vec![]))
            .set_volumes_from(Some(vec![]))
            .set_system_controls(Some(vec![]))
            .health_check(
                sdk::HealthCheck::builder()
                    .command("CMD")
                    .command("true")
                    .interval(30)
                    .timeout(5)
                    .retries(3)
                    .build()
                    .expect("health check"),
            )
            .linux_parameters(
                sdk::LinuxParameters::builder()
                    .capabilities(
                        sdk::KernelCapabilities::builder()
                            .set_add(Some(vec![]))
                            .drop("ALL")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let td = sdk::TaskDefinition::builder()
            .task_definition_arn(ARN)
            .revision(7)
            .status(sdk::TaskDefinitionStatus::Inactive)
            .container_definitions(container)
            .cpu("1024")
            .memory("2048")
            .network_mode(sdk::NetworkMode::Awsvpc)
            .requires_compatibilities(sdk::Compatibility::Fargate)
            .compatibilities(sdk::Compatibility::Ec2)
            .compatibilities(sdk::Compatibility::Fargate)
            .set_volumes(Some(vec![]))
            .set_placement_constraints(Some(vec![]))
            .registered_by("arn:aws:iam::123456789012:role/ci")
            .build();
        let live = observed(&td, BTreeMap::new());
        // No `family` in the answer: the ARN says it.
        assert_eq!(live.family, "web");
        assert_eq!(live.content.family.as_deref(), Some("web"));
        assert_eq!(live.status, "INACTIVE");
        assert_eq!(live.content.cpu, Some(TaskSize::Text("1024".to_owned())));
        assert_eq!(live.content.memory, Some(TaskSize::Text("2048".to_owned())));
        assert_eq!(live.content.network_mode.as_deref(), Some("awsvpc"));
        assert_eq!(
            live.content.requires_compatibilities,
            Some(strings(&["FARGATE"]))
        );
        assert_eq!(live.content.volumes, Some(vec![]));
        assert_eq!(live.content.pid_mode, None);
        let c = &live.content.container_definitions[0];
        assert_eq!((c.cpu, c.essential), (Some(0), Some(true)));
        assert_eq!(c.environment, Some(vec![]));
        assert_eq!(c.mount_points, Some(vec![]));
        assert_eq!(c.volumes_from, Some(vec![]));
        assert_eq!(c.secrets, None);
        assert_eq!(c.memory, None);
        let ports = c.port_mappings.as_deref().expect("ports");
        assert_eq!(
            (ports[0].container_port, ports[0].host_port),
            (8080, Some(8080))
        );
        assert_eq!(ports[0].protocol.as_deref(), Some("tcp"));
        let check = c.health_check.as_ref().expect("health check");
        assert_eq!(
            (
                check.interval,
                check.timeout,
                check.retries,
                check.start_period
            ),
            (Some(30), Some(5), Some(3), None)
        );
        let caps = c
            .linux_parameters
            .as_ref()
            .and_then(|l| l.capabilities.as_ref())
            .expect("capabilities");
        assert_eq!(
            (caps.add.clone(), caps.drop.clone()),
            (Some(vec![]), Some(strings(&["ALL"])))
        );
    }

    #[test]
    fn a_family_that_does_not_exist_is_missing_whichever_kind_the_error_has() {
        let error = |kind, message: &str| AwsError {
            service: ECS,
            operation: "DescribeTaskDefinition",
            kind,
            code: Some("ClientException".to_owned()),
            message: message.to_owned(),
        };
        let unable = "ClientException: Unable to describe task definition.";
        assert!(missing(&error(ErrorKind::NotFound, unable)));
        assert!(missing(&error(ErrorKind::Invalid, unable)));
        assert!(!missing(&error(
            ErrorKind::Invalid,
            "Family contains invalid characters"
        )));
        assert!(!missing(&error(ErrorKind::AccessDenied, unable)));
        assert!(!missing(&error(ErrorKind::Throttled, "Rate exceeded")));
    }

    #[test]
    fn tags_without_a_key_are_dropped_and_values_default_to_empty() {
        let tags = [
            sdk::Tag::builder().key("a").value("1").build(),
            sdk::Tag::builder().key("b").build(),
            sdk::Tag::builder().value("orphan").build(),
        ];
        assert_eq!(tag_map(&tags), labels(&[("a", "1"), ("b", "")]));
    }
}
