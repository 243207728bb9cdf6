//! Hub-wide keys wrapped by the master key, and which master key that is.

use super::sql::{params, OptionalExtension};

use chrono::{DateTime, Duration, Utc};

use super::Tx;
use crate::clock::to_millis;
use crate::error::Result;

/// The row naming the master key's public half.
pub const MASTER: &str = "master";

impl Tx<'_> {
    /// A hub key: its public text and wrapped bytes.
    pub fn hub_key(&self, name: &str) -> Result<Option<(String, Vec<u8>)>> {
        self.0
            .query_row(
                "SELECT public, wrapped FROM hub_keys WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }

    /// Stores (or replaces) a hub key.
    pub fn set_hub_key(&self, name: &str, public: &str, wrapped: &[u8]) -> Result<()> {
        self.0.execute(
            "INSERT INTO hub_keys (name, public, wrapped) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET public = excluded.public, wrapped = excluded.wrapped",
            params![name, public, wrapped],
        )?;
        Ok(())
    }

    /// The storage format every row is in: 1 while rows of format 1 may remain (a hub
    /// made by an earlier release, not yet upgraded), 2 once none can.
    pub fn storage_format(&self) -> Result<u32> {
        let value: Option<String> = self
            .0
            .query_row(
                "SELECT value FROM hub_state WHERE name = 'storage_format'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(1))
    }

    /// Claims the periodic job `name` for this process if it last ran `every` or more
    /// before `now`, and records `now` as its last run. Whether it was claimed: of hub
    /// processes sharing the database, one claims it per interval.
    pub fn claim_job(&self, name: &str, now: DateTime<Utc>, every: Duration) -> Result<bool> {
        let key = format!("job:{name}");
        let last: Option<String> = self
            .0
            .query_row("SELECT value FROM hub_state WHERE name = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?;
        let last = last.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        if to_millis(now) - last < every.num_milliseconds() {
            return Ok(false);
        }
        self.0.execute(
            "INSERT INTO hub_state (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [key, to_millis(now).to_string()],
        )?;
        Ok(true)
    }

    /// Records the storage format (see [`Tx::storage_format`]).
    pub fn set_storage_format(&self, format: u32) -> Result<()> {
        self.0.execute(
            "INSERT INTO hub_state (name, value) VALUES ('storage_format', ?1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [format.to_string()],
        )?;
        Ok(())
    }

    /// One mailbox's wrapped file identity, if there is a mailbox: opening it proves a
    /// master key is this database's.
    pub fn some_wrapped_mailbox_key(&self) -> Result<Option<Vec<u8>>> {
        self.0
            .query_row(
                "SELECT mailbox_key FROM accounts WHERE mailbox_key != x'' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
    }

    /// How many accounts the hub has (none: a new hub).
    pub fn account_count(&self) -> Result<u64> {
        Ok(self
            .0
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Every wrapped hub key (not the master's own row), by name.
    pub fn wrapped_hub_keys(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut stmt = self.0.prepare(
            "SELECT name, wrapped FROM hub_keys WHERE name != ?1 AND wrapped != x'' ORDER BY name",
        )?;
        let rows = stmt.query_map([MASTER], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_>>()
    }
}

/// A row whose content is sealed to the master key itself (queued email, organisation
/// uploads): its id, sealed bytes (may be empty) and encrypted file (may be empty).
#[derive(Debug, Clone)]
pub struct MasterSealed {
    /// Row id (`mail_queue.id` as text, or `uploads.id`).
    pub id: String,
    /// Sealed bytes, empty when none.
    pub sealed: Vec<u8>,
    /// Encrypted file relative to the blob folder, empty when none.
    pub blob: String,
}

impl Tx<'_> {
    /// Queued emails not yet sent or abandoned (their content is sealed to the master key).
    pub fn pending_mail_sealing(&self) -> Result<Vec<MasterSealed>> {
        let mut stmt = self.0.prepare(
            "SELECT id, sealed, blob FROM mail_queue WHERE sent_at = 0 AND abandoned_at = 0",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(MasterSealed {
                id: r.get::<_, i64>(0)?.to_string(),
                sealed: r.get(1)?,
                blob: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// Replaces a queued email's sealed bytes and file.
    pub fn set_mail_sealing(&self, row: &MasterSealed) -> Result<()> {
        self.0.execute(
            "UPDATE mail_queue SET sealed = ?2, blob = ?3 WHERE id = ?1",
            params![row.id.parse::<i64>().unwrap_or(-1), row.sealed, row.blob],
        )?;
        Ok(())
    }

    /// Organisation uploads (sealed to the master key), not yet attached.
    pub fn org_upload_sealing(&self) -> Result<Vec<MasterSealed>> {
        let mut stmt = self
            .0
            .prepare("SELECT id, sealed, blob FROM uploads WHERE account_id = ''")?;
        let rows = stmt.query_map([], |r| {
            Ok(MasterSealed {
                id: r.get(0)?,
                sealed: r.get(1)?,
                blob: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// Replaces an organisation upload's sealed details and file.
    pub fn set_upload_sealing(&self, row: &MasterSealed, stored_bytes: u64) -> Result<()> {
        self.0.execute(
            "UPDATE uploads SET sealed = ?2, blob = ?3, stored_bytes = ?4 WHERE id = ?1",
            params![row.id, row.sealed, row.blob, stored_bytes as i64],
        )?;
        Ok(())
    }
}
