//! The schema, versioned with `PRAGMA user_version`: each migration runs once, in order, in one
//! transaction.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE ai_settings (
    owner TEXT PRIMARY KEY,      -- 'global' or an account id
    data TEXT NOT NULL
);
CREATE TABLE chats (
    account_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    last_message_at TEXT NOT NULL DEFAULT '',   -- '' sorts before every timestamp
    data TEXT NOT NULL,
    PRIMARY KEY (account_id, chat_id)
);
CREATE INDEX chats_by_activity ON chats (account_id, last_message_at DESC, chat_id DESC);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    provider_message_id TEXT,
    idempotency_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX messages_by_chat ON messages (account_id, chat_id, id);
CREATE UNIQUE INDEX messages_by_provider_id ON messages (account_id, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (account_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE ai_logs (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    inbound_message_id TEXT UNIQUE,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX ai_logs_by_account ON ai_logs (account_id, id);
CREATE INDEX ai_logs_by_chat_time ON ai_logs (account_id, chat_id, created_at);
CREATE TABLE claims (
    key TEXT PRIMARY KEY,
    done INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL            -- unix milliseconds; an expired claim can be taken over
);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,          -- unix milliseconds
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    enqueued_at INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (queue, visible_at);
CREATE TABLE dead_jobs (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    error TEXT,
    died_at INTEGER NOT NULL
);
"#,
    r#"
-- The loop guard counts a chat's recent replies from the index alone.
DROP INDEX ai_logs_by_chat_time;
CREATE INDEX ai_logs_by_chat_time ON ai_logs (account_id, chat_id, created_at, status);
-- A claim is a lock with an expiry; whether the work is done is told by its outcome (the AI log).
DROP TABLE claims;
CREATE TABLE claims (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL            -- unix milliseconds; an expired claim can be taken over
);
"#,
    r#"
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    account_id TEXT,                       -- NULL: every account's events
    disabled INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX webhooks_by_account ON webhooks (account_id);
CREATE TABLE webhook_attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, seq);
"#,
    r#"
-- A relay phone's outbox: where its queued messages wait, and its lease on those it took.
CREATE TABLE outbox (
    account_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    lease_until TEXT,                      -- NULL: waiting; else leased until then (RFC 3339)
    PRIMARY KEY (account_id, message_id)
);
CREATE INDEX outbox_waiting ON outbox (account_id, message_id) WHERE lease_until IS NULL;
"#,
    r#"
-- The client API: keys with their policy, idempotency records, and the audit of every decision.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE idempotency (
    api_key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    answer TEXT,                           -- NULL: in flight until hold_until
    hold_until INTEGER NOT NULL,           -- unix milliseconds
    expires_at INTEGER NOT NULL,           -- unix milliseconds; honoured until then
    PRIMARY KEY (api_key_id, key)
);
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    key_id TEXT,
    outcome TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX audit_by_key ON audit (key_id, id);
"#,
    r#"
-- Client messages waiting for confirmation, for the list a person confirms from.
CREATE TABLE pending (message_id TEXT PRIMARY KEY);
INSERT INTO pending (message_id)
    SELECT id FROM messages WHERE json_extract(data, '$.status') = 'pending_confirmation';
"#,
    r#"
-- Media: what was read of a voice note or image, by content and model (paid for once); a
-- bridge's inline bytes, until the reply job has read them.
CREATE TABLE media_readings (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    expires_at INTEGER NOT NULL            -- unix milliseconds
);
CREATE TABLE inline_media (
    key TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    expires_at INTEGER NOT NULL            -- unix milliseconds
);
"#,
    r#"
-- Each account's activity per hour, for the overview; hours older than two days are dropped as
-- new ones are counted.
CREATE TABLE activity (
    account_id TEXT NOT NULL,
    hour TEXT NOT NULL,                    -- the hour's start, fixed-width RFC 3339
    messages_in INTEGER NOT NULL DEFAULT 0,
    messages_out INTEGER NOT NULL DEFAULT 0,
    ai_sent INTEGER NOT NULL DEFAULT 0,
    ai_skipped INTEGER NOT NULL DEFAULT 0,
    ai_failed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, hour)
);
"#,
];

/// Brings the schema up to date; returns the version found (0: a new database).
pub fn migrate(conn: &Connection) -> rusqlite::Result<usize> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(version)
}
