//! A WhatsApp account's message templates: listed from Meta once per ten minutes into the
//! store's cache (so every instance shares one list), paged and filtered from there, and the
//! template a send names found and checked against it.

use crate::domain::account::Account;
use crate::domain::page::{Page, PageRequest};
use crate::domain::provider::ProviderKind;
use crate::domain::template::{Template, TemplateMessage, TemplateRequest};
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::ports::ProviderError;
use crate::services::Services;
use crate::usecases::accounts;

/// How long a list read from Meta is served before it is read again.
pub const CACHE_MINUTES: i64 = 10;

/// The business account the templates belong to.
fn business_account(account: &Account) -> Result<&str, AppError> {
    if account.provider != ProviderKind::WhatsappCloud {
        return Err(ValidationError::new(
            "template",
            format!(
                "message templates are WhatsApp Cloud's; this account's provider is {}",
                account.provider.as_str()
            ),
        )
        .with_code("templates_not_supported")
        .into());
    }
    account
        .provider_config
        .fields
        .get("business_account_id")
        .map(String::as_str)
        .ok_or_else(|| {
            ValidationError::new(
                "provider_config.business_account_id",
                "set the account's business_account_id (its WhatsApp Business Account id) for its templates",
            )
            .with_code("business_account_id_required")
            .into()
        })
}

fn cache_key(account: &Account, business: &str) -> String {
    format!("templates:{}:{business}", account.id)
}

/// The list in the store's cache, unless it expired (or does not parse: then Meta is asked).
async fn cached(s: &Services, key: &str) -> Result<Option<Vec<Template>>, AppError> {
    let text = s.store.cached_text(key, s.clock.now()).await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Every template of the account, from the cache, or from Meta when the cache is empty or ten
/// minutes old (one fetch at a time per process, so a burst asks once).
pub async fn all(s: &Services, account: &Account) -> Result<Vec<Template>, AppError> {
    let key = cache_key(account, business_account(account)?);
    if let Some(list) = cached(s, &key).await? {
        return Ok(list);
    }
    let _turn = s.template_fill.lock().await;
    // Filled by the request this one waited behind.
    if let Some(list) = cached(s, &key).await? {
        return Ok(list);
    }
    let provider = s
        .network
        .providers
        .get(account.provider)
        .map_err(upstream)?;
    let opened = accounts::open(s, account).await?;
    let list = provider.templates(&opened).await.map_err(upstream)?;
    let text = serde_json::to_string(&list).map_err(|e| AppError::Internal(e.to_string()))?;
    let until = s.clock.now() + chrono::Duration::minutes(CACHE_MINUTES);
    if let Err(e) = s.store.cache_text(&key, &text, until).await {
        // Served all the same; the next request asks Meta again.
        tracing::warn!(account = %account.id, error = %e, "the template list was not cached");
    }
    Ok(list)
}

fn upstream(e: ProviderError) -> AppError {
    AppError::Upstream {
        code: "provider_error",
        message: format!("the template list could not be read from the Graph API: {e}"),
    }
}

/// A page of the account's templates, with Meta's status as the filter (any case); the cursor
/// is the position after the last one served.
pub async fn list(
    s: &Services,
    account: &Account,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Template>, AppError> {
    let start = match page.after.as_deref() {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            ValidationError::new("cursor", "is not a cursor of this list")
                .with_code("invalid_cursor")
        })?,
    };
    let matching: Vec<(usize, Template)> = all(s, account)
        .await?
        .into_iter()
        .enumerate()
        .filter(|(_, t)| status.is_none_or(|st| t.status.eq_ignore_ascii_case(st)))
        .skip_while(|(i, _)| *i < start)
        .take(page.limit + 1)
        .collect();
    Ok(Page::from_overfetch(matching, page.limit, |(i, _)| (i + 1).to_string()).map(|(_, t)| t))
}

/// The template a send names, approved, and the send checked against it.
pub async fn resolve(
    s: &Services,
    account: &Account,
    field: &str,
    request: &TemplateRequest,
) -> Result<(Template, TemplateMessage), AppError> {
    let list = all(s, account).await?;
    let Some(template) = list
        .into_iter()
        .find(|t| t.name == request.name && t.language == request.language)
    else {
        return Err(ValidationError::new(
            format!("{field}.name"),
            format!(
                "the business account has no template `{}` in {}",
                request.name, request.language
            ),
        )
        .with_code("template_not_found")
        .into());
    };
    match template.status.to_ascii_uppercase().as_str() {
        "APPROVED" => {}
        "PAUSED" | "DISABLED" => {
            return Err(ValidationError::new(
                format!("{field}.name"),
                format!("the template `{}` is {}", template.name, template.status),
            )
            .with_code("template_paused_or_disabled")
            .into());
        }
        other => {
            return Err(ValidationError::new(
                format!("{field}.name"),
                format!("the template `{}` is {other}, not approved", template.name),
            )
            .with_code("template_not_found")
            .into());
        }
    }
    let checked = template.check(&request.params).map_err(|mut e| {
        e.field = format!("{field}.{}", e.field);
        e
    })?;
    Ok((template, checked))
}
