//! Sign-in figures for docs/benchmarks.md, against the real `sealpost-hub serve` binary on
//! loopback (release build):
//!
//! 1. median sign-in latency, against a baseline of one bare Argon2id verification with the
//!    same parameters measured in this same run;
//! 2. 200 concurrent wrong-password sign-ins with the default limits, then with the per-IP
//!    and per-address limits lifted so that only the hashing queue bounds the work: answers
//!    by status, and the server's peak RSS (VmHWM).

mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{configure, median, ms, Server, BIN};
use sealpost_hub::{clock::OsEntropy, crypto::PasswordHasher};
use serde_json::json;

const PASSWORD: &str = "plum kettle orbit sandstone";
const EMAIL: &str = "referrals@partner.example";

async fn flood(server: &Server, n: usize) -> (usize, usize, usize, Duration) {
    let http = reqwest::Client::new();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        let http = http.clone();
        let url = format!("{}/api/v1/sessions", server.url);
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .json(&json!({"email": format!("guess{}@partner.example", i % 50), "password": "wrong password guess"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let (mut unauthorized, mut limited, mut other) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            401 | 423 => unauthorized += 1,
            429 => limited += 1,
            _ => other += 1,
        }
    }
    (unauthorized, limited, other, start.elapsed())
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    common::init(&data);
    let ok = Command::new(BIN)
        .args([
            "send",
            "--data",
            data.to_str().unwrap(),
            "--from",
            "staff@example.gov.uk",
            "--to",
            EMAIL,
            "--subject",
            "s",
            "--body",
            "b",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "send");
    let eml = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(eml).unwrap();
    let token: String = text[text.find("token=").unwrap() + 6..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();

    // 1. Latency, with the limits lifted so that 60 sign-ins in a row are allowed.
    configure(&data, |c| {
        c.security.sign_in_per_address_per_minute = 1_000_000;
        c.security.sign_in_per_ip_per_minute = 1_000_000;
    });
    let server = Server::start(&data);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/registrations", server.url))
        .json(&json!({"token": token, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "register");
    let mut times = Vec::new();
    for i in 0..65 {
        let start = Instant::now();
        let r = http
            .post(format!("{}/api/v1/sessions", server.url))
            .json(&json!({"email": EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        if i >= 5 {
            times.push(start.elapsed());
        }
    }
    drop(server);
    let sign_in = median(times);

    let hasher = PasswordHasher::new(&OsEntropy).unwrap();
    let hash = hasher.hash(PASSWORD, &OsEntropy).unwrap();
    let mut bare = Vec::new();
    for _ in 0..60 {
        let start = Instant::now();
        assert!(hasher.verify(&hash, PASSWORD));
        bare.push(start.elapsed());
    }
    let bare = median(bare);

    println!("## Sign-in latency (60 sequential sign-ins, loopback, release build)");
    println!();
    println!("| measure | median |");
    println!("|---|---|");
    println!(
        "| POST /api/v1/sessions, right password | {} |",
        ms(sign_in)
    );
    println!(
        "| baseline: one Argon2id verification (m=19 MiB, t=2, p=1), same run | {} |",
        ms(bare)
    );
    println!(
        "| ratio sign-in / bare hash | {:.2}x |",
        sign_in.as_secs_f64() / bare.as_secs_f64()
    );
    println!();

    // 2. Floods.
    println!("## 200 concurrent wrong-password sign-ins");
    println!();
    println!(
        "| limits | 401/423 | 429 | other | wall time | server peak RSS (VmHWM) | RSS before |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, lifted) in [
        ("defaults (30/min per IP)", false),
        ("per-IP and per-address limits lifted", true),
    ] {
        configure(&data, |c| {
            let d = sealpost_hub::config::SecurityConfig::default();
            c.security.sign_in_per_address_per_minute = if lifted {
                1_000_000
            } else {
                d.sign_in_per_address_per_minute
            };
            c.security.sign_in_per_ip_per_minute = if lifted {
                1_000_000
            } else {
                d.sign_in_per_ip_per_minute
            };
            c.security.lockout_threshold = if lifted {
                1_000_000
            } else {
                d.lockout_threshold
            };
        });
        let server = Server::start(&data);
        // One request first so that the runtime and the store are warm.
        let _ = reqwest::get(format!("{}/healthz", server.url)).await;
        let before = server.status_kib("VmRSS:");
        let (unauthorized, limited, other, wall) = flood(&server, 200).await;
        let peak = server.status_kib("VmHWM:");
        println!(
            "| {label} | {unauthorized} | {limited} | {other} | {} | {:.1} MiB | {:.1} MiB |",
            ms(wall),
            peak as f64 / 1024.0,
            before as f64 / 1024.0
        );
    }
}
