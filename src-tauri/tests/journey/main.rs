//! The whole journey in the real app: the release of the desktop binary under Xvfb, driven
//! through tauri-driver and WebKitWebDriver, against a real hub on loopback, with the real
//! Secret Service (gnome-keyring) and a real notification daemon (dunst) on the session bus.
//!
//! Runs inside `scripts/with-keyring.sh` (as `make test` does); elsewhere it says why it
//! cannot run and passes without checking anything. Screenshots of each screen are kept in
//! `target/tmp/journey/`.

mod accessibility;
mod compose;
mod delegates;
mod desktop;
mod installed;
mod list;
mod mfa;
mod reading;
mod recall;
mod record;
mod signin;
mod system;
mod tray;
mod ui;

use std::{path::PathBuf, time::Duration};

use anyhow::{ensure, Context, Result};
use sealpost_client::keyring::{remember_name, OsKeyring, SecretStore};
use sealpost_hub::testing::{token_in, TestServer, STAFF};

use desktop::{wait_for, Desktop};
use ui::Ui;

const ADDRESS: &str = "referrals@partner.example";
const PASSWORD: &str = "correct horse battery staple";
/// Long enough that no pause between two steps looks idle; short enough to wait for.
const IDLE_SECONDS: u64 = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_the_app() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("journey")?;
    let files = work.join("files");
    std::fs::create_dir_all(&files)?;

    // The organisation's side: a hub whose clock reads today, and a message with a file.
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    let plan = files.join("care-plan.txt");
    let plan_bytes: Vec<u8> = (0..300_000u32)
        .map(|i| b"care plan line\n"[(i % 15) as usize])
        .collect();
    std::fs::write(&plan, &plan_bytes)?;
    server
        .org_send_files(
            ADDRESS,
            "Referral for Mrs Jones",
            "Please see the care plan.",
            std::slice::from_ref(&plan),
        )
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let app = env!("CARGO_BIN_EXE_sealpost-desktop");
    let (desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = journey(
        &mut ui,
        &desktop,
        &server,
        &files,
        &data_dir,
        &link,
        &plan_bytes,
    )
    .await;
    let result = match result {
        Ok(()) => {
            deep_link_reaches_the_running_app(&mut ui, &desktop, app, &data_dir, &home, &link).await
        }
        Err(e) => Err(e),
    };
    finish(&mut ui, result).await
}

/// Whether this run has the private desktop session the tests need (`make test` runs them
/// inside scripts/with-keyring.sh); elsewhere they say so and check nothing.
fn in_desktop_session() -> bool {
    let yes = std::env::var_os("SEALPOST_REAL_KEYRING").is_some();
    if !yes {
        eprintln!("skipped: needs the private desktop session of scripts/with-keyring.sh");
    }
    yes
}

/// Keeps a picture of a failure, closes the app, and passes the outcome on.
async fn finish(ui: &mut Ui, result: Result<()>) -> Result<()> {
    let result = match result {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = ui.shot("failure").await;
            // What the window showed, for a failure seen only in a CI log.
            let shown = ui
                .js("return document.body.innerText.slice(0, 800)")
                .await
                .map(|v| v.as_str().unwrap_or_default().replace('\n', " | "))
                .unwrap_or_else(|e| format!("(unreadable: {e})"));
            // The app's own last words (its log sits beside the screenshots' folder).
            let log = ui
                .shots
                .parent()
                .map(|work| std::fs::read_to_string(work.join("app.log")).unwrap_or_default())
                .unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(12)..].join(" | ");
            Err(e.context(format!(
                "the window showed: {shown}\nthe app's log ended: {tail}"
            )))
        }
    };
    let _ = ui.client.clone().close().await;
    result
}

/// A fresh folder for a test's files, vault and home.
fn work_dirs(name: &str) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&work);
    let home = work.join("home");
    std::fs::create_dir_all(&home)?;
    Ok((work.clone(), work.join("data"), home))
}

/// The registration link the hub emailed to `address`.
async fn registration_link(server: &TestServer, address: &str) -> Result<String> {
    let notice = server
        .emails_to(address)
        .await
        .pop()
        .context("the recipient was emailed")?;
    let token = token_in(&notice, "/register").context("the email holds a registration link")?;
    // The hub's public address in tests is a placeholder; the link points at the real one.
    Ok(format!("{}/register?token={token}", server.url))
}

/// The desktop around the app, and the app started in it.
async fn start_app(
    work: &std::path::Path,
    data_dir: &std::path::Path,
    home: &std::path::Path,
) -> Result<(Desktop, Ui)> {
    start_app_with(work, data_dir, home, &[]).await
}

/// As [`start_app`], with more of the app's environment.
async fn start_app_with(
    work: &std::path::Path,
    data_dir: &std::path::Path,
    home: &std::path::Path,
    more: &[(&str, String)],
) -> Result<(Desktop, Ui)> {
    start_app_at(
        env!("CARGO_BIN_EXE_sealpost-desktop"),
        work,
        data_dir,
        home,
        more,
    )
    .await
}

/// As [`start_app_with`], for the app at `app` (an installed one, say).
async fn start_app_at(
    app: &str,
    work: &std::path::Path,
    data_dir: &std::path::Path,
    home: &std::path::Path,
    more: &[(&str, String)],
) -> Result<(Desktop, Ui)> {
    // The window's own storage (its list width and sort order, say) lives under the XDG
    // folders: each test has its own, as it has its own home.
    let mut env = vec![
        ("SEALPOST_DATA_DIR", data_dir.display().to_string()),
        ("SEALPOST_IDLE_SECONDS", IDLE_SECONDS.to_string()),
        ("HOME", home.display().to_string()),
        (
            "XDG_DATA_HOME",
            home.join(".local/share").display().to_string(),
        ),
        (
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        ),
        ("XDG_CACHE_HOME", home.join(".cache").display().to_string()),
        // This machine's own system-wide settings, if it has any, play no part.
        (
            "SEALPOST_SYSTEM_CONFIG",
            work.join("no-system-settings.toml").display().to_string(),
        ),
    ];
    // Later entries win (the test's own XDG folders, say).
    env.retain(|(k, _)| !more.iter().any(|(m, _)| m == k));
    env.extend(more.iter().cloned());
    let desktop = Desktop::start(work, &env)?;
    let ui = Ui::launch(
        &desktop.driver_url,
        &desktop.display,
        app,
        work.join("screens"),
    )
    .await?;
    Ok((desktop, ui))
}

/// Registers the address of `link` in the app's Register screen.
async fn register(ui: &Ui, link: &str, address: &str) -> Result<()> {
    ui.click("#tab-register").await?;
    ui.type_into("#link", link).await?;
    ui.click("#read-link").await?;
    ui.wait_text("#register-address", address).await?;
    ui.type_into("#new-password", PASSWORD).await?;
    ui.type_into("#confirm-password", PASSWORD).await?;
    ui.click("#register").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_mailboxes_side_by_side() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    const TEAM: &str = "care.team@partner.example";
    let (work, data_dir, home) = work_dirs("mailboxes")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "For the referrals desk", "One.")
        .await;
    for n in 1..=2 {
        server.advance(chrono::Duration::minutes(1));
        server
            .org_send(&[TEAM], &format!("Team rota {n}"), "Rota.")
            .await;
    }
    let desk_link = registration_link(&server, ADDRESS).await?;
    let team_link = registration_link(&server, TEAM).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &desk_link, ADDRESS).await?;
        ui.wait_text("#message-list", "For the referrals desk")
            .await?;

        // A second mailbox beside the first.
        ui.click("#add-mailbox").await?;
        register(&ui, &team_link, TEAM).await?;
        ui.wait_text("#message-list", "Team rota 2").await?;
        let team = format!("button[data-account='{TEAM}']");
        let desk = format!("button[data-account='{ADDRESS}']");
        ui.wait_text(&team, "2")
            .await
            .context("the team mailbox shows 2 unread")?;
        ui.wait_text(&desk, "1")
            .await
            .context("the desk mailbox shows 1 unread")?;
        ui.shot("two-mailboxes").await?;

        // Switching shows the other mailbox's messages, and only those.
        ui.click(&desk).await?;
        ui.wait_text("#message-list", "For the referrals desk")
            .await?;
        let list = ui
            .js("return document.querySelector('#message-list').innerText")
            .await?;
        ensure!(
            !list.as_str().unwrap_or_default().contains("Team rota"),
            "the desk mailbox's list holds none of the team's messages"
        );
        ui.click(&team).await?;
        ui.wait_text("#message-list", "Team rota 1").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}

async fn journey(
    ui: &mut Ui,
    desktop: &Desktop,
    server: &TestServer,
    files: &std::path::Path,
    data_dir: &std::path::Path,
    link: &str,
    plan_bytes: &[u8],
) -> Result<()> {
    // Register from the emailed link: the address is shown, the rules are checked live.
    ui.wait("#sign-in").await?;
    ui.shot("welcome").await?;
    ui.click("#tab-register").await?;
    ui.type_into("#link", link).await?;
    ui.click("#read-link").await?;
    ui.wait_text("#register-address", ADDRESS).await?;
    ui.type_into("#new-password", "short").await?;
    let state = ui.attr("[data-rule='min_length']", "data-state").await?;
    ensure!(
        state.as_deref() == Some("unmet"),
        "a 5-character password fails the length rule as it is typed"
    );
    ui.type_into("#new-password", PASSWORD).await?;
    ui.type_into("#confirm-password", PASSWORD).await?;
    let state = ui.attr("[data-rule='min_length']", "data-state").await?;
    ensure!(
        state.as_deref() == Some("met"),
        "the rule turns met once the password is long enough"
    );
    ui.click("form[aria-label='Register'] input[type='checkbox']")
        .await?;
    ui.shot("register").await?;
    ui.click("#register").await?;

    // The inbox shows the message, unread in bold.
    let row = "#message-list .row-item";
    ui.wait_text(row, "Referral for Mrs Jones").await?;
    let weight = ui
        .js("return getComputedStyle(document.querySelector('#message-list .row-item .subject')).fontWeight")
        .await?;
    ensure!(
        weight == "700",
        "an unread message is bold in the inbox (font-weight {weight})"
    );
    ui.shot("inbox").await?;

    // Open it: attachments are listed above the text.
    ui.click_row("Referral for Mrs Jones").await?;
    ui.wait_text("#message-subject", "Referral for Mrs Jones")
        .await?;
    ui.wait_text("#message-body", "Please see the care plan.")
        .await?;
    let order = ui
        .js("const a=document.querySelector('.attachments'),b=document.querySelector('#message-body');return !!(a && b && (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING))")
        .await?;
    ensure!(order == true, "the attachments come before the text");
    ui.shot("message").await?;
    let weight = ui
        .js("return getComputedStyle(document.querySelector('#message-list .row-item .subject')).fontWeight")
        .await?;
    ensure!(
        weight == "400",
        "once opened, the message is no longer bold (font-weight {weight})"
    );

    // Save its attachment through the real GTK save dialog.
    let saved = files.join("saved-plan.txt");
    ui.click("button[aria-label='Save care-plan.txt']").await?;
    desktop.answer_file_dialog("Save attachment", &saved, true)?;
    ui.wait_text("#notice", "Saved care-plan.txt").await?;
    ensure!(
        std::fs::read(&saved)? == plan_bytes,
        "the saved file holds exactly the attachment's bytes"
    );

    // Reply: it reaches the organisation's mailbox as an email to staff.
    let before = server.emails_to(STAFF).await.len();
    ui.click("#reply").await?;
    ui.type_into("#body", "The first visit is on Monday.")
        .await?;
    ui.shot("reply").await?;
    ui.click("#send").await?;
    ui.wait_text("#notice", "Message sent.").await?;
    let mut staff_mail = Vec::new();
    for _ in 0..50 {
        staff_mail = server.emails_to(STAFF).await;
        if staff_mail.len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ensure!(
        staff_mail.len() == before + 1,
        "the reply was emailed to the sender"
    );
    let reply = staff_mail.last().expect("BUG: checked above");
    ensure!(
        reply.contains("Re: Referral for Mrs Jones"),
        "the reply keeps the subject"
    );

    // The original says it was answered, in the list and in the message.
    ui.click("#tab-inbox").await?;
    let row = ui.row("Referral for Mrs Jones").await?;
    ui.wait(&format!("{row} .answered[data-replied='true']"))
        .await?;
    ui.click(&row).await?;
    ui.wait_text("#message-answered", "You replied to it")
        .await?;
    ui.shot("replied-marker").await?;

    // Forward to an outside address: refused inline, before anything is sent.
    ui.click("#forward").await?;
    ui.type_into("#to", "friend@gmail.com").await?;
    ui.wait_text("#to-problem", "outside the organisation")
        .await?;
    let disabled = ui.wait("#send").await?.attr("disabled").await?;
    ensure!(
        disabled.is_some(),
        "Send stays disabled while a recipient is outside the organisation"
    );
    ui.shot("forward-refused").await?;
    ui.click("#discard").await?;
    ui.click("#confirm-ok").await?;

    // Compose to the organisation with two attachments from the open dialog.
    let first = files.join("notes.txt");
    let second = files.join("form.txt");
    std::fs::write(&first, "visit notes")?;
    std::fs::write(&second, "consent form")?;
    ui.click("#tab-compose").await?;
    ui.type_into("#to", "case.worker@example.gov.uk").await?;
    ui.type_into("#subject", "Visit paperwork").await?;
    ui.type_into("#body", "Both forms attached.").await?;
    for file in [&first, &second] {
        ui.click("#attach").await?;
        desktop.answer_file_dialog("Attach files", file, false)?;
        let name = file
            .file_name()
            .expect("BUG: named")
            .to_string_lossy()
            .into_owned();
        ui.wait(&format!("li[data-file='{name}']")).await?;
    }
    ui.wait_text("#limits-text", "2 of 10 files").await?;
    ui.shot("compose").await?;
    ui.click("#send").await?;
    ui.wait_text("#notice", "Message sent.").await?;
    ui.wait_text("#message-list", "Visit paperwork").await?;
    ui.shot("sent").await?;

    // New mail from the organisation: a desktop notification with sender and count only.
    ui.click("#tab-inbox").await?;
    server
        .org_send(&[ADDRESS], "Second referral: Mr Patel", "Details inside.")
        .await;
    wait_for(Duration::from_secs(20), "the new-mail notification", || {
        desktop.notifications().contains("New secure message")
    })?;
    let shown = desktop.notifications();
    ensure!(
        shown.contains("From case.worker@example.gov.uk"),
        "the notification names the sender"
    );
    ensure!(
        !shown.contains("Mr Patel") && !shown.contains("Details inside"),
        "the notification holds no content"
    );
    ui.shot("notification").await?;
    desktop.click_notification()?;
    ui.wait_text("#message-subject", "Second referral: Mr Patel")
        .await?;

    // Idle: the window locks, the compose in progress goes to Drafts.
    ui.click("#tab-compose").await?;
    ui.type_into("#to", "case.worker@example.gov.uk").await?;
    ui.type_into("#subject", "Unfinished note").await?;
    ui.type_into("#body", "Half written").await?;
    let locked = ui
        .client
        .wait()
        .at_most(Duration::from_secs(IDLE_SECONDS * 3))
        .for_element(fantoccini::Locator::Css("#unlock-password"))
        .await;
    locked.context("the window locks after the idle timeout")?;
    ensure!(
        !ui.present("#message-list").await && !ui.present("#body").await,
        "nothing of the mailbox shows while locked"
    );
    ui.wait_text("#draft-saved", "saved in Drafts").await?;
    ui.shot("locked").await?;
    ui.type_into("#unlock-password", PASSWORD).await?;
    ui.click("#unlock").await?;
    ui.click("#tab-drafts").await?;
    ui.wait_text("#message-list", "Unfinished note").await?;
    ui.shot("drafts").await?;

    // Sign out: Remember me leaves the keyring.
    let accounts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("accounts.json"))?)?;
    let id = accounts[0]["id"]
        .as_str()
        .context("one account")?
        .to_owned();
    let keyring = OsKeyring::open()?;
    ensure!(
        keyring.load(&remember_name(&id))?.is_some(),
        "Remember me was kept in the keyring"
    );
    ui.click("#sign-out").await?;
    ui.wait("#sign-in").await?;
    ensure!(
        keyring.load(&remember_name(&id))?.is_none(),
        "signing out deleted Remember me from the keyring"
    );
    ui.shot("signed-out").await?;
    Ok(())
}

/// A `sealpost://` link opened from a mail program starts the app a second time; that start
/// hands the link to the running window and ends.
async fn deep_link_reaches_the_running_app(
    ui: &mut Ui,
    desktop: &Desktop,
    app: &str,
    data_dir: &std::path::Path,
    home: &std::path::Path,
    used_link: &str,
) -> Result<()> {
    let (hub, token) = used_link.split_once("/register?token=").context("a link")?;
    let deep = format!(
        "sealpost://register?hub={}&token={token}",
        hub.replace(':', "%3A").replace('/', "%2F")
    );
    let status = tokio::process::Command::new(app)
        .arg(&deep)
        .env("DISPLAY", &desktop.display)
        .env("SEALPOST_DATA_DIR", data_dir)
        .env("HOME", home)
        .env("NO_AT_BRIDGE", "1")
        .status();
    let status = tokio::time::timeout(Duration::from_secs(20), status)
        .await
        .context("the second start ends by itself")??;
    ensure!(
        status.success(),
        "the second start hands over and exits cleanly"
    );
    let shown = ui
        .js("const e = document.querySelector('#link'); return e ? e.value : null")
        .await?;
    ensure!(
        shown == deep.as_str(),
        "the running window shows the link it was handed ({shown})"
    );
    // The link was used at registration: the window says so.
    ui.wait_text("#welcome-error", "link").await?;
    ui.shot("deep-link").await?;
    Ok(())
}

/// The screens the main journey passes by: search, delete, the address book and sending to
/// a group, forgotten password, and the lockout message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_delete_address_book_reset_and_lockout() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("screens")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    // Enough older mail that the inbox loads in more than one page.
    const BULLETINS: usize = 150;
    for n in 1..=BULLETINS {
        server
            .org_send(&[ADDRESS], &format!("Bulletin {n}"), "Routine.")
            .await;
    }
    server.advance(chrono::Duration::minutes(1));
    server
        .org_send(
            &[ADDRESS],
            "Care plan v2",
            "The wheelchair assessment is on Tuesday.",
        )
        .await;
    server.advance(chrono::Duration::minutes(1));
    server
        .org_send(&[ADDRESS], "Meeting moved", "Now at ten.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Meeting moved").await?;

        // Search finds words of the body, on this computer.
        ui.type_into("#search", "wheelchair").await?;
        ui.wait_text("#message-list", "Care plan v2").await?;
        let listed = ui
            .js("return document.querySelectorAll('#message-list .row-item').length")
            .await?;
        ensure!(
            listed == 1,
            "only the message holding the word is listed ({listed})"
        );
        ui.shot("search").await?;
        ui.type_into("#search", "").await?;
        ui.click("#tab-sent").await?;
        ui.click("#tab-inbox").await?;

        // Delete moves to Deleted at once, from the keyboard as from the button, and Undo
        // (the toast's button, or Ctrl+Z) brings it back.
        let in_inbox = |present: bool| {
            format!(
                "return {}document.querySelector('#message-list').innerText.includes('Meeting moved')",
                if present { "" } else { "!" }
            )
        };
        ui.click_row("Meeting moved").await?;
        ui.wait_text("#message-subject", "Meeting moved").await?;
        ui.client
            .find(fantoccini::Locator::Css("#message-list"))
            .await?
            .send_keys("\u{E017}")
            .await?;
        ui.wait_text("#undo-toast", "Moved to Deleted.").await?;
        wait_js(&ui, &in_inbox(false), "the deleted message left the inbox").await?;
        wait_js(
            &ui,
            "return document.activeElement?.id === 'message-list' \
               && !!document.querySelector('#message-subject')",
            "the next message opens and the list keeps the keyboard",
        )
        .await?;
        ensure!(
            !ui.present("#confirm-dialog").await,
            "a move to Deleted asks nothing: it can be undone"
        );
        ui.shot("delete-undo").await?;
        ui.click("#undo").await?;
        wait_js(&ui, &in_inbox(true), "Undo brings it back").await?;
        ui.click_row("Meeting moved").await?;
        ui.click("#delete").await?;
        ui.wait_text("#undo-toast", "Moved to Deleted.").await?;
        ui.client
            .find(fantoccini::Locator::Css("body"))
            .await?
            .send_keys("\u{E009}z\u{E000}")
            .await?;
        wait_js(&ui, &in_inbox(true), "Ctrl+Z brings it back").await?;

        // In Deleted: where it came from, back from there, and emptied for good.
        ui.click_row("Meeting moved").await?;
        ui.click("#delete").await?;
        wait_js(&ui, &in_inbox(false), "deleted again").await?;
        ui.click("#tab-deleted").await?;
        ui.wait_text("#message-list", "from Inbox").await?;
        ui.click_row("Meeting moved").await?;
        ui.click("#restore").await?;
        ui.wait_text("#notice", "Moved back to Inbox").await?;
        ui.wait_text("#message-list", "Nothing deleted.").await?;
        ui.click("#tab-inbox").await?;
        ui.click_row("Meeting moved").await?;
        ui.click("#delete").await?;
        wait_js(&ui, &in_inbox(false), "deleted once more").await?;
        ui.click("#tab-deleted").await?;
        ui.wait_text("#message-list", "Meeting moved").await?;
        ui.shot("deleted-folder").await?;
        ui.click("#empty-deleted").await?;
        ui.wait_text("#confirm-dialog", "cannot be undone").await?;
        ui.shot("empty-deleted-confirm").await?;
        ui.click("#confirm-ok").await?;
        ui.wait_text("#notice", "Deleted 1 message for good.").await?;
        ui.wait_text("#message-list", "Nothing deleted.").await?;
        ui.click("#tab-inbox").await?;
        wait_js(&ui, &in_inbox(false), "gone for good").await?;

        // Reading far down a long inbox, new mail does not throw the list back up.
        let count = |n: usize| {
            format!("return document.querySelector('#message-list').dataset.count === '{n}'")
        };
        wait_js(&ui, &count(BULLETINS + 1), "the whole inbox listed").await?;
        let before = ui
            .js("const l = document.querySelector('#message-list'); \
                 l.scrollTop = l.scrollHeight; return l.scrollTop")
            .await?;
        ui.wait_text("#message-list", "Bulletin 1").await?;
        server.advance(chrono::Duration::minutes(1));
        server.org_send(&[ADDRESS], "Late news", "New.").await;
        wait_js(&ui, &count(BULLETINS + 2), "the new message listed").await?;
        let after = ui
            .js("return document.querySelector('#message-list').scrollTop")
            .await?;
        ensure!(
            after == before,
            "the list stayed where it was read (scrollTop {before} before, {after} after)"
        );
        ui.js("document.querySelector('#message-list').scrollTop = 0; return true")
            .await?;

        // Address book: an outside address is refused as typed; a contact, a group, and a
        // message to the group reaching its member.
        ui.click("#tab-address").await?;
        ui.type_into("#contact-email", "someone@gmail.com").await?;
        ui.wait_text("#contact-problem", "outside the organisation")
            .await?;
        ui.type_into("#contact-name", "Ann Smith").await?;
        ui.type_into("#contact-email", "ann@example.gov.uk").await?;
        ui.click("#save-contact").await?;
        ui.wait_text(".address", "ann@example.gov.uk").await?;
        ui.type_into("#group-name", "Care team").await?;
        ui.click("fieldset input[type='checkbox']").await?;
        ui.click("#save-group").await?;
        ui.click("button[data-send-group='Care team']").await?;
        ui.type_into("#subject", "To the care team").await?;
        ui.type_into("#body", "Hello all.").await?;
        ui.shot("send-to-group").await?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "Message sent.").await?;
        email_to(&server, "ann@example.gov.uk", "To the care team")
            .await
            .context("the group's member received the message")?;

        // Forgot password: request, the emailed link, a new password, sign in with it.
        ui.click("#sign-out").await?;
        ui.click("#tab-forgot").await?;
        ui.click("#request-reset").await?;
        ui.wait("#reset-requested").await?;
        let token = server.link_token(ADDRESS, "/reset").await;
        ui.type_into(
            "#reset-link",
            &format!("{}/reset?token={token}", server.url),
        )
        .await?;
        ui.click("#read-reset-link").await?;
        let renewed = "a different long passphrase";
        ui.type_into("#new-password", renewed).await?;
        ui.type_into("#confirm-password", renewed).await?;
        ui.click("#set-password").await?;
        ui.wait("#reset-done").await?;
        ui.type_into("#password", renewed).await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#message-list", "Care plan v2").await?;

        // Three wrong passwords: the screen says the mailbox is locked, until when, and
        // what to do.
        ui.click("#sign-out").await?;
        let mut code = String::new();
        for _ in 0..4 {
            ui.type_into("#password", "not the password at all").await?;
            ui.click("#sign-in").await?;
            let error = ui.wait("#welcome-error").await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            code = ui
                .attr("#welcome-error", "data-code")
                .await?
                .unwrap_or_default();
            let _ = error;
            if code == "account_locked" {
                break;
            }
        }
        ensure!(
            code == "account_locked",
            "repeated wrong passwords lock the mailbox ({code})"
        );
        let said = ui.wait_text("#welcome-error", "until").await?;
        ensure!(
            said.contains("reset the password"),
            "the message says what to do: {said}"
        );
        ui.shot("locked-out").await?;
        ensure!(
            !ui.present("#cancel-add").await,
            "after signing out, nothing leads back to the mailbox but the password"
        );
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}

/// Reply to All, a formatted (HTML) message shown safely, files dropped on the window, the
/// upload progress bar, sending while the hub cannot be reached, and locking by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_all_formatted_mail_dropped_files_and_offline_sending() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    const MANAGER: &str = "manager@example.gov.uk";
    let (work, data_dir, home) = work_dirs("more")?;
    let files = work.join("files");
    std::fs::create_dir_all(&files)?;
    let mut server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    // Anything the message tries to load from "outside" would arrive here.
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    probe.set_nonblocking(true)?;
    let remote = format!("http://{}", probe.local_addr()?);
    let html = format!(
        "<p>Agenda for <b>Thursday</b></p>\
         <p><a href=\"https://phish.example/login\">https://example.gov.uk/agenda</a></p>\
         <img src=\"{remote}/pixel.gif\" alt=\"\"><link rel=\"stylesheet\" href=\"{remote}/x.css\">\
         <script>parent.document.title = 'pwned'</script>\
         <img src=\"x\" onerror=\"parent.document.title = 'pwned'\">"
    );
    server
        .hub
        .send_org_message(
            sealpost_hub::sending::OrgMessage {
                from: STAFF.into(),
                to: vec![ADDRESS.into()],
                cc: vec![MANAGER.into()],
                subject: "Agenda".into(),
                body_text: "Agenda for Thursday: see the link.".into(),
                body_html: Some(html),
                ..Default::default()
            },
            &sealpost_hub::Caller::cli(),
        )
        .await?;
    let link = registration_link(&server, ADDRESS).await?;
    let (desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Agenda").await?;

        // The formatted version: shown on request, sanitised, loading nothing.
        ui.click_row("Agenda").await?;
        ui.wait_text("#message-body", "Agenda for Thursday: see the link.")
            .await?;
        ui.click("#show-html").await?;
        ui.wait("#html-body").await?;
        let mut shown = serde_json::Value::Null;
        for _ in 0..50 {
            shown = ui
                .js(
                    "const d = document.querySelector('#html-body').contentDocument; \
                     return d && d.body ? { text: d.body.innerText, \
                     scripts: d.querySelectorAll('script, link').length, \
                     hrefs: d.querySelectorAll('[href]').length } : null",
                )
                .await?;
            if shown["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Agenda for")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ensure!(
            shown["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Agenda for Thursday"),
            "the formatted version is shown: {shown}"
        );
        ensure!(
            shown["scripts"] == 0 && shown["hrefs"] == 0,
            "no script, style sheet or navigating link is left in the frame: {shown}"
        );
        ui.shot("formatted").await?;

        // Its link is listed with where it really leads (not the text it shows), and asks
        // before opening.
        let listed = ui
            .wait_text("#html-links", "leads to https://phish.example/login")
            .await?;
        ensure!(
            listed.contains("https://example.gov.uk/agenda"),
            "the list shows the link's text too: {listed}"
        );
        ui.click("#html-links button[data-href]").await?;
        ui.wait_text("#link-address", "https://phish.example/login")
            .await?;
        ui.shot("link-confirmation").await?;
        ui.click("#confirm-cancel").await?;
        let title = ui.js("return document.title").await?;
        ensure!(
            title == "Sealpost",
            "no script of the message ran ({title})"
        );

        // Reply to All: says who it reaches, and reaches them.
        ui.click("#reply-all").await?;
        ui.wait_text("#reply-to", MANAGER).await?;
        let audience = ui.wait_text("#reply-to", STAFF).await?;
        ensure!(
            !audience.contains(ADDRESS),
            "the person replying is not among the recipients: {audience}"
        );
        ui.type_into("#body", "Thursday suits us.").await?;
        ui.shot("reply-all").await?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "Message sent.").await?;
        let reply = email_to(&server, STAFF, "Re: Agenda")
            .await
            .context("the reply to all reached the sender")?;
        ensure!(
            reply.lines().any(|l| l == format!("Cc: {MANAGER}")),
            "the reply to all went to the other staff member too: {reply}"
        );

        // Files dropped on the window open a compose holding them; the upload shows its
        // progress.
        let report = files.join("report.bin");
        let note = files.join("note.txt");
        std::fs::write(
            &report,
            (0..24_000_000u32)
                .map(|i| (i % 251) as u8)
                .collect::<Vec<_>>(),
        )?;
        std::fs::write(&note, "a short note")?;
        ui.click("#tab-inbox").await?;
        // A folder dropped with them cannot be attached, and the window says so.
        desktop.drop_files_on_app(&[&report, &note, &files])?;
        ui.wait("li[data-file='report.bin']")
            .await
            .context("the dropped files are attached")?;
        ui.wait("li[data-file='note.txt']").await?;
        ui.wait_text("#notice", "Folders cannot be attached").await?;
        ui.wait_text("#limits-text", "2 of 10 files").await?;
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#subject", "Dropped files").await?;
        ui.shot("dropped").await?;
        ui.js("window.__progressSeen = []; new MutationObserver(() => { \
               const p = document.querySelector('#send-progress'); \
               if (p) window.__progressSeen.push(Number(p.value)); }) \
               .observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true }); \
               return true")
            .await?;
        ui.click("#send").await?;
        // (The notice of the reply may still show: Sent listing the message is the sign.)
        ui.wait_text("#message-list", "Dropped files").await?;
        let seen = ui.js("return window.__progressSeen").await?;
        let seen: Vec<f64> = serde_json::from_value(seen)?;
        ensure!(
            seen.iter().any(|p| *p > 0.0 && *p < 100.0),
            "the progress bar showed the upload part-way: {seen:?}"
        );

        // The hub cannot be reached: the window says so, and a message sent waits in the
        // outbox, visibly, until the hub is back.
        server.go_offline().await;
        ui.wait_text("#offline", "Offline").await?;
        ui.click("#tab-compose").await?;
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#subject", "Written offline").await?;
        ui.type_into("#body", "Sent when the hub is back.").await?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "waits in the outbox").await?;
        ui.wait_text("#outbox", "Written offline").await?;
        ui.shot("outbox").await?;
        server.come_back().await;
        let mut delivered = false;
        for _ in 0..300 {
            let list = ui
                .js("return document.querySelector('#message-list').innerText")
                .await?;
            if !ui.present("#outbox").await
                && list
                    .as_str()
                    .unwrap_or_default()
                    .contains("Written offline")
            {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        ensure!(
            delivered,
            "once the hub is back, the message leaves the outbox for Sent"
        );
        ensure!(
            !ui.present("#offline").await,
            "the window says it is back online"
        );
        email_to(&server, STAFF, "Written offline")
            .await
            .context("the message written offline reached the organisation")?;
        ui.shot("back-online").await?;

        // Leaving the desk: Lock hides everything at once, and the password brings it back.
        ui.click("#lock-now").await?;
        ui.wait_text("#lock-reason", "You locked it").await?;
        ensure!(
            !ui.present("#message-list").await,
            "nothing of the mailbox shows while locked"
        );
        ui.type_into("#unlock-password", PASSWORD).await?;
        ui.click("#unlock").await?;
        ui.wait_text("#message-list", "Written offline").await?;

        match probe.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Ok((_, from)) => Err(anyhow::anyhow!(
                "the formatted message loaded something from outside ({from})"
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    finish(&mut ui, result).await
}

/// Waits until `script` returns true in the page.
async fn wait_js(ui: &Ui, script: &str, what: &str) -> Result<()> {
    for _ in 0..200 {
        if ui.js(script).await? == true {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    anyhow::bail!("{what}: not so after 30 s")
}

/// The first email to `to` holding `needle`, waiting up to 10 s for the hub to write it.
async fn email_to(server: &TestServer, to: &str, needle: &str) -> Result<String> {
    for _ in 0..50 {
        let emails = server.emails_to(to).await;
        if let Some(email) = emails.into_iter().find(|e| e.contains(needle)) {
            return Ok(email);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("no email to {to} holds {needle:?}")
}
