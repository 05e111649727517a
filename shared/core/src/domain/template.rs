//! WhatsApp message templates: what an account's business has approved (listed from Meta and
//! cached), what a sender asks for, and the check between the two, made here so that a wrong
//! parameter is refused before Meta sees (and bills) the send.

use super::validation::{ValidationError, bounded_text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterFormat {
    /// `{{1}}`, `{{2}}` ...
    Positional,
    /// `{{first_name}}` ...
    Named,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Header,
    Body,
    Button,
}

/// One value a template asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TemplateParam {
    pub component: Component,
    /// `"1"`, `"2"` ... or the named parameter.
    pub name: String,
    /// A button's position among the template's buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// A template as its business account holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    pub language: String,
    /// Meta's, e.g. `APPROVED`, `PAUSED`, `REJECTED`.
    pub status: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    pub parameter_format: ParameterFormat,
    /// The body's text, with its `{{...}}` placeholders.
    pub body: String,
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` ... when the template has a header; a media
    /// header's one value is the file's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_format: Option<String>,
    pub params: Vec<TemplateParam>,
}

/// The body's values: in order for a positional template, by name for a named one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BodyValues {
    Positional(Vec<String>),
    Named(BTreeMap<String, String>),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyValues>,
    /// One value per button that takes one (a URL button's suffix), in button order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buttons: Option<Vec<String>>,
}

/// A template send as a sender asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    #[schema(example = "order_update")]
    pub name: String,
    #[schema(example = "en_US")]
    pub language: String,
    #[serde(default)]
    pub params: TemplateValues,
}

/// A template send checked against its template: what the provider turns into its
/// components, kept with the message so the send needs no second look at the template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub name: String,
    pub language: String,
    pub category: String,
    pub parameter_format: ParameterFormat,
    pub header_format: Option<String>,
    pub header: Vec<String>,
    /// (name, value) in the template's order.
    pub body: Vec<(String, String)>,
    /// (index, value), one per button that takes a value.
    pub buttons: Vec<(u32, String)>,
}

/// The longest value of one parameter (Meta's limit for body parameters).
pub const MAX_VALUE_CHARS: usize = 1024;
/// The longest template name, language code, and the most values of one component.
pub const MAX_NAME_CHARS: usize = 512;
pub const MAX_LANGUAGE_CHARS: usize = 15;
pub const MAX_VALUES: usize = 10;
pub const MAX_NAMED_VALUES: usize = 50;

impl TemplateRequest {
    /// The request's own bounds (what its schema says), before any template is looked at.
    pub fn check(&self, field: &str) -> Result<(), ValidationError> {
        bounded_text(&format!("{field}.name"), &self.name, 1, MAX_NAME_CHARS)?;
        bounded_text(
            &format!("{field}.language"),
            &self.language,
            1,
            MAX_LANGUAGE_CHARS,
        )?;
        let p = &self.params;
        let lists = [
            ("header", p.header.as_ref()),
            ("buttons", p.buttons.as_ref()),
        ];
        let body_list = match &p.body {
            Some(BodyValues::Positional(values)) => Some(values),
            _ => None,
        };
        for (name, values) in lists.into_iter().chain([("body", body_list)]) {
            let Some(values) = values else { continue };
            let at = format!("{field}.params.{name}");
            if values.len() > MAX_VALUES {
                return Err(ValidationError::new(
                    at,
                    format!("at most {MAX_VALUES} values"),
                ));
            }
            for v in values {
                bounded_text(&at, v, 1, MAX_VALUE_CHARS)?;
            }
        }
        if let Some(BodyValues::Named(values)) = &p.body {
            let at = format!("{field}.params.body");
            if values.len() > MAX_NAMED_VALUES {
                return Err(ValidationError::new(
                    at,
                    format!("at most {MAX_NAMED_VALUES} values"),
                ));
            }
            for v in values.values() {
                bounded_text(&at, v, 1, MAX_VALUE_CHARS)?;
            }
        }
        Ok(())
    }
}

/// The placeholders of a text, in order of first appearance: `{{1}}` gives `1`,
/// `{{first_name}}` gives `first_name`.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !found.iter().any(|f| f == name)
        {
            found.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    found
}

fn mismatch(field: &str, message: String) -> ValidationError {
    ValidationError::new(field, message).with_code("template_params_mismatch")
}

impl Template {
    pub fn is_marketing(&self) -> bool {
        self.category.eq_ignore_ascii_case("MARKETING")
    }

    fn expected(&self, component: Component) -> impl Iterator<Item = &TemplateParam> {
        self.params.iter().filter(move |p| p.component == component)
    }

    /// Checks a send against this template: every value the template asks for, no more, each
    /// non-empty. The error names what was expected.
    pub fn check(&self, values: &TemplateValues) -> Result<TemplateMessage, ValidationError> {
        let count = |field: &str, given: Option<&Vec<String>>, component| {
            let expected = self.expected(component).count();
            let given = given.map_or(&[][..], Vec::as_slice);
            if given.len() != expected {
                return Err(mismatch(
                    field,
                    format!(
                        "the template `{}` takes {expected} {field} value(s), {} given",
                        self.name,
                        given.len()
                    ),
                ));
            }
            Ok(given.to_vec())
        };
        let header = count("params.header", values.header.as_ref(), Component::Header)?;
        let buttons = count("params.buttons", values.buttons.as_ref(), Component::Button)?;
        let names: Vec<&str> = self
            .expected(Component::Body)
            .map(|p| p.name.as_str())
            .collect();
        let body: Vec<(String, String)> = match (self.parameter_format, &values.body) {
            (ParameterFormat::Named, Some(BodyValues::Named(given))) => {
                let mut given_names: Vec<&str> = given.keys().map(String::as_str).collect();
                let mut wanted = names.clone();
                given_names.sort_unstable();
                wanted.sort_unstable();
                if given_names != wanted {
                    return Err(mismatch(
                        "params.body",
                        format!(
                            "the template `{}` takes the named values [{}]",
                            self.name,
                            names.join(", ")
                        ),
                    ));
                }
                names
                    .iter()
                    .map(|n| (n.to_string(), given[*n].clone()))
                    .collect()
            }
            (ParameterFormat::Positional, Some(BodyValues::Positional(given))) => {
                if given.len() != names.len() {
                    return Err(mismatch(
                        "params.body",
                        format!(
                            "the template `{}` takes {} body value(s), {} given",
                            self.name,
                            names.len(),
                            given.len()
                        ),
                    ));
                }
                names
                    .iter()
                    .map(|n| n.to_string())
                    .zip(given.clone())
                    .collect()
            }
            (_, None) if names.is_empty() => Vec::new(),
            (ParameterFormat::Named, _) => {
                return Err(mismatch(
                    "params.body",
                    format!(
                        "the template `{}` takes the named values [{}], as an object",
                        self.name,
                        names.join(", ")
                    ),
                ));
            }
            (ParameterFormat::Positional, _) => {
                return Err(mismatch(
                    "params.body",
                    format!(
                        "the template `{}` takes {} body value(s), as a list",
                        self.name,
                        names.len()
                    ),
                ));
            }
        };
        let values = header
            .iter()
            .chain(buttons.iter())
            .chain(body.iter().map(|(_, v)| v));
        for value in values {
            if value.trim().is_empty() || value.chars().count() > MAX_VALUE_CHARS {
                return Err(mismatch(
                    "params",
                    format!("every value must be 1 to {MAX_VALUE_CHARS} characters"),
                ));
            }
        }
        let indexes = self
            .expected(Component::Button)
            .map(|p| p.index.unwrap_or(0));
        Ok(TemplateMessage {
            name: self.name.clone(),
            language: self.language.clone(),
            category: self.category.clone(),
            parameter_format: self.parameter_format,
            header_format: self.header_format.clone(),
            header,
            body,
            buttons: indexes.zip(buttons).collect(),
        })
    }

    /// The body as the customer reads it: the message's `text`.
    pub fn render(&self, message: &TemplateMessage) -> String {
        let mut text = self.body.clone();
        for (name, value) in &message.body {
            text = text.replace(&format!("{{{{{name}}}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(format: ParameterFormat, body: &str) -> Template {
        let params = placeholders(body)
            .into_iter()
            .map(|name| TemplateParam {
                component: Component::Body,
                name,
                index: None,
                example: None,
            })
            .chain([TemplateParam {
                component: Component::Button,
                name: "1".into(),
                index: Some(1),
                example: None,
            }])
            .collect();
        Template {
            name: "order_update".into(),
            language: "en_US".into(),
            status: "APPROVED".into(),
            category: "UTILITY".into(),
            parameter_format: format,
            body: body.into(),
            header_format: None,
            params,
        }
    }

    #[test]
    fn placeholders_are_found_once_in_order() {
        assert_eq!(placeholders("Hi {{1}}, {{2}} and {{1}}"), ["1", "2"]);
        assert_eq!(placeholders("{{ name }} {{x-y}} {{"), ["name"]);
    }

    #[test]
    fn positional_values_are_counted_and_rendered() {
        let t = template(
            ParameterFormat::Positional,
            "Hi {{1}}, order {{2}} is ready",
        );
        let ok = TemplateValues {
            body: Some(BodyValues::Positional(vec!["Ann".into(), "A1".into()])),
            buttons: Some(vec!["A1".into()]),
            ..Default::default()
        };
        let m = t.check(&ok).expect("matches");
        assert_eq!(t.render(&m), "Hi Ann, order A1 is ready");
        assert_eq!(m.buttons, [(1, "A1".to_string())]);
        let short = TemplateValues {
            body: Some(BodyValues::Positional(vec!["Ann".into()])),
            ..ok.clone()
        };
        let e = t.check(&short).expect_err("one short");
        assert_eq!(e.code, "template_params_mismatch");
        assert!(
            e.message.contains("takes 2 body value(s), 1 given"),
            "{e:?}"
        );
        let no_button = TemplateValues {
            buttons: None,
            ..ok
        };
        assert!(t.check(&no_button).is_err());
    }

    #[test]
    fn named_values_are_matched_by_name() {
        let t = template(ParameterFormat::Named, "Hi {{first_name}}, {{order}}");
        let mut named = BTreeMap::new();
        named.insert("order".to_string(), "A1".to_string());
        named.insert("first_name".to_string(), "Ann".to_string());
        let values = TemplateValues {
            body: Some(BodyValues::Named(named.clone())),
            buttons: Some(vec!["x".into()]),
            ..Default::default()
        };
        let m = t.check(&values).expect("matches");
        assert_eq!(m.body[0], ("first_name".to_string(), "Ann".to_string()));
        assert_eq!(t.render(&m), "Hi Ann, A1");
        named.remove("order");
        named.insert("orders".into(), "A1".into());
        let e = t
            .check(&TemplateValues {
                body: Some(BodyValues::Named(named)),
                ..values.clone()
            })
            .expect_err("wrong name");
        assert!(e.message.contains("[first_name, order]"), "{e:?}");
        let listed = TemplateValues {
            body: Some(BodyValues::Positional(vec!["Ann".into(), "A1".into()])),
            ..values
        };
        assert!(t.check(&listed).is_err(), "a list for a named template");
    }
}
