//! The DescribeTaskDefinition outputs in `tests/fixtures/task-definitions`
//! against the documents that registered them: after the one normaliser, no
//! difference. moto hides most of ECS's echoing, so this is where it is tested.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use ecs_operator::model::task_definition::TaskDefinitionSpec;
use ecs_operator::plan::task_definition::field_diff::{describe, diff};
use ecs_operator::plan::task_definition::normalise::{content_hash, of_described, of_document};

/// A revision as DescribeTaskDefinition returned it, and the document behind it.
struct Pair {
    /// The file stem; also the document's name, the family's default.
    name: String,
    doc: TaskDefinitionSpec,
    described: Value,
}

impl Pair {
    fn family(&self) -> &str {
        self.doc.family_or(&self.name)
    }
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/task-definitions")
}

/// Every `NAME.json` with its `NAME.doc.yaml`, by name.
fn pairs() -> Vec<Pair> {
    let mut names: Vec<String> = fs::read_dir(dir())
        .expect("the fixture folder is readable")
        .map(|entry| entry.expect("a fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            path.file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let read = |file: String| {
                fs::read_to_string(dir().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"))
            };
            let doc = serde_saphyr::from_str(&read(format!("{name}.doc.yaml")))
                .unwrap_or_else(|e| panic!("{name}.doc.yaml: {e}"));
            let described = serde_json::from_str(&read(format!("{name}.json")))
                .unwrap_or_else(|e| panic!("{name}.json: {e}"));
            Pair {
                name,
                doc,
                described,
            }
        })
        .collect()
}

#[test]
fn every_recorded_revision_normalises_equal_to_its_document() {
    let pairs = pairs();
    assert!(
        pairs.len() >= 4,
        "expected at least 4 fixtures, found {}",
        pairs.len()
    );
    for pair in &pairs {
        let actual = of_described(&pair.described["taskDefinition"]);
        let desired = of_document(&pair.doc, pair.family());
        let diffs: Vec<String> = diff(&actual, &desired).iter().map(describe).collect();
        assert!(diffs.is_empty(), "{}: {diffs:#?}", pair.name);
        assert_eq!(actual, desired, "{}", pair.name);
        assert_eq!(
            content_hash(&actual),
            content_hash(&desired),
            "{}",
            pair.name
        );
    }
}

#[test]
fn every_fixture_needs_the_normaliser_to_match() {
    // Guards the fixtures themselves: each one differs from its document
    // before normalising, so each exercises rules rather than passing trivially.
    for pair in pairs() {
        let mut raw = pair.described["taskDefinition"].clone();
        let mut doc = serde_json::to_value(&pair.doc).expect("a spec serialises");
        for (value, drop) in [
            (
                &mut raw,
                &ecs_operator::plan::task_definition::normalise::OUTPUT_ONLY[..],
            ),
            (
                &mut doc,
                &ecs_operator::plan::task_definition::normalise::OPERATOR_ONLY[..],
            ),
        ] {
            if let Value::Object(map) = value {
                drop.iter().for_each(|field| {
                    map.remove(*field);
                });
            }
        }
        doc["family"] = Value::from(pair.family());
        assert_ne!(raw, doc, "{}", pair.name);
    }
}

#[test]
fn a_new_image_in_the_document_is_exactly_one_image_diff() {
    for mut pair in pairs() {
        let actual = of_described(&pair.described["taskDefinition"]);
        let container = &mut pair.doc.container_definitions[0];
        container.image.push_str("-next");
        let name = container.name.clone();
        let desired = of_document(&pair.doc, pair.family());
        let paths: Vec<String> = diff(&actual, &desired)
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert_eq!(
            paths,
            [format!("containerDefinitions[{name}].image")],
            "{}",
            pair.name
        );
    }
}
