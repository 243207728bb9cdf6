//! WCAG 2.2 AA in the real window: axe-core on every screen, in the light and the dark
//! theme (colour contrast included), and every control reached by Tab with a visible
//! focus ring.
//!
//! What a screen reader hears is checked too: the accessibility tree WebKitGTK gives AT-SPI
//! (the bus screen readers such as Orca read) holds the list, the message, Compose and the
//! dialogs under the roles and names a person needs.

use anyhow::Result;
use sealpost_hub::testing::{TestServer, STAFF};

use super::{
    finish, in_desktop_session, registration_link, start_app, start_app_with, ui::Ui, work_dirs,
    ADDRESS,
};

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

/// The app's accessibility tree as AT-SPI gives it: (role, name) per node, in tree order.
fn heard(display: &str) -> Result<Vec<(String, String)>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/journey/a11y_tree.py");
    let out = std::process::Command::new("timeout")
        .args(["60", "/usr/bin/python3", script, "sealpost"])
        .env("DISPLAY", display)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "reading the accessibility tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (_, role, name) = (parts.next()?, parts.next()?, parts.next()?);
            Some((role.to_owned(), name.to_owned()))
        })
        .collect())
}

/// Fails unless the tree has a node of `role` whose name contains `name`.
fn hears(tree: &[(String, String)], role: &str, name: &str, screen: &str) -> Result<()> {
    anyhow::ensure!(
        tree.iter().any(|(r, n)| r == role && n.contains(name)),
        "{screen}: a screen reader hears no {role} named {name:?}; it hears:\n{}",
        tree.iter()
            .filter(|(r, _)| r != "filler" && r != "section" && r != "static")
            .map(|(r, n)| format!("  {r}: {n}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_reader_hears_the_list_the_message_compose_and_dialogs() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("screen-reader")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[ADDRESS], "Appointment letter", "The visit is on Monday.")
        .await;
    let link = registration_link(&server, ADDRESS).await?;
    // The accessibility bridge on (the other tests turn it off, for speed).
    let (desktop, mut ui) =
        start_app_with(&work, &data_dir, &home, &[("NO_AT_BRIDGE", "0".into())]).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        super::register(&ui, &link, ADDRESS).await?;
        ui.click_row("Appointment letter").await?;
        ui.wait_text("#message-body", "The visit is on Monday.")
            .await?;
        let tree = heard(&desktop.display)?;
        let screen = "a message open";
        hears(&tree, "frame", "Sealpost", screen)?;
        hears(&tree, "list box", "Messages", screen)?;
        hears(&tree, "list item", "Appointment letter", screen)?;
        hears(&tree, "heading", "Appointment letter", screen)?;
        hears(&tree, "list item", "case.worker@example.gov.uk, ", screen)?;
        for button in [
            "Reply",
            "Reply to All",
            "Forward",
            "Delete",
            "Lock",
            "Sign Out",
        ] {
            hears(&tree, "push button", button, screen)?;
        }
        // WebKitGTK gives a menu button (aria-haspopup) the role of a combo box.
        hears(&tree, "combo box", "More", screen)?;
        hears(&tree, "tool bar", "Message actions", screen)?;

        ui.click("#more-actions").await?;
        ui.wait("#print").await?;
        let tree = heard(&desktop.display)?;
        hears(&tree, "menu", "More", "the More menu")?;
        hears(&tree, "menu item", "Save as PDF", "the More menu")?;
        ui.click("#more-actions").await?;

        ui.click("#reply").await?;
        ui.wait("#body").await?;
        let tree = heard(&desktop.display)?;
        let screen = "Compose";
        hears(&tree, "entry", "Subject", screen)?;
        hears(&tree, "push button", "Send", screen)?;
        hears(&tree, "push button", "Attach", screen)?;

        ui.click("#discard").await?;
        ui.wait("#confirm-dialog").await?;
        let tree = heard(&desktop.display)?;
        hears(&tree, "dialog", "Discard", "the Discard question")?;
        hears(&tree, "push button", "Cancel", "the Discard question")?;
        ui.shot("screen-reader-dialog").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
