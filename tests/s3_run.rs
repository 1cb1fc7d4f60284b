//! `run --source s3://bucket/prefix/` on moto: the revision CI wrote, a set
//! that does not validate and one whose upload never finished both keep the
//! last good revision, and each is reported once on the `operator` channel.

mod support;

use std::time::Duration;

use jiff::Timestamp;
use support::controller::Controller;
use support::{Moto, block_on, describe, docs, platform, poll, unique};

fn put(moto: &Moto, bucket: &str, key: &str, text: &str) {
    block_on(
        moto.s3()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(text.as_bytes().to_vec().into())
            .send(),
    )
    .expect("put object");
}

/// Returns once the clock is in a later second than now (S3 keeps whole seconds).
fn next_second() {
    let now = Timestamp::now().as_second();
    poll(Duration::from_secs(3), "the next second", || {
        Timestamp::now().as_second() > now
    });
}

fn operator_messages(moto: &Moto, queue: &str, got: &mut Vec<serde_json::Value>) {
    got.extend(
        moto.receive(queue)
            .into_iter()
            .filter(|m| m["MessageAttributes"]["event"]["Value"] == "operator"),
    );
}

#[test]
fn the_s3_source_keeps_the_last_good_revision_and_reports_each_rejection_once() {
    let moto = Moto::shared();
    let cluster = unique("s3run");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let (queue, queue_arn) = moto.queue();
    let bucket = unique("desired");
    block_on(moto.s3().create_bucket().bucket(&bucket).send()).expect("bucket");
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {}\n  subscriptions: [{{protocol: sqs, endpoint: \"{queue_arn}\"}}]\n  events: [operator]\n",
        unique("oncall")
    );
    let service = |count: u32| {
        docs::service("web", &cluster, &td)
            .desired_count(count)
            .fargate(net)
            .build()
    };
    put(moto, &bucket, "prod/channel.yaml", &channel);
    put(moto, &bucket, "prod/services/web.yaml", &service(2));
    put(moto, &bucket, "prod/REVISION", "abc123\n");

    let url = format!("s3://{bucket}/prod/");
    let ctl = Controller::start(
        moto,
        "",
        &unique("inst"),
        "1s",
        &["--source", &url, "--source-poll", "1s"],
        &[],
    );
    poll(
        Duration::from_secs(30),
        "revision abc123 is reconciled",
        || {
            ctl.status()["revision"] == "abc123"
                && ctl.status()["resources"]["Service/web"]["synced"] == true
        },
    );
    assert_eq!(describe(moto, &cluster, "web").desired_count(), 2);

    // A revision that does not validate: kept out, reported once.
    put(
        moto,
        &bucket,
        "prod/services/web.yaml",
        &format!("{}  desiredCnt: 3\n", service(2)),
    );
    put(moto, &bucket, "prod/REVISION", "bad456\n");
    poll(Duration::from_secs(30), "bad456 is rejected", || {
        ctl.status()["rejected"]["revision"] == "bad456"
    });
    assert_eq!(ctl.status()["revision"], "abc123");
    let errors = ctl.status()["rejected"]["errors"].to_string();
    assert!(
        errors.contains(&format!("s3://{bucket}/prod/services/web.yaml"))
            && errors.contains("desiredCnt"),
        "{errors}"
    );

    // A document newer than REVISION that stays so: rejected after the grace.
    put(moto, &bucket, "prod/services/web.yaml", &service(2));
    put(moto, &bucket, "prod/REVISION", "good789\n");
    poll(Duration::from_secs(30), "good789 is reconciled", || {
        ctl.status()["revision"] == "good789"
    });
    next_second();
    put(moto, &bucket, "prod/services/web.yaml", &service(4));
    poll(
        Duration::from_secs(30),
        "the incomplete upload is rejected",
        || {
            ctl.status()["rejected"]["revision"]
                .as_str()
                .is_some_and(|r| r.starts_with("good789+incomplete"))
        },
    );
    ctl.loops(3);
    assert_eq!(ctl.status()["revision"], "good789");
    assert_eq!(
        describe(moto, &cluster, "web").desired_count(),
        2,
        "nothing from an incomplete set is acted on"
    );

    // The upload finishes: REVISION written last.
    put(moto, &bucket, "prod/REVISION", "done000\n");
    poll(Duration::from_secs(30), "done000 is reconciled", || {
        ctl.status()["revision"] == "done000"
            && describe(moto, &cluster, "web").desired_count() == 4
    });

    let mut got = Vec::new();
    operator_messages(moto, &queue, &mut got);
    let subjects: Vec<String> = got
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    let rejections: Vec<&String> = subjects.iter().filter(|s| s.contains("rejected")).collect();
    assert_eq!(
        rejections.len(),
        2,
        "one per rejected revision: {subjects:#?}"
    );
    let bodies: Vec<String> = got.iter().map(|m| m["Message"].to_string()).collect();
    assert!(bodies.iter().any(|b| b.contains("bad456")), "{bodies:#?}");
    assert!(
        bodies.iter().any(|b| b.contains("good789+incomplete")),
        "{bodies:#?}"
    );
    let exit = ctl.terminate();
    assert!(exit.success(), "{exit:?}");
}
