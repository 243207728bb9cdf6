use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Duration, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// What an access token is worth right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessCheck {
    /// Usable; the session now ends at `expires_at` unless used again.
    Valid {
        /// The mailbox signed in to.
        account_id: String,
        /// The session family (device).
        family_id: String,
        /// Who signed in, see [`Signer`].
        signer: Signer,
        /// Whether that person has two-step sign-in on.
        mfa_on: bool,
        /// When it ends if left idle.
        expires_at: DateTime<Utc>,
        /// Checked without touching, and its idle window needs sliding.
        stale: bool,
    },
    /// It was a real token, but idle too long, too old or revoked.
    Expired,
    /// A delegate's token whose access to the mailbox was taken away.
    Removed,
    /// Not a token this hub issued.
    Unknown,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Consumed; the caller issues the next pair in this family.
    Rotated {
        /// The account.
        account_id: String,
        /// The family the new tokens join.
        family_id: String,
        /// The delegate who opened the family, or empty for the mailbox's own sign-in.
        person_id: String,
        /// The device's name, as given at sign-in.
        device: String,
    },
    /// A delegate's token whose access to the mailbox was taken away.
    Removed,
    /// It had been used before: the family has been revoked.
    Reused {
        /// The account whose device chain was cut.
        account_id: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Who holds a session, besides the mailbox it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The person's own account: the mailbox's own for its owner, else a delegate's.
    pub person_id: String,
    /// The person's address.
    pub person_email: String,
    /// The mailbox's address.
    pub mailbox_email: String,
    /// The device's name as given at sign-in (may be empty).
    pub device: String,
}

/// Touch `last_used_at` at most this often, so that busy clients do not write on every call.
const TOUCH_EVERY: Duration = Duration::seconds(30);

/// A refresh token presented again this soon after its use, while the token that replaced
/// it is still unused, is a retry whose answer the client never heard (a crash, a dropped
/// connection): the chain goes on from it. Later, or once the replacement was used, it is
/// a copy in someone else's hands, and the chain is cut.
pub const REFRESH_RETRY_GRACE: Duration = Duration::seconds(30);

/// The session families a person (`?1`) opened: on their own mailbox, or as a delegate.
const PERSONS_FAMILIES: &str = "((account_id = ?1 AND person_id = '') OR person_id = ?1)";

impl Tx<'_> {
    /// Starts a session family (one per sign-in).
    ///
    /// `person_id` is the delegate who opened it, or empty for the mailbox's own sign-in.
    pub fn insert_family(
        &self,
        id: &str,
        account_id: &str,
        person_id: &str,
        device_name: &str,
        remember: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO session_families \
             (id, account_id, person_id, device_name, remember, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                account_id,
                person_id,
                device_name,
                remember,
                to_millis(now)
            ],
        )?;
        Ok(())
    }

    /// Stores an access token (by hash).
    pub fn insert_access_token(
        &self,
        token_hash: &str,
        family_id: &str,
        account_id: &str,
        now: DateTime<Utc>,
        max_expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO access_tokens \
             (token_hash, family_id, account_id, created_at, last_used_at, max_expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![
                token_hash,
                family_id,
                account_id,
                to_millis(now),
                to_millis(max_expires_at)
            ],
        )?;
        Ok(())
    }

    /// Stores a refresh token (by hash).
    pub fn insert_refresh_token(
        &self,
        token_hash: &str,
        family_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, family_id, to_millis(now), to_millis(expires_at)],
        )?;
        Ok(())
    }

    /// Checks an access token. With `touch`, also slides its idle window when it was last
    /// slid more than 30 s ago; without, reports that need as `stale` (so that most calls
    /// need only a read transaction).
    pub fn check_access(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle: Duration,
        touch: bool,
    ) -> Result<AccessCheck> {
        let row = self
            .0
            .prepare_cached(
                "SELECT t.account_id, t.family_id, t.last_used_at, t.max_expires_at, \
                        t.revoked_at, f.revoked_at, a.status, f.person_id, \
                        f.device_name, a.email, COALESCE(p.email, ''), COALESCE(p.status, ''), \
                        EXISTS (SELECT 1 FROM mfa m WHERE m.enabled_at <> 0 AND m.account_id = \
                            CASE WHEN f.person_id = '' THEN t.account_id ELSE f.person_id END), \
                        EXISTS (SELECT 1 FROM delegates d \
                            WHERE d.mailbox_id = t.account_id AND d.person_id = f.person_id) \
                 FROM access_tokens t \
                 JOIN session_families f ON f.id = t.family_id \
                 JOIN accounts a ON a.id = t.account_id \
                 LEFT JOIN accounts p ON p.id = f.person_id \
                 WHERE t.token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        from_millis(r.get(2)?),
                        from_millis(r.get(3)?),
                    ),
                    (
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, String>(6)?,
                    ),
                    (
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, String>(9)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, String>(11)?,
                        r.get::<_, bool>(12)?,
                        r.get::<_, bool>(13)?,
                    ),
                ))
            })
            .optional()?;
        let Some((
            (account_id, family_id, last_used, max_expires),
            (revoked, family_revoked, status),
            (person_id, device, mailbox_email, person_email, person_status, mfa_on, delegation),
        )) = row
        else {
            return Ok(AccessCheck::Unknown);
        };
        let delegate = !person_id.is_empty();
        // Access ended, however: removed, the person deleted, or a
        // removal that came between the check at sign-in and the session's making. One
        // removed and added again has a new sign-in to make; this old one has ended.
        if delegate && !delegation {
            return Ok(AccessCheck::Removed);
        }
        let idle_end = last_used + idle;
        // A delegate may work a mailbox whose owner never registered (pending); nobody may
        // work one that is switched off.
        let mailbox_open = status == "active" || (delegate && status == "pending");
        if revoked != 0
            || family_revoked != 0
            || !mailbox_open
            || (delegate && person_status != "active")
            || now >= idle_end
            || now >= max_expires
        {
            return Ok(AccessCheck::Expired);
        }
        let stale = now - last_used >= TOUCH_EVERY;
        if stale && touch {
            self.0.execute(
                "UPDATE access_tokens SET last_used_at = ?2 WHERE token_hash = ?1",
                params![token_hash, to_millis(now)],
            )?;
        }
        let last_used = if stale && touch { now } else { last_used };
        let signer = if delegate {
            Signer {
                person_id,
                person_email,
                mailbox_email,
                device,
            }
        } else {
            Signer {
                person_id: account_id.clone(),
                person_email: mailbox_email.clone(),
                mailbox_email,
                device,
            }
        };
        Ok(AccessCheck::Valid {
            account_id,
            family_id,
            signer,
            mfa_on,
            expires_at: (last_used + idle).min(max_expires),
            stale: stale && !touch,
        })
    }

    /// Consumes a refresh token; a second use revokes its whole family, unless it is a
    /// retry within [`REFRESH_RETRY_GRACE`] (the replacement it was given is then retired).
    /// Access tokens issued before stay valid until they end by themselves: another process
    /// of the same device may be using one.
    pub fn use_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome> {
        let row = self
            .0
            .query_row(
                "SELECT r.family_id, r.expires_at, r.used_at, f.revoked_at, f.account_id, \
                        CASE WHEN f.person_id = '' THEN a.status \
                             WHEN a.status = 'disabled' THEN a.status \
                             ELSE COALESCE(p.status, '') END, \
                        r.replaced_by, f.person_id, f.device_name, \
                        f.person_id = '' OR EXISTS (SELECT 1 FROM delegates d \
                            WHERE d.mailbox_id = f.account_id AND d.person_id = f.person_id) \
                 FROM refresh_tokens r \
                 JOIN session_families f ON f.id = r.family_id \
                 JOIN accounts a ON a.id = f.account_id \
                 LEFT JOIN accounts p ON p.id = f.person_id \
                 WHERE r.token_hash = ?1",
                [token_hash],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        from_millis(r.get(1)?),
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, bool>(9)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            family_id,
            expires_at,
            used_at,
            family_revoked,
            account_id,
            status,
            replaced_by,
            person_id,
            device,
            delegation,
        )) = row
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        if !delegation {
            return Ok(RefreshOutcome::Removed);
        }
        if family_revoked != 0 || status != "active" || now >= expires_at {
            return Ok(RefreshOutcome::Invalid);
        }
        if used_at != 0 {
            let replacement_unused = !replaced_by.is_empty()
                && self
                    .0
                    .query_row(
                        "SELECT used_at FROM refresh_tokens WHERE token_hash = ?1",
                        [&replaced_by],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()?
                    == Some(0);
            if replacement_unused && now - from_millis(used_at) <= REFRESH_RETRY_GRACE {
                // The answer was lost: its token is retired, and this retry replaces it.
                self.0.execute(
                    "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1",
                    params![replaced_by, to_millis(now)],
                )?;
                return Ok(RefreshOutcome::Rotated {
                    account_id,
                    family_id,
                    person_id,
                    device,
                });
            }
            // Someone holds a copy of an old token: cut the chain for both holders.
            self.revoke_family(&family_id, now)?;
            return Ok(RefreshOutcome::Reused { account_id });
        }
        self.0.execute(
            "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1",
            params![token_hash, to_millis(now)],
        )?;
        Ok(RefreshOutcome::Rotated {
            account_id,
            family_id,
            person_id,
            device,
        })
    }

    /// Records which token replaced a used one (see [`Tx::use_refresh_token`]).
    pub fn set_replaced_by(&self, token_hash: &str, replacement: &str) -> Result<()> {
        self.0.execute(
            "UPDATE refresh_tokens SET replaced_by = ?2 WHERE token_hash = ?1",
            params![token_hash, replacement],
        )?;
        Ok(())
    }

    /// Ends one session family: its access and refresh tokens stop working.
    pub fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE session_families SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0",
            params![family_id, to_millis(now)],
        )?;
        self.0.execute(
            "UPDATE access_tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at = 0",
            params![family_id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Ends every session a person opened (on their own mailbox, or as a delegate of
    /// another) but the family `keep` (the caller's own).
    pub fn revoke_other_sessions(
        &self,
        person_id: &str,
        keep: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let n = self.0.execute(
            &format!(
                "UPDATE session_families SET revoked_at = ?3 \
                 WHERE {PERSONS_FAMILIES} AND id <> ?2 AND revoked_at = 0"
            ),
            params![person_id, keep, to_millis(now)],
        )?;
        self.0.execute(
            &format!(
                "UPDATE access_tokens SET revoked_at = ?3 WHERE revoked_at = 0 AND family_id <> ?2 \
                 AND family_id IN (SELECT id FROM session_families WHERE {PERSONS_FAMILIES})"
            ),
            params![person_id, keep, to_millis(now)],
        )?;
        Ok(n)
    }

    /// Ends every session on a mailbox, its delegates' too (the mailbox is switched off).
    pub fn revoke_mailbox_sessions(&self, mailbox_id: &str, now: DateTime<Utc>) -> Result<usize> {
        let n = self.0.execute(
            "UPDATE session_families SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at = 0",
            params![mailbox_id, to_millis(now)],
        )?;
        self.0.execute(
            "UPDATE access_tokens SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at = 0",
            params![mailbox_id, to_millis(now)],
        )?;
        Ok(n)
    }

    /// Ends every session a person opened, on their own mailbox or as a delegate of
    /// another (a delegate's sessions on this mailbox are theirs, and stay). Returns how
    /// many families were live.
    pub fn revoke_account_sessions(&self, person_id: &str, now: DateTime<Utc>) -> Result<usize> {
        let n = self.0.execute(
            &format!(
                "UPDATE session_families SET revoked_at = ?2 \
                 WHERE {PERSONS_FAMILIES} AND revoked_at = 0"
            ),
            params![person_id, to_millis(now)],
        )?;
        self.0.execute(
            &format!(
                "UPDATE access_tokens SET revoked_at = ?2 WHERE revoked_at = 0 \
                 AND family_id IN (SELECT id FROM session_families WHERE {PERSONS_FAMILIES})"
            ),
            params![person_id, to_millis(now)],
        )?;
        Ok(n)
    }

    /// Live sessions of an account (families not revoked and with a token still in date).
    pub fn live_session_count(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<u32> {
        self.0.query_row(
            "SELECT count(DISTINCT f.id) FROM session_families f \
             LEFT JOIN access_tokens t ON t.family_id = f.id AND t.revoked_at = 0 \
                 AND t.last_used_at > ?2 AND t.max_expires_at > ?3 \
             LEFT JOIN refresh_tokens r ON r.family_id = f.id AND r.used_at = 0 \
                 AND r.expires_at > ?3 \
             WHERE ((f.account_id = ?1 AND f.person_id = '') OR f.person_id = ?1) \
               AND f.revoked_at = 0 \
               AND (t.token_hash IS NOT NULL OR r.token_hash IS NOT NULL)",
            params![account_id, to_millis(now - idle), to_millis(now)],
            |r| r.get(0),
        )
    }

    /// Deletes tokens that can never work again.
    pub fn prune_sessions(&self, now: DateTime<Utc>, idle: Duration) -> Result<usize> {
        let now_ms = to_millis(now);
        // A removed delegate's tokens stay until they would have ended by themselves, so
        // that their devices hear `access_removed` and delete their copies.
        let mut n = self.0.execute(
            "DELETE FROM access_tokens WHERE max_expires_at <= ?1 \
             OR ((revoked_at != 0 OR last_used_at <= ?2) AND family_id NOT IN \
                 (SELECT id FROM session_families WHERE revoked_reason = 'removed'))",
            params![now_ms, to_millis(now - idle)],
        )?;
        n += self.0.execute(
            "DELETE FROM refresh_tokens WHERE expires_at <= ?1 OR family_id IN \
             (SELECT id FROM session_families WHERE revoked_at != 0 AND revoked_reason <> 'removed')",
            [now_ms],
        )?;
        n += self.0.execute(
            "DELETE FROM session_families WHERE \
             NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.family_id = session_families.id) \
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = session_families.id \
                 AND r.used_at = 0)",
            [],
        )?;
        Ok(n)
    }
}
