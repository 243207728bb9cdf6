//! Master-key rotation for docs/benchmarks.md (release build): a hub with 1,000 mailboxes
//! (each with its data key and file identity wrapped by the master key, and a message),
//! rotated with `sealpost-hub admin rotate-master-key` as an admin would, three times.
//! Target: ≤ 5 s.

mod common;

use std::{process::Command, sync::Arc, time::Instant};

use common::{ms, BIN};
use sealpost_hub::{sending::OrgMessage, Caller, Hub};

const MAILBOXES: usize = 1_000;

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    common::init(&data);
    {
        let hub = Arc::new(Hub::open(&data).unwrap());
        for i in 0..MAILBOXES {
            hub.send_org_message(
                OrgMessage {
                    from: "staff@example.gov.uk".into(),
                    to: vec![format!("person{i}@partner.example")],
                    subject: format!("Referral {i}"),
                    body_text: "The quick brown fox jumps over the lazy dog. ".repeat(92),
                    ..Default::default()
                },
                &Caller::cli(),
            )
            .await
            .unwrap();
        }
        hub.deliver_mail().await.unwrap();
    }
    let mut runs = Vec::new();
    let mut reported = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let out = Command::new(BIN)
            .args(["admin", "--data", data.to_str().unwrap()])
            .args(["rotate-master-key", "--json"])
            .output()
            .unwrap();
        runs.push(start.elapsed());
        assert!(
            out.status.success(),
            "rotation: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        reported = r["mailboxes"].as_u64().unwrap();
    }
    assert_eq!(reported, MAILBOXES as u64, "every mailbox was re-wrapped");
    // Every mailbox still opens with the last key.
    let hub = Hub::open(&data).unwrap();
    assert_eq!(hub.stats().await.unwrap().messages, MAILBOXES as u64);
    println!("## Master-key rotation, {MAILBOXES} mailboxes");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| `sealpost-hub admin rotate-master-key`, whole command (median of 3) | {} |",
        ms(common::median(runs.clone()))
    );
    println!("| slowest of 3 | {} |", ms(*runs.iter().max().unwrap()));
    println!();
}
