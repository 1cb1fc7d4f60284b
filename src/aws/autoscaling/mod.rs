//! Application Auto Scaling of ECS services: the trait the reconciler uses.

mod sdk;

pub use sdk::SdkScaling;

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use super::AwsError;
use crate::model::autoscaler::TargetTracking;

/// DescribeScalableTargets takes at most 50 resource ids.
pub const DESCRIBE_TARGETS_BATCH: usize = 50;

/// `service/<cluster>/<service>`: the scalable resource of an ECS service.
pub fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// A registered scalable target (`ecs:service:DesiredCount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObservedTarget {
    pub min: u32,
    pub max: u32,
}

/// A target tracking policy, normalised: defaults filled, dimensions sorted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingPolicy {
    pub name: String,
    pub target_value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predefined_metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_metric: Option<CustomMetricSpec>,
    pub scale_in_cooldown: u32,
    pub scale_out_cooldown: u32,
    pub disable_scale_in: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomMetricSpec {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
}

impl TrackingPolicy {
    /// The policy a document declares, named as it will be in AWS.
    pub fn declared(autoscaler: &str, t: &TargetTracking) -> Self {
        TrackingPolicy {
            name: t.policy_name(autoscaler),
            target_value: t.target_value,
            predefined_metric: t.predefined_metric.map(|p| p.as_str().to_owned()),
            resource_label: t.resource_label.clone(),
            custom_metric: t.custom_metric.as_ref().map(|c| CustomMetricSpec {
                namespace: c.namespace.clone(),
                metric_name: c.metric_name.clone(),
                dimensions: c.dimensions.clone(),
                statistic: c.statistic.as_str().to_owned(),
            }),
            scale_in_cooldown: t.scale_in_cooldown(),
            scale_out_cooldown: t.scale_out_cooldown(),
            disable_scale_in: t.disable_scale_in(),
        }
    }
}

/// A live scaling policy: target tracking ones are compared, others only listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedPolicy {
    pub name: String,
    /// `None` for step scaling and other policy types.
    pub tracking: Option<TrackingPolicy>,
}

/// The Application Auto Scaling calls the reconciler makes (namespace `ecs`,
/// dimension `ecs:service:DesiredCount`).
pub trait ScalingApi: Send + Sync {
    /// Targets of at most 50 resource ids, every page; missing ones are left out.
    fn describe_targets(
        &self,
        resource_ids: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, ObservedTarget>, AwsError>> + Send;

    /// Every scaling policy of one resource, every page.
    fn describe_policies(
        &self,
        resource_id: &str,
    ) -> impl Future<Output = Result<Vec<ObservedPolicy>, AwsError>> + Send;

    /// Registers or updates the target's bounds (an upsert). AWS clamps the
    /// service's desiredCount into them. `tags` are set when the target is
    /// created (AWS ignores them on update).
    fn register_target(
        &self,
        resource_id: &str,
        min: u32,
        max: u32,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Creates or replaces a target tracking policy (an upsert).
    fn put_policy(
        &self,
        resource_id: &str,
        policy: &TrackingPolicy,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Deletes a policy. NotFound when it is gone already.
    fn delete_policy(
        &self,
        resource_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Deregisters the target. NotFound when it is gone already.
    fn deregister_target(
        &self,
        resource_id: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}
