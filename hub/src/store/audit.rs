use super::sql::params;
use chrono::{DateTime, Utc};

use super::{Signer, Tx};
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// One line of the audit log: who, what, when, from where. Never secrets or content.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened, e.g. `sign_in_failed`.
    pub event: String,
    /// The account's address, if one is concerned.
    pub email: String,
    /// The client's IP address, if the event came over HTTP.
    pub ip: String,
    /// Extra non-secret facts, e.g. a count or a token id.
    pub detail: String,
    /// The person who acted, when a mailbox's session did: its owner's address, or a
    /// named delegate's.
    pub person: String,
    /// The name of the device they used, as it gave it at sign-in.
    pub device: String,
}

impl Tx<'_> {
    /// Appends to the audit log.
    pub fn audit(
        &self,
        now: DateTime<Utc>,
        event: &str,
        email: &str,
        ip: &str,
        detail: &str,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO audit (at, event, email, ip, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![to_millis(now), event, email, ip, detail],
        )?;
        Ok(())
    }

    /// Appends to the audit log an action of a signed-in person on a mailbox: `email` is
    /// the mailbox's, with the person and their device beside it.
    pub fn audit_by(
        &self,
        now: DateTime<Utc>,
        event: &str,
        signer: &Signer,
        ip: &str,
        detail: &str,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO audit (at, event, email, ip, detail, person, device) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                to_millis(now),
                event,
                signer.mailbox_email,
                ip,
                detail,
                signer.person_email,
                signer.device
            ],
        )?;
        Ok(())
    }

    /// Audit entries at or after `since`, oldest first.
    pub fn audit_since(&self, since: DateTime<Utc>) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.0.prepare(
            "SELECT at, event, email, ip, detail, person, device FROM audit WHERE at >= ?1 \
             ORDER BY at, id",
        )?;
        let rows = stmt.query_map([to_millis(since)], |r| {
            Ok(AuditEntry {
                at: from_millis(r.get(0)?),
                event: r.get(1)?,
                email: r.get(2)?,
                ip: r.get(3)?,
                detail: r.get(4)?,
                person: r.get(5)?,
                device: r.get(6)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }
}
