//! Messages, address book and sync state in the vault.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use sealpost_proto::{
    AttachmentInfo, ChangedItem, Changes, Contact, Delivery, Folder, Group, Message,
    MessageSummary, SendMode,
};
use serde::{Deserialize, Serialize};

use super::Vault;
use crate::error::{ClientError, Result};

/// A search result: the message and a short excerpt around the match.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The message as listed.
    pub message: MessageSummary,
    /// Text around the first match, with the match in `[` `]`.
    pub excerpt: String,
}

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

const COLUMNS: &str =
    "id, folder, mode, sender, recipients, subject, body_text, body_html, sent_at, \
     expires_at, read, in_reply_to, delivery, client_ref";

fn message_from_row(r: &Row) -> rusqlite::Result<Message> {
    let recipients: Recipients = serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default();
    let delivery: String = r.get(12)?;
    let html: String = r.get(7)?;
    let in_reply_to: String = r.get(11)?;
    let folder = Folder::from_name(&r.get::<_, String>(1)?);
    Ok(Message {
        summary: MessageSummary {
            id: r.get(0)?,
            folder,
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

fn attachments_of(c: &Connection, message_id: &str) -> Result<Vec<AttachmentInfo>> {
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

/// Stores or replaces a message, its attachment list and its search entry.
fn upsert_message(tx: &Transaction, m: &Message) -> Result<()> {
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
    tx.prepare_cached(
        "INSERT INTO messages (id, folder, mode, sender, recipients, subject, body_text, body_html, \
         sent_at, expires_at, read, in_reply_to, delivery, client_ref) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT(id) DO UPDATE SET folder = ?2, mode = ?3, sender = ?4, recipients = ?5, \
         subject = ?6, body_text = ?7, body_html = ?8, sent_at = ?9, expires_at = ?10, read = ?11, \
         in_reply_to = ?12, delivery = ?13, client_ref = ?14",
    )?
    .execute(params![
        s.id,
        s.folder.as_str(),
        m.mode.unwrap_or_default().as_str(),
        s.from,
        recipients,
        s.subject,
        m.body_text,
        m.body_html.clone().unwrap_or_default(),
        millis(&s.sent_at),
        millis(&s.expires_at),
        s.read,
        m.in_reply_to.clone().unwrap_or_default(),
        delivery,
        s.client_ref.clone().unwrap_or_default(),
    ])?;
    // Attachments: keep cached bytes of those that stay, drop the rest.
    let keep: Vec<&str> = s.attachments.iter().map(|a| a.id.as_str()).collect();
    for existing in attachments_of(tx, &s.id)? {
        if !keep.contains(&existing.id.as_str()) {
            tx.execute("DELETE FROM attachments WHERE id = ?1", [&existing.id])?;
        }
    }
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
    let rowid: i64 = tx.query_row("SELECT rowid FROM messages WHERE id = ?1", [&s.id], |r| {
        r.get(0)
    })?;
    tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
        .execute([rowid])?;
    let names: Vec<&str> = s.attachments.iter().map(|a| a.name.as_str()).collect();
    tx.prepare_cached("INSERT INTO search (rowid, subject, body, sender, attachments) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![rowid, s.subject, m.body_text, s.from, names.join(" ")])?;
    Ok(())
}

pub(super) fn delete_message(tx: &Transaction, id: &str) -> Result<bool> {
    let rowid: Option<i64> = tx
        .query_row("SELECT rowid FROM messages WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(rowid) = rowid else { return Ok(false) };
    tx.execute("DELETE FROM search WHERE rowid = ?1", [rowid])?;
    tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
    Ok(true)
}

/// What a page of changes did to the vault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// New inbox messages (for notifications): their senders.
    pub new_inbox_from: Vec<String>,
    /// The id of the last new inbox message of the page.
    pub latest_new: Option<String>,
    /// Items created, updated or destroyed.
    pub changed: usize,
}

impl Vault {
    /// Applies one page of `/changes` and records its state, in one transaction: a crash
    /// at any point leaves the vault at the previous page or at this one, never between.
    pub fn apply_changes(&self, page: &Changes) -> Result<Applied> {
        self.write(|tx| {
            let mut applied = Applied::default();
            for (item, created) in page
                .created
                .iter()
                .map(|i| (i, true))
                .chain(page.updated.iter().map(|i| (i, false)))
            {
                match item {
                    ChangedItem::Message(m) => {
                        let existed: bool = tx
                            .query_row(
                                "SELECT 1 FROM messages WHERE id = ?1",
                                [&m.summary.id],
                                |_| Ok(()),
                            )
                            .optional()?
                            .is_some();
                        upsert_message(tx, m)?;
                        if created
                            && !existed
                            && m.summary.folder == Folder::Inbox
                            && !m.summary.read
                        {
                            applied.new_inbox_from.push(m.summary.from.clone());
                            applied.latest_new = Some(m.summary.id.clone());
                        }
                    }
                    ChangedItem::Contact(c) => {
                        tx.execute(
                            "INSERT INTO contacts (id, name, email) VALUES (?1, ?2, ?3) \
                             ON CONFLICT(id) DO UPDATE SET name = ?2, email = ?3",
                            params![c.id, c.name, c.email],
                        )?;
                    }
                    ChangedItem::Group(g) => {
                        let ids =
                            serde_json::to_string(&g.contact_ids).expect("BUG: ids serialise");
                        tx.execute(
                            "INSERT INTO groups (id, name, contact_ids) VALUES (?1, ?2, ?3) \
                             ON CONFLICT(id) DO UPDATE SET name = ?2, contact_ids = ?3",
                            params![g.id, g.name, ids],
                        )?;
                    }
                }
                applied.changed += 1;
            }
            for gone in &page.destroyed {
                match gone.kind.as_str() {
                    "message" => {
                        delete_message(tx, &gone.id)?;
                    }
                    "contact" => {
                        tx.execute("DELETE FROM contacts WHERE id = ?1", [&gone.id])?;
                    }
                    "group" => {
                        tx.execute("DELETE FROM groups WHERE id = ?1", [&gone.id])?;
                    }
                    _ => {}
                }
                applied.changed += 1;
            }
            tx.execute(
                "INSERT INTO sync (key, value) VALUES ('state', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = ?1",
                [&page.state],
            )?;
            Ok(applied)
        })
    }

    /// Forgets everything synced (before a full resync after `state_too_old`); the outbox
    /// and cached drafts waiting to leave are kept.
    pub fn reset_sync(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute_batch(
                "INSERT INTO search (search) VALUES ('delete-all'); DELETE FROM messages; \
                 DELETE FROM contacts; DELETE FROM groups; DELETE FROM sync WHERE key = 'state';",
            )?;
            Ok(())
        })
    }

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
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM messages WHERE folder = ?1 \
                 AND (sent_at < ?2 OR (sent_at = ?2 AND id < ?3)) \
                 AND NOT (folder = 'drafts' AND client_ref != '' AND client_ref IN \
                     (SELECT compose_id FROM outbox WHERE kind = 'send')) \
                 ORDER BY sent_at DESC, id DESC LIMIT ?4"
            ))?;
            let rows = stmt
                .query_map(params![folder.as_str(), ms, id, limit], message_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|m| {
                    let mut s = m.summary;
                    s.attachments = attachments_of(c, &s.id)?;
                    Ok(s)
                })
                .collect()
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
            Ok(m)
        })
    }

    /// Unread messages in the inbox.
    pub fn unread_count(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM messages WHERE folder = 'inbox' AND read = 0",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// Messages matching `query` (full-text: subject, body, sender, attachment names),
    /// best matches first.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let fts = fts_query(query);
        if fts.is_empty() {
            return Ok(Vec::new());
        }
        let words: Vec<String> = query
            .split_whitespace()
            .map(|w| w.replace('"', "").to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {} FROM search JOIN messages m ON m.rowid = search.rowid \
                 WHERE search MATCH ?1 ORDER BY rank LIMIT ?2",
                COLUMNS
                    .split(", ")
                    .map(|col| format!("m.{col}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            let rows = stmt
                .query_map(params![fts, limit], message_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|m| {
                    let excerpt = excerpt(&m.body_text, &words)
                        .or_else(|| excerpt(&m.summary.subject, &words))
                        .unwrap_or_else(|| m.body_text.chars().take(80).collect());
                    let mut s = m.summary;
                    s.attachments = attachments_of(c, &s.id)?;
                    Ok(SearchHit {
                        message: s,
                        excerpt,
                    })
                })
                .collect()
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

    /// Every contact, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, email FROM contacts ORDER BY name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Contact {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Every group, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, contact_ids FROM groups ORDER BY name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Group {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    contact_ids: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
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

    /// Starts caching an attachment: forgets any partial earlier download.
    pub fn attachment_cache_begin(&self, attachment_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM attachment_chunks WHERE attachment_id = ?1",
                [attachment_id],
            )?;
            tx.execute(
                "UPDATE attachments SET cached = 0 WHERE id = ?1",
                [attachment_id],
            )?;
            Ok(())
        })
    }

    /// Stores one chunk of a downloading attachment (encrypted with the vault).
    pub fn attachment_cache_put(&self, attachment_id: &str, seq: u32, bytes: &[u8]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO attachment_chunks (attachment_id, seq, bytes) VALUES (?1, ?2, ?3)",
                params![attachment_id, seq, bytes],
            )?;
            Ok(())
        })
    }

    /// Marks an attachment's chunks complete: only then is it read from the vault.
    pub fn attachment_cache_finish(&self, attachment_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE attachments SET cached = 1 WHERE id = ?1",
                [attachment_id],
            )?;
            Ok(())
        })
    }

    /// Stores a whole attachment at once (small ones, tests).
    pub fn cache_attachment(&self, attachment_id: &str, bytes: &[u8]) -> Result<()> {
        self.attachment_cache_begin(attachment_id)?;
        for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
            self.attachment_cache_put(attachment_id, seq as u32, chunk)?;
        }
        self.attachment_cache_finish(attachment_id)
    }

    /// Whether an attachment is wholly in the vault.
    pub fn attachment_cached(&self, attachment_id: &str) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT cached FROM attachments WHERE id = ?1",
                [attachment_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
                == Some(1))
        })
    }

    /// One chunk of a cached attachment, in order from 0; `None` past the end.
    pub fn attachment_chunk(&self, attachment_id: &str, seq: u32) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT bytes FROM attachment_chunks WHERE attachment_id = ?1 AND seq = ?2",
            )?
            .query_row(params![attachment_id, seq], |r| r.get(0))
            .optional()?)
        })
    }

    /// Cached attachment bytes, if downloaded before (whole, in memory: for small files).
    pub fn cached_attachment(&self, attachment_id: &str) -> Result<Option<Vec<u8>>> {
        if !self.attachment_cached(attachment_id)? {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut seq = 0;
        while let Some(chunk) = self.attachment_chunk(attachment_id, seq)? {
            out.extend_from_slice(&chunk);
            seq += 1;
        }
        Ok(Some(out))
    }
}

/// Attachment bytes are kept in chunks of this size.
pub const CHUNK: usize = 256 * 1024;

/// About 60 characters around the first word starting with one of `words` (lower-case),
/// with that word in `[` `]`; `None` when no word matches.
fn excerpt(text: &str, words: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    // Word starts only, as the search matched prefixes of words.
    let mut found: Option<(usize, usize)> = None;
    for w in words {
        let mut from = 0;
        while let Some(at) = lower[from..].find(w.as_str()).map(|i| i + from) {
            let starts_word = lower[..at]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric());
            if starts_word {
                if found.is_none_or(|(f, _)| at < f) {
                    found = Some((at, w.len()));
                }
                break;
            }
            from = at + w.len().max(1);
        }
    }
    let (at, len) = found?;
    // Lower-casing can change byte lengths; map back only when it did not.
    if lower.len() != text.len() {
        return Some(text.chars().take(80).collect());
    }
    let end_word = text[at..]
        .find(|c: char| !c.is_alphanumeric())
        .map_or(text.len(), |e| at + e)
        .max(at + len);
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(30)
        .map_or(0, |(i, _)| i);
    let stop = text[end_word..]
        .char_indices()
        .nth(30)
        .map_or(text.len(), |(i, _)| end_word + i);
    Some(format!(
        "{}{}[{}]{}{}",
        if start > 0 { "…" } else { "" },
        &text[start..at],
        &text[at..end_word],
        &text[end_word..stop],
        if stop < text.len() { "…" } else { "" }
    ))
}

/// Turns what a person types into an FTS5 query: each word a prefix match, all required.
/// Quotes keep operators and punctuation from being read as query syntax.
fn fts_query(input: &str) -> String {
    input
        .split_whitespace()
        .map(|w| w.replace('"', ""))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_mark_the_first_matching_word() {
        let words = vec!["visit".to_owned()];
        assert_eq!(
            excerpt("Please confirm the visit date, thanks", &words).as_deref(),
            Some("Please confirm the [visit] date, thanks")
        );
        assert_eq!(excerpt("revisit later", &words), None, "word starts only");
        let long = format!("{} visiting {}", "a".repeat(100), "b".repeat(100));
        let e = excerpt(&long, &words).unwrap();
        assert!(
            e.starts_with('…') && e.ends_with('…') && e.contains("[visiting]"),
            "{e}"
        );
    }

    #[test]
    fn search_queries_cannot_inject_fts_syntax() {
        assert_eq!(fts_query("care plan"), "\"care\"* \"plan\"*");
        assert_eq!(fts_query("a\" OR b"), "\"a\"* \"OR\"* \"b\"*");
        assert_eq!(fts_query("   "), "");
    }
}
