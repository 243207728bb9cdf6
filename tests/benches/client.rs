//! Client figures for docs/benchmarks.md (release build), against the hub binary on loopback:
//!
//! 1. initial sync of 10,000 messages (~4 KB bodies) into an empty vault: messages/s
//!    against a bare bulk insert of the same rows into a SQLCipher database in this same
//!    run; peak RSS of this process, which is the client alone (the hub runs as its own
//!    process);
//! 2. incremental: hub accepts a message → it is in the vault (push), median of 20;
//! 3. search over the 10,000 messages, opening the vault, purging 10,000 expired.

use std::time::{Duration, Instant};

use sealpost_proto::{ChangedItem, Folder};
use sealpost_tests::*;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `sealpost-hub serve` (release) in its own process, so that this process is the client
/// alone; stopped when dropped.
struct HubProcess {
    child: std::process::Child,
    url: String,
}

impl HubProcess {
    fn start(data: &std::path::Path) -> Self {
        use std::io::BufRead;
        let bin = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("sealpost-hub");
        assert!(
            bin.exists(),
            "build the hub first: cargo build --release -p sealpost-hub ({})",
            bin.display()
        );
        let mut child = std::process::Command::new(bin)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .env("SEALPOST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            child,
            url: line.trim().trim_start_matches("listening on ").to_owned(),
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::main]
async fn main() {
    // Seed a hub's data directory through the library, then serve it from its own process.
    let seeded = tempfile::tempdir().unwrap();
    let data = seeded.path().join("hub");
    let body: String = "The quick brown fox jumps over the lazy dog. ".repeat(92);
    {
        let hub = sealpost_hub::Hub::init(
            &data,
            sealpost_hub::InitOptions {
                org_name: "Bench Council".into(),
                org_domains: vec!["example.gov.uk".into()],
                public_url: "http://127.0.0.1:9".into(),
            },
        )
        .map(|_| sealpost_hub::Hub::open(&data).unwrap())
        .unwrap();
        for i in 0..10_000 {
            hub.send_org_message(
                sealpost_hub::sending::OrgMessage {
                    from: STAFF.into(),
                    to: vec![alice().into()],
                    subject: format!("Case update {i} for family {}", i % 97),
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
    let eml = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let token = token_in(&std::fs::read_to_string(eml).unwrap(), "/register").unwrap();
    let hub = HubProcess::start(&data);
    let link = sealpost_client::hub::HubClient::new(&hub.url).unwrap();
    link.register(&token, GOOD_PASSWORD).await.unwrap();
    let client = TestClient::new();
    let accounts = client.accounts();
    let record = accounts.add(&hub.url, alice()).unwrap();
    let mailbox = accounts.open(&record.id).unwrap();
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();

    // 1. Initial sync.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let rss_before = status_kib("VmRSS:");
    let start = Instant::now();
    let report = mailbox.syncer.sync().await.unwrap();
    let sync_time = start.elapsed();
    let peak = status_kib("VmHWM:");
    assert_eq!(report.new_mail, 10_000);

    // Baseline: the same 10,000 rows, fetched the same way, inserted bare.
    let mut pages = Vec::new();
    let mut since: Option<String> = None;
    let fetch_start = Instant::now();
    loop {
        let page = mailbox.hub.changes(since.as_deref(), 500).await.unwrap();
        since = Some(page.state.clone());
        let more = page.has_more;
        pages.push(page);
        if !more {
            break;
        }
    }
    let fetch_time = fetch_start.elapsed();
    let rows: Vec<_> = pages
        .iter()
        .flat_map(|p| p.created.iter())
        .filter_map(|i| match i {
            ChangedItem::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let bare = rusqlite::Connection::open(dir.path().join("bare.db")).unwrap();
    bare.pragma_update(None, "key", format!("x'{}'", "ab".repeat(32)))
        .unwrap();
    bare.pragma_update(None, "journal_mode", "WAL").unwrap();
    bare.execute_batch(
        "CREATE TABLE m (id TEXT PRIMARY KEY, sender TEXT, subject TEXT, body TEXT, sent_at TEXT, expires_at TEXT)",
    )
    .unwrap();
    let start = Instant::now();
    let tx = bare.unchecked_transaction().unwrap();
    {
        let mut stmt = tx
            .prepare("INSERT INTO m (id, sender, subject, body, sent_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .unwrap();
        for m in &rows {
            stmt.execute(rusqlite::params![
                m.summary.id,
                m.summary.from,
                m.summary.subject,
                m.body_text,
                m.summary.sent_at,
                m.summary.expires_at
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let bare_time = start.elapsed();
    let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();

    println!("## Initial sync of 10,000 messages (4 KB bodies), hub on loopback, release build");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| sync into the vault (SQLCipher, search index, 20 pages) | {} — {:.0} messages/s |",
        ms(sync_time),
        per_s(10_000, sync_time)
    );
    println!(
        "| baseline: bare insert of the same rows into SQLCipher, same run | {} — {:.0} rows/s |",
        ms(bare_time),
        per_s(rows.len(), bare_time)
    );
    println!(
        "| ratio sync / bare insert | {:.2}x |",
        bare_time.as_secs_f64() / sync_time.as_secs_f64()
    );
    println!(
        "| (floor: fetching the same 20 pages from the hub, nothing written) | {} |",
        ms(fetch_time)
    );
    println!(
        "| client process RSS before sync → peak during sync | {:.0} MiB → {:.0} MiB |",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!();

    // 2. Incremental, through push.
    let syncer = mailbox.syncer.clone();
    let mut events = syncer.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        syncer
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    while events.try_recv().is_ok() {}
    let org_token = {
        let out = std::process::Command::new(
            std::env::current_exe()
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("sealpost-hub"),
        )
        .args([
            "admin",
            "--data",
            data.to_str().unwrap(),
            "token",
            "create",
            "--name",
            "bench",
        ])
        .output()
        .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let http = reqwest_client();
    let mut latencies = Vec::new();
    for i in 0..20 {
        let start = Instant::now();
        let r = http
            .post(format!("{}/api/v1/org/messages", hub.url))
            .bearer_auth(&org_token)
            .json(&serde_json::json!({"from": STAFF, "to": [alice()], "subject": format!("Live {i}"), "body_text": "b"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Ok(sealpost_client::sync::SyncEvent::NewMail { .. })) => break,
                Ok(_) => continue,
                Err(_) => panic!("no push within 5 s"),
            }
        }
        latencies.push(start.elapsed());
    }
    let _ = stop.send(());
    let _ = running.await;
    println!("## Incremental: hub accepts a message → it is in the vault (push), 20 messages");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| median | {} |", ms(median(latencies.clone())));
    println!("| worst | {} |", ms(*latencies.iter().max().unwrap()));
    println!();

    // 3. Search, open, purge.
    let mut searches = Vec::new();
    for q in [
        "family 42",
        "update 9999",
        "quick brown",
        "case",
        "lazy dog",
    ] {
        let start = Instant::now();
        let hits = mailbox.vault.search(q, 50).unwrap();
        searches.push(start.elapsed());
        assert!(!hits.is_empty(), "{q}");
    }
    let path = mailbox.vault.path().to_owned();
    let key = {
        use sealpost_client::keyring::SecretStore;
        client
            .keyring
            .load(&sealpost_client::keyring::vault_key_name(
                &mailbox.account.id,
            ))
            .unwrap()
            .unwrap()
    };
    let mut opens = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let v = sealpost_client::Vault::open(&path, key.expose()).unwrap();
        let _ = v.list(Folder::Inbox, 50, None).unwrap();
        opens.push(start.elapsed());
    }
    let far = chrono::Utc::now() + chrono::Duration::days(400);
    let start = Instant::now();
    let purged = mailbox.vault.purge_expired(far).unwrap();
    let purge = start.elapsed();
    println!("## Vault operations, 10,000 messages");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| search, median of 5 queries (50 results) | {} |",
        ms(median(searches))
    );
    println!(
        "| open the vault and list the newest 50, median of 5 | {} |",
        ms(median(opens))
    );
    println!("| purge {purged} expired messages | {} |", ms(purge));
}
