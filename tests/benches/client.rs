//! Client figures for docs/benchmarks.md (release build), against the hub binary on loopback:
//!
//! 1. initial sync of 10,000 messages (~4 KB bodies) into an empty vault: messages/s
//!    against a bare bulk insert of the same rows into a SQLCipher database in this same
//!    run; peak RSS of this process, which is the client alone (the hub runs as its own
//!    process);
//! 2. the peer, side by side: Dovecot serving the same 10,000 messages as a Maildir over
//!    IMAP on loopback, pulled by mbsync into an empty Maildir with and without fsync
//!    (`scripts/imap-peer.sh`);
//! 3. incremental: hub accepts a message → it is in the vault (push), median of 50, in a
//!    10,000-message and a 100-message mailbox;
//! 4. search over the 10,000 messages, opening the vault, purging 10,000 expired.

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

/// Sends `n` messages to `to` through the org API, one at a time, each timed from the
/// request until the mailbox's running sync says it is in the vault.
async fn push_latencies(
    mailbox: &sealpost_client::Mailbox,
    hub_url: &str,
    org_token: &str,
    to: &str,
    n: usize,
) -> Vec<Duration> {
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
    // The stream is open once the first sync is done.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while events.try_recv().is_ok() {}
    let http = reqwest_client();
    let mut latencies = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        let r = http
            .post(format!("{hub_url}/api/v1/org/messages"))
            .bearer_auth(org_token)
            .json(&serde_json::json!({"from": STAFF, "to": [to], "subject": format!("Live {i}"), "body_text": "b"}))
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
    latencies
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
                store: None,
                blobs: None,
            },
        )
        .map(|_| sealpost_hub::Hub::open(&data).unwrap())
        .unwrap();
        // A small mailbox beside the large one, for push latency against mailbox size.
        for i in 0..100 {
            hub.send_org_message(
                sealpost_hub::sending::OrgMessage {
                    from: STAFF.into(),
                    to: vec![bob().into()],
                    subject: format!("Referral {i}"),
                    body_text: body.clone(),
                    ..Default::default()
                },
                &sealpost_hub::Caller::cli(),
            )
            .await
            .unwrap();
        }
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
    let registration = |email: &str| {
        std::fs::read_dir(data.join("outbox"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .find(|text| text.contains(&format!("To: {email}")))
            .and_then(|text| token_in(&text, "/register"))
            .unwrap()
    };
    let (alice_token, bob_token) = (registration(alice()), registration(bob()));
    let hub = HubProcess::start(&data);
    let link = sealpost_client::hub::HubClient::new(&hub.url).unwrap();
    link.register(&alice_token, GOOD_PASSWORD).await.unwrap();
    link.register(&bob_token, GOOD_PASSWORD).await.unwrap();
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
    // The search index follows the sync in the background; wait for it to finish.
    mailbox.vault.index_pending().unwrap();
    let indexed_time = start.elapsed();
    let peak = status_kib("VmHWM:");
    assert_eq!(report.new_mail, 10_000);
    for n in [0, 5_000, 9_999] {
        let hits = mailbox.vault.search(&format!("update {n}"), 5).unwrap();
        assert!(
            hits.iter()
                .any(|h| h.message.subject.starts_with(&format!("Case update {n} "))),
            "message {n} is in the search index"
        );
    }

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
    // The vault's share: the same pages applied to an empty vault, no network.
    let vault = sealpost_client::vault::Vault::open(&dir.path().join("apply.db"), &"cd".repeat(32))
        .unwrap();
    let start = Instant::now();
    for page in &pages {
        vault.apply_changes(page).unwrap();
    }
    let apply_time = start.elapsed();
    let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();

    println!("## Initial sync of 10,000 messages (4 KB bodies), hub on loopback, release build");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| first sync: every message in the vault, listable and readable (20 pages) | {} — {:.0} messages/s |",
        ms(sync_time),
        per_s(10_000, sync_time)
    );
    println!(
        "| … and the search index complete (it follows in the background) | {} — {:.0} messages/s |",
        ms(indexed_time),
        per_s(10_000, indexed_time)
    );
    println!(
        "| baseline: bare insert of the same rows into SQLCipher, same run | {} — {:.0} rows/s |",
        ms(bare_time),
        per_s(rows.len(), bare_time)
    );
    println!(
        "| ratio first sync / bare insert | {:.2}x |",
        bare_time.as_secs_f64() / sync_time.as_secs_f64()
    );
    println!(
        "| ratio first sync with the search index complete / bare insert | {:.2}x |",
        bare_time.as_secs_f64() / indexed_time.as_secs_f64()
    );
    println!(
        "| (floor: fetching the same 20 pages from the hub, nothing written) | {} |",
        ms(fetch_time)
    );
    println!(
        "| (the vault's share: applying the same 20 pages to an empty vault, no network) | {} |",
        ms(apply_time)
    );
    println!(
        "| client process RSS before sync → peak during sync | {:.0} MiB → {:.0} MiB |",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!();

    // 2. The peer: the same messages as a Maildir, served by Dovecot, pulled by mbsync.
    let peer = tempfile::tempdir().unwrap();
    let far = peer.path().join("far/cur");
    std::fs::create_dir_all(&far).unwrap();
    for (i, m) in rows.iter().enumerate() {
        let s = &m.summary;
        let email = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@bench.example>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            s.from,
            s.to.join(", "),
            s.subject,
            chrono::DateTime::parse_from_rfc3339(&s.sent_at)
                .unwrap()
                .to_rfc2822(),
            s.id,
            m.body_text
        );
        std::fs::write(far.join(format!("1765000000.{i}.bench:2,S")), email).unwrap();
    }
    let mean_size = std::fs::read_dir(&far)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum::<u64>()
        / rows.len() as u64;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/imap-peer.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(peer.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The faster of each mode's two runs.
    let mut peer_runs: Vec<(String, f64, u64, u64)> = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(seconds), Some(rss), Some(count)) = (
            f.get(1).and_then(|v| v.parse::<f64>().ok()),
            f.get(2).and_then(|v| v.parse::<u64>().ok()),
            f.get(5).and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        assert_eq!(count, 10_000, "mbsync brought every message");
        match peer_runs.iter_mut().find(|r| r.0 == f[0]) {
            Some(r) if r.1 <= seconds => {}
            Some(r) => *r = (f[0].to_owned(), seconds, rss, count),
            None => peer_runs.push((f[0].to_owned(), seconds, rss, count)),
        }
    }
    let sealpost_rate = per_s(10_000, sync_time);
    println!("## Side by side: Dovecot + mbsync pulling the same 10,000 messages over IMAP");
    println!();
    if peer_runs.len() == 2 {
        println!(
            "The same messages as a Maildir ({mean_size} bytes each on average), Debian's \
             Dovecot on a loopback port, mbsync (isync) into an empty Maildir, the faster of \
             two runs each; Sealpost's first sync above."
        );
        println!();
        println!("| peer | time | messages/s | peak RSS | Sealpost's first sync as a ratio |");
        println!("|---|---|---|---|---|");
        for (mode, seconds, rss, _) in &peer_runs {
            let rate = 10_000.0 / seconds;
            println!(
                "| mbsync, {} | {:.0} ms | {:.0} | {:.0} MiB | {:.2}x |",
                if mode == "fsync" {
                    "default (fsync per message)"
                } else {
                    "`FSync no`"
                },
                seconds * 1000.0,
                rate,
                *rss as f64 / 1024.0,
                sealpost_rate / rate
            );
        }
    } else {
        println!(
            "The peer did not run (it needs root or sudo to install Dovecot and make its user):\n\n```\n{text}{}\n```",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!();

    // 3. Incremental, through push: 50 sends to the large mailbox, 50 to the small one.
    let small = accounts.add(&hub.url, bob()).unwrap();
    let small = accounts.open(&small.id).unwrap();
    small.sign_in(GOOD_PASSWORD, false).await.unwrap();
    assert_eq!(small.syncer.sync().await.unwrap().new_mail, 100);
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
    let large_push = push_latencies(&mailbox, &hub.url, &org_token, alice(), 50).await;
    let small_push = push_latencies(&small, &hub.url, &org_token, bob(), 50).await;
    let (large_median, small_median) = (median(large_push.clone()), median(small_push.clone()));
    println!("## Incremental: hub accepts a message → it is in the vault (push), 50 messages each");
    println!();
    println!("| mailbox | median | worst |");
    println!("|---|---|---|");
    println!(
        "| 10,000 messages | {} | {} |",
        ms(large_median),
        ms(*large_push.iter().max().unwrap())
    );
    println!(
        "| 100 messages | {} | {} |",
        ms(small_median),
        ms(*small_push.iter().max().unwrap())
    );
    println!(
        "| ratio of medians, large / small | {:.2}x |",
        large_median.as_secs_f64() / small_median.as_secs_f64()
    );
    println!();

    // 4. Search, open, purge.
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
