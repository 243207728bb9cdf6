//! Recall: staff take back a message they sent. Every recipient's copy leaves the hub with
//! its files, and every synced copy leaves at its next sync (it travels as destroyed).

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
                    blobs.extend(
                        tx.delete_message(account, message, now)?
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
