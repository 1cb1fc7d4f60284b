//! Deployment histories, read only where a hold may have to be decided
//! (SPEC §3.1), and remembered while nothing about the service changed.

use std::collections::BTreeSet;

use crate::aws::ecs::EcsApi;
use crate::desired::Desired;
use crate::observed::{Memory, Observed, RolloutMemo};

/// The deployment history of each service that runs another task definition
/// than its document asks for, where ECS may have rolled it back (SPEC §3.1).
/// Remembered while the document asks for the same revision and ECS's
/// PRIMARY deployment stays the same: a steady hold asks nothing. A history
/// that cannot be read keeps the one remembered, whatever it was read for.
/// `only`: a targeted pass's services; the others' memory is kept as it is.
pub(super) async fn observe_rollouts<E: EcsApi>(
    desired: &Desired,
    ecs: &E,
    memory: &mut Memory,
    observed: &mut Observed,
    only: Option<&BTreeSet<(String, String)>>,
) {
    let mut asked = BTreeSet::new();
    for ds in desired.services.values() {
        let key = (ds.cluster.clone(), ds.service_name.clone());
        if only.is_some_and(|only| !only.contains(&key)) {
            continue;
        }
        let Some(live) = observed.services.get(&key) else {
            continue;
        };
        let Some(want) = observed.wanted_task_definition(&ds.spec) else {
            continue;
        };
        let want = want.to_owned();
        if live.task_definition == want || !live.rolls_back() {
            continue;
        }
        asked.insert(key.clone());
        let primary = live.primary().map(|d| d.id.clone());
        if let Some(memo) = memory.rollouts.get(&key)
            && memo.desired == want
            && memo.primary == primary
        {
            observed.rollouts.insert(key, Ok(memo.history.clone()));
            continue;
        }
        match ecs.deployment_history(&ds.cluster, &ds.service_name).await {
            Ok(history) => {
                memory.rollouts.insert(
                    key.clone(),
                    RolloutMemo {
                        desired: want,
                        primary,
                        history: history.clone(),
                    },
                );
                observed.rollouts.insert(key, Ok(history));
            }
            Err(e) => {
                let scope = format!("deployments of {}/{}", key.0, key.1);
                observed.errors.insert(scope, e.to_string());
                let kept = memory.rollouts.get(&key).map(|m| m.history.clone());
                observed
                    .rollouts
                    .insert(key, kept.ok_or_else(|| e.to_string()));
            }
        }
    }
    // Services that run their revision again need no memory.
    memory
        .rollouts
        .retain(|k, _| asked.contains(k) || only.is_some_and(|only| !only.contains(k)));
}
