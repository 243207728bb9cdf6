//! The system tray icon and start at login, both off until the person turns them on in
//! Settings. With the tray on, the icon shows the number of unread messages, its menu (and
//! on Windows and macOS a click) shows the window, and closing the window hides it: the app
//! goes on syncing and notifying until **Quit Sealpost**. Start at login is the OS's own
//! login item (tauri-plugin-autostart); started that way with the tray on, the app starts
//! in the tray without a window.
//!
//! On Linux the icon is a StatusNotifierItem (libayatana-appindicator): the count is the
//! item's label, and the desktop shows it only if its panel hosts such items.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_autostart::ManagerExt;

use crate::error::{UiError, UiResult};
use crate::session::Desk;

const TRAY: &str = "sealpost";
/// The argument the login item starts the app with.
pub const AUTOSTART_ARG: &str = "--autostart";

/// Whether the tray is on now, and the unread count it shows.
#[derive(Default)]
pub struct Tray {
    on: AtomicBool,
    unread: AtomicU64,
}

impl Tray {
    /// Whether closing the window should hide it (the tray is on).
    pub fn keeps_running(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }
}

/// What Settings shows.
#[derive(Debug, Serialize, specta::Type)]
pub struct Desktop {
    /// The tray icon is on.
    pub tray: bool,
    /// The app starts when the person signs in to the computer.
    pub start_at_login: bool,
}

/// Puts the icon in the tray (again), with the unread count.
pub fn show(app: &AppHandle) -> tauri::Result<()> {
    let tray = app.state::<Tray>();
    if app.tray_by_id(TRAY).is_some() {
        tray.on.store(true, Ordering::SeqCst);
        return Ok(());
    }
    let open = MenuItem::with_id(app, "show", "Show Sealpost", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Sealpost", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut builder = TrayIconBuilder::with_id(TRAY)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .tooltip("Sealpost")
        .on_menu_event(|app, event| match event.id().as_ref() {
            "show" => crate::notify::focus_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|icon, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::notify::focus_window(icon.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    // Only now may closing the window hide it: there is an icon to bring it back.
    tray.on.store(true, Ordering::SeqCst);
    label(app, tray.unread.load(Ordering::SeqCst));
    Ok(())
}

/// Takes the icon away; closing the window quits again.
fn hide(app: &AppHandle) {
    app.state::<Tray>().on.store(false, Ordering::SeqCst);
    app.remove_tray_by_id(TRAY);
}

/// The count on the icon: its label (Linux) and tooltip.
fn label(app: &AppHandle, unread: u64) {
    if let Some(icon) = app.tray_by_id(TRAY) {
        let (title, tip) = match unread {
            0 => (None, "Sealpost".to_owned()),
            1 => (
                Some("1".to_owned()),
                "Sealpost: 1 unread message".to_owned(),
            ),
            n => (
                Some(n.to_string()),
                format!("Sealpost: {n} unread messages"),
            ),
        };
        let _ = icon.set_title(title);
        let _ = icon.set_tooltip(Some(tip));
    }
}

/// The tray and start-at-login settings.
#[tauri::command]
#[specta::specta]
pub fn desktop_settings(app: AppHandle) -> UiResult<Desktop> {
    Ok(Desktop {
        // What is shown now (a damaged preferences file counts as the defaults).
        tray: app.state::<Tray>().keeps_running(),
        start_at_login: app.autolaunch().is_enabled().unwrap_or(false),
    })
}

/// Turns the tray icon on or off, and keeps the choice.
#[tauri::command]
#[specta::specta]
pub fn set_tray(app: AppHandle, desk: State<'_, Desk>, on: bool) -> UiResult<()> {
    // A damaged preferences file is replaced by this choice rather than blocking it.
    let mut preferences = desk.mailboxes.accounts.preferences().unwrap_or_default();
    preferences.tray = on;
    if on {
        show(&app).map_err(|e| {
            UiError::new(
                sealpost_client::Code::Internal,
                format!("The tray icon could not be shown: {e}. Nothing changed."),
            )
        })?;
    } else {
        hide(&app);
    }
    // Kept only once it took effect; if it cannot be kept, it is undone.
    if let Err(e) = desk.mailboxes.accounts.save_preferences(&preferences) {
        if on {
            hide(&app);
        } else {
            let _ = show(&app);
        }
        return Err(e.into());
    }
    Ok(())
}

/// Makes the app start (or not) when the person signs in to this computer.
#[tauri::command]
#[specta::specta]
pub fn set_start_at_login(app: AppHandle, on: bool) -> UiResult<()> {
    let launcher = app.autolaunch();
    let done = if on {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| {
        UiError::new(
            sealpost_client::Code::Internal,
            format!("The login item could not be changed: {e}. Nothing changed."),
        )
    })
}

/// The number of unread messages in all mailboxes, as the window counts them.
pub fn unread(app: &AppHandle, unread: u64) {
    app.state::<Tray>().unread.store(unread, Ordering::SeqCst);
    label(app, unread);
}
