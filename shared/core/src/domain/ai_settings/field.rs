//! The list of settings as data: what the API document and the dashboard's form are written
//! from, and what the tests walk to hold every shape to the list.

use super::value::Kind;
use serde_json::Value;

/// One setting as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// What it resolves to when no level sets it.
    pub fallback: Fallback,
    /// The environment variable of the `env` level, where there is one.
    pub env: Option<&'static str>,
    /// A few words for a form.
    pub label: &'static str,
    /// A line of help.
    pub help: &'static str,
}

/// The bottom of a setting's resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum Fallback {
    /// A built-in default, as reads show it.
    Value(Value),
    /// The value in force of another setting (a transcription endpoint defaults to the chat's).
    SameAs(&'static str),
    /// None: the setting is simply absent (a secret nobody set).
    Nothing,
}

impl Field {
    pub fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }

    /// The name reads use: `has_<name>` for a secret.
    pub fn shown_name(&self) -> String {
        if self.is_secret() {
            format!("has_{}", self.name)
        } else {
            self.name.to_string()
        }
    }

    /// What the document and the form say of it: the help, then where it falls back to.
    pub fn description(&self) -> String {
        let mut words = self.help.to_string();
        if let Some(env) = self.env {
            words.push_str(&format!(" Environment level: `{env}`."));
        }
        match &self.fallback {
            Fallback::Value(v) if !self.is_secret() => {
                words.push_str(&format!(" Built-in default: `{v}`."));
            }
            Fallback::SameAs(other) => {
                words.push_str(&format!(" When no level sets it: the `{other}` in force."));
            }
            _ => {}
        }
        words
    }
}
