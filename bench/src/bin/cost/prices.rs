//! AWS list prices (us-east-1, on demand, arm64), checked 2026-12-03, and what the deployed
//! template sets (each function's memory, the log level), to price a measured flow.
//!
//! Sources: aws.amazon.com/api-gateway/pricing (HTTP APIs, first 300 M), aws.amazon.com/lambda/
//! pricing (arm64, first 7.5 B GB-s), aws.amazon.com/sqs/pricing (standard, a request per 64 KB
//! chunk), aws.amazon.com/dynamodb/pricing/on-demand (after the November 2024 cut),
//! aws.amazon.com/kms/pricing, aws.amazon.com/cloudwatch/pricing (logs ingested, standard class).

pub const CHECKED: &str = "2026-12-03";
pub const HTTP_API_PER_REQUEST: f64 = 1.00 / 1e6;
pub const LAMBDA_PER_REQUEST: f64 = 0.20 / 1e6;
pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
pub const SQS_PER_REQUEST: f64 = 0.40 / 1e6;
pub const DYNAMO_PER_WRITE_UNIT: f64 = 0.625 / 1e6;
pub const DYNAMO_PER_READ_UNIT: f64 = 0.125 / 1e6;
pub const KMS_PER_REQUEST: f64 = 0.03 / 1e4;
pub const LOGS_PER_GB: f64 = 0.50;

/// Lambda's own records per invocation in the JSON log format when the system log level lets
/// them through (INFO): `platform.start` (~130 bytes) and `platform.report` (~240 bytes).
/// At WARN they are not written.
pub const PLATFORM_LOG_BYTES: u64 = 370;

/// What `infra/template.yaml` deploys: a function's memory (its own `MemorySize`, else the
/// `MemorySize` parameter's default) and the production log level.
pub struct Template {
    text: String,
}

impl Template {
    /// The template at `path`, else the repository's.
    pub fn read(path: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let path = path.map(std::path::Path::to_path_buf).unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
        });
        Ok(Self {
            text: std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        })
    }

    /// The lines of a top-level block (`  Name:` up to the next line as little indented).
    fn block(&self, name: &str) -> Vec<&str> {
        let head = format!("  {name}:");
        let mut lines = self.text.lines().skip_while(|l| l.trim_end() != head);
        let Some(_) = lines.next() else {
            return Vec::new();
        };
        lines
            .take_while(|l| l.is_empty() || l.starts_with("   "))
            .collect()
    }

    fn value_in(lines: &[&str], key: &str) -> Option<String> {
        lines.iter().find_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k == key).then(|| v.trim().trim_matches('"').to_string())
        })
    }

    /// Whether providers reach a function through its own URL (`FunctionUrlConfig`), which
    /// bills no API Gateway request: only the invocation, counted already.
    pub fn function_url(&self, function: &str) -> bool {
        let resource = Self::resource(function);
        self.block(&resource)
            .iter()
            .any(|l| l.trim() == "FunctionUrlConfig:")
    }

    /// The template's name of a function's resource (`ai-reply` → `AiReplyFunction`).
    fn resource(function: &str) -> String {
        function
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<String>()
            + "Function"
    }

    /// Memory in MB of a function (`api`, `ai-reply`, ...).
    pub fn memory_mb(&self, function: &str) -> f64 {
        let resource = Self::resource(function);
        let own = Self::value_in(&self.block(&resource), "MemorySize");
        own.and_then(|v| v.parse().ok())
            .or_else(|| {
                Self::value_in(&self.block("MemorySize"), "Default")?
                    .parse()
                    .ok()
            })
            .unwrap_or(128.0)
    }

    /// The functions' `RUST_LOG` (a literal, or the default of the parameter it refers to).
    pub fn log_level(&self) -> String {
        self.setting("RUST_LOG")
    }

    /// Whether Lambda writes its own records (`LoggingConfig.SystemLogLevel` INFO or DEBUG,
    /// INFO when unset).
    pub fn platform_logs(&self) -> bool {
        matches!(self.setting("SystemLogLevel").as_str(), "info" | "debug")
    }

    fn setting(&self, key: &str) -> String {
        let level = self
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:")).map(str::trim))
            .unwrap_or("info")
            .to_string();
        match level.strip_prefix("!Ref ") {
            Some(parameter) => {
                Self::value_in(&self.block(parameter), "Default").unwrap_or_else(|| "info".into())
            }
            None => level,
        }
        .to_lowercase()
    }
}
