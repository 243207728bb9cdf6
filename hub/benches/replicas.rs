//! Figures of the shared stores for docs/benchmarks.md, against the real `sealpost-hub
//! serve` binary on loopback (release build), with PostgreSQL and Garage started by
//! `scripts/with-postgres.sh` and `scripts/with-garage.sh` (`make bench` does):
//!
//! 1. a full sync of a 10,000-message mailbox from a hub on PostgreSQL + Garage, against
//!    the same from a hub on SQLite + its folder, in this same run (target: ≥ 0.7×);
//! 2. a 75 MB upload into Garage through the hub: its peak RSS growth (target ≤ 64 MB).

mod common;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use common::{ms, Server};
use sealpost_hub::{
    testing::{garage, postgres},
    Hub, InitOptions,
};

const PASSWORD: &str = "plum kettle orbit sandstone";
const EMAIL: &str = "referrals@partner.example";
const MESSAGES: usize = 10_000;

/// A hub in `data` holding `MESSAGES` messages of about 4 KB for `EMAIL`, seeded through
/// the library; on the shared stores when `shared`. Returns the seeding time.
async fn seeded_hub(data: &Path, shared: bool) -> Duration {
    Hub::init(
        data,
        InitOptions {
            org_name: "Bench Council".into(),
            org_domains: vec!["example.gov.uk".into()],
            public_url: "http://127.0.0.1:9".into(),
            store: if shared {
                Some(
                    postgres::test_store()
                        .expect("SEALPOST_TEST_POSTGRES (scripts/with-postgres.sh)"),
                )
            } else {
                None
            },
            blobs: if shared {
                Some(garage::test_blobs().expect("SEALPOST_TEST_S3 (scripts/with-garage.sh)"))
            } else {
                None
            },
        },
    )
    .unwrap();
    common::configure(data, |c| {
        c.security.sign_in_per_ip_per_minute = 1_000_000;
        c.security.sign_in_per_address_per_minute = 1_000_000;
    });
    let start = Instant::now();
    let hub = Hub::open(data).unwrap();
    common::seed_case_updates(&hub, EMAIL, MESSAGES).await;
    if shared {
        // As PostgreSQL's autovacuum does within a minute of so many inserts: planner
        // statistics for the new rows.
        hub.store()
            .write_blocking(|tx| tx.sql().execute("ANALYZE", []))
            .unwrap();
    }
    start.elapsed()
}

/// The median of three full syncs (500 items a page) of `EMAIL`'s mailbox on `server`.
async fn sync_time(http: &reqwest::Client, server: &Server, access: &str) -> (usize, Duration) {
    let mut runs = Vec::new();
    let mut items = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let mut since: Option<String> = None;
        items = 0;
        loop {
            let url = match &since {
                Some(s) => format!("{}/api/v1/changes?since={s}&limit=500", server.url),
                None => format!("{}/api/v1/changes?limit=500", server.url),
            };
            let page: serde_json::Value = http
                .get(url)
                .bearer_auth(access)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            items += page["created"].as_array().unwrap().len();
            since = Some(page["state"].as_str().unwrap().to_owned());
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
        }
        runs.push(start.elapsed());
    }
    (items, common::median(runs))
}

#[tokio::main]
async fn main() {
    let http = reqwest::Client::new();
    let mut figures = Vec::new();
    let mut shared_server = None;
    for shared in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("hub");
        let seeded = seeded_hub(&data, shared).await;
        let token = common::registration_token(&data);
        let server = Server::start(&data);
        common::register(&http, &server.url, &token, PASSWORD).await;
        let access = common::sign_in(&http, &server.url, EMAIL, PASSWORD).await;
        let (items, took) = sync_time(&http, &server, &access).await;
        figures.push((items, took, seeded));
        if shared {
            shared_server = Some((tmp, server, access));
        }
    }
    let rate = |(items, took, _): &(usize, Duration, Duration)| *items as f64 / took.as_secs_f64();
    println!("## Shared stores: PostgreSQL 15 + Garage 2.5 (loopback, same machine)");
    println!();
    println!("| measure | SQLite + folder | PostgreSQL + Garage |");
    println!("|---|---|---|");
    println!(
        "| full sync of {MESSAGES} messages (median of 3) | {} | {} |",
        ms(figures[0].1),
        ms(figures[1].1)
    );
    println!(
        "| items per second | {:.0} | {:.0} |",
        rate(&figures[0]),
        rate(&figures[1])
    );
    println!(
        "| ratio PostgreSQL + Garage / SQLite | | {:.2}x |",
        rate(&figures[1]) / rate(&figures[0])
    );
    println!(
        "| (seeding {MESSAGES} org sends through the library) | {} | {} |",
        ms(figures[0].2),
        ms(figures[1].2)
    );

    // 2. A 75 MB upload streamed into the bucket.
    let (_tmp, server, access) = shared_server.expect("the shared hub ran");
    let payload = bytes::Bytes::from(common::pseudo_random(75_000_000, 0));
    let mut growth = 0u64;
    let mut times = Vec::new();
    for _ in 0..3 {
        let (took, grew) = common::timed_upload(&http, &server, &access, payload.clone()).await;
        times.push(took);
        growth = growth.max(grew);
    }
    let took = common::median(times);
    println!(
        "| 75 MB upload into Garage through the hub (median of 3) | | {} ({:.0} MB/s) |",
        ms(took),
        75.0 / took.as_secs_f64()
    );
    println!(
        "| hub peak RSS growth during that upload (max of 3) | | {:.1} MiB |",
        growth as f64 / 1024.0
    );
    println!();
}
