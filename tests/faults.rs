//! The controller under faults: a proxy between it and moto throttles 30% of
//! every operation, answers 10% with a 500 and resets 5% of the connections.
//! The estate (20 services, 5 autoscalers, 10 alarms, 2 Cloud Map services)
//! still converges, drift is reported exactly once, and moto receives the same
//! writes as in a run without faults: no resource is written more than needed.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::controller::Controller;
use support::fault_proxy::{FaultProxy, Faults};
use support::{Moto, describe, path_str, platform, poll, unique, write_docs};

const SERVICES: usize = 20;
const AUTOSCALERS: usize = 5;
const ALARMS: usize = 10;
const DISCOVERY: usize = 2;
const DRIFTED: [usize; 5] = [10, 11, 12, 13, 14];

/// The report key of an injected drift.
fn drift(i: usize) -> String {
    format!("\"Service/s{i}\" \"desiredCount\"")
}

struct Run {
    /// Writes that reached moto, by `service:Operation`.
    writes: BTreeMap<String, u64>,
    /// Drift items reported, by `resource field`.
    reported: BTreeMap<String, usize>,
    throttled_metric: bool,
    /// The action of every item reported.
    actions: Vec<String>,
    /// The controller's log of writes: `write sent|failed resource call error`.
    sent: Vec<String>,
}

fn estate(moto: &Moto, prefix: &str, cluster: &str, td: &str, queue_arn: &str) -> String {
    let net = moto.network();
    let mut docs = vec![format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {prefix}-oncall\n  subscriptions: [{{protocol: sqs, endpoint: \"{queue_arn}\"}}]\n  events: [drift]\n"
    )];
    for i in 0..SERVICES {
        let registry = if i < DISCOVERY {
            format!("\n  serviceRegistries: [{{discoveryService: d{i}}}]")
        } else {
            String::new()
        };
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: s{i}}}\nspec:\n  cluster: {cluster}\n  taskDefinition: {td}\n  desiredCount: 1\n  launchType: FARGATE\n  network: {{subnets: [{}], securityGroups: [{}]}}{registry}\n",
            net.subnets[0], net.security_groups[0]
        ));
    }
    for i in 0..AUTOSCALERS {
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {{name: s{i}}}\nspec:\n  serviceRef: s{i}\n  minCapacity: 1\n  maxCapacity: 4\n  targetTracking: [{{predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}}]\n"
        ));
    }
    for i in 0..ALARMS {
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {{name: s{i}-cpu}}\nspec:\n  alarmName: {prefix}-s{i}-cpu\n  serviceRef: s{i}\n  metric: {{namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 300}}\n  comparison: GreaterThanThreshold\n  threshold: 80\n  evaluationPeriods: 3\n  notify: [oncall]\n"
        ));
    }
    for i in 0..DISCOVERY {
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: DiscoveryService\nmetadata: {{name: d{i}}}\nspec:\n  namespace: {{name: {prefix}-ns, type: HTTP}}\n  serviceName: {prefix}-d{i}\n"
        ));
    }
    docs.join("---\n")
}

/// Converges the estate through a proxy with `faults`, drifts five services
/// by hand, and waits until the drift is corrected and reported.
fn converge(faults: Faults) -> Run {
    eprintln!("converging with {faults:?}");
    let moto = Moto::shared();
    let prefix = unique("fault");
    let cluster = format!("{prefix}-c");
    let td = format!("{prefix}-web");
    platform(moto, &cluster, &[&td]);
    let (queue, queue_arn) = moto.queue();
    let dir = write_docs(&[(
        "estate.yaml",
        estate(moto, &prefix, &cluster, &td, &queue_arn),
    )]);
    let proxy = FaultProxy::start(&moto.endpoint, faults, fastrand::u64(..));
    let ctl = Controller::start(
        moto,
        path_str(dir.path()),
        &unique("inst"),
        "1s",
        // Short delays keep the test short; the rules are the production ones.
        &["--retry-base-ms", "20"],
        &[("AWS_ENDPOINT_URL", proxy.url.as_str())],
    );
    // Resources: the documents, plus the operator's heartbeat alarm.
    let expected = 1 + SERVICES + AUTOSCALERS + ALARMS + DISCOVERY + 1;
    let all_synced = || {
        let status = ctl.status();
        let resources = status["resources"].as_object().cloned().unwrap_or_default();
        resources.len() == expected && resources.values().all(|r| r["synced"] == true)
    };
    let started = std::time::Instant::now();
    poll(
        Duration::from_secs(240),
        "every resource is in sync",
        all_synced,
    );
    // `cargo test --test faults -- --nocapture` shows these (BENCHMARKS.md).
    let forwarded: u64 = proxy.forwarded().values().sum();
    let injected: u64 = proxy.injected().values().sum();
    eprintln!(
        "converged in {:.1} s: {forwarded} calls reached moto, {injected} faults injected",
        started.elapsed().as_secs_f64()
    );

    for i in DRIFTED {
        support::scale_by_hand(moto, &cluster, &format!("s{i}"), 3);
    }
    poll(Duration::from_secs(120), "the drift is corrected", || {
        DRIFTED
            .iter()
            .all(|i| describe(moto, &cluster, &format!("s{i}")).desired_count() == 1)
    });
    poll(Duration::from_secs(60), "in sync again", all_synced);

    let mut reported: BTreeMap<String, usize> = BTreeMap::new();
    let mut actions: Vec<String> = Vec::new();
    let mut drift_reports = 0;
    let mut read = |reported: &mut BTreeMap<String, usize>| {
        for message in moto.receive(&queue) {
            let report: serde_json::Value =
                serde_json::from_str(message["Message"].as_str().expect("message"))
                    .expect("report");
            // Shown only when the test fails.
            eprintln!("report: {}", report["items"]);
            for item in report["items"].as_array().into_iter().flatten() {
                // A correction whose writes failed 5 times is reported as
                // failed; fixed later, the same drift is not reported again.
                *reported
                    .entry(format!("{} {}", item["resource"], item["field"]))
                    .or_default() += 1;
                actions.push(item["action"].as_str().unwrap_or_default().to_owned());
            }
            drift_reports += 1;
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !DRIFTED.iter().all(|i| reported.contains_key(&drift(*i))) {
        // What the controller said about its messages, to tell why none came.
        let said = || -> Vec<String> {
            let logs = ctl.logs();
            let about = logs.iter().filter(|l| {
                let m = l["message"].as_str().unwrap_or_default();
                m.starts_with("notification") || m == "drift" || m == "loop finished"
            });
            about.map(|l| l.to_string()).collect()
        };
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until every drift is reported ({reported:?}); the controller said:\n{}",
            said().join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
        read(&mut reported);
    }
    // A report retried after a failed publish would come now, if at all.
    ctl.loops(3);
    read(&mut reported);
    assert!(drift_reports >= 1);
    let metrics = support::http_get(ctl.port, "/metrics").unwrap_or_default();
    let throttled_metric = metrics
        .lines()
        .any(|l| l.starts_with("ecs_operator_aws_throttled_calls_total{") && !l.ends_with(" 0"));
    // What each resource was sent, for the failure message.
    let sent: Vec<String> = ctl
        .logs()
        .iter()
        .filter(|l| l["message"] == "write sent" || l["message"] == "write failed")
        .map(|l| {
            format!(
                "{} {} {} {}",
                l["message"], l["resource"], l["call"], l["error"]
            )
        })
        .collect();
    let exit = ctl.terminate();
    assert!(exit.success(), "{exit:?}");

    let writes = proxy
        .forwarded()
        .into_iter()
        .filter(|(op, _)| {
            let (service, operation) = op.split_once(':').unwrap_or_default();
            // Notifications and the heartbeat are not writes to the estate.
            service != "moto"
                && ecs_operator::metrics::is_write(operation)
                && !matches!(operation, "Publish" | "PutMetricData")
        })
        .collect();
    for i in 0..SERVICES {
        assert_eq!(
            describe(moto, &cluster, &format!("s{i}")).desired_count(),
            1
        );
    }
    Run {
        writes,
        reported,
        throttled_metric,
        actions,
        sent,
    }
}

#[test]
fn under_throttling_500s_and_resets_the_estate_converges_with_the_writes_it_needs() {
    let clean = converge(Faults::none());
    let faulty = converge(Faults {
        throttle: 0.30,
        server_error: 0.10,
        reset: 0.05,
        ..Faults::none()
    });
    for run in [&clean, &faulty] {
        for i in DRIFTED {
            assert_eq!(run.reported.get(&drift(i)), Some(&1), "{:?}", run.reported);
        }
        assert!(
            run.reported.values().all(|n| *n == 1),
            "nothing reported twice: {:?}",
            run.reported
        );
    }
    assert_eq!(
        clean.reported.len(),
        DRIFTED.len(),
        "without faults, only the five drifts: {:?}",
        clean.reported
    );
    assert!(
        clean.actions.iter().all(|a| a == "corrected"),
        "{:?}",
        clean.actions
    );
    assert_eq!(
        faulty.writes, clean.writes,
        "the same writes reach AWS with and without faults; the faulty run's writes: {:#?}",
        faulty.sent
    );
    assert_eq!(
        clean.writes.get("ecs:CreateService"),
        Some(&(SERVICES as u64))
    );
    assert_eq!(
        clean.writes.get("ecs:UpdateService"),
        Some(&(DRIFTED.len() as u64))
    );
    assert!(faulty.throttled_metric, "/metrics counts throttled calls");
    assert!(!clean.throttled_metric);
}
