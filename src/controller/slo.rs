//! The SLO evaluator: every `--slo-interval`, beside the reconcile loop (a
//! slow or failing CloudWatch read never delays it), read the SLO metrics,
//! evaluate, step the paging states and publish pages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::Shared;
use super::status::SloStatus;
use crate::aws::Aws;
use crate::aws::sns::SnsApi;
use crate::slo::read::{Readings, read};
use crate::slo::{evaluate, query};

pub async fn run<A: Aws>(aws: Arc<A>, shared: Arc<Shared>, interval: Duration, instance: String) {
    while !shared.stopping() {
        let started = Instant::now();
        let inputs = shared.inputs.read().ok().and_then(|i| i.clone());
        // Only the lease holder pages: a standby would page twice.
        let leader = shared.lease.may_write(Instant::now());
        if let Some(inputs) = inputs.filter(|i| leader && !i.desired.slos.is_empty()) {
            evaluate_once(&*aws, &shared, &inputs, interval, &instance).await;
        }
        // Registered before the check, so a stop between the two is not missed.
        let stopped = shared.stopped.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        if shared.stopping() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until((started + interval).into()) => {}
            _ = stopped => {}
        }
    }
}

async fn evaluate_once<A: Aws>(
    aws: &A,
    shared: &Shared,
    inputs: &super::Inputs,
    interval: Duration,
    instance: &str,
) {
    let desired = &inputs.desired;
    let now = Timestamp::now();
    let reads = query::plan_reads(desired, now);
    // A read that outlives the interval is abandoned: the next one starts fresh.
    let readings = match tokio::time::timeout(interval, read(&reads, aws.cloudwatch())).await {
        Ok(r) => r,
        Err(_) => {
            let mut r = Readings::default();
            for q in reads.calls.iter().flat_map(|c| &c.queries) {
                r.failed.insert(
                    q.id.clone(),
                    format!("GetMetricData took longer than {interval:?}"),
                );
            }
            r
        }
    };
    let evaluations = evaluate(desired, &reads, &readings, now);
    let unsent = shared
        .notifier()
        .slo(desired, &inputs.topics, &evaluations, instance, now);
    for u in &unsent {
        match aws.sns().publish(&u.message).await {
            Ok(()) => {
                tracing::info!(topic = %u.message.topic_arn, subject = %u.message.subject, "SLO notification sent")
            }
            Err(e) => {
                tracing::warn!(topic = %u.message.topic_arn, error = %e, "SLO notification failed");
                shared.notifier().unsent(u);
            }
        }
    }
    shared.metrics.slo_evaluated(&evaluations);
    let states = shared.notifier().memory.slo.clone();
    if let Ok(mut s) = shared.status.write() {
        s.slos = evaluations
            .into_iter()
            .map(|e| SloStatus::new(e, &states))
            .collect();
        s.slo_evaluated_at = Some(now);
        s.slo_evaluations += 1;
    }
}
