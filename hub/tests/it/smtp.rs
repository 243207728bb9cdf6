//! Real SMTP delivery to a relay on loopback.
//!
//! The relay is a small SMTP server written here (a real TCP peer speaking SMTP, run in the
//! test process); the hub's side is the production lettre transport.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::support::*;

/// What the relay received: (MAIL FROM, RCPT TO list, DATA).
type Received = Arc<Mutex<Vec<(String, Vec<String>, String)>>>;

/// A small SMTP server on loopback.
struct Sink {
    port: u16,
    received: Received,
    /// Answer the next this-many MAIL FROM commands with a temporary failure (451).
    fail_next: Arc<AtomicUsize>,
}

async fn smtp_sink(fail_first: usize) -> (u16, Received) {
    let sink = sink(None).await;
    sink.fail_next.store(fail_first, Ordering::SeqCst);
    (sink.port, sink.received)
}

/// A sink that answers 550 to RCPT TO addresses containing `refuse`.
async fn sink(refuse: Option<&'static str>) -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let fail_next = Arc::new(AtomicUsize::new(0));
    let (store, failing) = (received.clone(), fail_next.clone());
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let (store, failing) = (store.clone(), failing.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
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
                            to.clear();
                            data.clear();
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
                        let failing_now = failing
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if failing_now {
                            b"451 try again later\r\n"
                        } else {
                            from = line[10..].trim().to_owned();
                            b"250 ok\r\n"
                        }
                    } else if upper.starts_with("RCPT TO:") {
                        if refuse.is_some_and(|r| line.contains(r)) {
                            b"550 no such mailbox here\r\n"
                        } else {
                            to.push(line[8..].trim().to_owned());
                            b"250 ok\r\n"
                        }
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
    Sink {
        port,
        received,
        fail_next,
    }
}

/// Registers and signs in `email`, taking the link from what the relay received.
async fn user_via_relay<'a>(t: &'a TestHub, received: &Received, email: &str) -> User<'a> {
    t.org_send(&[email], "Welcome", "b").await;
    t.hub.deliver_mail().await.unwrap();
    let token = received
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find_map(|(_, to, data)| {
            to.iter()
                .any(|r| r.contains(email))
                .then(|| token_in(data, "/register"))
                .flatten()
        })
        .expect("the relay received the registration link");
    let r = t
        .post(
            "/api/v1/registrations",
            serde_json::json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 201);
    User {
        t,
        email: email.to_owned(),
        token: t.access_token(email).await,
    }
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

#[tokio::test]
async fn a_refusing_mail_server_shows_on_the_sent_item() {
    use reqwest::StatusCode;
    use serde_json::json;
    let relay_sink = sink(Some("nobody")).await;
    let t = TestHub::start_with(|c| c.smtp = Some(relay(relay_sink.port))).await;
    let alice = user_via_relay(&t, &relay_sink.received, alice()).await;
    let (status, sent) = alice
        .post(
            "/messages",
            json!({"to": ["nobody@example.gov.uk"], "subject": "s", "body_text": "secret words"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    t.hub.deliver_mail().await.unwrap();
    let (_, m) = alice
        .get(&format!("/messages/{}", sent["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        m["delivery"]["status"], "failed",
        "a permanent refusal is shown at once: {m}"
    );
    let detail = m["delivery"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("mail server"),
        "the user is told why: {detail}"
    );
    assert!(!detail.contains("secret words"), "no content in the detail");
}

#[tokio::test]
async fn a_mail_server_that_is_busy_shows_queued_with_the_next_try_then_delivered() {
    use reqwest::StatusCode;
    use serde_json::json;
    let relay_sink = sink(None).await;
    let t = TestHub::start_with(|c| c.smtp = Some(relay(relay_sink.port))).await;
    let alice = user_via_relay(&t, &relay_sink.received, alice()).await;
    relay_sink.fail_next.store(1, Ordering::SeqCst);
    let (status, sent) = alice
        .post(
            "/messages",
            json!({"to": ["worker@example.gov.uk"], "subject": "s", "body_text": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(t.hub.deliver_mail().await.unwrap(), 0);
    let (_, m) = alice.get(&format!("/messages/{id}")).await;
    assert_eq!(m["delivery"]["status"], "queued");
    let detail = m["delivery"]["detail"].as_str().unwrap();
    assert!(detail.contains("trying again at 09:01 UTC"), "{detail}");
    t.advance(chrono::Duration::minutes(1));
    assert_eq!(t.hub.deliver_mail().await.unwrap(), 1);
    let (_, m) = alice.get(&format!("/messages/{id}")).await;
    assert_eq!(m["delivery"]["status"], "delivered");
    assert!(m["delivery"].get("detail").is_none(), "{m}");
}

#[tokio::test]
async fn a_large_attachment_streams_to_the_relay_whole() {
    use base64::Engine;
    let (port, received) = smtp_sink(0).await;
    let t = TestHub::start_with(|c| c.smtp = Some(relay(port))).await;
    let alice = user_via_relay(&t, &received, alice()).await;
    let bytes: Vec<u8> = (0..30_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (status, upload) = alice.upload("scan.pdf", bytes.clone()).await;
    assert_eq!(status, 201, "{upload}");
    let (status, sent) = alice
        .post(
            "/messages",
            serde_json::json!({"mode": "new", "to": ["case.worker@example.gov.uk"],
                               "subject": "The scan", "body_text": "Attached.",
                               "upload_ids": [upload["upload_id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    t.hub.deliver_mail().await.unwrap();
    let got = received.lock().unwrap().clone();
    let (_, to, data) = got
        .iter()
        .find(|(_, _, d)| d.contains("Subject: The scan"))
        .expect("the email to staff reached the relay");
    assert_eq!(to, &vec!["<case.worker@example.gov.uk>".to_owned()]);
    let part = data
        .split("filename=\"scan.pdf\"")
        .nth(1)
        .expect("the attachment is in the email");
    let body: String = part
        .split("\n\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("--"))
        .collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("the attachment is base64");
    assert!(
        decoded == bytes,
        "every byte arrived ({} of {})",
        decoded.len(),
        bytes.len()
    );
}
