use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Tx;
use crate::clock::to_millis;
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
    /// `inbox`, `sent` or `drafts`.
    pub folder: &'static str,
    /// Sender address.
    pub sender: String,
    /// `{"to": [..], "cc": [..]}` as JSON.
    pub recipients: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// When retention deletes it.
    pub expires_at: DateTime<Utc>,
    /// Subject, body and attachment names, age-encrypted to the mailbox.
    pub sealed: Vec<u8>,
    /// Its attachments.
    pub attachments: Vec<NewAttachment>,
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

impl Tx<'_> {
    /// Stores a message copy and its attachments, and advances the mailbox's state.
    pub fn insert_message(&self, m: &NewMessage) -> Result<()> {
        let modseq = self.bump_mailbox_state(&m.account_id)?;
        self.0.execute(
            "INSERT INTO messages (id, account_id, origin_id, folder, sender, recipients, \
             sent_at, expires_at, sealed, modseq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                m.id,
                m.account_id,
                m.origin_id,
                m.folder,
                m.sender,
                m.recipients,
                to_millis(m.sent_at),
                to_millis(m.expires_at),
                m.sealed,
                modseq
            ],
        )?;
        for (position, a) in m.attachments.iter().enumerate() {
            self.0.execute(
                "INSERT INTO attachments (id, message_id, position, size, blob) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.id, m.id, position as i64, a.size as i64, a.blob],
            )?;
        }
        Ok(())
    }

    fn bump_mailbox_state(&self, account_id: &str) -> Result<i64> {
        Ok(self.0.query_row(
            "UPDATE accounts SET mailbox_state = mailbox_state + 1 WHERE id = ?1 \
             RETURNING mailbox_state",
            [account_id],
            |r| r.get(0),
        )?)
    }

    /// Message copies in an account's inbox, and how many are unread.
    pub fn inbox_counts(&self, account_id: &str) -> Result<(u64, u64)> {
        let (all, unread): (i64, i64) = self.0.query_row(
            "SELECT count(*), coalesce(sum(read = 0), 0) FROM messages \
             WHERE account_id = ?1 AND folder = 'inbox'",
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
            attachment_bytes: count("SELECT coalesce(sum(size), 0) FROM attachments")?,
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
