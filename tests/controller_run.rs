//! `run` against moto: endpoints, drift correction within two intervals, a new
//! revision picked up at once, last known good, dry-run, clean SIGTERM.

mod support;

use std::time::{Duration, Instant};

use support::controller::Controller;
use support::{Moto, block_on, docs, http, http_get, path_str, platform, poll, unique, write_docs};

fn desired_count(moto: &Moto, cluster: &str) -> Option<i32> {
    let out = block_on(
        moto.ecs()
            .describe_services()
            .cluster(cluster)
            .services("web")
            .send(),
    )
    .ok()?;
    out.services()
        .first()
        .filter(|s| s.status() == Some("ACTIVE"))
        .map(|s| s.desired_count())
}

fn scale_by_hand(moto: &Moto, cluster: &str, n: i32) {
    block_on(
        moto.ecs()
            .update_service()
            .cluster(cluster)
            .service("web")
            .desired_count(n)
            .send(),
    )
    .expect("update");
}

#[test]
fn run_serves_its_endpoints_corrects_drift_follows_new_revisions_and_stops_cleanly() {
    let moto = Moto::shared();
    let cluster = unique("run");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let doc = |n: u32| {
        docs::service("web", &cluster, &td)
            .desired_count(n)
            .fargate(net)
            .field("deployment: {minimumHealthyPercent: 100}\ntags: {team: web}")
            .build()
    };
    let dir = write_docs(&[("web.yaml", doc(2))]);
    let instance = unique("inst");
    let ctl = Controller::start(moto, path_str(dir.path()), &instance, "2s", &[], &[]);
    let port = ctl.port;

    poll(Duration::from_secs(20), "the service is created", || {
        desired_count(moto, &cluster) == Some(2)
    });
    poll(Duration::from_secs(20), "/readyz is 200", || {
        http_get(port, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
    });

    // Drift by hand in several managed fields is corrected within two intervals (2 s each).
    let arn = block_on(
        moto.ecs()
            .describe_services()
            .cluster(&cluster)
            .services("web")
            .send(),
    )
    .expect("describe")
    .services()[0]
        .service_arn()
        .expect("arn")
        .to_owned();
    block_on(async {
        let ecs = moto.ecs();
        ecs.update_service()
            .cluster(&cluster)
            .service("web")
            .desired_count(9)
            .capacity_provider_strategy(support::spot_strategy())
            .deployment_configuration(support::min_healthy_zero())
            .send()
            .await
            .expect("update");
        ecs.tag_resource()
            .resource_arn(&arn)
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key("team")
                    .value("someone-else")
                    .build(),
            )
            .send()
            .await
            .expect("tag");
    });
    let drifted = Instant::now();
    poll(
        Duration::from_secs(10),
        "every drifted field is corrected",
        || {
            let Ok(out) = block_on(
                moto.ecs()
                    .describe_services()
                    .cluster(&cluster)
                    .services("web")
                    .include(aws_sdk_ecs::types::ServiceField::Tags)
                    .send(),
            ) else {
                return false;
            };
            let s = &out.services()[0];
            s.desired_count() == 2
                && s.capacity_provider_strategy().is_empty()
                && s.deployment_configuration()
                    .and_then(|d| d.minimum_healthy_percent())
                    == Some(100)
                && s.tags()
                    .iter()
                    .any(|t| t.key() == Some("team") && t.value() == Some("web"))
        },
    );
    assert!(
        drifted.elapsed() <= Duration::from_secs(5),
        "corrected after {:?}",
        drifted.elapsed()
    );

    poll(
        Duration::from_secs(10),
        "/status shows Service/web synced",
        || {
            let s = ctl.status();
            s["resources"]["Service/web"]["synced"] == true
                && s["resources"]["Service/web"]["verifiedAt"].is_string()
        },
    );
    let s = ctl.status();
    assert_eq!(s["instance"], instance.as_str());
    assert!(s["revision"].is_string());

    let metrics = http_get(port, "/metrics").expect("metrics");
    assert!(
        metrics.contains("ecs_operator_aws_api_calls_total{"),
        "{metrics}"
    );
    assert!(metrics.contains("operation=\"UpdateService\""), "{metrics}");
    assert!(metrics.contains("ecs_operator_loops_total"), "{metrics}");
    assert!(http(port, "POST", "/sync").is_some_and(|r| r.starts_with("HTTP/1.1 202")));

    // A new revision is picked up without waiting for the interval.
    std::fs::write(dir.path().join("web.yaml"), doc(3)).expect("edit");
    poll(
        Duration::from_secs(10),
        "the new revision is applied",
        || desired_count(moto, &cluster) == Some(3),
    );

    // An invalid revision is rejected; the last good one keeps being reconciled.
    std::fs::write(
        dir.path().join("web.yaml"),
        format!("{}  desiredCnt: 4\n", doc(4)),
    )
    .expect("break");
    poll(
        Duration::from_secs(10),
        "/status shows the rejected revision",
        || {
            ctl.status()["rejected"]["errors"][0]
                .as_str()
                .is_some_and(|e| e.contains("unknown field `desiredCnt`"))
        },
    );
    scale_by_hand(moto, &cluster, 8);
    poll(
        Duration::from_secs(10),
        "drift is still corrected to the last good revision",
        || desired_count(moto, &cluster) == Some(3),
    );

    let exit = ctl.terminate();
    assert!(exit.success(), "exit status {exit:?}");
}

#[test]
fn run_with_dry_run_reports_drift_and_writes_nothing() {
    let moto = Moto::shared();
    let cluster = unique("dry");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let dir = write_docs(&[(
        "web.yaml",
        docs::service("web", &cluster, &td)
            .desired_count(2)
            .fargate(net)
            .build(),
    )]);
    let instance = unique("inst");
    moto.operator(&["apply", "-f", path_str(dir.path()), "--instance", &instance])
        .expect_code(0);
    scale_by_hand(moto, &cluster, 5);

    let ctl = Controller::start(
        moto,
        path_str(dir.path()),
        &instance,
        "2s",
        &["--dry-run"],
        &[],
    );
    poll(Duration::from_secs(20), "/status shows the drift", || {
        let s = ctl.status();
        let web = &s["resources"]["Service/web"];
        web["synced"] == false
            && web["drift"][0]["field"] == "desiredCount"
            && web["driftedSince"].is_string()
    });
    // A second loop has run (the drift is still reported) and nothing was written.
    let first_loop = ctl.status()["lastLoop"]["finishedAt"].clone();
    poll(Duration::from_secs(10), "another loop finishes", || {
        ctl.status()["lastLoop"]["finishedAt"] != first_loop
    });
    assert_eq!(desired_count(moto, &cluster), Some(5));
    assert_eq!(ctl.status()["dryRun"], true);
    // Logs are JSON lines with resource, action and revision on drift.
    let logs = ctl.logs();
    let drift = logs
        .iter()
        .find(|l| l["message"] == "drift")
        .expect("a drift log line");
    assert_eq!(drift["resource"], "Service/web");
    assert_eq!(drift["action"], "update");
    assert!(drift["revision"].is_string());
    assert!(
        !logs.iter().any(|l| l["message"] == "write sent"),
        "dry-run wrote"
    );
    assert!(ctl.terminate().success());
}
