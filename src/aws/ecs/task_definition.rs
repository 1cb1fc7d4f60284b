//! A task definition revision as the operator sees it: its identity, its
//! content in RegisterTaskDefinition's shape, and its tags.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::task_definition::TaskDefinitionSpec;

/// One revision of a family.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedTaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: u32,
    /// ACTIVE, INACTIVE or DELETE_IN_PROGRESS.
    pub status: String,
    /// What RegisterTaskDefinition would take to make it again, `family` set:
    /// the output-only fields (ARN, revision, status, registeredAt…) left out.
    pub content: TaskDefinitionSpec,
    pub tags: BTreeMap<String, String>,
}

/// `arn:…:task-definition/web:3` → `web`.
pub fn family_of_arn(arn: &str) -> &str {
    let tail = arn.rsplit_once(":task-definition/").map_or(arn, |(_, t)| t);
    tail.split_once(':').map_or(tail, |(f, _)| f)
}

/// `arn:…:task-definition/web:3` → 3.
pub fn revision_of_arn(arn: &str) -> Option<u32> {
    arn.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_and_revision_come_from_the_arn() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-app:12";
        assert_eq!(family_of_arn(arn), "web-app");
        assert_eq!(revision_of_arn(arn), Some(12));
        assert_eq!(family_of_arn("web:3"), "web");
    }
}
