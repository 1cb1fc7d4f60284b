//! Test support for the model: validate a spec written as YAML and read back its errors.

use super::{Cx, Origin, Spec};
use crate::load::diagnostic::Diagnostics;

/// Parses `yaml` as a spec of kind `S`; a type error fails the test.
pub fn spec<S: Spec>(yaml: &str) -> S {
    serde_saphyr::from_str(yaml).expect("the test spec should parse")
}

/// Every error `validate` reports for `yaml`, each as `field: message`.
pub fn errors<S: Spec>(yaml: &str) -> Vec<String> {
    let spec = spec::<S>(yaml);
    let origin = Origin::default();
    let mut diags = Diagnostics::default();
    let mut cx = Cx {
        origin: &origin,
        doc: format!("{}/test", S::KIND),
        diags: &mut diags,
    };
    spec.validate(&mut cx);
    diags
        .iter()
        .map(|d| format!("{}: {}", d.field.as_deref().unwrap_or(""), d.message))
        .collect()
}

/// Whether some error is reported at exactly `field`.
pub fn has_error_at(errors: &[String], field: &str) -> bool {
    errors.iter().any(|e| e.starts_with(&format!("{field}: ")))
}

/// The spec's references, each as `field -> Kind/name`.
pub fn references<S: Spec>(spec: &S) -> Vec<String> {
    spec.references()
        .iter()
        .map(|r| format!("{} -> {}/{}", r.field, r.kind, r.name))
        .collect()
}
