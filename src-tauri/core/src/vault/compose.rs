//! The storage of messages being written: each compose's JSON, kept as the person writes,
//! and the outbox items it gave rise to.

use rusqlite::{params, OptionalExtension};

use super::outbox::{insert_item, QueuedFile};
use super::Vault;
use crate::error::Result;

/// What becomes of a compose when it is queued.
pub enum AfterQueue<'a> {
    /// It stays open, as this JSON (a lock or sign-out saved it as a draft).
    Keep(&'a str),
    /// It is done with (sent, or saved as a draft and closed).
    Close,
}

impl Vault {
    /// Keeps (or replaces) a compose's JSON.
    pub fn keep_compose(&self, id: &str, json: &str, now_ms: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO composes (id, body, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(id) DO UPDATE SET body = ?2, updated_at = ?3",
                params![id, json, now_ms],
            )?;
            Ok(())
        })
    }

    /// Every compose kept, most recently changed first, as JSON.
    pub fn composes(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT body FROM composes ORDER BY updated_at DESC, id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One compose's JSON, if it is kept.
    pub fn compose(&self, id: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT body FROM composes WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    /// Queues a compose (`kind` `send` or `draft`) in one transaction with everything that
    /// goes with it: what of the same compose still waits in the outbox is replaced (earlier
    /// saves, a refused send), and the compose is kept open or closed. A crash leaves either
    /// all of it or none. Returns the queue id.
    pub fn queue_compose(
        &self,
        compose_id: &str,
        kind: &str,
        payload: &str,
        files: &[QueuedFile],
        now_ms: i64,
        after: AfterQueue,
    ) -> Result<i64> {
        self.write(|tx| {
            forget_queued(tx, compose_id)?;
            let id = insert_item(tx, kind, payload, files, now_ms, compose_id)?;
            match after {
                AfterQueue::Keep(json) => {
                    tx.execute(
                        "INSERT INTO composes (id, body, updated_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT(id) DO UPDATE SET body = ?2, updated_at = ?3",
                        params![compose_id, json, now_ms],
                    )?;
                }
                AfterQueue::Close => {
                    tx.execute("DELETE FROM composes WHERE id = ?1", [compose_id])?;
                }
            }
            Ok(id)
        })
    }

    /// Forgets a compose and whatever of it still waits in the outbox.
    pub fn forget_compose(&self, compose_id: &str) -> Result<()> {
        self.write(|tx| {
            forget_queued(tx, compose_id)?;
            tx.execute("DELETE FROM composes WHERE id = ?1", [compose_id])?;
            Ok(())
        })
    }

    /// The draft in the Drafts folder saved from a compose, if sync has brought one.
    pub fn draft_of_compose(&self, compose_id: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT id FROM messages WHERE folder = 'drafts' AND client_ref = ?1",
                [compose_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }
}

/// Removes a compose's items that have not left: drafts saved earlier (a newer save
/// replaces them) and sends the hub refused. A send still queued is never removed: it is
/// on its way.
fn forget_queued(tx: &rusqlite::Transaction, compose_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM outbox WHERE compose_id = ?1 AND compose_id != '' \
         AND (kind = 'draft' OR status = 'failed')",
        [compose_id],
    )?;
    Ok(())
}
