use std::collections::BTreeMap;

use super::scope::{Decision, decide};
use super::*;
use crate::desired::Desired;
use crate::load::Source;
use crate::model::{DocRef, Kind};

const DOCS: &str = r#"apiVersion: ecs-operator/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: prod
  serviceName: web-svc
  taskDefinition: web:3
  desiredCount: 2
---
apiVersion: ecs-operator/v1alpha1
kind: Service
metadata: {name: worker}
spec:
  cluster: prod
  taskDefinition: worker:1
  desiredCount: 1
---
apiVersion: ecs-operator/v1alpha1
kind: Autoscaler
metadata: {name: web}
spec:
  serviceRef: web
  minCapacity: 1
  maxCapacity: 10
  targetTracking:
    - {name: cpu, predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}
---
apiVersion: ecs-operator/v1alpha1
kind: Alarm
metadata: {name: web-cpu}
spec:
  serviceRef: web
  metric: {namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 60}
  comparison: GreaterThanThreshold
  threshold: 85
  evaluationPeriods: 3
---
apiVersion: ecs-operator/v1alpha1
kind: Alarm
metadata: {name: web-memory}
spec:
  metric:
    namespace: AWS/ECS
    name: MemoryUtilization
    statistic: Maximum
    period: 60
    dimensions: {ClusterName: prod, ServiceName: web-svc}
  comparison: GreaterThanThreshold
  threshold: 90
  evaluationPeriods: 3
---
apiVersion: ecs-operator/v1alpha1
kind: Alarm
metadata: {name: queue-depth}
spec:
  alarmName: Queue depth
  metric: {namespace: AWS/SQS, name: ApproximateNumberOfMessagesVisible, statistic: Maximum, period: 60}
  comparison: GreaterThanThreshold
  threshold: 1000
  evaluationPeriods: 5
"#;

fn desired() -> Desired {
    let source = Source {
        files: vec![("d.yaml".to_owned(), DOCS.to_owned())],
        revision: "r1".to_owned(),
    };
    Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
}

fn person() -> Actor {
    Actor {
        arn: "arn:aws:sts::123456789012:assumed-role/Admin/alice".into(),
        kind: "AssumedRole".into(),
        source_ip: Some("203.0.113.9".into()),
        user_agent: Some("aws-cli/2.15.0".into()),
        at: Some("2026-12-05T10:02:11Z".into()),
        event_id: "e1".into(),
        invoked_by: None,
    }
}

fn autoscaling() -> Actor {
    Actor {
        arn: "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForApplicationAutoScaling_ECSService/AutoScaling".into(),
        kind: "AssumedRole".into(),
        invoked_by: Some(crate::events::AUTOSCALING.into()),
        ..person()
    }
}

fn service(cluster: &str, name: &str) -> ResourceKey {
    ResourceKey::Service {
        cluster: cluster.into(),
        name: name.into(),
    }
}

fn targeted(d: &Desired, p: &Pending) -> scope::Scope {
    match decide(d, p) {
        Decision::Targeted(s) => *s,
        other => panic!("a targeted pass, not {other:?}"),
    }
}

#[test]
fn a_service_wakes_with_its_autoscaler_and_the_alarms_on_it_by_ref_or_dimensions() {
    let d = desired();
    let mut p = Pending::default();
    p.add(vec![service("prod", "web-svc")], Some(&person()), false);
    let s = targeted(&d, &p);
    assert_eq!(
        s.docs,
        [
            DocRef::new(Kind::Service, "web"),
            DocRef::new(Kind::Autoscaler, "web"),
            DocRef::new(Kind::Alarm, "web-cpu"),
            DocRef::new(Kind::Alarm, "web-memory"),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        s.services,
        [("prod".to_owned(), "web-svc".to_owned())]
            .into_iter()
            .collect()
    );
    assert_eq!(
        s.targets,
        ["service/prod/web-svc".to_owned()].into_iter().collect()
    );
    assert_eq!(s.policies, s.targets);
    assert_eq!(
        s.alarms,
        ["web-cpu".to_owned(), "web-memory".to_owned()]
            .into_iter()
            .collect()
    );
    assert_eq!(s.resolve, ["web:3".to_owned()].into_iter().collect());
    assert_eq!(
        s.changed_by.get("Service/web").map(|a| a.arn.as_str()),
        Some("arn:aws:sts::123456789012:assumed-role/Admin/alice")
    );
}

#[test]
fn an_alarm_wakes_by_its_cloudwatch_name_and_undeclared_resources_wake_nothing() {
    let d = desired();
    let mut p = Pending::default();
    p.add(
        vec![ResourceKey::Alarm {
            name: "Queue depth".into(),
        }],
        Some(&person()),
        false,
    );
    let s = targeted(&d, &p);
    assert_eq!(
        s.docs,
        [DocRef::new(Kind::Alarm, "queue-depth")]
            .into_iter()
            .collect()
    );
    assert!(s.services.is_empty() && s.targets.is_empty());
    assert!(s.changed_by.contains_key("Alarm/queue-depth"));

    let mut p = Pending::default();
    p.add(
        vec![
            service("prod", "someone-elses"),
            service("staging", "web-svc"),
            ResourceKey::Alarm {
                name: "web-cpu-other".into(),
            },
            ResourceKey::Topic {
                arn_or_name: "arn:aws:sns:us-east-1:123456789012:not-ours".into(),
            },
        ],
        Some(&person()),
        false,
    );
    assert_eq!(decide(&d, &p), Decision::Nothing);
}

#[test]
fn application_auto_scaling_scaling_an_autoscaled_service_is_not_drift() {
    let d = desired();
    let mut p = Pending::default();
    p.add(
        vec![service("prod", "web-svc")],
        Some(&autoscaling()),
        false,
    );
    assert_eq!(decide(&d, &p), Decision::Nothing);
    // The same on a service no Autoscaler manages: reconciled, no actor.
    let mut p = Pending::default();
    p.add(vec![service("prod", "worker")], Some(&autoscaling()), false);
    let s = targeted(&d, &p);
    assert!(s.docs.contains(&DocRef::new(Kind::Service, "worker")));
    assert!(s.changed_by.is_empty(), "{:?}", s.changed_by);
}

#[test]
fn a_flood_a_task_definition_or_a_cloud_map_service_asks_for_a_full_pass() {
    let d = desired();
    let mut p = Pending::default();
    let keys: Vec<ResourceKey> = (0..=FLOOD_KEYS)
        .map(|i| service("prod", &format!("s{i}")))
        .collect();
    p.add(keys, None, false);
    assert!(matches!(decide(&d, &p), Decision::Full { .. }));

    let mut p = Pending::default();
    p.add(
        vec![
            service("prod", "web-svc"),
            ResourceKey::CloudMapService {
                id_or_name: "srv-1".into(),
            },
        ],
        Some(&person()),
        false,
    );
    let Decision::Full { why, changed_by } = decide(&d, &p) else {
        panic!("a full pass")
    };
    assert!(why.contains("Cloud Map"), "{why}");
    // The full pass still says who changed the service.
    assert!(changed_by.contains_key("Service/web"));
}

#[test]
fn a_deployment_event_reads_the_history_again_and_keys_merge_with_their_actors() {
    let d = desired();
    let mut p = Pending::default();
    p.add(vec![service("prod", "web-svc")], None, true);
    let s = targeted(&d, &p);
    assert_eq!(
        s.deployments,
        [("prod".to_owned(), "web-svc".to_owned())]
            .into_iter()
            .collect()
    );

    let mut later = Pending::default();
    for i in 0..7 {
        let a = Actor {
            event_id: format!("e{i}"),
            ..person()
        };
        later.add(vec![service("prod", "web-svc")], Some(&a), false);
    }
    later.receipts.push("r".into());
    p.merge(later);
    let w = &p.keys[&service("prod", "web-svc")];
    assert!(w.deployment);
    assert_eq!(w.actors.len(), 5, "the latest five");
    assert_eq!(w.actors.last().map(|a| a.event_id.as_str()), Some("e6"));
    assert_eq!(p.receipts, ["r"]);
    let s = targeted(&d, &p);
    assert_eq!(
        s.changed_by.get("Service/web").map(|a| a.event_id.as_str()),
        Some("e6")
    );
}

#[test]
fn keys_beyond_the_memory_cap_overflow_into_a_full_pass() {
    let mut p = Pending::default();
    let keys: Vec<ResourceKey> = (0..MAX_KEYS + 3)
        .map(|i| service("prod", &format!("s{i}")))
        .collect();
    p.add(keys, None, false);
    assert_eq!(p.keys.len(), MAX_KEYS);
    assert!(p.overflow);
    let changed: BTreeMap<String, Actor> = scope::changed_by(&desired(), &p);
    assert!(changed.is_empty());
}
