//! Message rendering: subjects, JSON and text bodies, splitting. The text body
//! is compared with `snapshots/*.txt` (`UPDATE_EXPECT=1` rewrites them).

use super::*;

fn at() -> jiff::Timestamp {
    "2026-11-23T08:00:00Z".parse().expect("instant")
}

fn item(
    resource: &str,
    field: &str,
    actual: serde_json::Value,
    desired: serde_json::Value,
    action: ItemAction,
) -> Item {
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

fn report(items: Vec<Item>) -> Report {
    Report {
        summary: summary_of("prod", &items),
        schema: SCHEMA,
        event: "drift",
        severity: severity_of(&items),
        instance: "prod".to_owned(),
        revision: "3f9a0c1d2e4b".to_owned(),
        at: at(),
        part: 1,
        parts: 1,
        items,
    }
}

fn sample() -> Vec<Item> {
    use serde_json::json;
    vec![
        item(
            "Service/web",
            "desiredCount",
            json!(9),
            json!(2),
            ItemAction::Corrected,
        ),
        item(
            "Service/web",
            "tags.team",
            json!("someone"),
            json!("core"),
            ItemAction::Corrected,
        ),
        item(
            "Service/api",
            "taskDefinition",
            json!("api:1"),
            json!("api:2"),
            ItemAction::Failed,
        ),
    ]
}

fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/notify/report/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "snapshot {name} differs (UPDATE_EXPECT=1 rewrites it)"
    );
}

#[test]
fn the_summary_counts_resources_and_what_became_of_them() {
    assert_eq!(
        summary_of("prod", &sample()),
        "prod: 2 resources drifted (2 corrected, 1 failed)"
    );
    assert_eq!(severity_of(&sample()), "page");
    assert_eq!(severity_of(&sample()[..1]), "info");
}

#[test]
fn subjects_are_one_line_under_100_characters() {
    assert_eq!(
        subject("DRIFT", "prod: 1 resource drifted (1 corrected)"),
        "[DRIFT] prod: 1 resource drifted (1 corrected)"
    );
    let long = subject("DRIFT", &format!("{}\nsecond line", "x".repeat(200)));
    assert!(long.chars().count() < 100, "{}", long.chars().count());
    assert!(!long.contains('\n'));
    assert!(long.ends_with('…'));
}

#[test]
fn the_json_body_starts_with_the_summary_and_names_its_schema() {
    let body = render_json(&report(sample()));
    assert!(
        body.starts_with("{\n  \"summary\": \"prod: 2 resources drifted"),
        "{body}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["schema"], "ecs-operator/drift-report/v1");
    assert_eq!(v["items"][2]["action"], "failed");
    assert_eq!(
        v["items"][2]["error"],
        "ecs:UpdateService: ThrottlingException: Rate exceeded"
    );
    assert_eq!(v["items"][0]["firstSeen"], "2026-11-23T08:00:00Z");
    assert_eq!(v["items"][0]["desired"], 2);
}

#[test]
fn the_text_body_reads_like_a_report() {
    snapshot("drift.txt", &render_text(&report(sample())));
}

#[test]
fn a_report_over_the_limit_is_split_into_numbered_parts_none_truncated() {
    let big: Vec<Item> = (0..2000)
        .map(|i| {
            item(
                &format!("Service/s{i}"),
                "desiredCount",
                serde_json::json!(i),
                serde_json::json!("x".repeat(200)),
                ItemAction::Reported,
            )
        })
        .collect();
    let template = report(Vec::new());
    let parts = split(&template, big.clone(), render_json, 262_144 - 4096);
    assert!(parts.len() >= 2, "{} parts", parts.len());
    let total: usize = parts.iter().map(|(r, _)| r.items.len()).sum();
    assert_eq!(total, big.len(), "no item lost");
    for (i, (r, body)) in parts.iter().enumerate() {
        assert!(body.len() <= 262_144 - 4096);
        assert_eq!((r.part, r.parts), (i + 1, parts.len()));
        assert!(
            r.summary
                .ends_with(&format!("(part {} of {})", i + 1, parts.len()))
        );
    }
}

#[test]
fn a_single_item_too_large_is_shortened_visibly() {
    let huge = item(
        "Service/web",
        "tags.blob",
        serde_json::json!("y".repeat(400_000)),
        serde_json::json!("z"),
        ItemAction::Reported,
    );
    let parts = split(&report(Vec::new()), vec![huge], render_text, 262_144 - 4096);
    assert_eq!(parts.len(), 1);
    assert!(parts[0].1.len() <= 262_144 - 4096);
    assert!(
        parts[0].1.contains("more bytes not shown]"),
        "the shortening is said"
    );
}

#[test]
fn a_change_made_by_someone_names_them_in_the_text_and_as_changed_by_in_json() {
    let mut it = item(
        "Service/web",
        "desiredCount",
        serde_json::json!(2),
        serde_json::json!(7),
        ItemAction::Corrected,
    );
    it.changed_by = Some(crate::events::Actor {
        arn: "arn:aws:sts::123456789012:assumed-role/Admin/alice".into(),
        kind: "AssumedRole".into(),
        source_ip: Some("203.0.113.9".into()),
        user_agent: Some("AWS Internal".into()),
        at: Some("2026-12-05T10:02:11Z".into()),
        event_id: "6f2a".into(),
        invoked_by: None,
    });
    let r = report(vec![it]);
    let text = render_text(&r);
    assert!(
        text.contains(
            "  changed by arn:aws:sts::123456789012:assumed-role/Admin/alice at 2026-12-05T10:02:11Z from the console\n"
        ),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).expect("json");
    let by = &v["items"][0]["changedBy"];
    assert_eq!(
        by["arn"],
        "arn:aws:sts::123456789012:assumed-role/Admin/alice"
    );
    assert_eq!(by["type"], "AssumedRole");
    assert_eq!(by["sourceIp"], "203.0.113.9");
    assert_eq!(by["eventId"], "6f2a");
    assert!(by.get("invokedBy").is_none(), "{by}");
    // Without an event, no field at all (the report schema is unchanged).
    let plain = render_json(&report(sample()));
    assert!(!plain.contains("changedBy"), "{plain}");
}
