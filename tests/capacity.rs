//! Capacity on moto: Autoscaler targets and policies, field ownership of
//! desiredCount, Schedules pinning and restoring capacity, and the controller
//! waking up at a Schedule transition.

mod support;

use std::time::Duration;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use support::controller::Controller;
use support::{Moto, block_on, describe, path_str, platform, poll, unique, write_docs};

fn service(name: &str, cluster: &str, td: &str, count: u32, net: &support::Network) -> String {
    support::docs::service(name, cluster, td)
        .desired_count(count)
        .fargate(net)
        .build()
}

fn autoscaler(service: &str, min: u32, max: u32, policies: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {{name: {service}}}\nspec:\n  serviceRef: {service}\n  minCapacity: {min}\n  maxCapacity: {max}\n{policies}"
    )
}

const CPU_AND_MEMORY: &str = "  targetTracking:\n    - {predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}\n    - {predefinedMetric: ECSServiceAverageMemoryUtilization, targetValue: 80, scaleInCooldown: 600}\n";
const CPU_ONLY: &str = "  targetTracking:\n    - {predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}\n";

fn target(moto: &Moto, cluster: &str, service: &str) -> Option<(i32, i32)> {
    let out = block_on(
        moto.scaling()
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(format!("service/{cluster}/{service}"))
            .send(),
    )
    .expect("describe targets");
    out.scalable_targets()
        .first()
        .map(|t| (t.min_capacity(), t.max_capacity()))
}

fn policies(moto: &Moto, cluster: &str, service: &str) -> Vec<String> {
    let id = format!("service/{cluster}/{service}");
    let out = block_on(
        moto.scaling()
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&id)
            .send(),
    )
    .expect("describe policies");
    let mut names: Vec<String> = out
        .scaling_policies()
        .iter()
        .filter(|p| p.resource_id() == id)
        .map(|p| p.policy_name().to_owned())
        .collect();
    names.sort();
    names
}

fn register_by_hand(moto: &Moto, cluster: &str, service: &str, min: i32, max: i32) {
    block_on(
        moto.scaling()
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(format!("service/{cluster}/{service}"))
            .min_capacity(min)
            .max_capacity(max)
            .send(),
    )
    .expect("register by hand");
}

#[test]
fn autoscaler_targets_and_policies_are_created_updated_pruned_and_corrected() {
    let moto = Moto::shared();
    let cluster = unique("aas");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let instance = unique("inst");
    let docs = |min, max, policies| {
        write_docs(&[(
            "web.yaml",
            format!(
                "{}---\n{}",
                service("web", &cluster, &td, 2, net),
                autoscaler("web", min, max, policies)
            ),
        )])
    };
    let v1 = docs(1, 4, CPU_AND_MEMORY);
    moto.operator(&["apply", "-f", path_str(v1.path()), "--instance", &instance])
        .expect_code(0);
    assert_eq!(target(moto, &cluster, "web"), Some((1, 4)));
    assert_eq!(
        policies(moto, &cluster, "web"),
        [
            "web-ECSServiceAverageCPUUtilization",
            "web-ECSServiceAverageMemoryUtilization"
        ]
    );
    let again = moto.operator(&["apply", "-f", path_str(v1.path()), "--instance", &instance]);
    again.expect_code(0);
    assert_eq!(again.writes(), 0, "{}", again.stdout);

    // Update: a wider range, the memory policy removed from the document.
    let v2 = docs(1, 6, CPU_ONLY);
    let files = path_str(v2.path());
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
        plan.stdout.contains("maxCapacity: 4 → 6"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("policies.web-ECSServiceAverageMemoryUtilization:"),
        "{}",
        plan.stdout
    );
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    assert_eq!(target(moto, &cluster, "web"), Some((1, 6)));
    assert_eq!(
        policies(moto, &cluster, "web"),
        ["web-ECSServiceAverageCPUUtilization"]
    );

    // Drift by hand: bounds changed.
    register_by_hand(moto, &cluster, "web", 3, 9);
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
        plan.stdout.contains("minCapacity: 3 → 1"),
        "{}",
        plan.stdout
    );
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    assert_eq!(target(moto, &cluster, "web"), Some((1, 6)));

    // Application Auto Scaling moving desiredCount inside [min, max] is not drift.
    block_on(
        moto.ecs()
            .update_service()
            .cluster(&cluster)
            .service("web")
            .desired_count(5)
            .send(),
    )
    .expect("scale");
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(0);
    assert_eq!(describe(moto, &cluster, "web").desired_count(), 5);

    // The Autoscaler document removed: its target is orphaned, deregistered with --prune.
    let v3 = write_docs(&[("web.yaml", service("web", &cluster, &td, 2, net))]);
    let plan = moto.operator(&["plan", "-f", path_str(v3.path()), "--instance", &instance]);
    assert!(plan.stdout.contains("! Autoscaler/web"), "{}", plan.stdout);
    moto.operator(&[
        "apply",
        "-f",
        path_str(v3.path()),
        "--instance",
        &instance,
        "--prune",
    ])
    .expect_code(0);
    assert_eq!(target(moto, &cluster, "web"), None);
}

const SCHEDULE: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Schedule\nmetadata: {name: office-hours}\nspec:\n  serviceRefs: [worker, web]\n  timezone: America/New_York\n  activeWindows:\n    - {days: [Mon-Fri], start: \"08:00\", end: \"18:00\"}\n";
const SATURDAY: &str = "2026-11-28T15:00:00Z";
const MONDAY_0800: &str = "2026-11-30T13:00:00Z";

#[test]
fn a_schedule_pins_capacity_outside_its_windows_and_restores_it_at_opening() {
    let moto = Moto::shared();
    let cluster = unique("sched");
    let (web_td, worker_td) = (unique("web"), unique("worker"));
    platform(moto, &cluster, &[&web_td, &worker_td]);
    let net = moto.network();
    let instance = unique("inst");
    let dir = write_docs(&[(
        "all.yaml",
        [
            service("web", &cluster, &web_td, 2, net),
            autoscaler("web", 1, 4, CPU_ONLY),
            service("worker", &cluster, &worker_td, 3, net),
            SCHEDULE.to_owned(),
        ]
        .join("---\n"),
    )]);
    let files = path_str(dir.path());

    let saturday = moto.operator(&[
        "apply",
        "-f",
        files,
        "--instance",
        &instance,
        "--at",
        SATURDAY,
    ]);
    saturday.expect_code(0);
    assert_eq!(describe(moto, &cluster, "worker").desired_count(), 0);
    assert_eq!(describe(moto, &cluster, "web").desired_count(), 0);
    assert_eq!(
        target(moto, &cluster, "web"),
        Some((0, 0)),
        "the scalable target is pinned"
    );
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--at",
        SATURDAY,
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json");
    assert_eq!(v["hasChanges"], false, "{}", plan.stdout);
    assert_eq!(v["schedules"][0]["state"], "inactive");
    assert_eq!(v["schedules"][0]["nextTransition"], MONDAY_0800);
    assert_eq!(
        v["schedules"][0]["nextTransitionLocal"],
        "Mon 2026-11-30 08:00 America/New_York"
    );

    let monday = moto.operator(&[
        "apply",
        "-f",
        files,
        "--instance",
        &instance,
        "--at",
        MONDAY_0800,
    ]);
    monday.expect_code(0);
    assert_eq!(
        describe(moto, &cluster, "worker").desired_count(),
        3,
        "restored from the Service"
    );
    assert_eq!(
        target(moto, &cluster, "web"),
        Some((1, 4)),
        "restored from the Autoscaler"
    );
    // desiredCount now belongs to App Auto Scaling (which real AWS clamps to min at once).
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--at",
        MONDAY_0800,
        "--detailed-exitcode",
    ]);
    plan.expect_code(0);
    assert!(
        plan.stdout
            .contains("Application Auto Scaling moves it to 1"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("@ Schedule/office-hours  active"),
        "{}",
        plan.stdout
    );
}

#[test]
fn run_wakes_up_at_a_schedule_transition_not_at_the_next_interval() {
    let moto = Moto::shared();
    let cluster = unique("wake");
    let td = unique("worker");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let instance = unique("inst");
    // An override opens the schedule 5 s from now; windows never open meanwhile.
    let opens = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(5))
        .expect("instant");
    let opens = jiff::Timestamp::from_second(opens.as_second()).expect("whole second");
    let schedule = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Schedule\nmetadata: {{name: backfill}}\nspec:\n  serviceRefs: [worker]\n  timezone: UTC\n  activeWindows:\n    - {{days: [Mon], start: \"03:00\", end: \"03:01\"}}\n  overrides:\n    - {{start: \"{opens}\", end: \"2099-01-01T00:00:00Z\", state: active, reason: backfill tonight}}\n"
    );
    let dir = write_docs(&[(
        "w.yaml",
        format!(
            "{}---\n{schedule}",
            service("worker", &cluster, &td, 2, net)
        ),
    )]);
    let ctl = Controller::start(moto, path_str(dir.path()), &instance, "60s", &[], &[]);
    poll(
        Duration::from_secs(20),
        "the worker is created, inactive",
        || {
            block_on(
                moto.ecs()
                    .describe_services()
                    .cluster(&cluster)
                    .services("worker")
                    .send(),
            )
            .ok()
            .and_then(|o| o.services().first().map(|s| s.desired_count()))
                == Some(0)
        },
    );
    poll(
        Duration::from_secs(30),
        "the worker is scaled up at the transition",
        || describe(moto, &cluster, "worker").desired_count() == 2,
    );
    let late = jiff::Timestamp::now().duration_since(opens);
    drop(ctl);
    assert!(
        late <= jiff::SignedDuration::from_secs(3),
        "applied {late:?} after the transition"
    );
}
