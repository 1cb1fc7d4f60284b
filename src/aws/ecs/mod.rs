//! ECS services: the trait the reconciler uses and its AWS SDK implementation.

mod sdk;

pub use sdk::SdkEcs;

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

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
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
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

    /// Adds or overwrites `tags` on a service; other tags are kept. Idempotent.
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
