//! Loop tests on the in-memory ECS: convergence from any starting state,
//! batching, partial failures. Fast; the same capabilities are proven on moto
//! in `service_reconcile.rs`.

use std::sync::atomic::AtomicBool;

#[path = "support/fakes.rs"]
mod fakes;

use ecs_operator::apply::apply;
use ecs_operator::aws::cloudwatch::CloudWatchApi;
use ecs_operator::aws::fake::FakeCloudWatch;
use ecs_operator::aws::{Clients, ErrorKind};
use ecs_operator::desired::Desired;
use ecs_operator::notify::Causes;
use ecs_operator::observe::observe;
use ecs_operator::observed::Memory;
use ecs_operator::plan::{Action, PlanOptions, plan};
use fakes::{Aws, block_on, desired, fake, now};
use proptest::prelude::*;

fn service(name: &str, count: u32, extra: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  cluster: prod\n  taskDefinition: app\n  desiredCount: {count}\n  network: {{subnets: [subnet-1], securityGroups: [sg-1]}}\n{extra}"
    )
}

/// Runs observe → plan → apply until nothing is left to send; returns the passes.
fn converge(desired: &Desired, aws: &Aws, options: &PlanOptions) -> usize {
    let stop = AtomicBool::new(false);
    for pass in 1..=3 {
        let observed = block_on(observe(
            desired,
            aws,
            &options.instance,
            &mut Memory::default(),
            now(),
        ));
        let p = plan(desired, &observed, now(), options);
        if !p.has_ops() {
            return pass;
        }
        let outcome = block_on(apply(&p, aws, &stop, |_| true));
        assert_eq!(outcome.failures().count(), 0, "{outcome:?}");
    }
    panic!("not converged in 3 passes");
}

const EXTRAS: [&str; 5] = [
    "",
    "  launchType: FARGATE\n",
    "  capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 3}, {capacityProvider: FARGATE, weight: 1, base: 1}]\n",
    "  deployment: {minimumHealthyPercent: 50, circuitBreaker: {enable: true, rollback: true}}\n  enableExecuteCommand: true\n",
    "  tags: {team: core, tier: web}\n  propagateTags: SERVICE\n  healthCheckGracePeriodSeconds: 60\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the live state, one apply converges and the next plan is empty.
    #[test]
    fn plan_is_empty_after_apply_from_any_live_state(
        specs in prop::collection::vec((0u32..5, 0usize..EXTRAS.len()), 1..6),
        drift in prop::collection::vec((any::<bool>(), 0u32..9, any::<bool>()), 6),
    ) {
        let docs: Vec<String> = specs.iter().enumerate().map(|(i, (n, e))| service(&format!("s{i}"), *n, EXTRAS[*e])).collect();
        let d = desired(&docs);
        let aws = fake();
        let options = PlanOptions::default();
        converge(&d, &aws, &options);
        // Drift some services by hand, delete the tags of others.
        for (i, (scale, count, untag)) in drift.iter().enumerate().take(specs.len()) {
            aws.ecs.edit("prod", &format!("s{i}"), |s| {
                if *scale { s.desired_count = *count; s.capacity_provider_strategy.clear(); s.deployment = None; }
                if *untag { s.tags.clear(); }
            });
        }
        converge(&d, &aws, &options);
        let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
        let after = plan(&d, &observed, now(), &options);
        prop_assert!(!after.has_changes(), "{}", ecs_operator::plan::text::render(&after, false));
        let before = aws.ecs.writes();
        prop_assert_eq!(converge(&d, &aws, &options), 1);
        prop_assert_eq!(aws.ecs.writes(), before);
    }
}

#[test]
fn describe_services_reads_ten_names_a_call() {
    let docs: Vec<String> = (0..25).map(|i| service(&format!("s{i}"), 1, "")).collect();
    let d = desired(&docs);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let before = aws.ecs.calls("DescribeServices");
    block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    assert_eq!(aws.ecs.calls("DescribeServices") - before, 3);
    assert_eq!(
        aws.ecs.calls("DescribeTaskDefinition"),
        2 + 1,
        "one per distinct task definition per observation"
    );
}

#[test]
fn a_failed_write_does_not_stop_the_other_services() {
    let d = desired(&[
        service("a", 1, ""),
        service("b", 1, ""),
        service("c", 1, ""),
    ]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    for name in ["a", "b", "c"] {
        aws.ecs.edit("prod", name, |s| s.desired_count = 4);
    }
    aws.ecs.fail_next("UpdateService", ErrorKind::Throttled);
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    let failed: Vec<_> = outcome.failures().map(|f| f.resource.to_string()).collect();
    assert_eq!(failed, ["Service/a"]);
    assert_eq!(
        aws.ecs.service("prod", "b").map(|s| s.desired_count),
        Some(1)
    );
    assert_eq!(
        aws.ecs.service("prod", "c").map(|s| s.desired_count),
        Some(1)
    );
    assert_eq!(
        aws.ecs.service("prod", "a").map(|s| s.desired_count),
        Some(4)
    );
}

#[test]
fn a_cluster_that_cannot_be_listed_blocks_its_services_and_orphans_nothing() {
    let options = PlanOptions {
        prune: true,
        ..PlanOptions::default()
    };
    let aws = fake();
    converge(
        &desired(&[service("a", 1, ""), service("b", 1, "")]),
        &aws,
        &options,
    );
    aws.ecs.fail_next("ListServices", ErrorKind::AccessDenied);
    let only_a = desired(&[service("a", 2, "")]);
    let observed = block_on(observe(
        &only_a,
        &aws,
        "default",
        &mut Memory::default(),
        now(),
    ));
    let p = plan(&only_a, &observed, now(), &options);
    assert_eq!(
        p.steps.iter().map(|s| s.action).collect::<Vec<_>>(),
        [Action::Blocked]
    );
    assert!(!p.has_ops());
}

#[test]
fn a_stop_request_sends_nothing_after_the_write_in_flight() {
    let d = desired(&[service("a", 1, ""), service("b", 1, "")]);
    let aws = fake();
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(true), |_| true));
    assert!(outcome.interrupted);
    assert_eq!(aws.ecs.writes(), 0);
}

fn autoscaler(service: &str, min: u32, max: u32) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {{name: {service}}}\nspec:\n  serviceRef: {service}\n  minCapacity: {min}\n  maxCapacity: {max}\n  targetTracking: [{{predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}}]\n"
    )
}

#[test]
fn scalable_targets_are_read_fifty_resource_ids_a_call_and_converge() {
    let mut docs: Vec<String> = (0..60).map(|i| service(&format!("s{i}"), 1, "")).collect();
    docs.extend((0..60).map(|i| autoscaler(&format!("s{i}"), 1, 4)));
    let d = desired(&docs);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    assert_eq!(
        aws.scaling
            .target("service/prod/s7")
            .map(|t| (t.min, t.max)),
        Some((1, 4))
    );
    assert_eq!(aws.scaling.policies("service/prod/s7").len(), 1);
    let before = aws.scaling.calls("DescribeScalableTargets");
    let writes = aws.scaling.writes() + aws.ecs.writes();
    assert_eq!(converge(&d, &aws, &PlanOptions::default()), 1);
    assert_eq!(aws.scaling.calls("DescribeScalableTargets") - before, 2);
    assert_eq!(
        aws.scaling.writes() + aws.ecs.writes(),
        writes,
        "a converged estate gets no writes"
    );
}

#[test]
fn a_failed_service_defers_its_autoscaler() {
    let d = desired(&[service("web", 2, ""), autoscaler("web", 1, 4)]);
    let aws = fake();
    aws.ecs.fail_next("CreateService", ErrorKind::Transient);
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    let errors: Vec<String> = outcome.failures().filter_map(|f| f.error.clone()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[1].contains("deferred: Service/web failed"),
        "{errors:?}"
    );
    assert_eq!(aws.scaling.writes(), 0);
    // The next pass creates both.
    converge(&d, &aws, &PlanOptions::default());
    assert!(aws.scaling.target("service/prod/web").is_some());
}

fn discovery_doc(extra: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: DiscoveryService\nmetadata: {{name: api}}\nspec:\n  namespace: {{name: internal.example, type: DNS_PRIVATE, vpc: vpc-1}}\n  staleAfter: 2m\n{extra}"
    )
}

#[test]
fn a_stale_instance_goes_only_when_seen_stale_twice_stale_after_apart() {
    let registered = "  serviceRegistries: [{discoveryService: api}]\n";
    let d = desired(&[discovery_doc(""), service("web", 1, registered)]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let cm = aws.discovery.services()[0].id.clone();
    aws.ecs.set_task("prod", "web", "task-live", "PENDING");
    aws.discovery
        .add_instance(&cm, "task-live", &[("ECS_CLUSTER_NAME", "prod")]);
    aws.discovery
        .add_instance(&cm, "task-gone", &[("ECS_CLUSTER_NAME", "prod")]);
    aws.discovery
        .add_instance(&cm, "someone-elses", &[("AWS_INSTANCE_IPV4", "10.0.0.1")]);
    let mut memory = Memory::default();
    let t0 = now();
    let loop_at = |seconds: i64, memory: &mut Memory| {
        let t = t0
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .expect("instant");
        let observed = block_on(observe(&d, &aws, "default", memory, t));
        let p = plan(&d, &observed, t, &PlanOptions::default());
        block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    };
    let ids = |aws: &Aws| {
        let mut v: Vec<String> = aws
            .discovery
            .instances(&cm)
            .into_iter()
            .map(|i| i.id)
            .collect();
        v.sort();
        v
    };
    loop_at(0, &mut memory);
    loop_at(119, &mut memory);
    assert_eq!(
        ids(&aws),
        ["someone-elses", "task-gone", "task-live"],
        "too early"
    );
    loop_at(120, &mut memory);
    assert_eq!(ids(&aws), ["someone-elses", "task-live"]);
}

#[test]
fn a_failed_task_listing_removes_nothing() {
    let registered = "  serviceRegistries: [{discoveryService: api}]\n";
    let d = desired(&[discovery_doc(""), service("web", 1, registered)]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let cm = aws.discovery.services()[0].id.clone();
    aws.discovery
        .add_instance(&cm, "task-gone", &[("ECS_CLUSTER_NAME", "prod")]);
    let mut memory = Memory::default();
    for minute in 0..4 {
        aws.ecs.fail_next("ListTasks", ErrorKind::AccessDenied);
        let t = now()
            .checked_add(jiff::SignedDuration::from_mins(minute * 2))
            .expect("instant");
        let observed = block_on(observe(&d, &aws, "default", &mut memory, t));
        let p = plan(&d, &observed, t, &PlanOptions::default());
        block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    }
    assert_eq!(aws.discovery.instances(&cm).len(), 1);
}

/// A DiscoveryService `api` in a new HTTP namespace.
const DISCOVERY_API: &str = "apiVersion: ecs-operator/v1alpha1\nkind: DiscoveryService\nmetadata: {name: api}\nspec:\n  namespace: {name: internal, type: HTTP}\n";

/// An Autoscaler for service `a`.
const AUTOSCALER_A: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {name: a}\nspec:\n  serviceRef: a\n  minCapacity: 1\n  maxCapacity: 4\n  targetTracking: [{predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}]\n";

const CHANNEL: &str = "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: oncall}\nspec: {topicName: oncall, repeatInterval: 1h}\n";

/// One controller loop on the fakes: observe, plan, apply (unless dry-run), notify, publish.
fn notify_loop(
    d: &Desired,
    aws: &Aws,
    notifier: &mut ecs_operator::notify::Notifier,
    dry_run: bool,
    at: jiff::Timestamp,
) -> usize {
    use ecs_operator::aws::sns::SnsApi;
    let observed = block_on(observe(d, aws, "default", &mut Memory::default(), at));
    let p = plan(d, &observed, at, &PlanOptions::default());
    let outcome = if dry_run {
        Default::default()
    } else {
        block_on(apply(&p, aws, &AtomicBool::new(false), |_| true))
    };
    let topics = ecs_operator::plan::alert_channel::topic_arns(d, &observed);
    let messages = notifier.drift(d, &topics, &p, &outcome, dry_run, at, &Causes::default());
    for m in &messages {
        block_on(aws.sns.publish(m)).expect("publish");
    }
    messages.len()
}

fn minutes(m: i64) -> jiff::Timestamp {
    now()
        .checked_add(jiff::SignedDuration::from_mins(m))
        .expect("instant")
}

#[test]
fn a_failed_correction_is_reported_as_failed_once() {
    let d = desired(&[service("web", 2, ""), CHANNEL.to_owned()]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let mut notifier = ecs_operator::notify::Notifier::new(None);
    aws.ecs.edit("prod", "web", |s| s.desired_count = 5);
    aws.ecs.fail_next("UpdateService", ErrorKind::AccessDenied);
    assert_eq!(notify_loop(&d, &aws, &mut notifier, false, minutes(0)), 1);
    let sent = aws.sns.published();
    let report: serde_json::Value = serde_json::from_str(&sent[0].body).expect("json");
    assert_eq!(report["items"][0]["action"], "failed");
    assert!(
        report["items"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("injected failure"))
    );
    assert_eq!(sent[0].attributes["severity"], "page");
    // The next loop corrects it: the drift is the same, already reported.
    assert_eq!(notify_loop(&d, &aws, &mut notifier, false, minutes(1)), 0);
}

#[test]
fn uncorrected_drift_in_dry_run_is_repeated_after_the_repeat_interval_and_survives_a_restart() {
    let d = desired(&[service("web", 2, ""), CHANNEL.to_owned()]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let state = tempfile::tempdir().expect("tmp");
    let file = state.path().join("notifier.json");
    aws.ecs.edit("prod", "web", |s| s.desired_count = 5);
    let mut notifier = ecs_operator::notify::Notifier::new(Some(file.clone()));
    assert_eq!(notify_loop(&d, &aws, &mut notifier, true, minutes(0)), 1);
    assert_eq!(notify_loop(&d, &aws, &mut notifier, true, minutes(30)), 0);
    // A restart: the memory comes back from the file.
    let mut restarted = ecs_operator::notify::Notifier::new(Some(file));
    assert_eq!(notify_loop(&d, &aws, &mut restarted, true, minutes(31)), 0);
    assert_eq!(
        notify_loop(&d, &aws, &mut restarted, true, minutes(61)),
        1,
        "due again after repeatInterval"
    );
    let report: serde_json::Value =
        serde_json::from_str(&aws.sns.published()[1].body).expect("json");
    assert_eq!(report["items"][0]["action"], "reported");
    assert_eq!(
        report["items"][0]["firstSeen"],
        minutes(0).to_string(),
        "first seen survives too"
    );
}

const ALARM: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {name: web-cpu}\nspec:\n  serviceRef: web\n  metric: {namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 60}\n  comparison: GreaterThanThreshold\n  threshold: 80\n  evaluationPeriods: 15\n  notify: [oncall]\n";

#[test]
fn alarms_are_put_only_on_drift() {
    let d = desired(&[service("web", 2, ""), CHANNEL.to_owned(), ALARM.to_owned()]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let alarm = aws.cloudwatch.alarm("web-cpu").expect("created");
    assert_eq!(
        alarm.metric.as_ref().map(|m| m.dimensions.len()),
        Some(2),
        "serviceRef filled ClusterName and ServiceName"
    );
    assert_eq!(
        alarm.alarm_actions,
        ["arn:aws:sns:us-east-1:123456789012:oncall"]
    );
    let puts = aws.cloudwatch.calls("PutMetricAlarm");
    assert_eq!(converge(&d, &aws, &PlanOptions::default()), 1);
    assert_eq!(
        aws.cloudwatch.calls("PutMetricAlarm"),
        puts,
        "no PutMetricAlarm without drift"
    );
}

#[test]
fn an_adopted_alarm_is_tagged_once_though_its_tags_are_remembered() {
    let d = desired(&[service("web", 2, ""), CHANNEL.to_owned(), ALARM.to_owned()]);
    let made = fake();
    converge(&d, &made, &PlanOptions::default());
    let config = made.cloudwatch.alarm("web-cpu").expect("created");
    // The same estate whose alarm someone made by hand, without the ownership tags.
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    let untagged = FakeCloudWatch::new();
    block_on(untagged.put_alarm(&config, None, &std::collections::BTreeMap::new())).expect("put");
    let aws = Clients {
        cloudwatch: untagged,
        ..aws
    };
    let options = PlanOptions::default();
    let stop = AtomicBool::new(false);
    // One memory across loops, as `run` keeps it.
    let mut memory = Memory::default();
    let mut actions = Vec::new();
    for _ in 0..3 {
        let observed = block_on(observe(&d, &aws, "default", &mut memory, now()));
        let p = plan(&d, &observed, now(), &options);
        let step = p
            .steps
            .iter()
            .find(|s| s.resource.to_string() == "Alarm/web-cpu")
            .expect("alarm step");
        actions.push(step.action);
        block_on(apply(&p, &aws, &stop, |_| true));
        memory.forget_tagged(&p);
    }
    assert_eq!(actions, [Action::Adopt, Action::InSync, Action::InSync]);
    assert_eq!(aws.cloudwatch.calls("TagResource"), 1);
}

#[test]
fn cloud_map_services_are_not_orphaned_when_the_namespaces_cannot_be_listed() {
    let options = PlanOptions {
        prune: true,
        ..PlanOptions::default()
    };
    let discovery = DISCOVERY_API.to_owned();
    let d = desired(&[discovery]);
    let aws = fake();
    converge(&d, &aws, &options);
    // Found under the fault proxy: with the services listed but not the
    // namespaces, every owned service looked orphaned (and --prune deleted it).
    aws.discovery
        .fail_next("ListNamespaces", ErrorKind::Throttled);
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &options);
    assert!(
        p.steps
            .iter()
            .all(|s| !matches!(s.action, Action::Orphaned | Action::Delete)),
        "{:#?}",
        p.steps
    );
    assert!(!p.has_ops(), "{:#?}", p.steps);
}

#[test]
fn a_step_waits_while_the_step_it_depends_on_backs_off() {
    let autoscaler = AUTOSCALER_A.to_owned();
    let d = desired(&[service("a", 1, ""), autoscaler]);
    let aws = fake();
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    assert!(p.has_ops());
    // The service is held back (its creation failed a moment ago): the
    // autoscaler must not register a target for a service that is not there.
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(false), |r| {
        r.kind != ecs_operator::model::Kind::Service
    }));
    assert!(outcome.steps.is_empty(), "{:#?}", outcome.steps);
    assert_eq!(aws.scaling.writes(), 0);
    assert_eq!(aws.ecs.writes(), 0);
}

#[test]
fn cloud_map_services_of_a_new_namespace_wait_for_the_one_that_creates_it() {
    // Writes run concurrently: found by the benchmark estate, where ten
    // DiscoveryServices share one new namespace.
    let docs: Vec<String> = (0..4)
        .map(|i| format!("apiVersion: ecs-operator/v1alpha1\nkind: DiscoveryService\nmetadata: {{name: d{i}}}\nspec:\n  namespace: {{name: shared, type: HTTP}}\n"))
        .collect();
    let d = desired(&docs);
    let aws = fake();
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    let failures: Vec<_> = outcome.failures().collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(outcome.steps.len(), 4);
    assert_eq!(aws.discovery.calls("CreateNamespace"), 1);
    assert_eq!(aws.discovery.calls("CreateService"), 4);
}

#[test]
fn an_alarm_notifying_two_new_channels_waits_for_both_topics() {
    let channel = |n: &str| {
        format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: {n}}}\nspec: {{topicName: {n}-topic}}\n"
        )
    };
    let alarm = "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {name: cpu}\nspec:\n  alarmName: cpu\n  metric: {namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 300}\n  comparison: GreaterThanThreshold\n  threshold: 80\n  evaluationPeriods: 3\n  notify: [ops, team]\n".to_owned();
    let d = desired(&[channel("ops"), channel("team"), alarm]);
    let aws = fake();
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    let failures: Vec<_> = outcome.failures().collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let alarms = block_on(aws.cloudwatch.list_alarms()).expect("alarms");
    let cpu = alarms
        .iter()
        .find(|a| a.config.name == "cpu")
        .expect("cpu alarm");
    assert_eq!(
        cpu.config.alarm_actions.len(),
        2,
        "{:?}",
        cpu.config.alarm_actions
    );
}

#[test]
fn a_registered_service_is_blocked_not_drifted_when_cloud_map_cannot_be_read() {
    let discovery = DISCOVERY_API.to_owned();
    let d = desired(&[
        discovery,
        service("a", 1, "  serviceRegistries: [{discoveryService: api}]\n"),
    ]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    // Found under the fault proxy: the registry looked pending, the service drifted.
    aws.discovery
        .fail_next("ListServices", ErrorKind::Throttled);
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    assert!(!p.has_ops(), "{:#?}", p.steps);
    assert!(
        p.steps.iter().all(|s| !s.action.is_change()),
        "{:#?}",
        p.steps
    );
}

#[test]
fn an_autoscaler_waits_while_its_new_service_is_blocked() {
    let autoscaler = AUTOSCALER_A.to_owned();
    let discovery = DISCOVERY_API.to_owned();
    let d = desired(&[
        discovery,
        service("a", 1, "  serviceRegistries: [{discoveryService: api}]\n"),
        autoscaler,
    ]);
    let aws = fake();
    // Cloud Map unreadable: the new service is blocked, so its autoscaler waits.
    aws.discovery
        .fail_next("ListServices", ErrorKind::Throttled);
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    assert_eq!(aws.scaling.writes(), 0, "{:#?}", p.steps);
    assert_eq!(aws.ecs.writes(), 0);
}

#[test]
fn a_drift_report_that_could_not_be_published_waits_in_the_outbox_and_survives_a_restart() {
    use ecs_operator::aws::sns::SnsApi;
    let d = desired(&[service("web", 2, ""), CHANNEL.to_owned()]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    aws.ecs.edit("prod", "web", |s| s.desired_count = 5);
    let state = tempfile::tempdir().expect("tmp");
    let file = state.path().join("notifier.json");
    let mut notifier = ecs_operator::notify::Notifier::new(Some(file.clone()));
    // The loop that corrects the drift reports it; its publish fails.
    let observed = block_on(observe(
        &d,
        &aws,
        "default",
        &mut Memory::default(),
        minutes(0),
    ));
    let p = plan(&d, &observed, minutes(0), &PlanOptions::default());
    let outcome = block_on(apply(&p, &aws, &AtomicBool::new(false), |_| true));
    let topics = ecs_operator::plan::alert_channel::topic_arns(&d, &observed);
    let messages = notifier.drift(
        &d,
        &topics,
        &p,
        &outcome,
        false,
        minutes(0),
        &Causes::default(),
    );
    assert_eq!(messages.len(), 1);
    aws.sns.fail_next("Publish", ErrorKind::Transient);
    assert!(block_on(aws.sns.publish(&messages[0])).is_err());
    notifier.outbox(messages[0].clone());
    // The drift is gone now, so only the outbox can still report it, after a restart too.
    let mut restarted = ecs_operator::notify::Notifier::new(Some(file));
    let retried = restarted.take_outbox();
    assert_eq!(retried, messages);
    block_on(aws.sns.publish(&retried[0])).expect("publish");
    assert!(restarted.take_outbox().is_empty(), "sent once");
    assert_eq!(aws.sns.published().len(), 1);
}

#[test]
fn an_alarm_is_blocked_not_drifted_when_its_topics_cannot_be_read() {
    let d = desired(&[service("web", 2, ""), CHANNEL.to_owned(), ALARM.to_owned()]);
    let aws = fake();
    converge(&d, &aws, &PlanOptions::default());
    // Found by the fault suite: the topic looked like one to create, the
    // alarm's live actions like drift, reported twice.
    aws.sns.fail_next("ListTopics", ErrorKind::Throttled);
    let observed = block_on(observe(&d, &aws, "default", &mut Memory::default(), now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let alarm = p
        .steps
        .iter()
        .find(|s| s.resource.to_string() == "Alarm/web-cpu")
        .expect("the alarm's step");
    assert_eq!(alarm.action, Action::Blocked, "{alarm:#?}");
    assert!(alarm.changes.is_empty());
    assert!(!p.has_ops(), "{:#?}", p.steps);
}
