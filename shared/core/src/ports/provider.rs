//! Providers carry messages between an account and its channel (WhatsApp Cloud, Telegram, a
//! bridge ...): they verify and read the channel's inbound webhooks, send, and show "typing…".
//! Core opens an account's sealed secrets before it calls one, so a provider never holds the
//! cipher or the store.

use crate::domain::chat::ChatJid;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::inbound::Received;
use crate::domain::provider::{OpenedConfig, ProviderKind};
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
    GiveUp { reason: String },
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

    /// Sends a text as the account.
    async fn send(
        &self,
        account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError>;

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
