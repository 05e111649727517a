//! `POST /api/v1/assistant/draft` and MCP's `draft_message`: the phone's LLM turns an
//! instruction into a send, which is checked by the very checks a client's send passes, and
//! stored pending confirmation whatever the key says (or cancelled, when the policy refuses
//! it). Nothing is sent until a person confirms.

use super::checks::{Order, allow, check, phone_account, phone_allowed, phone_id, take_rate};
use super::send::{confirm_url, message_of, start};
use crate::domain::account::Account;
use crate::domain::ai_settings::EffectiveAi;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::AuditAction;
use crate::domain::channel::Channel;
use crate::domain::ids::MessageId;
use crate::domain::message::MessageStatus;
use crate::domain::provider::ProviderKind;
use crate::domain::template::{BodyValues, Component, ParameterFormat, Template, TemplateRequest};
use crate::domain::validation::{ValidationError, bounded_text};
use crate::error::AppError;
use crate::ports::{ChatMessage, LlmError, Role};
use crate::services::Services;
use crate::usecases::api_keys::Client;
use crate::usecases::audit::Audit;
use crate::usecases::generate::{self, GenerateError};
use crate::usecases::reach::{self, Content, Outgoing};
use crate::usecases::templates;
use serde::{Deserialize, Serialize};

/// What the model is asked to produce for a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// Always `send_message`.
    pub action: String,
    pub channel: String,
    pub to: Option<String>,
    pub text: String,
    pub subject: Option<String>,
    /// On `wa`, an approved template in place of `text`: its values in the order the template
    /// lists them.
    #[serde(default)]
    pub template: Option<TemplateRequest>,
}

/// Whether the policy lets a draft go out once confirmed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DraftDecision {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl DraftDecision {
    fn refused(e: &AppError) -> Self {
        Self {
            allowed: false,
            code: Some(e.code().to_string()),
            message: Some(e.to_string()),
        }
    }
}

/// The answer to a draft: what the model proposed, what the policy says, and the stored
/// message (pending confirmation when allowed, cancelled when refused).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Drafted {
    pub draft: Draft,
    pub decision: DraftDecision,
    /// The stored message; absent when the model's answer named no valid recipient.
    pub id: Option<MessageId>,
    pub status: Option<MessageStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
}

pub const MAX_INSTRUCTION_CHARS: usize = 4000;

/// The JSON schema of a draft, for `response_format`.
fn draft_format(channels: &[Channel]) -> serde_json::Value {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    serde_json::json!({
        "type": "json_schema",
        "json_schema": {
            "name": "send_message",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["send_message"]},
                    "channel": {"type": "string", "enum": names},
                    "to": {"type": ["string", "null"]},
                    "text": {"type": "string"},
                    "subject": {"type": ["string", "null"]},
                    "template": {"anyOf": [{"type": "null"}, {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "language": {"type": "string"},
                            "params": {
                                "type": "object",
                                "properties": {
                                    "header": {"type": ["array", "null"], "items": {"type": "string"}},
                                    "body": {"type": ["array", "null"], "items": {"type": "string"}},
                                    "buttons": {"type": ["array", "null"], "items": {"type": "string"}}
                                },
                                "required": ["header", "body", "buttons"],
                                "additionalProperties": false
                            }
                        },
                        "required": ["name", "language", "params"],
                        "additionalProperties": false
                    }]}
                },
                "required": ["action", "channel", "to", "text", "subject", "template"],
                "additionalProperties": false
            }
        }
    })
}

fn draft_prompt(channels: &[Channel], templates: &[Template]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    let mut prompt = format!(
        "You turn an instruction into one message to send. Answer with only a JSON object: \
         {{\"action\": \"send_message\", \"channel\": one of {names:?}, \"to\": the recipient \
         (E.164 like +15551234567 for sms and wa, a chat id for tg_bot, @username or E.164 for \
         tg, an address for email, null for notify), \"text\": the message, \"subject\": a \
         subject for email, else null, \"template\": null}}."
    );
    if !templates.is_empty() {
        prompt.push_str(
            " On wa, WhatsApp takes free text only within 24 hours of the contact's last message; \
             otherwise (or when one fits) propose one of these approved templates as \
             \"template\": {\"name\", \"language\", \"params\": {\"header\": [...] or null, \
             \"body\": [...] or null, \"buttons\": [...] or null}} with the values in the order \
             listed, and \"text\": \"\". Templates:",
        );
        for t in templates {
            let params: Vec<String> = t
                .params
                .iter()
                .map(|p| format!("{:?} {}", p.component, p.name).to_lowercase())
                .collect();
            prompt.push_str(&format!(
                "\n- {} ({}, {}): {} [values: {}]",
                t.name,
                t.language,
                t.category,
                t.body,
                params.join(", ")
            ));
        }
    }
    prompt
}

/// The approved templates a draft may propose: a WhatsApp Cloud phone's, when the key may use
/// `wa` and the list can be read (a draft goes on without them otherwise).
async fn proposable(s: &Services, account: &Account, channels: &[Channel]) -> Vec<Template> {
    let wanted = account.provider == ProviderKind::WhatsappCloud && channels.contains(&Channel::Wa);
    if !wanted {
        return Vec::new();
    }
    match templates::all(s, account).await {
        Ok(all) => all
            .into_iter()
            .filter(|t| t.status.eq_ignore_ascii_case("APPROVED"))
            .collect(),
        Err(e) => {
            tracing::info!(account = %account.id, error = %e, "a draft without templates");
            Vec::new()
        }
    }
}

/// A named template's body values, proposed in order, given their names.
fn named_in_order(mut request: TemplateRequest, known: &[Template]) -> TemplateRequest {
    let template = known
        .iter()
        .find(|t| t.name == request.name && t.language == request.language);
    if let (Some(t), Some(BodyValues::Positional(values))) = (template, &request.params.body)
        && t.parameter_format == ParameterFormat::Named
    {
        let names = t
            .params
            .iter()
            .filter(|p| p.component == Component::Body)
            .map(|p| p.name.clone());
        let named = names.zip(values.iter().cloned()).collect();
        request.params.body = Some(BodyValues::Named(named));
    }
    request
}

/// The model's answer as a draft: the JSON object in it (fences and prose around it are
/// dropped), of exactly the draft's shape.
pub fn read_draft(text: &str) -> Result<Draft, String> {
    let start = text.find('{').ok_or("the answer holds no JSON object")?;
    let end = text.rfind('}').ok_or("the answer holds no JSON object")?;
    let json = text
        .get(start..=end)
        .ok_or("the answer holds no JSON object")?;
    let draft: Draft =
        serde_json::from_str(json).map_err(|e| format!("the answer is not a draft: {e}"))?;
    if draft.action != "send_message" {
        return Err(format!("unknown action `{}`", draft.action));
    }
    Ok(draft)
}

/// Asks the model with a JSON schema, then for any JSON object, then for plain text, as far as
/// the endpoint refuses the format (an HTTP 4xx).
async fn ask_for_draft(
    s: &Services,
    effective: &EffectiveAi,
    (channels, templates): (&[Channel], &[Template]),
    instruction: &str,
) -> Result<String, AppError> {
    let messages = vec![
        ChatMessage::text(Role::System, draft_prompt(channels, templates)),
        ChatMessage::text(Role::User, instruction),
    ];
    let formats = [
        Some(draft_format(channels)),
        Some(serde_json::json!({"type": "json_object"})),
        None,
    ];
    let mut last = None;
    for format in formats {
        match generate::generate_as(s, effective, messages.clone(), format).await {
            Ok(generated) => return Ok(generated.completion.text),
            Err(GenerateError::Llm(LlmError::Client { status, detail }))
                if (400..500).contains(&status) && status != 401 && status != 429 =>
            {
                last = Some(LlmError::Client { status, detail });
            }
            Err(GenerateError::Llm(e)) => {
                return Err(AppError::Upstream {
                    code: "llm_error",
                    message: e.to_string(),
                });
            }
            Err(GenerateError::App(e)) => return Err(e),
        }
    }
    Err(AppError::Upstream {
        code: "llm_error",
        message: last.map_or_else(|| "no answer".into(), |e| e.to_string()),
    })
}

pub async fn draft(
    s: &Services,
    client: &Client,
    phone_id: &str,
    instruction: &str,
) -> Result<Drafted, AppError> {
    let mut audit = Audit::new(s, client.actor(), client.key_id(), AuditAction::Draft);
    let drafted = match client {
        Client::Key(key) => draft_as(s, key, phone_id, instruction, &mut audit).await,
        Client::Admin { .. } => Err(AppError::Forbidden(
            "drafting needs a client API key, whose policy it follows",
        )),
    };
    audit.settle(s, drafted).await
}

async fn draft_as(
    s: &Services,
    key: &ApiKey,
    raw_phone: &str,
    instruction: &str,
    audit: &mut Audit,
) -> Result<Drafted, AppError> {
    let phone = phone_id(raw_phone)?;
    bounded_text("instruction", instruction, 1, MAX_INSTRUCTION_CHARS)?;
    phone_allowed(key, &phone)?;
    let account = phone_account(s, &phone).await?;
    take_rate(s, key).await?;
    let channels: Vec<Channel> = account
        .provider
        .channels(&account.provider_config)
        .into_iter()
        .filter(|c| key.policy.channels.allows(c))
        .collect();
    let effective = crate::usecases::ai_settings::effective(s, Some(&phone), None).await?;
    if !effective.api_key.is_set() && !effective.echo_mode.value {
        return Err(AppError::conflict(
            "no_api_key",
            "the phone has no LLM configured (no API key)",
        ));
    }
    let templates = proposable(s, &account, &channels).await;
    let text = ask_for_draft(s, &effective, (&channels, &templates), instruction).await?;
    // The model's answer is untrusted: read and checked as a client's request would be.
    let draft = read_draft(&text).map_err(|reason| AppError::Upstream {
        code: "llm_invalid_output",
        message: format!("the model's answer is not a usable draft: {reason}"),
    })?;
    let order = Order {
        phone_id: phone.to_string(),
        channel: Channel::parse(&draft.channel).unwrap_or(Channel::Sms),
        to: draft.to.clone(),
        text: draft.template.is_none().then(|| draft.text.clone()),
        template: draft
            .template
            .clone()
            .map(|t| named_in_order(t, &templates)),
        fallback_template: None,
        subject: draft.subject.clone(),
        source: Some("draft".into()),
        idempotency_key: None,
    };
    let (phone_about, channel, to) = order.about();
    audit.about(phone_about, channel, to);
    let checked = match Channel::parse(&draft.channel)
        .ok_or_else(|| ValidationError::new("channel", "is not a channel").into())
        .and_then(|_| check(&order))
    {
        Ok(checked) => checked,
        Err(e) => {
            audit.refuse(&e);
            return Ok(Drafted {
                draft,
                decision: DraftDecision::refused(&e),
                id: None,
                status: None,
                confirm_url: None,
            });
        }
    };
    let now = s.clock.now();
    // A draft to a contact who opted out, outside the window or with a template that does not
    // match is refused as a send would be.
    let reached = match allow(s, key, &checked).await {
        Ok(phone) => {
            let content = Content {
                text: checked.text.as_deref(),
                template: checked.template.as_ref(),
                fallback_template: None,
            };
            reach::check(s, &phone, &checked.recipient.chat, content).await
        }
        Err(e) => Err(e),
    };
    let (outgoing, refused) = match reached {
        Ok(outgoing) => (outgoing, None),
        Err(e) => {
            let text = checked.text.clone().unwrap_or_default();
            let outgoing = Outgoing {
                text,
                template: None,
            };
            (outgoing, Some(e))
        }
    };
    let mut message = message_of(s, key, checked, outgoing, true, now);
    audit.message(&message);
    let decision = match &refused {
        Some(e) => {
            message.status = MessageStatus::Cancelled;
            message.error = Some(e.code().to_string());
            message.reached = [(MessageStatus::Cancelled, now)].into_iter().collect();
            if let Some(c) = message.client.as_mut() {
                c.expires_at = None;
            }
            audit.refuse(e);
            DraftDecision::refused(e)
        }
        None => {
            audit.reason("drafted; waiting for confirmation");
            DraftDecision {
                allowed: true,
                code: None,
                message: None,
            }
        }
    };
    s.store
        .record_client_send(&message, audit.handed(), None)
        .await?;
    start(s, &message).await?;
    Ok(Drafted {
        draft,
        decision,
        id: Some(message.id.clone()),
        status: Some(message.status),
        confirm_url: (message.status == MessageStatus::PendingConfirmation)
            .then(|| confirm_url(s, &message.id)),
    })
}
