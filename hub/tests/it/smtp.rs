//! Real SMTP delivery to a relay on loopback.
//!
//! The relay is a small SMTP server written here (a real TCP peer speaking SMTP, run in the
//! test process); the hub's side is the production lettre transport.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::support::*;

/// What the relay received: (MAIL FROM, RCPT TO list, DATA).
type Received = Arc<Mutex<Vec<(String, Vec<String>, String)>>>;

async fn smtp_sink(fail_first: usize) -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        let mut sessions = 0usize;
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            sessions += 1;
            let refuse = sessions <= fail_first;
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                if refuse {
                    let _ = write.write_all(b"421 try again later\r\n").await;
                    return;
                }
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let (mut from, mut to, mut data) = (String::new(), Vec::new(), String::new());
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store
                                .lock()
                                .unwrap()
                                .push((from.clone(), to.clone(), data.clone()));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = line[10..].trim().to_owned();
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().to_owned());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

fn relay(port: u16) -> sealpost_hub::config::SmtpConfig {
    sealpost_hub::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls: sealpost_hub::config::SmtpTls::None,
        user: None,
        password: None,
    }
}

#[tokio::test]
async fn notifications_go_out_through_the_configured_relay() {
    let (port, received) = smtp_sink(0).await;
    let t = TestHub::start_with(|c| c.smtp = Some(relay(port))).await;
    t.org_send(&[alice()], "Private subject", "Private body")
        .await;
    let sent = t.hub.deliver_mail().await.unwrap();
    assert_eq!(sent, 1);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "the relay received one email");
    let (from, to, data) = &got[0];
    assert_eq!(from, "<no-reply@example.gov.uk>");
    assert_eq!(to, &vec![format!("<{}>", alice())]);
    assert!(data.contains("Subject: Example Council has sent you a secure message"));
    assert!(
        token_in(data, "/register").is_some(),
        "the link arrived whole"
    );
    assert!(!data.contains("Private"), "no content in the notification");
    assert!(
        std::fs::read_dir(t.data().join("outbox"))
            .unwrap()
            .next()
            .is_none(),
        "nothing written to outbox/ when a relay is configured"
    );
}

#[tokio::test]
async fn a_refusing_relay_is_retried_with_backoff_and_nothing_is_lost() {
    let (port, received) = smtp_sink(1).await;
    let t = TestHub::start_with(|c| c.smtp = Some(relay(port))).await;
    t.org_send(&[alice()], "s", "b").await;
    assert_eq!(
        t.hub.deliver_mail().await.unwrap(),
        0,
        "first attempt refused"
    );
    assert_eq!(t.hub.stats().await.unwrap().mail_backlog, 1, "still queued");
    assert_eq!(
        t.hub.deliver_mail().await.unwrap(),
        0,
        "not retried before the backoff"
    );
    t.advance(chrono::Duration::minutes(1));
    assert_eq!(
        t.hub.deliver_mail().await.unwrap(),
        1,
        "retried after a minute"
    );
    assert_eq!(received.lock().unwrap().len(), 1);
    assert_eq!(t.hub.stats().await.unwrap().mail_backlog, 0);
    assert!(t
        .audit_events()
        .await
        .contains(&format!("mail_failed {}", alice())));
}

#[tokio::test]
async fn the_running_server_delivers_queued_mail_by_itself() {
    let (port, received) = smtp_sink(0).await;
    let t = TestHub::start_with(|c| c.smtp = Some(relay(port))).await;
    // A second server on the same hub, this time with its mail worker, as `serve` runs it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sealpost_hub::serve(t.hub.clone(), listener, async {
        let _ = stopped.await;
    }));
    t.org_send(&[alice()], "s", "b").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while received.lock().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker delivered within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    assert_eq!(received.lock().unwrap().len(), 1, "delivered once");
}
