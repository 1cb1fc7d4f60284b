//! The intake: long-polls the events queue while this replica holds the
//! lease, reads each message into the resources it names, de-duplicates on
//! the envelope's id, and wakes the controller. Messages are deleted once the
//! pass that used them is done (ignored ones at once); a crash before that
//! only means they are received again, which is harmless (level-triggered).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::aws::sqs::QueueApi;
use crate::controller::Shared;
use crate::events::{APP_NAME, EventKind, Parsed, parse};

use super::QueueStatus;

/// Envelope ids remembered for de-duplication (at-least-once delivery).
const SEEN_IDS: usize = 10_000;
/// After a failed receive: the first wait, doubled up to the last.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// The last `SEEN_IDS` envelope ids.
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    /// False when `id` was seen before.
    fn insert(&mut self, id: &str) -> bool {
        if !self.ids.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        if self.order.len() > SEEN_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::ServiceAction => "serviceAction",
        EventKind::DeploymentStateChange => "deploymentStateChange",
        EventKind::ApiCall => "apiCall",
    }
}

/// Runs until a stop is requested; deletes what the last passes consumed.
pub async fn run<Q: QueueApi>(queue: Q, url: String, shared: Arc<Shared>) {
    let queue = Arc::new(queue);
    if let Ok(mut s) = shared.watch.status.write() {
        *s = Some(QueueStatus {
            url: url.clone(),
            ..QueueStatus::default()
        });
    }
    let deleter = tokio::spawn(delete_consumed(queue.clone(), url.clone(), shared.clone()));
    let mut seen = Seen::default();
    let mut retry = RETRY_FIRST;
    while !shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
        if !shared.lease.may_write(Instant::now()) {
            // A standby leaves the messages to the leader.
            shared.watch.update_status(|s| s.consuming = false);
            tokio::select! {
                () = shared.lease.leader() => {}
                _ = shared.stopped.notified() => {}
            }
            continue;
        }
        shared.watch.update_status(|s| s.consuming = true);
        let received = tokio::select! {
            r = queue.receive(&url) => r,
            _ = shared.stopped.notified() => break,
        };
        let messages = match received {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(queue = %url, error = %e, retry_in = retry.as_secs(), "cannot read the events queue; the periodic loop goes on");
                let first = shared
                    .watch
                    .status
                    .read()
                    .ok()
                    .and_then(|s| s.as_ref().map(|s| s.error.is_none()));
                shared
                    .watch
                    .update_status(|s| s.error = Some(e.to_string()));
                if first == Some(true) {
                    shared
                        .watch
                        .problem(format!("the events queue {url} cannot be read: {e}"));
                }
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = shared.stopped.notified() => break,
                }
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        retry = RETRY_FIRST;
        shared.watch.update_status(|s| s.error = None);
        if messages.is_empty() || !shared.lease.may_write(Instant::now()) {
            // Lost the lease while waiting: not deleted, so they come back
            // to the new leader after their visibility timeout.
            continue;
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let mut done = Vec::new();
        let mut woke = false;
        {
            let mut pending = shared.watch.pending();
            for m in messages {
                match parse(&m.body, APP_NAME) {
                    Parsed::Wake {
                        id,
                        kind,
                        keys,
                        actor,
                        ..
                    } => {
                        if !seen.insert(&id) {
                            shared.metrics.event(kind_label(kind), "duplicate");
                            shared.watch.update_status(|s| s.duplicates += 1);
                            done.push(m.receipt);
                            continue;
                        }
                        shared.metrics.event(kind_label(kind), "accepted");
                        shared.watch.update_status(|s| s.received += 1);
                        let waited = m
                            .sent_at_ms
                            .map(|t| Duration::from_millis(now_ms.saturating_sub(t).max(0) as u64))
                            .unwrap_or_default();
                        let at = Instant::now()
                            .checked_sub(waited)
                            .unwrap_or_else(Instant::now);
                        pending.oldest = Some(pending.oldest.map_or(at, |o| o.min(at)));
                        pending.add(
                            keys,
                            actor.as_deref(),
                            kind == EventKind::DeploymentStateChange,
                        );
                        pending.receipts.push(m.receipt);
                        woke = true;
                    }
                    Parsed::Ignored { why, .. } => {
                        tracing::debug!(why, "event ignored");
                        shared.metrics.event("other", "ignored");
                        shared.watch.update_status(|s| s.ignored += 1);
                        done.push(m.receipt);
                    }
                }
            }
        }
        shared.watch.consumed(done);
        if woke {
            shared.watch.woken.notify_one();
        }
    }
    shared.watch.update_status(|s| s.consuming = false);
    shared.watch.consumed_ready.notify_one();
    let _ = deleter.await;
}

/// Deletes consumed messages, 10 a call, until the stop (then once more).
async fn delete_consumed<Q: QueueApi>(queue: Arc<Q>, url: String, shared: Arc<Shared>) {
    loop {
        let stopping = shared.stop.load(std::sync::atomic::Ordering::SeqCst);
        let receipts = shared.watch.take_consumed();
        for batch in receipts.chunks(crate::aws::sqs::MAX_MESSAGES as usize) {
            if let Err(e) = queue.delete(&url, batch).await {
                // Received again after the visibility timeout, and de-duplicated.
                tracing::warn!(queue = %url, error = %e, "cannot delete consumed events");
            }
        }
        if stopping {
            return;
        }
        tokio::select! {
            _ = shared.watch.consumed_ready.notified() => {}
            _ = shared.stopped.notified() => {}
        }
    }
}
