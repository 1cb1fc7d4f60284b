//! A targeted pass (`--events-queue`): the resources events named and what
//! depends on them, observed over the last full observation, planned by the
//! same pure planner, and only their steps kept (SPEC §5).

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;

use super::pass::{Extra, LoopState, act};
use super::status::PassReport;
use super::{RunOptions, Shared};
use crate::aws::Aws;
use crate::model::Kind;
use crate::notify::Causes;
use crate::observe::observe_scoped;
use crate::plan::plan;
use crate::watch::Pending;
use crate::watch::scope::{Decision, decide};

/// What the controller does after a targeted pass.
pub(super) enum Next {
    /// Done (or nothing to do): wait again.
    Wait,
    /// Only a full pass can cover these events; it takes them over.
    Full(Pending),
}

/// Kinds other documents resolve against: a targeted plan that would write
/// one of them was made over a stale picture of it.
const CONTEXT: [Kind; 3] = [
    Kind::AlertChannel,
    Kind::DiscoveryService,
    Kind::TaskDefinition,
];

pub(super) async fn run<A: Aws>(
    st: &mut LoopState,
    aws: &A,
    shared: &Arc<Shared>,
    options: &RunOptions,
) -> Next {
    let pending = shared.watch.take();
    if pending.is_empty() {
        return Next::Wait;
    }
    let Some(desired) = st.last_good.clone().filter(|_| st.cache.is_some()) else {
        return Next::Full(pending);
    };
    let scope = match decide(&desired, &pending) {
        Decision::Nothing => {
            tracing::debug!(
                events = pending.receipts.len(),
                "events name nothing this instance reconciles"
            );
            shared.watch.consumed(pending.receipts);
            return Next::Wait;
        }
        Decision::Full { why, .. } => {
            tracing::info!(%why, "events ask for a full pass");
            return Next::Full(pending);
        }
        Decision::Targeted(scope) => scope,
    };
    let started = Instant::now();
    let started_at = Timestamp::now();
    let calls_before = aws_calls(shared);
    // Patched in place, not copied: it stays the last observation either way
    // (fresher where the scope was read).
    let base = st.cache.take().unwrap_or_default();
    let observed = observe_scoped(&desired, aws, &mut st.memory, &scope, base).await;
    let mut plan = plan(&desired, &observed, Timestamp::now(), &options.plan);
    let stale = plan
        .steps
        .iter()
        .find(|s| CONTEXT.contains(&s.resource.kind) && !s.runnable_ops().is_empty());
    if let Some(step) = stale {
        tracing::info!(resource = %step.resource, "a targeted pass would write outside its scope: full pass");
        st.cache = Some(observed);
        return Next::Full(pending);
    }
    plan.steps.retain(|s| scope.docs.contains(&s.resource));
    let causes = Causes {
        changed_by: scope.changed_by.clone(),
        scope: Some(scope.docs.iter().map(ToString::to_string).collect()),
    };
    let (outcome, mut errors) = act(
        st,
        &desired,
        &observed,
        &plan,
        &causes,
        Extra::default(),
        aws,
        shared,
        options,
    )
    .await;
    errors.extend(observed.errors.iter().map(|(k, e)| format!("{k}: {e}")));
    st.cache = Some(observed);
    shared.watch.consumed(pending.receipts);
    shared.metrics.pass("targeted");
    shared.watch.update_status(|s| s.targeted_passes += 1);
    let calls = aws_calls(shared) - calls_before;
    let report = PassReport {
        started_at,
        finished_at: Timestamp::now(),
        resources: plan.steps.iter().map(|s| s.resource.to_string()).collect(),
        writes: outcome.writes(),
        calls,
        errors,
    };
    tracing::info!(
        resources = report.resources.len(),
        writes = report.writes,
        calls,
        seconds = started.elapsed().as_secs_f64(),
        "targeted pass finished"
    );
    if let Ok(mut s) = shared.status.write() {
        s.last_targeted_pass = Some(report);
    }
    Next::Wait
}

/// AWS calls so far, the queue's own left out (the intake polls meanwhile).
fn aws_calls(shared: &Shared) -> u64 {
    shared
        .metrics
        .call_counts()
        .iter()
        .filter(|(op, _)| !op.starts_with("sqs:"))
        .map(|(_, n)| n)
        .sum()
}
