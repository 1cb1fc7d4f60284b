//! The task definition families of the fake ECS and its test helpers for them,
//! with real ECS's habits (TASKDEF-FACTS §1–2): revision numbers only go up, and
//! describing a family gives its latest ACTIVE revision.

use std::collections::BTreeMap;

use super::FakeEcs;
use crate::aws::ecs::ObservedTaskDefinition;
use crate::model::task_definition::{ContainerDefinition, TaskDefinitionSpec, TaskSize};

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition";

/// Every revision ever registered, by family, oldest first.
#[derive(Debug, Default)]
pub(super) struct Families {
    revisions: BTreeMap<String, Vec<ObservedTaskDefinition>>,
    /// Applied to each new revision after ECS's defaults: a field ECS adds
    /// that the normaliser does not know (the self-check test).
    pub(super) extra_default: Option<fn(&mut TaskDefinitionSpec)>,
}

impl Families {
    /// Registers `content` as the next revision of its family.
    pub(super) fn register(
        &mut self,
        content: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> ObservedTaskDefinition {
        let family = content.family.clone().unwrap_or_default();
        let list = self.revisions.entry(family.clone()).or_default();
        let revision = list.last().map_or(1, |r| r.revision + 1);
        let mut content = content.clone();
        echo_defaults(&mut content);
        if let Some(extra) = self.extra_default {
            extra(&mut content);
        }
        let td = ObservedTaskDefinition {
            arn: format!("{ARN}/{family}:{revision}"),
            family,
            revision,
            status: "ACTIVE".to_owned(),
            content,
            tags: tags.clone(),
        };
        list.push(td.clone());
        td
    }

    /// A family name, `family:revision` or an ARN: the latest ACTIVE revision
    /// of a family, or the revision named (whatever its status).
    pub(super) fn describe(&self, name: &str) -> Option<&ObservedTaskDefinition> {
        let name = name
            .rsplit_once(":task-definition/")
            .map_or(name, |(_, t)| t);
        let (family, revision) = match name.split_once(':') {
            Some((f, r)) => (f, Some(r.parse::<u32>().ok()?)),
            None => (name, None),
        };
        let list = self.revisions.get(family)?;
        match revision {
            Some(r) => list.iter().find(|td| td.revision == r),
            None => list.iter().rev().find(|td| td.status == "ACTIVE"),
        }
    }

    pub(super) fn active(&self, family: &str) -> Vec<String> {
        let list = self.revisions.get(family).into_iter().flatten();
        list.filter(|td| td.status == "ACTIVE")
            .map(|td| td.arn.clone())
            .collect()
    }

    pub(super) fn families(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .revisions
            .iter()
            .filter(|(_, list)| list.iter().any(|td| td.status == "ACTIVE"))
            .map(|(f, _)| f.clone())
            .collect();
        names.sort();
        names
    }

    pub(super) fn get_mut(&mut self, arn: &str) -> Option<&mut ObservedTaskDefinition> {
        self.revisions
            .values_mut()
            .flatten()
            .find(|td| td.arn == arn)
    }

    /// Registrations made so far in `family`, INACTIVE ones included.
    pub(super) fn count(&self, family: &str) -> usize {
        self.revisions.get(family).map_or(0, Vec::len)
    }
}

// Set up and read back by the tests, as someone with another client would.
impl FakeEcs {
    /// Registers one more revision of `family`, as someone else would.
    pub fn register(&self, family: &str) -> &Self {
        let content = TaskDefinitionSpec {
            family: Some(family.to_owned()),
            container_definitions: vec![ContainerDefinition {
                name: "app".to_owned(),
                image: format!("{family}:1"),
                ..ContainerDefinition::default()
            }],
            ..TaskDefinitionSpec::default()
        };
        self.with(|s| s.families.register(&content, &BTreeMap::new()));
        self
    }

    /// Registers `content` as the next revision of its family, as someone
    /// else would (by hand, another tool): no tags unless given.
    pub fn register_content(
        &self,
        content: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> ObservedTaskDefinition {
        self.with(|s| s.families.register(content, tags))
    }

    /// A revision (family, `family:revision` or ARN) as ECS describes it.
    pub fn task_definition(&self, name: &str) -> Option<ObservedTaskDefinition> {
        self.with(|s| s.families.describe(name).cloned())
    }

    /// ACTIVE revisions of `family`, oldest first.
    pub fn active_revisions(&self, family: &str) -> Vec<String> {
        self.with(|s| s.families.active(family))
    }

    /// Registrations made in `family`, deregistered ones included.
    pub fn registrations(&self, family: &str) -> usize {
        self.with(|s| s.families.count(family))
    }

    /// From now on each new revision comes back changed by `f`, as ECS adding
    /// a default the normaliser does not know would change it.
    pub fn echo_extra_default(&self, f: fn(&mut TaskDefinitionSpec)) {
        self.with(|s| s.families.extra_default = Some(f));
    }
}

/// What real ECS writes back into a registered revision (TASKDEF-FACTS §2):
/// sizes as unit counts, `essential`, container `cpu`, port protocol and host
/// port, health check timings, empty lists. The loop tests see these defaults,
/// so they go through the normaliser.
fn echo_defaults(td: &mut TaskDefinitionSpec) {
    if let Some(cpu) = td.cpu.as_ref().and_then(TaskSize::cpu_units) {
        td.cpu = Some(TaskSize::Text(cpu.to_string()));
    }
    if let Some(mib) = td.memory.as_ref().and_then(TaskSize::mib) {
        td.memory = Some(TaskSize::Text(mib.to_string()));
    }
    let network_mode = td
        .network_mode
        .get_or_insert_with(|| "bridge".to_owned())
        .clone();
    td.volumes.get_or_insert_with(Vec::new);
    for c in &mut td.container_definitions {
        echo_container(c, &network_mode);
    }
}

fn echo_container(c: &mut ContainerDefinition, network_mode: &str) {
    c.essential.get_or_insert(true);
    c.cpu.get_or_insert(0);
    c.environment.get_or_insert_with(Vec::new);
    c.mount_points.get_or_insert_with(Vec::new);
    c.volumes_from.get_or_insert_with(Vec::new);
    for p in c.port_mappings.get_or_insert_with(Vec::new) {
        p.protocol.get_or_insert_with(|| "tcp".to_owned());
        if matches!(network_mode, "awsvpc" | "host") {
            p.host_port.get_or_insert(p.container_port);
        }
    }
    if let Some(h) = &mut c.health_check {
        h.interval.get_or_insert(30);
        h.timeout.get_or_insert(5);
        h.retries.get_or_insert(3);
    }
    // ECS returns the environment in its own order.
    if let Some(env) = &mut c.environment {
        env.reverse();
    }
}
