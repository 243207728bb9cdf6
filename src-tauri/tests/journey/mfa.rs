//! Two-step sign-in in the real window: turned on in Settings with the QR code's key and a
//! first code, ten recovery codes shown once, then a sign-in that asks for the code.

use anyhow::{ensure, Result};
use chrono::Duration;
use sealpost_hub::testing::TestServer;

use super::{
    finish, in_desktop_session, register, registration_link, start_app, work_dirs, ADDRESS,
    PASSWORD,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_sign_in_is_turned_on_and_then_asked_for() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("mfa")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Referral", "Please reply.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Referral").await?;

        ui.click("#tab-settings").await?;
        ui.wait_text("#mfa-status", "Off").await?;
        // The password is asked again first; a wrong one is said.
        ui.type_into("#mfa-password", "not the password at all")
            .await?;
        ui.click("#mfa-start").await?;
        ui.wait_text("#mfa-error", "not right").await?;
        ui.type_into("#mfa-password", PASSWORD).await?;
        ui.click("#mfa-start").await?;
        let secret = ui.wait_text("#mfa-secret", " ").await?;
        ensure!(ui.present("#mfa-qr").await, "the QR code is shown");
        ui.shot("mfa-enrol").await?;
        // A wrong code first: said, and nothing turned on.
        ui.type_into("#mfa-code", "000000").await?;
        ui.click("#mfa-confirm").await?;
        ui.wait_text("#mfa-error", "authenticator app shows now")
            .await?;
        ui.type_into("#mfa-code", &server.authenticator_code(&secret))
            .await?;
        ui.click("#mfa-confirm").await?;
        ui.wait("#recovery-codes").await?;
        let codes = ui
            .js("return document.querySelectorAll('#recovery-codes li').length")
            .await?;
        ensure!(codes == 10, "ten recovery codes: {codes}");
        ui.shot("mfa-recovery-codes").await?;
        ui.click("#recovery-kept").await?;
        ui.wait_text("#mfa-status", "10 recovery codes left")
            .await?;

        // Signed out, the password alone is not enough: the code is asked for.
        ui.click("#sign-out").await?;
        ui.wait("#sign-in").await?;
        ui.type_into("#password", PASSWORD).await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#mfa-asked", "two-step sign-in").await?;
        ui.shot("mfa-asked").await?;
        server.advance(Duration::seconds(30));
        ui.type_into("#mfa-code", &server.authenticator_code(&secret))
            .await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#message-list", "Referral").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_that_requires_it_has_it_turned_on_before_the_mail_shows() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("mfa-required")?;
    let server = TestServer::start_with(|c| c.security.require_mfa = true).await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Referral", "Please reply.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        // Settings first, saying why; nothing synced yet.
        ui.wait_text("#mfa-required", "requires two-step sign-in")
            .await?;
        ensure!(
            !ui.present("#message-list .row-item").await,
            "no message before two-step sign-in is on"
        );
        ui.shot("mfa-required").await?;
        ui.type_into("#mfa-password", PASSWORD).await?;
        ui.click("#mfa-start").await?;
        let secret = ui.wait_text("#mfa-secret", " ").await?;
        ui.type_into("#mfa-code", &server.authenticator_code(&secret))
            .await?;
        ui.click("#mfa-confirm").await?;
        ui.wait("#recovery-codes").await?;
        ui.click("#recovery-kept").await?;
        // On: sync starts and the mail comes.
        ui.click("#tab-inbox").await?;
        ui.wait_text("#message-list", "Referral").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}
