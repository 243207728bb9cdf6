//! Mailbox figures for docs/benchmarks.md, against the real `sealpost-hub serve` binary on
//! loopback (release build):
//!
//! 1. a 75 MB attachment upload: the hub's peak RSS growth, and throughput against a
//!    baseline of bare age encryption of the same bytes in this same run;
//! 2. `GET /changes` of a 10,000-message mailbox, all pages: items per second;
//! 3. `/healthz` and an authenticated "no changes" `/changes` under wrk: requests per second.
//!
//! `cargo bench --bench mailbox -- sync` runs only the second.

mod common;

use std::{
    io::Write,
    process::Command,
    time::{Duration, Instant},
};

use common::{configure, ms, Server};
use sealpost_hub::Hub;
use serde::{de::IgnoredAny, Deserialize};

/// What the benchmark reads of a `/changes` page: every item is parsed through but not
/// kept, so the figure is the hub's answer and its transfer, not a client's data model
/// (the client benchmark measures that).
#[derive(Deserialize)]
struct Page {
    state: String,
    has_more: bool,
    created: Vec<IgnoredAny>,
    updated: Vec<IgnoredAny>,
}

/// One full sync of the mailbox: (items, pages, time, last state).
async fn full_sync(
    http: &reqwest::Client,
    url: &str,
    access: &str,
) -> (usize, usize, Duration, String) {
    let start = Instant::now();
    let mut since: Option<String> = None;
    let mut items = 0usize;
    let mut pages = 0usize;
    loop {
        let page_url = match &since {
            Some(s) => format!("{url}/api/v1/changes?since={s}&limit=500"),
            None => format!("{url}/api/v1/changes?limit=500"),
        };
        let bytes = http
            .get(page_url)
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let page: Page = serde_json::from_slice(&bytes).unwrap();
        items += page.created.len() + page.updated.len();
        pages += 1;
        since = Some(page.state);
        if !page.has_more {
            break;
        }
    }
    (items, pages, start.elapsed(), since.unwrap())
}

const PASSWORD: &str = "plum kettle orbit sandstone";
const EMAIL: &str = "referrals@partner.example";

fn bare_age(data: &[u8]) -> Duration {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let start = Instant::now();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _)).unwrap();
    let mut writer = encryptor.wrap_output(std::io::sink()).unwrap();
    writer.write_all(data).unwrap();
    writer.finish().unwrap();
    start.elapsed()
}

fn wrk(url: &str, token: Option<&str>) -> Option<f64> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", "-d10s", "--latency"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let non_2xx = text.lines().any(|l| l.contains("Non-2xx"));
    assert!(
        !non_2xx,
        "every answer must be a success under load:\n{text}"
    );
    text.lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    common::init(&data);
    configure(&data, |c| {
        c.security.sign_in_per_ip_per_minute = 1_000_000;
        c.security.sign_in_per_address_per_minute = 1_000_000;
    });

    // Seed 10,000 messages of about 4 KB through the library, before the server starts.
    let seed_start = Instant::now();
    common::seed_case_updates(&Hub::open(&data).unwrap(), EMAIL, 10_000).await;
    let seeded = seed_start.elapsed();
    let token = common::registration_token(&data);

    let server = Server::start(&data);
    let http = reqwest::Client::new();
    common::register(&http, &server.url, &token, PASSWORD).await;
    let access = common::sign_in(&http, &server.url, EMAIL, PASSWORD).await;

    let only_sync = std::env::args().skip(1).any(|a| a == "sync");

    // 1. Upload.
    if !only_sync {
        let payload = bytes::Bytes::from(common::pseudo_random(75_000_000, 0));
        let mut bare = Vec::new();
        let mut uploads = Vec::new();
        let mut growth = 0u64;
        for _ in 0..3 {
            bare.push(bare_age(&payload));
            let (took, grew) = common::timed_upload(&http, &server, &access, payload.clone()).await;
            uploads.push(took);
            growth = growth.max(grew);
        }
        let bare = common::median(bare);
        let upload = common::median(uploads);
        let mbps = |d: Duration| 75.0 / d.as_secs_f64();

        println!("## 75 MB attachment upload (3 runs, medians)");
        println!();
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| upload through the hub on loopback | {} ({:.0} MB/s) |",
            ms(upload),
            mbps(upload)
        );
        println!(
            "| baseline: bare age encryption of the same bytes, same run | {} ({:.0} MB/s) |",
            ms(bare),
            mbps(bare)
        );
        println!(
            "| throughput ratio upload / bare age | {:.2}x |",
            bare.as_secs_f64() / upload.as_secs_f64()
        );
        println!(
            "| hub peak RSS growth during an upload (max of 3) | {:.1} MiB |",
            growth as f64 / 1024.0
        );
        println!();
    }

    // 2. Full sync of 10,000 messages, three times (the first also warms the key cache
    // and the page cache, as on a hub that has been running).
    let mut runs = Vec::new();
    let mut last = (0, 0, String::new());
    for _ in 0..3 {
        let (items, pages, took, state) = full_sync(&http, &server.url, &access).await;
        runs.push(took);
        last = (items, pages, state);
    }
    let (items, pages, state) = last;
    let took = common::median(runs);
    println!("## GET /changes of a 10,000-message mailbox (4 KB bodies), all pages");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| items | {items} in {pages} pages |");
    println!("| time (median of 3 full syncs) | {} |", ms(took));
    println!(
        "| items per second | {:.0} |",
        items as f64 / took.as_secs_f64()
    );
    println!(
        "| (seeding 10,000 org sends through the library) | {} |",
        ms(seeded)
    );
    println!();
    if only_sync {
        return;
    }

    // 3. Load.
    let healthz = wrk(&format!("{}/healthz", server.url), None);
    let nothing = wrk(
        &format!("{}/api/v1/changes?since={state}", server.url),
        Some(&access),
    );
    println!("## Under load (wrk, 2 threads, 64 connections, 10 s, loopback, same 2-core machine)");
    println!();
    println!("| route | requests/s |");
    println!("|---|---|");
    let show = |v: Option<f64>| {
        v.map(|r| format!("{r:.0}"))
            .unwrap_or_else(|| "wrk not installed".into())
    };
    println!("| GET /healthz | {} |", show(healthz));
    println!(
        "| GET /api/v1/changes?since=<current> (authenticated, nothing changed) | {} |",
        show(nothing)
    );
}
