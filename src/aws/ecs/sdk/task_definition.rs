//! Task definitions through the SDK: the `EcsApi` task-definition calls, a
//! `TaskDefinitionSpec` as a request (`request.rs`) and a revision ECS returns
//! as an `ObservedTaskDefinition` (`response.rs`).

mod request;
mod response;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use aws_sdk_ecs::types as sdk;

use super::SdkEcs;
use crate::aws::ecs::{ObservedTaskDefinition, family_of_arn, revision_of_arn};
use crate::aws::{AwsError, ErrorKind};
use crate::model::task_definition::TaskDefinitionSpec;
use request::register;
use response::{observed, tag_map};

// Its own copy: tests/deploy.rs reads the service of each `.call` from the
// consts of the file it is in.
const ECS: &str = "ecs";

impl SdkEcs {
    /// [`EcsApi::describe_task_definition`](crate::aws::ecs::EcsApi::describe_task_definition).
    pub(super) async fn describe_revision(
        &self,
        task_definition: &str,
    ) -> Result<Option<ObservedTaskDefinition>, AwsError> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(sdk::TaskDefinitionField::Tags);
        let out = match self
            .calls
            .call(ECS, "DescribeTaskDefinition", || out.clone().send())
            .await
        {
            Ok(out) => out,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(out
            .task_definition()
            .map(|td| observed(td, tag_map(out.tags()))))
    }

    /// [`EcsApi::register_task_definition`](crate::aws::ecs::EcsApi::register_task_definition).
    pub(super) async fn register_revision(
        &self,
        content: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedTaskDefinition, AwsError> {
        let req = register(self.client.register_task_definition(), content, tags)?;
        let out = self
            .revisions
            .call(ECS, "RegisterTaskDefinition", || req.clone().send())
            .await?;
        // moto leaves the tags out of the response: the sent ones are the revision's.
        out.task_definition()
            .map(|td| observed(td, tags.clone()))
            .ok_or_else(|| AwsError {
                service: ECS,
                operation: "RegisterTaskDefinition",
                kind: ErrorKind::Other,
                code: None,
                message: format!(
                    "family {}: the response has no task definition",
                    content.family.as_deref().unwrap_or_default()
                ),
            })
    }

    /// [`EcsApi::list_task_definitions`](crate::aws::ecs::EcsApi::list_task_definitions).
    pub(super) async fn list_revisions(&self, family: &str) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(sdk::TaskDefinitionStatus::Active)
                .sort(sdk::SortOrder::Asc)
                .max_results(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(ECS, "ListTaskDefinitions", || page.clone().send())
                .await?;
            // `familyPrefix` is the whole family in ECS and moto; the filter
            // keeps `web-api` out of `web` should it ever match as a prefix.
            arns.extend(
                page.task_definition_arns()
                    .iter()
                    .filter(|a| family_of_arn(a) == family)
                    .cloned(),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        // moto ignores `sort`; revisions compare as numbers, not as text.
        arns.sort_by_key(|a| revision_of_arn(a));
        Ok(arns)
    }

    /// [`EcsApi::list_task_definition_families`](crate::aws::ecs::EcsApi::list_task_definition_families).
    pub(super) async fn list_families(&self) -> Result<Vec<String>, AwsError> {
        let mut families = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_task_definition_families()
                .status(sdk::TaskDefinitionFamilyStatus::Active)
                .max_results(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(ECS, "ListTaskDefinitionFamilies", || page.clone().send())
                .await?;
            families.extend(page.families().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(families);
            }
        }
    }

    /// [`EcsApi::tags_of`](crate::aws::ecs::EcsApi::tags_of).
    pub(super) async fn resource_tags(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self.client.list_tags_for_resource().resource_arn(arn);
        let out = self
            .calls
            .call(ECS, "ListTagsForResource", || out.clone().send())
            .await?;
        Ok(tag_map(out.tags()))
    }

    /// [`EcsApi::deregister_task_definition`](crate::aws::ecs::EcsApi::deregister_task_definition).
    pub(super) async fn deregister_revision(&self, arn: &str) -> Result<(), AwsError> {
        let out = self
            .client
            .deregister_task_definition()
            .task_definition(arn);
        self.revisions
            .call(ECS, "DeregisterTaskDefinition", || out.clone().send())
            .await?;
        Ok(())
    }
}

/// Whether DescribeTaskDefinition failed because the family or revision does
/// not exist: ECS and moto answer a ClientException "Unable to describe task
/// definition." (`classify` makes it NotFound; Invalid with that message is the
/// same answer).
pub(super) fn missing(e: &AwsError) -> bool {
    e.kind == ErrorKind::NotFound
        || (e.kind == ErrorKind::Invalid
            && e.message.contains("Unable to describe task definition"))
}

/// An optional list, item by item: `None` stays `None`, `[]` stays `[]`.
fn each<T, S>(items: Option<&[T]>, f: impl Fn(&T) -> S) -> Option<Vec<S>> {
    items.map(|items| items.iter().map(f).collect())
}
