//! Desktop figures for docs/benchmarks.md: the release app under Xvfb, a vault of 10,000
//! messages, driven through tauri-driver (run by `make bench`, inside the private keyring
//! session of scripts/with-keyring.sh).
//!
//! 1. launch to inbox painted: from the app process's start (/proc) to the frame after the
//!    first rows were drawn (the UI notes the time);
//! 2. switching to a message: click on a row → that message drawn, median and worst of 30;
//! 3. scrolling the whole inbox, one screenful per frame: frames over 50 ms;
//! 4. RSS of the app and its web processes, after scrolling.

// The same desktop (display, notification daemon, driver) as the end-to-end test.
#[allow(dead_code)]
#[path = "../tests/journey/desktop.rs"]
mod desktop;
#[allow(dead_code)]
#[path = "../tests/journey/ui.rs"]
mod ui;

use std::time::Duration;

use anyhow::{Context, Result};
use sealpost_client::{keyring::OsKeyring, Accounts};
use sealpost_hub::{sending::OrgMessage, testing::*, Caller};

const ADDRESS: &str = "referrals@partner.example";
const PASSWORD: &str = "correct horse battery staple";
const MESSAGES: usize = 10_000;

fn clock_ticks_to_ms(ticks: u64) -> u64 {
    // USER_HZ is 100 on Linux.
    ticks * 10
}

/// Wall-clock start of a process, in milliseconds since the epoch (10 ms resolution).
fn process_start_ms(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = &stat[stat.rfind(')').context("stat")? + 2..];
    let start_ticks: u64 = after.split(' ').nth(19).context("starttime")?.parse()?;
    let btime: u64 = std::fs::read_to_string("/proc/stat")?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .context("btime")?
        .trim()
        .parse()?;
    Ok(btime * 1000 + clock_ticks_to_ms(start_ticks))
}

/// The pids of processes whose executable name is `name`.
fn pids_named(name: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .collect()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::var_os("SEALPOST_REAL_KEYRING").is_none() {
        anyhow::bail!(
            "run through `make bench` (it needs the keyring session of scripts/with-keyring.sh)"
        );
    }
    let work = tempfile::tempdir()?;
    let data_dir = work.path().join("data");

    // A hub with 10,000 messages for one mailbox, synced into a vault with Remember me, so
    // the app opens straight on the inbox.
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    let body = "Please find the notes from this week's visits below. ".repeat(40);
    for i in 0..MESSAGES {
        server.advance(chrono::Duration::seconds(1));
        server
            .hub
            .send_org_message(
                OrgMessage {
                    from: STAFF.into(),
                    to: vec![ADDRESS.into()],
                    subject: format!("Case update {i} for family {}", i % 97),
                    body_text: body.clone(),
                    ..Default::default()
                },
                &Caller::cli(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let token = server.link_token(ADDRESS, "/register").await;
    let link =
        sealpost_client::links::parse_link(&format!("{}/register?token={token}", server.url))?;
    let accounts = Accounts::new(&data_dir, std::sync::Arc::new(OsKeyring::open()?));
    let record = accounts.register(&link, PASSWORD).await?;
    {
        let mailbox = accounts.open(&record.id)?;
        mailbox.sign_in(PASSWORD, true).await?;
        let report = mailbox.syncer.sync().await?;
        anyhow::ensure!(report.new_mail == MESSAGES, "the vault holds every message");
        // The search index follows a sync in the background: the app is launched on a
        // vault at rest, as it is once a first sync is over.
        mailbox.vault.index_pending()?;
    }

    let desktop = desktop::Desktop::start(
        work.path(),
        &[
            ("SEALPOST_DATA_DIR", data_dir.display().to_string()),
            ("HOME", work.path().display().to_string()),
        ],
    )?;
    // The installed package's app when `SEALPOST_BENCH_APP` names it (scripts/bench.sh).
    let app = std::env::var("SEALPOST_BENCH_APP")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sealpost-desktop").to_owned());
    let ui = ui::Ui::launch(
        &desktop.driver_url,
        &desktop.display,
        &app,
        work.path().join("screens"),
    )
    .await?;
    let client = &ui.client;

    // 1. Launch to inbox painted.
    let mut painted = serde_json::Value::Null;
    for _ in 0..200 {
        painted = client
            .execute(
                "return (window.__sealpostMarks || {}).inboxPainted || null",
                vec![],
            )
            .await?;
        if painted.as_i64().is_some_and(|t| t > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let painted = painted.as_u64().context("the inbox was painted")?;
    let pid = *pids_named("sealpost-deskto")
        .first()
        .context("the app's process")?;
    let launch_ms = painted.saturating_sub(process_start_ms(pid)?);

    // Every row loaded (pages arrive in the background) before measuring the rest.
    for _ in 0..400 {
        let n = client
            .execute(
                "return Number(document.querySelector('#message-list').dataset.count)",
                vec![],
            )
            .await?;
        if n.as_u64() == Some(MESSAGES as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 2. Switching to a message: 30 rows, each click until that message is drawn.
    let switching = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const frame = () => new Promise(r => requestAnimationFrame(r));
              const times = [];
              for (let i = 0; i < 30; i++) {
                const rows = [...document.querySelectorAll('#message-list .row-item')];
                const row = rows[i % rows.length];
                const id = row.dataset.id;
                const t0 = performance.now();
                row.click();
                while (document.querySelector('#message-view')?.dataset.id !== id) await frame();
                await frame();
                times.push(performance.now() - t0);
              }
              done(times);
            })();"#,
            vec![],
        )
        .await?;
    let mut switch: Vec<f64> = serde_json::from_value(switching)?;
    switch.sort_by(|a, b| a.total_cmp(b));

    // 3. Scrolling the whole list, a screenful per frame.
    let scrolling = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const list = document.querySelector('#message-list');
              const frames = [];
              let last = performance.now();
              list.scrollTop = 0;
              while (list.scrollTop + list.clientHeight < list.scrollHeight - 1) {
                list.scrollTop += list.clientHeight;
                await new Promise(r => requestAnimationFrame(r));
                const now = performance.now();
                frames.push(now - last);
                last = now;
              }
              done(frames);
            })();"#,
            vec![],
        )
        .await?;
    let frames: Vec<f64> = serde_json::from_value(scrolling)?;
    let long = frames.iter().filter(|f| **f > 50.0).count();
    let worst = frames.iter().cloned().fold(0.0, f64::max);
    let total: f64 = frames.iter().sum();

    // 4. Memory of the app and its web processes.
    let mut processes = vec![("app", rss_kib(pid))];
    for (label, name) in [
        ("web content", "WebKitWebProces"),
        ("network", "WebKitNetworkPr"),
    ] {
        for p in pids_named(name) {
            processes.push((label, rss_kib(p)));
        }
    }
    let rss_total: u64 = processes.iter().map(|(_, k)| k).sum();
    let _ = ui.client.clone().close().await;

    let which = if app.starts_with("/usr/") {
        format!("the installed package's {app}")
    } else {
        "release build".to_owned()
    };
    println!("## Desktop app ({which}, vault of {MESSAGES} messages, Xvfb)");
    println!();
    println!("| figure | target | measured |");
    println!("|---|---|---|");
    println!("| launch to inbox painted | ≤ 1.5 s | {launch_ms} ms |");
    println!(
        "| switching to a message (30 rows) | ≤ 100 ms | median {:.0} ms, worst {:.0} ms |",
        switch[switch.len() / 2],
        switch[switch.len() - 1]
    );
    println!(
        "| scrolling all {MESSAGES} rows, a screenful per frame | no long frames | {} frames in {:.1} s, {long} over 50 ms, worst {worst:.0} ms |",
        frames.len(),
        total / 1000.0
    );
    println!(
        "| RSS, all processes, after scrolling | reported | {:.0} MiB ({}) |",
        rss_total as f64 / 1024.0,
        processes
            .iter()
            .map(|(l, k)| format!("{l} {:.0}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
