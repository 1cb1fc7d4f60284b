//! Cloud Map through the AWS SDK.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_servicediscovery::types as sdk;

use super::{
    CmServiceCreate, DiscoveryApi, DnsSpec, ObservedCmService, ObservedInstance, ObservedNamespace,
    OperationState,
};
use crate::aws::call::{Caller, RetryPolicy};
use crate::aws::{AwsError, ErrorKind};
use crate::metrics::Metrics;

const CM: &str = "servicediscovery";

#[derive(Clone)]
pub struct SdkDiscovery {
    client: aws_sdk_servicediscovery::Client,
    calls: Caller,
}

impl SdkDiscovery {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkDiscovery {
            client: aws_sdk_servicediscovery::Client::new(config),
            calls: Caller::new(CM, metrics, retry),
        }
    }
}

fn missing(op: &'static str, what: &str) -> AwsError {
    AwsError {
        service: CM,
        operation: op,
        kind: ErrorKind::Other,
        code: None,
        message: format!("the response has no {what}"),
    }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Option<Vec<sdk::Tag>> {
    let tags: Vec<sdk::Tag> = tags
        .iter()
        .filter_map(|(k, v)| sdk::Tag::builder().key(k).value(v).build().ok())
        .collect();
    (!tags.is_empty()).then_some(tags)
}

fn dns_records(dns: &DnsSpec) -> Vec<sdk::DnsRecord> {
    dns.record_types
        .iter()
        .filter_map(|t| {
            sdk::DnsRecord::builder()
                .r#type(sdk::RecordType::from(t.as_str()))
                .ttl(i64::try_from(dns.ttl).unwrap_or(i64::MAX))
                .build()
                .ok()
        })
        .collect()
}

impl DiscoveryApi for SdkDiscovery {
    async fn list_namespaces(&self) -> Result<Vec<ObservedNamespace>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self.client.list_namespaces().set_next_token(token);
            let page = self
                .calls
                .call(CM, "ListNamespaces", || page.clone().send())
                .await?;
            for n in page.namespaces() {
                found.push(ObservedNamespace {
                    id: n.id().unwrap_or_default().to_owned(),
                    name: n.name().unwrap_or_default().to_owned(),
                    kind: n
                        .r#type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn create_namespace(
        &self,
        name: &str,
        kind: &str,
        vpc: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let op = match kind {
            "HTTP" => {
                let out = self
                    .client
                    .create_http_namespace()
                    .name(name)
                    .set_tags(sdk_tags(tags));
                let out = self
                    .calls
                    .call(CM, "CreateHttpNamespace", || out.clone().send())
                    .await?;
                out.operation_id().map(str::to_owned)
            }
            "DNS_PRIVATE" => {
                let out = self
                    .client
                    .create_private_dns_namespace()
                    .name(name)
                    .vpc(vpc.unwrap_or_default())
                    .set_tags(sdk_tags(tags));
                let out = self
                    .calls
                    .call(CM, "CreatePrivateDnsNamespace", || out.clone().send())
                    .await?;
                out.operation_id().map(str::to_owned)
            }
            _ => {
                let out = self
                    .client
                    .create_public_dns_namespace()
                    .name(name)
                    .set_tags(sdk_tags(tags));
                let out = self
                    .calls
                    .call(CM, "CreatePublicDnsNamespace", || out.clone().send())
                    .await?;
                out.operation_id().map(str::to_owned)
            }
        };
        op.ok_or_else(|| missing("CreateNamespace", "operation id"))
    }

    async fn get_operation(&self, id: &str) -> Result<OperationState, AwsError> {
        let out = self.client.get_operation().operation_id(id);
        let out = self
            .calls
            .call(CM, "GetOperation", || out.clone().send())
            .await?;
        let Some(op) = out.operation() else {
            return Err(missing("GetOperation", "operation"));
        };
        let target = op.targets().and_then(|t| t.values().next().cloned());
        Ok(match op.status() {
            Some(sdk::OperationStatus::Success) => OperationState::Succeeded(target),
            Some(sdk::OperationStatus::Fail) => {
                OperationState::Failed(op.error_message().unwrap_or("no message").to_owned())
            }
            _ => OperationState::Pending,
        })
    }

    async fn list_services(&self) -> Result<Vec<ObservedCmService>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self.client.list_services().set_next_token(token);
            let page = self
                .calls
                .call(CM, "ListServices", || page.clone().send())
                .await?;
            found.extend(page.services().iter().map(|s| {
                let dns = s.dns_config().map(dns_spec);
                ObservedCmService {
                    id: s.id().unwrap_or_default().to_owned(),
                    arn: s.arn().unwrap_or_default().to_owned(),
                    name: s.name().unwrap_or_default().to_owned(),
                    // Summaries do not say; `service_namespace` does.
                    namespace_id: String::new(),
                    dns,
                    health_check_custom: s.health_check_custom_config().is_some(),
                    tags: BTreeMap::new(),
                }
            }));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn service_namespace(&self, id: &str) -> Result<String, AwsError> {
        let out = self.client.get_service().id(id);
        let out = self
            .calls
            .call(CM, "GetService", || out.clone().send())
            .await?;
        Ok(out
            .service()
            .and_then(|s| s.namespace_id())
            .unwrap_or_default()
            .to_owned())
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self.client.list_tags_for_resource().resource_arn(arn);
        let out = self
            .calls
            .call(CM, "ListTagsForResource", || out.clone().send())
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let out = self
            .client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(sdk_tags(tags));
        self.calls
            .call(CM, "TagResource", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn create_service(
        &self,
        namespace_id: &str,
        input: &CmServiceCreate,
    ) -> Result<(String, String), AwsError> {
        let dns = input.dns.as_ref().and_then(|d| {
            sdk::DnsConfig::builder()
                .routing_policy(sdk::RoutingPolicy::from(d.routing_policy.as_str()))
                .set_dns_records(Some(dns_records(d)))
                .build()
                .ok()
        });
        let health = input
            .health_check_custom
            .then(|| sdk::HealthCheckCustomConfig::builder().build());
        let out = self
            .client
            .create_service()
            .name(&input.name)
            .namespace_id(namespace_id)
            .set_dns_config(dns)
            .set_health_check_custom_config(health)
            .set_tags(sdk_tags(&input.tags));
        let out = self
            .calls
            .call(CM, "CreateService", || out.clone().send())
            .await?;
        let service = out
            .service()
            .ok_or_else(|| missing("CreateService", "service"))?;
        Ok((
            service.id().unwrap_or_default().to_owned(),
            service.arn().unwrap_or_default().to_owned(),
        ))
    }

    async fn update_dns(&self, service_id: &str, dns: &DnsSpec) -> Result<String, AwsError> {
        let change = sdk::DnsConfigChange::builder()
            .set_dns_records(Some(dns_records(dns)))
            .build()
            .map_err(|e| missing("UpdateService", &e.to_string()))?;
        let out = self
            .client
            .update_service()
            .id(service_id)
            .service(sdk::ServiceChange::builder().dns_config(change).build());
        let out = self
            .calls
            .call(CM, "UpdateService", || out.clone().send())
            .await?;
        out.operation_id()
            .map(str::to_owned)
            .ok_or_else(|| missing("UpdateService", "operation id"))
    }

    async fn delete_service(&self, service_id: &str) -> Result<(), AwsError> {
        let out = self.client.delete_service().id(service_id);
        self.calls
            .call(CM, "DeleteService", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn list_instances(&self, service_id: &str) -> Result<Vec<ObservedInstance>, AwsError> {
        let mut found: Vec<ObservedInstance> = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_instances()
                .service_id(service_id)
                .max_results(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(CM, "ListInstances", || page.clone().send())
                .await?;
            for i in page.instances() {
                let instance = ObservedInstance {
                    id: i.id().unwrap_or_default().to_owned(),
                    attributes: i
                        .attributes()
                        .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                };
                // One entry per id; a later entry is the newer registration.
                found.retain(|f| f.id != instance.id);
                found.push(instance);
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn register_instance(
        &self,
        service_id: &str,
        instance: &ObservedInstance,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .register_instance()
            .service_id(service_id)
            .instance_id(&instance.id)
            .set_attributes(Some(instance.attributes.clone().into_iter().collect()));
        let out = self
            .calls
            .call(CM, "RegisterInstance", || out.clone().send())
            .await?;
        out.operation_id()
            .map(str::to_owned)
            .ok_or_else(|| missing("RegisterInstance", "operation id"))
    }

    async fn deregister_instance(
        &self,
        service_id: &str,
        instance_id: &str,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .deregister_instance()
            .service_id(service_id)
            .instance_id(instance_id);
        let out = self
            .calls
            .call(CM, "DeregisterInstance", || out.clone().send())
            .await?;
        out.operation_id()
            .map(str::to_owned)
            .ok_or_else(|| missing("DeregisterInstance", "operation id"))
    }
}

fn dns_spec(d: &sdk::DnsConfig) -> DnsSpec {
    let mut record_types: Vec<String> = d
        .dns_records()
        .iter()
        .map(|r| r.r#type().as_str().to_owned())
        .collect();
    record_types.sort();
    DnsSpec {
        ttl: d
            .dns_records()
            .first()
            .map_or(0, |r| u64::try_from(r.ttl()).unwrap_or(0)),
        record_types,
        routing_policy: d
            .routing_policy()
            .map_or("MULTIVALUE", |p| p.as_str())
            .to_owned(),
    }
}
