//! JSON Schemas of the document kinds, generated from the Rust types (`crds/`).

use std::path::Path;

use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::model::alarm::AlarmSpec;
use crate::model::alert_channel::AlertChannelSpec;
use crate::model::autoscaler::AutoscalerSpec;
use crate::model::discovery::DiscoveryServiceSpec;
use crate::model::schedule::ScheduleSpec;
use crate::model::service::ServiceSpec;
use crate::model::slo::SloSpec;
use crate::model::task_definition::TaskDefinitionSpec;
use crate::model::{API_VERSION, Document, Kind};

/// The schema of one kind's whole document, as pretty JSON with a final newline.
pub fn schema(kind: Kind) -> String {
    let mut value = match kind {
        Kind::Service => of::<ServiceSpec>(),
        Kind::Autoscaler => of::<AutoscalerSpec>(),
        Kind::Schedule => of::<ScheduleSpec>(),
        Kind::DiscoveryService => of::<DiscoveryServiceSpec>(),
        Kind::TaskDefinition => of::<TaskDefinitionSpec>(),
        Kind::Alarm => of::<AlarmSpec>(),
        Kind::AlertChannel => of::<AlertChannelSpec>(),
        Kind::ServiceLevelObjective => of::<SloSpec>(),
    };
    // The envelope is generic; pin apiVersion and kind so an editor flags a typo.
    value["title"] = json!(kind.as_str());
    value["properties"]["apiVersion"] =
        json!({"const": API_VERSION, "description": "Always ecs-operator/v1alpha1."});
    value["properties"]["kind"] =
        json!({"const": kind.as_str(), "description": "The document kind."});
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn of<S: JsonSchema>() -> Value {
    schemars::schema_for!(Document<S>).to_value()
}

/// The file of `any_document`: one schema for a file of several kinds.
pub const ANY_DOCUMENT: &str = "document.json";

/// A document of any kind, by its `kind` (what `import` writes several of
/// into one file): each kind's schema where its `kind` matches.
pub fn any_document() -> String {
    let branches: Vec<Value> = Kind::ALL
        .iter()
        .map(|k| {
            json!({
                "if": {"properties": {"kind": {"const": k.as_str()}}, "required": ["kind"]},
                "then": {"$ref": k.schema_file()}
            })
        })
        .collect();
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let value = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ecs-operator document",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"kind": {"enum": kinds}},
        "allOf": branches
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes every kind's schema to `dir`; returns the files whose content changed.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut changed = Vec::new();
    let files = Kind::ALL
        .into_iter()
        .map(|k| (k.schema_file(), schema(k)))
        .chain([(ANY_DOCUMENT, any_document())]);
    for (file, text) in files {
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
            changed.push(path.display().to_string());
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `crds/` must be what the code generates; a stale file is
    /// rewritten (commit it) and the test fails.
    #[test]
    fn committed_crds_are_up_to_date() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
        let changed = write_all(&dir).expect("crds/ is writable");
        assert!(
            changed.is_empty(),
            "crds/ was stale and has been regenerated: {changed:?}; commit it"
        );
    }

    #[test]
    fn schemas_pin_api_version_and_kind() {
        let v: Value = serde_json::from_str(&schema(Kind::Service)).expect("json");
        assert_eq!(v["properties"]["kind"]["const"], "Service");
        assert_eq!(v["properties"]["apiVersion"]["const"], API_VERSION);
        assert_eq!(v["additionalProperties"], false);
    }
}
