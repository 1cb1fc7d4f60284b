//! A service's scalable target and its target tracking policies as the
//! `Autoscaler` document that declares them, defaults left out.

use crate::aws::autoscaling::{ObservedPolicy, ObservedTarget};
use crate::model::autoscaler::{AutoscalerSpec, CustomMetric, TargetTracking};

/// Cooldowns Application Auto Scaling and the operator assume when none is given.
const DEFAULT_COOLDOWN: u32 = 300;

/// The spec, and whether some policy is not target tracking (step scaling):
/// then `targetTracking` is left out, and every policy is left alone.
pub fn spec(
    target: &ObservedTarget,
    policies: &[ObservedPolicy],
    service_doc: &str,
    doc_name: &str,
) -> (AutoscalerSpec, bool) {
    let others = policies.iter().any(|p| p.tracking.is_none());
    // A policy that cannot be written as a document leaves them all alone: a
    // list that missed it would delete it.
    let tracking: Option<Vec<TargetTracking>> = (!others)
        .then(|| {
            policies
                .iter()
                .filter_map(|p| p.tracking.as_ref())
                .map(|t| {
                    let predefined = t
                        .predefined_metric
                        .as_ref()
                        .and_then(|m| serde_json::from_value(serde_json::json!(m)).ok());
                    let custom = match &t.custom_metric {
                        Some(c) => Some(CustomMetric {
                            namespace: c.namespace.clone(),
                            metric_name: c.metric_name.clone(),
                            dimensions: c.dimensions.clone(),
                            statistic: serde_json::from_value(serde_json::json!(c.statistic))
                                .ok()?,
                        }),
                        None => None,
                    };
                    let mut out = TargetTracking {
                        name: None,
                        predefined_metric: predefined,
                        resource_label: t.resource_label.clone(),
                        custom_metric: custom,
                        target_value: t.target_value,
                        scale_in_cooldown: (t.scale_in_cooldown != DEFAULT_COOLDOWN)
                            .then_some(t.scale_in_cooldown),
                        scale_out_cooldown: (t.scale_out_cooldown != DEFAULT_COOLDOWN)
                            .then_some(t.scale_out_cooldown),
                        disable_scale_in: t.disable_scale_in.then_some(true),
                    };
                    if out.policy_name(doc_name) != t.name {
                        out.name = Some(t.name.clone());
                    }
                    Some(out)
                })
                .collect::<Option<Vec<_>>>()
        })
        .flatten();
    let spec = AutoscalerSpec {
        service_ref: service_doc.to_owned(),
        min_capacity: target.min,
        max_capacity: target.max,
        target_tracking: tracking.filter(|t| !t.is_empty()),
    };
    (spec, others)
}
