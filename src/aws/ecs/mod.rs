//! ECS services: the trait the reconciler uses and its AWS SDK implementation.

mod sdk;
mod task_definition;

pub use sdk::SdkEcs;
pub use task_definition::{ObservedTaskDefinition, family_of_arn, revision_of_arn};

use std::collections::BTreeMap;
use std::future::Future;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::AwsError;
use crate::model::service::{CapacityProviderItem, CircuitBreaker, LoadBalancer, Network};

/// The managed view of a live ECS service.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ObservedService {
    pub arn: String,
    /// Cluster name (not ARN).
    pub cluster: String,
    pub name: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    pub desired_count: u32,
    pub running_count: u32,
    pub task_definition: String,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    pub platform_version: Option<String>,
    pub network: Option<Network>,
    pub load_balancers: Vec<LoadBalancer>,
    pub service_registries: Vec<Registry>,
    pub deployment: Option<DeploymentConfig>,
    pub health_check_grace_period_seconds: Option<u32>,
    pub enable_execute_command: bool,
    pub propagate_tags: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// ECS's `deployments`, PRIMARY first: they come with DescribeServices.
    pub deployments: Vec<Deployment>,
}

impl ObservedService {
    /// The deployment ECS is rolling the service to (or has).
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }

    /// Whether ECS may roll a failed deployment back by itself (circuit
    /// breaker or deployment alarms with rollback): only then can a service
    /// run another task definition than the operator sent because of ECS.
    pub fn rolls_back(&self) -> bool {
        self.deployment.as_ref().is_some_and(|d| {
            d.circuit_breaker.is_some_and(|c| c.enable && c.rollback)
                || d.alarms.as_ref().is_some_and(|a| a.enable && a.rollback)
        })
    }
}

/// One entry of a service's `deployments` in DescribeServices.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY (the newest), ACTIVE (being replaced) or INACTIVE.
    pub status: String,
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED; absent behind a Classic Load Balancer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    pub desired_count: u32,
    pub running_count: u32,
    pub failed_tasks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// One ECS service deployment as the service-deployments API tells it
/// (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions):
/// what it deployed, how it ended, and what ECS rolled back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED, STOPPED,
    /// ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The task definition of the revision it deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// The task definition of the revision ECS rolled back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
}

impl DeploymentRecord {
    /// Whether ECS gave up on it: stopped, or rolled back (or rolling back).
    pub fn failed(&self) -> bool {
        self.status.starts_with("ROLLBACK_") || self.status.starts_with("STOP")
    }
}

/// Deployments asked about per service: enough to find the newest of one
/// task definition (a rollback is the newest deployment or the one before).
pub const HISTORY: i32 = 10;

/// A Cloud Map registration of a service, by registry ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    pub registry_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
}

/// `deploymentConfiguration.alarms`: ECS stops (and rolls back) a deployment
/// while one of these CloudWatch alarms is in ALARM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    /// Sorted: ECS does not keep the order.
    pub alarm_names: Vec<String>,
    pub enable: bool,
    pub rollback: bool,
}

/// Everything CreateService is given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCreate {
    pub cluster: String,
    pub name: String,
    pub task_definition: String,
    pub desired_count: u32,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    pub platform_version: Option<String>,
    pub network: Option<Network>,
    pub load_balancers: Vec<LoadBalancer>,
    pub service_registries: Vec<Registry>,
    pub deployment: Option<DeploymentConfig>,
    pub health_check_grace_period_seconds: Option<u32>,
    pub enable_execute_command: Option<bool>,
    pub propagate_tags: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// One UpdateService call: `None` fields are not sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ServiceUpdate {
    pub cluster: String,
    pub name: String,
    pub desired_count: Option<u32>,
    pub task_definition: Option<String>,
    /// `Some(empty)` returns the service to its launch type.
    pub capacity_provider_strategy: Option<Vec<CapacityProviderItem>>,
    pub platform_version: Option<String>,
    pub network: Option<Network>,
    pub load_balancers: Option<Vec<LoadBalancer>>,
    pub service_registries: Option<Vec<Registry>>,
    pub deployment: Option<DeploymentConfig>,
    pub health_check_grace_period_seconds: Option<u32>,
    pub enable_execute_command: Option<bool>,
    pub propagate_tags: Option<String>,
}

impl ServiceUpdate {
    /// Whether ECS starts a deployment for it (AWS-FACTS: these fields "trigger
    /// a new service deployment"); a task definition counts when it differs
    /// from the running one, which the caller knows.
    pub fn starts_deployment(&self) -> bool {
        self.task_definition.is_some()
            || self.network.is_some()
            || self.platform_version.is_some()
            || self.load_balancers.is_some()
            || self.service_registries.is_some()
    }
}

/// The ECS calls the reconciler makes. Every method is one logical read or write;
/// implementations record each AWS call in the metrics.
pub trait EcsApi: Send + Sync {
    /// Names of every cluster in the account and region.
    fn list_clusters(&self) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// Names of every service in `cluster`, all pages (100 a page). NotFound for a missing cluster.
    fn list_services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// At most 10 services of `cluster` by name, with tags. Missing ones are left out.
    fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<ObservedService>, AwsError>> + Send;

    /// The ARN `task_definition` names: a family resolves to its latest ACTIVE revision.
    /// NotFound when there is none.
    fn resolve_task_definition(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Creates a service; not idempotent (ECS refuses an existing ACTIVE name).
    fn create_service(
        &self,
        input: &ServiceCreate,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Sends one UpdateService with the fields that are set. Idempotent.
    fn update_service(
        &self,
        input: &ServiceUpdate,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Adds or overwrites `tags` on a service or any other ECS resource (a
    /// task definition revision); other tags are kept. Idempotent.
    fn tag_service(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Ids of a cluster's tasks that are not STOPPED (PENDING, ACTIVATING,
    /// RUNNING, DEACTIVATING, STOPPING…), by the service that started them (a
    /// task's `group` is `service:<name>`); other tasks are left out.
    /// ListTasks for both desired statuses, every page, then DescribeTasks 100
    /// a call: one listing serves every service of the cluster. Any failed
    /// call fails the whole.
    fn live_tasks(
        &self,
        cluster: &str,
    ) -> impl Future<
        Output = Result<
            std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
            AwsError,
        >,
    > + Send;

    /// Task definition ARNs of every task of `cluster` that is not STOPPED,
    /// services' and standalone (RunTask) alike: the same listing as `live_tasks`.
    fn running_task_definitions(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeSet<String>, AwsError>> + Send;

    /// The service's newest deployments (at most `HISTORY`), newest first, with
    /// the task definitions they deployed and rolled back to: one
    /// ListServiceDeployments, one DescribeServiceDeployments, one
    /// DescribeServiceRevisions. NotFound when the service is gone.
    fn deployment_history(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Vec<DeploymentRecord>, AwsError>> + Send;

    /// The latest ACTIVE revision of `family` (or the revision an ARN or
    /// `family:revision` names) with its tags; `None` when the family has no
    /// revision at all. One DescribeTaskDefinition with `include=[TAGS]`.
    fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<Option<ObservedTaskDefinition>, AwsError>> + Send;

    /// Registers `content` (its `family` set) as a new revision with `tags`.
    /// Not idempotent: every call makes a revision. Returns the revision as
    /// ECS stored it (the tags are the ones sent: ECS does not always echo them).
    fn register_task_definition(
        &self,
        content: &crate::model::task_definition::TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<ObservedTaskDefinition, AwsError>> + Send;

    /// ARNs of the ACTIVE revisions of `family`, every page, oldest first.
    fn list_task_definitions(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// Names of the families that have an ACTIVE revision, every page.
    fn list_task_definition_families(
        &self,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// Tags of any ECS resource (ListTagsForResource).
    fn tags_of(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, AwsError>> + Send;

    /// Makes a revision INACTIVE. Idempotent; running tasks keep running.
    fn deregister_task_definition(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Deletes a service whose desiredCount is 0. NotFound when it is gone already.
    fn delete_service(
        &self,
        cluster: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// `arn:aws:ecs:…:cluster/NAME` → `NAME`; a plain name stays as it is.
pub fn cluster_name(cluster: &str) -> &str {
    match cluster.rsplit_once(":cluster/") {
        Some((_, name)) => name,
        None => cluster,
    }
}

/// The service name at the end of a service ARN (short or long form).
pub fn service_name_of_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
