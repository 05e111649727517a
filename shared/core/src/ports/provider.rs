//! Providers carry messages between an account and its channel (WhatsApp Cloud, Telegram, a
//! bridge ...): they verify and read the channel's inbound webhooks, send, and show "typing…".
//! Core opens an account's sealed secrets before it calls one, so a provider never holds the
//! cipher or the store.

use super::media::{Fetched, MediaFailure};
use crate::domain::chat::ChatJid;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::inbound::Received;
use crate::domain::media::{MediaError, MediaSource};
use crate::domain::message::FailureCode;
use crate::domain::provider::{OpenedConfig, ProviderKind};
use crate::domain::template::{Template, TemplateMessage};
use async_trait::async_trait;
use http::HeaderMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// An account as its provider sees it: which one, and its configuration with secrets opened.
#[derive(Debug, Clone)]
pub struct ProviderAccount {
    pub id: AccountId,
    pub kind: ProviderKind,
    pub config: OpenedConfig,
}

/// A text to send as the account.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingText<'a> {
    /// Switchboard's id of the message: the same on every retry of one send, for providers
    /// that can dedupe on it.
    pub id: &'a MessageId,
    pub chat: &'a ChatJid,
    pub text: &'a str,
    /// The provider's id of the message this one answers, if it answers one.
    pub reply_to: Option<&'a str>,
    /// The recipient where the channel has no chats (an e-mail address).
    pub to: Option<&'a str>,
    pub subject: Option<&'a str>,
    /// A WhatsApp template to send in place of `text` (its rendered body).
    pub template: Option<&'a TemplateMessage>,
}

/// A pace a provider holds a sender to: `count` messages in any window of `per`, spaced
/// evenly once a burst of `count` is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn per_second(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(1),
        }
    }

    pub const fn per_minute(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(60),
        }
    }
}

/// What connecting an account to its provider found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connected {
    /// What the provider said, for the operator.
    pub detail: String,
    /// Facts learned from the provider, stored among the account's fields (a bot's id).
    pub learned: Vec<(&'static str, String)>,
}

/// Why connecting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The provider answered and refused (a bad token): its own words.
    #[error("{0}")]
    Refused(String),
    /// The provider did not answer usefully.
    #[error("{0}")]
    Unreachable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    pub provider_message_id: String,
}

/// Why a call to a provider failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again (timeouts, 5xx, throttling), after `after` when the provider said.
    #[error("{reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Trying again cannot help (bad credentials, a closed conversation window, a blocked bot).
    #[error("{reason}")]
    GiveUp {
        reason: String,
        /// The contract's name for it, when it has one.
        code: Option<FailureCode>,
    },
}

impl ProviderError {
    pub fn retry(reason: impl Into<String>) -> Self {
        Self::Retry {
            reason: reason.into(),
            after: None,
        }
    }

    pub fn give_up(reason: impl Into<String>) -> Self {
        Self::GiveUp {
            reason: reason.into(),
            code: None,
        }
    }

    /// A final failure the contract names.
    pub fn named(code: FailureCode, reason: impl Into<String>) -> Self {
        Self::GiveUp {
            reason: reason.into(),
            code: Some(code),
        }
    }
}

/// Why an inbound webhook was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// The signature (or secret) is missing or wrong: nothing in it may be believed.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed, but not a notification this provider sends.
    #[error("{0}")]
    Malformed(String),
    /// This provider delivers no webhooks here.
    #[error("this provider has no inbound webhook")]
    Unsupported,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Verifies an inbound webhook over its raw bytes, before anything in it is parsed, then
    /// maps every message and status report it carries to core's types.
    fn receive(
        &self,
        _account: &ProviderAccount,
        _headers: &HeaderMap,
        _body: &[u8],
    ) -> Result<Received, InboundError> {
        Err(InboundError::Unsupported)
    }

    /// Meta's `hub.challenge` handshake: the challenge to echo when the query carries the
    /// account's verify token.
    fn verify_subscription(
        &self,
        _account: &ProviderAccount,
        _query: &[(String, String)],
    ) -> Result<String, InboundError> {
        Err(InboundError::Unsupported)
    }

    /// Makes the provider deliver the account's messages to `webhook_url` (or checks the
    /// credentials where the operator registers the URL by hand).
    async fn connect(
        &self,
        _account: &ProviderAccount,
        _webhook_url: &str,
    ) -> Result<Connected, ConnectError> {
        Ok(Connected {
            detail: "nothing to connect: messages come in through POST /v1/ingest/{account_id}"
                .into(),
            learned: Vec::new(),
        })
    }

    /// The paces a send to `chat` is held to, each under its own key (a number, a bot, a chat).
    fn pacing(&self, _account: &ProviderAccount, _chat: &ChatJid) -> Vec<(String, Rate)> {
        Vec::new()
    }

    /// How long the channel shows "typing…" after one call; `None` when it has no indicator.
    fn typing_lasts(&self) -> Option<Duration> {
        None
    }

    /// Sends a text as the account.
    async fn send(
        &self,
        account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError>;

    /// Every message template of the account's business, through all the provider's pages.
    /// Only WhatsApp Cloud has them.
    async fn templates(&self, _account: &ProviderAccount) -> Result<Vec<Template>, ProviderError> {
        Err(ProviderError::give_up(
            "this provider has no message templates",
        ))
    }

    /// Fetches a medium this provider delivered (`source`), reading no more than `limit`
    /// bytes.
    async fn fetch_media(
        &self,
        _account: &ProviderAccount,
        _source: &MediaSource,
        _limit: u64,
    ) -> Result<Fetched, MediaFailure> {
        Err(MediaFailure::final_(
            MediaError::UnsupportedType,
            "this provider delivers no media to fetch",
        ))
    }

    /// Shows "typing…" in the chat where the channel can; `replying_to` is the provider's id of
    /// the message being answered (WhatsApp marks it read with the same call).
    async fn typing(
        &self,
        _account: &ProviderAccount,
        _chat: &ChatJid,
        _replying_to: Option<&str>,
    ) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The providers this deployment can reach, by kind.
#[derive(Clone, Default)]
pub struct Providers(HashMap<ProviderKind, Arc<dyn Provider>>);

impl Providers {
    pub fn with(mut self, kind: ProviderKind, provider: Arc<dyn Provider>) -> Self {
        self.0.insert(kind, provider);
        self
    }

    pub fn get(&self, kind: ProviderKind) -> Result<&Arc<dyn Provider>, ProviderError> {
        self.0.get(&kind).ok_or_else(|| {
            ProviderError::give_up(format!(
                "sending through {} is not available",
                kind.as_str()
            ))
        })
    }
}
