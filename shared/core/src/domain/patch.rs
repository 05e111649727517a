//! A change to one optional field of a partial update (PUT that merges, PATCH): leave it, clear
//! it, or set it. In a request body a field left out keeps its value, `null` clears it and a
//! value sets it; `#[serde(default)]` on the field makes "left out" read as `Keep`.

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    pub fn apply_to(self, slot: &mut Option<T>) {
        match self {
            Change::Keep => {}
            Change::Clear => *slot = None,
            Change::Set(v) => *slot = Some(v),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Change<U> {
        match self {
            Change::Keep => Change::Keep,
            Change::Clear => Change::Clear,
            Change::Set(v) => Change::Set(f(v)),
        }
    }

    /// Checks a value being set; keeping and clearing need no check.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Change<U>, E> {
        Ok(match self {
            Change::Keep => Change::Keep,
            Change::Clear => Change::Clear,
            Change::Set(v) => Change::Set(f(v)?),
        })
    }
}

/// A present field: `null` clears, a value sets. An absent field never reaches this (see the
/// module note).
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Change<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Change::Clear, Change::Set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default)]
        a: Change<u32>,
    }

    fn parse(json: &str) -> Change<u32> {
        serde_json::from_str::<Body>(json).expect("parses").a
    }

    #[test]
    fn absent_null_and_a_value_are_keep_clear_and_set() {
        assert_eq!(parse("{}"), Change::Keep);
        assert_eq!(parse(r#"{"a": null}"#), Change::Clear);
        assert_eq!(parse(r#"{"a": 7}"#), Change::Set(7));
        assert!(serde_json::from_str::<Body>(r#"{"a": "x"}"#).is_err());
    }

    #[test]
    fn applying_keeps_clears_and_sets() {
        let mut slot = Some(1);
        Change::Keep.apply_to(&mut slot);
        assert_eq!(slot, Some(1));
        Change::Set(2).apply_to(&mut slot);
        assert_eq!(slot, Some(2));
        Change::<u32>::Clear.apply_to(&mut slot);
        assert_eq!(slot, None);
    }
}
