//! Habits of desktop mail in the real window: the unread count in the window's title, Mark
//! as unread, who a sent message went to, and where a save dialog opens.

use anyhow::{ensure, Context, Result};
use sealpost_hub::testing::{TestServer, STAFF};

use super::{
    finish, in_desktop_session, register, registration_link, start_app, wait_js, work_dirs, ADDRESS,
};

/// Waits until the app's window is titled exactly `title` (the title the desktop shows, as
/// the window manager reads it).
fn wait_title(desktop: &super::desktop::Desktop, title: &str) -> Result<()> {
    // xdotool's patterns are byte-wise: the dash (three bytes in UTF-8) is matched as any.
    let pattern = format!("^{}$", title.replace('—', ".*"));
    desktop
        .xdotool(&["search", "--sync", "--onlyvisible", "--name", &pattern])
        .with_context(|| {
            let names = desktop
                .xdotool(&[
                    "search",
                    "--onlyvisible",
                    "--name",
                    "Sealpost",
                    "getwindowname",
                    "%@",
                ])
                .unwrap_or_default();
            format!("a window titled {title:?}; there are: {names:?}")
        })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_count_mark_unread_sent_to_and_saving_to_downloads() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("reading")?;
    let downloads = home.join("Downloads");
    std::fs::create_dir_all(&downloads)?;
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
            "The letter is attached.",
            std::slice::from_ref(&letter),
        )
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Appointment letter").await?;
        wait_title(&desktop, "Sealpost — 1 unread")?;

        // Opening reads it; Mark as unread brings the count and the bold row back.
        ui.click_row("Appointment letter").await?;
        ui.wait_text("#message-body", "The letter is attached.")
            .await?;
        wait_title(&desktop, "Sealpost")?;
        ui.menu("#more-actions", "#mark-unread").await?;
        ui.wait_text("#notice", "Marked as unread.").await?;
        wait_js(
            &ui,
            "return !!document.querySelector('#message-list .row-item.unread')",
            "the row is bold again",
        )
        .await?;
        wait_title(&desktop, "Sealpost — 1 unread")?;
        ui.shot("marked-unread").await?;

        // A first save dialog opens in Downloads: a bare name lands there.
        ui.click_row("Appointment letter").await?;
        ui.click("button[aria-label='Save letter.txt']").await?;
        desktop.answer_file_dialog(
            "Save attachment",
            std::path::Path::new("kept-letter.txt"),
            true,
        )?;
        ui.wait_text("#notice", "Saved").await?;
        let saved = downloads.join("kept-letter.txt");
        ensure!(
            std::fs::read_to_string(&saved).unwrap_or_default() == "Dear Mrs Jones",
            "the attachment was saved in Downloads ({})",
            saved.display()
        );

        // Sent says who a message went to.
        ui.click("#tab-compose").await?;
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#subject", "Letter received").await?;
        ui.type_into("#body", "Thank you.").await?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "Message sent.").await?;
        ui.click("#tab-sent").await?;
        let row = ui.wait_text("#message-list", "Letter received").await?;
        ensure!(
            row.contains(&format!("To: {STAFF}")),
            "the Sent row names its recipient: {row}"
        );
        ui.shot("sent-to").await?;

        // Left alone, the window warns before it locks; Keep me signed in keeps it open.
        let warning = ui.wait_text("#idle-warning", "locks in").await?;
        ensure!(
            warning.contains("what you are writing is kept"),
            "{warning}"
        );
        ui.shot("idle-warning").await?;
        ui.js("document.querySelector('#keep-signed-in').click(); return true")
            .await?;
        wait_js(
            &ui,
            "return !document.querySelector('#idle-warning')",
            "the warning goes",
        )
        .await?;
        tokio::time::sleep(std::time::Duration::from_secs(8)).await;
        ensure!(
            !ui.present("#unlock-password").await,
            "still open 8 s after Keep me signed in (the lock came 5 s after the warning)"
        );
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_warning_attachment_strip_contacts_and_search_everywhere() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("reading-more")?;
    let files = work.join("files");
    std::fs::create_dir_all(&files)?;
    let mut papers = Vec::new();
    for i in 1..=10 {
        let p = files.join(format!("form-{i:02}.txt"));
        std::fs::write(&p, format!("form {i}"))?;
        papers.push(sealpost_hub::sending::AttachmentFile::from_path(p));
    }
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .hub
        .send_org_message(
            sealpost_hub::sending::OrgMessage {
                from: STAFF.into(),
                to: vec![ADDRESS.into()],
                subject: "Many papers".into(),
                body_text: "Ten forms for the file.".into(),
                attachments: papers,
                keep_days: Some(3),
                ..Default::default()
            },
            &sealpost_hub::Caller::cli(),
        )
        .await?;
    let link = registration_link(&server, ADDRESS).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Many papers").await?;
        let title = ui
            .js("return document.querySelector('#message-list .expiry.soon').title")
            .await?;
        ensure!(
            title
                .as_str()
                .unwrap_or_default()
                .contains("save it if you need it"),
            "the list warns of the near expiry: {title}"
        );

        // The message: the warning, ten attachments in a strip, and the text in view.
        ui.click_row("Many papers").await?;
        ui.wait_text("#expiry-warning", "save it if you need it")
            .await?;
        ui.wait_text("#message-body", "Ten forms for the file.")
            .await?;
        // Ten attachments take a strip of a few lines (in one column each would push the
        // text some 400 px down, out of the window).
        let strip = ui
            .js("const s = document.querySelector('.attachments').getBoundingClientRect(); \
                 const b = document.querySelector('#message-body').getBoundingClientRect(); \
                 return { gap: Math.round(b.top - s.top), inView: b.top < window.innerHeight - 40 }")
            .await?;
        ensure!(
            strip["gap"].as_i64().unwrap_or(i64::MAX) < 160 && strip["inView"] == true,
            "the text stays in view under a compact strip of ten attachments: {strip}"
        );
        ui.shot("attachment-strip").await?;

        // The sender into the address book, once.
        ui.menu("#more-actions", "#add-sender").await?;
        ui.wait_text("#notice", "to the address book").await?;
        ui.click("#more-actions").await?;
        ui.wait("#print").await?;
        ensure!(
            !ui.present("#add-sender").await,
            "a known sender is not offered again"
        );
        ui.click("#more-actions").await?;
        ui.click("#tab-address").await?;
        ui.type_into("#contact-name", "Case Worker").await?;
        ui.type_into("#contact-email", &STAFF.to_uppercase())
            .await?;
        ui.click("#save-contact").await?;
        ui.wait_text("#address-book-error", "already in the address book")
            .await?;

        // Search covers every folder and says which.
        ui.click("#tab-compose").await?;
        ui.type_into("#to", STAFF).await?;
        ui.type_into("#subject", "Papers received").await?;
        ui.type_into("#body", "All ten.").await?;
        ui.click("#send").await?;
        ui.wait_text("#notice", "Message sent.").await?;
        ui.click("#tab-inbox").await?;
        ui.type_into("#search", "papers").await?;
        let sent = ui
            .wait_text("#message-list .folder-tag[data-folder='sent']", "Sent")
            .await?;
        ensure!(sent == "Sent", "{sent}");
        ui.wait("#message-list .folder-tag[data-folder='inbox']")
            .await?;
        ui.shot("search-everywhere").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}

/// Whether the element is wholly inside the window's viewport and has a size.
fn in_viewport(css: &str) -> String {
    format!(
        "const e = document.querySelector({css:?}); if (!e) return false; \
         const r = e.getBoundingClientRect(); \
         return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && \
         r.right <= window.innerWidth && r.bottom <= window.innerHeight"
    )
}

/// At 100 % and 200 % text: nothing cut off sideways, every visible control can be brought
/// into view and is then the element under its own centre (not clipped or covered), and no
/// message-list row cuts its text.
async fn all_reachable(ui: &mut super::ui::Ui, screen: &str) -> Result<()> {
    for scale in ["100%", "200%"] {
        ui.js(&format!(
            "document.documentElement.style.fontSize = '{scale}'; \
             window.dispatchEvent(new Event('resize')); return true"
        ))
        .await?;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        ui.shot(&format!("{screen}-{}", scale.trim_end_matches('%')))
            .await?;
        let found = ui
            .js(r#"
                const problems = [];
                if (document.documentElement.scrollWidth > window.innerWidth)
                    problems.push(`the page is ${document.documentElement.scrollWidth}px wide`);
                const name = (e) => e.id ? '#' + e.id
                    : `${e.tagName.toLowerCase()}[${(e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 25)}]`;
                const scope = document.querySelector('dialog[open]') || document;
                const controls = [...scope.querySelectorAll('button, input, select, textarea, a[href], [tabindex="0"]')]
                    .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
                        && getComputedStyle(e).visibility !== 'hidden' && !e.closest('.row-item'); });
                for (const e of controls) {
                    e.scrollIntoView({ block: 'nearest', inline: 'nearest' });
                    const r = e.getBoundingClientRect();
                    const x = Math.min(Math.max(r.left + Math.min(r.width, 40) / 2, 0), window.innerWidth - 1);
                    const y = Math.min(Math.max(r.top + Math.min(r.height, 30) / 2, 0), window.innerHeight - 1);
                    const inView = r.left >= -1 && r.top >= -1 && r.left < window.innerWidth && r.top < window.innerHeight;
                    // A control taller than the pane that scrolls it (the list's width bar) is
                    // tried where it shows: the middle of its part inside that pane.
                    let px = x, py = y;
                    for (let p = e.parentElement; p; p = p.parentElement) {
                        const st = getComputedStyle(p);
                        if (/(auto|scroll)/.test(st.overflowY + st.overflowX)) {
                            const b = p.getBoundingClientRect();
                            const top = Math.max(r.top, b.top), bottom = Math.min(r.bottom, b.bottom);
                            const lft = Math.max(r.left, b.left), rgt = Math.min(r.right, b.right);
                            if (bottom > top && rgt > lft) { px = (lft + Math.min(rgt, lft + 40)) / 2; py = (top + Math.min(bottom, top + 30)) / 2; }
                            break;
                        }
                    }
                    const hit = document.elementFromPoint(px, py);
                    if (!inView || !(hit === e || e.contains(hit) || hit?.closest('label')?.control === e))
                        problems.push(`${name(e)} cannot be reached (${inView ? `covered by ${hit ? name(hit) : 'nothing'} at ${Math.round(x)},${Math.round(y)}` : 'out of view'})`);
                    // A button's own words must fit it (an input scrolls its text, as it should).
                    if (e.tagName === 'BUTTON' && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1))
                        problems.push(`${name(e)} cuts its label (${e.scrollWidth}×${e.scrollHeight} in ${e.clientWidth}×${e.clientHeight})`);
                }
                // Words that run out of their box (a long address in a narrow card).
                for (const t of scope.querySelectorAll('label, h1, h2, p, dd, li'))
                    if (t.getBoundingClientRect().width > 0 && t.scrollWidth > t.clientWidth + 1
                        && getComputedStyle(t).overflowX === 'visible')
                        problems.push(`${name(t)} runs out of its box (${t.scrollWidth} > ${t.clientWidth})`);
                const list = document.querySelector('#message-list');
                const row = document.querySelector('#message-list .row-item');
                if (list && row && list.clientHeight < row.offsetHeight)
                    problems.push(`the message list shows no whole row (${list.clientHeight}px high)`);
                for (const row of document.querySelectorAll('#message-list .row-item'))
                    if (row.scrollHeight > row.clientHeight + 1) problems.push(`a list row cuts its text (${row.scrollHeight} > ${row.clientHeight})`);
                return problems;"#)
            .await?;
        let found: Vec<String> = serde_json::from_value(found)?;
        ensure!(
            found.is_empty(),
            "{screen} at {scale} text in 800×600: {found:#?}"
        );
    }
    ui.js("document.documentElement.style.fontSize = ''; window.dispatchEvent(new Event('resize')); return true")
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_is_reachable_in_a_small_window_and_at_double_text_size() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("small-window")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(
            &[ADDRESS],
            "Referral for Mrs Jones with a long subject that will not fit in a narrow list",
            "Please see the plan and confirm the first visit date.",
        )
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let (desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        let window = desktop.xdotool(&["search", "--onlyvisible", "--name", "^Sealpost"])?;
        let window = window
            .lines()
            .last()
            .context("the app's window")?
            .to_owned();
        desktop.xdotool(&["windowsize", "--sync", &window, "800", "600"])?;
        wait_js(
            &ui,
            "return window.innerWidth <= 800",
            "the window is 800 wide",
        )
        .await?;
        all_reachable(&mut ui, "sign-in").await?;
        ui.click("#tab-register").await?;
        ui.type_into("#link", &link).await?;
        ui.click("#read-link").await?;
        ui.wait_text("#register-address", ADDRESS).await?;
        all_reachable(&mut ui, "register").await?;
        ui.click("#tab-forgot").await?;
        all_reachable(&mut ui, "forgot").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "Referral for Mrs Jones")
            .await?;
        ui.click_row("Referral for Mrs Jones").await?;
        ui.wait_text("#message-body", "confirm the first visit date")
            .await?;
        all_reachable(&mut ui, "message").await?;
        for control in ["#sign-out", "#lock-now", "#tab-compose"] {
            // The bar's controls are in view as they are, without scrolling.
            wait_js(
                &ui,
                &in_viewport(control),
                &format!("{control} is on screen in 800×600"),
            )
            .await?;
        }
        ui.click("#reply").await?;
        ui.wait("#body").await?;
        all_reachable(&mut ui, "compose").await?;
        ui.click("#tab-address").await?;
        ui.wait("#contact-name").await?;
        all_reachable(&mut ui, "address-book").await?;
        ui.click("#tab-help").await?;
        all_reachable(&mut ui, "help").await?;
        ui.click("#lock-now").await?;
        ui.wait("#unlock-password").await?;
        all_reachable(&mut ui, "lock").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
