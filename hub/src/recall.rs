//! The sender's control after sending. Recall: staff take back a message they sent; every
//! recipient's copy leaves the hub with its files, and every synced copy leaves at its next
//! sync (it travels as destroyed). Status: what became of each recipient's copy.

/// Days after its notification past which a recipient who has not registered is flagged:
/// the address may be mistyped, and no failure message comes back for it.
pub const REGISTER_WITHIN_DAYS: i64 = 7;

/// What became of one recipient's copy of a staff send (times in UTC; `None`: not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// The recipient's address.
    pub address: String,
    /// When the hub queued the notice email of it.
    pub notified_at: Option<DateTime<Utc>>,
    /// When they registered (before or after the send).
    pub registered_at: Option<DateTime<Utc>>,
    /// When they first opened it.
    pub first_opened_at: Option<DateTime<Utc>>,
    /// When they first replied to it.
    pub replied_at: Option<DateTime<Utc>>,
    /// When it was recalled.
    pub recalled_at: Option<DateTime<Utc>>,
    /// When it expired, once it has.
    pub expired_at: Option<DateTime<Utc>>,
    /// Not registered [`REGISTER_WITHIN_DAYS`] days after the notice.
    pub not_registered: bool,
}

/// What became of a staff send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStatus {
    /// The send's id.
    pub id: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Each recipient, by address.
    pub recipients: Vec<RecipientStatus>,
}

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};

/// What a recall did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recall {
    /// The send's id (`snd_…`, as the send answered).
    pub id: String,
    /// When it was recalled.
    pub recalled_at: DateTime<Utc>,
    /// How many recipients' copies were deleted.
    pub copies: u64,
    /// Whether it had been recalled before (nothing was done now).
    pub repeated: bool,
}

impl Hub {
    /// What became of each recipient's copy of the staff send `id`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no staff send has that id, or it was sent before the hub
    /// kept this (or over a month past its expiry); store faults.
    pub async fn send_status(&self, id: &str) -> Result<SendStatus> {
        let (send, now) = (id.to_owned(), self.now());
        let (rows, recall) = self
            .store
            .read(move |tx| Ok((tx.send_status(&send)?, tx.recall(&send)?)))
            .await?;
        let Some(first) = rows.first() else {
            return Err(Error::NotFound("message"));
        };
        let sent_at = first.sent_at;
        let recalled_at = recall.map(|(at, _)| at);
        let recipients = rows
            .into_iter()
            .map(|r| RecipientStatus {
                not_registered: recalled_at.is_none()
                    && r.registered_at.is_none()
                    && r.notified_at
                        .is_some_and(|n| now - n >= chrono::Duration::days(REGISTER_WITHIN_DAYS)),
                address: r.address,
                notified_at: r.notified_at,
                registered_at: r.registered_at,
                first_opened_at: r.opened_at,
                replied_at: r.replied_at,
                recalled_at,
                expired_at: (recalled_at.is_none() && r.expires_at <= now).then_some(r.expires_at),
            })
            .collect();
        Ok(SendStatus {
            id: id.to_owned(),
            sent_at,
            recipients,
        })
    }

    /// Recalls the staff send `id`: deletes every recipient's copy and its attachment
    /// files, and records the recall (counts only) in the audit log. Asked again, answers
    /// with the first recall.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no staff send has that id (or it has expired); store faults.
    pub async fn recall_org_message(&self, id: &str, caller: &Caller) -> Result<Recall> {
        let (send, now, ip) = (id.to_owned(), self.now(), caller.ip.clone());
        let config = self.config().clone();
        let (recall, blobs) = self
            .store
            .write(move |tx| {
                if let Some((recalled_at, copies)) = tx.recall(&send)? {
                    let recall = Recall {
                        id: send.clone(),
                        recalled_at,
                        copies,
                        repeated: true,
                    };
                    return Ok((recall, Vec::new()));
                }
                let copies = tx.send_copies(&send)?;
                // Only a staff send can be recalled with staff rights: a recipient's own
                // message (a reply) is theirs.
                if copies.is_empty()
                    || copies
                        .iter()
                        .any(|(_, _, from)| !config.is_org_address(from))
                {
                    return Err(Error::NotFound("message"));
                }
                let mut blobs = Vec::new();
                for (account, message, _) in &copies {
                    // Not told of yet: its notice is taken back (none goes if it was all).
                    if !tx.copy_notified(account, message)? {
                        tx.unnote_arrival(account)?;
                    }
                    blobs.extend(
                        tx.recall_message(account, message, now)?
                            .unwrap_or_default(),
                    );
                }
                let count = copies.len() as u64;
                tx.insert_recall(&send, now, count)?;
                tx.audit(
                    now,
                    "org_message_recalled",
                    "",
                    &ip,
                    &format!(
                        "{send}: {}",
                        sealpost_proto::text::counted(copies.len(), "copy", "copies")
                    ),
                )?;
                let recall = Recall {
                    id: send.clone(),
                    recalled_at: now,
                    copies: count,
                    repeated: false,
                };
                Ok((recall, blobs))
            })
            .await?;
        self.remove_blobs(&blobs);
        Ok(recall)
    }
}
