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

    /// Forgets references older than `cutoff` (the messages they sent have expired).
    pub fn prune_org_sends(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM org_sends WHERE created_at < ?1",
            [to_millis(cutoff)],
        )
    }
}
