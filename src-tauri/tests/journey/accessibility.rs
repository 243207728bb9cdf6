//! WCAG 2.2 AA in the real window: axe-core on every screen, in the light and the dark
//! theme (colour contrast included), and every control reached by Tab with a visible
//! focus ring.
//!
//! Not checked here: what a screen reader hears through AT-SPI (the tests run with
//! `NO_AT_BRIDGE=1`, and WebKitGTK's accessibility tree is not read); names and roles are
//! checked in the page, where axe-core reads them.

use anyhow::Result;
use sealpost_hub::testing::{TestServer, STAFF};

use super::{finish, in_desktop_session, registration_link, start_app, ui::Ui, work_dirs, ADDRESS};

/// axe-core in both themes, then the Tab walk, on the window as it is.
async fn check(ui: &mut Ui, screen: &str) -> Result<()> {
    for theme in ["light", "dark"] {
        ui.js(&format!(
            "document.documentElement.dataset.theme = '{theme}'; return true"
        ))
        .await?;
        // Let the new colours apply before they are measured.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        ui.axe(&format!("{screen}, {theme} theme")).await?;
    }
    ui.shot(&format!("a11y-{screen}")).await?;
    ui.js("document.documentElement.dataset.theme = 'light'; return true")
        .await?;
    ui.tab_through(screen).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_axe_in_both_themes_and_is_walked_by_keyboard() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("accessibility")?;
    let files = work.join("files");
    std::fs::create_dir_all(&files)?;
    let letter = files.join("letter.txt");
    std::fs::write(&letter, "Dear Mrs Jones")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send_files(
            ADDRESS,
            "Appointment letter",
            "The letter is attached. See https://example.gov.uk/visits for visiting times.",
            std::slice::from_ref(&letter),
        )
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        check(&mut ui, "sign-in").await?;
        ui.click("#tab-forgot").await?;
        ui.wait("#request-reset").await?;
        check(&mut ui, "forgot-password").await?;
        ui.click("#tab-register").await?;
        ui.type_into("#link", &link).await?;
        ui.click("#read-link").await?;
        ui.wait_text("#register-address", ADDRESS).await?;
        check(&mut ui, "register").await?;
        ui.type_into("#new-password", super::PASSWORD).await?;
        ui.type_into("#confirm-password", super::PASSWORD).await?;
        ui.click("#register").await?;
        ui.wait_text("#message-list", "Appointment letter").await?;

        ui.click_row("Appointment letter").await?;
        ui.wait_text("#message-body", "The letter is attached.")
            .await?;
        check(&mut ui, "message").await?;
        ui.click("#more-actions").await?;
        ui.wait("#save-pdf").await?;
        for theme in ["light", "dark"] {
            ui.js(&format!(
                "document.documentElement.dataset.theme = '{theme}'; return true"
            ))
            .await?;
            ui.axe(&format!("more menu, {theme} theme")).await?;
        }
        ui.js("document.documentElement.dataset.theme = 'light'; return true")
            .await?;
        ui.click("#more-actions").await?;

        ui.click("#tab-compose").await?;
        ui.wait("#to").await?;
        ui.type_into("#to", &STAFF[..4]).await?;
        check(&mut ui, "compose").await?;
        ui.click("#tab-address").await?;
        ui.wait("#contact-name").await?;
        check(&mut ui, "address-book").await?;
        ui.click("#tab-help").await?;
        check(&mut ui, "help").await?;
        ui.click("#tab-sent").await?;
        check(&mut ui, "sent").await?;

        ui.click("#tab-inbox").await?;
        ui.click_row("Appointment letter").await?;
        ui.click("#delete").await?;
        ui.wait("#undo-toast").await?;
        ui.click("#tab-deleted").await?;
        ui.wait_text("#message-list", "Appointment letter").await?;
        check(&mut ui, "deleted").await?;
        ui.click("#empty-deleted").await?;
        ui.wait("#confirm-dialog").await?;
        check(&mut ui, "confirm-dialog").await?;
        ui.click("#confirm-cancel").await?;

        ui.click("#lock-now").await?;
        ui.wait("#unlock-password").await?;
        check(&mut ui, "lock").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
