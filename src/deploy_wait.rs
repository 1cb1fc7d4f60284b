//! `apply --wait` (SPEC §5): follow every ECS deployment an apply started
//! until it completed, failed or was rolled back, so a CI job cannot report
//! success for a deploy that ECS undid. `judge` is pure; `wait` polls.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::apply::Outcome;
use crate::aws::ecs::{EcsApi, ObservedService};
use crate::observe::DESCRIBE_SERVICES_BATCH;
use crate::observed::Observed;
use crate::plan::service::rollout::{HealthState, short_td};
use crate::plan::{Op, Plan};

/// A deployment an apply started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// `Service/web`.
    pub resource: String,
    pub cluster: String,
    pub service: String,
    /// The task definition ARN sent, when the apply changed it.
    pub task_definition: Option<String>,
    /// ECS's deployments before the write: a deployment not among them is this one.
    pub replaced: BTreeSet<String>,
}

/// Where a followed deployment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    InProgress(String),
    Healthy(String),
    /// Failed or rolled back, with ECS's reason.
    Failed(String),
}

impl Verdict {
    pub fn ended(&self) -> bool {
        !matches!(self, Verdict::InProgress(_))
    }
}

/// The deployments the successful writes of `plan` started, by resource;
/// `observed` is what the plan was made from.
pub fn started(plan: &Plan, observed: &Observed, outcome: &Outcome) -> Vec<Followed> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let ok = outcome
            .steps
            .iter()
            .any(|o| o.resource == step.resource && o.error.is_none());
        if !ok {
            continue;
        }
        let resource = step.resource.to_string();
        for op in step.runnable_ops() {
            let (cluster, service, td) = match op {
                Op::CreateService(c) => (
                    &c.cluster,
                    &c.name,
                    Some(outcome.task_definition(&c.task_definition)),
                ),
                Op::UpdateService(u) if u.starts_deployment() => (
                    &u.cluster,
                    &u.name,
                    u.task_definition
                        .as_deref()
                        .map(|t| outcome.task_definition(t)),
                ),
                _ => continue,
            };
            let live = observed.service(cluster, service);
            // A replacement deletes and creates: nothing before it counts.
            let replaced = match op {
                Op::CreateService(_) => BTreeSet::new(),
                _ => live
                    .map(|l| l.deployments.iter().map(|d| d.id.clone()).collect())
                    .unwrap_or_default(),
            };
            out.push(Followed {
                resource: resource.clone(),
                cluster: cluster.clone(),
                service: service.clone(),
                task_definition: td,
                replaced,
            });
        }
    }
    out
}

/// Rollouts of the documents' services that this apply did not start but
/// that are still under way or held (the controller got there first, from
/// the same commit): followed too, so a CI job's `apply --wait` reports the
/// commit's deploy whoever sent it.
pub fn in_flight(plan: &Plan, observed: &Observed, followed: &[Followed]) -> Vec<Followed> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let resource = step.resource.to_string();
        if followed.iter().any(|f| f.resource == resource) {
            continue;
        }
        let Some(live) = step
            .arn
            .as_ref()
            .and_then(|arn| observed.services.values().find(|s| &s.arn == arn))
        else {
            continue;
        };
        let (revision, replaced) = match (&step.hold, &step.health) {
            (Some(hold), _) => (hold.revision.clone(), BTreeSet::new()),
            (None, Some(h)) if h.state == HealthState::Progressing => {
                let primary = h.deployment.clone();
                let replaced = live
                    .deployments
                    .iter()
                    .map(|d| d.id.clone())
                    .filter(|id| Some(id) != primary.as_ref())
                    .collect();
                (h.revision.clone().unwrap_or_default(), replaced)
            }
            _ => continue,
        };
        out.push(Followed {
            resource,
            cluster: live.cluster.clone(),
            service: live.name.clone(),
            task_definition: Some(revision),
            replaced,
        });
    }
    out
}

/// Judges one followed deployment from the live service.
pub fn judge(f: &Followed, live: Option<&ObservedService>) -> Verdict {
    let Some(live) = live.filter(|l| l.status == "ACTIVE") else {
        return Verdict::Failed("the service is gone".to_owned());
    };
    let new: Vec<_> = live
        .deployments
        .iter()
        .filter(|d| !f.replaced.contains(&d.id))
        .collect();
    if let Some(d) = new
        .iter()
        .find(|d| d.rollout_state.as_deref() == Some("FAILED"))
    {
        let reason = d
            .rollout_state_reason
            .as_deref()
            .unwrap_or("ECS reports FAILED");
        let back = live
            .primary()
            .filter(|p| p.id != d.id)
            .map(|p| format!("; ECS rolls back to {}", short_td(&p.task_definition)))
            .unwrap_or_default();
        return Verdict::Failed(format!(
            "{} of {} failed: {reason}{back}",
            d.id,
            short_td(&d.task_definition)
        ));
    }
    // Compared as `family:revision`: a followed rollout may be known by that alone.
    if let Some(td) = &f.task_definition
        && short_td(&live.task_definition) != short_td(td)
    {
        return Verdict::Failed(format!(
            "ECS rolled {} back to {}",
            short_td(td),
            short_td(&live.task_definition)
        ));
    }
    let Some(primary) = live.primary().filter(|p| !f.replaced.contains(&p.id)) else {
        return Verdict::InProgress("waiting for ECS to start the deployment".to_owned());
    };
    let state = primary.rollout_state.as_deref();
    let stable = match state {
        Some(s) => {
            s == "COMPLETED"
                && f.task_definition
                    .as_deref()
                    .is_none_or(|td| short_td(td) == short_td(&primary.task_definition))
        }
        // Behind a Classic Load Balancer: ECS's own "stable" rule.
        None => live.deployments.len() == 1,
    };
    let counts = format!(
        "{} of {} tasks running",
        live.running_count, live.desired_count
    );
    if stable && live.running_count >= live.desired_count {
        Verdict::Healthy(format!(
            "{} of {} completed, {counts}",
            primary.id,
            short_td(&primary.task_definition)
        ))
    } else {
        Verdict::InProgress(format!(
            "{} of {} {}, {counts}",
            primary.id,
            short_td(&primary.task_definition),
            state
                .unwrap_or("in progress")
                .to_lowercase()
                .replace('_', " ")
        ))
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Healthy,
    /// One failed or was rolled back.
    Failed,
    TimedOut,
}

/// Polls every `poll` until each followed deployment ended or `timeout`
/// passed, printing a line per change of state (and, on timeout, what is
/// still in progress). A failure wins over a timeout.
pub async fn wait<E: EcsApi>(
    ecs: &E,
    followed: &[Followed],
    timeout: Duration,
    poll: Duration,
) -> Waited {
    let deadline = Instant::now() + timeout;
    let mut verdicts: BTreeMap<usize, Verdict> = BTreeMap::new();
    println!(
        "waiting for {} deployment{} (timeout {}s)",
        followed.len(),
        if followed.len() == 1 { "" } else { "s" },
        timeout.as_secs()
    );
    loop {
        let live = describe(ecs, followed).await;
        for (i, f) in followed.iter().enumerate() {
            if verdicts.get(&i).is_some_and(Verdict::ended) {
                continue;
            }
            let key = (f.cluster.clone(), f.service.clone());
            let mut verdict = match live.get(&key) {
                Some(Ok(service)) => judge(f, Some(service)),
                // A read that failed says nothing: ask again next poll.
                Some(Err(e)) => Verdict::InProgress(format!("could not read the service: {e}")),
                None => judge(f, None),
            };
            if let (Verdict::Failed(why), Some(td)) = (&verdict, &f.task_definition) {
                verdict = Verdict::Failed(with_ecs_reason(ecs, f, td, why).await);
            }
            if verdicts.get(&i) != Some(&verdict) {
                let (word, text) = match &verdict {
                    Verdict::InProgress(t) => ("progressing", t),
                    Verdict::Healthy(t) => ("healthy", t),
                    Verdict::Failed(t) => ("failed", t),
                };
                println!(
                    "  {} ({}/{}): {word}: {text}",
                    f.resource, f.cluster, f.service
                );
                verdicts.insert(i, verdict);
            }
        }
        let failed = verdicts
            .values()
            .filter(|v| matches!(v, Verdict::Failed(_)))
            .count();
        let ended = verdicts.values().filter(|v| v.ended()).count();
        if ended == followed.len() {
            return if failed > 0 {
                println!("wait: {failed} deployment(s) failed or were rolled back");
                Waited::Failed
            } else {
                println!("wait: every deployment is healthy");
                Waited::Healthy
            };
        }
        if Instant::now() + poll > deadline {
            let pending: Vec<&str> = followed
                .iter()
                .enumerate()
                .filter(|(i, _)| !verdicts.get(i).is_some_and(Verdict::ended))
                .map(|(_, f)| f.resource.as_str())
                .collect();
            if failed > 0 {
                println!("wait: {failed} deployment(s) failed or were rolled back");
                return Waited::Failed;
            }
            eprintln!(
                "error: timed out after {}s; still in progress: {}",
                timeout.as_secs(),
                pending.join(", ")
            );
            return Waited::TimedOut;
        }
        tokio::time::sleep(poll).await;
    }
}

type Live = BTreeMap<(String, String), Result<ObservedService, String>>;

/// The followed services, DescribeServices 10 a call per cluster.
async fn describe<E: EcsApi>(ecs: &E, followed: &[Followed]) -> Live {
    let mut by_cluster: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for f in followed {
        by_cluster
            .entry(f.cluster.as_str())
            .or_default()
            .insert(f.service.clone());
    }
    let mut out = Live::new();
    for (cluster, names) in by_cluster {
        let names: Vec<String> = names.into_iter().collect();
        for batch in names.chunks(DESCRIBE_SERVICES_BATCH) {
            match ecs.describe_services(cluster, batch).await {
                Ok(found) => {
                    for s in found {
                        out.insert((cluster.to_owned(), s.name.clone()), Ok(s));
                    }
                }
                Err(e) => {
                    for n in batch {
                        out.insert((cluster.to_owned(), n.clone()), Err(e.to_string()));
                    }
                }
            }
        }
    }
    out
}

/// ECS's own words for a rollback, from the service-deployments API.
async fn with_ecs_reason<E: EcsApi>(ecs: &E, f: &Followed, td: &str, why: &str) -> String {
    let Ok(history) = ecs.deployment_history(&f.cluster, &f.service).await else {
        return why.to_owned();
    };
    let record = history
        .iter()
        .find(|r| r.task_definition.as_deref().map(short_td) == Some(short_td(td)));
    match record.and_then(|r| r.status_reason.clone().map(|reason| (r, reason))) {
        // DescribeServices' reason often carries ECS's words already.
        Some((r, reason)) if why.contains(&reason) => format!("{why} ({})", r.status),
        Some((r, reason)) => format!("{why}: {reason} ({})", r.status),
        None => why.to_owned(),
    }
}

#[cfg(test)]
mod tests;
