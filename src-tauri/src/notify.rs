//! Desktop notifications for new secure mail: who sent it and how many, never a subject or
//! a word of content. Clicking one brings the window forward on that message.

use notify_rust::Notification;
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;

use crate::events::FocusMessage;

/// The text of a new-mail notification (summary, body).
pub fn new_mail_text(count: usize, senders: &[String]) -> (String, String) {
    let summary = if count == 1 {
        "New secure message".to_owned()
    } else {
        format!("{count} new secure messages")
    };
    let body = match senders {
        [] => "Open Sealpost to read it.".to_owned(),
        [one] => format!("From {one}"),
        [first, rest @ ..] => format!("From {first} and {} more", rest.len()),
    };
    (summary, body)
}

/// Shows the notification; a click focuses the app on `message_id` of `account`.
pub fn new_mail(
    app: &AppHandle,
    account: &str,
    message_id: Option<String>,
    count: usize,
    senders: &[String],
) {
    let (summary, body) = new_mail_text(count, senders);
    let shown = Notification::new()
        .appname("Sealpost")
        .summary(&summary)
        .body(&body)
        .icon("mail-message-new")
        .action("default", "Open")
        .show();
    match shown {
        Ok(handle) => {
            let app = app.clone();
            let account = account.to_owned();
            // The action wait blocks until the notification is clicked or closed.
            std::thread::spawn(move || {
                #[cfg(all(unix, not(target_os = "macos")))]
                handle.wait_for_action(|action| {
                    if action == "default" {
                        focus(&app, &account, message_id.as_deref());
                    }
                });
                #[cfg(not(all(unix, not(target_os = "macos"))))]
                {
                    let _ = (handle, app, account, message_id);
                }
            });
        }
        // No notification server (a bare session): the inbox still shows the mail.
        Err(e) => tracing::warn!(error = %e, "the desktop notification could not be shown"),
    }
}

/// Brings the main window forward.
pub fn focus_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Brings the main window forward and asks the UI to open the message.
pub fn focus(app: &AppHandle, account: &str, message_id: Option<&str>) {
    focus_window(app);
    let _ = FocusMessage {
        account: account.to_owned(),
        id: message_id.map(str::to_owned),
    }
    .emit(app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_senders_and_count_only() {
        let (s, b) = new_mail_text(1, &["ann@example.gov.uk".into()]);
        assert_eq!(s, "New secure message");
        assert_eq!(b, "From ann@example.gov.uk");
        let (s, b) = new_mail_text(3, &["a@x.org".into(), "b@x.org".into()]);
        assert_eq!(s, "3 new secure messages", "the count is in the summary");
        assert_eq!(b, "From a@x.org and 1 more", "each sender is counted once");
    }
}
