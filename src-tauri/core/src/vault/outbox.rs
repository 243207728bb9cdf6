//! The outbox's storage: queued messages and their files, inside the vault.

use rusqlite::params;
use serde::Serialize;

use super::Vault;
use crate::error::Result;

/// A file to queue with a message.
pub struct QueuedFile {
    /// Its name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A queued item as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboxItem {
    /// Queue id.
    pub id: i64,
    /// `send` or `draft`.
    pub kind: String,
    /// The Outgoing JSON.
    pub payload: String,
    /// `queued` or `failed`.
    pub status: String,
    /// Why it failed, if it did.
    pub last_error: String,
    /// Its files: (name, content type, size).
    pub files: Vec<(String, String, u64)>,
}

const CHUNK: usize = 256 * 1024;

impl Vault {
    /// Queues a message or draft with its files; returns the queue id.
    pub fn queue(
        &self,
        kind: &str,
        payload: &str,
        files: &[QueuedFile],
        now_ms: i64,
    ) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO outbox (kind, created_at, payload) VALUES (?1, ?2, ?3)",
                params![kind, now_ms, payload],
            )?;
            let id = tx.last_insert_rowid();
            for (position, f) in files.iter().enumerate() {
                tx.execute(
                    "INSERT INTO outbox_files (outbox_id, position, name, content_type, size) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, position as i64, f.name, f.content_type, f.bytes.len() as i64],
                )?;
                for (seq, chunk) in f.bytes.chunks(CHUNK).enumerate() {
                    tx.execute(
                        "INSERT INTO outbox_chunks (outbox_id, position, seq, bytes) VALUES (?1, ?2, ?3, ?4)",
                        params![id, position as i64, seq as i64, chunk],
                    )?;
                }
            }
            Ok(id)
        })
    }

    /// Everything queued, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id, kind, payload, status, last_error FROM outbox ORDER BY id")?;
            let items = stmt
                .query_map([], |r| {
                    Ok(OutboxItem {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        payload: r.get(2)?,
                        status: r.get(3)?,
                        last_error: r.get(4)?,
                        files: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            items
                .into_iter()
                .map(|mut item| {
                    let mut files = c.prepare_cached(
                        "SELECT name, content_type, size FROM outbox_files WHERE outbox_id = ?1 ORDER BY position",
                    )?;
                    item.files = files
                        .query_map([item.id], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?
                        .collect::<rusqlite::Result<_>>()?;
                    Ok(item)
                })
                .collect()
        })
    }

    /// The bytes of a queued file.
    pub fn outbox_file(&self, outbox_id: i64, position: usize) -> Result<Vec<u8>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT bytes FROM outbox_chunks WHERE outbox_id = ?1 AND position = ?2 ORDER BY seq",
            )?;
            let mut out = Vec::new();
            for chunk in stmt.query_map(params![outbox_id, position as i64], |r| r.get::<_, Vec<u8>>(0))? {
                out.extend_from_slice(&chunk?);
            }
            Ok(out)
        })
    }

    /// Removes a queued item (sent, or discarded by the person).
    pub fn unqueue(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Records a refusal: the item stays, marked failed, for the person to fix or discard.
    pub fn outbox_failed(&self, id: i64, error: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?;
            Ok(())
        })
    }

    /// Counts an attempt that could not reach the hub.
    pub fn outbox_attempted(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1",
                [id],
            )?;
            Ok(())
        })
    }

    /// A small value kept with the sync state (organisation domains, the password verifier).
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.read(|c| {
            Ok(
                c.query_row("SELECT value FROM sync WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    /// Stores a small value (see [`Vault::setting`]).
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sync (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )?;
            Ok(())
        })
    }
}
