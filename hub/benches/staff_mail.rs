//! The email to staff of a user's message with a large attachment, for docs/benchmarks.md:
//! the real `sealpost-hub serve` binary (release) builds the email, seals it, and delivers
//! it over SMTP to a relay on loopback that reads and discards it. Measured: the hub's peak
//! RSS growth over its resting RSS, for one 74 MB reply and for three at once (target: at
//! most 32 MB whatever the attachments), and the RSS it keeps afterwards.

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::{configure, Server};
use sealpost_hub::{sending::OrgMessage, Caller, Hub};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

const PASSWORD: &str = "plum kettle orbit sandstone";
const EMAIL: &str = "referrals@partner.example";
const SIZE: usize = 74_000_000;

/// A relay that accepts every email, reads it line by line and keeps none of it; counts
/// the emails it received whole.
async fn discarding_relay() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicUsize::new(0));
    let count = received.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                write.write_all(b"220 relay ESMTP\r\n").await.unwrap();
                let (mut line, mut in_data) = (String::new(), false);
                loop {
                    line.clear();
                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            count.fetch_add(1, Ordering::SeqCst);
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
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

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    common::init(&data);
    configure(&data, |c| c.security.sign_in_per_ip_per_minute = 1_000);
    {
        let hub = Hub::open(&data).unwrap();
        hub.send_org_message(
            OrgMessage {
                from: "staff@example.gov.uk".into(),
                to: vec![EMAIL.into()],
                subject: "Welcome".into(),
                body_text: "First message".into(),
                ..Default::default()
            },
            &Caller::cli(),
        )
        .await
        .unwrap();
        hub.deliver_mail().await.unwrap();
    }
    let token = common::registration_token(&data);
    let (port, received) = discarding_relay().await;
    configure(&data, |c| {
        c.smtp = Some(sealpost_hub::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: sealpost_hub::config::SmtpTls::None,
            user: None,
            password: None,
        })
    });

    let server = Server::start(&data);
    let http = reqwest::Client::new();
    common::register(&http, &server.url, &token, PASSWORD).await;
    let access = common::sign_in(&http, &server.url, EMAIL, PASSWORD).await;
    let mut uploads = Vec::new();
    for n in 0..4 {
        let r: Value = http
            .post(format!("{}/api/v1/uploads?name=scan{n}.pdf", server.url))
            .bearer_auth(&access)
            .header("content-type", "application/pdf")
            .body(common::pseudo_random(SIZE, n))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        uploads.push(r["upload_id"].as_str().expect("uploaded").to_owned());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let send = |upload: String| {
        let (http, url, access) = (http.clone(), server.url.clone(), access.clone());
        async move {
            let r = http
                .post(format!("{url}/api/v1/messages"))
                .bearer_auth(&access)
                .json(&json!({"mode": "new", "to": ["case.worker@example.gov.uk"],
                              "subject": "The scan", "body_text": "Attached.",
                              "upload_ids": [upload]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "sent: {}", r.text().await.unwrap());
        }
    };
    let measure = |count: usize, sends: Vec<String>| {
        let (server, received, send) = (&server, received.clone(), &send);
        async move {
            let resting = server.status_kib("VmRSS:");
            std::fs::write(format!("/proc/{}/clear_refs", server.child.id()), "5").unwrap();
            let before = received.load(Ordering::SeqCst);
            let start = Instant::now();
            futures_util::future::join_all(sends.into_iter().map(send)).await;
            while received.load(Ordering::SeqCst) < before + count {
                assert!(
                    start.elapsed() < Duration::from_secs(300),
                    "the relay received the emails"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let took = start.elapsed();
            let peak = server.status_kib("VmHWM:").saturating_sub(resting);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let after = server.status_kib("VmRSS:").saturating_sub(resting);
            (resting, peak, after, took)
        }
    };
    let one = measure(1, vec![uploads[0].clone()]).await;
    let three = measure(3, uploads[1..4].to_vec()).await;

    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("## The email to staff of a 74 MB reply, over SMTP (release hub, loopback relay)");
    println!();
    println!("| measure | one reply | three at once |");
    println!("|---|---|---|");
    println!(
        "| hub RSS at rest before | {:.0} MiB | {:.0} MiB |",
        mib(one.0),
        mib(three.0)
    );
    println!(
        "| peak RSS growth while sent (target ≤ 32 MB) | {:.1} MiB | {:.1} MiB |",
        mib(one.1),
        mib(three.1)
    );
    println!(
        "| RSS kept afterwards | {:.1} MiB | {:.1} MiB |",
        mib(one.2),
        mib(three.2)
    );
    println!(
        "| from send to the relay's last byte | {} | {} |",
        common::ms(one.3),
        common::ms(three.3)
    );
}
