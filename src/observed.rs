//! What AWS looked like at one observation: the input of `plan` next to `Desired`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::aws::autoscaling::{ObservedPolicy, ObservedTarget};
use crate::aws::cloudwatch::ObservedAlarm;
use crate::aws::discovery::{ObservedCmService, ObservedInstance, ObservedNamespace};
use crate::aws::ecs::{ObservedService, ObservedTaskDefinition};
use crate::aws::sns::Subscription;

/// An ARN with the resource's tags.
pub type TaggedArn = (String, BTreeMap<String, String>);

/// One observation of the estate. Built by `observe`, read by the pure `plan`.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Live services (not INACTIVE) by (cluster name, service name).
    pub services: BTreeMap<(String, String), ObservedService>,
    /// Clusters whose service listing was complete: only there can a service be
    /// called missing or orphaned.
    pub listed_clusters: BTreeSet<String>,
    /// Clusters that do not exist.
    pub missing_clusters: BTreeSet<String>,
    /// Task definition as written in a document → its ARN, or why it could not be resolved.
    pub task_definitions: BTreeMap<String, Result<String, String>>,
    /// TaskDefinition document → the latest ACTIVE revision of its family
    /// (`None`: the family has none), or why it could not be read.
    pub revisions: BTreeMap<String, Result<Option<ObservedTaskDefinition>, String>>,
    /// TaskDefinition documents whose latest revision carries no owner while
    /// the one before it is this instance's: registered over it by someone else.
    pub foreign_latest: BTreeSet<String>,
    /// ACTIVE revisions of the families of TaskDefinition documents and of
    /// orphaned ones, oldest first, where they were listed (for retention).
    pub active_revisions: BTreeMap<String, Vec<ActiveRevision>>,
    /// Task definitions of every task that is not STOPPED, in every cluster:
    /// read only when retention or a prune has a revision to deregister;
    /// `None` then means they could not be read (nothing is deregistered).
    pub running_task_definitions: Option<BTreeSet<String>>,
    /// Families with an ACTIVE revision that no document declares, with their
    /// latest revision; `None` when they were not listed this time (only a new
    /// desired-state revision can orphan a family).
    pub undeclared_families: Option<BTreeMap<String, ObservedTaskDefinition>>,
    /// Scalable targets by resource id (`service/<cluster>/<service>`), for every
    /// resource asked about; a resource missing here has no target.
    pub targets: BTreeMap<String, ObservedTarget>,
    /// Whether the target reads succeeded: if not, nothing is decided about targets.
    pub targets_observed: bool,
    /// Scaling policies of the targets Autoscaler documents manage.
    pub policies: BTreeMap<String, Vec<ObservedPolicy>>,
    /// Cloud Map namespaces; `None` when they could not be read.
    pub namespaces: Option<Vec<ObservedNamespace>>,
    /// Cloud Map services with their tags, sorted by (namespace id, name) so
    /// that `cm_service` is a binary search; `None` when they could not be read.
    pub cm_services: Option<Vec<ObservedCmService>>,
    /// Instances of the Cloud Map services documents declare, by service id.
    pub cm_instances: BTreeMap<String, Vec<ObservedInstance>>,
    /// Ids of the not-STOPPED tasks of the ECS services registered into each
    /// Cloud Map service (by ARN), or why they are not known completely.
    pub backing_tasks: BTreeMap<String, Result<BTreeSet<String>, String>>,
    /// Since when each (Cloud Map service id, instance id) has looked stale.
    pub stale_since: BTreeMap<(String, String), Timestamp>,
    /// SNS topics with their tags; `None` when they could not be read.
    pub topics: Option<BTreeMap<String, BTreeMap<String, String>>>,
    /// Subscriptions of the topics AlertChannels own, by topic ARN.
    pub subscriptions: BTreeMap<String, Vec<Subscription>>,
    /// Declared alarms by name; `None` when they could not be read.
    pub alarms: Option<BTreeMap<String, ObservedAlarm>>,
    /// Every other metric alarm: name → (ARN, tags), for orphans.
    pub other_alarms: Option<BTreeMap<String, TaggedArn>>,
    /// Tags of declared alarms, by ARN.
    pub alarm_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Every metric alarm's state (OK, ALARM, INSUFFICIENT_DATA) by name: a
    /// deployment alarm already in ALARM is worth a warning.
    pub alarm_states: BTreeMap<String, String>,
    /// Deployment histories of the services that run another task definition
    /// than their document asks for (and may be rolled back by ECS), by
    /// (cluster, service): fresh, remembered, or why they could not be read.
    pub rollouts:
        BTreeMap<(String, String), Result<Vec<crate::aws::ecs::DeploymentRecord>, String>>,
    /// Reads that failed, by scope (a cluster, a task definition): nothing there is decided.
    pub errors: BTreeMap<String, String>,
}

impl Observed {
    pub fn service(&self, cluster: &str, name: &str) -> Option<&ObservedService> {
        self.services.get(&(cluster.to_owned(), name.to_owned()))
    }
}

/// What one observation hands to the next: since when each Cloud Map instance
/// has looked stale (an instance is removed only once seen stale twice, at
/// least `staleAfter` apart). In memory: a restart starts the wait again,
/// which only ever delays a removal.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub stale_since: BTreeMap<(String, String), Timestamp>,
    /// Alarm tags by ARN: ListTagsForResource is slow to call for every alarm
    /// every loop (10 a second), and an alarm's owner rarely changes.
    pub alarm_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Cloud Map service id → its namespace id (GetService; it never changes).
    pub cm_namespaces: BTreeMap<String, String>,
    /// Cloud Map service tags by ARN, as for alarms.
    pub cm_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Deployment histories by (cluster, service), with what they were read
    /// for: a steady hold asks ECS nothing (SPEC §3.1).
    pub rollouts: BTreeMap<(String, String), RolloutMemo>,
    /// ACTIVE revisions by family, valid while the family's latest revision
    /// is the same one: a steady loop lists nothing (retention, SPEC §2.8).
    pub active_revisions: BTreeMap<String, (String, Vec<ActiveRevision>)>,
    /// The desired-state revision whose undeclared families were last listed,
    /// and what was found (family → latest revision).
    pub undeclared_families: Option<(String, BTreeMap<String, ObservedTaskDefinition>)>,
}

/// One ACTIVE revision of a family, with its tags where they were read (the
/// revisions retention may deregister; the newest ones are never candidates).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveRevision {
    pub arn: String,
    pub revision: u32,
    pub tags: Option<BTreeMap<String, String>>,
}

/// A deployment history, valid while the service asks for the same task
/// definition and ECS's PRIMARY deployment is the same one.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutMemo {
    pub desired: String,
    pub primary: Option<String>,
    pub history: Vec<crate::aws::ecs::DeploymentRecord>,
}

impl Memory {
    /// Forgets the remembered tags of what `plan` tags, so the next observation
    /// reads them again (an adopted resource is seen owned, not re-tagged).
    pub fn forget_tagged(&mut self, plan: &crate::plan::Plan) {
        use crate::plan::Op;
        for op in plan.steps.iter().flat_map(|s| &s.ops) {
            match op {
                Op::TagAlarm { arn, .. } => {
                    self.alarm_tags.remove(arn);
                }
                Op::TagCmService { arn, .. } => {
                    self.cm_tags.remove(arn);
                }
                // What retention or a prune deregistered is listed again.
                Op::DeregisterTaskDefinition { arn } => {
                    let family = crate::aws::ecs::family_of_arn(arn);
                    self.active_revisions.remove(family);
                }
                _ => {}
            }
        }
    }
}

impl Observed {
    /// The task definition a Service runs when it is in sync: the ARN its
    /// `taskDefinition` resolves to, or the latest revision of the family of its
    /// `taskDefinitionRef`; `None` when that is not known.
    pub fn wanted_task_definition(
        &self,
        spec: &crate::model::service::ServiceSpec,
    ) -> Option<&str> {
        if let Some(td) = &spec.task_definition {
            return self.task_definitions.get(td)?.as_deref().ok();
        }
        let doc = spec.task_definition_ref.as_ref()?;
        let latest = self.revisions.get(doc)?.as_ref().ok()?.as_ref()?;
        Some(latest.arn.as_str())
    }

    /// The ARN of the topic named `name`, if it exists.
    pub fn topic_named(&self, name: &str) -> Option<&str> {
        self.topics
            .as_ref()?
            .keys()
            .find(|arn| arn.rsplit(':').next() == Some(name))
            .map(String::as_str)
    }

    /// The namespace a document names, by name and type.
    pub fn namespace(&self, name: &str, kind: &str) -> Option<&ObservedNamespace> {
        self.namespaces
            .as_ref()?
            .iter()
            .find(|n| n.name == name && n.kind == kind)
    }

    /// A Cloud Map service by namespace id and name.
    pub fn cm_service(&self, namespace_id: &str, name: &str) -> Option<&ObservedCmService> {
        let services = self.cm_services.as_ref()?;
        // Sorted by observe: a lookup per document stays O(log n), not O(n).
        let i = services
            .binary_search_by(|s| {
                (s.namespace_id.as_str(), s.name.as_str()).cmp(&(namespace_id, name))
            })
            .ok()?;
        services.get(i)
    }
}
