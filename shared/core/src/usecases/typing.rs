//! "Typing…" in a chat, shown by a job timed so the indicator is still visible when the reply
//! arrives (a channel shows it for a few seconds only): no function sleeps to wait for it.

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

/// The typing job for a reply sent after `delay`, due so that the indicator still shows when
/// the reply arrives; none where the channel has no indicator or the reply goes at once.
pub fn job_before(
    s: &Services,
    account: &crate::domain::account::Account,
    chat: &ChatJid,
    replying_to: Option<&str>,
    delay: Duration,
) -> Option<(Job, Duration)> {
    if delay.is_zero() {
        return None;
    }
    let lasts = s
        .network
        .providers
        .get(account.provider)
        .ok()?
        .typing_lasts()?;
    let job = Job::Typing {
        account_id: account.id.clone(),
        chat_id: chat.clone(),
        replying_to: replying_to.map(str::to_string),
    };
    Some(job.after(delay.saturating_sub(lasts.saturating_sub(OVERLAP))))
}

/// Shows the indicator. Best effort: a missing indicator must not cost the reply, so a failure
/// is logged, not retried.
pub async fn show(
    s: &Services,
    account_id: &AccountId,
    chat: &ChatJid,
    replying_to: Option<&str>,
) -> Result<(), AppError> {
    let Some(account) = s.store.get_account(account_id).await? else {
        return Ok(());
    };
    let Ok(provider) = s.network.providers.get(account.provider) else {
        return Ok(());
    };
    let opened = accounts::open(s, &account).await?;
    if let Err(error) = provider.typing(&opened, chat, replying_to).await {
        tracing::warn!(account = %account.id, %error, "typing indicator failed");
    }
    Ok(())
}
