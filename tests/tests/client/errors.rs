//! What a failure of the hub connection is called: each kind keeps its cause, and a person
//! is told the right thing to do (wait when offline; check the address when TLS fails).

use std::error::Error as _;

use sealpost_client::{hub::HubClient, ClientError, Code};
use sealpost_proto::ErrorCode;
use sealpost_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Whether `native_tls::Error` is somewhere in `e`'s chain of causes.
fn caused_by_tls(e: &ClientError) -> bool {
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.downcast_ref::<native_tls::Error>().is_some() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A TLS server on loopback with a self-signed certificate (made by the `openssl` command,
/// independent of the code under test) that accepts handshakes and answers nothing.
async fn self_signed_server() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl command runs (make deps installs it)");
    assert!(status.success(), "openssl made a certificate");
    let identity = native_tls::Identity::from_pkcs8(
        &std::fs::read(dir.path().join("cert.pem")).unwrap(),
        &std::fs::read(dir.path().join("key.pem")).unwrap(),
    )
    .unwrap();
    let acceptor =
        tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(socket).await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), dir)
}

/// A plain HTTP server that answers every request with `status` and `body`.
async fn answering(status: &'static str, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_refused_certificate_is_said_as_such_and_waits_like_offline() {
    let (url, _dir) = self_signed_server().await;
    let err = HubClient::new(&url)
        .unwrap()
        .request_reset("ann@partner.example")
        .await
        .expect_err("a certificate no authority signed is refused");
    assert!(
        matches!(err, ClientError::Tls { .. }),
        "a TLS failure, not an unreachable hub: {err:?}"
    );
    assert_eq!(
        err.code(),
        Code::Offline,
        "nothing is sent, and work goes on from the vault as offline"
    );
    assert!(
        caused_by_tls(&err),
        "the TLS library's error is kept as the cause"
    );
    let said = err.to_string();
    assert!(said.contains("not secure") && said.contains(&url), "{said}");
    assert!(
        said.contains("certificate") && !said.contains("SSL"),
        "said in plain words, the library's reason kept for logs: {said}"
    );
}

#[tokio::test]
async fn a_hub_that_does_not_speak_tls_is_said_so() {
    let hub = TestServer::start().await;
    let url = hub.url.replacen("http://", "https://", 1);
    let err = HubClient::new(&url)
        .unwrap()
        .request_reset("ann@partner.example")
        .await
        .expect_err("plain HTTP is no TLS handshake");
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
    assert!(caused_by_tls(&err));
}

#[tokio::test]
async fn an_unreachable_hub_is_offline_and_keeps_its_cause() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = HubClient::new(&url)
        .unwrap()
        .request_reset("ann@partner.example")
        .await
        .expect_err("nothing listens there");
    assert_eq!(err.code(), Code::Offline, "{err:?}");
    let cause = err.source().expect("the connection's failure is kept");
    assert!(
        cause
            .downcast_ref::<reqwest::Error>()
            .is_some_and(|e| e.is_connect()),
        "{cause:?}"
    );
}

#[tokio::test]
async fn a_code_from_a_newer_hub_is_a_refusal_with_its_words() {
    let url = answering(
        "402 Payment Required",
        r#"{"error":{"code":"payment_required","message":"This hub's subscription has ended."}}"#,
    )
    .await;
    let err = HubClient::new(&url)
        .unwrap()
        .request_reset("ann@partner.example")
        .await
        .expect_err("a 402 is a refusal");
    let ClientError::Hub {
        code,
        status,
        detail,
        ..
    } = &err
    else {
        panic!("the hub's refusal, kept whole: {err:?}");
    };
    assert_eq!(
        *code,
        Code::Invalid,
        "an unknown code refuses this request only"
    );
    assert_eq!(*status, 402);
    assert_eq!(detail.code, ErrorCode::Unknown("payment_required".into()));
    assert_eq!(err.to_string(), "This hub's subscription has ended.");
}

#[tokio::test]
async fn an_answer_that_is_not_the_apis_says_what_answered() {
    let url = answering("404 Not Found", "<html>no such page</html>").await;
    let err = HubClient::new(&url)
        .unwrap()
        .request_reset("ann@partner.example")
        .await
        .expect_err("a foreign 404 page is no answer");
    assert!(
        matches!(
            err,
            ClientError::Answer {
                status: Some(404),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("404"), "{err}");
}
