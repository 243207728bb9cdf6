//! A message its sender recalls leaves an open app's list, in the real window: a line
//! says it was withdrawn and when, opening it shows nothing of it, and the line can be
//! removed.

use anyhow::{ensure, Result};
use sealpost_hub::{testing::TestServer, Caller};

use super::{
    finish, in_desktop_session, register, registration_link, start_app, wait_js, work_dirs, ADDRESS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_message_leaves_an_open_apps_list() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("recall")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Referral", "Please reply.")
        .await;
    let wrong = server
        .org_send(&[ADDRESS], "Notes for another family", "Not yours to read.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Notes for another family")
            .await?;
        ui.click_row("Notes for another family").await?;
        ui.wait_text("#message-body", "Not yours to read.").await?;

        // Staff recall it while the app is open on it: the hub's push brings the change.
        server
            .hub
            .recall_org_message(&wrong, &Caller::cli())
            .await?;
        ui.wait_text("#message-list", "Withdrawn by the sender on")
            .await?;
        wait_js(
            &ui,
            "const l = document.querySelector('#message-list').innerText; \
             return !l.includes('Notes for another family') && l.includes('Referral')",
            "the subject left the list, the other message stayed",
        )
        .await?;
        // The message was open: its view gives way to the line without a click.
        ui.wait_text("#message-withdrawn", "Withdrawn by the sender on")
            .await?;
        ui.shot("recalled-line").await?;
        let shown = ui
            .js("return document.querySelector('#message-view').innerText")
            .await?;
        let shown = shown.as_str().unwrap_or_default();
        ensure!(
            !shown.contains("Not yours to read") && !shown.contains("another family"),
            "nothing of the message is shown: {shown}"
        );
        ensure!(
            !ui.present("#reply").await && !ui.present("#forward").await,
            "a withdrawn message cannot be answered"
        );
        ui.click("#delete").await?;
        wait_js(
            &ui,
            "return !document.querySelector('#message-list').innerText.includes('Withdrawn')",
            "the line was removed",
        )
        .await?;
        ui.wait_text("#message-list", "Referral").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}
