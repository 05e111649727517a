//! The checks a client's send passes, in the contract's order after the key: the body
//! (`check`), then the key's policy and the phone (`allow`), then the rate (`take_rate`). A
//! draft runs the very same checks on what the model proposed.

use crate::domain::account::Account;
use crate::domain::api_key::ApiKey;
use crate::domain::channel::{self, Channel, NOTIFY_TO_PATTERN, Recipient, to_pattern};
use crate::domain::idempotency;
use crate::domain::ids::AccountId;
use crate::domain::schema::written_schema;
use crate::domain::template::{
    MAX_LANGUAGE_CHARS, MAX_NAME_CHARS, MAX_NAMED_VALUES, MAX_VALUE_CHARS, MAX_VALUES,
    TemplateRequest,
};
use crate::domain::validation::{ValidationError, bounded_text, given, text_schema};
use crate::error::AppError;
use crate::ports::Rate;
use crate::services::Services;
use crate::usecases::reach;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const MAX_TEXT_CHARS: usize = 4096;
pub const MAX_SUBJECT_CHARS: usize = 998;
pub const MAX_SOURCE_CHARS: usize = 200;

/// A send as the client asks for it. Its document schema is written by `schema` from the
/// limits `check` applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The phone (account) to send from.
    pub phone_id: String,
    pub channel: Channel,
    /// Required except for `notify`; its shape depends on the channel.
    pub to: Option<String>,
    /// Exactly one of `text` and `template` (`template` only on `wa`); `null` is neither.
    #[serde(default, deserialize_with = "given")]
    pub text: Option<String>,
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    pub template: Option<TemplateRequest>,
    /// On `wa`: sent instead of `text` when the contact's 24-hour window is closed.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    pub fallback_template: Option<TemplateRequest>,
    /// Only for `email`.
    pub subject: Option<String>,
    /// Which assistant or flow asked, for the audit.
    pub source: Option<String>,
    /// The same key with the same body within 24 h answers with the first answer.
    pub idempotency_key: Option<String>,
}

written_schema!(Order, schema);

/// A template send's body, as `TemplateRequest` reads it.
pub fn template_schema() -> Value {
    let values = |description: &str| json!({"type": "array", "items": text_schema(MAX_VALUE_CHARS), "maxItems": MAX_VALUES, "description": description});
    json!({
        "type": "object",
        "required": ["name", "language"],
        "additionalProperties": false,
        "properties": {
            "name": text_schema(MAX_NAME_CHARS),
            "language": text_schema(MAX_LANGUAGE_CHARS),
            "params": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "header": values("The header's value (a media header's: the file's link)."),
                    "body": {
                        "description": "A positional template's values in order, or a named one's by name.",
                        "anyOf": [
                            values("Positional values."),
                            {"type": "object", "additionalProperties": text_schema(MAX_VALUE_CHARS), "maxProperties": MAX_NAMED_VALUES},
                        ],
                    },
                    "buttons": values("One value per button that takes one, in button order."),
                },
            },
        },
    })
}

/// `to` (and whether there is one, and `subject`) depends on `channel`: one shape per channel.
fn schema() -> Value {
    let text = text_schema;
    let optional = |max_chars, description: &str| {
        let mut schema = text(max_chars);
        schema["type"] = json!(["string", "null"]);
        schema["description"] = json!(description);
        schema
    };
    let variants: Vec<Value> = Channel::ALL
        .iter()
        .map(|channel| {
            let mut properties = json!({
                "phone_id": {
                    "type": "string", "pattern": AccountId::PATTERN,
                    "description": "The phone (account) to send from.",
                    "example": "acc_01JABCDEFGHJKMNPQRSTVWXYZ0",
                },
                "channel": {"type": "string", "const": channel.as_str()},
                "text": text(MAX_TEXT_CHARS),
                "source": optional(MAX_SOURCE_CHARS, "Which assistant or flow asked, for the audit."),
                "idempotency_key": optional(idempotency::MAX_KEY_CHARS, "Up to 255 characters; the same key with the same body within 24 h answers with the first answer and sends nothing new."),
            });
            let mut required = vec!["phone_id", "channel"];
            if *channel == Channel::Wa {
                let template = template_schema();
                properties["text"]["description"] = json!("Exactly one of `text` and `template`.");
                properties["template"] = template.clone();
                properties["template"]["description"] = json!("An approved template of the phone's business account (WhatsApp Cloud), in place of `text`.");
                properties["fallback_template"] = template;
                properties["fallback_template"]["description"] = json!("Sent instead of `text` when the contact's 24-hour window is closed (the answer says `sent_as: template`).");
            } else {
                required.push("text");
            }
            match to_pattern(*channel) {
                Some(pattern) => {
                    properties["to"] = json!({
                        "type": "string", "pattern": pattern,
                        "description": "The recipient, as this channel writes it.",
                    });
                    required.push("to");
                }
                None => {
                    properties["to"] = json!({
                        "anyOf": [{"type": "null"}, {"type": "string", "pattern": NOTIFY_TO_PATTERN}],
                        "description": "Left out, null or empty: a notification goes to the phone.",
                    });
                }
            }
            if *channel == Channel::Email {
                properties["subject"] = optional(MAX_SUBJECT_CHARS, "Only for `email`.");
            }
            let mut variant = json!({
                "type": "object",
                "title": channel.as_str(),
                "description": "A send as the client asks for it.",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            });
            if *channel == Channel::Wa {
                variant["oneOf"] = json!([{"required": ["text"]}, {"required": ["template"]}]);
            }
            variant
        })
        .collect();
    json!({"oneOf": variants, "discriminator": {"propertyName": "channel"}})
}

impl Order {
    /// What the audit says a send is about, before it is checked.
    pub fn about(&self) -> (Option<AccountId>, Option<Channel>, Option<String>) {
        (
            AccountId::parse(&self.phone_id),
            Some(self.channel),
            self.to.clone(),
        )
    }
}

/// A send that passed the body's checks.
pub struct Checked {
    pub phone: AccountId,
    pub channel: Channel,
    pub recipient: Recipient,
    pub text: Option<String>,
    pub template: Option<TemplateRequest>,
    pub fallback_template: Option<TemplateRequest>,
    pub subject: Option<String>,
    pub source: Option<String>,
}

/// A phone's id as the client API takes it.
pub fn phone_id(raw: &str) -> Result<AccountId, AppError> {
    AccountId::parse(raw).ok_or_else(|| {
        ValidationError::new("phone_id", "is not a phone id (acc_...)")
            .with_code("unknown_phone")
            .into()
    })
}

/// The body's own checks: every field, `to` as its channel writes recipients.
pub fn check(order: &Order) -> Result<Checked, AppError> {
    let phone = phone_id(&order.phone_id)?;
    reach::text_or_template(order.text.as_deref(), order.template.is_some())?;
    if let Some(text) = &order.text {
        bounded_text("text", text, 1, MAX_TEXT_CHARS)?;
    }
    if order.channel != Channel::Wa
        && (order.template.is_some() || order.fallback_template.is_some())
    {
        return Err(
            ValidationError::new("template", "templates are only for the wa channel")
                .with_code("templates_not_supported")
                .into(),
        );
    }
    match (&order.subject, order.channel) {
        (Some(subject), Channel::Email) => bounded_text("subject", subject, 1, MAX_SUBJECT_CHARS)?,
        (Some(_), _) => {
            return Err(ValidationError::new("subject", "is only for the email channel").into());
        }
        (None, _) => {}
    }
    if let Some(source) = &order.source {
        bounded_text("source", source, 1, MAX_SOURCE_CHARS)?;
    }
    if let Some(key) = &order.idempotency_key {
        bounded_text("idempotency_key", key, 1, idempotency::MAX_KEY_CHARS)?;
    }
    let recipient = channel::recipient(order.channel, order.to.as_deref())?;
    Ok(Checked {
        phone,
        channel: order.channel,
        recipient,
        text: order.text.clone(),
        template: order.template.clone(),
        fallback_template: order.fallback_template.clone(),
        subject: order.subject.clone(),
        source: order.source.clone(),
    })
}

/// A send's `template` and `fallback_template` within their bounds (a fallback too, even when
/// the window leaves it unused).
pub fn check_templates(
    template: Option<&TemplateRequest>,
    fallback: Option<&TemplateRequest>,
) -> Result<(), ValidationError> {
    for (field, t) in [("template", template), ("fallback_template", fallback)] {
        if let Some(t) = t {
            t.check(field)?;
        }
    }
    Ok(())
}

/// The key may send from this phone.
pub fn phone_allowed(key: &ApiKey, phone: &AccountId) -> Result<(), AppError> {
    if key.policy.phones.allows(phone) {
        Ok(())
    } else {
        Err(AppError::denied(
            "phone_not_allowed",
            "this key may not send from this phone",
        ))
    }
}

/// The phone, which must exist.
pub async fn phone_account(s: &Services, phone: &AccountId) -> Result<Account, AppError> {
    s.store
        .get_account(phone)
        .await?
        .ok_or(AppError::NotFound("phone"))
}

/// The policy's checks after the replay: phone and channel, the phone's provider, the
/// allowlist. Returns the phone.
pub async fn allow(s: &Services, key: &ApiKey, checked: &Checked) -> Result<Account, AppError> {
    let policy = &key.policy;
    phone_allowed(key, &checked.phone)?;
    if !policy.channels.allows(&checked.channel) {
        return Err(AppError::denied(
            "channel_not_allowed",
            "this key may not send on this channel",
        ));
    }
    let phone = phone_account(s, &checked.phone).await?;
    if !phone
        .provider
        .channels(&phone.provider_config)
        .contains(&checked.channel)
    {
        return Err(ValidationError::new(
            "channel",
            format!(
                "the phone's provider ({}) does not carry {}",
                phone.provider.as_str(),
                checked.channel.as_str()
            ),
        )
        .with_code("channel_not_supported")
        .into());
    }
    if !policy.allows_recipient(checked.channel, &checked.recipient.to) {
        return Err(AppError::denied(
            "recipient_not_allowed",
            "this recipient is not on the key's allowlist",
        ));
    }
    Ok(phone)
}

/// Takes one send from the key's rate, counted across every instance.
pub async fn take_rate(s: &Services, key: &ApiKey) -> Result<(), AppError> {
    let rate = Rate::per_minute(key.policy.rate_limit_per_minute);
    match s
        .store
        .take_rate(&format!("key:{}", key.id), rate, s.clock.now())
        .await?
    {
        None => Ok(()),
        Some(wait) => Err(AppError::RateLimited {
            // Whole seconds, rounded up: a retry at that time finds room.
            retry_after_secs: wait.as_millis().div_ceil(1000).max(1) as u64,
        }),
    }
}
