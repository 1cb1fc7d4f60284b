//! Rollouts on moto through the deployment simulator (tests/support/deploy_sim.rs),
//! which runs each deployment to COMPLETED, or to FAILED and ECS's rollback:
//! a failed revision is sent once and held, paged once, survives a restart,
//! a retry sends it once more, a new revision deploys; `apply --wait` exits
//! 0, 3 and 1; deployment alarms reach the live service.

mod support;

use std::time::Duration;

use support::controller::Controller;
use support::deploy_sim::DeploySim;
use support::{Moto, Run, docs, path_str, platform, poll, unique, write_docs};

const REASON: &str = "3 tasks failed to start: essential container exited";

/// The operator binary with its AWS endpoint at the simulator.
fn operator(moto: &Moto, sim: &DeploySim, args: &[&str]) -> Run {
    let mut cmd = moto.operator_command(args);
    cmd.env("AWS_ENDPOINT_URL", &sim.url);
    Run::from(cmd.output().expect("operator runs"))
}

/// A cluster, a task definition family with `revisions` revisions, and a simulator.
fn estate(revisions: usize, deployment: Duration) -> (&'static Moto, DeploySim, String, String) {
    let moto = Moto::shared();
    let cluster = unique("roll");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    for _ in 1..revisions {
        moto.platform(&["taskdef", &td]);
    }
    let sim = DeploySim::start(&moto.endpoint, deployment);
    (moto, sim, cluster, td)
}

fn service_doc(moto: &Moto, cluster: &str, td: &str, retry: Option<&str>) -> String {
    let doc = docs::service("web", cluster, td)
        .desired_count(2)
        .fargate(moto.network())
        .field("deployment: {circuitBreaker: {enable: true, rollback: true}}");
    match retry {
        Some(v) => doc.annotate("ecs-operator/retry-rollout", v).build(),
        None => doc.build(),
    }
}

/// UpdateService calls that asked for `family:rev`.
fn sent(sim: &DeploySim, revision: &str) -> usize {
    let suffix = format!(":task-definition/{revision}");
    sim.requests("UpdateService")
        .iter()
        .filter(|b| {
            b["taskDefinition"]
                .as_str()
                .is_some_and(|t| t.ends_with(&suffix))
        })
        .count()
}

/// The `rollout` messages among `envelopes`, as their JSON bodies.
fn rollouts(envelopes: &[serde_json::Value]) -> Vec<serde_json::Value> {
    envelopes
        .iter()
        .filter(|e| e["MessageAttributes"]["event"]["Value"] == "rollout")
        .map(|e| serde_json::from_str(e["Message"].as_str().expect("message")).expect("json"))
        .collect()
}

fn health(ctl: &Controller) -> serde_json::Value {
    ctl.status()["resources"]["Service/web"]["health"].clone()
}

#[test]
fn a_rolled_back_revision_is_held_through_restarts_until_retried_or_replaced() {
    let (moto, sim, cluster, td) = estate(3, Duration::from_millis(400));
    sim.fail(&format!("{td}:2"), REASON);
    let (url, arn) = moto.queue();
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {}\n  subscriptions: [{{protocol: sqs, endpoint: \"{arn}\"}}]\n  events: [rollout]\n",
        unique("deploys")
    );
    let instance = unique("inst");
    let write = |dir: &tempfile::TempDir, service: String| {
        std::fs::write(
            dir.path().join("web.yaml"),
            format!("{service}---\n{channel}"),
        )
        .expect("write");
    };
    let dir = tempfile::tempdir().expect("dir");
    write(&dir, service_doc(moto, &cluster, &format!("{td}:1"), None));
    let files = path_str(dir.path()).to_owned();
    operator(
        moto,
        &sim,
        &["apply", "-f", &files, "--instance", &instance],
    )
    .expect_code(0);

    // The team commits revision 2, which ECS cannot start.
    write(&dir, service_doc(moto, &cluster, &format!("{td}:2"), None));
    // Beside the documents, it would be read as one.
    let state_dir = tempfile::tempdir().expect("state dir");
    let state = state_dir.path().join("state.json");
    let state = path_str(&state).to_owned();
    let endpoint = [("AWS_ENDPOINT_URL", sim.url.as_str())];
    let extra = ["--state-file", state.as_str()];
    let ctl = Controller::start(moto, &files, &instance, "1s", &extra, &endpoint);
    poll(Duration::from_secs(60), "the service is degraded", || {
        health(&ctl)["state"] == "degraded"
    });
    let reason = health(&ctl)["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains(REASON), "{reason}");
    assert!(
        reason.contains(&format!("ECS rolled back to {td}:1")),
        "{reason}"
    );

    // A desiredCount drift on the same service is corrected meanwhile.
    support::scale_by_hand(moto, &cluster, "web", 5);
    poll(Duration::from_secs(30), "desiredCount is corrected", || {
        support::describe(moto, &cluster, "web").desired_count() == 2
    });
    ctl.loops(10);
    assert_eq!(sent(&sim, &format!("{td}:2")), 1, "sent once, then held");
    let live = support::describe(moto, &cluster, "web");
    assert!(
        live.task_definition()
            .unwrap_or_default()
            .ends_with(&format!("{td}:1"))
    );
    let mut envelopes = moto.receive(&url);
    let pages = rollouts(&envelopes);
    let paged: Vec<_> = pages.iter().filter(|p| p["severity"] == "page").collect();
    assert_eq!(paged.len(), 1, "{pages:#?}");
    assert_eq!(paged[0]["result"], "rolled_back");
    assert_eq!(paged[0]["reason"], REASON);
    assert_eq!(paged[0]["rolledBackTo"], format!("{td}:1"));

    // A restart during the hold: still held, nothing sent, no second page.
    assert!(ctl.terminate().success());
    let ctl = Controller::start(moto, &files, &instance, "1s", &extra, &endpoint);
    ctl.loops(4);
    assert_eq!(health(&ctl)["state"], "degraded", "{:#}", ctl.status());
    assert_eq!(sent(&sim, &format!("{td}:2")), 1);
    envelopes.extend(moto.receive(&url));
    assert_eq!(
        rollouts(&envelopes)
            .iter()
            .filter(|p| p["severity"] == "page")
            .count(),
        1
    );

    // A new retry-rollout value sends it once more; it fails again: held again, paged again.
    write(
        &dir,
        service_doc(moto, &cluster, &format!("{td}:2"), Some("1")),
    );
    poll(Duration::from_secs(30), "the retry is sent", || {
        sent(&sim, &format!("{td}:2")) == 2
    });
    poll(Duration::from_secs(30), "the retry is paged", || {
        envelopes.extend(moto.receive(&url));
        rollouts(&envelopes)
            .iter()
            .filter(|p| p["severity"] == "page")
            .count()
            == 2
    });
    ctl.loops(5);
    assert_eq!(sent(&sim, &format!("{td}:2")), 2, "one retry per value");

    // A fixed revision deploys and is reported healthy.
    write(
        &dir,
        service_doc(moto, &cluster, &format!("{td}:3"), Some("1")),
    );
    poll(Duration::from_secs(60), "revision 3 is healthy", || {
        let h = health(&ctl);
        h["state"] == "healthy" && h["revision"] == format!("{td}:3")
    });
    poll(Duration::from_secs(30), "the completion is told", || {
        envelopes.extend(moto.receive(&url));
        rollouts(&envelopes)
            .iter()
            .any(|m| m["result"] == "completed" && m["taskDefinition"] == format!("{td}:3"))
    });
    assert_eq!(sent(&sim, &format!("{td}:3")), 1);
    let metrics = support::http_get(ctl.port, "/metrics").unwrap_or_default();
    assert!(
        metrics
            .contains("ecs_operator_service_health{service=\"Service/web\",state=\"healthy\"} 1"),
        "{metrics}"
    );
    // This process saw the retry's rollback; the first was its predecessor's.
    assert!(
        metrics.contains("ecs_operator_rollouts_total{result=\"rolled_back\"} 1"),
        "{metrics}"
    );
}

#[test]
fn apply_wait_exits_0_when_healthy_3_when_rolled_back_and_1_on_timeout() {
    // Long enough for the first poll to see the deployment in progress.
    let (moto, sim, cluster, td) = estate(4, Duration::from_millis(1500));
    sim.fail(&format!("{td}:3"), REASON);
    let instance = unique("inst");
    let dir = write_docs(&[(
        "web.yaml",
        service_doc(moto, &cluster, &format!("{td}:1"), None),
    )]);
    let files = path_str(dir.path()).to_owned();
    let apply_wait = |timeout: &str| {
        operator(
            moto,
            &sim,
            &[
                "apply",
                "-f",
                &files,
                "--instance",
                &instance,
                "--wait",
                "--wait-timeout",
                timeout,
                "--wait-poll",
                "1s",
            ],
        )
    };
    let first = apply_wait("1m");
    first.expect_code(0);
    assert!(first.stdout.contains("healthy"), "{}", first.stdout);

    let rewrite = |rev: &str| {
        let doc = service_doc(moto, &cluster, &format!("{td}:{rev}"), None);
        std::fs::write(dir.path().join("web.yaml"), doc).expect("write");
    };
    rewrite("2");
    let healthy = apply_wait("1m");
    healthy.expect_code(0);
    assert!(healthy.stdout.contains("progressing"), "{}", healthy.stdout);
    assert!(
        healthy.stdout.contains("wait: every deployment is healthy"),
        "{}",
        healthy.stdout
    );

    rewrite("3");
    let rolled_back = apply_wait("1m");
    rolled_back.expect_code(3);
    assert!(
        rolled_back.stdout.contains(REASON)
            && rolled_back.stdout.contains(&format!("back to {td}:2")),
        "{}",
        rolled_back.stdout
    );

    sim.set_duration(Duration::from_secs(600));
    rewrite("4");
    let slow = apply_wait("2s");
    slow.expect_code(1);
    assert!(
        slow.stderr.contains("timed out") && slow.stderr.contains("Service/web"),
        "{}",
        slow.stderr
    );
}

#[test]
fn deployment_alarms_reach_the_live_service_and_an_alarm_in_alarm_is_warned_about() {
    let moto = Moto::shared();
    let cluster = unique("alarms");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let alarm_name = unique("web-5xx");
    let other = unique("platform-alb");
    let alarm = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {{name: web-5xx}}\nspec:\n  alarmName: {alarm_name}\n  metric: {{namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, statistic: Sum, period: 60}}\n  comparison: GreaterThanThreshold\n  threshold: 5\n  evaluationPeriods: 5\n"
    );
    let service = docs::service("web", &cluster, &td)
        .fargate(moto.network())
        .field(&format!(
            "deployment:\n  circuitBreaker: {{enable: true, rollback: true}}\n  alarms: {{alarmRefs: [web-5xx], alarmNames: [{other}]}}"
        ))
        .build();
    let dir = write_docs(&[("web.yaml", format!("{service}---\n{alarm}"))]);
    let files = path_str(dir.path()).to_owned();
    let instance = unique("inst");
    moto.operator(&["apply", "-f", &files, "--instance", &instance])
        .expect_code(0);
    let live = support::describe(moto, &cluster, "web");
    let alarms = live
        .deployment_configuration()
        .and_then(|d| d.alarms())
        .expect("deployment alarms");
    let mut names = alarms.alarm_names().to_vec();
    names.sort();
    let mut want = vec![alarm_name.clone(), other];
    want.sort();
    assert_eq!(names, want);
    assert!(alarms.enable() && alarms.rollback());
    moto.operator(&[
        "plan",
        "-f",
        &files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ])
    .expect_code(0);

    support::block_on(
        moto.cloudwatch()
            .set_alarm_state()
            .alarm_name(&alarm_name)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("a 5xx burst")
            .send(),
    )
    .expect("set alarm state");
    let plan = moto.operator(&["plan", "-f", &files, "--instance", &instance]);
    assert!(
        plan.stdout.contains(&format!(
            "warning: deployment alarm {alarm_name} is in ALARM"
        )),
        "{}",
        plan.stdout
    );
}
