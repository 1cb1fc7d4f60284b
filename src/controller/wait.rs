//! Between two loops: the jittered interval, the next Schedule transition or
//! resource retry, a sync request, a new revision, a lease take-over, or a stop.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::source::{DesiredSource, Read};
use super::{RunOptions, SYNC_COALESCE, Shared};

/// The monotonic instant at which wall-clock `t` arrives.
pub(super) fn until(t: Timestamp) -> Instant {
    let ahead = t.duration_since(Timestamp::now());
    let ahead = Duration::try_from(ahead).unwrap_or(Duration::ZERO);
    Instant::now() + ahead
}

/// Sleeps until the next loop: the jittered interval or the next Schedule
/// transition, whichever is first; a sync request (at most one per
/// `SYNC_COALESCE`); a new revision on disk; or a stop.
#[allow(clippy::too_many_arguments)] // the loop's state, passed as it is
pub(super) async fn wait(
    options: &RunOptions,
    source: &mut DesiredSource,
    shared: &Shared,
    revision: Option<&str>,
    incomplete_since: Option<Instant>,
    last_start: Option<Instant>,
    transition: Option<Instant>,
) {
    let jitter = 0.9 + fastrand::f64() * 0.2;
    let mut deadline = Instant::now() + options.interval.mul_f64(jitter);
    if let Some(t) = transition {
        // A transition is acted on as soon as it arrives, not at the next poll.
        deadline = deadline.min(t);
    }
    loop {
        if shared.stopping() {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let tick = (deadline - now).min(source.poll());
        let standby = !shared.lease.may_write(now);
        tokio::select! {
            // Took the lease over: write now, not an interval later.
            () = shared.lease.leader(), if standby => return,
            _ = shared.wake.notified() => {
                if shared.stopping() {
                    return;
                }
                // Coalesce: a sync right after a loop waits until 5 s after that loop started.
                if let Some(start) = last_start {
                    let earliest = start + SYNC_COALESCE;
                    if Instant::now() < earliest {
                        tokio::select! {
                            _ = tokio::time::sleep_until(earliest.into()) => {}
                            _ = shared.stopped.notified() => {}
                        }
                    }
                }
                return;
            }
            _ = shared.stopped.notified() => return,
            _ = tokio::time::sleep(tick) => {
                let changed = match source.read().await {
                    Read::Ready(s) => Some(s.revision.as_str()) != revision,
                    // The loop starts the grace period, and rejects when it is over.
                    Read::Incomplete { revision: r, .. } => {
                        Some(r.as_str()) != revision
                            && incomplete_since
                                .is_none_or(|t| t.elapsed() >= source.incomplete_grace())
                    }
                    Read::Failed(_) => false,
                };
                if changed {
                    return;
                }
            }
        }
    }
}
