use std::collections::HashMap;

use super::sql::{params, OptionalExtension, Row};
use chrono::{DateTime, Utc};
use sealpost_proto::{Folder, SendMode};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// A copy of a message for one mailbox, ready to store. Content is already sealed.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Id of this copy.
    pub id: String,
    /// The mailbox it belongs to.
    pub account_id: String,
    /// The send it came from, shared by every recipient's copy.
    pub origin_id: String,
    /// Where it goes.
    pub folder: Folder,
    /// How it relates to `in_reply_to`.
    pub mode: SendMode,
    /// Sender address.
    pub sender: String,
    /// When it was sent (drafts: saved).
    pub sent_at: DateTime<Utc>,
    /// When retention deletes it.
    pub expires_at: DateTime<Utc>,
    /// Whether it starts read (Sent and Drafts do).
    pub read: bool,
    /// The message answered or forwarded, if any.
    pub in_reply_to: String,
    /// Delivery status for Sent items ("" otherwise).
    pub delivery: &'static str,
    /// The client's reference for this send ("" when none).
    pub client_ref: String,
    /// Subject, bodies, recipients and attachment names, sealed for this row.
    pub content: SealedFields,
    /// Its attachments.
    pub attachments: Vec<NewAttachment>,
}

/// A message copy's content fields, each sealed with the mailbox's data key for this row
/// (storage v2, `crypto::envelope`). `body_html` is empty when there is none.
#[derive(Debug, Clone, Default)]
pub struct SealedFields {
    /// Subject line.
    pub subject: Vec<u8>,
    /// Plain-text body.
    pub body_text: Vec<u8>,
    /// HTML body (empty: none).
    pub body_html: Vec<u8>,
    /// To and Cc, as JSON.
    pub recipients: Vec<u8>,
    /// Attachment names and types, as JSON.
    pub attachments: Vec<u8>,
}

/// A message copy's content as stored, in either storage format.
#[derive(Debug, Clone)]
pub enum StoredContent {
    /// Storage v1: subject, bodies and attachment names in one age file sealed to the
    /// mailbox's identity; recipients in the clear. Read until the upgrade rewrites it.
    V1 {
        /// The age file.
        sealed: Vec<u8>,
        /// Recipients.
        to: Vec<String>,
        /// Copy recipients.
        cc: Vec<String>,
    },
    /// Storage v2: each field sealed with the data key.
    V2(SealedFields),
}

/// An attachment file already encrypted into the blob store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Attachment id.
    pub id: String,
    /// Plaintext size.
    pub size: u64,
    /// Path of the encrypted file, relative to the blob directory.
    pub blob: String,
}

/// A stored message copy.
#[derive(Debug, Clone)]
pub struct MessageRow {
    /// Id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Folder.
    pub folder: Folder,
    /// Mode.
    pub mode: SendMode,
    /// Sender.
    pub sender: String,
    /// Sent (or saved) at.
    pub sent_at: DateTime<Utc>,
    /// Expires at.
    pub expires_at: DateTime<Utc>,
    /// Read flag.
    pub read: bool,
    /// Answered or forwarded message.
    pub in_reply_to: String,
    /// Delivery status ("" when not applicable).
    pub delivery: String,
    /// Delivery detail.
    pub delivery_detail: String,
    /// Sealed content.
    pub content: StoredContent,
    /// Mailbox state at creation.
    pub created_modseq: i64,
    /// Mailbox state at the last change.
    pub modseq: i64,
    /// The client's reference ("" when it gave none).
    pub client_ref: String,
    /// In the Deleted folder (`folder` is where it came from).
    pub deleted: bool,
    /// A reply to it was sent from its mailbox.
    pub replied: bool,
    /// It was forwarded from its mailbox.
    pub forwarded: bool,
    /// Attachments, in order.
    pub attachments: Vec<AttachmentRow>,
}

/// A stored attachment.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    /// Id.
    pub id: String,
    /// Plaintext size.
    pub size: u64,
    /// Encrypted file, relative to the blob directory.
    pub blob: String,
}

/// Figures for `admin stats`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    /// Accounts waiting for registration.
    pub accounts_pending: u64,
    /// Registered accounts.
    pub accounts_active: u64,
    /// Disabled accounts.
    pub accounts_disabled: u64,
    /// Addresses locked right now.
    pub accounts_locked: u64,
    /// Message copies stored.
    pub messages: u64,
    /// Attachment files stored.
    pub attachments: u64,
    /// Plaintext bytes of attachments stored.
    pub attachment_bytes: u64,
    /// Live session families.
    pub sessions: u64,
    /// Org API tokens not revoked.
    pub org_tokens: u64,
    /// Emails waiting to be delivered.
    pub mail_backlog: u64,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Recipients {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
}

const COLUMNS: &str =
    "id, account_id, folder, mode, sender, recipients, sent_at, expires_at, read, \
     in_reply_to, delivery, delivery_detail, sealed, created_modseq, modseq, client_ref, \
     deleted_at, replied, forwarded, sealed_subject, sealed_body_text, sealed_body_html, \
     sealed_recipients, sealed_attachments";

fn row(r: &Row) -> Result<MessageRow> {
    let v1: Vec<u8> = r.get(12)?;
    let content = if v1.is_empty() {
        StoredContent::V2(SealedFields {
            subject: r.get(19)?,
            body_text: r.get(20)?,
            body_html: r.get(21)?,
            recipients: r.get(22)?,
            attachments: r.get(23)?,
        })
    } else {
        let recipients: Recipients =
            serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default();
        StoredContent::V1 {
            sealed: v1,
            to: recipients.to,
            cc: recipients.cc,
        }
    };
    Ok(MessageRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        folder: Folder::from_name(&r.get::<_, String>(2)?),
        mode: SendMode::from_name(&r.get::<_, String>(3)?),
        sender: r.get(4)?,
        sent_at: from_millis(r.get(6)?),
        expires_at: from_millis(r.get(7)?),
        read: r.get(8)?,
        in_reply_to: r.get(9)?,
        delivery: r.get(10)?,
        delivery_detail: r.get(11)?,
        content,
        created_modseq: r.get(13)?,
        modseq: r.get(14)?,
        client_ref: r.get(15)?,
        deleted: r.get::<_, i64>(16)? > 0,
        replied: r.get(17)?,
        forwarded: r.get(18)?,
        attachments: Vec::new(),
    })
}

impl Tx<'_> {
    /// Advances a mailbox's state and returns the new value.
    pub(crate) fn bump_mailbox_state(&self, account_id: &str) -> Result<i64> {
        let state: i64 = self
            .0
            .prepare_cached(
                "UPDATE accounts SET mailbox_state = mailbox_state + 1 WHERE id = ?1 \
                 RETURNING mailbox_state",
            )?
            .query_row([account_id], |r| r.get(0))?;
        let mut advanced = self.1.borrow_mut();
        match advanced.iter_mut().find(|(id, _)| id == account_id) {
            Some(entry) => entry.1 = state,
            None => advanced.push((account_id.to_owned(), state)),
        }
        Ok(state)
    }

    /// A mailbox's current state and the oldest state sync can still answer from.
    pub fn mailbox_state(&self, account_id: &str) -> Result<(i64, i64)> {
        self.0.query_row(
            "SELECT mailbox_state, history_floor FROM accounts WHERE id = ?1",
            [account_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Records that something left a mailbox, for sync's `destroyed`.
    pub(crate) fn tombstone(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.tombstone_for(account_id, kind, id, now, "")
    }

    /// As [`Self::tombstone`], with why it left: `recalled` (its sender took it back) or
    /// `""`.
    fn tombstone_for(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<()> {
        let modseq = self.bump_mailbox_state(account_id)?;
        self.0.execute(
            "INSERT INTO tombstones (account_id, id, kind, modseq, at, reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account_id, id) DO UPDATE \
             SET kind = excluded.kind, modseq = excluded.modseq, at = excluded.at, \
                 reason = excluded.reason",
            params![account_id, id, kind, modseq, to_millis(now), reason],
        )?;
        Ok(())
    }

    /// Stores a message copy and its attachments, and advances the mailbox's state.
    pub fn insert_message(&self, m: &NewMessage) -> Result<()> {
        let modseq = self.bump_mailbox_state(&m.account_id)?;
        let c = &m.content;
        self.0
            .prepare_cached(
                "INSERT INTO messages (id, account_id, origin_id, folder, mode, sender, \
                 sent_at, expires_at, read, in_reply_to, delivery, created_modseq, modseq, \
                 client_ref, sealed, sealed_subject, sealed_body_text, sealed_body_html, \
                 sealed_recipients, sealed_attachments) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, x'', ?14, \
                 ?15, ?16, ?17, ?18)",
            )?
            .execute(params![
                m.id,
                m.account_id,
                m.origin_id,
                m.folder.as_str(),
                m.mode.as_str(),
                m.sender,
                to_millis(m.sent_at),
                to_millis(m.expires_at),
                m.read,
                m.in_reply_to,
                m.delivery,
                modseq,
                m.client_ref,
                c.subject,
                c.body_text,
                c.body_html,
                c.recipients,
                c.attachments
            ])?;
        self.insert_attachments(&m.id, 0, &m.attachments)
    }

    fn insert_attachments(
        &self,
        message_id: &str,
        first: usize,
        list: &[NewAttachment],
    ) -> Result<()> {
        for (i, a) in list.iter().enumerate() {
            self.0.execute(
                "INSERT INTO attachments (id, message_id, position, size, blob) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.id, message_id, (first + i) as i64, a.size as i64, a.blob],
            )?;
        }
        Ok(())
    }

    /// Replaces a draft's content in place: new sealed content (recipients included); the
    /// kept attachments stay, `added` join them. Returns the blob files of dropped attachments.
    #[allow(clippy::too_many_arguments)]
    pub fn update_draft(
        &self,
        account_id: &str,
        id: &str,
        mode: SendMode,
        in_reply_to: &str,
        client_ref: &str,
        content: &SealedFields,
        keep: &[String],
        added: &[NewAttachment],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let current = self.attachments_of(id)?;
        let mut dropped = Vec::new();
        for a in &current {
            if !keep.contains(&a.id) {
                self.0
                    .execute("DELETE FROM attachments WHERE id = ?1", [&a.id])?;
                dropped.push(a.blob.clone());
            }
        }
        let kept = current.len() - dropped.len();
        self.insert_attachments(id, kept, added)?;
        let modseq = self.bump_mailbox_state(account_id)?;
        self.0.execute(
            "UPDATE messages SET mode = ?3, in_reply_to = ?4, sent_at = ?5, expires_at = ?6, \
             modseq = ?7, client_ref = CASE WHEN client_ref = '' THEN ?8 ELSE client_ref END, \
             recipients = '{}', sealed = x'', sealed_subject = ?9, sealed_body_text = ?10, \
             sealed_body_html = ?11, sealed_recipients = ?12, sealed_attachments = ?13 \
             WHERE account_id = ?1 AND id = ?2 AND folder = 'drafts'",
            params![
                account_id,
                id,
                mode.as_str(),
                in_reply_to,
                to_millis(now),
                to_millis(expires_at),
                modseq,
                client_ref,
                content.subject,
                content.body_text,
                content.body_html,
                content.recipients,
                content.attachments
            ],
        )?;
        Ok(dropped)
    }

    /// The attachments of a message, in order.
    pub fn attachments_of(&self, message_id: &str) -> Result<Vec<AttachmentRow>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT id, size, blob FROM attachments WHERE message_id = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map([message_id], |r| {
            Ok(AttachmentRow {
                id: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                blob: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }

    fn with_attachments(&self, mut m: MessageRow) -> Result<MessageRow> {
        m.attachments = self.attachments_of(&m.id)?;
        Ok(m)
    }

    /// The account's messages whose state lies in `since < modseq <= upto`, attachments
    /// included, keyed by id: a page of `/changes` in two queries rather than two per
    /// message.
    pub fn messages_changed(
        &self,
        account_id: &str,
        since: i64,
        upto: i64,
    ) -> Result<HashMap<String, MessageRow>> {
        let mut out: HashMap<String, MessageRow> = self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM messages \
                 WHERE account_id = ?1 AND modseq > ?2 AND modseq <= ?3"
            ))?
            .query_map(params![account_id, since, upto], row)?
            .map(|m| m.map(|m| (m.id.clone(), m)))
            .collect::<Result<_>>()?;
        let mut stmt = self.0.prepare_cached(
            "SELECT a.message_id, a.id, a.size, a.blob FROM attachments a \
             JOIN messages m ON m.id = a.message_id \
             WHERE m.account_id = ?1 AND m.modseq > ?2 AND m.modseq <= ?3 \
             ORDER BY a.message_id, a.position",
        )?;
        stmt.each(params![account_id, since, upto], |r| {
            let message_id: String = r.get(0)?;
            if let Some(m) = out.get_mut(&message_id) {
                m.attachments.push(AttachmentRow {
                    id: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    blob: r.get(3)?,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// One of the account's messages.
    pub fn message(&self, account_id: &str, id: &str) -> Result<Option<MessageRow>> {
        let found = self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM messages WHERE account_id = ?1 AND id = ?2"
            ))?
            .query_row([account_id, id], row)
            .optional()?;
        found.map(|m| self.with_attachments(m)).transpose()
    }

    /// The id of the account's message in `folder` made with this client reference, if any
    /// (a Sent copy for a retried send; a draft for a compose saved again).
    pub fn message_by_client_ref(
        &self,
        account_id: &str,
        folder: Folder,
        client_ref: &str,
    ) -> Result<Option<String>> {
        self.0
            .query_row(
                "SELECT id FROM messages WHERE account_id = ?1 AND client_ref = ?2 \
                 AND client_ref != '' AND folder = ?3",
                [account_id, client_ref, folder.as_str()],
                |r| r.get(0),
            )
            .optional()
    }

    /// A page of a folder, newest first, strictly before the `(sent_at, id)` cursor.
    pub fn messages_page(
        &self,
        account_id: &str,
        folder: Folder,
        limit: u32,
        before: Option<(DateTime<Utc>, String)>,
    ) -> Result<Vec<MessageRow>> {
        let (before_ms, before_id) = before
            .map(|(t, id)| (to_millis(t), id))
            .unwrap_or((i64::MAX, String::new()));
        // Two statements, not one CASE, so that each can use its index (Deleted has its own).
        let which = match folder {
            Folder::Deleted => "deleted_at > 0 AND ?2 = 'deleted'",
            _ => "folder = ?2 AND deleted_at = 0",
        };
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE account_id = ?1 AND {which} \
             AND (sent_at < ?3 OR (sent_at = ?3 AND id < ?4)) \
             ORDER BY sent_at DESC, id DESC LIMIT ?5"
        ))?;
        let rows = stmt
            .query_map(
                params![account_id, folder.as_str(), before_ms, before_id, limit],
                row,
            )?
            .collect::<Result<Vec<_>>>()?;
        rows.into_iter().map(|m| self.with_attachments(m)).collect()
    }

    /// Sets the read flag; returns the message, or `None` if it is not the account's.
    pub fn set_read(&self, account_id: &str, id: &str, read: bool) -> Result<Option<MessageRow>> {
        let Some(current) = self.message(account_id, id)? else {
            return Ok(None);
        };
        if current.read != read {
            let modseq = self.bump_mailbox_state(account_id)?;
            self.0.execute(
                "UPDATE messages SET read = ?2, modseq = ?3 WHERE id = ?1",
                params![id, read, modseq],
            )?;
        }
        self.message(account_id, id)
    }

    /// Moves an inbox or Sent message to Deleted (`deleted`) or back to its folder; returns
    /// the message, or `None` if it is not the account's.
    ///
    /// # Errors
    /// `Conflict` for a draft (drafts are deleted for good, `DELETE /drafts/{id}`).
    pub fn set_deleted(
        &self,
        account_id: &str,
        id: &str,
        deleted: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageRow>> {
        let Some(current) = self.message(account_id, id)? else {
            return Ok(None);
        };
        if current.folder == Folder::Drafts {
            return Err(crate::error::Error::Conflict(
                "A draft is not moved to Deleted: delete it with DELETE /drafts/{id}.".into(),
            ));
        }
        if current.deleted != deleted {
            let modseq = self.bump_mailbox_state(account_id)?;
            self.0.execute(
                "UPDATE messages SET deleted_at = ?2, modseq = ?3 WHERE id = ?1",
                params![id, if deleted { to_millis(now).max(1) } else { 0 }, modseq],
            )?;
        }
        self.message(account_id, id)
    }

    /// Notes on a message of `account_id` that it was answered (`mode` reply or reply to
    /// all) or forwarded, as a change sync reports. Nothing for another mode, an unknown
    /// message, or a flag already set.
    pub fn mark_answered(&self, account_id: &str, id: &str, mode: SendMode) -> Result<()> {
        let column = match mode {
            SendMode::Reply | SendMode::ReplyAll => "replied",
            SendMode::Forward => "forwarded",
            SendMode::New => return Ok(()),
        };
        let Some(current) = self.message(account_id, id)? else {
            return Ok(());
        };
        let set = if column == "replied" {
            current.replied
        } else {
            current.forwarded
        };
        if !set {
            let modseq = self.bump_mailbox_state(account_id)?;
            self.0.execute(
                &format!("UPDATE messages SET {column} = 1, modseq = ?2 WHERE id = ?1"),
                params![id, modseq],
            )?;
        }
        Ok(())
    }

    /// Deletes a message from a mailbox (recorded for sync). Returns its attachment files,
    /// or `None` if it is not the account's.
    pub fn delete_message(
        &self,
        account_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<String>>> {
        let Some(m) = self.message(account_id, id)? else {
            return Ok(None);
        };
        self.0.execute("DELETE FROM messages WHERE id = ?1", [id])?;
        self.tombstone(account_id, "message", id, now)?;
        Ok(Some(m.attachments.into_iter().map(|a| a.blob).collect()))
    }

    /// As [`Self::delete_message`], for a copy its sender recalled at `now`: sync tells
    /// the recipient's app so, and the app shows a line in its place.
    pub fn recall_message(
        &self,
        account_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<String>>> {
        let Some(m) = self.message(account_id, id)? else {
            return Ok(None);
        };
        self.0.execute("DELETE FROM messages WHERE id = ?1", [id])?;
        self.tombstone_for(account_id, "message", id, now, "recalled")?;
        Ok(Some(m.attachments.into_iter().map(|a| a.blob).collect()))
    }

    /// Updates the delivery status of a Sent item (a change sync reports).
    pub fn set_delivery(&self, message_id: &str, status: &str, detail: &str) -> Result<()> {
        let account: Option<String> = self
            .0
            .query_row(
                "SELECT account_id FROM messages WHERE id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(account) = account {
            let modseq = self.bump_mailbox_state(&account)?;
            self.0.execute(
                "UPDATE messages SET delivery = ?2, delivery_detail = ?3, modseq = ?4 WHERE id = ?1",
                params![message_id, status, detail, modseq],
            )?;
        }
        Ok(())
    }

    /// Messages whose retention has run out: (account, id, attachment files).
    pub fn expired_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, String, Vec<String>)>> {
        let mut stmt = self.0.prepare(
            "SELECT account_id, id FROM messages WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
        )?;
        let ids = stmt
            .query_map(params![to_millis(now), limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<Vec<(String, String)>>>()?;
        ids.into_iter()
            .map(|(account, id)| {
                let blobs = self
                    .attachments_of(&id)?
                    .into_iter()
                    .map(|a| a.blob)
                    .collect();
                Ok((account, id, blobs))
            })
            .collect()
    }

    /// Message copies in every mailbox.
    pub fn count_messages(&self) -> Result<u64> {
        let n: i64 = self
            .0
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Message copies in an account's inbox, and how many are unread.
    pub fn inbox_counts(&self, account_id: &str) -> Result<(u64, u64)> {
        let (all, unread): (i64, i64) = self.0.query_row(
            "SELECT count(*), CAST(coalesce(sum(CASE WHEN read = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM messages \
             WHERE account_id = ?1 AND folder = 'inbox' AND deleted_at = 0",
            [account_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((all as u64, unread as u64))
    }

    /// Figures for the whole hub.
    pub fn stats(&self, now: DateTime<Utc>) -> Result<Stats> {
        let count = |sql: &str| -> Result<u64> {
            Ok(self.0.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let now_ms = to_millis(now);
        Ok(Stats {
            accounts_pending: count("SELECT count(*) FROM accounts WHERE status = 'pending'")?,
            accounts_active: count("SELECT count(*) FROM accounts WHERE status = 'active'")?,
            accounts_disabled: count("SELECT count(*) FROM accounts WHERE status = 'disabled'")?,
            accounts_locked: self.0.query_row::<i64, _, _>(
                "SELECT count(*) FROM sign_in_guard g JOIN accounts a ON a.email = g.email \
                 WHERE g.locked_until > ?1",
                [now_ms],
                |r| r.get(0),
            )? as u64,
            messages: count("SELECT count(*) FROM messages")?,
            attachments: count("SELECT count(*) FROM attachments")?,
            attachment_bytes: count(
                "SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM attachments",
            )?,
            sessions: self.0.query_row::<i64, _, _>(
                "SELECT count(DISTINCT f.id) FROM session_families f \
                 JOIN access_tokens t ON t.family_id = f.id \
                 WHERE f.revoked_at = 0 AND t.revoked_at = 0 AND t.max_expires_at > ?1",
                [now_ms],
                |r| r.get(0),
            )? as u64,
            org_tokens: count("SELECT count(*) FROM org_tokens WHERE revoked_at = 0")?,
            mail_backlog: self.mail_backlog()?,
        })
    }
}
