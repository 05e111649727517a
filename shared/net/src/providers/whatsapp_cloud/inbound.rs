//! WhatsApp Cloud API notifications: `X-Hub-Signature-256` checked over the raw bytes, in
//! constant time, before anything is parsed; then every `entry[] × changes[] × messages[] /
//! statuses[]`, leniently (Meta's payloads are not ours to reject: unknown fields and types
//! are passed over, never refused).

use chrono::DateTime;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::inbound::{Inbound, MarketingPreference, Received, StatusReport};
use switchboard_core::domain::media::{Media, MediaKind, MediaSource};
use switchboard_core::domain::message::MessageStatus;
use switchboard_core::ports::{InboundError, ProviderAccount};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Checks `sha256=<hex>` against HMAC-SHA256(app secret, body).
pub fn verify(
    account: &ProviderAccount,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), InboundError> {
    let secret = account
        .config
        .secret("app_secret")
        .ok_or_else(|| InboundError::Unauthorized("the account has no app_secret".into()))?;
    let given = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .ok_or_else(|| InboundError::Unauthorized("missing X-Hub-Signature-256".into()))?;
    let given = hex::decode(given)
        .map_err(|_| InboundError::Unauthorized("X-Hub-Signature-256 is not hex".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| InboundError::Unauthorized("unusable app_secret".into()))?;
    mac.update(body);
    // Constant time: `verify_slice` compares without an early exit.
    mac.verify_slice(&given)
        .map_err(|_| InboundError::Unauthorized("X-Hub-Signature-256 does not match".into()))
}

/// Meta's handshake: `hub.mode=subscribe` and the account's verify token, compared in constant
/// time, answer the challenge as sent.
pub fn handshake(
    account: &ProviderAccount,
    query: &[(String, String)],
) -> Result<String, InboundError> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let refused = |why: &str| Err(InboundError::Unauthorized(why.into()));
    if param("hub.mode") != Some("subscribe") {
        return refused("hub.mode is not subscribe");
    }
    let Some(expected) = account.config.secret("verify_token") else {
        return refused("the account has no verify_token");
    };
    let given = param("hub.verify_token").unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
        return refused("hub.verify_token does not match");
    }
    match param("hub.challenge") {
        Some(challenge) => Ok(challenge.to_string()),
        None => refused("no hub.challenge"),
    }
}

/// Every message and status of a notification for this account's number. Changes for another
/// number (one app may carry several) are passed over.
pub fn parse(phone_number_id: Option<&str>, body: &[u8]) -> Result<Received, InboundError> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not JSON: {e}")))?;
    let mut received = Received::default();
    for entry in array(&root, "entry") {
        for change in array(entry, "changes") {
            let value = &change["value"];
            let number = value["metadata"]["phone_number_id"].as_str();
            if let (Some(ours), Some(theirs)) = (phone_number_id, number)
                && ours != theirs
            {
                tracing::warn!(
                    number = theirs,
                    "a notification for another number; passed over"
                );
                continue;
            }
            for m in array(value, "messages") {
                match message(value, m) {
                    Some(inbound) => received.messages.push(inbound),
                    None => {
                        tracing::warn!(message = %m["id"], "a message without a usable sender; passed over")
                    }
                }
            }
            for st in array(value, "statuses") {
                if let Some(report) = status(st) {
                    received.statuses.push(report);
                }
            }
            for p in array(value, "user_preferences") {
                if let Some(preference) = preference(p) {
                    received.preferences.push(preference);
                }
            }
            for error in array(value, "errors") {
                tracing::warn!(code = %error["code"], title = %error["title"], "WhatsApp reported an error");
            }
        }
    }
    Ok(received)
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v[key].as_array().into_iter().flatten()
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// One message as core's inbound: private chats by the sender's number, groups by their id.
fn message(value: &Value, m: &Value) -> Option<Inbound> {
    let id = text_of(m, "id")?;
    let from = text_of(m, "from")?;
    let chat = match m["group_id"].as_str() {
        Some(group) => format!("{group}@g.us"),
        None => format!("{from}@s.whatsapp.net"),
    };
    let chat_id = ChatJid::parse(&chat).ok()?;
    let push_name = array(value, "contacts")
        .find(|c| c["wa_id"].as_str() == Some(from.as_str()))
        .and_then(|c| text_of(&c["profile"], "name"));
    let timestamp = m["timestamp"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0));
    Some(Inbound {
        message_id: id,
        chat_id,
        from,
        from_me: false,
        text: text(m),
        timestamp,
        push_name,
        mentions_me: false,
        reply_to_message_id: text_of(&m["context"], "id"),
        from_bot: false,
        media: media(m),
        inline_media: None,
    })
}

/// The medium of an `audio`, `image`, `video`, `document` or `sticker` message: its media id,
/// asked of the Graph API for the bytes when the AI needs them.
fn media(m: &Value) -> Option<Media> {
    let kind = MediaKind::parse(m["type"].as_str()?)?;
    let object = &m[kind.as_str()];
    let source = MediaSource::Whatsapp {
        media_id: text_of(object, "id")?,
    };
    let mime_type =
        text_of(object, "mime_type").unwrap_or_else(|| "application/octet-stream".into());
    let mut media = Media::received(kind, mime_type, source);
    media.sha256 = text_of(object, "sha256");
    media.filename = text_of(object, "filename");
    media.voice = object["voice"].as_bool().unwrap_or(false);
    Some(media)
}

/// The text a message carries: a text's body, a media caption, the title of a button or list
/// reply, a template button's text. Anything else (a reaction, media without a caption) has
/// none: it is stored, never answered.
fn text(m: &Value) -> Option<String> {
    let kind = m["type"].as_str().unwrap_or_default();
    match kind {
        "text" => text_of(&m["text"], "body"),
        "image" | "video" | "document" | "audio" | "sticker" => text_of(&m[kind], "caption"),
        "interactive" => {
            let i = &m["interactive"];
            text_of(&i["button_reply"], "title").or_else(|| text_of(&i["list_reply"], "title"))
        }
        "button" => text_of(&m["button"], "text"),
        _ => None,
    }
}

/// A contact's marketing choice (`user_preferences`): `stop` or `resume` of
/// `marketing_messages`; anything else is passed over.
fn preference(p: &Value) -> Option<MarketingPreference> {
    if p["category"].as_str() != Some("marketing_messages") {
        return None;
    }
    let stopped = match p["value"].as_str()? {
        "stop" => true,
        "resume" => false,
        _ => return None,
    };
    let chat_id = ChatJid::parse(&format!("{}@s.whatsapp.net", p["wa_id"].as_str()?)).ok()?;
    Some(MarketingPreference { chat_id, stopped })
}

/// One status report; an unknown status is passed over.
fn status(st: &Value) -> Option<StatusReport> {
    let status = match st["status"].as_str()? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    let code = array(st, "errors")
        .next()
        .and_then(|e| e["code"].as_i64())
        .and_then(super::named);
    let error = array(st, "errors").next().map(|e| {
        let code = e["code"].as_i64().unwrap_or_default();
        super::reason(code).map_or_else(
            || {
                let title = e["title"]
                    .as_str()
                    .or(e["message"].as_str())
                    .unwrap_or("failed");
                match e["error_data"]["details"].as_str() {
                    Some(details) => format!("{title}: {details} ({code})"),
                    None => format!("{title} ({code})"),
                }
            },
            str::to_string,
        )
    });
    Some(StatusReport {
        provider_message_id: text_of(st, "id")?,
        status,
        error: error.or_else(|| (status == MessageStatus::Failed).then(|| "failed".to_string())),
        code,
    })
}
