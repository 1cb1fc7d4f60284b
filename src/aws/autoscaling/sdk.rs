//! Application Auto Scaling through the AWS SDK.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_applicationautoscaling::types as sdk;

use super::{CustomMetricSpec, ObservedPolicy, ObservedTarget, ScalingApi, TrackingPolicy};
use crate::aws::AwsError;
use crate::aws::call::{Caller, RetryPolicy};
use crate::metrics::Metrics;

const AAS: &str = "application-autoscaling";

#[derive(Clone)]
pub struct SdkScaling {
    client: aws_sdk_applicationautoscaling::Client,
    calls: Caller,
}

impl SdkScaling {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkScaling {
            client: aws_sdk_applicationautoscaling::Client::new(config),
            calls: Caller::new(AAS, metrics, retry),
        }
    }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

const DIMENSION: sdk::ScalableDimension = sdk::ScalableDimension::EcsServiceDesiredCount;

impl ScalingApi for SdkScaling {
    async fn describe_targets(
        &self,
        resource_ids: &[String],
    ) -> Result<BTreeMap<String, ObservedTarget>, AwsError> {
        let mut found = BTreeMap::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_scalable_targets()
                .service_namespace(sdk::ServiceNamespace::Ecs)
                .scalable_dimension(DIMENSION)
                .set_resource_ids(Some(resource_ids.to_vec()))
                .set_next_token(token);
            let page = self
                .calls
                .call(AAS, "DescribeScalableTargets", || page.clone().send())
                .await?;
            for t in page.scalable_targets() {
                let target = ObservedTarget {
                    min: to_u32(t.min_capacity()),
                    max: to_u32(t.max_capacity()),
                };
                found.insert(t.resource_id().to_owned(), target);
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn describe_policies(&self, resource_id: &str) -> Result<Vec<ObservedPolicy>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_scaling_policies()
                .service_namespace(sdk::ServiceNamespace::Ecs)
                .resource_id(resource_id)
                .scalable_dimension(DIMENSION)
                .set_next_token(token);
            let page = self
                .calls
                .call(AAS, "DescribeScalingPolicies", || page.clone().send())
                .await?;
            for p in page.scaling_policies() {
                // The ResourceId filter is not honoured by every implementation.
                if p.resource_id() != resource_id {
                    continue;
                }
                found.push(ObservedPolicy {
                    name: p.policy_name().to_owned(),
                    tracking: p
                        .target_tracking_scaling_policy_configuration()
                        .map(|c| tracking(p.policy_name(), c)),
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn register_target(
        &self,
        resource_id: &str,
        min: u32,
        max: u32,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let out = self
            .client
            .register_scalable_target()
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .min_capacity(to_i32(min))
            .max_capacity(to_i32(max))
            .set_tags((!tags.is_empty()).then(|| tags.clone().into_iter().collect()));
        self.calls
            .call(AAS, "RegisterScalableTarget", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn put_policy(&self, resource_id: &str, policy: &TrackingPolicy) -> Result<(), AwsError> {
        let predefined = policy.predefined_metric.as_deref().and_then(|m| {
            sdk::PredefinedMetricSpecification::builder()
                .predefined_metric_type(sdk::MetricType::from(m))
                .set_resource_label(policy.resource_label.clone())
                .build()
                .ok()
        });
        let custom = policy.custom_metric.as_ref().map(|c| {
            let dims: Vec<sdk::MetricDimension> = c
                .dimensions
                .iter()
                .filter_map(|(k, v)| {
                    sdk::MetricDimension::builder()
                        .name(k)
                        .value(v)
                        .build()
                        .ok()
                })
                .collect();
            sdk::CustomizedMetricSpecification::builder()
                .namespace(&c.namespace)
                .metric_name(&c.metric_name)
                .set_dimensions(Some(dims))
                .statistic(sdk::MetricStatistic::from(c.statistic.as_str()))
                .build()
        });
        let config = sdk::TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(policy.target_value)
            .set_predefined_metric_specification(predefined)
            .set_customized_metric_specification(custom)
            .scale_in_cooldown(to_i32(policy.scale_in_cooldown))
            .scale_out_cooldown(to_i32(policy.scale_out_cooldown))
            .disable_scale_in(policy.disable_scale_in)
            .build()
            .map_err(|e| AwsError {
                service: AAS,
                operation: "PutScalingPolicy",
                kind: crate::aws::ErrorKind::Invalid,
                code: None,
                message: e.to_string(),
            })?;
        let out = self
            .client
            .put_scaling_policy()
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .policy_name(&policy.name)
            .policy_type(sdk::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config);
        self.calls
            .call(AAS, "PutScalingPolicy", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn delete_policy(&self, resource_id: &str, name: &str) -> Result<(), AwsError> {
        let out = self
            .client
            .delete_scaling_policy()
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .policy_name(name);
        self.calls
            .call(AAS, "DeleteScalingPolicy", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn deregister_target(&self, resource_id: &str) -> Result<(), AwsError> {
        let out = self
            .client
            .deregister_scalable_target()
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id);
        self.calls
            .call(AAS, "DeregisterScalableTarget", || out.clone().send())
            .await?;
        Ok(())
    }
}

fn tracking(name: &str, c: &sdk::TargetTrackingScalingPolicyConfiguration) -> TrackingPolicy {
    TrackingPolicy {
        name: name.to_owned(),
        target_value: c.target_value(),
        predefined_metric: c
            .predefined_metric_specification()
            .map(|p| p.predefined_metric_type().as_str().to_owned()),
        resource_label: c
            .predefined_metric_specification()
            .and_then(|p| p.resource_label())
            .map(str::to_owned),
        custom_metric: c
            .customized_metric_specification()
            .map(|m| CustomMetricSpec {
                namespace: m.namespace().unwrap_or_default().to_owned(),
                metric_name: m.metric_name().unwrap_or_default().to_owned(),
                dimensions: m
                    .dimensions()
                    .iter()
                    .map(|d| (d.name().to_owned(), d.value().to_owned()))
                    .collect(),
                statistic: m
                    .statistic()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            }),
        // AWS applies 300 s when a cooldown is not given.
        scale_in_cooldown: c
            .scale_in_cooldown()
            .map_or(crate::model::autoscaler::DEFAULT_COOLDOWN_SECONDS, to_u32),
        scale_out_cooldown: c
            .scale_out_cooldown()
            .map_or(crate::model::autoscaler::DEFAULT_COOLDOWN_SECONDS, to_u32),
        disable_scale_in: c.disable_scale_in().unwrap_or(false),
    }
}
