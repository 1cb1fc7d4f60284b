//! Service reconciliation against a real moto server: create, idempotence, drift
//! correction, unmanaged fields, adoption, orphans, prune, guard, paused.

mod support;

use support::{Moto, block_on, describe, docs, path_str, platform, tag, unique, write_docs};

#[test]
fn apply_creates_services_and_a_second_apply_writes_nothing() {
    let moto = Moto::shared();
    let cluster = unique("create");
    let (web_td, worker_td) = (unique("web"), unique("worker"));
    platform(moto, &cluster, &[&web_td, &worker_td]);
    let net = moto.network();
    let dir = write_docs(&[(
        "services.yaml",
        format!(
            "{}---\n{}",
            docs::service("web", &cluster, &web_td)
                .desired_count(2)
                .fargate(net)
                .field("deployment:\n  minimumHealthyPercent: 50\n  maximumPercent: 200\n  circuitBreaker: {enable: true, rollback: true}")
                .field("enableExecuteCommand: true\nhealthCheckGracePeriodSeconds: 30\npropagateTags: SERVICE\ntags: {team: core}")
                .build(),
            docs::service("worker", &cluster, &format!("{worker_td}:1"))
                .field("capacityProviderStrategy:\n  - {capacityProvider: FARGATE_SPOT, weight: 1}")
                .network(net)
                .build()
        ),
    )]);
    let instance = unique("inst");
    let files = path_str(dir.path());
    let first = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    first.expect_code(0);
    assert!(first.stdout.contains("+ Service/web"), "{}", first.stdout);
    assert!(first.writes() >= 2);

    let web = describe(moto, &cluster, "web");
    assert_eq!(web.desired_count(), 2);
    assert!(
        web.task_definition()
            .unwrap_or_default()
            .ends_with(&format!("task-definition/{web_td}:1"))
    );
    assert_eq!(
        tag(&web, "ecs-operator/instance").as_deref(),
        Some(instance.as_str())
    );
    assert_eq!(
        tag(&web, "ecs-operator/owner").as_deref(),
        Some("Service/web")
    );
    assert_eq!(tag(&web, "team").as_deref(), Some("core"));
    // moto drops these on create; the second pass of the same apply set them.
    assert!(web.enable_execute_command());
    assert_eq!(web.health_check_grace_period_seconds(), Some(30));
    let cb = web
        .deployment_configuration()
        .and_then(|d| d.deployment_circuit_breaker())
        .expect("circuit breaker");
    assert!(cb.enable() && cb.rollback());
    let worker = describe(moto, &cluster, "worker");
    assert_eq!(
        worker.capacity_provider_strategy()[0].capacity_provider(),
        "FARGATE_SPOT"
    );

    let second = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    second.expect_code(0);
    assert_eq!(second.writes(), 0, "{}", second.stdout);
    moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ])
    .expect_code(0);
}

#[test]
fn drift_made_by_hand_is_planned_and_corrected_but_unmanaged_fields_are_not_touched() {
    let moto = Moto::shared();
    let cluster = unique("drift");
    let td = unique("api");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let dir = write_docs(&[(
        "api.yaml",
        docs::service("api", &cluster, &td)
            .desired_count(2)
            .fargate(net)
            .field("deployment: {minimumHealthyPercent: 100, maximumPercent: 200}\ntags: {team: payments}")
            .build(),
    )]);
    let instance = unique("inst");
    let files = path_str(dir.path());
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);

    // Someone changes things with another AWS client.
    moto.platform(&["taskdef", &td]); // a second revision: the document names the family, so its latest
    let ecs = moto.ecs();
    let arn = describe(moto, &cluster, "api")
        .service_arn()
        .expect("arn")
        .to_owned();
    block_on(async {
        ecs.update_service()
            .cluster(&cluster)
            .service("api")
            .desired_count(7)
            .capacity_provider_strategy(support::spot_strategy())
            .deployment_configuration(support::min_healthy_zero())
            // Not in the document: must survive.
            .health_check_grace_period_seconds(99)
            .send()
            .await
            .expect("update");
        ecs.tag_resource()
            .resource_arn(&arn)
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key("team")
                    .value("someone-else")
                    .build(),
            )
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key("cost-centre")
                    .value("42")
                    .build(),
            )
            .send()
            .await
            .expect("tag");
    });

    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(2);
    for expected in [
        "desiredCount: 7 → 2".to_owned(),
        format!("taskDefinition: {td}:1 → {td}:2"),
        "capacityProviderStrategy:".to_owned(),
        "deployment:".to_owned(),
        "tags.team: someone-else → payments".to_owned(),
    ] {
        assert!(
            plan.stdout.contains(expected.as_str()),
            "plan lacks `{expected}`:\n{}",
            plan.stdout
        );
    }
    assert!(
        !plan.stdout.contains("healthCheckGracePeriodSeconds"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("cost-centre"), "{}", plan.stdout);

    let json = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--output",
        "json",
        "--at",
        "2026-11-23T08:00:00Z",
    ]);
    json.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan json");
    assert_eq!(v["schema"], "ecs-operator/plan/v1");
    assert_eq!(v["at"], "2026-11-23T08:00:00Z");
    assert_eq!(v["hasChanges"], true);
    let step = &v["resources"].as_array().expect("resources")[0];
    assert_eq!(step["action"], "update");
    assert_eq!(
        step["calls"],
        // Tagged first: the IAM policy lets the operator update only what it owns.
        serde_json::json!(["ecs:TagResource", "ecs:UpdateService"])
    );

    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    let api = describe(moto, &cluster, "api");
    assert_eq!(api.desired_count(), 2);
    assert!(
        api.task_definition()
            .unwrap_or_default()
            .ends_with(&format!("task-definition/{td}:2"))
    );
    assert!(api.capacity_provider_strategy().is_empty());
    assert_eq!(
        api.deployment_configuration()
            .and_then(|d| d.minimum_healthy_percent()),
        Some(100)
    );
    assert_eq!(tag(&api, "team").as_deref(), Some("payments"));
    assert_eq!(
        api.health_check_grace_period_seconds(),
        Some(99),
        "unmanaged field changed"
    );
    assert_eq!(
        tag(&api, "cost-centre").as_deref(),
        Some("42"),
        "undeclared tag removed"
    );
    moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ])
    .expect_code(0);
}

#[test]
fn an_existing_untagged_service_is_adopted_and_one_owned_by_another_instance_is_left_alone() {
    let moto = Moto::shared();
    let cluster = unique("adopt");
    let (legacy_td, theirs_td) = (unique("legacy"), unique("theirs"));
    platform(moto, &cluster, &[&legacy_td, &theirs_td]);
    let net = moto.network();
    let ecs = moto.ecs();
    let td = |f: &str| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{f}:1");
    let vpc = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets(&net.subnets[0])
                .security_groups(&net.security_groups[0])
                .build()
                .expect("vpc"),
        )
        .build();
    block_on(async {
        for (name, family) in [("legacy", &legacy_td), ("theirs", &theirs_td)] {
            let mut req = ecs
                .create_service()
                .cluster(&cluster)
                .service_name(name)
                .task_definition(td(family))
                .desired_count(1)
                .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                .network_configuration(vpc.clone());
            if name == "theirs" {
                req = req.tags(
                    aws_sdk_ecs::types::Tag::builder()
                        .key("ecs-operator/instance")
                        .value("staging")
                        .build(),
                );
            }
            req.send().await.expect("create by hand");
        }
    });
    let dir = write_docs(&[(
        "s.yaml",
        format!(
            "{}---\n{}",
            docs::service("legacy", &cluster, &legacy_td)
                .desired_count(3)
                .build(),
            docs::service("theirs", &cluster, &theirs_td)
                .desired_count(3)
                .build()
        ),
    )]);
    let instance = unique("inst");
    let files = path_str(dir.path());
    let plan = moto.operator(&["plan", "-f", files, "--instance", &instance]);
    plan.expect_code(1); // the blocked one is an error
    assert!(plan.stdout.contains("= Service/legacy"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("owned by operator instance `staging`"),
        "{}",
        plan.stdout
    );

    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(1);
    let legacy = describe(moto, &cluster, "legacy");
    assert_eq!(legacy.desired_count(), 3);
    assert_eq!(
        tag(&legacy, "ecs-operator/instance").as_deref(),
        Some(instance.as_str())
    );
    let theirs = describe(moto, &cluster, "theirs");
    assert_eq!(
        theirs.desired_count(),
        1,
        "another instance's service was written"
    );
}

#[test]
fn removed_documents_are_orphaned_then_pruned_within_the_deletion_guard() {
    let moto = Moto::shared();
    let cluster = unique("prune");
    let td = unique("app");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let names = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"];
    let all: Vec<String> = names
        .iter()
        .map(|n| docs::service(n, &cluster, &td).fargate(net).build())
        .collect();
    let instance = unique("inst");
    let dir = write_docs(&[("all.yaml", all.join("---\n"))]);
    moto.operator(&["apply", "-f", path_str(dir.path()), "--instance", &instance])
        .expect_code(0);

    // Remove one document: orphaned, listed, not deleted.
    let fewer = write_docs(&[("all.yaml", all[..7].join("---\n"))]);
    let files = path_str(fewer.path());
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(2);
    assert!(plan.stdout.contains("! Service/a8"), "{}", plan.stdout);
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    assert_eq!(describe(moto, &cluster, "a8").status(), Some("ACTIVE"));

    // --prune deletes it (scaled to 0 first).
    moto.operator(&["apply", "-f", files, "--instance", &instance, "--prune"])
        .expect_code(0);
    let a8 = describe(moto, &cluster, "a8");
    assert_eq!(a8.status(), Some("INACTIVE"));
    assert_eq!(a8.desired_count(), 0);

    // Removing six at once is more than --max-deletions 5: refused as a whole.
    let one = write_docs(&[("all.yaml", all[0].clone())]);
    let refused = moto.operator(&[
        "apply",
        "-f",
        path_str(one.path()),
        "--instance",
        &instance,
        "--prune",
    ]);
    refused.expect_code(1);
    assert!(refused.stdout.contains("refused"), "{}", refused.stdout);
    for n in &names[1..7] {
        assert_eq!(
            describe(moto, &cluster, n).status(),
            Some("ACTIVE"),
            "{n} deleted despite the guard"
        );
    }
    // A higher limit still refuses deleting more than half of what is owned.
    let half = moto.operator(&[
        "apply",
        "-f",
        path_str(one.path()),
        "--instance",
        &instance,
        "--prune",
        "--max-deletions",
        "10",
    ]);
    half.expect_code(1);
    assert!(
        half.stdout.contains("never more than half"),
        "{}",
        half.stdout
    );
}

#[test]
fn a_paused_service_is_observed_and_reported_but_never_written() {
    let moto = Moto::shared();
    let cluster = unique("paused");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let instance = unique("inst");
    let live = write_docs(&[(
        "web.yaml",
        docs::service("web", &cluster, &td)
            .desired_count(1)
            .fargate(net)
            .build(),
    )]);
    moto.operator(&[
        "apply",
        "-f",
        path_str(live.path()),
        "--instance",
        &instance,
    ])
    .expect_code(0);
    let paused = write_docs(&[(
        "web.yaml",
        docs::service("web", &cluster, &td)
            .desired_count(4)
            .fargate(net)
            .paused("migration, ask #platform")
            .build(),
    )]);
    let files = path_str(paused.path());
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(2);
    assert!(
        plan.stdout.contains("paused: migration, ask #platform"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("desiredCount: 1 → 4"),
        "{}",
        plan.stdout
    );
    let apply = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    apply.expect_code(0);
    assert_eq!(apply.writes(), 0);
    assert_eq!(describe(moto, &cluster, "web").desired_count(), 1);
}

#[test]
fn a_launch_type_change_is_reported_as_requiring_replacement_and_not_acted_on() {
    let moto = Moto::shared();
    let cluster = unique("replace");
    let td = unique("svc");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let instance = unique("inst");
    let fargate = write_docs(&[(
        "s.yaml",
        docs::service("svc", &cluster, &td).fargate(net).build(),
    )]);
    moto.operator(&[
        "apply",
        "-f",
        path_str(fargate.path()),
        "--instance",
        &instance,
    ])
    .expect_code(0);
    let ec2 = write_docs(&[(
        "s.yaml",
        docs::service("svc", &cluster, &td)
            .field("launchType: EC2")
            .network(net)
            .build(),
    )]);
    let files = path_str(ec2.path());
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(2);
    assert!(plan.stdout.contains("-/+ Service/svc"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("launchType cannot change from FARGATE to EC2 in place"),
        "{}",
        plan.stdout
    );
    let apply = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    apply.expect_code(1);
    assert!(apply.stderr.contains("--allow-replace"), "{}", apply.stderr);
    assert_eq!(apply.writes(), 0);
    let launch_type =
        |s: &aws_sdk_ecs::types::Service| s.launch_type().map(|l| l.as_str().to_owned());
    assert_eq!(
        launch_type(&describe(moto, &cluster, "svc")).as_deref(),
        Some("FARGATE")
    );

    // With --allow-replace: scaled to 0, deleted, created again with the new launch type.
    let replaced = moto.operator(&[
        "apply",
        "-f",
        files,
        "--instance",
        &instance,
        "--allow-replace",
    ]);
    replaced.expect_code(0);
    assert!(replaced.stdout.contains("(replace)"), "{}", replaced.stdout);
    let svc = describe(moto, &cluster, "svc");
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(launch_type(&svc).as_deref(), Some("EC2"));
    assert_eq!(
        tag(&svc, "ecs-operator/owner").as_deref(),
        Some("Service/svc")
    );
}
