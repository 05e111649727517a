//! The tools: `list_phones`, `list_templates`, `send_message`, `draft_message`, `get_message`,
//! `cancel_message`.
//! A refusal is a tool error whose text is the API's error body, so a model reads the same code
//! and message a REST client would.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::domain::api_key::Scope;
use switchboard_core::domain::ids::MessageId;
use switchboard_core::domain::page::PageRequest;
use switchboard_core::error::AppError;
use switchboard_core::services::AppState;
use switchboard_core::usecases::api_keys::Client;
use switchboard_core::usecases::client_messages::{self, Order};

#[derive(Clone)]
pub struct Tools {
    state: AppState,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SendParams {
    /// The phone (account id, `acc_...`) to send from; `list_phones` names them.
    pub phone_id: String,
    /// sms, wa, tg, email, notify, tg_bot or pchat.
    pub channel: String,
    /// The recipient: E.164 (+15551234567) for sms and wa, a chat id for tg_bot, @username or
    /// E.164 for tg, an address for email; leave out for notify.
    pub to: Option<String>,
    /// Exactly one of text and template.
    pub text: Option<String>,
    /// Only for wa on a WhatsApp Cloud phone: an approved template (list_templates), as
    /// {"name", "language", "params": {"header"?: [..], "body": [..] or {"name": value}, "buttons"?: [..]}}.
    pub template: Option<serde_json::Value>,
    /// Only for wa: a template sent instead of text when the contact's 24-hour window is closed.
    pub fallback_template: Option<serde_json::Value>,
    /// Only for email.
    pub subject: Option<String>,
    /// Which assistant or flow asks.
    pub source: Option<String>,
    /// Repeat a call with the same key to get the first answer instead of a second send.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TemplatesParams {
    /// A WhatsApp Cloud phone (account id, `acc_...`).
    pub phone_id: String,
    /// Meta's status to keep (APPROVED, PAUSED ...); all when left out.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DraftParams {
    pub phone_id: String,
    /// What to send, in plain words.
    pub instruction: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MessageParams {
    /// The message id (`msg_...`).
    pub id: String,
}

#[derive(Debug, Serialize)]
struct Phone {
    phone_id: String,
    name: String,
    provider: &'static str,
    channels: Vec<&'static str>,
}

fn caller(parts: &http::request::Parts) -> Result<Client, ErrorData> {
    parts
        .extensions
        .get::<Client>()
        .cloned()
        .ok_or_else(|| ErrorData::invalid_request("a client API key is required", None))
}

/// A use-case's answer as a tool result: the value, or the API's error body as a tool error.
fn answer(result: Result<serde_json::Value, AppError>) -> Result<CallToolResult, ErrorData> {
    match result {
        Ok(value) => Ok(CallToolResult::structured(value)),
        Err(AppError::Internal(cause)) => {
            tracing::error!(%cause, "an MCP tool failed");
            Err(ErrorData::internal_error("internal error", None))
        }
        Err(e) => {
            let body = serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}});
            Ok(CallToolResult::error(vec![ContentBlock::text(
                body.to_string(),
            )]))
        }
    }
}

fn json(value: impl Serialize) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn message_id(raw: &str) -> Result<MessageId, AppError> {
    MessageId::parse(raw).ok_or(AppError::NotFound("message"))
}

#[tool_router]
impl Tools {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "The phones this key may send from, with the channels it may use on each."
    )]
    async fn list_phones(
        &self,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = caller(&parts)?;
        answer(self.phones(&client).await)
    }

    #[tool(
        description = "Send a message through one of the key's phones: a text, or on wa a template. Checked against the key's policy (phones, channels, recipients, rate), the contact's opt-out and WhatsApp's 24-hour window; with require_confirmation it waits for a person, and the answer's confirm_url is where they confirm."
    )]
    async fn send_message(
        &self,
        Parameters(p): Parameters<SendParams>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = caller(&parts)?;
        let mut order = serde_json::json!({
            "phone_id": p.phone_id, "channel": p.channel, "to": p.to,
            "subject": p.subject, "source": p.source, "idempotency_key": p.idempotency_key,
        });
        // Given only when the model gave them, as a REST body would (`null` is neither).
        let content = [
            ("text", p.text.map(serde_json::Value::String)),
            ("template", p.template),
            ("fallback_template", p.fallback_template),
        ];
        for (field, value) in content {
            if let Some(value) = value {
                order[field] = value;
            }
        }
        let order = serde_json::from_value::<Order>(order).map_err(|e| {
            AppError::Invalid(switchboard_core::domain::validation::ValidationError::new(
                "channel",
                e.to_string(),
            ))
        });
        let sent = client_messages::send(&self.state, &client, order).await;
        answer(sent.map(|a| {
            let mut body = a.body;
            body["replayed"] = serde_json::Value::Bool(a.replayed);
            body
        }))
    }

    #[tool(
        description = "The WhatsApp message templates of a phone's business account, with the parameters each takes. Outside 24 hours after a contact's last message, WhatsApp takes only an approved template."
    )]
    async fn list_templates(
        &self,
        Parameters(p): Parameters<TemplatesParams>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = caller(&parts)?;
        let status = p.status.as_deref();
        let listed = client_messages::templates(&self.state, &client, &p.phone_id, status).await;
        answer(listed.and_then(|t| json(serde_json::json!({"templates": t}))))
    }

    #[tool(
        description = "Turn an instruction into a message draft with the phone's LLM. The draft is checked against the key's policy and waits for a person to confirm it; nothing is sent before."
    )]
    async fn draft_message(
        &self,
        Parameters(p): Parameters<DraftParams>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = caller(&parts)?;
        let drafted =
            client_messages::draft(&self.state, &client, &p.phone_id, &p.instruction).await;
        answer(drafted.and_then(json))
    }

    #[tool(
        description = "A message this key sent: its status, error and when it reached each status."
    )]
    async fn get_message(
        &self,
        Parameters(p): Parameters<MessageParams>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = caller(&parts)?;
        let found = async {
            let m = client_messages::get(&self.state, &client, &message_id(&p.id)?).await?;
            json(client_messages::view(&self.state, &m))
        };
        answer(found.await)
    }

    #[tool(description = "Cancel a message of this key that has not gone out yet.")]
    async fn cancel_message(
        &self,
        Parameters(p): Parameters<MessageParams>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = caller(&parts)?;
        let cancelled = async {
            let m = client_messages::cancel(&self.state, &client, &message_id(&p.id)?).await?;
            json(client_messages::view(&self.state, &m))
        };
        answer(cancelled.await)
    }
}

impl Tools {
    async fn phones(&self, client: &Client) -> Result<serde_json::Value, AppError> {
        let Client::Key(key) = client else {
            return Err(AppError::Forbidden("a client API key is required"));
        };
        let policy = &key.policy;
        let accounts = match &policy.phones {
            Scope::All => {
                self.state
                    .store
                    .list_accounts(&PageRequest::first(200))
                    .await?
                    .items
            }
            Scope::Only(ids) => {
                let mut found = Vec::new();
                for id in ids {
                    if let Some(a) = self.state.store.get_account(id).await? {
                        found.push(a);
                    }
                }
                found
            }
        };
        let phones: Vec<Phone> = accounts
            .iter()
            .map(|a| Phone {
                phone_id: a.id.to_string(),
                name: a.name.clone(),
                provider: a.provider.as_str(),
                channels: a
                    .provider
                    .channels(&a.provider_config)
                    .into_iter()
                    .filter(|c| policy.channels.allows(c))
                    .map(|c| c.as_str())
                    .collect(),
            })
            .collect();
        json(serde_json::json!({"phones": phones}))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "switchboard",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Send messages on SMS, WhatsApp, Telegram, email and phone notifications through \
                 Switchboard. Call list_phones first. A send may wait for a person to confirm it.",
            )
    }
}
