//! The at-rest format of a message's content. Storage v2 (now): each field sealed with the
//! mailbox's data key ([`MessageContent::seal`]). Storage v1 (before): one JSON
//! [`SealedContent`] age-encrypted to the mailbox's identity, recipients in the clear; it
//! is still read, until the upgrade (`upgrade.rs`) has rewritten every row. Written by
//! staff sends (`sending.rs`) and users' sends (`outgoing.rs`), read by `mailbox.rs`.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{CryptoError, DataKey, Field, MailboxKeys, Place};
use crate::error::{Error, Result};
use crate::store::{SealedFields, StoredContent};

/// Storage v1: what a recipient's copy stored in one age file.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedAttachment {
    /// Attachment id (matches the `attachments` row).
    pub id: String,
    /// File name for display.
    pub name: String,
    /// MIME type.
    pub content_type: String,
}

/// A message copy's content in the clear, for the moment it is sealed or shown: what
/// storage v2 seals field by field with the mailbox's data key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageContent {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body, if the sender wrote one.
    pub body_html: Option<String>,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Attachment names and types, in order.
    pub attachments: Vec<SealedAttachment>,
}

#[derive(Serialize, Deserialize)]
struct Recipients {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
}

impl MessageContent {
    /// Seals each field for row `id` of `mailbox`, each with its own nonce.
    pub fn seal(&self, key: &DataKey, mailbox: &str, id: &str) -> SealedFields {
        let place = |field| Place {
            mailbox,
            row: id,
            field,
        };
        let recipients = Zeroizing::new(
            serde_json::to_vec(&Recipients {
                to: self.to.clone(),
                cc: self.cc.clone(),
            })
            .expect("BUG: recipients serialise"),
        );
        let attachments = Zeroizing::new(
            serde_json::to_vec(&self.attachments).expect("BUG: attachment names serialise"),
        );
        SealedFields {
            subject: key.seal(place(Field::Subject), self.subject.as_bytes()),
            body_text: key.seal(place(Field::BodyText), self.body_text.as_bytes()),
            body_html: self
                .body_html
                .as_ref()
                .map(|h| key.seal(place(Field::BodyHtml), h.as_bytes()))
                .unwrap_or_default(),
            recipients: key.seal(place(Field::Recipients), &recipients),
            attachments: key.seal(place(Field::Attachments), &attachments),
        }
    }

    /// Opens a stored copy of either format: v2 with the data key, v1 (one age file, and
    /// recipients kept in the clear) with the mailbox's file identity.
    ///
    /// # Errors
    /// `Crypto` when a value does not open (see [`DataKey::open`]); `Other` when what
    /// opened is not what was sealed there.
    pub fn open(
        keys: &MailboxKeys,
        mailbox: &str,
        id: &str,
        stored: &StoredContent,
    ) -> Result<Self> {
        match stored {
            StoredContent::V1 { sealed, to, cc } => {
                if !keys.legacy {
                    return Err(CryptoError::Sealed {
                        row: id.to_owned(),
                        field: "content",
                    }
                    .into());
                }
                let plain = keys.files.open(sealed)?;
                let content: SealedContent = serde_json::from_slice(plain.expose())
                    .map_err(|e| unreadable(id, "content", e))?;
                Ok(Self {
                    subject: content.subject,
                    body_text: content.body_text,
                    body_html: content.body_html,
                    to: to.clone(),
                    cc: cc.clone(),
                    attachments: content.attachments,
                })
            }
            StoredContent::V2(fields) => {
                let open = |field, value: &[u8]| {
                    keys.data.open(
                        Place {
                            mailbox,
                            row: id,
                            field,
                        },
                        value,
                    )
                };
                let text = |field, value: &[u8]| -> Result<String> {
                    let place = Place {
                        mailbox,
                        row: id,
                        field,
                    };
                    String::from_utf8(keys.data.open_plain(place, value)?)
                        .map_err(|e| unreadable(id, field.name(), e))
                };
                let recipients: Recipients =
                    serde_json::from_slice(open(Field::Recipients, &fields.recipients)?.expose())
                        .map_err(|e| unreadable(id, "recipients", e))?;
                Ok(Self {
                    subject: text(Field::Subject, &fields.subject)?,
                    body_text: text(Field::BodyText, &fields.body_text)?,
                    body_html: (!fields.body_html.is_empty())
                        .then(|| text(Field::BodyHtml, &fields.body_html))
                        .transpose()?,
                    to: recipients.to,
                    cc: recipients.cc,
                    attachments: serde_json::from_slice(
                        open(Field::Attachments, &fields.attachments)?.expose(),
                    )
                    .map_err(|e| unreadable(id, "attachments", e))?,
                })
            }
        }
    }
}

fn unreadable(id: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Other(format!("the stored {what} of {id} is unreadable: {e}"))
}

/// Seals an address-book entry (JSON) for row `id` of `mailbox`.
pub fn seal_entry<T: Serialize>(
    key: &DataKey,
    mailbox: &str,
    id: &str,
    field: Field,
    value: &T,
) -> Vec<u8> {
    let plain = Zeroizing::new(serde_json::to_vec(value).expect("BUG: entries serialise"));
    key.seal(
        Place {
            mailbox,
            row: id,
            field,
        },
        &plain,
    )
}

/// Opens an address-book entry of either format: v2 (starts with the format byte) with
/// the data key, v1 (an age file) with the mailbox's file identity.
pub fn open_entry<T: for<'de> Deserialize<'de>>(
    keys: &MailboxKeys,
    mailbox: &str,
    id: &str,
    field: Field,
    sealed: &[u8],
) -> Result<T> {
    let plain = if is_v1(sealed) {
        if !keys.legacy {
            return Err(CryptoError::Sealed {
                row: id.to_owned(),
                field: field.name(),
            }
            .into());
        }
        keys.files.open(sealed)?
    } else {
        keys.data.open(
            Place {
                mailbox,
                row: id,
                field,
            },
            sealed,
        )?
    };
    serde_json::from_slice(plain.expose()).map_err(|e| unreadable(id, field.name(), e))
}

/// Whether a sealed value is storage format 1 (an age file).
pub fn is_v1(sealed: &[u8]) -> bool {
    sealed.starts_with(b"age-encryption.org/")
}
