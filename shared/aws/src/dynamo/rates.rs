//! Paces shared by every instance: a GCRA per key (`R#{key}`, its theoretical arrival time in
//! milliseconds), moved by conditional updates so that two instances never both take the last
//! unit. An idle key costs one request; a busy one two; a full one two, answering the wait.

use super::item::{Item, get_n, key, n};
use super::keys::{self, RATE_SK};
use super::{DynamoStore, backend};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};
use std::time::Duration;
use switchboard_core::ports::{Rate, RateStore, StoreError};

const TAT: &str = "tat";
/// Two instances taking at the same moment: the loser reads and tries again, this often.
const RACES: usize = 8;

enum Step {
    Taken,
    /// The condition failed; the time the key stood at, if it had one.
    Stood(Option<i64>),
}

impl DynamoStore {
    /// Sets the key's time to `to` if it stands at `expected` (or, with `None`, if it is unset
    /// or not after `idle_by`).
    async fn move_tat(
        &self,
        k: &Item,
        to: i64,
        expected: Option<i64>,
        idle_by: i64,
        expires: i64,
    ) -> Result<Step, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k.clone()))
            .update_expression("SET #t = :to, #x = :x")
            .expression_attribute_names("#t", TAT)
            .expression_attribute_names("#x", keys::TTL)
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":x", n(expires))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = match expected {
            Some(at) => update
                .condition_expression("#t = :at")
                .expression_attribute_values(":at", n(at)),
            None => update
                .condition_expression("attribute_not_exists(#t) OR #t <= :idle")
                .expression_attribute_values(":idle", n(idle_by)),
        };
        match update.send().await {
            Ok(_) => Ok(Step::Taken),
            Err(SdkError::ServiceError(e)) => match e.err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => {
                    let stood = failed.item().and_then(|i| get_n(i, TAT));
                    match stood {
                        Some(at) => Ok(Step::Stood(Some(at))),
                        // An emulator that does not return the item: read it.
                        None => Ok(Step::Stood(
                            self.get(k.clone()).await?.and_then(|i| get_n(&i, TAT)),
                        )),
                    }
                }
                _ => Err(backend(SdkError::ServiceError(e))),
            },
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl RateStore for DynamoStore {
    async fn take_rate(
        &self,
        rate_key: &str,
        rate: Rate,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        if rate.count == 0 || rate.per.is_zero() {
            return Ok(None);
        }
        let k = key(keys::rate(rate_key), RATE_SK);
        let now = now.timestamp_millis();
        let per = rate.per.as_millis() as i64;
        let interval = (per / i64::from(rate.count)).max(1);
        // A key standing past this has no burst left: a take must wait (GCRA's tolerance, a
        // burst of `count` at once).
        let latest = now + (i64::from(rate.count) - 1) * interval;
        let expires = (now + per) / 1000 + 60;
        let mut step = self
            .move_tat(&k, now + interval, None, now, expires)
            .await?;
        for _ in 0..RACES {
            match step {
                Step::Taken => return Ok(None),
                Step::Stood(None) => {
                    step = self
                        .move_tat(&k, now + interval, None, now, expires)
                        .await?;
                }
                Step::Stood(Some(at)) if at <= now => {
                    step = self
                        .move_tat(&k, now + interval, Some(at), now, expires)
                        .await?;
                }
                Step::Stood(Some(at)) if at <= latest => {
                    step = self
                        .move_tat(&k, at + interval, Some(at), now, expires)
                        .await?;
                }
                Step::Stood(Some(at)) => {
                    return Ok(Some(Duration::from_millis((at - latest) as u64)));
                }
            }
        }
        Err(StoreError::Conflict(format!(
            "pace {rate_key}: too many racing takes"
        )))
    }
}
