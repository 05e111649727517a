//! Understanding the media of the messages a reply answers: run by the reply job after the
//! rules said yes, before the LLM call. Each medium is read from the cache, or fetched (bounded
//! in size, a few at once per process), transcribed or described (`models.rs`), and the result
//! kept on the message; the bytes are dropped when the job is done with them (`reader.rs`).

mod models;
mod reader;

use crate::domain::account::Account;
use crate::domain::ai_settings::EffectiveAi;
use crate::domain::event::EventType;
use crate::domain::ids::MessageId;
use crate::domain::media::{Media, MediaProcessed, MediaSource, MediaStatus, MediaUse};
use crate::domain::message::Message;
use crate::error::AppError;
use crate::ports::Image;
use crate::services::{Held, Services};
use crate::usecases::events;
use reader::{Reader, Unread};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a transcript or description stays cached: a forwarded voice note comes back
/// within days, not months.
const CACHE_DAYS: i64 = 30;

/// How long inline bytes wait for their reply job before the store drops them anyway.
pub const INLINE_HOURS: i64 = 24;

/// The pauses before a second and a third try of a fetch or a transcription that failed in a
/// way another try may mend (5xx, timeouts).
const PAUSES: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];

/// The prompt that turns an image into the description the conversation reads.
const DESCRIBE_PROMPT: &str = "Describe this image for someone who cannot see it, in two or three sentences: what it shows, and any text in it, word for word.";

/// What the job read of the media it answers.
#[derive(Debug, Default)]
pub struct Understanding {
    /// Images the chat model sees with their message (`native` mode, this burst only).
    pub images: HashMap<MessageId, Vec<Image>>,
    /// The media memory `images` take, given back when the reply is done with them.
    pub held: Vec<Held>,
    /// One row per medium, for the AI log.
    pub uses: Vec<MediaUse>,
    /// The errors, by their contract names, for the AI log row's `reason`.
    pub errors: Vec<String>,
}

impl Understanding {
    pub fn reason(&self) -> Option<String> {
        (!self.errors.is_empty()).then(|| self.errors.join("; "))
    }
}

/// The messages of the burst being answered (the inbound ones since the account last wrote,
/// newest first in `history`) whose media is still pending.
fn pending(history: &[Message]) -> impl Iterator<Item = &Message> {
    history.iter().take_while(|m| !m.from_me).filter(|m| {
        m.media
            .as_ref()
            .is_some_and(|x| x.status == MediaStatus::Pending)
    })
}

/// Whether the burst has media to read: the reply's claim must then cover that time too.
pub fn has_pending(history: &[Message]) -> bool {
    pending(history).next().is_some()
}

/// Reads the pending media of the burst, within the reply's `timeout_seconds`, and writes
/// what came of each back into `history` (and the store), so the conversation is built from it.
pub async fn understand(
    s: &Services,
    account: &Account,
    effective: &EffectiveAi,
    history: &mut [Message],
) -> Result<Understanding, AppError> {
    let mut out = Understanding::default();
    let deadline = Instant::now() + Duration::from_secs(u64::from(effective.timeout_seconds.value));
    let ids: Vec<MessageId> = pending(history).map(|m| m.id.clone()).collect();
    for id in ids {
        let Some(message) = history.iter_mut().find(|m| m.id == id) else {
            continue;
        };
        let Some(mut media) = message.media.clone() else {
            continue;
        };
        let began = Instant::now();
        let read = Reader {
            s,
            account,
            effective,
            message,
            deadline,
            holding: &out.held,
        };
        let outcome = read.media(&mut media).await?;
        let (status, model, cached, image) = match outcome {
            Ok(read) => {
                out.held.extend(read.held);
                (MediaStatus::Ready, read.model, read.cached, read.image)
            }
            Err(Unread::Skipped(error)) => {
                media.error = error.map(|e| e.to_string());
                (MediaStatus::Skipped, None, false, None)
            }
            Err(Unread::Failed(error)) => {
                media.error = Some(error.to_string());
                (MediaStatus::Failed, None, false, None)
            }
        };
        media.status = status;
        if let Some(error) = &media.error {
            out.errors.push(error.clone());
        }
        if let Some(image) = image {
            out.images.entry(id.clone()).or_default().push(image);
        }
        out.uses.push(MediaUse {
            message_id: id.clone(),
            kind: media.kind,
            model,
            cached,
            latency_ms: began.elapsed().as_millis() as u64,
            status,
        });
        keep(s, message, media).await?;
    }
    Ok(out)
}

/// Writes what came of a medium on its message, tells subscribers, and drops inline bytes.
async fn keep(s: &Services, message: &mut Message, media: Media) -> Result<(), AppError> {
    s.store
        .set_media(
            &message.account_id,
            &message.chat_id,
            &message.id,
            &media,
            s.clock.now(),
        )
        .await?;
    if media.source == MediaSource::Inline {
        forget_inline(s, message).await?;
    }
    let processed = MediaProcessed {
        message_id: message.id.clone(),
        chat_id: message.chat_id.clone(),
        kind: media.kind,
        status: media.status,
        transcript: media.transcript.clone(),
        error: media.error.clone(),
    };
    let event = events::new_event(
        s,
        EventType::MessageMediaProcessed,
        Some(&message.account_id),
        processed,
    );
    crate::jobs::enqueue(s, [crate::jobs::Job::Event(event).now()]).await?;
    message.media = Some(media);
    Ok(())
}

/// The key a message's inline bytes are kept under: the sender's id of the message, so a
/// redelivery of the same message finds the same bytes.
pub fn inline_key(message: &Message) -> String {
    format!(
        "{}/{}",
        message.account_id,
        message
            .provider_message_id
            .as_deref()
            .unwrap_or(message.id.as_str())
    )
}

/// Drops a message's inline bytes: read, or never to be read (the rules said no).
pub async fn forget_inline(s: &Services, message: &Message) -> Result<(), AppError> {
    let inline = message
        .media
        .as_ref()
        .is_some_and(|m| m.source == MediaSource::Inline);
    if inline {
        s.store.forget_inline_media(&inline_key(message)).await?;
    }
    Ok(())
}
