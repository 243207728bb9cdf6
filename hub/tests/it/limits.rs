//! Oversized requests are refused from their declared length at once, with 413 and the
//! limit in words; bodies sent without a length are cut at the limit and answered alike.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// Sends only a request's headers, declaring `length` bytes of body, and reads what comes
/// back within two seconds.
async fn headers_only(t: &TestHub, path: &str, length: u64) -> String {
    let address = t.url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut answer))
        .await
        .expect("the hub answers without waiting for the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

fn json_of(answer: &str) -> Value {
    serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap()
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    let t = TestHub::start().await;
    for (path, length) in [
        ("/api/v1/sessions", 3_000_000u64),
        ("/api/v1/org/messages", 50_000_000),
        ("/api/v1/messages", 2_000_001),
        ("/register", 10_000_000),
    ] {
        let answer = headers_only(&t, path, length).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{path} with {length} bytes declared: {answer}"
        );
        let body = json_of(&answer);
        assert_eq!(code(&body), "request_too_large", "{path}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("2 MB"),
            "the limit is said: {body}"
        );
    }
    let answer = headers_only(&t, "/api/v1/uploads?name=x.pdf", 76_000_000).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(code(&json_of(&answer)), "attachment_limit");
}

#[tokio::test]
async fn a_body_sent_without_its_length_is_cut_at_the_limit() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let text = "x".repeat(6_000_000);
    let json = format!(r#"{{"mode":"new","to":["w@example.gov.uk"],"body_text":"{text}"}}"#);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = json
        .into_bytes()
        .chunks(1 << 20)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let r = t
        .http
        .post(format!("{}/api/v1/messages", t.url))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "request_too_large", "{body}");
    assert!(alice.folder("sent").await.is_empty(), "nothing was sent");
}
