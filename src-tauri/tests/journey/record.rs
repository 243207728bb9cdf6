//! Attachments and the record in the real window: opening an attachment in the system's
//! application (a private copy, gone at lock and at start), Save all, Print, and keeping a
//! message for a case file as PDF and as an email file.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use sealpost_hub::testing::{TestServer, STAFF};

use super::{
    desktop::wait_for, finish, in_desktop_session, register, registration_link, start_app_with,
    wait_js, work_dirs, ADDRESS,
};

/// Makes a stand-in "default application" for text and PDF files in `home`, as a desktop
/// registers one (a `.desktop` entry and `mimeapps.list`): it writes the path it was given,
/// the file's mode and its content to `log`. Returns the app's XDG environment.
fn default_viewer(
    work: &std::path::Path,
    home: &std::path::Path,
) -> Result<Vec<(&'static str, String)>> {
    let (config, share) = (home.join(".config"), home.join(".local/share"));
    std::fs::create_dir_all(share.join("applications"))?;
    std::fs::create_dir_all(&config)?;
    let viewer = work.join("viewer.sh");
    let log = work.join("opened.log");
    std::fs::write(
        &viewer,
        format!(
            "#!/bin/sh\n{{ echo \"$1\"; stat -c %a \"$1\"; cat \"$1\"; echo; }} >> '{}'\n",
            log.display()
        ),
    )?;
    std::fs::set_permissions(&viewer, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(
        share.join("applications/test-viewer.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Test viewer\nExec={} %f\nMimeType=text/plain;\n",
            viewer.display()
        ),
    )?;
    std::fs::write(
        config.join("mimeapps.list"),
        "[Default Applications]\ntext/plain=test-viewer.desktop\n",
    )?;
    Ok(vec![
        ("XDG_CONFIG_HOME", config.display().to_string()),
        ("XDG_DATA_HOME", share.display().to_string()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_save_all_print_and_keep_a_record_as_pdf_and_email() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("record")?;
    let files = work.join("files");
    std::fs::create_dir_all(&files)?;
    let (letter, notes) = (
        files.join("letter.txt"),
        files.join("notes of the visit.txt"),
    );
    std::fs::write(&letter, "Dear Mrs Jones")?;
    std::fs::write(&notes, "Visit notes")?;
    let case_file = work.join("case-file");
    std::fs::create_dir_all(&case_file)?;
    std::fs::write(case_file.join("notes of the visit.txt"), "mine")?;
    // A copy a crash left behind: the next start removes it.
    let opened = data_dir.join("opened");
    std::fs::create_dir_all(opened.join("stale"))?;
    std::fs::write(opened.join("stale/left.txt"), "left by a crash")?;

    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send_files(
            ADDRESS,
            "Appointment letter",
            "The letter and the visit notes are attached.",
            &[letter, notes],
        )
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    let env = default_viewer(&work, &home)?;
    let (desktop, mut ui) = start_app_with(&work, &data_dir, &home, &env).await?;
    let log = work.join("opened.log");
    let result = async {
        ui.wait("#sign-in").await?;
        ensure!(
            !opened.join("stale").exists(),
            "copies a crash left behind are removed at start"
        );
        register(&ui, &link, ADDRESS).await?;
        ui.click_row("Appointment letter").await?;
        ui.wait_text("#message-body", "visit notes").await?;

        // Open: the system's application gets a private, read-only copy.
        ui.click("button[aria-label='Open letter.txt']").await?;
        ui.wait_text("#notice", "Opened letter.txt").await?;
        wait_for(
            Duration::from_secs(15),
            "the default application opens the file",
            || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Dear Mrs Jones")),
        )?;
        let seen = std::fs::read_to_string(&log)?;
        let mut lines = seen.lines();
        let path = std::path::PathBuf::from(lines.next().context("a path")?);
        ensure!(
            path.starts_with(&opened) && path.file_name() == Some("letter.txt".as_ref()),
            "the application got a copy in the private folder, under its own name: {}",
            path.display()
        );
        ensure!(lines.next() == Some("400"), "the copy is read-only: {seen}");
        let folder = std::fs::metadata(path.parent().context("a folder")?)?;
        ensure!(
            std::os::unix::fs::PermissionsExt::mode(&folder.permissions()) & 0o777 == 0o700,
            "its folder is the user's alone"
        );
        ui.shot("attachment-opened").await?;

        // Drag out: the notes onto a folder, which gets a copy of the file. (The attachments
        // came down with the message.)
        ui.wait("[data-attachment='notes of the visit.txt'][data-ready='true']")
            .await?;
        let point = ui
            .js("const r = document.querySelector(\"[data-attachment='notes of the visit.txt'] .open\")\
                   .getBoundingClientRect(); return [Math.round(r.left + 12), Math.round(r.top + r.height / 2)]")
            .await?;
        let (x, y) = (point[0].as_i64().unwrap_or(0), point[1].as_i64().unwrap_or(0));
        let folder = work.join("dragged-to");
        desktop.drag_from_app_to_folder(x, y, &folder)?;
        wait_for(Duration::from_secs(10), "the dropped file", || {
            std::fs::read_to_string(folder.join("notes of the visit.txt")).is_ok_and(|t| t == "Visit notes")
        })?;
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(folder.join("notes of the visit.txt"))?.permissions(),
        );
        ensure!(mode & 0o200 != 0, "the dropped copy is the user's to change ({mode:o})");
        let dropped = std::fs::read_to_string(folder.join("dropped.log"))?;
        ensure!(
            dropped.contains("notes%20of%20the%20visit.txt"),
            "the folder was handed a proper file address: {dropped}"
        );

        // Save all: one folder, nothing in it replaced.
        ui.click("#save-all").await?;
        desktop.answer_file_dialog("Save all attachments", &case_file, false)?;
        ui.wait_text("#notice", "Saved 2 attachments").await?;
        let read = |name: &str| std::fs::read_to_string(case_file.join(name)).unwrap_or_default();
        ensure!(
            read("letter.txt") == "Dear Mrs Jones",
            "the letter is saved"
        );
        ensure!(
            read("notes of the visit (2).txt") == "Visit notes",
            "the notes are saved beside the file there"
        );
        ensure!(
            read("notes of the visit.txt") == "mine",
            "the file already there is left as it was"
        );

        // Save as email: the message with its attachments, for any mail program.
        ui.menu("#more-actions", "#save-eml").await?;
        desktop.answer_file_dialog("Save as email", &case_file.join("record.eml"), true)?;
        ui.wait_text("#notice", "record.eml").await?;
        let email = read("record.eml");
        for needle in [
            "Subject: Appointment letter",
            &format!("From: {STAFF}"),
            &format!("To: {ADDRESS}"),
            "The letter and the visit notes are attached.",
            "filename=\"letter.txt\"",
            "notes of the visit.txt",
            "RGVhciBNcnMgSm9uZXM=", // "Dear Mrs Jones" in base64
        ] {
            ensure!(
                email.contains(needle),
                "the email file holds {needle:?}:\n{email}"
            );
        }

        // Save as PDF: the message as it prints, and nothing else of the window.
        ui.menu("#more-actions", "#save-pdf").await?;
        desktop.answer_file_dialog("Save as PDF", &case_file.join("record.pdf"), true)?;
        ui.wait_text("#notice", "record.pdf").await?;
        let pdf = case_file.join("record.pdf");
        ensure!(
            std::fs::read(&pdf)?.starts_with(b"%PDF"),
            "a PDF was written"
        );
        let text = std::process::Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .context("pdftotext (poppler-utils)")?;
        let text = String::from_utf8_lossy(&text.stdout);
        ensure!(
            text.contains("Appointment letter") && text.contains("visit notes are attached"),
            "the PDF holds the message: {text}"
        );
        ensure!(
            !text.contains("Add mailbox") && !text.contains("Sign Out"),
            "and not the rest of the window: {text}"
        );

        // The More menu by keyboard: ↓ opens it on its first item, Escape closes it.
        ui.js("document.querySelector('#more-actions').focus(); return true")
            .await?;
        desktop.xdotool(&["key", "Down"])?;
        wait_js(
            &ui,
            "return document.activeElement?.getAttribute('role') === 'menuitem'",
            "↓ opens the menu on its first item",
        )
        .await?;
        ui.shot("more-menu").await?;
        desktop.xdotool(&["key", "Escape"])?;
        wait_js(
            &ui,
            "return document.activeElement?.id === 'more-actions' \
               && !document.querySelector('[role=menu]')",
            "Escape closes it and focus is back on its button",
        )
        .await?;

        // Print: Ctrl+P opens the system's print dialog.
        desktop.xdotool(&["key", "--clearmodifiers", "ctrl+p"])?;
        let dialog = desktop
            .xdotool(&["search", "--sync", "--onlyvisible", "--name", "^Print$"])
            .context("the print dialog opens")?;
        ui.shot("print-dialog").await?;
        let dialog = dialog.lines().last().unwrap_or_default().to_owned();
        desktop.xdotool(&["windowfocus", "--sync", &dialog])?;
        desktop.xdotool(&["key", "Escape"])?;
        wait_for(Duration::from_secs(10), "the print dialog closes", || {
            desktop
                .xdotool(&["search", "--onlyvisible", "--name", "^Print$"])
                .is_err()
        })?;

        // Lock: every opened copy goes.
        ensure!(opened.exists(), "the copy is there while the app is open");
        ui.click("#lock-now").await?;
        ui.wait("#unlock-password").await?;
        wait_for(
            Duration::from_secs(10),
            "the copies are removed at lock",
            || !opened.exists(),
        )?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
