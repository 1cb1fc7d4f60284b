//! In-memory lease items with `LeaseApi`'s conditional-write rules. Replicas
//! share the items (one table, as in DynamoDB); each has its own call counts
//! and queued failures, so one can lose DynamoDB while the other still reaches it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Calls, error};
use crate::aws::dynamodb::{Acquired, LeaseApi};
use crate::aws::{AwsError, ErrorKind};

const DYNAMODB: &str = "dynamodb";
const UPDATE: &str = "UpdateItem";

/// One lease item as another client would read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseItem {
    /// None once released.
    pub holder: Option<String>,
    pub expires_at_ms: i64,
    pub version: u64,
}

#[derive(Debug, Default)]
struct Tables(BTreeMap<String, BTreeMap<String, LeaseItem>>);

#[derive(Debug, Default)]
struct Replica {
    calls: Calls,
    /// Calls to apply and then answer with an error, as a timeout after the write would.
    lost: BTreeMap<&'static str, u32>,
}

/// In-memory lease table(s). `clone()` is the same replica; `replica()` another one.
#[derive(Debug, Clone, Default)]
pub struct FakeLease {
    tables: Arc<Mutex<Tables>>,
    replica: Arc<Mutex<Replica>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl FakeLease {
    pub fn new() -> Self {
        FakeLease::default()
    }

    /// Creates an empty table (calls on any other table are NotFound).
    pub fn add_table(&self, table: &str) -> &Self {
        lock(&self.tables).0.entry(table.to_owned()).or_default();
        self
    }

    /// Another replica: the same items, its own calls and failures.
    pub fn replica(&self) -> FakeLease {
        FakeLease {
            tables: self.tables.clone(),
            replica: Arc::default(),
        }
    }

    /// The item, as a person with another client would read it.
    pub fn item(&self, table: &str, name: &str) -> Option<LeaseItem> {
        lock(&self.tables).0.get(table)?.get(name).cloned()
    }

    /// Makes this replica's next call of `operation` fail before it reaches the item.
    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        lock(&self.replica)
            .calls
            .failures
            .entry(operation)
            .or_default()
            .push(kind);
    }

    /// Makes this replica's next call of `operation` change the item and then
    /// fail (Transient), as a timeout after DynamoDB applied the write does.
    pub fn lose_next(&self, operation: &'static str) {
        *lock(&self.replica).lost.entry(operation).or_default() += 1;
    }

    /// This replica's calls of `operation`.
    pub fn calls(&self, operation: &str) -> u64 {
        lock(&self.replica)
            .calls
            .counts
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    fn update<T>(
        &self,
        table: &str,
        name: &str,
        write: impl FnOnce(Option<&mut LeaseItem>) -> (Option<LeaseItem>, T),
    ) -> Result<T, AwsError> {
        lock(&self.replica).calls.call(DYNAMODB, UPDATE)?;
        let answer = {
            let mut tables = lock(&self.tables);
            let items = tables.0.get_mut(table).ok_or_else(|| {
                error(
                    DYNAMODB,
                    UPDATE,
                    ErrorKind::NotFound,
                    "Requested resource not found",
                )
            })?;
            let (created, answer) = write(items.get_mut(name));
            if let Some(item) = created {
                items.insert(name.to_owned(), item);
            }
            answer
        };
        let mut replica = lock(&self.replica);
        match replica.lost.get_mut(UPDATE).filter(|n| **n > 0) {
            Some(n) => {
                *n -= 1;
                Err(error(
                    DYNAMODB,
                    UPDATE,
                    ErrorKind::Transient,
                    "the answer was lost after the write",
                ))
            }
            None => Ok(answer),
        }
    }
}

impl LeaseApi for FakeLease {
    async fn acquire(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<Acquired, AwsError> {
        self.update(table, name, |item| {
            let Some(item) = item else {
                let created = LeaseItem {
                    holder: Some(holder.to_owned()),
                    expires_at_ms,
                    version: 1,
                };
                return (Some(created), Acquired::Held { version: 1 });
            };
            // attribute_not_exists(name) OR expires_at < :now OR holder = :me
            if item.expires_at_ms < now_ms || item.holder.as_deref() == Some(holder) {
                item.holder = Some(holder.to_owned());
                item.expires_at_ms = expires_at_ms;
                item.version += 1;
                (
                    None,
                    Acquired::Held {
                        version: item.version,
                    },
                )
            } else {
                let taken = Acquired::Taken {
                    holder: item.holder.clone().unwrap_or_default(),
                    expires_at_ms: item.expires_at_ms,
                };
                (None, taken)
            }
        })
    }

    async fn release(&self, table: &str, name: &str, holder: &str) -> Result<(), AwsError> {
        self.update(table, name, |item| {
            // holder = :me; otherwise the condition fails, which is not an error.
            if let Some(item) = item.filter(|i| i.holder.as_deref() == Some(holder)) {
                item.holder = None;
                item.expires_at_ms = 0;
            }
            (None, ())
        })
    }
}
