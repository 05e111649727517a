//! Telegram updates: the secret header checked in constant time, then `message`,
//! `edited_message` and `channel_post` mapped to core's inbound messages. An edit keeps its
//! message's id, so it is a duplicate; a bot's message is stored, never answered.

use chrono::DateTime;
use secrecy::ExposeSecret;
use serde_json::Value;
use subtle::ConstantTimeEq;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::inbound::{Inbound, Received};
use switchboard_core::domain::media::{Media, MediaKind, MediaSource, TelegramFile};
use switchboard_core::ports::{InboundError, ProviderAccount};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub fn verify(account: &ProviderAccount, header: Option<&str>) -> Result<(), InboundError> {
    let expected = account
        .config
        .secret("webhook_secret")
        .ok_or_else(|| InboundError::Unauthorized("the account has no webhook_secret".into()))?;
    let given = header.ok_or_else(|| {
        InboundError::Unauthorized("missing X-Telegram-Bot-Api-Secret-Token".into())
    })?;
    if bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
        Ok(())
    } else {
        Err(InboundError::Unauthorized(
            "X-Telegram-Bot-Api-Secret-Token does not match".into(),
        ))
    }
}

/// The bot's own id and username, learned by `connect`: what a mention or a reply names.
pub struct Bot<'a> {
    pub id: Option<&'a str>,
    pub username: Option<&'a str>,
}

pub fn parse(bot: &Bot<'_>, body: &[u8]) -> Result<Received, InboundError> {
    let update: Value = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not JSON: {e}")))?;
    let mut received = Received::default();
    for kind in ["message", "edited_message", "channel_post"] {
        let m = &update[kind];
        if m.is_object()
            && let Some(inbound) = message(bot, m)
        {
            received.messages.push(inbound);
        }
    }
    Ok(received)
}

/// `<chat.id>@telegram`, `<chat.id>@telegram.group` or `<chat.id>@telegram.channel`.
fn chat_of(chat: &Value) -> Option<ChatJid> {
    let id = chat["id"].as_i64()?;
    let server = match chat["type"].as_str()? {
        "private" => "telegram",
        "group" | "supergroup" => "telegram.group",
        "channel" => "telegram.channel",
        _ => return None,
    };
    ChatJid::parse(&format!("{id}@{server}")).ok()
}

fn message(bot: &Bot<'_>, m: &Value) -> Option<Inbound> {
    let chat = &m["chat"];
    let chat_id = chat_of(chat)?;
    let chat_number = chat["id"].as_i64()?;
    let id = m["message_id"].as_i64()?;
    let from = &m["from"];
    let sender = from["id"]
        .as_i64()
        .or_else(|| m["sender_chat"]["id"].as_i64())
        .unwrap_or(chat_number);
    let name = [from["first_name"].as_str(), from["last_name"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let text = m["text"]
        .as_str()
        .or(m["caption"].as_str())
        .map(str::to_string);
    let reply = &m["reply_to_message"];
    let replies_to_bot = bot.id.is_some()
        && reply["from"]["id"]
            .as_i64()
            .map(|i| i.to_string())
            .as_deref()
            == bot.id;
    Some(Inbound {
        message_id: format!("{chat_number}:{id}"),
        chat_id,
        from: sender.to_string(),
        from_me: false,
        mentions_me: replies_to_bot || mentions(bot, m),
        text,
        timestamp: m["date"]
            .as_i64()
            .and_then(|d| DateTime::from_timestamp(d, 0)),
        push_name: Some(name).filter(|n| !n.is_empty()),
        reply_to_message_id: reply["message_id"]
            .as_i64()
            .map(|r| format!("{chat_number}:{r}")),
        from_bot: from["is_bot"].as_bool().unwrap_or(false),
        media: media(m),
        inline_media: None,
    })
}

/// The medium of a message: `voice`, `audio`, `video_note`, `photo` (its sizes, smallest
/// first), `document`, `video` or `sticker`, fetched with `getFile` when the AI needs it.
fn media(m: &Value) -> Option<Media> {
    let file = |v: &Value| {
        Some(TelegramFile {
            file_id: v["file_id"].as_str()?.to_string(),
            file_unique_id: v["file_unique_id"].as_str()?.to_string(),
            size: v["file_size"].as_u64(),
        })
    };
    let (kind, object, default_mime) = if m["voice"].is_object() {
        (MediaKind::Audio, &m["voice"], "audio/ogg")
    } else if m["audio"].is_object() {
        (MediaKind::Audio, &m["audio"], "audio/mpeg")
    } else if m["video_note"].is_object() {
        (MediaKind::Video, &m["video_note"], "video/mp4")
    } else if m["video"].is_object() {
        (MediaKind::Video, &m["video"], "video/mp4")
    } else if m["sticker"].is_object() {
        (MediaKind::Sticker, &m["sticker"], "image/webp")
    } else if m["document"].is_object() {
        (
            MediaKind::Document,
            &m["document"],
            "application/octet-stream",
        )
    } else if let Some(sizes) = m["photo"].as_array() {
        let mut files: Vec<TelegramFile> = sizes.iter().filter_map(file).collect();
        files.sort_by_key(|f| f.size.unwrap_or(0));
        files.last()?;
        // The size fetched is chosen then, within the limit in force: none is told yet.
        return Some(Media::received(
            MediaKind::Image,
            "image/jpeg",
            MediaSource::Telegram { files },
        ));
    } else {
        return None;
    };
    let one = file(object)?;
    let mime = object["mime_type"]
        .as_str()
        .unwrap_or(default_mime)
        .to_string();
    let mut media = Media::received(
        kind,
        mime,
        MediaSource::Telegram {
            files: vec![one.clone()],
        },
    );
    media.size_bytes = one.size;
    media.duration_seconds = object["duration"]
        .as_u64()
        .and_then(|d| u32::try_from(d).ok());
    media.filename = object["file_name"].as_str().map(str::to_string);
    media.voice = m["voice"].is_object();
    Some(media)
}

/// An entity names the bot: `@username` (its offsets count UTF-16 code units), or a text
/// mention of its id.
fn mentions(bot: &Bot<'_>, m: &Value) -> bool {
    let (text, entities) = if m["text"].is_string() {
        (m["text"].as_str(), &m["entities"])
    } else {
        (m["caption"].as_str(), &m["caption_entities"])
    };
    let units: Vec<u16> = text.unwrap_or_default().encode_utf16().collect();
    entities
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| match e["type"].as_str() {
            Some("mention") => {
                let (Some(offset), Some(length)) = (e["offset"].as_u64(), e["length"].as_u64())
                else {
                    return false;
                };
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let end = start.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
                let Some(slice) = units.get(start..end) else {
                    return false;
                };
                let named = String::from_utf16_lossy(slice);
                bot.username.is_some_and(|u| {
                    named
                        .trim_start_matches('@')
                        .eq_ignore_ascii_case(u.trim_start_matches('@'))
                })
            }
            Some("text_mention") => {
                let user = e["user"]["id"].as_i64().map(|i| i.to_string());
                bot.id.is_some() && user.as_deref() == bot.id
            }
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BOT: Bot<'static> = Bot {
        id: Some("7000000001"),
        username: Some("shop_bot"),
    };

    fn mention(offset: u64, length: u64) -> Value {
        json!({"text": "@shop_bot where is my order?",
               "entities": [{"type": "mention", "offset": offset, "length": length}]})
    }

    #[test]
    fn a_mention_is_read_from_its_utf16_range_and_one_out_of_range_is_none() {
        assert!(mentions(&BOT, &mention(0, 9)));
        assert!(!mentions(&BOT, &mention(10, 5)), "another word");
        assert!(!mentions(&BOT, &mention(20, 40)), "past the end");
        assert!(!mentions(&BOT, &mention(u64::MAX, u64::MAX)), "no overflow");
    }
}
