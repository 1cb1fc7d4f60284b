//! A live task definition revision as the `TaskDefinition` document that
//! registered it: ECS's echoed defaults left out, then checked with the one
//! normaliser, so the plan after an import never registers a revision.

use crate::aws::ecs::ObservedTaskDefinition;
use crate::model::task_definition::{ContainerDefinition, TaskDefinitionSpec, TaskSize};
use crate::plan::task_definition::{normal_of, normalise};

/// The document's spec for `live` under `doc_name`: without the defaults ECS
/// fills in when that leaves the normalised content unchanged, else the
/// revision's content as ECS returns it.
pub fn spec(live: &ObservedTaskDefinition, doc_name: &str) -> TaskDefinitionSpec {
    let mut spec = live.content.clone();
    spec.family = (live.family != doc_name).then(|| live.family.clone());
    let tags: std::collections::BTreeMap<String, String> = live
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with("ecs-operator/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    spec.tags = (!tags.is_empty()).then_some(tags);
    let mut minimal = spec.clone();
    strip_defaults(&mut minimal);
    let live_normal = normal_of(live);
    if normalise::of_document(&minimal, &live.family) == live_normal {
        minimal
    } else {
        spec
    }
}

fn numbered(size: &mut Option<TaskSize>) {
    if let Some(TaskSize::Text(t)) = size
        && let Ok(n) = t.parse::<u32>()
    {
        *size = Some(TaskSize::Number(n));
    }
}

fn none_if_empty<T>(v: &mut Option<Vec<T>>) {
    if v.as_ref().is_some_and(Vec::is_empty) {
        *v = None;
    }
}

/// What ECS writes back into a revision that the document need not say.
fn strip_defaults(td: &mut TaskDefinitionSpec) {
    numbered(&mut td.cpu);
    numbered(&mut td.memory);
    none_if_empty(&mut td.volumes);
    none_if_empty(&mut td.requires_compatibilities);
    let network = td
        .network_mode
        .clone()
        .unwrap_or_else(|| "bridge".to_owned());
    if td.network_mode.as_deref() == Some("bridge") {
        td.network_mode = None;
    }
    for c in &mut td.container_definitions {
        strip_container(c, &network);
    }
}

fn strip_container(c: &mut ContainerDefinition, network: &str) {
    if c.essential == Some(true) {
        c.essential = None;
    }
    if c.cpu == Some(0) {
        c.cpu = None;
    }
    if c.version_consistency.as_deref() == Some("enabled") {
        c.version_consistency = None;
    }
    none_if_empty(&mut c.environment);
    none_if_empty(&mut c.secrets);
    none_if_empty(&mut c.mount_points);
    none_if_empty(&mut c.volumes_from);
    none_if_empty(&mut c.command);
    none_if_empty(&mut c.entry_point);
    none_if_empty(&mut c.ulimits);
    none_if_empty(&mut c.depends_on);
    for p in c.port_mappings.iter_mut().flatten() {
        if p.protocol.as_deref() == Some("tcp") {
            p.protocol = None;
        }
        let same = p.host_port == Some(p.container_port);
        if (matches!(network, "awsvpc" | "host") && same)
            || (network == "bridge" && p.host_port == Some(0))
        {
            p.host_port = None;
        }
    }
    none_if_empty(&mut c.port_mappings);
    if let Some(h) = &mut c.health_check {
        if h.interval == Some(30) {
            h.interval = None;
        }
        if h.timeout == Some(5) {
            h.timeout = None;
        }
        if h.retries == Some(3) {
            h.retries = None;
        }
    }
    if let Some(l) = &mut c.log_configuration {
        none_if_empty(&mut l.secret_options);
        if l.options.as_ref().is_some_and(|o| o.is_empty()) {
            l.options = None;
        }
    }
    if c.docker_labels.as_ref().is_some_and(|d| d.is_empty()) {
        c.docker_labels = None;
    }
    if let Some(lp) = &mut c.linux_parameters
        && let Some(caps) = &mut lp.capabilities
    {
        none_if_empty(&mut caps.add);
        none_if_empty(&mut caps.drop);
        if caps.add.is_none() && caps.drop.is_none() {
            lp.capabilities = None;
        }
    }
}
