//! Planning SNS topics of AlertChannels: resolve `topicArn`, or own the topic
//! of `topicName` and its subscriptions; orphans.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::discovery::CmRef;
use super::{
    Action, Change, INSTANCE_TAG, OWNER_TAG, Op, Ownership, PlanOptions, Step, missing_tags,
    owned_by_other, ownership,
};
use crate::aws::sns::PENDING;
use crate::desired::Desired;
use crate::model::{DocRef, Kind};
use crate::observed::Observed;

/// The ARN placeholder of a topic created in the same apply.
pub fn pending_topic(doc: &str) -> String {
    format!("alertchannel:{doc}")
}

/// The topic ARN of each AlertChannel: given, observed, or pending.
pub fn topic_arns(desired: &Desired, observed: &Observed) -> BTreeMap<String, String> {
    desired
        .channels
        .iter()
        .map(|(name, c)| {
            let spec = &c.doc.spec;
            let arn = match (&spec.topic_arn, &spec.topic_name) {
                (Some(arn), _) => arn.clone(),
                (None, Some(topic)) => observed
                    .topic_named(topic)
                    .map_or_else(|| pending_topic(name), str::to_owned),
                (None, None) => pending_topic(name),
            };
            (name.clone(), arn)
        })
        .collect()
}

pub fn plan_all(desired: &Desired, observed: &Observed, options: &PlanOptions) -> Vec<Step> {
    let Some(topics) = &observed.topics else {
        return desired
            .channels
            .keys()
            .map(|name| {
                let mut step = Step::new(
                    DocRef::new(Kind::AlertChannel, name),
                    "sns topic".to_owned(),
                    Action::Blocked,
                );
                step.notes.push("SNS could not be read".to_owned());
                step
            })
            .collect();
    };
    let mut steps = Vec::new();
    for (name, c) in &desired.channels {
        let spec = &c.doc.spec;
        let me = DocRef::new(Kind::AlertChannel, name);
        if let Some(arn) = &spec.topic_arn {
            let mut step = Step::new(me, format!("sns topic {arn}"), Action::InSync);
            step.arn = Some(arn.clone());
            if !topics.contains_key(arn) {
                step.action = Action::Blocked;
                step.notes.push(
                    "the topic does not exist (a topicArn channel is not created by the operator)"
                        .to_owned(),
                );
            }
            steps.push(step);
            continue;
        }
        let Some(topic) = &spec.topic_name else {
            continue;
        };
        let mut step = Step::new(me.clone(), format!("sns topic {topic}"), Action::InSync);
        step.paused = c.doc.metadata.paused();
        let tags = BTreeMap::from([
            (INSTANCE_TAG.to_owned(), options.instance.clone()),
            (OWNER_TAG.to_owned(), me.to_string()),
        ]);
        let declared: BTreeSet<(String, String)> = spec
            .subscriptions
            .iter()
            .flatten()
            .map(|s| (s.protocol.as_str().to_owned(), s.endpoint.clone()))
            .collect();
        let Some(arn) = observed.topic_named(topic).map(str::to_owned) else {
            step.action = Action::Create;
            step.changes.push(Change {
                field: "topic".to_owned(),
                actual: Value::Null,
                desired: json!(topic),
                decided_by: None,
            });
            step.ops.push(Op::CreateTopic {
                doc: name.clone(),
                name: topic.clone(),
                tags,
            });
            for (protocol, endpoint) in declared {
                step.changes.push(subscription_change(
                    &protocol,
                    &endpoint,
                    Value::Null,
                    json!("subscribed"),
                ));
                step.ops.push(Op::Subscribe {
                    topic: CmRef::Pending(name.clone()),
                    protocol,
                    endpoint,
                });
            }
            steps.push(step);
            continue;
        };
        step.arn = Some(arn.clone());
        let live_tags = topics.get(&arn).cloned().unwrap_or_default();
        let adopting = match ownership(&live_tags, &options.instance) {
            Ownership::Untagged => true,
            Ownership::Ours => false,
            Ownership::Other(other) => {
                step.action = Action::Blocked;
                step.notes.push(owned_by_other(&other));
                steps.push(step);
                continue;
            }
        };
        let missing = missing_tags(&mut step, tags, &live_tags);
        if !missing.is_empty() {
            step.ops.push(Op::TagTopic {
                arn: arn.clone(),
                tags: missing,
            });
        }
        if spec.subscriptions.is_some() {
            match observed.subscriptions.get(&arn) {
                Some(live) => {
                    let have: BTreeSet<(String, String)> = live
                        .iter()
                        .map(|s| (s.protocol.clone(), s.endpoint.clone()))
                        .collect();
                    for (protocol, endpoint) in declared.difference(&have) {
                        step.changes.push(subscription_change(
                            protocol,
                            endpoint,
                            Value::Null,
                            json!("subscribed"),
                        ));
                        step.ops.push(Op::Subscribe {
                            topic: CmRef::Id(arn.clone()),
                            protocol: protocol.clone(),
                            endpoint: endpoint.clone(),
                        });
                    }
                    // A subscription waiting for confirmation has no ARN yet: it counts as present.
                    for s in live
                        .iter()
                        .filter(|s| !declared.contains(&(s.protocol.clone(), s.endpoint.clone())))
                    {
                        if s.arn == PENDING {
                            continue;
                        }
                        step.changes.push(subscription_change(
                            &s.protocol,
                            &s.endpoint,
                            json!("subscribed"),
                            Value::Null,
                        ));
                        step.ops.push(Op::Unsubscribe { arn: s.arn.clone() });
                    }
                }
                None => step.notes.push(
                    "its subscriptions could not be read; they are left as they are".to_owned(),
                ),
            }
        }
        step.action = match (adopting, step.ops.is_empty()) {
            (true, _) => Action::Adopt,
            (false, true) => Action::InSync,
            (false, false) => Action::Update,
        };
        steps.push(step);
    }
    steps.extend(orphans(desired, topics, options));
    steps
}

fn subscription_change(protocol: &str, endpoint: &str, actual: Value, desired: Value) -> Change {
    Change {
        field: format!("subscriptions.{protocol}:{endpoint}"),
        actual,
        desired,
        decided_by: None,
    }
}

fn orphans(
    desired: &Desired,
    topics: &BTreeMap<String, BTreeMap<String, String>>,
    options: &PlanOptions,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for (arn, tags) in topics {
        if tags.get(INSTANCE_TAG) != Some(&options.instance) {
            continue;
        }
        let Some(doc) = tags
            .get(OWNER_TAG)
            .and_then(|o| o.strip_prefix("AlertChannel/"))
        else {
            continue;
        };
        let name = arn.rsplit(':').next().unwrap_or(arn);
        let declared = desired
            .channels
            .get(doc)
            .is_some_and(|c| c.doc.spec.topic_name.as_deref() == Some(name));
        if declared {
            continue;
        }
        let mut step = Step::new(
            DocRef::new(Kind::AlertChannel, doc),
            format!("sns topic {name}"),
            Action::Orphaned,
        );
        step.arn = Some(arn.clone());
        step.notes
            .push("no document declares it any more".to_owned());
        if options.prune {
            step.action = Action::Delete;
            step.ops.push(Op::DeleteTopic { arn: arn.clone() });
        } else {
            step.notes.push("delete it with --prune".to_owned());
        }
        steps.push(step);
    }
    steps
}
