//! One normaliser for both sides of a task-definition comparison (TASKDEF-FACTS §2):
//! the document's RegisterTaskDefinition content and a described revision become
//! the same canonical JSON whenever ECS treats them alike.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::task_definition::{TaskDefinitionSpec, TaskSize};

/// DescribeTaskDefinition fields RegisterTaskDefinition does not take (the
/// botocore TaskDefinition shape minus the Register input), plus `tags`, which
/// are reconciled on their own and never re-register.
pub const OUTPUT_ONLY: [&str; 10] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
    "requiresAttributes",
    "compatibilities",
    "tags",
];

/// Document fields that are the operator's, not ECS's.
pub const OPERATOR_ONLY: [&str; 2] = ["tags", "keepRevisions"];

/// Task-level lists whose order ECS does not keep or does not care about.
const TASK_SETS: [&str; 3] = ["volumes", "placementConstraints", "requiresCompatibilities"];

/// Container-level lists whose order ECS does not keep or does not care about.
/// Not `command`, `entryPoint`, `dependsOn` or `healthCheck.command`: order matters there.
const CONTAINER_SETS: [&str; 4] = ["portMappings", "mountPoints", "volumesFrom", "ulimits"];

/// Container-level lists of named entries, compared by name.
const CONTAINER_BY_NAME: [&str; 2] = ["environment", "secrets"];

/// The document's RegisterTaskDefinition content, normalised: the spec as
/// JSON, `family` set to `family`, without the operator-only fields.
pub fn of_document(spec: &TaskDefinitionSpec, family: &str) -> Value {
    let mut content = serde_json::to_value(spec)
        .expect("a TaskDefinitionSpec serialises to JSON: every map has string keys");
    if let Value::Object(task) = &mut content {
        for field in OPERATOR_ONLY {
            task.remove(field);
        }
        task.insert("family".into(), Value::String(family.to_owned()));
    }
    normalise(content)
}

/// A DescribeTaskDefinition `taskDefinition` object (AWS's camelCase JSON)
/// without its output-only fields, normalised.
pub fn of_described(task_definition: &Value) -> Value {
    let mut content = task_definition.clone();
    if let Value::Object(task) = &mut content {
        for field in OUTPUT_ONLY {
            task.remove(field);
        }
    }
    normalise(content)
}

/// The canonical form of RegisterTaskDefinition content. Idempotent.
///
/// The direction is fixed: first fill every default ECS would fill (the
/// canonical form is what a describe shows, so a field diff reads like ECS),
/// then drop null, `[]` and `{}` anywhere, then sort the unordered lists. The
/// one exception is the bridge-mode `hostPort: 0`, which is dropped: a dynamic
/// port has no number to fill in.
pub fn normalise(mut content: Value) -> Value {
    if let Value::Object(task) = &mut content {
        fill_task(task);
    }
    prune(&mut content);
    if let Value::Object(task) = &mut content {
        sort_task(task);
    }
    content
}

/// The first 16 hex digits of the SHA-256 of the canonical JSON. serde_json
/// writes object keys sorted (its `Map` is a `BTreeMap`: the crate is built
/// without `preserve_order`), so equal contents hash equal.
pub fn content_hash(normal: &Value) -> String {
    let digest = Sha256::digest(normal.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn fill_task(task: &mut Map<String, Value>) {
    // ECS's defaults: bridge networking, fault injection off.
    fill(task, "networkMode", Value::from("bridge"));
    fill(task, "enableFaultInjection", Value::Bool(false));
    let network = task
        .get("networkMode")
        .and_then(Value::as_str)
        .unwrap_or("bridge")
        .to_owned();
    // ECS stores "1 vCPU" as "1024" and "2 GB" as "2048"; numbers come back as strings.
    if let Some(cpu) = task.get_mut("cpu") {
        canonical_size(cpu, TaskSize::cpu_units);
    }
    if let Some(memory) = task.get_mut("memory") {
        canonical_size(memory, TaskSize::mib);
    }
    for container in objects_mut(task.get_mut("containerDefinitions")) {
        fill_container(container, &network);
    }
    for volume in objects_mut(task.get_mut("volumes")) {
        if let Some(Value::Object(efs)) = volume.get_mut("efsVolumeConfiguration") {
            fill(efs, "rootDirectory", Value::from("/"));
        }
    }
}

fn fill_container(container: &mut Map<String, Value>, network: &str) {
    fill(container, "essential", Value::Bool(true));
    fill(container, "cpu", Value::from(0));
    fill(container, "versionConsistency", Value::from("enabled"));
    for mapping in objects_mut(container.get_mut("portMappings")) {
        // Any protocol other than udp is tcp to ECS; absent is tcp.
        fill(mapping, "protocol", Value::from("tcp"));
        match network {
            // awsvpc and host: ECS writes the container port as the host port.
            "awsvpc" | "host" => {
                if let Some(port) = mapping.get("containerPort").cloned() {
                    fill(mapping, "hostPort", port);
                }
            }
            // bridge: 0 and absent both ask for a dynamic port.
            "bridge" if mapping.get("hostPort").and_then(Value::as_u64) == Some(0) => {
                mapping.remove("hostPort");
            }
            _ => {}
        }
    }
    if let Some(Value::Object(check)) = container.get_mut("healthCheck")
        && check.get("command").is_some_and(|c| !c.is_null())
    {
        // ECS fills these three; startPeriod stays off.
        fill(check, "interval", Value::from(30));
        fill(check, "timeout", Value::from(5));
        fill(check, "retries", Value::from(3));
    }
}

fn sort_task(task: &mut Map<String, Value>) {
    if let Some(Value::Array(containers)) = task.get_mut("containerDefinitions") {
        for container in containers.iter_mut() {
            if let Value::Object(c) = container {
                for list in CONTAINER_BY_NAME {
                    sort_list(c.get_mut(list), by_name);
                }
                for list in CONTAINER_SETS {
                    sort_list(c.get_mut(list), canonical);
                }
            }
        }
        containers.sort_by_cached_key(by_name);
    }
    for list in TASK_SETS {
        sort_list(task.get_mut(list), canonical);
    }
}

/// Drops null, `[]` and `{}` members of every object, deepest first, so that
/// `capabilities: {add: []}` goes away whole. Returns whether `value` is now
/// empty itself. Array elements are kept: removing one would change the list.
fn prune(value: &mut Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => {
            for item in items.iter_mut() {
                prune(item);
            }
            items.is_empty()
        }
        Value::Object(members) => {
            members.retain(|_, member| !prune(member));
            members.is_empty()
        }
        _ => false,
    }
}

/// Sets `key` to `default` when it is absent or null.
fn fill(map: &mut Map<String, Value>, key: &str, default: Value) {
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = default;
    }
}

/// A task size as its canonical integer string; left as written when it does
/// not parse (validation reports that for the document).
fn canonical_size(value: &mut Value, parse: fn(&TaskSize) -> Option<u32>) {
    let parsed = serde_json::from_value::<TaskSize>(value.clone())
        .ok()
        .and_then(|size| parse(&size));
    if let Some(n) = parsed {
        *value = Value::String(n.to_string());
    }
}

fn objects_mut(list: Option<&mut Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    let items = match list {
        Some(Value::Array(items)) => items.as_mut_slice(),
        _ => &mut [],
    };
    items.iter_mut().filter_map(Value::as_object_mut)
}

fn sort_list(list: Option<&mut Value>, key: fn(&Value) -> (String, String)) {
    if let Some(Value::Array(items)) = list {
        items.sort_by_cached_key(key);
    }
}

/// Sort key of a named entry: its name, then the whole entry, so that even
/// duplicate names (which validation rejects) sort deterministically.
fn by_name(item: &Value) -> (String, String) {
    let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
    (name.to_owned(), item.to_string())
}

/// Sort key of an unnamed entry: its canonical JSON.
fn canonical(item: &Value) -> (String, String) {
    (item.to_string(), String::new())
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
