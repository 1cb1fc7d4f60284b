//! Two `run --lease-table` controllers against one moto: only the lease holder
//! writes, the other serves `/status` as `standby`; a killed leader is
//! replaced within the lease duration plus one interval, a stopped one
//! (SIGTERM releases the lease) at the standby's next try.

mod support;

use std::time::{Duration, Instant};

use support::controller::Controller;
use support::{Moto, describe, docs, path_str, platform, poll, unique, write_docs};

const LEASE: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_secs(1);

fn writes_sent(ctl: &Controller) -> usize {
    ctl.logs()
        .iter()
        .filter(|l| l["message"] == "write sent")
        .count()
}

fn role(ctl: &Controller) -> serde_json::Value {
    ctl.status()["role"]["role"].clone()
}

#[test]
fn only_the_lease_holder_writes_and_a_killed_leader_is_replaced() {
    let moto = Moto::shared();
    let cluster = unique("lease");
    let td = unique("web");
    platform(moto, &cluster, &[&td]);
    let table = moto.lease_table();
    let service = docs::service("web", &cluster, &td)
        .desired_count(2)
        .fargate(moto.network())
        .build();
    let dir = write_docs(&[("web.yaml", service)]);
    let instance = unique("inst");
    let args = [
        "--lease-table",
        table.as_str(),
        "--lease-duration",
        "10s",
        "--lease-renew",
        "1s",
    ];
    let first = Controller::start(moto, path_str(dir.path()), &instance, "1s", &args, &[]);
    poll(
        Duration::from_secs(30),
        "the first controller leads",
        || role(&first) == "leader",
    );
    // Started after the first leads: moto's conditional update is not atomic.
    let second = Controller::start(moto, path_str(dir.path()), &instance, "1s", &args, &[]);
    poll(
        Duration::from_secs(30),
        "the second is standby and names the holder",
        || {
            let status = second.status();
            status["role"]["role"] == "standby"
                && status["role"]["holder"].is_string()
                && status["lastLoop"].is_object()
        },
    );
    poll(
        Duration::from_secs(30),
        "the leader created the service",
        || first.status()["resources"]["Service/web"]["synced"] == true,
    );

    // Drift: the leader corrects it, the standby only sees it.
    support::scale_by_hand(moto, &cluster, "web", 5);
    poll(Duration::from_secs(30), "the drift is corrected", || {
        describe(moto, &cluster, "web").desired_count() == 2
    });
    second.loops(2);
    assert!(writes_sent(&first) >= 2, "the leader wrote");
    assert_eq!(writes_sent(&second), 0, "the standby never writes");

    // The leader dies without releasing: the standby takes over once the lease expires.
    let killed = Instant::now();
    first.kill();
    poll(Duration::from_secs(30), "the standby leads", || {
        role(&second) == "leader"
    });
    let took = killed.elapsed();
    eprintln!("took over {took:?} after SIGKILL");
    // The lease expires, the standby's next try (one renew period, the same
    // 1 s as the interval here) takes it, and the take-over wakes its loop at
    // once: the lease + one interval, and a second for moto and the polling.
    assert!(
        took <= LEASE + INTERVAL * 2,
        "took over {took:?} after the kill (lease {LEASE:?}, interval {INTERVAL:?})"
    );
    support::scale_by_hand(moto, &cluster, "web", 6);
    poll(
        Duration::from_secs(30),
        "the new leader corrects drift",
        || describe(moto, &cluster, "web").desired_count() == 2,
    );
    assert!(writes_sent(&second) >= 1);

    // SIGTERM releases the lease: a standby takes over at its next try, long
    // before the lease would have expired.
    let third = Controller::start(moto, path_str(dir.path()), &instance, "1s", &args, &[]);
    poll(Duration::from_secs(30), "the third is standby", || {
        role(&third) == "standby" && third.status()["role"]["holder"].is_string()
    });
    let stopped = Instant::now();
    let exit = second.terminate();
    assert!(exit.success(), "{exit:?}");
    poll(Duration::from_secs(30), "the third leads", || {
        role(&third) == "leader"
    });
    let took = stopped.elapsed();
    eprintln!("took over {took:?} after SIGTERM");
    assert!(
        took < LEASE / 2,
        "took over {took:?} after a SIGTERM: the lease ({LEASE:?}) was not released"
    );
    let exit = third.terminate();
    assert!(exit.success(), "{exit:?}");
}
