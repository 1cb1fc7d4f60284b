//! The leader lease's one DynamoDB item: the trait `crate::lease` uses to
//! acquire, renew and release it with conditional writes.

mod sdk;

pub use sdk::SdkLease;

use std::future::Future;

use super::AwsError;

/// Partition key of the lease table (S): the lease's name.
pub const KEY: &str = "name";
/// Who holds the lease (S); removed on release.
pub const HOLDER: &str = "holder";
/// Until when, in Unix milliseconds by the holder's clock (N); 0 once released.
pub const EXPIRES_AT: &str = "expires_at";
/// Fencing counter (N): one more on every successful acquire or renew, kept on release.
pub const VERSION: &str = "version";

/// What one acquire attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The caller holds the lease now; `version` is the item's new fencing counter.
    Held { version: u64 },
    /// Someone else holds it and it has not expired.
    Taken { holder: String, expires_at_ms: i64 },
}

/// The DynamoDB calls of the lease. Every call is one conditional write on the
/// item `name` of `table`, so two replicas racing see exactly one winner.
pub trait LeaseApi: Send + Sync {
    /// Takes the lease for `holder` until `expires_at_ms` if nobody holds it,
    /// it expired before `now_ms` (the caller's wall clock), or `holder`
    /// already holds it (a renew). Creates the item if needed. Idempotent for
    /// the holder; bumps the version on each success. A failed condition is
    /// not an error: it is `Taken`, with the current holder. NotFound: no table.
    fn acquire(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<Acquired, AwsError>> + Send;

    /// Gives the lease up if `holder` holds it (the holder is removed, the
    /// expiry set to 0, the version kept), so another replica acquires it at
    /// its next attempt. Ok when someone else holds it or nobody does.
    fn release(
        &self,
        table: &str,
        name: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// A shared client is a client.
impl<A: LeaseApi> LeaseApi for std::sync::Arc<A> {
    fn acquire(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<Acquired, AwsError>> + Send {
        (**self).acquire(table, name, holder, expires_at_ms, now_ms)
    }

    fn release(
        &self,
        table: &str,
        name: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        (**self).release(table, name, holder)
    }
}
