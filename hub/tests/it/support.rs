//! `TestHub` and helpers shared by the integration tests.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use reqwest::{Client, Response, StatusCode};
use sealpost_hub::config::HubConfig;
pub use sealpost_hub::testing::{token_in, TestServer};
use serde_json::{json, Value};

/// A password that meets every rule.
pub const GOOD_PASSWORD: &str = "plum kettle orbit sandstone";

/// An external person with no account yet.
pub fn alice() -> &'static str {
    "alice@partner.example"
}

/// Another external person.
pub fn bob() -> &'static str {
    "bob@care.example"
}

/// A member of the organisation's staff.
pub fn staff() -> &'static str {
    sealpost_hub::testing::STAFF
}

/// A hub on 127.0.0.1 (see `sealpost_hub::testing`) with an HTTP client.
pub struct TestHub {
    pub server: TestServer,
    pub http: Client,
}

impl std::ops::Deref for TestHub {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl TestHub {
    /// A hub with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A hub whose `hub.toml` is adjusted by `configure` before it opens.
    pub async fn start_with(configure: impl FnOnce(&mut HubConfig)) -> Self {
        Self {
            server: TestServer::start_with(configure).await,
            http: Client::new(),
        }
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    /// POST JSON to a path.
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Sends a message to `email` and registers them with `GOOD_PASSWORD`.
    pub async fn registered(&self, email: &str) {
        self.org_send(&[email], "Welcome", "First message").await;
        let token = self.link_token(email, "/register").await;
        let r = self
            .post(
                "/api/v1/registrations",
                json!({"token": token, "password": GOOD_PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "registration works");
    }

    /// Signs in; returns the status and the JSON body.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        remember: bool,
    ) -> (StatusCode, Value) {
        let r = self
            .post(
                "/api/v1/sessions",
                json!({"email": email, "password": password, "remember_me": remember}),
            )
            .await;
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    /// An access token for a registered user.
    pub async fn access_token(&self, email: &str) -> String {
        let (status, body) = self.sign_in(email, GOOD_PASSWORD, false).await;
        assert_eq!(status, StatusCode::CREATED, "sign-in works: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// DELETE /sessions/current with a bearer token.
    pub async fn sign_out(&self, token: &str) -> StatusCode {
        self.http
            .delete(format!("{}/api/v1/sessions/current", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Whether a bearer token is accepted (sign-out is the cheapest authenticated call,
    /// so this uses `hub.authenticate` directly and leaves the session alone).
    pub async fn token_works(&self, token: &str) -> Result<(), String> {
        self.hub
            .authenticate(token)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Audit events recorded so far, as `event email` strings.
    pub async fn audit_events(&self) -> Vec<String> {
        self.hub
            .audit_log(DateTime::<Utc>::MIN_UTC)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.event, e.email))
            .collect()
    }
}

/// The `error.code` of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

/// Requests made as a signed-in user.
pub struct User<'a> {
    pub t: &'a TestHub,
    pub email: String,
    pub token: String,
}

impl TestHub {
    /// Signs in a user registered before.
    pub async fn signed_in(&self, email: &str) -> User<'_> {
        User {
            t: self,
            email: email.to_owned(),
            token: self.access_token(email).await,
        }
    }

    /// Registers `email` (staff send it a first message) and signs in.
    pub async fn user(&self, email: &str) -> User<'_> {
        self.registered(email).await;
        User {
            t: self,
            email: email.to_owned(),
            token: self.access_token(email).await,
        }
    }
}

impl User<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.t.url)
    }

    /// GET, answering status and JSON (Null when the body is not JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .t
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Any method with a JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .t
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The bytes of attachment `index` of `message` (a summary from a folder), downloaded.
    pub async fn attachment(&self, message: &Value, index: usize) -> Vec<u8> {
        let r = self
            .t
            .http
            .get(self.url(&format!(
                "/messages/{}/attachments/{}",
                message["id"].as_str().unwrap(),
                message["attachments"][index]["id"].as_str().unwrap()
            )))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "the attachment downloads: {}",
            r.status()
        );
        r.bytes().await.unwrap().to_vec()
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Uploads bytes as a file; returns status and JSON.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let r = self
            .t
            .http
            .post(self.url("/uploads"))
            .query(&[("name", name)])
            .header("content-type", "application/octet-stream")
            .bearer_auth(&self.token)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The ids in a folder, newest first.
    pub async fn folder(&self, folder: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/messages?folder={folder}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().unwrap().clone()
    }
}

/// Every regular file under a folder (sockets such as `events.sock` are left out).
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out
}

/// A minisign key pair made by the `minisign` tool (Debian's, as an organisation or the
/// release workflow would use one) in `dir`: the public key file and the secret key file.
pub fn minisign_keys(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (public, secret) = (
        dir.join(format!("{name}.pub")),
        dir.join(format!("{name}.sec")),
    );
    let made = std::process::Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .output()
        .expect("minisign is installed (scripts/install-deps.sh)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (public, secret)
}

/// `file`'s signature by `secret` as an update manifest holds it (the `.minisig` text in
/// base64), its trusted comment naming `version` as the Tauri CLI writes it (none: no
/// version in it).
pub fn minisign_sign(
    secret: &std::path::Path,
    file: &std::path::Path,
    version: Option<&str>,
) -> String {
    minisign_sign_with(secret, file, version, &[])
}

/// As [`minisign_sign`], with more of minisign's options (`-l`: a legacy signature of the
/// whole file rather than of its hash).
pub fn minisign_sign_with(
    secret: &std::path::Path,
    file: &std::path::Path,
    version: Option<&str>,
    more: &[&str],
) -> String {
    let name = file.file_name().unwrap().to_str().unwrap();
    let comment = match version {
        Some(v) => format!("timestamp:1765000000\tfile:{name}\tversion:{v}"),
        None => format!("timestamp:1765000000\tfile:{name}"),
    };
    let signature = file.with_extension("minisig-test");
    let signed = std::process::Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(secret)
        .arg("-m")
        .arg(file)
        .arg("-x")
        .arg(&signature)
        .args(["-t", &comment])
        .args(more)
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let text = std::fs::read(&signature).unwrap();
    std::fs::remove_file(&signature).unwrap();
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text)
}
