//! Sends by staff systems, by their reference, so that a retry is not sent twice.

use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// A send recorded under its reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSend {
    /// What the message was (see `Hub::send_org_message`).
    pub fingerprint: String,
    /// The send's id.
    pub origin_id: String,
    /// The external recipients it reached.
    pub delivered_to: Vec<String>,
}

/// What a recipient did with a staff send's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendEvent {
    /// First opened (marked read).
    Opened,
    /// First replied to.
    Replied,
}

/// One recipient of a staff send, as its sender may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    /// The recipient's address.
    pub address: String,
    /// When the send was made.
    pub sent_at: DateTime<Utc>,
    /// When the copy expires (or expired).
    pub expires_at: DateTime<Utc>,
    /// When the mailbox was first notified after it arrived.
    pub notified_at: Option<DateTime<Utc>>,
    /// When the recipient registered.
    pub registered_at: Option<DateTime<Utc>>,
    /// When the copy was first opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When it was first replied to.
    pub replied_at: Option<DateTime<Utc>>,
}

impl Tx<'_> {
    /// The send recorded under `client_ref`, if any.
    pub fn org_send(&self, client_ref: &str) -> Result<Option<OrgSend>> {
        let row = self
            .0
            .query_row(
                "SELECT fingerprint, origin_id, delivered_to FROM org_sends WHERE client_ref = ?1",
                [client_ref],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?)),
            )
            .optional()?;
        Ok(row.map(|(fingerprint, origin_id, delivered_to)| OrgSend {
            fingerprint,
            origin_id,
            delivered_to: serde_json::from_str(&delivered_to).unwrap_or_default(),
        }))
    }

    /// Records a send under its reference.
    pub fn insert_org_send(
        &self,
        client_ref: &str,
        send: &OrgSend,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO org_sends (client_ref, fingerprint, origin_id, delivered_to, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                client_ref,
                send.fingerprint,
                send.origin_id,
                serde_json::to_string(&send.delivered_to).expect("BUG: addresses serialise"),
                to_millis(now)
            ],
        )?;
        Ok(())
    }

    /// When the send `origin_id` was recalled, and how many copies went then.
    pub fn recall(&self, origin_id: &str) -> Result<Option<(DateTime<Utc>, u64)>> {
        let row = self
            .0
            .query_row(
                "SELECT recalled_at, copies FROM recalls WHERE origin_id = ?1",
                [origin_id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?;
        Ok(row.map(|(at, copies)| (from_millis(at), u64::try_from(copies).unwrap_or(0))))
    }

    /// The recipients' copies of the send `origin_id`: (mailbox, message id, sender).
    pub fn send_copies(&self, origin_id: &str) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.0.prepare(
            "SELECT account_id, id, sender FROM messages WHERE origin_id = ?1 AND folder = 'inbox' \
             ORDER BY id",
        )?;
        let rows = stmt.query_map([origin_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }

    /// Records that the send `origin_id` was recalled at `now`, `copies` copies deleted.
    pub fn insert_recall(&self, origin_id: &str, now: DateTime<Utc>, copies: u64) -> Result<()> {
        self.0.execute(
            "INSERT INTO recalls (origin_id, recalled_at, copies) VALUES (?1, ?2, ?3)",
            params![
                origin_id,
                to_millis(now),
                i64::try_from(copies).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }

    /// Records that the send `origin_id` left its copy `message_id` in `account_id`, the
    /// mailbox of `address`.
    pub fn insert_send_recipient(
        &self,
        origin_id: &str,
        account_id: &str,
        address: &str,
        message_id: &str,
        sent_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO send_recipients \
             (origin_id, account_id, address, message_id, sent_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (origin_id, account_id) DO NOTHING",
            params![
                origin_id,
                account_id,
                address,
                message_id,
                to_millis(sent_at),
                to_millis(expires_at)
            ],
        )?;
        Ok(())
    }

    /// Notes that `account_id` was first opened (`opened_at`) or replied to (`replied_at`)
    /// its copy `message_id` of a staff send at `now`; nothing if it had been, if the
    /// message is not a staff send's, or if the copy is gone (a reply racing a recall).
    pub fn note_send_event(
        &self,
        column: SendEvent,
        account_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let column = match column {
            SendEvent::Opened => "opened_at",
            SendEvent::Replied => "replied_at",
        };
        self.0.execute(
            &format!(
                "UPDATE send_recipients SET {column} = ?3 \
                 WHERE account_id = ?1 AND message_id = ?2 AND {column} = 0 \
                 AND EXISTS (SELECT 1 FROM messages WHERE id = ?2)"
            ),
            params![account_id, message_id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Notes that `account_id` was sent a notification at `now`: every copy that had not
    /// been told of yet now has.
    pub fn note_notified(&self, account_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE send_recipients SET notified_at = ?2 \
             WHERE account_id = ?1 AND notified_at = 0 AND sent_at <= ?2",
            params![account_id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Each recipient of the send `origin_id`: address and times (0 for never), by address.
    pub fn send_status(&self, origin_id: &str) -> Result<Vec<RecipientRow>> {
        let mut stmt = self.0.prepare(
            "SELECT r.address, r.sent_at, r.expires_at, r.notified_at, \
             coalesce(a.registered_at, 0), r.opened_at, r.replied_at \
             FROM send_recipients r LEFT JOIN accounts a ON a.id = r.account_id \
             WHERE r.origin_id = ?1 ORDER BY r.address",
        )?;
        let rows = stmt.query_map([origin_id], |r| {
            let at = |v: i64| (v != 0).then(|| from_millis(v));
            Ok(RecipientRow {
                address: r.get(0)?,
                sent_at: from_millis(r.get(1)?),
                expires_at: from_millis(r.get(2)?),
                notified_at: at(r.get(3)?),
                registered_at: at(r.get(4)?),
                opened_at: at(r.get(5)?),
                replied_at: at(r.get(6)?),
            })
        })?;
        rows.collect()
    }

    /// Forgets the recipients of sends that expired before `cutoff`, and recalls made
    /// before it.
    pub fn prune_send_recipients(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM recalls WHERE recalled_at < ?1",
            [to_millis(cutoff)],
        )?;
        self.0.execute(
            "DELETE FROM send_recipients WHERE expires_at < ?1",
            [to_millis(cutoff)],
        )
    }

    /// Whether the copy `message_id` in `account_id` had its mailbox's notice queued.
    pub fn copy_notified(&self, account_id: &str, message_id: &str) -> Result<bool> {
        let at: Option<i64> = self
            .0
            .query_row(
                "SELECT notified_at FROM send_recipients WHERE account_id = ?1 AND message_id = ?2",
                [account_id, message_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(at.is_some_and(|at| at != 0))
    }

    /// Forgets references older than `cutoff` (the messages they sent have expired).
    pub fn prune_org_sends(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM org_sends WHERE created_at < ?1",
            [to_millis(cutoff)],
        )
    }
}
