//! A contact's consent: who asked not to be written to, how, and the words an account listens
//! for. One opt-out per chat, honoured by every send path (the AI, the account's API, the client
//! API, MCP, a relay phone's SMS).

use serde::{Deserialize, Serialize};

/// How a contact opted out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptOutSource {
    /// The contact wrote one of the account's opt-out keywords.
    Keyword,
    /// The provider said so (Meta's marketing preferences, error 131050).
    Provider,
    /// Set by hand through `PUT .../opt-out`.
    Api,
}

/// What an opt-out covers: every message, or (Meta's marketing preference) marketing templates
/// only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentScope {
    All,
    Marketing,
}

/// The words an account listens for, and what it answers to an opt-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentWords {
    #[serde(default = "default_opt_out")]
    pub opt_out_keywords: Vec<String>,
    #[serde(default = "default_opt_in")]
    pub opt_in_keywords: Vec<String>,
    /// Sent once, when a contact opts out by keyword.
    #[serde(default)]
    pub opt_out_reply: Option<String>,
}

fn default_opt_out() -> Vec<String> {
    vec!["STOP".into(), "UNSUBSCRIBE".into()]
}

fn default_opt_in() -> Vec<String> {
    vec!["START".into()]
}

impl Default for ConsentWords {
    fn default() -> Self {
        Self {
            opt_out_keywords: default_opt_out(),
            opt_in_keywords: default_opt_in(),
            opt_out_reply: None,
        }
    }
}

/// What a contact's message says about consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    OptOut,
    OptIn,
}

/// The most keywords of each kind, and the longest one: a keyword is a whole message.
pub const MAX_KEYWORDS: usize = 20;
pub const MAX_KEYWORD_CHARS: usize = 40;

/// The form keywords are compared in: trimmed, case-folded.
fn folded(text: &str) -> String {
    text.trim().to_lowercase()
}

impl ConsentWords {
    /// A keyword only when it is the whole message: "stop" opts out, "please don't stop the
    /// delivery" does not. Opting out wins when a word is in both lists.
    pub fn said(&self, text: &str) -> Option<Said> {
        let text = folded(text);
        if text.is_empty() || text.chars().count() > MAX_KEYWORD_CHARS {
            return None;
        }
        let listed = |words: &[String]| words.iter().any(|w| folded(w) == text);
        if listed(&self.opt_out_keywords) {
            Some(Said::OptOut)
        } else if listed(&self.opt_in_keywords) {
            Some(Said::OptIn)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_message_is_a_keyword() {
        let words = ConsentWords::default();
        assert_eq!(words.said("STOP"), Some(Said::OptOut));
        assert_eq!(words.said("  stop \n"), Some(Said::OptOut));
        assert_eq!(words.said("Unsubscribe"), Some(Said::OptOut));
        assert_eq!(words.said("start"), Some(Said::OptIn));
        assert_eq!(words.said("please don't stop the delivery"), None);
        assert_eq!(
            words.said("We have got to STOP this terrible bill from passing!!"),
            None
        );
        assert_eq!(words.said(""), None);
        let custom = ConsentWords {
            opt_out_keywords: vec!["Baja".into()],
            opt_in_keywords: vec!["ALTA".into(), "baja".into()],
            opt_out_reply: None,
        };
        assert_eq!(custom.said("BAJA"), Some(Said::OptOut), "opting out wins");
        assert_eq!(custom.said("stop"), None);
    }
}
