//! Trusted devices: a device that has signed in to an account holds a token (stored here by
//! its digest) that gives it a failure count and a lock of its own, so that failures from
//! elsewhere never lock it out (OWASP, "Slow Down Online Guessing Attacks with Device
//! Cookies").

use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// A trusted device's failed sign-ins and lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceGuard {
    /// Consecutive failures on this device.
    pub failures: u32,
    /// Locked until then, if in the future.
    pub locked_until: Option<DateTime<Utc>>,
}

impl Tx<'_> {
    /// Trusts a device for an account.
    pub fn insert_device(
        &self,
        token_hash: &str,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO trusted_devices (token_hash, account_id, created_at, last_used_at) \
             VALUES (?1, ?2, ?3, ?3)",
            params![token_hash, account_id, to_millis(now)],
        )?;
        Ok(())
    }

    /// The guard of a device trusted by this account; `None` for any other token.
    pub fn device(&self, token_hash: &str, account_id: &str) -> Result<Option<DeviceGuard>> {
        self.0
            .query_row(
                "SELECT failures, locked_until FROM trusted_devices \
                 WHERE token_hash = ?1 AND account_id = ?2",
                params![token_hash, account_id],
                |r| {
                    let until: i64 = r.get(1)?;
                    Ok(DeviceGuard {
                        failures: r.get(0)?,
                        locked_until: (until != 0).then(|| from_millis(until)),
                    })
                },
            )
            .optional()
    }

    /// Stores a device's guard and notes its use.
    pub fn set_device(
        &self,
        token_hash: &str,
        guard: &DeviceGuard,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "UPDATE trusted_devices SET failures = ?2, locked_until = ?3, last_used_at = ?4 \
             WHERE token_hash = ?1",
            params![
                token_hash,
                guard.failures,
                guard.locked_until.map(to_millis).unwrap_or(0),
                to_millis(now)
            ],
        )?;
        Ok(())
    }

    /// The latest lock on any of an account's trusted devices, if one is in force at `now`.
    pub fn device_lock(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let until: i64 = self.0.query_row(
            "SELECT COALESCE(MAX(locked_until), 0) FROM trusted_devices \
             WHERE account_id = ?1 AND locked_until > ?2",
            params![account_id, to_millis(now)],
            |r| r.get(0),
        )?;
        Ok((until != 0).then(|| from_millis(until)))
    }

    /// Lifts the locks of every device of an account (an admin's unlock).
    pub fn clear_device_locks(&self, account_id: &str) -> Result<()> {
        self.0.execute(
            "UPDATE trusted_devices SET failures = 0, locked_until = 0 WHERE account_id = ?1",
            [account_id],
        )?;
        Ok(())
    }

    /// Forgets devices not used since `cutoff`.
    pub fn prune_devices(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM trusted_devices WHERE last_used_at < ?1",
            [to_millis(cutoff)],
        )
    }
}
