//! The controller's loop on the in-memory AWS: regressions found by the fault
//! suite that need the whole loop (observe, plan, apply, notify) to show.

#[path = "support/fakes.rs"]
mod fakes;

use std::sync::Arc;
use std::time::Duration;

use ecs_operator::aws::ErrorKind;
use ecs_operator::controller::source::DesiredSource;
use ecs_operator::controller::{self, RunOptions, Shared};
use ecs_operator::metrics::Metrics;
use ecs_operator::plan::PlanOptions;
use fakes::poll;

const DOCS: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec:\n  cluster: prod\n  taskDefinition: app\n  desiredCount: 1\n---\napiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: oncall}\nspec: {topicName: oncall, events: [drift]}\n";

#[test]
fn drift_corrected_in_a_loop_that_could_not_list_the_topics_is_still_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("docs.yaml"), DOCS).expect("docs");
    let options = RunOptions {
        source: DesiredSource::Files(vec![dir.path().to_owned()]),
        state_file: None,
        interval: Duration::from_millis(100),
        slo_interval: Duration::from_secs(3600),
        dry_run: false,
        plan: PlanOptions {
            instance: "test".to_owned(),
            ..PlanOptions::default()
        },
    };
    let shared = Arc::new(Shared::new(Arc::new(Metrics::default()), &options));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let aws = Arc::new(fakes::fake());
    let (s, a) = (shared.clone(), aws.clone());
    let running = runtime.spawn(async move { controller::run(options, a, s).await });
    poll(Duration::from_secs(10), "the service runs", || {
        aws.ecs.service("prod", "web").is_some() && aws.sns.calls("CreateTopic") == 1
    });
    let listed = aws.sns.calls("ListTopics");
    poll(Duration::from_secs(10), "a loop knows the topic", || {
        aws.sns.calls("ListTopics") > listed + 1
    });
    // The next loops cannot list the topics; one of them corrects a hand-made change.
    for _ in 0..20 {
        aws.sns.fail_next("ListTopics", ErrorKind::AccessDenied);
    }
    aws.ecs.edit("prod", "web", |s| s.desired_count = 4);
    poll(Duration::from_secs(10), "the drift is corrected", || {
        aws.ecs
            .service("prod", "web")
            .is_some_and(|s| s.desired_count == 1)
    });
    poll(
        Duration::from_secs(10),
        "the correction is reported",
        || {
            aws.sns
                .published()
                .iter()
                .any(|m| m.attributes["event"] == "drift" && m.body.contains("\"corrected\""))
        },
    );
    shared.request_stop();
    let done =
        runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), running).await });
    assert!(matches!(done, Ok(Ok(()))));
}
