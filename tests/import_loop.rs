//! `import` on the in-memory AWS: for generated estates made the way another
//! tool would make them (launch types and capacity strategies, networks,
//! deployment settings, registries, tags, task definitions with ECS's echoed
//! defaults, autoscalers, alarms on the service), the plan right after an import is adopt-only, and
//! after one apply it is empty. moto proves the seeds' estates (`import.rs`).

#[path = "support/fakes.rs"]
mod fakes;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use ecs_operator::apply::apply;
use ecs_operator::aws::autoscaling::{ScalingApi, TrackingPolicy, resource_id};
use ecs_operator::aws::cloudwatch::{AlarmConfig, CloudWatchApi, MetricConfig};
use ecs_operator::aws::ecs::{DeploymentConfig, EcsApi, Registry, ServiceCreate};
use ecs_operator::desired::Desired;
use ecs_operator::import::{ImportOptions, import};
use ecs_operator::load::Source;
use ecs_operator::model::service::{CapacityProviderItem, CircuitBreaker, Network};
use ecs_operator::model::task_definition::container::{HealthCheck, KeyValue, PortMapping};
use ecs_operator::model::task_definition::{ContainerDefinition, TaskDefinitionSpec, TaskSize};
use ecs_operator::observe::observe;
use ecs_operator::observed::Memory;
use ecs_operator::plan::{Action, PlanOptions, plan};
use fakes::{Aws, block_on, fake, now};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Generated {
    spot: bool,
    count: u32,
    subnets: usize,
    public_ip: bool,
    min_healthy: Option<u32>,
    breaker: bool,
    exec: bool,
    grace: Option<u32>,
    propagate: Option<&'static str>,
    registry: bool,
    tags: bool,
    env: usize,
    health: bool,
    autoscaler: Option<(u32, u32, u32)>,
    /// An alarm on the service: (datapoints short of the periods, treat missing data, with actions).
    alarm: Option<(u32, &'static str, bool)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        (
            any::<bool>(),
            0u32..5,
            1usize..3,
            any::<bool>(),
            prop::option::of(0u32..=100),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            prop::option::of(0u32..120),
            prop::option::of(prop::sample::select(vec![
                "SERVICE",
                "TASK_DEFINITION",
                "NONE",
            ])),
            any::<bool>(),
            any::<bool>(),
            0usize..4,
            any::<bool>(),
            prop::option::of((0u32..3, 3u32..8, 30u32..600)),
        ),
        prop::option::of((
            0u32..2,
            prop::sample::select(vec!["missing", "notBreaching", "breaching"]),
            any::<bool>(),
        )),
    )
        .prop_map(
            |(
                (spot, count, subnets, public_ip, min_healthy, breaker, exec),
                (grace, propagate, registry, tags, env, health, autoscaler),
                alarm,
            )| Generated {
                spot,
                count,
                subnets,
                public_ip,
                min_healthy,
                breaker,
                exec,
                grace,
                propagate,
                registry,
                tags,
                env,
                health,
                autoscaler,
                alarm,
            },
        )
}

/// A revision as another tool registers it (the fake echoes ECS's defaults).
fn task_definition(family: &str, g: &Generated) -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        family: Some(family.to_owned()),
        requires_compatibilities: Some(vec!["FARGATE".to_owned()]),
        network_mode: Some("awsvpc".to_owned()),
        cpu: Some(TaskSize::Text("256".to_owned())),
        memory: Some(TaskSize::Text("512".to_owned())),
        container_definitions: vec![ContainerDefinition {
            name: "app".to_owned(),
            image: format!("repo/{family}:1"),
            port_mappings: Some(vec![PortMapping {
                container_port: 8080,
                ..PortMapping::default()
            }]),
            environment: Some(
                (0..g.env)
                    .map(|i| KeyValue {
                        name: format!("E{i}"),
                        value: i.to_string(),
                    })
                    .collect(),
            ),
            health_check: g.health.then(|| HealthCheck {
                command: vec!["CMD".into(), "/health".into()],
                ..HealthCheck::default()
            }),
            ..ContainerDefinition::default()
        }],
        ..TaskDefinitionSpec::default()
    }
}

fn make(aws: &Aws, i: usize, g: &Generated) {
    let family = format!("fam{i}");
    let td = aws
        .ecs
        .register_content(&task_definition(&family, g), &BTreeMap::new());
    let create = ServiceCreate {
        cluster: "prod".to_owned(),
        name: format!("svc_{i}"),
        task_definition: td.arn,
        desired_count: g.count,
        launch_type: (!g.spot).then(|| "FARGATE".to_owned()),
        capacity_provider_strategy: if g.spot {
            vec![CapacityProviderItem {
                capacity_provider: "FARGATE_SPOT".to_owned(),
                weight: 1,
                base: 0,
            }]
        } else {
            Vec::new()
        },
        platform_version: None,
        network: Some(Network {
            subnets: (0..g.subnets).map(|s| format!("subnet-{s}")).collect(),
            security_groups: vec!["sg-1".to_owned()],
            assign_public_ip: g.public_ip,
        }),
        load_balancers: Vec::new(),
        service_registries: if g.registry {
            vec![Registry {
                registry_arn: format!(
                    "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-{i}"
                ),
                container_name: None,
                container_port: None,
                port: None,
            }]
        } else {
            Vec::new()
        },
        deployment: Some(DeploymentConfig {
            minimum_healthy_percent: g.min_healthy,
            maximum_percent: Some(200),
            circuit_breaker: g.breaker.then_some(CircuitBreaker {
                enable: true,
                rollback: true,
            }),
            alarms: None,
        }),
        health_check_grace_period_seconds: g.grace,
        enable_execute_command: Some(g.exec),
        propagate_tags: g.propagate.map(str::to_owned),
        tags: if g.tags {
            BTreeMap::from([("team".to_owned(), "core".to_owned())])
        } else {
            BTreeMap::new()
        },
    };
    block_on(aws.ecs.create_service(&create)).expect("create");
    if let Some((min, span, cooldown)) = g.autoscaler {
        let id = resource_id("prod", &format!("svc_{i}"));
        block_on(
            aws.scaling
                .register_target(&id, min, min + span, &BTreeMap::new()),
        )
        .expect("target");
        let policy = TrackingPolicy {
            name: format!("cpu-{i}"),
            target_value: 70.0,
            predefined_metric: Some("ECSServiceAverageCPUUtilization".to_owned()),
            resource_label: None,
            custom_metric: None,
            scale_in_cooldown: cooldown,
            scale_out_cooldown: 300,
            disable_scale_in: false,
        };
        block_on(aws.scaling.put_policy(&id, &policy)).expect("policy");
    }
    if let Some((short, missing, actions)) = g.alarm {
        let topics = if actions {
            vec!["arn:aws:sns:us-east-1:123456789012:someone-elses".to_owned()]
        } else {
            Vec::new()
        };
        let config = AlarmConfig {
            name: format!("svc_{i} CPU high"),
            description: Some("made by hand".to_owned()),
            metric: Some(MetricConfig {
                namespace: "AWS/ECS".to_owned(),
                name: "CPUUtilization".to_owned(),
                dimensions: BTreeMap::from([
                    ("ClusterName".to_owned(), "prod".to_owned()),
                    ("ServiceName".to_owned(), format!("svc_{i}")),
                ]),
                stat: "Average".to_owned(),
                period: 300,
                unit: None,
            }),
            metrics: Vec::new(),
            comparison: "GreaterThanThreshold".to_owned(),
            threshold: 80.0,
            evaluation_periods: 3,
            datapoints_to_alarm: 3 - short,
            treat_missing_data: missing.to_owned(),
            alarm_actions: topics.clone(),
            ok_actions: topics,
        };
        block_on(aws.cloudwatch.put_alarm(&config, None, &BTreeMap::new())).expect("alarm");
    }
}

fn imported(aws: &Aws) -> Desired {
    let options = ImportOptions {
        cluster: "prod".to_owned(),
        with_task_definitions: true,
        schema: "../crds/document.json".to_owned(),
        ..ImportOptions::default()
    };
    let files = block_on(import(aws, &options, |_, _| {})).expect("import");
    let source = Source {
        files: files.into_iter().map(|f| (f.name, f.text)).collect(),
        revision: "imported".to_owned(),
    };
    Desired::from_source(&source)
        .unwrap_or_else(|d| panic!("the imported files do not validate:\n{d}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_plan_after_an_import_only_adopts_and_after_apply_is_empty(estate in prop::collection::vec(generated(), 1..5)) {
        let aws = fake();
        for (i, g) in estate.iter().enumerate() {
            make(&aws, i, g);
        }
        let d = imported(&aws);
        prop_assert_eq!(d.services.len(), estate.len());
        prop_assert_eq!(d.alarms.len(), estate.iter().filter(|g| g.alarm.is_some()).count());
        prop_assert_eq!(d.autoscalers.len(), estate.iter().filter(|g| g.autoscaler.is_some()).count());
        let options = PlanOptions::default();
        let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
        let p = plan(&d, &observed, now(), &options);
        for s in &p.steps {
            prop_assert!(
                matches!(s.action, Action::Adopt | Action::InSync),
                "{} is {:?}: {}", s.resource, s.action, ecs_operator::plan::text::render(&p, false)
            );
            let only_tags = s.changes.iter().all(|c| c.field.starts_with("tags.ecs-operator/"));
            prop_assert!(only_tags, "{}", ecs_operator::plan::text::render(&p, false));
        }
        block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
        let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
        let after = plan(&d, &observed, now(), &options);
        prop_assert!(!after.has_changes(), "{}", ecs_operator::plan::text::render(&after, false));
    }
}

#[test]
fn the_same_estate_imports_to_the_same_bytes() {
    let g = Generated {
        spot: true,
        count: 2,
        subnets: 2,
        public_ip: true,
        min_healthy: Some(50),
        breaker: true,
        exec: true,
        grace: Some(30),
        propagate: Some("SERVICE"),
        registry: true,
        tags: true,
        env: 2,
        health: true,
        autoscaler: Some((1, 3, 120)),
        alarm: Some((1, "breaching", true)),
    };
    let texts = || {
        let aws = fake();
        make(&aws, 0, &g);
        let options = ImportOptions {
            cluster: "prod".to_owned(),
            with_task_definitions: true,
            ..ImportOptions::default()
        };
        block_on(import(&aws, &options, |_, _| {})).expect("import")
    };
    assert_eq!(texts(), texts());
}
