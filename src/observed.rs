//! What AWS looked like at one observation: the input of `plan` next to `Desired`.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::autoscaling::{ObservedPolicy, ObservedTarget};
use crate::aws::ecs::ObservedService;

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
    /// Scalable targets by resource id (`service/<cluster>/<service>`), for every
    /// resource asked about; a resource missing here has no target.
    pub targets: BTreeMap<String, ObservedTarget>,
    /// Whether the target reads succeeded: if not, nothing is decided about targets.
    pub targets_observed: bool,
    /// Scaling policies of the targets Autoscaler documents manage.
    pub policies: BTreeMap<String, Vec<ObservedPolicy>>,
    /// Reads that failed, by scope (a cluster, a task definition): nothing there is decided.
    pub errors: BTreeMap<String, String>,
}

impl Observed {
    pub fn service(&self, cluster: &str, name: &str) -> Option<&ObservedService> {
        self.services.get(&(cluster.to_owned(), name.to_owned()))
    }
}
