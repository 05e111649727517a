//! A real SMTP server on loopback: aiosmtpd (a Python library, not a fake written for the
//! tests), started by `smtp/server.py` in one of its modes, recording each accepted message.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

/// How the server behaves (see `smtp/server.py`).
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Accepts every message, offers no AUTH.
    Plain,
    /// Offers AUTH without TLS; takes user `shop`, password `right`.
    Auth,
    /// Answers the first message 421, then accepts.
    BusyOnce,
}

impl SmtpServer {
    pub fn start(mode: Mode) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let out = dir.path().join("received.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/smtp/server.py");
        let mode_name = match mode {
            Mode::Plain => "plain",
            Mode::Auth => "auth",
            Mode::BusyOnce => "busy-once",
        };
        let mut child = Command::new("python3")
            .args([script, mode_name])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("aiosmtpd did not start: {line:?}"));
        Self {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    /// `smtp://` with `credentials` (`user:password`), to this server.
    pub fn url(&self, credentials: Option<&str>) -> String {
        match credentials {
            Some(c) => format!("smtp://{c}@127.0.0.1:{}", self.port),
            None => format!("smtp://127.0.0.1:{}", self.port),
        }
    }

    /// Every message it accepted, as the server parsed it.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
