//! ECS through the AWS SDK: requests built from our types (here), responses
//! mapped back (`response.rs`), tasks (`tasks.rs`), task definitions (`task_definition/`).

mod response;
mod task_definition;
mod tasks;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ecs::types as sdk;

use super::{
    DeploymentConfig, DeploymentRecord, EcsApi, HISTORY, ObservedService, ObservedTaskDefinition,
    Registry, ServiceCreate, ServiceUpdate, cluster_name, service_name_of_arn,
};
use crate::aws::call::{Caller, RetryPolicy};
use crate::aws::{AwsError, ErrorKind};
use crate::metrics::Metrics;
use crate::model::service::{CapacityProviderItem, LoadBalancer, Network};
use crate::model::task_definition::TaskDefinitionSpec;

/// ECS through the AWS SDK.
#[derive(Clone)]
pub struct SdkEcs {
    client: aws_sdk_ecs::Client,
    calls: Caller,
    /// Register and Deregister share a bucket of their own (burst 20, then
    /// 1/s): a throttle there closes this gate, not the one of every ECS read.
    revisions: Caller,
}

impl SdkEcs {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkEcs {
            client: aws_sdk_ecs::Client::new(config),
            calls: Caller::new(ECS, metrics.clone(), retry),
            revisions: Caller::new(ECS, metrics, retry),
        }
    }
}

const ECS: &str = "ecs";

impl EcsApi for SdkEcs {
    async fn list_clusters(&self) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_clusters()
                .max_results(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(ECS, "ListClusters", || page.clone().send())
                .await?;
            names.extend(
                page.cluster_arns()
                    .iter()
                    .map(|a| cluster_name(a).to_owned()),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_services()
                .cluster(cluster)
                .max_results(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(ECS, "ListServices", || page.clone().send())
                .await?;
            names.extend(
                page.service_arns()
                    .iter()
                    .map(|a| service_name_of_arn(a).to_owned()),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<Vec<ObservedService>, AwsError> {
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(names.to_vec()))
            .include(sdk::ServiceField::Tags);
        let out = self
            .calls
            .call(ECS, "DescribeServices", || out.clone().send())
            .await?;
        Ok(out
            .services()
            .iter()
            .map(|s| response::observed(cluster, s))
            .collect())
    }

    async fn resolve_task_definition(&self, task_definition: &str) -> Result<String, AwsError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(task_definition);
        let out = self
            .calls
            .call(ECS, "DescribeTaskDefinition", || out.clone().send())
            .await?;
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .map(str::to_owned)
            .ok_or_else(|| AwsError {
                service: ECS,
                operation: "DescribeTaskDefinition",
                kind: ErrorKind::NotFound,
                code: None,
                message: format!("task definition {task_definition} not found"),
            })
    }

    async fn create_service(&self, input: &ServiceCreate) -> Result<String, AwsError> {
        let mut req = self
            .client
            .create_service()
            .cluster(&input.cluster)
            .service_name(&input.name)
            .task_definition(&input.task_definition)
            .desired_count(to_i32(input.desired_count))
            .set_launch_type(input.launch_type.as_deref().map(sdk::LaunchType::from))
            .set_capacity_provider_strategy(
                (!input.capacity_provider_strategy.is_empty())
                    .then(|| strategy(&input.capacity_provider_strategy)),
            )
            .set_platform_version(input.platform_version.clone())
            .set_network_configuration(input.network.as_ref().map(network))
            .set_load_balancers(Some(
                input.load_balancers.iter().map(load_balancer).collect(),
            ))
            .set_service_registries(Some(
                input.service_registries.iter().map(registry).collect(),
            ))
            .set_deployment_configuration(input.deployment.as_ref().map(deployment))
            .set_health_check_grace_period_seconds(
                input.health_check_grace_period_seconds.map(to_i32),
            )
            .set_enable_execute_command(input.enable_execute_command)
            .set_propagate_tags(
                input
                    .propagate_tags
                    .as_deref()
                    .map(sdk::PropagateTags::from),
            );
        for (k, v) in &input.tags {
            req = req.tags(sdk::Tag::builder().key(k).value(v).build());
        }
        let out = self
            .calls
            .call(ECS, "CreateService", || req.clone().send())
            .await?;
        Ok(out
            .service()
            .and_then(|s| s.service_arn())
            .unwrap_or_default()
            .to_owned())
    }

    async fn update_service(&self, input: &ServiceUpdate) -> Result<(), AwsError> {
        let req = self
            .client
            .update_service()
            .cluster(&input.cluster)
            .service(&input.name)
            .set_desired_count(input.desired_count.map(to_i32))
            .set_task_definition(input.task_definition.clone())
            .set_capacity_provider_strategy(
                input.capacity_provider_strategy.as_deref().map(strategy),
            )
            .set_platform_version(input.platform_version.clone())
            .set_network_configuration(input.network.as_ref().map(network))
            .set_load_balancers(
                input
                    .load_balancers
                    .as_ref()
                    .map(|l| l.iter().map(load_balancer).collect()),
            )
            .set_service_registries(
                input
                    .service_registries
                    .as_ref()
                    .map(|r| r.iter().map(registry).collect()),
            )
            .set_deployment_configuration(input.deployment.as_ref().map(deployment))
            .set_health_check_grace_period_seconds(
                input.health_check_grace_period_seconds.map(to_i32),
            )
            .set_enable_execute_command(input.enable_execute_command)
            .set_propagate_tags(
                input
                    .propagate_tags
                    .as_deref()
                    .map(sdk::PropagateTags::from),
            );
        self.calls
            .call(ECS, "UpdateService", || req.clone().send())
            .await?;
        Ok(())
    }

    async fn tag_service(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut req = self.client.tag_resource().resource_arn(arn);
        for (k, v) in tags {
            req = req.tags(sdk::Tag::builder().key(k).value(v).build());
        }
        self.calls
            .call(ECS, "TagResource", || req.clone().send())
            .await?;
        Ok(())
    }

    async fn live_tasks(
        &self,
        cluster: &str,
    ) -> Result<BTreeMap<String, std::collections::BTreeSet<String>>, AwsError> {
        let mut live: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for t in self.not_stopped_tasks(cluster).await? {
            if let Some(service) = t.group().and_then(|g| g.strip_prefix("service:")) {
                live.entry(service.to_owned())
                    .or_default()
                    .insert(service_name_of_arn(t.task_arn().unwrap_or_default()).to_owned());
            }
        }
        Ok(live)
    }

    async fn running_task_definitions(
        &self,
        cluster: &str,
    ) -> Result<std::collections::BTreeSet<String>, AwsError> {
        let tasks = self.not_stopped_tasks(cluster).await?;
        Ok(tasks
            .iter()
            .filter_map(|t| t.task_definition_arn().map(str::to_owned))
            .collect())
    }

    async fn deployment_history(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<DeploymentRecord>, AwsError> {
        let list = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .max_results(HISTORY);
        let list = self
            .calls
            .call(ECS, "ListServiceDeployments", || list.clone().send())
            .await?;
        let arns: Vec<String> = list
            .service_deployments()
            .iter()
            .filter_map(|d| d.service_deployment_arn().map(str::to_owned))
            .collect();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let described = self
            .client
            .describe_service_deployments()
            .set_service_deployment_arns(Some(arns));
        let described = self
            .calls
            .call(ECS, "DescribeServiceDeployments", || {
                described.clone().send()
            })
            .await?;
        let deployments = described.service_deployments();
        // The revisions say which task definition each deployment was about.
        let mut revisions: Vec<String> = deployments
            .iter()
            .flat_map(|d| {
                let target = d.target_service_revision().and_then(|r| r.arn());
                let back = d.rollback().and_then(|r| r.service_revision_arn());
                target.into_iter().chain(back)
            })
            .map(str::to_owned)
            .collect();
        revisions.sort();
        revisions.dedup();
        let mut task_definitions = BTreeMap::new();
        // DescribeServiceRevisions takes 20 ARNs; HISTORY deployments name at most 20.
        for batch in revisions.chunks(20) {
            let out = self
                .client
                .describe_service_revisions()
                .set_service_revision_arns(Some(batch.to_vec()));
            let out = self
                .calls
                .call(ECS, "DescribeServiceRevisions", || out.clone().send())
                .await?;
            for r in out.service_revisions() {
                if let (Some(arn), Some(td)) = (r.service_revision_arn(), r.task_definition()) {
                    task_definitions.insert(arn.to_owned(), td.to_owned());
                }
            }
        }
        let mut records = response::records(deployments, &task_definitions);
        records.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(records)
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<ObservedTaskDefinition>, AwsError> {
        self.describe_revision(task_definition).await
    }

    async fn register_task_definition(
        &self,
        content: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedTaskDefinition, AwsError> {
        self.register_revision(content, tags).await
    }

    async fn list_task_definitions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        self.list_revisions(family).await
    }

    async fn list_task_definition_families(&self) -> Result<Vec<String>, AwsError> {
        self.list_families().await
    }

    async fn tags_of(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.resource_tags(arn).await
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), AwsError> {
        self.deregister_revision(arn).await
    }

    async fn delete_service(&self, cluster: &str, name: &str) -> Result<(), AwsError> {
        let out = self.client.delete_service().cluster(cluster).service(name);
        self.calls
            .call(ECS, "DeleteService", || out.clone().send())
            .await?;
        Ok(())
    }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn strategy(items: &[CapacityProviderItem]) -> Vec<sdk::CapacityProviderStrategyItem> {
    items
        .iter()
        .filter_map(|i| {
            sdk::CapacityProviderStrategyItem::builder()
                .capacity_provider(&i.capacity_provider)
                .weight(to_i32(i.weight))
                .base(to_i32(i.base))
                .build()
                .ok()
        })
        .collect()
}

fn network(n: &Network) -> sdk::NetworkConfiguration {
    let vpc = sdk::AwsVpcConfiguration::builder()
        .set_subnets(Some(n.subnets.clone()))
        .set_security_groups(Some(n.security_groups.clone()))
        .assign_public_ip(if n.assign_public_ip {
            sdk::AssignPublicIp::Enabled
        } else {
            sdk::AssignPublicIp::Disabled
        })
        .build()
        .ok();
    sdk::NetworkConfiguration::builder()
        .set_awsvpc_configuration(vpc)
        .build()
}

fn load_balancer(lb: &LoadBalancer) -> sdk::LoadBalancer {
    sdk::LoadBalancer::builder()
        .target_group_arn(&lb.target_group_arn)
        .container_name(&lb.container_name)
        .container_port(i32::from(lb.container_port))
        .build()
}

fn registry(r: &Registry) -> sdk::ServiceRegistry {
    sdk::ServiceRegistry::builder()
        .registry_arn(&r.registry_arn)
        .set_container_name(r.container_name.clone())
        .set_container_port(r.container_port.map(i32::from))
        .set_port(r.port.map(i32::from))
        .build()
}

fn deployment(d: &DeploymentConfig) -> sdk::DeploymentConfiguration {
    sdk::DeploymentConfiguration::builder()
        .set_minimum_healthy_percent(d.minimum_healthy_percent.map(to_i32))
        .set_maximum_percent(d.maximum_percent.map(to_i32))
        .set_deployment_circuit_breaker(d.circuit_breaker.map(|c| {
            sdk::DeploymentCircuitBreaker::builder()
                .enable(c.enable)
                .rollback(c.rollback)
                .build()
        }))
        .set_alarms(d.alarms.as_ref().and_then(|a| {
            sdk::DeploymentAlarms::builder()
                .set_alarm_names(Some(a.alarm_names.clone()))
                .enable(a.enable)
                .rollback(a.rollback)
                .build()
                .ok()
        }))
        .build()
}
