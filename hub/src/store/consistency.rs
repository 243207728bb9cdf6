//! What the store refers to on disk, and what in it refers to nothing: for the orphan sweep
//! and `admin check`.

use std::collections::HashSet;

use super::sql::params;
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::to_millis;
use crate::error::Result;

/// A row whose file is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    /// An attachment of a message (its id).
    Attachment {
        /// The message.
        message_id: String,
        /// The file, relative to the blob folder.
        blob: String,
    },
    /// An upload not attached yet.
    Upload {
        /// The upload.
        id: String,
        /// The file.
        blob: String,
    },
    /// An email to staff still to be sent.
    Mail {
        /// The queue entry.
        id: i64,
        /// The Sent copy it delivers.
        message_id: String,
        /// The file.
        blob: String,
    },
}

impl FileRef {
    /// The file it refers to.
    pub fn blob(&self) -> &str {
        match self {
            Self::Attachment { blob, .. } | Self::Upload { blob, .. } | Self::Mail { blob, .. } => {
                blob
            }
        }
    }
}

impl Tx<'_> {
    /// Every file the store refers to, relative to the blob folder.
    pub fn file_refs(&self) -> Result<Vec<FileRef>> {
        let mut refs = Vec::new();
        let mut stmt = self.0.prepare("SELECT message_id, blob FROM attachments")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (message_id, blob) = row?;
            refs.push(FileRef::Attachment { message_id, blob });
        }
        let mut stmt = self.0.prepare("SELECT id, blob FROM uploads")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (id, blob) = row?;
            refs.push(FileRef::Upload { id, blob });
        }
        let mut stmt = self.0.prepare(
            "SELECT id, message_id, blob FROM mail_queue \
             WHERE blob != '' AND sent_at = 0 AND abandoned_at = 0",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            let (id, message_id, blob) = row?;
            refs.push(FileRef::Mail {
                id,
                message_id,
                blob,
            });
        }
        Ok(refs)
    }

    /// The files the store refers to, as a set.
    pub fn referenced_blobs(&self) -> Result<HashSet<String>> {
        Ok(self
            .file_refs()?
            .into_iter()
            .map(|r| r.blob().to_owned())
            .collect())
    }

    /// Pending mailboxes created before `cutoff` that hold no message: made for a send that
    /// never completed (a crash), or whose mail has all expired. A person invited to a
    /// shared mailbox stays until removed from it. `(id, email)`.
    pub fn empty_pending_mailboxes(&self, cutoff: DateTime<Utc>) -> Result<Vec<(String, String)>> {
        let mut stmt = self.0.prepare(
            "SELECT id, email FROM accounts a WHERE status = 'pending' AND created_at < ?1 \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.account_id = a.id) \
             AND NOT EXISTS (SELECT 1 FROM delegates d WHERE d.person_id = a.id) ORDER BY email",
        )?;
        let rows = stmt.query_map(params![to_millis(cutoff)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_>>()
    }

    /// Forgets the attachment whose file `blob` is gone; its message stays (and still
    /// names the attachment, whose download then answers "not found").
    pub fn forget_attachment_file(&self, blob: &str) -> Result<()> {
        self.0
            .execute("DELETE FROM attachments WHERE blob = ?1", [blob])?;
        Ok(())
    }

    /// Forgets an upload whose file is gone.
    pub fn forget_upload(&self, id: &str) -> Result<()> {
        self.0.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
        Ok(())
    }

    /// SQLite's own check of the database file: "ok", or what is wrong.
    pub fn quick_check(&self) -> Result<String> {
        if !self.is_sqlite() {
            // PostgreSQL checks its pages itself (and `amcheck` is the operator's tool).
            return Ok("ok".into());
        }
        let mut stmt = self.0.prepare("PRAGMA quick_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>>>()?;
        Ok(lines.join("; "))
    }
}
