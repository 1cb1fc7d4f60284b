use serde_json::json;

use super::*;

const OWN: &str = "app/ecs-operator";

fn call(
    source: &str,
    event: &str,
    request: serde_json::Value,
    identity: serde_json::Value,
) -> String {
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{}", source.split('.').next().unwrap_or_default()),
        "time": "2026-12-05T10:02:11Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": "2026-12-05T10:02:11Z",
            "eventSource": source,
            "eventName": event,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0 md/Botocore#1.34.0 ua/2.0 os/linux",
            "requestParameters": request,
            "eventID": "3e1f6bd4-0000-4c5e-9f0b-1d2e3f4a5b6c",
            "readOnly": false,
        }
    })
    .to_string()
}

fn alice() -> serde_json::Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:alice@corp",
        "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_x/alice@corp",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_x"}}
    })
}

fn keys(p: &Parsed) -> Vec<ResourceKey> {
    match p {
        Parsed::Wake { keys, .. } => keys.clone(),
        Parsed::Ignored { why, .. } => panic!("ignored: {why}"),
    }
}

#[test]
fn an_update_service_by_hand_wakes_the_service_and_names_who() {
    let body = call(
        "ecs.amazonaws.com",
        "UpdateService",
        json!({"cluster": "prod", "service": "web", "desiredCount": 7}),
        alice(),
    );
    let p = parse(&body, OWN);
    assert_eq!(
        keys(&p),
        [ResourceKey::Service {
            cluster: "prod".into(),
            name: "web".into()
        }]
    );
    let Parsed::Wake {
        actor: Some(actor), ..
    } = p
    else {
        panic!("an actor")
    };
    assert_eq!(actor.kind, "AssumedRole");
    assert_eq!(
        actor.describe(),
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_x/alice@corp at 2026-12-05T10:02:11Z with aws-cli/2.15.0"
    );
    assert_eq!(actor.event_id, "3e1f6bd4-0000-4c5e-9f0b-1d2e3f4a5b6c");
}

#[test]
fn service_arns_and_a_missing_cluster_are_understood() {
    let arn = call(
        "ecs.amazonaws.com",
        "UpdateService",
        json!({"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/prod", "service": "arn:aws:ecs:us-east-1:123456789012:service/prod/web"}),
        alice(),
    );
    assert_eq!(
        keys(&parse(&arn, OWN)),
        [ResourceKey::Service {
            cluster: "prod".into(),
            name: "web".into()
        }]
    );
    let bare = call(
        "ecs.amazonaws.com",
        "DeleteService",
        json!({"service": "web"}),
        alice(),
    );
    assert_eq!(
        keys(&parse(&bare, OWN)),
        [ResourceKey::Service {
            cluster: "default".into(),
            name: "web".into()
        }]
    );
    let create = call(
        "ecs.amazonaws.com",
        "CreateService",
        json!({"cluster": "prod", "serviceName": "api"}),
        alice(),
    );
    assert_eq!(
        keys(&parse(&create, OWN)),
        [ResourceKey::Service {
            cluster: "prod".into(),
            name: "api".into()
        }]
    );
}

#[test]
fn every_service_the_operator_owns_maps_to_its_resource() {
    let cases = [
        (
            "application-autoscaling.amazonaws.com",
            "RegisterScalableTarget",
            json!({"serviceNamespace": "ecs", "resourceId": "service/prod/web"}),
            ResourceKey::ScalableTarget {
                resource_id: "service/prod/web".into(),
            },
        ),
        (
            "monitoring.amazonaws.com",
            "PutMetricAlarm",
            json!({"alarmName": "web-cpu"}),
            ResourceKey::Alarm {
                name: "web-cpu".into(),
            },
        ),
        (
            "monitoring.amazonaws.com",
            "DeleteAlarms",
            json!({"alarmNames": ["web-5xx"]}),
            ResourceKey::Alarm {
                name: "web-5xx".into(),
            },
        ),
        (
            "servicediscovery.amazonaws.com",
            "UpdateService",
            json!({"id": "srv-abc"}),
            ResourceKey::CloudMapService {
                id_or_name: "srv-abc".into(),
            },
        ),
        (
            "sns.amazonaws.com",
            "Subscribe",
            json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:oncall"}),
            ResourceKey::Topic {
                arn_or_name: "arn:aws:sns:us-east-1:123456789012:oncall".into(),
            },
        ),
        (
            "ecs.amazonaws.com",
            "RegisterTaskDefinition",
            json!({"family": "web"}),
            ResourceKey::TaskDefinition {
                family: "web".into(),
            },
        ),
        (
            "monitoring.amazonaws.com",
            "UntagResource",
            json!({"resourceARN": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-cpu", "tagKeys": ["ecs-operator/instance"]}),
            ResourceKey::Alarm {
                name: "web-cpu".into(),
            },
        ),
        (
            "sns.amazonaws.com",
            "TagResource",
            json!({"resourceArn": "arn:aws:sns:us-east-1:123456789012:oncall", "tags": []}),
            ResourceKey::Topic {
                arn_or_name: "arn:aws:sns:us-east-1:123456789012:oncall".into(),
            },
        ),
        (
            "ecs.amazonaws.com",
            "TagResource",
            json!({"resourceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web"}),
            ResourceKey::Service {
                cluster: "prod".into(),
                name: "web".into(),
            },
        ),
    ];
    for (source, event, request, key) in cases {
        assert_eq!(
            keys(&parse(&call(source, event, request, alice()), OWN)),
            [key],
            "{source} {event}"
        );
    }
}

#[test]
fn failed_calls_own_calls_and_reads_are_ignored() {
    let mut failed: serde_json::Value = serde_json::from_str(&call(
        "ecs.amazonaws.com",
        "UpdateService",
        json!({"service": "web"}),
        alice(),
    ))
    .expect("json");
    failed["detail"]["errorCode"] = json!("AccessDenied");
    assert!(matches!(
        parse(&failed.to_string(), OWN),
        Parsed::Ignored {
            why: "a failed call",
            ..
        }
    ));
    let mut own: serde_json::Value = serde_json::from_str(&call(
        "ecs.amazonaws.com",
        "UpdateService",
        json!({"service": "web"}),
        alice(),
    ))
    .expect("json");
    own["detail"]["userAgent"] =
        json!("aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0 app/ecs-operator");
    assert!(matches!(
        parse(&own.to_string(), OWN),
        Parsed::Ignored {
            why: "the operator's own call",
            ..
        }
    ));
    let read = call(
        "ecs.amazonaws.com",
        "DescribeServices",
        json!({"cluster": "prod", "services": ["web"]}),
        alice(),
    );
    assert!(matches!(parse(&read, OWN), Parsed::Ignored { .. }));
}

#[test]
fn a_deployment_event_wakes_its_service_with_the_event_name() {
    // moto's envelope: no `account` (AWS has one).
    let body = json!({
        "version": "0",
        "id": "ddca6449-b258-46c0-8653-e0e3a6d0468b",
        "detail-type": "ECS Deployment State Change",
        "source": "aws.ecs",
        "time": "2026-12-05T10:05:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ecs:us-east-1:123456789012:service/prod/web"],
        "detail": {"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED", "deploymentId": "ecs-svc/123", "reason": "ECS deployment circuit breaker: tasks failed to start."}
    })
    .to_string();
    let p = parse(&body, OWN);
    let Parsed::Wake {
        kind,
        keys,
        event_name,
        actor,
        ..
    } = p
    else {
        panic!("a wake")
    };
    assert_eq!(kind, EventKind::DeploymentStateChange);
    assert_eq!(
        keys,
        [ResourceKey::Service {
            cluster: "prod".into(),
            name: "web".into()
        }]
    );
    assert_eq!(event_name.as_deref(), Some("SERVICE_DEPLOYMENT_FAILED"));
    assert!(actor.is_none(), "ECS's own events name no person");
}

#[test]
fn anything_else_is_ignored_with_a_reason_and_never_panics() {
    for body in [
        "",
        "[]",
        "{\"id\": 1}",
        "not json",
        "{\"id\":\"x\",\"detail-type\":\"EC2 Instance State-change Notification\",\"detail\":{}}",
    ] {
        assert!(matches!(parse(body, OWN), Parsed::Ignored { .. }), "{body}");
    }
}

#[test]
fn a_console_change_reads_as_one() {
    let actor = Actor {
        arn: "arn:aws:sts::123456789012:assumed-role/Admin/alice".into(),
        kind: "AssumedRole".into(),
        source_ip: None,
        user_agent: Some("AWS Internal".into()),
        at: Some("2026-12-05T10:02:11Z".into()),
        event_id: "e".into(),
        invoked_by: None,
    };
    assert_eq!(
        actor.describe(),
        "arn:aws:sts::123456789012:assumed-role/Admin/alice at 2026-12-05T10:02:11Z from the console"
    );
}
