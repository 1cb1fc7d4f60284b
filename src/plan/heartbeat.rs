//! The operator's dead-man's switch: `run` publishes a heartbeat data point
//! after every loop, and owns a CloudWatch alarm on it that treats missing
//! data as breaching, so the `operator` channels are paged when the
//! controller dies or stalls, which nothing inside the controller can report.

use std::collections::BTreeMap;

use super::{Action, INSTANCE_TAG, OWNER_TAG, PlanOptions, Step};
use crate::aws::cloudwatch::{AlarmConfig, MetricConfig};
use crate::desired::Desired;
use crate::model::alert_channel::{Event, Severity};
use crate::model::{DocRef, Kind};
use crate::observed::Observed;

pub const NAMESPACE: &str = "ECSOperator";
pub const METRIC: &str = "Heartbeat";
/// How long without a loop before the page, at the default interval.
pub const STALL_SECONDS: u64 = 300;

pub fn alarm_name(instance: &str) -> String {
    format!("ecs-operator-{instance}-heartbeat")
}

/// The heartbeat metric of an instance: one data point a loop.
pub fn metric(instance: &str) -> MetricConfig {
    MetricConfig {
        namespace: NAMESPACE.to_owned(),
        name: METRIC.to_owned(),
        dimensions: BTreeMap::from([("Instance".to_owned(), instance.to_owned())]),
        stat: "Sum".to_owned(),
        period: 60,
        unit: Some("Count".to_owned()),
    }
}

/// One-minute periods without a heartbeat that page: 5, or more when the loop
/// interval is long enough that quiet minutes are normal.
pub fn evaluation_periods(interval_secs: u64) -> u32 {
    let quiet = (interval_secs * 11 / 10).div_ceil(60) + 1;
    u32::try_from(quiet.max(STALL_SECONDS / 60)).unwrap_or(u32::MAX)
}

/// The alarm: Sum < 1 in every one of `evaluation_periods` minutes, missing data breaching.
pub fn config(instance: &str, interval_secs: u64, topics: Vec<String>) -> AlarmConfig {
    let periods = evaluation_periods(interval_secs);
    AlarmConfig {
        name: alarm_name(instance),
        description: Some(format!(
            "ecs-operator instance {instance} has not finished a reconcile loop for {periods} minutes: the controller is down or stalled"
        )),
        metric: Some(metric(instance)),
        metrics: Vec::new(),
        comparison: "LessThanThreshold".to_owned(),
        threshold: 1.0,
        evaluation_periods: periods,
        datapoints_to_alarm: periods,
        treat_missing_data: "breaching".to_owned(),
        alarm_actions: topics.clone(),
        ok_actions: topics,
    }
}

/// The heartbeat alarm's step, when the plan is for `run` (`options.heartbeat`).
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    topics: &BTreeMap<String, String>,
    options: &PlanOptions,
) -> Option<Step> {
    let interval = options.heartbeat?;
    let name = alarm_name(&options.instance);
    let me = DocRef::new(Kind::Alarm, &name);
    let mut step = Step::new(
        me.clone(),
        format!("cloudwatch alarm {name} (operator heartbeat)"),
        Action::InSync,
    );
    let Some(alarms) = &observed.alarms else {
        step.action = Action::Blocked;
        step.notes
            .push("CloudWatch alarms could not be read".to_owned());
        return Some(step);
    };
    let mut arns = Vec::new();
    for (channel, c) in &desired.channels {
        if !c.doc.spec.accepts(Event::Operator, Severity::Page) {
            continue;
        }
        // A topic made in this loop is a placeholder that apply resolves.
        let Some(arn) = topics.get(channel) else {
            continue;
        };
        if !arn.starts_with("arn:") {
            if observed.topics.is_none() {
                // Unread, not to be created: the live actions are not drift.
                step.action = Action::Blocked;
                step.notes.push(
                    "SNS topics could not be read: the ARNs of its channels are unknown".to_owned(),
                );
                return Some(step);
            }
            step.depends_on
                .push(DocRef::new(Kind::AlertChannel, channel));
        }
        arns.push(arn.clone());
    }
    arns.extend(options.heartbeat_topics.iter().cloned());
    arns.sort();
    arns.dedup();
    let tags = BTreeMap::from([
        (INSTANCE_TAG.to_owned(), options.instance.clone()),
        (OWNER_TAG.to_owned(), me.to_string()),
    ]);
    let want = config(&options.instance, interval, arns);
    Some(super::alarm::reconcile(
        step,
        want,
        alarms.get(&name),
        tags,
        observed,
        options,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_pages_after_five_quiet_minutes_at_the_default_interval() {
        assert_eq!(evaluation_periods(30), 5);
        assert_eq!(evaluation_periods(60), 5);
        // A 10-minute interval has 11 quiet minutes between loops (with jitter).
        assert_eq!(evaluation_periods(600), 12);
    }

    #[test]
    fn heartbeat_alarm_treats_missing_data_as_breaching() {
        let c = config("prod", 30, vec!["arn:aws:sns:us-east-1:1:ops".to_owned()]);
        assert_eq!(c.name, "ecs-operator-prod-heartbeat");
        assert_eq!(c.treat_missing_data, "breaching");
        assert_eq!(c.comparison, "LessThanThreshold");
        assert_eq!((c.evaluation_periods, c.datapoints_to_alarm), (5, 5));
        let m = c.metric.expect("metric");
        assert_eq!((m.namespace.as_str(), m.name.as_str()), (NAMESPACE, METRIC));
        assert_eq!(m.dimensions["Instance"], "prod");
        assert_eq!(c.alarm_actions, c.ok_actions);
    }
}
