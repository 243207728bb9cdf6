//! What the app tells the window without being asked. Each event's name is its
//! `tauri_specta::Event::NAME`; the window listens through the generated bindings
//! (`events.mail.listen(..)`), so the names and payloads are written once, here.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Something changed in a mailbox, as its sync task saw it.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct Mail {
    /// The mailbox's account id.
    pub account: String,
    /// What happened.
    pub kind: MailKind,
    /// How many messages (new mail, refused outbox items); 0 otherwise.
    pub count: u64,
}

/// What a [`Mail`] event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// New messages arrived (a notification was shown).
    NewMail,
    /// Something else in the vault changed (read flags, deletions, Sent, Drafts).
    Changed,
    /// The hub cannot be reached; the vault still reads.
    Offline,
    /// The hub answers again; the outbox was flushed.
    Online,
    /// The session ended at the hub; the person must sign in again.
    SignInRequired,
    /// This person's access to the shared mailbox was taken away: its copy on this
    /// computer has been deleted, and the window drops it.
    AccessRemoved,
    /// The organisation now requires two-step sign-in and it is not on: sync stopped
    /// until it is turned on in Settings.
    MfaEnrolmentRequired,
    /// The hub refused messages that waited in the outbox; they are back among the
    /// composes, with the reason.
    Refused,
}

impl tauri_specta::Event for Mail {
    const NAME: &'static str = "mail";
}

/// Progress of a long transfer (an attachment being uploaded or downloaded).
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct Progress {
    /// The mailbox's account id.
    pub account: String,
    /// The file's name.
    pub name: String,
    /// Bytes done so far.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

impl tauri_specta::Event for Progress {
    const NAME: &'static str = "progress";
}

/// A `sealpost://` link opened while the app runs (from the mail program).
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct OpenLink(pub String);

impl tauri_specta::Event for OpenLink {
    const NAME: &'static str = "open-link";
}

/// The person clicked a notification: show this mailbox, and the message if one is named.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct FocusMessage {
    /// The mailbox's account id.
    pub account: String,
    /// The message to open, when the notification was about one.
    pub id: Option<String>,
}

impl tauri_specta::Event for FocusMessage {
    const NAME: &'static str = "focus-message";
}
