//! What a person writes is never lost, in the real window: a draft sent with its
//! attachment, a compose kept across three locks, Discard asking first and undoable, no
//! browser menu or reload, and a compose brought back after the app was killed.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use sealpost_hub::testing::{TestServer, STAFF};

use super::desktop::Desktop;
use super::ui::Ui;
use super::{
    email_to, finish, in_desktop_session, register, registration_link, start_app, wait_js,
    work_dirs, ADDRESS, PASSWORD,
};

/// How many rows of the open list show `subject`.
async fn rows_with(ui: &Ui, subject: &str) -> Result<u64> {
    let script = format!(
        "return [...document.querySelectorAll('#message-list .row-item')]\
           .filter(r => r.innerText.includes({})).length",
        serde_json::to_string(subject)?
    );
    ui.js(&script).await?.as_u64().context("a count of rows")
}

/// Attaches `file` through the system's open dialog.
async fn attach(ui: &Ui, desktop: &Desktop, file: &std::path::Path) -> Result<()> {
    ui.click("#attach").await?;
    desktop.answer_file_dialog("Attach files", file, false)?;
    let name = file.file_name().context("a file name")?.to_string_lossy();
    ui.wait(&format!("li[data-file='{name}']")).await?;
    Ok(())
}

/// Locks with Ctrl+L and unlocks with the password.
async fn lock_and_unlock(ui: &Ui) -> Result<()> {
    ui.client
        .find(fantoccini::Locator::Css("body"))
        .await?
        .send_keys("\u{E009}l")
        .await?;
    ui.wait("#unlock-password").await?;
    ui.type_into("#unlock-password", PASSWORD).await?;
    ui.click("#unlock").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_written_is_never_lost() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("compose")?;
    let files = work.join("files");
    std::fs::create_dir_all(&files)?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Referral", "Please reply.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (desktop, ui) = start_app(&work, &data_dir, &home).await?;
    let mut ui = ui;
    let letter = files.join("letter.txt");
    std::fs::write(&letter, "the signed letter")?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Referral").await?;

        // A draft saved with a file, opened from Drafts and sent: the file goes with it,
        // and the draft leaves Drafts.
        ui.click("#tab-compose").await?;
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#subject", "Signed letter").await?;
        ui.type_into("#body", "Attached.").await?;
        attach(&ui, &desktop, &letter).await?;
        ui.click("#save-draft").await?;
        ui.wait_text("#notice", "Draft saved").await?;
        ui.click_row("Signed letter").await?;
        ui.wait_text(".files", "letter.txt")
            .await
            .context("the draft opens with its attachment")?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "Message sent.").await?;
        let email = email_to(&server, STAFF, "Signed letter").await?;
        ensure!(
            email.contains("letter.txt"),
            "the email to staff carries the draft's attachment"
        );
        ui.click("#tab-drafts").await?;
        wait_js(
            &ui,
            "return !document.querySelector('#message-list').innerText.includes('Signed letter')",
            "the sent draft left Drafts",
        )
        .await?;

        // Three locks while writing: one draft, and the work is back after each unlock.
        ui.click("#tab-compose").await?;
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#subject", "Kept across locks").await?;
        ui.type_into("#body", "Still writing.").await?;
        attach(&ui, &desktop, &letter).await?;
        for round in 1..=3 {
            lock_and_unlock(&ui).await?;
            wait_js(
                &ui,
                "const s = document.querySelector('#subject'); return !!s && s.value === 'Kept across locks'",
                &format!("round {round}: the compose is back after the unlock"),
            )
            .await?;
            ui.wait_text(".files", "letter.txt")
                .await
                .with_context(|| format!("round {round}: its attachment is back too"))?;
        }
        ui.shot("compose-after-locks").await?;
        ui.click("#tab-drafts").await?;
        ui.wait_text("#message-list", "Kept across locks").await?;
        ensure!(
            rows_with(&ui, "Kept across locks").await? == 1,
            "three locks saved one draft"
        );

        // Discard asks first, says what goes, and can be undone.
        ui.click_row("Kept across locks").await?;
        ui.click("#discard").await?;
        let said = ui.wait_text("#discard-summary", "attachment").await?;
        ensure!(
            said.contains("Kept across locks"),
            "the question names the message: {said}"
        );
        ui.shot("discard-confirm").await?;
        ui.click("#confirm-ok").await?;
        ui.click("#undo").await?;
        ui.wait_text(".files", "letter.txt")
            .await
            .context("Undo brings the compose back, attachment and all")?;
        ui.click("#discard").await?;
        ui.click("#confirm-ok").await?;
        ui.wait("#undo-toast").await?;
        wait_js(
            &ui,
            "return !document.querySelector('#undo-toast')",
            "the moment to undo passed",
        )
        .await?;
        ui.click("#tab-inbox").await?;
        ui.click("#tab-drafts").await?;
        wait_js(
            &ui,
            "return !document.querySelector('#message-list').innerText.includes('Kept across locks')",
            "the discarded draft left Drafts",
        )
        .await?;

        // No browser menu, no reload: the window is an app.
        ui.click("#tab-compose").await?;
        ui.type_into("#subject", "Not to be reloaded away").await?;
        let menus = ui
            .js("const fire = (el) => { const e = new MouseEvent('contextmenu', {bubbles: true, cancelable: true}); el.dispatchEvent(e); return e.defaultPrevented; }; \
                 return { page: fire(document.querySelector('.compose')), field: fire(document.querySelector('#body')) }")
            .await?;
        ensure!(
            menus["page"] == true && menus["field"] == false,
            "the web view's menu is off, but text fields keep their editing menu: {menus}"
        );
        ui.js("window.__stillHere = true; return true").await?;
        let body = ui.client.find(fantoccini::Locator::Css("body")).await?;
        body.send_keys("\u{E035}").await?; // F5
        body.send_keys("\u{E009}r").await?; // Ctrl+R
        tokio::time::sleep(Duration::from_millis(800)).await;
        ensure!(
            ui.js("return window.__stillHere === true").await? == true,
            "F5 and Ctrl+R do not reload the window"
        );

        // The app is killed while writing: the compose is back at the next start.
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#body", "Typed just before the crash.").await?;
        attach(&ui, &desktop, &letter).await?;
        tokio::time::sleep(Duration::from_millis(1500)).await; // the compose is kept
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if result.is_err() {
        return finish(&mut ui, result).await;
    }
    let app = env!("CARGO_BIN_EXE_sealpost-desktop");
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", &format!("^{app}")])
        .status()?;
    ensure!(killed.success(), "the app was running, and is killed");
    let _ = ui.client.clone().close().await;
    let mut ui = Ui::launch(
        &desktop.driver_url,
        &desktop.display,
        app,
        work.join("screens-after-crash"),
    )
    .await?;
    let result = async {
        ui.wait("#sign-in").await?;
        ui.type_into("#password", PASSWORD).await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#notice", "back in Compose").await?;
        ui.click("#tab-compose").await?;
        ui.wait_text(".files", "letter.txt").await?;
        let body = ui
            .js("return document.querySelector('#body').value")
            .await?;
        ensure!(
            body == "Typed just before the crash.",
            "the text typed before the crash is back ({body})"
        );
        ui.shot("compose-after-crash").await?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "Message sent.").await?;
        email_to(&server, STAFF, "Not to be reloaded away")
            .await
            .context("the recovered compose was sent")?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}

/// Whether the element with `id` has the keyboard focus.
fn focus_is(id: &str) -> String {
    format!("return document.activeElement && document.activeElement.id === '{id}'")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_open_where_the_person_types() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    const OTHER: &str = "family@other-partner.example";
    let (work, data_dir, home) = work_dirs("answers")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .hub
        .send_org_message(
            sealpost_hub::sending::OrgMessage {
                from: STAFF.into(),
                to: vec![ADDRESS.into(), OTHER.into()],
                subject: "Visit plan".into(),
                body_text: "The visit is on Monday.".into(),
                ..Default::default()
            },
            &sealpost_hub::Caller::cli(),
        )
        .await?;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        wait_js(&ui, &focus_is("hub"), "sign-in opens on its first empty field").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Visit plan").await?;

        // Reply: the cursor is in the text, above the quote; Ctrl+Enter sends.
        ui.click_row("Visit plan").await?;
        ui.click("#reply").await?;
        wait_js(&ui, &focus_is("body"), "a reply opens in its text").await?;
        let caret = ui
            .js("const b = document.querySelector('#body'); return b.selectionStart === 0 && b.value.includes('> The visit is on Monday.')")
            .await?;
        ensure!(caret == true, "the caret is above the quoted original");
        ui.type_into("#body", "Monday suits us.").await?;
        ui.client
            .find(fantoccini::Locator::Css("#body"))
            .await?
            .send_keys("\u{E009}\u{E007}")
            .await?;
        ui.wait_text("#notice", "Message sent.").await?;
        let reply = email_to(&server, STAFF, "Re: Visit plan")
            .await
            .context("Ctrl+Enter sent the reply")?;
        ensure!(reply.contains("Monday suits us."), "{reply}");

        // Reply to All: the outside co-recipient is named as left out, and why.
        ui.click("#tab-inbox").await?;
        ui.click_row("Visit plan").await?;
        ui.click("#reply-all").await?;
        let said = ui.wait_text("#reply-left-out", OTHER).await?;
        ensure!(
            said.contains("organisation"),
            "Compose says why the address is left out: {said}"
        );
        ui.shot("reply-all-left-out").await?;
        ui.click("#discard").await?;
        if ui.present("#confirm-ok").await {
            ui.click("#confirm-ok").await?;
        }

        // Forward: the cursor is in To, and the original is set out under a header.
        ui.click("#tab-inbox").await?;
        ui.click_row("Visit plan").await?;
        ui.click("#forward").await?;
        wait_js(&ui, &focus_is("to"), "a forward opens in To").await?;
        let body = ui
            .js("return document.querySelector('#body').value")
            .await?;
        let body = body.as_str().unwrap_or_default();
        ensure!(
            body.contains("---------- Forwarded message ----------")
                && body.contains("Subject: Visit plan")
                && body.contains("\nThe visit is on Monday.")
                && !body.contains("> The visit"),
            "a forwarded-message header, not a reply quote: {body}"
        );
        ui.shot("forward-header").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_by_keyboard_and_a_groups_members_in_view() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("suggestions")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server.org_send(&[ADDRESS], "Welcome", "Hello.").await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Welcome").await?;

        // Two contacts and a group of both, in the Address tab.
        ui.click("#tab-address").await?;
        for (name, email) in [("Ann Smith", "ann@example.gov.uk"), ("Bob Jones", "bob@example.gov.uk")] {
            ui.type_into("#contact-name", name).await?;
            ui.type_into("#contact-email", email).await?;
            ui.click("#save-contact").await?;
            ui.wait_text("#notice", "Contact added.").await?;
        }
        ui.type_into("#group-name", "Team").await?;
        wait_js(
            &ui,
            "return document.querySelectorAll('input[type=checkbox][value]').length === 2",
            "both contacts can be chosen",
        )
        .await?;
        ui.js("document.querySelectorAll('input[type=checkbox][value]').forEach(c => c.click()); return true")
            .await?;
        ui.click("#save-group").await?;

        // Compose: the arrow keys and Enter pick a suggestion; Enter does not send.
        ui.click("#tab-compose").await?;
        let to = ui.wait("#to").await?;
        to.send_keys("jo").await?;
        ui.wait_text("#to-suggestions", "bob@example.gov.uk").await?;
        to.send_keys("\u{E015}\u{E007}").await?;
        wait_js(
            &ui,
            "return document.querySelector('#to').value === 'bob@example.gov.uk, '",
            "Enter took the suggestion",
        )
        .await?;
        to.send_keys("a").await?;
        ui.wait_text("#to-suggestions", "ann@example.gov.uk").await?;
        to.send_keys("\u{E007}").await?;
        wait_js(
            &ui,
            "return document.querySelector('#to').value === 'bob@example.gov.uk, ann@example.gov.uk, '",
            "the second suggestion was taken too",
        )
        .await?;
        ensure!(
            !ui.present("#compose-error").await,
            "Enter in the field did not send"
        );

        // Ticking a group shows who it reaches.
        ui.js("document.querySelector('.groups input[type=checkbox]').click(); return true")
            .await?;
        let members = ui
            .wait_text(".group-members[data-group='Team']", "bob@example.gov.uk")
            .await?;
        ensure!(members.contains("ann@example.gov.uk"), "{members}");
        ui.shot("group-members").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
