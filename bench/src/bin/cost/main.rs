//! What one AI-replied WhatsApp message costs on AWS, measured: the five release function
//! binaries under the Lambda Runtime API harness against moto, every AWS request they make
//! recorded and priced by the services' rules (see BENCHMARKS.md, "What a reply costs").
//!
//! usage: bench/cost [--messages N] [--scopes A,B,C]

mod flow;
mod ledger;
mod prices;
mod units;

use anyhow::Result;
use clap::Parser;
use flow::{FunctionCost, Latency, Measured, Scope};
use prices::*;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "AWS cost per AI-replied message, measured on the functions against moto")]
struct Args {
    /// Warm messages measured per scope (after one that warms the caches).
    #[arg(long, default_value_t = 5)]
    messages: usize,
    /// Scopes: A (three statuses, one subscription for `*`), B (no statuses), C (neither).
    #[arg(long, default_value = "A,B,C", value_delimiter = ',')]
    scopes: Vec<String>,
    /// The LLM's answer time, ms.
    #[arg(long, default_value_t = 1500)]
    llm_ms: u64,
    /// The Graph API's answer time, ms (a send, a typing indicator).
    #[arg(long, default_value_t = 250)]
    graph_ms: u64,
    /// A webhook subscriber's answer time, ms.
    #[arg(long, default_value_t = 100)]
    subscriber_ms: u64,
    /// The SAM template whose memory sizes and log level are priced (the repository's by
    /// default; another to price an earlier build side by side).
    #[arg(long)]
    template: Option<std::path::PathBuf>,
}

/// One line of the bill, $ per million messages.
struct Bill {
    lines: Vec<(&'static str, f64)>,
}

impl Bill {
    fn total(&self) -> f64 {
        self.lines.iter().map(|(_, v)| v).sum()
    }
}

fn bill(m: &Measured, template: &Template) -> Bill {
    let per = |x: f64| x / m.messages as f64 * 1e6;
    let priced: Vec<&FunctionCost> = m.functions.iter().filter(|f| f.name != "api").collect();
    let sum = |f: &dyn Fn(&FunctionCost) -> f64| priced.iter().map(|c| f(c)).sum::<f64>();
    let platform = if template.platform_logs() {
        PLATFORM_LOG_BYTES
    } else {
        0
    };
    Bill {
        lines: vec![
            (
                "HTTP API",
                // Meta posts to ingest: through the HTTP API, unless it has its own URL.
                per(if template.function_url("ingest") {
                    0.0
                } else {
                    m.http_requests as f64 * HTTP_API_PER_REQUEST
                }),
            ),
            (
                "Lambda requests",
                per(sum(&|c| c.invocations as f64) * LAMBDA_PER_REQUEST),
            ),
            (
                "Lambda GB-s",
                per(sum(&|c| {
                    let mb = template.memory_mb(c.name);
                    billed_ms(c, mb) / 1000.0 * mb / 1024.0
                }) * LAMBDA_PER_GB_SECOND),
            ),
            (
                "SQS",
                per(sum(&|c| c.ledger.sqs_requests + 2.0 * c.batches as f64) * SQS_PER_REQUEST),
            ),
            (
                "DynamoDB writes",
                per(sum(&|c| c.ledger.write_units + c.ledger.index_write_units)
                    * DYNAMO_PER_WRITE_UNIT),
            ),
            (
                "DynamoDB reads",
                per(sum(&|c| c.ledger.read_units) * DYNAMO_PER_READ_UNIT),
            ),
            (
                "KMS",
                per(sum(&|c| c.ledger.kms_requests as f64) * KMS_PER_REQUEST),
            ),
            (
                "CloudWatch Logs",
                per(sum(&|c| (c.log_bytes + c.invocations * platform) as f64) / 1e9 * LOGS_PER_GB),
            ),
        ],
    }
}

/// Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB; the functions ran here on
/// whole cores. A smaller function's CPU time stretches by 1769/MB: that stretch is added to
/// the measured wall time (a handler waiting on the network is not slowed by it).
fn billed_ms(c: &FunctionCost, memory_mb: f64) -> f64 {
    let stretch = (1769.0 / memory_mb - 1.0).max(0.0);
    c.billed_ms as f64 + c.cpu_ms as f64 * stretch
}

fn print_steps(m: &Measured, template: &Template) {
    let n = m.messages as f64;
    println!(
        "| function | MB (peak RSS) | invocations | billed ms at MB (CPU here) | AWS requests | WRU (index) | RRU | SQS requests (poller) | KMS | log bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for c in m.functions.iter().filter(|f| f.name != "api") {
        let l = &c.ledger;
        println!(
            "| {} | {} ({:.0}) | {:.1} | {:.0} ({:.0}) | {:.1} | {:.1} ({:.1}) | {:.1} | {:.1} ({:.1}) | {:.1} | {:.0} |",
            c.name,
            template.memory_mb(c.name),
            c.peak_rss_mb,
            c.invocations as f64 / n,
            billed_ms(c, template.memory_mb(c.name)) / n,
            c.cpu_ms as f64 / n,
            l.requests() as f64 / n,
            (l.write_units + l.index_write_units) / n,
            l.index_write_units / n,
            l.read_units / n,
            (l.sqs_requests + 2.0 * c.batches as f64) / n,
            2.0 * c.batches as f64 / n,
            l.kms_requests as f64 / n,
            c.log_bytes as f64 / n,
        );
    }
    println!("\nAWS requests per message, by operation:");
    let mut all = ledger::Ledger::default();
    for c in m.functions.iter().filter(|f| f.name != "api") {
        println!(
            "  {:15} {}",
            c.name,
            c.ledger
                .operations
                .iter()
                .map(|(op, k)| format!(
                    "{} {:.1}",
                    op.rsplit('.').next().unwrap_or(op),
                    *k as f64 / n
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        all.add(&c.ledger);
    }
    println!(
        "  total {:.1} requests; {:.1} WRU, {:.1} RRU per message",
        all.requests() as f64 / n,
        (all.write_units + all.index_write_units) / n,
        all.read_units / n
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let template = Template::read(args.template.as_deref())?;
    let latency = Latency {
        llm: Duration::from_millis(args.llm_ms),
        graph: Duration::from_millis(args.graph_ms),
        subscriber: Duration::from_millis(args.subscriber_ms),
    };
    println!(
        "prices checked {CHECKED}; log level {} ({} platform records); latency: LLM {} ms, Graph {} ms, subscriber {} ms; {} warm messages per scope",
        template.log_level(),
        if template.platform_logs() {
            "with"
        } else {
            "without"
        },
        args.llm_ms,
        args.graph_ms,
        args.subscriber_ms,
        args.messages
    );
    let mut totals = Vec::new();
    for name in &args.scopes {
        let scope = match name.as_str() {
            "A" => Scope {
                name: "A",
                statuses: true,
                subscription: true,
            },
            "B" => Scope {
                name: "B",
                statuses: false,
                subscription: true,
            },
            "C" => Scope {
                name: "C",
                statuses: false,
                subscription: false,
            },
            other => anyhow::bail!("no scope {other}: A, B or C"),
        };
        let flow = flow::Flow::start(scope, latency, &template.log_level()).await?;
        let measured = flow.measure(args.messages).await?;
        println!(
            "\n## Scope {} ({} statuses, {} subscription)\n",
            scope.name,
            if scope.statuses { "three" } else { "no" },
            if scope.subscription { "one" } else { "no" }
        );
        print_steps(&measured, &template);
        let b = bill(&measured, &template);
        println!("\n| line | $ per million replied messages |\n|---|---|");
        for (line, v) in &b.lines {
            println!("| {line} | {v:.2} |");
        }
        println!("| **total** | **{:.2}** |", b.total());
        totals.push((scope.name, b.total()));
    }
    println!();
    for (name, total) in totals {
        println!("scope {name}: ${total:.2} per million replied messages");
    }
    Ok(())
}
