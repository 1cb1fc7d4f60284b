//! The leaf differences between two normalised task-definition contents, with
//! readable paths (`containerDefinitions[web].image`) for plans and logs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// What an absent field or list element compares as.
static NULL: Value = Value::Null;

/// One field that differs. Absent is `Value::Null`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    pub path: String,
    pub actual: Value,
    pub desired: Value,
}

/// The differences between `actual` and `desired` (both out of
/// `normalise`), ordered by path: object keys and list names sort as strings.
///
/// Objects recurse. A list whose elements are all objects with a distinct
/// string `name` is keyed by it (`environment[LOG_LEVEL].value`), and an
/// element on one side only is one entry. Any other list is one value, because
/// its order is meaningful (`command`) or already canonical.
pub fn diff(actual: &Value, desired: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    walk(String::new(), actual, desired, &mut out);
    out
}

/// `containerDefinitions[web].image: repo:1.4 → repo:1.5`.
pub fn describe(d: &FieldDiff) -> String {
    format!("{}: {} → {}", d.path, show(&d.actual), show(&d.desired))
}

fn walk(path: String, actual: &Value, desired: &Value, out: &mut Vec<FieldDiff>) {
    if actual == desired {
        return;
    }
    if let (Value::Object(a), Value::Object(d)) = (actual, desired) {
        return members(&path, a, d, out);
    }
    // The normaliser drops empty lists, so a first environment variable meets
    // an absent list: treat absent as an empty keyed list, so that adding the
    // first entry reads like adding any other.
    if !(actual.is_null() && desired.is_null())
        && let (Some(a), Some(d)) = (keyed(actual), keyed(desired))
    {
        let names: BTreeSet<&str> = a.keys().chain(d.keys()).copied().collect();
        for name in names {
            let left = a.get(name).copied().unwrap_or(&NULL);
            let right = d.get(name).copied().unwrap_or(&NULL);
            walk(format!("{path}[{name}]"), left, right, out);
        }
        return;
    }
    out.push(FieldDiff {
        path,
        actual: actual.clone(),
        desired: desired.clone(),
    });
}

fn members(
    path: &str,
    actual: &Map<String, Value>,
    desired: &Map<String, Value>,
    out: &mut Vec<FieldDiff>,
) {
    let keys: BTreeSet<&String> = actual.keys().chain(desired.keys()).collect();
    for key in keys {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        walk(
            at,
            actual.get(key).unwrap_or(&NULL),
            desired.get(key).unwrap_or(&NULL),
            out,
        );
    }
}

/// The elements of a list by `name`, when every element is an object with a
/// distinct string `name`; absent is the empty list.
fn keyed(value: &Value) -> Option<BTreeMap<&str, &Value>> {
    let items = match value {
        Value::Null => return Some(BTreeMap::new()),
        Value::Array(items) => items,
        _ => return None,
    };
    let mut by_name = BTreeMap::new();
    for item in items {
        let name = item.as_object()?.get("name")?.as_str()?;
        if by_name.insert(name, item).is_some() {
            return None;
        }
    }
    Some(by_name)
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(actual: Value, desired: Value) -> Vec<String> {
        diff(&actual, &desired)
            .into_iter()
            .map(|d| d.path)
            .collect()
    }

    fn web(image: &str) -> Value {
        json!({"name": "web", "image": image, "essential": true})
    }

    #[test]
    fn equal_contents_have_no_diff() {
        let task = json!({"family": "web", "containerDefinitions": [web("repo:1.4")]});
        assert!(diff(&task, &task.clone()).is_empty());
    }

    #[test]
    fn a_top_level_field_is_named_by_its_key() {
        let d = diff(&json!({"cpu": "256"}), &json!({"cpu": "512"}));
        assert_eq!(
            d,
            vec![FieldDiff {
                path: "cpu".into(),
                actual: json!("256"),
                desired: json!("512")
            }]
        );
    }

    #[test]
    fn nested_objects_recurse_to_the_leaf() {
        let actual = json!({"runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}});
        let desired = json!({"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}});
        assert_eq!(paths(actual, desired), ["runtimePlatform.cpuArchitecture"]);
    }

    #[test]
    fn containers_are_keyed_by_name() {
        let actual = json!({"containerDefinitions": [web("repo:1.4")]});
        let desired = json!({"containerDefinitions": [web("repo:1.5")]});
        let d = diff(&actual, &desired);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "containerDefinitions[web].image");
        assert_eq!(
            describe(&d[0]),
            "containerDefinitions[web].image: repo:1.4 → repo:1.5"
        );
    }

    #[test]
    fn environment_variables_are_keyed_by_name_inside_a_container() {
        let with = |level: &str| {
            json!({"containerDefinitions": [{"name": "web", "environment": [
                {"name": "A", "value": "1"}, {"name": "LOG_LEVEL", "value": level}
            ]}]})
        };
        let d = diff(&with("info"), &with("debug"));
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].path,
            "containerDefinitions[web].environment[LOG_LEVEL].value"
        );
        assert_eq!(
            describe(&d[0]),
            "containerDefinitions[web].environment[LOG_LEVEL].value: info → debug"
        );
    }

    #[test]
    fn a_container_on_one_side_only_is_one_entry() {
        let actual = json!({"containerDefinitions": [web("repo:1")]});
        let sidecar = json!({"name": "sidecar", "image": "envoy:1"});
        let desired = json!({"containerDefinitions": [web("repo:1"), sidecar.clone()]});
        let d = diff(&actual, &desired);
        assert_eq!(
            d,
            vec![FieldDiff {
                path: "containerDefinitions[sidecar]".into(),
                actual: Value::Null,
                desired: sidecar,
            }]
        );
        assert_eq!(
            describe(&d[0]),
            r#"containerDefinitions[sidecar]: (none) → {"image":"envoy:1","name":"sidecar"}"#
        );
        let removed = diff(&desired, &actual);
        assert_eq!(removed[0].path, "containerDefinitions[sidecar]");
        assert_eq!(removed[0].desired, Value::Null);
    }

    #[test]
    fn the_first_entry_of_an_absent_list_is_keyed_like_any_other() {
        let actual = json!({"containerDefinitions": [{"name": "web"}]});
        let desired = json!({"containerDefinitions": [{"name": "web", "secrets": [{"name": "DB", "valueFrom": "arn:db"}]}]});
        assert_eq!(
            paths(actual, desired),
            ["containerDefinitions[web].secrets[DB]"]
        );
    }

    #[test]
    fn lists_without_names_compare_as_whole_values() {
        let actual = json!({"containerDefinitions": [{"name": "web", "command": ["serve", "--port", "80"]}]});
        let desired = json!({"containerDefinitions": [{"name": "web", "command": ["serve", "--port", "8080"]}]});
        let d = diff(&actual, &desired);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "containerDefinitions[web].command");
        assert_eq!(
            describe(&d[0]),
            r#"containerDefinitions[web].command: ["serve","--port","80"] → ["serve","--port","8080"]"#
        );
    }

    #[test]
    fn lists_with_duplicate_names_compare_as_whole_values() {
        let twice = |v: &str| json!({"environment": [{"name": "A", "value": "1"}, {"name": "A", "value": v}]});
        assert_eq!(paths(twice("1"), twice("2")), ["environment"]);
    }

    #[test]
    fn a_field_on_one_side_only_shows_none_on_the_other() {
        let d = diff(&json!({"cpu": "256"}), &json!({}));
        assert_eq!(describe(&d[0]), "cpu: 256 → (none)");
        let d = diff(&json!({}), &json!({"ephemeralStorage": {"sizeInGiB": 30}}));
        assert_eq!(d[0].path, "ephemeralStorage");
        assert_eq!(
            describe(&d[0]),
            r#"ephemeralStorage: (none) → {"sizeInGiB":30}"#
        );
    }

    #[test]
    fn numbers_and_booleans_render_as_json() {
        let actual =
            json!({"containerDefinitions": [{"name": "web", "essential": true, "memory": 512}]});
        let desired =
            json!({"containerDefinitions": [{"name": "web", "essential": false, "memory": 1024}]});
        let d: Vec<String> = diff(&actual, &desired).iter().map(describe).collect();
        assert_eq!(
            d,
            [
                "containerDefinitions[web].essential: true → false",
                "containerDefinitions[web].memory: 512 → 1024",
            ]
        );
    }

    #[test]
    fn entries_come_in_path_order_whatever_the_input_order() {
        let actual = json!({"memory": "512", "cpu": "256", "containerDefinitions": [
            {"name": "z", "image": "z:1"}, {"name": "a", "image": "a:1"}
        ]});
        let desired = json!({"cpu": "512", "memory": "1024", "containerDefinitions": [
            {"name": "a", "image": "a:2"}, {"name": "z", "image": "z:2"}
        ]});
        assert_eq!(
            paths(actual, desired),
            [
                "containerDefinitions[a].image",
                "containerDefinitions[z].image",
                "cpu",
                "memory"
            ]
        );
    }
}
