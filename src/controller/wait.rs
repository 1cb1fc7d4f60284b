//! Between two loops: the jittered interval, the next Schedule transition or
//! resource retry, a sync request, a new revision, a lease take-over, or a stop.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::source::{DesiredSource, Read};
use super::{SYNC_COALESCE, Shared};

/// The monotonic instant at which wall-clock `t` arrives.
pub(super) fn until(t: Timestamp) -> Instant {
    let ahead = t.duration_since(Timestamp::now());
    let ahead = Duration::try_from(ahead).unwrap_or(Duration::ZERO);
    Instant::now() + ahead
}

/// Why the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Woke {
    /// A full loop: its time, a sync, a new revision, a take-over or a stop.
    Loop,
    /// Events named resources: a targeted pass.
    Events,
}

/// Sleeps until the next full loop (`deadline`: the jittered interval, the
/// next Schedule transition or resource retry), a sync request (at most one
/// per `SYNC_COALESCE`), a new revision on disk, a stop, or events.
pub(super) async fn wait(
    source: &mut DesiredSource,
    shared: &Shared,
    revision: Option<&str>,
    incomplete_since: Option<Instant>,
    last_start: Option<Instant>,
    deadline: Instant,
) -> Woke {
    loop {
        if shared.stopping() {
            return Woke::Loop;
        }
        let now = Instant::now();
        if now >= deadline {
            return Woke::Loop;
        }
        let tick = (deadline - now).min(source.poll());
        let standby = !shared.lease.may_write(now);
        tokio::select! {
            // Took the lease over: write now, not an interval later.
            () = shared.lease.leader(), if standby => return Woke::Loop,
            _ = shared.watch.woken.notified() => {
                if shared.watch.has_pending() {
                    return Woke::Events;
                }
            }
            _ = shared.wake.notified() => {
                if shared.stopping() {
                    return Woke::Loop;
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
                return Woke::Loop;
            }
            _ = shared.stopped.notified() => return Woke::Loop,
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
                    return Woke::Loop;
                }
            }
        }
    }
}

/// A burst of events is one pass: it starts once no message has arrived for
/// this long (a receive takes 10; a burst spans several in a row)…
const EVENT_QUIET: Duration = Duration::from_millis(200);
/// …or this long after the first, whichever is sooner.
const EVENT_SETTLE_MAX: Duration = Duration::from_secs(2);

/// Waits until the events stop arriving (or a stop).
pub(super) async fn settle(shared: &Shared) {
    let end = Instant::now() + EVENT_SETTLE_MAX;
    let mut seen = shared.watch.pending().receipts.len();
    loop {
        let quiet = (Instant::now() + EVENT_QUIET).min(end);
        tokio::select! {
            _ = tokio::time::sleep_until(quiet.into()) => {}
            _ = shared.stopped.notified() => return,
        }
        let now = shared.watch.pending().receipts.len();
        if now == seen || Instant::now() >= end {
            return;
        }
        seen = now;
    }
}
