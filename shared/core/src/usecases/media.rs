//! Understanding the media of the messages a reply answers: run by the reply job after the
//! rules said yes, before the LLM call. Each medium is read from the cache, or fetched (bounded
//! in size, a few at once per process), transcribed or described, and the result kept on the
//! message; the bytes are dropped when the job is done with them.

use crate::domain::account::Account;
use crate::domain::ai_settings::{EffectiveAi, VisionMode};
use crate::domain::event::EventType;
use crate::domain::ids::MessageId;
use crate::domain::media::{
    Media, MediaError, MediaKind, MediaProcessed, MediaSource, MediaStatus, MediaUse,
    is_viewable_image,
};
use crate::domain::message::Message;
use crate::error::AppError;
use crate::ports::{
    ChatMessage, CompletionRequest, Fetched, Image, LlmError, MediaFailure, Rate, Role,
    TranscriptionRequest,
};
use crate::services::Services;
use crate::usecases::generate::open_secret;
use crate::usecases::{accounts, events};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::time::timeout_at;

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
        };
        let outcome = read.media(&mut media).await?;
        let (status, model, cached, image) = match outcome {
            Ok(read) => (MediaStatus::Ready, read.model, read.cached, read.image),
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
        .set_media(&message.account_id, &message.chat_id, &message.id, &media)
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

/// A medium read.
struct Read {
    model: Option<String>,
    cached: bool,
    image: Option<Image>,
}

/// A medium not read: by choice (with the reason, when there is one to tell), or by failure.
enum Unread {
    Skipped(Option<MediaError>),
    Failed(MediaError),
}

impl From<MediaError> for Unread {
    fn from(e: MediaError) -> Self {
        Unread::Failed(e)
    }
}

struct Reader<'a> {
    s: &'a Services,
    account: &'a Account,
    effective: &'a EffectiveAi,
    message: &'a Message,
    deadline: Instant,
}

/// What a medium asks of the models.
enum Task {
    Transcribe {
        model: String,
    },
    Describe {
        model: String,
    },
    /// Inline it for the chat model.
    Show,
}

impl Reader<'_> {
    async fn media(&self, media: &mut Media) -> Result<Result<Read, Unread>, AppError> {
        let e = self.effective;
        let task = match self.task(media) {
            Ok(task) => task,
            Err(unread) => return Ok(Err(unread)),
        };
        let max_bytes = u64::from(e.max_media_mb.value) * 1024 * 1024;
        if media.size_bytes.is_some_and(|n| n > max_bytes)
            || (media.kind == MediaKind::Audio
                && media
                    .duration_seconds
                    .is_some_and(|d| d > e.max_audio_seconds.value))
        {
            return Ok(Err(Unread::Failed(MediaError::TooLarge)));
        }
        if let Some(hit) = self.cached(media, &task).await? {
            return Ok(Ok(hit));
        }
        if let Err(unread) = self.within_budget().await? {
            return Ok(Err(unread));
        }
        // The slot is held while the bytes are: fetched, hashed, sent on.
        let _slot = self.s.media_slots.acquire().await;
        let fetched = match self.fetch(media, max_bytes).await? {
            Ok(fetched) => fetched,
            Err(error) => return Ok(Err(Unread::Failed(error))),
        };
        if media.sha256.is_none() {
            media.sha256 = Some(hex::encode(Sha256::digest(&fetched.bytes)));
            if let Some(hit) = self.cached(media, &task).await? {
                return Ok(Ok(hit));
            }
        }
        media.size_bytes = Some(fetched.bytes.len() as u64);
        if media.kind == MediaKind::Image && !is_viewable_image(&media.mime_type) {
            let given = fetched.mime_type.as_deref().unwrap_or_default();
            if !is_viewable_image(given) {
                return Ok(Err(Unread::Failed(MediaError::UnsupportedType)));
            }
            media.mime_type = given.to_string();
        }
        self.understand(media, fetched, task).await
    }

    /// What to do with a medium, or why nothing is done.
    fn task(&self, media: &Media) -> Result<Task, Unread> {
        let e = self.effective;
        if !e.media_understanding.value || e.echo_mode.value {
            return Err(Unread::Skipped(None));
        }
        if e.media_per_chat_per_day.value == 0 {
            return Err(Unread::Skipped(Some(MediaError::BudgetExceeded)));
        }
        match (media.kind, e.vision_mode.value) {
            (MediaKind::Audio, _) => Ok(Task::Transcribe {
                model: e.transcription_model.value.clone(),
            }),
            (MediaKind::Image, VisionMode::Native) => Ok(Task::Show),
            (MediaKind::Image, VisionMode::Describe) => Ok(Task::Describe {
                model: e.vision_model.value.clone(),
            }),
            (MediaKind::Image, VisionMode::Off) => Err(Unread::Skipped(None)),
            // Video, documents and stickers are named, not read.
            _ => Err(Unread::Skipped(None)),
        }
    }

    fn cache_key(media: &Media, task: &Task) -> Option<String> {
        let (kind, model) = match task {
            Task::Transcribe { model } => ("transcript", model),
            Task::Describe { model } => ("description", model),
            Task::Show => return None,
        };
        Some(format!("{kind}|{}|{model}", media.content_id()?))
    }

    async fn cached(&self, media: &mut Media, task: &Task) -> Result<Option<Read>, AppError> {
        let Some(key) = Self::cache_key(media, task) else {
            return Ok(None);
        };
        let Some(text) = self
            .s
            .store
            .cached_reading(&key, self.s.clock.now())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(task.keep(media, text, true)))
    }

    async fn remember(&self, media: &Media, task: &Task, text: &str) -> Result<(), AppError> {
        if let Some(key) = Self::cache_key(media, task) {
            let expires = self.s.clock.now() + chrono::Duration::days(CACHE_DAYS);
            self.s.store.cache_reading(&key, text, expires).await?;
        }
        Ok(())
    }

    /// One more medium of the chat's day, or `media_budget_exceeded`: a pace of the day's
    /// number over 24 hours, as the stores keep every pace.
    async fn within_budget(&self) -> Result<Result<(), Unread>, AppError> {
        let per_day = self.effective.media_per_chat_per_day.value;
        let rate = Rate {
            count: per_day,
            per: Duration::from_secs(24 * 3600),
        };
        let key = format!("media:{}:{}", self.message.account_id, self.message.chat_id);
        Ok(
            match self
                .s
                .store
                .take_rate(&key, rate, self.s.clock.now())
                .await?
            {
                None => Ok(()),
                Some(_) => Err(Unread::Skipped(Some(MediaError::BudgetExceeded))),
            },
        )
    }

    async fn fetch(
        &self,
        media: &Media,
        limit: u64,
    ) -> Result<Result<Fetched, MediaError>, AppError> {
        if media.source == MediaSource::Inline {
            let bytes = self.s.store.inline_media(&inline_key(self.message)).await?;
            return Ok(match bytes {
                Some(bytes) if bytes.len() as u64 > limit => Err(MediaError::TooLarge),
                Some(bytes) => Ok(Fetched {
                    bytes,
                    mime_type: None,
                }),
                // Read by an earlier run, which then forgot it; or past its time.
                None => Err(MediaError::Expired),
            });
        }
        let opened = match &media.source {
            MediaSource::Url { .. } => None,
            _ => Some(accounts::open(self.s, self.account).await?),
        };
        let provider = self.s.network.providers.get(self.account.provider);
        let fetched = self
            .tries("fetch", || async {
                match (&media.source, &opened, &provider) {
                    (MediaSource::Url { url }, _, _) => {
                        self.s.network.downloads.fetch(url, limit).await
                    }
                    (source, Some(opened), Ok(provider)) => {
                        provider.fetch_media(opened, source, limit).await
                    }
                    (_, _, _) => Err(MediaFailure::final_(
                        MediaError::DownloadFailed(String::new()),
                        "the account's provider is not available",
                    )),
                }
            })
            .await;
        Ok(fetched.map_err(|f| f.error))
    }

    /// Tries `attempt` up to three times while the failures are transient and time is left.
    async fn tries<T, F, Fut>(&self, what: &str, attempt: F) -> Result<T, MediaFailure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, MediaFailure>>,
    {
        let mut pauses = PAUSES.iter();
        loop {
            let left = timeout_at(self.deadline.into(), attempt()).await;
            let failure = match left {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(failure)) => failure,
                Err(_) => {
                    return Err(MediaFailure::final_(
                        MediaError::DownloadFailed(String::new()),
                        "out of time",
                    ));
                }
            };
            tracing::warn!(
                message = %self.message.id, what, error = %failure.error, detail = %failure.detail,
                transient = failure.transient, "media"
            );
            let Some(pause) = pauses.next().filter(|_| failure.transient) else {
                return Err(failure);
            };
            if Instant::now() + *pause >= self.deadline {
                return Err(failure);
            }
            tokio::time::sleep(*pause).await;
        }
    }

    /// Hears or sees a medium; what was read is kept on it and in the cache.
    async fn understand(
        &self,
        media: &mut Media,
        fetched: Fetched,
        task: Task,
    ) -> Result<Result<Read, Unread>, AppError> {
        let outcome = match &task {
            Task::Show => {
                return Ok(Ok(Read {
                    model: Some(self.effective.model_name.value.clone()),
                    cached: false,
                    image: Some(data_url(&media.mime_type, &fetched.bytes)),
                }));
            }
            Task::Transcribe { model } => self.transcribe(media, fetched, model).await?,
            Task::Describe { model } => self.describe(media, fetched, model).await?,
        };
        Ok(match outcome {
            Ok(text) => {
                self.remember(media, &task, &text).await?;
                Ok(task.keep(media, text, false))
            }
            Err(failure) => Err(Unread::Failed(failure.error)),
        })
    }

    async fn transcribe(
        &self,
        media: &Media,
        fetched: Fetched,
        model: &str,
    ) -> Result<Result<String, MediaFailure>, AppError> {
        let e = self.effective;
        let api_key = open_secret(self.s, &e.transcription_api_key.value).await?;
        let request = TranscriptionRequest {
            base_url: e.transcription_base_url.value.clone(),
            api_key,
            model: model.to_string(),
            file_name: media.upload_name(),
            mime_type: media.mime_type.clone(),
            bytes: fetched.bytes.into(),
            timeout: Duration::ZERO,
        };
        let llm = &self.s.network.llm;
        Ok(self
            .tries("transcription", || async {
                let mut request = request.clone();
                request.timeout = self.left();
                let heard = llm.transcribe(request).await;
                heard.map_err(|e| transcription_failure(&e))
            })
            .await)
    }

    async fn describe(
        &self,
        media: &Media,
        fetched: Fetched,
        model: &str,
    ) -> Result<Result<String, MediaFailure>, AppError> {
        let e = self.effective;
        let api_key = open_secret(self.s, &e.api_key.value).await?;
        let mut ask = ChatMessage::text(Role::User, DESCRIBE_PROMPT);
        ask.images.push(data_url(&media.mime_type, &fetched.bytes));
        drop(fetched);
        let request = CompletionRequest {
            base_url: e.base_url.value.clone(),
            api_key,
            model: model.to_string(),
            messages: vec![ask],
            temperature: 0.2,
            max_tokens: 300,
            response_format: None,
            timeout: Duration::ZERO,
        };
        let llm = &self.s.network.llm;
        Ok(self
            .tries("description", || async {
                let mut request = request.clone();
                request.timeout = self.left();
                let seen = llm.complete(request).await;
                seen.map(|c| c.text).map_err(|e| vision_failure(&e))
            })
            .await)
    }

    /// What is left of the reply's time for media.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

impl Task {
    /// Keeps what was read on the medium (a transcript, or a description), as read now or
    /// from the cache.
    fn keep(&self, media: &mut Media, text: String, cached: bool) -> Read {
        let model = match self {
            Task::Transcribe { model } => {
                media.transcript = Some(text);
                Some(model.clone())
            }
            Task::Describe { model } => {
                media.description = Some(text);
                Some(model.clone())
            }
            Task::Show => None,
        };
        Read {
            model,
            cached,
            image: None,
        }
    }
}

fn data_url(mime_type: &str, bytes: &[u8]) -> Image {
    let essence = mime_type.split(';').next().unwrap_or(mime_type).trim();
    Image {
        data_url: format!(
            "data:{essence};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
        .into(),
    }
}

/// 5xx, timeouts and unreachable endpoints may mend; a 4xx will not.
fn transient(e: &LlmError) -> bool {
    matches!(
        e,
        LlmError::Server { .. } | LlmError::Timeout(_) | LlmError::Connect(_)
    )
}

fn transcription_failure(e: &LlmError) -> MediaFailure {
    let words = match e {
        LlmError::Client { status, detail } | LlmError::Server { status, detail } => {
            format!("HTTP {status}: {detail}")
        }
        other => other.to_string(),
    };
    MediaFailure {
        error: MediaError::TranscriptionFailed(words),
        transient: transient(e),
        detail: e.to_string(),
    }
}

fn vision_failure(e: &LlmError) -> MediaFailure {
    MediaFailure {
        error: MediaError::VisionUnsupported,
        transient: transient(e),
        detail: e.to_string(),
    }
}
