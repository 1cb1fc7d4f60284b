//! Planning CloudWatch metric alarms: PutMetricAlarm is an upsert, so compare
//! the managed projection first and write only on drift; ownership; orphans.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    Action, Change, INSTANCE_TAG, OWNER_TAG, Op, Ownership, PlanOptions, Step, missing_tags,
    owned_by_other, ownership,
};
use crate::aws::cloudwatch::{AlarmConfig, MetricConfig, ObservedAlarm, QueryConfig};
use crate::desired::Desired;
use crate::model::alarm::{AlarmSpec, Metric};
use crate::model::{DocRef, Kind};
use crate::observed::Observed;

/// Namespaces whose metrics are per ECS service: `serviceRef` fills their dimensions.
const ECS_NAMESPACES: [&str; 2] = ["AWS/ECS", "ECS/ContainerInsights"];

/// The CloudWatch metric a document names; `serviceRef` fills the ECS dimensions.
pub fn metric(m: &Metric, service: Option<(&str, &str)>) -> MetricConfig {
    let mut dimensions = m.dimensions.clone();
    if let Some((cluster, name)) =
        service.filter(|_| ECS_NAMESPACES.contains(&m.namespace.as_str()))
    {
        dimensions
            .entry("ClusterName".to_owned())
            .or_insert_with(|| cluster.to_owned());
        dimensions
            .entry("ServiceName".to_owned())
            .or_insert_with(|| name.to_owned());
    }
    MetricConfig {
        namespace: m.namespace.clone(),
        name: m.name.clone(),
        dimensions,
        stat: m.stat().to_owned(),
        period: m.period,
        unit: m.unit.clone(),
    }
}

/// The alarm a document declares. Fields it leaves out (description, `notify`)
/// take the live values, so they are never drift.
fn desired_config(
    name: &str,
    spec: &AlarmSpec,
    desired: &Desired,
    topics: &BTreeMap<String, String>,
    live: Option<&ObservedAlarm>,
) -> AlarmConfig {
    let service = spec
        .service_ref
        .as_ref()
        .and_then(|s| desired.services.get(s))
        .map(|s| (s.cluster.as_str(), s.service_name.as_str()));
    let metrics = spec.metrics.iter().flatten();
    let entries = spec.metrics.as_ref().map_or(0, Vec::len);
    let actions = match &spec.notify {
        Some(channels) => {
            let mut arns: Vec<String> = channels
                .iter()
                .filter_map(|c| topics.get(c).cloned())
                .collect();
            arns.sort();
            arns
        }
        None => live
            .map(|l| l.config.alarm_actions.clone())
            .unwrap_or_default(),
    };
    let ok_actions = match &spec.notify {
        Some(_) => actions.clone(),
        None => live
            .map(|l| l.config.ok_actions.clone())
            .unwrap_or_default(),
    };
    AlarmConfig {
        name: spec.alarm_name(name).to_owned(),
        description: spec
            .description
            .clone()
            .or_else(|| live.and_then(|l| l.config.description.clone())),
        metric: spec.metric.as_ref().map(|m| metric(m, service)),
        metrics: metrics
            .map(|q| QueryConfig {
                id: q.id.clone(),
                metric: q.metric.as_ref().map(|m| metric(m, service)),
                expression: q.expression.clone(),
                return_data: q.returns_data(entries),
            })
            .collect(),
        comparison: spec.comparison.as_str().to_owned(),
        threshold: spec.threshold,
        evaluation_periods: spec.evaluation_periods,
        datapoints_to_alarm: spec.datapoints_to_alarm(),
        treat_missing_data: spec.treat_missing_data().as_str().to_owned(),
        alarm_actions: actions,
        ok_actions,
    }
}

/// Top-level fields that differ between two configurations, for the plan.
fn differences(have: &AlarmConfig, want: &AlarmConfig) -> Vec<Change> {
    let (Value::Object(h), Value::Object(w)) = (json!(have), json!(want)) else {
        return Vec::new();
    };
    let keys: std::collections::BTreeSet<&String> = h.keys().chain(w.keys()).collect();
    keys.into_iter()
        .filter(|k| h.get(*k) != w.get(*k))
        .map(|k| Change {
            field: k.clone(),
            actual: h.get(k).cloned().unwrap_or(Value::Null),
            desired: w.get(k).cloned().unwrap_or(Value::Null),
            decided_by: None,
        })
        .collect()
}

pub fn plan_all(
    desired: &Desired,
    observed: &Observed,
    topics: &BTreeMap<String, String>,
    options: &PlanOptions,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for (name, a) in &desired.alarms {
        let spec = &a.doc.spec;
        let me = DocRef::new(Kind::Alarm, name);
        let alarm_name = spec.alarm_name(name).to_owned();
        let mut step = Step::new(
            me.clone(),
            format!("cloudwatch alarm {alarm_name}"),
            Action::InSync,
        );
        step.paused = a.doc.metadata.paused();
        let Some(alarms) = &observed.alarms else {
            step.action = Action::Blocked;
            step.notes
                .push("CloudWatch alarms could not be read".to_owned());
            steps.push(step);
            continue;
        };
        let tags = BTreeMap::from([
            (INSTANCE_TAG.to_owned(), options.instance.clone()),
            (OWNER_TAG.to_owned(), me.to_string()),
        ]);
        // Unread topics look like topics to create: the alarm would seem to
        // drift from its live actions (found by the fault suite).
        let unknown = |c: &String| {
            topics
                .get(c)
                .is_some_and(|t| t.starts_with("alertchannel:"))
        };
        if observed.topics.is_none() && spec.notify().iter().any(unknown) {
            step.action = Action::Blocked;
            step.notes.push(
                "SNS topics could not be read: the ARNs of its channels are unknown".to_owned(),
            );
            steps.push(step);
            continue;
        }
        // Every channel whose topic this apply creates: the alarm needs all their ARNs.
        for pending in spec.notify().iter().filter(|c| {
            topics
                .get(*c)
                .is_some_and(|t| t.starts_with("alertchannel:"))
        }) {
            step.depends_on
                .push(DocRef::new(Kind::AlertChannel, pending));
        }
        let live = alarms.get(&alarm_name);
        let want = desired_config(name, spec, desired, topics, live);
        steps.push(reconcile(step, want, live, tags, observed, options));
    }
    if let Some(others) = &observed.other_alarms {
        for (name, (arn, tags)) in others {
            if tags.get(INSTANCE_TAG) != Some(&options.instance) {
                continue;
            }
            let doc = tags
                .get(OWNER_TAG)
                .and_then(|o| o.strip_prefix("Alarm/"))
                .unwrap_or(name);
            let mut step = Step::new(
                DocRef::new(Kind::Alarm, doc),
                format!("cloudwatch alarm {name}"),
                Action::Orphaned,
            );
            step.arn = Some(arn.clone());
            step.notes
                .push("no document declares it any more".to_owned());
            if options.prune {
                step.action = Action::Delete;
                step.ops.push(Op::DeleteAlarms {
                    names: vec![name.clone()],
                });
            } else {
                step.notes.push("delete it with --prune".to_owned());
            }
            steps.push(step);
        }
    }
    steps
}

/// Create, update, tag or adopt one alarm whose wanted configuration is known.
pub fn reconcile(
    mut step: Step,
    want: AlarmConfig,
    live: Option<&ObservedAlarm>,
    tags: BTreeMap<String, String>,
    observed: &Observed,
    options: &PlanOptions,
) -> Step {
    let Some(live) = live else {
        step.action = Action::Create;
        step.changes.push(Change {
            field: "alarm".to_owned(),
            actual: Value::Null,
            desired: json!(want),
            decided_by: None,
        });
        step.ops.push(Op::PutAlarm {
            config: Box::new(want),
            keep: None,
            tags,
        });
        return step;
    };
    step.arn = Some(live.arn.clone());
    let live_tags = observed
        .alarm_tags
        .get(&live.arn)
        .cloned()
        .unwrap_or_default();
    let adopting = match ownership(&live_tags, &options.instance) {
        Ownership::Untagged => true,
        Ownership::Ours => false,
        Ownership::Other(other) => {
            step.action = Action::Blocked;
            step.notes.push(owned_by_other(&other));
            return step;
        }
    };
    // Equal configurations need no JSON: the common case stays cheap.
    if live.config != want {
        step.changes = differences(&live.config, &want);
    }
    if !step.changes.is_empty() {
        step.ops.push(Op::PutAlarm {
            config: Box::new(want),
            keep: Some(Box::new(live.clone())),
            tags: BTreeMap::new(),
        });
    }
    // PutMetricAlarm ignores tags on update: TagResource sets them.
    let missing = missing_tags(&mut step, tags, &live_tags);
    if !missing.is_empty() {
        step.ops.push(Op::TagAlarm {
            arn: live.arn.clone(),
            tags: missing,
        });
    }
    step.action = match (adopting, step.ops.is_empty()) {
        (true, _) => Action::Adopt,
        (false, true) => Action::InSync,
        (false, false) => Action::Update,
    };
    step
}
