//! What RegisterTaskDefinition would refuse, found before anything is sent:
//! moto accepts most of it (TASKDEF-FACTS §3), real ECS does not.

use std::collections::BTreeSet;

use super::{TaskDefinitionSpec, TaskSize, fargate_pair_ok};
use crate::model::Cx;

/// ECS's limit on a task definition, in bytes of its JSON.
pub const MAX_BYTES: usize = 64 * 1024;
/// AWS allows 50 tags; the operator adds two of its own.
const MAX_USER_TAGS: usize = 48;

pub(super) fn task(spec: &TaskDefinitionSpec, cx: &mut Cx<'_>) {
    if let Some(f) = &spec.family
        && !valid_name(f)
    {
        cx.error(
            "spec.family",
            format!("`{f}` is not a valid family: 1 to 255 letters, digits, `-` and `_`"),
        );
    }
    one_of(
        cx,
        "spec.networkMode",
        spec.network_mode.as_deref(),
        &["awsvpc", "bridge", "host", "none"],
    );
    for (i, c) in spec.requires_compatibilities.iter().flatten().enumerate() {
        one_of(
            cx,
            &format!("spec.requiresCompatibilities[{i}]"),
            Some(c),
            &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"],
        );
    }
    if let Some(p) = &spec.runtime_platform {
        one_of(
            cx,
            "spec.runtimePlatform.cpuArchitecture",
            p.cpu_architecture.as_deref(),
            &["X86_64", "ARM64"],
        );
    }
    one_of(
        cx,
        "spec.pidMode",
        spec.pid_mode.as_deref(),
        &["host", "task"],
    );
    one_of(
        cx,
        "spec.ipcMode",
        spec.ipc_mode.as_deref(),
        &["host", "task", "none"],
    );
    size(spec, cx);
    if let Some(e) = &spec.ephemeral_storage {
        cx.range("spec.ephemeralStorage.sizeInGiB", e.size_in_gib, 21, 200);
    }
    if let Some(k) = spec.keep_revisions {
        cx.range("spec.keepRevisions", k, 2, 1_000);
    }
    tags(spec, cx);
    containers(spec, cx);
    let volumes: BTreeSet<&str> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    duplicates(
        cx,
        "spec.volumes",
        spec.volumes.iter().flatten().map(|v| v.name.as_str()),
        "volume",
    );
    for (i, c) in spec.container_definitions.iter().enumerate() {
        for (j, m) in c.mount_points.iter().flatten().enumerate() {
            if !volumes.contains(m.source_volume.as_str()) {
                cx.error(
                    &format!("spec.containerDefinitions[{i}].mountPoints[{j}].sourceVolume"),
                    format!("`{}` is not a volume of the task", m.source_volume),
                );
            }
        }
    }
    let bytes = serde_json::to_vec(spec).map_or(0, |v| v.len());
    if bytes > MAX_BYTES {
        cx.error(
            "spec",
            format!("the task definition is {bytes} bytes: ECS takes at most {MAX_BYTES} (64 KiB)"),
        );
    }
}

fn size(spec: &TaskDefinitionSpec, cx: &mut Cx<'_>) {
    let cpu = parsed(
        cx,
        "spec.cpu",
        spec.cpu.as_ref(),
        TaskSize::cpu_units,
        "CPU units (`256`) or vCPU (`\"0.25 vCPU\"`)",
    );
    let memory = parsed(
        cx,
        "spec.memory",
        spec.memory.as_ref(),
        TaskSize::mib,
        "MiB (`512`) or GB (`\"2 GB\"`)",
    );
    if !spec.is_fargate() {
        return;
    }
    if spec.network_mode.as_deref() != Some("awsvpc") {
        cx.error("spec.networkMode", "Fargate needs `networkMode: awsvpc`");
    }
    match (cpu, memory) {
        (Some(c), Some(m)) if !fargate_pair_ok(c, m) => cx.error(
            "spec.memory",
            format!("Fargate does not run {c} CPU units with {m} MiB (see \"Task CPU and memory\" in the ECS developer guide: 256 takes 512, 1024 or 2048; 512 takes 1024 to 4096; 1024 takes 2048 to 8192…)"),
        ),
        (None, _) if spec.cpu.is_none() => cx.error("spec.cpu", "Fargate needs a task `cpu`"),
        (_, None) if spec.memory.is_none() => cx.error("spec.memory", "Fargate needs a task `memory`"),
        _ => {}
    }
    for (i, c) in spec.container_definitions.iter().enumerate() {
        if let Some(t) = c.stop_timeout {
            cx.range(
                &format!("spec.containerDefinitions[{i}].stopTimeout"),
                t,
                0,
                120,
            );
        }
    }
}

fn parsed(
    cx: &mut Cx<'_>,
    field: &str,
    value: Option<&TaskSize>,
    parse: fn(&TaskSize) -> Option<u32>,
    expected: &str,
) -> Option<u32> {
    let value = value?;
    let n = parse(value);
    if n.is_none() {
        cx.error(
            field,
            format!("`{value}` is not a size: expected {expected}"),
        );
    }
    n
}

fn tags(spec: &TaskDefinitionSpec, cx: &mut Cx<'_>) {
    let Some(tags) = &spec.tags else {
        return;
    };
    for (key, value) in tags {
        let at = format!("spec.tags.{key}");
        if key.starts_with("aws:") || key.starts_with("ecs-operator/") {
            cx.error(
                &at,
                "tag keys starting with `aws:` or `ecs-operator/` are reserved",
            );
        }
        if key.is_empty() || key.len() > 128 {
            cx.error(&at, "a tag key has 1 to 128 characters");
        }
        if value.len() > 256 {
            cx.error(&at, "a tag value has at most 256 characters");
        }
    }
    cx.range("spec.tags", tags.len(), 0, MAX_USER_TAGS);
}

fn containers(spec: &TaskDefinitionSpec, cx: &mut Cx<'_>) {
    let list = &spec.container_definitions;
    cx.range("spec.containerDefinitions", list.len(), 1, 10);
    duplicates(
        cx,
        "spec.containerDefinitions",
        list.iter().map(|c| c.name.as_str()),
        "container",
    );
    if !list.is_empty() && !list.iter().any(|c| c.essential != Some(false)) {
        cx.error(
            "spec.containerDefinitions",
            "at least one container must be essential",
        );
    }
    let names: BTreeSet<&str> = list.iter().map(|c| c.name.as_str()).collect();
    let awsvpc_or_host = matches!(spec.network_mode.as_deref(), Some("awsvpc" | "host"));
    for (i, c) in list.iter().enumerate() {
        let at = format!("spec.containerDefinitions[{i}]");
        if !valid_name(&c.name) {
            cx.error(
                &format!("{at}.name"),
                format!(
                    "`{}` is not a valid container name: 1 to 255 letters, digits, `-` and `_`",
                    c.name
                ),
            );
        }
        if c.image.trim().is_empty() {
            cx.error(&format!("{at}.image"), "must not be empty");
        }
        if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation)
            && soft > hard
        {
            cx.error(
                &format!("{at}.memoryReservation"),
                format!("{soft} MiB is above the hard limit `memory` ({hard} MiB)"),
            );
        }
        duplicates(
            cx,
            &format!("{at}.environment"),
            c.environment.iter().flatten().map(|e| e.name.as_str()),
            "environment variable",
        );
        duplicates(
            cx,
            &format!("{at}.secrets"),
            c.secrets.iter().flatten().map(|e| e.name.as_str()),
            "secret",
        );
        for (j, p) in c.port_mappings.iter().flatten().enumerate() {
            let pat = format!("{at}.portMappings[{j}]");
            one_of(
                cx,
                &format!("{pat}.protocol"),
                p.protocol.as_deref(),
                &["tcp", "udp"],
            );
            one_of(
                cx,
                &format!("{pat}.appProtocol"),
                p.app_protocol.as_deref(),
                &["http", "http2", "grpc"],
            );
            if awsvpc_or_host
                && let Some(h) = p.host_port
                && h != p.container_port
            {
                cx.error(
                    &format!("{pat}.hostPort"),
                    format!(
                        "with networkMode {} the host port is the container port ({})",
                        spec.network_mode.as_deref().unwrap_or_default(),
                        p.container_port
                    ),
                );
            }
        }
        for (j, d) in c.depends_on.iter().flatten().enumerate() {
            let dat = format!("{at}.dependsOn[{j}]");
            if d.container_name == c.name {
                cx.error(
                    &format!("{dat}.containerName"),
                    "a container cannot depend on itself",
                );
            } else if !names.contains(d.container_name.as_str()) {
                let known: Vec<&str> = names.iter().copied().collect();
                cx.error(
                    &format!("{dat}.containerName"),
                    format!(
                        "`{}` is not a container of this task (known: {})",
                        d.container_name,
                        known.join(", ")
                    ),
                );
            }
            one_of(
                cx,
                &format!("{dat}.condition"),
                Some(&d.condition),
                &["START", "COMPLETE", "SUCCESS", "HEALTHY"],
            );
        }
        if let Some(h) = &c.health_check {
            let hat = format!("{at}.healthCheck");
            if !matches!(
                h.command.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL")
            ) {
                cx.error(
                    &format!("{hat}.command"),
                    "starts with `CMD` or `CMD-SHELL`",
                );
            }
            if let Some(v) = h.interval {
                cx.range(&format!("{hat}.interval"), v, 5, 300);
            }
            if let Some(v) = h.timeout {
                cx.range(&format!("{hat}.timeout"), v, 2, 120);
            }
            if let Some(v) = h.retries {
                cx.range(&format!("{hat}.retries"), v, 1, 10);
            }
            if let Some(v) = h.start_period {
                cx.range(&format!("{hat}.startPeriod"), v, 0, 300);
            }
        }
        one_of(
            cx,
            &format!("{at}.versionConsistency"),
            c.version_consistency.as_deref(),
            &["enabled", "disabled"],
        );
    }
}

/// Every name after its first occurrence is an error at its own index.
fn duplicates<'a>(cx: &mut Cx<'_>, list: &str, names: impl Iterator<Item = &'a str>, what: &str) {
    let mut seen = BTreeSet::new();
    for (i, n) in names.enumerate() {
        if !seen.insert(n) {
            cx.error(
                &format!("{list}[{i}].name"),
                format!("duplicate {what} name `{n}`"),
            );
        }
    }
}

fn one_of(cx: &mut Cx<'_>, field: &str, value: Option<&str>, allowed: &[&str]) {
    if let Some(v) = value
        && !allowed.contains(&v)
    {
        cx.error(field, format!("`{v}` is not one of {}", allowed.join(", ")));
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
