//! What the API document says of a provider configuration, from the provider's field list:
//! each field's kind says what `FieldKind::check` takes.

use super::{ProviderKind, RELAY_CHANNELS};
use serde_json::{Map, Value, json};

/// One provider's configuration: its fields, the required ones when `creating` (a change may
/// name any and clear the optional ones with `null`), never a field learned from the provider.
pub fn config_schema(kind: ProviderKind, creating: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for spec in kind.fields() {
        let Some(mut schema) = spec.kind.schema(&RELAY_CHANNELS) else {
            continue;
        };
        if spec.secret {
            schema["writeOnly"] = json!(true);
        }
        if creating && spec.required {
            required.push(json!(spec.name));
        } else if !creating && !spec.required {
            schema = json!({"anyOf": [schema, {"type": "null"}]});
        }
        properties.insert(spec.name.to_string(), schema);
    }
    json!({
        "type": "object",
        "title": kind.as_str(),
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
