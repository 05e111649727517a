//! What an operator checks each morning: per account, its last day's activity (the hourly
//! counts: one small read) and the chats that need a person (the chats active that day: one
//! read of the chat list), where the AI failed or a human took over.

use crate::domain::account::Account;
use crate::domain::activity::{Activity, day_before};
use crate::domain::chat::Chat;
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::chats;
use chrono::{DateTime, Utc};

/// The chats of a day an overview looks through for ones that need a person.
const CHATS_LOOKED_AT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// An AI reply failed in the chat that day.
    AiFailed,
    /// A human of the account is answering: the AI is paused.
    HumanTakeover,
}

#[derive(Debug)]
pub struct Flagged {
    pub chat: Chat,
    pub reasons: Vec<Attention>,
}

#[derive(Debug)]
pub struct AccountDay {
    pub account: Account,
    pub since: DateTime<Utc>,
    pub activity: Activity,
    pub attention: Vec<Flagged>,
}

pub async fn accounts(s: &Services, page: &PageRequest) -> Result<Page<AccountDay>, AppError> {
    let accounts = s.store.list_accounts(page).await?;
    let now = s.clock.now();
    let mut days = Vec::with_capacity(accounts.items.len());
    for account in accounts.items {
        days.push(day_of(s, account, now).await?);
    }
    Ok(Page {
        items: days,
        next: accounts.next,
    })
}

async fn day_of(
    s: &Services,
    account: Account,
    now: DateTime<Utc>,
) -> Result<AccountDay, AppError> {
    let since = day_before(now);
    let (activity, active) = tokio::try_join!(
        async { Ok::<_, AppError>(s.store.activity_since(&account.id, since).await?) },
        chats::moved_since(s, &account.id, since, CHATS_LOOKED_AT),
    )?;
    let attention = active
        .into_iter()
        .filter_map(|chat| {
            let mut reasons = Vec::new();
            if chat.ai_failed_at.is_some_and(|at| at >= since) {
                reasons.push(Attention::AiFailed);
            }
            if chat.ai_paused_until.is_some_and(|until| until > now) {
                reasons.push(Attention::HumanTakeover);
            }
            (!reasons.is_empty()).then_some(Flagged { chat, reasons })
        })
        .collect();
    Ok(AccountDay {
        account,
        since,
        activity,
        attention,
    })
}
