//! The message list as desktop mail has it: sorting, choosing several messages (Ctrl- and
//! Shift-click, Ctrl+A) and acting on them together, and a list whose width can be changed.

use anyhow::{ensure, Result};
use sealpost_hub::{
    sending::OrgMessage,
    testing::{TestServer, STAFF},
    Caller,
};

use super::{
    finish, in_desktop_session, register, registration_link, start_app, wait_js, work_dirs, ADDRESS,
};

const CTRL: char = '\u{E009}';
const SHIFT: char = '\u{E008}';

/// The subjects of the list's rows, top to bottom.
async fn order(ui: &super::ui::Ui) -> Result<Vec<String>> {
    let rows = ui
        .js(
            "return [...document.querySelectorAll('#message-list .row-item')] \
             .sort((a, b) => a.offsetTop - b.offsetTop) \
             .map(r => r.querySelector('.subject').innerText.replace(/^Unread: /, '').trim())",
        )
        .await?;
    Ok(serde_json::from_value(rows)?)
}

async fn sort_by(ui: &super::ui::Ui, key: &str) -> Result<()> {
    ui.js(&format!(
        "const s = document.querySelector('#sort-by'); s.value = '{key}'; \
         s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true"
    ))
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_choose_several_act_on_them_together_and_resize_the_list() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("list")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    // Sent one minute apart, oldest first: senders, subjects and expiries in other orders.
    let sent = [
        ("zed@example.gov.uk", "Bravo visit", 30),
        ("ann@example.gov.uk", "alpha referral", 60),
        (STAFF, "Re: Charlie's plan", 10),
        ("bob@example.gov.uk", "Delta notes", 90),
    ];
    for (from, subject, days) in sent {
        server.advance(chrono::Duration::minutes(1));
        server
            .hub
            .send_org_message(
                OrgMessage {
                    from: from.into(),
                    to: vec![ADDRESS.into()],
                    subject: subject.into(),
                    body_text: format!("About {subject}."),
                    keep_days: Some(days),
                    ..Default::default()
                },
                &Caller::cli(),
            )
            .await?;
    }
    let link = registration_link(&server, ADDRESS).await?;
    let (desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Delta notes").await?;
        let newest = [
            "Delta notes",
            "Re: Charlie's plan",
            "alpha referral",
            "Bravo visit",
        ];
        ensure!(order(&ui).await? == newest, "newest first to begin with");

        // Sorting: by subject (prefixes and case aside), by sender, by expiry; and back.
        sort_by(&ui, "subject").await?;
        let direction = ui.wait_text("#sort-direction", "A to Z").await?;
        ensure!(
            direction == "A to Z",
            "a subject sort starts A to Z: {direction}"
        );
        ensure!(
            order(&ui).await?
                == [
                    "alpha referral",
                    "Bravo visit",
                    "Re: Charlie's plan",
                    "Delta notes"
                ],
            "A to Z by subject, Re: aside: {:?}",
            order(&ui).await?
        );
        ui.shot("sorted-by-subject").await?;
        sort_by(&ui, "who").await?;
        ensure!(
            order(&ui).await?
                == [
                    "alpha referral",
                    "Delta notes",
                    "Re: Charlie's plan",
                    "Bravo visit"
                ],
            "A to Z by sender (ann, bob, case.worker, zed): {:?}",
            order(&ui).await?
        );
        sort_by(&ui, "expiry").await?;
        ensure!(
            order(&ui).await?
                == [
                    "Re: Charlie's plan",
                    "Bravo visit",
                    "alpha referral",
                    "Delta notes"
                ],
            "soonest expiry first: {:?}",
            order(&ui).await?
        );
        sort_by(&ui, "date").await?;
        ui.click("#sort-direction").await?;
        let oldest = order(&ui).await?;
        ensure!(
            oldest.iter().rev().eq(newest.iter()),
            "oldest first is newest first reversed: {oldest:?}"
        );
        ui.click("#sort-direction").await?;
        ensure!(order(&ui).await? == newest, "newest first again");

        // Several messages: Ctrl-click adds, Shift-click takes a run, Ctrl+A all.
        ui.click_row("Delta notes").await?;
        let charlie = ui.row("Charlie").await?;
        ui.click_holding(&ui.row("alpha referral").await?, CTRL)
            .await?;
        ui.wait_text("#selection-count", "2 messages selected")
            .await?;
        ui.click_holding(&ui.row("Bravo visit").await?, SHIFT)
            .await?;
        ui.wait_text("#selection-count", "2 messages selected")
            .await?;
        ui.click_holding(&charlie, SHIFT).await?;
        ui.wait_text("#selection-count", "2 messages selected")
            .await?;
        ui.click_row("Delta notes").await?;
        ui.click_holding(&ui.row("Bravo visit").await?, SHIFT)
            .await?;
        ui.wait_text("#selection-count", "4 messages selected")
            .await?;
        let selected = ui
            .js("return document.querySelectorAll('#message-list [aria-selected=true]').length")
            .await?;
        ensure!(selected == 4, "the rows say they are chosen ({selected})");
        ui.shot("several-selected").await?;

        // Together: read, unread.
        ui.click("#bulk-read").await?;
        ui.wait_text("#notice", "Marked 4 messages as read.")
            .await?;
        wait_js(
            &ui,
            "return document.querySelectorAll('#message-list .row-item.unread').length === 0",
            "every row plain",
        )
        .await?;
        ui.click("#bulk-unread").await?;
        ui.wait_text("#notice", "Marked 4 messages as unread.")
            .await?;
        wait_js(
            &ui,
            "return document.querySelectorAll('#message-list .row-item.unread').length === 4",
            "every row bold again",
        )
        .await?;

        // Save as email files, into one folder.
        let folder = work.join("saved");
        std::fs::create_dir_all(&folder)?;
        ui.click("#bulk-save").await?;
        desktop.answer_file_dialog("Save the messages in a folder", &folder, false)?;
        ui.wait_text("#notice", "Saved 4 messages").await?;
        let mut files: Vec<String> = std::fs::read_dir(&folder)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
        ensure!(
            files
                == [
                    "Bravo visit.eml",
                    "Delta notes.eml",
                    "Re - Charlie's plan.eml",
                    "alpha referral.eml"
                ],
            "one email file each, named after its subject: {files:?}"
        );

        // Delete two together; Undo brings both back.
        ui.click_row("Delta notes").await?;
        ui.click_holding(&charlie, CTRL).await?;
        ui.click("#bulk-delete").await?;
        ui.wait_text("#undo-toast", "Moved 2 messages to Deleted.")
            .await?;
        wait_js(
            &ui,
            "return document.querySelector('#message-list').dataset.count === '2'",
            "two left in the inbox",
        )
        .await?;
        ui.click("#undo").await?;
        wait_js(
            &ui,
            "return document.querySelector('#message-list').dataset.count === '4'",
            "both back",
        )
        .await?;

        // Ctrl+A in the list takes all; Escape lets them go.
        ui.client
            .find(fantoccini::Locator::Css("#message-list"))
            .await?
            .send_keys("\u{E009}a\u{E000}")
            .await?;
        ui.wait_text("#selection-count", "4 messages selected")
            .await?;
        ui.client
            .find(fantoccini::Locator::Css("#message-list"))
            .await?
            .send_keys("\u{E00C}")
            .await?;
        wait_js(
            &ui,
            "return !document.querySelector('#selection')",
            "Escape clears the choice",
        )
        .await?;

        // Shift+↓ from the open message takes the next ones too.
        ui.click_row("Delta notes").await?;
        ui.client
            .find(fantoccini::Locator::Css("#message-list"))
            .await?
            .send_keys("\u{E008}\u{E015}\u{E015}\u{E000}")
            .await?;
        ui.wait_text("#selection-count", "3 messages selected")
            .await?;
        ui.client
            .find(fantoccini::Locator::Css("#message-list"))
            .await?
            .send_keys("\u{E00C}")
            .await?;

        // The list's width: by keyboard on the bar between list and message.
        let width =
            "return Math.round(document.querySelector('.list').getBoundingClientRect().width)";
        let before = ui.js(width).await?.as_i64().unwrap_or_default();
        ui.client
            .find(fantoccini::Locator::Css("#splitter"))
            .await?
            .send_keys("\u{E014}\u{E014}\u{E014}")
            .await?;
        let wider = ui.js(width).await?.as_i64().unwrap_or_default();
        ensure!(
            wider == before + 60,
            "→ three times widens the list by 60 px ({before} → {wider})"
        );
        ui.client
            .find(fantoccini::Locator::Css("#splitter"))
            .await?
            .send_keys("\u{E011}")
            .await?;
        let narrowest = ui.js(width).await?.as_i64().unwrap_or_default();
        ensure!(narrowest == 220, "Home: the narrowest list ({narrowest})");
        ui.shot("narrow-list").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
