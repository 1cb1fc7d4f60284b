//! The SLO evaluator beside the reconcile loop, on the in-memory fakes: a
//! CloudWatch that never answers GetMetricData delays no loop and no stop;
//! a burning SLO pages through SNS.

#[path = "support/fakes.rs"]
mod fakes;

use std::sync::Arc;
use std::time::Duration;

use ecs_operator::aws::cloudwatch::{
    AlarmConfig, CloudWatchApi, MetricConfig, MetricQuery, ObservedAlarm, Series,
};
use ecs_operator::aws::fake::{FakeCloudWatch, FakeDiscovery, FakeEcs, FakeScaling, FakeSns};
use ecs_operator::aws::{AwsError, Clients};
use ecs_operator::controller::source::DesiredSource;
use ecs_operator::controller::{self, RunOptions, Shared};
use ecs_operator::metrics::Metrics;
use ecs_operator::plan::PlanOptions;
use fakes::poll;

/// The fake, except that GetMetricData hangs when `hang` is set.
struct SlowCloudWatch {
    inner: FakeCloudWatch,
    hang: bool,
}

impl CloudWatchApi for SlowCloudWatch {
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<ObservedAlarm>, AwsError> {
        self.inner.describe_alarms(names).await
    }
    async fn list_alarms(&self) -> Result<Vec<ObservedAlarm>, AwsError> {
        self.inner.list_alarms().await
    }
    async fn alarm_tags(
        &self,
        arn: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        self.inner.alarm_tags(arn).await
    }
    async fn put_alarm(
        &self,
        config: &AlarmConfig,
        keep: Option<&ObservedAlarm>,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.inner.put_alarm(config, keep, tags).await
    }
    async fn tag_alarm(
        &self,
        arn: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.inner.tag_alarm(arn, tags).await
    }
    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        self.inner.delete_alarms(names).await
    }
    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<std::collections::BTreeMap<String, Series>, AwsError> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        self.inner.metric_data(queries, start, end).await
    }
    async fn put_metric(
        &self,
        metric: &MetricConfig,
        value: f64,
        at: jiff::Timestamp,
    ) -> Result<(), AwsError> {
        self.inner.put_metric(metric, value, at).await
    }
}

type Aws = Clients<FakeEcs, FakeScaling, FakeDiscovery, FakeSns, SlowCloudWatch>;

const DOCS: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec:\n  cluster: prod\n  taskDefinition: app\n  network: {subnets: [subnet-1], securityGroups: [sg-1]}\n---\napiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: oncall}\nspec: {topicName: oncall}\n---\napiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: avail}\nspec:\n  serviceRef: web\n  objective: 99.9\n  indicator:\n    ratio:\n      bad: {namespace: App, name: Errors, statistic: Sum, period: 60}\n      total: {namespace: App, name: Requests, statistic: Sum, period: 60}\n  alerting: {page: oncall}\n";

struct Running {
    shared: Arc<Shared>,
    aws: Arc<Aws>,
    runtime: tokio::runtime::Runtime,
    controller: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Asks for a stop and waits for `run` to return, well inside ECS's 30 s stop timeout.
    fn stop(self) {
        self.shared.request_stop();
        let done = self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), self.controller).await
        });
        assert!(
            matches!(done, Ok(Ok(()))),
            "run returns within 10 s of a stop: {done:?}"
        );
    }
}

fn start(hang: bool, slo_interval: Duration) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("docs.yaml"), DOCS).expect("docs");
    let ecs = FakeEcs::new();
    ecs.add_cluster("prod").register("app");
    let cloudwatch = SlowCloudWatch {
        inner: FakeCloudWatch::new(),
        hang,
    };
    let now = jiff::Timestamp::now();
    let minute =
        |ago: i64| jiff::Timestamp::from_second(now.as_second() - ago * 60).expect("instant");
    let metric = |name: &str| MetricConfig {
        namespace: "App".to_owned(),
        name: name.to_owned(),
        dimensions: Default::default(),
        stat: "Sum".to_owned(),
        period: 60,
        unit: None,
    };
    let total: Vec<_> = (0..60).map(|m| (minute(m), 100.0)).collect();
    let bad: Vec<_> = (0..10).map(|m| (minute(m), 50.0)).collect();
    cloudwatch.inner.put_points(&metric("Requests"), &total);
    cloudwatch.inner.put_points(&metric("Errors"), &bad);
    let options = RunOptions {
        source: DesiredSource::Files(vec![dir.path().to_owned()]),
        state_file: None,
        interval: Duration::from_millis(100),
        slo_interval,
        dry_run: false,
        plan: PlanOptions {
            instance: "test".to_owned(),
            heartbeat: Some(1),
            ..PlanOptions::default()
        },
    };
    let shared = Arc::new(Shared::new(Arc::new(Metrics::default()), &options));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let aws = Arc::new(Clients {
        ecs,
        scaling: FakeScaling::new(),
        discovery: FakeDiscovery::new(),
        sns: FakeSns::new(),
        cloudwatch,
    });
    let (s, a) = (shared.clone(), aws.clone());
    let controller = runtime.spawn(async move { controller::run(options, a, s).await });
    Running {
        shared,
        aws,
        runtime,
        controller,
        _dir: dir,
    }
}

fn loops(shared: &Shared) -> u64 {
    shared
        .metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("ecs_operator_loops_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_get_metric_data_that_never_answers_delays_no_loop_and_no_stop() {
    // A minute's interval: the hanging read would hold a stop that long.
    let r = start(true, Duration::from_secs(60));
    poll(Duration::from_secs(20), "ten loops finish", || {
        loops(&r.shared) >= 10
    });
    assert!(
        r.aws.cloudwatch.inner.calls("PutMetricData") >= 10,
        "a heartbeat a loop"
    );
    assert!(
        r.aws
            .sns
            .published()
            .iter()
            .all(|m| m.attributes["event"] != "slo")
    );
    assert!(
        r.shared.status.read().expect("status").slos.is_empty(),
        "a read still waiting has evaluated nothing"
    );
    r.stop();
}

#[test]
fn a_burning_slo_pages_once_through_sns() {
    let r = start(false, Duration::from_millis(200));
    let (shared, aws) = (&r.shared, &r.aws);
    poll(Duration::from_secs(20), "the page is published", || {
        aws.sns
            .published()
            .iter()
            .any(|m| m.attributes["event"] == "slo")
    });
    let evaluated = shared.status.read().expect("status").slo_evaluations;
    poll(Duration::from_secs(20), "three more evaluations", || {
        shared.status.read().expect("status").slo_evaluations >= evaluated + 3
    });
    let pages: Vec<String> = aws
        .sns
        .published()
        .into_iter()
        .filter(|m| m.attributes["event"] == "slo")
        .map(|m| m.subject)
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(
        pages[0].starts_with("[PAGE] SLO avail burning"),
        "{pages:?}"
    );
    // Two reads an evaluation: the fine and the coarse range.
    let evaluations = shared.status.read().expect("status").slo_evaluations;
    let calls = aws.cloudwatch.inner.calls("GetMetricData");
    assert!(
        calls >= 2 * evaluations && calls <= 2 * (evaluations + 1),
        "{calls} calls for {evaluations} evaluations"
    );
    r.stop();
}
