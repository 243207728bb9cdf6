//! Desktop figures for docs/benchmarks.md: the release app under Xvfb, a vault of 10,000
//! messages, driven through tauri-driver (run by `make bench`, inside the private keyring
//! session of scripts/with-keyring.sh).
//!
//! 1. launch to inbox painted: from the app process's start (/proc) to the frame after the
//!    first rows were drawn (the UI notes the time), the median of five launches; and the
//!    same to the first screen of a new install (Welcome, no mailbox yet). With
//!    `SEALPOST_BENCH_APP` (the installed package's app, from scripts/package-check.sh) both
//!    that app and the release build are launched, turn about, in the same run;
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

/// The app's process name as /proc shows it (15 characters at most).
const APP_PROCESS: &str = "sealpost-deskto";

/// Where a launch's time went, in ms: process start → the page's navigation began (window
/// and web process up), → DOM ready (scripts run), → app info, → accounts (mailboxes
/// open), → the inbox's first page, → painted.
type Steps = [u64; 6];

/// The names of [`Steps`], for the table.
const STEPS: [&str; 6] = [
    "window and web process",
    "page scripts",
    "app info",
    "mailboxes opened",
    "first page",
    "drawn",
];

/// Launches per app and screen; the median is reported.
const LAUNCHES: usize = 5;

/// Launches `app` and waits for the UI's mark `mark` (see ui/src/lib/marks.ts): the
/// milliseconds from the process's start to it, and the session, still open.
async fn launch_to(
    desktop: &desktop::Desktop,
    app: &str,
    shots: &std::path::Path,
    mark: &str,
) -> Result<(u64, Steps, ui::Ui)> {
    let ui = ui::Ui::launch(&desktop.driver_url, &desktop.display, app, shots.to_owned()).await?;
    let script = format!("return (window.__sealpostMarks || {{}}).{mark} || null");
    let mut painted = serde_json::Value::Null;
    for _ in 0..400 {
        painted = ui.client.execute(&script, vec![]).await?;
        if painted.as_i64().is_some_and(|t| t > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let painted = painted
        .as_u64()
        .with_context(|| format!("{app}: {mark} was reached"))?;
    let pid = *pids_named(APP_PROCESS)
        .first()
        .context("the app's process")?;
    let started = process_start_ms(pid).with_context(|| format!("the start of process {pid}"))?;
    // Where the time went: the page's navigation began (the window and its web process were
    // up), its DOM was ready (scripts loaded and run).
    let phases = ui
        .client
        .execute(
            "const n = performance.getEntriesByType('navigation')[0]; \
             const m = window.__sealpostMarks || {}; \
             return [performance.timeOrigin, n ? n.domContentLoadedEventEnd : 0, \
                     m.appInfo || 0, m.accounts || 0, m.firstPage || 0];",
            vec![],
        )
        .await?;
    let origin = phases[0].as_f64().unwrap_or(0.0) as u64;
    let ready = origin + phases[1].as_f64().unwrap_or(0.0) as u64;
    let at = |i: usize| phases[i].as_u64().unwrap_or(0);
    let steps = [
        origin.saturating_sub(started),
        ready.saturating_sub(origin),
        at(2).saturating_sub(ready),
        at(3).saturating_sub(at(2)),
        at(4).saturating_sub(at(3)),
        painted.saturating_sub(at(4).max(at(3))),
    ];
    Ok((painted.saturating_sub(started), steps, ui))
}

/// Ends the session and waits for the app's process to be gone, so that the next launch
/// is a new process.
async fn close(ui: ui::Ui) -> Result<()> {
    let _ = ui.client.clone().close().await;
    for _ in 0..200 {
        if pids_named(APP_PROCESS).is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the app did not end with its session")
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
    // The release build, and the installed package's app when `SEALPOST_BENCH_APP` names it
    // (scripts/package-check.sh): launched turn about, so both meet the same machine.
    let built = env!("CARGO_BIN_EXE_sealpost-desktop").to_owned();
    let installed = std::env::var("SEALPOST_BENCH_APP").ok();
    let apps: Vec<String> = std::iter::once(built.clone())
        .chain(installed.clone())
        .collect();
    let shots = work.path().join("screens");
    let mut inbox: Vec<Vec<u64>> = vec![Vec::new(); apps.len()];
    let mut welcome: Vec<Vec<u64>> = vec![Vec::new(); apps.len()];
    let mut inbox_steps: Vec<Vec<Steps>> = vec![Vec::new(); apps.len()];
    for _ in 0..LAUNCHES {
        for (i, app) in apps.iter().enumerate() {
            let (ms, steps, ui) = launch_to(&desktop, app, &shots, "inboxPainted").await?;
            inbox[i].push(ms);
            inbox_steps[i].push(steps);
            close(ui).await?;
        }
    }
    // A new install: no mailbox in the data folder.
    let kept = work.path().join("data.kept");
    std::fs::rename(&data_dir, &kept).context("setting the vault aside")?;
    for _ in 0..LAUNCHES {
        for (i, app) in apps.iter().enumerate() {
            let (ms, _, ui) = launch_to(&desktop, app, &shots, "welcomePainted").await?;
            welcome[i].push(ms);
            close(ui).await?;
        }
    }
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).context("removing the new install's folder")?;
    }
    std::fs::rename(&kept, &data_dir).context("putting the vault back")?;

    // The rest with the app the figures are for: the installed one when given.
    let app = installed.unwrap_or(built);
    let (_, _, ui) = launch_to(&desktop, &app, &shots, "inboxPainted").await?;
    let client = &ui.client;
    let pid = *pids_named(APP_PROCESS)
        .first()
        .context("the app's process")?;

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

    let which = |app: &str| {
        if app.starts_with("/usr/") {
            format!("installed {app}")
        } else {
            "release build".to_owned()
        }
    };
    println!(
        "## Desktop app ({}, vault of {MESSAGES} messages, Xvfb)",
        which(&app)
    );
    println!();
    println!("| figure | target | measured |");
    println!("|---|---|---|");
    for (i, launched) in apps.iter().enumerate() {
        for (screen, times) in [
            ("inbox painted", &mut inbox[i]),
            ("first screen of a new install", &mut welcome[i]),
        ] {
            times.sort_unstable();
            println!(
                "| launch to {screen}, {} | ≤ 1.5 s | median {} ms of {LAUNCHES} ({}) |",
                which(launched),
                times[times.len() / 2],
                times
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let median_step = |k: usize| {
            let mut each: Vec<u64> = inbox_steps[i].iter().map(|s| s[k]).collect();
            each.sort_unstable();
            each[each.len() / 2]
        };
        println!(
            "| of which (medians), {} | reported | {} |",
            which(launched),
            STEPS
                .iter()
                .enumerate()
                .map(|(k, name)| format!("{name} {} ms", median_step(k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
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
