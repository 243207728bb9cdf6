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
