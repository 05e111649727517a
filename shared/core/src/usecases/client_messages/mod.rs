//! The client messages API: sends of AI assistants and backends on any channel under their
//! key's policy. One file per operation: `send` (the checks in `checks`, idempotency, the send
//! stored and queued), `read`, `confirm` (confirm, cancel, expire, on `decision`) and `draft`. Every decision
//! is audited by `usecases::audit::Audit`, whose `settle` writes the rows.

mod checks;
mod confirm;
mod decision;
mod draft;
mod read;
mod send;

pub use checks::{
    MAX_SOURCE_CHARS, MAX_SUBJECT_CHARS, MAX_TEXT_CHARS, Order, check_templates, template_schema,
};
pub use confirm::{cancel, confirm, expire};
pub use draft::{Draft, DraftDecision, Drafted, MAX_INSTRUCTION_CHARS, draft, read_draft};
pub use read::{ClientMessageView, get, pending, templates, view};
pub use send::{Accepted, Answer, CONFIRM_WITHIN, confirm_url, refuse_unknown, send};
