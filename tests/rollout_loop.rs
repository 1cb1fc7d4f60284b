//! Rollouts on the in-memory ECS (which rolls a failing revision back at
//! once): the held revision is sent once, a steady hold costs no calls, the
//! page goes out once and survives a restart, a retry sends it once more.
//! The same is proven through the deployment simulator on moto in `rollouts.rs`.

#[path = "support/fakes.rs"]
mod fakes;

use std::sync::atomic::AtomicBool;

use ecs_operator::apply::apply;
use ecs_operator::aws::sns::SnsApi;
use ecs_operator::notify::{Causes, Notifier};
use ecs_operator::observe::observe;
use ecs_operator::observed::Memory;
use ecs_operator::plan::service::rollout::HealthState;
use ecs_operator::plan::{Plan, PlanOptions, plan};
use fakes::{Aws, block_on, desired, fake, now};

const V1: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1";
const V2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/app:2";

fn service(td: &str, count: u32, annotations: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: web{annotations}}}\nspec:\n  cluster: prod\n  taskDefinition: '{td}'\n  desiredCount: {count}\n  deployment: {{circuitBreaker: {{enable: true, rollback: true}}}}\n"
    )
}

const CHANNEL: &str = "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: oncall}\nspec: {topicName: oncall}\n";

/// One controller loop: observe, plan, apply, notify (rollouts), publish.
fn control_loop(docs: &[String], aws: &Aws, memory: &mut Memory, notifier: &mut Notifier) -> Plan {
    let d = desired(docs);
    let observed = block_on(observe(&d, aws, "default", memory, now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, aws, &AtomicBool::new(false), |_| true));
    let topics = ecs_operator::plan::alert_channel::topic_arns(&d, &observed);
    let mut messages = notifier.drift(&d, &topics, &p, &outcome, false, now(), &Causes::default());
    messages.extend(notifier.rollouts(&d, &topics, &p, &outcome, now()).0);
    for m in &messages {
        block_on(aws.sns.publish(m)).expect("publish");
    }
    p
}

fn rollout_messages(aws: &Aws) -> Vec<serde_json::Value> {
    aws.sns
        .published()
        .iter()
        .filter(|m| m.attributes["event"] == "rollout")
        .map(|m| serde_json::from_str(&m.body).expect("json"))
        .collect()
}

/// The pages among them (a creation's completion is an `info`).
fn pages(aws: &Aws) -> Vec<serde_json::Value> {
    let all = rollout_messages(aws);
    all.into_iter()
        .filter(|m| m["severity"] == "page")
        .collect()
}

fn drift_messages(aws: &Aws) -> usize {
    aws.sns
        .published()
        .iter()
        .filter(|m| m.attributes["event"] == "drift")
        .count()
}

/// A service running app:1, converged, with a channel: then app:2 fails.
fn rolled_back() -> (Aws, Memory, Notifier) {
    let aws = fake();
    aws.ecs.register("app");
    aws.ecs.fail_deployments_of(V2, "3 tasks failed to start");
    let (mut memory, mut notifier) = (Memory::default(), Notifier::new(None));
    for _ in 0..3 {
        control_loop(
            &[service("app:1", 2, ""), CHANNEL.to_owned()],
            &aws,
            &mut memory,
            &mut notifier,
        );
    }
    (aws, memory, notifier)
}

#[test]
fn a_rolled_back_revision_is_sent_once_in_ten_loops_and_paged_once() {
    let (aws, mut memory, mut notifier) = rolled_back();
    let updates = aws.ecs.calls("UpdateService");
    let docs = [service("app:2", 2, ""), CHANNEL.to_owned()];
    // The first loop sends the new revision (a document change); ECS rolls it back.
    let mut last = Some(control_loop(&docs, &aws, &mut memory, &mut notifier));
    let drift = drift_messages(&aws);
    for _ in 1..10 {
        last = Some(control_loop(&docs, &aws, &mut memory, &mut notifier));
    }
    assert_eq!(
        aws.ecs.calls("UpdateService") - updates,
        1,
        "sent once, held after"
    );
    assert_eq!(
        aws.ecs
            .service("prod", "web")
            .map(|s| s.task_definition)
            .as_deref(),
        Some(V1)
    );
    let pages = pages(&aws);
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0]["result"], "rolled_back");
    assert_eq!(pages[0]["reason"], "3 tasks failed to start");
    assert_eq!(pages[0]["rolledBackTo"], "app:1");
    assert_eq!(drift_messages(&aws), drift, "a rollback is never drift");
    let step = last
        .expect("a plan")
        .steps
        .into_iter()
        .find(|s| s.resource.name == "web");
    let health = step.and_then(|s| s.health).expect("health");
    assert_eq!(health.state, HealthState::Degraded);
    assert!(
        health
            .reason
            .unwrap_or_default()
            .contains("ECS rolled back to app:1")
    );
}

#[test]
fn a_steady_hold_asks_ecs_for_no_deployment_history() {
    let (aws, mut memory, mut notifier) = rolled_back();
    let docs = [service("app:2", 2, ""), CHANNEL.to_owned()];
    for _ in 0..3 {
        control_loop(&docs, &aws, &mut memory, &mut notifier);
    }
    let asked = aws.ecs.calls("ListServiceDeployments");
    for _ in 0..5 {
        control_loop(&docs, &aws, &mut memory, &mut notifier);
    }
    assert_eq!(aws.ecs.calls("ListServiceDeployments"), asked);
}

#[test]
fn desired_count_drift_is_still_corrected_while_held() {
    let (aws, mut memory, mut notifier) = rolled_back();
    let docs = [service("app:2", 2, ""), CHANNEL.to_owned()];
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    aws.ecs.edit("prod", "web", |s| s.desired_count = 7);
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    let live = aws.ecs.service("prod", "web").expect("service");
    assert_eq!(live.desired_count, 2);
    assert_eq!(live.task_definition, V1, "still held");
}

#[test]
fn a_restart_keeps_the_hold_and_the_page_is_not_sent_again() {
    let state = tempfile::tempdir().expect("tmp");
    let file = state.path().join("state.json");
    let (aws, mut memory, _) = rolled_back();
    let docs = [service("app:2", 2, ""), CHANNEL.to_owned()];
    let mut notifier = Notifier::new(Some(file.clone()));
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    let updates = aws.ecs.calls("UpdateService");
    // A new process: empty memory, the notifier's state file.
    let (mut memory, mut notifier) = (Memory::default(), Notifier::new(Some(file)));
    for _ in 0..3 {
        control_loop(&docs, &aws, &mut memory, &mut notifier);
    }
    assert_eq!(aws.ecs.calls("UpdateService"), updates);
    assert_eq!(pages(&aws).len(), 1);
}

#[test]
fn a_new_retry_value_sends_the_revision_exactly_once_more() {
    let (aws, mut memory, mut notifier) = rolled_back();
    let docs = [service("app:2", 2, ""), CHANNEL.to_owned()];
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    let sent = aws.ecs.calls("UpdateService");
    let retry = [
        service(
            "app:2",
            2,
            ", annotations: {ecs-operator/retry-rollout: '1'}",
        ),
        CHANNEL.to_owned(),
    ];
    for _ in 0..5 {
        control_loop(&retry, &aws, &mut memory, &mut notifier);
    }
    assert_eq!(aws.ecs.calls("UpdateService") - sent, 1);
    assert_eq!(pages(&aws).len(), 2, "the retry failed too: its own page");
}

#[test]
fn a_new_revision_after_the_hold_deploys_and_reports_completion() {
    let (aws, mut memory, mut notifier) = rolled_back();
    let docs = [service("app:2", 2, ""), CHANNEL.to_owned()];
    control_loop(&docs, &aws, &mut memory, &mut notifier);
    aws.ecs.register("app");
    let fixed = [service("app:3", 2, ""), CHANNEL.to_owned()];
    control_loop(&fixed, &aws, &mut memory, &mut notifier);
    let p = control_loop(&fixed, &aws, &mut memory, &mut notifier);
    let web = p
        .steps
        .iter()
        .find(|s| s.resource.name == "web")
        .expect("web");
    assert_eq!(
        web.health.as_ref().map(|h| h.state),
        Some(HealthState::Healthy)
    );
    let messages = rollout_messages(&aws);
    let last = messages.last().expect("messages");
    assert_eq!(last["result"], "completed");
    assert_eq!(last["taskDefinition"], "app:3");
    assert_eq!(last["severity"], "info");
}
