//! The leader lease on a real DynamoDB API (moto): one leader at a time, a
//! release hands over at the standby's next attempt, and a killed leader is
//! replaced within the lease duration plus one renew period.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use ecs_operator::aws::call::RetryPolicy;
use ecs_operator::aws::dynamodb::{LeaseApi, SdkLease};
use ecs_operator::lease::{Lease, LeaseConfig, LeaseHandle, Role, maintain};
use ecs_operator::metrics::Metrics;
use support::{Moto, block_on, poll, unique};

const DURATION: Duration = Duration::from_secs(2);
const RENEW: Duration = Duration::from_millis(500);
/// moto's answer time on a busy machine, on top of the lease's own bound.
const SLACK: Duration = Duration::from_millis(700);

/// (holder, expires_at, version) as another client reads them.
fn item(moto: &Moto, table: &str, name: &str) -> (Option<String>, i64, u64) {
    let out = block_on(
        moto.dynamodb()
            .get_item()
            .table_name(table)
            .key("name", AttributeValue::S(name.to_owned()))
            .consistent_read(true)
            .send(),
    )
    .expect("get item");
    let item = out.item().expect("the lease item");
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
    };
    (
        item.get("holder").and_then(|h| h.as_s().ok()).cloned(),
        n("expires_at").unwrap_or_default(),
        n("version")
            .and_then(|v: i64| u64::try_from(v).ok())
            .unwrap_or_default(),
    )
}

fn lease(table: &str, name: &str, holder: &str) -> Lease {
    Lease::new(LeaseConfig {
        table: table.to_owned(),
        name: name.to_owned(),
        holder: holder.to_owned(),
        duration: DURATION,
        renew_every: RENEW,
    })
    .expect("valid lease")
}

fn client(moto: &Moto) -> (SdkLease, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    (
        SdkLease::new(&moto.sdk_config(), metrics.clone(), RetryPolicy::default()),
        metrics,
    )
}

fn wall_now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn tick(lease: &mut Lease, api: &SdkLease) -> Role {
    block_on(lease.tick(api, Instant::now(), wall_now_ms()))
}

#[test]
fn one_replica_leads_and_a_release_hands_the_lease_over_at_the_next_attempt() {
    let moto = Moto::shared();
    let table = moto.lease_table();
    let name = unique("prod");
    let (api, metrics) = client(moto);
    let (mut a, mut b) = (lease(&table, &name, "a"), lease(&table, &name, "b"));

    let role = tick(&mut a, &api);
    assert!(role.may_write(Instant::now()), "{role:?}");
    // The failed condition names the holder (ReturnValuesOnConditionCheckFailure=ALL_OLD).
    assert_eq!(
        tick(&mut b, &api),
        Role::Standby {
            holder: Some("a".to_owned())
        }
    );
    assert!(tick(&mut a, &api).may_write(Instant::now()), "a renews");
    let (holder, expires, version) = item(moto, &table, &name);
    assert_eq!((holder.as_deref(), version), (Some("a"), 2));
    assert!(expires > wall_now_ms() + 1_000, "{expires}");

    block_on(a.release(&api));
    assert!(!a.may_write(Instant::now()));
    assert_eq!(item(moto, &table, &name).0, None, "released");
    assert!(tick(&mut b, &api).may_write(Instant::now()), "b at once");
    assert_eq!(
        item(moto, &table, &name).2,
        3,
        "the version survives the release"
    );
    assert_eq!(
        tick(&mut a, &api),
        Role::Standby {
            holder: Some("b".to_owned())
        }
    );
    // Releasing a lease someone else holds is not an error, and changes nothing.
    block_on(api.release(&table, &name, "a")).expect("not an error");
    assert_eq!(item(moto, &table, &name).0.as_deref(), Some("b"));

    // Coordination, not changes to the estate: `apply`'s write count ignores them.
    assert_eq!(metrics.writes(), 0, "{:?}", metrics.call_counts());
    // A failed condition is an answer, not an error, in the metrics too.
    let text = metrics.encode();
    assert!(
        text.contains("operation=\"UpdateItem\",result=\"ok\"")
            || text.contains("result=\"ok\",service=\"dynamodb\""),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("dynamodb") && !l.contains("result=\"ok\"") && !l.starts_with('#')),
        "{text}"
    );
}

#[test]
fn acquire_on_a_missing_table_is_not_found() {
    let moto = Moto::shared();
    let (api, _) = client(moto);
    let e = block_on(api.acquire(
        &unique("absent"),
        "prod",
        "a",
        wall_now_ms() + 2_000,
        wall_now_ms(),
    ))
    .expect_err("no table");
    assert_eq!(e.kind, ecs_operator::aws::ErrorKind::NotFound, "{e}");
}

/// Two replicas running `maintain`, as `run --lease-table` does.
struct Replica {
    handle: LeaseHandle,
    task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn start(
    runtime: &tokio::runtime::Runtime,
    moto: &Moto,
    table: &str,
    name: &str,
    holder: &str,
) -> Replica {
    let lease = lease(table, name, holder);
    let handle = lease.handle();
    let (api, _) = client(moto);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = runtime.spawn(maintain(lease, api, async {
        let _ = stopped.await;
    }));
    Replica {
        handle,
        task,
        stop: Some(stop),
    }
}

/// Polls until `replicas[to]` may write, checking at each look that no two
/// may write at once; returns how long it took.
fn until_leader(replicas: &[Replica], to: usize, deadline: Duration, what: &str) -> Duration {
    let start = Instant::now();
    poll(deadline, what, || {
        let now = Instant::now();
        let writers = replicas.iter().filter(|r| r.handle.may_write(now)).count();
        assert!(writers <= 1, "two writers");
        replicas[to].handle.may_write(now)
    });
    start.elapsed()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `a` leads, then `b` starts and sees it: the order is fixed so the test does
/// not depend on moto settling two simultaneous first writes atomically.
fn leader_and_standby(
    runtime: &tokio::runtime::Runtime,
    moto: &Moto,
) -> ([Replica; 2], String, String) {
    let table = moto.lease_table();
    let name = unique("prod");
    let a = start(runtime, moto, &table, &name, "a");
    poll(Duration::from_secs(10), "a leads", || {
        a.handle.may_write(Instant::now())
    });
    let b = start(runtime, moto, &table, &name, "b");
    poll(Duration::from_secs(10), "b sees a lead", || {
        b.handle.role()
            == Some(Role::Standby {
                holder: Some("a".to_owned()),
            })
    });
    assert!(!b.handle.may_write(Instant::now()));
    ([a, b], table, name)
}

#[test]
fn a_killed_leader_is_replaced_within_the_duration_and_one_renew_period() {
    let moto = Moto::shared();
    let runtime = runtime();
    let (replicas, table, name) = leader_and_standby(&runtime, moto);
    // SIGKILL: the leader's loop is gone, nothing released.
    replicas[0].task.abort();
    let took = until_leader(&replicas, 1, DURATION + RENEW + SLACK, "b takes over");
    assert!(
        took > DURATION / 2,
        "not before the lease expired: {took:?}"
    );
    assert_eq!(item(moto, &table, &name).0.as_deref(), Some("b"));
}

#[test]
fn a_stopped_leader_releases_and_the_standby_takes_over_at_its_next_attempt() {
    let moto = Moto::shared();
    let runtime = runtime();
    let (mut replicas, table, name) = leader_and_standby(&runtime, moto);
    // SIGTERM: the controller's last write is done; the lease is released.
    let _ = replicas[0].stop.take().expect("running").send(());
    let took = until_leader(&replicas, 1, RENEW + SLACK, "b takes over");
    assert!(took < DURATION, "{took:?}");
    poll(Duration::from_secs(2), "a's loop ends", || {
        replicas[0].task.is_finished()
    });
    let (holder, _, version) = item(moto, &table, &name);
    assert_eq!(holder.as_deref(), Some("b"));
    assert!(version >= 2, "{version}");
}
