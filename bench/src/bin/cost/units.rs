//! DynamoDB's capacity rules, applied to the items a request read or wrote: item sizes by
//! the "Item sizes and formats" page, write units per started KB, read units per started
//! 4 KB (half when eventually consistent), transactions twice, one index write per index an
//! item projects into and two when its index key moves.

use serde_json::{Map, Value};

pub type Item = Map<String, Value>;

/// What a global secondary index carries besides the keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Index {
    pub hash: String,
    pub range: Option<String>,
    pub projection: Projection,
}

/// A table's key attributes and indexes, from DescribeTable.
#[derive(Debug, Clone)]
pub struct Table {
    pub hash: String,
    pub range: Option<String>,
    pub indexes: Vec<Index>,
}

impl Table {
    /// The table key of an item (its key attributes only).
    pub fn key_of(&self, item: &Item) -> Item {
        let mut key = Item::new();
        for name in std::iter::once(&self.hash).chain(self.range.as_ref()) {
            if let Some(v) = item.get(name) {
                key.insert(name.clone(), v.clone());
            }
        }
        key
    }
}

/// The size of an attribute value in DynamoDB JSON (`{"S": "..."}`, `{"N": "12"}`, ...).
pub fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(1, number_size),
        "B" => inner.as_str().map_or(0, base64_len),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner.as_array().map_or(0, |items| {
            items
                .iter()
                .map(|i| {
                    let s = i.as_str().unwrap_or_default();
                    match kind.as_str() {
                        "NS" => number_size(s),
                        "BS" => base64_len(s),
                        _ => s.len(),
                    }
                })
                .sum()
        }),
        // A list or map: 3 bytes, plus one per element, plus the elements (and a map's names).
        "L" => {
            3 + inner.as_array().map_or(0, |items| {
                items.iter().map(|i| 1 + value_size(i)).sum::<usize>()
            })
        }
        "M" => {
            3 + inner.as_object().map_or(0, |m| {
                m.iter()
                    .map(|(k, i)| 1 + k.len() + value_size(i))
                    .sum::<usize>()
            })
        }
        _ => 0,
    }
}

/// A number takes one byte per two significant digits, plus one.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.max(1).div_ceil(2) + 1
}

fn base64_len(s: &str) -> usize {
    let padding = s.chars().rev().take_while(|c| *c == '=').count();
    (s.len() / 4 * 3).saturating_sub(padding)
}

/// An item's size: the names and the values of its attributes.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn kb_units(bytes: usize, per: usize) -> f64 {
    bytes.div_ceil(per).max(1) as f64
}

/// Read units of `bytes` read together (an item, or a query's page).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = kb_units(bytes, 4096);
    if consistent { units } else { units / 2.0 }
}

/// Write units of one item's write, in the table and in its indexes.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Written {
    pub table: f64,
    pub index: f64,
}

/// One item write, `before` and `after` as read around it; `applied` false when a condition
/// refused it (or the transaction it was in was cancelled), in which case the table is
/// charged for the item as it stands (at least one unit) and no index is touched.
pub fn write_units(
    table: &Table,
    before: Option<&Item>,
    after: Option<&Item>,
    transactional: bool,
    applied: bool,
) -> Written {
    let size = |i: Option<&Item>| i.map_or(0, item_size);
    let factor = if transactional { 2.0 } else { 1.0 };
    let table_units = factor * kb_units(size(before).max(size(after)), 1024);
    if !applied {
        return Written {
            table: table_units,
            index: 0.0,
        };
    }
    let index = table
        .indexes
        .iter()
        .map(|i| index_units(table, i, before, after))
        .sum();
    Written {
        table: table_units,
        index,
    }
}

/// The index entry of an item: none when it lacks the index's key.
fn entry(table: &Table, index: &Index, item: Option<&Item>) -> Option<Item> {
    let item = item?;
    let has = |name: &String| item.contains_key(name);
    if !has(&index.hash) || !index.range.as_ref().is_none_or(has) {
        return None;
    }
    let keys = [
        Some(&table.hash),
        table.range.as_ref(),
        Some(&index.hash),
        index.range.as_ref(),
    ];
    let projected = |name: &String| match &index.projection {
        Projection::All => true,
        Projection::KeysOnly => false,
        Projection::Include(names) => names.contains(name),
    };
    Some(
        item.iter()
            .filter(|(name, _)| keys.contains(&Some(*name)) || projected(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn index_units(table: &Table, index: &Index, before: Option<&Item>, after: Option<&Item>) -> f64 {
    let key = |e: &Item| {
        (
            e.get(&index.hash).cloned(),
            index.range.as_ref().and_then(|r| e.get(r).cloned()),
        )
    };
    let units = |e: &Item| kb_units(item_size(e), 1024);
    match (entry(table, index, before), entry(table, index, after)) {
        (None, None) => 0.0,
        (None, Some(new)) => units(&new),
        (Some(old), None) => units(&old),
        (Some(old), Some(new)) if key(&old) != key(&new) => units(&old) + units(&new),
        (Some(old), Some(new)) if old != new => units(&new),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().cloned().unwrap_or_default()
    }

    fn table(projection: Projection) -> Table {
        Table {
            hash: "pk".into(),
            range: Some("sk".into()),
            indexes: vec![Index {
                hash: "gsi1pk".into(),
                range: Some("gsi1sk".into()),
                projection,
            }],
        }
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        // Names count; "12345" has 5 significant digits: 3 bytes + 1.
        assert_eq!(item_size(&item(json!({"pk": {"S": "abc"}}))), 5);
        assert_eq!(item_size(&item(json!({"n": {"N": "12345"}}))), 1 + 4);
        assert_eq!(item_size(&item(json!({"n": {"N": "1000"}}))), 1 + 2);
        assert_eq!(item_size(&item(json!({"b": {"BOOL": true}}))), 2);
        assert_eq!(item_size(&item(json!({"b": {"B": "AAECAw=="}}))), 1 + 4);
        // A map: 3 + per element 1 + name + value.
        assert_eq!(
            item_size(&item(json!({"m": {"M": {"a": {"S": "xy"}}}}))),
            1 + 3 + 1 + 1 + 2
        );
        assert_eq!(
            item_size(&item(json!({"l": {"L": [{"S": "xy"}, {"NULL": true}]}}))),
            1 + 3 + (1 + 2) + (1 + 1)
        );
    }

    #[test]
    fn writes_count_per_started_kb_and_twice_in_transactions() {
        let t = Table {
            indexes: vec![],
            ..table(Projection::All)
        };
        let small = item(json!({"pk": {"S": "a"}, "sk": {"S": "b"}}));
        let big = item(json!({"pk": {"S": "a"}, "sk": {"S": "b"}, "x": {"S": "y".repeat(1100)}}));
        assert_eq!(write_units(&t, None, Some(&small), false, true).table, 1.0);
        assert_eq!(write_units(&t, None, Some(&big), false, true).table, 2.0);
        // The larger of before and after, as an update shrinking an item.
        assert_eq!(
            write_units(&t, Some(&big), Some(&small), false, true).table,
            2.0
        );
        assert_eq!(write_units(&t, None, Some(&small), true, true).table, 2.0);
        assert_eq!(
            write_units(&t, Some(&small), Some(&small), false, false).table,
            1.0
        );
    }

    #[test]
    fn index_writes_follow_the_key_and_the_projection() {
        let base = json!({"pk": {"S": "a"}, "sk": {"S": "b"}, "status": {"S": "queued"}});
        let mut indexed = base.clone();
        indexed["gsi1pk"] = json!({"S": "LOGS"});
        indexed["gsi1sk"] = json!({"S": "1"});
        let mut moved = indexed.clone();
        moved["gsi1sk"] = json!({"S": "2"});
        let mut status = indexed.clone();
        status["status"] = json!({"S": "sent"});
        let (base, indexed, moved, status) = (item(base), item(indexed), item(moved), item(status));
        let all = table(Projection::All);
        let keys = table(Projection::KeysOnly);
        let w =
            |t: &Table, b: Option<&Item>, a: &Item| write_units(t, b, Some(a), false, true).index;
        assert_eq!(w(&all, None, &base), 0.0, "no index key, no index write");
        assert_eq!(w(&all, None, &indexed), 1.0);
        assert_eq!(
            w(&all, Some(&indexed), &moved),
            2.0,
            "a moved key: delete and put"
        );
        assert_eq!(w(&all, Some(&indexed), &status), 1.0);
        assert_eq!(
            w(&keys, Some(&indexed), &status),
            0.0,
            "keys only: not projected"
        );
        let include = table(Projection::Include(vec!["status".into()]));
        assert_eq!(w(&include, Some(&indexed), &status), 1.0);
        assert_eq!(
            write_units(&all, Some(&indexed), Some(&moved), false, false).index,
            0.0,
            "a refused write touches no index"
        );
    }

    #[test]
    fn reads_count_per_started_4kb_and_half_when_eventually_consistent() {
        assert_eq!(read_units(10, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(0, false), 0.5);
    }
}
