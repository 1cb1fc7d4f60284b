//! The lease against the in-memory table with explicit instants: acquire,
//! renew, take-over, release, and the safety property under failures and skew.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::*;
use crate::aws::ErrorKind;
use crate::aws::fake::{FakeLease, LeaseItem};

const TABLE: &str = "leases";
const NAME: &str = "prod";
/// 2026-01-01T00:00:00Z, in Unix ms.
const WALL: i64 = 1_767_225_600_000;
const SECOND: Duration = Duration::from_secs(1);

/// The fake answers at once: one poll finishes any of its calls.
fn ready<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the fake answers without waiting"),
    }
}

fn config(holder: &str, duration: Duration, renew_every: Duration) -> LeaseConfig {
    LeaseConfig {
        table: TABLE.to_owned(),
        name: NAME.to_owned(),
        holder: holder.to_owned(),
        duration,
        renew_every,
    }
}

fn lease(holder: &str) -> Lease {
    Lease::new(config(holder, DEFAULT_DURATION, DEFAULT_RENEW_EVERY)).expect("valid lease")
}

/// Two replicas' clients of one table.
fn replicas() -> (FakeLease, FakeLease) {
    let a = FakeLease::new();
    a.add_table(TABLE);
    let b = a.replica();
    (a, b)
}

/// `seconds` after `t0` on the monotonic clock and on every replica's wall clock.
struct Clock(Instant);

impl Clock {
    fn at(&self, seconds: f64) -> (Instant, i64) {
        let d = Duration::from_secs_f64(seconds);
        (self.0 + d, WALL + d.as_millis() as i64)
    }
}

fn tick(lease: &mut Lease, api: &FakeLease, (now, wall): (Instant, i64)) -> Role {
    ready(lease.tick(api, now, wall))
}

fn item(api: &FakeLease) -> LeaseItem {
    api.item(TABLE, NAME).expect("the lease item exists")
}

#[test]
fn the_write_deadline_is_three_quarters_of_the_duration_after_the_send() {
    let sent = Instant::now();
    assert_eq!(margin(DEFAULT_DURATION), 5 * SECOND);
    assert_eq!(write_deadline(sent, DEFAULT_DURATION), sent + 15 * SECOND);
    assert_eq!(expires_at_ms(WALL, DEFAULT_DURATION), WALL + 20_000);
}

#[test]
fn a_renew_period_that_one_failure_would_outrun_is_refused() {
    assert_eq!(config("a", 20 * SECOND, 5 * SECOND).validate(), Ok(()));
    assert_eq!(
        config("a", 2 * SECOND, Duration::from_millis(500)).validate(),
        Ok(())
    );
    assert_eq!(
        config("a", 20 * SECOND, Duration::from_millis(7_500)).validate(),
        Ok(())
    );
    let slow = config("a", 20 * SECOND, 8 * SECOND).validate();
    assert_eq!(
        slow,
        Err(InvalidLease::RenewTooSlow {
            renew_every: 8 * SECOND,
            duration: 20 * SECOND,
            max: Duration::from_millis(7_500),
        })
    );
    assert_eq!(
        config("a", 20 * SECOND, Duration::ZERO).validate(),
        Err(InvalidLease::Zero)
    );
    assert_eq!(
        config("", 20 * SECOND, 5 * SECOND).validate(),
        Err(InvalidLease::Empty("holder"))
    );
}

#[test]
fn the_holder_id_is_the_ecs_task_id_or_else_the_hostname_with_pid_and_random_suffix() {
    let uri = "http://169.254.170.2/v4/a8dcd10ea2a64fe2a4e9fc0e8e4f4a0b-3386458380";
    assert_eq!(
        holder_id(Some(uri), Some("ip-10-0-1-7\n"), 1, 0xbeef),
        "a8dcd10ea2a64fe2a4e9fc0e8e4f4a0b-3386458380-1-0000beef"
    );
    assert_eq!(
        holder_id(None, Some("ip-10-0-1-7\n"), 42, 7),
        "ip-10-0-1-7-42-00000007"
    );
    assert_eq!(holder_id(Some(""), None, 42, 7), "ecs-operator-42-00000007");
    assert_ne!(holder_from_environment(), holder_from_environment());
}

#[test]
fn a_failed_renew_keeps_the_deadline_and_standby_once_it_passed() {
    let t0 = Instant::now();
    let leader = Role::Leader {
        until: t0 + 15 * SECOND,
    };
    assert_eq!(
        next_role(&leader, None, t0 + 5 * SECOND, DEFAULT_DURATION),
        leader
    );
    assert_eq!(
        next_role(&leader, None, t0 + 15 * SECOND, DEFAULT_DURATION),
        Role::Standby { holder: None }
    );
    let held = Acquired::Held { version: 3 };
    assert_eq!(
        next_role(&leader, Some(&held), t0 + 5 * SECOND, DEFAULT_DURATION),
        Role::Leader {
            until: t0 + 20 * SECOND
        }
    );
    let standby = Role::Standby {
        holder: Some("b".to_owned()),
    };
    assert_eq!(next_role(&standby, None, t0, DEFAULT_DURATION), standby);
}

#[test]
fn the_first_replica_acquires_and_the_second_is_standby_naming_it() {
    let clock = Clock(Instant::now());
    let (api_a, api_b) = replicas();
    let (mut a, mut b) = (lease("a"), lease("b"));
    let role = tick(&mut a, &api_a, clock.at(0.0));
    assert_eq!(
        role,
        Role::Leader {
            until: clock.at(15.0).0
        }
    );
    assert!(a.may_write(clock.at(14.9).0));
    assert!(!a.may_write(clock.at(15.0).0));
    let role = tick(&mut b, &api_b, clock.at(1.0));
    assert_eq!(
        role,
        Role::Standby {
            holder: Some("a".to_owned())
        }
    );
    assert!(!b.may_write(clock.at(1.0).0));
    assert_eq!(
        item(&api_a),
        LeaseItem {
            holder: Some("a".to_owned()),
            expires_at_ms: WALL + 20_000,
            version: 1
        }
    );
}

#[test]
fn renewing_moves_the_deadline_and_keeps_the_lease() {
    let clock = Clock(Instant::now());
    let (api_a, api_b) = replicas();
    let (mut a, mut b) = (lease("a"), lease("b"));
    tick(&mut a, &api_a, clock.at(0.0));
    for t in [5.0, 10.0, 15.0, 20.0, 25.0] {
        let role = tick(&mut a, &api_a, clock.at(t));
        assert_eq!(
            role,
            Role::Leader {
                until: clock.at(t + 15.0).0
            }
        );
        // Past the first expiry: the renews kept it.
        let standby = tick(&mut b, &api_b, clock.at(t + 2.5));
        assert_eq!(
            standby,
            Role::Standby {
                holder: Some("a".to_owned())
            }
        );
    }
    assert!(a.may_write(clock.at(39.9).0));
    assert_eq!(item(&api_a).expires_at_ms, WALL + 45_000);
    assert_eq!(item(&api_a).version, 6, "one bump per acquire or renew");
}

#[test]
fn a_holder_that_cannot_renew_stops_writing_before_the_other_replica_can_take_over() {
    let clock = Clock(Instant::now());
    let (api_a, api_b) = replicas();
    let (mut a, mut b) = (lease("a"), lease("b"));
    tick(&mut a, &api_a, clock.at(0.0));
    for t in [5.0, 10.0] {
        api_a.fail_next("UpdateItem", ErrorKind::Transient);
        let role = tick(&mut a, &api_a, clock.at(t));
        assert_eq!(
            role,
            Role::Leader {
                until: clock.at(15.0).0
            },
            "a failed renew keeps the deadline"
        );
    }
    assert!(a.may_write(clock.at(14.999).0));
    assert!(!a.may_write(clock.at(15.0).0));
    api_a.fail_next("UpdateItem", ErrorKind::Throttled);
    assert_eq!(
        tick(&mut a, &api_a, clock.at(15.0)),
        Role::Standby { holder: None }
    );
    // The item still says a's until 20 s: b cannot take it while a may write,
    // nor for the margin after a stopped.
    assert!(item(&api_a).expires_at_ms > clock.at(15.0).1);
    for t in [14.999, 15.0, 19.999, 20.0] {
        let role = tick(&mut b, &api_b, clock.at(t));
        assert_eq!(
            role,
            Role::Standby {
                holder: Some("a".to_owned())
            },
            "at {t} s"
        );
    }
    let role = tick(&mut b, &api_b, clock.at(20.001));
    assert!(role.may_write(clock.at(20.001).0), "{role:?}");
    assert_eq!(api_a.calls("UpdateItem"), 4);
}

#[test]
fn a_standby_takes_over_an_expired_lease_with_a_higher_version() {
    let clock = Clock(Instant::now());
    let (api_a, api_b) = replicas();
    let (mut a, mut b) = (lease("a"), lease("b"));
    tick(&mut a, &api_a, clock.at(0.0));
    tick(&mut a, &api_a, clock.at(5.0));
    assert_eq!(item(&api_a).version, 2);
    // a is killed: no release. b tries every 5 s and wins after 25 s.
    for t in [10.0, 15.0, 20.0, 25.0] {
        assert_eq!(tick(&mut b, &api_b, clock.at(t)).label(), "standby", "{t}");
    }
    let role = tick(&mut b, &api_b, clock.at(25.001));
    assert_eq!(role.label(), "leader");
    assert_eq!(
        item(&api_b),
        LeaseItem {
            holder: Some("b".to_owned()),
            expires_at_ms: clock.at(45.001).1,
            version: 3
        }
    );
    // a comes back (a paused process): it learns it lost the lease.
    assert_eq!(
        tick(&mut a, &api_a, clock.at(26.0)),
        Role::Standby {
            holder: Some("b".to_owned())
        }
    );
    assert!(!a.may_write(clock.at(26.0).0));
}

#[test]
fn release_lets_the_other_replica_acquire_at_once_and_the_version_keeps_growing() {
    let clock = Clock(Instant::now());
    let (api_a, api_b) = replicas();
    let (mut a, mut b) = (lease("a"), lease("b"));
    let handle = a.handle();
    tick(&mut a, &api_a, clock.at(0.0));
    tick(&mut b, &api_b, clock.at(1.0));
    assert!(handle.may_write(clock.at(1.0).0));
    ready(a.release(&api_a));
    assert!(
        !a.may_write(clock.at(1.0).0),
        "writes stop before the release"
    );
    assert!(!handle.may_write(clock.at(1.0).0));
    assert_eq!(
        item(&api_a),
        LeaseItem {
            holder: None,
            expires_at_ms: 0,
            version: 1
        }
    );
    assert_eq!(tick(&mut b, &api_b, clock.at(1.5)).label(), "leader");
    assert_eq!(item(&api_b).version, 2);
    // Releasing what another replica holds changes nothing.
    ready(a.release(&api_a));
    assert_eq!(item(&api_b).holder.as_deref(), Some("b"));
    ready(b.release(&api_b));
    assert_eq!(tick(&mut a, &api_a, clock.at(2.0)).label(), "leader");
    assert_eq!(item(&api_a).version, 3);
}

#[test]
fn a_renew_whose_answer_is_lost_only_makes_the_holder_stop_earlier() {
    let clock = Clock(Instant::now());
    let (api_a, api_b) = replicas();
    let (mut a, mut b) = (lease("a"), lease("b"));
    tick(&mut a, &api_a, clock.at(0.0));
    api_a.lose_next("UpdateItem");
    let role = tick(&mut a, &api_a, clock.at(5.0));
    assert_eq!(
        role,
        Role::Leader {
            until: clock.at(15.0).0
        }
    );
    assert_eq!(
        item(&api_a).expires_at_ms,
        clock.at(25.0).1,
        "it was applied"
    );
    assert_eq!(tick(&mut b, &api_b, clock.at(22.0)).label(), "standby");
    // The next renew that gets through puts a back in charge.
    assert_eq!(tick(&mut a, &api_a, clock.at(16.0)).label(), "leader");
}

#[test]
fn a_missing_table_is_not_found_and_the_replica_stays_standby() {
    let clock = Clock(Instant::now());
    let api = FakeLease::new();
    let mut a = lease("a");
    assert_eq!(
        tick(&mut a, &api, clock.at(0.0)),
        Role::Standby { holder: None }
    );
    let e = ready(api.acquire("nope", NAME, "a", WALL, WALL)).expect_err("no table");
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(api.item("nope", NAME).is_none());
}

#[test]
fn without_a_lease_the_handle_always_may_write() {
    let handle = LeaseHandle::unleased();
    assert!(handle.may_write(Instant::now()));
    assert_eq!(handle.role(), None);
}

#[test]
fn maintain_publishes_leader_to_the_handle_and_releases_when_stopped() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let (api, _) = replicas();
    let config = config("a", Duration::from_millis(400), Duration::from_millis(50));
    let lease = Lease::new(config).expect("valid");
    let handle = lease.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    runtime.block_on(async {
        let task = tokio::spawn(maintain(lease, api.clone(), async {
            let _ = stopped.await;
        }));
        let deadline = Instant::now() + 5 * SECOND;
        while !handle.may_write(Instant::now()) {
            assert!(Instant::now() < deadline, "{:?}", handle.role());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let renewed = item(&api).version;
        while item(&api).version < renewed + 2 {
            assert!(Instant::now() < deadline, "renews every 50 ms");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(());
        task.await.expect("maintain ends");
    });
    assert_eq!(handle.role(), Some(Role::Standby { holder: None }));
    assert_eq!(item(&api).holder, None, "released");
}

mod property;
