//! The audit of the client API's decisions (a send, a replay, a draft, a confirmation, a
//! cancellation, an expiry, a key created or deleted). An operation opens an `Audit` for its
//! decision, says what the decision is about as it learns it, and ends with `settle`, the one
//! place that writes rows: a refusal's with its code and reason; an acceptance's, unless the
//! operation handed the row to the store write that carries the decision (`handed`), so that
//! the two land together or not at all.

use crate::domain::audit::{AuditAction, AuditEntry, AuditOutcome};
use crate::domain::channel::Channel;
use crate::domain::ids::{AccountId, ApiKeyId, AuditId, MessageId};
use crate::domain::message::Message;
use crate::error::AppError;
use crate::services::Services;

/// An audit row of `action` by `actor` about `key`, accepted until said otherwise.
pub fn audit_row(
    s: &Services,
    actor: String,
    key: Option<&ApiKeyId>,
    action: AuditAction,
    outcome: AuditOutcome,
) -> AuditEntry {
    AuditEntry {
        id: AuditId::from_ulid(s.ids.next_ulid()),
        at: s.clock.now(),
        actor,
        key_id: key.cloned(),
        action,
        outcome,
        code: None,
        reason: None,
        phone_id: None,
        channel: None,
        to: None,
        message_id: None,
    }
}

/// One decision being made, and the row that will record it.
#[derive(Debug)]
pub struct Audit {
    row: AuditEntry,
    handed: bool,
}

impl Audit {
    pub fn new(s: &Services, actor: String, key: Option<&ApiKeyId>, action: AuditAction) -> Self {
        Self {
            row: audit_row(s, actor, key, action, AuditOutcome::Accepted),
            handed: false,
        }
    }

    /// A decision asked for by someone who could not say who they are.
    pub fn anonymous(s: &Services, action: AuditAction) -> Self {
        Self::new(s, "anonymous".into(), None, action)
    }

    /// The decision turned out to be another one (a send that is a replay).
    pub fn action(&mut self, action: AuditAction) -> &mut Self {
        self.row.action = action;
        self
    }

    /// What was asked for: the phone, the channel and the recipient (as far as known).
    pub fn about(
        &mut self,
        phone: Option<AccountId>,
        channel: Option<Channel>,
        to: Option<String>,
    ) -> &mut Self {
        self.row.phone_id = phone;
        self.row.channel = channel;
        self.row.to = to;
        self
    }

    /// The message the decision concerns, and what is known of its send.
    pub fn message(&mut self, m: &Message) -> &mut Self {
        self.row.message_id = Some(m.id.clone());
        self.row.phone_id = Some(m.account_id.clone());
        if let Some(client) = &m.client {
            self.row.channel = Some(client.channel);
            self.row.to = Some(client.to.clone());
        }
        self
    }

    pub fn message_id(&mut self, id: Option<MessageId>) -> &mut Self {
        self.row.message_id = id;
        self
    }

    pub fn reason(&mut self, reason: impl Into<String>) -> &mut Self {
        self.row.reason = Some(reason.into());
        self
    }

    /// A refusal the operation answers as a result of its own (a draft the policy refuses).
    pub fn refuse(&mut self, error: &AppError) -> &mut Self {
        self.row.outcome = AuditOutcome::Refused;
        self.row.code = Some(error.code().to_string());
        self.row.reason = Some(error.to_string());
        self
    }

    /// The row, for the store write that records the decision with it.
    pub fn handed(&mut self) -> &AuditEntry {
        self.handed = true;
        &self.row
    }

    /// Nothing was decided: the request repeats a decision already recorded (confirming a
    /// queued send again), so there is no row to write.
    pub fn unchanged(&mut self) {
        self.handed = true;
    }

    /// Ends the decision with what the operation answered, writing its row where the
    /// operation did not hand it over. A failure of the backends (a 500) is not a decision.
    pub async fn settle<T>(
        mut self,
        s: &Services,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        match result {
            Ok(_) if self.handed => result,
            Ok(_) => match s.store.insert_audit(&self.row).await {
                Ok(()) => result,
                Err(e) => Err(e.into()),
            },
            Err(AppError::Internal(_)) => result,
            Err(error) => {
                if self.handed {
                    // What was handed was not written with a decision that did not happen.
                    self.row.id = AuditId::from_ulid(s.ids.next_ulid());
                }
                self.refuse(&error);
                match s.store.insert_audit(&self.row).await {
                    Ok(()) => Err(error),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}
