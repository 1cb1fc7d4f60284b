//! The always-on controller: load → observe → plan → apply → report, every
//! interval, at once on a new revision, on POST /sync or SIGHUP; stops cleanly.

mod backoff;
pub mod http;
mod pass;
mod slo;
pub mod source;
pub mod status;
mod targeted;
mod wait;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::Notify;

use crate::apply::Outcome;
use crate::aws::Aws;
use crate::aws::cloudwatch::CloudWatchApi;
use crate::aws::sns::SnsApi;
use crate::desired::Desired;
use crate::lease::LeaseHandle;
use crate::metrics::Metrics;
use crate::notify::{Causes, Notifier};
use crate::observe::observe;
use crate::plan::{PlanOptions, plan};
use crate::watch::{Pending, Watch, scope};
use pass::{Extra, LoopState, act};
use source::{DesiredSource, Read};
use status::{LoopReport, RoleStatus, Status};
use targeted::Next;
use wait::{Woke, settle, until, wait};

/// A requested sync runs at most once per this period, so /sync cannot hammer AWS.
pub const SYNC_COALESCE: Duration = Duration::from_secs(5);
/// How long a stop waits for an SLO evaluation in progress.
const EVALUATOR_STOP: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub source: DesiredSource,
    /// Where the notifier remembers what it reported (survives restarts).
    pub state_file: Option<PathBuf>,
    pub interval: Duration,
    /// How often SLOs are evaluated, independently of the loop.
    pub slo_interval: Duration,
    pub dry_run: bool,
    pub plan: PlanOptions,
}

/// What the SLO evaluator needs from the last loop.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub desired: Arc<Desired>,
    /// AlertChannel → topic ARN.
    pub topics: std::collections::BTreeMap<String, String>,
}

/// State the loop shares with the HTTP endpoints and signal handlers.
pub struct Shared {
    pub status: RwLock<Status>,
    pub metrics: Arc<Metrics>,
    /// Woken by POST /sync and SIGHUP.
    pub wake: Notify,
    /// Set by SIGTERM/SIGINT: no new work; the write in flight finishes.
    pub stop: AtomicBool,
    pub stopped: Notify,
    /// Drift and SLO memory, shared by the loop and the SLO evaluator.
    pub notifier: Mutex<Notifier>,
    /// The last loop's desired state and topics, for the SLO evaluator.
    pub inputs: RwLock<Option<Inputs>>,
    /// Whether this replica may write now (always, without `--lease-table`).
    pub lease: LeaseHandle,
    /// Events from the queue (`--events-queue`), waiting for a pass.
    pub watch: Watch,
    interval: Duration,
    last_loop_end: Mutex<Option<Instant>>,
}

impl Shared {
    pub fn new(metrics: Arc<Metrics>, options: &RunOptions) -> Self {
        Self::with_lease(metrics, options, LeaseHandle::unleased())
    }

    pub fn with_lease(metrics: Arc<Metrics>, options: &RunOptions, lease: LeaseHandle) -> Self {
        Shared {
            lease,
            status: RwLock::new(Status {
                instance: options.plan.instance.clone(),
                dry_run: options.dry_run,
                ..Status::default()
            }),
            metrics,
            wake: Notify::new(),
            stop: AtomicBool::new(false),
            stopped: Notify::new(),
            notifier: Mutex::new(Notifier::new(options.state_file.clone())),
            inputs: RwLock::new(None),
            watch: Watch::default(),
            interval: options.interval,
            last_loop_end: Mutex::new(None),
        }
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stopped.notify_waiters();
        self.wake.notify_one();
    }

    /// The notifier, even if a panic poisoned its lock (its memory is plain data).
    pub fn notifier(&self) -> std::sync::MutexGuard<'_, Notifier> {
        match self.notifier.lock() {
            Ok(n) => n,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Ready: a desired state is loaded and a full loop finished within 3 intervals.
    pub fn ready(&self) -> Result<(), String> {
        let loaded = self
            .status
            .read()
            .map(|s| s.revision.is_some())
            .unwrap_or(false);
        if !loaded {
            return Err("no valid desired state loaded yet".to_owned());
        }
        let last = self.last_loop_end.lock().ok().and_then(|l| *l);
        match last {
            Some(t) if t.elapsed() <= self.interval * 3 => Ok(()),
            Some(t) => Err(format!(
                "last full loop ended {}s ago",
                t.elapsed().as_secs()
            )),
            None => Err("no loop finished yet".to_owned()),
        }
    }
}

/// Runs loops until a stop is requested. Returns after the write in flight.
/// SLOs are evaluated beside the loop, on their own cadence.
pub async fn run<A: Aws + 'static>(options: RunOptions, aws: A, shared: Arc<Shared>) {
    let aws = Arc::new(aws);
    let evaluator = tokio::spawn(slo::run(
        aws.clone(),
        shared.clone(),
        options.slo_interval,
        options.plan.instance.clone(),
    ));
    reconcile(&options, &*aws, &shared).await;
    // A page being published may finish; a slow CloudWatch read must not hold
    // the stop past ECS's stop timeout.
    let mut evaluator = evaluator;
    match tokio::time::timeout(EVALUATOR_STOP, &mut evaluator).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => tracing::error!("the SLO evaluator panicked"),
        Err(_) => {
            evaluator.abort();
            tracing::warn!("the SLO evaluator was stopped in the middle of an evaluation");
        }
    }
}

async fn reconcile<A: Aws>(options: &RunOptions, aws: &A, shared: &Arc<Shared>) {
    let mut st = LoopState::default();
    let mut seen_revision: Option<String> = None;
    let mut source = options.source.clone();
    // Since when the S3 set has been incomplete (documents newer than REVISION).
    let mut incomplete_since: Option<Instant> = None;
    // Events a targeted pass could not cover: the next full pass takes them.
    let mut carried = Pending::default();
    while !shared.stopping() {
        let started = Instant::now();
        let started_at = Timestamp::now();
        let mut errors = Vec::new();
        let mut rejected: Option<(String, Vec<String>)> = None;
        let read = source.read().await;
        if !matches!(read, Read::Incomplete { .. }) {
            incomplete_since = None;
        }
        match read {
            Read::Ready(source) if seen_revision.as_deref() != Some(source.revision.as_str()) => {
                seen_revision = Some(source.revision.clone());
                match Desired::from_source(&source) {
                    Ok(desired) => {
                        tracing::info!(revision = %desired.revision, documents = desired.count(), "desired state loaded");
                        st.last_good = Some(Arc::new(desired));
                        st.backoffs.clear();
                        if let Ok(mut s) = shared.status.write() {
                            s.rejected = None;
                        }
                    }
                    Err(diags) => {
                        rejected = Some(reject(shared, &source.revision, &diags, started_at));
                    }
                }
            }
            Read::Ready(_) => {}
            Read::Incomplete { revision, problem } => {
                let since = *incomplete_since.get_or_insert(started);
                if since.elapsed() < source.incomplete_grace() {
                    tracing::info!(%revision, "desired state upload in progress: keeping the last revision");
                } else if seen_revision.as_deref() != Some(revision.as_str()) {
                    seen_revision = Some(revision.clone());
                    rejected = Some(reject(shared, &revision, &problem, started_at));
                }
            }
            Read::Failed(e) => errors.push(format!("cannot read desired state: {e}")),
        }
        // A standby observes and plans like a dry run: no writes, no messages.
        let writing = shared.lease.may_write(Instant::now()) && !options.dry_run;
        if let Ok(mut s) = shared.status.write() {
            s.role = shared.lease.role().map(|r| RoleStatus::of(&r));
        }
        // Events waiting are covered by this pass; their actors name who
        // changed what.
        let mut events = std::mem::take(&mut carried);
        events.merge(shared.watch.take());
        let mut outcome = Outcome::default();
        let mut drifted = 0;
        let mut next_transition = None;
        if let Some(desired) = st.last_good.clone() {
            let observed = observe(
                &desired,
                aws,
                &options.plan.instance,
                &mut st.memory,
                Timestamp::now(),
            )
            .await;
            errors.extend(
                observed
                    .errors
                    .iter()
                    .map(|(scope, e)| format!("{scope}: {e}")),
            );
            let plan = plan(&desired, &observed, Timestamp::now(), &options.plan);
            next_transition = plan.next_transition();
            shared.metrics.service_health(&plan);
            drifted = plan.steps.iter().filter(|s| s.action.is_change()).count();
            let causes = Causes {
                changed_by: scope::changed_by(&desired, &events),
                scope: None,
            };
            let extra = Extra { rejected };
            let (o, errs) = act(
                &mut st, &desired, &observed, &plan, &causes, extra, aws, shared, options,
            )
            .await;
            outcome = o;
            errors.extend(errs);
            st.cache = Some(observed);
        }
        shared.watch.consumed(events.receipts);
        shared.metrics.pass("full");
        shared.watch.update_status(|s| s.full_passes += 1);
        // The dead-man's switch: a data point a loop (plan::heartbeat).
        if st.last_good.is_some() && writing && shared.lease.may_write(Instant::now()) {
            let beat = crate::plan::heartbeat::metric(&options.plan.instance);
            if let Err(e) = aws
                .cloudwatch()
                .put_metric(&beat, 1.0, Timestamp::now())
                .await
            {
                errors.push(format!("heartbeat: {e}"));
            }
        }
        let ok = errors.is_empty() && st.last_good.is_some();
        let finished_at = Timestamp::now();
        shared.metrics.loop_finished(
            ok,
            started.elapsed().as_secs_f64(),
            drifted,
            finished_at.as_millisecond() as f64 / 1000.0,
        );
        if let Ok(mut s) = shared.status.write() {
            s.last_loop = Some(LoopReport {
                started_at,
                finished_at,
                ok,
                writes: outcome.writes(),
                errors: errors.clone(),
            });
        }
        if st.last_good.is_some()
            && let Ok(mut l) = shared.last_loop_end.lock()
        {
            *l = Some(Instant::now());
        }
        tracing::info!(
            ok,
            writes = outcome.writes(),
            seconds = started.elapsed().as_secs_f64(),
            "loop finished"
        );
        // A held resource is retried when its delay is up, not a whole interval
        // later, but no sooner than a sync could ask for a loop.
        let retry_at = st
            .backoffs
            .next_due()
            .map(|t| t.max(started + SYNC_COALESCE));
        let jitter = 0.9 + fastrand::f64() * 0.2;
        let deadline = [
            Some(Instant::now() + options.interval.mul_f64(jitter)),
            next_transition.map(until),
            retry_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(Instant::now);
        // Until the next full pass: targeted passes for what events name.
        loop {
            let woke = wait(
                &mut source,
                shared,
                seen_revision.as_deref(),
                incomplete_since,
                Some(started),
                deadline,
            )
            .await;
            if woke == Woke::Loop {
                break;
            }
            settle(shared).await;
            if shared.stopping() {
                break;
            }
            if let Next::Full(pending) = targeted::run(&mut st, aws, shared, options).await {
                carried = pending;
                // Events ask for full passes at most as often as /sync does.
                tokio::select! {
                    _ = tokio::time::sleep_until((started + SYNC_COALESCE).into()) => {}
                    _ = shared.stopped.notified() => {}
                }
                break;
            }
        }
    }
    // Said within ECS's stop window: a stop that cannot be announced still stops.
    let leader = shared.lease.may_write(Instant::now());
    let stopping = st
        .last_good
        .as_ref()
        .filter(|_| leader)
        .and_then(|desired| {
            shared.notifier().lifecycle(
                desired,
                &st.last_topics,
                &options.plan.instance,
                "stopping",
            )
        });
    if let Some(stopping) = stopping {
        for m in &stopping {
            let sent = tokio::time::timeout(Duration::from_secs(5), aws.sns().publish(m)).await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::warn!(topic = %m.topic_arn, "could not announce the stop");
            }
        }
    }
    tracing::info!("controller stopped");
}

/// Logs and shows a revision that did not validate; the caller reports it once.
fn reject(
    shared: &Shared,
    revision: &str,
    diags: &crate::load::diagnostic::Diagnostics,
    at: Timestamp,
) -> (String, Vec<String>) {
    for d in diags.iter() {
        tracing::error!(%revision, error = %d, "desired state rejected");
    }
    if let Ok(mut s) = shared.status.write() {
        s.reject(revision, diags, at);
    }
    (
        revision.to_owned(),
        diags.iter().map(ToString::to_string).collect(),
    )
}
