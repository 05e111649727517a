//! `GET /v1/overview`: each account's last day, and the chats that need a person.

use crate::domain::activity::Activity;
use crate::domain::ids::AccountId;
use crate::domain::page::ListBody;
use crate::domain::provider::ProviderKind;
use crate::error::AppError;
use crate::http::extract::{Admin, ListQuery, QueryParams};
use crate::http::routes::chats::ChatView;
use crate::services::AppState;
use crate::usecases::overview::{self, AccountDay, Attention};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountOverview {
    account_id: AccountId,
    name: String,
    provider: ProviderKind,
    /// The start of the hour 23 hours ago: the counts cover the last 24 hours by the hour.
    since: DateTime<Utc>,
    activity: Activity,
    /// Chats active since then where an AI reply failed or a human is answering (up to the
    /// 100 most recently active chats are looked at).
    attention: Vec<ChatAttention>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChatAttention {
    chat: ChatView,
    reasons: Vec<Attention>,
    /// When the last AI reply failed, if it did that day.
    ai_failed_at: Option<DateTime<Utc>>,
}

impl From<AccountDay> for AccountOverview {
    fn from(day: AccountDay) -> Self {
        let provider = day.account.provider;
        Self {
            account_id: day.account.id,
            name: day.account.name,
            provider,
            since: day.since,
            activity: day.activity,
            attention: day
                .attention
                .into_iter()
                .map(|f| ChatAttention {
                    ai_failed_at: f.chat.ai_failed_at.filter(|at| *at >= day.since),
                    chat: ChatView::of(&f.chat, provider),
                    reasons: f.reasons,
                })
                .collect(),
        }
    }
}

super::area!([get_overview]);

#[utoipa::path(
    get, path = "/v1/overview", tag = "accounts", params(ListQuery), security(("admin" = [])),
    responses((status = 200, body = ListBody<AccountOverview>, description = "per account (a page of accounts): messages in and out and AI replies sent, skipped and failed over the last 24 hours, counted per hour as they happen (DynamoDB: one Query of 24 small items per account; embedded: one indexed sum), and the chats that need a person"))
)]
async fn get_overview(
    State(s): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ListBody<AccountOverview>>, AppError> {
    let page = overview::accounts(&s, &q.page()?).await?;
    Ok(Json(page.map(AccountOverview::from).into()))
}
