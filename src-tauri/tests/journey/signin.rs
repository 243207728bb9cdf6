//! No sign-in trap, in the real window: the lock screen checks typos on this computer and
//! offers a way out; a reset link is checked before a password is chosen; the link the app
//! was started with is not read again after a sign-out; a lock at the hub is told in local
//! time.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use sealpost_hub::testing::TestServer;

use super::desktop::Desktop;
use super::ui::Ui;
use super::{finish, in_desktop_session, registration_link, wait_js, work_dirs, ADDRESS, PASSWORD};

const NEW_PASSWORD: &str = "violet harbour lantern cedar";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sign_in_trap() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("signin")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Referral", "Please reply.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (hub, token) = link.split_once("/register?token=").context("a link")?;
    let deep = format!(
        "sealpost://register?hub={}&token={token}",
        hub.replace(':', "%3A").replace('/', "%2F")
    );
    let desktop = Desktop::start(
        &work,
        &[
            ("SEALPOST_DATA_DIR", data_dir.display().to_string()),
            ("HOME", home.display().to_string()),
        ],
    )?;
    // Started from the link in the email, as a mail program would start it.
    let mut ui = Ui::launch_with_args(
        &desktop.driver_url,
        &desktop.display,
        env!("CARGO_BIN_EXE_sealpost-desktop"),
        &[&deep],
        work.join("screens"),
    )
    .await?;
    let result = async {
        ui.wait_text("#register-address", ADDRESS).await?;
        ui.type_into("#new-password", PASSWORD).await?;
        ui.type_into("#confirm-password", PASSWORD).await?;
        ui.click("#register").await?;
        ui.wait_text("#message-list", "Referral").await?;

        // Typos at the lock screen: refused here, the field emptied, the hub never told.
        ui.click("#lock-now").await?;
        // Each answer is waited for: the field emptied and Unlock usable again.
        const ANSWERED: &str = "return !document.querySelector('#unlock').disabled \
             && document.querySelector('#unlock-password').value === '' \
             && !!document.querySelector('#unlock-error')";
        for typo in [
            "correct horse battery stapel",
            "Correct horse battery staple",
            "not it at all, not at all",
        ] {
            ui.type_into("#unlock-password", typo).await?;
            ui.click("#unlock").await?;
            wait_js(&ui, ANSWERED, "the typo was answered").await?;
            ui.wait_text("#unlock-error", "checked on this computer").await?;
            let left = ui
                .js("return document.querySelector('#unlock-password').value")
                .await?;
            ensure!(left == "", "the wrong password does not stay in the field");
        }
        ui.shot("lock-typo").await?;
        // Past three, a short wait before the next try, said in words.
        ui.type_into("#unlock-password", "still not it, not at all").await?;
        ui.click("#unlock").await?;
        ui.wait_text("#unlock-error", "wait 2 seconds").await?;
        ensure!(
            server.audit_count("sign_in_failed").await == 0,
            "typos at the lock screen counted for nothing at the hub"
        );
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        ui.type_into("#unlock-password", PASSWORD).await?;
        ui.click("#unlock").await?;
        ui.wait_text("#message-list", "Referral").await?;

        // The way out: Forgot password from the lock screen, a link checked before a
        // password is chosen for it, the address and the rules shown.
        ui.click("#lock-now").await?;
        ui.click("#lock-forgot").await?;
        ui.click("#request-reset").await?;
        ui.wait_text("#reset-requested", "within 30 minutes").await?;
        ui.type_into("#reset-link", &format!("{}/reset?token=not-a-real-one", server.url))
            .await?;
        ui.click("#read-reset-link").await?;
        ui.wait_text("#welcome-error", "link").await?;
        ensure!(
            ui.present("#reset-link").await && !ui.present("#set-password").await,
            "a dead link is refused before any password is chosen, and its field stays"
        );
        let token = server.link_token(ADDRESS, "/reset").await;
        ui.type_into("#reset-link", &format!("{}/reset?token={token}", server.url))
            .await?;
        ui.click("#read-reset-link").await?;
        ui.wait_text("#reset-address", ADDRESS).await?;
        ui.wait("[data-rule='min_length']").await?;
        ui.type_into("#new-password", NEW_PASSWORD).await?;
        ui.type_into("#confirm-password", NEW_PASSWORD).await?;
        ui.shot("reset-form").await?;
        ui.click("#set-password").await?;
        ui.wait("#reset-done").await?;
        ui.type_into("#password", NEW_PASSWORD).await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#message-list", "Referral").await?;

        // Signing out lands on Sign in: the link the app started with is not read again.
        ui.click("#sign-out").await?;
        ui.wait("#sign-in").await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        ensure!(
            !ui.present("#welcome-error").await,
            "no 'this link is not valid' after signing out"
        );
        let selected = ui
            .attr("#tab-sign-in", "aria-selected")
            .await?
            .unwrap_or_default();
        ensure!(selected == "true", "the Sign in tab is open");

        // Each wrong password says how many tries are left; then the lock says when it
        // opens again, in local time.
        for said in [
            "2 more failures lock sign-in for 30 minutes",
            "One more failure locks sign-in for 30 minutes",
        ] {
            ui.type_into("#password", "not the password at all").await?;
            ui.click("#sign-in").await?;
            ui.wait_text("#welcome-error", said).await?;
            if said.starts_with("One") {
                ui.shot("tries-left").await?;
            }
        }
        ui.type_into("#password", "not the password at all").await?;
        ui.click("#sign-in").await?;
        wait_js(
            &ui,
            "const e = document.querySelector('#welcome-error'); return !!e && e.dataset.code === 'account_locked'",
            "the mailbox locks after three wrong passwords",
        )
        .await?;
        let said = ui.wait_text("#welcome-error", "(in 30 minutes)").await?;
        let chars: Vec<char> = said.chars().collect();
        let raw = chars
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == 'T' && w[2].is_ascii_digit());
        ensure!(!raw && !said.contains("UTC"), "the time is local, not raw: {said}");
        ui.shot("locked-at-hub").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}
