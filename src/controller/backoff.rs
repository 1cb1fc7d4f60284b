//! Per-resource retry backoff: a resource whose writes failed is left alone
//! until its delay has passed, doubling (with jitter) on each further failure
//! up to a cap, and forgotten on success or on a new desired revision.
//! Other resources are not held back by it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::model::DocRef;

/// The first delay after a failure.
pub const FIRST_DELAY: Duration = Duration::from_secs(2);
/// The longest: a resource broken for good is still retried this often.
pub const MAX_DELAY: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Entry {
    delays: ExponentialBackoff,
    due: Instant,
    failures: u32,
    error: String,
}

/// What `/status` says about a resource that is backing off.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub failures: u32,
    pub retry_in: Duration,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct Backoffs {
    entries: BTreeMap<DocRef, Entry>,
}

impl Backoffs {
    /// Whether the resource may be written at `now`.
    pub fn ready(&self, resource: &DocRef, now: Instant) -> bool {
        self.entries.get(resource).is_none_or(|e| e.due <= now)
    }

    pub fn failed(&mut self, resource: &DocRef, error: &str, now: Instant) {
        let entry = self
            .entries
            .entry(resource.clone())
            .or_insert_with(|| Entry {
                delays: ExponentialBuilder::default()
                    .with_min_delay(FIRST_DELAY)
                    .with_max_delay(MAX_DELAY)
                    .with_factor(2.0)
                    .with_jitter()
                    .without_max_times()
                    .build(),
                due: now,
                failures: 0,
                error: String::new(),
            });
        // Jitter may double a delay; the cap holds after it.
        let delay = entry.delays.next().unwrap_or(MAX_DELAY).min(MAX_DELAY);
        entry.due = now + delay;
        entry.failures += 1;
        entry.error = error.to_owned();
    }

    pub fn succeeded(&mut self, resource: &DocRef) {
        self.entries.remove(resource);
    }

    /// Keeps only the resources `keep` names.
    pub fn retain(&mut self, keep: impl Fn(&DocRef) -> bool) {
        self.entries.retain(|r, _| keep(r));
    }

    /// A new revision may be the fix: everything is retried at once.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// When the first held resource may be retried.
    pub fn next_due(&self) -> Option<Instant> {
        self.entries.values().map(|e| e.due).min()
    }

    pub fn held(&self, resource: &DocRef, now: Instant) -> Option<Held> {
        self.entries.get(resource).map(|e| Held {
            failures: e.failures,
            retry_in: e.due.saturating_duration_since(now),
            error: e.error.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn svc(name: &str) -> DocRef {
        DocRef::new(Kind::Service, name)
    }

    #[test]
    fn a_failed_resource_waits_and_others_do_not() {
        let now = Instant::now();
        let mut b = Backoffs::default();
        b.failed(&svc("api"), "boom", now);
        assert!(!b.ready(&svc("api"), now));
        assert!(b.ready(&svc("web"), now));
        let due = b.next_due().expect("due");
        assert!(due >= now + FIRST_DELAY && due <= now + FIRST_DELAY * 2);
        assert!(b.ready(&svc("api"), due));
    }

    #[test]
    fn delays_grow_to_the_cap_and_reset_on_success() {
        let now = Instant::now();
        let mut b = Backoffs::default();
        let mut last = Duration::ZERO;
        for _ in 0..12 {
            b.failed(&svc("api"), "boom", now);
            let held = b.held(&svc("api"), now).expect("held");
            assert!(held.retry_in <= MAX_DELAY);
            last = held.retry_in;
        }
        assert!(last >= MAX_DELAY / 2, "{last:?}");
        assert_eq!(b.held(&svc("api"), now).map(|h| h.failures), Some(12));
        b.succeeded(&svc("api"));
        assert!(b.ready(&svc("api"), now));
        b.failed(&svc("api"), "again", now);
        let held = b.held(&svc("api"), now).expect("held");
        assert!(held.retry_in <= FIRST_DELAY * 2, "{held:?}");
    }

    #[test]
    fn a_new_revision_clears_every_backoff() {
        let now = Instant::now();
        let mut b = Backoffs::default();
        b.failed(&svc("api"), "boom", now);
        b.clear();
        assert!(b.ready(&svc("api"), now));
        assert_eq!(b.next_due(), None);
    }
}
