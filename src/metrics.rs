//! Prometheus metrics of the controller: loops, drift, AWS calls, loop duration.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    operation: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    service: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SloWindowLabels {
    slo: String,
    window: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SloLabels {
    slo: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    service: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    kind: &'static str,
}

/// Every metric the operator exports, plus call counts readable in-process
/// (the `apply` summary and the tests count writes with them).
pub struct Metrics {
    registry: Registry,
    api_calls: Family<CallLabels, Counter>,
    throttled: Family<OperationLabels, Counter>,
    service_backoff: Family<ServiceLabels, Gauge<f64, AtomicU64>>,
    loops: Family<ResultLabels, Counter>,
    drifted: Gauge,
    loop_seconds: Histogram,
    last_sync: Gauge<f64, AtomicU64>,
    slo_burn_rate: Family<SloWindowLabels, Gauge<f64, AtomicU64>>,
    slo_budget: Family<SloLabels, Gauge<f64, AtomicU64>>,
    service_health: Family<HealthLabels, Gauge>,
    rollouts: Family<ResultLabels, Counter>,
    events: Family<EventLabels, Counter>,
    passes: Family<PassLabels, Counter>,
    events_oldest: Gauge<f64, AtomicU64>,
    counts: Mutex<BTreeMap<String, u64>>,
}

/// Operations that change the estate; everything else is a read. The
/// heartbeat's PutMetricData is telemetry and the lease's UpdateItem
/// coordination (a standby makes one every renew period), and the events
/// queue's receives and deletes bookkeeping: none changes anything owned.
pub fn is_write(operation: &str) -> bool {
    ![
        "PutMetricData",
        "UpdateItem",
        "ReceiveMessage",
        "DeleteMessageBatch",
    ]
    .contains(&operation)
        && !["Describe", "List", "Get"]
            .iter()
            .any(|p| operation.starts_with(p))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ecs_operator");
        let api_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "aws_api_calls",
            "AWS API calls by service, operation and result",
            api_calls.clone(),
        );
        let throttled = Family::<OperationLabels, Counter>::default();
        registry.register(
            "aws_throttled_calls",
            "AWS API attempts refused by throttling, by service and operation",
            throttled.clone(),
        );
        let service_backoff = Family::<ServiceLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "aws_service_backoff_seconds",
            "How long calls to an AWS service wait after its last throttle (0 once a call succeeds)",
            service_backoff.clone(),
        );
        let loops = Family::<ResultLabels, Counter>::default();
        registry.register("loops", "Reconcile loops by result", loops.clone());
        let drifted = Gauge::default();
        registry.register(
            "drifted_resources",
            "Resources whose observed state differs from desired",
            drifted.clone(),
        );
        let loop_seconds = Histogram::new([0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]);
        registry.register(
            "loop_duration_seconds",
            "Duration of a reconcile loop",
            loop_seconds.clone(),
        );
        let last_sync = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "last_successful_sync_timestamp_seconds",
            "Unix time of the last loop that finished without errors",
            last_sync.clone(),
        );
        let slo_burn_rate = Family::<SloWindowLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "slo_burn_rate",
            "Error budget burn rate of an SLO over a window (absent without events)",
            slo_burn_rate.clone(),
        );
        let slo_budget = Family::<SloLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "slo_error_budget_remaining",
            "Fraction of an SLO's error budget left over its window",
            slo_budget.clone(),
        );
        let service_health = Family::<HealthLabels, Gauge>::default();
        registry.register(
            "service_health",
            "1 for the deployment health state each Service document is in (progressing, healthy, degraded), 0 for the others",
            service_health.clone(),
        );
        let rollouts = Family::<ResultLabels, Counter>::default();
        registry.register(
            "rollouts",
            "ECS deployments followed to their end, by result (completed, failed, rolled_back)",
            rollouts.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events",
            "Messages read from the events queue, by kind (serviceAction, deploymentStateChange, apiCall, other) and result (accepted, ignored, duplicate)",
            events.clone(),
        );
        let passes = Family::<PassLabels, Counter>::default();
        registry.register(
            "passes",
            "Reconcile passes by kind: full (the periodic loop, a sync, a flood of events) or targeted (the resources events named)",
            passes.clone(),
        );
        let events_oldest = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "events_oldest_pending_seconds",
            "Age of the oldest event received and not yet acted on (0 when none waits)",
            events_oldest.clone(),
        );
        Metrics {
            registry,
            events,
            passes,
            events_oldest,
            service_health,
            rollouts,
            slo_burn_rate,
            slo_budget,
            api_calls,
            throttled,
            service_backoff,
            loops,
            drifted,
            loop_seconds,
            last_sync,
            counts: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Metrics {
    pub fn api_call(&self, service: &'static str, operation: &'static str, result: &'static str) {
        self.api_calls
            .get_or_create(&CallLabels {
                service,
                operation,
                result,
            })
            .inc();
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(format!("{service}:{operation}")).or_default() += 1;
        }
    }

    pub fn throttled(&self, service: &'static str, operation: &'static str) {
        self.throttled
            .get_or_create(&OperationLabels { service, operation })
            .inc();
    }

    pub fn service_backoff(&self, service: &'static str, seconds: f64) {
        self.service_backoff
            .get_or_create(&ServiceLabels { service })
            .set(seconds);
    }

    /// Calls made so far (every attempt), by `service:Operation`.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Write calls made so far.
    pub fn writes(&self) -> u64 {
        self.call_counts()
            .iter()
            .filter(|(op, _)| op.split_once(':').is_some_and(|(_, o)| is_write(o)))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn loop_finished(&self, ok: bool, seconds: f64, drifted: usize, unix_now: f64) {
        self.loops
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "error" },
            })
            .inc();
        self.loop_seconds.observe(seconds);
        self.drifted.set(i64::try_from(drifted).unwrap_or(i64::MAX));
        if ok {
            self.last_sync.set(unix_now);
        }
    }

    /// Burn rates and budgets of one SLO evaluation; windows without events are left out.
    pub fn slo_evaluated(&self, evaluations: &[crate::slo::Evaluation]) {
        self.slo_burn_rate.clear();
        self.slo_budget.clear();
        for e in evaluations {
            for (window, rate) in &e.burn_rates {
                if let Some(rate) = rate {
                    self.slo_burn_rate
                        .get_or_create(&SloWindowLabels {
                            slo: e.name.clone(),
                            window: window.to_string(),
                        })
                        .set(*rate);
                }
            }
            if let Some(b) = e.budget_remaining {
                self.slo_budget
                    .get_or_create(&SloLabels {
                        slo: e.name.clone(),
                    })
                    .set(b);
            }
        }
    }

    /// The health of every Service of the last plan; documents gone are dropped.
    pub fn service_health(&self, plan: &crate::plan::Plan) {
        use crate::plan::service::rollout::HealthState;
        self.service_health.clear();
        for step in &plan.steps {
            let Some(h) = &step.health else {
                continue;
            };
            for state in HealthState::ALL {
                self.service_health
                    .get_or_create(&HealthLabels {
                        service: step.resource.to_string(),
                        state: state.key(),
                    })
                    .set(i64::from(state == h.state));
            }
        }
    }

    pub fn rollout_ended(&self, result: &'static str) {
        self.rollouts.get_or_create(&ResultLabels { result }).inc();
    }

    pub fn event(&self, kind: &'static str, result: &'static str) {
        self.events
            .get_or_create(&EventLabels { kind, result })
            .inc();
    }

    pub fn pass(&self, kind: &'static str) {
        self.passes.get_or_create(&PassLabels { kind }).inc();
    }

    pub fn events_oldest_pending(&self, seconds: f64) {
        self.events_oldest.set(seconds);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
