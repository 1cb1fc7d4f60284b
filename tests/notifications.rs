//! Drift reports and operator messages as a subscriber really receives them:
//! an SQS queue subscribed to the AlertChannel's topic, on moto.

mod support;

use std::time::Duration;

use support::controller::Controller;
use support::{Moto, docs, path_str, platform, poll, unique, write_docs};

#[test]
fn drift_is_reported_once_and_a_rejected_revision_once_to_a_real_subscriber() {
    let moto = Moto::shared();
    let cluster = unique("notify");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let (url, arn) = moto.queue();
    let topic = unique("oncall");
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {topic}\n  subscriptions: [{{protocol: sqs, endpoint: \"{arn}\"}}]\n  events: [drift, operator]\n"
    );
    let service = docs::service("web", &cluster, &td)
        .desired_count(2)
        .fargate(net)
        .build();
    let dir = write_docs(&[("web.yaml", format!("{service}---\n{channel}"))]);
    let instance = unique("inst");
    let ctl = Controller::start(moto, path_str(dir.path()), &instance, "1s", &[], &[]);
    ctl.loops(3);
    // The controller says it started; creating things is a rollout, not drift.
    let started = moto.receive(&url);
    assert_eq!(started.len(), 1, "{started:#?}");
    assert_eq!(
        started[0]["MessageAttributes"]["event"]["Value"],
        "operator"
    );
    assert_eq!(started[0]["MessageAttributes"]["severity"]["Value"], "info");
    assert!(
        started[0]["Subject"]
            .as_str()
            .is_some_and(|s| s.contains("operator started")),
        "{started:#?}"
    );

    // Drift by hand.
    support::scale_by_hand(moto, &cluster, "web", 7);
    let mut got = Vec::new();
    poll(Duration::from_secs(30), "the drift report arrives", || {
        got.extend(moto.receive(&url));
        !got.is_empty()
    });
    ctl.loops(3);
    got.extend(moto.receive(&url));
    assert_eq!(got.len(), 1, "exactly one report: {got:#?}");
    let envelope = &got[0];
    assert!(
        envelope["Subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("[DRIFT] ") && s.len() < 100),
        "{envelope}"
    );
    assert_eq!(envelope["MessageAttributes"]["event"]["Value"], "drift");
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "info");
    assert_eq!(
        envelope["MessageAttributes"]["instance"]["Value"],
        instance.as_str()
    );
    let report: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().expect("message")).expect("json report");
    assert_eq!(report["schema"], "ecs-operator/drift-report/v1");
    assert!(
        report["summary"]
            .as_str()
            .is_some_and(|s| s.contains("1 resource drifted (1 corrected)")),
        "{report}"
    );
    let item = &report["items"][0];
    assert_eq!(item["resource"], "Service/web");
    assert_eq!(item["field"], "desiredCount");
    assert_eq!(
        (item["actual"].clone(), item["desired"].clone()),
        (serde_json::json!(7), serde_json::json!(2))
    );
    assert_eq!(item["action"], "corrected");
    assert!(
        item["arn"]
            .as_str()
            .is_some_and(|a| a.contains(":service/"))
    );
    assert!(item["firstSeen"].is_string() && item["revision"].is_string());

    // A revision that does not validate: one operator message, however many loops.
    std::fs::write(
        dir.path().join("web.yaml"),
        format!("{service}  desiredCnt: 3\n---\n{channel}"),
    )
    .expect("break");
    let mut got = Vec::new();
    poll(
        Duration::from_secs(30),
        "the operator message arrives",
        || {
            got.extend(moto.receive(&url));
            !got.is_empty()
        },
    );
    ctl.loops(3);
    got.extend(moto.receive(&url));
    // SIGTERM: the controller says it is stopping, then exits.
    let exit = ctl.terminate();
    assert!(exit.success(), "{exit:?}");
    let stopping = moto.receive(&url);
    assert_eq!(stopping.len(), 1, "{stopping:#?}");
    assert!(
        stopping[0]["Subject"]
            .as_str()
            .is_some_and(|s| s.contains("operator stopping")),
        "{stopping:#?}"
    );
    assert_eq!(got.len(), 1, "exactly one operator message: {got:#?}");
    assert_eq!(got[0]["MessageAttributes"]["event"]["Value"], "operator");
    let body: serde_json::Value =
        serde_json::from_str(got[0]["Message"].as_str().expect("message")).expect("json");
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("unknown field `desiredCnt`")),
        "{body}"
    );
}
