//! Event-driven passes (`run --events-queue`, SPEC §5): the intake long-polls
//! the queue and records which resources events named ([`Pending`]); the
//! controller takes them, decides a targeted or a full pass ([`scope`]), and
//! hands the receipts back to be deleted once the pass that used them is done.
//!
//! Events are hints: the periodic full loop stays, so a lost event costs
//! latency, never correctness (the kube-rs watcher's re-list, Argo CD's poll).

pub mod intake;
pub mod scope;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Notify;

use crate::events::{Actor, ResourceKey};

/// More distinct resources than this waiting at once: one full pass reads
/// them all for less than one targeted read each.
pub const FLOOD_KEYS: usize = 50;
/// Resources remembered at most while waiting; beyond it only "full pass".
const MAX_KEYS: usize = 10_000;
/// Actors remembered per resource (the latest wins in a report).
const MAX_ACTORS: usize = 5;

/// What the events named for one resource since the last pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wakeup {
    /// Who changed it, oldest first (CloudTrail events only).
    pub actors: Vec<Actor>,
    /// An ECS deployment changed state: its history is read again.
    pub deployment: bool,
}

impl Wakeup {
    fn absorb(&mut self, actors: impl IntoIterator<Item = Actor>, deployment: bool) {
        self.actors.extend(actors);
        let excess = self.actors.len().saturating_sub(MAX_ACTORS);
        self.actors.drain(..excess);
        self.deployment |= deployment;
    }
}

/// Everything received and not yet acted on.
#[derive(Debug, Default)]
pub struct Pending {
    pub keys: BTreeMap<ResourceKey, Wakeup>,
    /// More keys than `MAX_KEYS` arrived: only a full pass covers them.
    pub overflow: bool,
    /// Receipts of the messages these came from, deleted after the pass.
    pub receipts: Vec<String>,
    /// When the oldest of them reached the queue (or the intake).
    pub oldest: Option<Instant>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.overflow && self.receipts.is_empty()
    }

    /// Adds what `other` holds (events carried over to a full pass).
    pub fn merge(&mut self, other: Pending) {
        for (key, w) in other.keys {
            self.keys
                .entry(key)
                .or_default()
                .absorb(w.actors, w.deployment);
        }
        self.overflow |= other.overflow;
        self.receipts.extend(other.receipts);
        self.oldest = match (self.oldest, other.oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Records one event's keys.
    pub fn add(&mut self, keys: Vec<ResourceKey>, actor: Option<&Actor>, deployment: bool) {
        for key in keys {
            if !self.keys.contains_key(&key) && self.keys.len() >= MAX_KEYS {
                self.overflow = true;
                continue;
            }
            self.keys
                .entry(key)
                .or_default()
                .absorb(actor.cloned(), deployment);
        }
    }
}

/// The queue's state for `/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    pub url: String,
    /// Whether this replica is reading it now (the lease holder only).
    pub consuming: bool,
    pub received: u64,
    pub ignored: u64,
    pub duplicates: u64,
    /// Why the queue cannot be read, while it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub targeted_passes: u64,
    pub full_passes: u64,
    /// Seconds the oldest event not yet acted on has waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_pending_seconds: Option<f64>,
}

/// Shared by the intake, the controller and `/status`.
#[derive(Debug, Default)]
pub struct Watch {
    pending: Mutex<Pending>,
    /// The intake added something.
    pub woken: Notify,
    /// Receipts whose pass is done, for the intake to delete.
    consumed: Mutex<Vec<String>>,
    pub consumed_ready: Notify,
    pub status: RwLock<Option<QueueStatus>>,
    /// A queue problem not yet told to the `operator` channels.
    problem: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Watch {
    pub fn pending(&self) -> MutexGuard<'_, Pending> {
        lock(&self.pending)
    }

    /// Everything waiting, for one pass.
    pub fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending())
    }

    pub fn has_pending(&self) -> bool {
        !self.pending().is_empty()
    }

    /// The pass that used these is done: they may be deleted.
    pub fn consumed(&self, receipts: Vec<String>) {
        if receipts.is_empty() {
            return;
        }
        lock(&self.consumed).extend(receipts);
        self.consumed_ready.notify_one();
    }

    pub fn take_consumed(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.consumed))
    }

    /// Told once on the `operator` channels by the next loop that can.
    pub fn problem(&self, problem: String) {
        *lock(&self.problem) = Some(problem);
    }

    pub fn take_problem(&self) -> Option<String> {
        lock(&self.problem).take()
    }

    pub fn update_status(&self, f: impl FnOnce(&mut QueueStatus)) {
        if let Ok(mut s) = self.status.write()
            && let Some(s) = s.as_mut()
        {
            f(s);
        }
    }

    /// For `/status`: the queue with the age of its oldest pending event.
    pub fn snapshot(&self) -> Option<QueueStatus> {
        let mut s = self.status.read().ok()?.clone()?;
        s.oldest_pending_seconds = self.pending().oldest.map(|t| t.elapsed().as_secs_f64());
        Some(s)
    }
}
