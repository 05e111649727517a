//! The function binaries run as Lambda runs them (a Runtime API each, the SQS event
//! source mapping played by the harness), against the moto server: an inbound message
//! through `ingest` ends as a sent reply and signed webhook deliveries, and a poison record
//! lands in its dead-letter queue without holding back the good record of its batch.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use switchboard_core::auth::AdminTokens;
use switchboard_core::domain::ai_log::{AiLog, AiLogStatus};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, AiLogId};
use switchboard_core::jobs::Job;
use switchboard_core::ports::{AiLogStore, JobQueue, OutgoingJob, QueueName};
use switchboard_core::settings::Settings;
use switchboard_tests::aws::{self, Deployment};
use switchboard_tests::fake_llm::{Behaviour, FakeLlm};
use switchboard_tests::lambda::{
    CountingProxy, EventSource, Function, Mappings, call_api, http_answer, http_event, peek,
    queue_arn, sample,
};
use switchboard_tests::receiver::{self, Receiver};

const JWT_SECRET: &str = "lambda-test-secret-of-enough-length-0123456789";

fn admin_token() -> String {
    let env = |name: &str| (name == "ADMIN_JWT_SECRET").then(|| JWT_SECRET.to_string());
    let settings = Settings::from_env(&env, false).expect("settings");
    AdminTokens::new(&settings)
        .mint("tests", chrono::Utc::now(), Duration::from_secs(3600))
        .expect("mint")
        .0
}

fn function_env(d: &Deployment, endpoint: &str) -> Vec<(String, String)> {
    let mut env = d.env_through(endpoint);
    for (k, v) in [
        ("ADMIN_JWT_SECRET", JWT_SECRET),
        // The fake LLM and the webhook receiver listen on loopback.
        ("ALLOW_PRIVATE_NETWORK_URLS", "true"),
        ("RUST_LOG", "warn"),
    ] {
        env.push((k.into(), v.into()));
    }
    env
}

async fn sources(d: &Deployment) -> [EventSource; 3] {
    let client = aws_sdk_sqs::Client::new(&d.sdk);
    let s = &d.settings;
    let mut out = Vec::new();
    for url in [
        &s.ai_reply_queue_url,
        &s.outbound_queue_url,
        &s.webhook_queue_url,
    ] {
        out.push(EventSource {
            client: client.clone(),
            queue_url: url.clone(),
            queue_arn: queue_arn(&client, url).await,
        });
    }
    out.try_into().ok().expect("three sources")
}

fn total(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_message_through_the_functions_ends_as_a_sent_reply_and_delivered_webhooks() {
    let d = aws::deployment(3).await;
    // A counting proxy per function, so each one's AWS requests are told apart.
    let names = ["api", "ingest", "ai-reply", "outbound", "webhook-fanout"];
    let mut proxies = Vec::new();
    for _ in names {
        proxies.push(CountingProxy::start(aws::endpoint()).await);
    }
    let env: Vec<_> = proxies.iter().map(|p| function_env(&d, &p.url)).collect();
    // One at a time, so each init has the machine to itself, as on Lambda.
    let mut started = Vec::new();
    for (name, env) in names.iter().zip(&env) {
        let f = Function::start(name, env).await;
        let init = f.init_time().await;
        eprintln!("{} init {:.1} ms", f.name, init.as_secs_f64() * 1000.0);
        started.push(f);
    }
    let [api, ingest, ai_reply, outbound, fanout]: [Function; 5] =
        started.try_into().ok().expect("five functions");
    let take_all = || -> Vec<BTreeMap<String, u64>> { proxies.iter().map(|p| p.take()).collect() };
    let warm_up = take_all();

    let llm = FakeLlm::start().await;
    let hooks = Receiver::start(Receiver::ok()).await;
    let admin = admin_token();
    let call = |method: &'static str, path: String, token: String, body: Option<Value>| {
        let api = &api;
        async move {
            http_answer(
                api.invoke(http_event(
                    "api/post-account.json",
                    method,
                    &path,
                    &token,
                    body.as_ref(),
                ))
                .await,
            )
        }
    };
    let (status, account) = call(
        "POST",
        "/v1/accounts".into(),
        admin.clone(),
        Some(json!({"name": "shop", "provider": "sandbox"})),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let (account_id, token) = (
        account["id"].as_str().expect("id").to_string(),
        account["token"].as_str().expect("token").to_string(),
    );
    let (status, body) = call(
        "PUT",
        "/v1/ai/global".into(),
        admin.clone(),
        Some(json!({
            "enabled": true,
            "base_url": llm.base_url,
            "api_key": "sk-lambda-test",
            "model_name": "fake-model",
            "reply_delay_seconds": 2
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.to_string().contains("sk-lambda-test"),
        "the key is never returned"
    );
    let (status, hook) = call(
        "POST",
        "/v1/webhooks".into(),
        admin.clone(),
        Some(json!({"url": hooks.url, "events": ["*"]})),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().expect("secret").to_string();
    let setup = take_all();

    let [replies, sends, events] = sources(&d).await;
    // One inbound message through ingest, then the queues pumped until its four events are
    // delivered; `n` is the message's number.
    let flow_of = |n: usize| {
        let (ingest, ai_reply, outbound, fanout) = (&ingest, &ai_reply, &outbound, &fanout);
        let (replies, sends, events, hooks) = (&replies, &sends, &events, &hooks);
        let (account_id, token) = (account_id.clone(), token.clone());
        async move {
            // The sample inbound event, for this account.
            let sample_event = sample("ingest/post-inbound.json");
            let mut message: Value =
                serde_json::from_str(sample_event["body"].as_str().expect("body"))
                    .expect("body json");
            message["message_id"] = json!(format!("wamid.{}", ulid::Ulid::new()));
            let path = format!("/v1/ingest/{account_id}");
            let mut inbound = http_event(
                "ingest/post-inbound.json",
                "POST",
                &path,
                &token,
                Some(&message),
            );
            inbound["pathParameters"]["proxy"] = json!(account_id);
            let (status, body) = http_answer(ingest.invoke(inbound).await);
            assert!(status == 200 || status == 202, "{status} {body}");
            let mappings = Mappings(vec![
                (replies, ai_reply),
                (sends, outbound),
                (events, fanout),
            ]);
            let got = mappings
                .until(Duration::from_secs(60), "its four events", || async {
                    let got = hooks.received();
                    (got.len() >= 4 * n).then_some(got)
                })
                .await;
            (message, got)
        }
    };
    let accepted_at = Instant::now();
    let (message, delivered) = flow_of(1).await;
    let elapsed = accepted_at.elapsed();
    let flow = take_all();
    // A second message while the functions are warm: the steady state.
    for f in [&ingest, &ai_reply, &outbound, &fanout] {
        f.take_timings();
    }
    let (_, delivered_too) = flow_of(2).await;
    let warm_flow = take_all();
    for f in [&ingest, &ai_reply, &outbound, &fanout] {
        let ms: Vec<String> = f
            .take_timings()
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
            .collect();
        eprintln!(
            "{} handler ms per invocation, warm: {}",
            f.name,
            ms.join(", ")
        );
    }
    assert_eq!(delivered_too.len(), 8, "four events per message, each once");
    let types: Vec<String> = delivered
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
        .collect();
    for t in [
        "message.received",
        "ai.reply.generated",
        "ai.reply.sent",
        "message.sent",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} delivered: {types:?}");
    }

    for r in &delivered {
        assert!(receiver::verify(&secret, r), "signed: {}", r.json());
    }
    let sent = delivered
        .iter()
        .map(|r| r.json())
        .find(|e| e["type"] == "message.sent")
        .expect("message.sent");
    assert_eq!(
        sent["data"]["text"].as_str(),
        Some(format!("reply to: {}", message["text"].as_str().unwrap_or_default()).as_str()),
        "the generated reply went out: {sent}"
    );
    let asked = llm.requests();
    assert_eq!(asked.len(), 2, "one LLM call per message");
    assert_eq!(
        asked[0].authorization.as_deref(),
        Some("Bearer sk-lambda-test"),
        "the key sealed by api (KMS) opens in ai-reply"
    );

    let (status, logs) = call("GET", "/v1/ai/logs".into(), admin.clone(), None).await;
    assert_eq!(status, 200, "{logs}");
    let row = &logs["items"][1];
    assert_eq!(row["status"], "sent", "{row}");
    let created =
        chrono::DateTime::parse_from_rfc3339(row["created_at"].as_str().expect("created"))
            .expect("time");
    let sent_at = chrono::DateTime::parse_from_rfc3339(row["sent_at"].as_str().expect("sent_at"))
        .expect("time");
    assert!(
        sent_at - created >= chrono::Duration::seconds(2),
        "reply_delay_seconds is kept by the queue's delay: generated {created}, sent {sent_at}"
    );

    let report = |what: &str, counts: &[BTreeMap<String, u64>]| {
        let sum: u64 = counts.iter().map(total).sum();
        eprintln!("AWS requests, {what}: {sum}");
        for (name, c) in names.iter().zip(counts) {
            eprintln!("  {name}: {} {c:?}", total(c));
        }
    };
    report("at init", &warm_up);
    report("of the setup calls", &setup);
    report(
        &format!(
            "inbound to reply sent with 4 webhooks delivered ({:.1} s)",
            elapsed.as_secs_f64()
        ),
        &flow,
    );
    report("of a second message, the functions warm", &warm_flow);
    let reply_path =
        |counts: &[BTreeMap<String, u64>]| -> u64 { counts[..4].iter().map(total).sum() };
    eprintln!(
        "AWS requests of the reply path (ingest, ai-reply, outbound): first {}, warm {}",
        reply_path(&flow),
        reply_path(&warm_flow)
    );
    // Counts, not times: what a message costs on AWS, kept from growing unseen (its price, by
    // write and read units, is `bench/cost`'s). Two of them are the overview's hourly counts:
    // one `UpdateItem` (ADD, 1 write unit) in `ingest` for the message in, one in `outbound` for
    // the message out and the AI reply sent together. An inbound message is recorded, and a
    // send settled, in three single writes each (provider-id record, message, then its chat or
    // its log row) where one transaction billed every item twice: four requests more than the
    // two transactions, seven write units fewer (`bench/cost` prices them). The reply is
    // recorded the same way (its log row, then its message), read back by the row's key: two
    // requests more than its transaction, four write units fewer.
    assert!(
        reply_path(&warm_flow) <= 20,
        "at most 20 AWS requests per replied message with the functions warm: {warm_flow:?}"
    );
    assert!(
        total(&warm_flow[4]) <= 4,
        "a webhook delivery costs its attempt record alone, made by the fan-out: {warm_flow:?}"
    );
    for f in [api, ingest, ai_reply, outbound, fanout] {
        f.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_goes_to_the_dead_letter_queue_without_holding_back_its_batch() {
    let d = aws::deployment(2).await;
    let env = function_env(&d, &aws::endpoint());
    let fanout = Function::start("webhook-fanout", &env).await;
    let client = aws_sdk_sqs::Client::new(&d.sdk);
    let good = sample("webhook-fanout/batch.json")["Records"][0]["body"]
        .as_str()
        .expect("sample body")
        .to_string();
    let poison = r#"{"kind":"no-such-job"}"#.to_string();
    for body in [&poison, &good] {
        client
            .send_message()
            .queue_url(&d.settings.webhook_queue_url)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }
    let [_, _, events] = sources(&d).await;
    let dead = Mappings(vec![(&events, &fanout)])
        .until(
            Duration::from_secs(30),
            "the poison record in the DLQ",
            || async {
                let dead = peek(&client, &d.dead_letters[2]).await;
                (!dead.is_empty()).then_some(dead)
            },
        )
        .await;
    assert_eq!(dead, [poison], "only the poison record is dead-lettered");
    assert!(
        peek(&client, &d.settings.webhook_queue_url)
            .await
            .is_empty(),
        "the good record was done at the first delivery, and nothing is left"
    );
    fanout.stop().await;
}

/// A provider webhook through `ingest`, as Meta sends it: signed over its raw bytes.
fn whatsapp_event(account: &str, notification: &Value, app_secret: &str) -> Value {
    let body = notification.to_string();
    let signature = switchboard_tests::fake_graph::hub_signature(app_secret, body.as_bytes());
    let path = format!("/v1/ingest/whatsapp/{account}");
    let mut event = sample("ingest/post-whatsapp.json");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"]["proxy"] = json!(format!("whatsapp/{account}"));
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["headers"]["x-hub-signature-256"] = json!(signature);
    event["body"] = json!(body);
    event
}

/// A WhatsApp number's flow on the functions (`api`, `ingest`, `ai-reply`, `outbound`) against
/// moto, with the Graph API faked, and an account of the number created through `api`.
struct WhatsappOnFunctions {
    d: Deployment,
    graph: switchboard_tests::fake_graph::FakeGraph,
    api: Function,
    ingest: Function,
    ai_reply: Function,
    outbound: Function,
    admin: String,
    account_id: String,
}

const WA_APP_SECRET: &str = "lambda-app-secret";

impl WhatsappOnFunctions {
    async fn start() -> Self {
        use switchboard_tests::fake_graph::{ACCESS_TOKEN, FakeGraph};
        let d = aws::deployment(3).await;
        let graph = FakeGraph::start().await;
        let mut env = function_env(&d, &aws::endpoint());
        env.push(("WHATSAPP_API_BASE_URL".into(), graph.base_url.clone()));
        let mut flow = Self {
            api: Function::start("api", &env).await,
            ingest: Function::start("ingest", &env).await,
            ai_reply: Function::start("ai-reply", &env).await,
            outbound: Function::start("outbound", &env).await,
            d,
            graph,
            admin: admin_token(),
            account_id: String::new(),
        };
        let (status, account) = flow
            .call(
                "POST",
                "/v1/accounts",
                Some(
                    json!({"name": "Bike shop", "provider": "whatsapp_cloud", "provider_config": {
                    "phone_number_id": "106540352242922", "access_token": ACCESS_TOKEN,
                    "app_secret": WA_APP_SECRET}}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        flow.account_id = account["id"].as_str().expect("id").to_string();
        flow
    }

    /// An admin's request to `api`.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        call_api(&self.api, &self.admin, method, path, body.as_ref()).await
    }

    /// A notification through `ingest`, signed with `secret`.
    async fn notify(&self, notification: &Value, secret: &str) -> (u16, Value) {
        let event = whatsapp_event(&self.account_id, notification, secret);
        http_answer(self.ingest.invoke(event).await)
    }

    /// Plays the queues' event sources until the Graph API was sent a text; that send.
    async fn first_send(&self) -> switchboard_tests::fake_graph::GraphRequest {
        let [replies, sends, _] = sources(&self.d).await;
        Mappings(vec![(&replies, &self.ai_reply), (&sends, &self.outbound)])
            .until(
                Duration::from_secs(60),
                "a send at the Graph API",
                || async { self.graph.sends().into_iter().next() },
            )
            .await
    }

    /// The messages of a chat of the account, newest first.
    async fn messages(&self, chat: &str) -> Vec<Value> {
        let path = format!("/v1/accounts/{}/chats/{chat}/messages", self.account_id);
        let (_, listed) = self.call("GET", &path, None).await;
        listed["items"].as_array().cloned().unwrap_or_default()
    }

    async fn stop(self) {
        for f in [self.api, self.ingest, self.ai_reply, self.outbound] {
            f.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_whatsapp_notification_through_the_functions_is_answered_on_the_graph_api_and_read()
 {
    use switchboard_tests::fake_graph::ACCESS_TOKEN;
    let flow = WhatsappOnFunctions::start().await;
    let (status, body) = flow
        .call(
            "PUT",
            "/v1/ai/global",
            Some(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // The sample notification, for this account, signed with its app secret (sealed by `api`
    // with KMS, opened by `ingest`).
    let sample_event = sample("ingest/post-whatsapp.json");
    let mut notification: Value =
        serde_json::from_str(sample_event["body"].as_str().expect("body")).expect("json");
    // Written a minute ago, inside the customer's 24-hour window (the sample's date is fixed).
    notification["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] =
        json!(switchboard_tests::wa_timestamp(0));
    let text =
        notification["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"].clone();
    let (status, taken) = flow.notify(&notification, WA_APP_SECRET).await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["messages"], 1);
    let (status, refused) = flow.notify(&notification, "wrong").await;
    assert_eq!(status, 401, "{refused}");

    let sent = flow.first_send().await;
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str()),
        "the access token sealed by api (KMS) opens in outbound"
    );
    assert_eq!(sent.body["to"], "16505551234");
    assert_eq!(sent.body["text"]["body"], text);

    // The send settled in the invocation that made it; then Meta says it was read.
    let chat = "16505551234@s.whatsapp.net";
    let our_reply = || async {
        flow.messages(chat)
            .await
            .into_iter()
            .find(|m| m["from_me"] == true)
            .expect("the reply")
    };
    let reply = our_reply().await;
    assert_eq!(reply["status"], "sent", "{reply}");
    let wamid = reply["provider_message_id"].as_str().expect("wamid");
    let status_notification = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": [{"id": wamid, "status": "read", "timestamp": "1749893420", "recipient_id": "16505551234"}]}}]}]});
    let before_read = chrono::Utc::now();
    let (status, taken) = flow.notify(&status_notification, WA_APP_SECRET).await;
    assert_eq!(status, 200, "{taken}");
    let reply = our_reply().await;
    assert_eq!(reply["status"], "read", "{reply}");

    // The open chat page's poll through `api` (one Query of the chat's partition): only the
    // message Meta's status changed since.
    let since = before_read.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let changes = format!(
        "/v1/accounts/{}/chats/{chat}/changes?since={since}",
        flow.account_id
    );
    let (status, changed) = flow.call("GET", &changes, None).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["messages"].as_array().map(Vec::len),
        Some(1),
        "{changed}"
    );
    assert_eq!(changed["messages"][0]["status"], "read");
    assert!(
        changed["chat"]["service_window_expires_at"].is_string(),
        "{changed}"
    );

    // A person answers from the dashboard: the AI steps back in that chat.
    let send = format!("/v1/accounts/{}/messages", flow.account_id);
    let body = json!({"chat_id": chat, "text": "A colleague will call you.", "pause_ai": true});
    let (status, sent) = flow.call("POST", &send, Some(body)).await;
    assert_eq!(status, 202, "{sent}");
    assert!(sent["ai_paused_until"].is_string(), "{sent}");

    // The overview through `api`: the day's counts kept in DynamoDB by ingest, ai-reply and
    // outbound as they told their events, and the chat a human took over.
    let (status, overview) = flow.call("GET", "/v1/overview", None).await;
    assert_eq!(status, 200, "{overview}");
    let day = &overview["items"][0];
    assert_eq!(
        day["activity"],
        json!({"messages_in": 1, "messages_out": 1, "ai_sent": 1, "ai_skipped": 0, "ai_failed": 0}),
        "{overview}"
    );
    assert_eq!(day["attention"][0]["chat"]["chat_id"], chat);
    assert_eq!(day["attention"][0]["reasons"], json!(["human_takeover"]));

    // Counted, but not queued: no subscription wants the events this flow told, so none of
    // them costs the webhook queue or its fan-out anything.
    let sqs = aws_sdk_sqs::Client::new(&flow.d.sdk);
    assert_eq!(
        peek(&sqs, &flow.d.settings.webhook_queue_url).await,
        Vec::<String>::new(),
        "no event queued without a subscription"
    );
    flow.stop().await;
}

/// A client's template send through `api` (the template list read from the Graph API once and
/// cached in DynamoDB) goes out through `outbound` as Meta's components; then the customer's
/// STOP through `ingest` opts them out, and the next client send is refused by `api`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_goes_out_through_the_functions_and_a_stop_through_ingest_blocks_the_next_send()
{
    let flow = WhatsappOnFunctions::start().await;
    let path = format!("/v1/accounts/{}", flow.account_id);
    let waba = json!({"provider_config": {"business_account_id": "102290129340398"}});
    let (status, body) = flow.call("PATCH", &path, Some(waba)).await;
    assert_eq!(status, 200, "{body}");
    flow.graph.add_template(
        json!({"name": "bike_ready", "language": "en_US", "status": "APPROVED",
        "category": "UTILITY", "components": [{"type": "BODY", "text": "Your {{1}} is ready.",
        "example": {"body_text": [["bike"]]}}]}),
    );
    let (status, created) = flow
        .call(
            "POST",
            "/v1/api-keys",
            Some(json!({"name": "assistant", "phone_ids": ["*"],
            "channels": ["*"], "recipient_allowlist": null, "rate_limit_per_minute": 60,
            "require_confirmation": false})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_string();
    let client_send = |body: Value| {
        let event = http_event(
            "api/post-account.json",
            "POST",
            "/api/v1/messages",
            &key,
            Some(&body),
        );
        let api = &flow.api;
        async move { http_answer(api.invoke(event).await) }
    };
    let template = json!({"phone_id": flow.account_id, "channel": "wa", "to": "+16505551234",
        "template": {"name": "bike_ready", "language": "en_US", "params": {"body": ["Cargo 2"]}}});
    let (status, queued) = client_send(template.clone()).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["sent_as"], "template");
    let (status, _) = client_send(json!({"phone_id": flow.account_id, "channel": "wa",
        "to": "+16505551234", "template": {"name": "bike_ready", "language": "en_US",
        "params": {"body": ["Cargo 3"]}}}))
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        flow.graph.template_lists().len(),
        1,
        "the second send read the cache in DynamoDB"
    );
    let [_, sends, _] = sources(&flow.d).await;
    let sent = Mappings(vec![(&sends, &flow.outbound)])
        .until(
            Duration::from_secs(60),
            "a template at the Graph API",
            || async { flow.graph.template_sends().into_iter().next() },
        )
        .await;
    assert_eq!(
        sent.body["template"],
        json!({"name": "bike_ready", "language": {"code": "en_US"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Cargo 2"}]}]})
    );

    let stop = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.STOP", "timestamp": switchboard_tests::wa_timestamp(0),
                "type": "text", "text": {"body": "STOP"}}]}}]}]});
    let (status, taken) = flow.notify(&stop, WA_APP_SECRET).await;
    assert_eq!(status, 200, "{taken}");
    let (status, refused) = client_send(template).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "recipient_opted_out");
    flow.stop().await;
}

/// A voice note through the functions: `ingest` stores it with its media id, `ai-reply` asks
/// the Graph API for the file (the access token sealed by `api`, opened with KMS), sends it to
/// the transcription endpoint as `voice.ogg`, and the reply answering the transcript goes out
/// through `outbound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_whatsapp_voice_note_through_the_functions_is_transcribed_and_answered() {
    use switchboard_tests::fake_graph::ACCESS_TOKEN;
    let llm = FakeLlm::start().await;
    let flow = WhatsappOnFunctions::start().await;
    let (status, body) = flow
        .call(
            "PUT",
            "/v1/ai/global",
            Some(
                json!({"enabled": true, "base_url": llm.base_url, "api_key": "sk-lambda",
                        "reply_delay_seconds": 0}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let voice = b"OggS\x00\x02lambda-voice".to_vec();
    flow.graph
        .add_media("media-lambda", voice.clone(), "audio/ogg; codecs=opus");
    let notification = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.VOICE", "timestamp": switchboard_tests::wa_timestamp(0),
                "type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "lambda-sha",
                "id": "media-lambda", "voice": true}}]}}]}]});
    let (status, taken) = flow.notify(&notification, WA_APP_SECRET).await;
    assert_eq!(status, 200, "{taken}");

    let sent = flow.first_send().await;
    let uploads = llm.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].file_name, "voice.ogg");
    assert_eq!(uploads[0].bytes, voice);
    assert_eq!(
        uploads[0].authorization.as_deref(),
        Some("Bearer sk-lambda")
    );
    let heard = format!("heard {} bytes of voice.ogg", voice.len());
    assert_eq!(
        sent.body["text"]["body"],
        json!(format!("reply to: [voice note] {heard}"))
    );
    let media = flow.graph.media_requests();
    let token = format!("Bearer {ACCESS_TOKEN}");
    assert_eq!(media.len(), 2, "{media:?}");
    assert!(
        media
            .iter()
            .all(|r| r.authorization.as_deref() == Some(token.as_str())),
        "both steps carry the token sealed by api: {media:?}"
    );
    let voice_note = flow
        .messages("16505551234@s.whatsapp.net")
        .await
        .into_iter()
        .find(|m| m["provider_message_id"] == "wamid.VOICE")
        .expect("the voice note");
    assert_eq!(voice_note["media"]["status"], "ready", "{voice_note}");
    assert_eq!(voice_note["media"]["transcript"], json!(heard));
    flow.stop().await;
}

/// A client's send, once by `POST /api/v1/messages` through the `api` function and once by the
/// MCP server's `send_message` through the `mcp` function, both sent by `outbound`; the
/// idempotency record, the message and its audit row are written in one DynamoDB transaction,
/// so the replay finds the first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sends_through_the_api_and_the_mcp_server_on_the_functions() {
    let d = aws::deployment(2).await;
    let env = function_env(&d, &aws::endpoint());
    let api = Function::start("api", &env).await;
    let mcp = Function::start("mcp", &env).await;
    let outbound = Function::start("outbound", &env).await;
    let admin = admin_token();
    // As API Gateway routes them: `ANY /mcp` to its function, everything else to `api`.
    let call = |method: &'static str, path: &str, token: &str, body: Option<Value>| {
        let (sample, function) = match path {
            "/mcp" => ("mcp/post-tools-call.json", &mcp),
            _ => ("api/post-account.json", &api),
        };
        let event = http_event(sample, method, path, token, body.as_ref());
        async move { http_answer(function.invoke(event).await) }
    };
    let (status, account) = call(
        "POST",
        "/v1/accounts",
        &admin,
        Some(json!({"name": "shop", "provider": "sandbox"})),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let phone = account["id"].as_str().expect("id").to_string();
    let (status, key) = call(
        "POST",
        "/v1/api-keys",
        &admin,
        Some(
            json!({"name": "assistant", "phone_ids": [phone], "channels": ["sms"],
            "recipient_allowlist": ["+15551234567"], "rate_limit_per_minute": 60,
            "require_confirmation": false}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key = key["key"].as_str().expect("key").to_string();

    let order = json!({"phone_id": phone, "channel": "sms", "to": "+15551234567",
        "text": "Your order shipped", "idempotency_key": "order-7"});
    let (status, rest) = call("POST", "/api/v1/messages", &key, Some(order.clone())).await;
    assert_eq!(status, 202, "{rest}");
    let (status, replay) = call("POST", "/api/v1/messages", &key, Some(order)).await;
    assert_eq!((status, &replay["id"]), (200, &rest["id"]), "{replay}");

    let tool_call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "send_message", "arguments": {"phone_id": phone, "channel": "sms",
        "to": "+15551234567", "text": "And here is its tracking number"}}});
    let (status, answer) = call("POST", "/mcp", &key, Some(tool_call)).await;
    assert_eq!(status, 200, "{answer}");
    let queued = &answer["result"]["structuredContent"];
    assert_eq!(queued["status"], "queued", "{answer}");
    // The `mcp` function serves `/mcp` alone.
    let elsewhere = http_event("api/post-account.json", "GET", "/v1/accounts", &admin, None);
    let (status, answer) = http_answer(mcp.invoke(elsewhere).await);
    assert_eq!(status, 404, "{answer}");

    let [_, sends, _] = sources(&d).await;
    for id in [&rest["id"], &queued["id"]] {
        let path = format!("/api/v1/messages/{}", id.as_str().expect("id"));
        let sent = Mappings(vec![(&sends, &outbound)])
            .until(Duration::from_secs(30), "the message sent", || async {
                let (_, m) = call("GET", &path, &key, None).await;
                (m["status"] == "sent").then_some(m)
            })
            .await;
        assert!(sent["status_times"]["sent"].is_string(), "{sent}");
    }
    let (status, audit) = call("GET", "/api/v1/audit", &admin, None).await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    let count = |action: &str| actions.iter().filter(|a| **a == action).count();
    assert_eq!(
        (count("send"), count("replay")),
        (2, 1),
        "one row per send, and the replay its own: {actions:?}"
    );
    // The dashboard comes from the same function, with its headers.
    let page = api
        .invoke(http_event(
            "api/post-account.json",
            "GET",
            "/dashboard/pending",
            "",
            None,
        ))
        .await
        .expect("the dashboard");
    assert_eq!(page["statusCode"], 200, "{page}");
    let csp = page["headers"]["content-security-policy"]
        .as_str()
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{page}");
    assert!(
        page["body"]
            .as_str()
            .unwrap_or_default()
            .contains("/dashboard/assets/app.js"),
        "{page}"
    );
    // The same document and the same body rules as `switchboard serve`.
    let (status, document) = call("GET", "/openapi.json", "", None).await;
    assert_eq!(status, 200);
    assert_eq!(document, switchboard_core::http::openapi());
    let (status, refused) = call(
        "PATCH",
        &format!("/v1/accounts/{phone}"),
        &admin,
        Some(json!(["renamed", null])),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["message"].clone()),
        (400, json!("body must be a JSON object"))
    );
    api.stop().await;
    mcp.stop().await;
    outbound.stop().await;
}

/// A sandbox account with the AI on (no delay, 5 s to answer) whose customer asks "are you
/// open?", through the ingest function; the account's id.
async fn customer_asks(
    env: &[(String, String)],
    api: &Function,
    admin: &str,
    llm: &FakeLlm,
) -> String {
    let account = json!({"name": "shop", "provider": "sandbox"});
    let (status, account) = call_api(api, admin, "POST", "/v1/accounts", Some(&account)).await;
    assert_eq!(status, 201, "{account}");
    let (account_id, token) = (
        account["id"].as_str().expect("id").to_string(),
        account["token"].as_str().expect("token").to_string(),
    );
    let ai = json!({"enabled": true, "base_url": llm.base_url, "api_key": "sk-lambda",
        "reply_delay_seconds": 0, "timeout_seconds": 5});
    let (status, body) = call_api(api, admin, "PUT", "/v1/ai/global", Some(&ai)).await;
    assert_eq!(status, 200, "{body}");
    let message = json!({"message_id": "wamid.asks", "chat_id": "15551234567@s.whatsapp.net",
        "from": "15551234567@s.whatsapp.net", "text": "are you open?"});
    let path = format!("/v1/ingest/{account_id}");
    let mut inbound = http_event(
        "ingest/post-inbound.json",
        "POST",
        &path,
        &token,
        Some(&message),
    );
    inbound["pathParameters"]["proxy"] = json!(account_id);
    let ingest = Function::start("ingest", env).await;
    let (status, body) = http_answer(ingest.invoke(inbound).await);
    assert!(status == 200 || status == 202, "{status} {body}");
    ingest.stop().await;
    account_id
}

/// DynamoDB records a generated reply in two writes, its log row first (the commit point, one
/// per inbound message by its key), then its message. A run that stopped between them leaves
/// the row `generated` without its message, and the reply job is delivered again since that
/// run never finished: the next run makes the message from the row (same id, same text),
/// without asking the LLM again, and sends it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_whose_run_stopped_after_its_log_row_is_made_from_the_row_and_sent_once() {
    let d = aws::deployment(3).await;
    let env = function_env(&d, &aws::endpoint());
    let api = Function::start("api", &env).await;
    let outbound = Function::start("outbound", &env).await;
    let ai_reply = Function::start("ai-reply", &env).await;
    let llm = FakeLlm::start().await;
    let admin = admin_token();
    let account_id = customer_asks(&env, &api, &admin, &llm).await;
    let [replies, sends, _] = sources(&d).await;
    let logs = Mappings(vec![(&replies, &ai_reply)])
        .until(Duration::from_secs(30), "the reply generated", || async {
            let (_, logs) = call_api(&api, &admin, "GET", "/v1/ai/logs", None).await;
            (logs["items"][0]["status"] == "generated").then_some(logs)
        })
        .await;
    let row: AiLog = serde_json::from_value(logs["items"][0].clone()).expect("row");
    let reply_id = row
        .reply_message_id
        .clone()
        .expect("the row names its reply");
    let inbound_id = row.inbound_message_id.clone().expect("inbound");
    assert_eq!(row.id, AiLogId::deciding(&inbound_id), "{row:?}");

    // Back to what the run had written when it stopped: the row alone, no send queued.
    let dynamo = aws_sdk_dynamodb::Client::new(&d.sdk);
    let items = dynamo
        .scan()
        .table_name(&d.settings.table)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    let reply_item: Vec<_> = items
        .into_iter()
        .filter(|i| i.get("sk").and_then(|v| v.as_s().ok()) == Some(&format!("M#{reply_id}")))
        .collect();
    assert_eq!(reply_item.len(), 1, "the reply's item");
    dynamo
        .delete_item()
        .table_name(&d.settings.table)
        .key("pk", reply_item[0]["pk"].clone())
        .key("sk", reply_item[0]["sk"].clone())
        .send()
        .await
        .expect("delete");
    sends
        .client
        .purge_queue()
        .queue_url(&sends.queue_url)
        .send()
        .await
        .expect("purge");
    let job = Job::Reply {
        account_id: row.account_id.clone(),
        chat_id: row.chat_id.clone(),
        message_id: inbound_id,
    };
    let again = OutgoingJob {
        body: serde_json::to_string(&job).expect("job"),
        delay: Duration::ZERO,
    };
    d.queue()
        .enqueue_many(vec![(QueueName::AiReply, again)])
        .await
        .expect("redelivered");

    let messages_path =
        format!("/v1/accounts/{account_id}/chats/15551234567@s.whatsapp.net/messages");
    let sent = Mappings(vec![(&replies, &ai_reply), (&sends, &outbound)])
        .until(Duration::from_secs(30), "the reply sent", || async {
            let (_, page) = call_api(&api, &admin, "GET", &messages_path, None).await;
            let ai: Vec<Value> = page["items"]
                .as_array()?
                .iter()
                .filter(|m| m["origin"] == "ai")
                .cloned()
                .collect();
            ai.iter().any(|m| m["status"] == "sent").then_some(ai)
        })
        .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["id"], json!(reply_id), "under the id the row names");
    assert_eq!(sent[0]["text"], json!(row.reply), "with the row's text");
    assert_eq!(llm.requests().len(), 1, "the LLM was asked once");
    let store = switchboard_aws::dynamo::DynamoStore::new(dynamo, d.settings.table.clone());
    let settled = settled_row(
        &store,
        (&sends, &outbound),
        (&row.account_id, &row.chat_id, &row.id),
    )
    .await;
    assert!(settled.sent_at.is_some(), "{settled:?}");
    api.stop().await;
    outbound.stop().await;
    ai_reply.stop().await;
}

/// A reply job whose first invocation dies while the LLM writes: SQS hands the message again
/// once its visibility timeout runs out; that run finds the reply claimed by the dead one and
/// puts a new job on the queue for when the claim lapses (`timeout_seconds` and a margin), so
/// the redelivery does not count towards the dead-letter limit; the job after it takes the claim
/// over, generates once and sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_whose_first_invocation_dies_mid_llm_call_is_generated_and_sent_once_and_its_row_settled()
 {
    let d = aws::deployment(3).await;
    let env = function_env(&d, &aws::endpoint());
    let api = Function::start("api", &env).await;
    let outbound = Function::start("outbound", &env).await;
    let llm = FakeLlm::start().await;
    llm.set(Behaviour::Hang);
    let admin = admin_token();
    let call = |method: &'static str, path: &str, body: Value| {
        let (api, admin, path) = (&api, &admin, path.to_string());
        async move { call_api(api, admin, method, &path, Some(&body)).await }
    };
    let account_id = customer_asks(&env, &api, &admin, &llm).await;
    let [replies, sends, _] = sources(&d).await;
    let first = Function::start("ai-reply", &env).await;
    // The first invocation is with the LLM, which does not answer: then the function dies.
    tokio::select! {
        _ = replies.pump(&first) => panic!("the first invocation ended"),
        () = switchboard_tests::eventually(Duration::from_secs(30), "the LLM asked", || async {
            (!llm.requests().is_empty()).then_some(())
        }) => {}
    }
    first.stop().await;

    llm.set(Behaviour::Echoing);
    let second = Function::start("ai-reply", &env).await;
    let messages_path =
        format!("/v1/accounts/{account_id}/chats/15551234567@s.whatsapp.net/messages");
    let sent = Mappings(vec![(&replies, &second), (&sends, &outbound)])
        .until(Duration::from_secs(60), "the reply sent", || async {
            let (_, page) = call("GET", &messages_path, Value::Null).await;
            let replies: Vec<Value> = page["items"]
                .as_array()?
                .iter()
                .filter(|m| m["origin"] == "ai")
                .cloned()
                .collect();
            replies
                .iter()
                .any(|m| m["status"] == "sent")
                .then_some(replies)
        })
        .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["text"], "reply to: are you open?");
    assert_eq!(
        llm.requests().len(),
        2,
        "asked once more, after the claim lapsed"
    );
    assert!(
        peek(&replies.client, &d.dead_letters[0]).await.is_empty(),
        "nothing dead-lettered"
    );

    // The send settles the message and then its log row, in two writes. A run that stopped
    // between them leaves the row `generated` under a sent message, and its job is delivered
    // again: that run settles the row.
    let store = switchboard_aws::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&d.sdk),
        d.settings.table.clone(),
    );
    let (_, logs) = call("GET", "/v1/ai/logs", Value::Null).await;
    let log_id = logs["items"][0]["id"].as_str().expect("log id");
    let log_id = AiLogId::parse(log_id).expect("log id parses");
    let account = AccountId::parse(logs["items"][0]["account_id"].as_str().expect("account"))
        .expect("account id parses");
    let chat = ChatJid::parse(logs["items"][0]["chat_id"].as_str().expect("chat"))
        .expect("chat id parses");
    let sent_row = store
        .get_ai_log(&account, &chat, &log_id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(sent_row.status, AiLogStatus::Sent);
    let left = AiLog {
        status: AiLogStatus::Generated,
        sent_at: None,
        ..sent_row.clone()
    };
    assert!(
        store
            .update_ai_log_if(AiLogStatus::Sent, &left)
            .await
            .expect("set back")
    );
    let job = Job::Send {
        account_id: left.account_id.clone(),
        chat_id: left.chat_id.clone(),
        message_id: left.reply_message_id.clone().expect("reply id"),
        ai_log_id: Some(log_id.clone()),
        withdraw_if_newer: false,
        attempt: 0,
    };
    let body = serde_json::to_string(&job).expect("job");
    let again = OutgoingJob {
        body,
        delay: Duration::ZERO,
    };
    d.queue()
        .enqueue_many(vec![(QueueName::Outbound, again)])
        .await
        .expect("redelivered");
    let settled = settled_row(&store, (&sends, &outbound), (&account, &chat, &log_id)).await;
    assert!(settled.sent_at.is_some(), "{settled:?}");
    let (_, page) = call("GET", &messages_path, Value::Null).await;
    let ai: Vec<&Value> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["origin"] == "ai")
        .collect();
    assert_eq!(ai.len(), 1, "nothing sent again: {ai:?}");
    assert_eq!(ai[0]["status"], "sent");
}

/// The AI log row `id`, once the sends `outbound` takes from `sends` have settled it as sent.
async fn settled_row(
    store: &switchboard_aws::dynamo::DynamoStore,
    (sends, outbound): (&EventSource, &Function),
    (account, chat, id): (&AccountId, &ChatJid, &AiLogId),
) -> AiLog {
    Mappings(vec![(sends, outbound)])
        .until(Duration::from_secs(30), "the row settled", || async {
            let row = store.get_ai_log(account, chat, id).await.ok().flatten()?;
            (row.status == AiLogStatus::Sent).then_some(row)
        })
        .await
}
