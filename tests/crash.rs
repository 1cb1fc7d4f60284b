//! Crash consistency: a controller killed with SIGKILL at arbitrary moments of
//! a converging run, and started again each time, converges and never reports
//! the same drift twice (its memory is the `--state-file`, written before a
//! report is published).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::controller::Controller;
use support::{Moto, describe, docs, path_str, platform, poll, unique, write_docs};

const KILLS: usize = 10;

#[test]
fn ten_sigkills_during_a_converging_run_converge_without_duplicate_reports() {
    let moto = Moto::shared();
    let cluster = unique("crash");
    let td = unique("app");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let (queue, queue_arn) = moto.queue();
    let instance = unique("inst");
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {}\n  subscriptions: [{{protocol: sqs, endpoint: \"{queue_arn}\"}}]\n  events: [drift]\n",
        unique("oncall")
    );
    let service = |name: &str| {
        docs::service(name, &cluster, &td)
            .desired_count(2)
            .fargate(net)
            .build()
    };
    let existing: Vec<String> = (0..6).map(|i| format!("old{i}")).collect();
    let added: Vec<String> = (0..6).map(|i| format!("new{i}")).collect();

    // The estate before the run: six services in sync, then drifted by hand.
    let before = write_docs(&[(
        "estate.yaml",
        existing
            .iter()
            .map(|n| service(n))
            .chain([channel.clone()])
            .collect::<Vec<_>>()
            .join("---\n"),
    )]);
    moto.operator(&[
        "apply",
        "-f",
        path_str(before.path()),
        "--instance",
        &instance,
    ])
    .expect_code(0);
    for name in &existing {
        support::scale_by_hand(moto, &cluster, name, 5);
    }

    // The run: correct the six, create six more.
    let dir = write_docs(&[(
        "estate.yaml",
        existing
            .iter()
            .chain(&added)
            .map(|n| service(n))
            .chain([channel])
            .collect::<Vec<_>>()
            .join("---\n"),
    )]);
    let state = tempfile::tempdir().expect("state dir");
    let state_file = state.path().join("memory.json");
    let state_arg = state_file.display().to_string();
    let extra = ["--state-file", state_arg.as_str()];
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    eprintln!("kill moments from seed {seed}");
    for _ in 0..KILLS {
        let ctl = Controller::start(moto, path_str(dir.path()), &instance, "1s", &extra, &[]);
        // The moment is the point of the test: anywhere in the first loops.
        std::thread::sleep(Duration::from_millis(rng.u64(0..2500)));
        ctl.kill();
    }

    let ctl = Controller::start(moto, path_str(dir.path()), &instance, "1s", &extra, &[]);
    poll(Duration::from_secs(90), "every resource is in sync", || {
        let status = ctl.status();
        let resources = status["resources"].as_object().cloned().unwrap_or_default();
        let unsynced: Vec<_> = resources
            .iter()
            .filter(|(_, r)| r["synced"] != true)
            .collect();
        // Shown only when the test fails (the harness captures it).
        eprintln!("{} resources, not in sync: {unsynced:?}", resources.len());
        // The services, the channel, and the operator's heartbeat alarm.
        resources.len() == existing.len() + added.len() + 2 && unsynced.is_empty()
    });
    ctl.loops(2);
    for name in existing.iter().chain(&added) {
        assert_eq!(describe(moto, &cluster, name).desired_count(), 2, "{name}");
    }

    // Every drift item reported, by resource and field: never twice.
    let mut reported: BTreeMap<String, usize> = BTreeMap::new();
    for message in moto.receive(&queue) {
        let report: serde_json::Value =
            serde_json::from_str(message["Message"].as_str().expect("message")).expect("report");
        for item in report["items"].as_array().into_iter().flatten() {
            let key = format!("{} {}", item["resource"], item["field"]);
            *reported.entry(key).or_default() += 1;
        }
    }
    let duplicated: Vec<_> = reported.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "drift reported more than once (seed {seed}): {duplicated:?}; all: {reported:?}"
    );
    // Creating services is a rollout, not drift: only the six corrections may appear.
    assert!(
        reported
            .keys()
            .all(|k| k.contains("Service/old") && k.contains("desiredCount")),
        "{reported:?}"
    );
    let exit = ctl.terminate();
    assert!(exit.success(), "{exit:?}");
}
