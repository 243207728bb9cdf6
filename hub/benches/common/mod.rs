//! Helpers shared by the benchmarks: the real `sealpost-hub` binary as a server, and
//! readings from /proc.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use sealpost_hub::config::HubConfig;

/// The release binary cargo built for this benchmark.
pub const BIN: &str = env!("CARGO_BIN_EXE_sealpost-hub");

/// `sealpost-hub serve` on 127.0.0.1, stopped when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(data: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .env("SEALPOST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start sealpost-hub serve");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let url = line.trim().trim_start_matches("listening on ").to_owned();
        // Kept open (and drained) while the server runs: it may say more.
        std::thread::spawn(move || for _ in out.lines() {});
        Self { child, url }
    }

    /// [`Server::start`] on a hub with `[smtp_in]`: also its SMTP listener's port (the
    /// line `serve` prints after its URL).
    pub fn start_with_smtp(data: &Path) -> (Self, u16) {
        let mut child = Command::new(BIN)
            .args(["serve", "--data", data.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0"])
            .env("SEALPOST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start sealpost-hub serve");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut http, mut smtp) = (String::new(), String::new());
        out.read_line(&mut http).unwrap();
        out.read_line(&mut smtp).unwrap();
        std::thread::spawn(move || for _ in out.lines() {});
        let port = smtp.trim().rsplit(':').next().unwrap().parse().unwrap();
        let url = http.trim().trim_start_matches("listening on ").to_owned();
        (Self { child, url }, port)
    }

    /// A field of /proc/PID/status in KiB (`VmRSS:`, `VmHWM:`).
    pub fn status_kib(&self, field: &str) -> u64 {
        proc_status_kib(self.child.id(), field)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Creates a hub in `data` with the CLI.
pub fn init(data: &Path) {
    let ok = Command::new(BIN)
        .args([
            "init",
            "--data",
            data.to_str().unwrap(),
            "--org-name",
            "Bench Council",
            "--org-domain",
            "example.gov.uk",
            "--public-url",
            "http://127.0.0.1:9",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "init");
}

/// Rewrites `hub.toml`.
pub fn configure(data: &Path, change: impl FnOnce(&mut HubConfig)) {
    let path = data.join("hub.toml");
    let mut config: HubConfig = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut config);
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
}

/// The newest registration token in the outbox.
pub fn registration_token(data: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let text = std::fs::read_to_string(files.last().unwrap()).unwrap();
    text[text.find("token=").unwrap() + 6..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `len` bytes that do not compress, the same for the same seed.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Registers the address of `token` with `password` on the server at `url`.
pub async fn register(http: &reqwest::Client, url: &str, token: &str, password: &str) {
    let r = http
        .post(format!("{url}/api/v1/registrations"))
        .json(&serde_json::json!({"token": token, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "register");
}

/// Signs in; returns the access token.
pub async fn sign_in(http: &reqwest::Client, url: &str, email: &str, password: &str) -> String {
    let s: serde_json::Value = http
        .post(format!("{url}/api/v1/sessions"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    s["access_token"].as_str().expect("signed in").to_owned()
}

/// Sends `n` staff messages of about 4 KB ("Case update i") to `email` through the
/// library, then delivers the queued mail (the registration email among it).
pub async fn seed_case_updates(hub: &sealpost_hub::Hub, email: &str, n: usize) {
    let body: String = "The quick brown fox jumps over the lazy dog. ".repeat(92);
    for i in 0..n {
        hub.send_org_message(
            sealpost_hub::sending::OrgMessage {
                from: "staff@example.gov.uk".into(),
                to: vec![email.into()],
                subject: format!("Case update {i}"),
                body_text: body.clone(),
                ..Default::default()
            },
            &sealpost_hub::Caller::cli(),
        )
        .await
        .unwrap();
    }
    hub.deliver_mail().await.unwrap();
}

/// One upload of `payload` to the hub `server` as `access`: how long it took, and how
/// much the hub's peak RSS grew meanwhile (KiB).
pub async fn timed_upload(
    http: &reqwest::Client,
    server: &Server,
    access: &str,
    payload: bytes::Bytes,
) -> (Duration, u64) {
    let before = server.status_kib("VmRSS:");
    // Resets the peak (VmHWM) to the current size.
    std::fs::write(format!("/proc/{}/clear_refs", server.child.id()), "5").unwrap();
    let start = std::time::Instant::now();
    let r = http
        .post(format!("{}/api/v1/uploads?name=scan.pdf", server.url))
        .bearer_auth(access)
        .header("content-type", "application/pdf")
        .body(payload)
        .send()
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!(r.status(), 201, "upload: {}", r.text().await.unwrap());
    (took, server.status_kib("VmHWM:").saturating_sub(before))
}
