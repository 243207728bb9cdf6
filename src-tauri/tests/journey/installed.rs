//! The app as its package installs it: `scripts/package-check.sh` installs the `.deb` and
//! runs this test with `SEALPOST_INSTALLED_APP=/usr/bin/sealpost-desktop`. The installed
//! release binary reaches its first screen under Xvfb, registers with a hub on loopback,
//! keeps its vault key in the real Secret Service and shows the inbox.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use sealpost_hub::testing::TestServer;

use super::{
    finish, in_desktop_session, register, registration_link, start_app_at, work_dirs, ADDRESS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the installed package: run by scripts/package-check.sh"]
async fn the_installed_app_reaches_its_first_screen_and_its_inbox() -> Result<()> {
    let app = std::env::var("SEALPOST_INSTALLED_APP")
        .context("SEALPOST_INSTALLED_APP names the installed app (/usr/bin/sealpost-desktop)")?;
    ensure!(
        in_desktop_session(),
        "the installed app is tried inside scripts/with-keyring.sh"
    );
    let (work, data_dir, home) = work_dirs("installed")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(
            &[ADDRESS],
            "Installed and working",
            "This came through the hub.",
        )
        .await;
    let link = registration_link(&server, ADDRESS).await?;

    let started = Instant::now();
    let (_desktop, mut ui) = start_app_at(&app, &work, &data_dir, &home, &[]).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        eprintln!(
            "the installed app showed its first screen {} ms after it was asked to start",
            started.elapsed().as_millis()
        );
        let shown = ui.js("return document.title").await?;
        ensure!(
            shown.as_str() == Some("Sealpost"),
            "the window is the app's own (its title is {shown})"
        );
        ui.shot("first-screen").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Installed and working")
            .await?;
        ui.shot("inbox").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}

/// The version of the installed package, as dpkg knows it.
fn installed_version() -> Result<String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "sealpost"])
        .output()
        .context("running dpkg-query")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Publishes `package` (its bytes) as version `version` with `signature` in the hub's
/// updates folder, as an organisation copies a release there.
fn publish(dir: &std::path::Path, version: &str, package: &[u8], signature: &str) -> Result<()> {
    let name = format!("Sealpost_{version}_amd64.deb");
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(&name), package)?;
    let manifest = serde_json::json!({
        "version": version,
        "notes": "Search is faster.",
        "pub_date": "2026-12-07T12:00:00Z",
        "platforms": {"linux-x86_64-deb": {"url": name, "signature": signature}}
    });
    std::fs::write(dir.join("latest.json"), manifest.to_string())?;
    Ok(())
}

/// Asks for updates in Settings and waits for what the app says.
async fn check(ui: &super::ui::Ui, expect_css: &str, expect: &str) -> Result<()> {
    ui.click("#tab-settings").await?;
    ui.click("#update-check").await?;
    ui.wait_text(expect_css, expect).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the installed package and a signed newer one: run by scripts/package-check.sh"]
async fn the_installed_app_installs_only_a_signed_update_from_its_own_hub() -> Result<()> {
    let app = std::env::var("SEALPOST_INSTALLED_APP")
        .context("SEALPOST_INSTALLED_APP names the installed app (/usr/bin/sealpost-desktop)")?;
    let package_path = std::env::var("SEALPOST_UPDATE_PACKAGE")
        .context("SEALPOST_UPDATE_PACKAGE names the newer .deb, signed beside it (.sig)")?;
    let newer = std::env::var("SEALPOST_UPDATE_VERSION").context("SEALPOST_UPDATE_VERSION")?;
    ensure!(
        in_desktop_session(),
        "the installed app is tried inside scripts/with-keyring.sh"
    );
    let package = std::fs::read(&package_path)?;
    let signature = std::fs::read_to_string(format!("{package_path}.sig"))?;
    let before = installed_version()?;
    ensure!(
        before != newer,
        "the package test starts from an older version"
    );

    let (work, data_dir, home) = work_dirs("installed-update")?;
    let mut server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Before the update", "Hello.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app_at(&app, &work, &data_dir, &home, &[]).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Before the update").await?;

        // The hub names no update server: none is offered, from anywhere.
        check(&ui, "#update-said", "No newer version is offered").await?;
        ui.shot("no-updates").await?;

        // The organisation starts serving updates from its hub; the first package it
        // publishes was changed on the way (one byte).
        server
            .restart_with(|c| {
                c.updates = Some(sealpost_hub::config::UpdatesConfig {
                    dir: "updates".into(),
                })
            })
            .await;
        let dir = server.dir.path().join("hub/updates");
        let mut tampered = package.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x01;
        publish(&dir, &newer, &tampered, &signature)?;
        check(&ui, "#update-offered", &newer).await?;
        ui.wait_text("#update-notes", "Search is faster.").await?;
        ui.shot("offered").await?;
        ui.click("#update-install").await?;
        ui.wait_text("#update-error", "failed its signature check")
            .await?;
        ui.shot("tampered-package").await?;
        ensure!(
            installed_version()? == before,
            "a package that fails its signature is not installed"
        );

        // A manifest that calls the genuine package a later version than it was signed as.
        publish(&dir, "9.9.9", &package, &signature)?;
        check(&ui, "#update-offered", "9.9.9").await?;
        ui.click("#update-install").await?;
        ui.wait_text("#update-error", "another version than the package")
            .await?;
        ensure!(
            installed_version()? == before,
            "a package described as another version is not installed"
        );

        // The genuine package as published: downloaded, its signature checked, installed.
        publish(&dir, &newer, &package, &signature)?;
        let asked = Instant::now();
        check(&ui, "#update-offered", &newer).await?;
        let offered = asked.elapsed();
        let clicked = Instant::now();
        ui.click("#update-install").await?;
        ui.wait_text(
            "#update-installed",
            &format!("Sealpost {newer} is installed"),
        )
        .await?;
        let installed = clicked.elapsed();
        ui.shot("installed").await?;
        // The figures for docs/benchmarks.md, when scripts/bench.sh asks for them.
        if let Ok(figures) = std::env::var("SEALPOST_FIGURES") {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(figures)?;
            writeln!(
                f,
                "| update check (Check for updates → offered, over loopback) | {} ms |",
                offered.as_millis()
            )?;
            writeln!(
                f,
                "| update of {} KiB (Install → downloaded, signature checked, installed by dpkg) | {} ms |",
                package.len() / 1024,
                installed.as_millis()
            )?;
        }
        let now = installed_version()?;
        ensure!(
            now == newer,
            "the system's package is now {newer} (it is {now})"
        );
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
