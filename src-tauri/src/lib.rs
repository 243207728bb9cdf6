//! The Sealpost desktop app: a Tauri window over `sealpost-client`. Commands are in
//! `commands`, the open mailboxes and their sync in `session`, notifications in `notify`.

mod commands;
mod drag;
mod error;
mod events;
mod notify;
mod print;
mod session;
mod tray;
mod updates;

use std::{path::PathBuf, sync::Arc};

use sealpost_client::{
    keyring::{OsKeyring, SecretStore, Unavailable},
    Accounts,
};

use crate::session::Desk;

/// The window's contract: every command and event, from which `ui/src/lib/bindings.ts` is
/// generated (`make bindings`; a test fails when the file is stale).
pub fn bindings() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::app_info,
            commands::accounts,
            commands::link_info,
            commands::register,
            commands::sign_in,
            commands::resume,
            commands::mfa_state,
            commands::begin_mfa,
            commands::confirm_mfa,
            commands::disable_mfa,
            commands::delegates,
            commands::invite_delegate,
            commands::remove_delegate,
            commands::request_reset,
            commands::confirm_reset,
            commands::list,
            commands::search,
            commands::open_message,
            commands::delete_message,
            commands::restore_message,
            commands::delete_messages,
            commands::restore_messages,
            commands::save_messages_as_email,
            commands::empty_deleted,
            commands::set_read,
            commands::show_unread,
            commands::save_attachment,
            commands::save_all_attachments,
            commands::open_attachment,
            commands::drag_attachment,
            commands::fetch_attachments,
            commands::save_as_email,
            commands::save_as_pdf,
            commands::print,
            commands::pick_files,
            commands::file_info,
            commands::check_addresses,
            commands::reply_audience,
            commands::composes,
            commands::keep_compose,
            commands::send_compose,
            commands::save_compose,
            commands::discard_compose,
            commands::answer,
            commands::open_draft,
            commands::delete_draft,
            commands::pending,
            commands::address_book,
            commands::save_contact,
            commands::delete_contact,
            commands::save_group,
            commands::delete_group,
            commands::lock,
            commands::unlock,
            commands::sign_out,
            commands::remove_account,
            commands::open_link,
            tray::desktop_settings,
            tray::set_tray,
            tray::set_start_at_login,
            updates::check_for_update,
            updates::install_update,
            updates::restart_app,
        ])
        .events(tauri_specta::collect_events![
            events::Mail,
            events::Progress,
            events::OpenLink,
            events::FocusMessage,
        ])
        // A failed command rejects its promise with the UiError, as `invoke` does, so the
        // window keeps one way of handling failures (try/catch and `asError`).
        .error_handling(tauri_specta::ErrorHandlingMode::Throw)
        // Sizes, counts and ids on this side are u64 but stay far below 2^53 (attachments
        // are capped at the hub's limit), so a JavaScript number holds them exactly.
        .dangerously_cast_bigints_to_number()
}

/// Writes the window's TypeScript bindings to `path`.
///
/// # Errors
/// When a type cannot be said in TypeScript, or the file cannot be written.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    bindings()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated from the Rust types by `make bindings` (tauri-specta). Do not edit.\n"),
            path,
        )
        .map_err(|e| e.to_string())
}

/// Starts the app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let dir = match std::env::var_os("SEALPOST_DATA_DIR") {
        Some(d) => Ok(PathBuf::from(d)),
        None => Accounts::default_dir(),
    };
    let (dir, mut fatal) = match dir {
        Ok(d) => (d, None),
        Err(e) => (PathBuf::from("."), Some(e.to_string())),
    };
    // Without a working keyring no vault may be opened or made: the app starts only to say
    // so (never a key in a file, never one in memory).
    let keyring: Arc<dyn SecretStore> = match OsKeyring::open() {
        Ok(k) => Arc::new(k),
        Err(e) => {
            let reason = e.to_string();
            fatal.get_or_insert(format!(
                "Sealpost keeps each mailbox's key in the system keyring, and {reason}."
            ));
            Arc::new(Unavailable(reason))
        }
    };
    let idle_seconds = std::env::var("SEALPOST_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0);
    let launch_link = std::env::args().find(|a| a.starts_with("sealpost://"));
    let mut desk = Desk::new(
        Accounts::new(dir, keyring),
        idle_seconds,
        launch_link,
        fatal,
    );
    // The IT department's settings for this computer: wrong ones are said, and not used.
    match sealpost_client::system::load(&sealpost_client::system::settings_path()) {
        Ok(settings) => desk.system = settings,
        Err(e) => {
            tracing::warn!(error = %e, "the system-wide settings are not used");
            desk.system_problem = Some(error::capitalised(&e.to_string()));
        }
    }

    let bindings = bindings();
    let invoke = bindings.invoke_handler();
    let result = tauri::Builder::default()
        // First: a second start hands over its sealpost:// link (through the deep-link
        // plugin) and brings this window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            notify::focus_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![tray::AUTOSTART_ARG]),
        ))
        .manage(desk)
        .manage(updates::Found::default())
        .manage(tray::Tray::default())
        // With the tray on, closing the window hides it: the app keeps syncing and
        // notifying until Quit Sealpost.
        .on_window_event(|window, event| {
            use tauri::Manager;
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.app_handle().state::<tray::Tray>().keeps_running() {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .setup(move |app| {
            use tauri_plugin_deep_link::DeepLinkExt;
            use tauri_specta::Event as _;
            bindings.mount_events(app);
            use tauri::Manager;
            app.state::<Desk>().attach(app.handle().clone());
            // The mailboxes open while the window's web process starts.
            let handle = app.handle().clone();
            std::thread::spawn(move || handle.state::<Desk>().prewarm());
            // Linux and Windows learn the scheme at run time (off the window's thread: it
            // runs xdg-mime); macOS from the bundle. An app installed from the Linux package
            // is registered by the package's menu entry, and leaves no entry of its own in
            // the person's home to outlive an uninstall.
            #[cfg(any(target_os = "linux", windows))]
            if !links_registered_by_package() {
                let handle = app.handle().clone();
                std::thread::spawn(move || {
                    if let Err(e) = handle.deep_link().register_all() {
                        tracing::warn!(error = %e, "sealpost:// links could not be registered with the system");
                    }
                });
            }
            // The tray, when the person turned it on; started at login with it, the app
            // waits there without a window.
            if app.state::<Desk>().mailboxes.accounts.preferences().is_ok_and(|p| p.tray) {
                match tray::show(app.handle()) {
                    Ok(()) if std::env::args().any(|a| a == tray::AUTOSTART_ARG) => {
                        if let Some(window) = app.get_webview_window("main") {
                            let _ = window.hide();
                        }
                    }
                    Ok(()) => {}
                    Err(e) => tracing::warn!(error = %e, "the tray icon could not be shown"),
                }
            }
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    if url.scheme() == "sealpost" {
                        let _ = events::OpenLink(url.as_str().to_owned()).emit(&handle);
                    }
                }
            });
            Ok(())
        })
        .invoke_handler(invoke)
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Sealpost could not start its window: {e}");
            std::process::exit(1);
        }
    };
    // Attachments opened in other applications are copies that live only while the app
    // does: those a crash left behind go at start, the rest at quit.
    forget_opened(app.handle());
    app.run(|app, event| {
        if let tauri::RunEvent::Exit = event {
            forget_opened(app);
        }
    });
}

/// Whether this is the app the Linux package installed, whose menu entry
/// (`/usr/share/applications/Sealpost.desktop`) already opens `sealpost://` links.
fn links_registered_by_package() -> bool {
    cfg!(target_os = "linux")
        && std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .is_ok_and(|exe| exe == std::path::Path::new("/usr/bin/sealpost-desktop"))
        && std::fs::read_to_string("/usr/share/applications/Sealpost.desktop")
            .is_ok_and(|entry| entry.contains("x-scheme-handler/sealpost"))
}

fn forget_opened(app: &tauri::AppHandle) {
    use tauri::Manager;
    if let Err(e) = app.state::<Desk>().mailboxes.opened.forget_all() {
        tracing::warn!(error = %e, "opened attachments could not all be removed");
    }
}

#[cfg(test)]
mod tests {
    /// The window's bindings, as committed.
    fn committed() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts")
    }

    #[test]
    fn the_windows_bindings_match_the_rust_types() {
        if std::env::var_os("SEALPOST_WRITE_BINDINGS").is_some() {
            super::export_bindings(&committed()).expect("bindings written");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bindings.ts");
        super::export_bindings(&fresh).expect("every command and event has a TypeScript type");
        let fresh = std::fs::read_to_string(fresh).unwrap();
        let committed = std::fs::read_to_string(committed()).unwrap_or_default();
        assert!(
            fresh == committed,
            "ui/src/lib/bindings.ts is stale: a command, event or type changed on the Rust side. \
             Run `make bindings` and commit the result."
        );
    }
}
