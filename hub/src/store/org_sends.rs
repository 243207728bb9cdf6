//! Sends by staff systems, by their reference, so that a retry is not sent twice.

use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::to_millis;
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

    /// Forgets references older than `cutoff` (the messages they sent have expired).
    pub fn prune_org_sends(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM org_sends WHERE created_at < ?1",
            [to_millis(cutoff)],
        )
    }
}
