//! EventBridge envelopes as `run --events-queue` will receive them (SPEC §5,
//! EVENTS-FACTS.md): which resources an event names, and who made the change.
//! Pure: the SQS intake, the targeted passes and `changedBy` in reports build
//! on it (issue #16).

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The SDK's app name: CloudTrail records `app/ecs-operator` in the
/// `userAgent` of the operator's own calls, which are then ignored.
pub const APP_NAME: &str = "ecs-operator";

/// A resource an event names, as AWS names it. Whether the operator owns it
/// is decided against the desired state, later.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ResourceKey {
    Service {
        cluster: String,
        name: String,
    },
    /// `service/<cluster>/<service>`.
    ScalableTarget {
        resource_id: String,
    },
    Alarm {
        name: String,
    },
    /// A Cloud Map service by id (update and delete name only the id) or name.
    CloudMapService {
        id_or_name: String,
    },
    /// An SNS topic by ARN or name.
    Topic {
        arn_or_name: String,
    },
    TaskDefinition {
        family: String,
    },
}

/// Who made a change, from CloudTrail's `userIdentity` (SPEC §4 `changedBy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub arn: String,
    /// `AssumedRole`, `IAMUser`, `Root`, `AWSService`…
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub event_id: String,
    /// The AWS service that made the call for the principal (`invokedBy`):
    /// Application Auto Scaling scaling a service within its bounds is not drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

/// Application Auto Scaling's `invokedBy`.
pub const AUTOSCALING: &str = "application-autoscaling.amazonaws.com";

impl Actor {
    /// Application Auto Scaling acting on its own (a scaling activity).
    pub fn is_autoscaling(&self) -> bool {
        self.invoked_by.as_deref() == Some(AUTOSCALING)
            || self.arn.contains("AWSServiceRoleForApplicationAutoScaling")
    }
}

impl Actor {
    /// `arn:aws:sts::…:assumed-role/Admin/alice at 2026-12-05T10:02:11Z from the console`.
    pub fn describe(&self) -> String {
        let mut out = self.arn.clone();
        if let Some(at) = &self.at {
            out.push_str(&format!(" at {at}"));
        }
        match self.user_agent.as_deref() {
            Some(ua) if ua.contains("console") || ua == "AWS Internal" => {
                out.push_str(" from the console")
            }
            Some(ua) => {
                let tool = ua.split_whitespace().next().unwrap_or(ua);
                out.push_str(&format!(" with {tool}"));
            }
            None => {}
        }
        out
    }
}

/// What kind of event woke something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    ServiceAction,
    DeploymentStateChange,
    ApiCall,
}

/// One message from the queue, understood.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Parsed {
    /// Wake these resources.
    Wake {
        /// The envelope's id: de-duplication (at-least-once delivery).
        id: String,
        kind: EventKind,
        keys: Vec<ResourceKey>,
        #[serde(skip_serializing_if = "Option::is_none")]
        actor: Option<Box<Actor>>,
        /// `SERVICE_DEPLOYMENT_FAILED` and the like, for rollout tracking.
        #[serde(skip_serializing_if = "Option::is_none")]
        event_name: Option<String>,
    },
    /// Deleted and counted, never acted on.
    Ignored {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        why: &'static str,
    },
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

/// `arn:aws:ecs:…:service/<cluster>/<name>` → (cluster, name); the short
/// form `…:service/<name>` lives in `default_cluster`.
fn service_of_arn(arn: &str, default_cluster: &str) -> Option<(String, String)> {
    let tail = arn.split_once(":service/")?.1;
    Some(match tail.split_once('/') {
        Some((cluster, name)) => (cluster.to_owned(), name.to_owned()),
        None => (default_cluster.to_owned(), tail.to_owned()),
    })
}

/// A name or an ARN of a cluster, as a name; absent means `default`.
fn cluster_of(v: Option<&str>) -> String {
    crate::aws::ecs::cluster_name(v.unwrap_or("default")).to_owned()
}

/// Parses one message body. `own_agent` marks the operator's own calls: the
/// SDK's app name (`app/ecs-operator`) appears in CloudTrail's `userAgent`.
pub fn parse(body: &str, own_agent: &str) -> Parsed {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Parsed::Ignored {
            id: None,
            why: "not JSON",
        };
    };
    let (Some(id), Some(detail_type)) = (text(&v, &["id"]), text(&v, &["detail-type"])) else {
        return Parsed::Ignored {
            id: None,
            why: "not an EventBridge envelope",
        };
    };
    let id = id.to_owned();
    let detail = &v["detail"];
    match detail_type {
        "ECS Service Action" | "ECS Deployment State Change" => {
            let cluster = cluster_of(text(detail, &["clusterArn"]));
            let keys: Vec<ResourceKey> = v["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|arn| service_of_arn(arn, &cluster))
                .map(|(cluster, name)| ResourceKey::Service { cluster, name })
                .collect();
            if keys.is_empty() {
                return Parsed::Ignored {
                    id: Some(id),
                    why: "names no ECS service",
                };
            }
            let kind = if detail_type == "ECS Service Action" {
                EventKind::ServiceAction
            } else {
                EventKind::DeploymentStateChange
            };
            Parsed::Wake {
                id,
                kind,
                keys,
                actor: None,
                event_name: text(detail, &["eventName"]).map(str::to_owned),
            }
        }
        "AWS API Call via CloudTrail" => api_call(id, detail, own_agent),
        _ => Parsed::Ignored {
            id: Some(id),
            why: "not an event the operator reads",
        },
    }
}

fn api_call(id: String, detail: &Value, own_agent: &str) -> Parsed {
    if detail.get("errorCode").is_some_and(|e| !e.is_null()) {
        return Parsed::Ignored {
            id: Some(id),
            why: "a failed call",
        };
    }
    let user_agent = text(detail, &["userAgent"]).map(str::to_owned);
    if user_agent
        .as_deref()
        .is_some_and(|ua| ua.contains(own_agent))
    {
        return Parsed::Ignored {
            id: Some(id),
            why: "the operator's own call",
        };
    }
    let keys = keys_of_call(detail);
    if keys.is_empty() {
        return Parsed::Ignored {
            id: Some(id),
            why: "names nothing the operator reconciles",
        };
    }
    let identity = &detail["userIdentity"];
    let arn = text(identity, &["arn"])
        .or_else(|| text(identity, &["sessionContext", "sessionIssuer", "arn"]))
        .or_else(|| text(identity, &["invokedBy"]))
        .unwrap_or("unknown")
        .to_owned();
    let actor = Actor {
        arn,
        kind: text(identity, &["type"]).unwrap_or("Unknown").to_owned(),
        source_ip: text(detail, &["sourceIPAddress"]).map(str::to_owned),
        user_agent,
        at: text(detail, &["eventTime"]).map(str::to_owned),
        event_id: text(detail, &["eventID"]).unwrap_or(&id).to_owned(),
        invoked_by: text(identity, &["invokedBy"]).map(str::to_owned),
    };
    Parsed::Wake {
        id,
        kind: EventKind::ApiCall,
        keys,
        actor: Some(Box::new(actor)),
        event_name: text(detail, &["eventName"]).map(str::to_owned),
    }
}

/// The resources one CloudTrail call names, by service (EVENTS-FACTS §1).
fn keys_of_call(detail: &Value) -> Vec<ResourceKey> {
    let req = &detail["requestParameters"];
    let param = |k: &str| text(req, &[k]);
    let source = text(detail, &["eventSource"]).unwrap_or_default();
    let event = text(detail, &["eventName"]).unwrap_or_default();
    let mut keys = Vec::new();
    match source {
        "ecs.amazonaws.com" => {
            let cluster = cluster_of(param("cluster"));
            let service = param("service").or_else(|| param("serviceName"));
            if let Some(s) = service {
                let (cluster, name) =
                    service_of_arn(s, &cluster).unwrap_or((cluster, s.to_owned()));
                keys.push(ResourceKey::Service { cluster, name });
            } else if let Some(arn) = param("resourceArn") {
                if let Some((cluster, name)) = service_of_arn(arn, "default") {
                    keys.push(ResourceKey::Service { cluster, name });
                } else if arn.contains(":task-definition/") {
                    let family = crate::aws::ecs::family_of_arn(arn).to_owned();
                    keys.push(ResourceKey::TaskDefinition { family });
                }
            } else if let Some(family) = param("family") {
                keys.push(ResourceKey::TaskDefinition {
                    family: family.to_owned(),
                });
            } else if let Some(td) = param("taskDefinition") {
                let family = crate::aws::ecs::family_of_arn(td).to_owned();
                keys.push(ResourceKey::TaskDefinition { family });
            }
            if keys.is_empty()
                && let Some(arn) = text(detail, &["responseElements", "service", "serviceArn"])
                && let Some((cluster, name)) = service_of_arn(arn, "default")
            {
                keys.push(ResourceKey::Service { cluster, name });
            }
        }
        "application-autoscaling.amazonaws.com" => {
            if param("serviceNamespace") == Some("ecs")
                && let Some(id) = param("resourceId")
            {
                keys.push(ResourceKey::ScalableTarget {
                    resource_id: id.to_owned(),
                });
            }
        }
        "monitoring.amazonaws.com" => {
            // Tag/UntagResource name the alarm by ARN: `…:alarm:<name>`.
            let tagged = param("resourceARN")
                .and_then(|arn| arn.split_once(":alarm:"))
                .map(|(_, name)| ResourceKey::Alarm {
                    name: name.to_owned(),
                });
            keys.extend(tagged);
            let names = req["alarmNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            keys.extend(
                param("alarmName")
                    .into_iter()
                    .chain(names)
                    .map(|n| ResourceKey::Alarm { name: n.to_owned() }),
            );
        }
        "servicediscovery.amazonaws.com" => {
            if let Some(s) = param("id")
                .or_else(|| param("serviceId"))
                .or_else(|| param("name"))
                .or_else(|| param("resourceARN"))
            {
                keys.push(ResourceKey::CloudMapService {
                    id_or_name: s.to_owned(),
                });
            }
        }
        "sns.amazonaws.com" => {
            if let Some(t) = param("topicArn")
                .or_else(|| param("resourceArn"))
                .or_else(|| param("name"))
            {
                keys.push(ResourceKey::Topic {
                    arn_or_name: t.to_owned(),
                });
            }
        }
        _ => {}
    }
    // Read calls never change anything (the rules filter them; moto may not).
    if ["Describe", "List", "Get"]
        .iter()
        .any(|p| event.starts_with(p))
    {
        keys.clear();
    }
    keys
}
