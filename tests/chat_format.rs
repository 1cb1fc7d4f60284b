//! `format: chat`: every message kind rendered in the custom-notification
//! schema of Amazon Q Developer in chat applications (AWS Chatbot), compared
//! with `tests/fixtures/chat/snapshots/<kind>.json` (`UPDATE_EXPECT=1`
//! rewrites them) and validated against
//! `tests/fixtures/chat/custom-notification.schema.json`; and on moto, what an
//! SQS subscriber of a `format: chat` channel really receives.

mod support;

use std::path::PathBuf;

use ecs_operator::model::duration::Duration as Window;
use ecs_operator::notify::chat::{DESCRIPTION_MAX, TITLE_MAX, drift, operator, rollout, slo};
use ecs_operator::notify::report::{Item, ItemAction};
use ecs_operator::slo::alerting::Notice;
use ecs_operator::slo::page::{Page, WindowRate};
use serde_json::{Value, json};
use support::controller::Controller;
use support::json_schema::violations;
use support::{Moto, docs, path_str, platform, root, unique, write_docs};

fn at() -> jiff::Timestamp {
    "2026-11-23T08:00:00Z".parse().expect("instant")
}

fn item(resource: &str, field: &str, actual: Value, desired: Value, action: ItemAction) -> Item {
    Item {
        resource: resource.to_owned(),
        arn: Some(format!(
            "arn:aws:ecs:us-east-1:123456789012:service/prod/{}",
            resource.rsplit('/').next().unwrap_or("")
        )),
        field: field.to_owned(),
        desired,
        actual,
        action,
        error: (action == ItemAction::Failed)
            .then(|| "ecs:UpdateService: ThrottlingException: Rate exceeded".to_owned()),
        first_seen: at(),
        revision: "3f9a0c1d2e4b".to_owned(),
        changed_by: None,
    }
}

fn drift_items() -> Vec<Item> {
    vec![
        item(
            "Service/web",
            "desiredCount",
            json!(9),
            json!(2),
            ItemAction::Corrected,
        ),
        item(
            "TaskDefinition/web",
            "containerDefinitions[web].image",
            json!("repo/web:hotfix"),
            json!("repo/web:1.5"),
            ItemAction::Failed,
        ),
    ]
}

fn page<'a>(state: Notice, drift: Vec<Item>) -> Page<'a> {
    Page {
        summary: "SLO web-availability burning 14.4x (1h/5m); error budget left 62.0%".to_owned(),
        schema: ecs_operator::slo::page::SCHEMA,
        event: "slo",
        severity: "page",
        state,
        instance: "prod",
        slo: "web-availability",
        service: Some("web"),
        objective: 99.9,
        window: "30d".parse::<Window>().expect("duration"),
        error_budget_remaining: Some(0.62),
        burn_rates: vec![
            WindowRate {
                window: "5m".parse().expect("duration"),
                burn_rate: Some(15.2),
            },
            WindowRate {
                window: "1h".parse().expect("duration"),
                burn_rate: Some(14.4),
            },
        ],
        rules: &[],
        firing_since: Some("2026-11-23T07:55:00Z".parse().expect("instant")),
        at: at(),
        drift,
    }
}

fn rollout_body() -> Value {
    json!({
        "summary": "prod: rollout of web:43 failed: 3 tasks failed to start; ECS rolled back to web:42",
        "resource": "Service/web",
        "arn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "deployment": "ecs-svc/1234567890",
        "taskDefinition": "web:43",
        "rolledBackTo": "web:42",
        "reason": "ECS deployment circuit breaker: 3 tasks failed to start",
        "action": "holds web:43 until the document asks for another revision or its retry annotation changes",
    })
}

/// Every kind, as `(snapshot name, rendered body)`.
fn kinds() -> Vec<(&'static str, String)> {
    let summary = "prod: 2 resources drifted (1 corrected, 1 failed)";
    vec![
        ("drift", drift("prod: 2 resources drifted (1 corrected, 1 failed)", "ticket", "prod", "3f9a0c1d2e4b", &drift_items()).render()),
        ("rollout-page", rollout(rollout_body()["summary"].as_str().unwrap_or(summary), "page", "prod", &rollout_body()).render()),
        ("slo-page", slo(&page(Notice::Firing, drift_items()[..1].to_vec())).render()),
        ("slo-repeat", slo(&page(Notice::Repeat, Vec::new())).render()),
        ("slo-resolved", slo(&page(Notice::Resolved, Vec::new())).render()),
        ("operator-started", operator("prod: operator started", "info", "prod", &[]).render()),
        (
            "operator-rejected",
            operator(
                "prod: desired state revision 9c1e rejected (1 errors); still reconciling the last valid one",
                "page",
                "prod",
                &["desired/web.yaml:8:3: Service/web: spec.desiredCnt: unknown field `desiredCnt`".to_owned()],
            )
            .render(),
        ),
    ]
}

fn snapshot_dir() -> PathBuf {
    root().join("tests/fixtures/chat/snapshots")
}

#[test]
fn every_message_kind_renders_as_its_snapshot() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for (name, body) in kinds() {
        let path = snapshot_dir().join(format!("{name}.json"));
        if update {
            std::fs::write(&path, format!("{body}\n")).expect("write snapshot");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("no snapshot {}: UPDATE_EXPECT=1 writes it", path.display())
        });
        assert_eq!(
            body.trim_end(),
            expected.trim_end(),
            "{name} (UPDATE_EXPECT=1 rewrites it)"
        );
    }
}

#[test]
fn every_message_kind_validates_against_the_custom_notification_schema() {
    for (name, body) in kinds() {
        assert_eq!(violations(&body), Vec::<String>::new(), "{name}:\n{body}");
    }
}

#[test]
fn the_validator_catches_what_chatbot_would_drop() {
    let bad = json!({"version": "2.0", "source": "custom", "content": {"title": "x".repeat(200)}, "extra": 1});
    let errors = violations(&bad.to_string());
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn a_large_drift_report_lists_its_first_items_and_counts_the_rest() {
    let items: Vec<Item> = (0..500)
        .map(|i| {
            item(
                &format!("Service/s{i}"),
                "desiredCount",
                json!(9),
                json!(2),
                ItemAction::Corrected,
            )
        })
        .collect();
    let body = drift(
        "prod: 500 resources drifted (500 corrected)",
        "info",
        "prod",
        "r1",
        &items,
    )
    .render();
    assert_eq!(violations(&body), Vec::<String>::new());
    let v: Value = serde_json::from_str(&body).expect("json");
    let description = v["content"]["description"].as_str().expect("description");
    assert!(description.chars().count() <= DESCRIPTION_MAX);
    assert!(
        description.contains("more (the full report goes to `format: json` channels)"),
        "{description}"
    );
    assert!(description.contains("Service/s0"));
}

#[test]
fn a_page_its_repeats_and_its_resolved_share_one_thread() {
    let thread = |n: Notice| slo(&page(n, Vec::new())).thread_id;
    assert_eq!(thread(Notice::Firing), thread(Notice::Repeat));
    assert_eq!(thread(Notice::Firing), thread(Notice::Resolved));
    let mut next = page(Notice::Firing, Vec::new());
    next.firing_since = Some("2026-11-24T01:00:00Z".parse().expect("instant"));
    assert_ne!(
        slo(&next).thread_id,
        thread(Notice::Firing),
        "a new episode, a new thread"
    );
}

#[test]
fn a_long_title_is_cut_on_a_character_boundary() {
    let c = operator(&"é".repeat(400), "info", "prod", &[]);
    let v: Value = serde_json::from_str(&c.render()).expect("json");
    let title = v["content"]["title"].as_str().expect("title");
    assert_eq!(title.chars().count(), TITLE_MAX);
    assert!(title.ends_with('…'));
}

#[test]
fn a_subscriber_of_a_chat_channel_receives_messages_in_the_custom_notification_schema() {
    let moto = Moto::shared();
    let cluster = unique("chat");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let (url, arn) = moto.queue();
    let topic = unique("chatbot");
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: slack}}\nspec:\n  topicName: {topic}\n  subscriptions: [{{protocol: sqs, endpoint: \"{arn}\"}}]\n  events: [drift, operator]\n  format: chat\n"
    );
    let service = docs::service("web", &cluster, &td)
        .desired_count(2)
        .fargate(moto.network())
        .build();
    let dir = write_docs(&[("web.yaml", format!("{service}---\n{channel}"))]);
    let ctl = Controller::start(moto, path_str(dir.path()), &unique("inst"), "1s", &[], &[]);
    let mut got = Vec::new();
    moto.receive_until(
        &url,
        &mut got,
        "the `operator started` message arrives",
        |got| !got.is_empty(),
    );
    // A drift by hand: its report comes as a chat message too.
    support::scale_by_hand(moto, &cluster, "web", 7);
    moto.receive_until(&url, &mut got, "the drift report arrives", |got| {
        got.iter()
            .any(|m| m["MessageAttributes"]["event"]["Value"] == "drift")
    });
    ctl.terminate();
    for envelope in &got {
        let body = envelope["Message"].as_str().expect("a message body");
        assert_eq!(violations(body), Vec::<String>::new(), "{body}");
    }
    let drift = got
        .iter()
        .find(|m| m["MessageAttributes"]["event"]["Value"] == "drift")
        .and_then(|m| serde_json::from_str::<Value>(m["Message"].as_str()?).ok())
        .expect("a drift message");
    let description = drift["content"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("`desiredCount`: 7 → 2 (corrected)"),
        "{description}"
    );
}
