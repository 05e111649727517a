//! What an AI setting can hold: each value type says how a request writes it, how it is
//! checked, how reads show it and what the API document and the dashboard say of it, so a
//! setting's limits are written once, on its type.

use crate::domain::validation::{Bounded, HttpUrl, Temperature, Text, ValidationError, Whole};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The kind of a setting's value, with its limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Flag,
    Integer {
        min: u32,
        max: u32,
    },
    Number {
        min: f64,
        max: f64,
    },
    Text {
        max_chars: usize,
    },
    Url,
    /// One of a few names.
    Choice(&'static [&'static str]),
    /// Write-only: sealed before it is stored, shown as `has_<name>`.
    Secret,
}

impl Kind {
    /// The JSON Schema of one value, as the server checks it.
    pub fn schema(self) -> Value {
        use crate::domain::validation::{VISIBLE_TEXT_PATTERN, text_schema};
        match self {
            Kind::Flag => json!({"type": "boolean"}),
            Kind::Integer { min, max } => {
                json!({"type": "integer", "format": "int64", "minimum": min, "maximum": max})
            }
            Kind::Number { min, max } => json!({
                "type": "number", "format": "double",
                "minimum": whole_if_whole(min), "maximum": whole_if_whole(max),
            }),
            Kind::Text { max_chars } => text_schema(max_chars),
            Kind::Url => HttpUrl::schema(),
            Kind::Choice(names) => json!({"type": "string", "enum": names}),
            Kind::Secret => json!({
                "type": "string", "minLength": 1, "maxLength": SECRET_MAX_CHARS,
                "pattern": VISIBLE_TEXT_PATTERN, "writeOnly": true,
            }),
        }
    }

    /// The JSON type of a value, as reads show it.
    pub fn shown_schema(self) -> Value {
        match self {
            Kind::Flag | Kind::Secret => json!({"type": "boolean"}),
            Kind::Integer { .. } => json!({"type": "integer", "format": "int32", "minimum": 0}),
            Kind::Number { .. } => json!({"type": "number", "format": "double"}),
            Kind::Text { .. } | Kind::Url => json!({"type": "string"}),
            Kind::Choice(names) => json!({"type": "string", "enum": names}),
        }
    }
}

/// A limit of `2.0` written `2`, as the document has always written it (and forms show it).
fn whole_if_whole(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// The longest secret taken, in characters.
pub const SECRET_MAX_CHARS: usize = 4096;

/// A type an AI setting holds.
pub trait SettingValue: Clone + Serialize + DeserializeOwned + std::fmt::Debug + PartialEq {
    /// What a request's JSON holds; a value of another JSON type is a 400 before `parse`.
    type Wire: DeserializeOwned;
    /// The value as reads, resolution and the use-cases see it.
    type Shown: Serialize + Clone + std::fmt::Debug + PartialEq;
    /// A built-in default as the declaration writes it.
    type Builtin;
    const KIND: Kind;

    fn parse(field: &str, wire: Self::Wire) -> Result<Self, ValidationError>;
    fn shown(&self) -> Self::Shown;
    /// From an environment variable: an operator's setting, trusted like a stored value.
    fn from_env(text: &str) -> Result<Self, String>;
    /// A built-in default; the declaration's defaults are checked by a test.
    fn builtin(value: Self::Builtin) -> Result<Self, String>;
}

impl SettingValue for bool {
    type Wire = bool;
    type Shown = bool;
    type Builtin = bool;
    const KIND: Kind = Kind::Flag;

    fn parse(_: &str, wire: bool) -> Result<Self, ValidationError> {
        Ok(wire)
    }
    fn shown(&self) -> bool {
        *self
    }
    fn from_env(text: &str) -> Result<Self, String> {
        match text.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("must be true or false".into()),
        }
    }
    fn builtin(value: bool) -> Result<Self, String> {
        Ok(value)
    }
}

impl<const MIN: u32, const MAX: u32> SettingValue for Bounded<MIN, MAX> {
    type Wire = Whole;
    type Shown = u32;
    type Builtin = u32;
    const KIND: Kind = Kind::Integer { min: MIN, max: MAX };

    fn parse(field: &str, wire: Whole) -> Result<Self, ValidationError> {
        Self::parse(field, wire)
    }
    fn shown(&self) -> u32 {
        self.get()
    }
    fn from_env(text: &str) -> Result<Self, String> {
        let n: i64 = text.trim().parse().map_err(|_| "must be a whole number")?;
        Self::try_from(n)
    }
    fn builtin(value: u32) -> Result<Self, String> {
        Self::try_from(i64::from(value))
    }
}

impl SettingValue for Temperature {
    type Wire = f64;
    type Shown = f64;
    type Builtin = f64;
    const KIND: Kind = Kind::Number {
        min: Temperature::MIN,
        max: Temperature::MAX,
    };

    fn parse(field: &str, wire: f64) -> Result<Self, ValidationError> {
        Self::parse(field, wire)
    }
    fn shown(&self) -> f64 {
        self.get()
    }
    fn from_env(text: &str) -> Result<Self, String> {
        let n: f64 = text.trim().parse().map_err(|_| "must be a number")?;
        Self::try_from(n)
    }
    fn builtin(value: f64) -> Result<Self, String> {
        Self::try_from(value)
    }
}

impl SettingValue for HttpUrl {
    type Wire = String;
    type Shown = HttpUrl;
    type Builtin = &'static str;
    const KIND: Kind = Kind::Url;

    fn parse(field: &str, wire: String) -> Result<Self, ValidationError> {
        Self::parse(field, &wire)
    }
    fn shown(&self) -> HttpUrl {
        self.clone()
    }
    /// The lenient reading: an operator's IPv6 address is taken (see `HttpUrl`).
    fn from_env(text: &str) -> Result<Self, String> {
        Self::try_from(text.to_string())
    }
    fn builtin(value: &'static str) -> Result<Self, String> {
        Self::parse("default", value).map_err(|e| e.message)
    }
}

impl<const MAX: usize> SettingValue for Text<MAX> {
    type Wire = String;
    type Shown = String;
    type Builtin = &'static str;
    const KIND: Kind = Kind::Text { max_chars: MAX };

    fn parse(field: &str, wire: String) -> Result<Self, ValidationError> {
        Self::parse(field, wire)
    }
    fn shown(&self) -> String {
        self.as_str().to_string()
    }
    fn from_env(text: &str) -> Result<Self, String> {
        Self::parse("env", text.to_string()).map_err(|e| e.message)
    }
    fn builtin(value: &'static str) -> Result<Self, String> {
        Self::parse("default", value.to_string()).map_err(|e| e.message)
    }
}

/// How images reach the model: as images (`native`), as a description written once by
/// `vision_model` (`describe`), or not at all (`off`: `[image]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisionMode {
    Off,
    Native,
    Describe,
}

impl VisionMode {
    const NAMES: &'static [&'static str] = &["off", "native", "describe"];

    fn named(text: &str) -> Option<Self> {
        match text {
            "off" => Some(Self::Off),
            "native" => Some(Self::Native),
            "describe" => Some(Self::Describe),
            _ => None,
        }
    }
}

impl SettingValue for VisionMode {
    type Wire = String;
    type Shown = VisionMode;
    type Builtin = &'static str;
    const KIND: Kind = Kind::Choice(Self::NAMES);

    fn parse(field: &str, wire: String) -> Result<Self, ValidationError> {
        Self::named(&wire).ok_or_else(|| {
            ValidationError::new(field, format!("must be one of {}", Self::NAMES.join(", ")))
        })
    }
    fn shown(&self) -> VisionMode {
        *self
    }
    fn from_env(text: &str) -> Result<Self, String> {
        Self::named(text.trim()).ok_or_else(|| format!("must be one of {}", Self::NAMES.join(", ")))
    }
    fn builtin(value: &'static str) -> Result<Self, String> {
        Self::from_env(value)
    }
}
