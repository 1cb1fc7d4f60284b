//! `Autoscaler`: Application Auto Scaling of one service's desired count (SPEC §2.2).

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::alarm::Statistic;
use super::{Cx, Kind, Reference, Spec};

/// Default cooldown after a scaling activity, in seconds.
pub const DEFAULT_COOLDOWN_SECONDS: u32 = 300;

/// Scales the service `service/<cluster>/<service>` on `ecs:service:DesiredCount`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalerSpec {
    /// Name of the `Service` document whose desired count is scaled.
    pub service_ref: String,
    /// Lowest task count Application Auto Scaling may set; 0 or more.
    pub min_capacity: u32,
    /// Highest task count Application Auto Scaling may set; at least `minCapacity`.
    pub max_capacity: u32,
    /// Target tracking policies. Absent: the target's policies are left alone;
    /// a list (even empty): policies on the owned target that are not listed are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking: Option<Vec<TargetTracking>>,
}

/// One target tracking scaling policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetTracking {
    /// Policy name; defaults to `<autoscaler>-<metric>`, e.g. `web-ECSServiceAverageCPUUtilization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A metric Application Auto Scaling knows; exclusive with `customMetric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric: Option<PredefinedMetric>,
    /// `app/<load-balancer>/<id>/targetgroup/<target-group>/<id>`; required by
    /// `ALBRequestCountPerTarget` and only allowed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
    /// A CloudWatch metric; exclusive with `predefinedMetric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_metric: Option<CustomMetric>,
    /// Value of the metric the policy keeps the service at; above 0.
    pub target_value: f64,
    /// Seconds to wait after a scale-in before the next one; default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<u32>,
    /// Seconds to wait after a scale-out before the next one; default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<u32>,
    /// Only ever scale out; default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

/// The predefined metrics of ECS services.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum PredefinedMetric {
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    EcsServiceAverageCpuUtilization,
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    EcsServiceAverageMemoryUtilization,
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

impl PredefinedMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            PredefinedMetric::EcsServiceAverageCpuUtilization => "ECSServiceAverageCPUUtilization",
            PredefinedMetric::EcsServiceAverageMemoryUtilization => {
                "ECSServiceAverageMemoryUtilization"
            }
            PredefinedMetric::AlbRequestCountPerTarget => "ALBRequestCountPerTarget",
        }
    }
}

/// A CloudWatch metric to track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomMetric {
    /// CloudWatch namespace, e.g. `AWS/SQS`.
    pub namespace: String,
    /// Metric name, e.g. `ApproximateNumberOfMessagesVisible`.
    pub metric_name: String,
    /// Dimensions that identify the metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// How data points are aggregated.
    pub statistic: Statistic,
}

impl TargetTracking {
    /// The metric's name as it appears in the default policy name.
    pub fn metric_name(&self) -> &str {
        match (&self.predefined_metric, &self.custom_metric) {
            (Some(p), _) => p.as_str(),
            (None, Some(c)) => &c.metric_name,
            (None, None) => "metric",
        }
    }

    /// The policy name: `name`, or `<autoscaler>-<metric>`.
    pub fn policy_name(&self, autoscaler: &str) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("{autoscaler}-{}", self.metric_name()),
        }
    }

    pub fn scale_in_cooldown(&self) -> u32 {
        self.scale_in_cooldown.unwrap_or(DEFAULT_COOLDOWN_SECONDS)
    }

    pub fn scale_out_cooldown(&self) -> u32 {
        self.scale_out_cooldown.unwrap_or(DEFAULT_COOLDOWN_SECONDS)
    }

    pub fn disable_scale_in(&self) -> bool {
        self.disable_scale_in.unwrap_or(false)
    }
}

impl AutoscalerSpec {
    /// The declared policies; empty when `targetTracking` is absent.
    pub fn policies(&self) -> &[TargetTracking] {
        self.target_tracking.as_deref().unwrap_or_default()
    }
}

impl Spec for AutoscalerSpec {
    const KIND: Kind = Kind::Autoscaler;

    fn validate(&self, cx: &mut Cx<'_>) {
        if self.service_ref.trim().is_empty() {
            cx.error("spec.serviceRef", "must name a Service document");
        }
        if self.max_capacity < self.min_capacity {
            cx.error(
                "spec.maxCapacity",
                format!(
                    "{} must be >= spec.minCapacity ({})",
                    self.max_capacity, self.min_capacity
                ),
            );
        }
        let mut names = BTreeSet::new();
        for (i, policy) in self.policies().iter().enumerate() {
            let at = format!("spec.targetTracking[{i}]");
            validate_policy(cx, &at, policy);
            // Default names need metadata.name, which validate does not see; two
            // defaults collide exactly when they track the same metric.
            let key = match &policy.name {
                Some(name) => (true, name.as_str()),
                None => (false, policy.metric_name()),
            };
            if !names.insert(key) {
                let message = match &policy.name {
                    Some(name) => {
                        format!("policy name `{name}` is used twice: policy names must be unique")
                    }
                    None => format!(
                        "a second unnamed policy on `{}` would get the same default name: set `name`",
                        policy.metric_name()
                    ),
                };
                cx.error(&format!("{at}.name"), message);
            }
        }
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference {
            field: "spec.serviceRef".to_owned(),
            kind: Kind::Service,
            name: self.service_ref.clone(),
        }]
    }
}

fn validate_policy(cx: &mut Cx<'_>, at: &str, policy: &TargetTracking) {
    if let Some(name) = &policy.name
        && !valid_policy_name(name)
    {
        cx.error(
            &format!("{at}.name"),
            format!("`{name}` is not a valid policy name: 1 to 256 characters, no `:` or `/`"),
        );
    }
    cx.exactly_one(
        at,
        ("predefinedMetric", policy.predefined_metric.is_some()),
        ("customMetric", policy.custom_metric.is_some()),
    );
    let alb = policy.predefined_metric == Some(PredefinedMetric::AlbRequestCountPerTarget);
    match &policy.resource_label {
        None if alb => cx.error(
            &format!("{at}.resourceLabel"),
            "required by ALBRequestCountPerTarget: `app/<load-balancer>/<id>/targetgroup/<target-group>/<id>`",
        ),
        Some(_) if !alb => cx.error(
            &format!("{at}.resourceLabel"),
            "only allowed with `predefinedMetric: ALBRequestCountPerTarget`",
        ),
        Some(label) if !valid_resource_label(label) => cx.error(
            &format!("{at}.resourceLabel"),
            format!(
                "`{label}` is not a resource label: expected `app/<load-balancer>/<id>/targetgroup/<target-group>/<id>`"
            ),
        ),
        _ => {}
    }
    if let Some(custom) = &policy.custom_metric {
        if custom.namespace.trim().is_empty() {
            cx.error(&format!("{at}.customMetric.namespace"), "must not be empty");
        }
        if custom.metric_name.trim().is_empty() {
            cx.error(
                &format!("{at}.customMetric.metricName"),
                "must not be empty",
            );
        }
    }
    if !(policy.target_value > 0.0 && policy.target_value.is_finite()) {
        cx.error(
            &format!("{at}.targetValue"),
            format!("{} must be a number above 0", policy.target_value),
        );
    }
}

fn valid_policy_name(name: &str) -> bool {
    (1..=256).contains(&name.chars().count()) && !name.contains([':', '/'])
}

fn valid_resource_label(label: &str) -> bool {
    let parts: Vec<&str> = label.split('/').collect();
    parts.len() == 6
        && parts[0] == "app"
        && parts[3] == "targetgroup"
        && parts.iter().all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{errors, has_error_at, references, spec};

    const CPU: &str = "serviceRef: web\nminCapacity: 2\nmaxCapacity: 8\ntargetTracking:\n  - predefinedMetric: ECSServiceAverageCPUUtilization\n    targetValue: 60\n";

    #[test]
    fn autoscaler_with_cpu_policy_is_valid() {
        assert_eq!(errors::<AutoscalerSpec>(CPU), Vec::<String>::new());
    }

    #[test]
    fn autoscaler_rejects_max_below_min() {
        let e = errors::<AutoscalerSpec>("serviceRef: web\nminCapacity: 2\nmaxCapacity: 1\n");
        assert_eq!(e, ["spec.maxCapacity: 1 must be >= spec.minCapacity (2)"]);
    }

    #[test]
    fn autoscaler_policy_defaults_follow_the_spec() {
        let a = spec::<AutoscalerSpec>(CPU);
        let p = &a.policies()[0];
        assert_eq!(p.policy_name("web"), "web-ECSServiceAverageCPUUtilization");
        assert_eq!((p.scale_in_cooldown(), p.scale_out_cooldown()), (300, 300));
        assert!(!p.disable_scale_in());
        assert_eq!(references(&a), ["spec.serviceRef -> Service/web"]);
    }

    #[test]
    fn autoscaler_rejects_zero_target_and_missing_metric() {
        let e = errors::<AutoscalerSpec>(
            "serviceRef: web\nminCapacity: 0\nmaxCapacity: 1\ntargetTracking:\n  - targetValue: 0\n",
        );
        assert_eq!(
            e,
            [
                "spec.targetTracking[0]: one of `predefinedMetric` or `customMetric` is required",
                "spec.targetTracking[0].targetValue: 0 must be a number above 0",
            ]
        );
    }

    #[test]
    fn autoscaler_rejects_both_metrics() {
        let e = errors::<AutoscalerSpec>(
            "serviceRef: web\nminCapacity: 0\nmaxCapacity: 1\ntargetTracking:\n  - predefinedMetric: ECSServiceAverageMemoryUtilization\n    customMetric: {namespace: AWS/SQS, metricName: Depth, statistic: Average}\n    targetValue: 5\n",
        );
        assert_eq!(
            e,
            [
                "spec.targetTracking[0].customMetric: set only one of `predefinedMetric` and `customMetric`"
            ]
        );
    }

    #[test]
    fn autoscaler_requires_resource_label_only_for_alb_requests() {
        let e = errors::<AutoscalerSpec>(
            "serviceRef: web\nminCapacity: 0\nmaxCapacity: 1\ntargetTracking:\n  - predefinedMetric: ALBRequestCountPerTarget\n    targetValue: 100\n  - predefinedMetric: ECSServiceAverageCPUUtilization\n    resourceLabel: app/lb/1/targetgroup/tg/2\n    targetValue: 50\n  - name: alb2\n    predefinedMetric: ALBRequestCountPerTarget\n    resourceLabel: targetgroup/tg/2\n    targetValue: 100\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with(
            "spec.targetTracking[0].resourceLabel: required by ALBRequestCountPerTarget"
        ));
        assert!(e[1].starts_with("spec.targetTracking[1].resourceLabel: only allowed with"));
        assert!(e[2].contains("`targetgroup/tg/2` is not a resource label"));
    }

    #[test]
    fn autoscaler_rejects_duplicate_policy_names() {
        let e = errors::<AutoscalerSpec>(
            "serviceRef: web\nminCapacity: 0\nmaxCapacity: 1\ntargetTracking:\n  - {name: cpu, predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 50}\n  - {name: cpu, predefinedMetric: ECSServiceAverageMemoryUtilization, targetValue: 50}\n",
        );
        assert!(has_error_at(&e, "spec.targetTracking[1].name"), "{e:?}");
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn autoscaler_rejects_two_unnamed_policies_on_one_metric() {
        let e = errors::<AutoscalerSpec>(
            "serviceRef: web\nminCapacity: 0\nmaxCapacity: 1\ntargetTracking:\n  - {predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 50}\n  - {predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}\n",
        );
        assert_eq!(
            e,
            [
                "spec.targetTracking[1].name: a second unnamed policy on `ECSServiceAverageCPUUtilization` would get the same default name: set `name`"
            ]
        );
    }
}
