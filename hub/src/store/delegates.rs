//! Named delegates of shared mailboxes: who besides the mailbox's own sign-in may work it.
//! Each delegate is a person with an account of their own (their address, password, lock
//! and two-step sign-in); their name is sealed with the shared mailbox's data key.

use super::sql::{params, OptionalExtension, Row};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// What a delegate may do beyond working the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelegateRole {
    /// Reads, answers, writes and files, as the owner does.
    Member,
    /// Also adds and removes delegates, as the owner does.
    Manager,
}

impl DelegateRole {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Manager => "manager",
        }
    }

    /// The role named `s` (`member` or `manager`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "manager" => Some(Self::Manager),
            _ => None,
        }
    }
}

/// One person's access to one shared mailbox.
#[derive(Debug, Clone)]
pub struct Delegation {
    /// The shared mailbox's account id.
    pub mailbox_id: String,
    /// The shared mailbox's address.
    pub mailbox_email: String,
    /// The person's own account id.
    pub person_id: String,
    /// The person's own address.
    pub person_email: String,
    /// Whether the person has chosen a password yet (`active`), and may sign in.
    pub person_registered: bool,
    /// When they first opened a session on the mailbox; `None` while the invitation is
    /// open.
    pub joined_at: Option<DateTime<Utc>>,
    /// The person's name, sealed with the mailbox's data key.
    pub sealed_name: Vec<u8>,
    /// What they may do.
    pub role: DelegateRole,
    /// Who added them: a person's address, or `admin`.
    pub added_by: String,
    /// When.
    pub added_at: DateTime<Utc>,
}

const COLUMNS: &str = "d.mailbox_id, m.email, d.person_id, p.email, p.status, d.sealed_name, \
     d.role, d.added_by, d.added_at, d.joined_at";

fn delegation_from_row(r: &Row) -> Result<Delegation> {
    Ok(Delegation {
        mailbox_id: r.get(0)?,
        mailbox_email: r.get(1)?,
        person_id: r.get(2)?,
        person_email: r.get(3)?,
        person_registered: r.get::<_, String>(4)? == "active",
        sealed_name: r.get(5)?,
        role: DelegateRole::parse(&r.get::<_, String>(6)?).unwrap_or(DelegateRole::Member),
        added_by: r.get(7)?,
        added_at: from_millis(r.get(8)?),
        joined_at: match r.get::<_, i64>(9)? {
            0 => None,
            ms => Some(from_millis(ms)),
        },
    })
}

impl Tx<'_> {
    fn delegations_where(&self, condition: &str, key: &str) -> Result<Vec<Delegation>> {
        let mut stmt = self.0.prepare(&format!(
            "SELECT {COLUMNS} FROM delegates d \
             JOIN accounts m ON m.id = d.mailbox_id \
             JOIN accounts p ON p.id = d.person_id \
             WHERE {condition} ORDER BY d.added_at, p.email"
        ))?;
        let rows = stmt.query_map([key], delegation_from_row)?;
        rows.collect()
    }

    /// The delegates of a mailbox, in the order they were added.
    pub fn delegates_of(&self, mailbox_id: &str) -> Result<Vec<Delegation>> {
        self.delegations_where("d.mailbox_id = ?1", mailbox_id)
    }

    /// The shared mailboxes a person may work, in the order they were added to them.
    pub fn delegations_of(&self, person_id: &str) -> Result<Vec<Delegation>> {
        self.delegations_where("d.person_id = ?1", person_id)
    }

    /// The person's access to the mailbox, if they have it.
    pub fn delegation(&self, mailbox_id: &str, person_id: &str) -> Result<Option<Delegation>> {
        self.0
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM delegates d \
                     JOIN accounts m ON m.id = d.mailbox_id \
                     JOIN accounts p ON p.id = d.person_id \
                     WHERE d.mailbox_id = ?1 AND d.person_id = ?2"
                ),
                params![mailbox_id, person_id],
                delegation_from_row,
            )
            .optional()
    }

    /// Gives a person access to a mailbox, or gives the one they have the name and role
    /// `sealed_name` and `role` (an invitation sent again). Returns whether it is new.
    pub fn insert_delegate(
        &self,
        mailbox_id: &str,
        person_id: &str,
        sealed_name: &[u8],
        role: DelegateRole,
        added_by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let known = self.delegation(mailbox_id, person_id)?.is_some();
        self.0.execute(
            "INSERT INTO delegates (mailbox_id, person_id, sealed_name, role, added_by, added_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (mailbox_id, person_id) \
             DO UPDATE SET sealed_name = excluded.sealed_name, role = excluded.role",
            params![
                mailbox_id,
                person_id,
                sealed_name,
                role.as_str(),
                added_by,
                to_millis(now)
            ],
        )?;
        Ok(!known)
    }

    /// Records a delegate's first session on the mailbox (later ones change nothing).
    pub fn mark_joined(&self, mailbox_id: &str, person_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE delegates SET joined_at = ?3 \
             WHERE mailbox_id = ?1 AND person_id = ?2 AND joined_at = 0",
            params![mailbox_id, person_id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Takes a person's access to a mailbox away, and ends every session they opened on
    /// it at once (marked `removed`, so that their devices delete their copies). Returns
    /// false when they had no access.
    pub fn remove_delegate(
        &self,
        mailbox_id: &str,
        person_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.0.execute(
            "DELETE FROM delegates WHERE mailbox_id = ?1 AND person_id = ?2",
            params![mailbox_id, person_id],
        )?;
        if n == 0 {
            return Ok(false);
        }
        self.0.execute(
            "UPDATE session_families SET revoked_at = ?3, revoked_reason = 'removed' \
             WHERE account_id = ?1 AND person_id = ?2 AND revoked_at = 0",
            params![mailbox_id, person_id, to_millis(now)],
        )?;
        self.0.execute(
            "UPDATE access_tokens SET revoked_at = ?2 WHERE revoked_at = 0 AND family_id IN \
             (SELECT id FROM session_families WHERE account_id = ?1 AND person_id = ?3)",
            params![mailbox_id, to_millis(now), person_id],
        )?;
        // Wakes the mailbox's event streams, the removed person's among them: their next
        // call hears `access_removed` at once rather than at the mailbox's next change.
        self.bump_mailbox_state(mailbox_id)?;
        Ok(true)
    }

    /// Makes a mailbox shared-only: it has no password of its own, so only its delegates
    /// sign in to it. Its own sessions end, and a registration link it had stops working.
    pub fn make_shared_only(&self, mailbox_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET shared_only = 1, password_hash = '', \
             status = CASE WHEN status = 'pending' THEN 'active' ELSE status END, \
             registered_at = CASE WHEN registered_at = 0 THEN ?2 ELSE registered_at END \
             WHERE id = ?1",
            params![mailbox_id, to_millis(now)],
        )?;
        self.0.execute(
            "DELETE FROM one_time_links WHERE account_id = ?1",
            [mailbox_id],
        )?;
        self.revoke_account_sessions(mailbox_id, now)?;
        Ok(())
    }
}
