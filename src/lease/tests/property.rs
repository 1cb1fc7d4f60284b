//! The safety property: two replicas with clock skew and failed or lost
//! renews, killed or released at any moment, are never both writers.

use proptest::prelude::*;

use super::*;

/// What one acquire call of the simulation does.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ok,
    /// Fails before it reaches the item.
    Fails,
    /// Applied, then the answer is lost.
    Lost,
}

/// How a replica's run ends, at a fraction (per mille) of the failure phase.
#[derive(Debug, Clone, Copy)]
enum End {
    Runs,
    Killed(u64),
    Released(u64),
}

fn answers() -> impl Strategy<Value = Vec<Answer>> {
    prop::collection::vec(
        prop_oneof![4 => Just(Answer::Ok), 2 => Just(Answer::Fails), 1 => Just(Answer::Lost)],
        0..60,
    )
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        2 => Just(End::Runs),
        1 => (0u64..1000).prop_map(End::Killed),
        1 => (0u64..1000).prop_map(End::Released),
    ]
}

struct Replica {
    lease: Lease,
    api: FakeLease,
    /// Its wall clock minus the true time.
    skew_ms: i64,
    phase_ms: u64,
    answers: Vec<Answer>,
    end_ms: Option<(u64, bool)>,
    ticks: usize,
    alive: bool,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Two replicas, clocks skewed by less than the margin, renews failing or
    /// answered-but-lost at random, either one killed or released at any time:
    /// whenever a replica may write, the item names it and has not expired by
    /// any replica's clock (so nobody else can take it), at most one may
    /// write, the version grows with every change of holder, and once the
    /// failures stop a survivor leads within duration + one renew period.
    #[test]
    fn at_no_instant_may_a_replica_write_while_the_lease_is_another_s_or_expired(
        duration_ms in 200u64..1500,
        divisor in 3u64..8,
        skews in prop::array::uniform2(-999i64..1000),
        phases in prop::array::uniform2(0u64..1000),
        answers in prop::array::uniform2(answers()),
        ends in prop::array::uniform2(end()),
    ) {
        let duration = Duration::from_millis(duration_ms);
        let renew_ms = duration_ms / divisor;
        let margin_ms = margin(duration).as_millis() as i64;
        let failing_until = 8 * duration_ms;
        let end_at = failing_until + duration_ms + margin_ms as u64 + 2 * renew_ms;
        let (api_a, api_b) = replicas();
        let base = Instant::now();
        let mut replicas: Vec<Replica> = [api_a, api_b]
            .into_iter()
            .enumerate()
            .map(|(i, api)| {
                let holder = ["a", "b"][i];
                let c = config(holder, duration, Duration::from_millis(renew_ms));
                Replica {
                    lease: Lease::new(c).expect("valid timing"),
                    api,
                    // |skew| < margin / 2: the replicas differ by less than the margin.
                    skew_ms: skews[i] * (margin_ms / 2) / 1000,
                    phase_ms: phases[i] * renew_ms / 1000,
                    answers: answers[i].clone(),
                    end_ms: match ends[i] {
                        End::Runs => None,
                        End::Killed(p) => Some((p * failing_until / 1000, false)),
                        End::Released(p) => Some((p * failing_until / 1000, true)),
                    },
                    ticks: 0,
                    alive: true,
                }
            })
            .collect();
        let mut last: Option<LeaseItem> = None;
        for t in 0..=end_at {
            let now = base + Duration::from_millis(t);
            for r in replicas.iter_mut().filter(|r| r.alive) {
                let wall = WALL + t as i64 + r.skew_ms;
                if let Some((_, release)) = r.end_ms.filter(|(at, _)| *at == t) {
                    if release {
                        ready(r.lease.release(&r.api));
                    }
                    r.alive = false;
                    continue;
                }
                if t < r.phase_ms || (t - r.phase_ms) % renew_ms != 0 {
                    continue;
                }
                if t < failing_until {
                    match r.answers.get(r.ticks).copied().unwrap_or(Answer::Ok) {
                        Answer::Ok => {}
                        Answer::Fails => r.api.fail_next("UpdateItem", ErrorKind::Transient),
                        Answer::Lost => r.api.lose_next("UpdateItem"),
                    }
                }
                r.ticks += 1;
                ready(r.lease.tick(&r.api, now, wall));
            }
            let current = replicas[0].api.item(TABLE, NAME);
            if let (Some(before), Some(after)) = (&last, &current) {
                prop_assert!(after.version >= before.version);
                if after.holder.is_some() && after.holder != before.holder {
                    prop_assert!(after.version > before.version, "{:?} → {:?}", before, after);
                }
            }
            let writers: Vec<&Replica> = replicas
                .iter()
                .filter(|r| r.alive && r.lease.may_write(now))
                .collect();
            prop_assert!(writers.len() <= 1, "two writers at {} ms", t);
            for w in &writers {
                let item = current.clone().expect("a writer has an item");
                prop_assert_eq!(item.holder.as_deref(), Some(w.lease.config().holder.as_str()), "at {} ms", t);
                for r in &replicas {
                    let wall = WALL + t as i64 + r.skew_ms;
                    prop_assert!(
                        item.expires_at_ms >= wall,
                        "at {} ms {} may write but the item expired by {}'s clock: {:?}",
                        t, w.lease.config().holder, r.lease.config().holder, item
                    );
                }
            }
            last = current;
        }
        let now = base + Duration::from_millis(end_at);
        let alive = replicas.iter().filter(|r| r.alive).count();
        let leaders = replicas.iter().filter(|r| r.alive && r.lease.may_write(now)).count();
        prop_assert_eq!(leaders, usize::from(alive > 0), "a survivor leads once DynamoDB answers again");
    }
}
