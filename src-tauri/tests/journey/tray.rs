//! The tray icon and start at login, off until turned on in Settings. On, the icon (a
//! StatusNotifierItem, taken by a stand-in for a panel's watcher on the session bus) shows
//! the unread count; closing the window (asked by a window manager, openbox) hides it while
//! the app goes on syncing, so the count grows; the icon's menu brings the window back and
//! quits; started as the login item starts it, the app waits in the tray without a window.
//! Start at login writes and removes the desktop's autostart entry.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use sealpost_hub::testing::TestServer;

use super::desktop::{wait_for, Desktop};
use super::ui::Ui;
use super::{
    finish, in_desktop_session, register, registration_link, start_app, work_dirs, ADDRESS,
};

/// Runs gdbus on the session bus and answers its output.
fn gdbus(args: &[&str]) -> Result<String> {
    let out = Command::new("gdbus")
        .arg("call")
        .arg("--session")
        .args(args)
        .output()
        .context("running gdbus")?;
    ensure!(
        out.status.success(),
        "gdbus {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The tray item the app registered: its bus name and object path.
fn registered(log: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rfind(|l| l.starts_with(':'))?;
    let (bus, path) = line.split_once(' ')?;
    Some((bus.to_owned(), path.to_owned()))
}

/// A property of the tray item, as gdbus prints it.
fn item_property(item: &(String, String), name: &str) -> Result<String> {
    gdbus(&[
        "--dest",
        &item.0,
        "--object-path",
        &item.1,
        "--method",
        "org.freedesktop.DBus.Properties.Get",
        "org.kde.StatusNotifierItem",
        name,
    ])
}

/// Clicks the entry labelled `label` in the item's menu (com.canonical.dbusmenu).
fn click_menu(item: &(String, String), label: &str) -> Result<()> {
    let menu = item_property(item, "Menu")?;
    let path = menu
        .split('\'')
        .nth(1)
        .or_else(|| menu.split_whitespace().find(|w| w.contains('/')))
        .context("the item names its menu")?
        .trim_matches(|c| c == '<' || c == '>' || c == ',' || c == ')' || c == '(')
        .trim_start_matches("objectpath ")
        .to_owned();
    let layout = gdbus(&[
        "--dest",
        &item.0,
        "--object-path",
        &path,
        "--method",
        "com.canonical.dbusmenu.GetLayout",
        // The arguments, after "--" (-1, all levels, is no option).
        "--",
        "0",
        "-1",
        "[]",
    ])?;
    // Each entry reads "(ID, {..., 'label': <'TEXT'>, ...}, [])".
    let at = layout
        .find(&format!("'label': <'{label}'>"))
        .with_context(|| format!("the menu has {label}: {layout}"))?;
    let before = &layout[..at];
    let open = before.rfind('(').context("an entry's id")?;
    let id: String = before[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    gdbus(&[
        "--dest",
        &item.0,
        "--object-path",
        &path,
        "--method",
        "com.canonical.dbusmenu.Event",
        &id,
        "clicked",
        "<0>",
        "0",
    ])?;
    Ok(())
}

/// Whether a window titled Sealpost… is mapped on the display.
fn window_shown(desktop: &Desktop) -> bool {
    desktop
        .xdotool(&["search", "--onlyvisible", "--name", "^Sealpost"])
        .is_ok_and(|ids| !ids.trim().is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_and_start_at_login_are_off_until_turned_on() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("tray")?;
    let log = work.join("tray-items.log");
    let _watcher = super::desktop::Proc::spawn(
        // Debian's python3-gi belongs to the system Python, whatever else is on PATH.
        Command::new("/usr/bin/python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/journey/sni_watcher.py"
            ))
            .arg(&log),
        "the tray watcher",
    )?;
    wait_for(Duration::from_secs(10), "the tray watcher", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("ready"))
    })?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server.org_send(&[ADDRESS], "First", "One.").await;
    let link = registration_link(&server, ADDRESS).await?;
    let (desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let _wm = desktop.start_on_display("openbox", &[])?;
    let autostart: PathBuf = home.join(".config/autostart");
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &link, ADDRESS).await?;
        ui.wait_text("#message-list", "First").await?;
        ui.click("#tab-settings").await?;
        ui.wait("#tray").await?;
        ensure!(
            ui.js("return document.querySelector('#tray').checked")
                .await?
                == false
                && ui
                    .js("return document.querySelector('#start-at-login').checked")
                    .await?
                    == false,
            "both are off until turned on"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        ensure!(registered(&log).is_none(), "no tray icon until asked for");
        ensure!(!autostart.exists(), "no login item until asked for");

        // The tray: an icon with the unread count.
        ui.click("#tray").await?;
        wait_for(Duration::from_secs(10), "the tray icon", || {
            registered(&log).is_some()
        })?;
        let item = registered(&log).context("the item")?;
        wait_for(Duration::from_secs(10), "the count on the icon", || {
            item_property(&item, "XAyatanaLabel").is_ok_and(|l| l.contains("'1'"))
        })?;
        ui.shot("tray-on").await?;

        // Closing the window hides it; the app syncs on, and the count follows.
        ensure!(window_shown(&desktop), "the window is shown");
        close_window(&desktop)?;
        wait_for(Duration::from_secs(10), "the window to hide", || {
            !window_shown(&desktop)
        })?;
        server.org_send(&[ADDRESS], "Second", "Two.").await;
        wait_for(
            Duration::from_secs(30),
            "the count of two on the icon",
            || item_property(&item, "XAyatanaLabel").is_ok_and(|l| l.contains("'2'")),
        )?;

        // The icon's menu brings the window back, with the new message.
        click_menu(&item, "Show Sealpost")?;
        wait_for(Duration::from_secs(10), "the window to come back", || {
            window_shown(&desktop)
        })?;
        ui.click("#tab-inbox").await?;
        ui.wait_text("#message-list", "Second").await?;

        // Quit from the icon's menu ends the app, window and process.
        let app = env!("CARGO_BIN_EXE_sealpost-desktop");
        click_menu(&item, "Quit Sealpost")?;
        wait_for(Duration::from_secs(10), "the app to quit", || {
            Command::new("pgrep")
                .args(["-f", &format!("^{app}")])
                .status()
                .is_ok_and(|s| !s.success())
        })?;
        let _ = ui.client.clone().close().await;

        // Started at login (with --autostart, as the login item starts it) and the tray
        // on, the app waits in the tray: its icon, and no window until Show Sealpost.
        ui = Ui::launch_with_args(
            &desktop.driver_url,
            &desktop.display,
            app,
            &["--autostart"],
            work.join("screens-autostart"),
        )
        .await?;
        wait_for(Duration::from_secs(10), "the new start's icon", || {
            registered(&log).is_some_and(|again| again != item)
        })?;
        let item = registered(&log).context("the item")?;
        for _ in 0..10 {
            ensure!(
                !window_shown(&desktop),
                "started at login, the app shows no window"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        click_menu(&item, "Show Sealpost")?;
        wait_for(Duration::from_secs(10), "the window to show", || {
            window_shown(&desktop)
        })?;
        ui.wait("#sign-in").await?;
        ui.type_into("#password", super::PASSWORD).await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#message-list", "Second").await?;

        // Start at login: the desktop's autostart entry, starting the app in the tray.
        ui.click("#tab-settings").await?;
        ui.click("#start-at-login").await?;
        let entry = wait_entry(&autostart)?;
        let text = std::fs::read_to_string(&entry)?;
        ensure!(
            text.contains("--autostart"),
            "the login item starts the app for the tray: {text}"
        );
        ui.click("#start-at-login").await?;
        wait_for(Duration::from_secs(10), "the login item to go", || {
            !entry.exists()
        })?;

        // The tray off: its icon goes (the item leaves the bus, or says it is Passive,
        // which panels do not show).
        ui.click("#tray").await?;
        wait_for(Duration::from_secs(10), "the icon to go", || {
            match item_property(&item, "Status") {
                Ok(status) => status.contains("Passive"),
                // UnknownObject, UnknownMethod, ServiceUnknown: the item is gone.
                Err(e) => e.to_string().contains("org.freedesktop.DBus.Error.Unknown"),
            }
        })?;

        // With the tray off, closing the window ends the app: no window is left, hidden
        // or not.
        close_window(&desktop)?;
        wait_for(Duration::from_secs(10), "the app to end", || {
            desktop
                .xdotool(&["search", "--name", "^Sealpost"])
                .map_or(true, |ids| ids.trim().is_empty())
        })?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}

/// Asks the window to close, as its close button does (through the window manager).
fn close_window(desktop: &Desktop) -> Result<()> {
    let status = Command::new("wmctrl")
        .args(["-c", "Sealpost"])
        .env("DISPLAY", &desktop.display)
        .status()
        .context("running wmctrl (make deps installs it)")?;
    ensure!(status.success(), "wmctrl found the window to close");
    Ok(())
}

/// The autostart entry, once written.
fn wait_entry(dir: &Path) -> Result<PathBuf> {
    let mut found = None;
    wait_for(Duration::from_secs(10), "the login item", || {
        found = std::fs::read_dir(dir).ok().and_then(|mut d| {
            d.find_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "desktop"))
        });
        found.is_some()
    })?;
    match found {
        Some(p) => Ok(p),
        None => bail!("no autostart entry in {}", dir.display()),
    }
}
