//! What full and targeted passes share once they have a plan: apply it (as
//! the lease holder), remember failures, fold it into `/status`, and send
//! what the notifier decides.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;

use super::backoff::Backoffs;
use super::{Inputs, RunOptions, Shared};
use crate::apply::{self, Outcome};
use crate::aws::Aws;
use crate::aws::sns::{Message, SnsApi};
use crate::desired::Desired;
use crate::model::DocRef;
use crate::notify::{Causes, Notifier};
use crate::observed::{Memory, Observed};
use crate::plan::Plan;
use crate::plan::alert_channel::topic_arns;

/// What one pass hands to the next.
#[derive(Default)]
pub(super) struct LoopState {
    pub last_good: Option<Arc<Desired>>,
    pub memory: Memory,
    pub backoffs: Backoffs,
    /// AlertChannel → topic ARN, as last known.
    pub last_topics: BTreeMap<String, String>,
    /// The `operator started` message went out.
    pub announced: bool,
    /// The last full observation: where targeted passes start from.
    pub cache: Option<Observed>,
}

/// Messages only a full pass sends.
#[derive(Default)]
pub(super) struct Extra {
    /// A revision that did not validate, and its errors.
    pub rejected: Option<(String, Vec<String>)>,
}

/// Applies `plan` and reports it; returns what apply did and the errors.
#[allow(clippy::too_many_arguments)] // the pass's state, passed as it is
pub(super) async fn act<A: Aws>(
    st: &mut LoopState,
    desired: &Arc<Desired>,
    observed: &Observed,
    plan: &Plan,
    causes: &Causes,
    extra: Extra,
    aws: &A,
    shared: &Arc<Shared>,
    options: &RunOptions,
) -> (Outcome, Vec<String>) {
    let mut errors = Vec::new();
    let leader = shared.lease.may_write(Instant::now());
    let writing = leader && !options.dry_run;
    for step in plan.steps.iter().filter(|s| s.action.is_change()) {
        let by = causes
            .changed_by
            .get(&step.resource.to_string())
            .map(crate::events::Actor::describe);
        for c in &step.changes {
            tracing::info!(resource = %step.resource, action = step.action.key(), revision = %plan.revision, field = %c.field, actual = %c.actual, desired = %c.desired, changed_by = by.as_deref(), "drift");
        }
    }
    let mut outcome = Outcome::default();
    if writing {
        let now = Instant::now();
        // Asked before every write, and before every retry of one: a
        // write's retries must not outlast the lease.
        let guard = shared.clone();
        let halt = move || guard.stopping() || !guard.lease.may_write(Instant::now());
        let halted: Arc<dyn Fn() -> bool + Send + Sync> = Arc::new(halt.clone());
        let backoffs = &st.backoffs;
        outcome = crate::aws::call::with_write_guard(
            halted,
            apply::apply(plan, aws, &halt, |r| backoffs.ready(r, now)),
        )
        .await;
        st.memory.forget_tagged(plan);
        let now = Instant::now();
        for step in &outcome.steps {
            match &step.error {
                Some(e) => st.backoffs.failed(&step.resource, e, now),
                None => st.backoffs.succeeded(&step.resource),
            }
        }
        // A resource with nothing left to write (in sync, blocked, gone) has
        // nothing to retry: a stale entry would wake loops. A targeted plan
        // covers only its scope.
        let writable: BTreeSet<&DocRef> = plan
            .steps
            .iter()
            .filter(|s| !s.runnable_ops().is_empty())
            .map(|s| &s.resource)
            .collect();
        let planned: BTreeSet<&DocRef> = plan.steps.iter().map(|s| &s.resource).collect();
        let scoped = causes.scope.is_some();
        st.backoffs
            .retain(|r| writable.contains(r) || (scoped && !planned.contains(r)));
    }
    errors.extend(
        outcome
            .failures()
            .map(|f| format!("{}: {}", f.resource, f.error.clone().unwrap_or_default())),
    );
    if let Ok(mut s) = shared.status.write() {
        s.record_with(plan, &outcome, Timestamp::now(), causes);
        let backoffs = &st.backoffs;
        s.held(plan, |r| backoffs.held(r, Instant::now()));
    }
    let mut topics = topic_arns(desired, observed);
    // SNS unreadable this loop: a topic's ARN never changes, so the last
    // loop's stands in. Without it, drift corrected in this loop was never
    // reported (found by the fault suite).
    if observed.topics.is_none() {
        for (name, arn) in topics.iter_mut() {
            if let Some(last) = st.last_topics.get(name).filter(|t| t.starts_with("arn:")) {
                arn.clone_from(last);
            }
        }
    }
    // A topic this pass created is known now: its channel hears this pass's
    // news (and `operator stopping` after a SIGTERM right after it).
    for (name, arn) in &outcome.topics {
        topics.insert(name.clone(), arn.clone());
    }
    let messages = if leader {
        messages(
            st, desired, &topics, plan, &outcome, causes, extra, shared, options,
        )
    } else {
        Vec::new()
    };
    if causes.scope.is_none()
        && let Ok(mut inputs) = shared.inputs.write()
    {
        *inputs = Some(Inputs {
            desired: desired.clone(),
            topics: topics.clone(),
        });
    }
    st.last_topics = topics;
    for m in &messages {
        if !shared.lease.may_write(Instant::now()) {
            // Lost the lease since the pass began: the new holder reports.
            break;
        }
        match aws.sns().publish(m).await {
            Ok(()) => {
                tracing::info!(topic = %m.topic_arn, subject = %m.subject, "notification sent")
            }
            Err(e) => {
                tracing::warn!(topic = %m.topic_arn, error = %e, "notification failed");
                errors.push(format!("notification to {}: {e}", m.topic_arn));
                // Sent again next loop, not lost.
                shared.notifier().outbox(m.clone());
            }
        }
    }
    (outcome, errors)
}

/// What the notifier says about this pass, after what failed to go out last time.
#[allow(clippy::too_many_arguments)] // the pass's state, passed as it is
fn messages(
    st: &mut LoopState,
    desired: &Desired,
    topics: &BTreeMap<String, String>,
    plan: &Plan,
    outcome: &Outcome,
    causes: &Causes,
    extra: Extra,
    shared: &Shared,
    options: &RunOptions,
) -> Vec<Message> {
    let instance = &options.plan.instance;
    let mut notifier: std::sync::MutexGuard<'_, Notifier> = shared.notifier();
    // What failed last loop goes first, in its order.
    let mut out = notifier.take_outbox();
    let now = Timestamp::now();
    out.extend(notifier.drift(desired, topics, plan, outcome, options.dry_run, now, causes));
    let (rollouts, ended) = notifier.rollouts(desired, topics, plan, outcome, now);
    for result in ended {
        shared.metrics.rollout_ended(result.key());
    }
    out.extend(rollouts);
    if causes.scope.is_some() {
        return out;
    }
    if !st.announced
        && let Some(started) = notifier.lifecycle(desired, topics, instance, "started")
    {
        out.extend(started);
        st.announced = true;
    }
    if let Some((revision, errs)) = extra.rejected {
        out.extend(notifier.rejected(desired, topics, instance, &revision, &errs));
    }
    if let Some(problem) = shared.watch.take_problem() {
        let told = notifier.operator_problem(desired, topics, instance, &problem);
        if told.is_empty() {
            // No topic yet (the first loop creates it): told by a later loop.
            shared.watch.problem(problem);
        }
        out.extend(told);
    }
    out
}
