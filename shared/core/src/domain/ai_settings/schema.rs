//! What the API document says of the settings' shapes, written from the list (`fields()`): a
//! setting's limits come from its value type, the very one that checks it, and its label and
//! help become the property's `title` and `description` (which the dashboard's form reads).

use super::{AiSettingsBody, AiSettingsView, EffectiveAi, Fallback, Field, SettingValue, fields};
use crate::domain::schema::{schema_of, written_schema};
use serde_json::{Map, Value, json};
use utoipa::openapi::{RefOr, schema::Schema};

/// `{"type": T}` becomes `{"type": [T, "null"]}` (and an `enum` takes `null` too): a level
/// may leave a setting unset.
fn nullable(mut schema: Value) -> Value {
    if let Some(t) = schema.get("type").cloned() {
        schema["type"] = json!([t, "null"]);
    }
    if let Some(Value::Array(names)) = schema.get_mut("enum") {
        names.push(Value::Null);
    }
    schema
}

fn described(mut schema: Value, field: &Field) -> Value {
    schema["title"] = json!(field.label);
    schema["description"] = json!(field.description());
    if let Fallback::Value(default) = &field.fallback {
        schema["default"] = default.clone();
    }
    schema
}

fn object(properties: Map<String, Value>, required: Vec<String>, closed: bool) -> Value {
    let mut object = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        object["required"] = json!(required);
    }
    if closed {
        object["additionalProperties"] = json!(false);
    }
    object
}

/// The PUT of a level: every setting, optional, `null` to inherit.
fn body() -> Value {
    let properties = fields()
        .iter()
        .map(|f| (f.name.to_string(), described(nullable(f.kind.schema()), f)))
        .collect();
    object(properties, vec![], true)
}

/// A level as stored: each value or `null`; each secret as `has_<name>`.
fn view() -> Value {
    let fields = fields();
    let properties = fields
        .iter()
        .map(|f| {
            let shown = f.kind.shown_schema();
            let schema = if f.is_secret() {
                shown
            } else {
                nullable(shown)
            };
            (f.shown_name(), described(schema, f))
        })
        .collect();
    let required = fields
        .iter()
        .filter(|f| f.is_secret())
        .map(Field::shown_name)
        .collect();
    object(properties, required, false)
}

/// The configuration in force: each setting's value and the level it came from.
fn effective() -> Value {
    let fields = fields();
    let levels = json!({"type": "string", "enum": ["chat", "account", "global", "env", "default"]});
    let properties = fields
        .iter()
        .map(|f| {
            let sourced = json!({
                "type": "object",
                "required": ["value", "source"],
                "properties": {"value": f.kind.shown_schema(), "source": levels},
            });
            (f.shown_name(), described(sourced, f))
        })
        .collect();
    let required = fields.iter().map(Field::shown_name).collect();
    object(properties, required, false)
}

/// A value of type `T` or `null`, for a field outside the list that holds one (a chat's prompt).
pub fn nullable_schema<T: SettingValue>() -> RefOr<Schema> {
    schema_of(nullable(T::KIND.schema()))
}

written_schema!(AiSettingsBody, body);
written_schema!(AiSettingsView, view);
written_schema!(EffectiveAi, effective);

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers as numbers: the document writes a limit of `2.0` as `2`.
    fn numbers(v: Value) -> Value {
        match v {
            Value::Number(n) => json!(n.as_f64()),
            Value::Array(items) => Value::Array(items.into_iter().map(numbers).collect()),
            Value::Object(map) => map.into_iter().map(|(k, v)| (k, numbers(v))).collect(),
            other => other,
        }
    }

    #[test]
    fn every_schema_reads_back_whole() {
        for (name, written) in [
            ("body", body()),
            ("view", view()),
            ("effective", effective()),
        ] {
            let mut read = serde_json::to_value(schema_of(written.clone())).expect("serializes");
            crate::domain::schema::put_in_place(&mut read);
            assert_eq!(numbers(read), numbers(written), "{name}");
        }
    }
}
