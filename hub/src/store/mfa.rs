//! Two-step sign-in: each account's authenticator secret (sealed to the hub's key, as
//! content is), the last time step whose code was taken (so a code works once), and its
//! recovery codes, stored by their SHA-256 digests.

use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// An account's authenticator, enrolled or being enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mfa {
    /// The TOTP secret, sealed to the hub's key.
    pub sealed_secret: Vec<u8>,
    /// When a first code confirmed it; `None` while it waits for one.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last 30-second step whose code was accepted (RFC 6238 `T`); 0 for none.
    pub last_step: i64,
}

impl Tx<'_> {
    /// The account's authenticator, if one was enrolled or is being enrolled.
    pub fn mfa(&self, account_id: &str) -> Result<Option<Mfa>> {
        self.0
            .query_row(
                "SELECT sealed_secret, enabled_at, last_step FROM mfa WHERE account_id = ?1",
                [account_id],
                |r| {
                    let enabled: i64 = r.get(1)?;
                    Ok(Mfa {
                        sealed_secret: r.get(0)?,
                        enabled_at: (enabled != 0).then(|| from_millis(enabled)),
                        last_step: r.get(2)?,
                    })
                },
            )
            .optional()
    }

    /// Starts an enrolment with a new sealed secret, replacing one not yet confirmed.
    /// Returns false (and changes nothing) when two-step sign-in is on: the check and the
    /// write are one statement, so an enrolment racing a confirmation cannot undo it.
    pub fn begin_mfa(&self, account_id: &str, sealed: &[u8], now: DateTime<Utc>) -> Result<bool> {
        let n = self.0.execute(
            "INSERT INTO mfa (account_id, sealed_secret, enabled_at, last_step, created_at) \
             VALUES (?1, ?2, 0, 0, ?3) ON CONFLICT (account_id) DO UPDATE \
             SET sealed_secret = excluded.sealed_secret, enabled_at = 0, last_step = 0, \
                 created_at = excluded.created_at WHERE mfa.enabled_at = 0",
            params![account_id, sealed, to_millis(now)],
        )?;
        Ok(n == 1)
    }

    /// Turns the authenticator on, with the step of the code that confirmed it and the
    /// digests of new recovery codes (any earlier ones go).
    ///
    /// Returns false (and changes nothing) unless it is still off with the secret
    /// `sealed`: of two confirmations at once, one wins, and a secret replaced meanwhile is
    /// not turned on.
    pub fn enable_mfa(
        &self,
        account_id: &str,
        sealed: &[u8],
        step: i64,
        recovery_digests: &[String],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE mfa SET enabled_at = ?2, last_step = ?3 \
             WHERE account_id = ?1 AND enabled_at = 0 AND sealed_secret = ?4",
            params![account_id, to_millis(now), step, sealed],
        )?;
        if n == 0 {
            return Ok(false);
        }
        self.0.execute(
            "DELETE FROM mfa_recovery WHERE account_id = ?1",
            [account_id],
        )?;
        for digest in recovery_digests {
            self.0.execute(
                "INSERT INTO mfa_recovery (account_id, code_digest, used_at) VALUES (?1, ?2, 0)",
                params![account_id, digest],
            )?;
        }
        Ok(true)
    }

    /// Takes the code of `step`: true if no code of this step or a later one was taken
    /// before (the check and the update are one statement, so two sign-ins at once
    /// cannot both use one code).
    pub fn take_mfa_step(&self, account_id: &str, step: i64) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE mfa SET last_step = ?2 WHERE account_id = ?1 AND last_step < ?2",
            params![account_id, step],
        )?;
        Ok(n == 1)
    }

    /// Uses a recovery code by its digest: true if it was unused (it is used up now).
    pub fn take_recovery_code(
        &self,
        account_id: &str,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE mfa_recovery SET used_at = ?3 \
             WHERE account_id = ?1 AND code_digest = ?2 AND used_at = 0",
            params![account_id, digest, to_millis(now)],
        )?;
        Ok(n == 1)
    }

    /// Recovery codes not used yet.
    pub fn recovery_codes_left(&self, account_id: &str) -> Result<u32> {
        self.0.query_row(
            "SELECT count(*) FROM mfa_recovery WHERE account_id = ?1 AND used_at = 0",
            [account_id],
            |r| r.get(0),
        )
    }

    /// Removes the authenticator and its recovery codes. Returns whether there was one.
    pub fn remove_mfa(&self, account_id: &str) -> Result<bool> {
        self.0.execute(
            "DELETE FROM mfa_recovery WHERE account_id = ?1",
            [account_id],
        )?;
        Ok(self
            .0
            .execute("DELETE FROM mfa WHERE account_id = ?1", [account_id])?
            == 1)
    }
}
