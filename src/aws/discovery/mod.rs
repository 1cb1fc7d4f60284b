//! AWS Cloud Map (service discovery): the trait the reconciler uses.

mod sdk;

pub use sdk::SdkDiscovery;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::{AwsError, ErrorKind};

/// The attribute that marks a static instance as registered by this operator
/// instance (Cloud Map instances carry no tags).
pub const OWNER_ATTRIBUTE: &str = "ECS_OPERATOR_INSTANCE";
/// ECS sets this attribute on the instances it registers for a task.
pub const ECS_ATTRIBUTE: &str = "ECS_CLUSTER_NAME";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedNamespace {
    pub id: String,
    pub name: String,
    /// `HTTP`, `DNS_PRIVATE` or `DNS_PUBLIC`.
    pub kind: String,
}

/// DNS records of a Cloud Map service, normalised (record types sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsSpec {
    pub ttl: u64,
    pub record_types: Vec<String>,
    pub routing_policy: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedCmService {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub namespace_id: String,
    pub dns: Option<DnsSpec>,
    pub health_check_custom: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedInstance {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
}

/// Everything CreateService is given.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CmServiceCreate {
    pub name: String,
    pub dns: Option<DnsSpec>,
    pub health_check_custom: bool,
    pub tags: BTreeMap<String, String>,
}

/// The state of an asynchronous Cloud Map operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationState {
    Pending,
    /// Done; the id of the namespace, service or instance it made, when known.
    Succeeded(Option<String>),
    Failed(String),
}

/// The Cloud Map calls the reconciler makes.
pub trait DiscoveryApi: Send + Sync {
    /// Every namespace, every page.
    fn list_namespaces(
        &self,
    ) -> impl Future<Output = Result<Vec<ObservedNamespace>, AwsError>> + Send;

    /// Starts creating a namespace (`vpc` for DNS_PRIVATE); returns the operation id.
    fn create_namespace(
        &self,
        name: &str,
        kind: &str,
        vpc: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    fn get_operation(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<OperationState, AwsError>> + Send;

    /// Every Cloud Map service of the account with its configuration (from
    /// the ListServices summaries), without tags and with an empty
    /// `namespace_id`: the summaries do not name it.
    fn list_services(
        &self,
    ) -> impl Future<Output = Result<Vec<ObservedCmService>, AwsError>> + Send;

    /// The namespace of a service (GetService). It never changes: callers remember it.
    fn service_namespace(&self, id: &str) -> impl Future<Output = Result<String, AwsError>> + Send;

    fn list_tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, AwsError>> + Send;

    /// Adds or overwrites tags; others are kept.
    fn tag(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Creates a service (synchronous); returns its id and ARN.
    fn create_service(
        &self,
        namespace_id: &str,
        input: &CmServiceCreate,
    ) -> impl Future<Output = Result<(String, String), AwsError>> + Send;

    /// Replaces the service's DNS records; returns the operation id.
    fn update_dns(
        &self,
        service_id: &str,
        dns: &DnsSpec,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Deletes a service that has no instances.
    fn delete_service(&self, service_id: &str)
    -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Every instance of a service, every page.
    fn list_instances(
        &self,
        service_id: &str,
    ) -> impl Future<Output = Result<Vec<ObservedInstance>, AwsError>> + Send;

    /// Registers or updates an instance (an upsert in AWS); returns the operation id.
    fn register_instance(
        &self,
        service_id: &str,
        instance: &ObservedInstance,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Deregisters an instance; returns the operation id.
    fn deregister_instance(
        &self,
        service_id: &str,
        instance_id: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
}

/// How long an asynchronous operation may take before it is reported as failed.
pub const OPERATION_DEADLINE: Duration = Duration::from_secs(120);

/// Polls `GetOperation` until it succeeds, fails, or `deadline` passes.
pub async fn wait_for<D: DiscoveryApi>(
    api: &D,
    operation: &str,
    deadline: Duration,
) -> Result<Option<String>, AwsError> {
    let end = tokio::time::Instant::now() + deadline;
    let mut pause = Duration::from_millis(100);
    loop {
        match api.get_operation(operation).await? {
            OperationState::Succeeded(target) => return Ok(target),
            OperationState::Failed(why) => {
                return Err(AwsError {
                    service: "servicediscovery",
                    operation: "GetOperation",
                    kind: ErrorKind::Other,
                    code: Some("OperationFailed".to_owned()),
                    message: format!("operation {operation} failed: {why}"),
                });
            }
            OperationState::Pending if tokio::time::Instant::now() + pause > end => {
                return Err(AwsError {
                    service: "servicediscovery",
                    operation: "GetOperation",
                    kind: ErrorKind::Transient,
                    code: None,
                    message: format!(
                        "operation {operation} still pending after {}s",
                        deadline.as_secs()
                    ),
                });
            }
            OperationState::Pending => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
