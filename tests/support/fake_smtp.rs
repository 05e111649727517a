//! An SMTP server on loopback that takes every mail (RFC 5321's plain dialogue: EHLO, MAIL,
//! RCPT, DATA, QUIT; no TLS) and records it; or refuses every recipient with a 550.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
pub struct FakeSmtp {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl FakeSmtp {
    pub async fn start(refuse_recipients: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let mails = kept.clone();
                tokio::spawn(async move {
                    let _ = session(socket, mails, refuse_recipients).await;
                });
            }
        });
        Self { port, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("lock").clone()
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
    refuse: bool,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 fake.smtp ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            b"250-fake.smtp\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO")
            || upper.starts_with("NOOP")
            || upper.starts_with("RSET")
        {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: line[10..].trim().trim_matches(['<', '>']).to_string(),
                ..Mail::default()
            };
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            if refuse {
                b"550 5.1.1 No such user here\r\n"
            } else {
                mail.to
                    .push(line[8..].trim().trim_matches(['<', '>']).to_string());
                b"250 OK\r\n"
            }
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            while let Some(data) = lines.next_line().await? {
                if data == "." {
                    break;
                }
                mail.data.push_str(&data);
                mail.data.push('\n');
            }
            mails.lock().expect("lock").push(std::mem::take(&mut mail));
            b"250 OK queued as 12345\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(answer).await?;
    }
    Ok(())
}
