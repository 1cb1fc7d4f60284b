//! An in-memory Cloud Map whose operations succeed at once.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Calls, error};
use crate::aws::discovery::{
    CmServiceCreate, DiscoveryApi, DnsSpec, ObservedCmService, ObservedInstance, ObservedNamespace,
    OperationState,
};
use crate::aws::{AwsError, ErrorKind};

#[derive(Debug, Default)]
struct State {
    namespaces: Vec<ObservedNamespace>,
    services: Vec<ObservedCmService>,
    instances: BTreeMap<String, BTreeMap<String, ObservedInstance>>,
    next_id: u32,
    calls: Calls,
}

#[derive(Debug, Default)]
pub struct FakeDiscovery {
    state: Mutex<State>,
}

const CM: &str = "servicediscovery";

impl FakeDiscovery {
    pub fn new() -> Self {
        FakeDiscovery::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn instances(&self, service_id: &str) -> Vec<ObservedInstance> {
        self.with(|s| {
            s.instances
                .get(service_id)
                .map(|i| i.values().cloned().collect())
                .unwrap_or_default()
        })
    }

    pub fn services(&self) -> Vec<ObservedCmService> {
        self.with(|s| s.services.clone())
    }

    /// Registers an instance behind the operator's back (as ECS does for a task).
    pub fn add_instance(&self, service_id: &str, id: &str, attributes: &[(&str, &str)]) {
        self.with(|s| {
            let instance = ObservedInstance {
                id: id.to_owned(),
                attributes: attributes
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            };
            s.instances
                .entry(service_id.to_owned())
                .or_default()
                .insert(id.to_owned(), instance);
        });
    }

    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.with(|s| s.calls.failures.entry(operation).or_default().push(kind));
    }

    pub fn writes(&self) -> u64 {
        self.with(|s| s.calls.writes())
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.calls.counts.get(operation).copied().unwrap_or(0))
    }
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:08}", self.next_id)
    }
}

impl DiscoveryApi for FakeDiscovery {
    async fn list_namespaces(&self) -> Result<Vec<ObservedNamespace>, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "ListNamespaces")?;
            Ok(s.namespaces.clone())
        })
    }

    async fn create_namespace(
        &self,
        name: &str,
        kind: &str,
        _vpc: Option<&str>,
        _tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "CreateNamespace")?;
            let id = s.id("ns");
            s.namespaces.push(ObservedNamespace {
                id: id.clone(),
                name: name.to_owned(),
                kind: kind.to_owned(),
            });
            Ok(format!("op-{id}"))
        })
    }

    async fn get_operation(&self, id: &str) -> Result<OperationState, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "GetOperation")?;
            Ok(OperationState::Succeeded(
                id.strip_prefix("op-").map(str::to_owned),
            ))
        })
    }

    async fn list_services(&self) -> Result<Vec<ObservedCmService>, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "ListServices")?;
            Ok(s.services
                .iter()
                .cloned()
                .map(|mut c| {
                    c.tags.clear();
                    c.namespace_id.clear();
                    c
                })
                .collect())
        })
    }

    async fn service_namespace(&self, id: &str) -> Result<String, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "GetService")?;
            Ok(s.services
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.namespace_id.clone())
                .unwrap_or_default())
        })
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "ListTagsForResource")?;
            Ok(s.services
                .iter()
                .find(|c| c.arn == arn)
                .map(|c| c.tags.clone())
                .unwrap_or_default())
        })
    }

    async fn tag(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(CM, "TagResource")?;
            if let Some(c) = s.services.iter_mut().find(|c| c.arn == arn) {
                c.tags.extend(tags.clone());
            }
            Ok(())
        })
    }

    async fn create_service(
        &self,
        namespace_id: &str,
        input: &CmServiceCreate,
    ) -> Result<(String, String), AwsError> {
        self.with(|s| {
            s.calls.call(CM, "CreateService")?;
            let id = s.id("srv");
            let arn = format!("arn:aws:servicediscovery:us-east-1:123456789012:service/{id}");
            s.services.push(ObservedCmService {
                id: id.clone(),
                arn: arn.clone(),
                name: input.name.clone(),
                namespace_id: namespace_id.to_owned(),
                dns: input.dns.clone(),
                health_check_custom: input.health_check_custom,
                tags: input.tags.clone(),
            });
            Ok((id, arn))
        })
    }

    async fn update_dns(&self, service_id: &str, dns: &DnsSpec) -> Result<String, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "UpdateService")?;
            if let Some(c) = s.services.iter_mut().find(|c| c.id == service_id) {
                let routing_policy = c
                    .dns
                    .as_ref()
                    .map_or(dns.routing_policy.clone(), |d| d.routing_policy.clone());
                c.dns = Some(DnsSpec {
                    routing_policy,
                    ..dns.clone()
                });
            }
            Ok("op-update".to_owned())
        })
    }

    async fn delete_service(&self, service_id: &str) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(CM, "DeleteService")?;
            if s.instances.get(service_id).is_some_and(|i| !i.is_empty()) {
                return Err(error(
                    CM,
                    "DeleteService",
                    ErrorKind::Invalid,
                    "ResourceInUse",
                ));
            }
            s.services.retain(|c| c.id != service_id);
            Ok(())
        })
    }

    async fn list_instances(&self, service_id: &str) -> Result<Vec<ObservedInstance>, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "ListInstances")?;
            Ok(s.instances
                .get(service_id)
                .map(|i| i.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn register_instance(
        &self,
        service_id: &str,
        instance: &ObservedInstance,
    ) -> Result<String, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "RegisterInstance")?;
            s.instances
                .entry(service_id.to_owned())
                .or_default()
                .insert(instance.id.clone(), instance.clone());
            Ok("op-register".to_owned())
        })
    }

    async fn deregister_instance(
        &self,
        service_id: &str,
        instance_id: &str,
    ) -> Result<String, AwsError> {
        self.with(|s| {
            s.calls.call(CM, "DeregisterInstance")?;
            match s
                .instances
                .get_mut(service_id)
                .and_then(|i| i.remove(instance_id))
            {
                Some(_) => Ok("op-deregister".to_owned()),
                None => Err(error(
                    CM,
                    "DeregisterInstance",
                    ErrorKind::NotFound,
                    "InstanceNotFound",
                )),
            }
        })
    }
}
