//! A decision on a stored send (confirm, cancel, expire): the status change it makes, written
//! with its audit row, and the expiry of a pending send whose time ran out, which reads apply
//! on the way.

use crate::domain::audit::AuditAction;
use crate::domain::ids::MessageId;
use crate::domain::message::{Message, MessageStatus};
use crate::error::AppError;
use crate::ports::StatusChange;
use crate::services::Services;
use crate::usecases::audit::Audit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    Confirm,
    Cancel,
    Expire,
}

impl Decision {
    /// The statuses it applies to, the one it leads to, and the error it leaves.
    fn change(self) -> StatusChange<'static> {
        let (from, to, error): (&[MessageStatus], _, _) = match self {
            Decision::Confirm => (
                &[MessageStatus::PendingConfirmation],
                MessageStatus::Queued,
                None,
            ),
            Decision::Cancel => (
                &[MessageStatus::PendingConfirmation, MessageStatus::Queued],
                MessageStatus::Cancelled,
                Some("cancelled"),
            ),
            Decision::Expire => (
                &[MessageStatus::PendingConfirmation],
                MessageStatus::Cancelled,
                Some("expired"),
            ),
        };
        StatusChange {
            from,
            to,
            provider_message_id: None,
            error,
            code: None,
        }
    }

    fn action(self) -> AuditAction {
        match self {
            Decision::Confirm => AuditAction::Confirm,
            Decision::Cancel => AuditAction::Cancel,
            Decision::Expire => AuditAction::Expire,
        }
    }
}

/// The audit of a decision on `m`, about the key that created it.
pub(super) fn audit_of(s: &Services, actor: String, m: &Message, decision: Decision) -> Audit {
    let key = m.client.as_ref().and_then(|c| c.key_id.as_ref());
    let mut audit = Audit::new(s, actor, key, decision.action());
    audit.message(m);
    audit
}

/// Writes a decision with its audit row; whether the message moved.
pub(super) async fn decide(
    s: &Services,
    m: &Message,
    decision: Decision,
    audit: &mut Audit,
) -> Result<bool, AppError> {
    Ok(s.store
        .decide(m, &decision.change(), audit.handed())
        .await?)
}

pub(super) async fn reread(s: &Services, id: &MessageId) -> Result<Message, AppError> {
    s.store
        .find_message(id)
        .await?
        .ok_or(AppError::NotFound("message"))
}

/// Cancels a pending send whose time ran out, as the system.
pub(super) async fn lapse(s: &Services, m: &Message) -> Result<(), AppError> {
    let mut audit = audit_of(s, "system".into(), m, Decision::Expire);
    let expired = decide(s, m, Decision::Expire, &mut audit).await.map(|_| ());
    audit.settle(s, expired).await
}

/// Expires a pending message whose time ran out; returns it as it stands.
pub(super) async fn expire_if_due(s: &Services, m: Message) -> Result<Message, AppError> {
    let due = m.status == MessageStatus::PendingConfirmation
        && m.client
            .as_ref()
            .and_then(|c| c.expires_at)
            .is_some_and(|at| at <= s.clock.now());
    if !due {
        return Ok(m);
    }
    lapse(s, &m).await?;
    reread(s, &m.id).await
}
