//! A recording proxy in front of the AWS emulator, one per function: it counts every request
//! by operation and prices what each did by the services' rules. For DynamoDB it reads the
//! items a write touches just before and just after it (writes pass one at a time, so the two
//! reads frame exactly that write), and re-reads what a read returned without its projection
//! or filter (DynamoDB charges for the whole items it read). Those reads go straight to the
//! emulator and are not counted.

use crate::units::{self, Index, Item, Projection, Table};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use switchboard_tests::lambda::relay;

/// What one function's requests cost, in the units AWS bills.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Requests by operation (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`, ...).
    pub operations: BTreeMap<String, u64>,
    pub write_units: f64,
    pub index_write_units: f64,
    pub read_units: f64,
    /// SQS requests as billed: one per started 64 KB of a request's payload.
    pub sqs_requests: f64,
    pub kms_requests: u64,
}

impl Ledger {
    pub fn add(&mut self, other: &Ledger) {
        for (op, n) in &other.operations {
            *self.operations.entry(op.clone()).or_default() += n;
        }
        self.write_units += other.write_units;
        self.index_write_units += other.index_write_units;
        self.read_units += other.read_units;
        self.sqs_requests += other.sqs_requests;
        self.kms_requests += other.kms_requests;
    }

    pub fn requests(&self) -> u64 {
        self.operations.values().sum()
    }
}

/// The emulator, read around the recorded requests.
struct Emulator {
    url: String,
    client: reqwest::Client,
    tables: tokio::sync::Mutex<HashMap<String, Table>>,
    /// Writes pass one at a time, so the reads around one frame only it.
    writing: tokio::sync::Mutex<()>,
    /// Each write and its units on stderr (`COST_TRACE=1`).
    trace: bool,
}

impl Emulator {
    async fn dynamo(&self, op: &str, body: &Value) -> Option<Value> {
        let answer = self
            .client
            .post(&self.url)
            .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        if !answer.status().is_success() {
            return None;
        }
        answer.json().await.ok()
    }

    async fn table(&self, name: &str) -> Option<Table> {
        if let Some(t) = self.tables.lock().await.get(name) {
            return Some(t.clone());
        }
        let described = self
            .dynamo("DescribeTable", &json!({"TableName": name}))
            .await?;
        let t = &described["Table"];
        let keys = |schema: &Value| {
            let of = |kind: &str| {
                schema.as_array().and_then(|k| {
                    k.iter()
                        .find(|e| e["KeyType"] == kind)
                        .and_then(|e| e["AttributeName"].as_str().map(str::to_string))
                })
            };
            (of("HASH").unwrap_or_default(), of("RANGE"))
        };
        let (hash, range) = keys(&t["KeySchema"]);
        let indexes = t["GlobalSecondaryIndexes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|i| {
                let (hash, range) = keys(&i["KeySchema"]);
                let projection = match i["Projection"]["ProjectionType"].as_str() {
                    Some("KEYS_ONLY") => Projection::KeysOnly,
                    Some("INCLUDE") => Projection::Include(
                        i["Projection"]["NonKeyAttributes"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|a| a.as_str().map(str::to_string))
                            .collect(),
                    ),
                    _ => Projection::All,
                };
                Index {
                    hash,
                    range,
                    projection,
                }
            })
            .collect();
        let table = Table {
            hash,
            range,
            indexes,
        };
        self.tables
            .lock()
            .await
            .insert(name.to_string(), table.clone());
        Some(table)
    }

    /// The whole item under `key`, read consistently.
    async fn item(&self, table: &str, key: &Value) -> Option<Item> {
        let got = self
            .dynamo(
                "GetItem",
                &json!({"TableName": table, "Key": key, "ConsistentRead": true}),
            )
            .await?;
        got["Item"].as_object().cloned()
    }
}

/// One item a write request touches.
struct Touch {
    table: String,
    key: Value,
    transactional: bool,
    /// A transaction's ConditionCheck: charged, never changes the item.
    check: bool,
}

async fn touches(emulator: &Emulator, op: &str, req: &Value) -> Vec<Touch> {
    let mut out = Vec::new();
    let mut push = |table: &str, key: Value, transactional: bool, check: bool| {
        out.push(Touch {
            table: table.to_string(),
            key,
            transactional,
            check,
        })
    };
    match op {
        "PutItem" => {
            let table = req["TableName"].as_str().unwrap_or_default();
            if let (Some(t), Some(item)) = (emulator.table(table).await, req["Item"].as_object()) {
                push(table, Value::Object(t.key_of(item)), false, false);
            }
        }
        "UpdateItem" | "DeleteItem" => {
            let table = req["TableName"].as_str().unwrap_or_default();
            push(table, req["Key"].clone(), false, false);
        }
        "TransactWriteItems" => {
            for entry in req["TransactItems"].as_array().cloned().unwrap_or_default() {
                for (kind, w) in entry.as_object().cloned().unwrap_or_default() {
                    let table = w["TableName"].as_str().unwrap_or_default().to_string();
                    let key = if kind == "Put" {
                        match (emulator.table(&table).await, w["Item"].as_object()) {
                            (Some(t), Some(item)) => Value::Object(t.key_of(item)),
                            _ => continue,
                        }
                    } else {
                        w["Key"].clone()
                    };
                    push(&table, key, true, kind == "ConditionCheck");
                }
            }
        }
        "BatchWriteItem" => {
            for (table, requests) in req["RequestItems"].as_object().cloned().unwrap_or_default() {
                for r in requests.as_array().cloned().unwrap_or_default() {
                    let key = if let Some(item) = r["PutRequest"]["Item"].as_object() {
                        match emulator.table(&table).await {
                            Some(t) => Value::Object(t.key_of(item)),
                            None => continue,
                        }
                    } else {
                        r["DeleteRequest"]["Key"].clone()
                    };
                    push(&table, key, false, false);
                }
            }
        }
        _ => {}
    }
    out
}

/// Read units of a read request, from the whole items it read.
async fn reads(emulator: &Emulator, op: &str, req: &Value, answer: &Value) -> f64 {
    let consistent = |r: &Value| r["ConsistentRead"].as_bool().unwrap_or(false);
    let size = |i: Option<Item>| i.as_ref().map_or(0, units::item_size);
    match op {
        "GetItem" => {
            let table = req["TableName"].as_str().unwrap_or_default();
            let item = emulator.item(table, &req["Key"]).await;
            units::read_units(size(item), consistent(req))
        }
        "BatchGetItem" => {
            let mut total = 0.0;
            for (table, r) in req["RequestItems"].as_object().cloned().unwrap_or_default() {
                for key in r["Keys"].as_array().cloned().unwrap_or_default() {
                    let item = emulator.item(&table, &key).await;
                    total += units::read_units(size(item), consistent(&r));
                }
            }
            total
        }
        "TransactGetItems" => {
            let mut total = 0.0;
            for entry in req["TransactItems"].as_array().cloned().unwrap_or_default() {
                let get = &entry["Get"];
                let table = get["TableName"].as_str().unwrap_or_default();
                let item = emulator.item(table, &get["Key"]).await;
                total += 2.0 * units::read_units(size(item), true);
            }
            total
        }
        "Query" | "Scan" => {
            // The same page without projection or filter: what DynamoDB read to answer.
            let mut whole = req.clone();
            if let Some(o) = whole.as_object_mut() {
                o.remove("ProjectionExpression");
                o.remove("Select");
                o.remove("FilterExpression");
            }
            let items = match emulator.dynamo(op, &whole).await {
                Some(page) => page["Items"].clone(),
                None => answer["Items"].clone(),
            };
            let bytes = items
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_object)
                        .map(units::item_size)
                        .sum()
                })
                .unwrap_or(0);
            units::read_units(bytes, consistent(req))
        }
        _ => 0.0,
    }
}

type Shared = (Arc<Emulator>, Arc<Mutex<Ledger>>);

/// A recording proxy for one function.
pub struct Recorder {
    pub url: String,
    ledger: Arc<Mutex<Ledger>>,
}

impl Recorder {
    async fn beside(emulator: Arc<Emulator>) -> Self {
        let ledger: Arc<Mutex<Ledger>> = Arc::default();
        let app = Router::new()
            .fallback(forward)
            .with_state((emulator, ledger.clone()));
        let addr = switchboard_tests::serve_on_loopback(app).await;
        Self {
            url: format!("http://{addr}"),
            ledger,
        }
    }

    /// The ledger so far, and a fresh start.
    pub fn take(&self) -> Ledger {
        std::mem::take(&mut *self.ledger.lock().expect("lock"))
    }
}

/// The recorders of all functions, sharing one emulator (and its one-write-at-a-time lock).
pub struct Recorders {
    emulator: Arc<Emulator>,
}

impl Recorders {
    pub fn new(upstream: String) -> Self {
        Self {
            emulator: Arc::new(Emulator {
                url: upstream,
                client: reqwest::Client::new(),
                tables: Default::default(),
                writing: Default::default(),
                trace: std::env::var_os("COST_TRACE").is_some(),
            }),
        }
    }

    pub async fn recorder(&self) -> Recorder {
        Recorder::beside(self.emulator.clone()).await
    }
}

const WRITES: [&str; 4] = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"];

async fn forward(
    State((emulator, ledger)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("other")
        .to_string();
    let (service, op) = target.split_once('.').unwrap_or(("other", "other"));
    let dynamo = service.starts_with("DynamoDB");
    let request: Value = if dynamo {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let writes = dynamo && (WRITES.contains(&op) || op == "BatchWriteItem");
    let _one_at_a_time = if writes {
        Some(emulator.writing.lock().await)
    } else {
        None
    };
    let touched = if writes {
        touches(&emulator, op, &request).await
    } else {
        Vec::new()
    };
    let mut before = Vec::new();
    for t in &touched {
        before.push(emulator.item(&t.table, &t.key).await);
    }

    let relayed = relay(
        &emulator.client,
        &emulator.url,
        method,
        &uri,
        &headers,
        body.clone(),
    )
    .await;
    let (status, out, bytes) = match relayed.0 {
        Ok(answer) => answer,
        Err(_) => return relayed.into_response(),
    };

    let mut entry = Ledger::default();
    entry.operations.insert(target.clone(), 1);
    if dynamo {
        let applied = status.is_success();
        for (t, before) in touched.iter().zip(before) {
            let after = emulator.item(&t.table, &t.key).await;
            if let Some(table) = emulator.table(&t.table).await {
                let w = units::write_units(
                    &table,
                    before.as_ref(),
                    after.as_ref(),
                    t.transactional,
                    applied && !t.check,
                );
                if emulator.trace {
                    let size = |i: &Option<Item>| i.as_ref().map_or(0, units::item_size);
                    eprintln!(
                        "write {op} {} {}→{} bytes: {} WRU + {} index{}",
                        t.key,
                        size(&before),
                        size(&after),
                        w.table,
                        w.index,
                        if applied { "" } else { " (refused)" }
                    );
                }
                entry.write_units += w.table;
                entry.index_write_units += w.index;
            }
        }
        if applied && !writes {
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            entry.read_units += reads(&emulator, op, &request, &answer).await;
        }
    } else if service == "AmazonSQS" {
        entry.sqs_requests = body.len().div_ceil(64 * 1024).max(1) as f64;
    } else if service == "TrentService" {
        entry.kms_requests = 1;
    }
    ledger.lock().expect("lock").add(&entry);
    (status, out, bytes).into_response()
}
