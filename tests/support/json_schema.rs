//! A JSON Schema validator for the keywords the custom-notification schema
//! uses (tests/fixtures/chat/custom-notification.schema.json), nothing more.

use serde_json::Value;

use super::root;

/// The schema of Amazon Q Developer's (AWS Chatbot's) custom notifications.
pub fn custom_notification() -> Value {
    let path = root().join("tests/fixtures/chat/custom-notification.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("schema JSON")
}

/// What in `body` (JSON text) the custom-notification schema refuses.
pub fn violations(body: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(body).expect("a chat body is JSON");
    let mut errors = Vec::new();
    validate(&custom_notification(), &value, "$", &mut errors);
    errors
}

/// The JSON Schema keywords the custom-notification schema uses, nothing more:
/// type, const, enum, required, properties, additionalProperties, items,
/// minLength, maxLength, maxItems. Errors are `path: what`.
pub fn validate(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(c) = schema.get("const")
        && c != v
    {
        errors.push(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{path}: {v} is not one of {e:?}"));
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let type_ok = match ty {
        Some("object") => v.is_object(),
        Some("string") => v.is_string(),
        Some("array") => v.is_array(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{path}: expected {}", ty.unwrap_or_default()));
        return;
    }
    if let Some(s) = v.as_str() {
        let n = s.chars().count() as u64;
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n > m)
        {
            errors.push(format!(
                "{path}: {n} characters, more than {}",
                schema["maxLength"]
            ));
        }
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
        {
            errors.push(format!("{path}: empty"));
        }
    }
    if let Some(items) = v.as_array() {
        if schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| items.len() as u64 > m)
        {
            errors.push(format!(
                "{path}: {} items, more than {}",
                items.len(),
                schema["maxItems"]
            ));
        }
        if let Some(s) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(s, item, &format!("{path}[{i}]"), errors);
            }
        }
    }
    if let Some(object) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str()
                && !object.contains_key(r)
            {
                errors.push(format!("{path}: `{r}` is required"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (k, value) in object {
            match (
                properties.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => validate(s, value, &format!("{path}.{k}"), errors),
                (None, Some(Value::Bool(false))) => {
                    errors.push(format!("{path}: `{k}` is not in the schema"))
                }
                (None, Some(s)) if s.is_object() => {
                    validate(s, value, &format!("{path}.{k}"), errors)
                }
                _ => {}
            }
        }
    }
}
