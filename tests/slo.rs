//! SLOs on moto: metric data an application puts, read back with
//! GetMetricData, pages and RESOLVED messages as an SQS subscriber receives
//! them, the call count for 20 SLOs, the heartbeat alarm; and a percentile
//! indicator against a recorded response (moto answers percentiles with a 500).

mod support;

use std::time::Duration;

use support::controller::Controller;
use support::recorded::Recorded;
use support::{Moto, block_on, docs, path_str, platform, poll, unique, write_docs};

fn event(m: &serde_json::Value) -> &str {
    m["MessageAttributes"]["event"]["Value"]
        .as_str()
        .unwrap_or_default()
}

fn subject(m: &serde_json::Value) -> &str {
    m["Subject"].as_str().unwrap_or_default()
}

/// An availability SLO on `web`: bad over total, one-minute sums, dimension `App=<app>`.
fn availability(name: &str, app: &str, page: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {{name: {name}}}\nspec:\n  serviceRef: web\n  objective: 99.9\n  indicator:\n    ratio:\n      bad: {{namespace: Test/Slo, name: Errors, dimensions: {{App: {app}}}, statistic: Sum, period: 60}}\n      total: {{namespace: Test/Slo, name: Requests, dimensions: {{App: {app}}}, statistic: Sum, period: 60}}\n  alerting: {{page: {page}}}\n"
    )
}

#[test]
fn a_fast_burn_pages_once_names_the_drift_it_saw_and_resolves_once() {
    let moto = Moto::shared();
    let cluster = unique("slo");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let (url, arn) = moto.queue();
    let topic = unique("oncall");
    let app = unique("app");
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {topic}\n  subscriptions: [{{protocol: sqs, endpoint: \"{arn}\"}}]\n  events: [drift, slo]\n"
    );
    let service = docs::service("web", &cluster, &td)
        .desired_count(2)
        .fargate(moto.network())
        .build();
    let dir = write_docs(&[(
        "docs.yaml",
        format!(
            "{service}---\n{channel}---\n{}",
            availability("avail", &app, "oncall")
        ),
    )]);
    let ctl = Controller::start(
        moto,
        path_str(dir.path()),
        &unique("inst"),
        "1s",
        &["--slo-interval", "1s"],
        &[],
    );
    ctl.loops(2);
    // Someone scales the service by hand: corrected and reported.
    support::scale_by_hand(moto, &cluster, "web", 7);
    let mut got = Vec::new();
    poll(Duration::from_secs(30), "the drift report arrives", || {
        got.extend(moto.receive(&url));
        got.iter().any(|m| event(m) == "drift")
    });

    // An hour of 100 requests a minute; half of them fail in the last 10 minutes.
    let dims = [("App", app.as_str())];
    let total: Vec<(i64, f64)> = (0..60).map(|m| (m, 100.0)).collect();
    let bad: Vec<(i64, f64)> = (0..10).map(|m| (m, 50.0)).collect();
    moto.put_metric("Test/Slo", "Requests", &dims, &total);
    moto.put_metric("Test/Slo", "Errors", &dims, &bad);
    poll(Duration::from_secs(30), "the page arrives", || {
        got.extend(moto.receive(&url));
        got.iter().any(|m| event(m) == "slo")
    });
    // More evaluations while it burns: still one page.
    let evaluations = ctl.status()["sloEvaluations"].as_u64().expect("count");
    poll(Duration::from_secs(30), "three more evaluations", || {
        ctl.status()["sloEvaluations"].as_u64() >= Some(evaluations + 3)
    });
    got.extend(moto.receive(&url));
    let pages: Vec<&serde_json::Value> = got.iter().filter(|m| event(m) == "slo").collect();
    assert_eq!(pages.len(), 1, "exactly one page: {pages:#?}");
    let page = pages[0];
    assert!(
        subject(page).starts_with("[PAGE] SLO avail burning ") && subject(page).contains("(1h/5m)"),
        "{page}"
    );
    assert_eq!(page["MessageAttributes"]["severity"]["Value"], "page");
    let body: serde_json::Value =
        serde_json::from_str(page["Message"].as_str().expect("message")).expect("json page");
    assert_eq!(body["schema"], "ecs-operator/slo-page/v1");
    assert_eq!(body["state"], "firing");
    assert_eq!(body["service"], "web");
    let one_hour = body["burnRates"]
        .as_array()
        .expect("burn rates")
        .iter()
        .find(|w| w["window"] == "1h")
        .and_then(|w| w["burnRate"].as_f64())
        .expect("1h burn rate");
    // 500 bad of 6,000 requests against a 0.1% budget.
    assert!((one_hour - 83.3).abs() < 10.0, "{body:#}");
    let drift = body["drift"].as_array().expect("drift");
    assert!(
        drift
            .iter()
            .any(|d| d["resource"] == "Service/web" && d["field"] == "desiredCount"),
        "the page names the drift on its service: {body:#}"
    );
    let status = ctl.status();
    assert_eq!(status["slos"][0]["alerts"]["page"]["state"], "firing");

    // Traffic recovers: a million good requests in the last two minutes.
    moto.put_metric(
        "Test/Slo",
        "Requests",
        &dims,
        &[(0, 1_000_000.0), (1, 1_000_000.0)],
    );
    poll(
        Duration::from_secs(30),
        "the RESOLVED message arrives",
        || {
            got.extend(moto.receive(&url));
            got.iter()
                .any(|m| event(m) == "slo" && subject(m).starts_with("[RESOLVED]"))
        },
    );
    let evaluations = ctl.status()["sloEvaluations"].as_u64().expect("count");
    poll(Duration::from_secs(30), "three more evaluations", || {
        ctl.status()["sloEvaluations"].as_u64() >= Some(evaluations + 3)
    });
    got.extend(moto.receive(&url));
    let slo: Vec<&str> = got
        .iter()
        .filter(|m| event(m) == "slo")
        .map(subject)
        .collect();
    assert_eq!(slo.len(), 2, "one page and one RESOLVED: {slo:#?}");
    assert!(slo[1].starts_with("[RESOLVED] SLO avail page"), "{slo:?}");
    assert_eq!(ctl.status()["slos"][0]["alerts"]["page"]["state"], "ok");
}

#[test]
fn twenty_slos_cost_the_fewest_get_metric_data_calls_the_limits_allow() {
    let moto = Moto::shared();
    let app = unique("twenty");
    let service = docs::service("web", "c", "t").build();
    let slos: String = (0..20)
        .map(|i| {
            format!(
                "---\n{}",
                availability(&format!("avail-{i}"), &format!("{app}-{i}"), "oncall")
            )
        })
        .collect();
    let channel = "---\napiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: oncall}\nspec: {topicName: oncall}\n";
    let dir = write_docs(&[("docs.yaml", format!("{service}{slos}{channel}"))]);
    // One of them sees 2 errors in 1,000 requests over the last 10 minutes.
    let dims = [("App", format!("{app}-7"))];
    let dims: Vec<(&str, &str)> = dims.iter().map(|(k, v)| (*k, v.as_str())).collect();
    moto.put_metric(
        "Test/Slo",
        "Requests",
        &dims,
        &(0..10).map(|m| (m, 100.0)).collect::<Vec<_>>(),
    );
    moto.put_metric("Test/Slo", "Errors", &dims, &[(3, 2.0)]);
    let run = moto.operator(&["slo", "-f", path_str(dir.path()), "--output", "json"]);
    run.expect_code(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    // 40 queries: one call for the fine range (6 h of minutes) and one for the coarse (30 days of hours).
    assert_eq!(out["getMetricDataCalls"], 2, "{}", run.stdout);
    let slos = out["slos"].as_array().expect("slos");
    assert_eq!(slos.len(), 20);
    let seven = slos
        .iter()
        .find(|s| s["name"] == "avail-7")
        .expect("avail-7");
    let one_hour = seven["burnRates"]["1h"].as_f64().expect("1h burn rate");
    assert!((one_hour - 2.0).abs() < 1e-6, "{seven:#}");
    assert!(
        slos[0]["burnRates"]["1h"].is_null(),
        "no traffic, no burn rate"
    );
    let text = moto.operator(&["slo", "-f", path_str(dir.path())]);
    text.expect_code(0);
    assert!(
        text.stdout
            .contains("ServiceLevelObjective/avail-7 (99.9% over 30d, Service/web)")
            && text.stdout.contains("20 SLOs at ")
            && text.stdout.contains("; 2 GetMetricData calls"),
        "{}",
        text.stdout
    );
}

#[test]
fn the_controller_owns_a_heartbeat_alarm_that_pages_the_operator_channels() {
    let moto = Moto::shared();
    let topic = unique("ops");
    let instance = unique("beat");
    let docs = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: ops}}\nspec: {{topicName: {topic}, events: [operator]}}\n---\napiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: team}}\nspec: {{topicName: {topic}-team, events: [drift]}}\n"
    );
    let dir = write_docs(&[("docs.yaml", docs)]);
    // The platform team's topic from the deploy template, besides the channel.
    let platform = format!("arn:aws:sns:us-east-1:123456789012:{}", unique("platform"));
    let ctl = Controller::start(
        moto,
        path_str(dir.path()),
        &instance,
        "1s",
        &["--heartbeat-topic", &platform],
        &[],
    );
    ctl.loops(3);
    let name = format!("ecs-operator-{instance}-heartbeat");
    let out = block_on(
        moto.cloudwatch()
            .describe_alarms()
            .alarm_names(&name)
            .send(),
    )
    .expect("describe");
    let alarm = &out.metric_alarms()[0];
    assert_eq!(alarm.namespace(), Some("ECSOperator"));
    assert_eq!(alarm.metric_name(), Some("Heartbeat"));
    assert_eq!(alarm.dimensions()[0].value(), Some(instance.as_str()));
    assert_eq!(alarm.treat_missing_data(), Some("breaching"));
    assert_eq!(alarm.threshold(), Some(1.0));
    assert_eq!(
        alarm.comparison_operator().map(|c| c.as_str()),
        Some("LessThanThreshold")
    );
    assert_eq!(
        (alarm.period(), alarm.evaluation_periods()),
        (Some(60), Some(5))
    );
    // Only the channel that takes operator events is paged, and --heartbeat-topic.
    let ops = format!("arn:aws:sns:us-east-1:123456789012:{topic}");
    let want = [ops, platform];
    assert_eq!(alarm.alarm_actions(), want);
    assert_eq!(alarm.ok_actions(), want);
    // The heartbeat itself: a data point a loop.
    let now = jiff::Timestamp::now().as_second();
    let data = block_on(
        moto.cloudwatch()
            .get_metric_data()
            .metric_data_queries(
                aws_sdk_cloudwatch::types::MetricDataQuery::builder()
                    .id("beat")
                    .metric_stat(
                        aws_sdk_cloudwatch::types::MetricStat::builder()
                            .metric(
                                aws_sdk_cloudwatch::types::Metric::builder()
                                    .namespace("ECSOperator")
                                    .metric_name("Heartbeat")
                                    .dimensions(
                                        aws_sdk_cloudwatch::types::Dimension::builder()
                                            .name("Instance")
                                            .value(&instance)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .period(3600)
                            .stat("Sum")
                            .build(),
                    )
                    .build(),
            )
            .start_time(aws_smithy_types::DateTime::from_secs(now - 1800))
            .end_time(aws_smithy_types::DateTime::from_secs(now + 1800))
            .send(),
    )
    .expect("heartbeat data");
    let beats: f64 = data.metric_data_results()[0].values().iter().sum();
    assert!(beats >= 3.0, "{beats} heartbeats after 3 loops");
    // A converged estate: the alarm is not rewritten every loop.
    let writes = ctl.status()["lastLoop"]["writes"].as_u64();
    assert_eq!(writes, Some(0));
}

/// A GetMetricData answer as CloudWatch sends it for a p95 query.
fn recorded_p95(ids: &[&str], start: i64, values: &[f64]) -> String {
    let members: String = ids
        .iter()
        .map(|id| {
            let stamps: String = (0..values.len())
                .map(|i| {
                    let t = jiff::Timestamp::from_second(start + i as i64 * 60).expect("valid");
                    format!("<member>{}</member>", t.strftime("%Y-%m-%dT%H:%M:%SZ"))
                })
                .collect();
            let vals: String = values.iter().map(|v| format!("<member>{v}</member>")).collect();
            format!(
                "<member><Id>{id}</Id><Label>TargetResponseTime</Label><StatusCode>Complete</StatusCode><Timestamps>{stamps}</Timestamps><Values>{vals}</Values></member>"
            )
        })
        .collect();
    format!(
        "<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><GetMetricDataResult><MetricDataResults>{members}</MetricDataResults><Messages/></GetMetricDataResult><ResponseMetadata><RequestId>5b1c1a3e-7a4e-4a0f-9e2c-1d2b3c4d5e6f</RequestId></ResponseMetadata></GetMetricDataResponse>"
    )
}

#[test]
fn a_p95_latency_slo_counts_slow_minutes_from_a_recorded_response() {
    // p95 of the last 60 minutes up to 12:00: 12 of them above 0.5 s.
    let at = "2026-12-01T12:00:30Z";
    let start = "2026-12-01T11:01:00Z"
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_second();
    let values: Vec<f64> = (0..60).map(|i| if i >= 48 { 0.8 } else { 0.3 }).collect();
    let server = Recorded::serve(recorded_p95(&["f0_value"], start, &values));
    let slo = "apiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: api-latency}\nspec:\n  objective: 99\n  window: 1d\n  indicator:\n    threshold:\n      metric: {namespace: AWS/ApplicationELB, name: TargetResponseTime, dimensions: {LoadBalancer: app/x/1}, extendedStatistic: p95, period: 60}\n      max: 0.5\n  alerting:\n    burnRates: [{severity: page, longWindow: 1h, shortWindow: 5m, factor: 14.4}]\n";
    let dir = write_docs(&[("slo.yaml", slo.to_owned())]);
    let moto = Moto::shared();
    let run = moto
        .operator_command(&[
            "slo",
            "-f",
            path_str(dir.path()),
            "--at",
            at,
            "--output",
            "json",
        ])
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .output()
        .expect("slo runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let e = &out["slos"][0];
    // 12 slow of 60 periods against a 1% budget: 20x; the last 5 minutes all slow: 100x.
    let one_hour = e["burnRates"]["1h"].as_f64().expect("1h");
    assert!((one_hour - 20.0).abs() < 1e-6, "{e:#}");
    assert!((e["burnRates"]["5m"].as_f64().expect("5m") - 100.0).abs() < 1e-6);
    assert_eq!(e["rules"][0]["holds"], true);
    // Fine and coarse ranges: one call each.
    assert_eq!(server.requests(), 2);
}
