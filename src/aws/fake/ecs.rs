//! An in-memory ECS with AWS's rules: 10 names per DescribeServices, create
//! refuses an existing name, delete needs desiredCount 0. A deployment
//! completes at once, unless its task definition is marked failing: then ECS
//! rolls it back at once (when the service's circuit breaker or alarms may).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

mod deployments;
mod task_definitions;

use super::{Calls, error as fake_error};
use crate::aws::ecs::{
    DeploymentRecord, EcsApi, HISTORY, ObservedService, ObservedTaskDefinition, ServiceCreate,
    ServiceUpdate,
};
use crate::aws::{AwsError, ErrorKind};
use crate::model::task_definition::TaskDefinitionSpec;

#[derive(Debug, Default)]
struct State {
    clusters: BTreeSet<String>,
    families: task_definitions::Families,
    services: BTreeMap<(String, String), ObservedService>,
    /// (cluster, service) → task id → last status.
    tasks: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// cluster → task definitions of its standalone (RunTask) tasks still running.
    standalone: BTreeMap<String, Vec<String>>,
    /// Task definition ARN → why its deployments fail.
    failing: BTreeMap<String, String>,
    /// (cluster, service) → its service deployments, oldest first.
    history: BTreeMap<(String, String), Vec<DeploymentRecord>>,
    deployments_made: u64,
    calls: Calls,
}

/// In-memory ECS. Account 123456789012, region us-east-1.
#[derive(Debug, Default)]
pub struct FakeEcs {
    state: Mutex<State>,
}

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012";

impl FakeEcs {
    pub fn new() -> Self {
        FakeEcs::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn add_cluster(&self, name: &str) -> &Self {
        self.with(|s| s.clusters.insert(name.to_owned()));
        self
    }

    /// The live service, as a person with another client would see it.
    pub fn service(&self, cluster: &str, name: &str) -> Option<ObservedService> {
        self.with(|s| {
            s.services
                .get(&(cluster.to_owned(), name.to_owned()))
                .cloned()
        })
    }

    /// Changes a live service behind the operator's back.
    pub fn edit(&self, cluster: &str, name: &str, f: impl FnOnce(&mut ObservedService)) {
        self.with(|s| {
            if let Some(svc) = s.services.get_mut(&(cluster.to_owned(), name.to_owned())) {
                f(svc);
            }
        });
    }

    /// A task of a service, in `last_status` (e.g. RUNNING, PENDING, STOPPED).
    pub fn set_task(&self, cluster: &str, service: &str, task_id: &str, last_status: &str) {
        self.with(|s| {
            s.tasks
                .entry((cluster.to_owned(), service.to_owned()))
                .or_default()
                .insert(task_id.to_owned(), last_status.to_owned())
        });
    }

    /// A task started outside any service (RunTask), running `task_definition`.
    pub fn run_task(&self, cluster: &str, task_definition: &str) {
        self.with(|s| {
            s.standalone
                .entry(cluster.to_owned())
                .or_default()
                .push(task_definition.to_owned())
        });
    }

    /// Deployments of `task_definition` (an ARN) fail from now on: ECS rolls
    /// them back with `reason` where the service allows it.
    pub fn fail_deployments_of(&self, task_definition: &str, reason: &str) {
        self.with(|s| {
            s.failing
                .insert(task_definition.to_owned(), reason.to_owned())
        });
    }

    /// Makes the next call of `operation` fail with `kind`.
    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.with(|s| s.calls.failures.entry(operation).or_default().push(kind));
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.calls.counts.get(operation).copied().unwrap_or(0))
    }

    /// Every call that changes state.
    pub fn writes(&self) -> u64 {
        self.with(|s| s.calls.writes())
    }

    fn call(&self, operation: &'static str) -> Result<(), AwsError> {
        self.with(|s| s.calls.call("ecs", operation))
    }
}

fn error(operation: &'static str, kind: ErrorKind, message: &str) -> AwsError {
    fake_error("ecs", operation, kind, message)
}

impl EcsApi for FakeEcs {
    async fn list_clusters(&self) -> Result<Vec<String>, AwsError> {
        self.call("ListClusters")?;
        Ok(self.with(|s| s.clusters.iter().cloned().collect()))
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        self.call("ListServices")?;
        self.with(|s| {
            if !s.clusters.contains(cluster) {
                return Err(error(
                    "ListServices",
                    ErrorKind::NotFound,
                    "Cluster not found.",
                ));
            }
            Ok(s.services
                .iter()
                .filter(|((c, _), svc)| c == cluster && svc.status == "ACTIVE")
                .map(|((_, n), _)| n.clone())
                .collect())
        })
    }

    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<Vec<ObservedService>, AwsError> {
        self.call("DescribeServices")?;
        if names.len() > 10 {
            return Err(error(
                "DescribeServices",
                ErrorKind::Invalid,
                "services can have at most 10 items",
            ));
        }
        Ok(self.with(|s| {
            names
                .iter()
                .filter_map(|n| s.services.get(&(cluster.to_owned(), n.clone())).cloned())
                .collect()
        }))
    }

    async fn resolve_task_definition(&self, task_definition: &str) -> Result<String, AwsError> {
        self.call("DescribeTaskDefinition")?;
        let td = task_definition
            .rsplit_once(":task-definition/")
            .map_or(task_definition, |(_, t)| t);
        let (family, revision) = match td.split_once(':') {
            Some((f, r)) => (f, r.parse::<u32>().ok()),
            None => (td, None),
        };
        let name = match revision {
            Some(r) => format!("{family}:{r}"),
            None => family.to_owned(),
        };
        self.with(|s| match s.families.describe(&name) {
            Some(td) => Ok(td.arn.clone()),
            None => Err(error(
                "DescribeTaskDefinition",
                ErrorKind::NotFound,
                "Unable to describe task definition.",
            )),
        })
    }

    async fn create_service(&self, input: &ServiceCreate) -> Result<String, AwsError> {
        self.call("CreateService")?;
        self.with(|s| {
            let key = (input.cluster.clone(), input.name.clone());
            if !s.clusters.contains(&input.cluster) {
                return Err(error(
                    "CreateService",
                    ErrorKind::NotFound,
                    "Cluster not found.",
                ));
            }
            if s.services
                .get(&key)
                .is_some_and(|svc| svc.status != "INACTIVE")
            {
                return Err(error(
                    "CreateService",
                    ErrorKind::Invalid,
                    "Creation of service was not idempotent.",
                ));
            }
            let arn = format!("{ARN}:service/{}/{}", input.cluster, input.name);
            let live = ObservedService {
                arn: arn.clone(),
                cluster: input.cluster.clone(),
                name: input.name.clone(),
                status: "ACTIVE".to_owned(),
                desired_count: input.desired_count,
                running_count: 0,
                task_definition: input.task_definition.clone(),
                launch_type: input.launch_type.clone(),
                capacity_provider_strategy: input.capacity_provider_strategy.clone(),
                platform_version: input.platform_version.clone(),
                network: input.network.clone(),
                load_balancers: input.load_balancers.clone(),
                service_registries: input.service_registries.clone(),
                deployment: input.deployment.clone(),
                health_check_grace_period_seconds: input.health_check_grace_period_seconds,
                enable_execute_command: input.enable_execute_command.unwrap_or(false),
                propagate_tags: input.propagate_tags.clone(),
                tags: input.tags.clone(),
                deployments: Vec::new(),
            };
            s.services.insert(key.clone(), live);
            s.deploy(&key, None);
            Ok(arn)
        })
    }

    async fn update_service(&self, u: &ServiceUpdate) -> Result<(), AwsError> {
        self.call("UpdateService")?;
        self.with(|s| {
            let key = (u.cluster.clone(), u.name.clone());
            let Some(live) = s.services.get_mut(&key) else {
                return Err(error(
                    "UpdateService",
                    ErrorKind::NotFound,
                    "Service not found.",
                ));
            };
            if let Some(n) = u.desired_count {
                live.desired_count = n;
            }
            let previous = live.task_definition.clone();
            let same_td = u.task_definition.as_ref().is_none_or(|td| *td == previous);
            let starts = ServiceUpdate {
                task_definition: None,
                ..u.clone()
            }
            .starts_deployment()
                || !same_td;
            if let Some(td) = &u.task_definition {
                live.task_definition = td.clone();
            }
            if let Some(cp) = &u.capacity_provider_strategy {
                live.capacity_provider_strategy = cp.clone();
            }
            if let Some(pv) = &u.platform_version {
                live.platform_version = Some(pv.clone());
            }
            if let Some(n) = &u.network {
                live.network = Some(n.clone());
            }
            if let Some(lbs) = &u.load_balancers {
                live.load_balancers = lbs.clone();
            }
            if let Some(r) = &u.service_registries {
                live.service_registries = r.clone();
            }
            if let Some(d) = &u.deployment {
                live.deployment = Some(d.clone());
            }
            if let Some(g) = u.health_check_grace_period_seconds {
                live.health_check_grace_period_seconds = Some(g);
            }
            if let Some(e) = u.enable_execute_command {
                live.enable_execute_command = e;
            }
            if let Some(p) = &u.propagate_tags {
                live.propagate_tags = Some(p.clone());
            }
            if starts {
                s.deploy(&key, Some(previous));
            }
            Ok(())
        })
    }

    async fn tag_service(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.call("TagResource")?;
        let extend = |have: &mut BTreeMap<String, String>| {
            have.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        };
        self.with(|s| {
            if let Some(td) = s.families.get_mut(arn) {
                extend(&mut td.tags);
                return Ok(());
            }
            match s.services.values_mut().find(|svc| svc.arn == arn) {
                Some(live) => {
                    extend(&mut live.tags);
                    Ok(())
                }
                None => Err(error(
                    "TagResource",
                    ErrorKind::NotFound,
                    "Service not found.",
                )),
            }
        })
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<ObservedTaskDefinition>, AwsError> {
        self.call("DescribeTaskDefinition")?;
        Ok(self.with(|s| s.families.describe(task_definition).cloned()))
    }

    async fn register_task_definition(
        &self,
        content: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedTaskDefinition, AwsError> {
        self.call("RegisterTaskDefinition")?;
        Ok(self.with(|s| s.families.register(content, tags)))
    }

    async fn list_task_definitions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        self.call("ListTaskDefinitions")?;
        Ok(self.with(|s| s.families.active(family)))
    }

    async fn list_task_definition_families(&self) -> Result<Vec<String>, AwsError> {
        self.call("ListTaskDefinitionFamilies")?;
        Ok(self.with(|s| s.families.families()))
    }

    async fn tags_of(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.call("ListTagsForResource")?;
        self.with(|s| match s.families.get_mut(arn) {
            Some(td) => Ok(td.tags.clone()),
            None => s
                .services
                .values()
                .find(|svc| svc.arn == arn)
                .map(|svc| svc.tags.clone())
                .ok_or_else(|| error("ListTagsForResource", ErrorKind::NotFound, "not found")),
        })
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), AwsError> {
        self.call("DeregisterTaskDefinition")?;
        self.with(|s| match s.families.get_mut(arn) {
            Some(td) => {
                td.status = "INACTIVE".to_owned();
                Ok(())
            }
            None => Err(error(
                "DeregisterTaskDefinition",
                ErrorKind::Invalid,
                "Unable to describe task definition.",
            )),
        })
    }

    async fn live_tasks(
        &self,
        cluster: &str,
    ) -> Result<BTreeMap<String, BTreeSet<String>>, AwsError> {
        self.call("ListTasks")?;
        self.call("DescribeTasks")?;
        Ok(self.with(|s| {
            s.tasks
                .iter()
                .filter(|((c, _), _)| c == cluster)
                .map(|((_, service), tasks)| {
                    let live = tasks
                        .iter()
                        .filter(|(_, status)| status.as_str() != "STOPPED")
                        .map(|(id, _)| id.clone())
                        .collect();
                    (service.clone(), live)
                })
                .collect()
        }))
    }

    async fn running_task_definitions(&self, cluster: &str) -> Result<BTreeSet<String>, AwsError> {
        self.call("ListTasks")?;
        self.call("DescribeTasks")?;
        Ok(self.with(|s| {
            let of_services = s
                .tasks
                .iter()
                .filter(|((c, _), tasks)| c == cluster && tasks.values().any(|t| t != "STOPPED"))
                .filter_map(|(key, _)| s.services.get(key).map(|svc| svc.task_definition.clone()));
            let standalone = s.standalone.get(cluster).into_iter().flatten().cloned();
            of_services.chain(standalone).collect()
        }))
    }

    async fn deployment_history(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<DeploymentRecord>, AwsError> {
        self.call("ListServiceDeployments")?;
        let key = (cluster.to_owned(), service.to_owned());
        let records = self.with(|s| {
            if !s.services.contains_key(&key) {
                return Err(error(
                    "ListServiceDeployments",
                    ErrorKind::NotFound,
                    "Service not found.",
                ));
            }
            let all = s.history.get(&key).cloned().unwrap_or_default();
            let newest = usize::try_from(HISTORY).unwrap_or(10);
            Ok(all.into_iter().rev().take(newest).collect::<Vec<_>>())
        })?;
        if !records.is_empty() {
            self.call("DescribeServiceDeployments")?;
            self.call("DescribeServiceRevisions")?;
        }
        Ok(records)
    }

    async fn delete_service(&self, cluster: &str, name: &str) -> Result<(), AwsError> {
        self.call("DeleteService")?;
        self.with(
            |s| match s.services.get_mut(&(cluster.to_owned(), name.to_owned())) {
                Some(live) if live.desired_count > 0 => Err(error(
                    "DeleteService",
                    ErrorKind::Invalid,
                    "The service cannot be stopped while it is scaled above 0.",
                )),
                Some(live) => {
                    live.status = "INACTIVE".to_owned();
                    Ok(())
                }
                None => Err(error(
                    "DeleteService",
                    ErrorKind::NotFound,
                    "Service not found.",
                )),
            },
        )
    }
}
