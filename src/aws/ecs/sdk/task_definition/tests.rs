//! Round trips of a `TaskDefinitionSpec` through the SDK types, and the
//! reading of ECS's answers (defaults, empty lists, missing families, tags).

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types as sdk;

use super::ECS;
use super::missing;
use super::request::register;
use super::response::{observed, tag_map};
use crate::aws::{AwsError, ErrorKind};
use crate::model::task_definition::container::{
    Capabilities, ContainerDependency, HealthCheck, KeyValue, LinuxParameters, LogConfiguration,
    MountPoint, PortMapping, RepositoryCredentials, Secret, Ulimit, VolumeFrom,
};
use crate::model::task_definition::{
    ContainerDefinition, EfsAuthorization, EfsVolume, EphemeralStorage, HostVolume,
    RuntimePlatform, TaskDefinitionSpec, TaskSize, Volume,
};

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
    let req =
        register(client().register_task_definition(), &spec, &BTreeMap::new()).expect("request");
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
