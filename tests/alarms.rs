//! CloudWatch alarms on moto: create (single metric with serviceRef dimensions,
//! metric math), nothing written when nothing drifted, update, drift, prune.

mod support;

use support::{Moto, block_on, docs, path_str, platform, unique, write_docs};

fn cloudwatch(moto: &Moto) -> aws_sdk_cloudwatch::Client {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .http_client(ecs_operator::aws::http_client())
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

fn alarm(moto: &Moto, name: &str) -> Option<aws_sdk_cloudwatch::types::MetricAlarm> {
    let out =
        block_on(cloudwatch(moto).describe_alarms().alarm_names(name).send()).expect("describe");
    out.metric_alarms().first().cloned()
}

fn cpu_alarm(name: &str, threshold: u32) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {{name: {name}}}\nspec:\n  serviceRef: web\n  metric: {{namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 300}}\n  comparison: GreaterThanThreshold\n  threshold: {threshold}\n  evaluationPeriods: 3\n  notify: [oncall]\n"
    )
}

fn error_rate(name: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {{name: {name}}}\nspec:\n  metrics:\n    - {{id: errors, metric: {{namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, dimensions: {{LoadBalancer: app/web/1}}, statistic: Sum, period: 60}}, returnData: false}}\n    - {{id: requests, metric: {{namespace: AWS/ApplicationELB, name: RequestCount, dimensions: {{LoadBalancer: app/web/1}}, statistic: Sum, period: 60}}, returnData: false}}\n    - {{id: rate, expression: \"100 * errors / requests\", returnData: true}}\n  comparison: GreaterThanThreshold\n  threshold: 5\n  evaluationPeriods: 5\n  treatMissingData: notBreaching\n  notify: [oncall]\n"
    )
}

#[test]
fn alarms_are_created_left_alone_updated_corrected_and_pruned() {
    let moto = Moto::shared();
    let cluster = unique("alarm");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let instance = unique("inst");
    let topic = unique("oncall");
    let (cpu, rate) = (unique("web-cpu"), unique("web-5xx-rate"));
    let base = format!(
        "{}---\napiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec: {{topicName: {topic}}}\n",
        docs::service("web", &cluster, &td).fargate(net).build()
    );
    let v1 = write_docs(&[(
        "all.yaml",
        format!(
            "{base}---\n{}---\n{}",
            cpu_alarm(&cpu, 80),
            error_rate(&rate)
        ),
    )]);
    let files = path_str(v1.path());
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);

    let a = alarm(moto, &cpu).expect("cpu alarm");
    let dims: Vec<(String, String)> = a
        .dimensions()
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_owned(),
                d.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        dims.contains(&("ClusterName".to_owned(), cluster.clone())),
        "{dims:?}"
    );
    assert!(
        dims.contains(&("ServiceName".to_owned(), "web".to_owned())),
        "{dims:?}"
    );
    assert!(
        a.alarm_actions()
            .iter()
            .all(|t| t.ends_with(&format!(":{topic}")))
            && a.alarm_actions().len() == 1
    );
    let r = alarm(moto, &rate).expect("rate alarm");
    assert_eq!(r.metrics().len(), 3);
    assert_eq!(r.metrics()[2].expression(), Some("100 * errors / requests"));

    let again = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    again.expect_code(0);
    assert_eq!(
        again.writes(),
        0,
        "no PutMetricAlarm when nothing drifted: {}",
        again.stdout
    );

    // The document changes: one field updated.
    let v2 = write_docs(&[(
        "all.yaml",
        format!(
            "{base}---\n{}---\n{}",
            cpu_alarm(&cpu, 90),
            error_rate(&rate)
        ),
    )]);
    let plan = moto.operator(&["plan", "-f", path_str(v2.path()), "--instance", &instance]);
    assert!(
        plan.stdout.contains("threshold: 80.0 → 90.0"),
        "{}",
        plan.stdout
    );
    moto.operator(&["apply", "-f", path_str(v2.path()), "--instance", &instance])
        .expect_code(0);
    assert_eq!(alarm(moto, &cpu).and_then(|a| a.threshold()), Some(90.0));

    // Drift by hand: someone lowers the threshold.
    block_on(
        cloudwatch(moto)
            .put_metric_alarm()
            .alarm_name(&cpu)
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(300)
            .evaluation_periods(3)
            .threshold(10.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send(),
    )
    .expect("put by hand");
    let plan = moto.operator(&[
        "plan",
        "-f",
        path_str(v2.path()),
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(2);
    moto.operator(&["apply", "-f", path_str(v2.path()), "--instance", &instance])
        .expect_code(0);
    let a = alarm(moto, &cpu).expect("cpu alarm");
    assert_eq!(a.threshold(), Some(90.0));
    assert_eq!(a.dimensions().len(), 2);

    // The rate alarm's document is removed: orphaned, deleted with --prune.
    let v3 = write_docs(&[("all.yaml", format!("{base}---\n{}", cpu_alarm(&cpu, 90)))]);
    let plan = moto.operator(&["plan", "-f", path_str(v3.path()), "--instance", &instance]);
    assert!(
        plan.stdout.contains(&format!("! Alarm/{rate}")),
        "{}",
        plan.stdout
    );
    moto.operator(&[
        "apply",
        "-f",
        path_str(v3.path()),
        "--instance",
        &instance,
        "--prune",
    ])
    .expect_code(0);
    assert!(alarm(moto, &rate).is_none());
    assert!(alarm(moto, &cpu).is_some());
}
