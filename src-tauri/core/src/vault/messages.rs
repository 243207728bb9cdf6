//! Messages in the vault: how they are stored and read back, listed by folder, marked read,
//! removed, and purged at expiry. Sync (`changes.rs`), search (`search.rs`), the address
//! book and attachment bytes have files of their own.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use sealpost_proto::{AttachmentInfo, Delivery, Folder, Message, MessageSummary, SendMode};
use serde::{Deserialize, Serialize};

use super::Vault;
use crate::error::{ClientError, Result};

#[derive(Serialize, Deserialize, Default)]
struct Recipients {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
}

fn millis(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) const COLUMNS: &str =
    "id, folder, mode, sender, recipients, subject, body_text, body_html, sent_at, \
     expires_at, read, in_reply_to, delivery, client_ref, deleted, replied, forwarded, \
     recalled_at";

pub(super) fn message_from_row(r: &Row) -> rusqlite::Result<Message> {
    let recipients: Recipients = serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default();
    let delivery: String = r.get(12)?;
    let html: String = r.get(7)?;
    let in_reply_to: String = r.get(11)?;
    let folder = Folder::from_name(&r.get::<_, String>(1)?);
    let deleted: bool = r.get(14)?;
    Ok(Message {
        summary: MessageSummary {
            id: r.get(0)?,
            folder: if deleted { Folder::Deleted } else { folder },
            deleted_from: deleted.then_some(folder),
            replied: r.get(15)?,
            forwarded: r.get(16)?,
            recalled_at: Some(r.get::<_, i64>(17)?).filter(|at| *at > 0).map(rfc3339),
            from: r.get(3)?,
            to: recipients.to,
            cc: recipients.cc,
            subject: r.get(5)?,
            sent_at: rfc3339(r.get(8)?),
            expires_at: rfc3339(r.get(9)?),
            read: r.get(10)?,
            attachments: Vec::new(),
            delivery: serde_json::from_str::<Delivery>(&delivery).ok(),
            client_ref: Some(r.get::<_, String>(13)?).filter(|c| !c.is_empty()),
        },
        body_text: r.get(6)?,
        body_html: (!html.is_empty()).then_some(html),
        in_reply_to: (!in_reply_to.is_empty()).then_some(in_reply_to),
        mode: (folder == Folder::Drafts)
            .then(|| SendMode::from_name(&r.get::<_, String>(2).unwrap_or_default())),
    })
}

pub(super) fn attachments_of(c: &Connection, message_id: &str) -> Result<Vec<AttachmentInfo>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, name, size, content_type FROM attachments WHERE message_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([message_id], |r| {
        Ok(AttachmentInfo {
            id: r.get(0)?,
            name: r.get(1)?,
            size: r.get::<_, i64>(2)? as u64,
            content_type: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The messages deleted for good on this device whose deletion still waits in the outbox:
/// a sync that runs before it leaves must not bring them back.
pub(super) fn pending_deletes(tx: &Transaction) -> Result<std::collections::HashSet<String>> {
    let mut stmt = tx
        .prepare_cached("SELECT json_extract(payload, '$.id') FROM outbox WHERE kind = 'delete'")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, Option<String>>(0))?
        .filter_map(|id| id.transpose())
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Marks the messages that a reply or forward waiting in the outbox answers, as the hub
/// will once it has it (and will not if it refuses it: the mark then goes with the item).
pub(super) fn with_pending_answers(
    c: &Connection,
    summaries: &mut [&mut MessageSummary],
) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT json_extract(payload, '$.in_reply_to'), json_extract(payload, '$.mode') \
         FROM outbox WHERE kind = 'send' AND json_extract(payload, '$.in_reply_to') IS NOT NULL",
    )?;
    let pending = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (original, mode) in pending {
        for s in summaries.iter_mut().filter(|s| s.id == original) {
            match mode.as_deref().map(SendMode::from_name) {
                Some(SendMode::Reply | SendMode::ReplyAll) => s.replied = true,
                Some(SendMode::Forward) => s.forwarded = true,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Stores or replaces a message, its attachment list and its search entry; says whether
/// the vault held it before.
///
/// What this device changed and has not yet told the hub wins over what the hub says: a
/// read flag or a move to (or from) Deleted waiting in the outbox keeps its local value
/// until the hub has it. (A message deleted for good here is not upserted at all: see
/// [`pending_deletes`].)
///
/// A message new to the vault (nearly every one in a first sync) takes the short way:
/// one insert each into messages and attachments, with cached statements; only a message
/// seen before has old attachments and an old index entry to replace. Either way the
/// message waits in `search_pending` for [`Vault::index_pending`] to index it.
pub(super) fn upsert_message(tx: &Transaction, m: &Message) -> Result<bool> {
    let s = &m.summary;
    let recipients = serde_json::to_string(&Recipients {
        to: s.to.clone(),
        cc: s.cc.clone(),
    })
    .expect("BUG: recipients serialise");
    let delivery = s
        .delivery
        .as_ref()
        .map(|d| serde_json::to_string(d).expect("BUG: delivery serialises"))
        .unwrap_or_default();
    let existing: Option<i64> = tx
        .prepare_cached("SELECT rowid FROM messages WHERE id = ?1")?
        .query_row([&s.id], |r| r.get(0))
        .optional()?;
    let sql = if existing.is_some() {
        "INSERT INTO messages (id, folder, mode, sender, recipients, subject, body_text, body_html, \
         sent_at, expires_at, read, in_reply_to, delivery, client_ref, deleted, replied, forwarded) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
         ON CONFLICT(id) DO UPDATE SET folder = ?2, mode = ?3, sender = ?4, recipients = ?5, \
         subject = ?6, body_text = ?7, body_html = ?8, sent_at = ?9, expires_at = ?10, \
         read = CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE kind = 'read' \
             AND json_extract(payload, '$.id') = ?1 AND json_type(payload, '$.read') IS NOT NULL) \
             THEN read ELSE ?11 END, \
         in_reply_to = ?12, delivery = ?13, client_ref = ?14, \
         deleted = CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE kind = 'read' \
             AND json_extract(payload, '$.id') = ?1 AND json_type(payload, '$.deleted') IS NOT NULL) \
             THEN deleted ELSE ?15 END, \
         replied = ?16, forwarded = ?17"
    } else {
        "INSERT INTO messages (id, folder, mode, sender, recipients, subject, body_text, body_html, \
         sent_at, expires_at, read, in_reply_to, delivery, client_ref, deleted, replied, forwarded) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    };
    tx.prepare_cached(sql)?.execute(params![
        s.id,
        // A deleted message is kept under its own folder, marked deleted.
        match s.folder {
            Folder::Deleted => s.deleted_from.unwrap_or(Folder::Inbox).as_str(),
            other => other.as_str(),
        },
        m.mode.unwrap_or_default().as_str(),
        s.from,
        recipients,
        s.subject,
        m.body_text,
        m.body_html.as_deref().unwrap_or_default(),
        millis(&s.sent_at),
        millis(&s.expires_at),
        s.read,
        m.in_reply_to.as_deref().unwrap_or_default(),
        delivery,
        s.client_ref.as_deref().unwrap_or_default(),
        s.folder == Folder::Deleted,
        // The hub's word; an answer still in the outbox is added when messages are read
        // (`with_pending_answers`).
        s.replied,
        s.forwarded,
    ])?;
    let rowid = match existing {
        Some(rowid) => {
            // Attachments: keep cached bytes of those that stay, drop the rest.
            let keep: Vec<&str> = s.attachments.iter().map(|a| a.id.as_str()).collect();
            for old in attachments_of(tx, &s.id)? {
                if !keep.contains(&old.id.as_str()) {
                    tx.prepare_cached("DELETE FROM attachments WHERE id = ?1")?
                        .execute([&old.id])?;
                }
            }
            tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
                .execute([rowid])?;
            rowid
        }
        None => tx.last_insert_rowid(),
    };
    for (i, a) in s.attachments.iter().enumerate() {
        tx.prepare_cached(
            "INSERT INTO attachments (id, message_id, position, name, size, content_type) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT(id) DO UPDATE SET position = ?3, name = ?4, size = ?5, content_type = ?6",
        )?
        .execute(params![
            a.id,
            s.id,
            i as i64,
            a.name,
            a.size as i64,
            a.content_type
        ])?;
    }
    tx.prepare_cached("INSERT OR IGNORE INTO search_pending (message_rowid) VALUES (?1)")?
        .execute([rowid])?;
    Ok(existing.is_some())
}

/// Empties a message its sender recalled at `at` (RFC 3339), keeping only its row (sender,
/// date, folder) for the line that says so; its attachments, cached bytes and search entry
/// go. One already in Deleted goes whole. Returns whether the vault held it.
pub(super) fn withdraw_message(tx: &Transaction, id: &str, at: &str) -> Result<bool> {
    let found: Option<(i64, bool)> = tx
        .query_row(
            "SELECT rowid, deleted FROM messages WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((rowid, deleted)) = found else {
        return Ok(false);
    };
    if deleted {
        return delete_message(tx, id);
    }
    tx.execute("DELETE FROM search WHERE rowid = ?1", [rowid])?;
    tx.execute(
        "DELETE FROM search_pending WHERE message_rowid = ?1",
        [rowid],
    )?;
    // Cached bytes follow by cascade.
    tx.execute("DELETE FROM attachments WHERE message_id = ?1", [id])?;
    tx.execute(
        "UPDATE messages SET recipients = '{}', subject = '', body_text = '', body_html = '', \
         in_reply_to = '', delivery = '', read = 1, recalled_at = ?2 WHERE id = ?1",
        params![id, millis(at).max(1)],
    )?;
    Ok(true)
}

pub(super) fn delete_message(tx: &Transaction, id: &str) -> Result<bool> {
    let rowid: Option<i64> = tx
        .query_row("SELECT rowid FROM messages WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(rowid) = rowid else { return Ok(false) };
    tx.execute("DELETE FROM search WHERE rowid = ?1", [rowid])?;
    tx.execute(
        "DELETE FROM search_pending WHERE message_rowid = ?1",
        [rowid],
    )?;
    tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
    Ok(true)
}

impl Vault {
    /// A page of a folder, newest first.
    pub fn list(
        &self,
        folder: Folder,
        limit: u32,
        before: Option<(i64, String)>,
    ) -> Result<Vec<MessageSummary>> {
        self.read(|c| {
            let (ms, id) = before.unwrap_or((i64::MAX, String::new()));
            // A draft whose compose waits in the outbox to be sent is on its way out: it
            // is not offered for sending a second time.
            // Two statements, not one CASE, so that each can use its index.
            let which = match folder {
                Folder::Deleted => "deleted AND ?1 = 'deleted'",
                _ => "folder = ?1 AND NOT deleted",
            };
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM messages WHERE {which} \
                 AND (sent_at < ?2 OR (sent_at = ?2 AND id < ?3)) \
                 AND NOT (folder = 'drafts' AND client_ref != '' AND client_ref IN \
                     (SELECT compose_id FROM outbox WHERE kind = 'send')) \
                 ORDER BY sent_at DESC, id DESC LIMIT ?4"
            ))?;
            let rows = stmt
                .query_map(params![folder.as_str(), ms, id, limit], message_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut listed = rows
                .into_iter()
                .map(|m| {
                    let mut s = m.summary;
                    s.attachments = attachments_of(c, &s.id)?;
                    Ok(s)
                })
                .collect::<Result<Vec<_>>>()?;
            with_pending_answers(c, &mut listed.iter_mut().collect::<Vec<_>>())?;
            Ok(listed)
        })
    }

    /// The page of a folder that follows the listed message (`sent_at`, `id`), newest first.
    pub fn list_after(
        &self,
        folder: Folder,
        limit: u32,
        after: Option<(&str, &str)>,
    ) -> Result<Vec<MessageSummary>> {
        self.list(
            folder,
            limit,
            after.map(|(sent_at, id)| (millis(sent_at), id.to_owned())),
        )
    }

    /// One whole message.
    pub fn message(&self, id: &str) -> Result<Message> {
        self.read(|c| {
            let mut m = c
                .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"))?
                .query_row([id], message_from_row)
                .optional()?
                .ok_or(ClientError::NotFound("message"))?;
            m.summary.attachments = attachments_of(c, id)?;
            with_pending_answers(c, &mut [&mut m.summary])?;
            Ok(m)
        })
    }

    /// Unread messages in the inbox.
    pub fn unread_count(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM messages WHERE folder = 'inbox' AND read = 0 AND NOT deleted",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// Deletes every message past `expires_at` (with cached attachment bytes), offline
    /// or not. Returns how many went.
    pub fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize> {
        let now = now.timestamp_millis();
        self.write(|tx| {
            // Set-wise: the search rows first (by rowid), then the messages; attachments
            // and cached bytes follow by cascade.
            tx.execute(
                "DELETE FROM search WHERE rowid IN (SELECT rowid FROM messages WHERE expires_at <= ?1)",
                [now],
            )?;
            tx.execute(
                "DELETE FROM search_pending WHERE message_rowid IN \
                 (SELECT rowid FROM messages WHERE expires_at <= ?1)",
                [now],
            )?;
            // What was sent longer ago than any message is kept need not be remembered,
            // unless it still waits in the outbox (offline for months).
            tx.execute(
                "DELETE FROM sent_composes WHERE sent_at <= ?1 \
                 AND id NOT IN (SELECT compose_id FROM outbox)",
                [now - 100 * 24 * 3600 * 1000],
            )?;
            Ok(tx.execute("DELETE FROM messages WHERE expires_at <= ?1", [now])?)
        })
    }

    /// Removes a message from the vault (a deletion made offline; the hub is told later).
    pub fn remove_message(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            if !delete_message(tx, id)? {
                return Err(ClientError::NotFound("message"));
            }
            Ok(())
        })
    }

    /// Moves a message to Deleted (`deleted`) or back to its own folder, locally (the hub
    /// is told separately).
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message.
    pub fn set_deleted(&self, id: &str, deleted: bool) -> Result<()> {
        self.write(|tx| {
            if tx.execute(
                "UPDATE messages SET deleted = ?2 WHERE id = ?1",
                params![id, deleted],
            )? == 0
            {
                return Err(ClientError::NotFound("message"));
            }
            Ok(())
        })
    }

    /// The ids of every message in Deleted.
    pub fn deleted_ids(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM messages WHERE deleted")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    /// Sets a message's read flag locally (the hub is told separately).
    pub fn set_read(&self, id: &str, read: bool) -> Result<()> {
        self.write(|tx| {
            if tx.execute(
                "UPDATE messages SET read = ?2 WHERE id = ?1",
                params![id, read],
            )? == 0
            {
                return Err(ClientError::NotFound("message"));
            }
            Ok(())
        })
    }
}
