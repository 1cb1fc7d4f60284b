//! The leader lease (`run --lease-table`): one DynamoDB item names the replica
//! that may write; the others observe and serve /status as `standby`. Without
//! `--lease-table` there is one replica and no lease ([`LeaseHandle::unleased`]).
//!
//! # Timing
//!
//! Every `renew_every` (default 5 s) each replica sends one conditional write
//! (`LeaseApi::acquire`): take the item if nobody holds it, it has expired, or
//! I hold it; set `expires_at = wall clock + duration` (default 20 s). The
//! holder renews with the same call; the others fail the condition and learn
//! who holds it.
//!
//! **The holder may write only until `sent + duration - margin`**, where
//! `sent` is the *monotonic* instant its last successful acquire or renew was
//! **sent** (not answered), and `margin = duration / 4`. Why:
//!
//! * The item expires at `W_holder(sent) + duration` (wall clock at sending).
//!   Another replica B takes over only with a request whose `:now =
//!   W_B(t) > W_holder(sent) + duration`, so at a real time `t > sent +
//!   duration - skew`. Writing stops at `sent + duration - margin`, which is
//!   before that whenever the clock skew between replicas plus the longest
//!   write in flight after the last `may_write` check stays under the margin
//!   (5 s by default; Amazon Time Sync keeps skew in milliseconds).
//! * Counting from the send, not the answer, keeps a slow answer (or the
//!   SDK's retries of the same request, which carry the same `expires_at`)
//!   from extending the holder's belief past what the item says.
//! * The deadline is monotonic: a wall-clock step on the holder cannot extend it.
//! * A failed renew keeps the previous deadline, so a holder that cannot reach
//!   DynamoDB stops writing by itself before the item expires; it retries at
//!   the next tick. A renew whose answer is lost after DynamoDB applied it only
//!   makes the holder stop earlier than it had to.
//! * `renew_every <= (duration - margin) / 2`, so one failed renew does not
//!   interrupt the writes ([`LeaseConfig::validate`]).
//!
//! A killed holder (no release) is replaced within `duration + renew_every`:
//! the item expires `duration` after its last renew and a standby tries every
//! `renew_every`. SIGTERM releases the item, and the standby acquires it at its
//! next tick. What no lease can cover: a process frozen (GC, VM pause) between
//! its `may_write` check and its write; ECS cannot check a fencing token.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::aws::AwsError;
use crate::aws::dynamodb::{Acquired, LeaseApi};

/// How long an acquired lease lasts without a renew (`--lease-duration`).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(20);
/// How often the holder renews and a standby tries to acquire (`--lease-renew`).
pub const DEFAULT_RENEW_EVERY: Duration = Duration::from_secs(5);
/// The variable the deployment sets to turn the lease on.
pub const TABLE_VARIABLE: &str = "ECS_OPERATOR_LEASE_TABLE";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The DynamoDB table (partition key `name`, S).
    pub table: String,
    /// The item: the `--instance` name by default, so prod and staging lease separately.
    pub name: String,
    /// Unique per process ([`holder_from_environment`]).
    pub holder: String,
    pub duration: Duration,
    pub renew_every: Duration,
}

/// A lease configuration that cannot keep one writer, or keep it writing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLease {
    #[error("the lease {0} is empty")]
    Empty(&'static str),
    #[error("the lease duration and renew period must be positive")]
    Zero,
    #[error(
        "a lease renewed every {renew_every:?} for {duration:?} stops the writes after one failed renew: renew at most every {max:?} ((duration - duration/4) / 2)"
    )]
    RenewTooSlow {
        renew_every: Duration,
        duration: Duration,
        max: Duration,
    },
}

impl LeaseConfig {
    /// The lease of `instance` in `table`, held by this process, default timing.
    pub fn new(table: impl Into<String>, instance: impl Into<String>) -> Self {
        LeaseConfig {
            table: table.into(),
            name: instance.into(),
            holder: holder_from_environment(),
            duration: DEFAULT_DURATION,
            renew_every: DEFAULT_RENEW_EVERY,
        }
    }

    pub fn validate(&self) -> Result<(), InvalidLease> {
        for (what, value) in [
            ("table", &self.table),
            ("name", &self.name),
            ("holder", &self.holder),
        ] {
            if value.is_empty() {
                return Err(InvalidLease::Empty(what));
            }
        }
        if self.duration.is_zero() || self.renew_every.is_zero() {
            return Err(InvalidLease::Zero);
        }
        let max = (self.duration - margin(self.duration)) / 2;
        if self.renew_every > max {
            return Err(InvalidLease::RenewTooSlow {
                renew_every: self.renew_every,
                duration: self.duration,
                max,
            });
        }
        Ok(())
    }
}

/// The holder id of this process: the ECS task id (last path segment of
/// `ECS_CONTAINER_METADATA_URI_V4`) or the hostname, the pid and a random suffix.
pub fn holder_from_environment() -> String {
    let metadata = std::env::var("ECS_CONTAINER_METADATA_URI_V4").ok();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok());
    holder_id(
        metadata.as_deref(),
        hostname.as_deref(),
        std::process::id(),
        fastrand::u32(..),
    )
}

/// See [`holder_from_environment`]; the random part makes a restarted process
/// with a reused pid (PID 1 in every container) a different holder.
pub fn holder_id(
    metadata_uri: Option<&str>,
    hostname: Option<&str>,
    pid: u32,
    random: u32,
) -> String {
    let task = metadata_uri
        .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
        .filter(|s| !s.is_empty() && !s.contains(':'));
    let host = hostname.map(str::trim).filter(|h| !h.is_empty());
    let base = task.or(host).unwrap_or("ecs-operator");
    format!("{base}-{pid}-{random:08x}")
}

/// What this replica is, as of its last acquire attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Holds the lease; may write until `until` (monotonic) unless a renew moves it.
    Leader { until: Instant },
    /// Observes only. `holder`: who holds the lease; None when nobody does or
    /// it is unknown (the last call failed).
    Standby { holder: Option<String> },
}

impl Role {
    pub fn may_write(&self, now: Instant) -> bool {
        matches!(self, Role::Leader { until } if now < *until)
    }

    /// `leader` or `standby`, for /status and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Role::Leader { .. } => "leader",
            Role::Standby { .. } => "standby",
        }
    }
}

/// Writes stop this long before the item expires: covers clock skew between
/// replicas and the write in flight after the last check.
pub fn margin(duration: Duration) -> Duration {
    duration / 4
}

/// The last instant a holder whose acquire or renew was sent at `sent` may write.
pub fn write_deadline(sent: Instant, duration: Duration) -> Instant {
    sent + (duration - margin(duration))
}

/// The expiry written into the item: the wall clock at sending plus the duration.
pub fn expires_at_ms(wall_sent_ms: i64, duration: Duration) -> i64 {
    let duration_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    wall_sent_ms.saturating_add(duration_ms)
}

/// The role after one acquire attempt sent at `sent`; `answer` None: the call failed.
pub fn next_role(
    previous: &Role,
    answer: Option<&Acquired>,
    sent: Instant,
    duration: Duration,
) -> Role {
    match answer {
        Some(Acquired::Held { .. }) => Role::Leader {
            until: write_deadline(sent, duration),
        },
        Some(Acquired::Taken { holder, .. }) => Role::Standby {
            holder: Some(holder.clone()),
        },
        // Unknown: the deadline does not move, so writing stops by itself.
        None => match previous {
            Role::Leader { until } if sent < *until => previous.clone(),
            Role::Leader { .. } => Role::Standby { holder: None },
            Role::Standby { .. } => previous.clone(),
        },
    }
}

/// One replica's lease: its configuration and its role, published to every
/// [`LeaseHandle`].
#[derive(Debug)]
pub struct Lease {
    config: LeaseConfig,
    role: watch::Sender<Role>,
}

impl Lease {
    pub fn new(config: LeaseConfig) -> Result<Self, InvalidLease> {
        config.validate()?;
        Ok(Lease {
            config,
            role: watch::Sender::new(Role::Standby { holder: None }),
        })
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// What the controller reads: the role this lease publishes.
    pub fn handle(&self) -> LeaseHandle {
        LeaseHandle(Some(self.role.subscribe()))
    }

    pub fn role(&self) -> Role {
        self.role.borrow().clone()
    }

    pub fn may_write(&self, now: Instant) -> bool {
        self.role.borrow().may_write(now)
    }

    /// One acquire or renew attempt. `now` is the instant the request is sent
    /// (take it just before the call) and `wall_now_ms` the wall clock then.
    /// A failure keeps the previous deadline and is retried at the next tick.
    pub async fn tick<A: LeaseApi>(&mut self, api: &A, now: Instant, wall_now_ms: i64) -> Role {
        let c = &self.config;
        let expires = expires_at_ms(wall_now_ms, c.duration);
        let answer = api
            .acquire(&c.table, &c.name, &c.holder, expires, wall_now_ms)
            .await;
        let previous = self.role();
        let next = next_role(&previous, answer.as_ref().ok(), now, c.duration);
        log_change(c, &previous, &next, &answer);
        self.role.send_replace(next.clone());
        next
    }

    /// Stops writing, then gives the lease up so another replica takes it at
    /// its next tick. Call it only after the last write has finished.
    pub async fn release<A: LeaseApi>(&mut self, api: &A) {
        self.role.send_replace(Role::Standby { holder: None });
        let c = &self.config;
        match api.release(&c.table, &c.name, &c.holder).await {
            Ok(()) => tracing::info!(lease = %c.name, holder = %c.holder, "lease released"),
            Err(e) => tracing::warn!(
                lease = %c.name,
                error = %e,
                "lease not released: another replica takes over when it expires"
            ),
        }
    }
}

fn log_change(c: &LeaseConfig, previous: &Role, next: &Role, answer: &Result<Acquired, AwsError>) {
    let lease = c.name.as_str();
    match (previous, next, answer) {
        (_, _, Err(e)) if previous.label() == "leader" => tracing::warn!(
            lease,
            error = %e,
            still_leader = next.label() == "leader",
            "lease renew failed: writes stop at the deadline unless a renew succeeds first"
        ),
        (_, _, Err(e)) => tracing::warn!(lease, error = %e, "lease acquire failed"),
        (Role::Standby { .. }, Role::Leader { .. }, Ok(Acquired::Held { version })) => {
            tracing::info!(lease, holder = %c.holder, version, "lease acquired: leader")
        }
        (Role::Leader { .. }, Role::Standby { holder }, _) => tracing::warn!(
            lease,
            holder = holder.as_deref().unwrap_or(""),
            "lease lost: standby"
        ),
        (Role::Standby { holder: before }, Role::Standby { holder }, _) if before != holder => {
            tracing::info!(
                lease,
                holder = holder.as_deref().unwrap_or(""),
                "lease held by another replica: standby"
            )
        }
        _ => {}
    }
}

/// The controller's view of the lease: cheap to clone, never blocks, and
/// never extends a deadline by itself (a stuck renew loop stops the writes).
#[derive(Debug, Clone)]
pub struct LeaseHandle(Option<watch::Receiver<Role>>);

impl LeaseHandle {
    /// A single replica without a lease: it may always write.
    pub fn unleased() -> Self {
        LeaseHandle(None)
    }

    /// Ask before each write batch with `Instant::now()`.
    pub fn may_write(&self, now: Instant) -> bool {
        self.0.as_ref().is_none_or(|r| r.borrow().may_write(now))
    }

    /// The last role, for /status; None without a lease.
    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|r| r.borrow().clone())
    }

    /// Resolves once this replica may write (at once if it may); never
    /// without a lease. A standby that takes over starts a loop then, not an
    /// interval later.
    pub async fn leader(&self) {
        let Some(rx) = &self.0 else {
            return std::future::pending().await;
        };
        let mut rx = rx.clone();
        if rx.wait_for(|r| r.may_write(Instant::now())).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Ticks every `renew_every` (each attempt bounded by the period) until
/// `stop` resolves, then releases. Resolve `stop` only once the controller's
/// last write has finished (SIGTERM: the write in flight first).
pub async fn maintain<A: LeaseApi>(mut lease: Lease, api: A, stop: impl Future<Output = ()>) {
    let every = lease.config.renew_every;
    let mut stop = std::pin::pin!(stop);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = ticks.tick() => {}
        }
        let attempt = tokio::time::timeout(every, lease.tick(&api, Instant::now(), wall_now_ms()));
        tokio::select! {
            () = &mut stop => break,
            done = attempt => if done.is_err() {
                tracing::warn!(lease = %lease.config.name, timeout = ?every, "lease call timed out");
            },
        }
    }
    if tokio::time::timeout(every, lease.release(&api))
        .await
        .is_err()
    {
        tracing::warn!(lease = %lease.config.name, "lease release timed out: it expires by itself");
    }
}

fn wall_now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests;
