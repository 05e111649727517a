//! Outbound HTTP to addresses users control: the URL guard every such client goes through, and
//! the OpenAI-compatible LLM client.

pub mod guard;
pub mod openai;
