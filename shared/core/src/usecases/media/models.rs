//! What the models make of a medium: a transcript from the speech-to-text endpoint, a
//! description from the vision model, or the image itself for the chat model; each step tried
//! again while it may mend and time is left.

use super::DESCRIBE_PROMPT;
use super::reader::{Read, Reader, Task, Unread};
use crate::domain::media::{Media, MediaError};
use crate::error::AppError;
use crate::ports::{
    ChatMessage, CompletionRequest, Fetched, Image, LlmError, MediaFailure, Role,
    TranscriptionRequest,
};
use crate::usecases::generate::open_secret;
use base64::Engine;
use std::time::{Duration, Instant};

impl Reader<'_> {
    /// Hears or sees a medium; what was read is kept on it and in the cache.
    pub(super) async fn understand(
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
                    held: None,
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
    pub(super) fn keep(&self, media: &mut Media, text: String, cached: bool) -> Read {
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
            held: None,
        }
    }
}

pub(super) fn data_url(mime_type: &str, bytes: &[u8]) -> Image {
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
