//! The real `switchboard` binary as a child process, run as a user runs it: by the system tests
//! that need a whole process (restarts, the CLI, the README) and by the benchmarks, which time
//! its start and read its memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    /// What it printed (the banner) when it was started.
    pub stdout: String,
    stdout_path: PathBuf,
    stderr: PathBuf,
}

/// How long a start may take before it counts as failed.
const START_WITHIN: Duration = Duration::from_secs(20);

impl ServerProcess {
    /// Spawns `binary serve` on a free port, with no environment but `SWITCHBOARD_ADDR`,
    /// `SWITCHBOARD_DATA_DIR`, `RUST_LOG=warn` and `env`, and returns it once `/healthz` answers,
    /// with the time from the spawn to that answer. The probe is a raw HTTP/1.1 request every
    /// 200 µs, so the figure is the server's start and not a client's set-up.
    pub fn launch(
        binary: &Path,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> std::io::Result<(Self, Duration)> {
        let port = crate::free_port();
        let stdout_path = data_dir.with_extension(format!("stdout-{port}"));
        let stderr = data_dir.with_extension(format!("stderr-{port}"));
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("SWITCHBOARD_ADDR", format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(&stdout_path)?)
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout: String::new(),
            stdout_path,
            stderr,
        };
        loop {
            if healthy(port) {
                return Ok((server, started.elapsed()));
            }
            if started.elapsed() > START_WITHIN {
                return Err(std::io::Error::other(format!(
                    "the server did not become healthy: {}",
                    server.logs()
                )));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Starts this build's `switchboard serve` on `data_dir` and reads its banner.
    pub async fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        let (binary, dir) = (crate::switchboard_binary(), data_dir.to_path_buf());
        let env: Vec<(String, String)> = extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (mut server, _) = Self::launch(&binary, &dir, &env).expect("switchboard starts");
            server.read_banner("admin token").expect("the banner");
            server
        })
        .await
        .expect("the start")
    }

    /// Waits until the banner holds the line after `label` (the server may answer `/healthz` a
    /// moment before its banner reaches the file), and keeps it in `stdout`.
    pub fn read_banner(&mut self, label: &str) -> std::io::Result<&str> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            self.stdout = std::fs::read_to_string(&self.stdout_path)?;
            if self.printed_after(label).is_some_and(|l| !l.is_empty()) {
                return Ok(&self.stdout);
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!(
                    "no `{label}` in the banner: {}",
                    self.stdout
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What the server logged (warnings and errors), to show when a test fails.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The token printed on the line after `label`.
    pub fn printed_after(&self, label: &str) -> Option<String> {
        let mut lines = self.stdout.lines();
        lines.find(|l| l.contains(label))?;
        lines.next().map(|l| l.trim().to_string())
    }

    /// The sandbox account's id and token, from the first start's banner.
    pub fn sandbox(&mut self) -> std::io::Result<(String, String)> {
        self.read_banner("sandbox account")?;
        let token = self.printed_after("sandbox account").unwrap_or_default();
        // `sbt_<account id>_<secret>`
        let account = token.get(4..34).unwrap_or_default().to_string();
        Ok((account, token))
    }

    /// The resident memory of the process now, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// Ends the process the hard way: no graceful shutdown, as a crash or power cut would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident memory of process `pid` now, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Whether `/healthz` on `port` answers 200 now.
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut buf = [0u8; 64];
    stream.read(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200")
}
