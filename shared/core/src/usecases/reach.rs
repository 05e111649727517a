//! Whether a send may reach its contact now, and as what: never to a contact who opted out;
//! on WhatsApp Cloud, free text only inside the 24-hour window (else the fallback template, or
//! a refusal with the window's end), and a template only as its business approved it. Asked by
//! the account's send API and the client API (and so MCP) before anything is stored, so a
//! refused send costs nothing.

use crate::domain::account::Account;
use crate::domain::chat::{ChatJid, NOTIFY_SERVER};
use crate::domain::provider::ProviderKind;
use crate::domain::template::{TemplateMessage, TemplateRequest};
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::{consent, templates};

/// What a sender asked to send.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub text: Option<&'a str>,
    pub template: Option<&'a TemplateRequest>,
    /// Sent instead of `text` when the window is closed.
    pub fallback_template: Option<&'a TemplateRequest>,
}

/// What will be sent.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The text, or the template's rendered body.
    pub text: String,
    pub template: Option<TemplateMessage>,
}

impl Outgoing {
    /// How the answer says it goes: `text` or `template`.
    pub fn sent_as(&self) -> &'static str {
        if self.template.is_some() {
            "template"
        } else {
            "text"
        }
    }
}

/// Exactly one of `text` and `template`.
pub fn text_or_template(text: Option<&str>, template: bool) -> Result<(), ValidationError> {
    match (text.is_some(), template) {
        (true, false) | (false, true) => Ok(()),
        _ => Err(
            ValidationError::new("text", "give exactly one of text and template")
                .with_code("text_or_template"),
        ),
    }
}

/// Chats where WhatsApp's 24-hour rule holds: a Cloud API number writing to a person.
pub fn windowed(account: &Account, chat: &ChatJid) -> bool {
    account.provider == ProviderKind::WhatsappCloud && chat.server() == "s.whatsapp.net"
}

/// Checks a send to `chat` and says what goes out.
pub async fn check(
    s: &Services,
    account: &Account,
    chat: &ChatJid,
    content: Content<'_>,
) -> Result<Outgoing, AppError> {
    text_or_template(content.text, content.template.is_some())?;
    // An e-mail address has no conversation, but its opt-out is kept like a chat's; only the
    // relay phone's own notifications have no one to opt out.
    let stored = if chat.server() == NOTIFY_SERVER {
        None
    } else {
        s.store.get_chat(&account.id, chat).await?
    };
    consent::refuse_opted_out(stored.as_ref(), false)?;
    let (field, request) = match content.template {
        Some(template) => ("template", template),
        None => {
            // Present: `text_or_template` held.
            let text = content.text.unwrap_or_default();
            let open = stored
                .as_ref()
                .is_some_and(|c| c.service_window_open(s.clock.now()));
            match content.fallback_template {
                _ if open || !windowed(account, chat) => {
                    return Ok(Outgoing {
                        text: text.to_string(),
                        template: None,
                    });
                }
                Some(fallback) => ("fallback_template", fallback),
                None => {
                    return Err(AppError::OutsideWindow {
                        expires_at: stored.and_then(|c| c.service_window_expires_at()),
                    });
                }
            }
        }
    };
    let (found, checked) = templates::resolve(s, account, field, request).await?;
    consent::refuse_opted_out(stored.as_ref(), found.is_marketing())?;
    Ok(Outgoing {
        text: found.render(&checked),
        template: Some(checked),
    })
}
