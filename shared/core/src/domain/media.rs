//! Media a customer sent (voice notes, photos, documents): what is known of them, where their
//! bytes can be fetched, and what the AI made of them. The bytes themselves pass through the
//! reply job and are never kept: only the text derived from them, their hash and metadata.

use super::chat::ChatJid;
use super::ids::MessageId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Image,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Audio,
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Document,
        MediaKind::Sticker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// Not looked at yet.
    Pending,
    /// Understood: `transcript` or `description` says what the AI read.
    Ready,
    /// Not understood, by choice: a kind the AI does not read, understanding off, the budget.
    Skipped,
    /// Understanding was tried and failed: `error` names why.
    Failed,
}

/// One file of a Telegram message: a photo comes in several sizes, smallest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramFile {
    pub file_id: String,
    /// The same for the same file, over time and for every bot: a cache key.
    pub file_unique_id: String,
    pub size: Option<u64>,
}

/// Where a medium's bytes can be fetched when the reply job needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum MediaSource {
    /// WhatsApp Cloud: the media id, asked of the Graph API for a short-lived URL.
    Whatsapp { media_id: String },
    /// Telegram: `getFile` for each size, smallest first.
    Telegram { files: Vec<TelegramFile> },
    /// A bridge or relay phone's URL, fetched through the URL guard.
    Url { url: String },
    /// Sent inline (`data_base64`): the store keeps the bytes until the reply job reads them.
    Inline,
}

/// A message's medium, as stored (with where its bytes are) and, without that, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub kind: MediaKind,
    pub mime_type: String,
    pub size_bytes: Option<u64>,
    /// The provider's, or computed from the bytes once fetched.
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub duration_seconds: Option<u32>,
    /// A voice note (recorded in the chat), not an audio file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub voice: bool,
    pub status: MediaStatus,
    pub error: Option<String>,
    pub transcript: Option<String>,
    pub description: Option<String>,
    pub source: MediaSource,
}

impl Media {
    /// A medium just received: nothing understood yet.
    pub fn received(kind: MediaKind, mime_type: impl Into<String>, source: MediaSource) -> Self {
        Self {
            kind,
            mime_type: mime_type.into(),
            size_bytes: None,
            sha256: None,
            filename: None,
            duration_seconds: None,
            voice: false,
            status: MediaStatus::Pending,
            error: None,
            transcript: None,
            description: None,
            source,
        }
    }

    /// What identifies the content for the cache, known before the bytes where the provider
    /// tells it (Telegram's unique file id, WhatsApp's hash), else the hash of the bytes once
    /// fetched. It does not change once known, so a reading is found under the key it was
    /// kept under.
    pub fn content_id(&self) -> Option<String> {
        match (&self.source, &self.sha256) {
            (MediaSource::Telegram { files }, _) => files
                .last()
                .map(|f| format!("telegram:{}", f.file_unique_id)),
            (_, Some(sha)) => Some(format!("sha256:{sha}")),
            (_, None) => None,
        }
    }

    /// The file name a transcription endpoint reads the format from: `voice.ogg` for Opus.
    pub fn upload_name(&self) -> String {
        let base = if self.voice {
            "voice"
        } else {
            self.kind.as_str()
        };
        format!("{base}.{}", extension(&self.mime_type))
    }

    /// How the conversation names it when nothing was understood: `[voice note]`,
    /// `[document: invoice.pdf]`.
    pub fn label(&self) -> String {
        let name = match self.kind {
            MediaKind::Audio if self.voice => "voice note",
            other => other.as_str(),
        };
        match (&self.filename, self.kind) {
            (Some(file), MediaKind::Document | MediaKind::Video) => format!("{name}: {file}"),
            _ => name.to_string(),
        }
    }
}

/// The extension an OpenAI-compatible endpoint expects for a MIME type (it reads the format
/// from the file name, so Ogg/Opus goes as `.ogg` and needs no conversion).
pub fn extension(mime_type: &str) -> &'static str {
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    match essence.to_ascii_lowercase().as_str() {
        "audio/ogg" | "audio/opus" | "application/ogg" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/webm" | "video/webm" => "webm",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/amr" => "amr",
        "video/mp4" => "mp4",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// Whether the chat models that take images take this type (PNG, JPEG, WEBP, GIF).
pub fn is_viewable_image(mime_type: &str) -> bool {
    matches!(extension(mime_type), "jpg" | "png" | "webp" | "gif")
}

/// A message's medium as the API and the events show it: where its bytes are stays inside.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MediaView {
    pub kind: MediaKind,
    #[schema(example = "audio/ogg; codecs=opus")]
    pub mime_type: String,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub duration_seconds: Option<u32>,
    pub status: MediaStatus,
    /// Why it was not understood: one of the contract's error names.
    pub error: Option<String>,
    /// What the AI heard (audio).
    pub transcript: Option<String>,
    /// What the AI saw (an image, in `describe` mode).
    pub description: Option<String>,
}

impl From<&Media> for MediaView {
    fn from(m: &Media) -> Self {
        Self {
            kind: m.kind,
            mime_type: m.mime_type.clone(),
            size_bytes: m.size_bytes,
            sha256: m.sha256.clone(),
            filename: m.filename.clone(),
            duration_seconds: m.duration_seconds,
            status: m.status,
            error: m.error.clone(),
            transcript: m.transcript.clone(),
            description: m.description.clone(),
        }
    }
}

/// Why a medium was not understood, named as the contract names it (in `media.error` and in
/// the AI log row's `reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("media_too_large")]
    TooLarge,
    #[error("media_expired")]
    Expired,
    /// The detail goes to the process log, not to the name.
    #[error("media_download_failed")]
    DownloadFailed(String),
    #[error("unsupported_media_type")]
    UnsupportedType,
    #[error("transcription_failed: {0}")]
    TranscriptionFailed(String),
    #[error("vision_unsupported")]
    VisionUnsupported,
    #[error("media_budget_exceeded")]
    BudgetExceeded,
}

/// How the reply job dealt with one medium, in its AI log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaUse {
    pub message_id: MessageId,
    pub kind: MediaKind,
    /// The model that read it (none when nothing was read).
    pub model: Option<String>,
    /// Read from the cache: paid for before.
    pub cached: bool,
    pub latency_ms: u64,
    pub status: MediaStatus,
}

/// `message.media_processed`: what became of a message's medium.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MediaProcessed {
    pub message_id: MessageId,
    #[schema(value_type = String)]
    pub chat_id: ChatJid,
    pub kind: MediaKind,
    pub status: MediaStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_goes_as_ogg_and_labels_name_the_kind() {
        let mut m = Media::received(
            MediaKind::Audio,
            "audio/ogg; codecs=opus",
            MediaSource::Inline,
        );
        m.voice = true;
        assert_eq!(m.upload_name(), "voice.ogg");
        assert_eq!(m.label(), "voice note");
        let mut d = Media::received(MediaKind::Document, "application/pdf", MediaSource::Inline);
        d.filename = Some("invoice.pdf".into());
        assert_eq!(d.label(), "document: invoice.pdf");
        assert_eq!(d.upload_name(), "document.pdf");
        assert!(is_viewable_image("image/jpeg"));
        assert!(!is_viewable_image("image/heic"));
    }

    #[test]
    fn the_cache_key_is_the_hash_or_the_unique_file_id() {
        let mut m = Media::received(
            MediaKind::Audio,
            "audio/ogg",
            MediaSource::Telegram {
                files: vec![TelegramFile {
                    file_id: "f".into(),
                    file_unique_id: "u1".into(),
                    size: None,
                }],
            },
        );
        assert_eq!(m.content_id().as_deref(), Some("telegram:u1"));
        m.sha256 = Some("ab".into());
        assert_eq!(m.content_id().as_deref(), Some("telegram:u1"), "stable");
        let url = Media::received(
            MediaKind::Image,
            "image/png",
            MediaSource::Url { url: "x".into() },
        );
        assert_eq!(url.content_id(), None);
        let hashed = Media {
            sha256: Some("cd".into()),
            ..url
        };
        assert_eq!(hashed.content_id().as_deref(), Some("sha256:cd"));
    }
}
