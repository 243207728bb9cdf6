//! The outbox's storage: queued messages and their files, inside the vault.

use rusqlite::params;
use serde::Serialize;

use super::Vault;
use crate::error::Result;

/// A file to queue with a message: copied into the vault from `path`, chunk by chunk.
pub struct QueuedFile {
    /// Its name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Where it is read from.
    pub path: std::path::PathBuf,
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
    /// The compose it came from ('' for none).
    pub compose_id: String,
    /// That compose's JSON as it was queued ('' for none).
    pub compose_body: String,
    /// Its files: (name, content type, size).
    pub files: Vec<(String, String, u64)>,
}

use super::attachments::CHUNK;

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Inserts an outbox item with its files (copied into the vault chunk by chunk); returns
/// its queue id. `compose_id` names the compose it came from ('' for none).
pub(super) fn insert_item(
    tx: &rusqlite::Transaction,
    kind: &str,
    payload: &str,
    files: &[QueuedFile],
    now_ms: i64,
    compose: Option<(&str, &str)>,
) -> Result<i64> {
    let (compose_id, compose_body) = compose.unwrap_or_default();
    tx.execute(
        "INSERT INTO outbox (kind, created_at, payload, compose_id, compose_body) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, now_ms, payload, compose_id, compose_body],
    )?;
    let id = tx.last_insert_rowid();
    for (position, f) in files.iter().enumerate() {
        let mut file = std::fs::File::open(&f.path)?;
        let mut buf = vec![0u8; CHUNK];
        let mut size = 0u64;
        let mut seq = 0i64;
        loop {
            let n = read_full(&mut file, &mut buf)?;
            if n == 0 {
                break;
            }
            tx.execute(
                "INSERT INTO outbox_chunks (outbox_id, position, seq, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![id, position as i64, seq, &buf[..n]],
            )?;
            size += n as u64;
            seq += 1;
        }
        tx.execute(
            "INSERT INTO outbox_files (outbox_id, position, name, content_type, size) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, position as i64, f.name, f.content_type, size as i64],
        )?;
    }
    Ok(id)
}

/// Marks an outbox item refused, with the reason; it stays, visibly, until it is removed.
pub(super) fn mark_failed(tx: &rusqlite::Connection, id: i64, error: &str) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

impl Vault {
    /// Queues a message, draft or change with its files; returns the queue id.
    pub fn queue(
        &self,
        kind: &str,
        payload: &str,
        files: &[QueuedFile],
        now_ms: i64,
    ) -> Result<i64> {
        self.write(|tx| insert_item(tx, kind, payload, files, now_ms, None))
    }

    /// Everything queued, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, kind, payload, status, last_error, compose_id, compose_body \
                 FROM outbox ORDER BY id",
            )?;
            let items = stmt
                .query_map([], |r| {
                    Ok(OutboxItem {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        payload: r.get(2)?,
                        status: r.get(3)?,
                        last_error: r.get(4)?,
                        compose_id: r.get(5)?,
                        compose_body: r.get(6)?,
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

    /// One chunk of a queued file, in order from 0; `None` past the end.
    pub fn outbox_chunk(
        &self,
        outbox_id: i64,
        position: usize,
        seq: u32,
    ) -> Result<Option<Vec<u8>>> {
        use rusqlite::OptionalExtension;
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT bytes FROM outbox_chunks WHERE outbox_id = ?1 AND position = ?2 AND seq = ?3",
            )?
            .query_row(params![outbox_id, position as i64, seq], |r| r.get(0))
            .optional()?)
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
        self.write(|tx| mark_failed(tx, id, error))
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
