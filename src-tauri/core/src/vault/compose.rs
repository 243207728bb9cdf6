//! The storage of messages being written: each compose's JSON, kept as the person writes,
//! the outbox items it gave rise to, and which composes were sent.

use rusqlite::{params, OptionalExtension};

use super::outbox::{insert_item, mark_failed, QueuedFile};
use super::Vault;
use crate::error::{ClientError, Code, Result};

/// What becomes of a compose when it is queued.
pub enum AfterQueue<'a> {
    /// It stays open, as this JSON (a lock or sign-out saved it as a draft).
    Keep(&'a str),
    /// It is done with (sent, or saved as a draft and closed).
    Close,
}

/// Where a compose that was sent is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentCompose {
    /// Still in the outbox, as this item.
    Queued(i64),
    /// With the hub: the id of its Sent copy here, once the hub's answer or a sync has
    /// brought it (it may since have been deleted).
    Delivered(Option<String>),
}

/// Whether the compose was sent (and not refused since).
fn was_sent(c: &rusqlite::Connection, id: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM sent_composes WHERE id = ?1",
        [id],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// A kept compose's JSON, if it is kept.
fn body_of(c: &rusqlite::Connection, id: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT body FROM composes WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// A compose that was sent cannot be kept, saved or sent again: whatever holds it (a late
/// autosave, a lock that began during the send) holds an old copy.
fn refuse_if_sent(tx: &rusqlite::Connection, id: &str) -> Result<()> {
    if was_sent(tx, id)? {
        return Err(ClientError::Refused {
            code: Code::Invalid,
            message: "This message was sent already; it can no longer be changed.".into(),
            refused: Vec::new(),
        });
    }
    Ok(())
}

fn upsert(tx: &rusqlite::Connection, id: &str, json: &str, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO composes (id, body, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(id) DO UPDATE SET body = ?2, updated_at = ?3",
        params![id, json, now_ms],
    )?;
    Ok(())
}

impl Vault {
    /// Keeps (or replaces) a compose's JSON; refused for a compose that was sent.
    pub fn keep_compose(&self, id: &str, json: &str, now_ms: i64) -> Result<()> {
        self.write(|tx| {
            refuse_if_sent(tx, id)?;
            upsert(tx, id, json, now_ms)
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
        self.read(|c| body_of(c, id))
    }

    /// Queues a compose (`kind` `send` or `draft`, `json` as it is) in one transaction with
    /// everything that goes with it: what of the same compose still waits in the outbox is
    /// replaced (earlier saves, a refused send); the compose is kept open or closed; a send
    /// is remembered, so that the compose is never sent again. A crash leaves either all of
    /// it or none. Returns the queue id.
    #[allow(clippy::too_many_arguments)]
    pub fn queue_compose(
        &self,
        compose_id: &str,
        json: &str,
        kind: &str,
        payload: &str,
        files: &[QueuedFile],
        now_ms: i64,
        after: AfterQueue,
    ) -> Result<i64> {
        self.write(|tx| {
            refuse_if_sent(tx, compose_id)?;
            forget_queued(tx, compose_id)?;
            let id = insert_item(tx, kind, payload, files, now_ms, Some((compose_id, json)))?;
            if kind == "send" {
                tx.execute(
                    "INSERT INTO sent_composes (id, sent_at) VALUES (?1, ?2)",
                    params![compose_id, now_ms],
                )?;
            }
            match after {
                AfterQueue::Keep(json) => upsert(tx, compose_id, json, now_ms)?,
                AfterQueue::Close => {
                    tx.execute("DELETE FROM composes WHERE id = ?1", [compose_id])?;
                }
            }
            Ok(id)
        })
    }

    /// A queued item of a compose the hub refused: it leaves the outbox and the compose
    /// comes back as it was queued, its `refusal` saying why (unless it is open again
    /// already, as it is after a lock), in one transaction. A refused send was not sent:
    /// it may be sent again. A refused draft of a compose sent since brings nothing back.
    /// An item queued before composes were kept with it (no body, none open) stays in the
    /// outbox as failed, with its files, as items of no compose do.
    pub fn return_refused(&self, item: i64, reason: &str, now_ms: i64) -> Result<()> {
        self.write(|tx| {
            let row: Option<(String, String, String)> = tx
                .query_row(
                    "SELECT kind, compose_id, compose_body FROM outbox WHERE id = ?1",
                    [item],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((kind, compose_id, body)) = row else {
                return Ok(());
            };
            if kind != "send" && was_sent(tx, &compose_id)? {
                tx.execute("DELETE FROM outbox WHERE id = ?1", [item])?;
                return Ok(());
            }
            // Open again already (a lock keeps it open): that copy is newer.
            let open = body_of(tx, &compose_id)?;
            let Some(mut compose) = open
                .as_deref()
                .or(Some(body.as_str()).filter(|b| !b.is_empty()))
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            else {
                return mark_failed(tx, item, reason);
            };
            tx.execute("DELETE FROM outbox WHERE id = ?1", [item])?;
            if kind == "send" {
                tx.execute("DELETE FROM sent_composes WHERE id = ?1", [&compose_id])?;
            }
            // The queued copies of its files went with the item: a file no longer where it
            // was picked from must be attached again, and the person is told.
            let missing: Vec<String> = compose["files"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| {
                    f["path"]
                        .as_str()
                        .is_some_and(|p| !std::path::Path::new(p).is_file())
                })
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect();
            let mut why = reason.trim_end().to_owned();
            if !missing.is_empty() {
                why.push_str(&format!(
                    " These files are no longer where they were attached from; attach them \
                     again: {}.",
                    missing.join(", ")
                ));
            }
            compose["refusal"] = serde_json::Value::String(why);
            upsert(tx, &compose_id, &compose.to_string(), now_ms)?;
            Ok(())
        })
    }

    /// Forgets a compose and whatever of it still waits in the outbox (a send on its way
    /// is left to go).
    pub fn forget_compose(&self, compose_id: &str) -> Result<()> {
        self.write(|tx| {
            forget_queued(tx, compose_id)?;
            tx.execute("DELETE FROM composes WHERE id = ?1", [compose_id])?;
            Ok(())
        })
    }

    /// Where a compose that was sent is now; `None` when it was never sent.
    pub fn sent_compose(&self, compose_id: &str) -> Result<Option<SentCompose>> {
        self.read(|c| {
            if !was_sent(c, compose_id)? {
                return Ok(None);
            }
            let queued: Option<i64> = c
                .query_row(
                    "SELECT id FROM outbox WHERE compose_id = ?1 AND kind = 'send' \
                     ORDER BY id DESC LIMIT 1",
                    [compose_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(item) = queued {
                return Ok(Some(SentCompose::Queued(item)));
            }
            let copy: Option<String> = c
                .query_row(
                    "SELECT id FROM messages WHERE folder = 'sent' AND client_ref = ?1",
                    [compose_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(Some(SentCompose::Delivered(copy)))
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
