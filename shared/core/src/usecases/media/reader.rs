//! One medium read for a reply: what it asks of the models, the cache, the day's budget, the
//! fetch (from the store, a URL or the provider) and the tries of a step that may mend.

use super::{CACHE_DAYS, PAUSES, inline_key};
use crate::domain::account::Account;
use crate::domain::ai_settings::{EffectiveAi, VisionMode};
use crate::domain::media::{Media, MediaError, MediaKind, MediaSource, is_viewable_image};
use crate::domain::message::Message;
use crate::error::AppError;
use crate::ports::{Fetched, Image, MediaFailure, Rate};
use crate::services::{Held, Services};
use crate::usecases::accounts;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio::time::timeout_at;

/// A medium read.
pub(super) struct Read {
    pub(super) model: Option<String>,
    pub(super) cached: bool,
    pub(super) image: Option<Image>,
    /// The room `image` takes, held until the reply's LLM call has sent it.
    pub(super) held: Option<Held>,
}

/// A medium not read: by choice (with the reason, when there is one to tell), or by failure.
pub(super) enum Unread {
    Skipped(Option<MediaError>),
    Failed(MediaError),
}

impl From<MediaError> for Unread {
    fn from(e: MediaError) -> Self {
        Unread::Failed(e)
    }
}

pub(super) struct Reader<'a> {
    pub(super) s: &'a Services,
    pub(super) account: &'a Account,
    pub(super) effective: &'a EffectiveAi,
    pub(super) message: &'a Message,
    pub(super) deadline: Instant,
    /// The room the reply holds already (its images for the chat model).
    pub(super) holding: &'a [Held],
}

/// What a medium asks of the models.
pub(super) enum Task {
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
    pub(super) async fn media(&self, media: &mut Media) -> Result<Result<Read, Unread>, AppError> {
        let e = self.effective;
        let task = match self.task(media) {
            Ok(task) => task,
            Err(unread) => return Ok(Err(unread)),
        };
        // No larger than the process's media memory takes: a medium above it would run above
        // the budget (on Lambda, half of the function's memory).
        let max_bytes =
            (u64::from(e.max_media_mb.value) * 1024 * 1024).min(self.s.media_memory.largest());
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
        // Room is held while the bytes are alive: fetched, hashed, sent on, and for an image the
        // chat model sees, until the reply is generated. Unknown sizes claim the most allowed;
        // waiting for room counts against the reply's time like the fetch itself.
        let expected = media.size_bytes.unwrap_or(max_bytes);
        let room = (self.s.media_memory).claim(expected, self.holding);
        let Ok(mut held) = timeout_at(self.deadline.into(), room).await else {
            let late = MediaError::DownloadFailed(String::new());
            return Ok(Err(Unread::Failed(late)));
        };
        let fetched = match self.fetch(media, max_bytes).await? {
            Ok(fetched) => fetched,
            Err(error) => return Ok(Err(Unread::Failed(error))),
        };
        held.shrink_to(fetched.bytes.len() as u64);
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
        let read = self.understand(media, fetched, task).await?;
        Ok(read.map(|read| Read {
            held: read.image.is_some().then_some(held),
            ..read
        }))
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
        let Some(text) = self.s.store.cached_text(&key, self.s.clock.now()).await? else {
            return Ok(None);
        };
        Ok(Some(task.keep(media, text, true)))
    }

    pub(super) async fn remember(
        &self,
        media: &Media,
        task: &Task,
        text: &str,
    ) -> Result<(), AppError> {
        if let Some(key) = Self::cache_key(media, task) {
            let expires = self.s.clock.now() + chrono::Duration::days(CACHE_DAYS);
            self.s.store.cache_text(&key, text, expires).await?;
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
    pub(super) async fn tries<T, F, Fut>(&self, what: &str, attempt: F) -> Result<T, MediaFailure>
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
}
