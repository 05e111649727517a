//! "Typing…" in a chat: shown by the reply job as it begins (so it shows while the model writes;
//! on WhatsApp it also marks the customer's message read), and renewed by a job timed so the
//! indicator is still visible when a delayed reply arrives (a channel shows it for a few
//! seconds only): no function sleeps to wait for it.

use crate::domain::account::Account;
use crate::domain::chat::ChatJid;
use crate::domain::ids::AccountId;
use crate::error::AppError;
use crate::jobs::Job;
use crate::services::Services;
use crate::usecases::accounts;
use std::time::Duration;

/// How long before the indicator would end the reply is due: the two jobs run a few
/// milliseconds apart, and the reply must not find the indicator gone.
const OVERLAP: Duration = Duration::from_millis(500);

/// The job that renews the indicator for a reply sent after `delay`, when the one shown
/// `shown_for` ago would be gone by then: due so that the indicator still shows when the reply
/// arrives. None where the channel has no indicator or the first one lasts.
pub fn renewal_before(
    s: &Services,
    account: &Account,
    chat: &ChatJid,
    replying_to: Option<&str>,
    delay: Duration,
    shown_for: Duration,
) -> Option<(Job, Duration)> {
    let lasts = s
        .network
        .providers
        .get(account.provider)
        .ok()?
        .typing_lasts()?;
    if shown_for + delay + OVERLAP <= lasts {
        return None;
    }
    let job = Job::Typing {
        account_id: account.id.clone(),
        chat_id: chat.clone(),
        replying_to: replying_to.map(str::to_string),
    };
    Some(job.after(delay.saturating_sub(lasts.saturating_sub(OVERLAP))))
}

/// The renewal job: shows the indicator for an account that may have gone meanwhile.
pub async fn show(
    s: &Services,
    account_id: &AccountId,
    chat: &ChatJid,
    replying_to: Option<&str>,
) -> Result<(), AppError> {
    match s.store.get_account(account_id).await? {
        Some(account) => show_for(s, &account, chat, replying_to).await,
        None => Ok(()),
    }
}

/// Shows the indicator. Best effort: a missing indicator must not cost the reply, so a failure
/// is logged, not retried.
pub async fn show_for(
    s: &Services,
    account: &Account,
    chat: &ChatJid,
    replying_to: Option<&str>,
) -> Result<(), AppError> {
    let Ok(provider) = s.network.providers.get(account.provider) else {
        return Ok(());
    };
    if provider.typing_lasts().is_none() {
        return Ok(());
    }
    let opened = accounts::open(s, account).await?;
    if let Err(error) = provider.typing(&opened, chat, replying_to).await {
        tracing::warn!(account = %account.id, %error, "typing indicator failed");
    }
    Ok(())
}
