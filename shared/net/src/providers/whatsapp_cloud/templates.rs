//! Message templates on the Graph API: the business account's list (`message_templates`, read
//! through Meta's cursors) into core's `Template`, and a checked template send into Meta's
//! `components`.

use serde_json::{Value, json};
use switchboard_core::domain::template::{
    Component, ParameterFormat, Template, TemplateMessage, TemplateParam, placeholders,
};

/// Templates asked for per page, and pages followed at most (Meta allows a few hundred
/// templates per business account).
pub(super) const PAGE_SIZE: usize = 100;
pub(super) const MAX_PAGES: usize = 50;
/// The fields a list needs, asked for by name (Meta sends fewer by default).
pub(super) const FIELDS: &str = "name,language,status,category,parameter_format,components";

fn text_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// One template of Meta's list; `None` for an entry without a name or language.
pub(super) fn template(t: &Value) -> Option<Template> {
    let parameter_format = match t["parameter_format"].as_str() {
        Some(f) if f.eq_ignore_ascii_case("named") => ParameterFormat::Named,
        _ => ParameterFormat::Positional,
    };
    let mut params = Vec::new();
    let mut body = String::new();
    let mut header_format = None;
    let components = t["components"].as_array().map_or(&[][..], Vec::as_slice);
    for c in components {
        let kind = c["type"].as_str().unwrap_or_default().to_ascii_uppercase();
        match kind.as_str() {
            "HEADER" => {
                let format = c["format"].as_str().unwrap_or("TEXT").to_ascii_uppercase();
                let names = match format.as_str() {
                    "TEXT" => placeholders(c["text"].as_str().unwrap_or_default()),
                    "IMAGE" | "VIDEO" | "DOCUMENT" => vec!["1".to_string()],
                    _ => Vec::new(),
                };
                let example = c["example"]["header_text"][0].as_str().map(str::to_string);
                params.extend(names.into_iter().map(|name| TemplateParam {
                    component: Component::Header,
                    name,
                    index: None,
                    example: example.clone(),
                }));
                header_format = Some(format);
            }
            "BODY" => {
                body = c["text"].as_str().unwrap_or_default().to_string();
                let examples = &c["example"];
                for (i, name) in placeholders(&body).into_iter().enumerate() {
                    let named = examples["body_text_named_params"]
                        .as_array()
                        .and_then(|all| all.iter().find(|p| p["param_name"] == name.as_str()))
                        .and_then(|p| text_of(&p["example"]));
                    let example = named.or_else(|| text_of(&examples["body_text"][0][i]));
                    params.push(TemplateParam {
                        component: Component::Body,
                        name,
                        index: None,
                        example,
                    });
                }
            }
            "BUTTONS" => {
                let buttons = c["buttons"].as_array().map_or(&[][..], Vec::as_slice);
                for (index, b) in buttons.iter().enumerate() {
                    let url = b["url"].as_str().unwrap_or_default();
                    let is_url = b["type"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case("URL"));
                    if is_url && !placeholders(url).is_empty() {
                        params.push(TemplateParam {
                            component: Component::Button,
                            name: "1".into(),
                            index: Some(index as u32),
                            example: text_of(&b["example"][0]),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Some(Template {
        name: text_of(&t["name"])?,
        language: text_of(&t["language"])?,
        status: text_of(&t["status"]).unwrap_or_else(|| "UNKNOWN".into()),
        category: text_of(&t["category"]).unwrap_or_else(|| "UNKNOWN".into()),
        parameter_format,
        body,
        header_format,
        params,
    })
}

/// One text parameter; a named template's carry their name.
fn text_parameter(name: Option<&str>, value: &str) -> Value {
    match name {
        Some(name) => json!({"type": "text", "parameter_name": name, "text": value}),
        None => json!({"type": "text", "text": value}),
    }
}

/// Meta's `template` object of a send.
pub(super) fn outgoing(t: &TemplateMessage) -> Value {
    let named = t.parameter_format == ParameterFormat::Named;
    let mut components = Vec::new();
    if let Some(value) = t.header.first() {
        let parameter = match t.header_format.as_deref() {
            Some(media @ ("IMAGE" | "VIDEO" | "DOCUMENT")) => {
                let kind = media.to_ascii_lowercase();
                json!({"type": kind, kind.clone(): {"link": value}})
            }
            _ => text_parameter(None, value),
        };
        components.push(json!({"type": "header", "parameters": [parameter]}));
    }
    if !t.body.is_empty() {
        let parameters: Vec<Value> = t
            .body
            .iter()
            .map(|(name, value)| text_parameter(named.then_some(name.as_str()), value))
            .collect();
        components.push(json!({"type": "body", "parameters": parameters}));
    }
    for (index, value) in &t.buttons {
        components.push(json!({
            "type": "button", "sub_type": "url", "index": index.to_string(),
            "parameters": [{"type": "text", "text": value}],
        }));
    }
    json!({"name": t.name, "language": {"code": t.language}, "components": components})
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::domain::template::{BodyValues, TemplateValues};

    #[test]
    fn a_listed_template_is_read_and_its_send_mapped_as_meta_documents() {
        let listed = json!({
            "name": "order_update", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "parameter_format": "NAMED", "id": "1",
            "components": [
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW..."]}},
                {"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}} is ready",
                 "example": {"body_text_named_params": [
                    {"param_name": "first_name", "example": "Pablo"},
                    {"param_name": "order_id", "example": "A12"}]}},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "QUICK_REPLY", "text": "Thanks"},
                    {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}", "example": ["https://shop.example/t/A12"]}]}
            ]
        });
        let t = template(&listed).expect("a template");
        assert_eq!(t.parameter_format, ParameterFormat::Named);
        let names: Vec<_> = t
            .params
            .iter()
            .map(|p| (p.component, p.name.as_str(), p.index))
            .collect();
        assert_eq!(
            names,
            [
                (Component::Header, "1", None),
                (Component::Body, "first_name", None),
                (Component::Body, "order_id", None),
                (Component::Button, "1", Some(1)),
            ]
        );
        assert_eq!(t.params[1].example.as_deref(), Some("Pablo"));
        let values = TemplateValues {
            header: Some(vec!["https://shop.example/p.jpg".into()]),
            body: Some(BodyValues::Named(
                [("first_name", "Ann"), ("order_id", "B7")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )),
            buttons: Some(vec!["B7".into()]),
        };
        let checked = t.check(&values).expect("matches");
        assert_eq!(
            outgoing(&checked),
            json!({"name": "order_update", "language": {"code": "en_US"}, "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://shop.example/p.jpg"}}]},
                {"type": "body", "parameters": [
                    {"type": "text", "parameter_name": "first_name", "text": "Ann"},
                    {"type": "text", "parameter_name": "order_id", "text": "B7"}]},
                {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "B7"}]}
            ]})
        );
    }
}
