//! An in-memory Application Auto Scaling: targets and policies per resource;
//! deregistering a target deletes its policies, as AWS does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Calls, error};
use crate::aws::autoscaling::{ObservedPolicy, ObservedTarget, ScalingApi, TrackingPolicy};
use crate::aws::{AwsError, ErrorKind};

#[derive(Debug, Default)]
struct State {
    targets: BTreeMap<String, ObservedTarget>,
    policies: BTreeMap<String, BTreeMap<String, TrackingPolicy>>,
    calls: Calls,
}

#[derive(Debug, Default)]
pub struct FakeScaling {
    state: Mutex<State>,
}

const AAS: &str = "application-autoscaling";

impl FakeScaling {
    pub fn new() -> Self {
        FakeScaling::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn target(&self, resource_id: &str) -> Option<ObservedTarget> {
        self.with(|s| s.targets.get(resource_id).copied())
    }

    pub fn policies(&self, resource_id: &str) -> Vec<TrackingPolicy> {
        self.with(|s| {
            s.policies
                .get(resource_id)
                .map(|p| p.values().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Changes a target behind the operator's back.
    pub fn set_target(&self, resource_id: &str, min: u32, max: u32) {
        self.with(|s| {
            s.targets
                .insert(resource_id.to_owned(), ObservedTarget { min, max })
        });
    }

    /// Adds a policy behind the operator's back.
    pub fn add_policy(&self, resource_id: &str, policy: TrackingPolicy) {
        self.with(|s| {
            s.policies
                .entry(resource_id.to_owned())
                .or_default()
                .insert(policy.name.clone(), policy);
        });
    }

    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.with(|s| s.calls.failures.entry(operation).or_default().push(kind));
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.calls.counts.get(operation).copied().unwrap_or(0))
    }

    pub fn writes(&self) -> u64 {
        self.with(|s| s.calls.writes())
    }
}

impl ScalingApi for FakeScaling {
    async fn describe_targets(
        &self,
        resource_ids: &[String],
    ) -> Result<BTreeMap<String, ObservedTarget>, AwsError> {
        self.with(|s| {
            s.calls.call(AAS, "DescribeScalableTargets")?;
            if resource_ids.len() > 50 {
                return Err(error(
                    AAS,
                    "DescribeScalableTargets",
                    ErrorKind::Invalid,
                    "at most 50 resource ids",
                ));
            }
            Ok(resource_ids
                .iter()
                .filter_map(|id| s.targets.get(id).map(|t| (id.clone(), *t)))
                .collect())
        })
    }

    async fn describe_policies(&self, resource_id: &str) -> Result<Vec<ObservedPolicy>, AwsError> {
        self.with(|s| {
            s.calls.call(AAS, "DescribeScalingPolicies")?;
            Ok(s.policies
                .get(resource_id)
                .map(|p| {
                    p.values()
                        .map(|t| ObservedPolicy {
                            name: t.name.clone(),
                            tracking: Some(t.clone()),
                        })
                        .collect()
                })
                .unwrap_or_default())
        })
    }

    async fn register_target(
        &self,
        resource_id: &str,
        min: u32,
        max: u32,
        _tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(AAS, "RegisterScalableTarget")?;
            s.targets
                .insert(resource_id.to_owned(), ObservedTarget { min, max });
            Ok(())
        })
    }

    async fn put_policy(&self, resource_id: &str, policy: &TrackingPolicy) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(AAS, "PutScalingPolicy")?;
            if !s.targets.contains_key(resource_id) {
                return Err(error(
                    AAS,
                    "PutScalingPolicy",
                    ErrorKind::Invalid,
                    "no scalable target",
                ));
            }
            s.policies
                .entry(resource_id.to_owned())
                .or_default()
                .insert(policy.name.clone(), policy.clone());
            Ok(())
        })
    }

    async fn delete_policy(&self, resource_id: &str, name: &str) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(AAS, "DeleteScalingPolicy")?;
            match s.policies.get_mut(resource_id).and_then(|p| p.remove(name)) {
                Some(_) => Ok(()),
                None => Err(error(
                    AAS,
                    "DeleteScalingPolicy",
                    ErrorKind::NotFound,
                    "no such policy",
                )),
            }
        })
    }

    async fn deregister_target(&self, resource_id: &str) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(AAS, "DeregisterScalableTarget")?;
            s.policies.remove(resource_id);
            match s.targets.remove(resource_id) {
                Some(_) => Ok(()),
                None => Err(error(
                    AAS,
                    "DeregisterScalableTarget",
                    ErrorKind::NotFound,
                    "no such target",
                )),
            }
        })
    }
}
