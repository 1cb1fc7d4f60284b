//! Every SDK call goes through [`Caller::call`]: one metric per attempt,
//! retries of transient failures with exponential backoff and jitter, and a
//! throttle gate per AWS service.
//!
//! The SDK's own retries are off (`load_config`): they would hide throttled
//! attempts from the metrics and back off each call on its own, while AWS
//! throttles an account's calls to a service as a whole. Here a throttled call
//! closes its service's gate for a growing, jittered delay; every later call
//! to that service, from any resource, waits at the gate first. A success
//! opens it again.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::{AwsError, ErrorKind};
use crate::metrics::Metrics;

tokio::task_local! {
    /// Asked before every attempt of a write: true when writes must stop now
    /// (a stop, or a lease that could not be renewed). A write's retries can
    /// outlast a lease's margin; this keeps them inside it.
    static WRITES_HALTED: Arc<dyn Fn() -> bool + Send + Sync>;
}

/// Runs `f` with `halted` asked before every write attempt made inside it.
pub async fn with_write_guard<F: Future>(
    halted: Arc<dyn Fn() -> bool + Send + Sync>,
    f: F,
) -> F::Output {
    WRITES_HALTED.scope(halted, f).await
}

fn writes_halted() -> bool {
    WRITES_HALTED.try_with(|h| h()).unwrap_or(false)
}

/// Operations retried only when AWS answered with an error: after an
/// unanswered attempt (a timeout, a reset after sending) a retry could add a
/// second data point, or a second revision of a task definition (the next
/// loop describes the family first). (A page is retried: a rare duplicate
/// beats a lost page.)
const NOT_IDEMPOTENT: [&str; 2] = ["PutMetricData", "RegisterTaskDefinition"];

/// How single calls are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts of one call, the first included.
    pub attempts: usize,
    /// First delay after a transient failure, and the gate's first delay after a throttle.
    pub base: Duration,
    /// Longest delay between two attempts, and longest gate closure.
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts from 200 ms, at most 10 s apart: a call outlives about
    /// 20 s of throttling before its resource is left for the next loop.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_max_delay(self.max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// The throttle state of one AWS service.
struct Gate {
    /// No call is sent before this instant.
    closed_until: Option<Instant>,
    /// Delays of consecutive throttles; a fresh one after a success.
    delays: ExponentialBackoff,
}

/// Calls of one AWS service: its metrics label, retry policy and throttle gate.
#[derive(Clone)]
pub struct Caller {
    service: &'static str,
    policy: RetryPolicy,
    metrics: Arc<Metrics>,
    gate: Arc<Mutex<Gate>>,
}

impl Caller {
    pub fn new(service: &'static str, metrics: Arc<Metrics>, policy: RetryPolicy) -> Self {
        Caller {
            service,
            policy,
            metrics,
            gate: Arc::new(Mutex::new(Gate {
                closed_until: None,
                delays: policy.backoff(),
            })),
        }
    }

    /// Sends `request()` until it succeeds, fails for good, or runs out of attempts.
    pub async fn call<T, E, F, Fut>(
        &self,
        service: &'static str,
        operation: &'static str,
        request: F,
    ) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut delays = self.policy.backoff();
        let mut attempt = 1;
        let write = crate::metrics::is_write(operation);
        loop {
            self.wait_at_gate().await;
            if write && writes_halted() {
                return Err(AwsError {
                    service,
                    operation,
                    kind: ErrorKind::Transient,
                    code: None,
                    message:
                        "not sent: writes stopped (a stop was requested or the lease was lost)"
                            .to_owned(),
                });
            }
            let result = request()
                .await
                .map_err(|e| AwsError::from_sdk(service, operation, e));
            let label = match &result {
                Ok(_) => "ok",
                Err(e) => e.metric_label(),
            };
            self.metrics.api_call(service, operation, label);
            match result {
                Ok(value) => {
                    self.open_gate();
                    return Ok(value);
                }
                Err(e) if e.kind == ErrorKind::Throttled => {
                    self.metrics.throttled(service, operation);
                    self.close_gate();
                    if attempt >= self.policy.attempts {
                        return Err(e);
                    }
                    // The gate is the wait: every call to this service shares it.
                }
                Err(e)
                    if e.kind == ErrorKind::Transient
                        && attempt < self.policy.attempts
                        && (e.code.is_some() || !NOT_IDEMPOTENT.contains(&operation)) =>
                {
                    let delay = delays.next().unwrap_or(self.policy.max);
                    tracing::debug!(service, operation, error = %e, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
            attempt += 1;
        }
    }

    async fn wait_at_gate(&self) {
        loop {
            let until = self.lock().closed_until;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => return,
            }
        }
    }

    fn close_gate(&self) {
        let mut gate = self.lock();
        let now = Instant::now();
        // Throttles of calls already in flight when the gate closed are the
        // same throttle: only one arriving at an open gate lengthens the delay.
        if gate.closed_until.is_some_and(|t| t > now) {
            return;
        }
        // Jitter may double a delay; the cap holds after it.
        let delay = gate
            .delays
            .next()
            .unwrap_or(self.policy.max)
            .min(self.policy.max);
        let until = now + delay;
        gate.closed_until = Some(until);
        self.metrics
            .service_backoff(self.service, delay.as_secs_f64());
        tracing::info!(
            service = self.service,
            ?delay,
            "throttled: backing off the service"
        );
    }

    fn open_gate(&self) {
        let mut gate = self.lock();
        if gate.closed_until.is_some() {
            gate.closed_until = None;
            gate.delays = self.policy.backoff();
            self.metrics.service_backoff(self.service, 0.0);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        match self.gate.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_delays_grow_and_stay_within_the_cap() {
        let policy = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let delays: Vec<Duration> = policy.backoff().take(8).collect();
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(2)),
            "{delays:?}"
        );
        assert!(delays[0] >= Duration::from_millis(100), "{delays:?}");
        assert!(delays[7] >= Duration::from_secs(1), "{delays:?}");
    }

    #[test]
    fn a_success_opens_the_gate_and_restarts_its_delays() {
        let caller = Caller::new("ecs", Arc::new(Metrics::default()), RetryPolicy::default());
        caller.close_gate();
        caller.close_gate();
        assert!(caller.lock().closed_until.is_some());
        caller.open_gate();
        assert!(caller.lock().closed_until.is_none());
        let first = caller.lock().delays.next().expect("a delay");
        assert!(first < Duration::from_millis(500), "{first:?}");
    }

    #[test]
    fn throttles_of_calls_in_flight_do_not_lengthen_a_closed_gate() {
        let caller = Caller::new("ecs", Arc::new(Metrics::default()), RetryPolicy::default());
        caller.close_gate();
        let first = caller.lock().closed_until;
        caller.close_gate();
        caller.close_gate();
        assert_eq!(caller.lock().closed_until, first);
    }

    #[test]
    fn no_write_is_sent_once_writes_are_halted_but_reads_are() {
        use aws_sdk_sns::operation::publish::PublishError;
        let caller = Caller::new("sns", Arc::new(Metrics::default()), RetryPolicy::default());
        let sent = std::sync::atomic::AtomicU32::new(0);
        let request = || {
            sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::ready(Ok::<(), SdkError<PublishError, HttpResponse>>(()))
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let halted: Arc<dyn Fn() -> bool + Send + Sync> = Arc::new(|| true);
        let (write, read) = runtime.block_on(with_write_guard(halted, async {
            (
                caller.call("sns", "Publish", request).await,
                caller.call("sns", "ListTopics", request).await,
            )
        }));
        assert!(write.is_err_and(|e| e.message.contains("not sent")));
        assert!(read.is_ok());
        assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
