//! One test per comparison rule of TASKDEF-FACTS §2, each named after its rule.

use serde_json::{Value, json};

use super::*;

/// A task around one container, normalised.
fn one(container: Value) -> Value {
    normalise(json!({"family": "web", "containerDefinitions": [container]}))
}

/// The single container of a normalised task.
fn container(task: &Value) -> &Value {
    &task["containerDefinitions"][0]
}

fn same(a: Value, b: Value) {
    assert_eq!(normalise(a), normalise(b));
}

#[test]
fn task_cpu_in_vcpu_is_cpu_units_as_a_string() {
    for (written, stored) in [
        (json!("1 vCPU"), "1024"),
        (json!("0.25 vCPU"), "256"),
        (json!(512), "512"),
        (json!("256"), "256"),
    ] {
        assert_eq!(normalise(json!({"cpu": written}))["cpu"], json!(stored));
    }
}

#[test]
fn task_memory_in_gb_is_mib_as_a_string() {
    for (written, stored) in [
        (json!("2 GB"), "2048"),
        (json!("0.5 GB"), "512"),
        (json!(512), "512"),
    ] {
        assert_eq!(
            normalise(json!({"memory": written}))["memory"],
            json!(stored)
        );
    }
}

#[test]
fn a_size_that_does_not_parse_is_left_as_written() {
    assert_eq!(normalise(json!({"cpu": "2 GB"}))["cpu"], json!("2 GB"));
}

#[test]
fn containers_are_sorted_by_name() {
    let task = normalise(
        json!({"containerDefinitions": [{"name": "web"}, {"name": "app"}, {"name": "log"}]}),
    );
    let names: Vec<&str> = task["containerDefinitions"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["app", "log", "web"]);
}

#[test]
fn environment_and_secrets_are_sorted_by_name() {
    let task = one(json!({"name": "web",
        "environment": [{"name": "Z", "value": "1"}, {"name": "A", "value": "2"}],
        "secrets": [{"name": "TOKEN", "valueFrom": "arn:t"}, {"name": "DB", "valueFrom": "arn:d"}]}));
    assert_eq!(container(&task)["environment"][0]["name"], "A");
    assert_eq!(container(&task)["secrets"][0]["name"], "DB");
}

#[test]
fn essential_absent_equals_true() {
    same(
        json!({"containerDefinitions": [{"name": "web"}]}),
        json!({"containerDefinitions": [{"name": "web", "essential": true}]}),
    );
    assert_eq!(
        container(&one(json!({"name": "web", "essential": false})))["essential"],
        false
    );
}

#[test]
fn container_cpu_absent_equals_zero() {
    assert_eq!(container(&one(json!({"name": "web"})))["cpu"], 0);
    assert_eq!(
        container(&one(json!({"name": "web", "cpu": 128})))["cpu"],
        128
    );
}

#[test]
fn port_protocol_absent_equals_tcp() {
    let task = one(
        json!({"name": "web", "portMappings": [{"containerPort": 80}, {"containerPort": 53, "protocol": "udp"}]}),
    );
    let ports = &container(&task)["portMappings"];
    assert_eq!(ports[0]["protocol"], "udp");
    assert_eq!(ports[1]["protocol"], "tcp");
}

#[test]
fn host_port_absent_equals_container_port_under_awsvpc_and_host() {
    for mode in ["awsvpc", "host"] {
        same(
            json!({"networkMode": mode, "containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": 8080}]}]}),
            json!({"networkMode": mode, "containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": 8080, "hostPort": 8080}]}]}),
        );
    }
}

#[test]
fn host_port_zero_equals_absent_under_bridge() {
    let with = |mapping: Value| json!({"networkMode": "bridge", "containerDefinitions": [{"name": "web", "portMappings": [mapping]}]});
    same(
        with(json!({"containerPort": 80})),
        with(json!({"containerPort": 80, "hostPort": 0})),
    );
    // No networkMode is bridge, and a static host port stays.
    let task = normalise(
        json!({"containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": 80, "hostPort": 0}, {"containerPort": 81, "hostPort": 8081}]}]}),
    );
    assert_eq!(
        container(&task)["portMappings"],
        json!([
            {"containerPort": 80, "protocol": "tcp"},
            {"containerPort": 81, "hostPort": 8081, "protocol": "tcp"},
        ])
    );
}

#[test]
fn unordered_lists_are_sorted() {
    let mount = |p: &str| json!({"sourceVolume": "data", "containerPath": p});
    let task = |reverse: bool| {
        let mut lists = [
            vec![json!({"containerPort": 81}), json!({"containerPort": 80})],
            vec![mount("/b"), mount("/a")],
            vec![
                json!({"sourceContainer": "b"}),
                json!({"sourceContainer": "a"}),
            ],
            vec![
                json!({"name": "nproc", "softLimit": 1, "hardLimit": 2}),
                json!({"name": "nofile", "softLimit": 1, "hardLimit": 2}),
            ],
            vec![json!({"name": "logs"}), json!({"name": "data"})],
            vec![
                json!({"type": "memberOf", "expression": "b"}),
                json!({"type": "memberOf", "expression": "a"}),
            ],
            vec![json!("FARGATE"), json!("EC2")],
        ];
        if reverse {
            lists.iter_mut().for_each(|l| l.reverse());
        }
        let [ports, mounts, from, ulimits, volumes, constraints, compat] = lists;
        json!({"containerDefinitions": [{"name": "web", "portMappings": ports, "mountPoints": mounts,
            "volumesFrom": from, "ulimits": ulimits}],
            "volumes": volumes, "placementConstraints": constraints, "requiresCompatibilities": compat})
    };
    same(task(false), task(true));
}

#[test]
fn command_entry_point_and_dependencies_keep_their_order() {
    let task = one(
        json!({"name": "web", "command": ["b", "a"], "entryPoint": ["sh", "-c"],
        "dependsOn": [{"containerName": "z", "condition": "START"}, {"containerName": "a", "condition": "START"}]}),
    );
    assert_eq!(container(&task)["command"], json!(["b", "a"]));
    assert_eq!(container(&task)["entryPoint"], json!(["sh", "-c"]));
    assert_eq!(container(&task)["dependsOn"][0]["containerName"], "z");
}

#[test]
fn empty_lists_empty_objects_and_null_equal_absent_anywhere() {
    same(
        json!({"family": "web", "volumes": [], "placementConstraints": null, "containerDefinitions": [{"name": "web",
            "environment": [], "mountPoints": [], "volumesFrom": [], "systemControls": [], "dockerLabels": {},
            "command": [], "ulimits": [], "workingDirectory": null,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}, "secretOptions": []},
            "linuxParameters": {"capabilities": {"add": [], "drop": []}}}]}),
        json!({"family": "web", "containerDefinitions": [{"name": "web",
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}}]}),
    );
    let task = one(
        json!({"name": "web", "linuxParameters": {"capabilities": {"add": [], "drop": ["ALL"]}}}),
    );
    assert_eq!(
        container(&task)["linuxParameters"],
        json!({"capabilities": {"drop": ["ALL"]}})
    );
}

#[test]
fn health_check_with_a_command_gets_ecs_defaults() {
    let check =
        |c: Value| container(&one(json!({"name": "web", "healthCheck": c})))["healthCheck"].clone();
    assert_eq!(
        check(json!({"command": ["CMD-SHELL", "true"]})),
        json!({"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3})
    );
    assert_eq!(
        check(json!({"command": ["CMD", "true"], "interval": 10, "startPeriod": 60})),
        json!({"command": ["CMD", "true"], "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 60})
    );
}

#[test]
fn efs_root_directory_absent_equals_slash() {
    same(
        json!({"volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]}),
        json!({"volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/"}}]}),
    );
}

#[test]
fn network_mode_absent_equals_bridge() {
    same(
        json!({"family": "web"}),
        json!({"family": "web", "networkMode": "bridge"}),
    );
}

#[test]
fn version_consistency_absent_equals_enabled() {
    assert_eq!(
        container(&one(json!({"name": "web"})))["versionConsistency"],
        "enabled"
    );
    assert_eq!(
        container(&one(
            json!({"name": "web", "versionConsistency": "disabled"})
        ))["versionConsistency"],
        "disabled"
    );
}

#[test]
fn enable_fault_injection_absent_equals_false() {
    same(
        json!({"family": "web"}),
        json!({"family": "web", "enableFaultInjection": false}),
    );
}

#[test]
fn maps_compare_as_maps() {
    same(
        json!({"containerDefinitions": [{"name": "web", "dockerLabels": {"a": "1", "b": "2"}}]}),
        json!({"containerDefinitions": [{"name": "web", "dockerLabels": {"b": "2", "a": "1"}}]}),
    );
}

#[test]
fn image_is_compared_exactly() {
    assert_ne!(
        one(json!({"name": "web", "image": "nginx"})),
        one(json!({"name": "web", "image": "nginx:latest"}))
    );
}

#[test]
fn of_document_sets_the_family_and_drops_the_operator_fields() {
    let spec: TaskDefinitionSpec = serde_saphyr::from_str(
        "{family: ignored, keepRevisions: 3, tags: {team: web}, containerDefinitions: [{name: web, image: nginx}]}",
    )
    .expect("spec parses");
    let content = of_document(&spec, "web");
    assert_eq!(content["family"], "web");
    assert!(content.get("tags").is_none() && content.get("keepRevisions").is_none());
}

#[test]
fn of_described_drops_the_output_only_fields() {
    let content = of_described(
        &json!({"family": "web", "taskDefinitionArn": "arn:td/web:3", "revision": 3,
        "status": "ACTIVE", "registeredAt": "2025-01-01T00:00:00Z", "registeredBy": "arn:me",
        "deregisteredAt": "x", "deleteRequestedAt": "x", "requiresAttributes": [{"name": "a"}],
        "compatibilities": ["EC2"], "tags": [{"key": "k", "value": "v"}]}),
    );
    assert_eq!(content, normalise(json!({"family": "web"})));
}

#[test]
fn content_hash_is_sixteen_hex_digits_of_the_canonical_json() {
    // The hash relies on serde_json writing keys sorted (no `preserve_order`).
    assert_eq!(json!({"b": 1, "a": 2}).to_string(), r#"{"a":2,"b":1}"#);
    let hash = content_hash(&normalise(json!({"family": "web", "cpu": "1 vCPU"})));
    assert_eq!(hash.len(), 16);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        hash,
        content_hash(&normalise(json!({"cpu": "1024", "family": "web"})))
    );
    assert_ne!(
        hash,
        content_hash(&normalise(json!({"family": "web", "cpu": "512"})))
    );
}
