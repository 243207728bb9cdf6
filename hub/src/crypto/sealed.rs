//! The at-rest format of a message's content: what each recipient's copy stores, as JSON
//! sealed to the master key (`Message::sealed`), and reads back when it is listed or opened.
//! Written by staff sends (`sending.rs`) and users' sends (`outgoing.rs`), read by
//! `mailbox.rs`. Changing it needs a migration of every stored message.

use serde::{Deserialize, Serialize};

/// What a recipient's mailbox stores sealed: everything that is content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedContent {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body, if the sender wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    /// Attachment names and types, in order.
    pub attachments: Vec<SealedAttachment>,
}

/// The content half of an attachment's description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedAttachment {
    /// Attachment id (matches the `attachments` row).
    pub id: String,
    /// File name for display.
    pub name: String,
    /// MIME type.
    pub content_type: String,
}
